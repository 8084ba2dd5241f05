//! The tanh recurrence and its BPTT on host memory.
//!
//! Rows of a batch never interact in `h(t) = tanh(p(t) + h(t-1) · W)`, nor in the backward
//! recursion, so the batch is cut into one block of rows per core and each core runs the
//! whole time loop on its block, with no synchronisation between steps. The one product that
//! mixes rows, `∂L/∂W = Σ_t h(t-1)ᵀ δa(t)`, runs afterwards over all steps at once on every core.
//!
//! Buffers are time-major, `[time, batch, d_hidden]`, row-major.
//!
//! Sequences of different lengths share a batch: a row past its own length carries its state
//! through unchanged (forward) and its gradient through unchanged (backward), so each row gives
//! exactly what it gives alone. A core multiplies only its rows up to the last one still running
//! at step `t`: with rows sorted longest first (as length-bucketed batches are) padding costs no
//! product at all.

use std::ops::Range;

use rayon::prelude::*;

use crate::fused::host::math::{Real, add_assign, tanh_slope};
use crate::fused::host::matmul::{
    Operand, Threads, Write, matmul, matmul_strided, product, transpose, transpose_into,
};

/// Fewest rows worth a core of their own: below this the per-step products are too small to
/// pay for the split.
const MIN_ROWS_PER_CORE: usize = 4;

/// Sizes of a recurrence: `[time, batch, d_hidden]`.
#[derive(Clone, Copy, Debug)]
pub struct RecurrenceShape {
    /// Steps τ.
    pub time: usize,
    /// Sequences.
    pub batch: usize,
    /// Width of `h(t)`.
    pub hidden: usize,
}

impl RecurrenceShape {
    /// The sizes of a recurrence whose values per step and row are `blocks` blocks of `hidden`
    /// (1 for the states, 3 for the GRU's projected inputs, 4 for the LSTM's gates), from their
    /// shape `[time, batch, blocks · hidden]`.
    pub(crate) fn of_blocks(shape: &burn::tensor::Shape, blocks: usize) -> Self {
        let [time, batch, width] = shape.dims();
        RecurrenceShape {
            time,
            batch,
            hidden: width / blocks,
        }
    }

    /// `(time, batch, hidden)`.
    pub fn sizes(self) -> (usize, usize, usize) {
        (self.time, self.batch, self.hidden)
    }
}

/// Balanced ranges of batch rows, one per core that gets work.
pub(crate) fn row_ranges(batch: usize) -> Vec<Range<usize>> {
    let cores = rayon::current_num_threads()
        .min(batch / MIN_ROWS_PER_CORE)
        .max(1);
    (0..cores)
        .map(|c| c * batch / cores..(c + 1) * batch / cores)
        .collect()
}

/// Cuts a `[time, batch, hidden]` buffer into, per row range, its `time` blocks of
/// `[rows, hidden]`: disjoint mutable borrows each core can own.
pub(crate) fn blocks_per_range<'a, E>(
    buffer: &'a mut [E],
    dims: RecurrenceShape,
    ranges: &[Range<usize>],
) -> Vec<Vec<&'a mut [E]>> {
    let mut per_range: Vec<Vec<&'a mut [E]>> = ranges
        .iter()
        .map(|_| Vec::with_capacity(dims.time))
        .collect();
    for step in buffer.chunks_mut(dims.batch * dims.hidden) {
        let mut rest = step;
        for (blocks, range) in per_range.iter_mut().zip(ranges) {
            let (block, tail) = std::mem::take(&mut rest).split_at_mut(range.len() * dims.hidden);
            blocks.push(block);
            rest = tail;
        }
    }
    per_range
}

/// The `[rows, hidden]` block of step `t` and rows `range` in a `[time, batch, hidden]` buffer.
pub(crate) fn block<'a, E>(
    buffer: &'a [E],
    dims: RecurrenceShape,
    t: usize,
    range: &Range<usize>,
) -> &'a [E] {
    let start = (t * dims.batch + range.start) * dims.hidden;
    &buffer[start..start + range.len() * dims.hidden]
}

/// Each row's number of real steps, or `None` when every row runs all `time` steps.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowLengths<'a>(pub Option<&'a [usize]>);

