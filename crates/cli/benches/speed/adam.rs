//! The optimiser's step alone: Burn's `Adam` against the trainer's ([`FusedAdam`], one pass a
//! parameter), on the parameters of the stacks the comparison with PyTorch trains, with the same
//! gradients each time, alternating so that a drift of the host reaches both.

use std::time::{Duration, Instant};

use burn::backend::{Autodiff, Flex};
use std::collections::HashMap;

use burn::module::{AutodiffModule, Module, ModuleVisitor, Param, ParamId};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::{Tensor, TensorPrimitive};
use unroll::model::{
    HiddenRecurrent, HiddenRecurrentConfig, HiddenStackConfig, InputEncoding, RecurrentCell,
    SequenceInput,
};
use unroll::training::FusedAdam;

use super::{VOCAB, seeded_device, tokens};

type B = Autodiff<Flex>;

/// A step's gradients, kept to be handed to the optimiser again and again (the optimiser takes
/// them by value, and `GradientsParams` has no `clone`).
struct Kept(HashMap<ParamId, TensorPrimitive<Flex>>);

/// Reads every parameter's gradient into [`Kept`].
struct Keep<'a>(&'a GradientsParams, &'a mut Kept);

impl ModuleVisitor<B> for Keep<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(gradient) = self.0.get::<Flex, D>(param.id) {
            (self.1).0.insert(param.id, gradient.into_primitive());
        }
    }
}

/// Registers every kept gradient in a fresh `GradientsParams`.
struct Register<'a>(&'a Kept, GradientsParams);

impl ModuleVisitor<B> for Register<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(gradient) = (self.0).0.get(&param.id) {
            let tensor = Tensor::<Flex, D>::from_primitive(gradient.clone());
            self.1.register(param.id, tensor);
        }
    }
}

impl Kept {
    /// The gradients of `model`, as a fresh `GradientsParams`.
    fn fresh(&self, model: &HiddenRecurrent<B>) -> GradientsParams {
        let mut register = Register(self, GradientsParams::new());
        model.visit(&mut register);
        register.1
    }
}

/// Milliseconds an optimiser step of `model` takes with `optimizer`, the mean over `budget`
/// (after one warm-up step, which creates the moments).
fn step_ms<O: Optimizer<HiddenRecurrent<B>, B>>(
    model: &HiddenRecurrent<B>,
    gradients: &Kept,
    mut optimizer: O,
    budget: Duration,
) -> f64 {
    let mut current = optimizer.step(2e-3, model.clone(), gradients.fresh(model));
    let (mut spent, mut count) = (Duration::ZERO, 0);
    while count < 5 || spent < budget {
        let fresh = gradients.fresh(model);
        let started = Instant::now();
        current = optimizer.step(2e-3, current, fresh);
        spent += started.elapsed();
        count += 1;
    }
    drop(current);
    1000.0 * spent.as_secs_f64() / count as f64
}

/// Both optimisers on LSTM stacks of 1 and 2 layers, H 256 and 512, three rounds each.
pub fn adam(budget: Duration) {
    println!("== Adam's step alone (flex): Burn's Adam against the trainer's one pass a parameter");
    for (layers, hidden) in [(1, 256), (2, 256), (2, 512)] {
        let device = seeded_device::<B>();
        let stack = HiddenStackConfig::new(InputEncoding::Tokens { vocab_size: VOCAB }, hidden)
            .with_cell(RecurrentCell::Lstm)
            .with_num_layers(layers);
        let model = HiddenRecurrentConfig::new(stack, VOCAB).init::<B>(&device);
        let (inputs, targets) = (tokens::<B>(64, 100, 1), tokens::<B>(64, 100, 2));
        let (losses, _) = model
            .forward_loss(SequenceInput::Tokens(inputs), None, targets)
            .expect("shapes");
        let loss: Tensor<B, 1> = losses.mean();
        let gradients = GradientsParams::from_grads(loss.backward(), &model);
        let mut kept = Kept(HashMap::new());
        model.visit(&mut Keep(&gradients, &mut kept));
        let gradients = kept;
        let parameters = model.valid().num_params();
        for round in 1..=3 {
            let burns = step_ms(
                &model,
                &gradients,
                AdamConfig::new().with_epsilon(1e-8).init(),
                budget,
            );
            let fused = step_ms(&model, &gradients, FusedAdam::default().init(), budget);
            println!(
                "lstm {layers}L H {hidden}, {parameters} parameters, round {round}: Burn's Adam \
                 {burns:.2} ms, one pass {fused:.2} ms ({:.1}x)",
                burns / fused
            );
        }
    }
    println!();
}
