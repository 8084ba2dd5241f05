//! The output layer and the loss in one operation: `−log softmax(h(n) · V + c)[target(n)]` per
//! row, the logits never materialised batch-first.
//!
//! `h` may hold rows past the targets' (a recurrence's output with its final state appended,
//! as the fused LSTM returns `h(1) … h(τ)` then `c(τ)`): they are read by nothing and their
//! gradient is zero, so such an output feeds the loss without a copy either way.

#[cfg(host_kernels)]
pub(crate) mod kernel;

use super::prelude::*;

use super::cross_entropy::losses_and_gradient;

/// The fused output layer and loss.
#[derive(Debug)]
pub struct Operation;

operation_inputs! {
    /// What the output layer and loss read.
    Input {
        /// `h`, `[rows + extra, d_hidden]`: the first `rows` are scored, any `extra` ignored.
        hidden,
        /// `V` stored `[d_hidden, classes]`.
        weight,
        /// `c`, `[classes]`.
        bias,
        ;
        /// Class ids below `classes`, `[rows]`.
        targets: IntTensor<B>,
    }
    /// `∂L/∂h`, `∂L/∂V` and `∂L/∂c`.
    Gradients;
}

/// What the forward pass keeps for the backward pass.
#[derive(Debug, Clone)]
pub struct Saved<B: Backend> {
    /// `h`, `[rows + extra, d_hidden]`.
    pub hidden: FloatTensor<B>,
    /// `V`, `[d_hidden, classes]`.
    pub weight: FloatTensor<B>,
    /// Each loss's gradient with respect to its logits, `softmax(o(n)) − onehot(target(n))`,
    /// `[rows, classes]`.
    pub logits_gradient: FloatTensor<B>,
}

impl FusedOperation<PARENTS> for Operation {
    type Constants<B: Backend> = ();
    type Saved<B: Backend> = Saved<B>;

    fn forward<B: RecurrenceBackend>(input: Input<B>, keep: bool) -> Forward<B, Self, PARENTS> {
        let targets = Tensor::<B, 1, Int>::from_primitive(input.targets);
        let hidden = float::<B, 2>(input.hidden.clone()).narrow(0, 0, targets.dims()[0]);
        let weight = float::<B, 2>(input.weight.clone());
        let logits = hidden.matmul(weight) + float::<B, 1>(input.bias).unsqueeze::<2>();
        let (losses, gradient) = losses_and_gradient(logits, targets, keep);
        Forward {
            output: losses,
            constants: (),
            saved: gradient.map(|logits_gradient| Saved {
                hidden: input.hidden,
                weight: input.weight,
                logits_gradient,
            }),
        }
    }

    fn backward<B: RecurrenceBackend>(
        saved: Saved<B>,
        loss_gradient: FloatTensor<B>,
    ) -> Gradients<B> {
        let logits_gradient = float::<B, 2>(saved.logits_gradient);
        let [rows, classes] = logits_gradient.dims();
        let logits_gradient = logits_gradient * float::<B, 1>(loss_gradient).reshape([rows, 1]);
        let hidden = float::<B, 2>(saved.hidden);
        let [all_rows, d_hidden] = hidden.dims();
        let mut hidden_gradient = logits_gradient
            .clone()
            .matmul(float::<B, 2>(saved.weight).transpose());
        if all_rows > rows {
            let device = hidden_gradient.device();
            let extra = Tensor::zeros([all_rows - rows, d_hidden], &device);
            hidden_gradient = Tensor::cat(vec![hidden_gradient, extra], 0);
        }
        Gradients {
            hidden: primitive(hidden_gradient),
            weight: primitive(
                hidden
                    .narrow(0, 0, rows)
                    .transpose()
                    .matmul(logits_gradient.clone()),
            ),
            bias: primitive(logits_gradient.sum_dim(0).reshape([classes])),
        }
    }

    fn outer_constants<B: Backend, C: CheckpointStrategy>(_: ()) {}
}

#[cfg(host_kernels)]
/// The kernel's sizes from the number of targets and `h`'s and `V`'s shapes.
fn dims_of(rows: usize, hidden: &Shape, weight: &Shape) -> kernel::OutputShape {
    let d_hidden = hidden.dims::<2>()[1];
    kernel::OutputShape {
        rows,
        hidden: d_hidden,
        classes: weight.dims::<2>()[1],
    }
}

#[cfg(host_kernels)]
impl HostKernel<PARENTS> for Operation {
    fn forward<B: HostBackend, E: Real>(input: Input<B>, keep: bool) -> Forward<B, Self, PARENTS> {
        let device = B::float_device(&input.hidden);
        let targets = read_ids::<B>(input.targets);
        let dims = dims_of(targets.len(), &input.hidden.shape(), &input.weight.shape());
        let (losses, gradient) = kernel::forward::<E>(
            &B::view::<E>(&input.hidden),
            &B::view::<E>(&input.weight),
            &B::view::<E>(&input.bias),
            &targets,
            dims,
            keep,
        );
        let saved = gradient.map(|gradient| Saved {
            hidden: input.hidden,
            weight: input.weight,
            logits_gradient: write::<B, E>(
                gradient,
                Shape::new([dims.rows, dims.classes]),
                &device,
            ),
        });
        Forward {
            output: write::<B, E>(losses, Shape::new([dims.rows]), &device),
            constants: (),
            saved,
        }
    }

