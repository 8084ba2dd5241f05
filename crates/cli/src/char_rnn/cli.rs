//! The command line: clap definitions and how flags override the settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use unroll::training::{
    Batching, CurriculumSchedule, FeedbackChoice, LanguageConfig, Pattern, RecurrencePath,
    SamplingSchedule, SamplingScheduleKind, Strategy, StrategyKind,
};

pub use crate::flags::ExportArgs;
use crate::flags::{
    CheckpointArgs, CommonSettings, TrainingFlags, flag_value, refuse_meaningless, set,
};
use crate::help::Defaults;

/// Character-level recurrent language models: train, sample, evaluate, export.
///
/// With no command, trains a small model on a built-in corpus of additions and prints a sample.
#[derive(Parser, Debug)]
#[command(name = "char-rnn", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a model (on the built-in corpus unless --data is given).
    Train(Box<TrainArgs>),
    /// Generate text from a checkpoint, streamed to stdout.
    Sample(SampleArgs),
    /// Validation loss of a checkpoint on a file's validation split (its last 10 %).
    Eval(EvalArgs),
    /// Write a checkpoint's weights for other tools.
    Export(ExportArgs),
}

#[derive(Args, Debug, Default)]
pub struct TrainArgs {
    /// UTF-8 text to train on (default: the built-in corpus of additions).
    #[arg(long, value_hint = clap::ValueHint::FilePath)]
    pub data: Option<PathBuf>,
    /// Recurrent pattern.
    #[arg(long, value_enum)]
    pub pattern: Option<Pattern>,
    /// Window length T for truncated back-propagation through time (`--seq-len`, char-rnn's
    /// name, is the same flag).
    #[arg(long, visible_alias = "seq-len")]
    pub window: Option<usize>,
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
    /// Largest number of free-running steps of the curriculum (default: the window).
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
    /// How windows fed own predictions run: the rollout then the fused teacher-forced pass
    /// (fused, the default), or the loop over steps through autodiff (unrolled, the reference).
    #[arg(long, value_enum)]
    pub stepwise_path: Option<RecurrencePath>,
    /// How windows are drawn.
    #[arg(long, value_enum)]
    pub batching: Option<Batching>,
    /// Carry each stream's hidden state into its next window (needs --batching streams).
    #[arg(long)]
    pub carry_state: bool,
    /// Characters seen fewer times than this in the text read as the unknown symbol, which the
    /// model learns from them and reads for any character it never saw (`eval` on another
    /// text); generation never writes it (text; --bytes reads every byte exactly).
    #[arg(long)]
    pub min_symbol_count: Option<usize>,
    /// The flags every training command line shares.
    #[command(flatten)]
    pub common: TrainingFlags,
}

