//! The LSTM recurrence and its BPTT on host memory.
//!
//! As for the tanh recurrence ([`crate::fused::recurrence`]), rows never interact, so each core
//! runs the whole time loop on its block of rows; per step the four gates of its rows come from
//! one product `h(t-1) · W_hh` (`[rows, H] · [H, 4H]`) added to the projected inputs, and the
//! backward pass sends the four gates' gradients back through one product with `W_hhᵀ`. The
//! weight's gradient is one product over all steps afterwards.
//!
//! The per-step products run transposed, `W_hhᵀ · h(t-1)ᵀ` (`[4H, H] · [H, rows]`) and
//! `W_hh · δaᵀ`: with the few rows of a core as the narrow side, the `gemm` crate runs them about
//! twice as fast as the row-major form (measured 77 against 41 GFLOP/s on one core at H 256).
//!
//! From 256 hidden units per core on, the cores share a step by hidden units instead
//! ([`crate::fused::host::units`]): each owns the four gates of its units for every row, so its
//! product has all the batch's rows as the narrow side and its slice of `W_hh` stays in cache; the
//! cores meet at a barrier once a step.
//!
//! Buffers are time-major and row-major: gates `[time, batch, 4H]` (blocks `i, f, g, o` in each
//! row), states `[time, batch, H]`.

use rayon::prelude::*;

use crate::fused::host::math::{Real, add_assign};
use crate::fused::host::matmul::{
    Operand, Threads, Write, matmul_strided, transpose, transpose_into,
};
use crate::fused::host::units::{SharedBuffer, by_units, unit_threads};
use crate::fused::recurrence::kernel::{
    RecurrenceShape, RowLengths, RowProduct, StepProduct, block, blocks_per_range,
    recurrent_weight_gradient, row_ranges, turned_weight,
};

/// The shape of the gate buffers: four blocks per row.
fn gate_dims(dims: RecurrenceShape) -> RecurrenceShape {
    RecurrenceShape {
        hidden: 4 * dims.hidden,
        ..dims
    }
}

/// Rows `range` of a `[batch, hidden]` buffer.
fn rows_of<'a, E>(buffer: &'a [E], range: &std::ops::Range<usize>, hidden: usize) -> &'a [E] {
    &buffer[range.start * hidden..range.end * hidden]
}

