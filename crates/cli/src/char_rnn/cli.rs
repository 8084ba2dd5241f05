//! The command line: clap definitions and how flags override the settings.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use unroll::training::{Batching, LanguageConfig, Pattern, RecurrencePath};

pub use crate::flags::ExportArgs;
use crate::flags::{
    CheckpointArgs, CommonSettings, TrainingFlags, flag_value, refuse_meaningless, set,
};
use crate::help::Defaults;
use crate::strategy_flags::StrategyFlags;

/// What `--help` says of the program.
pub const ABOUT: &str = "Character-level recurrent language models: train, sample, evaluate, export.\n\nWith no \
command, trains a small model on a built-in corpus of additions and prints a sample.";

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
    /// What the network is fed as its previous symbol, and the strategy's parameters.
    #[command(flatten)]
    pub feeding: StrategyFlags,
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

/// What each training flag stands for when left out, starting from `config`.
pub fn train_defaults(mut config: LanguageConfig) -> Defaults {
    let mut defaults = TrainingFlags::defaults(config.settings());
    defaults.extend([
        ("pattern", flag_value(&config.model.pattern)),
        ("window", config.window.to_string()),
        ("batching", flag_value(&config.batching)),
        ("min_symbol_count", config.min_symbol_count.to_string()),
    ]);
    defaults.extend(StrategyFlags::defaults(&config.strategy, "the window"));
    defaults
}

/// Settings for the built-in corpus: about a minute of training on 2 cores.
pub fn builtin_defaults() -> LanguageConfig {
    LanguageConfig {
        window: 64,
        batch: 32,
        iterations: 8000,
        eval_every: 1000,
        ..LanguageConfig::default()
    }
    .with_hidden(128)
}

impl TrainArgs {
    /// Refuses a strategy's or a schedule's parameter given without that strategy or schedule
    /// on the command line (it would be ignored).
    fn check_meaningful(&self) -> Result<(), String> {
        self.common.check_meaningful()?;
        self.feeding.check_meaningful()?;
        refuse_meaningless(&[(
            "--min-symbol-count",
            self.min_symbol_count.is_some(),
            self.common
                .bytes
                .then_some("text read as characters (not --bytes)"),
        )])
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
        if let Some(strategy) = self.feeding.strategy(config.iterations, config.window) {
            config.strategy = strategy;
        }
        config.validate().map_err(|e| e.to_string())
    }
}