impl RowLengths<'_> {
    /// Whether row `row` has stopped before step `t` (0-based).
    pub(crate) fn stopped(&self, row: usize, t: usize) -> bool {
        self.0.is_some_and(|lengths| lengths[row] <= t)
    }

    /// How many rows of `range`, from its start, a product at step `t` must cover: up to the
    /// last row still running.
    pub(crate) fn running_prefix(&self, range: &Range<usize>, t: usize) -> usize {
        match self.0 {
            None => range.len(),
            Some(lengths) => lengths[range.clone()]
                .iter()
                .rposition(|&length| length > t)
                .map_or(0, |last| last + 1),
        }
    }

    /// Checks the lengths against the shape: one per row, each in `1..=time`.
    pub(crate) fn check(&self, dims: RecurrenceShape) {
        if let Some(lengths) = self.0 {
            assert_eq!(lengths.len(), dims.batch, "one length per row");
            assert!(
                lengths.iter().all(|&l| (1..=dims.time).contains(&l)),
                "lengths in 1..={}",
                dims.time
            );
        }
    }
}

/// `h(1) … h(τ)` from `p(1) … p(τ)` (`projected`, `[time, batch, hidden]`, reused as the output
/// buffer), `h(0)` (`[batch, hidden]`) and `W` (`[hidden, hidden]`); a row past its length keeps
/// its last state.
pub(crate) fn forward<E: Real>(
    projected: Vec<E>,
    initial: &[E],
    weight: &[E],
    dims: RecurrenceShape,
    lengths: RowLengths<'_>,
) -> Vec<E> {
    let RecurrenceShape { batch, hidden, .. } = dims;
    assert_eq!(
        projected.len(),
        dims.time * batch * hidden,
        "projected shape"
    );
    assert_eq!(initial.len(), batch * hidden, "initial shape");
    lengths.check(dims);
    let weight = Operand::new(weight, hidden, hidden);
    let mut states = projected;
    let ranges = row_ranges(batch);
    let blocks = blocks_per_range(&mut states, dims, &ranges);
    ranges
        .par_iter()
        .zip(blocks)
        .for_each(|(range, mut blocks)| {
            let rows = range.len();
            let first = &initial[range.start * hidden..range.end * hidden];
            for t in 0..blocks.len() {
                let (done, rest) = blocks.split_at_mut(t);
                let previous: &[E] = if t == 0 { first } else { done[t - 1] };
                let current = &mut *rest[0];
                // current holds p(t); add h(t-1) · W, then squash.
                let running = lengths.running_prefix(range, t) * hidden;
                if running > 0 {
                    matmul(
                        &mut current[..running],
                        Write::Accumulate,
                        Operand::new(&previous[..running], running / hidden, hidden),
                        weight,
                        Threads::One,
                    );
                    E::tanh_in_place(&mut current[..running]);
                }
                for row in 0..rows {
                    if lengths.stopped(range.start + row, t) {
                        let cells = row * hidden..(row + 1) * hidden;
                        current[cells.clone()].copy_from_slice(&previous[cells]);
                    }
                }
            }
        });
    states
}

