//! The GRU recurrence over all steps at once, and its BPTT through the gates.
//!
//! With `p(t) = W_ih x(t) + b_ih` computed for every step beforehand (one product) and
//! `q(t) = h(t-1) · W_hh + b_hh`, both cut into PyTorch's blocks `r, z, n`:
//! `r = σ(p_r + q_r)`, `z = σ(p_z + q_z)`, `n = tanh(p_n + r ⊙ q_n)`,
//! `h(t) = (1 − z) ⊙ n + z ⊙ h(t-1)`. `b_hh` is an input of its own: the reset gate multiplies
//! `q_n`, bias included, as `nn.GRU` does. Rows may have lengths of their own: past its length a
//! row keeps its state.

#[cfg(host_kernels)]
pub(crate) mod kernel;

use super::prelude::*;

use super::lstm::at;
#[cfg(host_kernels)]
use super::recurrence::kernel::{RecurrenceShape, RowLengths};
use super::recurrence::{stopped_masks, uneven};
use super::sigmoid;

/// The fused GRU recurrence.
#[derive(Debug)]
pub struct Operation;

operation_inputs! {
    /// What the recurrence reads.
    Input {
        /// `p(1) … p(τ)`, `W_ih x(t) + b_ih`, time-major `[time, batch, 3H]`.
        projected,
        /// `h(0)`, `[batch, H]`.
        initial,
        /// `W_hh` stored `[H, 3H]` (`weight_hhᵀ`).
        weight,
        /// `b_hh`, `[3H]`.
        bias,
        ;
        /// Each row's number of real steps, each in `1..=time`; `None` when all run `time` steps.
        lengths: Option<Vec<usize>>,
    }
    /// The inputs' gradients, shaped as the inputs.
    Gradients;
}

/// What the forward pass keeps for BPTT.
#[derive(Debug, Clone)]
pub struct Saved<B: Backend> {
    /// `r, z, n` and `q_n = W_hn h(t-1) + b_hn` of every step, `[time, batch, 4H]`.
    pub gates: FloatTensor<B>,
    /// `h(1) … h(τ)`, `[time, batch, H]`.
    pub states: FloatTensor<B>,
    /// `h(0)`.
    pub initial: FloatTensor<B>,
    /// `W_hh`.
    pub weight: FloatTensor<B>,
    /// The rows' lengths, as given.
    pub lengths: Option<Vec<usize>>,
}

/// Block `k` of `[batch, blocks · H]`, `[batch, H]`.
fn part<B: Backend>(tensor: &Tensor<B, 2>, k: usize, hidden: usize) -> Tensor<B, 2> {
    tensor.clone().narrow(1, k * hidden, hidden)
}

impl FusedOperation<PARENTS> for Operation {
    type Constants<B: Backend> = ();
    type Saved<B: Backend> = Saved<B>;

    /// A loop of backend operations (no graph is built).
    fn forward<B: RecurrenceBackend>(input: Input<B>, keep: bool) -> Forward<B, Self, PARENTS> {
        let projected = float::<B, 3>(input.projected.clone());
        let weight = float::<B, 2>(input.weight.clone());
        let bias = float::<B, 1>(input.bias.clone()).unsqueeze::<2>();
        let [time, _, width] = projected.dims();
        let hidden = width / 3;
        let device = projected.device();
        let stopped = stopped_masks::<B>(input.lengths.as_deref(), [time, hidden], &device);
        let mut h = float::<B, 2>(input.initial.clone());
        let (mut gates, mut states) = (Vec::new(), Vec::new());
        for t in 0..time {
            let p = at(&projected, t);
            let q = h.clone().matmul(weight.clone()) + bias.clone();
            let r = sigmoid(part(&p, 0, hidden) + part(&q, 0, hidden));
            let z = sigmoid(part(&p, 1, hidden) + part(&q, 1, hidden));
            let q_n = part(&q, 2, hidden);
            let n = (part(&p, 2, hidden) + r.clone() * q_n.clone()).tanh();
            let next = n.clone() + z.clone() * (h.clone() - n.clone());
            h = match &stopped {
                Some(stopped) => next.mask_where(stopped[t].clone(), h),
                None => next,
            };
            gates.push(Tensor::cat(vec![r, z, n, q_n], 1));
            states.push(h.clone());
        }
        let states = primitive(Tensor::stack::<3>(states, 0));
        let gates = primitive(Tensor::stack::<3>(gates, 0));
        kept(gates, states, input, keep)
    }

