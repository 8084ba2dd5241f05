//! Both directions (Deep Learning §10.3): at every layer a recurrence forward in time, `h(t)`
//! from `h(t-1)`, and one backward, `g(t)` from `g(t+1)`, each row's backward pass starting at
//! its own last real step; every layer above the first reads both directions' outputs
//! concatenated, `[h(t); g(t)]`, with dropout between layers, as PyTorch's
//! `bidirectional=True` defines it.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

use super::RecurrencePath;
use super::cell::{Cell, Rows};
use super::direction::{Direction, reversal, turn_rows};
use super::layer_inputs::dropout;
use super::stack::{HiddenStack, HiddenStackConfig, check_lengths};
use super::state::HiddenState;
use crate::fused::{RecurrenceBackend, join_stacked_directions};
use crate::input::{InputEncoding, SequenceInput, StepInput};

/// Configuration of a [`BidirectionalStack`]: one direction's settings (input, hidden size per
/// direction, cell, depth, dropout, path), which both directions share.
#[derive(Config, Debug)]
pub struct BidirectionalStackConfig {
    /// Each direction's stack; its `direction` must be left forward (the backward half is
    /// made from it).
    pub stack: HiddenStackConfig,
}

impl BidirectionalStackConfig {
    /// Checks every setting.
    pub fn validate(&self) -> crate::Result<()> {
        self.stack.validate()?;
        if self.stack.direction != Direction::Forward {
            return Err(crate::ModelError::InvalidConfig {
                setting: "direction",
                reason: "a bidirectional stack runs both directions itself: leave it forward"
                    .into(),
            });
        }
        Ok(())
    }

    /// Builds the stack, or says which setting is invalid.
    pub fn try_init<B: Backend>(&self, device: &B::Device) -> crate::Result<BidirectionalStack<B>> {
        self.validate()?;
        let one_layer = |k: usize, direction: Direction| {
            let input = if k == 0 {
                self.stack.input
            } else {
                InputEncoding::Dense {
                    d_input: 2 * self.stack.d_hidden,
                }
            };
            HiddenStackConfig {
                input,
                num_layers: 1,
                dropout: 0.0,
                direction,
                ..self.stack.clone()
            }
            .try_init(device)
        };
        let layers = (0..self.stack.num_layers)
            .map(|k| {
                Ok(BidirectionalLayer {
                    forward: one_layer(k, Direction::Forward)?,
                    backward: one_layer(k, Direction::Backward)?,
                })
            })
            .collect::<crate::Result<Vec<_>>>()?;
        Ok(BidirectionalStack {
            layers,
            dropout: DropoutConfig::new(self.stack.dropout).init(),
        })
    }
}

crate::setting::init_or_panic!(BidirectionalStackConfig => BidirectionalStack);

/// One layer's two directions, each a one-layer [`HiddenStack`] (fused where that one is).
#[derive(Module, Debug)]
pub struct BidirectionalLayer<B: Backend> {
    /// `h(t)` from `h(t-1)`.
    pub forward: HiddenStack<B>,
    /// `g(t)` from `g(t+1)`, each row from its own last real step.
    pub backward: HiddenStack<B>,
}

/// A stack of bidirectional layers: PyTorch's `nn.RNN`/`nn.LSTM`/`nn.GRU` with
/// `bidirectional=True`, rows of any length.
///
/// ```
/// use burn::backend::{Autodiff, Flex};
/// use burn::tensor::Tensor;
/// use unroll_model::{BidirectionalStackConfig, HiddenStackConfig, InputEncoding, RecurrentCell};
/// use unroll_model::SequenceInput;
///
/// type B = Autodiff<Flex>;
/// let device = Default::default();
/// let one_direction = HiddenStackConfig::new(InputEncoding::Dense { d_input: 3 }, 8)
///     .with_cell(RecurrentCell::Lstm)
///     .with_num_layers(2);
/// let stack = BidirectionalStackConfig::new(one_direction).init::<B>(&device);
/// let x = Tensor::<B, 3>::ones([2, 5, 3], &device); // [batch, time, d_input], padded
/// let (outputs, state) = stack.forward(SequenceInput::Dense(x), Some(&[5, 2]))?;
/// assert_eq!(outputs.dims(), [2, 5, 16]); // [h(t); g(t)]: [batch, time, 2 · d_hidden]
/// assert_eq!(state.hidden.dims(), [4, 2, 8]); // PyTorch's h_n: [2 · layers, batch, d_hidden]
/// # Ok::<(), unroll_model::ModelError>(())
/// ```
#[derive(Module, Debug)]
pub struct BidirectionalStack<B: Backend> {
    /// The layers, bottom first.
    pub layers: Vec<BidirectionalLayer<B>>,
    /// Dropout on each layer's `[h(t); g(t)]` before the next layer reads it.
    pub dropout: Dropout,
}

