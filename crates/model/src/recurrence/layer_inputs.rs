//! What passes from one layer of a stack to the next: each step's hidden state through the
//! dropout between layers. The tanh stack and the gated stack share it.

use burn::nn::Dropout;
use burn::tensor::{Tensor, backend::Backend};

use crate::fused::RecurrenceBackend;
use crate::input::StepInput;

/// The next layer's inputs, step by step: a layer's `h(1) … h(τ)` (each `[batch, d_hidden]`)
/// through the dropout between layers; none above the top layer (`top`).
pub(crate) fn next_layer_inputs<B: RecurrenceBackend>(
    dropout: &Dropout,
    outputs: &[Tensor<B, 2>],
    top: bool,
) -> Vec<StepInput<B>> {
    if top {
        return Vec::new();
    }
    outputs
        .iter()
        .map(|h| StepInput::Dense(self::dropout(dropout, h.clone())))
        .collect()
}

/// `x` through `dropout` as Burn's `Dropout::forward` defines it (nothing outside training or
/// at probability 0), the mask from [`RecurrenceBackend::dropout_mask`] (drawn on every core
/// by the CPU backends) applied by one product; any shape.
pub(crate) fn dropout<B: RecurrenceBackend, const D: usize>(
    dropout: &Dropout,
    x: Tensor<B, D>,
) -> Tensor<B, D> {
    let device = x.device();
    if !B::ad_enabled(&device) || dropout.prob == 0.0 {
        return x;
    }
    let mask = B::dropout_mask(x.shape(), 1.0 - dropout.prob, &device);
    let mask =
        Tensor::<B, D>::from_primitive(burn::tensor::TensorPrimitive::Float(mask)).cast(x.dtype());
    x * mask
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

#[cfg(test)]
#[cfg(feature = "ndarray")]
mod tests {
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::{Tensor, TensorData};

    use super::*;
    use crate::fused::dropout::tests::assert_mask;

    /// `dropout` drops and scales in training, its gradient is the mask, and it does nothing
    /// outside training.
    #[test]
    fn dropout_scales_what_it_keeps_and_its_gradient_is_the_mask() {
        type B = Autodiff<Flex>;
        let device = Default::default();
        let dropout = burn::nn::DropoutConfig::new(0.25).init();
        let values: Vec<f32> = (0..600).map(|i| 1.0 + (i % 13) as f32 * 0.1).collect();
        let x = Tensor::<B, 2>::from_data(TensorData::new(values.clone(), [20, 30]), &device)
            .require_grad();
        let y = self::dropout(&dropout, x.clone());
        let out = y.clone().into_data().to_vec::<f32>().unwrap();
        let mask: Vec<f32> = out.iter().zip(&values).map(|(y, x)| y / x).collect();
        assert_mask(&mask, 0.75);
        let gradients = (y * 1.0).sum().backward();
        let gradient = x.grad(&gradients).expect("a gradient");
        let gradient = gradient.into_data().to_vec::<f32>().unwrap();
        for (g, m) in gradient.iter().zip(&mask) {
            assert!((g - m).abs() < 1e-5, "gradient {g} against mask {m}");
        }
        let inner =
            Tensor::<Flex, 2>::from_data(TensorData::new(values.clone(), [20, 30]), &device);
        assert_eq!(
            self::dropout(&dropout, inner)
                .into_data()
                .to_vec::<f32>()
                .unwrap(),
            values
        );
    }
}
