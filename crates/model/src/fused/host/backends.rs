//! What an operation's host kernel is ([`HostKernel`]), and the CPU backends (flex and ndarray)
//! as [`RecurrenceBackend`]s: every registered operation and the rollouts by their host kernels, in f32 and f64 (other float types by the generic
//! passes).

use burn::tensor::ops::FloatTensor;
use burn::tensor::{DType, Int, Tensor, TensorMetadata};

use super::HostView;
use super::math::Real;
use crate::fused::operation::{Forward, FusedOperation, OperationInputs, operations};
use crate::fused::{RecurrenceBackend, adam, dropout, rollout, squared_norm};

/// A CPU backend that runs the fused operations: its memory lent to the kernels
/// ([`HostView`]), and the generic passes for the float types the kernels do not cover.
pub trait HostBackend: HostView + RecurrenceBackend {}

impl<B: HostView + RecurrenceBackend> HostBackend for B {}

/// An operation's host kernel, for the CPU backends in f32 and f64.
pub trait HostKernel<const PARENTS: usize>: FusedOperation<PARENTS> {
    /// [`FusedOperation::forward`] by the kernel.
    fn forward<B: HostBackend, E: Real>(
        input: Self::Input<B>,
        keep: bool,
    ) -> Forward<B, Self, PARENTS>;

    /// [`FusedOperation::backward`] by the kernel.
    fn backward<B: HostBackend, E: Real>(
        saved: Self::Saved<B>,
        output_gradient: FloatTensor<B>,
    ) -> Self::Gradients<B>;
}

/// The forward pass by the kernel in the input's float type, or the generic pass in others.
fn forward<B, Op, const PARENTS: usize>(input: Op::Input<B>, keep: bool) -> Forward<B, Op, PARENTS>
where
    B: HostBackend,
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
    B: HostBackend,
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

/// The rollouts and Adam's step by their host kernels.
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

        fn adam_step(step: adam::AdamStep<Self>) -> adam::AdamUpdate<Self> {
            adam::host(step)
        }

        fn squared_norm(tensor: FloatTensor<Self>) -> f64 {
            squared_norm::host::<Self>(tensor)
        }

        fn dropout_mask(
            shape: burn::tensor::Shape,
            keep: f64,
            device: &Self::Device,
        ) -> FloatTensor<Self> {
            dropout::host::<Self>(shape, keep, device)
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
    burn::backend::NdArray<E, I, Q>: burn::tensor::backend::Backend,
    burn::backend::ndarray::NdArrayTensor: From<burn::backend::ndarray::SharedArray<E>>,
    burn::backend::ndarray::NdArrayTensor: From<burn::backend::ndarray::SharedArray<I>>,
{
    operations!(host_methods);
    host_rollouts!();
}
