//! The recurrence with the output layer and the loss at every step, as one operation: the
//! training pass of pattern 1's top layer, `L(t) = −log softmax(c + V h(t))[y(t)]` with
//! `h(t) = tanh(p(t) + h(t-1) · W)`.

#[cfg(host_kernels)]
pub(crate) mod kernel;

use super::prelude::*;
use burn::tensor::backend::AutodiffBackend;

#[cfg(host_kernels)]
use super::recurrence::kernel::RecurrenceShape;
use super::{output_loss, recurrence};

/// The fused recurrence, output layer and loss.
#[derive(Debug)]
pub struct Operation;

operation_inputs! {
    /// What the operation reads.
    Input {
        /// `p(1) … p(τ)`, `[time, batch, d_hidden]`.
        projected,
        /// `h(0)`, `[batch, d_hidden]`.
        initial,
        /// `W`, `[d_hidden, d_hidden]`.
        weight,
        /// `V`, `[d_hidden, classes]`.
        output_weight,
        /// `c`, `[classes]`.
        output_bias,
        ;
        /// `y(t)`, `[time · batch]`, time-major, class ids below `classes`.
        targets: IntTensor<B>,
    }
    /// The gradients of the inputs, shaped as the inputs.
    Gradients;
}

/// What the forward pass keeps for the backward pass.
#[derive(Debug, Clone)]
pub struct Saved<B: Backend> {
    /// `h(1) … h(τ)`, `[time, batch, d_hidden]`.
    pub states: FloatTensor<B>,
    /// Every loss's logits gradient `softmax(o) − onehot(y)`, `[time · batch, classes]`.
    pub logits_gradient: FloatTensor<B>,
    /// `h(0)`.
    pub initial: FloatTensor<B>,
    /// `W`.
    pub weight: FloatTensor<B>,
    /// `V`.
    pub output_weight: FloatTensor<B>,
}

impl FusedOperation<PARENTS> for Operation {
    /// The final state `h(τ)`, `[batch, d_hidden]`: it carries no gradient.
    type Constants<B: Backend> = FloatTensor<B>;
    type Saved<B: Backend> = Saved<B>;

    /// The recurrence, then the output layer and loss, each by the backend's own method.
    fn forward<B: RecurrenceBackend>(input: Input<B>, keep: bool) -> Forward<B, Self, PARENTS> {
        let [time, batch, d_hidden] = input.projected.shape().dims();
        let states = B::tanh_recurrence_forward(
            recurrence::Input {
                projected: input.projected,
                initial: input.initial.clone(),
                weight: input.weight.clone(),
                lengths: None,
            },
            false,
        )
        .output;
        let final_state = primitive(
            float::<B, 3>(states.clone())
                .narrow(0, time - 1, 1)
                .reshape([batch, d_hidden]),
        );
        let rows = B::float_reshape(states.clone(), Shape::new([time * batch, d_hidden]));
        let losses = B::output_loss_forward(
            output_loss::Input {
                hidden: rows,
                weight: input.output_weight.clone(),
                bias: input.output_bias,
                targets: input.targets,
            },
            keep,
        );
        Forward {
            output: losses.output,
            constants: final_state,
            saved: losses.saved.map(|kept| Saved {
                states,
                logits_gradient: kept.logits_gradient,
                initial: input.initial,
                weight: input.weight,
                output_weight: input.output_weight,
            }),
        }
    }

    /// The output layer's and loss's backward, then BPTT, each by the backend's own method.
    fn backward<B: RecurrenceBackend>(
        saved: Saved<B>,
        loss_gradient: FloatTensor<B>,
    ) -> Gradients<B> {
        let shape = saved.states.shape();
        let [time, batch, d_hidden] = shape.dims();
        let rows = B::float_reshape(saved.states.clone(), Shape::new([time * batch, d_hidden]));
        let output = B::output_loss_backward(
            output_loss::Saved {
                hidden: rows,
                weight: saved.output_weight,
                logits_gradient: saved.logits_gradient,
            },
            loss_gradient,
        );
        let recurrence = B::tanh_recurrence_backward(
            recurrence::Saved {
                states: saved.states,
                initial: saved.initial,
                weight: saved.weight,
                lengths: None,
            },
            B::float_reshape(output.hidden, shape),
        );
        Gradients {
            projected: recurrence.projected,
            initial: recurrence.initial,
            weight: recurrence.weight,
            output_weight: output.weight,
            output_bias: output.bias,
        }
    }

