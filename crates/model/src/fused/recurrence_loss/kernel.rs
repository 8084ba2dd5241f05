//! The tanh recurrence with its output layer and loss at every step, as one operation on host
//! memory: the training pass of pattern 1's top layer.
//!
//! Forward: the recurrence ([`crate::fused::recurrence::kernel::forward`]), then every step's logits in one
//! product and each loss's logits gradient `softmax(o) − onehot(y)` in place of the logits.
//!
//! Backward, one core per block of batch rows, from `t = τ` down to 1:
//! - `∂L/∂h(t) = g(t) · Vᵀ + δa(t+1) · Wᵀ`, where `g(t)` is the logits gradient scaled by the
//!   losses' gradient;
//! - `δa(t) = ∂L/∂h(t) ⊙ (1 − h(t)²)`, written over `h(t)`, which nothing needs any more;
//! - `∂L/∂V += h(t)ᵀ g(t)`, `∂L/∂c += Σ g(t)`, `∂L/∂W += h(t-1)ᵀ δa(t)`, per core, summed after.
//!
//! No `[time, batch, d_hidden]` buffer is allocated besides the states, which become
//! `∂L/∂p = δa`: the training step's peak memory is the states plus the logits gradient.

use rayon::prelude::*;

use crate::fused::cross_entropy::kernel as cross_entropy;
use crate::fused::host::math::{Real, add_assign};
use crate::fused::host::matmul::{Operand, Threads, Write, matmul, transpose};
use crate::fused::output_loss::kernel as output;
use crate::fused::recurrence::kernel::{
    self as recurrence, RecurrenceShape, RowLengths, block, blocks_per_range, row_ranges,
};

/// What the forward pass keeps for the backward pass.
pub struct Saved<E> {
    /// `h(1) … h(τ)`, `[time, batch, d_hidden]`.
    pub states: Vec<E>,
    /// `softmax(o) − onehot(y)` of every step, `[time · batch, classes]`.
    pub logits_gradient: Vec<E>,
}

/// The gradients of the operation's inputs, shaped as the inputs.
pub struct Gradients<E> {
    /// `∂L/∂p = δa`, `[time, batch, d_hidden]`.
    pub projected: Vec<E>,
    /// `∂L/∂h(0)`, `[batch, d_hidden]`.
    pub initial: Vec<E>,
    /// `∂L/∂W`, `[d_hidden, d_hidden]`.
    pub weight: Vec<E>,
    /// `∂L/∂V`, `[d_hidden, classes]`.
    pub output_weight: Vec<E>,
    /// `∂L/∂c`, `[classes]`.
    pub output_bias: Vec<E>,
}

/// Losses `[time · batch]` (time-major), the final state `h(τ)` `[batch, d_hidden]` and what
/// the backward pass needs.
///
/// - `projected`: `p(t) = b + U x(t)`, `[time, batch, d_hidden]` (reused as the states' buffer);
/// - `initial`: `h(0)`; `weight`: `W`; `output_weight`: `V` `[d_hidden, classes]`;
///   `output_bias`: `c` `[classes]`; `targets`: `y(t)`, `[time · batch]` time-major.
#[allow(clippy::too_many_arguments)]
pub fn forward<E: Real>(
    projected: Vec<E>,
    initial: &[E],
    weight: &[E],
    output_weight: &[E],
    output_bias: &[E],
    targets: &[usize],
    dims: RecurrenceShape,
) -> (Vec<E>, Vec<E>, Saved<E>) {
    let states = recurrence::forward(projected, initial, weight, dims, RowLengths(None));
    let rows = dims.time * dims.batch;
    let output_dims = output::OutputShape {
        rows,
        hidden: dims.hidden,
        classes: output_bias.len(),
    };
    let mut logits = output::logits(&states, output_weight, output_bias, output_dims);
    let losses = cross_entropy::forward_into_gradient(&mut logits, targets, output_bias.len());
    let final_state = states[(rows - dims.batch) * dims.hidden..].to_vec();
    let saved = Saved {
        states,
        logits_gradient: logits,
    };
    (losses, final_state, saved)
}

