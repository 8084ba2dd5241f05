//! The GRU recurrence and its BPTT on host memory, cut as the LSTM's is
//! ([`crate::fused::lstm::kernel`]): each core runs the whole time loop on its block of rows,
//! with one product `h(t-1) · W_hh` (`[rows, H] · [H, 3H]`) per step forward and one with
//! `W_hhᵀ` backward (both run transposed, as the LSTM's), and the weight's gradient as one
//! product over all steps afterwards.
//!
//! Buffers are time-major and row-major. The forward pass keeps, per step and row, the gates
//! `r, z, n` and `W_hn h(t-1) + b_hn` (which the reset gate multiplies): `[time, batch, 4H]`.

use rayon::prelude::*;

use crate::fused::host::math::{Real, add_assign};
use crate::fused::recurrence::kernel::{
    RecurrenceShape, RowLengths, RowProduct, StepProduct, block, blocks_per_range,
    recurrent_weight_gradient, row_ranges, turned_weight,
};

/// A buffer of `width` blocks of `H` per row.
fn widened(dims: RecurrenceShape, width: usize) -> RecurrenceShape {
    RecurrenceShape {
        hidden: width * dims.hidden,
        ..dims
    }
}

/// The forward pass.
///
/// - `projected`: `W_ih x(t) + b_ih` of every step, `[time, batch, 3H]` (blocks `r, z, n`).
/// - `initial`: `h(0)`, `[batch, H]`; `weight`: `W_hhᵀ`, `[H, 3H]`; `bias`: `b_hh`, `[3H]`.
/// - `lengths`: a row past its length keeps its state.
///
/// Returns what BPTT reads, `[time, batch, 4H]` (`r, z, n, W_hn h(t-1) + b_hn`), and
/// `h(1) … h(τ)`, `[time, batch, H]`.
pub(crate) fn forward<E: Real>(
    projected: &[E],
    initial: &[E],
    weight: &[E],
    bias: &[E],
    dims: RecurrenceShape,
    lengths: RowLengths<'_>,
) -> (Vec<E>, Vec<E>) {
    let (time, batch, hidden) = dims.sizes();
    assert_eq!(
        projected.len(),
        time * batch * 3 * hidden,
        "projected shape"
    );
    assert_eq!(initial.len(), batch * hidden, "h(0) shape");
    assert_eq!(bias.len(), 3 * hidden, "bias shape");
    lengths.check(dims);
    let mut gates = vec![E::zero(); time * batch * 4 * hidden];
    let mut states = vec![E::zero(); time * batch * hidden];
    let ranges = row_ranges(batch);
    let turned = turned_weight(
        weight,
        &ranges,
        [hidden, 3 * hidden],
        RowProduct::Transposed,
    );
    let gate_blocks = blocks_per_range(&mut gates, widened(dims, 4), &ranges);
    let state_blocks = blocks_per_range(&mut states, dims, &ranges);
    ranges
        .par_iter()
        .zip(gate_blocks)
        .zip(state_blocks)
        .for_each(|((range, mut gates), mut states)| {
            let mut product =
                StepProduct::new([weight, &turned], [hidden, 3 * hidden, range.len()], false);
            for t in 0..time {
                let (done, rest) = states.split_at_mut(t);
                let previous: &[E] = if t == 0 {
                    &initial[range.start * hidden..range.end * hidden]
                } else {
                    done[t - 1]
                };
                let running = lengths.running_prefix(range, t);
                let recurrent_rows = product.of(previous, running);
                let projected = block(projected, widened(dims, 3), t, range);
                let (gates, current) = (&mut *gates[t], &mut *rest[0]);
                for row in 0..range.len() {
                    let cells = row * hidden..(row + 1) * hidden;
                    if row >= running || lengths.stopped(range.start + row, t) {
                        current[cells.clone()].copy_from_slice(&previous[cells]);
                        continue;
                    }
                    let input = &projected[row * 3 * hidden..(row + 1) * 3 * hidden];
                    let recurrent = &recurrent_rows[row * 3 * hidden..(row + 1) * 3 * hidden];
                    let gates = &mut gates[row * 4 * hidden..(row + 1) * 4 * hidden];
                    for j in 0..3 * hidden {
                        gates[j] = input[j] + recurrent[j] + bias[j];
                    }
                    E::sigmoid_in_place(&mut gates[..2 * hidden]);
                    for j in 0..hidden {
                        let hidden_n = recurrent[2 * hidden + j] + bias[2 * hidden + j];
                        gates[3 * hidden + j] = hidden_n;
                        gates[2 * hidden + j] = input[2 * hidden + j] + gates[j] * hidden_n;
                    }
                    E::tanh_in_place(&mut gates[2 * hidden..3 * hidden]);
                    let (previous, current) = (&previous[cells.clone()], &mut current[cells]);
                    for j in 0..hidden {
                        let (update, candidate) = (gates[hidden + j], gates[2 * hidden + j]);
                        current[j] = candidate + update * (previous[j] - candidate);
                    }
                }
            }
        });
    (gates, states)
}