/// The forward pass.
///
/// - `projected`: `W_ih x(t) + b_ih + b_hh` of every step, `[time, batch, 4H]`; becomes the
///   buffer of the activated gates `i, f, g, o`, which BPTT reads.
/// - `initial_hidden`, `initial_cell`: `h(0)` and `c(0)`, `[batch, H]`; `weight`: `W_hhᵀ`,
///   `[H, 4H]`.
/// - `lengths`: a row past its length keeps its `h` and `c`.
///
/// Returns the gates, `[time + 1, batch, H]` (`h(1) … h(τ)`, then `c(τ)`: the output) and
/// `c(1) … c(τ)`, `[time, batch, H]`, which BPTT reads.
pub(crate) fn forward<E: Real>(
    projected: Vec<E>,
    initial_hidden: &[E],
    initial_cell: &[E],
    weight: &[E],
    dims: RecurrenceShape,
    lengths: RowLengths<'_>,
) -> (Vec<E>, Vec<E>, Vec<E>) {
    let (time, batch, hidden) = dims.sizes();
    assert_eq!(projected.len(), time * batch * 4 * hidden, "gates shape");
    assert_eq!(initial_hidden.len(), batch * hidden, "h(0) shape");
    assert_eq!(initial_cell.len(), batch * hidden, "c(0) shape");
    lengths.check(dims);
    let threads = unit_threads(hidden);
    if threads > 1 {
        let initial = (initial_hidden, initial_cell);
        return forward_by_units(projected, initial, weight, dims, lengths, threads);
    }
    let ranges = row_ranges(batch);
    let turned = turned_weight(
        weight,
        &ranges,
        [hidden, 4 * hidden],
        RowProduct::Transposed,
    );
    let mut gates = projected;
    let mut output = vec![E::zero(); (time + 1) * batch * hidden];
    let mut cells = vec![E::zero(); time * batch * hidden];
    let gate_blocks = blocks_per_range(&mut gates, gate_dims(dims), &ranges);
    let hidden_blocks = blocks_per_range(&mut output[..time * batch * hidden], dims, &ranges);
    let cell_blocks = blocks_per_range(&mut cells, dims, &ranges);
    ranges
        .par_iter()
        .zip(gate_blocks)
        .zip(hidden_blocks.into_par_iter().zip(cell_blocks))
        .for_each(|((range, mut gates), (mut hiddens, mut cells))| {
            let rows = range.len();
            let mut product =
                StepProduct::new([weight, &turned], [hidden, 4 * hidden, rows], false);
            for t in 0..time {
                let (done_h, rest_h) = hiddens.split_at_mut(t);
                let (done_c, rest_c) = cells.split_at_mut(t);
                let (previous_h, previous_c): (&[E], &[E]) = if t == 0 {
                    (
                        rows_of(initial_hidden, range, hidden),
                        rows_of(initial_cell, range, hidden),
                    )
                } else {
                    (done_h[t - 1], done_c[t - 1])
                };
                let gates = &mut *gates[t];
                let running = lengths.running_prefix(range, t);
                let recurrent = product.of(previous_h, running);
                let (h, c) = (&mut *rest_h[0], &mut *rest_c[0]);
                for row in 0..rows {
                    let cells = row * hidden..(row + 1) * hidden;
                    if row >= running || lengths.stopped(range.start + row, t) {
                        h[cells.clone()].copy_from_slice(&previous_h[cells.clone()]);
                        c[cells.clone()].copy_from_slice(&previous_c[cells]);
                        continue;
                    }
                    let gate_range = row * 4 * hidden..(row + 1) * 4 * hidden;
                    let gates = &mut gates[gate_range.clone()];
                    add_assign(gates, &recurrent[gate_range]);
                    E::sigmoid_in_place(&mut gates[..2 * hidden]);
                    E::tanh_in_place(&mut gates[2 * hidden..3 * hidden]);
                    E::sigmoid_in_place(&mut gates[3 * hidden..]);
                    let (c, h) = (&mut c[cells.clone()], &mut h[cells.clone()]);
                    let previous_c = &previous_c[cells];
                    for j in 0..hidden {
                        let (input, forget) = (gates[j], gates[hidden + j]);
                        c[j] = forget * previous_c[j] + input * gates[2 * hidden + j];
                    }
                    h.copy_from_slice(c);
                    E::tanh_in_place(h);
                    for (h, output) in h.iter_mut().zip(&gates[3 * hidden..]) {
                        *h = *h * *output;
                    }
                }
            }
        });
    let last = (time - 1) * batch * hidden;
    output[time * batch * hidden..].copy_from_slice(&cells[last..]);
    (gates, output, cells)
}

