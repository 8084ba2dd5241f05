//! One Adam step of one parameter (Kingma and Ba 2015, as Burn's `Adam` computes it), in one pass
//! over its values on the CPU backends.
//!
//! With `g` the gradient and `t` the step (from 1):
//! `m = β₁ m + (1 − β₁) g`, `v = β₂ v + (1 − β₂) g²`,
//! `θ = θ − lr · (m · √(1 − β₂ᵗ) / (1 − β₁ᵗ)) / (√v + ε √(1 − β₂ᵗ))`.
//!
//! Burn's optimiser runs this as a dozen tensor operations, each a pass over the parameter and a
//! fresh buffer; the host kernel reads `θ`, `g`, `m`, `v` once and writes `θ`, `m`, `v` in place
//! (the trainer's optimiser, `unroll_training::FusedAdam`, calls it through the backend's
//! `adam_step`). The generic pass (what the GPU backends run) is Burn's sequence of operations,
//! in the same order.

#[cfg(host_kernels)]
mod kernel;

#[cfg(host_kernels)]
use burn::tensor::DType;
use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Shape, Tensor, TensorMetadata};

#[cfg(host_kernels)]
use super::host::math::Real;
#[cfg(host_kernels)]
use super::host::{HostView, read, write};
use super::{float, primitive};

/// The step's numbers: the learning rate, the moments' decays, `ε`, and which step this is.
#[derive(Debug, Clone, Copy)]
pub struct AdamConstants {
    /// The learning rate.
    pub learning_rate: f64,
    /// `β₁`, the first moment's decay.
    pub beta_1: f32,
    /// `β₂`, the second moment's decay.
    pub beta_2: f32,
    /// `ε`, added to `√v` (scaled by the second moment's bias correction, as Burn does).
    pub epsilon: f32,
    /// The step, from 1 (the moments' bias corrections depend on it).
    pub time: usize,
}

impl AdamConstants {
    /// `(1 − β₁, 1 − β₂, m's factor, ε's term)`, in f32 as Burn computes them: `m`'s factor is
    /// `√(1 − β₂ᵗ) / (1 − β₁ᵗ)`, `ε`'s term `ε √(1 − β₂ᵗ)`.
    pub(crate) fn factors(&self) -> (f32, f32, f32, f32) {
        let time = i32::try_from(self.time).unwrap_or(i32::MAX);
        let correction_2 = (1.0 - self.beta_2.powi(time)).sqrt();
        let moment_factor = correction_2 / (1.0 - self.beta_1.powi(time));
        (
            1.0 - self.beta_1,
            1.0 - self.beta_2,
            moment_factor,
            self.epsilon * correction_2,
        )
    }
}

/// What one step of one parameter reads; every tensor of the parameter's shape.
#[derive(Debug)]
pub struct AdamStep<B: Backend> {
    /// `θ`.
    pub parameter: FloatTensor<B>,
    /// `∂L/∂θ`.
    pub gradient: FloatTensor<B>,
    /// `m` and `v` after the step before; `None` at the first step (zeros).
    pub moments: Option<(FloatTensor<B>, FloatTensor<B>)>,
    /// The step's numbers.
    pub constants: AdamConstants,
}

/// What one step returns: the new `θ`, `m` and `v`.
#[derive(Debug)]
pub struct AdamUpdate<B: Backend> {
    /// `θ` after the step.
    pub parameter: FloatTensor<B>,
    /// `m` after the step.
    pub moment_1: FloatTensor<B>,
    /// `v` after the step.
    pub moment_2: FloatTensor<B>,
}

/// The step on Burn's operations, in the order Burn's `Adam` runs them.
pub fn generic<B: Backend>(step: AdamStep<B>) -> AdamUpdate<B> {
    let (keep_1, keep_2, moment_factor, epsilon) = step.constants.factors();
    let (beta_1, beta_2) = (step.constants.beta_1, step.constants.beta_2);
    let gradient = float::<B, 1>(flat::<B>(step.gradient));
    let (moment_1, moment_2) = match step.moments {
        Some((m, v)) => (
            float::<B, 1>(flat::<B>(m))
                .mul_scalar(beta_1)
                .add(gradient.clone().mul_scalar(keep_1)),
            float::<B, 1>(flat::<B>(v))
                .mul_scalar(beta_2)
                .add(gradient.square().mul_scalar(keep_2)),
        ),
        None => (
            gradient.clone().mul_scalar(keep_1),
            gradient.square().mul_scalar(keep_2),
        ),
    };
    let update = moment_1
        .clone()
        .mul_scalar(moment_factor)
        .div(moment_2.clone().sqrt().add_scalar(epsilon));
    let shape = step.parameter.shape();
    let parameter =
        float::<B, 1>(flat::<B>(step.parameter)) - update.mul_scalar(step.constants.learning_rate);
    let back = |tensor: Tensor<B, 1>| B::float_reshape(primitive(tensor), shape.clone());
    AdamUpdate {
        parameter: back(parameter),
        moment_1: back(moment_1),
        moment_2: back(moment_2),
    }
}

/// A tensor of any rank as one row of its values.
fn flat<B: Backend>(tensor: FloatTensor<B>) -> FloatTensor<B> {
    let count = tensor.shape().num_elements();
    B::float_reshape(tensor, Shape::new([count]))
}

