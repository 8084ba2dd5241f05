//! The LSTM cell, as `torch.nn.LSTM` computes it:
//!
//! ```text
//! i = σ(W_ii x + b_ii + W_hi h + b_hi)      f = σ(W_if x + b_if + W_hf h + b_hf)
//! g = tanh(W_ig x + b_ig + W_hg h + b_hg)   o = σ(W_io x + b_io + W_ho h + b_ho)
//! c' = f ⊙ c + i ⊙ g                         h' = o ⊙ tanh(c')
//! ```

use burn::module::Param;
use burn::tensor::{Tensor, backend::Backend};

use super::cell::{CellFacts, LayerState, PytorchParameters, Rows, Steps, last_state};
use super::cell::{FusedPair, pair_with_last};
use super::gated::{block, gated_cell, gated_parameters, step_of, unrolled_gated};
use crate::fused::rollout::{LayerWeights, RolloutCell};
use crate::fused::{RecurrenceBackend, lstm, lstm_pair, sigmoid};
use crate::input::StepInput;

gated_cell!(
    /// An LSTM cell (PyTorch's `nn.LSTM` equations and parameters, stored transposed).
    LstmCell(LstmCellConfig, CellFacts::gated("lstm", 4, true), "`i, f, g, o`")
);

/// An LSTM's state: `h` and `c`, each `[batch, d_hidden]`.
#[derive(Debug, Clone)]
pub struct LstmState<B: Backend> {
    /// The hidden state `h(t)`, what the cell outputs.
    pub hidden: Tensor<B, 2>,
    /// The cell state `c(t)`.
    pub cell: Tensor<B, 2>,
}

impl<B: Backend> LstmState<B> {
    /// Zeros, `[batch, d_hidden]` each.
    pub fn zeros(batch: usize, d_hidden: usize, device: &B::Device) -> Self {
        LstmState {
            hidden: Tensor::zeros([batch, d_hidden], device),
            cell: Tensor::zeros([batch, d_hidden], device),
        }
    }
}

impl<B: Backend> LstmCell<B> {
    /// The weights the rollout reads, detached (the LSTM: `b_ih + b_hh` is one bias).
    pub(super) fn rollout_layer(&self) -> LayerWeights<B> {
        LayerWeights {
            cell: RolloutCell::Lstm,
            input_weight: self.input_weight.val().detach(),
            bias: (self.input_bias.val() + self.hidden_bias.val()).detach(),
            recurrent_weight: self.hidden_weight.val().detach(),
            recurrent_bias: None,
        }
    }

    /// One step from `x(t)` (`[batch, d_input]`) and the state before it.
    pub fn step(&self, x: Tensor<B, 2>, state: LstmState<B>) -> LstmState<B> {
        let projected = x.matmul(self.input_weight.val()) + self.input_bias.val().unsqueeze::<2>();
        self.advance(projected, state)
    }

    /// One step from the input's share of the gates, `W_ih x(t) + b_ih` (`[batch, 4 ·
    /// d_hidden]`, however it was computed: a lookup for token ids), and the state before it.
    pub fn advance(&self, projected: Tensor<B, 2>, state: LstmState<B>) -> LstmState<B> {
        let h = self.d_hidden();
        let gates = projected
            + state.hidden.matmul(self.hidden_weight.val())
            + self.hidden_bias.val().unsqueeze::<2>();
        let input = sigmoid(block(&gates, 0, h));
        let forget = sigmoid(block(&gates, 1, h));
        let candidate = block(&gates, 2, h).tanh();
        let output = sigmoid(block(&gates, 3, h));
        let cell = forget * state.cell + input * candidate;
        LstmState {
            hidden: output * cell.clone().tanh(),
            cell,
        }
    }

    /// Runs the cell over `x` (`[batch, time, d_input]`) from `state` (zeros when `None`).
    /// Returns `h(1) … h(τ)`, `[batch, time, d_hidden]`, and the final state.
    pub fn forward(
        &self,
        x: Tensor<B, 3>,
        state: Option<LstmState<B>>,
    ) -> (Tensor<B, 3>, LstmState<B>) {
        let [batch, time, _] = x.dims();
        let mut state =
            state.unwrap_or_else(|| LstmState::zeros(batch, self.d_hidden(), &x.device()));
        let mut outputs = Vec::with_capacity(time);
        for t in 0..time {
            state = self.step(step_of(&x, t), state);
            outputs.push(state.hidden.clone().unsqueeze_dim(1));
        }
        (Tensor::cat(outputs, 1), state)
    }
}

impl<B: Backend> LstmCell<B> {
    /// [`LstmCell::advance`] on a layer's state, which holds `c`.
    fn advance_layer(&self, projected: Tensor<B, 2>, state: LayerState<B>) -> LayerState<B> {
        let cell = state.cell.expect("an LSTM layer's state holds c");
        let hidden = state.hidden;
        let next = self.advance(projected, LstmState { hidden, cell });
        LayerState {
            hidden: next.hidden,
            cell: Some(next.cell),
        }
    }

    /// The fused operation's input for `sequence`, and its number of steps.
    fn recurrence_input(&self, sequence: Rows<'_, B>) -> (lstm::Input<B>, usize)
    where
        B: RecurrenceBackend,
    {
        let [time, batch] = sequence.time_batch;
        // A parameter draws its values when first read (its size too): biases, then weights,
        // as this operation has always read them, so that a seed gives the same network.
        let bias = self.input_bias.val() + self.hidden_bias.val();
        let projected = sequence.rows.affine(self.input_weight.val(), bias);
        let projected = projected.reshape([time, batch, 4 * self.d_hidden()]);
        let initial = sequence.initial;
        let cell = initial.cell.expect("an LSTM layer's state holds c");
        let weight = self.hidden_weight.val();
        let input = lstm::input(projected, initial.hidden, cell, weight, sequence.lengths);
        (input, time)
    }

    /// The fused operation over a sequence: `h(1) … h(τ)`, then `c(τ)`, and the final state.
    fn fused_layer(&self, sequence: Rows<'_, B>) -> (Tensor<B, 3>, LayerState<B>)
    where
        B: RecurrenceBackend,
    {
        let (input, time) = self.recurrence_input(sequence);
        with_last(lstm::run(input), time)
    }

    /// [`LstmCell::fused_layer`] of `self` and `other` at once, each on half of the cores.
    fn fused_layer_pair(&self, other: &Self, [first, second]: [Rows<'_, B>; 2]) -> FusedPair<B>
    where
        B: RecurrenceBackend,
    {
        let (first, time) = self.recurrence_input(first);
        let (second, _) = other.recurrence_input(second);
        pair_with_last(lstm_pair::recurrences(first, second), |half| {
            with_last(half.clone(), time).1
        })
    }
}

/// `h(1) … h(τ)` then `c(τ)` (`[time + 1, batch, H]`), and the final state they hold.
fn with_last<B: Backend>(both: Tensor<B, 3>, time: usize) -> (Tensor<B, 3>, LayerState<B>) {
    let last = LayerState {
        hidden: last_state(&both, time),
        cell: Some(last_state(&both, time + 1)),
    };
    (both, last)
}
