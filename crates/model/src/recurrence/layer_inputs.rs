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

/// A layer's input share `x(t) · W + b` of one step (`[batch, width]`), in its unrolled loop.
pub(crate) struct StepProjection<B: Backend> {
    weight: Tensor<B, 2>,
    bias: Tensor<B, 2>,
    /// `W + b` row by row, for token ids: each step is then a single lookup.
    table: Option<Tensor<B, 2>>,
}

impl<B: Backend> StepProjection<B> {
    /// `weight` `[d_input, width]` and `bias` `[width]`, for steps like `first`.
    pub(crate) fn new(
        weight: Tensor<B, 2>,
        bias: Tensor<B, 1>,
        first: Option<&StepInput<B>>,
    ) -> Self {
        let bias = bias.unsqueeze::<2>();
        let table = match first {
            Some(StepInput::Tokens(_)) => Some(weight.clone() + bias.clone()),
            _ => None,
        };
        StepProjection {
            weight,
            bias,
            table,
        }
    }

    /// `x(t) · W + b` of one step's input (`[batch]` ids or `[batch, d_input]`).
    pub(crate) fn project(&self, input: StepInput<B>) -> Tensor<B, 2> {
        match (input, &self.table) {
            (StepInput::Tokens(ids), Some(table)) => table.clone().select(0, ids),
            (input, _) => input.project(self.weight.clone()) + self.bias.clone(),
        }
    }
}