/// The gradients of the recurrence, by the textbook's BPTT recursion.
///
/// - `states`: `h(1) … h(τ)` from [`forward`]; `initial`: `h(0)`; `weight`: `W`.
/// - `output_gradient`: `∂L/∂h(t)` for every step, `[time, batch, hidden]`, reused as the buffer
///   of `δa(t)`.
///
/// - `lengths`: as given to [`forward`]; a row past its length passes its gradient on to the
///   step before unchanged, and its `δa(t)` is zero.
///
/// Returns `(∂L/∂p = δa, ∂L/∂h(0), ∂L/∂W)`.
pub(crate) fn backward<E: Real>(
    states: &[E],
    initial: &[E],
    weight: &[E],
    output_gradient: Vec<E>,
    dims: RecurrenceShape,
    lengths: RowLengths<'_>,
) -> (Vec<E>, Vec<E>, Vec<E>) {
    let (time, batch, hidden) = dims.sizes();
    assert_eq!(states.len(), time * batch * hidden, "states shape");
    assert_eq!(output_gradient.len(), states.len(), "gradient shape");
    lengths.check(dims);
    let weight_transposed = transpose(weight, hidden, hidden);
    let weight_transposed = Operand::new(&weight_transposed, hidden, hidden);
    let mut delta = output_gradient;
    let mut initial_gradient = vec![E::zero(); batch * hidden];
    let ranges = row_ranges(batch);
    let blocks = blocks_per_range(&mut delta, dims, &ranges);
    let initial_blocks = blocks_per_range(
        &mut initial_gradient,
        RecurrenceShape { time: 1, ..dims },
        &ranges,
    );
    ranges.par_iter().zip(blocks).zip(initial_blocks).for_each(
        |((range, mut blocks), mut first)| {
            let rows = range.len();
            for t in (0..time).rev() {
                let (before, rest) = blocks.split_at_mut(t);
                // rest[0] holds ∂L/∂h(t) in total (its own loss and, already added, the
                // future's δa(t+1) · Wᵀ); times tanh's slope it is δa(t).
                let current = &mut *rest[0];
                let (target, write) = if t == 0 {
                    (&mut *first[0], Write::Overwrite)
                } else {
                    (&mut *before[t - 1], Write::Accumulate)
                };
                // A stopped row (never at t = 0: every length is at least 1) hands its gradient
                // to h(t-1) as it is; its δa(t) is zero.
                for row in 0..rows {
                    if lengths.stopped(range.start + row, t) {
                        let cells = row * hidden..(row + 1) * hidden;
                        add_assign(&mut target[cells.clone()], &current[cells.clone()]);
                        current[cells].fill(E::zero());
                    }
                }
                let running = lengths.running_prefix(range, t) * hidden;
                if running > 0 {
                    tanh_slope(
                        &mut current[..running],
                        &block(states, dims, t, range)[..running],
                    );
                    matmul(
                        &mut target[..running],
                        write,
                        Operand::new(&current[..running], running / hidden, hidden),
                        weight_transposed,
                        Threads::One,
                    );
                }
            }
        },
    );
    let weight_gradient = recurrent_weight_gradient(states, initial, &delta, dims, hidden, lengths);
    (delta, initial_gradient, weight_gradient)
}

/// The gradient of a recurrent weight, `Σ_t h(t-1)ᵀ δ(t)`, `[hidden, width]`: `states` are
/// `h(1) … h(τ)` (`[time, batch, hidden]`), `initial` is `h(0)`, `delta` the gradients of the
/// products `h(t-1) · W` (`[time, batch, width]`: the tanh recurrence's `δa`, a gated cell's
/// gate gradients). Over a padded batch only the steps each row really ran count.
pub(crate) fn recurrent_weight_gradient<E: Real>(
    states: &[E],
    initial: &[E],
    delta: &[E],
    dims: RecurrenceShape,
    width: usize,
    lengths: RowLengths<'_>,
) -> Vec<E> {
    match lengths.0 {
        None => weight_gradient(states, initial, delta, dims, width),
        Some(lengths) => packed_weight_gradient(states, initial, delta, dims, width, lengths),
    }
}

/// How a core lays out a step's recurrent product over its rows. The `gemm` crate runs an
/// output of few rows with its narrowest micro-kernel (16 rows at a time): with the rows as the
/// product's narrow side and its output turned back afterwards, 32 or 64 rows a core run
/// fastest; 16 rows or fewer run 1.3–3x faster as the plain row-major product, straight into
/// the rows (`gemm` alone on one core of this project's AVX-512 host, H 64–384, BENCHMARKS.md);
/// at H 512 the weight no longer stays in cache and the transposed layout wins again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RowProduct {
    /// `W_hhᵀ · h(t-1)ᵀ` (`[gates, H] · [H, rows]`), then turned back to rows.
    Transposed,
    /// `h(t-1) · W_hh` (`[rows, H] · [H, gates]`), written into the rows.
    Direct,
}

impl RowProduct {
    /// The most rows a core runs with [`RowProduct::Direct`].
    const DIRECT_ROWS: usize = 16;
    /// The most hidden units for [`RowProduct::Direct`].
    const DIRECT_HIDDEN: usize = 384;

    /// The faster layout for a core's `rows` rows of `hidden` units.
    pub(crate) fn for_rows(rows: usize, hidden: usize) -> Self {
        if rows <= Self::DIRECT_ROWS && hidden <= Self::DIRECT_HIDDEN {
            RowProduct::Direct
        } else {
            RowProduct::Transposed
        }
    }
}

