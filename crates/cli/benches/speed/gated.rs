//! Training speed and memory of the gated cells (LSTM and GRU) on pattern 1: the sizes the
//! PyTorch comparison uses (`scripts/pytorch_speed.py gated`), and a step's memory against the
//! window.

use std::time::Duration;

use unroll::model::{HiddenStackConfig, InputEncoding, RecurrencePath, RecurrentCell};
use unroll::training::TrainingBackend;

use super::products::{StepSizes, step_alone};
use super::{VOCAB, memory_windows, report, time_pattern_1_training};

/// The sizes of the comparison with PyTorch: (layers, hidden, batch, window).
pub const SIZES: [(usize, usize, usize, usize); 3] =
    [(1, 256, 64, 100), (2, 256, 64, 100), (2, 512, 64, 128)];

/// The stacks of issue 32 beyond [`SIZES`] (`speed -- stacks`, `scripts/pytorch_speed.py
/// stacks`): the two-layer sizes with dropout 0.25 between the layers (the README's recipe),
/// and three layers. ((layers, hidden, batch, window), dropout).
pub const STACKS: [((usize, usize, usize, usize), f64); 4] = [
    ((2, 256, 64, 100), 0.25),
    ((2, 512, 64, 128), 0.25),
    ((3, 256, 64, 100), 0.0),
    ((3, 512, 64, 128), 0.0),
];

/// One pattern-1 training step (forward, loss over all steps, backward, clip, Adam) with `cell`,
/// timed; returns tokens/s.
pub fn training<B: TrainingBackend>(
    name: &str,
    cell: RecurrentCell,
    path: RecurrencePath,
    (layers, hidden, batch, window): (usize, usize, usize, usize),
    dropout: f64,
    budget: Duration,
) -> f64 {
    let hidden_stack = HiddenStackConfig::new(InputEncoding::Tokens { vocab_size: VOCAB }, hidden)
        .with_cell(cell)
        .with_num_layers(layers)
        .with_dropout(dropout)
        .with_path(path);
    let timing = time_pattern_1_training::<B>(hidden_stack, (batch, window), budget);
    let what = format!(
        "{} {name} {path:?} {layers}L H {hidden} batch {batch} window {window} dropout {dropout}",
        cell.name()
    );
    report(&what, batch * window, timing)
}

/// Trains `cell` at `size` with `dropout` and prints the rate of the step's products, which
/// says how close the size runs to this machine's GEMM speed (`speed products`), counted as
/// `scripts/pytorch_speed.py` counts them.
fn training_and_products<B: TrainingBackend>(
    name: &str,
    cell: RecurrentCell,
    size: (usize, usize, usize, usize),
    dropout: f64,
    budget: Duration,
) {
    let rate = training::<B>(name, cell, RecurrencePath::Fused, size, dropout, budget);
    print_products_rate(
        rate,
        step_sizes(cell, size, 1),
        step_flops(cell, size),
        budget,
    );
}

/// The sizes of a row's step for [`step_alone`]: `cell` at (layers, hidden, batch, window),
/// `directions` ways.
pub fn step_sizes(
    cell: RecurrentCell,
    (layers, hidden, batch, window): (usize, usize, usize, usize),
    directions: usize,
) -> StepSizes {
    StepSizes {
        gates: cell.gates(),
        layers,
        hidden,
        batch,
        window,
        directions,
        classes: VOCAB,
    }
}

/// The line under a training row: a step's FLOPs in products and the rate they ran at, from
/// the row's tokens/s (`rate`); then the rate of the same products timed alone on this host
/// ([`step_alone`], the ceiling), and the row's share of it.
pub fn print_products_rate(rate: f64, sizes: StepSizes, flops: f64, budget: Duration) {
    let achieved = rate / (sizes.batch * sizes.window) as f64 * flops / 1e9;
    println!(
        "    {:.1} GFLOP a step in products: {achieved:.0} GFLOP/s",
        flops / 1e9
    );
    let (alone_flops, alone) = step_alone(sizes, rayon::current_num_threads(), budget);
    // The ceiling times the very products the row counts: a count that drifted apart fails here.
    assert!(
        (alone_flops / flops - 1.0).abs() < 1e-9,
        "the products timed alone ({alone_flops}) are not the step's ({flops})"
    );
    println!(
        "    the same products alone on this host: {alone:.0} GFLOP/s (this row at {:.0} %)",
        100.0 * achieved / alone
    );
}

/// The FLOPs of the products a pattern-1 training step cannot do without (what
/// `scripts/pytorch_speed.py` counts too): in each layer the recurrent product, `δh(t-1)` and
/// `∂L/∂W_hh` (each `2 · H · gates·H` a token); above the first layer the input projection, its
/// input's gradient and its weight's (the first layer's one-hot input is a lookup, no product);
/// the output layer's three products (`2 · H · vocabulary` each).
pub fn step_flops(
    cell: RecurrentCell,
    (layers, hidden, batch, window): (usize, usize, usize, usize),
) -> f64 {
    let hidden = hidden as f64;
    let product = 2.0 * hidden * cell.gates() as f64 * hidden;
    let per_token = 3.0 * product * (2 * layers - 1) as f64 + 3.0 * 2.0 * hidden * VOCAB as f64;
    per_token * (batch * window) as f64
}

/// Every size for both cells on flex (fused), then the LSTM's memory against the window.
pub fn gated<B: TrainingBackend>(name: &str, quick: bool, budget: Duration) {
    println!("== gated cells, pattern 1 training (forward, loss, backward, clip, Adam)");
    let sizes: &[_] = if quick { &SIZES[..1] } else { &SIZES };
    for cell in super::gated_cells() {
        for &size in sizes {
            training_and_products::<B>(name, cell, size, 0.0, budget);
        }
    }
    println!();
    println!("== LSTM fused training memory against the window (1L H 256, batch 64)");
    for &window in memory_windows(quick) {
        training::<B>(
            name,
            RecurrentCell::Lstm,
            RecurrencePath::Fused,
            (1, 256, 64, window),
            0.0,
            Duration::from_millis(1),
        );
    }
    println!();
}

/// The stacks beyond the comparison's sizes ([`STACKS`]), both cells.
pub fn stacks<B: TrainingBackend>(name: &str, budget: Duration) {
    println!("== stacked gated cells: dropout 0.25 between two layers, three layers");
    for cell in super::gated_cells() {
        for &(size, dropout) in &STACKS {
            training_and_products::<B>(name, cell, size, dropout, budget);
        }
    }
    println!();
}
