//! Host-memory kernels for the CPU backends (flex and ndarray), in f32 and f64.
//!
//! Each operation reads its tensors into plain vectors (flex hands its buffer over without a
//! copy when the tensor is not shared), runs a kernel of this module, and wraps the result as a
//! tensor again. Other float types (f16, bf16) fall back to the generic implementations.

pub mod cross_entropy;
pub mod lookup;
pub mod math;
pub mod matmul;
pub mod output;
pub mod recurrence;
pub mod recurrence_loss;

use std::borrow::Cow;

use burn::tensor::backend::Backend;
use burn::tensor::ops::{FloatTensor, IntTensor};
use burn::tensor::{DType, Int, Shape, Tensor, TensorData, TensorMetadata, TensorPrimitive};

use self::math::Real;
use self::recurrence::Dims;
use super::RecurrenceBackend;
use super::generic::on_primitives;

/// The tensor's values, row-major.
fn read<B: Backend, E: Real>(tensor: FloatTensor<B>) -> Vec<E> {
    let count = tensor.shape().num_elements();
    let flat = B::float_reshape(tensor, Shape::new([count]));
    Tensor::<B, 1>::from_primitive(TensorPrimitive::Float(flat))
        .into_data()
        .convert::<E>()
        .into_vec::<E>()
        .expect("converted to the element type just above")
}

/// How a CPU backend lends its tensors' memory to the kernels.
pub trait HostView: Backend {
    /// The tensor's values, row-major: borrowed where the backend's layout allows, copied
    /// otherwise.
    fn view<E: Real>(tensor: &FloatTensor<Self>) -> Cow<'_, [E]>;
}

impl HostView for burn::backend::Flex {
    fn view<E: Real>(tensor: &FloatTensor<Self>) -> Cow<'_, [E]> {
        match tensor.as_slice::<E>() {
            Some(values) => Cow::Borrowed(values),
            None => Cow::Owned(read::<Self, E>(tensor.clone())),
        }
    }
}

impl<F, I, Q> HostView for burn::backend::NdArray<F, I, Q>
where
    burn::backend::NdArray<F, I, Q>: Backend,
    burn::backend::ndarray::NdArrayTensor: From<burn::backend::ndarray::SharedArray<F>>,
    burn::backend::ndarray::NdArrayTensor: From<burn::backend::ndarray::SharedArray<I>>,
{
    fn view<E: Real>(tensor: &FloatTensor<Self>) -> Cow<'_, [E]> {
        Cow::Owned(read::<Self, E>(tensor.clone()))
    }
}

/// Class or token ids as indices; a negative id becomes one no table has.
fn read_ids<B: Backend>(ids: IntTensor<B>) -> Vec<usize> {
    Tensor::<B, 1, Int>::from_primitive(ids)
        .into_data()
        .iter::<i64>()
        .map(|id| usize::try_from(id).unwrap_or(usize::MAX))
        .collect()
}

/// A tensor of `shape` holding `values`.
fn write<B: Backend, E: Real>(values: Vec<E>, shape: Shape, device: &B::Device) -> FloatTensor<B> {
    B::float_from_data(TensorData::new(values, shape), device)
}

/// Calls `$run::<B, f32>` or `::<B, f64>` by the tensor's float type, `$fallback` otherwise.
macro_rules! by_precision {
    ($dtype:expr, $run:ident($($arg:expr),*), $fallback:expr) => {
        match $dtype {
            DType::F32 => $run::<Self, f32>($($arg),*),
            DType::F64 => $run::<Self, f64>($($arg),*),
            _ => $fallback,
        }
    };
}

fn dims_of(shape: &Shape) -> Dims {
    let [time, batch, hidden] = shape.dims();
    Dims {
        time,
        batch,
        hidden,
    }
}

fn recurrence_forward<B: HostView, E: Real>(
    projected: FloatTensor<B>,
    initial: FloatTensor<B>,
    weight: FloatTensor<B>,
) -> FloatTensor<B> {
    let device = B::float_device(&projected);
    let shape = projected.shape();
    let states = recurrence::forward::<E>(
        read::<B, E>(projected),
        &B::view::<E>(&initial),
        &B::view::<E>(&weight),
        dims_of(&shape),
    );
    write::<B, E>(states, shape, &device)
}

