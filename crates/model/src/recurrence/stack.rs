//! A stack of recurrent layers with dropout between layers: the hidden part of patterns 1 and 3.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::{Int, Tensor, TensorData, backend::Backend};
use std::ops::Bound::{Excluded, Included};

use super::cell::{Cell, LayerState, Rows, Steps};
use super::direction::{reversal, reverse_input, turn_rows, turn_time_major};
use super::layer_inputs;
use super::{Direction, HiddenState, Layer, RecurrencePath, RecurrentCell};
use crate::error::shape_error;
use crate::fused::RecurrenceBackend;
use crate::ids::IdCheck;
use crate::input::{InputEncoding, SequenceInput, StepInput};
use crate::recurrence::layer_inputs::next_layer_inputs;
use crate::setting::{at_least_one, within};

/// Configuration of a [`HiddenStack`].
#[derive(Config, Debug)]
pub struct HiddenStackConfig {
    /// How `x(t)` enters the first layer.
    pub input: InputEncoding,
    /// Size of each layer's hidden state.
    pub d_hidden: usize,
    /// The transition of every layer: tanh, LSTM or GRU.
    #[config(default = "RecurrentCell::Tanh")]
    pub cell: RecurrentCell,
    /// Number of stacked layers; layer k's `h(t)` is layer k+1's `x(t)`.
    #[config(default = 1)]
    pub num_layers: usize,
    /// Dropout probability on the outputs of every layer but the last (as PyTorch's `nn.RNN`).
    #[config(default = 0.0)]
    pub dropout: f64,
    /// How the recurrence runs over a sequence.
    #[config(default = "RecurrencePath::Fused")]
    pub path: RecurrencePath,
    /// Which way it runs over time: backward, each row from its own last real step to its
    /// first (one half of a bidirectional layer, an encoder reading its source backward).
    #[config(default = "Direction::Forward")]
    pub direction: Direction,
    /// Whether every call reads the token and class ids back to check their range.
    #[config(default = "IdCheck::EveryCall")]
    pub id_check: IdCheck,
}

impl HiddenStackConfig {
    /// Checks every setting.
    pub fn validate(&self) -> crate::Result<()> {
        self.input.validate()?;
        at_least_one("d_hidden", self.d_hidden as u64)?;
        at_least_one("num_layers", self.num_layers as u64)?;
        within("dropout", self.dropout, Included(0.0), Excluded(1.0))
    }

    /// Builds the stack, or says which setting is invalid.
    pub fn try_init<B: Backend>(&self, device: &B::Device) -> crate::Result<HiddenStack<B>> {
        self.validate()?;
        let layers = (0..self.num_layers)
            .map(|k| {
                let d_input = if k == 0 {
                    self.input.width()
                } else {
                    self.d_hidden
                };
                self.cell.layer(d_input, self.d_hidden, device)
            })
            .collect::<crate::Result<Vec<_>>>()?;
        Ok(HiddenStack {
            layers,
            dropout: DropoutConfig::new(self.dropout).init(),
            input: self.input,
            path: self.path,
            direction: self.direction,
            id_check: self.id_check,
        })
    }

    /// The stack and an output layer `o = c + V h` of `d_output` units on its top layer: what
    /// patterns 1 and 3 are made of.
    pub(crate) fn try_init_with_output<B: Backend>(
        &self,
        d_output: usize,
        device: &B::Device,
    ) -> crate::Result<(HiddenStack<B>, Linear<B>)> {
        self.validate()?;
        at_least_one("d_output", d_output as u64)?;
        Ok((
            self.try_init(device)?,
            LinearConfig::new(self.d_hidden, d_output).init(device),
        ))
    }
}

crate::setting::init_or_panic!(HiddenStackConfig => HiddenStack);

/// Stacked recurrent layers of one cell with dropout between layers: the hidden part of
/// patterns 1 and 3.
///
/// Its state is a [`HiddenState`]: `h` of every layer, and `c` of every layer for the LSTM
/// (PyTorch's `h_n` and `c_n`), each `[num_layers, batch, d_hidden]`.
#[derive(Module, Debug)]
pub struct HiddenStack<B: Backend> {
    /// The layers, bottom first, all of one cell.
    pub layers: Vec<Layer<B>>,
    /// Dropout applied to each layer's output before it feeds the next layer.
    pub dropout: Dropout,
    /// How `x(t)` enters the first layer.
    #[module(skip)]
    pub input: InputEncoding,
    /// How the recurrence runs over a sequence.
    #[module(skip)]
    pub path: RecurrencePath,
    /// Which way it runs over time.
    #[module(skip)]
    pub direction: Direction,
    /// Whether every call reads the token and class ids back to check their range.
    #[module(skip)]
    pub id_check: IdCheck,
}