    fn backward<B: HostBackend, E: Real>(
        saved: Saved<B>,
        loss_gradient: FloatTensor<B>,
    ) -> Gradients<B> {
        let device = B::float_device(&saved.hidden);
        let (hidden_shape, weight_shape) = (saved.hidden.shape(), saved.weight.shape());
        let rows = saved.logits_gradient.shape().dims::<2>()[0];
        let dims = dims_of(rows, &hidden_shape, &weight_shape);
        let (hidden, weight, bias) = kernel::backward::<E>(
            &B::view::<E>(&saved.hidden),
            &B::view::<E>(&saved.weight),
            read::<B, E>(saved.logits_gradient),
            &B::view::<E>(&loss_gradient),
            dims,
        );
        Gradients {
            hidden: write::<B, E>(hidden, hidden_shape, &device),
            weight: write::<B, E>(weight, weight_shape, &device),
            bias: write::<B, E>(bias, Shape::new([dims.classes]), &device),
        }
    }
}

/// The fused output layer and loss: `hidden` `[rows + extra, d_hidden]` (any `extra` rows past
/// the targets' are ignored, with zero gradient), `weight` `[d_hidden, classes]`, `bias`
/// `[classes]`, `targets` `[rows]`; returns `−log softmax(h(n) · V + c)[target(n)]`, `[rows]`.
pub fn output_row_cross_entropy<B: RecurrenceBackend>(
    hidden: Tensor<B, 2>,
    weight: Tensor<B, 2>,
    bias: Tensor<B, 1>,
    targets: Tensor<B, 1, Int>,
) -> Tensor<B, 1> {
    let input = Input {
        hidden: primitive(hidden),
        weight: primitive(weight),
        bias: primitive(bias),
        targets: targets.into_primitive(),
    };
    float(B::output_loss_forward(input, false).output)
}

#[cfg(all(test, feature = "ndarray"))]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    use burn::tensor::TensorData;

    use crate::fused::test_values::{assert_same, tensor, values};

    type B = NdArray<f64>;

    /// Rows of `h` past the targets' change no loss and get a zero gradient, on the generic
    /// passes and the host kernel alike; the rows scored get what they get alone.
    #[test]
    fn rows_past_the_targets_are_ignored_with_zero_gradient() {
        let [rows, extra, d_hidden, classes] = [6, 2, 4, 5];
        let device = Default::default();
        let hidden = tensor([rows + extra, d_hidden], 1);
        let input = |with_extra: bool| Input::<B> {
            hidden: primitive(if with_extra {
                hidden.clone()
            } else {
                hidden.clone().narrow(0, 0, rows)
            }),
            weight: primitive(tensor([d_hidden, classes], 2)),
            bias: primitive(tensor([classes], 3)),
            targets: Tensor::<B, 1, Int>::from_data(
                TensorData::from([0i64, 4, 2, 1, 3, 4]),
                &device,
            )
            .into_primitive(),
        };
        let loss_gradient = || primitive(tensor([rows], 4));
        let generic = |with_extra| {
            let forward =
                <Operation as FusedOperation<PARENTS>>::forward::<B>(input(with_extra), true);
            let gradients = <Operation as FusedOperation<PARENTS>>::backward::<B>(
                forward.saved.expect("kept"),
                loss_gradient(),
            );
            (values::<1>(forward.output), gradients)
        };
        let host = |with_extra| {
            let forward = B::output_loss_forward(input(with_extra), true);
            let gradients = B::output_loss_backward(forward.saved.expect("kept"), loss_gradient());
            (values::<1>(forward.output), gradients)
        };
        let (alone_losses, alone) = host(false);
        let alone_hidden = values::<2>(alone.hidden);
        let alone_weight = values::<2>(alone.weight);
        for (name, (losses, gradients)) in [("generic", generic(true)), ("host", host(true))] {
            let hidden = values::<2>(gradients.hidden);
            assert_eq!(
                hidden.len(),
                (rows + extra) * d_hidden,
                "{name}: ∂L/∂h's shape"
            );
            assert!(
                hidden[rows * d_hidden..].iter().all(|&g| g == 0.0),
                "{name}: the extra rows' gradient"
            );
            assert_same(
                name,
                vec![
                    ("losses", losses, alone_losses.clone()),
                    (
                        "∂L/∂h",
                        hidden[..rows * d_hidden].to_vec(),
                        alone_hidden.clone(),
                    ),
                    ("∂L/∂V", values::<2>(gradients.weight), alone_weight.clone()),
                ],
            );
        }
    }
}