    /// BPTT, one step at a time.
    fn backward<B: RecurrenceBackend>(
        saved: Saved<B>,
        output_gradient: FloatTensor<B>,
    ) -> Gradients<B> {
        let gates = float::<B, 3>(saved.gates);
        let states = float::<B, 3>(saved.states);
        let output_gradient = float::<B, 3>(output_gradient);
        let [time, batch, hidden] = states.dims();
        let width = 3 * hidden;
        let device = states.device();
        let stopped = stopped_masks::<B>(saved.lengths.as_deref(), [time, hidden], &device);
        let stopped_gates = stopped_masks::<B>(saved.lengths.as_deref(), [time, width], &device);
        let weight_transposed = float::<B, 2>(saved.weight).transpose();
        let initial = float::<B, 2>(saved.initial);
        let mut carried = Tensor::<B, 2>::zeros([batch, hidden], &device);
        let (mut projected, mut recurrent) = (Vec::with_capacity(time), Vec::with_capacity(time));
        for t in (0..time).rev() {
            let dh = at(&output_gradient, t) + carried;
            let saved_gates = at(&gates, t);
            let (r, z) = (part(&saved_gates, 0, hidden), part(&saved_gates, 1, hidden));
            let (n, q_n) = (part(&saved_gates, 2, hidden), part(&saved_gates, 3, hidden));
            let previous = if t == 0 {
                initial.clone()
            } else {
                at(&states, t - 1)
            };
            let slope = |s: Tensor<B, 2>| s.clone() * (s.neg() + 1.0);
            let d_n = dh.clone() * (z.clone().neg() + 1.0) * (n.clone().powi_scalar(2).neg() + 1.0);
            let d_z = dh.clone() * (previous - n) * slope(z.clone());
            let d_r = d_n.clone() * q_n * slope(r.clone());
            let mut d_p = Tensor::cat(vec![d_r.clone(), d_z.clone(), d_n.clone()], 1);
            let mut d_q = Tensor::cat(vec![d_r, d_z, d_n * r], 1);
            if let Some(stopped_gates) = &stopped_gates {
                d_p = d_p.mask_fill(stopped_gates[t].clone(), 0.0);
                d_q = d_q.mask_fill(stopped_gates[t].clone(), 0.0);
            }
            let propagated = dh.clone() * z + d_q.clone().matmul(weight_transposed.clone());
            carried = match &stopped {
                Some(stopped) => propagated.mask_where(stopped[t].clone(), dh),
                None => propagated,
            };
            projected.push(d_p);
            recurrent.push(d_q);
        }
        projected.reverse();
        recurrent.reverse();
        let recurrent: Tensor<B, 3> = Tensor::stack(recurrent, 0);
        let previous = if time > 1 {
            Tensor::cat(
                vec![initial.unsqueeze::<3>(), states.narrow(0, 0, time - 1)],
                0,
            )
        } else {
            initial.unsqueeze::<3>()
        };
        let rows = time * batch;
        let recurrent = recurrent.reshape([rows, width]);
        let weight = previous
            .reshape([rows, hidden])
            .transpose()
            .matmul(recurrent.clone());
        Gradients {
            projected: primitive(Tensor::stack::<3>(projected, 0)),
            initial: primitive(carried),
            weight: primitive(weight),
            bias: primitive(recurrent.sum_dim(0).reshape([width])),
        }
    }

    fn outer_constants<B: Backend, C: CheckpointStrategy>(_: ()) {}
}

/// The states, and what BPTT needs when asked.
fn kept<B: Backend>(
    gates: FloatTensor<B>,
    states: FloatTensor<B>,
    input: Input<B>,
    keep: bool,
) -> Forward<B, Operation, PARENTS> {
    Forward {
        saved: keep.then(|| Saved {
            gates,
            states: states.clone(),
            initial: input.initial,
            weight: input.weight,
            lengths: input.lengths,
        }),
        output: states,
        constants: (),
    }
}

