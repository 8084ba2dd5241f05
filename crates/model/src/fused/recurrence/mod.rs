//! `h(t) = tanh(p(t) + h(t-1) · W)` for `t = 1 … τ`, over all steps at once, and its BPTT.
//!
//! Rows may have lengths of their own (padded sequences): past its length a row keeps its state,
//! `h(t) = h(t-1)`, so its last state is `h` at its own length, and BPTT starts there.

#[cfg(host_kernels)]
pub(crate) mod kernel;

use super::prelude::*;
use burn::tensor::{Bool, TensorData};

#[cfg(host_kernels)]
use self::kernel::{RecurrenceShape, RowLengths};
use super::tanh;

/// The fused tanh recurrence.
#[derive(Debug)]
pub struct Operation;

operation_inputs! {
    /// What the recurrence reads.
    Input {
        /// `p(1) … p(τ)`, time-major `[time, batch, d_hidden]`.
        projected,
        /// `h(0)`, `[batch, d_hidden]`.
        initial,
        /// `W` stored `[d_hidden, d_hidden]`.
        weight,
        ;
        /// Each row's number of real steps, each in `1..=time`; `None` when all run `time` steps.
        lengths: Option<Vec<usize>>,
    }
    /// `∂L/∂p`, `∂L/∂h(0)` and `∂L/∂W`, shaped as the inputs.
    Gradients;
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
    /// The rows' lengths, as given.
    pub lengths: Option<Vec<usize>>,
}

impl FusedOperation<PARENTS> for Operation {
    type Constants<B: Backend> = ();
    type Saved<B: Backend> = Saved<B>;

    /// A loop of backend operations (slicing is cheap on a backend without autodiff, and no
    /// graph is built).
    fn forward<B: RecurrenceBackend>(input: Input<B>, keep: bool) -> Forward<B, Self, PARENTS> {
        let projected = float::<B, 3>(input.projected);
        let weight = float::<B, 2>(input.weight.clone());
        let [time, batch, d_hidden] = projected.dims();
        let stopped = stopped_masks::<B>(
            input.lengths.as_deref(),
            [time, d_hidden],
            &projected.device(),
        );
        let mut hidden = float::<B, 2>(input.initial.clone());
        let mut states = Vec::with_capacity(time);
        for t in 0..time {
            let p = projected.clone().narrow(0, t, 1).reshape([batch, d_hidden]);
            let next = tanh(p + hidden.clone().matmul(weight.clone()));
            hidden = match &stopped {
                Some(stopped) => next.mask_where(stopped[t].clone(), hidden),
                None => next,
            };
            states.push(hidden.clone());
        }
        let states = primitive(Tensor::stack::<3>(states, 0));
        kept(states, input.initial, input.weight, input.lengths, keep)
    }

