//! What the network is fed as its previous symbol: the truth (teacher forcing), a per-position
//! coin between the truth and its own prediction (scheduled sampling), or its own predictions
//! for the last steps of each window (the free-running curriculum).
//!
//! For pattern 1 used as a language model the input at `t` is the symbol at `t-1`; for pattern 2
//! the fed-back `y(t-1)` is. The first step of a window is always fed the truth (the symbol before
//! the window is data, not a prediction). No gradient flows through a coin or a sampled symbol.

use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Int, Tensor};
use unroll_model::{
    Feedback, FeedbackChoice, FeedbackSequence, HiddenRecurrent, OutputRecurrent,
    RecurrenceBackend, RecurrentOutput, SequenceInput, StepInput,
};

use crate::error::{Result, invalid};
use crate::schedule::probability;

/// What is fed at each step of one training window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Feeding {
    /// Always the true previous symbol.
    TeacherForcing,
    /// At every step after the first, each sequence independently gets the truth with
    /// probability `truth_probability` (ε), else its own prediction.
    ScheduledSampling {
        /// ε in `[0, 1]`.
        truth_probability: f64,
        /// How the prediction becomes a symbol.
        own: FeedbackChoice,
    },
    /// The first `time − free_steps` steps get the truth, the last `free_steps` the model's own
    /// predictions.
    FreeRunningTail {
        /// Number of steps at the end of the window fed the model's own predictions.
        free_steps: usize,
        /// How the prediction becomes a symbol.
        own: FeedbackChoice,
    },
}

impl Feeding {
    /// Checks the parameters against the window length.
    pub fn validate(&self, time: usize) -> Result<()> {
        match *self {
            Feeding::TeacherForcing => Ok(()),
            Feeding::ScheduledSampling {
                truth_probability,
                own,
            } => {
                check_own_symbol(own)?;
                probability("epsilon", truth_probability)
            }
            Feeding::FreeRunningTail { free_steps, .. } if free_steps > time => Err(invalid(
                "free_steps",
                format!("{free_steps} free-running steps exceed the window ({time})"),
            )),
            Feeding::FreeRunningTail { own, .. } => check_own_symbol(own),
        }
    }

    /// The probability of feeding the truth at step `t` of a window of `time` steps.
    pub fn truth_probability(&self, t: usize, time: usize) -> f64 {
        match *self {
            _ if t == 0 => 1.0,
            Feeding::TeacherForcing => 1.0,
            Feeding::ScheduledSampling {
                truth_probability, ..
            } => truth_probability,
            Feeding::FreeRunningTail { free_steps, .. } => {
                if t + free_steps >= time {
                    0.0
                } else {
                    1.0
                }
            }
        }
    }

    /// Whether every step is fed the truth, so the plain (or parallel) forward applies.
    pub fn is_teacher_forcing(&self, time: usize) -> bool {
        (0..time).all(|t| self.truth_probability(t, time) >= 1.0)
    }

    fn own(&self) -> FeedbackChoice {
        match *self {
            Feeding::TeacherForcing => FeedbackChoice::Argmax,
            Feeding::ScheduledSampling { own, .. } | Feeding::FreeRunningTail { own, .. } => own,
        }
    }
}

/// Per sequence, the truth with probability `p`, else `own`; `[batch]` ids each.
///
/// The coins come from the backend's generator, so `B::seed` fixes them on CPU.
pub fn mix<B: Backend>(
    truth: Tensor<B, 1, Int>,
    own: Tensor<B, 1, Int>,
    p: f64,
) -> Tensor<B, 1, Int> {
    if p >= 1.0 {
        return truth;
    }
    if p <= 0.0 {
        return own;
    }
    let [batch] = truth.dims();
    let coins = Tensor::<B, 1>::random([batch], Distribution::Bernoulli(p), &truth.device());
    own.mask_where(coins.equal_elem(1.0), truth)
}

fn own_symbol<B: Backend>(logits: Tensor<B, 2>, own: FeedbackChoice) -> Tensor<B, 1, Int> {
    match Feedback::from_logits(logits, own) {
        Feedback::Tokens(ids) => ids,
        Feedback::Dense(_) => unreachable!("`Feeding::validate` refuses probabilities"),
    }
}

