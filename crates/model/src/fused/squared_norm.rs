//! `‖g‖²`, the sum of a tensor's squared values, which global-norm clipping adds over every
//! gradient of a step.
//!
//! On Burn's operations (`(g · g).sum()`) it writes the squares into a fresh tensor and sums
//! them on one core: 6 % of a seq2seq training step at hidden 256 under `perf`, while the other
//! core waited. The host kernel reads `g` once on every core, in blocks whose sums are added in
//! block order, so the result does not depend on which core took which block; it sums in f64
//! (f32 within runs of a few hundred values).

use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{ElementConversion, Shape, TensorMetadata};

use super::float;

/// `Σ g²` on Burn's operations (what the GPU backends run).
pub fn generic<B: Backend>(tensor: FloatTensor<B>) -> f64 {
    let count = tensor.shape().num_elements();
    let flat = float::<B, 1>(B::float_reshape(tensor, Shape::new([count])));
    (flat.clone() * flat).sum().into_scalar().elem::<f64>()
}

/// `Σ g²` by the host kernel in the tensor's float type (others: the generic pass).
#[cfg(host_kernels)]
pub(crate) fn host<B: super::host::HostView>(tensor: FloatTensor<B>) -> f64 {
    use burn::tensor::DType;
    match tensor.dtype() {
        DType::F32 => kernel::<f32>(&B::view::<f32>(&tensor)),
        DType::F64 => kernel::<f64>(&B::view::<f64>(&tensor)),
        _ => generic::<B>(tensor),
    }
}

/// Values per block: enough that handing a block to a core costs little against its work.
#[cfg(host_kernels)]
const BLOCK: usize = 1 << 14;

#[cfg(host_kernels)]
fn kernel<E: super::host::math::Real>(values: &[E]) -> f64 {
    use rayon::prelude::*;
    if values.len() <= BLOCK {
        // One block: on the calling thread, without waking the pool (a bias, an output layer).
        return E::sum_of_squares(values);
    }
    let sums: Vec<f64> = values.par_chunks(BLOCK).map(E::sum_of_squares).collect();
    sums.iter().sum()
}

#[cfg(test)]
#[cfg(feature = "ndarray")]
mod tests {
    use burn::backend::NdArray;
    use burn::tensor::{Tensor, TensorData};

    use super::*;
    use crate::fused::RecurrenceBackend;
    use crate::fused::primitive;
    use crate::fused::test_values::deterministic;

    /// The host kernel against the generic pass and against the sum written out here: a tensor
    /// smaller than a block, and one of several blocks with a part-filled last one.
    fn host_is_the_sum_of_squares<B: RecurrenceBackend>(tolerance: f64) {
        for shape in [[3, 5], [70, 1000]] {
            let values = deterministic(shape[0] * shape[1], 11);
            let expected: f64 = values.iter().map(|v| v * v).sum();
            let tensor = || {
                primitive(Tensor::<B, 2>::from_data(
                    TensorData::new(values.clone(), shape),
                    &Default::default(),
                ))
            };
            let host = B::squared_norm(tensor());
            let generic = generic::<B>(tensor());
            for (name, found) in [("host", host), ("generic", generic)] {
                assert!(
                    (found - expected).abs() <= tolerance * expected,
                    "{name}, {shape:?}: {found} against {expected}"
                );
            }
        }
    }

    #[test]
    fn the_host_kernel_is_the_sum_of_squares_in_f64_and_f32() {
        host_is_the_sum_of_squares::<NdArray<f64>>(1e-13);
        // f32 on flex: Burn fixes a device's float type process-wide at its first use, and the
        // other tests of this binary run ndarray in f64.
        #[cfg(feature = "flex")]
        host_is_the_sum_of_squares::<burn::backend::Flex<f32>>(1e-5);
    }
}
