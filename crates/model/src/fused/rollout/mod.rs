//! The rollout: which symbol every step of a window is fed when some steps get the model's own
//! prediction (scheduled sampling, the free-running curriculum).
//!
//! No gradient flows through a coin or through the choice of a symbol, so once the fed symbols
//! are known, the step-wise graph is exactly the teacher-forced graph of the window with those
//! symbols as inputs. Training therefore runs in two passes: this rollout, with no autodiff and
//! no saved state, decides the fed symbols step by step; the fused teacher-forced pass then
//! trains on them (one graph node, hand-written BPTT). The tests hold the pair to the step-wise
//! loop, values and every gradient.
//!
//! The coins and the uniform draws that pick sampled symbols come from a [`FeedingPlan`] made on
//! the host, so the CPU kernels, the generic passes and the step-wise reference all feed the
//! same symbols. The CPU backends run a host kernel (rows split over the cores for the whole time
//! loop); every other backend the step-wise passes here, on Burn's operations.

#[cfg(host_kernels)]
pub(crate) mod kernel;

#[cfg(host_kernels)]
use burn::tensor::DType;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Bool, Int, Tensor, TensorData};

#[cfg(host_kernels)]
use super::host::math::Real;
#[cfg(host_kernels)]
use super::host::{HostView, read};

use crate::error::{ModelError, require_steps, shape_error};
use crate::feedback::{FeedbackChoice, sample_classes_with};

/// Per row and step of a window: whether the step is fed the truth or the model's own
/// prediction, and the uniform draw that picks a sampled prediction.
///
/// Step 0 of every row is always fed the truth: the symbol before a window is data.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedingPlan {
    batch: usize,
    time: usize,
    truth: Vec<bool>,
    draws: Vec<f64>,
    own: FeedbackChoice,
}

impl FeedingPlan {
    /// A plan from per-step flags and draws.
    ///
    /// - `truth`: `[batch, time]` row-major, `true` where the step is fed the true symbol.
    /// - `draws`: `[batch, time]`, uniform in `[0, 1)`: the draw that samples the symbol fed at
    ///   that step from the softmax of the step before (unused under [`FeedbackChoice::Argmax`]).
    /// - `own`: how a prediction becomes a symbol, [`FeedbackChoice::Sample`] or
    ///   [`FeedbackChoice::Argmax`].
    pub fn new(
        [batch, time]: [usize; 2],
        truth: Vec<bool>,
        draws: Vec<f64>,
        own: FeedbackChoice,
    ) -> crate::Result<Self> {
        require_steps("plan", [batch, time])?;
        for (what, len) in [("plan truth", truth.len()), ("plan draws", draws.len())] {
            if len != batch * time {
                return Err(shape_error(what, format!("[{batch}, {time}]"), &[len]));
            }
        }
        if own == FeedbackChoice::Probabilities {
            return Err(ModelError::InvalidConfig {
                setting: "own",
                reason: "a fed symbol is sampled or the argmax, not a probability vector".into(),
            });
        }
        if let Some(draw) = draws.iter().find(|draw| !(0.0..1.0).contains(*draw)) {
            return Err(ModelError::InvalidConfig {
                setting: "draws",
                reason: format!("{draw} is outside [0, 1)"),
            });
        }
        let mut truth = truth;
        for row in 0..batch {
            truth[row * time] = true;
        }
        Ok(Self {
            batch,
            time,
            truth,
            draws,
            own,
        })
    }

    /// Every step fed the truth.
    pub fn teacher_forcing(batch: usize, time: usize) -> crate::Result<Self> {
        Self::new(
            [batch, time],
            vec![true; batch * time],
            vec![0.0; batch * time],
            FeedbackChoice::Argmax,
        )
    }

    /// `[batch, time]`.
    pub fn dims(&self) -> [usize; 2] {
        [self.batch, self.time]
    }

    /// An error unless the plan covers `[batch, time]`, the window it is to feed.
    pub(crate) fn check_fits(&self, [batch, time]: [usize; 2]) -> crate::Result<()> {
        if self.dims() == [batch, time] {
            return Ok(());
        }
        Err(shape_error(
            "plan",
            format!("[{batch}, {time}]"),
            &self.dims(),
        ))
    }