/// Checks that the model's own prediction becomes a symbol: a language model is fed symbols, so
/// a probability vector cannot stand in for one.
pub(crate) fn check_own_symbol(own: FeedbackChoice) -> Result<()> {
    if own == FeedbackChoice::Probabilities {
        return Err(invalid(
            "own",
            "a language model is fed symbols: its own prediction is sampled or its argmax",
        ));
    }
    Ok(())
}

fn column<B: Backend>(ids: &Tensor<B, 2, Int>, t: usize) -> Tensor<B, 1, Int> {
    let [batch, _] = ids.dims();
    ids.clone().slice([0..batch, t..t + 1]).reshape([batch])
}

/// Pattern 1 as a language model over one window.
///
/// - `inputs`: the true previous symbols `[batch, time]` (input at `t` is the symbol at `t-1`).
/// - `state`: `[num_layers, batch, d_hidden]` or `None` for zeros.
///
/// Teacher forcing runs the plain forward; otherwise a loop over steps feeds each step the truth
/// or the model's own prediction of it. Returns logits `[batch, time, vocab]` and the final state.
pub fn hidden_recurrent_window<B: RecurrenceBackend>(
    model: &HiddenRecurrent<B>,
    inputs: Tensor<B, 2, Int>,
    state: Option<Tensor<B, 3>>,
    feeding: &Feeding,
) -> Result<RecurrentOutput<B>> {
    let [_, time] = inputs.dims();
    feeding.validate(time)?;
    if feeding.is_teacher_forcing(time) {
        return Ok(model.forward(SequenceInput::Tokens(inputs), state)?);
    }
    hidden_recurrent_stepwise(model, inputs, state, feeding)
}

/// [`hidden_recurrent_window`]'s loop over steps, run whatever the feeding (under teacher
/// forcing too, where it must agree with the plain forward: the tests check it does).
pub fn hidden_recurrent_stepwise<B: RecurrenceBackend>(
    model: &HiddenRecurrent<B>,
    inputs: Tensor<B, 2, Int>,
    state: Option<Tensor<B, 3>>,
    feeding: &Feeding,
) -> Result<RecurrentOutput<B>> {
    let [_, time] = inputs.dims();
    feeding.validate(time)?;
    let mut state = state;
    let mut logits: Vec<Tensor<B, 2>> = Vec::with_capacity(time);
    for t in 0..time {
        let truth = column(&inputs, t);
        let p = feeding.truth_probability(t, time);
        let fed = match logits.last() {
            Some(previous) if p < 1.0 => mix(truth, own_symbol(previous.clone(), feeding.own()), p),
            _ => truth,
        };
        let (o, next) = model.step(StepInput::Tokens(fed), state)?;
        logits.push(o);
        state = Some(next);
    }
    Ok(RecurrentOutput {
        logits: Tensor::stack(logits, 1),
        state: state.expect("at least one step"),
    })
}

/// Pattern 2 without other input, as a language model over one window.
///
/// - `previous`: the true fed-back symbols `y(0) … y(τ-1)`, `[batch, time]`.
///
/// Teacher forcing runs the parallel path; otherwise the step-wise path, each fed-back value the
/// truth or the model's own prediction. Returns logits `[batch, time, d_output]`.
pub fn output_recurrent_window<B: RecurrenceBackend>(
    model: &OutputRecurrent<B>,
    previous: Tensor<B, 2, Int>,
    feeding: &Feeding,
) -> Result<Tensor<B, 3>> {
    let [_, time] = previous.dims();
    feeding.validate(time)?;
    if feeding.is_teacher_forcing(time) {
        return Ok(model.forward_teacher_forced(None, FeedbackSequence::Tokens(previous))?);
    }
    output_recurrent_stepwise(model, previous, feeding)
}

/// [`output_recurrent_window`]'s step-wise path, run whatever the feeding (under teacher forcing
/// too, where it must agree with the parallel path: the tests check it does).
pub fn output_recurrent_stepwise<B: RecurrenceBackend>(
    model: &OutputRecurrent<B>,
    previous: Tensor<B, 2, Int>,
    feeding: &Feeding,
) -> Result<Tensor<B, 3>> {
    let [_, time] = previous.dims();
    feeding.validate(time)?;
    let own = feeding.own();
    let first = Feedback::Tokens(column(&previous, 0));
    Ok(model.forward_stepwise(None, first, time, |t, o| {
        let p = feeding.truth_probability(t, time);
        Feedback::Tokens(mix(column(&previous, t), own_symbol(o, own), p))
    })?)
}