/// [`forward`] with the hidden units, not the batch rows, shared between `threads` threads
/// ([`crate::fused::host::units`]): each owns the four gates of its units, for every row.
fn forward_by_units<E: Real>(
    projected: Vec<E>,
    (initial_hidden, initial_cell): (&[E], &[E]),
    weight: &[E],
    dims: RecurrenceShape,
    lengths: RowLengths<'_>,
    threads: usize,
) -> (Vec<E>, Vec<E>, Vec<E>) {
    let (time, batch, hidden) = (dims.time, dims.batch, dims.hidden);
    let weight_transposed = transpose(weight, hidden, 4 * hidden);
    let mut gates = projected;
    let mut output = vec![E::zero(); (time + 1) * batch * hidden];
    let mut cells = vec![E::zero(); time * batch * hidden];
    // h(t-1)ᵀ and h(t)ᵀ, `[H, batch]` each, in turn: a step writes one while the others may
    // still read the other.
    let mut transposed = vec![E::zero(); 2 * hidden * batch];
    transpose_into(&mut transposed, batch, initial_hidden, hidden);
    let gate_buffer = SharedBuffer::new(&mut gates);
    let hidden_buffer = SharedBuffer::new(&mut output);
    let cell_buffer = SharedBuffer::new(&mut cells);
    let transposed_buffer = SharedBuffer::new(&mut transposed);
    by_units(threads, hidden, |units, barrier| {
        let width = units.len();
        // The thread's rows of `W_hhᵀ`: the four gates of its units, `[4 · width, H]`.
        let mut own_weight = Vec::with_capacity(4 * width * hidden);
        for gate in 0..4 {
            let first = (gate * hidden + units.start) * hidden;
            own_weight.extend_from_slice(&weight_transposed[first..first + width * hidden]);
        }
        let own_weight = Operand::new(&own_weight, 4 * width, hidden);
        let mut product = vec![E::zero(); 4 * width * batch];
        let mut recurrent = vec![E::zero(); batch * 4 * width];
        let mut own_hidden = vec![E::zero(); batch * width];
        for t in 0..time {
            let (read, write) = ((t % 2) * hidden * batch, ((t + 1) % 2) * hidden * batch);
            let running = lengths.running_prefix(&(0..batch), t);
            if running > 0 {
                // SAFETY: h(t-1)ᵀ is only written in the step before, behind the barrier.
                let previous = unsafe { transposed_buffer.view(read..read + hidden * batch) };
                matmul_strided(
                    &mut product,
                    batch,
                    Write::Overwrite,
                    own_weight,
                    Operand::strided(previous, hidden, running, batch),
                    Threads::One,
                );
                transpose_into(&mut recurrent, 4 * width, &product, batch);
            }
            for row in 0..batch {
                let at = (t * batch + row) * hidden;
                let own = at + units.start..at + units.end;
                // SAFETY: every place below is one of this thread's units: no other thread
                // reads or writes it.
                let (h, c) = unsafe { (hidden_buffer.slice(own.clone()), cell_buffer.slice(own)) };
                let (previous_h, previous_c) = if t == 0 {
                    let first = row * hidden + units.start..row * hidden + units.end;
                    (&initial_hidden[first.clone()], &initial_cell[first])
                } else {
                    let before = at - batch * hidden + units.start;
                    // SAFETY: as above.
                    unsafe {
                        (
                            hidden_buffer.view(before..before + width),
                            cell_buffer.view(before..before + width),
                        )
                    }
                };
                let kept = &mut own_hidden[row * width..(row + 1) * width];
                if row >= running || lengths.stopped(row, t) {
                    h.copy_from_slice(previous_h);
                    c.copy_from_slice(previous_c);
                    kept.copy_from_slice(previous_h);
                    continue;
                }
                let gate = |g: usize| {
                    let first = (t * batch + row) * 4 * hidden + g * hidden + units.start;
                    // SAFETY: as above.
                    let gate = unsafe { gate_buffer.slice(first..first + width) };
                    let from = (row * 4 + g) * width;
                    add_assign(gate, &recurrent[from..from + width]);
                    gate
                };
                let (input, forget, cell, out) = (gate(0), gate(1), gate(2), gate(3));
                E::sigmoid_in_place(input);
                E::sigmoid_in_place(forget);
                E::tanh_in_place(cell);
                E::sigmoid_in_place(out);
                // Slices of one known length, so that the loop runs without bounds checks.
                let (c, previous_c) = (&mut c[..width], &previous_c[..width]);
                let (input, forget, cell) = (&input[..width], &forget[..width], &cell[..width]);
                for j in 0..width {
                    c[j] = forget[j] * previous_c[j] + input[j] * cell[j];
                }
                h.copy_from_slice(c);
                E::tanh_in_place(h);
                for (h, out) in h.iter_mut().zip(out.iter()) {
                    *h = *h * *out;
                }
                kept.copy_from_slice(h);
            }
            let own = write + units.start * batch..write + units.end * batch;
            // SAFETY: the thread's rows of h(t)ᵀ; the others read this half only after the
            // barrier.
            transpose_into(
                unsafe { transposed_buffer.slice(own) },
                batch,
                &own_hidden,
                width,
            );
            barrier.wait();
        }
    });
    let last = (time - 1) * batch * hidden;
    output[time * batch * hidden..].copy_from_slice(&cells[last..]);
    (gates, output, cells)
}

