//! What a cell is: the transition `f(h(t-1), x(t); θ)` of one layer, behind one trait, so that a
//! stack, a direction or an encoder–decoder is written once for every cell.
//!
//! A cell gives its step (on Burn's operations), its sequence operation (fused, with a
//! hand-written BPTT), the unrolled reference, its parameters under PyTorch's names and what its
//! state holds; its configuration ([`CellKind`]) gives its sizes for memory estimates. Adding a
//! cell means its own module and one line in [`super::registry`].

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Int, Tensor, backend::Backend};

use crate::fused::RecurrenceBackend;
use crate::fused::rollout::LayerWeights;
use crate::input::StepInput;

/// One layer's state: `h`, and `c` for a cell with a cell state (the LSTM), each
/// `[batch, d_hidden]`.
#[derive(Debug, Clone)]
pub struct LayerState<B: Backend> {
    /// The hidden state `h(t)`, what the layer outputs.
    pub hidden: Tensor<B, 2>,
    /// The cell state `c(t)`, for the cells that have one.
    pub cell: Option<Tensor<B, 2>>,
}

impl<B: Backend> LayerState<B> {
    /// The state of a cell whose state is `h` alone.
    pub fn of_hidden(hidden: Tensor<B, 2>) -> Self {
        LayerState { hidden, cell: None }
    }

    /// `self` where `mask` (`[batch, 1]`) is 1, `before` where it is 0: padding carries the
    /// state through unchanged.
    pub fn masked(self, before: &LayerState<B>, mask: &Tensor<B, 2>) -> LayerState<B> {
        let blend =
            |next: Tensor<B, 2>, old: Tensor<B, 2>| old.clone() + (next - old) * mask.clone();
        LayerState {
            hidden: blend(self.hidden, before.hidden.clone()),
            cell: self
                .cell
                .zip(before.cell.clone())
                .map(|(next, old)| blend(next, old)),
        }
    }
}

/// A cell's parameters as PyTorch's recurrent layers name and lay them out.
#[derive(Debug, Clone)]
pub struct PytorchParameters<B: Backend> {
    /// `weight_ih` `[gates · d_hidden, d_input]` and `weight_hh` `[gates · d_hidden, d_hidden]`.
    pub weights: [Tensor<B, 2>; 2],
    /// `bias_ih` and `bias_hh`, `[gates · d_hidden]` (zeros where the cell has one bias only).
    pub biases: [Tensor<B, 1>; 2],
}

/// What a kind of cell is made of, for estimates made before any cell is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellFacts {
    /// The cell's name in lower case, as command lines and exports spell it.
    pub name: &'static str,
    /// Gate blocks in the weights (1 for tanh).
    pub gates: usize,
    /// Whether the state holds a cell state `c` besides `h`.
    pub has_cell_state: bool,
    /// Bias vectors per layer: 1 for the textbook's tanh layer, 2 for PyTorch's gated cells.
    pub bias_vectors: usize,
    /// Values kept per hidden unit, layer and step for the backward pass (memory estimates).
    pub values_per_state: usize,
}

impl CellFacts {
    /// A gated cell of PyTorch's with `gates` blocks: two bias vectors, and kept for the
    /// backward pass the state, its gradient, the projected input and each gate's input and
    /// output.
    pub const fn gated(name: &'static str, gates: usize, has_cell_state: bool) -> Self {
        CellFacts {
            name,
            gates,
            has_cell_state,
            bias_vectors: 2,
            values_per_state: 3 * gates + 3,
        }
    }
}

/// A cell's kind, implemented by its configuration (built by `new(d_input, d_hidden)` and
/// `try_init(device)`, as Burn's configurations are).
pub trait CellKind: Config {
    /// What the cell is made of.
    const FACTS: CellFacts;
}

/// A layer's input over every step, one entry per step, and its state before the first: what
/// [`Cell::unrolled`] reads.
pub struct Steps<'a, B: Backend> {
    /// One entry per step, `[batch]` ids or `[batch, d_input]` features.
    pub inputs: Vec<StepInput<B>>,
    /// The state before the first step.
    pub initial: LayerState<B>,
    /// Optional, one `[batch, 1]` tensor per step, 1 on real steps and 0 on padding, where the
    /// state is carried through unchanged.
    pub masks: Option<&'a [Tensor<B, 2>]>,
}

/// A layer's input over a whole sequence, time folded into the rows, and its state before the
/// first step: what the fused operations read.
pub struct Rows<'a, B: Backend> {
    /// Row `t · batch + b`: `[time · batch]` ids or `[time · batch, d_input]` features.
    pub rows: StepInput<B>,
    /// `[time, batch]`.
    pub time_batch: [usize; 2],
    /// The state before the first step.
    pub initial: LayerState<B>,
    /// Optional, each row's number of real steps, `[batch]`, each in `1..=time`.
    pub lengths: Option<&'a [usize]>,
}