    /// How a prediction becomes a symbol.
    pub fn own(&self) -> FeedbackChoice {
        self.own
    }

    /// Whether step `t` of row `row` is fed the truth.
    pub fn fed_truth(&self, row: usize, t: usize) -> bool {
        self.truth[row * self.time + t]
    }

    /// The draw that samples the symbol fed at step `t` of row `row`.
    pub fn draw(&self, row: usize, t: usize) -> f64 {
        self.draws[row * self.time + t]
    }

    /// Whether every step of every row is fed the truth.
    pub fn is_teacher_forcing(&self) -> bool {
        self.truth.iter().all(|&truth| truth)
    }

    /// The last step some row is fed its own prediction: the rollout need not run past the step
    /// before it. `None` under teacher forcing.
    pub fn last_own_step(&self) -> Option<usize> {
        (1..self.time)
            .rev()
            .find(|&t| (0..self.batch).any(|row| !self.fed_truth(row, t)))
    }

    /// Step `t`'s truth flags, `[batch]`, as a tensor.
    pub fn truth_column<B: Backend>(&self, t: usize, device: &B::Device) -> Tensor<B, 1, Bool> {
        let column: Vec<bool> = (0..self.batch).map(|row| self.fed_truth(row, t)).collect();
        Tensor::from_data(TensorData::new(column, [self.batch]), device)
    }

    /// Step `t`'s draws, `[batch, 1]`, as a tensor.
    pub fn draw_column<B: Backend>(&self, t: usize, device: &B::Device) -> Tensor<B, 2> {
        let column: Vec<f64> = (0..self.batch).map(|row| self.draw(row, t)).collect();
        Tensor::<B, 2>::from_data(TensorData::new(column, [self.batch, 1]), device)
    }

    /// The symbols fed at step `t`, `[batch]`: `truth` where the plan says so, else the model's
    /// own prediction from `logits` (`[batch, classes]`, the output of step `t-1`).
    pub fn mix<B: Backend>(
        &self,
        t: usize,
        truth: Tensor<B, 1, Int>,
        logits: Tensor<B, 2>,
    ) -> Tensor<B, 1, Int> {
        let device = truth.device();
        let logits = logits.detach();
        let own = match self.own {
            FeedbackChoice::Sample => sample_classes_with(logits, self.draw_column(t, &device)),
            _ => {
                let [batch, _] = logits.dims();
                logits.argmax(1).reshape([batch])
            }
        };
        own.mask_where(self.truth_column(t, &device), truth)
    }
}

/// The recurrence of one layer, as the rollout runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolloutCell {
    /// `h = tanh(b + U x + W h)`.
    Tanh,
    /// PyTorch's LSTM, gates `i, f, g, o`; the state holds `c`.
    Lstm,
    /// PyTorch's GRU, gates `r, z, n`; the reset gate multiplies `W_hn h + b_hn`.
    Gru,
}

impl RolloutCell {
    /// Gate blocks in the weights.
    pub fn gates(self) -> usize {
        match self {
            RolloutCell::Tanh => 1,
            RolloutCell::Lstm => 4,
            RolloutCell::Gru => 3,
        }
    }
}

/// One layer of pattern 1, its `G` gate blocks of `d_hidden` units side by side.
#[derive(Debug, Clone)]
pub struct LayerWeights<B: Backend> {
    /// The layer's recurrence.
    pub cell: RolloutCell,
    /// `U`, `[d_input, G · d_hidden]` (the first layer's: `[vocab, G · d_hidden]`, looked up by
    /// id).
    pub input_weight: Tensor<B, 2>,
    /// The bias added to `U x`, `[G · d_hidden]`: `b` for tanh, `b_ih + b_hh` for the LSTM,
    /// `b_ih` for the GRU.
    pub bias: Tensor<B, 1>,
    /// `W`, `[d_hidden, G · d_hidden]`.
    pub recurrent_weight: Tensor<B, 2>,
    /// The GRU's `b_hh`, `[3 · d_hidden]`, added to `W h` (the reset gate multiplies the sum).
    pub recurrent_bias: Option<Tensor<B, 1>>,
}

