//! The LSTM recurrence over all steps at once, and its BPTT through the gates.
//!
//! With `a(t) = p(t) + h(t-1) · W_hh`, where `p(t) = W_ih x(t) + b_ih + b_hh` has been computed
//! for every step beforehand (one product), and `a` cut into PyTorch's blocks `i, f, g, o`:
//! `c(t) = σ(a_f) ⊙ c(t-1) + σ(a_i) ⊙ tanh(a_g)`, `h(t) = σ(a_o) ⊙ tanh(c(t))`.
//!
//! The output is `h(1) … h(τ)` followed by `c(τ)`, `[time + 1, batch, H]`, so that a loss on
//! the final `c(τ)` (a state carried on) reaches the weights too. Rows may have lengths of their
//! own: past its length a row keeps its `h` and `c`.

#[cfg(host_kernels)]
pub(crate) mod kernel;

use super::prelude::*;

#[cfg(host_kernels)]
use super::recurrence::kernel::{RecurrenceShape, RowLengths};
use super::recurrence::{stopped_masks, uneven};
use super::sigmoid;

/// The fused LSTM recurrence.
#[derive(Debug)]
pub struct Operation;

operation_inputs! {
    /// What the recurrence reads.
    Input {
        /// `p(1) … p(τ)`, `W_ih x(t) + b_ih + b_hh`, time-major `[time, batch, 4H]`.
        projected,
        /// `h(0)`, `[batch, H]`.
        initial_hidden,
        /// `c(0)`, `[batch, H]`.
        initial_cell,
        /// `W_hh` stored `[H, 4H]` (`weight_hhᵀ`).
        weight,
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
    /// The activated gates `i, f, g, o` of every step, `[time, batch, 4H]`.
    pub gates: FloatTensor<B>,
    /// The output: `h(1) … h(τ)`, then `c(τ)`, `[time + 1, batch, H]`.
    pub states: FloatTensor<B>,
    /// `c(1) … c(τ)`, `[time, batch, H]`.
    pub cells: FloatTensor<B>,
    /// `h(0)`.
    pub initial_hidden: FloatTensor<B>,
    /// `c(0)`.
    pub initial_cell: FloatTensor<B>,
    /// `W_hh`.
    pub weight: FloatTensor<B>,
    /// The rows' lengths, as given.
    pub lengths: Option<Vec<usize>>,
}

/// Block `k` of four, `[batch, H]`, of `[batch, 4H]`.
pub(super) fn gate<B: Backend>(gates: &Tensor<B, 2>, k: usize) -> Tensor<B, 2> {
    let width = gates.dims()[1] / 4;
    gates.clone().narrow(1, k * width, width)
}

/// Step `t` of `[time, batch, width]`, as `[batch, width]`.
pub(super) fn at<B: Backend>(tensor: &Tensor<B, 3>, t: usize) -> Tensor<B, 2> {
    let [_, batch, width] = tensor.dims();
    tensor.clone().narrow(0, t, 1).reshape([batch, width])
}

impl FusedOperation<PARENTS> for Operation {
    type Constants<B: Backend> = ();
    type Saved<B: Backend> = Saved<B>;

    /// A loop of backend operations (no graph is built).
    fn forward<B: RecurrenceBackend>(input: Input<B>, keep: bool) -> Forward<B, Self, PARENTS> {
        let (projected, input) = input.split();
        let projected = float::<B, 3>(projected);
        let weight = float::<B, 2>(input.weight.clone());
        let [time, _, width] = projected.dims();
        let hidden = width / 4;
        let device = projected.device();
        let stopped = stopped_masks::<B>(input.lengths.as_deref(), [time, hidden], &device);
        let mut h = float::<B, 2>(input.initial_hidden.clone());
        let mut c = float::<B, 2>(input.initial_cell.clone());
        let (mut gates, mut hiddens, mut cells) = (Vec::new(), Vec::new(), Vec::new());
        for t in 0..time {
            let a = at(&projected, t) + h.clone().matmul(weight.clone());
            let activated = Tensor::cat(
                vec![
                    sigmoid(gate(&a, 0)),
                    sigmoid(gate(&a, 1)),
                    gate(&a, 2).tanh(),
                    sigmoid(gate(&a, 3)),
                ],
                1,
            );
            let next_c =
                gate(&activated, 1) * c.clone() + gate(&activated, 0) * gate(&activated, 2);
            let next_h = gate(&activated, 3) * next_c.clone().tanh();
            (h, c) = match &stopped {
                Some(stopped) => (
                    next_h.mask_where(stopped[t].clone(), h),
                    next_c.mask_where(stopped[t].clone(), c),
                ),
                None => (next_h, next_c),
            };
            gates.push(activated);
            hiddens.push(h.clone());
            cells.push(c.clone());
        }
        hiddens.push(c);
        let states = primitive(Tensor::stack::<3>(hiddens, 0));
        let cells = primitive(Tensor::stack::<3>(cells, 0));
        let gates = primitive(Tensor::stack::<3>(gates, 0));
        kept([gates, states, cells], input, keep)
    }

    /// BPTT, one step at a time.
    fn backward<B: RecurrenceBackend>(
        saved: Saved<B>,
        output_gradient: FloatTensor<B>,
    ) -> Gradients<B> {
        let gates = float::<B, 3>(saved.gates);
        let states = float::<B, 3>(saved.states);
        let cells = float::<B, 3>(saved.cells);
        let output_gradient = float::<B, 3>(output_gradient);
        let [time, batch, width] = gates.dims();
        let hidden = width / 4;
        let device = gates.device();
        let stopped = stopped_masks::<B>(saved.lengths.as_deref(), [time, hidden], &device);
        let stopped_gates = stopped_masks::<B>(saved.lengths.as_deref(), [time, width], &device);
        let weight_transposed = float::<B, 2>(saved.weight).transpose();
        let initial_hidden = float::<B, 2>(saved.initial_hidden);
        let initial_cell = float::<B, 2>(saved.initial_cell);
        let mut carried_h = Tensor::<B, 2>::zeros([batch, hidden], &device);
        // δc reaching c(t) from later steps; at τ, the output's own gradient.
        let mut carried_c = at(&output_gradient, time);
        let mut deltas = Vec::with_capacity(time);
        for t in (0..time).rev() {
            let dh = at(&output_gradient, t) + carried_h;
            let dc = carried_c;
            let activated = at(&gates, t);
            let (i, f, g, o) = (
                gate(&activated, 0),
                gate(&activated, 1),
                gate(&activated, 2),
                gate(&activated, 3),
            );
            let tanh_c = at(&cells, t).tanh();
            let previous_c = if t == 0 {
                initial_cell.clone()
            } else {
                at(&cells, t - 1)
            };
            let slope = |s: Tensor<B, 2>| s.clone() * (s.neg() + 1.0);
            let d_cell =
                dc.clone() + dh.clone() * o.clone() * (tanh_c.clone().powi_scalar(2).neg() + 1.0);
            let delta = Tensor::cat(
                vec![
                    d_cell.clone() * g.clone() * slope(i.clone()),
                    d_cell.clone() * previous_c * slope(f.clone()),
                    d_cell.clone() * i * (g.powi_scalar(2).neg() + 1.0),
                    dh.clone() * tanh_c * slope(o),
                ],
                1,
            );
            let propagated_c = d_cell * f;
            (carried_h, carried_c, deltas) = match (&stopped, &stopped_gates) {
                (Some(stopped), Some(stopped_gates)) => {
                    let delta = delta.mask_fill(stopped_gates[t].clone(), 0.0);
                    let propagated = delta.clone().matmul(weight_transposed.clone());
                    deltas.push(delta);
                    (
                        propagated.mask_where(stopped[t].clone(), dh),
                        propagated_c.mask_where(stopped[t].clone(), dc),
                        deltas,
                    )
                }
                _ => {
                    let propagated = delta.clone().matmul(weight_transposed.clone());
                    deltas.push(delta);
                    (propagated, propagated_c, deltas)
                }
            };
        }
        deltas.reverse();
        let delta: Tensor<B, 3> = Tensor::stack(deltas, 0);
        let previous = if time > 1 {
            Tensor::cat(
                vec![
                    initial_hidden.unsqueeze::<3>(),
                    states.narrow(0, 0, time - 1),
                ],
                0,
            )
        } else {
            initial_hidden.unsqueeze::<3>()
        };
        let rows = time * batch;
        let weight = previous
            .reshape([rows, hidden])
            .transpose()
            .matmul(delta.clone().reshape([rows, width]));
        Gradients {
            projected: primitive(delta),
            initial_hidden: primitive(carried_h),
            initial_cell: primitive(carried_c),
            weight: primitive(weight),
        }
    }

    fn outer_constants<B: Backend, C: CheckpointStrategy>(_: ()) {}
}

/// What the forward pass keeps of its input besides the gates and states.
struct Rest<B: Backend> {
    initial_hidden: FloatTensor<B>,
    initial_cell: FloatTensor<B>,
    weight: FloatTensor<B>,
    lengths: Option<Vec<usize>>,
}

impl<B: Backend> Input<B> {
    /// `projected`, and the rest.
    fn split(self) -> (FloatTensor<B>, Rest<B>) {
        let rest = Rest {
            initial_hidden: self.initial_hidden,
            initial_cell: self.initial_cell,
            weight: self.weight,
            lengths: self.lengths,
        };
        (self.projected, rest)
    }
}

/// The states, and what BPTT needs when asked: the gates, the output and the cell states.
fn kept<B: Backend>(
    [gates, states, cells]: [FloatTensor<B>; 3],
    rest: Rest<B>,
    keep: bool,
) -> Forward<B, Operation, PARENTS> {
    Forward {
        saved: keep.then(|| Saved {
            gates,
            states: states.clone(),
            cells,
            initial_hidden: rest.initial_hidden,
            initial_cell: rest.initial_cell,
            weight: rest.weight,
            lengths: rest.lengths,
        }),
        output: states,
        constants: (),
    }
}

#[cfg(host_kernels)]
impl HostKernel<PARENTS> for Operation {
    fn forward<B: HostBackend, E: Real>(input: Input<B>, keep: bool) -> Forward<B, Self, PARENTS> {
        let (projected, input) = input.split();
        let device = B::float_device(&projected);
        let shape = projected.shape();
        let dims = RecurrenceShape::of_blocks(&shape, 4);
        let (gates, states, cells) = kernel::forward::<E>(
            read::<B, E>(projected),
            &B::view::<E>(&input.initial_hidden),
            &B::view::<E>(&input.initial_cell),
            &B::view::<E>(&input.weight),
            dims,
            RowLengths(input.lengths.as_deref()),
        );
        let steps = |time: usize| Shape::new([time, dims.batch, dims.hidden]);
        kept(
            [
                write::<B, E>(gates, shape, &device),
                write::<B, E>(states, steps(dims.time + 1), &device),
                write::<B, E>(cells, steps(dims.time), &device),
            ],
            input,
            keep,
        )
    }

    fn backward<B: HostBackend, E: Real>(
        saved: Saved<B>,
        output_gradient: FloatTensor<B>,
    ) -> Gradients<B> {
        let device = B::float_device(&saved.gates);
        let shapes = (
            saved.gates.shape(),
            saved.initial_hidden.shape(),
            saved.weight.shape(),
        );
        let dims = RecurrenceShape::of_blocks(&shapes.0, 4);
        let (states, cells) = (B::view::<E>(&saved.states), B::view::<E>(&saved.cells));
        let (initial_hidden, initial_cell) = (
            B::view::<E>(&saved.initial_hidden),
            B::view::<E>(&saved.initial_cell),
        );
        let weight = B::view::<E>(&saved.weight);
        let (projected, initial_hidden, initial_cell, weight) = kernel::backward::<E>(
            // The node's own copy of the gates: overwritten with their gradients.
            read::<B, E>(saved.gates),
            kernel::Saved {
                hiddens: &states,
                cells: &cells,
                initial_hidden: &initial_hidden,
                initial_cell: &initial_cell,
                weight: &weight,
            },
            read::<B, E>(output_gradient),
            dims,
            RowLengths(saved.lengths.as_deref()),
        );
        Gradients {
            projected: write::<B, E>(projected, shapes.0, &device),
            initial_hidden: write::<B, E>(initial_hidden, shapes.1.clone(), &device),
            initial_cell: write::<B, E>(initial_cell, shapes.1, &device),
            weight: write::<B, E>(weight, shapes.2, &device),
        }
    }
}

/// The fused LSTM recurrence on tensors.
///
/// - `projected`: `W_ih x(t) + b_ih + b_hh` of every step, `[time, batch, 4H]`.
/// - `initial_hidden`, `initial_cell`: `h(0)`, `c(0)`, `[batch, H]`.
/// - `weight`: `W_hh` stored `[H, 4H]`.
/// - `lengths`: one per row in `1..=time`, or `None` (every row runs all steps).
///
/// Returns `[time + 1, batch, H]`: `h(1) … h(τ)`, then `c(τ)`; a row's state is held from its
/// own length on.
///
/// # Panics
/// If a length is out of range (callers check them).
pub fn lstm_recurrence<B: RecurrenceBackend>(
    projected: Tensor<B, 3>,
    initial_hidden: Tensor<B, 2>,
    initial_cell: Tensor<B, 2>,
    weight: Tensor<B, 2>,
    lengths: Option<&[usize]>,
) -> Tensor<B, 3> {
    run(input(
        projected,
        initial_hidden,
        initial_cell,
        weight,
        lengths,
    ))
}

/// The operation on its input ([`input`]): `[time + 1, batch, H]`, as [`lstm_recurrence`].
pub(crate) fn run<B: RecurrenceBackend>(input: Input<B>) -> Tensor<B, 3> {
    float(B::lstm_recurrence_forward(input, false).output)
}

/// The operation's input from tensors, as [`lstm_recurrence`] takes them.
pub(crate) fn input<B: Backend>(
    projected: Tensor<B, 3>,
    initial_hidden: Tensor<B, 2>,
    initial_cell: Tensor<B, 2>,
    weight: Tensor<B, 2>,
    lengths: Option<&[usize]>,
) -> Input<B> {
    Input {
        lengths: uneven(lengths, projected.dims()[0]),
        projected: primitive(projected),
        initial_hidden: primitive(initial_hidden),
        initial_cell: primitive(initial_cell),
        weight: primitive(weight),
    }
}
