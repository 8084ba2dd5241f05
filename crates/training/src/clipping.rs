//! Global-norm gradient clipping, computed as PyTorch's `torch.nn.utils.clip_grad_norm_`.
//!
//! Burn's own norm clipping scales each parameter tensor by its own norm; PyTorch (and char-rnn
//! recipes) scale all gradients together by one coefficient from the norm of their concatenation,
//! which keeps the direction of the whole update.

use burn::module::{AutodiffModule, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use burn::tensor::backend::AutodiffBackend;
use unroll_model::RecurrenceBackend;

use crate::error::Result;
use crate::settings::check_max_norm;

/// Sums `‖g‖²` of every parameter's gradient (on the CPU backends by a kernel that reads each
/// gradient once on every core: on Burn's operations the squares were written out and summed
/// on one core, 6 % of a seq2seq step).
struct SquaredNorm<'a> {
    gradients: &'a GradientsParams,
    total: f64,
}

impl<B: AutodiffBackend<InnerBackend: RecurrenceBackend>> ModuleVisitor<B> for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(gradient) = self.gradients.get::<B::InnerBackend, D>(param.id) {
            self.total += B::InnerBackend::squared_norm(gradient.into_primitive().tensor());
        }
    }
}

/// Multiplies every parameter's gradient by one coefficient.
struct Scale<'a> {
    gradients: &'a mut GradientsParams,
    coefficient: f64,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(gradient) = self.gradients.remove::<B::InnerBackend, D>(param.id) {
            self.gradients
                .register(param.id, gradient.mul_scalar(self.coefficient));
        }
    }
}

/// The global L2 norm of all gradients of `module`'s parameters: `‖concat(g₁, g₂, …)‖₂`.
pub fn global_norm<B: AutodiffBackend<InnerBackend: RecurrenceBackend>, M: AutodiffModule<B>>(
    module: &M,
    gradients: &GradientsParams,
) -> f64 {
    let mut visitor = SquaredNorm {
        gradients,
        total: 0.0,
    };
    module.visit(&mut visitor);
    visitor.total.sqrt()
}

/// Scales all gradients by `min(1, max_norm / (norm + 1e-6))` and returns the norm before
/// clipping, exactly as PyTorch's `clip_grad_norm_` does.
pub fn clip_global_norm<
    B: AutodiffBackend<InnerBackend: RecurrenceBackend>,
    M: AutodiffModule<B>,
>(
    module: &M,
    mut gradients: GradientsParams,
    max_norm: f64,
) -> Result<(GradientsParams, f64)> {
    check_max_norm(max_norm)?;
    let norm = global_norm(module, &gradients);
    let coefficient = max_norm / (norm + 1e-6);
    if coefficient < 1.0 {
        module.visit(&mut Scale {
            gradients: &mut gradients,
            coefficient,
        });
    }
    Ok((gradients, norm))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, NdArray};
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::TensorData;

    type B = Autodiff<NdArray<f64>>;
    type Inner = NdArray<f64>;

    /// A 2×2 linear layer whose gradients are set by hand: weight [[3, 0], [0, 4]], bias [12, 0].
    fn setup() -> (Linear<B>, GradientsParams) {
        let device = Default::default();
        let model = LinearConfig::new(2, 2).init::<B>(&device);
        let mut gradients = GradientsParams::new();
        gradients.register(
            model.weight.id,
            Tensor::<Inner, 2>::from_data(
                TensorData::new(vec![3.0, 0.0, 0.0, 4.0], [2, 2]),
                &device,
            ),
        );
        gradients.register(
            model.bias.as_ref().unwrap().id,
            Tensor::<Inner, 1>::from_data(TensorData::new(vec![12.0, 0.0], [2]), &device),
        );
        (model, gradients)
    }

    fn values<const D: usize>(gradients: &GradientsParams, id: burn::module::ParamId) -> Vec<f64> {
        gradients
            .get::<Inner, D>(id)
            .unwrap()
            .into_data()
            .iter::<f64>()
            .collect()
    }

    #[test]
    fn scales_all_gradients_by_one_coefficient_like_pytorch() {
        let (model, gradients) = setup();
        // √(3² + 4² + 12²) = 13: PyTorch's total_norm, and clip_coef = 6.5 / (13 + 1e-6).
        let (clipped, norm) = clip_global_norm(&model, gradients, 6.5).unwrap();
        assert!((norm - 13.0).abs() < 1e-12);
        let coefficient = 6.5 / (13.0 + 1e-6);
        let weight = values::<2>(&clipped, model.weight.id);
        let bias = values::<1>(&clipped, model.bias.as_ref().unwrap().id);
        let expected_weight = [3.0 * coefficient, 0.0, 0.0, 4.0 * coefficient];
        for (a, e) in weight.iter().zip(expected_weight) {
            assert!((a - e).abs() < 1e-12, "{weight:?}");
        }
        assert!((bias[0] - 12.0 * coefficient).abs() < 1e-12, "{bias:?}");
        assert!((global_norm(&model, &clipped) - 6.5).abs() < 1e-6);
    }

    #[test]
    fn leaves_small_gradients_alone() {
        let (model, gradients) = setup();
        let (clipped, norm) = clip_global_norm(&model, gradients, 20.0).unwrap();
        assert!((norm - 13.0).abs() < 1e-12);
        assert_eq!(values::<2>(&clipped, model.weight.id), [3.0, 0.0, 0.0, 4.0]);
    }

    #[test]
    fn rejects_a_nonsensical_maximum() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let (model, gradients) = setup();
            assert!(clip_global_norm(&model, gradients, bad).is_err(), "{bad}");
        }
    }
}