/// `W_hh` turned, `[width, H]`, when a core of `ranges` runs its products laid out as `layout`
/// (the forward pass's [`RowProduct::Transposed`] reads it as `W_hhᵀ`, BPTT's
/// [`RowProduct::Direct`] as the right side of `δa · W_hhᵀ`), else empty: turned once for every
/// core.
pub(crate) fn turned_weight<E: Real>(
    weight: &[E],
    ranges: &[Range<usize>],
    [hidden, width]: [usize; 2],
    layout: RowProduct,
) -> Vec<E> {
    if ranges
        .iter()
        .any(|range| RowProduct::for_rows(range.len(), hidden) == layout)
    {
        transpose(&weight[..hidden * width], hidden, width)
    } else {
        Vec::new()
    }
}

/// A core's recurrent products over its rows, laid out by [`RowProduct`]: a forward step's
/// `h(t-1) · W_hh` ([`StepProduct::of`]) or BPTT's `∂L/∂h(t-1) += δa(t) · W_hhᵀ`
/// ([`StepProduct::add_back`]).
pub(crate) struct StepProduct<'a, E> {
    /// `[H, width, rows]`: hidden units, gate pre-activations, the core's rows.
    sizes: [usize; 3],
    layout: RowProduct,
    /// `W_hh` as stored, `[H, width]` (`W_hhᵀ` in PyTorch's terms).
    weight: &'a [E],
    /// [`turned_weight`] for the pass's layout: `[width, H]`, read by the forward pass's
    /// [`RowProduct::Transposed`] and BPTT's [`RowProduct::Direct`].
    turned_weight: &'a [E],
    /// [`RowProduct::Transposed`]: the rows' input turned, `h(t-1)ᵀ` or `δaᵀ`.
    input_transposed: Vec<E>,
    /// [`RowProduct::Transposed`]: the product, `[width or H, rows]`.
    product: Vec<E>,
    /// The product as rows: the forward step's result, or BPTT's turned back.
    product_rows: Vec<E>,
}

