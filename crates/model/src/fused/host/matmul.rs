//! Matrix products on row-major slices, by the `gemm` crate (the kernels Burn's flex backend
//! also uses), with the bounds checked before the raw-pointer call.

use super::math::Real;
use rayon::prelude::*;

/// A row-major `[rows, columns]` matrix in a slice, used as stored or transposed.
#[derive(Clone, Copy)]
pub struct Operand<'a, E> {
    data: &'a [E],
    rows: usize,
    columns: usize,
    row_stride: usize,
    transposed: bool,
}

impl<'a, E> Operand<'a, E> {
    /// The matrix `data` holds, `[rows, columns]` row-major.
    pub fn new(data: &'a [E], rows: usize, columns: usize) -> Self {
        Self::strided(data, rows, columns, columns)
    }

    /// The first `columns` of each row of a row-major matrix whose rows are `row_stride` apart:
    /// a block of columns of a wider matrix.
    pub fn strided(data: &'a [E], rows: usize, columns: usize, row_stride: usize) -> Self {
        assert!(columns <= row_stride, "a row is wider than its stride");
        assert!(
            rows == 0 || data.len() >= (rows - 1) * row_stride + columns,
            "matrix slice too short"
        );
        Self {
            data,
            rows,
            columns,
            row_stride,
            transposed: false,
        }
    }

    /// Its transpose, without moving data.
    pub fn t(self) -> Self {
        Self {
            transposed: !self.transposed,
            ..self
        }
    }

    /// `[rows, columns]` as used.
    fn shape(&self) -> (usize, usize) {
        if self.transposed {
            (self.columns, self.rows)
        } else {
            (self.rows, self.columns)
        }
    }

    /// (column stride, row stride) as used.
    fn strides(&self) -> (isize, isize) {
        if self.transposed {
            (self.row_stride as isize, 1)
        } else {
            (1, self.row_stride as isize)
        }
    }
}

/// Whether a product may use every core (large products) or must stay on the calling thread
/// (products inside a loop that is already parallel).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// The calling thread only.
    One,
    /// Rayon's pool.
    All,
}

/// Whether a product replaces what its output holds or adds to it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// `out = lhs · rhs`.
    Overwrite,
    /// `out += lhs · rhs`.
    Accumulate,
}

/// `out = lhs · rhs` or `out += lhs · rhs`, by `write`; `out` is row-major `[m, n]`.
///
/// # Panics
/// If the shapes do not chain or `out` is too short: a bug in the caller, never user input.
pub fn matmul<E: Real>(
    out: &mut [E],
    write: Write,
    lhs: Operand<'_, E>,
    rhs: Operand<'_, E>,
    threads: Threads,
) {
    let n = rhs.shape().1;
    matmul_strided(out, n, write, lhs, rhs, threads);
}

/// [`matmul`] into the first `n` columns of a row-major output whose rows are `out_stride`
/// apart.
///
/// # Panics
/// If the shapes do not chain or `out` is too short: a bug in the caller, never user input.
pub fn matmul_strided<E: Real>(
    out: &mut [E],
    out_stride: usize,
    write: Write,
    lhs: Operand<'_, E>,
    rhs: Operand<'_, E>,
    threads: Threads,
) {
    let [m, _, n] = chained(lhs, rhs);
    assert!(n <= out_stride, "an output row is wider than its stride");
    assert!(
        m == 0 || out.len() >= (m - 1) * out_stride + n,
        "output slice too short"
    );
    // SAFETY: every operand was checked above to hold its whole matrix, and `out` (borrowed
    // mutably) cannot overlap the shared inputs.
    unsafe { gemm_into(out.as_mut_ptr(), out_stride, write, lhs, rhs, threads) }
}

/// `lhs · rhs` in a new row-major `[m, n]` buffer, written once by the product (not
/// zero-filled first: at a window's sizes the fill alone is a pass over tens of MiB).
///
/// # Panics
/// If the shapes do not chain: a bug in the caller, never user input.
pub fn product<E: Real>(lhs: Operand<'_, E>, rhs: Operand<'_, E>, threads: Threads) -> Vec<E> {
    let [m, k, n] = chained(lhs, rhs);
    if m * n == 0 || k == 0 {
        return vec![E::zero(); m * n];
    }
    let mut out = Vec::with_capacity(m * n);
    // SAFETY: the operands hold their whole matrices (checked when they were made); `out` has
    // room for `m · n` elements, which `gemm` writes without reading (`Overwrite`), every one
    // of them since `k > 0`, before the length is set.
    unsafe {
        let start = out.spare_capacity_mut().as_mut_ptr().cast::<E>();
        gemm_into(start, n, Write::Overwrite, lhs, rhs, threads);
        out.set_len(m * n);
    }
    out
}

/// `[m, k, n]` of `lhs` `[m, k]` times `rhs` `[k, n]`.
///
/// # Panics
/// If the inner dimensions differ.
fn chained<E>(lhs: Operand<'_, E>, rhs: Operand<'_, E>) -> [usize; 3] {
    let (m, k) = lhs.shape();
    let (k_rhs, n) = rhs.shape();
    assert_eq!(k, k_rhs, "inner dimensions differ");
    [m, k, n]
}

