//! One layer of tanh hidden-to-hidden recurrence.

use burn::config::Config;
use burn::module::{Initializer, Module, Param};
use burn::tensor::{Tensor, backend::Backend};

use super::cell::{Cell, CellFacts, CellKind, FusedLoss, LayerState, OutputLoss};
use super::cell::{FusedPair, PytorchParameters, Rows, Steps, last_state, pair_with_last};
use crate::fused::rollout::{LayerWeights, RolloutCell};
use crate::fused::tanh_recurrence_loss;
use crate::fused::{RecurrenceBackend, recurrence, tanh, tanh_pair, tanh_recurrence};
use crate::input::StepInput;
use crate::recurrence::layer_inputs::StepProjection;
use crate::setting::at_least_one;

/// Configuration of one [`TanhRecurrence`].
#[derive(Config, Debug)]
pub struct TanhRecurrenceConfig {
    /// Width of `x(t)`: vocabulary size for token ids, feature count for dense input.
    pub d_input: usize,
    /// Size of the hidden state `h(t)`.
    pub d_hidden: usize,
}

impl TanhRecurrenceConfig {
    /// Builds the layer with PyTorch's initialisation for `nn.RNN` (every weight and bias uniform
    /// in `[-1/√d_hidden, 1/√d_hidden]`), or says which size is invalid (as the gated cells do).
    pub fn try_init<B: Backend>(&self, device: &B::Device) -> crate::Result<TanhRecurrence<B>> {
        at_least_one("d_input", self.d_input as u64)?;
        at_least_one("d_hidden", self.d_hidden as u64)?;
        let init = uniform_initializer(self.d_hidden);
        Ok(TanhRecurrence {
            input_weight: init.init([self.d_input, self.d_hidden], device),
            recurrent_weight: init.init([self.d_hidden, self.d_hidden], device),
            bias: init.init([self.d_hidden], device),
        })
    }
}

crate::setting::init_or_panic!(TanhRecurrenceConfig => TanhRecurrence);

impl CellKind for TanhRecurrenceConfig {
    // Kept for the backward pass: the state, its gradient and the projected input.
    const FACTS: CellFacts = CellFacts {
        name: "tanh",
        gates: 1,
        has_cell_state: false,
        bias_vectors: 1,
        values_per_state: 3,
    };
}

/// PyTorch's initialisation of its RNNs: uniform in `[-1/√d_hidden, 1/√d_hidden]`.
pub(crate) fn uniform_initializer(d_hidden: usize) -> Initializer {
    let bound = 1.0 / (d_hidden as f64).sqrt();
    Initializer::Uniform {
        min: -bound,
        max: bound,
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

    /// `b + U x` of every row of `input` (ids `[rows]` or features `[rows, d_input]`):
    /// `[rows, d_hidden]`.
    pub fn project(&self, input: StepInput<B>) -> Tensor<B, 2>
    where
        B: RecurrenceBackend,
    {
        // Burn draws a parameter's initial values when it is first read, so the order of first
        // reads decides which values a seed gives each parameter: b before U, as always here.
        let bias = self.bias.val();
        input.affine(self.input_weight.val(), bias)
    }

    /// `p(t) = b + U x(t)` of every step of time-major `rows` (`[time · batch]` ids or
    /// `[time · batch, d_input]`): `[time, batch, d_hidden]`.
    fn project_sequence(&self, rows: StepInput<B>, [time, batch]: [usize; 2]) -> Tensor<B, 3>
    where
        B: RecurrenceBackend,
    {
        self.project(rows).reshape([time, batch, self.d_hidden()])
    }

    /// Runs the recurrence over all steps, one autodiff node per operation and step, on Burn's
    /// own operations only: the reference the fused path is checked against, and the path for
    /// padded sequences.
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
        let bias = self.bias.val();
        let projection = StepProjection::new(self.input_weight.val(), bias, inputs.first());
        let mut hidden = initial;
        let mut outputs = Vec::with_capacity(inputs.len());
        for (t, input) in inputs.into_iter().enumerate() {
            let projected = projection.project(input);
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
        // U before b: the order of first reads this step has always had (see `project`).
        let projected = input.affine(self.input_weight.val(), self.bias.val());
        tanh(projected + hidden.matmul(self.recurrent_weight.val()))
    }
}

impl<B: Backend> Cell<B> for TanhRecurrence<B> {
    fn d_hidden(&self) -> usize {
        TanhRecurrence::d_hidden(self)
    }

    fn unrolled(&self, steps: Steps<'_, B>) -> (Vec<Tensor<B, 2>>, LayerState<B>) {
        let outputs = self.forward(steps.inputs, steps.initial.hidden, steps.masks);
        let last = outputs.last().expect("at least one step").clone();
        (outputs, LayerState::of_hidden(last))
    }

    fn fused(&self, sequence: Rows<'_, B>) -> (Tensor<B, 3>, LayerState<B>)
    where
        B: RecurrenceBackend,
    {
        let time = sequence.time_batch[0];
        let projected = self.project_sequence(sequence.rows, sequence.time_batch);
        let weight = self.recurrent_weight.val();
        let states = tanh_recurrence(projected, sequence.initial.hidden, weight, sequence.lengths);
        let last = LayerState::of_hidden(last_state(&states, time));
        (states, last)
    }

    fn fused_pair(&self, other: &Self, sequences: [Rows<'_, B>; 2]) -> FusedPair<B>
    where
        B: RecurrenceBackend,
    {
        let time = sequences[0].time_batch[0];
        let [first, second] = sequences;
        let input = |cell: &Self, sequence: Rows<'_, B>| {
            let projected = cell.project_sequence(sequence.rows, sequence.time_batch);
            let weight = cell.recurrent_weight.val();
            recurrence::input(projected, sequence.initial.hidden, weight, sequence.lengths)
        };
        let (first, second) = (input(self, first), input(other, second));
        pair_with_last(tanh_pair::recurrences(first, second), |half| {
            LayerState::of_hidden(last_state(half, time))
        })
    }

    fn step(&self, input: StepInput<B>, state: LayerState<B>) -> LayerState<B>
    where
        B: RecurrenceBackend,
    {
        LayerState::of_hidden(TanhRecurrence::step(self, input, state.hidden))
    }

    fn pytorch_parameters(&self) -> PytorchParameters<B> {
        // PyTorch's `nn.RNN` has two biases; the textbook's one is `bias_ih`, `bias_hh` is zero.
        let bias = self.bias.val();
        let weights = [&self.input_weight, &self.recurrent_weight].map(|w| w.val().transpose());
        PytorchParameters {
            weights,
            biases: [bias.clone(), bias.zeros_like()],
        }
    }

    fn fused_loss<'a>(&self, sequence: Rows<'a, B>, loss: OutputLoss<'_, B>) -> FusedLoss<'a, B>
    where
        B: RecurrenceBackend,
    {
        let projected = self.project_sequence(sequence.rows, sequence.time_batch);
        let recurrent_weight = self.recurrent_weight.val();
        let (output_weight, output_bias) = (loss.output)();
        let (losses, last) = tanh_recurrence_loss(
            projected,
            sequence.initial.hidden,
            recurrent_weight,
            output_weight,
            output_bias,
            loss.targets,
        );
        Ok((losses, LayerState::of_hidden(last)))
    }

    fn rollout_weights(&self) -> Option<LayerWeights<B>> {
        Some(LayerWeights {
            cell: RolloutCell::Tanh,
            input_weight: self.input_weight.val().detach(),
            bias: self.bias.val().detach(),
            recurrent_weight: self.recurrent_weight.val().detach(),
            recurrent_bias: None,
        })
    }
}
