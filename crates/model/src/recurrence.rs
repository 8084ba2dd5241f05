//! One tanh hidden-to-hidden recurrence, `h(t) = tanh(b + W h(t-1) + U x(t))`, and a stack of them.
//!
//! Weights are stored in row layout, as Burn's `Linear` stores them: a batch of row vectors is
//! multiplied on the right, so the textbook's `W h(t-1)` is computed as `h(t-1) · W_stored` with
//! `W_stored = Wᵀ` (`[d_hidden, d_hidden]`), and `U x(t)` as `x(t) · U_stored` with
//! `U_stored = Uᵀ` (`[d_input, d_hidden]`). PyTorch's `weight_hh` and `weight_ih` are the
//! transposes of these.

use burn::config::Config;
use burn::module::{Initializer, Module, Param};
use burn::nn::{Dropout, DropoutConfig};
use burn::tensor::{Tensor, backend::Backend};

use crate::error::{require_dropout, require_positive, shape_error};
use crate::fused::{RecurrenceBackend, lookup_rows, tanh, tanh_recurrence};
use crate::input::{InputEncoding, SequenceInput, StepInput};

/// Configuration of one [`TanhRecurrence`].
#[derive(Config, Debug)]
pub struct TanhRecurrenceConfig {
    /// Width of `x(t)`: vocabulary size for token ids, feature count for dense input.
    pub d_input: usize,
    /// Size of the hidden state `h(t)`.
    pub d_hidden: usize,
}

impl TanhRecurrenceConfig {
    /// Builds the layer with PyTorch's initialisation for `nn.RNN`: every weight and bias uniform
    /// in `[-1/√d_hidden, 1/√d_hidden]`.
    ///
    /// # Panics
    /// If a size is zero; use [`TanhRecurrenceConfig::try_init`] to get an error instead.
    pub fn init<B: Backend>(&self, device: &B::Device) -> TanhRecurrence<B> {
        self.try_init(device)
            .unwrap_or_else(|error| panic!("{error}"))
    }

    /// Builds the layer, or says which size is invalid.
    pub fn try_init<B: Backend>(&self, device: &B::Device) -> crate::Result<TanhRecurrence<B>> {
        require_positive("d_input", self.d_input)?;
        require_positive("d_hidden", self.d_hidden)?;
        let bound = 1.0 / (self.d_hidden as f64).sqrt();
        let init = Initializer::Uniform {
            min: -bound,
            max: bound,
        };
        Ok(TanhRecurrence {
            input_weight: init.init([self.d_input, self.d_hidden], device),
            recurrent_weight: init.init([self.d_hidden, self.d_hidden], device),
            bias: init.init([self.d_hidden], device),
        })
    }
}

/// One layer of hidden-to-hidden recurrence: `h(t) = tanh(b + W h(t-1) + U x(t))`.
#[derive(Module, Debug)]
pub struct TanhRecurrence<B: Backend> {
    /// `U`, stored `[d_input, d_hidden]` (the transpose of the textbook's matrix).
    pub input_weight: Param<Tensor<B, 2>>,
    /// `W`, stored `[d_hidden, d_hidden]` (the transpose of the textbook's matrix).
    pub recurrent_weight: Param<Tensor<B, 2>>,
    /// `b`, `[d_hidden]`.
    pub bias: Param<Tensor<B, 1>>,
}

impl<B: Backend> TanhRecurrence<B> {
    /// Size of the hidden state.
    pub fn d_hidden(&self) -> usize {
        self.recurrent_weight.dims()[0]
    }

    /// Width of the input `x(t)`.
    pub fn d_input(&self) -> usize {
        self.input_weight.dims()[0]
    }