/// The step by the host kernel in the parameter's float type (others: the generic pass).
#[cfg(host_kernels)]
pub(crate) fn host<B: HostView>(step: AdamStep<B>) -> AdamUpdate<B> {
    fn run<B: HostView, E: Real>(step: AdamStep<B>) -> AdamUpdate<B> {
        let shape = step.parameter.shape();
        let device = B::float_device(&step.parameter);
        let mut parameter = read::<B, E>(step.parameter);
        let (mut moment_1, mut moment_2) = match step.moments {
            Some((m, v)) => (read::<B, E>(m), read::<B, E>(v)),
            None => (
                vec![E::zero(); parameter.len()],
                vec![E::zero(); parameter.len()],
            ),
        };
        kernel::step::<E>(
            kernel::Values {
                parameter: &mut parameter,
                moment_1: &mut moment_1,
                moment_2: &mut moment_2,
                gradient: &B::view::<E>(&step.gradient),
            },
            &step.constants,
        );
        AdamUpdate {
            parameter: write::<B, E>(parameter, shape.clone(), &device),
            moment_1: write::<B, E>(moment_1, shape.clone(), &device),
            moment_2: write::<B, E>(moment_2, shape, &device),
        }
    }
    match step.parameter.dtype() {
        DType::F32 => run::<B, f32>(step),
        DType::F64 => run::<B, f64>(step),
        _ => generic(step),
    }
}

#[cfg(test)]
#[cfg(feature = "ndarray")]
mod tests {
    use burn::backend::NdArray;
    use burn::tensor::{Element, ElementConversion, TensorData};

    use super::*;
    use crate::fused::RecurrenceBackend;
    use crate::fused::test_values::deterministic;

    /// A tensor of `shape` from the seeded values, squared where `positive` (a second moment).
    fn values<E: Element, B: Backend>(
        shape: [usize; 2],
        seed: u64,
        positive: bool,
    ) -> FloatTensor<B> {
        let count = shape[0] * shape[1];
        let data: Vec<E> = deterministic(count, seed)
            .into_iter()
            .map(|x| E::from_elem(if positive { x * x / 100.0 } else { x }))
            .collect();
        primitive(Tensor::<B, 2>::from_data(
            TensorData::new(data, shape),
            &Default::default(),
        ))
    }

    /// The host kernel against the generic pass (Burn's operations in Burn's order): the first
    /// step (no moments yet) and a later one, a parameter smaller than a block and one of several
    /// blocks, to `tolerance`.
    fn host_is_generic<E: Element, B: RecurrenceBackend>(tolerance: f64) {
        for shape in [[7, 5], [300, 100]] {
            for time in [1, 7] {
                let step = || AdamStep::<B> {
                    parameter: values::<E, B>(shape, 1, false),
                    gradient: values::<E, B>(shape, 2, false),
                    moments: (time > 1).then(|| {
                        (
                            values::<E, B>(shape, 3, false),
                            values::<E, B>(shape, 4, true),
                        )
                    }),
                    constants: AdamConstants {
                        learning_rate: 0.01,
                        beta_1: 0.9,
                        beta_2: 0.999,
                        epsilon: 1e-8,
                        time,
                    },
                };
                let (host, generic) = (B::adam_step(step()), generic(step()));
                let pairs = [
                    ("θ", host.parameter, generic.parameter),
                    ("m", host.moment_1, generic.moment_1),
                    ("v", host.moment_2, generic.moment_2),
                ];
                for (name, host, generic) in pairs {
                    let (host, generic) = (float::<B, 2>(host), float::<B, 2>(generic));
                    assert_eq!(host.dims(), shape, "{name}'s shape");
                    let largest = (host - generic).abs().max().into_scalar().elem::<f64>();
                    assert!(
                        largest <= tolerance,
                        "{name}, {shape:?}, step {time}: differs by {largest}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_host_kernel_is_the_generic_pass_in_f64_and_f32() {
        host_is_generic::<f64, NdArray<f64>>(1e-15);
        // f32 on the other CPU backend: Burn fixes a device's default float type process-wide
        // at its first use, so within this test binary ndarray's device stays f64.
        #[cfg(feature = "flex")]
        host_is_generic::<f32, burn::backend::Flex<f32>>(1e-7);
    }

    /// The step moves a parameter by about the learning rate, against its gradient's sign
    /// (Adam's update is `m̂ / √v̂`, ±1 at the first step): what both passes agreeing could not
    /// show by itself.
    #[test]
    fn the_first_step_moves_by_the_learning_rate_against_the_gradient() {
        type B = NdArray<f64>;
        let device = Default::default();
        let parameter = Tensor::<B, 1>::from_floats([1.0, -2.0, 0.5], &device);
        let gradient = Tensor::<B, 1>::from_floats([0.3, -4.0, 1e-3], &device);
        let update = B::adam_step(AdamStep {
            parameter: primitive(parameter),
            gradient: primitive(gradient),
            moments: None,
            constants: AdamConstants {
                learning_rate: 0.1,
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-8,
                time: 1,
            },
        });
        let moved: Vec<f64> = float::<B, 1>(update.parameter)
            .into_data()
            .to_vec()
            .unwrap();
        for (found, expected) in moved.iter().zip([0.9, -1.9, 0.4]) {
            assert!((found - expected).abs() < 1e-4, "{moved:?}");
        }
    }
}
