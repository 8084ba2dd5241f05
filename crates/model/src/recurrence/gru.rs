//! The GRU cell, as `torch.nn.GRU` computes it (the reset gate applied to `W_hn h + b_hn`):
//!
//! ```text
//! r = σ(W_ir x + b_ir + W_hr h + b_hr)      z = σ(W_iz x + b_iz + W_hz h + b_hz)
//! n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//! h' = (1 − z) ⊙ n + z ⊙ h
//! ```

use burn::module::Param;
use burn::tensor::{Tensor, backend::Backend};

use super::cell::{CellFacts, LayerState, PytorchParameters, Rows, Steps, last_state};
use super::cell::{FusedPair, pair_with_last};
use super::gated::{block, gated_cell, gated_parameters, step_of, unrolled_gated};
use crate::fused::rollout::{LayerWeights, RolloutCell};
use crate::fused::{RecurrenceBackend, gru, gru_pair, sigmoid};
use crate::input::StepInput;

gated_cell!(
    /// A GRU cell (PyTorch's `nn.GRU` equations and parameters, stored transposed).
    GruCell(GruCellConfig, CellFacts::gated("gru", 3, false), "`r, z, n`")
);

impl<B: Backend> GruCell<B> {
    /// The weights the rollout reads, detached (the GRU: `b_hh` stays apart, for the reset gate multiplies `W_hn h + b_hn`).
    pub(super) fn rollout_layer(&self) -> LayerWeights<B> {
        LayerWeights {
            cell: RolloutCell::Gru,
            input_weight: self.input_weight.val().detach(),
            bias: (self.input_bias.val()).detach(),
            recurrent_weight: self.hidden_weight.val().detach(),
            recurrent_bias: Some(self.hidden_bias.val().detach()),
        }
    }

    /// One step: `h(t)` (`[batch, d_hidden]`) from `x(t)` (`[batch, d_input]`) and `h(t-1)`.
    pub fn step(&self, x: Tensor<B, 2>, hidden: Tensor<B, 2>) -> Tensor<B, 2> {
        let projected = x.matmul(self.input_weight.val()) + self.input_bias.val().unsqueeze::<2>();
        self.advance(projected, hidden)
    }

    /// One step from the input's share of the gates, `W_ih x(t) + b_ih` (`[batch, 3 ·
    /// d_hidden]`, however it was computed: a lookup for token ids), and `h(t-1)`.
    pub fn advance(&self, projected: Tensor<B, 2>, hidden: Tensor<B, 2>) -> Tensor<B, 2> {
        let h = self.d_hidden();
        // The hidden side is kept apart: the reset gate multiplies W_hn h + b_hn alone.
        let from_hidden = hidden.clone().matmul(self.hidden_weight.val())
            + self.hidden_bias.val().unsqueeze::<2>();
        let reset = sigmoid(block(&projected, 0, h) + block(&from_hidden, 0, h));
        let update = sigmoid(block(&projected, 1, h) + block(&from_hidden, 1, h));
        let candidate = (block(&projected, 2, h) + reset * block(&from_hidden, 2, h)).tanh();
        candidate.clone() + update * (hidden - candidate)
    }

    /// Runs the cell over `x` (`[batch, time, d_input]`) from `h(0)` (zeros when `None`).
    /// Returns `h(1) … h(τ)`, `[batch, time, d_hidden]`, and `h(τ)`.
    pub fn forward(
        &self,
        x: Tensor<B, 3>,
        hidden: Option<Tensor<B, 2>>,
    ) -> (Tensor<B, 3>, Tensor<B, 2>) {
        let [batch, time, _] = x.dims();
        let mut hidden =
            hidden.unwrap_or_else(|| Tensor::zeros([batch, self.d_hidden()], &x.device()));
        let mut outputs = Vec::with_capacity(time);
        for t in 0..time {
            hidden = self.step(step_of(&x, t), hidden);
            outputs.push(hidden.clone().unsqueeze_dim(1));
        }
        (Tensor::cat(outputs, 1), hidden)
    }
}

impl<B: Backend> GruCell<B> {
    /// [`GruCell::advance`] on a layer's state.
    fn advance_layer(&self, projected: Tensor<B, 2>, state: LayerState<B>) -> LayerState<B> {
        LayerState::of_hidden(self.advance(projected, state.hidden))
    }

    /// The fused operation's input for `sequence`, and its number of steps.
    fn recurrence_input(&self, sequence: Rows<'_, B>) -> (gru::Input<B>, usize)
    where
        B: RecurrenceBackend,
    {
        let [time, batch] = sequence.time_batch;
        let projected = sequence
            .rows
            .affine(self.input_weight.val(), self.input_bias.val());
        let projected = projected.reshape([time, batch, 3 * self.d_hidden()]);
        let (weight, bias) = (self.hidden_weight.val(), self.hidden_bias.val());
        let initial = sequence.initial.hidden;
        let input = gru::input(projected, initial, weight, bias, sequence.lengths);
        (input, time)
    }

    /// The fused operation over a sequence: `h(1) … h(τ)` and the final state.
    fn fused_layer(&self, sequence: Rows<'_, B>) -> (Tensor<B, 3>, LayerState<B>)
    where
        B: RecurrenceBackend,
    {
        let (input, time) = self.recurrence_input(sequence);
        with_last(gru::run(input), time)
    }

    /// [`GruCell::fused_layer`] of `self` and `other` at once, each on half of the cores.
    fn fused_layer_pair(&self, other: &Self, [first, second]: [Rows<'_, B>; 2]) -> FusedPair<B>
    where
        B: RecurrenceBackend,
    {
        let (first, time) = self.recurrence_input(first);
        let (second, _) = other.recurrence_input(second);
        pair_with_last(gru_pair::recurrences(first, second), |half| {
            with_last(half.clone(), time).1
        })
    }
}

/// `h(1) … h(τ)` (`[time, batch, H]`) and the final state.
fn with_last<B: Backend>(states: Tensor<B, 3>, time: usize) -> (Tensor<B, 3>, LayerState<B>) {
    let last = LayerState::of_hidden(last_state(&states, time));
    (states, last)
}
