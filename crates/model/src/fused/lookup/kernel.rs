//! Row lookup on host memory: `out(n) = table(ids(n))`, and its backward, a scatter-add.

/// `out(n) = table(ids(n))`; `table` is `[vocab, width]`. Returns `[ids.len(), width]`.
///
/// # Panics
/// If an id is not below the table's row count (callers check ids against the vocabulary).
pub fn forward<E: Copy>(table: &[E], ids: &[usize], width: usize) -> Vec<E> {
    let vocab = table.len() / width;
    let mut out = Vec::with_capacity(ids.len() * width);
    for &id in ids {
        assert!(id < vocab, "id {id} out of a table of {vocab} rows");
        out.extend_from_slice(&table[id * width..(id + 1) * width]);
    }
    out
}

/// `∂L/∂table(v) = Σ_{n : ids(n) = v} ∂L/∂out(n)`; `rows_gradient` is `[ids.len(), width]`.
pub fn backward<E: crate::fused::host::math::Real>(
    ids: &[usize],
    rows_gradient: &[E],
    vocab: usize,
    width: usize,
) -> Vec<E> {
    let mut gradient = vec![E::zero(); vocab * width];
    for (&id, row) in ids.iter().zip(rows_gradient.chunks_exact(width)) {
        crate::fused::host::math::add_assign(&mut gradient[id * width..(id + 1) * width], row);
    }
    gradient
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
}
