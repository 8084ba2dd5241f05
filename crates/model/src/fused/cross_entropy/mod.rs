//! The softmax cross-entropy, `−log softmax(o(n))[target(n)]` per row, with its backward from the
//! kept `softmax(o(n)) − onehot(target(n))`.

#[cfg(host_kernels)]
pub(crate) mod kernel;

use super::prelude::*;
use burn::tensor::activation::log_softmax;

/// The fused softmax cross-entropy.
#[derive(Debug)]
pub struct Operation;

operation_inputs! {
    /// What the cross-entropy reads.
    Input {
        /// `o`, `[rows, classes]`.
        logits,
        ;
        /// Class ids below `classes`, `[rows]`.
        targets: IntTensor<B>,
    }
    /// `∂L/∂o`.
    Gradients;
}

impl FusedOperation<PARENTS> for Operation {
    type Constants<B: Backend> = ();
    /// Each loss's gradient with respect to its logits, `softmax(o(n)) − onehot(target(n))`,
    /// `[rows, classes]`.
    type Saved<B: Backend> = FloatTensor<B>;

    fn forward<B: RecurrenceBackend>(input: Input<B>, keep: bool) -> Forward<B, Self, PARENTS> {
        let targets = Tensor::<B, 1, Int>::from_primitive(input.targets);
        let (losses, gradient) = losses_and_gradient(float(input.logits), targets, keep);
        Forward {
            output: losses,
            constants: (),
            saved: gradient,
        }
    }

    /// The kept logits gradient, each row scaled by its loss's gradient `[rows]`.
    fn backward<B: RecurrenceBackend>(
        logits_gradient: FloatTensor<B>,
        loss_gradient: FloatTensor<B>,
    ) -> Gradients<B> {
        let logits_gradient = float::<B, 2>(logits_gradient);
        let [rows, _] = logits_gradient.dims();
        let logits = logits_gradient * float::<B, 1>(loss_gradient).reshape([rows, 1]);
        Gradients {
            logits: primitive(logits),
        }
    }

    fn outer_constants<B: Backend, C: CheckpointStrategy>(_: ()) {}
}

/// `(−log softmax(o(n))[target(n)], log Σ_k exp(o(n)_k))` for every row of `logits`
/// (`[rows, classes]`, `targets` `[rows]`), both `[rows]`, from Burn's log-softmax.
pub(crate) fn log_softmax_losses<B: Backend>(
    logits: Tensor<B, 2>,
    targets: Tensor<B, 1, Int>,
) -> (Tensor<B, 1>, Tensor<B, 1>) {
    let [rows, _] = logits.dims();
    let log_probabilities = log_softmax(logits.clone(), 1);
    let picked = log_probabilities
        .clone()
        .gather(1, targets.reshape([rows, 1]))
        .reshape([rows]);
    // log Σ exp(o) = o_k − log softmax(o)_k for any k; the first column will do.
    let normalizers = (logits.narrow(1, 0, 1) - log_probabilities.narrow(1, 0, 1)).reshape([rows]);
    (picked.neg(), normalizers)
}

/// The losses `[rows]` of `logits` (`[rows, classes]`) and, when `keep`, each loss's gradient
/// with respect to its logits, `softmax(o(n)) − onehot(target(n))`: the generic forward pass of
/// this operation and of the fused output layer and loss.
pub(crate) fn losses_and_gradient<B: Backend>(
    logits: Tensor<B, 2>,
    targets: Tensor<B, 1, Int>,
    keep: bool,
) -> (FloatTensor<B>, Option<FloatTensor<B>>) {
    let [rows, _] = logits.dims();
    let (losses, normalizers) = log_softmax_losses(logits.clone(), targets.clone());
    let gradient = keep.then(|| {
        let ones = Tensor::ones([rows], &losses.device());
        primitive(logits_gradient(logits, targets, normalizers, ones))
    });
    (primitive(losses), gradient)
}

/// `g(n) · (softmax(o(n)) − onehot(target(n)))`, `[rows, classes]`.
fn logits_gradient<B: Backend>(
    logits: Tensor<B, 2>,
    targets: Tensor<B, 1, Int>,
    normalizers: Tensor<B, 1>,
    loss_gradient: Tensor<B, 1>,
) -> Tensor<B, 2> {
    let [rows, classes] = logits.dims();
    let probabilities = (logits - normalizers.reshape([rows, 1])).exp();
    let onehot = targets.one_hot::<2>(classes).float();
    (probabilities - onehot) * loss_gradient.reshape([rows, 1])
}

#[cfg(host_kernels)]
impl HostKernel<PARENTS> for Operation {
    fn forward<B: HostBackend, E: Real>(input: Input<B>, keep: bool) -> Forward<B, Self, PARENTS> {
        let device = B::float_device(&input.logits);
        let shape = input.logits.shape();
        let [rows, classes] = shape.dims();
        let targets = read_ids::<B>(input.targets);
        if keep {
            // The logits turn into their gradient in place.
            let mut gradient = read::<B, E>(input.logits);
            let losses = kernel::forward_into_gradient::<E>(&mut gradient, &targets, classes);
            return Forward {
                output: write::<B, E>(losses, Shape::new([rows]), &device),
                constants: (),
                saved: Some(write::<B, E>(gradient, shape, &device)),
            };
        }
        let losses = kernel::forward::<E>(&B::view::<E>(&input.logits), &targets, classes);
        Forward {
            output: write::<B, E>(losses, Shape::new([rows]), &device),
            constants: (),
            saved: None,
        }
    }

    fn backward<B: HostBackend, E: Real>(
        logits_gradient: FloatTensor<B>,
        loss_gradient: FloatTensor<B>,
    ) -> Gradients<B> {
        let device = B::float_device(&logits_gradient);
        let shape = logits_gradient.shape();
        let classes = shape.dims::<2>()[1];
        let mut gradient = read::<B, E>(logits_gradient);
        kernel::scale_rows(&mut gradient, &B::view::<E>(&loss_gradient), classes);
        Gradients {
            logits: write::<B, E>(gradient, shape, &device),
        }
    }
}

/// The fused softmax cross-entropy: `logits` `[rows, classes]`, `targets` `[rows]`; returns
/// `−log softmax(o(n))[target(n)]`, `[rows]`.
pub fn row_cross_entropy<B: RecurrenceBackend>(
    logits: Tensor<B, 2>,
    targets: Tensor<B, 1, Int>,
) -> Tensor<B, 1> {
    let input = Input {
        logits: primitive(logits),
        targets: targets.into_primitive(),
    };
    float(B::cross_entropy_forward(input, false).output)
}
