//! What the host kernels share: the CPU backends (flex and ndarray) lending their memory, the
//! element types, the products and the vectorised maps, and the dispatch by float type.
//!
//! Each operation's kernel (in the operation's own module) reads its tensors into plain vectors
//! (flex hands its buffer over without a copy when the tensor is not shared), runs, and wraps the
//! result as a tensor again. Other float types (f16, bf16) fall back to the generic passes.

pub mod math;
pub mod matmul;
pub(crate) mod units;

use std::borrow::Cow;

use burn::tensor::backend::Backend;
use burn::tensor::ops::{FloatTensor, IntTensor};
use burn::tensor::{DType, Int, Shape, Tensor, TensorData, TensorMetadata, TensorPrimitive};

use self::math::Real;
use super::operation::{Forward, FusedOperation, OperationInputs, operations};
use super::{RecurrenceBackend, rollout};

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
pub trait HostView: RecurrenceBackend {
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

/// An operation's host kernel, for the CPU backends in f32 and f64.
pub trait HostKernel<const PARENTS: usize>: FusedOperation<PARENTS> {
    /// [`FusedOperation::forward`] by the kernel.
    fn forward<B: HostView, E: Real>(
        input: Self::Input<B>,
        keep: bool,
    ) -> Forward<B, Self, PARENTS>;

    /// [`FusedOperation::backward`] by the kernel.
    fn backward<B: HostView, E: Real>(
        saved: Self::Saved<B>,
        output_gradient: FloatTensor<B>,
    ) -> Self::Gradients<B>;
}

/// The forward pass by the kernel in the input's float type, or the generic pass in others.
fn forward<B, Op, const PARENTS: usize>(input: Op::Input<B>, keep: bool) -> Forward<B, Op, PARENTS>
where
    B: HostView,
    Op: HostKernel<PARENTS>,
{
    match Op::dtype::<B>(&input) {
        DType::F32 => <Op as HostKernel<PARENTS>>::forward::<B, f32>(input, keep),
        DType::F64 => <Op as HostKernel<PARENTS>>::forward::<B, f64>(input, keep),
        _ => <Op as FusedOperation<PARENTS>>::forward::<B>(input, keep),
    }
}

/// The backward pass by the kernel in the gradient's float type, or the generic pass in others.
fn backward<B, Op, const PARENTS: usize>(
    saved: Op::Saved<B>,
    output_gradient: FloatTensor<B>,
) -> Op::Gradients<B>
where
    B: HostView,
    Op: HostKernel<PARENTS>,
{
    match output_gradient.dtype() {
        DType::F32 => <Op as HostKernel<PARENTS>>::backward::<B, f32>(saved, output_gradient),
        DType::F64 => <Op as HostKernel<PARENTS>>::backward::<B, f64>(saved, output_gradient),
        _ => <Op as FusedOperation<PARENTS>>::backward::<B>(saved, output_gradient),
    }
}

/// Every registered operation's methods by its host kernel.
macro_rules! host_methods {
    ($($op:ident, $forward:ident, $backward:ident;)*) => {
        $(
            fn $forward(
                input: <crate::fused::$op::Operation as OperationInputs<{ crate::fused::$op::PARENTS }>>::Input<Self>,
                keep: bool,
            ) -> Forward<Self, crate::fused::$op::Operation, { crate::fused::$op::PARENTS }> {
                forward::<Self, crate::fused::$op::Operation, { crate::fused::$op::PARENTS }>(input, keep)
            }

            fn $backward(
                saved: <crate::fused::$op::Operation as FusedOperation<{ crate::fused::$op::PARENTS }>>::Saved<Self>,
                output_gradient: FloatTensor<Self>,
            ) -> <crate::fused::$op::Operation as OperationInputs<{ crate::fused::$op::PARENTS }>>::Gradients<Self> {
                backward::<Self, crate::fused::$op::Operation, { crate::fused::$op::PARENTS }>(saved, output_gradient)
            }
        )*
    };
}

/// The rollouts by their host kernels.
macro_rules! host_rollouts {
    () => {
        fn hidden_rollout(
            input: rollout::HiddenRollout<Self>,
            plan: &rollout::FeedingPlan,
        ) -> Tensor<Self, 2, Int> {
            rollout::hidden_host(input, plan)
        }

        fn output_rollout(
            input: rollout::OutputRollout<Self>,
            plan: &rollout::FeedingPlan,
        ) -> Tensor<Self, 2, Int> {
            rollout::output_host(input, plan)
        }
    };
}

#[cfg(feature = "flex")]
impl RecurrenceBackend for burn::backend::Flex {
    operations!(host_methods);
    host_rollouts!();
}

#[cfg(feature = "ndarray")]
impl<E, I, Q> RecurrenceBackend for burn::backend::NdArray<E, I, Q>
where
    burn::backend::NdArray<E, I, Q>: Backend,
    burn::backend::ndarray::NdArrayTensor: From<burn::backend::ndarray::SharedArray<E>>,
    burn::backend::ndarray::NdArrayTensor: From<burn::backend::ndarray::SharedArray<I>>,
{
    operations!(host_methods);
    host_rollouts!();
}