impl<B: Backend> HiddenStack<B> {
    /// Size of each layer's hidden state.
    pub fn d_hidden(&self) -> usize {
        self.layers[0].d_hidden()
    }

    /// Number of stacked layers.
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// The transition of every layer.
    pub fn cell(&self) -> RecurrentCell {
        self.layers[0].kind()
    }

    /// The shape of `h` (and of `c`) in the state for `batch` rows:
    /// `[num_layers, batch, d_hidden]`.
    pub fn state_dims(&self, batch: usize) -> [usize; 3] {
        [self.num_layers(), batch, self.d_hidden()]
    }

    /// Zero state, [`HiddenStack::state_dims`], with `c` when the cell has one.
    pub fn zero_state(&self, batch: usize, device: &B::Device) -> HiddenState<B> {
        let [layers, batch, d_hidden] = self.state_dims(batch);
        HiddenState::zeros(
            layers,
            batch,
            d_hidden,
            self.cell().has_cell_state(),
            device,
        )
    }

    /// Checks a state against the stack and the batch size; `None` becomes the zero state.
    pub fn check_state(
        &self,
        state: Option<HiddenState<B>>,
        batch: usize,
        device: &B::Device,
    ) -> crate::Result<HiddenState<B>> {
        let Some(state) = state else {
            return Ok(self.zero_state(batch, device));
        };
        let expected = self.state_dims(batch);
        let layout = format!("[num_layers, batch, d_hidden] = {expected:?}");
        if state.hidden.dims() != expected {
            return Err(shape_error("state.hidden", layout, &state.hidden.dims()));
        }
        match (&state.cell, self.cell().has_cell_state()) {
            (Some(cell), true) if cell.dims() != expected => {
                Err(shape_error("state.cell", layout, &cell.dims()))
            }
            (None, true) => Err(shape_error(
                "state.cell",
                format!("{layout} (the {} state holds c)", self.cell().name()),
                &[],
            )),
            (Some(cell), false) => Err(shape_error(
                "state.cell",
                format!("none (the {} state is h alone)", self.cell().name()),
                &cell.dims(),
            )),
            _ => Ok(state),
        }
    }
}

impl<B: Backend> HiddenStack<B> {
    /// Refuses to run step by step a stack that reads each sequence backward: its first step
    /// needs the whole sequence.
    pub fn check_stepwise(&self) -> crate::Result<()> {
        if self.direction == Direction::Backward {
            return Err(crate::ModelError::InvalidConfig {
                setting: "direction",
                reason: "a backward stack reads each sequence from its end: it cannot run step \
                         by step (generation, fed-back outputs)"
                    .into(),
            });
        }
        Ok(())
    }
}

impl<B: RecurrenceBackend> HiddenStack<B> {
    /// Reads each row of `input` from the zero state to the row's own length, both checked:
    /// the final state of every layer, what pattern 3 summarises and an encoder hands on.
    ///
    /// - `input`: `[batch, time]` ids or `[batch, time, d_input]` features, padded to `time`.
    /// - `lengths`: `[batch]`, each row's real length (1 ≤ length ≤ time); `None` when every
    ///   row fills `time`. A padded row's state is the one it has alone.
    pub fn read(
        &self,
        input: SequenceInput<B>,
        lengths: Option<&[usize]>,
        device: &B::Device,
    ) -> crate::Result<HiddenState<B>> {
        let [batch, time] = input.check(&self.input, self.id_check)?;
        if let Some(lengths) = lengths {
            check_lengths("lengths", lengths, batch, time)?;
        }
        let state = self.zero_state(batch, device);
        Ok(self.run(input, state, lengths, false).1)
    }

    /// Runs every layer over the sequence, by the stack's [`RecurrencePath`].
    ///
    /// - `input`: `[batch, time]` ids or `[batch, time, d_input]` features, already checked.
    /// - `state`: [`HiddenStack::state_dims`], already checked.
    /// - `lengths`: optional, each row's number of real steps, `[batch]`, each in `1..=time`
    ///   (checked by the caller); past its length a row's state is carried unchanged, so the
    ///   final state is every row's state at its own length.
    ///
    /// Returns the top layer's `h(1) … h(τ)` as `[batch, time, d_hidden]` and the final state.
    /// A stack running [`Direction::Backward`] reads each row from its own last real step back
    /// to its first, `g(t)` from `g(t+1)`, and returns `g(1) … g(τ)` in time order (position `t`
    /// holds `g(t)`, as a bidirectional layer concatenates them); its final state is every row's
    /// state after its first step, and past a row's length its outputs are padding.
    pub fn forward(
        &self,
        input: SequenceInput<B>,
        state: HiddenState<B>,
        lengths: Option<&[usize]>,
    ) -> (Tensor<B, 3>, HiddenState<B>) {
        let (top, state) = self.forward_time_major(input, state, lengths);
        (top.swap_dims(0, 1), state)
    }