impl<B: Backend> BidirectionalStack<B> {
    /// Hidden units of each direction.
    pub fn d_hidden(&self) -> usize {
        self.layers[0].forward.d_hidden()
    }

    /// Number of bidirectional layers.
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }
}

impl<B: RecurrenceBackend> BidirectionalStack<B> {
    /// Reads each row of `input` both ways from zero states.
    ///
    /// - `input`: `[batch, time]` ids or `[batch, time, d_input]` features, padded to `time`.
    /// - `lengths`: `[batch]`, each row's real length (1 ≤ length ≤ time); `None` when every
    ///   row fills `time`.
    ///
    /// Returns the top layer's `[h(t); g(t)]`, `[batch, time, 2 · d_hidden]` (past a row's
    /// length: padding, which nothing reads), and the final state in PyTorch's `h_n` layout,
    /// `[2 · num_layers, batch, d_hidden]`: layer 0 forward, layer 0 backward, layer 1 forward,
    /// … (the forward direction at each row's last real step, the backward one at its first),
    /// with `c` alike for the LSTM.
    pub fn forward(
        &self,
        input: SequenceInput<B>,
        lengths: Option<&[usize]>,
    ) -> crate::Result<(Tensor<B, 3>, HiddenState<B>)> {
        let (top, state) = self.forward_time_major(input, lengths)?;
        Ok((top.swap_dims(0, 1), state))
    }

    /// As [`BidirectionalStack::forward`], but the top layer's `[h(t); g(t)]` time-major,
    /// `[time, batch, 2 · d_hidden]`, contiguous: an output layer projects it as rows and swaps
    /// the narrower result instead.
    pub fn forward_time_major(
        &self,
        input: SequenceInput<B>,
        lengths: Option<&[usize]>,
    ) -> crate::Result<(Tensor<B, 3>, HiddenState<B>)> {
        let (top, state) = self.run(input, lengths, true)?;
        Ok((top.expect("asked for"), state))
    }

    /// Every layer both ways; the top layer's `[h(t); g(t)]` time-major, `[time, batch,
    /// 2 · d_hidden]`, only when `top_outputs` (a summary needs the final states alone, and
    /// turning the backward direction's outputs back costs a copy and its gradient).
    fn run(
        &self,
        input: SequenceInput<B>,
        lengths: Option<&[usize]>,
        top_outputs: bool,
    ) -> crate::Result<(Option<Tensor<B, 3>>, HiddenState<B>)> {
        let first = &self.layers[0].forward;
        let [batch, time] = input.check(&first.input, first.id_check)?;
        if let Some(lengths) = lengths {
            check_lengths("lengths", lengths, batch, time)?;
        }
        Ok(match first.path {
            RecurrencePath::Fused => self.run_fused(input, lengths, top_outputs),
            RecurrencePath::Unrolled => self.run_unrolled(input, lengths, top_outputs),
        })
    }

