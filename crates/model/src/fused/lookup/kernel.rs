//! Row lookup on host memory: `out(n) = table(ids(n))`, and its backward, a scatter-add.

use rayon::prelude::*;

use crate::fused::host::math::{Real, add_assign};

/// Rows below which a lookup stays on the calling thread: a generation step looks up one row,
/// and waking the pool would cost more than the copy.
const PARALLEL_ROWS: usize = 256;

/// `out(n) = table(ids(n))`; `table` is `[vocab, width]`. Returns `[ids.len(), width]`, the
/// rows copied on every core when there are many.
///
/// # Panics
/// If an id is not below the table's row count (callers check ids against the vocabulary).
pub fn forward<E: Copy + Send + Sync>(table: &[E], ids: &[usize], width: usize) -> Vec<E> {
    let vocab = table.len() / width;
    let row = |id: usize| {
        assert!(id < vocab, "id {id} out of a table of {vocab} rows");
        &table[id * width..(id + 1) * width]
    };
    let mut out = Vec::with_capacity(ids.len() * width);
    if ids.len() < PARALLEL_ROWS {
        for &id in ids {
            out.extend_from_slice(row(id));
        }
        return out;
    }
    out.spare_capacity_mut()[..ids.len() * width]
        .par_chunks_mut(width)
        .with_min_len(PARALLEL_ROWS / 4)
        .zip(ids.par_iter())
        .for_each(|(out_row, &id)| {
            for (out, &value) in out_row.iter_mut().zip(row(id)) {
                out.write(value);
            }
        });
    // SAFETY: every one of the `ids.len() · width` elements was written just above (a panic
    // on a bad id leaves the length at zero).
    unsafe { out.set_len(ids.len() * width) };
    out
}

/// `∂L/∂table(v) = Σ_{n : ids(n) = v} ∂L/∂out(n)`; `rows_gradient` is `[ids.len(), width]`.
/// With many rows each core sums a block of the columns over every row, so every sum runs in
/// the same order as on one thread (the same values, whatever the thread count).
pub fn backward<E: Real>(ids: &[usize], rows_gradient: &[E], vocab: usize, width: usize) -> Vec<E> {
    let threads = rayon::current_num_threads().clamp(1, width);
    if ids.len() < PARALLEL_ROWS || threads == 1 {
        return column_block(ids, rows_gradient, vocab, (0, width), width);
    }
    let span = width.div_ceil(threads);
    let blocks: Vec<(usize, Vec<E>)> = (0..width)
        .step_by(span)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|first| {
            let columns = span.min(width - first);
            let block = column_block(ids, rows_gradient, vocab, (first, columns), width);
            (first, block)
        })
        .collect();
    let mut gradient = vec![E::zero(); vocab * width];
    for (first, block) in blocks {
        let columns = block.len() / vocab;
        for (v, part) in block.chunks_exact(columns).enumerate() {
            gradient[v * width + first..v * width + first + columns].copy_from_slice(part);
        }
    }
    gradient
}

/// The scatter-add of `columns` columns from `first` on, `[vocab, columns]`.
fn column_block<E: Real>(
    ids: &[usize],
    rows_gradient: &[E],
    vocab: usize,
    (first, columns): (usize, usize),
    width: usize,
) -> Vec<E> {
    let mut block = vec![E::zero(); vocab * columns];
    for (&id, row) in ids.iter().zip(rows_gradient.chunks_exact(width)) {
        add_assign(
            &mut block[id * columns..(id + 1) * columns],
            &row[first..first + columns],
        );
    }
    block
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_copies_rows_and_backward_sums_repeats() {
        let table = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(
            forward(&table, &[2, 0, 2], 2),
            [5.0, 6.0, 1.0, 2.0, 5.0, 6.0]
        );
        let gradient = backward(&[2, 0, 2], &[1.0f32, 1.0, 2.0, 2.0, 3.0, 3.0], 3, 2);
        assert_eq!(gradient, [2.0, 2.0, 0.0, 0.0, 4.0, 4.0]);
    }

    /// Enough rows to take the parallel paths: the same rows and the same sums as one row at a
    /// time, to the bit.
    #[test]
    fn many_rows_on_every_core_as_one_at_a_time() {
        let (vocab, width, rows) = (7, 37, 3 * PARALLEL_ROWS + 5);
        let table: Vec<f32> = (0..vocab * width).map(|k| (k as f32).sin()).collect();
        let ids: Vec<usize> = (0..rows).map(|n| (n * n + 3 * n) % vocab).collect();
        let expected: Vec<f32> = ids
            .iter()
            .flat_map(|&id| table[id * width..(id + 1) * width].to_vec())
            .collect();
        assert_eq!(forward(&table, &ids, width), expected);
        let rows_gradient: Vec<f32> = (0..rows * width).map(|k| (k as f32).cos()).collect();
        let mut sums = vec![0.0f32; vocab * width];
        for (&id, row) in ids.iter().zip(rows_gradient.chunks_exact(width)) {
            for (sum, &value) in sums[id * width..(id + 1) * width].iter_mut().zip(row) {
                *sum += value;
            }
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let gradient = pool.install(|| backward(&ids, &rows_gradient, vocab, width));
        assert_eq!(gradient, sums);
    }
}
