//! Matrix products on row-major slices, by the `gemm` crate (the kernels Burn's flex backend
//! also uses), with the bounds checked before the raw-pointer call.

use super::math::Real;

/// A row-major `[rows, columns]` matrix in a slice, used as stored or transposed.
#[derive(Clone, Copy)]
pub struct Operand<'a, E> {
    data: &'a [E],
    rows: usize,
    columns: usize,
    transposed: bool,
}

impl<'a, E> Operand<'a, E> {
    /// The matrix `data` holds, `[rows, columns]` row-major.
    pub fn new(data: &'a [E], rows: usize, columns: usize) -> Self {
        assert!(data.len() >= rows * columns, "matrix slice too short");
        Self {
            data,
            rows,
            columns,
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
            (self.columns as isize, 1)
        } else {
            (1, self.columns as isize)
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
    let (m, k) = lhs.shape();
    let (k_rhs, n) = rhs.shape();
    assert_eq!(k, k_rhs, "inner dimensions differ");
    assert!(out.len() >= m * n, "output slice too short");
    let (lhs_cs, lhs_rs) = lhs.strides();
    let (rhs_cs, rhs_rs) = rhs.strides();
    let parallelism = match threads {
        Threads::One => gemm::Parallelism::None,
        Threads::All => gemm::Parallelism::Rayon(0),
    };
    // SAFETY: every operand was checked above to hold its whole matrix, and `out` (borrowed
    // mutably) cannot overlap the shared inputs.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
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
/// the per-step products read as `Wᵀ` is read ~2.5x faster than through strides.
pub fn transpose<E: Real>(matrix: &[E], rows: usize, columns: usize) -> Vec<E> {
    let mut out = vec![E::zero(); rows * columns];
    for (i, row) in matrix.chunks_exact(columns).enumerate() {
        for (j, &value) in row.iter().enumerate() {
            out[j * rows + i] = value;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