/// What BPTT reads besides the gates: the forward pass's states, `h(0)`, `c(0)` and `W_hhᵀ`.
pub(crate) struct Saved<'a, E> {
    /// `h(1) … h(τ)` (and `c(τ)` after them: the forward pass's output), `[time (+ 1), batch, H]`.
    pub hiddens: &'a [E],
    /// `c(1) … c(τ)`, `[time, batch, H]`.
    pub cells: &'a [E],
    /// `h(0)`, `[batch, H]`.
    pub initial_hidden: &'a [E],
    /// `c(0)`, `[batch, H]`.
    pub initial_cell: &'a [E],
    /// `W_hhᵀ`, `[H, 4H]`.
    pub weight: &'a [E],
}

/// What BPTT returns: `∂L/∂projected` `[time, batch, 4H]`, `∂L/∂h(0)`, `∂L/∂c(0)` and
/// `∂L/∂W_hhᵀ` `[H, 4H]`.
pub(crate) type Gradients<E> = (Vec<E>, Vec<E>, Vec<E>, Vec<E>);

/// BPTT through the gates, from `t = τ` down to 1:
///
/// - `δc = δc(t) + δh ⊙ o ⊙ (1 − tanh²c(t))`, with `δh = ∂L/∂h(t)` in total and `δc(t)` what
///   reached `c(t)` from the step after (at `τ`, `∂L/∂c(τ)`);
/// - `δa_i = δc ⊙ g ⊙ i(1−i)`, `δa_f = δc ⊙ c(t-1) ⊙ f(1−f)`, `δa_g = δc ⊙ i ⊙ (1−g²)`,
///   `δa_o = δh ⊙ tanh c(t) ⊙ o(1−o)`: `∂L/∂projected(t)`;
/// - `∂L/∂h(t-1) += δa · W_hh`, `δc(t-1) = δc ⊙ f`.
///
/// `gates` (the forward pass's, `[time, batch, 4H]`) is overwritten with the gates' gradients,
/// each row's as soon as it is read, so BPTT allocates nothing as large as the gates.
/// `output_gradient` is `∂L/∂h(t)` for every step, then `∂L/∂c(τ)`: `[time + 1, batch, H]`,
/// used as the buffer the gradients from later steps are added into. A row past its length
/// hands its gradients to the step before unchanged.
pub(crate) fn backward<E: Real>(
    mut gates: Vec<E>,
    saved: Saved<'_, E>,
    mut output_gradient: Vec<E>,
    dims: RecurrenceShape,
    lengths: RowLengths<'_>,
) -> Gradients<E> {
    let (time, batch, hidden) = dims.sizes();
    assert_eq!(gates.len(), time * batch * 4 * hidden, "gates shape");
    assert_eq!(saved.cells.len(), time * batch * hidden, "cells shape");
    assert_eq!(
        output_gradient.len(),
        (time + 1) * batch * hidden,
        "gradient shape"
    );
    lengths.check(dims);
    let threads = unit_threads(hidden);
    let initial_hidden = if threads > 1 {
        backward_by_units(
            &mut gates,
            &saved,
            &mut output_gradient,
            dims,
            lengths,
            threads,
        )
    } else {
        backward_by_rows(&mut gates, &saved, &mut output_gradient, dims, lengths)
    };
    let hiddens = &saved.hiddens[..time * batch * hidden];
    let weight = recurrent_weight_gradient(
        hiddens,
        saved.initial_hidden,
        &gates,
        dims,
        4 * hidden,
        lengths,
    );
    let initial_cell = output_gradient.split_off(time * batch * hidden);
    (gates, initial_hidden, initial_cell, weight)
}