    /// BPTT, one step at a time.
    fn backward<B: RecurrenceBackend>(
        saved: Saved<B>,
        output_gradient: FloatTensor<B>,
    ) -> Gradients<B> {
        let states = float::<B, 3>(saved.states);
        let output_gradient = float::<B, 3>(output_gradient);
        let [time, batch, d_hidden] = states.dims();
        let stopped =
            stopped_masks::<B>(saved.lengths.as_deref(), [time, d_hidden], &states.device());
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
            let delta = gradient.clone() * (h.clone() * h).neg().add_scalar(1.0);
            // A stopped row: δa(t) = 0, and its gradient passes to h(t-1) unchanged.
            let (delta, passed) = match &stopped {
                Some(stopped) => (
                    delta.mask_fill(stopped[t].clone(), 0.0),
                    Some((stopped[t].clone(), gradient)),
                ),
                None => (delta, None),
            };
            let propagated = delta.clone().matmul(weight_transposed.clone());
            carried = Some(match passed {
                Some((stopped, gradient)) => propagated.mask_where(stopped, gradient),
                None => propagated,
            });
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

    fn outer_constants<B: Backend, C: CheckpointStrategy>(_: ()) {}
}

/// The states, and what BPTT needs when asked.
fn kept<B: Backend>(
    states: FloatTensor<B>,
    initial: FloatTensor<B>,
    weight: FloatTensor<B>,
    lengths: Option<Vec<usize>>,
    keep: bool,
) -> Forward<B, Operation, PARENTS> {
    Forward {
        saved: keep.then(|| Saved {
            states: states.clone(),
            initial,
            weight,
            lengths,
        }),
        output: states,
        constants: (),
    }
}

/// The rows' lengths when they differ from `time`; `None` when every row runs all steps, the
/// fixed-length case: no per-row tests, no packing.
pub(crate) fn uneven(lengths: Option<&[usize]>, time: usize) -> Option<Vec<usize>> {
    lengths
        .filter(|lengths| lengths.iter().any(|&length| length != time))
        .map(<[usize]>::to_vec)
}

/// Per step, a mask `[batch, d_hidden]` of the rows that have stopped (true past a row's
/// length); `None` without lengths.
pub(crate) fn stopped_masks<B: Backend>(
    lengths: Option<&[usize]>,
    [time, d_hidden]: [usize; 2],
    device: &B::Device,
) -> Option<Vec<Tensor<B, 2, Bool>>> {
    let lengths = lengths?;
    let batch = lengths.len();
    let flags: Vec<bool> = (0..time)
        .flat_map(|t| lengths.iter().map(move |&length| length <= t))
        .collect();
    let all = Tensor::<B, 2, Bool>::from_data(TensorData::new(flags, [time, batch]), device);
    Some(
        (0..time)
            .map(|t| {
                all.clone()
                    .narrow(0, t, 1)
                    .reshape([batch, 1])
                    .expand([batch, d_hidden])
            })
            .collect(),
    )
}

#[cfg(host_kernels)]
impl HostKernel<PARENTS> for Operation {
    fn forward<B: HostBackend, E: Real>(input: Input<B>, keep: bool) -> Forward<B, Self, PARENTS> {
        let Input {
            projected,
            initial,
            weight,
            lengths,
        } = input;
        let device = B::float_device(&projected);
        let shape = projected.shape();
        let states = kernel::forward::<E>(
            read::<B, E>(projected),
            &B::view::<E>(&initial),
            &B::view::<E>(&weight),
            RecurrenceShape::of_blocks(&shape, 1),
            RowLengths(lengths.as_deref()),
        );
        kept(
            write::<B, E>(states, shape, &device),
            initial,
            weight,
            lengths,
            keep,
        )
    }

    fn backward<B: HostBackend, E: Real>(
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
            RecurrenceShape::of_blocks(&shapes.0, 1),
            RowLengths(saved.lengths.as_deref()),
        );
        Gradients {
            projected: write::<B, E>(projected, shapes.0, &device),
            initial: write::<B, E>(initial, shapes.1, &device),
            weight: write::<B, E>(weight, shapes.2, &device),
        }
    }
}

/// The fused recurrence on tensors: `projected` `[time, batch, d_hidden]`, `initial`
/// `[batch, d_hidden]`, `weight` `[d_hidden, d_hidden]`, `lengths` one per row in `1..=time` (or
/// `None`: every row runs all steps); returns `[time, batch, d_hidden]`, a row's state held from
/// its own length on.
///
/// # Panics
/// If a length is out of range (callers check them: [`crate::SequenceSummarizer::forward`]).
pub fn tanh_recurrence<B: RecurrenceBackend>(
    projected: Tensor<B, 3>,
    initial: Tensor<B, 2>,
    weight: Tensor<B, 2>,
    lengths: Option<&[usize]>,
) -> Tensor<B, 3> {
    let input = input(projected, initial, weight, lengths);
    float(B::tanh_recurrence_forward(input, false).output)
}

/// The operation's input from tensors, as [`tanh_recurrence`] takes them.
pub(crate) fn input<B: Backend>(
    projected: Tensor<B, 3>,
    initial: Tensor<B, 2>,
    weight: Tensor<B, 2>,
    lengths: Option<&[usize]>,
) -> Input<B> {
    Input {
        lengths: uneven(lengths, projected.dims()[0]),
        projected: primitive(projected),
        initial: primitive(initial),
        weight: primitive(weight),
    }
}
