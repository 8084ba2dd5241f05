//! The LSTM cell, as `torch.nn.LSTM` computes it:
//!
//! ```text
//! i = σ(W_ii x + b_ii + W_hi h + b_hi)      f = σ(W_if x + b_if + W_hf h + b_hf)
//! g = tanh(W_ig x + b_ig + W_hg h + b_hg)   o = σ(W_io x + b_io + W_ho h + b_ho)
//! c' = f ⊙ c + i ⊙ g                         h' = o ⊙ tanh(c')
//! ```

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Tensor, backend::Backend};

use super::{block, gated_parameters, sigmoid, step_of};

/// Configuration of an [`LstmCell`].
#[derive(Config, Debug)]
pub struct LstmCellConfig {
    /// Width of `x(t)`.
    pub d_input: usize,
    /// Size of the hidden state `h(t)` and of the cell state `c(t)`.
    pub d_hidden: usize,
}

impl LstmCellConfig {
    /// Builds the cell, or says which size is invalid.
    pub fn try_init<B: Backend>(&self, device: &B::Device) -> crate::Result<LstmCell<B>> {
        let parameters = gated_parameters(self.d_input, self.d_hidden, 4, device)?;
        Ok(LstmCell {
            input_weight: parameters.input_weight,
            hidden_weight: parameters.hidden_weight,
            input_bias: parameters.input_bias,
            hidden_bias: parameters.hidden_bias,
        })
    }
}

crate::setting::init_or_panic!(LstmCellConfig => LstmCell);

/// An LSTM cell (PyTorch's `nn.LSTM` equations and parameters, stored transposed).
#[derive(Module, Debug)]
pub struct LstmCell<B: Backend> {
    /// `weight_ihᵀ`, `[d_input, 4 · d_hidden]`, blocks `i, f, g, o`.
    pub input_weight: Param<Tensor<B, 2>>,
    /// `weight_hhᵀ`, `[d_hidden, 4 · d_hidden]`.
    pub hidden_weight: Param<Tensor<B, 2>>,
    /// `bias_ih`, `[4 · d_hidden]`.
    pub input_bias: Param<Tensor<B, 1>>,
    /// `bias_hh`, `[4 · d_hidden]`.
    pub hidden_bias: Param<Tensor<B, 1>>,
}

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
    /// Size of the hidden state.
    pub fn d_hidden(&self) -> usize {
        self.hidden_weight.dims()[0]
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
