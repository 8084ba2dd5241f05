//! The GRU cell, as `torch.nn.GRU` computes it (the reset gate applied to `W_hn h + b_hn`):
//!
//! ```text
//! r = σ(W_ir x + b_ir + W_hr h + b_hr)      z = σ(W_iz x + b_iz + W_hz h + b_hz)
//! n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//! h' = (1 − z) ⊙ n + z ⊙ h
//! ```

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Tensor, backend::Backend};

use super::{block, gated_parameters, sigmoid, step_of};

/// Configuration of a [`GruCell`].
#[derive(Config, Debug)]
pub struct GruCellConfig {
    /// Width of `x(t)`.
    pub d_input: usize,
    /// Size of the hidden state `h(t)`.
    pub d_hidden: usize,
}

impl GruCellConfig {
    /// Builds the cell, or says which size is invalid.
    pub fn try_init<B: Backend>(&self, device: &B::Device) -> crate::Result<GruCell<B>> {
        let parameters = gated_parameters(self.d_input, self.d_hidden, 3, device)?;
        Ok(GruCell {
            input_weight: parameters.input_weight,
            hidden_weight: parameters.hidden_weight,
            input_bias: parameters.input_bias,
            hidden_bias: parameters.hidden_bias,
        })
    }
}

crate::setting::init_or_panic!(GruCellConfig => GruCell);

/// A GRU cell (PyTorch's `nn.GRU` equations and parameters, stored transposed).
#[derive(Module, Debug)]
pub struct GruCell<B: Backend> {
    /// `weight_ihᵀ`, `[d_input, 3 · d_hidden]`, blocks `r, z, n`.
    pub input_weight: Param<Tensor<B, 2>>,
    /// `weight_hhᵀ`, `[d_hidden, 3 · d_hidden]`.
    pub hidden_weight: Param<Tensor<B, 2>>,
    /// `bias_ih`, `[3 · d_hidden]`.
    pub input_bias: Param<Tensor<B, 1>>,
    /// `bias_hh`, `[3 · d_hidden]`.
    pub hidden_bias: Param<Tensor<B, 1>>,
}

impl<B: Backend> GruCell<B> {
    /// Size of the hidden state.
    pub fn d_hidden(&self) -> usize {
        self.hidden_weight.dims()[0]
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
