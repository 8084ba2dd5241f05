//! The join of both directions on host memory: row copies, blocks of rows on every core.

use rayon::prelude::*;

/// Rows a task copies at least: below this the split costs more than it saves.
const ROWS_PER_TASK: usize = 64;

/// `[rows, width_ahead + width_behind]`, row `r` `[ahead(r); behind(reads(r))]`; each input
/// comes with its width.
pub fn forward<E: Copy + Send + Sync + Default>(
    (ahead, width_ahead): (&[E], usize),
    (behind, width_behind): (&[E], usize),
    reads: &[usize],
) -> Vec<E> {
    let width = width_ahead + width_behind;
    let mut joined = vec![E::default(); reads.len() * width];
    joined
        .par_chunks_mut(width)
        .with_min_len(ROWS_PER_TASK)
        .zip(reads.par_iter())
        .enumerate()
        .for_each(|(r, (row, &read))| {
            let (left, right) = row.split_at_mut(width_ahead);
            left.copy_from_slice(&ahead[r * width_ahead..(r + 1) * width_ahead]);
            right.copy_from_slice(&behind[read * width_behind..(read + 1) * width_behind]);
        });
    joined
}

/// The gradients of `ahead` and `behind`, shaped `shapes` (`[rows, width]` each), from the
/// joined rows' `gradient` `[reads.len(), width_ahead + width_behind]`: row `r`'s left part to
/// `ahead(r)`, its right part to `behind(reads(r))`, zero on rows past `reads.len()`.
pub fn backward<E: Copy + Send + Sync + Default>(
    gradient: &[E],
    reads: &[usize],
    shapes: [[usize; 2]; 2],
) -> (Vec<E>, Vec<E>) {
    let [[rows_ahead, width_ahead], [rows_behind, width_behind]] = shapes;
    let mut d_ahead = vec![E::default(); rows_ahead * width_ahead];
    let mut d_behind = vec![E::default(); rows_behind * width_behind];
    backward_into(gradient, reads, shapes, [&mut d_ahead, &mut d_behind]);
    (d_ahead, d_behind)
}

/// [`backward`] into zero-filled `[d_ahead, d_behind]`, shaped `shapes`.
pub fn backward_into<E: Copy + Send + Sync + Default>(
    gradient: &[E],
    reads: &[usize],
    [[_, width_ahead], [rows_behind, width_behind]]: [[usize; 2]; 2],
    [d_ahead, d_behind]: [&mut [E]; 2],
) {
    let width = width_ahead + width_behind;
    // Each of `behind`'s rows is written by the one joined row that read it.
    let mut read_by = vec![usize::MAX; rows_behind];
    for (r, &read) in reads.iter().enumerate() {
        read_by[read] = r;
    }
    rayon::join(
        || {
            d_ahead
                .par_chunks_mut(width_ahead)
                .with_min_len(ROWS_PER_TASK)
                .take(reads.len())
                .enumerate()
                .for_each(|(r, row)| {
                    row.copy_from_slice(&gradient[r * width..r * width + width_ahead]);
                });
        },
        || {
            d_behind
                .par_chunks_mut(width_behind)
                .with_min_len(ROWS_PER_TASK)
                .zip(read_by.par_iter())
                .filter(|(_, r)| **r != usize::MAX)
                .for_each(|(row, &r)| {
                    row.copy_from_slice(&gradient[r * width + width_ahead..(r + 1) * width]);
                });
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_side_by_side_and_their_gradients_back() {
        // `ahead` has a row past the three read (an LSTM's c(τ)).
        let ahead = [1.0f32, 2.0, 3.0, 4.0];
        let behind = [10.0f32, 20.0, 30.0, 40.0, 50.0, 60.0];
        let reads = [2, 1, 0];
        let joined = forward((&ahead, 1), (&behind, 2), &reads);
        assert_eq!(joined, [1.0, 50.0, 60.0, 2.0, 30.0, 40.0, 3.0, 10.0, 20.0]);
        let (d_ahead, d_behind) = backward(&joined, &reads, [[4, 1], [3, 2]]);
        assert_eq!(d_ahead, [1.0, 2.0, 3.0, 0.0]);
        assert_eq!(d_behind, behind);
    }
}