fn recurrence_backward<B: HostView, E: Real>(
    states: FloatTensor<B>,
    initial: FloatTensor<B>,
    weight: FloatTensor<B>,
    output_gradient: FloatTensor<B>,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let device = B::float_device(&states);
    let (shape, initial_shape, weight_shape) = (states.shape(), initial.shape(), weight.shape());
    let (projected, initial, weight) = recurrence::backward::<E>(
        &B::view::<E>(&states),
        &B::view::<E>(&initial),
        &B::view::<E>(&weight),
        read::<B, E>(output_gradient),
        dims_of(&shape),
    );
    (
        write::<B, E>(projected, shape, &device),
        write::<B, E>(initial, initial_shape, &device),
        write::<B, E>(weight, weight_shape, &device),
    )
}

fn cross_entropy_forward<B: HostView, E: Real>(
    logits: FloatTensor<B>,
    targets: IntTensor<B>,
    keep_gradient: bool,
) -> (FloatTensor<B>, Option<FloatTensor<B>>) {
    let device = B::float_device(&logits);
    let shape = logits.shape();
    let [rows, classes] = shape.dims();
    let targets = read_ids::<B>(targets);
    if keep_gradient {
        // The logits turn into their gradient in place.
        let mut gradient = read::<B, E>(logits);
        let losses = cross_entropy::forward_into_gradient::<E>(&mut gradient, &targets, classes);
        let losses = write::<B, E>(losses, Shape::new([rows]), &device);
        return (losses, Some(write::<B, E>(gradient, shape, &device)));
    }
    let losses = cross_entropy::forward::<E>(&B::view::<E>(&logits), &targets, classes);
    (write::<B, E>(losses, Shape::new([rows]), &device), None)
}

fn cross_entropy_gradient<B: HostView, E: Real>(
    logits_gradient: FloatTensor<B>,
    loss_gradient: FloatTensor<B>,
) -> FloatTensor<B> {
    let device = B::float_device(&logits_gradient);
    let shape = logits_gradient.shape();
    let classes = shape.dims::<2>()[1];
    let mut gradient = read::<B, E>(logits_gradient);
    cross_entropy::scale_rows(&mut gradient, &B::view::<E>(&loss_gradient), classes);
    write::<B, E>(gradient, shape, &device)
}

fn lookup_forward<B: HostView, E: Real>(
    table: FloatTensor<B>,
    ids: IntTensor<B>,
) -> FloatTensor<B> {
    let device = B::float_device(&table);
    let width = table.shape().dims::<2>()[1];
    let ids = read_ids::<B>(ids);
    let rows = lookup::forward(&B::view::<E>(&table), &ids, width);
    write::<B, E>(rows, Shape::new([ids.len(), width]), &device)
}

fn lookup_gradient<B: HostView, E: Real>(
    ids: IntTensor<B>,
    rows_gradient: FloatTensor<B>,
    vocab: usize,
) -> FloatTensor<B> {
    let device = B::float_device(&rows_gradient);
    let width = rows_gradient.shape().dims::<2>()[1];
    let gradient = lookup::backward(
        &read_ids::<B>(ids),
        &B::view::<E>(&rows_gradient),
        vocab,
        width,
    );
    write::<B, E>(gradient, Shape::new([vocab, width]), &device)
}

fn output_dims(hidden: &Shape, weight: &Shape) -> output::Dims {
    let [rows, d_hidden] = hidden.dims();
    output::Dims {
        rows,
        hidden: d_hidden,
        classes: weight.dims::<2>()[1],
    }
}

fn output_forward<B: HostView, E: Real>(
    hidden: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: FloatTensor<B>,
    targets: IntTensor<B>,
    keep_gradient: bool,
) -> (FloatTensor<B>, Option<FloatTensor<B>>) {
    let device = B::float_device(&hidden);
    let dims = output_dims(&hidden.shape(), &weight.shape());
    let (losses, gradient) = output::forward::<E>(
        &B::view::<E>(&hidden),
        &B::view::<E>(&weight),
        &B::view::<E>(&bias),
        &read_ids::<B>(targets),
        dims,
        keep_gradient,
    );
    (
        write::<B, E>(losses, Shape::new([dims.rows]), &device),
        gradient.map(|g| write::<B, E>(g, Shape::new([dims.rows, dims.classes]), &device)),
    )
}