#[cfg(host_kernels)]
impl HostKernel<PARENTS> for Operation {
    fn forward<B: HostBackend, E: Real>(input: Input<B>, keep: bool) -> Forward<B, Self, PARENTS> {
        let device = B::float_device(&input.projected);
        let dims = RecurrenceShape::of_blocks(&input.projected.shape(), 3);
        let (gates, states) = kernel::forward::<E>(
            &B::view::<E>(&input.projected),
            &B::view::<E>(&input.initial),
            &B::view::<E>(&input.weight),
            &B::view::<E>(&input.bias),
            dims,
            RowLengths(input.lengths.as_deref()),
        );
        let shape = |width: usize| Shape::new([dims.time, dims.batch, width * dims.hidden]);
        kept(
            write::<B, E>(gates, shape(4), &device),
            write::<B, E>(states, shape(1), &device),
            input,
            keep,
        )
    }

    fn backward<B: HostBackend, E: Real>(
        saved: Saved<B>,
        output_gradient: FloatTensor<B>,
    ) -> Gradients<B> {
        let device = B::float_device(&saved.gates);
        let [time, batch, hidden] = saved.states.shape().dims();
        let dims = RecurrenceShape {
            time,
            batch,
            hidden,
        };
        let (gates, states) = (B::view::<E>(&saved.gates), B::view::<E>(&saved.states));
        let (initial, weight) = (B::view::<E>(&saved.initial), B::view::<E>(&saved.weight));
        let (projected, initial, weight, bias) = kernel::backward::<E>(
            kernel::Saved {
                gates: &gates,
                states: &states,
                initial: &initial,
                weight: &weight,
            },
            super::host::read::<B, E>(output_gradient),
            dims,
            RowLengths(saved.lengths.as_deref()),
        );
        Gradients {
            projected: write::<B, E>(projected, Shape::new([time, batch, 3 * hidden]), &device),
            initial: write::<B, E>(initial, Shape::new([batch, hidden]), &device),
            weight: write::<B, E>(weight, Shape::new([hidden, 3 * hidden]), &device),
            bias: write::<B, E>(bias, Shape::new([3 * hidden]), &device),
        }
    }
}

/// The fused GRU recurrence on tensors.
///
/// - `projected`: `W_ih x(t) + b_ih` of every step, `[time, batch, 3H]`.
/// - `initial`: `h(0)`, `[batch, H]`.
/// - `weight`: `W_hh` stored `[H, 3H]`; `bias`: `b_hh`, `[3H]`.
/// - `lengths`: one per row in `1..=time`, or `None` (every row runs all steps).
///
/// Returns `h(1) … h(τ)`, `[time, batch, H]`; a row's state is held from its own length on.
///
/// # Panics
/// If a length is out of range (callers check them).
pub fn gru_recurrence<B: RecurrenceBackend>(
    projected: Tensor<B, 3>,
    initial: Tensor<B, 2>,
    weight: Tensor<B, 2>,
    bias: Tensor<B, 1>,
    lengths: Option<&[usize]>,
) -> Tensor<B, 3> {
    run(input(projected, initial, weight, bias, lengths))
}

/// The operation on its input ([`input`]): `[time, batch, H]`, as [`gru_recurrence`].
pub(crate) fn run<B: RecurrenceBackend>(input: Input<B>) -> Tensor<B, 3> {
    float(B::gru_recurrence_forward(input, false).output)
}

/// The operation's input from tensors, as [`gru_recurrence`] takes them.
pub(crate) fn input<B: Backend>(
    projected: Tensor<B, 3>,
    initial: Tensor<B, 2>,
    weight: Tensor<B, 2>,
    bias: Tensor<B, 1>,
    lengths: Option<&[usize]>,
) -> Input<B> {
    Input {
        lengths: uneven(lengths, projected.dims()[0]),
        projected: primitive(projected),
        initial: primitive(initial),
        weight: primitive(weight),
        bias: primitive(bias),
    }
}