    /// As [`HiddenStack::forward`], but the top layer's states come time-major,
    /// `[time, batch, d_hidden]`, as the fused path makes them: callers that project every
    /// state (the output layer) can then swap the narrower result instead.
    pub fn forward_time_major(
        &self,
        input: SequenceInput<B>,
        state: HiddenState<B>,
        lengths: Option<&[usize]>,
    ) -> (Tensor<B, 3>, HiddenState<B>) {
        self.run(input, state, lengths, true)
    }

    /// [`HiddenStack::forward_time_major`]; when not `in_time_order`, a backward stack's
    /// outputs stay in the order it ran them (for a caller that wants the final state alone,
    /// and need not pay for turning them back).
    pub(crate) fn run(
        &self,
        input: SequenceInput<B>,
        state: HiddenState<B>,
        lengths: Option<&[usize]>,
        in_time_order: bool,
    ) -> (Tensor<B, 3>, HiddenState<B>) {
        let [batch, time] = input.batch_time();
        let backward = self.direction == Direction::Backward;
        // Backward, each row is turned within its own length, run forward, and turned back.
        match self.path {
            RecurrencePath::Fused => {
                let device = state.hidden.device();
                let reads =
                    backward.then(|| reversal(lengths, [batch, time]).time_major_reads(&device));
                let rows = input.into_time_major_rows();
                let rows = match &reads {
                    Some(reads) => turn_rows(rows, reads.clone()),
                    None => rows,
                };
                let (outputs, state) = self.fused_rows(rows, [time, batch], &state, lengths);
                let outputs = first_steps(outputs, time);
                match reads {
                    Some(reads) if in_time_order => (turn_time_major(outputs, reads), state),
                    _ => (outputs, state),
                }
            }
            RecurrencePath::Unrolled => {
                let turn = backward.then(|| reversal(lengths, [batch, time]));
                let input = match &turn {
                    Some(turn) => reverse_input(input, turn),
                    None => input,
                };
                let device = state.hidden.device();
                let masks = lengths.map(|lengths| step_masks(lengths, batch, time, &device));
                let (outputs, state) = self.forward_unrolled(input, state, masks.as_deref());
                match &turn {
                    Some(turn) if in_time_order => (
                        turn_time_major(outputs, turn.time_major_reads(&device)),
                        state,
                    ),
                    _ => (outputs, state),
                }
            }
        }
    }

    /// The fused path: per layer, the input's share for all steps at once (one product, or a
    /// lookup for token ids), then the cell's fused recurrence. Returns the top layer's output
    /// as its fused operation returns it ([`Cell::fused`]: `h(1) … h(τ)` time-major, then for
    /// the LSTM `c(τ)`), so that a consumer of the first `time` rows alone (the fused output
    /// layer and loss) takes them without a copy; and the final state.
    ///
    /// The input comes as time-major rows (`[time · batch]` ids or `[time · batch, d_input]`
    /// features), `time_batch` `[time, batch]`.
    fn fused_rows(
        &self,
        rows: StepInput<B>,
        time_batch: [usize; 2],
        state: &HiddenState<B>,
        lengths: Option<&[usize]>,
    ) -> (Tensor<B, 3>, HiddenState<B>) {
        let (rows, mut finals) = self.fused_below_top(rows, time_batch, state, lengths);
        let top = self.layers.len() - 1;
        let (outputs, last) = self.layers[top].fused(Rows {
            rows,
            time_batch,
            initial: state.layer(top),
            lengths,
        });
        finals.push(last);
        (outputs, HiddenState::of_layers(finals))
    }

    /// The fused path of every layer below the top, from time-major rows (`[time · batch]` ids
    /// or `[time · batch, width]`): returns the top layer's inputs as such rows, and the final
    /// state of each layer below it.
    pub(crate) fn fused_below_top(
        &self,
        mut rows: StepInput<B>,
        [time, batch]: [usize; 2],
        state: &HiddenState<B>,
        lengths: Option<&[usize]>,
    ) -> (StepInput<B>, Vec<LayerState<B>>) {
        let below = self.layers.len() - 1;
        let mut finals = Vec::with_capacity(self.layers.len());
        for (k, layer) in self.layers[..below].iter().enumerate() {
            let (outputs, last) = layer.fused(Rows {
                rows,
                time_batch: [time, batch],
                initial: state.layer(k),
                lengths,
            });
            finals.push(last);
            let outputs = first_steps(outputs, time);
            rows = StepInput::Dense(
                layer_inputs::dropout(&self.dropout, outputs)
                    .reshape([time * batch, layer.d_hidden()]),
            );
        }
        (rows, finals)
    }

