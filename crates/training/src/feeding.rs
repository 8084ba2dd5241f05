//! What the network is fed as its previous symbol: the truth (teacher forcing), a per-position
//! coin between the truth and its own prediction (scheduled sampling), or its own predictions
//! for the last steps of each window (the free-running curriculum).
//!
//! For pattern 1 used as a language model the input at `t` is the symbol at `t-1`; for pattern 2
//! the fed-back `y(t-1)` is. The first step of a window is always fed the truth (the symbol before
//! the window is data, not a prediction). No gradient flows through a coin or a sampled symbol.
//!
//! [`Feeding::plan`] turns a strategy into a [`FeedingPlan`] for one window: per row and step,
//! a coin and the uniform draw that samples an own symbol, from one random stream per row
//! ([`FeedingStreams`]). Both paths read the same plan: [`RecurrencePath::Fused`] (the rollout,
//! then the fused teacher-forced pass on the fed symbols) and [`RecurrencePath::Unrolled`] (the
//! loop over steps, the reference).

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use unroll_model::{
    Feedback, FeedbackChoice, FeedbackSequence, FeedingPlan, HiddenRecurrent, HiddenState,
    OutputRecurrent, RecurrenceBackend, RecurrencePath, RecurrentOutput, SequenceInput, StepInput,
};

use crate::error::{Result, invalid};
use crate::schedule::{CurriculumSchedule, SamplingSchedule, probability};
use crate::seeds::mix64;

crate::settings::enum_with_kinds! {
    StrategyKind,
    "The kind of strategy, without its schedule.",
    /// What the network is fed as its previous symbol or value during training, every task alike
    /// (a real value is fed back as it is, so `own` matters only for symbols).
    pub enum Strategy {
        /// Always the truth: under pattern 2 every step decouples and trains in parallel over time.
        #[serde(alias = "teacher-forcing")]
        TeacherForcing,
        /// A per-position coin with probability ε(i) of the truth.
        #[serde(alias = "scheduled-sampling")]
        ScheduledSampling {
            /// ε(i).
            schedule: SamplingSchedule,
            /// How the model's prediction becomes a symbol (written only when not `sample`).
            #[serde(default = "sampled", skip_serializing_if = "is_sampled")]
            own: FeedbackChoice,
        },
        /// The last n(i) steps of every window fed the model's own predictions.
        Curriculum {
            /// n(i).
            schedule: CurriculumSchedule,
            /// How the model's prediction becomes a symbol (written only when not `sample`).
            #[serde(default = "sampled", skip_serializing_if = "is_sampled")]
            own: FeedbackChoice,
        },
    }
}

/// The fed-back symbol a settings file that names none gets: a sample, as generation feeds.
fn sampled() -> FeedbackChoice {
    FeedbackChoice::Sample
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde passes a reference
fn is_sampled(own: &FeedbackChoice) -> bool {
    *own == FeedbackChoice::Sample
}

impl Strategy {
    /// The curriculum up to `maximum` free-running steps over the first 100 iterations, fed
    /// `own` (what the settings' tests refuse).
    #[cfg(test)]
    pub(crate) fn curriculum_to(maximum: usize, own: FeedbackChoice) -> Strategy {
        let schedule = CurriculumSchedule {
            maximum,
            start: 0,
            ramp: 100,
        };
        Strategy::Curriculum { schedule, own }
    }

    /// Checks the schedule against the window of `window` steps, and that an own prediction is
    /// fed as a symbol.
    pub fn validate(&self, window: usize) -> Result<()> {
        match *self {
            Strategy::TeacherForcing => Ok(()),
            Strategy::ScheduledSampling { schedule, own } => {
                check_own_symbol(own)?;
                schedule.validate()
            }
            Strategy::Curriculum { schedule, own } => {
                check_own_symbol(own)?;
                schedule.validate(window)
            }
        }
    }

    /// What iteration `iteration` feeds.
    pub fn feeding(&self, iteration: u64) -> Feeding {
        match *self {
            Strategy::TeacherForcing => Feeding::TeacherForcing,
            Strategy::ScheduledSampling { schedule, own } => Feeding::ScheduledSampling {
                truth_probability: schedule.probability(iteration),
                own,
            },
            Strategy::Curriculum { schedule, own } => Feeding::Curriculum {
                free_steps: schedule.free_running_steps(iteration),
                own,
            },
        }
    }

    /// A short name for reports (`teacher forcing`, `scheduled sampling (linear)`, …).
    pub fn name(&self) -> String {
        match self {
            Strategy::TeacherForcing => "teacher forcing".into(),
            Strategy::ScheduledSampling { schedule, .. } => {
                format!("scheduled sampling ({})", schedule.name())
            }
            Strategy::Curriculum { .. } => "curriculum".into(),
        }
    }
}

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
    Curriculum {
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
                probability("truth_probability", truth_probability)
            }
            Feeding::Curriculum { free_steps, .. } if free_steps > time => Err(invalid(
                "free_steps",
                format!("{free_steps} free-running steps exceed the window ({time})"),
            )),
            Feeding::Curriculum { own, .. } => check_own_symbol(own),
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
            Feeding::Curriculum { free_steps, .. } => {
                if t + free_steps >= time {
                    0.0
                } else {
                    1.0
                }
            }
        }
    }

    /// Scheduled sampling's ε, when this is scheduled sampling (what the metrics record).
    pub fn scheduled_truth_probability(&self) -> Option<f64> {
        match *self {
            Feeding::ScheduledSampling {
                truth_probability, ..
            } => Some(truth_probability),
            _ => None,
        }
    }

    /// The curriculum's free-running steps, when this is the curriculum.
    pub fn free_steps(&self) -> Option<usize> {
        match *self {
            Feeding::Curriculum { free_steps, .. } => Some(free_steps),
            _ => None,
        }
    }

    /// How a prediction becomes a symbol.
    fn own(&self) -> FeedbackChoice {
        match *self {
            Feeding::TeacherForcing => FeedbackChoice::Argmax,
            Feeding::ScheduledSampling { own, .. } | Feeding::Curriculum { own, .. } => own,
        }
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

/// Where the coins and draws of a window come from: one random stream per row, derived from
/// the run's seed, the iteration and the row, so a run is reproducible and resumable and the
/// result does not depend on how rows are split over the cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedingStreams {
    /// The run's seed.
    pub seed: u64,
    /// The iteration (or any other index that tells windows apart).
    pub iteration: u64,
}

