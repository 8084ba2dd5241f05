//! Fused operations: the tanh recurrence, softmax cross-entropy and the token lookup, each one
//! operation with a hand-written backward, as a Burn backend extension.
//!
//! The recurrence is `h(t) = tanh(p(t) + h(t-1) · W)` over all steps at once, where
//! `p(t) = b + U x(t)` has been computed for every step beforehand. Under autodiff it runs on the
//! inner backend, building no graph per step and keeping only the hidden states; its backward
//! is the textbook's BPTT recursion, registered as a single autodiff node:
//!
//! - `δa(t) = (∂L/∂h(t) + δa(t+1) · Wᵀ) ⊙ (1 − h(t)²)`, from `t = τ` down to 1;
//! - `∂L/∂p(t) = δa(t)`, `∂L/∂h(0) = δa(1) · Wᵀ`;
//! - `∂L/∂W = Σ_t h(t-1)ᵀ δa(t)`, one matrix product over all steps instead of τ small ones.
//!
//! Autodiff still drives everything around these operations (`U`, `b`, the output layer,
//! stacked layers), so gradients reach every parameter.
//!
//! Each operation is declared once, in a module of its own ([`mod@tanh`], [`recurrence`],
//! [`mod@cross_entropy`], [`output_loss`], [`recurrence_loss`], [`lookup`], [`lstm`], [`gru`],
//! [`projection`], [`join`], and [`pair`]'s three: both directions of a bidirectional layer at
//! once, each on half of the cores): its
//! inputs, listed once (a macro declares the `Input` and `Gradients` structs from the list, and
//! [`OperationInputs`], how autodiff sees them), what its forward pass saves, both passes from Burn's
//! tensor operations ([`FusedOperation`], what the GPU backends run), the host kernel the CPU
//! backends (flex, ndarray) run instead (the batch split over the cores for the whole time loop,
//! the `gemm` crate's matrix products, vectorised tanh and exp), and a function on tensors.
//! One registry line per operation gives [`RecurrenceBackend`] its two methods and every backend
//! its implementation; autodiff wraps every operation in one graph node the same way. Tests hold
//! the kernels and the generic passes to the same values and gradients.

pub mod adam;
mod autodiff;
pub mod cross_entropy;
pub mod dropout;
#[cfg(all(test, feature = "ndarray"))]
mod generic_and_host;
pub mod gru;
#[cfg(host_kernels)]
mod host;
pub mod join;
pub mod lookup;
pub mod lstm;
mod operation;
pub mod output_loss;
pub mod pair;
mod pool;
mod prelude;
pub mod projection;
pub mod recurrence;
pub mod recurrence_loss;
pub mod rollout;
pub mod squared_norm;
pub mod tanh;
#[cfg(test)]
mod test_values;

use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorPrimitive};

pub use adam::{AdamConstants, AdamStep, AdamUpdate};
pub use cross_entropy::row_cross_entropy;
pub use gru::gru_recurrence;
pub use join::join_directions;
pub use join::stacked as join_stacked;
pub use join::stacked::join_stacked_directions;
pub use lookup::lookup_rows;
pub use lstm::lstm_recurrence;
pub use operation::{Forward, FusedOperation, OperationInputs, RecurrenceBackend};
pub use output_loss::output_row_cross_entropy;
pub use pair::{gru as gru_pair, lstm as lstm_pair, tanh as tanh_pair};
pub use pool::on_pool;
pub use projection::project_rows;
pub use recurrence::tanh_recurrence;
pub use recurrence_loss::tanh_recurrence_loss;
pub use rollout::FeedingPlan;
pub use tanh::tanh;

/// The logistic function as `(1 + tanh(x/2)) / 2` on Burn's operations: exact, stable for any
/// `x`, and in the tensor's own precision (Burn's `sigmoid` computes in f32 whatever the element
/// type). The gated cells and the generic passes of their fused operations use it.
pub(crate) fn sigmoid<B: Backend>(x: Tensor<B, 2>) -> Tensor<B, 2> {
    (x / 2.0).tanh() / 2.0 + 0.5
}

/// A float primitive as a tensor of rank `D`.
fn float<B: Backend, const D: usize>(primitive: FloatTensor<B>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(primitive))
}

/// A float tensor's primitive.
fn primitive<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> FloatTensor<B> {
    tensor.into_primitive().tensor()
}
