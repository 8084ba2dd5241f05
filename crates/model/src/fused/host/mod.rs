//! What the host kernels share: the CPU backends (flex and ndarray) lending their memory, the
//! element types, the products and the vectorised maps, and the dispatch by float type.
//!
//! Each operation's kernel (in the operation's own module) reads its tensors into plain vectors
//! (flex hands its buffer over without a copy when the tensor is not shared), runs, and wraps the
//! result as a tensor again. Other float types (f16, bf16) fall back to the generic passes.

pub mod math;
pub mod matmul;
pub(crate) mod units;

mod backends;

pub use backends::{HostBackend, HostKernel};

use std::borrow::Cow;

use burn::tensor::backend::Backend;
use burn::tensor::ops::{FloatTensor, IntTensor};
use burn::tensor::{Int, Shape, Tensor, TensorData, TensorMetadata, TensorPrimitive};

use self::math::Real;

/// The tensor's values, row-major.
pub fn read<B: Backend, E: Real>(tensor: FloatTensor<B>) -> Vec<E> {
    let count = tensor.shape().num_elements();
    let flat = B::float_reshape(tensor, Shape::new([count]));
    Tensor::<B, 1>::from_primitive(TensorPrimitive::Float(flat))
        .into_data()
        .convert::<E>()
        .into_vec::<E>()
        .expect("converted to the element type just above")
}

/// How a CPU backend lends its tensors' memory to the kernels.
pub trait HostView: Backend {
    /// The tensor's values, row-major: borrowed where the backend's layout allows, copied
    /// otherwise.
    fn view<E: Real>(tensor: &FloatTensor<Self>) -> Cow<'_, [E]>;
}

#[cfg(feature = "flex")]
impl HostView for burn::backend::Flex {
    fn view<E: Real>(tensor: &FloatTensor<Self>) -> Cow<'_, [E]> {
        match tensor.as_slice::<E>() {
            Some(values) => Cow::Borrowed(values),
            None => Cow::Owned(read::<Self, E>(tensor.clone())),
        }
    }
}

#[cfg(feature = "ndarray")]
impl<F, I, Q> HostView for burn::backend::NdArray<F, I, Q>
where
    burn::backend::NdArray<F, I, Q>: Backend,
    burn::backend::ndarray::NdArrayTensor: From<burn::backend::ndarray::SharedArray<F>>,
    burn::backend::ndarray::NdArrayTensor: From<burn::backend::ndarray::SharedArray<I>>,
{
    fn view<E: Real>(tensor: &FloatTensor<Self>) -> Cow<'_, [E]> {
        Cow::Owned(read::<Self, E>(tensor.clone()))
    }
}

/// Class or token ids as indices; a negative id becomes one no table has.
pub fn read_ids<B: Backend>(ids: IntTensor<B>) -> Vec<usize> {
    Tensor::<B, 1, Int>::from_primitive(ids)
        .into_data()
        .iter::<i64>()
        .map(|id| usize::try_from(id).unwrap_or(usize::MAX))
        .collect()
}

/// A tensor of `shape` holding `values`.
pub fn write<B: Backend, E: Real>(
    values: Vec<E>,
    shape: Shape,
    device: &B::Device,
) -> FloatTensor<B> {
    B::float_from_data(TensorData::new(values, shape), device)
}