impl FeedingStreams {
    /// Row `row`'s stream.
    fn row(&self, row: usize) -> ChaCha8Rng {
        let key = mix64(mix64(mix64(self.seed) ^ self.iteration) ^ row as u64);
        ChaCha8Rng::seed_from_u64(key)
    }
}

impl Feeding {
    /// The plan of one `[batch, time]` window: per row and step, a coin (the truth with the
    /// step's probability) and a uniform draw for a sampled symbol, both from the row's stream.
    pub fn plan(&self, [batch, time]: [usize; 2], streams: FeedingStreams) -> Result<FeedingPlan> {
        self.validate(time)?;
        self.plan_rows([batch, time], |_| time, streams)
    }

    /// The plan of a window whose rows have their own `lengths` (`[batch]`, each in
    /// `1..=time`), a decoder's targets: the curriculum's free steps are counted from each
    /// row's own end (a row shorter than them runs free after its first step), and past its
    /// length a row is fed the truth (its steps are padding). The coins and draws are
    /// [`Feeding::plan`]'s.
    pub fn plan_within(
        &self,
        [batch, time]: [usize; 2],
        lengths: &[usize],
        streams: FeedingStreams,
    ) -> Result<FeedingPlan> {
        if lengths.len() != batch || lengths.iter().any(|&l| l == 0 || l > time) {
            return Err(invalid(
                "lengths",
                format!("{batch} lengths, each in 1..={time}"),
            ));
        }
        // Free steps beyond a row's length are that row's whole length.
        let any = match *self {
            Feeding::Curriculum { own, .. } => Feeding::Curriculum { free_steps: 0, own },
            other => other,
        };
        any.validate(time)?;
        self.plan_rows([batch, time], |row| lengths[row], streams)
    }

    /// The plan with row `row` counted over `length(row)` steps (the truth past them).
    fn plan_rows(
        &self,
        [batch, time]: [usize; 2],
        length: impl Fn(usize) -> usize,
        streams: FeedingStreams,
    ) -> Result<FeedingPlan> {
        let mut truth = Vec::with_capacity(batch * time);
        let mut draws = Vec::with_capacity(batch * time);
        for row in 0..batch {
            let mut stream = streams.row(row);
            let length = length(row);
            for t in 0..time {
                let coin: f64 = stream.random();
                let probability = if t < length {
                    self.truth_probability(t, length)
                } else {
                    1.0
                };
                truth.push(coin < probability);
                draws.push(stream.random::<f64>());
            }
        }
        Ok(FeedingPlan::new([batch, time], truth, draws, self.own())?)
    }
}

fn column<B: Backend>(ids: &Tensor<B, 2, Int>, t: usize) -> Tensor<B, 1, Int> {
    let [batch, _] = ids.dims();
    ids.clone().slice([0..batch, t..t + 1]).reshape([batch])
}

/// Pattern 1 as a language model over one window.
///
/// - `inputs`: the true previous symbols `[batch, time]` (input at `t` is the symbol at `t-1`).
/// - `state`: `h` (and `c`) of every layer, each `[num_layers, batch, d_hidden]`, or `None` for
///   zeros.
/// - `plan`: what each step is fed ([`Feeding::plan`]); `path`: how a window with own
///   predictions runs.
///
/// Teacher forcing runs the plain forward; otherwise the fed symbols come from the rollout and
/// the plain forward runs on them ([`RecurrencePath::Fused`]), or a loop over steps feeds each
/// step ([`RecurrencePath::Unrolled`]). Returns logits `[batch, time, vocab]` and the final state.
pub fn hidden_recurrent_window<B: RecurrenceBackend>(
    model: &HiddenRecurrent<B>,
    inputs: Tensor<B, 2, Int>,
    state: Option<HiddenState<B>>,
    plan: &FeedingPlan,
    path: RecurrencePath,
) -> Result<RecurrentOutput<B>> {
    check_plan(plan, inputs.dims())?;
    if path == RecurrencePath::Unrolled && !plan.is_teacher_forcing() {
        return hidden_recurrent_stepwise(model, inputs, state, plan);
    }
    let inputs = model.fed_symbols(inputs, state.clone(), plan)?;
    Ok(model.forward(SequenceInput::Tokens(inputs), state)?)
}