#[derive(Args, Debug)]
pub struct SampleArgs {
    /// The checkpoint read.
    #[command(flatten)]
    pub from: CheckpointArgs,
    /// Text to start from.
    #[arg(long, default_value = "")]
    pub prime: String,
    /// Symbols to generate.
    #[arg(long, default_value_t = 500)]
    pub length: usize,
    /// Sampling temperature (> 0).
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// Sample among the k most probable symbols (default: all of them).
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Sample among the most probable symbols reaching this probability (default: all of
    /// them).
    #[arg(long)]
    pub top_p: Option<f64>,
    /// Always take the most probable symbol.
    #[arg(long, conflicts_with_all = ["temperature", "top_k", "top_p"])]
    pub argmax: bool,
    /// Seed of the sampler.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print the result as one JSON object instead of streaming.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The checkpoint read.
    #[command(flatten)]
    pub from: CheckpointArgs,
    /// The file whose validation split is scored (default: the run's own data, the built-in
    /// corpus included).
    #[arg(long, value_hint = clap::ValueHint::FilePath)]
    pub data: Option<PathBuf>,
    /// Also run the model open loop, fed its own output: the exact accuracy of answers to the
    /// prompts `a+b=` of the split's addition lines (greedy), and the Jensen–Shannon divergence
    /// of character 1- to 4-grams between generated text and the split.
    #[arg(long)]
    pub open_loop: bool,
    /// Open loop: at most this many addition prompts.
    #[arg(long, default_value_t = 500, requires = "open_loop")]
    pub prompts: usize,
    /// Open loop: characters generated (sampled at temperature 1) for the divergences.
    #[arg(long, default_value_t = 20_000, requires = "open_loop")]
    pub generate: usize,
    /// Open loop: seed of the sampler.
    #[arg(long, default_value_t = 0, requires = "open_loop")]
    pub seed: u64,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

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

/// What each training flag stands for when left out, starting from `config`.
pub fn train_defaults(mut config: LanguageConfig) -> Defaults {
    let mut defaults = TrainingFlags::defaults(config.settings());
    defaults.extend([
        ("pattern", flag_value(&config.model.pattern)),
        ("window", config.window.to_string()),
        ("strategy", flag_value(&StrategyKind::from(&config.strategy))),
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
        ("curriculum_start", "0".into()),
        ("own", flag_value(&OWN)),
        ("batching", flag_value(&config.batching)),
        ("min_symbol_count", config.min_symbol_count.to_string()),
    ]);
    defaults
}

/// Settings for the built-in corpus: about a minute of training on 2 cores.
pub fn builtin_defaults() -> LanguageConfig {
    let mut config = LanguageConfig {
        window: 64,
        batch: 32,
        iterations: 8000,
        eval_every: 1000,
        ..LanguageConfig::default()
    };
    config.model.hidden = 128;
    config
}

impl TrainArgs {
    /// Refuses a strategy's or a schedule's parameter given without that strategy or schedule
    /// on the command line (it would be ignored).
    fn check_meaningful(&self) -> Result<(), String> {
        use SamplingScheduleKind::{Constant, Exponential, InverseSigmoid, Linear};
        self.common.check_meaningful()?;
        let sampling = self.strategy == Some(StrategyKind::ScheduledSampling);
        let curriculum = self.strategy == Some(StrategyKind::Curriculum);
        let schedule = sampling.then(|| self.schedule.unwrap_or(SCHEDULE));
        let unless = |ok: bool, needs: &'static str| (!ok).then_some(needs);
        let needs_sampling = "--strategy scheduled-sampling";
        let needs_curriculum = "--strategy curriculum";
        refuse_meaningless(&[
            (
                "--min-symbol-count",
                self.min_symbol_count.is_some(),
                unless(!self.common.bytes, "text read as characters (not --bytes)"),
            ),
            (
                "--schedule",
                self.schedule.is_some(),
                unless(sampling, needs_sampling),
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
                unless(
                    schedule == Some(Linear),
                    "--strategy scheduled-sampling --schedule linear",
                ),
            ),
            (
                "--min-truth-probability",
                self.min_truth_probability.is_some(),
                unless(
                    schedule == Some(Linear),
                    "--strategy scheduled-sampling --schedule linear",
                ),
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

    /// Applies the flags over `config`.
    pub fn apply(&self, config: &mut LanguageConfig) -> Result<(), String> {
        self.check_meaningful()?;
        set(&mut config.model.pattern, self.pattern);
        self.common.apply(config.settings());
        set(&mut config.window, self.window);
        set(&mut config.batching, self.batching);
        set(&mut config.min_symbol_count, self.min_symbol_count);
        if self.carry_state {
            config.carry_state = true;
        }
        set(&mut config.stepwise_path, self.stepwise_path);
        let own = self.own.unwrap_or(OWN);
        match self.strategy {
            None => {}
            Some(StrategyKind::TeacherForcing) => config.strategy = Strategy::TeacherForcing,
            Some(StrategyKind::ScheduledSampling) => {
                let schedule = match self.schedule.unwrap_or(SCHEDULE) {
                    SamplingScheduleKind::Constant => SamplingSchedule::Constant {
                        truth_probability: self.truth_probability.unwrap_or(TRUTH_PROBABILITY),
                    },
                    SamplingScheduleKind::Linear => SamplingSchedule::Linear {
                        k: self.k.unwrap_or(LINEAR_K),
                        c: self.c.unwrap_or(1.0 / config.iterations as f64),
                        minimum: self.min_truth_probability.unwrap_or(0.0),
                    },
                    SamplingScheduleKind::Exponential => SamplingSchedule::Exponential {
                        k: self.k.unwrap_or(EXPONENTIAL_K),
                    },
                    SamplingScheduleKind::InverseSigmoid => SamplingSchedule::InverseSigmoid {
                        k: self.k.unwrap_or(config.iterations as f64 / 10.0),
                    },
                };
                config.strategy = Strategy::ScheduledSampling { schedule, own };
            }
            Some(StrategyKind::Curriculum) => {
                config.strategy = Strategy::Curriculum {
                    schedule: CurriculumSchedule {
                        maximum: self.curriculum_max.unwrap_or(config.window),
                        start: self.curriculum_start.unwrap_or(0),
                        ramp: self.curriculum_ramp.unwrap_or(config.iterations.max(1)),
                    },
                    own,
                };
            }
        }
        config.validate().map_err(|e| e.to_string())
    }
}