impl<'a, E: Real> StepProduct<'a, E> {
    /// For `rows` rows of `hidden` units and `width` gate pre-activations, with `weight` as
    /// stored (`[H, width]`) and as [`turned_weight`] turned it for the pass at hand (`backward`:
    /// BPTT, else the forward pass).
    pub(crate) fn new(
        [weight, turned_weight]: [&'a [E]; 2],
        [hidden, width, rows]: [usize; 3],
        backward: bool,
    ) -> Self {
        let layout = RowProduct::for_rows(rows, hidden);
        let scratch = if layout == RowProduct::Direct {
            0
        } else {
            rows
        };
        let (input, output) = if backward {
            (width, hidden)
        } else {
            (hidden, width)
        };
        let product_rows = if backward { scratch } else { rows };
        StepProduct {
            sizes: [hidden, width, rows],
            layout,
            weight,
            turned_weight,
            input_transposed: vec![E::zero(); input * scratch],
            product: vec![E::zero(); output * scratch],
            product_rows: vec![E::zero(); product_rows * output],
        }
    }

    /// `h(t-1) · W_hh` for the first `running` rows of `previous` (`h(t-1)`, `[rows, H]`), as
    /// rows `[rows, width]`; the rows from `running` on are left as they were.
    pub(crate) fn of(&mut self, previous: &[E], running: usize) -> &[E] {
        let [hidden, width, rows] = self.sizes;
        if running > 0 && self.layout == RowProduct::Direct {
            matmul(
                &mut self.product_rows[..running * width],
                Write::Overwrite,
                Operand::new(&previous[..running * hidden], running, hidden),
                Operand::new(self.weight, hidden, width),
                Threads::One,
            );
        } else if running > 0 {
            let turned = Operand::new(self.turned_weight, width, hidden);
            self.transposed(turned, &previous[..rows * hidden], [hidden, width], running);
        }
        &self.product_rows
    }

    /// Adds `δa · W_hhᵀ` into `target` (`[rows, H]`) for the first `running` rows of `delta`
    /// (`[rows, width]`).
    pub(crate) fn add_back(&mut self, target: &mut [E], delta: &[E], running: usize) {
        let [hidden, width, _] = self.sizes;
        if running > 0 && self.layout == RowProduct::Direct {
            matmul(
                &mut target[..running * hidden],
                Write::Accumulate,
                Operand::new(&delta[..running * width], running, width),
                Operand::new(self.turned_weight, width, hidden),
                Threads::One,
            );
        } else if running > 0 {
            let weight = Operand::new(self.weight, hidden, width);
            self.transposed(weight, &delta[..running * width], [width, hidden], running);
            add_assign(
                &mut target[..running * hidden],
                &self.product_rows[..running * hidden],
            );
        }
    }

    /// The transposed layout: `weight · inputᵀ` (`weight` `[n, k]`, `input` `[rows, k]`, its
    /// first `running` rows read), turned back into `product_rows` as `[rows, n]`.
    fn transposed(
        &mut self,
        weight: Operand<'_, E>,
        input: &[E],
        [k, n]: [usize; 2],
        running: usize,
    ) {
        let rows = self.sizes[2];
        transpose_into(&mut self.input_transposed, rows, input, k);
        matmul_strided(
            &mut self.product,
            rows,
            Write::Overwrite,
            weight,
            Operand::strided(&self.input_transposed, k, running, rows),
            Threads::One,
        );
        transpose_into(&mut self.product_rows, n, &self.product, rows);
    }
}

/// Runs a gated kernel test's `check` on few rows (where the products take
/// [`RowProduct::Direct`]): rows all of one length, rows of lengths of their own, and one row
/// of one step.
#[cfg(test)]
pub(crate) fn few_rows(check: impl Fn(RecurrenceShape, Option<&[usize]>)) {
    let shape = |time, batch, hidden| RecurrenceShape {
        time,
        batch,
        hidden,
    };
    check(shape(4, 9, 3), None);
    check(shape(5, 8, 2), Some(&[5, 1, 3, 5, 2, 4, 5, 1]));
    check(shape(1, 1, 5), None);
}

/// Runs a kernel test's `check` with 40 rows (of lengths of their own) on one thread, where
/// the products take [`RowProduct::Transposed`]; tests of a few rows take
/// [`RowProduct::Direct`].
#[cfg(test)]
pub(crate) fn many_rows_on_one_thread(check: impl Fn(RecurrenceShape, Option<&[usize]>) + Sync) {
    let dims = RecurrenceShape {
        time: 3,
        batch: 40,
        hidden: 3,
    };
    assert_eq!(RowProduct::for_rows(40, 3), RowProduct::Transposed);
    assert_eq!(RowProduct::for_rows(9, 3), RowProduct::Direct);
    let lengths: Vec<usize> = (0..40).map(|row| 1 + (row * 7) % 3).collect();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a thread pool");
    one.install(|| check(dims, Some(&lengths)));
}

/// `∂L/∂W = h(0)ᵀ δ(1) + [h(1) … h(τ-1)]ᵀ [δ(2) … δ(τ)]`: two products over all rows.
fn weight_gradient<E: Real>(
    states: &[E],
    initial: &[E],
    delta: &[E],
    dims: RecurrenceShape,
    width: usize,
) -> Vec<E> {
    let (time, batch, hidden) = dims.sizes();
    let step = batch * width;
    let mut weight_gradient = product(
        Operand::new(initial, batch, hidden).t(),
        Operand::new(&delta[..step], batch, width),
        Threads::All,
    );
    if time > 1 {
        let rows = (time - 1) * batch;
        matmul(
            &mut weight_gradient,
            Write::Accumulate,
            Operand::new(&states[..rows * hidden], rows, hidden).t(),
            Operand::new(&delta[step..], rows, width),
            Threads::All,
        );
    }
    weight_gradient
}

/// `∂L/∂W = Σ_t h(t-1)ᵀ δ(t)` over the steps each row really ran: those rows of `h(t-1)` and
/// `δ(t)` are packed (as `pack_padded_sequence` packs them) and multiplied once, so padding
/// costs no product (its `δ` is zero).
fn packed_weight_gradient<E: Real>(
    states: &[E],
    initial: &[E],
    delta: &[E],
    dims: RecurrenceShape,
    width: usize,
    lengths: &[usize],
) -> Vec<E> {
    let RecurrenceShape { batch, hidden, .. } = dims;
    let running: usize = lengths.iter().sum();
    let mut previous = Vec::with_capacity(running * hidden);
    let mut deltas = Vec::with_capacity(running * width);
    for t in 0..dims.time {
        for (row, _) in lengths.iter().enumerate().filter(|(_, l)| **l > t) {
            let cells =
                |t: usize, width: usize| (t * batch + row) * width..(t * batch + row + 1) * width;
            previous.extend_from_slice(match t {
                0 => &initial[row * hidden..(row + 1) * hidden],
                _ => &states[cells(t - 1, hidden)],
            });
            deltas.extend_from_slice(&delta[cells(t, width)]);
        }
    }
    product(
        Operand::new(&previous, running, hidden).t(),
        Operand::new(&deltas, running, width),
        Threads::All,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fused::test_values::{assert_finite_differences, deterministic as values};

    /// The recursion written per row and element, no products, no threads; a row past its
    /// length copies its previous state.
    fn naive_forward(
        p: &[f64],
        h0: &[f64],
        w: &[f64],
        d: RecurrenceShape,
        lengths: Option<&[usize]>,
    ) -> Vec<f64> {
        let mut out = vec![0.0; p.len()];
        for t in 0..d.time {
            for b in 0..d.batch {
                for j in 0..d.hidden {
                    let previous = |i: usize| {
                        if t == 0 {
                            h0[b * d.hidden + i]
                        } else {
                            out[((t - 1) * d.batch + b) * d.hidden + i]
                        }
                    };
                    let value = if lengths.is_some_and(|l| l[b] <= t) {
                        previous(j)
                    } else {
                        let mut a = p[(t * d.batch + b) * d.hidden + j];
                        for i in 0..d.hidden {
                            a += previous(i) * w[i * d.hidden + j];
                        }
                        a.tanh()
                    };
                    out[(t * d.batch + b) * d.hidden + j] = value;
                }
            }
        }
        out
    }

    /// Lengths of every kind for `batch` rows of `time` steps: none, sorted longest first,
    /// and shuffled with a stopped row between running ones.
    fn length_cases(time: usize, batch: usize) -> Vec<Option<Vec<usize>>> {
        let sorted: Vec<usize> = (0..batch).map(|b| time - b * (time - 1) / batch).collect();
        let shuffled: Vec<usize> = (0..batch).map(|b| 1 + (b * 7 + 3) % time).collect();
        vec![None, Some(sorted), Some(shuffled)]
    }

    #[test]
    fn forward_and_backward_match_the_recursion_on_odd_sizes() {
        // Batch 9 is cut into uneven blocks; sizes below the kernels' tile sizes and above.
        for dims in [
            RecurrenceShape {
                time: 5,
                batch: 9,
                hidden: 7,
            },
            RecurrenceShape {
                time: 1,
                batch: 1,
                hidden: 3,
            },
            RecurrenceShape {
                time: 3,
                batch: 16,
                hidden: 33,
            },
        ] {
            for lengths in length_cases(dims.time, dims.batch) {
                check_against_the_recursion(dims, lengths.as_deref());
            }
        }
    }

    fn check_against_the_recursion(dims: RecurrenceShape, lengths: Option<&[usize]>) {
        let n = dims.time * dims.batch * dims.hidden;
        let p = values(n, 1);
        let h0 = values(dims.batch * dims.hidden, 2);
        let w: Vec<f64> = values(dims.hidden * dims.hidden, 3)
            .iter()
            .map(|x| x * 0.5)
            .collect();
        let states = forward(p.clone(), &h0, &w, dims, RowLengths(lengths));
        let expected = naive_forward(&p, &h0, &w, dims, lengths);
        for (a, b) in states.iter().zip(&expected) {
            assert!((a - b).abs() < 1e-12, "{lengths:?}: {a} vs {b}");
        }
        // Loss L = Σ c ⊙ h(t): check every gradient against central differences.
        let c = values(n, 4);
        let loss = |p: &[f64], h0: &[f64], w: &[f64]| -> f64 {
            naive_forward(p, h0, w, dims, lengths)
                .iter()
                .zip(&c)
                .map(|(h, c)| h * c)
                .sum()
        };
        let (dp, dh0, dw) = backward(&states, &h0, &w, c.clone(), dims, RowLengths(lengths));
        assert_finite_differences(
            &format!("{lengths:?}"),
            &[p.clone(), h0.clone(), w.clone()],
            &[dp, dh0, dw],
            |inputs| loss(&inputs[0], &inputs[1], &inputs[2]),
        );
    }
}
