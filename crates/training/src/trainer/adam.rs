//! The trainer's Adam: Burn's `Adam` (the same state, so checkpoints written with either load
//! into the other), each parameter's step one pass on the CPU backends
//! ([`unroll_model::fused::adam`]) where Burn's runs a dozen tensor operations.

use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamState, AdaptiveMomentumState, LearningRate, SimpleOptimizer};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorPrimitive};
use unroll_model::RecurrenceBackend;
use unroll_model::fused::{AdamConstants, AdamStep};

use super::task::TrainingBackend;

/// Adam with Burn's defaults for the moments' decays (`β₁` 0.9, `β₂` 0.999) and `ε` 10⁻⁸, as
/// PyTorch's; no weight decay.
#[derive(Debug, Clone, Copy)]
pub struct FusedAdam {
    /// `β₁`.
    pub beta_1: f32,
    /// `β₂`.
    pub beta_2: f32,
    /// `ε`.
    pub epsilon: f32,
}

impl Default for FusedAdam {
    fn default() -> Self {
        FusedAdam {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
        }
    }
}

impl FusedAdam {
    /// The optimiser of a module `M` trained on `B`.
    pub fn init<B: TrainingBackend, M: AutodiffModule<B>>(self) -> OptimizerAdaptor<Self, M, B> {
        OptimizerAdaptor::from(self)
    }
}

impl<B: Backend + RecurrenceBackend> SimpleOptimizer<B> for FusedAdam {
    type State<const D: usize> = AdamState<B, D>;

    fn step<const D: usize>(
        &self,
        learning_rate: LearningRate,
        tensor: Tensor<B, D>,
        gradient: Tensor<B, D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<B, D>, Option<Self::State<D>>) {
        let primitive = |tensor: Tensor<B, D>| tensor.into_primitive().tensor();
        let (moments, time) = match state {
            Some(AdamState { momentum }) => (
                Some((primitive(momentum.moment_1), primitive(momentum.moment_2))),
                momentum.time + 1,
            ),
            None => (None, 1),
        };
        let update = B::adam_step(AdamStep {
            parameter: primitive(tensor),
            gradient: primitive(gradient),
            moments,
            constants: AdamConstants {
                learning_rate,
                beta_1: self.beta_1,
                beta_2: self.beta_2,
                epsilon: self.epsilon,
                time,
            },
        });
        let tensor = |primitive| Tensor::<B, D>::from_primitive(TensorPrimitive::Float(primitive));
        let momentum =
            AdaptiveMomentumState::new(time, tensor(update.moment_1), tensor(update.moment_2));
        (tensor(update.parameter), Some(AdamState::new(momentum)))
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &B::Device) -> Self::State<D> {
        state.momentum = state.momentum.to_device(device);
        state
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::{Autodiff, Flex};
    use burn::module::Param;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::{AdamConfig, GradientsParams, Optimizer};
    use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
    use burn::tensor::{Distribution, Tensor};

    use super::*;

    // Flex, not NdArray: Burn fixes a device's float type at its first use, and other tests in
    // this binary run NdArray<f64>.
    type B = Autodiff<Flex>;

    /// A layer and a loss whose gradients change from step to step.
    fn loss_of(layer: &Linear<B>, step: usize) -> Tensor<B, 1> {
        let device = Default::default();
        B::seed(&device, step as u64);
        let x = Tensor::<B, 2>::random([8, 5], Distribution::Normal(0.0, 1.0), &device);
        let y = layer.forward(x);
        (y.clone() * y.clone().tanh()).sum()
    }

    /// Five steps of the fused Adam give Burn's own `Adam`'s parameters, to f32 rounding, from
    /// the same layer with the same gradients; and its state is Burn's (a record saved by one
    /// loads into the other).
    #[test]
    fn five_steps_are_burns_adam() {
        let device = Default::default();
        let layer: Linear<B> = LinearConfig::new(5, 3).init(&device);
        let (mut fused, mut burns) = (layer.clone(), layer.clone());
        let mut fused_optimizer = FusedAdam::default().init::<B, Linear<B>>();
        let mut burns_optimizer = AdamConfig::new().with_epsilon(1e-8).init::<B, Linear<B>>();
        for step in 0..5 {
            let learning_rate = 0.01 / (1.0 + step as f64);
            let gradients = loss_of(&fused, step).backward();
            let gradients = GradientsParams::from_grads(gradients, &fused);
            fused = fused_optimizer.step(learning_rate, fused, gradients);
            let gradients = loss_of(&burns, step).backward();
            let gradients = GradientsParams::from_grads(gradients, &burns);
            burns = burns_optimizer.step(learning_rate, burns, gradients);
        }
        let weights = |layer: &Linear<B>| layer.weight.val().into_data();
        weights(&fused)
            .assert_approx_eq::<f32>(&weights(&burns), burn::tensor::Tolerance::absolute(1e-6));
        let moved = |layer: &Linear<B>| {
            let bias: &Param<Tensor<B, 1>> = layer.bias.as_ref().expect("a bias");
            bias.val().into_data()
        };
        moved(&fused)
            .assert_approx_eq::<f32>(&moved(&burns), burn::tensor::Tolerance::absolute(1e-6));
        // The parameters moved (a step that did nothing would agree too): each of five steps
        // moves a weight by about the learning rate.
        let moved_by = (fused.weight.val() - layer.weight.val())
            .abs()
            .max()
            .into_scalar();
        assert!(moved_by > 0.005, "{moved_by}");
        // Burn's record, as a checkpoint holds it, loads into the fused optimiser and gives the
        // same next step.
        let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
        let bytes = recorder
            .record(burns_optimizer.to_record(), ())
            .expect("recorded");
        let mut loaded = FusedAdam::default().init::<B, Linear<B>>();
        loaded = loaded.load_record(recorder.load(bytes, &device).expect("Burn's record loads"));
        let gradients = GradientsParams::from_grads(loss_of(&burns, 9).backward(), &burns);
        let from_loaded = loaded.step(0.01, burns.clone(), gradients);
        let gradients = GradientsParams::from_grads(loss_of(&burns, 9).backward(), &burns);
        let from_burns = burns_optimizer.step(0.01, burns, gradients);
        weights(&from_loaded).assert_approx_eq::<f32>(
            &weights(&from_burns),
            burn::tensor::Tolerance::absolute(1e-6),
        );
    }
}
