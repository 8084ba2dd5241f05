//! Trains pattern 1 (hidden recurrence, output every step) as a character model on a built-in
//! corpus of additions such as `37+85=122`, then generates from it.
//!
//! `cargo run --release --example quickstart` (add `--features ndarray` or `--features wgpu` for
//! another backend). Nothing is downloaded: the corpus is generated from a fixed seed.

use std::time::Instant;

use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use unroll::backend::{NAME, Training};
use unroll::model::{
    HiddenRecurrentConfig, InputEncoding, SequenceInput, StepInput, step_cross_entropy,
};

const ALPHABET: &str = "0123456789+=\n";

/// A small deterministic generator, so the corpus is the same on every machine.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn corpus(lines: usize, seed: u64) -> Vec<i64> {
    let mut rng = Lcg(seed);
    let mut text = String::new();
    for _ in 0..lines {
        let (a, b) = (rng.below(100), rng.below(100));
        text.push_str(&format!("{a}+{b}={}\n", a + b));
    }
    text.chars()
        .map(|c| ALPHABET.find(c).unwrap() as i64)
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    type B = Training;
    let device: burn::tensor::Device<B> = Default::default();
    B::seed(&device, 42);
    let data = corpus(4000, 7);
    let vocab = ALPHABET.len();
    let (batch, window, steps, learning_rate) = (32, 64, 1000, 2e-3);
    println!(
        "backend {NAME}; corpus {} symbols, vocabulary {vocab}; pattern 1, hidden 128, batch {batch}, window {window}, {steps} Adam steps, lr {learning_rate}",
        data.len()
    );
    let mut model =
        HiddenRecurrentConfig::new(InputEncoding::Tokens { vocab_size: vocab }, 128, vocab)
            .init::<B>(&device);
    let mut optimizer = AdamConfig::new().init();
    let mut rng = Lcg(1);
    let started = Instant::now();
    for step in 1..=steps {
        let mut inputs = Vec::with_capacity(batch * window);
        let mut targets = Vec::with_capacity(batch * window);
        for _ in 0..batch {
            let start = rng.below((data.len() - window - 1) as u64) as usize;
            inputs.extend_from_slice(&data[start..start + window]);
            targets.extend_from_slice(&data[start + 1..start + window + 1]);
        }
        let inputs =
            Tensor::<B, 2, Int>::from_data(TensorData::new(inputs, [batch, window]), &device);
        let targets =
            Tensor::<B, 2, Int>::from_data(TensorData::new(targets, [batch, window]), &device);
        let out = model.forward(SequenceInput::Tokens(inputs), None)?;
        let loss = step_cross_entropy(out.logits, targets)?.mean();
        if step % 50 == 0 || step == 1 {
            let value: f64 = loss
                .clone()
                .into_data()
                .iter::<f64>()
                .next()
                .unwrap_or(f64::NAN);
            let rate = (step * batch * window) as f64 / started.elapsed().as_secs_f64();
            println!("step {step:4}  loss {value:.4} nats/char  {rate:.0} tokens/s");
        }
        let gradients = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(learning_rate, model, gradients);
    }

    // Greedy generation without autodiff.
    let model = model.valid();
    let device = Default::default();
    let mut state = None;
    let mut text = String::from("12+");
    let mut logits = None;
    for c in text.clone().chars() {
        let id = ALPHABET.find(c).unwrap() as i64;
        let input = StepInput::Tokens(Tensor::from_data(TensorData::new(vec![id], [1]), &device));
        let (o, next) = model.step(input, state)?;
        state = Some(next);
        logits = Some(o);
    }
    for _ in 0..60 {
        let next: Tensor<_, 2, Int> = logits.take().unwrap().argmax(1);
        let id = next.clone().into_data().iter::<i64>().next().unwrap_or(0) as usize;
        text.push(ALPHABET.as_bytes()[id] as char);
        let (o, s) = model.step(StepInput::Tokens(next.reshape([1])), state)?;
        state = Some(s);
        logits = Some(o);
    }
    println!("generated (greedy):\n{text}");
    Ok(())
}
