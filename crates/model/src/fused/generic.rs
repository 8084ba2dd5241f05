//! The generic implementations of [`RecurrenceBackend`]'s operations, from the backend's own
//! tensor operations: what a backend without kernels of its own (the GPU backends) runs, and
//! the reference the host kernels are tested against.

use burn::tensor::activation::log_softmax;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

use super::{RecurrenceBackend, tanh};

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

/// `(−log softmax(o(n))[target(n)], log Σ_k exp(o(n)_k))` for every row of `logits`
/// (`[rows, classes]`, `targets` `[rows]`); both `[rows]`.
pub fn cross_entropy<B: Backend>(
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

/// `g(n) · (softmax(o(n)) − onehot(target(n)))`, `[rows, classes]`.
pub fn cross_entropy_backward<B: Backend>(
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

/// `∂L/∂table`, `[vocab, width]`, from the gradient of the looked-up rows (`[ids, width]`).
pub fn lookup_rows_backward<B: Backend>(
    ids: Tensor<B, 1, Int>,
    rows_gradient: Tensor<B, 2>,
    vocab: usize,
) -> Tensor<B, 2> {
    let width = rows_gradient.dims()[1];
    let zeros = Tensor::<B, 2>::zeros([vocab, width], &rows_gradient.device());
    Tensor::from_primitive(burn::tensor::TensorPrimitive::Float(B::float_select_add(
        zeros.into_primitive().tensor(),
        0,
        ids.into_primitive(),
        rows_gradient.into_primitive().tensor(),
    )))
}

/// `−log softmax(h(n) · V + c)[target(n)]` per row: `hidden` `[rows, d_hidden]`, `weight`
/// `[d_hidden, classes]`, `bias` `[classes]`, `targets` `[rows]`. Returns the losses `[rows]`
/// and, when `keep_gradient`, `softmax(o(n)) − onehot(target(n))`, `[rows, classes]`.
pub fn output_cross_entropy<B: Backend>(
    hidden: Tensor<B, 2>,
    weight: Tensor<B, 2>,
    bias: Tensor<B, 1>,
    targets: Tensor<B, 1, Int>,
    keep_gradient: bool,
) -> (Tensor<B, 1>, Option<Tensor<B, 2>>) {
    let [rows, _] = hidden.dims();
    let logits = hidden.matmul(weight) + bias.unsqueeze::<2>();
    let (losses, normalizers) = cross_entropy(logits.clone(), targets.clone());
    let gradient = keep_gradient.then(|| {
        cross_entropy_backward(
            logits,
            targets,
            normalizers,
            Tensor::ones([rows], &losses.device()),
        )
    });
    (losses, gradient)
}

/// `(∂L/∂h, ∂L/∂V, ∂L/∂c)` of [`output_cross_entropy`] from its kept logits gradient
/// `[rows, classes]` and the losses' gradient `[rows]`.
pub fn output_cross_entropy_backward<B: Backend>(
    hidden: Tensor<B, 2>,
    weight: Tensor<B, 2>,
    logits_gradient: Tensor<B, 2>,
    loss_gradient: Tensor<B, 1>,
) -> (Tensor<B, 2>, Tensor<B, 2>, Tensor<B, 1>) {
    let [rows, classes] = logits_gradient.dims();
    let logits_gradient = logits_gradient * loss_gradient.reshape([rows, 1]);
    (
        logits_gradient.clone().matmul(weight.transpose()),
        hidden.transpose().matmul(logits_gradient.clone()),
        logits_gradient.sum_dim(0).reshape([classes]),
    )
}

/// The same operations on backend primitives: the trait's default methods, and the fallback of
/// the host kernels for float types they do not cover.
pub mod on_primitives {
    use burn::tensor::backend::Backend;
    use burn::tensor::ops::{FloatTensor, IntTensor};
    use burn::tensor::{Int, Shape, Tensor, TensorMetadata};

    use super::super::{RecurrenceBackend, float, primitive};

    /// [`super::tanh_recurrence_loop`].
    pub fn tanh_recurrence<B: RecurrenceBackend>(
        projected: FloatTensor<B>,
        initial: FloatTensor<B>,
        weight: FloatTensor<B>,
    ) -> FloatTensor<B> {
        primitive(super::tanh_recurrence_loop::<B>(
            float(projected),
            float(initial),
            float(weight),
        ))
    }

    /// [`super::tanh_recurrence_backward`].
    pub fn tanh_recurrence_backward<B: Backend>(
        states: FloatTensor<B>,
        initial: FloatTensor<B>,
        weight: FloatTensor<B>,
        output_gradient: FloatTensor<B>,
    ) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
        let (projected, initial, weight) = super::tanh_recurrence_backward::<B>(
            float(states),
            float(initial),
            float(weight),
            float(output_gradient),
        );
        (primitive(projected), primitive(initial), primitive(weight))
    }

    /// [`super::cross_entropy`], and when `keep_gradient`, `softmax(o) − onehot(y)`.
    pub fn cross_entropy<B: Backend>(
        logits: FloatTensor<B>,
        targets: IntTensor<B>,
        keep_gradient: bool,
    ) -> (FloatTensor<B>, Option<FloatTensor<B>>) {
        let logits = float::<B, 2>(logits);
        let [rows, _] = logits.dims();
        let targets = Tensor::<B, 1, Int>::from_primitive(targets);
        let (losses, normalizers) = super::cross_entropy(logits.clone(), targets.clone());
        let gradient = keep_gradient.then(|| {
            let ones = Tensor::ones([rows], &losses.device());
            primitive(super::cross_entropy_backward(
                logits,
                targets,
                normalizers,
                ones,
            ))
        });
        (primitive(losses), gradient)
    }

    /// The kept logits gradient, each row scaled by its loss's gradient.
    pub fn cross_entropy_backward<B: Backend>(
        logits_gradient: FloatTensor<B>,
        loss_gradient: FloatTensor<B>,
    ) -> FloatTensor<B> {
        let logits_gradient = float::<B, 2>(logits_gradient);
        let [rows, _] = logits_gradient.dims();
        primitive(logits_gradient * float::<B, 1>(loss_gradient).reshape([rows, 1]))
    }

    /// [`super::lookup_rows_backward`].
    pub fn lookup_rows_backward<B: Backend>(
        ids: IntTensor<B>,
        rows_gradient: FloatTensor<B>,
        vocab: usize,
    ) -> FloatTensor<B> {
        primitive(super::lookup_rows_backward::<B>(
            Tensor::from_primitive(ids),
            float(rows_gradient),
            vocab,
        ))
    }

    /// [`super::output_cross_entropy`].
    pub fn output_cross_entropy<B: Backend>(
        hidden: FloatTensor<B>,
        weight: FloatTensor<B>,
        bias: FloatTensor<B>,
        targets: IntTensor<B>,
        keep_gradient: bool,
    ) -> (FloatTensor<B>, Option<FloatTensor<B>>) {
        let (losses, gradient) = super::output_cross_entropy::<B>(
            float(hidden),
            float(weight),
            float(bias),
            Tensor::from_primitive(targets),
            keep_gradient,
        );
        (primitive(losses), gradient.map(primitive))
    }

    /// [`super::output_cross_entropy_backward`].
    pub fn output_cross_entropy_backward<B: Backend>(
        hidden: FloatTensor<B>,
        weight: FloatTensor<B>,
        logits_gradient: FloatTensor<B>,
        loss_gradient: FloatTensor<B>,
    ) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
        let (hidden, weight, bias) = super::output_cross_entropy_backward::<B>(
            float(hidden),
            float(weight),
            float(logits_gradient),
            float(loss_gradient),
        );
        (primitive(hidden), primitive(weight), primitive(bias))
    }

    /// The default of [`RecurrenceBackend::tanh_recurrence_loss`]: the recurrence, then the
    /// output layer and loss, each by the backend's own implementation.
    #[allow(clippy::type_complexity)]
    pub fn tanh_recurrence_loss<B: RecurrenceBackend>(
        projected: FloatTensor<B>,
        initial: FloatTensor<B>,
        weight: FloatTensor<B>,
        output_weight: FloatTensor<B>,
        output_bias: FloatTensor<B>,
        targets: IntTensor<B>,
        keep: bool,
    ) -> (
        FloatTensor<B>,
        FloatTensor<B>,
        Option<(FloatTensor<B>, FloatTensor<B>)>,
    ) {
        let [time, batch, d_hidden] = projected.shape().dims();
        let states = B::tanh_recurrence(projected, initial, weight);
        let final_state = primitive(
            float::<B, 3>(states.clone())
                .narrow(0, time - 1, 1)
                .reshape([batch, d_hidden]),
        );
        let rows = B::float_reshape(states.clone(), Shape::new([time * batch, d_hidden]));
        let (losses, logits_gradient) =
            B::output_cross_entropy(rows, output_weight, output_bias, targets, keep);
        let saved = logits_gradient.map(|gradient| (states, gradient));
        (losses, final_state, saved)
    }

    /// The default of [`RecurrenceBackend::tanh_recurrence_loss_backward`].
    #[allow(clippy::type_complexity)]
    pub fn tanh_recurrence_loss_backward<B: RecurrenceBackend>(
        states: FloatTensor<B>,
        logits_gradient: FloatTensor<B>,
        initial: FloatTensor<B>,
        weight: FloatTensor<B>,
        output_weight: FloatTensor<B>,
        loss_gradient: FloatTensor<B>,
    ) -> (
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
    ) {
        let shape = states.shape();
        let [time, batch, d_hidden] = shape.dims();
        let rows = B::float_reshape(states.clone(), Shape::new([time * batch, d_hidden]));
        let (hidden_gradient, output_weight_gradient, output_bias_gradient) =
            B::output_cross_entropy_backward(rows, output_weight, logits_gradient, loss_gradient);
        let hidden_gradient = B::float_reshape(hidden_gradient, shape);
        let (projected_gradient, initial_gradient, weight_gradient) =
            B::tanh_recurrence_backward(states, initial, weight, hidden_gradient);
        (
            projected_gradient,
            initial_gradient,
            weight_gradient,
            output_weight_gradient,
            output_bias_gradient,
        )
    }

    /// The default of [`RecurrenceBackend::tanh_activation`]: `1 − 2 / (exp(2x) + 1)`.
    pub fn tanh_activation<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
        let doubled_exp = B::float_exp(B::float_mul_scalar(x, 2f32.into()));
        let fraction = B::float_recip(B::float_add_scalar(doubled_exp, 1f32.into()));
        B::float_add_scalar(B::float_mul_scalar(fraction, (-2f32).into()), 1f32.into())
    }
}
