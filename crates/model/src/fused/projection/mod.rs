//! A layer's input projection over every step at once, `y = x · W + b`, and its backward: on
//! the CPU backends by the `gemm` crate on every core. Above the first layer of a stack this is
//! a large product (`[time · batch, d_input] · [d_input, gates · H]`), a third to a half of a
//! training step's FLOPs; Burn's flex backend ran it at about half the rate of the same product
//! by the `gemm` crate on this project's hosts (BENCHMARKS.md).

#[cfg(host_kernels)]
mod kernel;

use super::prelude::*;

/// The fused input projection.
#[derive(Debug)]
pub struct Operation;

operation_inputs! {
    /// What the projection reads.
    Input {
        /// `x`, `[rows, d_input]`.
        x,
        /// `W` stored `[d_input, d_output]`.
        weight,
        /// `b`, `[d_output]`.
        bias,
    }
    /// `∂L/∂x`, `∂L/∂W` and `∂L/∂b`, shaped as the inputs.
    Gradients;
}

/// What the forward pass keeps for the backward pass.
#[derive(Debug, Clone)]
pub struct Saved<B: Backend> {
    /// `x`.
    pub x: FloatTensor<B>,
    /// `W`.
    pub weight: FloatTensor<B>,
}

impl FusedOperation<PARENTS> for Operation {
    type Constants<B: Backend> = ();
    type Saved<B: Backend> = Saved<B>;

    fn forward<B: RecurrenceBackend>(input: Input<B>, keep: bool) -> Forward<B, Self, PARENTS> {
        let x = float::<B, 2>(input.x.clone());
        let weight = float::<B, 2>(input.weight.clone());
        let output = x.matmul(weight) + float::<B, 1>(input.bias).unsqueeze::<2>();
        Forward {
            output: primitive(output),
            constants: (),
            saved: keep.then_some(Saved {
                x: input.x,
                weight: input.weight,
            }),
        }
    }

    fn backward<B: RecurrenceBackend>(saved: Saved<B>, gradient: FloatTensor<B>) -> Gradients<B> {
        let gradient = float::<B, 2>(gradient);
        let x = float::<B, 2>(saved.x);
        let weight = float::<B, 2>(saved.weight);
        let width = gradient.dims()[1];
        Gradients {
            x: primitive(gradient.clone().matmul(weight.transpose())),
            weight: primitive(x.transpose().matmul(gradient.clone())),
            bias: primitive(gradient.sum_dim(0).reshape([width])),
        }
    }

    fn outer_constants<B: Backend, C: CheckpointStrategy>(_: ()) {}
}

#[cfg(host_kernels)]
impl HostKernel<PARENTS> for Operation {
    fn forward<B: HostBackend, E: Real>(input: Input<B>, keep: bool) -> Forward<B, Self, PARENTS> {
        let device = B::float_device(&input.x);
        let [rows, d_input] = input.x.shape().dims();
        let d_output = input.weight.shape().dims::<2>()[1];
        let output = kernel::forward(
            &B::view::<E>(&input.x),
            &B::view::<E>(&input.weight),
            &B::view::<E>(&input.bias),
            [rows, d_input],
        );
        Forward {
            output: write::<B, E>(output, Shape::new([rows, d_output]), &device),
            constants: (),
            saved: keep.then_some(Saved {
                x: input.x,
                weight: input.weight,
            }),
        }
    }

    fn backward<B: HostBackend, E: Real>(
        saved: Saved<B>,
        gradient: FloatTensor<B>,
    ) -> Gradients<B> {
        let device = B::float_device(&gradient);
        let [rows, d_input] = saved.x.shape().dims();
        let d_output = saved.weight.shape().dims::<2>()[1];
        let (x, weight) = (B::view::<E>(&saved.x), B::view::<E>(&saved.weight));
        let dy = B::view::<E>(&gradient);
        let (dx, dw, db) = kernel::backward(&x, &weight, &dy, [rows, d_input, d_output]);
        Gradients {
            x: write::<B, E>(dx, Shape::new([rows, d_input]), &device),
            weight: write::<B, E>(dw, Shape::new([d_input, d_output]), &device),
            bias: write::<B, E>(db, Shape::new([d_output]), &device),
        }
    }
}

/// The fused input projection `x · W + b`: `x` `[rows, d_input]`, `weight` `[d_input, d_output]`,
/// `bias` `[d_output]`; returns `[rows, d_output]`.
pub fn project_rows<B: RecurrenceBackend>(
    x: Tensor<B, 2>,
    weight: Tensor<B, 2>,
    bias: Tensor<B, 1>,
) -> Tensor<B, 2> {
    let input = Input {
        x: primitive(x),
        weight: primitive(weight),
        bias: primitive(bias),
    };
    float(B::projection_forward(input, false).output)
}
