//! A stack of recurrent layers with dropout between layers: the hidden part of patterns 1 and 3.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::{Int, Tensor, TensorData, backend::Backend};
use std::ops::Bound::{Excluded, Included};

use super::{
    GatedStack, GatedStackConfig, GatedState, RecurrencePath, RecurrentCell, TanhRecurrence,
    TanhRecurrenceConfig,
};
use crate::error::shape_error;
use crate::fused::{RecurrenceBackend, tanh_recurrence};
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
        let gated = match self.cell.gated() {
            Some(cell) => Some(
                GatedStackConfig::new(cell, self.input.width(), self.d_hidden)
                    .with_num_layers(self.num_layers)
                    .with_dropout(self.dropout)
                    .try_init(device)?,
            ),
            None => None,
        };
        let tanh_layers = if gated.is_some() { 0 } else { self.num_layers };
        let layers = (0..tanh_layers)
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
            gated,
            dropout: DropoutConfig::new(self.dropout).init(),
            input: self.input,
            path: self.path,
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

/// Stacked recurrent layers with dropout between layers: the hidden part of patterns 1 and 3.
///
/// The state is one tensor: `[num_layers, batch, d_hidden]` for the tanh cell and the GRU, and
/// `[2 · num_layers, batch, d_hidden]` for the LSTM (`h` of every layer, then `c` of every layer:
/// PyTorch's `h_n` and `c_n` one after the other), so that it travels from window to window and
/// into checkpoints as the tanh state does.
#[derive(Module, Debug)]
pub struct HiddenStack<B: Backend> {
    /// The tanh layers, bottom first; empty when the cell is gated.
    pub layers: Vec<TanhRecurrence<B>>,
    /// The gated layers when the cell is an LSTM or a GRU.
    pub gated: Option<GatedStack<B>>,
    /// Dropout applied to each layer's output before it feeds the next layer.
    pub dropout: Dropout,
    /// How `x(t)` enters the first layer.
    #[module(skip)]
    pub input: InputEncoding,
    /// How the recurrence runs over a sequence.
    #[module(skip)]
    pub path: RecurrencePath,
    /// Whether every call reads the token and class ids back to check their range.
    #[module(skip)]
    pub id_check: IdCheck,
}

impl<B: Backend> HiddenStack<B> {
    /// Size of each layer's hidden state.
    pub fn d_hidden(&self) -> usize {
        match &self.gated {
            Some(gated) => gated.d_hidden(),
            None => self.layers[0].d_hidden(),
        }
    }

    /// Number of stacked layers.
    pub fn num_layers(&self) -> usize {
        match &self.gated {
            Some(gated) => gated.layers.len(),
            None => self.layers.len(),
        }
    }

    /// The transition of every layer.
    pub fn cell(&self) -> RecurrentCell {
        match self.gated.as_ref().map(GatedStack::cell) {
            None => RecurrentCell::Tanh,
            Some(super::GatedCell::Lstm) => RecurrentCell::Lstm,
            Some(super::GatedCell::Gru) => RecurrentCell::Gru,
        }
    }

    /// The shape of the state for `batch` rows: `[num_layers, batch, d_hidden]`, or
    /// `[2 · num_layers, batch, d_hidden]` for an LSTM.
    pub fn state_dims(&self, batch: usize) -> [usize; 3] {
        [
            self.num_layers() * self.cell().state_rows_per_layer(),
            batch,
            self.d_hidden(),
        ]
    }

    /// The top layer's `h` in a state (`[batch, d_hidden]`): what the output layer reads.
    pub fn top_hidden(&self, state: Tensor<B, 3>) -> Tensor<B, 2> {
        let [_, batch, d_hidden] = state.dims();
        state
            .narrow(0, self.num_layers() - 1, 1)
            .reshape([batch, d_hidden])
    }

    /// Zero state, [`HiddenStack::state_dims`].
    pub fn zero_state(&self, batch: usize, device: &B::Device) -> Tensor<B, 3> {
        Tensor::zeros(self.state_dims(batch), device)
    }

    /// Checks a state against the stack and the batch size; `None` becomes the zero state.
    pub fn check_state(
        &self,
        state: Option<Tensor<B, 3>>,
        batch: usize,
        device: &B::Device,
    ) -> crate::Result<Tensor<B, 3>> {
        let expected = self.state_dims(batch);
        let layout = match self.cell() {
            RecurrentCell::Lstm => "[2 · num_layers (h, then c), batch, d_hidden]",
            RecurrentCell::Tanh | RecurrentCell::Gru => "[num_layers, batch, d_hidden]",
        };
        match state {
            None => Ok(self.zero_state(batch, device)),
            Some(state) if state.dims() == expected => Ok(state),
            Some(state) => Err(shape_error(
                "state",
                format!("{layout} = {expected:?}"),
                &state.dims(),
            )),
        }
    }
}

impl<B: RecurrenceBackend> HiddenStack<B> {
    /// Runs every layer over the sequence, by the stack's [`RecurrencePath`].
    ///
    /// - `input`: `[batch, time]` ids or `[batch, time, d_input]` features, already checked.
    /// - `state`: [`HiddenStack::state_dims`], already checked.
    /// - `lengths`: optional, each row's number of real steps, `[batch]`, each in `1..=time`
    ///   (checked by the caller); past its length a row's state is carried unchanged, so the
    ///   final state is every row's state at its own length.
    ///
    /// Returns the top layer's `h(1) … h(τ)` as `[batch, time, d_hidden]` and the final state
    /// ([`HiddenStack::state_dims`]).
    pub fn forward(
        &self,
        input: SequenceInput<B>,
        state: Tensor<B, 3>,
        lengths: Option<&[usize]>,
    ) -> (Tensor<B, 3>, Tensor<B, 3>) {
        let (top, state) = self.forward_time_major(input, state, lengths);
        (top.swap_dims(0, 1), state)
    }