/// The gradients of every input from the losses' gradient (`[time · batch]`, time-major).
pub fn backward<E: Real>(
    saved: Saved<E>,
    initial: &[E],
    weight: &[E],
    output_weight: &[E],
    loss_gradient: &[E],
    dims: RecurrenceShape,
) -> Gradients<E> {
    let RecurrenceShape { batch, hidden, .. } = dims;
    let classes = output_weight.len() / hidden;
    let Saved {
        mut states,
        logits_gradient,
    } = saved;
    // Wᵀ and Vᵀ stored as such: products read them faster than through strides.
    let weight_transposed = transpose(weight, hidden, hidden);
    let output_transposed = transpose(output_weight, hidden, classes);
    let mut initial_gradient = vec![E::zero(); batch * hidden];
    let ranges = row_ranges(batch);
    let blocks = blocks_per_range(&mut states, dims, &ranges);
    let initial_blocks = blocks_per_range(
        &mut initial_gradient,
        RecurrenceShape { time: 1, ..dims },
        &ranges,
    );
    let class_dims = RecurrenceShape {
        hidden: classes,
        ..dims
    };
    let partials: Vec<(Vec<E>, Vec<E>, Vec<E>)> = ranges
        .par_iter()
        .zip(blocks)
        .zip(initial_blocks)
        .map(|((range, mut blocks), mut first)| {
            let rows = range.len();
            let mut weight_gradient = vec![E::zero(); hidden * hidden];
            let mut output_gradient = vec![E::zero(); hidden * classes];
            let mut bias_gradient = vec![E::zero(); classes];
            let mut scaled = vec![E::zero(); rows * classes];
            // ∂L/∂h(t) in total, built from the step's own loss and the future's δa(t+1) · Wᵀ.
            let mut carried = vec![E::zero(); rows * hidden];
            let first_row = range.start;
            for t in (0..blocks.len()).rev() {
                // g(t): the step's logits gradient times each loss's gradient.
                scaled.copy_from_slice(block(&logits_gradient, class_dims, t, range));
                let step_rows = t * batch + first_row;
                for (row, &g) in scaled
                    .chunks_exact_mut(classes)
                    .zip(&loss_gradient[step_rows..step_rows + rows])
                {
                    for value in row {
                        *value = *value * g;
                    }
                }
                for row in scaled.chunks_exact(classes) {
                    add_assign(&mut bias_gradient, row);
                }
                let (before, rest) = blocks.split_at_mut(t);
                let current = &mut *rest[0];
                let scaled_operand = Operand::new(&scaled, rows, classes);
                matmul(
                    &mut output_gradient,
                    Write::Accumulate,
                    Operand::new(current, rows, hidden).t(),
                    scaled_operand,
                    Threads::One,
                );
                matmul(
                    &mut carried,
                    Write::Accumulate,
                    scaled_operand,
                    Operand::new(&output_transposed, classes, hidden),
                    Threads::One,
                );
                // δa(t) over h(t).
                for (h, g) in current.iter_mut().zip(&carried) {
                    *h = *g * (E::one() - *h * *h);
                }
                let previous: &[E] = if t == 0 {
                    &initial[range.start * hidden..range.end * hidden]
                } else {
                    before[t - 1]
                };
                matmul(
                    &mut weight_gradient,
                    Write::Accumulate,
                    Operand::new(previous, rows, hidden).t(),
                    Operand::new(current, rows, hidden),
                    Threads::One,
                );
                let target: &mut [E] = if t == 0 { &mut *first[0] } else { &mut carried };
                matmul(
                    target,
                    Write::Overwrite,
                    Operand::new(current, rows, hidden),
                    Operand::new(&weight_transposed, hidden, hidden),
                    Threads::One,
                );
            }
            (weight_gradient, output_gradient, bias_gradient)
        })
        .collect();
    let mut partials = partials.into_iter();
    let (mut weight_gradient, mut output_gradient, mut bias_gradient) =
        partials.next().expect("at least one block of rows");
    for (w, v, c) in partials {
        add_assign(&mut weight_gradient, &w);
        add_assign(&mut output_gradient, &v);
        add_assign(&mut bias_gradient, &c);
    }
    Gradients {
        projected: states,
        initial: initial_gradient,
        weight: weight_gradient,
        output_weight: output_gradient,
        output_bias: bias_gradient,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradients_match_the_separate_kernels_and_finite_differences() {
        let dims = RecurrenceShape {
            time: 4,
            batch: 9,
            hidden: 6,
        };
        let classes = 5;
        let rows = dims.time * dims.batch;
        let wave = |n: usize, k: f64| -> Vec<f64> {
            (0..n).map(|i| (i as f64 * k + 0.3).sin() * 0.8).collect()
        };
        let p = wave(rows * dims.hidden, 0.37);
        let h0 = wave(dims.batch * dims.hidden, 1.1);
        let w = wave(dims.hidden * dims.hidden, 0.71);
        let v = wave(dims.hidden * classes, 1.7);
        let c = wave(classes, 2.3);
        let targets: Vec<usize> = (0..rows).map(|i| (i * 7) % classes).collect();
        let g = wave(rows, 0.9);
        let loss = |p: &[f64], h0: &[f64], w: &[f64], v: &[f64], c: &[f64]| -> f64 {
            let (losses, _, _) = forward(p.to_vec(), h0, w, v, c, &targets, dims);
            losses.iter().zip(&g).map(|(l, g)| l * g).sum()
        };
        let (losses, final_state, saved) = forward(p.clone(), &h0, &w, &v, &c, &targets, dims);
        // Against the separate kernels: recurrence, then output layer and loss.
        let states = recurrence::forward(p.clone(), &h0, &w, dims, RowLengths(None));
        let output_dims = output::OutputShape {
            rows,
            hidden: dims.hidden,
            classes,
        };
        let (separate, unit) = output::forward(&states, &v, &c, &targets, output_dims, true);
        assert_eq!(losses, separate);
        assert_eq!(final_state, states[(rows - dims.batch) * dims.hidden..]);
        let (dh, dv, dc) = output::backward(&states, &v, unit.expect("kept"), &g, output_dims);
        let (dp, dh0, dw) = recurrence::backward(&states, &h0, &w, dh, dims, RowLengths(None));
        let fused = backward(saved, &h0, &w, &v, &g, dims);
        for (name, a, b) in [
            ("p", &fused.projected, &dp),
            ("h0", &fused.initial, &dh0),
            ("W", &fused.weight, &dw),
            ("V", &fused.output_weight, &dv),
            ("c", &fused.output_bias, &dc),
        ] {
            for (x, y) in a.iter().zip(b.iter()) {
                assert!((x - y).abs() < 1e-12, "{name}: {x} vs {y}");
            }
        }
        // And every entry of each against central differences.
        let eps = 1e-6;
        let inputs = [p, h0, w, v, c];
        let analytic = [
            &fused.projected,
            &fused.initial,
            &fused.weight,
            &fused.output_weight,
            &fused.output_bias,
        ];
        for which in 0..5 {
            for i in 0..inputs[which].len() {
                let (mut up, mut down) = (inputs.clone(), inputs.clone());
                up[which][i] += eps;
                down[which][i] -= eps;
                let numeric = (loss(&up[0], &up[1], &up[2], &up[3], &up[4])
                    - loss(&down[0], &down[1], &down[2], &down[3], &down[4]))
                    / (2.0 * eps);
                let a = analytic[which][i];
                assert!((a - numeric).abs() < 1e-7, "{which}[{i}]: {a} vs {numeric}");
            }
        }
    }
}