/// BPTT with the batch rows shared between the cores: writes the gates' gradients over `gates`
/// and `∂L/∂c(0)` into the last block of `output_gradient`; returns `∂L/∂h(0)`.
fn backward_by_rows<E: Real>(
    gates: &mut [E],
    saved: &Saved<'_, E>,
    output_gradient: &mut [E],
    dims: RecurrenceShape,
    lengths: RowLengths<'_>,
) -> Vec<E> {
    let (time, batch, hidden) = (dims.time, dims.batch, dims.hidden);
    let mut initial_hidden = vec![E::zero(); batch * hidden];
    let ranges = row_ranges(batch);
    let first = RecurrenceShape { time: 1, ..dims };
    let gate_blocks = blocks_per_range(gates, gate_dims(dims), &ranges);
    let (hidden_gradient, final_cell) = output_gradient.split_at_mut(time * batch * hidden);
    let hidden_blocks = blocks_per_range(hidden_gradient, dims, &ranges);
    // δc travels in the last block: ∂L/∂c(τ) to start with, ∂L/∂c(0) at the end.
    let cell_blocks = blocks_per_range(final_cell, first, &ranges);
    let first_hidden = blocks_per_range(&mut initial_hidden, first, &ranges);
    let turned = turned_weight(
        saved.weight,
        &ranges,
        [hidden, 4 * hidden],
        RowProduct::Direct,
    );
    ranges
        .par_iter()
        .zip(gate_blocks)
        .zip(hidden_blocks.into_par_iter().zip(cell_blocks))
        .zip(first_hidden)
        .for_each(|(((range, mut deltas), (mut dh, mut dc)), mut first_h)| {
            let dc = &mut *dc[0];
            let rows = range.len();
            let mut tanh_cell = vec![E::zero(); hidden];
            let weights = [saved.weight, turned.as_slice()];
            let mut back = StepProduct::new(weights, [hidden, 4 * hidden, rows], true);
            for t in (0..time).rev() {
                let (before_h, rest_h) = dh.split_at_mut(t);
                let target_h = if t == 0 {
                    &mut *first_h[0]
                } else {
                    &mut *before_h[t - 1]
                };
                let dh = &*rest_h[0];
                let delta = &mut *deltas[t];
                let cell = block(saved.cells, dims, t, range);
                let previous_cell = if t == 0 {
                    rows_of(saved.initial_cell, range, hidden)
                } else {
                    block(saved.cells, dims, t - 1, range)
                };
                let running = lengths.running_prefix(range, t);
                for row in 0..range.len() {
                    let cells = row * hidden..(row + 1) * hidden;
                    let delta = &mut delta[row * 4 * hidden..(row + 1) * 4 * hidden];
                    if row >= running || lengths.stopped(range.start + row, t) {
                        // δc passes on unchanged; δa is zero.
                        add_assign(&mut target_h[cells], &dh[row * hidden..(row + 1) * hidden]);
                        delta.fill(E::zero());
                        continue;
                    }
                    tanh_cell.copy_from_slice(&cell[cells.clone()]);
                    E::tanh_in_place(&mut tanh_cell);
                    let (dh, dc) = (&dh[cells.clone()], &mut dc[cells.clone()]);
                    let previous_cell = &previous_cell[cells];
                    let one = E::one();
                    for j in 0..hidden {
                        let (i, f) = (delta[j], delta[hidden + j]);
                        let (g, o) = (delta[2 * hidden + j], delta[3 * hidden + j]);
                        let tc = tanh_cell[j];
                        let d_cell = dc[j] + dh[j] * o * (one - tc * tc);
                        delta[j] = d_cell * g * i * (one - i);
                        delta[hidden + j] = d_cell * previous_cell[j] * f * (one - f);
                        delta[2 * hidden + j] = d_cell * i * (one - g * g);
                        delta[3 * hidden + j] = dh[j] * tc * o * (one - o);
                        dc[j] = d_cell * f;
                    }
                }
                back.add_back(target_h, delta, running);
            }
        });
    initial_hidden
}