    /// Runs the recurrence over all steps.
    ///
    /// - `inputs`: one entry per step, each `[batch]` token ids or `[batch, d_input]` features.
    /// - `initial`: `h(0)`, `[batch, d_hidden]`.
    /// - `masks`: optional, one `[batch, 1]` tensor per step holding 1 where the step is real and
    ///   0 where it is padding; on padding the state is carried through unchanged.
    ///
    /// Returns `h(1) … h(τ)`, each `[batch, d_hidden]`. Inputs are checked by the caller.
    pub fn forward(
        &self,
        inputs: Vec<StepInput<B>>,
        initial: Tensor<B, 2>,
        masks: Option<&[Tensor<B, 2>]>,
    ) -> Vec<Tensor<B, 2>> {
        let recurrent_weight = self.recurrent_weight.val();
        let bias = self.bias.val().unsqueeze::<2>();
        // For token ids, adding b to every row of U once makes each step a single lookup.
        let token_table = match inputs.first() {
            Some(StepInput::Tokens(_)) => Some(self.input_weight.val() + bias.clone()),
            _ => None,
        };
        let input_weight = self.input_weight.val();
        let mut hidden = initial;
        let mut outputs = Vec::with_capacity(inputs.len());
        for (t, input) in inputs.into_iter().enumerate() {
            let projected = match (input, &token_table) {
                (StepInput::Tokens(ids), Some(table)) => table.clone().select(0, ids),
                (input, _) => input.project(input_weight.clone()) + bias.clone(),
            };
            let next = (projected + hidden.clone().matmul(recurrent_weight.clone())).tanh();
            hidden = match masks {
                Some(masks) => hidden.clone() + (next - hidden) * masks[t].clone(),
                None => next,
            };
            outputs.push(hidden.clone());
        }
        outputs
    }

    /// One step: `h(t)` from `h(t-1)` (`[batch, d_hidden]`) and `x(t)`; returns `[batch, d_hidden]`.
    pub fn step(&self, input: StepInput<B>, hidden: Tensor<B, 2>) -> Tensor<B, 2>
    where
        B: RecurrenceBackend,
    {
        let projected = input.project(self.input_weight.val()) + self.bias.val().unsqueeze::<2>();
        tanh(projected + hidden.matmul(self.recurrent_weight.val()))
    }
}

/// Configuration of a [`HiddenStack`].
#[derive(Config, Debug)]
pub struct HiddenStackConfig {
    /// How `x(t)` enters the first layer.
    pub input: InputEncoding,
    /// Size of each layer's hidden state.
    pub d_hidden: usize,
    /// Number of stacked layers; layer k's `h(t)` is layer k+1's `x(t)`.
    #[config(default = 1)]
    pub num_layers: usize,
    /// Dropout probability on the outputs of every layer but the last (as PyTorch's `nn.RNN`).
    #[config(default = 0.0)]
    pub dropout: f64,
    /// How the recurrence runs over a sequence.
    #[config(default = "RecurrencePath::Fused")]
    pub path: RecurrencePath,
}

/// How a recurrence runs over a sequence; both give the same values and gradients.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum RecurrencePath {
    /// One fused operation per layer with a hand-written BPTT backward ([`crate::fused`]): the
    /// fast path. Padding masks (pattern 3 with lengths) fall back to the unrolled path.
    Fused,
    /// One autodiff node per operation and step: the reference the fused path is tested against.
    Unrolled,
}

impl HiddenStackConfig {
    /// Checks every setting.
    pub fn validate(&self) -> crate::Result<()> {
        self.input.validate()?;
        require_positive("d_hidden", self.d_hidden)?;
        require_positive("num_layers", self.num_layers)?;
        require_dropout("dropout", self.dropout)
    }

    /// Builds the stack.
    ///
    /// # Panics
    /// If a setting is invalid; use [`HiddenStackConfig::try_init`] to get an error instead.
    pub fn init<B: Backend>(&self, device: &B::Device) -> HiddenStack<B> {
        self.try_init(device)
            .unwrap_or_else(|error| panic!("{error}"))
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
                TanhRecurrenceConfig::new(d_input, self.d_hidden).try_init(device)
            })
            .collect::<crate::Result<Vec<_>>>()?;
        Ok(HiddenStack {
            layers,
            dropout: DropoutConfig::new(self.dropout).init(),
            input: self.input,
            path: self.path,
        })
    }
}

/// Stacked tanh recurrences with dropout between layers: the hidden part of patterns 1 and 3.
#[derive(Module, Debug)]
pub struct HiddenStack<B: Backend> {
    /// The layers, bottom first.
    pub layers: Vec<TanhRecurrence<B>>,
    /// Dropout applied to each layer's output before it feeds the next layer.
    pub dropout: Dropout,
    /// How `x(t)` enters the first layer.
    #[module(skip)]
    pub input: InputEncoding,
    /// How the recurrence runs over a sequence.
    #[module(skip)]
    pub path: RecurrencePath,
}