/// What pattern 1's rollout reads: a language model over token ids.
#[derive(Debug, Clone)]
pub struct HiddenRollout<B: Backend> {
    /// The stacked layers, first to last.
    pub layers: Vec<LayerWeights<B>>,
    /// `V`, `[d_hidden, vocab]`.
    pub output_weight: Tensor<B, 2>,
    /// `c`, `[vocab]`.
    pub output_bias: Tensor<B, 1>,
    /// `h(0)` of every layer, `[layers, batch, d_hidden]`.
    pub initial: Tensor<B, 3>,
    /// The LSTM's `c(0)` of every layer, `[layers, batch, d_hidden]` (zeros when `None`).
    pub initial_cell: Option<Tensor<B, 3>>,
    /// The true symbols, `[batch, time]` (the input at `t` is the symbol at `t-1`).
    pub truth: Tensor<B, 2, Int>,
    /// Added to the first layer's `U x + b` at every step, `[batch, G · d_hidden]`: the share of
    /// an input every step of a row has besides its symbol (an encoder–decoder's summary in
    /// every decoder input, `C · U_C`); `None` when there is none.
    pub first_layer_offset: Option<Tensor<B, 2>>,
}

/// What pattern 2's rollout reads.
#[derive(Debug, Clone)]
pub struct OutputRollout<B: Backend> {
    /// `W`, `[vocab, d_hidden]`, looked up by the fed-back id.
    pub feedback_weight: Tensor<B, 2>,
    /// `b`, `[d_hidden]`.
    pub bias: Tensor<B, 1>,
    /// `V`, `[d_hidden, vocab]`.
    pub output_weight: Tensor<B, 2>,
    /// `c`, `[vocab]`.
    pub output_bias: Tensor<B, 1>,
    /// `U x(t)` of every step, `[batch, time, d_hidden]`, for a model with an input.
    pub projected: Option<Tensor<B, 3>>,
    /// The true fed-back symbols `y(0) … y(τ-1)`, `[batch, time]`.
    pub truth: Tensor<B, 2, Int>,
}

fn column<B: Backend>(ids: &Tensor<B, 2, Int>, t: usize) -> Tensor<B, 1, Int> {
    let [batch, _] = ids.dims();
    ids.clone().slice([0..batch, t..t + 1]).reshape([batch])
}

/// The step-wise loop both generic rollouts share: each step's symbols are the truth or, by the
/// plan, the own prediction from the logits `advance(t, symbols)` returned for the step before.
/// Returns the fed symbols, `[batch, time]`.
pub(crate) fn generic_loop<B: Backend>(
    truth: Tensor<B, 2, Int>,
    plan: &FeedingPlan,
    mut advance: impl FnMut(usize, Tensor<B, 1, Int>) -> Tensor<B, 2>,
) -> Tensor<B, 2, Int> {
    let Some(last) = plan.last_own_step() else {
        return truth;
    };
    let [_, time] = truth.dims();
    let mut fed = Vec::with_capacity(time);
    let mut logits = None;
    for t in 0..time {
        let symbols = match logits.take() {
            Some(logits) => plan.mix(t, column(&truth, t), logits),
            None => column(&truth, t),
        };
        fed.push(symbols.clone());
        if t < last {
            logits = Some(advance(t, symbols));
        }
    }
    Tensor::stack(fed, 1)
}

/// Layer `l` of `[layers, batch, d_hidden]`, `[batch, d_hidden]`.
fn layer_of<B: Backend>(states: &Tensor<B, 3>, l: usize) -> Tensor<B, 2> {
    let [_, batch, hidden] = states.dims();
    states.clone().narrow(0, l, 1).reshape([batch, hidden])
}

/// Gate block `k` of `[batch, G · d_hidden]`.
fn gate<B: Backend>(gates: &Tensor<B, 2>, k: usize, hidden: usize) -> Tensor<B, 2> {
    gates.clone().narrow(1, k * hidden, hidden)
}