    /// The unrolled path: every step of every layer through autodiff, per-step tensors stacked
    /// at the end (never sliced inside the loop).
    fn forward_unrolled(
        &self,
        input: SequenceInput<B>,
        state: HiddenState<B>,
        masks: Option<&[Tensor<B, 2>]>,
    ) -> (Tensor<B, 3>, HiddenState<B>) {
        let mut inputs = input.into_steps();
        let mut finals = Vec::with_capacity(self.layers.len());
        let mut outputs = Vec::new();
        for (k, layer) in self.layers.iter().enumerate() {
            let (layer_outputs, last) = layer.unrolled(Steps {
                inputs,
                initial: state.layer(k),
                masks,
            });
            outputs = layer_outputs;
            finals.push(last);
            inputs = next_layer_inputs(&self.dropout, &outputs, k + 1 == self.layers.len());
        }
        (Tensor::stack(outputs, 0), HiddenState::of_layers(finals))
    }

    /// One step of every layer; returns the top `h(t)` `[batch, d_hidden]` and the new state.
    /// `state` must already be checked.
    pub fn step(
        &self,
        input: StepInput<B>,
        state: HiddenState<B>,
    ) -> (Tensor<B, 2>, HiddenState<B>) {
        self.step_with(input, state, true)
    }

    /// One step of every layer, the dropout between layers acting only when `dropout` (it does
    /// nothing outside training either way).
    pub(crate) fn step_with(
        &self,
        input: StepInput<B>,
        state: HiddenState<B>,
        dropout: bool,
    ) -> (Tensor<B, 2>, HiddenState<B>) {
        let mut input = input;
        let mut finals = Vec::with_capacity(self.layers.len());
        for (k, layer) in self.layers.iter().enumerate() {
            let next = layer.step(input, state.layer(k));
            let output = next.hidden.clone();
            input = StepInput::Dense(if dropout {
                layer_inputs::dropout(&self.dropout, output)
            } else {
                output
            });
            finals.push(next);
        }
        let top = finals.last().expect("at least one layer").hidden.clone();
        (top, HiddenState::of_layers(finals))
    }
}

/// The first `time` rows of a fused operation's output (`h(1) … h(τ)`), without a slice when
/// there are no others.
fn first_steps<B: Backend>(outputs: Tensor<B, 3>, time: usize) -> Tensor<B, 3> {
    if outputs.dims()[0] == time {
        outputs
    } else {
        outputs.narrow(0, 0, time)
    }
}

/// Per-step masks `[batch, 1]`, 1 while `t < length`, 0 on padding: what the unrolled path
/// blends the carried state with.
fn step_masks<B: Backend>(
    lengths: &[usize],
    batch: usize,
    time: usize,
    device: &B::Device,
) -> Vec<Tensor<B, 2>> {
    let positions = Tensor::<B, 1, Int>::arange(0..time as i64, device).reshape([1, time]);
    let lengths: Vec<i64> = lengths.iter().map(|&length| length as i64).collect();
    let lengths = Tensor::<B, 1, Int>::from_data(TensorData::new(lengths, [batch]), device);
    let mask = positions
        .lower(lengths.reshape([batch, 1]))
        .float()
        .reshape([batch, time]);
    (0..time)
        .map(|t| mask.clone().slice([0..batch, t..t + 1]))
        .collect()
}

/// One length per row of `what` (`lengths`), each in `1..=time`.
pub(crate) fn check_lengths(
    what: &'static str,
    lengths: &[usize],
    batch: usize,
    time: usize,
) -> crate::Result<()> {
    if lengths.len() != batch {
        return Err(shape_error(what, format!("[{batch}]"), &[lengths.len()]));
    }
    match lengths.iter().find(|&&l| l < 1 || l > time) {
        Some(bad) => Err(shape_error(
            what,
            format!("every length in 1..={time}, got {bad}"),
            &[lengths.len()],
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::module::AutodiffModule;

    type B = Autodiff<Flex>;

    fn run<Bk: RecurrenceBackend>(stack: &HiddenStack<Bk>, device: &Bk::Device) -> Vec<f32> {
        let input = SequenceInput::Dense(Tensor::<Bk, 3>::ones([2, 3, 4], device));
        let (outputs, _) = stack.forward(input, stack.zero_state(2, device), None);
        outputs.into_data().iter::<f32>().collect()
    }

    #[test]
    fn dropout_acts_between_layers_in_training_only() {
        let device = Default::default();
        B::seed(&device, 5);
        let stack = HiddenStackConfig::new(InputEncoding::Dense { d_input: 4 }, 8)
            .with_num_layers(2)
            .with_dropout(0.5)
            .init::<B>(&device);
        assert_ne!(
            run(&stack, &device),
            run(&stack, &device),
            "training: random masks"
        );
        let inference = stack.valid();
        assert_eq!(
            run(&inference, &device),
            run(&inference, &device),
            "inference: none"
        );
    }
}
