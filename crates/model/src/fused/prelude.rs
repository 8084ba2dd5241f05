//! What every fused operation's module imports: Burn's tensor and autodiff types, the host
//! kernels' views and element type, and the operation trait.

pub(super) use burn::backend::Autodiff;
pub(super) use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
pub(super) use burn::tensor::backend::Backend;
pub(super) use burn::tensor::ops::{FloatTensor, IntTensor};
pub(super) use burn::tensor::{DType, Int, Shape, Tensor, TensorMetadata};

#[cfg(host_kernels)]
pub(super) use super::host::math::Real;
#[cfg(host_kernels)]
pub(super) use super::host::{HostBackend, HostKernel, read, read_ids, write};

pub(super) use super::operation::{Forward, FusedOperation, OperationInputs, operation_inputs};
pub(super) use super::{RecurrenceBackend, float, primitive};