fn output_gradient<B: HostView, E: Real>(
    hidden: FloatTensor<B>,
    weight: FloatTensor<B>,
    logits_gradient: FloatTensor<B>,
    loss_gradient: FloatTensor<B>,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let device = B::float_device(&hidden);
    let (hidden_shape, weight_shape) = (hidden.shape(), weight.shape());
    let dims = output_dims(&hidden_shape, &weight_shape);
    let (hidden_gradient, weight_gradient, bias_gradient) = output::backward::<E>(
        &B::view::<E>(&hidden),
        &B::view::<E>(&weight),
        read::<B, E>(logits_gradient),
        &B::view::<E>(&loss_gradient),
        dims,
    );
    (
        write::<B, E>(hidden_gradient, hidden_shape, &device),
        write::<B, E>(weight_gradient, weight_shape, &device),
        write::<B, E>(bias_gradient, Shape::new([dims.classes]), &device),
    )
}

#[allow(clippy::type_complexity)]
fn recurrence_loss_forward<B: HostView, E: Real>(
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
    let device = B::float_device(&projected);
    let shape = projected.shape();
    let dims = dims_of(&shape);
    let classes = output_bias.shape().num_elements();
    let (losses, final_state, saved) = recurrence_loss::forward::<E>(
        read::<B, E>(projected),
        &B::view::<E>(&initial),
        &B::view::<E>(&weight),
        &B::view::<E>(&output_weight),
        &B::view::<E>(&output_bias),
        &read_ids::<B>(targets),
        dims,
    );
    let rows = dims.time * dims.batch;
    let kept = keep.then(|| {
        (
            write::<B, E>(saved.states, shape, &device),
            write::<B, E>(saved.logits_gradient, Shape::new([rows, classes]), &device),
        )
    });
    (
        write::<B, E>(losses, Shape::new([rows]), &device),
        write::<B, E>(final_state, Shape::new([dims.batch, dims.hidden]), &device),
        kept,
    )
}

#[allow(clippy::type_complexity)]
fn recurrence_loss_gradient<B: HostView, E: Real>(
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
    let device = B::float_device(&states);
    let shapes = [
        states.shape(),
        initial.shape(),
        weight.shape(),
        output_weight.shape(),
    ];
    let classes = output_weight.shape().dims::<2>()[1];
    let saved = recurrence_loss::Saved {
        states: read::<B, E>(states),
        logits_gradient: read::<B, E>(logits_gradient),
    };
    let gradients = recurrence_loss::backward::<E>(
        saved,
        &B::view::<E>(&initial),
        &B::view::<E>(&weight),
        &B::view::<E>(&output_weight),
        &B::view::<E>(&loss_gradient),
        dims_of(&shapes[0]),
    );
    let [states_shape, initial_shape, weight_shape, output_shape] = shapes;
    (
        write::<B, E>(gradients.projected, states_shape, &device),
        write::<B, E>(gradients.initial, initial_shape, &device),
        write::<B, E>(gradients.weight, weight_shape, &device),
        write::<B, E>(gradients.output_weight, output_shape, &device),
        write::<B, E>(gradients.output_bias, Shape::new([classes]), &device),
    )
}

fn tanh_forward<B: HostView, E: Real>(x: FloatTensor<B>) -> FloatTensor<B> {
    let device = B::float_device(&x);
    let shape = x.shape();
    let mut values = read::<B, E>(x);
    E::tanh_in_place(&mut values);
    write::<B, E>(values, shape, &device)
}