impl<B: Backend> HiddenStack<B> {
    /// Size of each layer's hidden state.
    pub fn d_hidden(&self) -> usize {
        self.layers[0].d_hidden()
    }

    /// Zero state `[num_layers, batch, d_hidden]`.
    pub fn zero_state(&self, batch: usize, device: &B::Device) -> Tensor<B, 3> {
        Tensor::zeros([self.layers.len(), batch, self.d_hidden()], device)
    }

    /// Checks a state against the stack and the batch size; `None` becomes the zero state.
    pub fn check_state(
        &self,
        state: Option<Tensor<B, 3>>,
        batch: usize,
        device: &B::Device,
    ) -> crate::Result<Tensor<B, 3>> {
        let expected = [self.layers.len(), batch, self.d_hidden()];
        match state {
            None => Ok(self.zero_state(batch, device)),
            Some(state) if state.dims() == expected => Ok(state),
            Some(state) => Err(shape_error(
                "state",
                format!("[num_layers, batch, d_hidden] = {expected:?}"),
                &state.dims(),
            )),
        }
    }

    /// Runs every layer over the sequence, by the stack's [`RecurrencePath`] (unrolled whenever
    /// `masks` are given).
    ///
    /// - `input`: `[batch, time]` ids or `[batch, time, d_input]` features, already checked.
    /// - `state`: `[num_layers, batch, d_hidden]`, already checked.
    /// - `masks`: optional per-step `[batch, 1]` masks (1 = real step, 0 = padding).
    ///
    /// Returns the top layer's `h(1) … h(τ)` as `[batch, time, d_hidden]` and the final state
    /// `[num_layers, batch, d_hidden]`.
    pub fn forward(
        &self,
        input: SequenceInput<B>,
        state: Tensor<B, 3>,
        masks: Option<&[Tensor<B, 2>]>,
    ) -> (Tensor<B, 3>, Tensor<B, 3>)
    where
        B: RecurrenceBackend,
    {
        let (top, state) = self.forward_time_major(input, state, masks);
        (top.swap_dims(0, 1), state)
    }

    /// As [`HiddenStack::forward`], but the top layer's states come time-major,
    /// `[time, batch, d_hidden]`, as the fused path makes them: callers that project every
    /// state (the output layer) can then swap the narrower result instead.
    pub fn forward_time_major(
        &self,
        input: SequenceInput<B>,
        state: Tensor<B, 3>,
        masks: Option<&[Tensor<B, 2>]>,
    ) -> (Tensor<B, 3>, Tensor<B, 3>)
    where
        B: RecurrenceBackend,
    {
        match (self.path, masks) {
            (RecurrencePath::Fused, None) => self.forward_fused(input, state),
            (_, masks) => self.forward_unrolled(input, state, masks),
        }
    }

    /// The fused path: per layer, `U x(t) + b` for all steps at once, then one fused recurrence.
    fn forward_fused(
        &self,
        input: SequenceInput<B>,
        state: Tensor<B, 3>,
    ) -> (Tensor<B, 3>, Tensor<B, 3>)
    where
        B: RecurrenceBackend,
    {
        let (projected, initial, mut finals) = self.fused_below_top(input, state);
        let top = self.layers.last().expect("at least one layer");
        let states = tanh_recurrence(projected, initial, top.recurrent_weight.val());
        finals.push(last_state(&states));
        (states, Tensor::stack(finals, 0))
    }