/// [`hidden_recurrent_window`]'s loop over steps, run whatever the plan (under teacher forcing
/// too, where it must agree with the plain forward: the tests check it does).
pub fn hidden_recurrent_stepwise<B: RecurrenceBackend>(
    model: &HiddenRecurrent<B>,
    inputs: Tensor<B, 2, Int>,
    state: Option<HiddenState<B>>,
    plan: &FeedingPlan,
) -> Result<RecurrentOutput<B>> {
    let [_, time] = inputs.dims();
    check_plan(plan, inputs.dims())?;
    let mut state = state;
    let mut logits: Vec<Tensor<B, 2>> = Vec::with_capacity(time);
    for t in 0..time {
        let truth = column(&inputs, t);
        let fed = match logits.last() {
            Some(previous) => plan.mix(t, truth, previous.clone()),
            None => truth,
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

/// Checks that the plan is one of the window's shape.
pub(crate) fn check_plan(plan: &FeedingPlan, dims: [usize; 2]) -> Result<()> {
    if plan.dims() != dims {
        return Err(invalid(
            "plan",
            format!("a plan of {:?} for a window of {dims:?}", plan.dims()),
        ));
    }
    Ok(())
}

/// Pattern 2 without other input, as a language model over one window.
///
/// - `previous`: the true fed-back symbols `y(0) … y(τ-1)`, `[batch, time]`.
/// - `plan`, `path`: as for [`hidden_recurrent_window`].
///
/// Teacher forcing runs the parallel path, on the fed symbols from the rollout when some steps
/// get own predictions ([`RecurrencePath::Fused`]); [`RecurrencePath::Unrolled`] runs the step-wise
/// path. Returns logits `[batch, time, d_output]`.
pub fn output_recurrent_window<B: RecurrenceBackend>(
    model: &OutputRecurrent<B>,
    previous: Tensor<B, 2, Int>,
    plan: &FeedingPlan,
    path: RecurrencePath,
) -> Result<Tensor<B, 3>> {
    check_plan(plan, previous.dims())?;
    if path == RecurrencePath::Unrolled && !plan.is_teacher_forcing() {
        return output_recurrent_stepwise(model, previous, plan);
    }
    let previous = model.fed_symbols(None, previous, plan)?;
    Ok(model.forward_teacher_forced(None, FeedbackSequence::Tokens(previous))?)
}

/// [`output_recurrent_window`]'s step-wise path, run whatever the plan (under teacher forcing
/// too, where it must agree with the parallel path: the tests check it does).
pub fn output_recurrent_stepwise<B: RecurrenceBackend>(
    model: &OutputRecurrent<B>,
    previous: Tensor<B, 2, Int>,
    plan: &FeedingPlan,
) -> Result<Tensor<B, 3>> {
    let [_, time] = previous.dims();
    check_plan(plan, previous.dims())?;
    let first = Feedback::Tokens(column(&previous, 0));
    Ok(model.forward_stepwise(None, first, time, |t, o| {
        Feedback::Tokens(plan.mix(t, column(&previous, t), o))
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A decoder's rows each run their last free steps from their own end, the truth past it.
    #[test]
    fn the_curriculum_counts_from_each_rows_own_end() {
        let own = FeedbackChoice::Sample;
        let streams = FeedingStreams {
            seed: 3,
            iteration: 7,
        };
        let curriculum = Feeding::Curriculum { free_steps: 2, own };
        let plan = curriculum.plan_within([3, 5], &[5, 1, 3], streams).unwrap();
        let fed: Vec<Vec<bool>> = (0..3)
            .map(|row| (0..5).map(|t| plan.fed_truth(row, t)).collect())
            .collect();
        assert_eq!(fed[0], [true, true, true, false, false]);
        assert_eq!(fed[1], [true; 5]);
        assert_eq!(fed[2], [true, false, false, true, true]);
        // More free steps than a row has: it runs free after its first step.
        let long = Feeding::Curriculum { free_steps: 9, own };
        let plan = long.plan_within([1, 4], &[3], streams).unwrap();
        let fed: Vec<bool> = (0..4).map(|t| plan.fed_truth(0, t)).collect();
        assert_eq!(fed, [true, false, false, true]);
        // Rows as long as the window plan what the window's plan does.
        let sampling = Feeding::ScheduledSampling {
            truth_probability: 0.5,
            own,
        };
        let whole = sampling.plan([2, 6], streams).unwrap();
        let within = sampling.plan_within([2, 6], &[6, 6], streams).unwrap();
        assert_eq!(whole, within);
        assert!(sampling.plan_within([2, 6], &[6, 7], streams).is_err());
    }
}