/// What BPTT reads: the forward pass's gates and states, `h(0)` and `W_hhᵀ`.
pub(crate) struct Saved<'a, E> {
    /// `r, z, n, W_hn h(t-1) + b_hn` of every step, `[time, batch, 4H]`.
    pub gates: &'a [E],
    /// `h(1) … h(τ)`, `[time, batch, H]`.
    pub states: &'a [E],
    /// `h(0)`, `[batch, H]`.
    pub initial: &'a [E],
    /// `W_hhᵀ`, `[H, 3H]`.
    pub weight: &'a [E],
}

/// What BPTT returns: `∂L/∂projected` `[time, batch, 3H]`, `∂L/∂h(0)`, `∂L/∂W_hhᵀ` `[H, 3H]`
/// and `∂L/∂b_hh` `[3H]`.
pub(crate) type Gradients<E> = (Vec<E>, Vec<E>, Vec<E>, Vec<E>);

/// BPTT through the gates, from `t = τ` down to 1, with `δh = ∂L/∂h(t)` in total:
///
/// - `δa_n = δh ⊙ (1−z) ⊙ (1−n²)`, `δa_z = δh ⊙ (h(t-1) − n) ⊙ z(1−z)`,
///   `δa_r = δa_n ⊙ (W_hn h(t-1) + b_hn) ⊙ r(1−r)`: `∂L/∂projected(t) = [δa_r, δa_z, δa_n]`;
/// - the hidden side's gradient `[δa_r, δa_z, δa_n ⊙ r]`, which `∂L/∂W_hh`, `∂L/∂b_hh` and
///   `∂L/∂h(t-1) = δh ⊙ z + [δa_r, δa_z, δa_n ⊙ r] · W_hh` are made of.
///
/// `output_gradient` is `∂L/∂h(t)` for every step, `[time, batch, H]`, used as the buffer the
/// gradients from later steps are added into. A row past its length hands its gradient to the
/// step before unchanged.
pub(crate) fn backward<E: Real>(
    saved: Saved<'_, E>,
    mut output_gradient: Vec<E>,
    dims: RecurrenceShape,
    lengths: RowLengths<'_>,
) -> Gradients<E> {
    let (time, batch, hidden) = dims.sizes();
    assert_eq!(saved.gates.len(), time * batch * 4 * hidden, "gates shape");
    assert_eq!(saved.states.len(), time * batch * hidden, "states shape");
    assert_eq!(output_gradient.len(), saved.states.len(), "gradient shape");
    lengths.check(dims);
    let mut projected_gradient = vec![E::zero(); time * batch * 3 * hidden];
    let mut recurrent_gradient = vec![E::zero(); time * batch * 3 * hidden];
    let mut initial_gradient = vec![E::zero(); batch * hidden];
    let ranges = row_ranges(batch);
    let projected_blocks = blocks_per_range(&mut projected_gradient, widened(dims, 3), &ranges);
    let recurrent_blocks = blocks_per_range(&mut recurrent_gradient, widened(dims, 3), &ranges);
    let hidden_blocks = blocks_per_range(&mut output_gradient, dims, &ranges);
    let first = RecurrenceShape { time: 1, ..dims };
    let first_blocks = blocks_per_range(&mut initial_gradient, first, &ranges);
    let turned = turned_weight(
        saved.weight,
        &ranges,
        [hidden, 3 * hidden],
        RowProduct::Direct,
    );
    ranges
        .par_iter()
        .zip(projected_blocks.into_par_iter().zip(recurrent_blocks))
        .zip(hidden_blocks.into_par_iter().zip(first_blocks))
        .for_each(
            |((range, (mut projected, mut recurrent)), (mut gradients, mut first))| {
                let weights = [saved.weight, turned.as_slice()];
                let mut back = StepProduct::new(weights, [hidden, 3 * hidden, range.len()], true);
                for t in (0..time).rev() {
                    let (before, rest) = gradients.split_at_mut(t);
                    let target = if t == 0 {
                        &mut *first[0]
                    } else {
                        &mut *before[t - 1]
                    };
                    let dh = &*rest[0];
                    let (projected, recurrent) = (&mut *projected[t], &mut *recurrent[t]);
                    let gates = block(saved.gates, widened(dims, 4), t, range);
                    let previous = if t == 0 {
                        &saved.initial[range.start * hidden..range.end * hidden]
                    } else {
                        block(saved.states, dims, t - 1, range)
                    };
                    let running = lengths.running_prefix(range, t);
                    for row in 0..range.len() {
                        let cells = row * hidden..(row + 1) * hidden;
                        if row >= running || lengths.stopped(range.start + row, t) {
                            add_assign(&mut target[cells.clone()], &dh[cells]);
                            continue;
                        }
                        let gates = &gates[row * 4 * hidden..(row + 1) * 4 * hidden];
                        let wide = row * 3 * hidden..(row + 1) * 3 * hidden;
                        let (projected, recurrent) =
                            (&mut projected[wide.clone()], &mut recurrent[wide]);
                        let (dh, previous) = (&dh[cells.clone()], &previous[cells.clone()]);
                        let target = &mut target[cells];
                        let one = E::one();
                        for j in 0..hidden {
                            let (r, z) = (gates[j], gates[hidden + j]);
                            let (n, hidden_n) = (gates[2 * hidden + j], gates[3 * hidden + j]);
                            let d_n = dh[j] * (one - z) * (one - n * n);
                            let d_z = dh[j] * (previous[j] - n) * z * (one - z);
                            let d_r = d_n * hidden_n * r * (one - r);
                            projected[j] = d_r;
                            projected[hidden + j] = d_z;
                            projected[2 * hidden + j] = d_n;
                            recurrent[j] = d_r;
                            recurrent[hidden + j] = d_z;
                            recurrent[2 * hidden + j] = d_n * r;
                            target[j] = target[j] + dh[j] * z;
                        }
                    }
                    back.add_back(target, recurrent, running);
                }
            },
        );
    let weight = recurrent_weight_gradient(
        saved.states,
        saved.initial,
        &recurrent_gradient,
        dims,
        3 * hidden,
        lengths,
    );
    let mut bias = vec![E::zero(); 3 * hidden];
    for row in recurrent_gradient.chunks_exact(3 * hidden) {
        add_assign(&mut bias, row);
    }
    (projected_gradient, initial_gradient, weight, bias)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::fused::recurrence::kernel::{few_rows, many_rows_on_one_thread};

    use crate::fused::test_values::{assert_finite_differences, deterministic as values, sigmoid};

    /// The GRU written per row and element, no products, no threads.
    fn naive_forward(
        [p, h0, w, b]: [&[f64]; 4],
        d: RecurrenceShape,
        lengths: Option<&[usize]>,
    ) -> Vec<f64> {
        let hidden = d.hidden;
        let mut out = vec![0.0; d.time * d.batch * hidden];
        for t in 0..d.time {
            for b_row in 0..d.batch {
                let at = |t: usize, j: usize| (t * d.batch + b_row) * hidden + j;
                let previous = |out: &[f64], j: usize| match t {
                    0 => h0[b_row * hidden + j],
                    _ => out[at(t - 1, j)],
                };
                for j in 0..hidden {
                    out[at(t, j)] = if lengths.is_some_and(|l| l[b_row] <= t) {
                        previous(&out, j)
                    } else {
                        let input =
                            |k: usize| p[(t * d.batch + b_row) * 3 * hidden + k * hidden + j];
                        let recurrent = |k: usize| {
                            let mut a = b[k * hidden + j];
                            for i in 0..hidden {
                                a += previous(&out, i) * w[i * 3 * hidden + k * hidden + j];
                            }
                            a
                        };
                        let r = sigmoid(input(0) + recurrent(0));
                        let z = sigmoid(input(1) + recurrent(1));
                        let n = (input(2) + r * recurrent(2)).tanh();
                        (1.0 - z) * n + z * previous(&out, j)
                    };
                }
            }
        }
        out
    }

    /// Each core's rows as the product's narrow side ([`RowProduct::Transposed`]); the other
    /// test's few rows run [`RowProduct::Direct`].
    #[test]
    fn many_rows_a_core_match_the_equations_and_finite_differences() {
        many_rows_on_one_thread(check);
    }

    #[test]
    fn forward_and_backward_match_the_equations_and_finite_differences() {
        few_rows(check);
    }

    fn check(dims: RecurrenceShape, lengths: Option<&[usize]>) {
        let n = dims.time * dims.batch * dims.hidden;
        let inputs = [
            values(3 * n, 1),
            values(dims.batch * dims.hidden, 2),
            values(3 * dims.hidden * dims.hidden, 3)
                .iter()
                .map(|x| x * 0.7)
                .collect(),
            values(3 * dims.hidden, 4),
        ];
        let run = |inputs: &[Vec<f64>]| {
            naive_forward(
                [&inputs[0], &inputs[1], &inputs[2], &inputs[3]],
                dims,
                lengths,
            )
        };
        let (gates, states) = forward(
            &inputs[0],
            &inputs[1],
            &inputs[2],
            &inputs[3],
            dims,
            RowLengths(lengths),
        );
        for (a, b) in states.iter().zip(&run(&inputs)) {
            assert!((a - b).abs() < 1e-12, "{lengths:?}: {a} vs {b}");
        }
        // L = Σ weights ⊙ h over every step: every gradient against central differences.
        let weights = values(n, 5);
        let loss = |inputs: &[Vec<f64>]| -> f64 {
            run(inputs).iter().zip(&weights).map(|(h, c)| h * c).sum()
        };
        let saved = Saved {
            gates: &gates,
            states: &states,
            initial: &inputs[1],
            weight: &inputs[2],
        };
        let (dp, dh0, dw, db) = backward(saved, weights.clone(), dims, RowLengths(lengths));
        assert_finite_differences(&format!("{lengths:?}"), &inputs, &[dp, dh0, dw, db], loss);
    }
}
