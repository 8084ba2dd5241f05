//! The flags that choose what a symbol model is fed of its own predictions in training (char-rnn,
//! seq2seq): the strategy, the ε schedule of scheduled sampling with its parameters, the
//! curriculum's, and how a prediction becomes a symbol. A parameter given without its strategy
//! or schedule is refused: it would be ignored.

use clap::Args;
use unroll::training::{
    CurriculumSchedule, FeedbackChoice, SamplingSchedule, SamplingScheduleKind, Strategy,
    StrategyKind,
};

use crate::flags::{flag_value, refuse_meaningless};
use crate::help::Defaults;

/// `--own` when not given.
const OWN: FeedbackChoice = FeedbackChoice::Sample;
/// `--schedule` when not given.
const SCHEDULE: SamplingScheduleKind = SamplingScheduleKind::InverseSigmoid;
/// `--truth-probability` when not given.
const TRUTH_PROBABILITY: f64 = 0.75;
/// `--k` of the linear schedule when not given.
const LINEAR_K: f64 = 1.0;
/// `--k` of the exponential schedule when not given.
const EXPONENTIAL_K: f64 = 0.999;

/// What the network is fed as its previous symbol in training.
#[derive(Args, Debug, Default)]
pub struct StrategyFlags {
    /// What the network is fed as its previous symbol.
    #[arg(long, value_enum)]
    pub strategy: Option<StrategyKind>,
    /// ε schedule of scheduled sampling.
    #[arg(long, value_enum)]
    pub schedule: Option<SamplingScheduleKind>,
    /// ε of the constant schedule: the probability of feeding the truth (`--epsilon`, the
    /// paper's name, is the same flag).
    #[arg(long, visible_alias = "epsilon")]
    pub truth_probability: Option<f64>,
    /// k of the linear, exponential and inverse-sigmoid schedules.
    #[arg(long)]
    pub k: Option<f64>,
    /// c of the linear schedule.
    #[arg(long)]
    pub c: Option<f64>,
    /// Floor of the linear schedule (`--min-epsilon` is the same flag).
    #[arg(long, visible_alias = "min-epsilon")]
    pub min_truth_probability: Option<f64>,
    /// Largest number of free-running steps of the curriculum.
    #[arg(long)]
    pub curriculum_max: Option<usize>,
    /// Iterations of teacher forcing before the curriculum starts.
    #[arg(long)]
    pub curriculum_start: Option<u64>,
    /// Iterations over which the curriculum grows to its maximum (default: the run's length).
    #[arg(long)]
    pub curriculum_ramp: Option<u64>,
    /// How the model's own prediction becomes a symbol.
    #[arg(long, value_enum)]
    pub own: Option<FeedbackChoice>,
}

impl StrategyFlags {
    /// What each of these flags stands for when left out, `strategy` the run's default and
    /// `free_steps` what `--curriculum-max` defaults to, in words.
    pub fn defaults(strategy: &Strategy, free_steps: &str) -> Defaults {
        vec![
            ("strategy", flag_value(&StrategyKind::from(strategy))),
            ("schedule", flag_value(&SCHEDULE)),
            ("truth_probability", TRUTH_PROBABILITY.to_string()),
            (
                "k",
                format!(
                    "the iterations / 10 for inverse-sigmoid, {EXPONENTIAL_K} for exponential, {LINEAR_K} for linear"
                ),
            ),
            ("c", "1 / the iterations".into()),
            ("min_truth_probability", "0".into()),
            ("curriculum_max", free_steps.into()),
            ("curriculum_start", "0".into()),
            ("own", flag_value(&OWN)),
        ]
    }

    /// Refuses a strategy's or a schedule's parameter given without that strategy or schedule
    /// on the command line (it would be ignored).
    pub fn check_meaningful(&self) -> Result<(), String> {
        use SamplingScheduleKind::{Constant, Exponential, InverseSigmoid, Linear};
        let sampling = self.strategy == Some(StrategyKind::ScheduledSampling);
        let curriculum = self.strategy == Some(StrategyKind::Curriculum);
        let schedule = sampling.then(|| self.schedule.unwrap_or(SCHEDULE));
        let unless = |ok: bool, needs: &'static str| (!ok).then_some(needs);
        let needs_curriculum = "--strategy curriculum";
        let linear = "--strategy scheduled-sampling --schedule linear";
        refuse_meaningless(&[
            (
                "--schedule",
                self.schedule.is_some(),
                unless(sampling, "--strategy scheduled-sampling"),
            ),
            (
                "--truth-probability",
                self.truth_probability.is_some(),
                unless(
                    schedule == Some(Constant),
                    "--strategy scheduled-sampling --schedule constant",
                ),
            ),
            (
                "--k",
                self.k.is_some(),
                unless(
                    matches!(schedule, Some(Linear | Exponential | InverseSigmoid)),
                    "--strategy scheduled-sampling with a linear, exponential or inverse-sigmoid --schedule",
                ),
            ),
            (
                "--c",
                self.c.is_some(),
                unless(schedule == Some(Linear), linear),
            ),
            (
                "--min-truth-probability",
                self.min_truth_probability.is_some(),
                unless(schedule == Some(Linear), linear),
            ),
            (
                "--curriculum-max",
                self.curriculum_max.is_some(),
                unless(curriculum, needs_curriculum),
            ),
            (
                "--curriculum-start",
                self.curriculum_start.is_some(),
                unless(curriculum, needs_curriculum),
            ),
            (
                "--curriculum-ramp",
                self.curriculum_ramp.is_some(),
                unless(curriculum, needs_curriculum),
            ),
            (
                "--own",
                self.own.is_some(),
                unless(
                    sampling || curriculum,
                    "--strategy scheduled-sampling or curriculum",
                ),
            ),
        ])
    }

    /// The strategy the flags ask for, with its parameters' defaults for a run of `iterations`
    /// whose longest window (or target) has `steps` steps; `None` when `--strategy` is not
    /// given.
    pub fn strategy(&self, iterations: u64, steps: usize) -> Option<Strategy> {
        let own = self.own.unwrap_or(OWN);
        Some(match self.strategy? {
            StrategyKind::TeacherForcing => Strategy::TeacherForcing,
            StrategyKind::ScheduledSampling => {
                let schedule = match self.schedule.unwrap_or(SCHEDULE) {
                    SamplingScheduleKind::Constant => SamplingSchedule::Constant {
                        truth_probability: self.truth_probability.unwrap_or(TRUTH_PROBABILITY),
                    },
                    SamplingScheduleKind::Linear => SamplingSchedule::Linear {
                        k: self.k.unwrap_or(LINEAR_K),
                        c: self.c.unwrap_or(1.0 / iterations as f64),
                        minimum: self.min_truth_probability.unwrap_or(0.0),
                    },
                    SamplingScheduleKind::Exponential => SamplingSchedule::Exponential {
                        k: self.k.unwrap_or(EXPONENTIAL_K),
                    },
                    SamplingScheduleKind::InverseSigmoid => SamplingSchedule::InverseSigmoid {
                        k: self.k.unwrap_or(iterations as f64 / 10.0),
                    },
                };
                Strategy::ScheduledSampling { schedule, own }
            }
            StrategyKind::Curriculum => Strategy::Curriculum {
                schedule: CurriculumSchedule {
                    maximum: self.curriculum_max.unwrap_or(steps),
                    start: self.curriculum_start.unwrap_or(0),
                    ramp: self.curriculum_ramp.unwrap_or(iterations.max(1)),
                },
                own,
            },
        })
    }
}
