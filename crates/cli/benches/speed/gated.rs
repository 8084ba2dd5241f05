//! Training speed and memory of the gated cells (LSTM and GRU) on pattern 1: the sizes the
//! PyTorch comparison uses (`scripts/pytorch_speed.py gated`), and a step's memory against the
//! window.

use std::time::Duration;

use burn::tensor::backend::AutodiffBackend;
use unroll::model::{
    HiddenStackConfig, InputEncoding, RecurrenceBackend, RecurrencePath, RecurrentCell,
};

use super::{VOCAB, memory_windows, report, time_pattern_1_training};

/// The sizes of the comparison with PyTorch: (layers, hidden, batch, window).
pub const SIZES: [(usize, usize, usize, usize); 3] =
    [(1, 256, 64, 100), (2, 256, 64, 100), (2, 512, 64, 128)];

/// One pattern-1 training step (forward, loss over all steps, backward, clip, Adam) with `cell`,
/// timed; returns tokens/s.
pub fn training<B: AutodiffBackend + RecurrenceBackend>(
    name: &str,
    cell: RecurrentCell,
    path: RecurrencePath,
    (layers, hidden, batch, window): (usize, usize, usize, usize),
    budget: Duration,
) -> f64 {
    let hidden_stack = HiddenStackConfig::new(InputEncoding::Tokens { vocab_size: VOCAB }, hidden)
        .with_cell(cell)
        .with_num_layers(layers)
        .with_path(path);
    let timing = time_pattern_1_training::<B>(hidden_stack, (batch, window), budget);
    let what = format!(
        "{} {name} {path:?} {layers}L H {hidden} batch {batch} window {window}",
        cell.name()
    );
    report(&what, batch * window, timing)
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
pub fn gated<B: AutodiffBackend + RecurrenceBackend>(name: &str, quick: bool, budget: Duration) {
    println!("== gated cells, pattern 1 training (forward, loss, backward, clip, Adam)");
    let sizes: &[_] = if quick { &SIZES[..1] } else { &SIZES };
    for cell in [RecurrentCell::Lstm, RecurrentCell::Gru] {
        for &size in sizes {
            let rate = training::<B>(name, cell, RecurrencePath::Fused, size, budget);
            // The products' rate says how close a size runs to this machine's GEMM speed
            // (`speed products`), the same count as `scripts/pytorch_speed.py gated`.
            let flops = step_flops(cell, size);
            let achieved = rate / (size.2 * size.3) as f64 * flops / 1e9;
            println!(
                "    {:.1} GFLOP a step in products: {achieved:.0} GFLOP/s",
                flops / 1e9
            );
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
            Duration::from_millis(1),
        );
    }
    println!();
}