    fn outer_constants<B: Backend, C: CheckpointStrategy>(
        final_state: FloatTensor<B>,
    ) -> FloatTensor<Autodiff<B, C>> {
        <Autodiff<B, C> as AutodiffBackend>::from_inner(final_state)
    }
}

#[cfg(host_kernels)]
impl HostKernel<PARENTS> for Operation {
    fn forward<B: HostBackend, E: Real>(input: Input<B>, keep: bool) -> Forward<B, Self, PARENTS> {
        let device = B::float_device(&input.projected);
        let shape = input.projected.shape();
        let dims = RecurrenceShape::of_blocks(&shape, 1);
        let classes = input.output_bias.shape().num_elements();
        let (losses, final_state, saved) = kernel::forward::<E>(
            read::<B, E>(input.projected),
            &B::view::<E>(&input.initial),
            &B::view::<E>(&input.weight),
            &B::view::<E>(&input.output_weight),
            &B::view::<E>(&input.output_bias),
            &read_ids::<B>(input.targets),
            dims,
        );
        let rows = dims.time * dims.batch;
        Forward {
            output: write::<B, E>(losses, Shape::new([rows]), &device),
            constants: write::<B, E>(final_state, Shape::new([dims.batch, dims.hidden]), &device),
            saved: keep.then(|| Saved {
                states: write::<B, E>(saved.states, shape, &device),
                logits_gradient: write::<B, E>(
                    saved.logits_gradient,
                    Shape::new([rows, classes]),
                    &device,
                ),
                initial: input.initial,
                weight: input.weight,
                output_weight: input.output_weight,
            }),
        }
    }

    fn backward<B: HostBackend, E: Real>(
        saved: Saved<B>,
        loss_gradient: FloatTensor<B>,
    ) -> Gradients<B> {
        let device = B::float_device(&saved.states);
        let shapes = [
            saved.states.shape(),
            saved.initial.shape(),
            saved.weight.shape(),
            saved.output_weight.shape(),
        ];
        let classes = shapes[3].dims::<2>()[1];
        let gradients = kernel::backward::<E>(
            kernel::Saved {
                states: read::<B, E>(saved.states),
                logits_gradient: read::<B, E>(saved.logits_gradient),
            },
            &B::view::<E>(&saved.initial),
            &B::view::<E>(&saved.weight),
            &B::view::<E>(&saved.output_weight),
            &B::view::<E>(&loss_gradient),
            RecurrenceShape::of_blocks(&shapes[0], 1),
        );
        let [states, initial, weight, output_weight] = shapes;
        Gradients {
            projected: write::<B, E>(gradients.projected, states, &device),
            initial: write::<B, E>(gradients.initial, initial, &device),
            weight: write::<B, E>(gradients.weight, weight, &device),
            output_weight: write::<B, E>(gradients.output_weight, output_weight, &device),
            output_bias: write::<B, E>(gradients.output_bias, Shape::new([classes]), &device),
        }
    }
}

/// The fused recurrence, output layer and loss on tensors: `projected` `[time, batch, d_hidden]`,
/// `initial` `[batch, d_hidden]`, `weight` `[d_hidden, d_hidden]`, `output_weight`
/// `[d_hidden, classes]`, `output_bias` `[classes]`, `targets` `[time · batch]` time-major.
///
/// Returns the losses `[time · batch]`, time-major, and the final state `h(τ)`
/// `[batch, d_hidden]`. The final state carries no gradient: autodiff sees one node whose
/// output is the losses.
pub fn tanh_recurrence_loss<B: RecurrenceBackend>(
    projected: Tensor<B, 3>,
    initial: Tensor<B, 2>,
    weight: Tensor<B, 2>,
    output_weight: Tensor<B, 2>,
    output_bias: Tensor<B, 1>,
    targets: Tensor<B, 1, Int>,
) -> (Tensor<B, 1>, Tensor<B, 2>) {
    let input = Input {
        projected: primitive(projected),
        initial: primitive(initial),
        weight: primitive(weight),
        output_weight: primitive(output_weight),
        output_bias: primitive(output_bias),
        targets: targets.into_primitive(),
    };
    let forward = B::recurrence_loss_forward(input, false);
    (float(forward.output), float(forward.constants))
}
