//! What the fused operations' unit tests share: deterministic inputs, the logistic function in
//! f64, central finite differences, and the comparison of the generic passes with the kernels.

/// Deterministic values in (−1, 1).
pub fn deterministic(n: usize, seed: u64) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let x = (i as u64 + 1).wrapping_mul(6364136223846793005) ^ seed;
            ((x >> 11) % 2000) as f64 / 1000.0 - 1.0
        })
        .collect()
}

/// `1 / (1 + e^−x)`.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Every entry of every `analytic[k]` (the gradient of `loss` with respect to `inputs[k]`)
/// against central finite differences, to 1e-7.
pub fn assert_finite_differences(
    what: &str,
    inputs: &[Vec<f64>],
    analytic: &[Vec<f64>],
    loss: impl Fn(&[Vec<f64>]) -> f64,
) {
    // Large enough that rounding in the summed loss stays below the tolerance.
    let eps = 1e-5;
    for (which, gradient) in analytic.iter().enumerate() {
        assert_eq!(gradient.len(), inputs[which].len(), "{what}: input {which}");
        for (i, &g) in gradient.iter().enumerate() {
            let nudged = |by: f64| {
                let mut copies = inputs.to_vec();
                copies[which][i] += by;
                loss(&copies)
            };
            let numeric = (nudged(eps) - nudged(-eps)) / (2.0 * eps);
            assert!(
                (g - numeric).abs() < 1e-7,
                "{what}: input {which}[{i}]: {g} vs {numeric}"
            );
        }
    }
}

/// Each named pair of value lists equal to 1e-12.
pub fn assert_same(what: &str, pairs: Vec<(&str, Vec<f64>, Vec<f64>)>) {
    for (name, a, b) in pairs {
        assert_eq!(a.len(), b.len(), "{what} {name}");
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-12, "{what} {name}: {x} vs {y}");
        }
    }
}

#[cfg(feature = "ndarray")]
pub use tensors::{tensor, values};

#[cfg(feature = "ndarray")]
mod tensors {
    use burn::backend::NdArray;
    use burn::tensor::ops::FloatTensor;
    use burn::tensor::{Tensor, TensorData};

    type B = NdArray<f64>;

    /// A tensor of deterministic values in (−0.5, 0.5).
    pub fn tensor<const D: usize>(shape: [usize; D], seed: u64) -> Tensor<B, D> {
        let values: Vec<f64> = super::deterministic(shape.iter().product(), seed)
            .iter()
            .map(|v| v / 2.0)
            .collect();
        Tensor::from_data(TensorData::new(values, shape), &Default::default())
    }

    /// A primitive's values.
    pub fn values<const D: usize>(primitive: FloatTensor<B>) -> Vec<f64> {
        super::super::float::<B, D>(primitive)
            .into_data()
            .iter::<f64>()
            .collect()
    }
}