/// BPTT with the hidden units, not the batch rows, shared between `threads` threads: each
/// computes the four gates' gradients of its units for every row, writes them transposed for the
/// step's product, and after the barrier adds `δa · W_hh` for its units. Writes and returns as
/// [`backward_by_rows`].
fn backward_by_units<E: Real>(
    gates: &mut [E],
    saved: &Saved<'_, E>,
    output_gradient: &mut [E],
    dims: RecurrenceShape,
    lengths: RowLengths<'_>,
    threads: usize,
) -> Vec<E> {
    let (time, batch, hidden) = (dims.time, dims.batch, dims.hidden);
    let mut initial_hidden = vec![E::zero(); batch * hidden];
    // δaᵀ of a step, `[4H, batch]`, two in turn: a step writes one while the others may still
    // read the other.
    let mut transposed = vec![E::zero(); 2 * 4 * hidden * batch];
    let gate_buffer = SharedBuffer::new(gates);
    let gradient_buffer = SharedBuffer::new(output_gradient);
    let first_buffer = SharedBuffer::new(&mut initial_hidden);
    let transposed_buffer = SharedBuffer::new(&mut transposed);
    by_units(threads, hidden, |units, barrier| {
        let width = units.len();
        // The thread's rows of `W_hh` as stored, `[width, 4H]`: its units' weights to every gate.
        let own_weight = &saved.weight[units.start * 4 * hidden..units.end * 4 * hidden];
        let own_weight = Operand::new(own_weight, width, 4 * hidden);
        let mut own_delta = vec![E::zero(); batch * width];
        let mut product = vec![E::zero(); width * batch];
        let mut product_rows = vec![E::zero(); batch * width];
        let mut tanh_cell = vec![E::zero(); width];
        let one = E::one();
        // SAFETY (every `slice` and `view` below): the places are this thread's units of a row,
        // which no other thread reads or writes, or a half of `transposed` read only after the
        // barrier that follows its writing.
        let own = |row_start: usize| row_start + units.start..row_start + units.end;
        let target = |t: usize, row: usize| unsafe {
            if t == 0 {
                first_buffer.slice(own(row * hidden))
            } else {
                gradient_buffer.slice(own(((t - 1) * batch + row) * hidden))
            }
        };
        for t in (0..time).rev() {
            let half = (t % 2) * 4 * hidden * batch;
            let running = lengths.running_prefix(&(0..batch), t);
            for row in 0..batch {
                let at = (t * batch + row) * hidden;
                let dh = unsafe { gradient_buffer.view(own(at)) };
                let delta = |g: usize| unsafe {
                    let first = (t * batch + row) * 4 * hidden + g * hidden;
                    gate_buffer.slice(own(first))
                };
                if row >= running || lengths.stopped(row, t) {
                    // δc passes on unchanged; δa is zero.
                    add_assign(target(t, row), dh);
                    (0..4).for_each(|g| delta(g).fill(E::zero()));
                    continue;
                }
                let dc = unsafe { gradient_buffer.slice(own((time * batch + row) * hidden)) };
                tanh_cell.copy_from_slice(&saved.cells[own(at)]);
                E::tanh_in_place(&mut tanh_cell);
                let previous_cell = if t == 0 {
                    &saved.initial_cell[own(row * hidden)]
                } else {
                    &saved.cells[own(at - batch * hidden)]
                };
                let (i, f, g, o) = (delta(0), delta(1), delta(2), delta(3));
                // Slices of one known length, so that the loop runs without bounds checks.
                let (i, f, g, o) = (
                    &mut i[..width],
                    &mut f[..width],
                    &mut g[..width],
                    &mut o[..width],
                );
                let (dh, dc) = (&dh[..width], &mut dc[..width]);
                let (tanh_cell, previous_cell) = (&tanh_cell[..width], &previous_cell[..width]);
                for j in 0..width {
                    let tc = tanh_cell[j];
                    let d_cell = dc[j] + dh[j] * o[j] * (one - tc * tc);
                    let (input, forget, cell, out) = (i[j], f[j], g[j], o[j]);
                    i[j] = d_cell * cell * input * (one - input);
                    f[j] = d_cell * previous_cell[j] * forget * (one - forget);
                    g[j] = d_cell * input * (one - cell * cell);
                    o[j] = dh[j] * tc * out * (one - out);
                    dc[j] = d_cell * forget;
                }
            }
            for g in 0..4 {
                for row in 0..running {
                    let first = (t * batch + row) * 4 * hidden + g * hidden;
                    let delta = unsafe { gate_buffer.view(own(first)) };
                    own_delta[row * width..(row + 1) * width].copy_from_slice(delta);
                }
                let rows = half + (g * hidden + units.start) * batch;
                let rows = unsafe { transposed_buffer.slice(rows..rows + width * batch) };
                transpose_into(rows, batch, &own_delta[..running * width], width);
            }
            barrier.wait();
            if running == 0 {
                continue;
            }
            let all = unsafe { transposed_buffer.view(half..half + 4 * hidden * batch) };
            matmul_strided(
                &mut product,
                batch,
                Write::Overwrite,
                own_weight,
                Operand::strided(all, 4 * hidden, running, batch),
                Threads::One,
            );
            transpose_into(&mut product_rows, width, &product, batch);
            for row in 0..running {
                add_assign(
                    target(t, row),
                    &product_rows[row * width..(row + 1) * width],
                );
            }
        }
    });
    initial_hidden
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::fused::recurrence::kernel::{few_rows, many_rows_on_one_thread};

    use crate::fused::test_values::{assert_finite_differences, deterministic as values, sigmoid};

    /// The LSTM written per row and element, no products, no threads: `[2 · time, batch, H]`.
    fn naive_forward(
        p: &[f64],
        h0: &[f64],
        c0: &[f64],
        w: &[f64],
        d: RecurrenceShape,
        lengths: Option<&[usize]>,
    ) -> Vec<f64> {
        let (n, hidden) = (d.time * d.batch * d.hidden, d.hidden);
        let mut out = vec![0.0; 2 * n];
        for t in 0..d.time {
            for b in 0..d.batch {
                let at = |t: usize, j: usize| (t * d.batch + b) * hidden + j;
                let previous = |out: &[f64], j: usize, cell: bool| match (t, cell) {
                    (0, false) => h0[b * hidden + j],
                    (0, true) => c0[b * hidden + j],
                    (_, false) => out[at(t - 1, j)],
                    (_, true) => out[n + at(t - 1, j)],
                };
                for j in 0..hidden {
                    let (h, c) = if lengths.is_some_and(|l| l[b] <= t) {
                        (previous(&out, j, false), previous(&out, j, true))
                    } else {
                        let a = |k: usize| {
                            let mut a = p[(t * d.batch + b) * 4 * hidden + k * hidden + j];
                            for i in 0..hidden {
                                a += previous(&out, i, false) * w[i * 4 * hidden + k * hidden + j];
                            }
                            a
                        };
                        let c =
                            sigmoid(a(1)) * previous(&out, j, true) + sigmoid(a(0)) * a(2).tanh();
                        (sigmoid(a(3)) * c.tanh(), c)
                    };
                    out[at(t, j)] = h;
                    out[n + at(t, j)] = c;
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
        let p = values(4 * n, 1);
        let h0 = values(dims.batch * dims.hidden, 2);
        let c0 = values(dims.batch * dims.hidden, 3);
        let w: Vec<f64> = values(4 * dims.hidden * dims.hidden, 4)
            .iter()
            .map(|x| x * 0.7)
            .collect();
        let (gates, output, cells) = forward(p.clone(), &h0, &c0, &w, dims, RowLengths(lengths));
        let expected = naive_forward(&p, &h0, &c0, &w, dims, lengths);
        let block = dims.batch * dims.hidden;
        for (a, b) in output
            .iter()
            .zip(&expected[..n])
            .chain(cells.iter().zip(&expected[n..]))
        {
            assert!((a - b).abs() < 1e-12, "{lengths:?}: {a} vs {b}");
        }
        for (a, b) in output[n..].iter().zip(&expected[2 * n - block..]) {
            assert!(
                (a - b).abs() < 1e-12,
                "{lengths:?}: c(τ) in the output, {a} vs {b}"
            );
        }
        // Shared by units instead of rows: the same gates, states and cells.
        for threads in (2..=3).filter(|&threads| threads <= dims.hidden) {
            let initial = (h0.as_slice(), c0.as_slice());
            let by_units =
                forward_by_units(p.clone(), initial, &w, dims, RowLengths(lengths), threads);
            for (name, a, b) in [
                ("gates", &by_units.0, &gates),
                ("output", &by_units.1, &output),
                ("cells", &by_units.2, &cells),
            ] {
                for (a, b) in a.iter().zip(b) {
                    let what = format!("{threads} threads, {lengths:?}: {name}");
                    assert!((a - b).abs() < 1e-12, "{what}: {a} vs {b}");
                }
            }
        }
        // L = Σ weights ⊙ (h(1) … h(τ), c(τ)): every gradient against central differences.
        let weights = values(n + block, 5);
        let loss = |p: &[f64], h0: &[f64], c0: &[f64], w: &[f64]| -> f64 {
            let states = naive_forward(p, h0, c0, w, dims, lengths);
            let kept = states[..n].iter().chain(&states[2 * n - block..]);
            kept.zip(&weights).map(|(s, c)| s * c).sum()
        };
        let saved = Saved {
            hiddens: &output,
            cells: &cells,
            initial_hidden: &h0,
            initial_cell: &c0,
            weight: &w,
        };
        let rows = backward(
            gates.clone(),
            saved,
            weights.clone(),
            dims,
            RowLengths(lengths),
        );
        // Shared by units instead of rows: the same gradients.
        for threads in (2..=3).filter(|&threads| threads <= dims.hidden) {
            let saved = Saved {
                hiddens: &output,
                cells: &cells,
                initial_hidden: &h0,
                initial_cell: &c0,
                weight: &w,
            };
            let (mut unit_gates, mut gradient) = (gates.clone(), weights.clone());
            let lengths = RowLengths(lengths);
            let first = backward_by_units(
                &mut unit_gates,
                &saved,
                &mut gradient,
                dims,
                lengths,
                threads,
            );
            let weight = recurrent_weight_gradient(
                &output[..n],
                &h0,
                &unit_gates,
                dims,
                4 * dims.hidden,
                lengths,
            );
            let by_units = (unit_gates, first, gradient.split_off(n), weight);
            for (name, a, b) in [
                ("projected", &by_units.0, &rows.0),
                ("h(0)", &by_units.1, &rows.1),
                ("c(0)", &by_units.2, &rows.2),
                ("W_hh", &by_units.3, &rows.3),
            ] {
                for (a, b) in a.iter().zip(b) {
                    let what = format!("{threads} threads, {:?}: ∂L/∂{name}", lengths.0);
                    assert!((a - b).abs() < 1e-12, "{what}: {a} vs {b}");
                }
            }
        }
        let (dp, dh0, dc0, dw) = rows;
        assert_finite_differences(
            &format!("{lengths:?}"),
            &[p.clone(), h0.clone(), c0.clone(), w.clone()],
            &[dp, dh0, dc0, dw],
            |inputs| loss(&inputs[0], &inputs[1], &inputs[2], &inputs[3]),
        );
    }
}