    /// As [`HiddenStack::forward`], but the top layer's states come time-major,
    /// `[time, batch, d_hidden]`, as the fused path makes them: callers that project every
    /// state (the output layer) can then swap the narrower result instead.
    pub fn forward_time_major(
        &self,
        input: SequenceInput<B>,
        state: Tensor<B, 3>,
        lengths: Option<&[usize]>,
    ) -> (Tensor<B, 3>, Tensor<B, 3>) {
        if let Some(gated) = &self.gated {
            let state = GatedState::unpacked(state, gated.cell());
            let (states, state) = match self.path {
                RecurrencePath::Fused => gated.forward_fused(input, state, lengths),
                RecurrencePath::Unrolled => {
                    let [batch, time] = input.batch_time();
                    let device = state.hidden.device();
                    let masks = lengths.map(|lengths| step_masks(lengths, batch, time, &device));
                    let (outputs, state) =
                        gated.forward_steps(input.into_steps(), state, masks.as_deref());
                    (Tensor::stack(outputs, 0), state)
                }
            };
            return (states, state.packed());
        }
        match self.path {
            RecurrencePath::Fused => self.forward_fused(input, state, lengths),
            RecurrencePath::Unrolled => {
                let [batch, time] = input.batch_time();
                let masks =
                    lengths.map(|lengths| step_masks(lengths, batch, time, &state.device()));
                self.forward_unrolled(input, state, masks.as_deref())
            }
        }
    }

    /// The fused path: per layer, `U x(t) + b` for all steps at once, then one fused recurrence.
    fn forward_fused(
        &self,
        input: SequenceInput<B>,
        state: Tensor<B, 3>,
        lengths: Option<&[usize]>,
    ) -> (Tensor<B, 3>, Tensor<B, 3>) {
        self.forward_fused_with(input, state, lengths, |top| {
            let states = tanh_recurrence(top.projected, top.initial, top.recurrent_weight, lengths);
            let last = last_state(&states);
            (states, last)
        })
    }

    /// The fused path of a tanh stack with the top layer's recurrence left to `top`: every layer
    /// below it runs its fused recurrence, then `top` gets the top layer's inputs and returns
    /// what it computes with its final state `h(τ)` `[batch, d_hidden]` (pattern 1's training
    /// pass fuses the output layer and the loss into that recurrence).
    ///
    /// - `input`, `state`, `lengths`: as for [`HiddenStack::forward`], already checked; the
    ///   layers below the top run with `lengths`, `top` is responsible for its own.
    ///
    /// Returns what `top` computed and the final state of every layer,
    /// `[num_layers, batch, d_hidden]`.
    pub(crate) fn forward_fused_with<T>(
        &self,
        input: SequenceInput<B>,
        state: Tensor<B, 3>,
        lengths: Option<&[usize]>,
        top: impl FnOnce(TopLayer<B>) -> (T, Tensor<B, 2>),
    ) -> (T, Tensor<B, 3>) {
        let [_, batch, d_hidden] = state.dims();
        let [_, time] = input.batch_time();
        // Time-major from here on: rows t·batch + b.
        let mut rows = input.into_time_major_rows();
        let mut finals = Vec::with_capacity(self.layers.len());
        let (lower, [top_layer]) = self.layers.split_at(self.layers.len() - 1) else {
            unreachable!("a stack has at least one layer")
        };
        let initial = |k: usize| state.clone().narrow(0, k, 1).reshape([batch, d_hidden]);
        for (k, layer) in lower.iter().enumerate() {
            let projected = layer.project(rows).reshape([time, batch, d_hidden]);
            let states =
                tanh_recurrence(projected, initial(k), layer.recurrent_weight.val(), lengths);
            finals.push(last_state(&states));
            rows = StepInput::Dense(
                self.dropout
                    .forward(states)
                    .reshape([time * batch, d_hidden]),
            );
        }
        let (result, last) = top(TopLayer {
            projected: top_layer.project(rows).reshape([time, batch, d_hidden]),
            initial: initial(lower.len()),
            recurrent_weight: top_layer.recurrent_weight.val(),
        });
        finals.push(last);
        (result, Tensor::stack(finals, 0))
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
            inputs = next_layer_inputs(&self.dropout, &outputs, k + 1 == self.layers.len());
        }
        (Tensor::stack(outputs, 0), Tensor::stack(finals, 0))
    }

    /// One step of every layer; returns the top `h(t)` `[batch, d_hidden]` and the new state
    /// ([`HiddenStack::state_dims`]). `state` must already be checked.
    pub fn step(&self, input: StepInput<B>, state: Tensor<B, 3>) -> (Tensor<B, 2>, Tensor<B, 3>) {
        if let Some(gated) = &self.gated {
            let (top, state) = gated.step(input, GatedState::unpacked(state, gated.cell()), true);
            return (top, state.packed());
        }
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

/// What the top layer's recurrence needs on the fused path.
pub(crate) struct TopLayer<B: Backend> {
    /// `p(t) = b + U x(t)` of every step, `[time, batch, d_hidden]`.
    pub projected: Tensor<B, 3>,
    /// `h(0)`, `[batch, d_hidden]`.
    pub initial: Tensor<B, 2>,
    /// `W`, stored `[d_hidden, d_hidden]`.
    pub recurrent_weight: Tensor<B, 2>,
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
