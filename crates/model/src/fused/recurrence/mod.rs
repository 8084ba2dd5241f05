//! `h(t) = tanh(p(t) + h(t-1) · W)` for `t = 1 … τ`, over all steps at once, and its BPTT.

#[cfg(host_kernels)]
pub(crate) mod kernel;

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
#[cfg(host_kernels)]
use burn::tensor::{DType, Shape, TensorMetadata};

#[cfg(host_kernels)]
use self::kernel::RecurrenceShape;
#[cfg(host_kernels)]
use super::host::math::Real;
#[cfg(host_kernels)]
use super::host::{HostKernel, HostView, read, write};
use super::operation::{Forward, FusedOperation};
use super::{RecurrenceBackend, float, primitive, tanh};

/// The fused tanh recurrence.
#[derive(Debug)]
pub struct Operation;

/// What the recurrence reads.
#[derive(Debug)]
pub struct Input<B: Backend> {
    /// `p(1) … p(τ)`, time-major `[time, batch, d_hidden]`.
    pub projected: FloatTensor<B>,
    /// `h(0)`, `[batch, d_hidden]`.
    pub initial: FloatTensor<B>,
    /// `W` stored `[d_hidden, d_hidden]`.
    pub weight: FloatTensor<B>,
}

/// What the forward pass keeps for BPTT.
#[derive(Debug, Clone)]
pub struct Saved<B: Backend> {
    /// `h(1) … h(τ)`, `[time, batch, d_hidden]`.
    pub states: FloatTensor<B>,
    /// `h(0)`.
    pub initial: FloatTensor<B>,
    /// `W`.
    pub weight: FloatTensor<B>,
}

/// `∂L/∂p`, `∂L/∂h(0)` and `∂L/∂W`, shaped as the inputs.
#[derive(Debug)]
pub struct Gradients<B: Backend> {
    /// `∂L/∂p`, `[time, batch, d_hidden]`.
    pub projected: FloatTensor<B>,
    /// `∂L/∂h(0)`, `[batch, d_hidden]`.
    pub initial: FloatTensor<B>,
    /// `∂L/∂W`, `[d_hidden, d_hidden]`.
    pub weight: FloatTensor<B>,
}

impl FusedOperation<3> for Operation {
    type Input<B: Backend> = Input<B>;
    type Constants<B: Backend> = ();
    type Saved<B: Backend> = Saved<B>;
    type Gradients<B: Backend> = Gradients<B>;

    /// A loop of backend operations (slicing is cheap on a backend without autodiff, and no
    /// graph is built).
    fn forward<B: RecurrenceBackend>(input: Input<B>, keep: bool) -> Forward<B, Self, 3> {
        let projected = float::<B, 3>(input.projected);
        let weight = float::<B, 2>(input.weight.clone());
        let [time, batch, d_hidden] = projected.dims();
        let mut hidden = float::<B, 2>(input.initial.clone());
        let mut states = Vec::with_capacity(time);
        for t in 0..time {
            let p = projected.clone().narrow(0, t, 1).reshape([batch, d_hidden]);
            hidden = tanh(p + hidden.matmul(weight.clone()));
            states.push(hidden.clone());
        }
        let states = primitive(Tensor::stack::<3>(states, 0));
        kept(states, input.initial, input.weight, keep)
    }

    /// BPTT, one step at a time.
    fn backward<B: RecurrenceBackend>(
        saved: Saved<B>,
        output_gradient: FloatTensor<B>,
    ) -> Gradients<B> {
        let states = float::<B, 3>(saved.states);
        let output_gradient = float::<B, 3>(output_gradient);
        let [time, batch, d_hidden] = states.dims();
        let weight_transposed = float::<B, 2>(saved.weight).transpose();
        let step = |tensor: &Tensor<B, 3>, t: usize| {
            tensor.clone().narrow(0, t, 1).reshape([batch, d_hidden])
        };
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
        let initial = float::<B, 2>(saved.initial).unsqueeze::<3>();
        let previous = if time > 1 {
            Tensor::cat(vec![initial, states.narrow(0, 0, time - 1)], 0)
        } else {
            initial
        };
        let rows = time * batch;
        let weight = previous
            .reshape([rows, d_hidden])
            .transpose()
            .matmul(delta.clone().reshape([rows, d_hidden]));
        Gradients {
            projected: primitive(delta),
            initial: primitive(carried.expect("at least one step")),
            weight: primitive(weight),
        }
    }

    fn parents<B: Backend, C: CheckpointStrategy>(
        input: &Input<Autodiff<B, C>>,
    ) -> [&FloatTensor<Autodiff<B, C>>; 3] {
        [&input.projected, &input.initial, &input.weight]
    }

    fn inner<B: Backend, C: CheckpointStrategy>(input: Input<Autodiff<B, C>>) -> Input<B> {
        Input {
            projected: input.projected.primitive,
            initial: input.initial.primitive,
            weight: input.weight.primitive,
        }
    }

    fn outer_constants<B: Backend, C: CheckpointStrategy>(_: ()) {}

    fn parent_gradients<B: Backend>(gradients: Gradients<B>) -> [FloatTensor<B>; 3] {
        [gradients.projected, gradients.initial, gradients.weight]
    }
}

/// The states, and what BPTT needs when asked.
fn kept<B: Backend>(
    states: FloatTensor<B>,
    initial: FloatTensor<B>,
    weight: FloatTensor<B>,
    keep: bool,
) -> Forward<B, Operation, 3> {
    Forward {
        saved: keep.then(|| Saved {
            states: states.clone(),
            initial,
            weight,
        }),
        output: states,
        constants: (),
    }
}

#[cfg(host_kernels)]
/// The kernel's sizes from the states' shape `[time, batch, d_hidden]`.
pub(crate) fn dims_of(shape: &Shape) -> RecurrenceShape {
    let [time, batch, hidden] = shape.dims();
    RecurrenceShape {
        time,
        batch,
        hidden,
    }
}

#[cfg(host_kernels)]
impl HostKernel<3> for Operation {
    fn dtype<B: Backend>(input: &Input<B>) -> DType {
        input.projected.dtype()
    }

    fn forward<B: HostView, E: Real>(input: Input<B>, keep: bool) -> Forward<B, Self, 3> {
        let device = B::float_device(&input.projected);
        let shape = input.projected.shape();
        let states = kernel::forward::<E>(
            read::<B, E>(input.projected),
            &B::view::<E>(&input.initial),
            &B::view::<E>(&input.weight),
            dims_of(&shape),
        );
        kept(
            write::<B, E>(states, shape, &device),
            input.initial,
            input.weight,
            keep,
        )
    }

    fn backward<B: HostView, E: Real>(
        saved: Saved<B>,
        output_gradient: FloatTensor<B>,
    ) -> Gradients<B> {
        let device = B::float_device(&saved.states);
        let shapes = (
            saved.states.shape(),
            saved.initial.shape(),
            saved.weight.shape(),
        );
        let (projected, initial, weight) = kernel::backward::<E>(
            &B::view::<E>(&saved.states),
            &B::view::<E>(&saved.initial),
            &B::view::<E>(&saved.weight),
            read::<B, E>(output_gradient),
            dims_of(&shapes.0),
        );
        Gradients {
            projected: write::<B, E>(projected, shapes.0, &device),
            initial: write::<B, E>(initial, shapes.1, &device),
            weight: write::<B, E>(weight, shapes.2, &device),
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
    let input = Input {
        projected: primitive(projected),
        initial: primitive(initial),
        weight: primitive(weight),
    };
    float(B::tanh_recurrence_forward(input, false).output)
}