    /// [`BidirectionalStack::run`] on the fused path: every layer's input as time-major rows,
    /// turned once for the backward direction, and both directions' outputs joined in one
    /// operation ([`join_directions`]) that puts the backward one back in time order.
    fn run_fused(
        &self,
        input: SequenceInput<B>,
        lengths: Option<&[usize]>,
        top_outputs: bool,
    ) -> (Option<Tensor<B, 3>>, HiddenState<B>) {
        let [batch, time] = input.batch_time();
        let device = input.device();
        let reads = reversal(lengths, [batch, time]).time_major_reads::<B>(&device);
        let mut rows = input.into_time_major_rows();
        let mut finals = Vec::with_capacity(2 * self.layers.len());
        let top = self.layers.len() - 1;
        for (k, layer) in self.layers.iter().enumerate() {
            let zero = layer.forward.zero_state(batch, &device);
            let turned = turn_rows(rows.clone(), reads.clone());
            let sequence = |rows| Rows {
                rows,
                time_batch: [time, batch],
                initial: zero.layer(0),
                lengths,
            };
            let (ahead, behind) = (&layer.forward.layers[0], &layer.backward.layers[0]);
            if k == top && !top_outputs {
                // A summary reads the final states alone: each direction on its own, so that a
                // final state's gradient comes back into that direction's outputs only (from a
                // pair's, into both's, zero-filled: a fifth slower on the README's digits).
                finals.push(ahead.fused(sequence(rows)).1);
                finals.push(behind.fused(sequence(turned)).1);
                return (None, HiddenState::of_layers(finals));
            }
            // Both directions at once, each on half of the cores: they never read each other.
            let (pair, [ahead_final, behind_final]) =
                ahead.fused_pair(behind, [sequence(rows), sequence(turned)]);
            finals.push(ahead_final);
            finals.push(behind_final);
            let both = join_stacked_directions(pair, reads.clone());
            if k == top {
                let width = both.dims()[1];
                return (
                    Some(both.reshape([time, batch, width])),
                    HiddenState::of_layers(finals),
                );
            }
            rows = StepInput::Dense(dropout(&self.dropout, both));
        }
        unreachable!("a stack has at least one layer")
    }

    /// [`BidirectionalStack::run`] on the unrolled path (the reference): each direction a
    /// one-layer stack run over the whole sequence, the two concatenated.
    fn run_unrolled(
        &self,
        input: SequenceInput<B>,
        lengths: Option<&[usize]>,
        top_outputs: bool,
    ) -> (Option<Tensor<B, 3>>, HiddenState<B>) {
        let [batch, _] = input.batch_time();
        let device = input.device();
        let mut input = input;
        let mut finals = Vec::with_capacity(2 * self.layers.len());
        let top = self.layers.len() - 1;
        for (k, layer) in self.layers.iter().enumerate() {
            let zero = || layer.forward.zero_state(batch, &device);
            let outputs = k < top || top_outputs;
            let (ahead, ahead_final) = layer.forward.run(input.clone(), zero(), lengths, outputs);
            let (behind, behind_final) = layer.backward.run(input, zero(), lengths, outputs);
            finals.push(ahead_final.layer(0));
            finals.push(behind_final.layer(0));
            let both = outputs.then(|| Tensor::cat(vec![ahead, behind], 2));
            if k == top {
                return (both, HiddenState::of_layers(finals));
            }
            let both = both.expect("below the top");
            input = SequenceInput::Dense(dropout(&self.dropout, both).swap_dims(0, 1));
        }
        unreachable!("a stack has at least one layer")
    }

    /// The final state alone, as [`BidirectionalStack::forward`] returns it (PyTorch's `h_n`
    /// layout), without turning the top layer's backward outputs back into time order.
    ///
    /// - `input`, `lengths`: as for [`BidirectionalStack::forward`].
    pub fn final_state(
        &self,
        input: SequenceInput<B>,
        lengths: Option<&[usize]>,
    ) -> crate::Result<HiddenState<B>> {
        Ok(self.run(input, lengths, false)?.1)
    }

    /// Reads each row both ways and returns its summary: the top layer's forward state at the
    /// row's last real step and backward state at its first, concatenated,
    /// `[batch, 2 · d_hidden]` (what PyTorch's `h_n[-2:]` holds).
    pub fn summarize(
        &self,
        input: SequenceInput<B>,
        lengths: Option<&[usize]>,
    ) -> crate::Result<Tensor<B, 2>> {
        let state = self.final_state(input, lengths)?;
        let top = 2 * (self.layers.len() - 1);
        Ok(Tensor::cat(
            vec![state.layer(top).hidden, state.layer(top + 1).hidden],
            1,
        ))
    }
}