/// One step of a layer on Burn's operations from `projected` (`b + U x`, `[batch, G ·
/// d_hidden]`) and the state before it (`h`, and `c` for the LSTM): the state after it.
fn generic_step<B: Backend>(
    layer: &LayerWeights<B>,
    projected: Tensor<B, 2>,
    (h, c): (Tensor<B, 2>, Tensor<B, 2>),
) -> (Tensor<B, 2>, Tensor<B, 2>) {
    let [_, hidden] = h.dims();
    let mut recurrent = h.clone().matmul(layer.recurrent_weight.clone());
    if let Some(bias) = &layer.recurrent_bias {
        recurrent = recurrent + bias.clone().unsqueeze::<2>();
    }
    match layer.cell {
        RolloutCell::Tanh => ((projected + recurrent).tanh(), c),
        RolloutCell::Lstm => {
            let gates = projected + recurrent;
            let sigmoid = |k| super::sigmoid(gate(&gates, k, hidden));
            let c = sigmoid(1) * c + sigmoid(0) * gate(&gates, 2, hidden).tanh();
            (sigmoid(3) * c.clone().tanh(), c)
        }
        RolloutCell::Gru => {
            let both = |k| gate(&projected, k, hidden) + gate(&recurrent, k, hidden);
            let (reset, update) = (super::sigmoid(both(0)), super::sigmoid(both(1)));
            let new = (gate(&projected, 2, hidden) + reset * gate(&recurrent, 2, hidden)).tanh();
            let keep = update.clone() * h;
            (new.clone() - update * new + keep, c)
        }
    }
}

/// Pattern 1's rollout on Burn's operations, step by step: the fed symbols, `[batch, time]`.
pub fn hidden_generic<B: Backend>(
    input: HiddenRollout<B>,
    plan: &FeedingPlan,
) -> Tensor<B, 2, Int> {
    let [layers, ..] = input.initial.dims();
    let cells = (input.initial_cell.clone())
        .unwrap_or_else(|| Tensor::zeros(input.initial.dims(), &input.initial.device()));
    let mut states: Vec<(Tensor<B, 2>, Tensor<B, 2>)> = (0..layers)
        .map(|l| (layer_of(&input.initial, l), layer_of(&cells, l)))
        .collect();
    let first = &input.layers[0];
    let table = first.input_weight.clone() + first.bias.clone().unsqueeze::<2>();
    let output_bias = input.output_bias.clone().unsqueeze::<2>();
    generic_loop(input.truth, plan, |_, symbols| {
        let mut below = table.clone().select(0, symbols);
        if let Some(offset) = &input.first_layer_offset {
            below = below + offset.clone();
        }
        for (l, layer) in input.layers.iter().enumerate() {
            let projected = if l == 0 {
                below
            } else {
                below.matmul(layer.input_weight.clone()) + layer.bias.clone().unsqueeze::<2>()
            };
            states[l] = generic_step(layer, projected, states[l].clone());
            below = states[l].0.clone();
        }
        below.matmul(input.output_weight.clone()) + output_bias.clone()
    })
}

/// Pattern 2's rollout on Burn's operations, step by step: the fed-back symbols,
/// `[batch, time]`.
pub fn output_generic<B: Backend>(
    input: OutputRollout<B>,
    plan: &FeedingPlan,
) -> Tensor<B, 2, Int> {
    let [batch, _] = input.truth.dims();
    let hidden = input.bias.dims()[0];
    let bias = input.bias.clone().unsqueeze::<2>();
    let output_bias = input.output_bias.clone().unsqueeze::<2>();
    generic_loop(input.truth, plan, |t, symbols| {
        let mut pre = input.feedback_weight.clone().select(0, symbols) + bias.clone();
        if let Some(projected) = &input.projected {
            pre = pre
                + projected
                    .clone()
                    .slice([0..batch, t..t + 1, 0..hidden])
                    .reshape([batch, hidden]);
        }
        pre.tanh().matmul(input.output_weight.clone()) + output_bias.clone()
    })
}

impl<B: AutodiffBackend> HiddenRollout<B> {
    /// The same rollout on the inner backend: no graph is built for it.
    pub fn inner(self) -> HiddenRollout<B::InnerBackend> {
        HiddenRollout {
            layers: self
                .layers
                .into_iter()
                .map(|layer| LayerWeights {
                    cell: layer.cell,
                    input_weight: layer.input_weight.inner(),
                    bias: layer.bias.inner(),
                    recurrent_weight: layer.recurrent_weight.inner(),
                    recurrent_bias: layer.recurrent_bias.map(Tensor::inner),
                })
                .collect(),
            output_weight: self.output_weight.inner(),
            output_bias: self.output_bias.inner(),
            initial: self.initial.inner(),
            initial_cell: self.initial_cell.map(Tensor::inner),
            truth: self.truth.inner(),
            first_layer_offset: self.first_layer_offset.map(Tensor::inner),
        }
    }
}

