//! The projection's host kernel on row-major slices: every pass on every core, no buffer
//! zero-filled before it is written (at a stacked layer's sizes each output is tens of MiB,
//! and a fill or a sum on the calling thread alone left the other cores idle: BENCHMARKS.md).

use rayon::prelude::*;

use crate::fused::host::math::Real;
use crate::fused::host::matmul::{Operand, Threads, Write, matmul, product};

/// Rows of `b` a task writes at the least.
const ROWS_A_TASK: usize = 64;

/// `y = x · W + b`: `x` `[rows, d_input]`, `W` `[d_input, d_output]`, `b` `[d_output]`;
/// returns `y`, `[rows, d_output]`.
pub fn forward<E: Real>(x: &[E], weight: &[E], bias: &[E], [rows, d_input]: [usize; 2]) -> Vec<E> {
    let d_output = bias.len();
    // Every row starts as `b`, written on every core, and the product is added to it.
    let mut output = Vec::with_capacity(rows * d_output);
    if d_output > 0 {
        output.spare_capacity_mut()[..rows * d_output]
            .par_chunks_mut(d_output)
            .with_min_len(ROWS_A_TASK)
            .for_each(|row| {
                for (out, &value) in row.iter_mut().zip(bias) {
                    out.write(value);
                }
            });
    }
    // SAFETY: each of the `rows` rows of `d_output` elements was written just above.
    unsafe { output.set_len(rows * d_output) };
    matmul(
        &mut output,
        Write::Accumulate,
        Operand::new(x, rows, d_input),
        Operand::new(weight, d_input, d_output),
        Threads::All,
    );
    output
}

/// `∂L/∂x = ∂y · Wᵀ`, `∂L/∂W = xᵀ · ∂y` and `∂L/∂b = Σ_rows ∂y`, for `x` `[rows, d_input]`,
/// `W` `[d_input, d_output]` and `∂y` `[rows, d_output]`.
pub fn backward<E: Real>(
    x: &[E],
    weight: &[E],
    dy: &[E],
    [rows, d_input, d_output]: [usize; 3],
) -> (Vec<E>, Vec<E>, Vec<E>) {
    let dy_operand = Operand::new(dy, rows, d_output);
    let dx = product(
        dy_operand,
        Operand::new(weight, d_input, d_output).t(),
        Threads::All,
    );
    let dw = product(Operand::new(x, rows, d_input).t(), dy_operand, Threads::All);
    // `∂L/∂b` is every row's gradient summed into one: the lookup's scatter-add with every row
    // reading table row 0 (column blocks on every core, each sum in row order).
    let db = crate::fused::lookup::kernel::backward(&vec![0; rows], dy, 1, d_output);
    (dx, dw, db)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sizes that take the parallel paths, against the definitions summed one at a time in f64.
    #[test]
    fn forward_and_backward_match_the_definitions() {
        let (rows, d_input, d_output) = (301, 7, 13);
        let value = |k: usize, scale: f64| ((k as f64) * scale).sin();
        let x: Vec<f64> = (0..rows * d_input).map(|k| value(k, 0.37)).collect();
        let weight: Vec<f64> = (0..d_input * d_output).map(|k| value(k, 1.3)).collect();
        let bias: Vec<f64> = (0..d_output).map(|k| value(k, 2.1)).collect();
        let dy: Vec<f64> = (0..rows * d_output).map(|k| value(k, 0.71)).collect();
        let y = forward(&x, &weight, &bias, [rows, d_input]);
        let (dx, dw, db) = backward(&x, &weight, &dy, [rows, d_input, d_output]);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + b.abs());
        // `Σ_k left(k) · right(k)` over `k < count`: each definition below is one such sum.
        let sum = |count: usize, term: &dyn Fn(usize) -> f64| (0..count).map(term).sum::<f64>();
        for (r, o) in (0..rows).flat_map(|r| (0..d_output).map(move |o| (r, o))) {
            let expected =
                bias[o] + sum(d_input, &|i| x[r * d_input + i] * weight[i * d_output + o]);
            assert!(close(y[r * d_output + o], expected), "y[{r}][{o}]");
        }
        for (r, i) in (0..rows).flat_map(|r| (0..d_input).map(move |i| (r, i))) {
            let expected = sum(d_output, &|o| {
                dy[r * d_output + o] * weight[i * d_output + o]
            });
            assert!(close(dx[r * d_input + i], expected), "dx[{r}][{i}]");
        }
        for (i, o) in (0..d_input).flat_map(|i| (0..d_output).map(move |o| (i, o))) {
            let expected = sum(rows, &|r| x[r * d_input + i] * dy[r * d_output + o]);
            assert!(close(dw[i * d_output + o], expected), "dW[{i}][{o}]");
        }
        for o in 0..d_output {
            assert!(
                close(db[o], sum(rows, &|r| dy[r * d_output + o])),
                "db[{o}]"
            );
        }
    }
}