/// The `gemm` call behind [`matmul_strided`] and [`product`].
///
/// # Safety
/// `out` must be valid for writes (and for reads with [`Write::Accumulate`]) of an
/// `[m, n]` matrix whose rows are `out_stride ≥ n` apart, and must not overlap the operands.
unsafe fn gemm_into<E: Real>(
    out: *mut E,
    out_stride: usize,
    write: Write,
    lhs: Operand<'_, E>,
    rhs: Operand<'_, E>,
    threads: Threads,
) {
    let [m, k, n] = chained(lhs, rhs);
    let (lhs_cs, lhs_rs) = lhs.strides();
    let (rhs_cs, rhs_rs) = rhs.strides();
    let parallelism = match threads {
        Threads::One => gemm::Parallelism::None,
        Threads::All => gemm::Parallelism::Rayon(0),
    };
    // SAFETY: the operands hold their whole matrices (checked when they were made), and the
    // caller vouches for `out`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out,
            1,
            out_stride as isize,
            write == Write::Accumulate,
            lhs.data.as_ptr(),
            lhs_cs,
            lhs_rs,
            rhs.data.as_ptr(),
            rhs_cs,
            rhs_rs,
            E::one(),
            E::one(),
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// `matrix` (`[rows, columns]`, row-major) transposed, `[columns, rows]`: stored so, a matrix
/// the per-step products read as `Wᵀ` is read ~2.5x faster than through strides. Bands of
/// `matrix`'s columns are turned on every core (a weight turned before BPTT ran on the calling
/// thread alone, 3–4 % of a seq2seq step while the other core waited).
pub fn transpose<E: Real>(matrix: &[E], rows: usize, columns: usize) -> Vec<E> {
    let mut out = vec![E::zero(); rows * columns];
    let matrix = &matrix[..rows * columns];
    if columns == 0 {
        return out;
    }
    if matrix.len() <= TRANSPOSE_BAND {
        // One band: on the calling thread, without waking the pool.
        transpose_into(&mut out, rows, matrix, columns);
        return out;
    }
    let band = TRANSPOSE_BAND.div_ceil(rows).next_multiple_of(TILE);
    out.par_chunks_mut(band * rows)
        .enumerate()
        .for_each(|(index, out)| {
            let first = index * band;
            transpose_range(out, rows, matrix, columns, first..first + out.len() / rows);
        });
    out
}

/// Values of `matrix` a core turns at a time in [`transpose`].
const TRANSPOSE_BAND: usize = 1 << 15;

/// Writes the transpose of `matrix` (row-major, `columns` wide) into the first
/// `matrix.len() / columns` columns of `out`, whose rows are `out_stride` apart: `out[j][i] =
/// matrix[i][j]`.
///
/// Tile by tile: a tile's rows of `matrix` stay in the first-level cache while each of its
/// columns is written as one run of `out`. Element by element, every write landed on another
/// cache line: the per-step transposes took 8–11 % of an LSTM training step at H 256 under
/// `perf`, 6 % tiled.
pub fn transpose_into<E: Copy>(out: &mut [E], out_stride: usize, matrix: &[E], columns: usize) {
    transpose_range(out, out_stride, matrix, columns, 0..columns);
}

/// [`transpose_into`] of `matrix`'s columns `range` alone: column `j` becomes `out`'s row
/// `j - range.start`.
fn transpose_range<E: Copy>(
    out: &mut [E],
    out_stride: usize,
    matrix: &[E],
    columns: usize,
    range: std::ops::Range<usize>,
) {
    let rows = matrix.len() / columns;
    for first_row in (0..rows).step_by(TILE) {
        let tile_rows = TILE.min(rows - first_row);
        for first_column in range.clone().step_by(TILE) {
            let tile_columns = TILE.min(range.end - first_column);
            let out_row = first_column - range.start;
            if tile_rows == TILE && tile_columns == TILE {
                let at = first_row * columns + first_column;
                whole_tile(
                    out,
                    out_row * out_stride + first_row,
                    out_stride,
                    matrix,
                    at,
                    columns,
                );
                continue;
            }
            for j in 0..tile_columns {
                let start = (out_row + j) * out_stride + first_row;
                let run = &mut out[start..start + tile_rows];
                for (k, value) in run.iter_mut().enumerate() {
                    *value = matrix[(first_row + k) * columns + first_column + j];
                }
            }
        }
    }
}

/// The side of [`transpose_into`]'s tiles.
const TILE: usize = 16;

/// One whole tile, through a local copy of fixed size, so that the compiler sees every index in
/// range and can use vector shuffles: `matrix`'s tile starting at `at` (rows `columns` apart) into
/// `out`'s starting at `start` (rows `out_stride` apart).
fn whole_tile<E: Copy>(
    out: &mut [E],
    start: usize,
    out_stride: usize,
    matrix: &[E],
    at: usize,
    columns: usize,
) {
    let mut tile = [[matrix[at]; TILE]; TILE];
    for (k, row) in tile.iter_mut().enumerate() {
        let from = at + k * columns;
        row.copy_from_slice(&matrix[from..from + TILE]);
    }
    for (j, from) in (start..).step_by(out_stride).take(TILE).enumerate() {
        let run: &mut [E; TILE] = (&mut out[from..from + TILE])
            .try_into()
            .expect("a run of TILE values");
        for (k, value) in run.iter_mut().enumerate() {
            *value = tile[k][j];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposes_of_any_shape_match_the_definition() {
        for (rows, columns, stride_extra) in
            [(1, 1, 0), (3, 37, 2), (17, 16, 0), (40, 33, 5), (32, 48, 3)]
        {
            let matrix: Vec<usize> = (0..rows * columns).collect();
            let stride = rows + stride_extra;
            let mut out = vec![usize::MAX; columns * stride];
            transpose_into(&mut out, stride, &matrix, columns);
            for j in 0..columns {
                for i in 0..stride {
                    let expected = if i < rows {
                        i * columns + j
                    } else {
                        usize::MAX
                    };
                    assert_eq!(
                        out[j * stride + i],
                        expected,
                        "{rows}x{columns}: [{j}][{i}]"
                    );
                }
            }
        }
    }

    /// The weight's transpose in bands on every core: sizes of one band, of several with a
    /// part-filled last one, and a band narrower than a tile's rows.
    #[test]
    fn transposes_in_bands_match_the_definition() {
        for (rows, columns) in [(3, 37), (300, 1000), (256, 1024), (5000, 9), (1, 40000)] {
            let matrix: Vec<f64> = (0..rows * columns).map(|i| i as f64).collect();
            let out = transpose(&matrix, rows, columns);
            for j in 0..columns {
                for i in 0..rows {
                    assert_eq!(
                        out[j * rows + i],
                        matrix[i * columns + j],
                        "[{rows}, {columns}] at ({i}, {j})"
                    );
                }
            }
        }
    }

    #[test]
    fn products_with_transposes_and_accumulation_match_the_definition() {
        // a [2, 3], b [3, 2] as stored; c = a · b, d = bᵀ · aᵀ = cᵀ.
        let a = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [7.0f64, 8.0, 9.0, 10.0, 11.0, 12.0];
        let mut c = [0.0; 4];
        matmul(
            &mut c,
            Write::Overwrite,
            Operand::new(&a, 2, 3),
            Operand::new(&b, 3, 2),
            Threads::One,
        );
        assert_eq!(c, [58.0, 64.0, 139.0, 154.0]);
        let mut d = [1.0; 4];
        matmul(
            &mut d,
            Write::Accumulate,
            Operand::new(&b, 3, 2).t(),
            Operand::new(&a, 2, 3).t(),
            Threads::All,
        );
        assert_eq!(d, [59.0, 140.0, 65.0, 155.0]);
        assert_eq!(transpose(&a, 2, 3), [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        let fresh = product(
            Operand::new(&b, 3, 2).t(),
            Operand::new(&a, 2, 3).t(),
            Threads::All,
        );
        assert_eq!(fresh, [58.0, 139.0, 64.0, 154.0]);
        let empty_inner = product(
            Operand::<f64>::new(&[], 2, 0),
            Operand::new(&[], 0, 3),
            Threads::One,
        );
        assert_eq!(empty_inner, [0.0f64; 6], "a sum over nothing is zero");
    }

    #[test]
    fn strided_operands_and_outputs_read_and_write_blocks_of_columns() {
        // The first 2 columns of a [3, 4] matrix times the first 2 columns of a [2, 3] matrix
        // (rows 3 apart), into columns 0..2 of a [3, 5] output; the rest is left alone.
        let a = [
            1.0f64, 2.0, -9.0, -9.0, 3.0, 4.0, -9.0, -9.0, 5.0, 6.0, -9.0, -9.0,
        ];
        let b = [1.0f64, 0.5, -9.0, 2.0, 1.0, -9.0];
        let mut out = [7.0f64; 15];
        matmul_strided(
            &mut out,
            5,
            Write::Overwrite,
            Operand::strided(&a, 3, 2, 4),
            Operand::strided(&b, 2, 2, 3),
            Threads::One,
        );
        let expected = [[5.0, 2.5], [11.0, 5.5], [17.0, 8.5]];
        for (i, row) in expected.iter().enumerate() {
            assert_eq!(&out[i * 5..i * 5 + 2], row);
            assert!(out[i * 5 + 2..i * 5 + 5].iter().all(|&v| v == 7.0));
        }
        let mut t = [0.0f64; 8];
        transpose_into(&mut t, 4, &[1.0, 2.0, 3.0, 4.0], 2);
        assert_eq!(t, [1.0, 3.0, 0.0, 0.0, 2.0, 4.0, 0.0, 0.0]);
    }
}