    /// The fused path up to the top layer's recurrence: every layer below it, then the top
    /// layer's `p(t) = b + U x(t)` for all steps.
    ///
    /// - `input`, `state`: as for [`HiddenStack::forward`], already checked.
    ///
    /// Returns the top layer's `p(t)` `[time, batch, d_hidden]`, its `h(0)` `[batch, d_hidden]`
    /// and the final states of the layers below, each `[batch, d_hidden]`.
    pub(crate) fn fused_below_top(
        &self,
        input: SequenceInput<B>,
        state: Tensor<B, 3>,
    ) -> (Tensor<B, 3>, Tensor<B, 2>, Vec<Tensor<B, 2>>)
    where
        B: RecurrenceBackend,
    {
        let [_, batch, d_hidden] = state.dims();
        let [_, time] = input.batch_time();
        let rows = time * batch;
        let top = self.layers.len() - 1;
        // Time-major from here on: [time, batch, …].
        let mut below: Option<Tensor<B, 3>> = None;
        let mut finals = Vec::with_capacity(self.layers.len());
        for (k, layer) in self.layers.iter().enumerate() {
            let bias = layer.bias.val().unsqueeze::<2>();
            let projected = match (&below, &input) {
                (Some(states), _) => {
                    let x = self
                        .dropout
                        .forward(states.clone())
                        .reshape([rows, d_hidden]);
                    x.matmul(layer.input_weight.val()) + bias
                }
                (None, SequenceInput::Tokens(ids)) => {
                    let ids = ids.clone().swap_dims(0, 1).reshape([rows]);
                    lookup_rows(layer.input_weight.val() + bias, ids)
                }
                (None, SequenceInput::Dense(x)) => {
                    let d_input = x.dims()[2];
                    let x = x.clone().swap_dims(0, 1).reshape([rows, d_input]);
                    x.matmul(layer.input_weight.val()) + bias
                }
            }
            .reshape([time, batch, d_hidden]);
            let initial = state.clone().narrow(0, k, 1).reshape([batch, d_hidden]);
            if k == top {
                return (projected, initial, finals);
            }
            let states = tanh_recurrence(projected, initial, layer.recurrent_weight.val());
            finals.push(last_state(&states));
            below = Some(states);
        }
        unreachable!("the loop returns at the top layer")
    }

    /// The unrolled path: every step of every layer through autodiff, per-step tensors stacked
    /// at the end (never sliced inside the loop).
    fn forward_unrolled(
        &self,
        input: SequenceInput<B>,
        state: Tensor<B, 3>,
        masks: Option<&[Tensor<B, 2>]>,
    ) -> (Tensor<B, 3>, Tensor<B, 3>) {
        let [_, batch, d_hidden] = state.dims();
        let mut inputs = input.into_steps();
        let mut finals = Vec::with_capacity(self.layers.len());
        let mut outputs = Vec::new();
        for (k, layer) in self.layers.iter().enumerate() {
            let initial = state.clone().narrow(0, k, 1).reshape([batch, d_hidden]);
            outputs = layer.forward(inputs, initial, masks);
            finals.push(outputs.last().expect("at least one step").clone());
            inputs = if k + 1 < self.layers.len() {
                outputs
                    .iter()
                    .map(|h| StepInput::Dense(self.dropout.forward(h.clone())))
                    .collect()
            } else {
                Vec::new()
            };
        }
        (Tensor::stack(outputs, 0), Tensor::stack(finals, 0))
    }

    /// One step of every layer; returns the top `h(t)` `[batch, d_hidden]` and the new state
    /// `[num_layers, batch, d_hidden]`. `state` must already be checked.
    pub fn step(&self, input: StepInput<B>, state: Tensor<B, 3>) -> (Tensor<B, 2>, Tensor<B, 3>)
    where
        B: RecurrenceBackend,
    {
        let [_, batch, d_hidden] = state.dims();
        let mut input = input;
        let mut finals = Vec::with_capacity(self.layers.len());
        for (k, layer) in self.layers.iter().enumerate() {
            let hidden = state.clone().narrow(0, k, 1).reshape([batch, d_hidden]);
            let next = layer.step(input, hidden);
            input = StepInput::Dense(self.dropout.forward(next.clone()));
            finals.push(next);
        }
        let top = finals.last().expect("at least one layer").clone();
        (top, Tensor::stack(finals, 0))
    }
}

/// `h(τ)`, `[batch, d_hidden]`, of time-major states `[time, batch, d_hidden]`.
fn last_state<B: Backend>(states: &Tensor<B, 3>) -> Tensor<B, 2> {
    let [time, batch, d_hidden] = states.dims();
    states
        .clone()
        .narrow(0, time - 1, 1)
        .reshape([batch, d_hidden])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, NdArray};
    use burn::module::AutodiffModule;

    type B = Autodiff<NdArray>;

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
