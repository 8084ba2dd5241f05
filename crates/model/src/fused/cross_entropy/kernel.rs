//! Softmax cross-entropy per row on host memory: `−log softmax(o)[target]` and its gradient
//! `softmax(o) − onehot(target)`, each in one pass over the logits.

use rayon::prelude::*;

use crate::fused::host::math::Real;

/// Rows per parallel task: enough work to pay for handing it to another core.
const ROWS_PER_TASK: usize = 256;

/// `−log softmax(o(n))[target(n)]` for every row of `logits` (`[rows, classes]`).
///
/// Returns the losses, `[rows]`.
///
/// # Panics
/// If a target is not below `classes` (callers check targets against the vocabulary).
pub fn forward<E: Real>(logits: &[E], targets: &[usize], classes: usize) -> Vec<E> {
    assert_eq!(logits.len(), targets.len() * classes, "logits shape");
    logits
        .par_chunks(classes * ROWS_PER_TASK)
        .zip(targets.par_chunks(ROWS_PER_TASK))
        .flat_map_iter(|(logits, targets)| {
            let mut scratch = vec![E::zero(); classes];
            let rows = logits.chunks_exact(classes).zip(targets);
            rows.map(move |(row, &target)| {
                scratch.copy_from_slice(row);
                exponentials_and_loss(&mut scratch, target).1
            })
        })
        .collect()
}

/// Turns `row` (the logits `o`) into `exp(o − shift)`, `shift` its maximum when finite; returns
/// their sum and the loss `−log softmax(o)[target]`.
///
/// # Panics
/// If `target` is not below the row's length.
fn exponentials_and_loss<E: Real>(row: &mut [E], target: usize) -> (E, E) {
    let classes = row.len();
    assert!(
        target < classes,
        "target class {target} out of {classes} classes"
    );
    let picked = row[target];
    let max = row.iter().copied().fold(E::neg_infinity(), E::max);
    // A row of −∞ (or NaN) has no finite maximum: shifting by 0 keeps NaN a NaN.
    let shift = if max.is_finite() { max } else { E::zero() };
    let sum = E::shifted_exp_in_place(row, shift);
    (sum, shift + sum.ln() - picked)
}

/// Scales every row of `gradient` (`[rows, classes]`) by its loss's gradient (`[rows]`).
pub fn scale_rows<E: Real>(gradient: &mut [E], loss_gradient: &[E], classes: usize) {
    gradient
        .par_chunks_mut(classes * ROWS_PER_TASK)
        .zip(loss_gradient.par_chunks(ROWS_PER_TASK))
        .for_each(|(block, loss_gradient)| {
            for (row, &g) in block.chunks_exact_mut(classes).zip(loss_gradient) {
                for value in row {
                    *value = *value * g;
                }
            }
        });
}

/// Turns every row of `logits` (`[rows, classes]`) into its loss's gradient,
/// `softmax(o(n)) − onehot(target(n))`, in place, with one pass of `exp`; returns the losses
/// `−log softmax(o(n))[target(n)]`, `[rows]`.
///
/// # Panics
/// If a target is not below `classes`.
pub fn forward_into_gradient<E: Real>(
    logits: &mut [E],
    targets: &[usize],
    classes: usize,
) -> Vec<E> {
    assert_eq!(logits.len(), targets.len() * classes, "logits shape");
    logits
        .par_chunks_mut(classes * ROWS_PER_TASK)
        .zip(targets.par_chunks(ROWS_PER_TASK))
        .flat_map_iter(|(logits, targets)| {
            let rows = logits.chunks_exact_mut(classes).zip(targets);
            rows.map(|(row, &target)| {
                let (sum, loss) = exponentials_and_loss(row, target);
                let scale = sum.recip();
                for value in row.iter_mut() {
                    *value = *value * scale;
                }
                row[target] = row[target] - E::one();
                loss
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_and_gradients_match_the_definition() {
        let classes = 5;
        let logits: Vec<f64> = (0..3 * classes)
            .map(|i| ((i * 7) % 11) as f64 * 0.3 - 1.0)
            .collect();
        let targets = [4, 0, 2];
        let losses = forward(&logits, &targets, classes);
        let weights = [1.0, -2.0, 0.5];
        let loss = |o: &[f64]| -> f64 {
            o.chunks(classes)
                .zip(&targets)
                .zip(&weights)
                .map(|((row, &t), w)| w * (row.iter().map(|x| x.exp()).sum::<f64>().ln() - row[t]))
                .sum()
        };
        for (n, row) in logits.chunks(classes).enumerate() {
            let exact = row.iter().map(|x| x.exp()).sum::<f64>().ln() - row[targets[n]];
            assert!((losses[n] - exact).abs() < 1e-12);
        }
        let mut gradient = logits.clone();
        assert_eq!(
            forward_into_gradient(&mut gradient, &targets, classes),
            losses
        );
        scale_rows(&mut gradient, &weights, classes);
        for i in 0..logits.len() {
            let (mut up, mut down) = (logits.clone(), logits.clone());
            up[i] += 1e-6;
            down[i] -= 1e-6;
            let numeric = (loss(&up) - loss(&down)) / 2e-6;
            assert!(
                (gradient[i] - numeric).abs() < 1e-8,
                "{i}: {} vs {numeric}",
                gradient[i]
            );
        }
    }

    #[test]
    fn large_logits_do_not_overflow_in_f32() {
        let logits = [1000.0f32, 0.0, -1000.0];
        assert_eq!(forward(&logits, &[1], 3), [1000.0]);
        let mut gradient = logits;
        let losses = forward_into_gradient(&mut gradient, &[1], 3);
        assert!((losses[0] - 1000.0).abs() < 1e-3);
        assert!((gradient[0] - 1.0).abs() < 1e-6 && (gradient[1] + 1.0).abs() < 1e-6);
    }
}
