//! What passes from one layer of a stack to the next: each step's hidden state through the
//! dropout between layers. The tanh stack and the gated stack share it.

use burn::nn::Dropout;
use burn::tensor::{Tensor, backend::Backend};

use crate::input::StepInput;

/// The next layer's inputs, step by step: a layer's `h(1) … h(τ)` (each `[batch, d_hidden]`)
/// through the dropout between layers; none above the top layer (`top`).
pub(crate) fn next_layer_inputs<B: Backend>(
    dropout: &Dropout,
    outputs: &[Tensor<B, 2>],
    top: bool,
) -> Vec<StepInput<B>> {
    if top {
        return Vec::new();
    }
    outputs
        .iter()
        .map(|h| StepInput::Dense(dropout.forward(h.clone())))
        .collect()
}