impl<B: AutodiffBackend> OutputRollout<B> {
    /// The same rollout on the inner backend: no graph is built for it.
    pub fn inner(self) -> OutputRollout<B::InnerBackend> {
        OutputRollout {
            feedback_weight: self.feedback_weight.inner(),
            bias: self.bias.inner(),
            output_weight: self.output_weight.inner(),
            output_bias: self.output_bias.inner(),
            projected: self.projected.map(Tensor::inner),
            truth: self.truth.inner(),
        }
    }
}

/// A float tensor's values on the host.
#[cfg(host_kernels)]
fn host_values<B: HostView, E: Real, const D: usize>(tensor: Tensor<B, D>) -> Vec<E> {
    read::<B, E>(super::primitive(tensor))
}

/// Runs a rollout kernel on the truth's ids, `[batch, time]`, read to the host; the symbols it
/// fed come back as a tensor of the same shape on the truth's device.
#[cfg(host_kernels)]
fn on_host_ids<B: Backend>(
    truth: Tensor<B, 2, Int>,
    kernel: impl FnOnce(Vec<i64>) -> Vec<i64>,
) -> Tensor<B, 2, Int> {
    let device = truth.device();
    let dims = truth.dims();
    let values = truth.into_data().convert::<i64>().to_vec::<i64>();
    Tensor::from_data(TensorData::new(kernel(values.expect("ids")), dims), &device)
}

/// Pattern 1's rollout by the host kernel in the weights' float type (others: the generic pass).
#[cfg(host_kernels)]
pub(crate) fn hidden_host<B: HostView>(
    input: HiddenRollout<B>,
    plan: &FeedingPlan,
) -> Tensor<B, 2, Int> {
    fn run<B: HostView, E: Real>(input: HiddenRollout<B>, plan: &FeedingPlan) -> Tensor<B, 2, Int> {
        let layers: Vec<kernel::Layer<E>> = input
            .layers
            .into_iter()
            .map(|layer| kernel::Layer {
                cell: layer.cell,
                input_weight: host_values(layer.input_weight),
                bias: host_values(layer.bias),
                recurrent_weight: host_values(layer.recurrent_weight),
                recurrent_bias: layer.recurrent_bias.map(host_values),
            })
            .collect();
        let output = kernel::Output {
            weight: host_values(input.output_weight),
            bias: host_values(input.output_bias),
        };
        let initial = host_values(input.initial);
        let initial_cell: Option<Vec<E>> = input.initial_cell.map(host_values);
        let offset: Option<Vec<E>> = input.first_layer_offset.map(host_values);
        on_host_ids(input.truth, |truth| {
            let initial = (initial.as_slice(), initial_cell.as_deref());
            kernel::hidden(&layers, (&output, offset.as_deref()), initial, truth, plan)
        })
    }
    match input.output_weight.dtype() {
        DType::F32 => run::<B, f32>(input, plan),
        DType::F64 => run::<B, f64>(input, plan),
        _ => hidden_generic(input, plan),
    }
}

/// Pattern 2's rollout by the host kernel in the weights' float type (others: the generic pass).
#[cfg(host_kernels)]
pub(crate) fn output_host<B: HostView>(
    input: OutputRollout<B>,
    plan: &FeedingPlan,
) -> Tensor<B, 2, Int> {
    fn run<B: HostView, E: Real>(input: OutputRollout<B>, plan: &FeedingPlan) -> Tensor<B, 2, Int> {
        let feedback_weight: Vec<E> = host_values(input.feedback_weight);
        let bias: Vec<E> = host_values(input.bias);
        let output = kernel::Output {
            weight: host_values(input.output_weight),
            bias: host_values(input.output_bias),
        };
        let projected: Option<Vec<E>> = input.projected.map(host_values);
        on_host_ids(input.truth, |truth| {
            kernel::output(
                (&feedback_weight, &bias),
                &output,
                projected.as_deref(),
                truth,
                plan,
            )
        })
    }
    match input.output_weight.dtype() {
        DType::F32 => run::<B, f32>(input, plan),
        DType::F64 => run::<B, f64>(input, plan),
        _ => output_generic(input, plan),
    }
}
