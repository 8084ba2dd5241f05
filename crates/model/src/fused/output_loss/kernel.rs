//! The output layer and the loss as one operation on host memory:
//! `o(n) = h(n) · V + c`, `L(n) = −log softmax(o(n))[target(n)]`. The logits never leave the
//! kernel; the backward pass recomputes them (one product) rather than keeping them.

use crate::fused::cross_entropy::kernel as cross_entropy;
use crate::fused::host::math::{Real, add_assign};
use crate::fused::host::matmul::{Operand, Threads, Write, matmul};

/// Sizes of the output layer: `rows` states of width `hidden`, `classes` outputs.
#[derive(Clone, Copy, Debug)]
pub struct OutputShape {
    /// States (time × batch).
    pub rows: usize,
    /// Width of `h`.
    pub hidden: usize,
    /// Width of `o`.
    pub classes: usize,
}

/// `o = h · V + c` for every row: `hidden` `[rows + extra, hidden]` (the `extra` rows
/// ignored), `weight` `V` `[hidden, classes]`, `bias` `c` `[classes]`. Returns
/// `[rows, classes]`.
pub fn logits<E: Real>(hidden: &[E], weight: &[E], bias: &[E], dims: OutputShape) -> Vec<E> {
    assert_eq!(bias.len(), dims.classes, "bias shape");
    let mut logits = Vec::with_capacity(dims.rows * dims.classes);
    for _ in 0..dims.rows {
        logits.extend_from_slice(bias);
    }
    matmul(
        &mut logits,
        Write::Accumulate,
        Operand::new(scored(hidden, dims), dims.rows, dims.hidden),
        Operand::new(weight, dims.hidden, dims.classes),
        Threads::All,
    );
    logits
}

/// The loss of every row, `[rows]` (`targets` `[rows]`), and, when `keep_gradient`, each
/// loss's gradient with respect to its logits, `softmax(o(n)) − onehot(target(n))`
/// (`[rows, classes]`), which [`backward`] scales by the losses' gradient.
pub fn forward<E: Real>(
    hidden: &[E],
    weight: &[E],
    bias: &[E],
    targets: &[usize],
    dims: OutputShape,
    keep_gradient: bool,
) -> (Vec<E>, Option<Vec<E>>) {
    let mut logits = logits(hidden, weight, bias, dims);
    if keep_gradient {
        let losses = cross_entropy::forward_into_gradient(&mut logits, targets, dims.classes);
        (losses, Some(logits))
    } else {
        (cross_entropy::forward(&logits, targets, dims.classes), None)
    }
}

/// The rows of `hidden` that are scored, `[rows, hidden]`.
fn scored<E: Real>(hidden: &[E], dims: OutputShape) -> &[E] {
    assert!(
        hidden.len() >= dims.rows * dims.hidden,
        "h has fewer rows than there are targets"
    );
    &hidden[..dims.rows * dims.hidden]
}

/// `(∂L/∂h, ∂L/∂V, ∂L/∂c)`, shaped as `hidden` (zero in its `extra` rows), `weight` and
/// `[classes]`, from the per-row
/// logits gradient [`forward`] kept (`[rows, classes]`, scaled here in place) and the losses'
/// gradient `g` (`[rows]`).
pub fn backward<E: Real>(
    hidden: &[E],
    weight: &[E],
    mut logits_gradient: Vec<E>,
    loss_gradient: &[E],
    dims: OutputShape,
) -> (Vec<E>, Vec<E>, Vec<E>) {
    for (row, &g) in logits_gradient
        .chunks_exact_mut(dims.classes)
        .zip(loss_gradient)
    {
        for value in row {
            *value = *value * g;
        }
    }
    let gradient = Operand::new(&logits_gradient, dims.rows, dims.classes);
    let mut hidden_gradient = vec![E::zero(); hidden.len()];
    matmul(
        &mut hidden_gradient[..dims.rows * dims.hidden],
        Write::Overwrite,
        gradient,
        Operand::new(weight, dims.hidden, dims.classes).t(),
        Threads::All,
    );
    let mut weight_gradient = vec![E::zero(); dims.hidden * dims.classes];
    matmul(
        &mut weight_gradient,
        Write::Overwrite,
        Operand::new(scored(hidden, dims), dims.rows, dims.hidden).t(),
        gradient,
        Threads::All,
    );
    let mut bias_gradient = vec![E::zero(); dims.classes];
    for row in logits_gradient.chunks_exact(dims.classes) {
        add_assign(&mut bias_gradient, row);
    }
    (hidden_gradient, weight_gradient, bias_gradient)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_gradient_matches_finite_differences() {
        let dims = OutputShape {
            rows: 7,
            hidden: 5,
            classes: 4,
        };
        let wave =
            |n: usize, k: f64| -> Vec<f64> { (0..n).map(|i| (i as f64 * k).sin()).collect() };
        let (h, v, c) = (wave(35, 0.7), wave(20, 1.3), wave(4, 2.1));
        let targets = [0, 3, 1, 2, 3, 0, 1];
        let g = wave(7, 0.4);
        let loss = |h: &[f64], v: &[f64], c: &[f64]| -> f64 {
            forward(h, v, c, &targets, dims, false)
                .0
                .iter()
                .zip(&g)
                .map(|(l, g)| l * g)
                .sum()
        };
        // The forward against logits written out.
        let logits = logits(&h, &v, &c, dims);
        for n in 0..dims.rows {
            for k in 0..dims.classes {
                let exact: f64 = c[k]
                    + (0..dims.hidden)
                        .map(|i| h[n * 5 + i] * v[i * 4 + k])
                        .sum::<f64>();
                assert!((logits[n * 4 + k] - exact).abs() < 1e-12);
            }
        }
        let (losses, unit) = forward(&h, &v, &c, &targets, dims, true);
        assert_eq!(losses, forward(&h, &v, &c, &targets, dims, false).0);
        let (dh, dv, dc) = backward(&h, &v, unit.expect("kept"), &g, dims);
        let eps = 1e-6;
        for (which, analytic) in [(0, &dh), (1, &dv), (2, &dc)] {
            for (i, &a) in analytic.iter().enumerate() {
                let mut up = [h.clone(), v.clone(), c.clone()];
                let mut down = [h.clone(), v.clone(), c.clone()];
                up[which][i] += eps;
                down[which][i] -= eps;
                let numeric = (loss(&up[0], &up[1], &up[2]) - loss(&down[0], &down[1], &down[2]))
                    / (2.0 * eps);
                assert!((a - numeric).abs() < 1e-8, "{which}[{i}]: {a} vs {numeric}");
            }
        }
    }
}
