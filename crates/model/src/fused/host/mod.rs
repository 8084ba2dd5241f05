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

/// The tensor's values, row-major, as a vector the kernel owns: the backend's buffer itself
/// where it can hand it over, else one copy ([`HostView::values`]).
pub fn read<B: HostView, E: Real>(tensor: FloatTensor<B>) -> Vec<E> {
    B::values(tensor)
}

/// The tensor's values through Burn's `into_data`: no copy for a buffer of the element's own
/// alignment that no other tensor shares (what [`write`] makes), one or more otherwise.
fn read_through_data<B: Backend, E: Real>(tensor: FloatTensor<B>) -> Vec<E> {
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

    /// The tensor's values as an owned vector, row-major.
    fn values<E: Real>(tensor: FloatTensor<Self>) -> Vec<E> {
        read_through_data::<Self, E>(tensor)
    }
}

#[cfg(feature = "flex")]
impl HostView for burn::backend::Flex {
    fn view<E: Real>(tensor: &FloatTensor<Self>) -> Cow<'_, [E]> {
        match tensor.as_slice::<E>() {
            Some(values) => Cow::Borrowed(values),
            None => Cow::Owned(read_through_data::<Self, E>(tensor.clone())),
        }
    }

    /// A buffer another tensor shares (a parameter the module holds too) is copied once from
    /// its slice: through `into_data` it was copied three times (out of the shared buffer, to
    /// flex's alignment, and out of that alignment into a vector), 3 % of a seq2seq step.
    fn values<E: Real>(tensor: FloatTensor<Self>) -> Vec<E> {
        if !tensor.is_unique()
            && let Some(values) = tensor.as_slice::<E>()
        {
            return values.to_vec();
        }
        read_through_data::<Self, E>(tensor)
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
        Cow::Owned(read_through_data::<Self, E>(tensor.clone()))
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
