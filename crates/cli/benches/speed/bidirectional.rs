//! Training speed of both directions (pattern 1 both ways: an output at every step from
//! `[h(t); g(t)]`, cross-entropy at every step): the sizes `scripts/pytorch_speed.py
//! bidirectional` runs with `nn.LSTM`/`nn.GRU(bidirectional=True)` and `nn.Linear(2H, V)`. Every
//! row fills the window, so PyTorch's packed and padded forms are the same work.

use std::time::Duration;

use unroll::model::{
    BidirectionalConfig, BidirectionalRecurrent, HiddenStackConfig, IdCheck, InputEncoding,
    RecurrentCell, SequenceInput, step_cross_entropy,
};
use unroll::training::TrainingBackend;

use super::{VOCAB, report, seeded_device, time_training, tokens};

/// The sizes of the comparison with PyTorch: (layers, hidden each way, batch, window).
pub const SIZES: [(usize, usize, usize, usize); 2] = [(1, 256, 64, 100), (2, 256, 64, 100)];

/// The FLOPs of the products a training step of both directions cannot do without, counted as
/// for one direction (`gated::step_flops`) in each: per layer and direction the recurrent
/// product, `δg` and `∂L/∂W_hh`; above the first layer the input projection of `2H` inputs and
/// its two gradients; the output layer's three products on `2H` units.
pub fn step_flops(
    cell: RecurrentCell,
    (layers, hidden, batch, window): (usize, usize, usize, usize),
) -> f64 {
    let (hidden, gates) = (hidden as f64, cell.gates() as f64);
    let recurrent = 3.0 * 2.0 * hidden * gates * hidden;
    let wide_input = 3.0 * 2.0 * (2.0 * hidden) * gates * hidden;
    let per_direction = layers as f64 * recurrent + (layers - 1) as f64 * wide_input;
    let per_token = 2.0 * per_direction + 3.0 * 2.0 * (2.0 * hidden) * VOCAB as f64;
    per_token * (batch * window) as f64
}

/// One training step both ways with `cell`, timed; returns tokens/s.
fn training<B: TrainingBackend>(
    name: &str,
    cell: RecurrentCell,
    (layers, hidden, batch, window): (usize, usize, usize, usize),
    budget: Duration,
) -> f64 {
    let stack = HiddenStackConfig::new(InputEncoding::Tokens { vocab_size: VOCAB }, hidden)
        .with_cell(cell)
        .with_num_layers(layers)
        .with_id_check(IdCheck::Caller);
    let model: BidirectionalRecurrent<B> = BidirectionalConfig::new(stack, VOCAB)
        .try_init_recurrent(&seeded_device::<B>())
        .expect("valid sizes");
    let inputs = tokens::<B>(batch, window, 1);
    let targets = tokens::<B>(batch, window, 2);
    let timing = time_training(model, budget, |model| {
        let logits = model
            .forward(SequenceInput::Tokens(inputs.clone()), None)
            .expect("shapes");
        let losses = step_cross_entropy(logits, targets.clone()).expect("shapes");
        losses.mean()
    });
    let what = format!(
        "{} {name} both ways {layers}L H {hidden} batch {batch} window {window}",
        cell.name()
    );
    report(&what, batch * window, timing)
}

/// Every size for both cells, with the products' rate.
pub fn bidirectional<B: TrainingBackend>(name: &str, quick: bool, budget: Duration) {
    println!("== both directions, pattern 1 training (forward, loss, backward, clip, Adam)");
    let sizes: &[_] = if quick { &SIZES[..1] } else { &SIZES };
    for cell in super::gated_cells() {
        for &size in sizes {
            let rate = training::<B>(name, cell, size, budget);
            let sizes = super::gated::step_sizes(cell, size, 2);
            super::gated::print_products_rate(rate, sizes, step_flops(cell, size), budget);
        }
    }
    println!();
}