/// The output layer and loss a top layer's operation may fuse with its recurrence.
pub struct OutputLoss<'a, B: Backend> {
    /// `V` `[d_hidden, d_output]` and `c` `[d_output]`, read when asked for (after the cell's own
    /// parameters: a seed gives each parameter its values in the order of first reads).
    pub output: Box<dyn FnOnce() -> (Tensor<B, 2>, Tensor<B, 1>) + 'a>,
    /// `[time · batch]`, time-major.
    pub targets: Tensor<B, 1, Int>,
}

/// One outcome of [`Cell::fused_loss`]: the per-row losses `[time · batch]` (time-major) and the
/// final state, or, for a cell without such an operation, its input back untouched.
pub type FusedLoss<'a, B> = Result<(Tensor<B, 1>, LayerState<B>), Rows<'a, B>>;

/// What a cell is: one layer's transition, run step by step or over a whole sequence.
///
/// The two sequence operations give the same values and gradients: [`Cell::unrolled`] is the
/// reference on Burn's own operations, [`Cell::fused`] the fast path.
pub trait Cell<B: Backend>: Module<B> {
    /// Size of the hidden state.
    fn d_hidden(&self) -> usize;

    /// Runs the cell over every step, one autodiff node per operation and step. Returns
    /// `h(1) … h(τ)`, each `[batch, d_hidden]`, and the final state.
    fn unrolled(&self, steps: Steps<'_, B>) -> (Vec<Tensor<B, 2>>, LayerState<B>);

    /// Runs the cell over a sequence by its fused operation. Returns `h(1) … h(τ)` time-major,
    /// `[time, batch, d_hidden]`, possibly followed by rows the operation keeps with them (the
    /// LSTM's `c(τ)`: a consumer takes the first `time`), and the final state.
    fn fused(&self, sequence: Rows<'_, B>) -> (Tensor<B, 3>, LayerState<B>)
    where
        B: RecurrenceBackend;

    /// Two layers of this cell over two sequences, `self` over the first and `other` over the
    /// second (both directions of a bidirectional layer): both [`Cell::fused`] outputs stacked,
    /// `[2, steps, batch, d_hidden]`, and both final states. By default one after the other; a
    /// cell with a pair operation runs both at once, each on half of the cores.
    fn fused_pair(&self, other: &Self, sequences: [Rows<'_, B>; 2]) -> FusedPair<B>
    where
        B: RecurrenceBackend,
        Self: Sized,
    {
        one_after_other(self, other, sequences)
    }

    /// One step: the state after `x(t)` (`[batch]` ids or `[batch, d_input]` features).
    fn step(&self, input: StepInput<B>, state: LayerState<B>) -> LayerState<B>
    where
        B: RecurrenceBackend;

    /// The parameters under PyTorch's names and layouts.
    fn pytorch_parameters(&self) -> PytorchParameters<B>;

    /// The top layer's recurrence, the output layer and the loss fused into one operation, when
    /// the cell has one (the sequence has no lengths here).
    fn fused_loss<'a>(&self, sequence: Rows<'a, B>, _loss: OutputLoss<'_, B>) -> FusedLoss<'a, B>
    where
        B: RecurrenceBackend,
    {
        Err(sequence)
    }

    /// The weights the CPU rollout kernel reads, when the cell has one (detached).
    fn rollout_weights(&self) -> Option<LayerWeights<B>> {
        None
    }
}

/// `h(τ)`, `[batch, d_hidden]`, of time-major states `[time, batch, d_hidden]`.
pub(crate) fn last_state<B: Backend>(states: &Tensor<B, 3>, time: usize) -> Tensor<B, 2> {
    let [_, batch, d_hidden] = states.dims();
    states
        .clone()
        .narrow(0, time - 1, 1)
        .reshape([batch, d_hidden])
}

/// [`Cell::fused_pair`] by two [`Cell::fused`] calls, one after the other.
pub(crate) fn one_after_other<B: RecurrenceBackend, C: Cell<B>>(
    first: &C,
    second: &C,
    [first_sequence, second_sequence]: [Rows<'_, B>; 2],
) -> FusedPair<B> {
    let (first_outputs, first_last) = first.fused(first_sequence);
    let (second_outputs, second_last) = second.fused(second_sequence);
    (
        Tensor::stack(vec![first_outputs, second_outputs], 0),
        [first_last, second_last],
    )
}

/// What [`Cell::fused_pair`] returns: both outputs stacked, `[2, steps, batch, d_hidden]`, and
/// both final states.
pub type FusedPair<B> = (Tensor<B, 4>, [LayerState<B>; 2]);

/// The final states of a pair operation's stacked outputs (`[2, steps, batch, d_hidden]`), each
/// read by `last` from its half (`[steps, batch, d_hidden]`).
pub(crate) fn pair_with_last<B: Backend>(
    both: Tensor<B, 4>,
    last: impl Fn(&Tensor<B, 3>) -> LayerState<B>,
) -> FusedPair<B> {
    let finals = crate::fused::pair::halves(both.clone()).map(|half| last(&half));
    (both, finals)
}
