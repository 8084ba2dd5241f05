//! Training speed of pattern 1 on each CPU backend, measured in one run so ratios compare.
//!
//! `cargo run --release --example backend_speed --features ndarray`
//!
//! A step is forward + cross-entropy over every step + backward + Adam, on random token windows
//! (vocabulary 65, one layer). Prints tokens/s, ms/step and the process's peak resident memory.

use std::time::Instant;

use burn::backend::{Autodiff, Flex, NdArray};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Int, Tensor, TensorData};
use unroll::model::{
    HiddenRecurrent, HiddenRecurrentConfig, InputEncoding, SequenceInput, step_cross_entropy,
};

const VOCAB: usize = 65;

/// Resets the process's peak resident memory (Linux: writing 5 to clear_refs), so each
/// configuration reports its own peak.
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident memory of this process since the last reset, from /proc (Linux), in MiB.
fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn measure<B: AutodiffBackend>(
    name: &str,
    hidden: usize,
    batch: usize,
    window: usize,
    steps: usize,
) -> f64 {
    reset_peak_memory();
    let device: burn::tensor::Device<B> = Default::default();
    B::seed(&device, 0);
    let mut model =
        HiddenRecurrentConfig::new(InputEncoding::Tokens { vocab_size: VOCAB }, hidden, VOCAB)
            .init::<B>(&device);
    let mut optimizer = AdamConfig::new().init();
    let data: Vec<i64> = (0..batch * (window + 1))
        .map(|i| ((i * 7919) % VOCAB) as i64)
        .collect();
    let tokens =
        Tensor::<B, 2, Int>::from_data(TensorData::new(data, [batch, window + 1]), &device);
    let inputs = tokens.clone().slice([0..batch, 0..window]);
    let targets = tokens.slice([0..batch, 1..window + 1]);
    let mut train = |model: HiddenRecurrent<B>| {
        let out = model
            .forward(SequenceInput::Tokens(inputs.clone()), None)
            .unwrap();
        let loss = step_cross_entropy(out.logits, targets.clone())
            .unwrap()
            .mean();
        let gradients = GradientsParams::from_grads(loss.backward(), &model);
        optimizer.step(2e-3, model, gradients)
    };
    for _ in 0..3 {
        model = train(model); // warm-up
    }
    let started = Instant::now();
    for _ in 0..steps {
        model = train(model);
    }
    let seconds = started.elapsed().as_secs_f64();
    let rate = (steps * batch * window) as f64 / seconds;
    println!(
        "{name:8} H {hidden:4} batch {batch:3} window {window:4}: {rate:9.0} tokens/s  {:7.2} ms/step  peak RSS {:.0} MiB",
        1000.0 * seconds / steps as f64,
        peak_memory_mib().unwrap_or(f64::NAN)
    );
    rate
}

fn main() {
    println!(
        "pattern 1 training step (forward, cross-entropy, backward, Adam), f32, vocabulary {VOCAB}, one layer"
    );
    // Each backend runs twice, interleaved, so drifts of the machine hit both alike.
    for (hidden, batch, window, steps) in [(128, 32, 64, 200), (256, 64, 100, 40)] {
        let mut flex = 0.0;
        let mut ndarray = 0.0;
        for _ in 0..2 {
            flex += measure::<Autodiff<Flex>>("flex", hidden, batch, window, steps);
            ndarray += measure::<Autodiff<NdArray>>("ndarray", hidden, batch, window, steps);
        }
        println!("flex / ndarray = {:.2}", flex / ndarray);
    }
}
