//! What the fused operations' unit tests share: deterministic inputs, the logistic function in
//! f64, central finite differences, and the comparison of the generic passes with the kernels.

/// Deterministic values in (−1, 1), other values for another seed.
pub fn deterministic(n: usize, seed: u64) -> Vec<f64> {
    // The seed spread over the high bits too: the bits kept below are the high ones.
    let seed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
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
pub use tensors::{assert_generic_equals_host, tensor, values};

/// The f64 tensors of this crate's unit tests. Burn fixes a device's default float type for the
/// whole process at that device's first use (whichever test gets there first), so in this test
/// binary ndarray is used in f64 only and the f32 tests run on flex: one f32 use of ndarray here
/// would round these tests' values to f32 whenever it ran first.
#[cfg(feature = "ndarray")]
mod tensors {
    use burn::backend::NdArray;
    use burn::tensor::ops::FloatTensor;
    use burn::tensor::ops::FloatTensorOps;
    use burn::tensor::{Shape, Tensor, TensorData, TensorMetadata};

    use crate::fused::operation::{Dispatch, FusedOperation};

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

    /// Any primitive's values, flattened.
    fn flat(primitive: FloatTensor<B>) -> Vec<f64> {
        let count = primitive.shape().num_elements();
        values::<1>(B::float_reshape(primitive, Shape::new([count])))
    }

    /// `Op`'s generic passes (what wgpu and cuda run) against ndarray's own (its host kernel):
    /// the same output and the same gradient of every input gradients flow to, for the input
    /// `input` makes and the output gradient `output_gradient` makes.
    pub fn assert_generic_equals_host<Op: Dispatch<PARENTS>, const PARENTS: usize>(
        what: &str,
        input: impl Fn() -> Op::Input<B>,
        output_gradient: impl Fn() -> FloatTensor<B>,
    ) {
        let generic = <Op as FusedOperation<PARENTS>>::forward::<B>(input(), true);
        let host = Op::forward_on::<B>(input(), true);
        let outputs = ("output", flat(generic.output), flat(host.output));
        super::assert_same(what, vec![outputs]);
        let generic = <Op as FusedOperation<PARENTS>>::backward::<B>(
            generic.saved.expect("kept"),
            output_gradient(),
        );
        let host = Op::backward_on::<B>(host.saved.expect("kept"), output_gradient());
        let gradients = Op::parent_gradients(generic)
            .into_iter()
            .zip(Op::parent_gradients(host));
        for (k, (generic, host)) in gradients.enumerate() {
            let what = format!("{what}: the gradient of input {k}");
            super::assert_same(&what, vec![("", flat(generic), flat(host))]);
        }
    }
}

#[test]
fn another_seed_gives_other_values() {
    assert_ne!(deterministic(8, 1), deterministic(8, 2));
    assert!(deterministic(1000, 3).iter().all(|v| v.abs() < 1.0));
}