/// The methods of [`RecurrenceBackend`] by the host kernels, for a CPU backend.
macro_rules! host_methods {
    () => {
        fn tanh_activation(x: FloatTensor<Self>) -> FloatTensor<Self> {
            by_precision!(
                x.dtype(),
                tanh_forward(x),
                on_primitives::tanh_activation::<Self>(x)
            )
        }

        fn tanh_recurrence(
            projected: FloatTensor<Self>,
            initial: FloatTensor<Self>,
            weight: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            by_precision!(
                projected.dtype(),
                recurrence_forward(projected, initial, weight),
                on_primitives::tanh_recurrence::<Self>(projected, initial, weight)
            )
        }

        fn tanh_recurrence_backward(
            states: FloatTensor<Self>,
            initial: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            output_gradient: FloatTensor<Self>,
        ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
            by_precision!(
                states.dtype(),
                recurrence_backward(states, initial, weight, output_gradient),
                on_primitives::tanh_recurrence_backward::<Self>(
                    states,
                    initial,
                    weight,
                    output_gradient
                )
            )
        }

        fn cross_entropy(
            logits: FloatTensor<Self>,
            targets: IntTensor<Self>,
            keep_gradient: bool,
        ) -> (FloatTensor<Self>, Option<FloatTensor<Self>>) {
            by_precision!(
                logits.dtype(),
                cross_entropy_forward(logits, targets, keep_gradient),
                on_primitives::cross_entropy::<Self>(logits, targets, keep_gradient)
            )
        }

        fn cross_entropy_backward(
            logits_gradient: FloatTensor<Self>,
            loss_gradient: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            by_precision!(
                logits_gradient.dtype(),
                cross_entropy_gradient(logits_gradient, loss_gradient),
                on_primitives::cross_entropy_backward::<Self>(logits_gradient, loss_gradient)
            )
        }

        fn output_cross_entropy(
            hidden: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            bias: FloatTensor<Self>,
            targets: IntTensor<Self>,
            keep_gradient: bool,
        ) -> (FloatTensor<Self>, Option<FloatTensor<Self>>) {
            by_precision!(
                hidden.dtype(),
                output_forward(hidden, weight, bias, targets, keep_gradient),
                on_primitives::output_cross_entropy::<Self>(
                    hidden,
                    weight,
                    bias,
                    targets,
                    keep_gradient
                )
            )
        }

        fn output_cross_entropy_backward(
            hidden: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            logits_gradient: FloatTensor<Self>,
            loss_gradient: FloatTensor<Self>,
        ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
            by_precision!(
                hidden.dtype(),
                output_gradient(hidden, weight, logits_gradient, loss_gradient),
                on_primitives::output_cross_entropy_backward::<Self>(
                    hidden,
                    weight,
                    logits_gradient,
                    loss_gradient
                )
            )
        }

        fn tanh_recurrence_loss(
            projected: FloatTensor<Self>,
            initial: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            output_weight: FloatTensor<Self>,
            output_bias: FloatTensor<Self>,
            targets: IntTensor<Self>,
            keep: bool,
        ) -> (
            FloatTensor<Self>,
            FloatTensor<Self>,
            Option<(FloatTensor<Self>, FloatTensor<Self>)>,
        ) {
            by_precision!(
                projected.dtype(),
                recurrence_loss_forward(
                    projected,
                    initial,
                    weight,
                    output_weight,
                    output_bias,
                    targets,
                    keep
                ),
                on_primitives::tanh_recurrence_loss::<Self>(
                    projected,
                    initial,
                    weight,
                    output_weight,
                    output_bias,
                    targets,
                    keep
                )
            )
        }

        fn tanh_recurrence_loss_backward(
            states: FloatTensor<Self>,
            logits_gradient: FloatTensor<Self>,
            initial: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            output_weight: FloatTensor<Self>,
            loss_gradient: FloatTensor<Self>,
        ) -> (
            FloatTensor<Self>,
            FloatTensor<Self>,
            FloatTensor<Self>,
            FloatTensor<Self>,
            FloatTensor<Self>,
        ) {
            by_precision!(
                states.dtype(),
                recurrence_loss_gradient(
                    states,
                    logits_gradient,
                    initial,
                    weight,
                    output_weight,
                    loss_gradient
                ),
                on_primitives::tanh_recurrence_loss_backward::<Self>(
                    states,
                    logits_gradient,
                    initial,
                    weight,
                    output_weight,
                    loss_gradient
                )
            )
        }

        fn lookup_rows(table: FloatTensor<Self>, ids: IntTensor<Self>) -> FloatTensor<Self> {
            by_precision!(
                table.dtype(),
                lookup_forward(table, ids),
                <Self as burn::tensor::ops::FloatTensorOps<Self>>::float_select(table, 0, ids)
            )
        }

        fn lookup_rows_backward(
            ids: IntTensor<Self>,
            rows_gradient: FloatTensor<Self>,
            vocab: usize,
        ) -> FloatTensor<Self> {
            by_precision!(
                rows_gradient.dtype(),
                lookup_gradient(ids, rows_gradient, vocab),
                on_primitives::lookup_rows_backward::<Self>(ids, rows_gradient, vocab)
            )
        }
    };
}

impl RecurrenceBackend for burn::backend::Flex {
    host_methods!();
}

impl<E, I, Q> RecurrenceBackend for burn::backend::NdArray<E, I, Q>
where
    burn::backend::NdArray<E, I, Q>: Backend,
    burn::backend::ndarray::NdArrayTensor: From<burn::backend::ndarray::SharedArray<E>>,
    burn::backend::ndarray::NdArrayTensor: From<burn::backend::ndarray::SharedArray<I>>,
{
    host_methods!();
}
