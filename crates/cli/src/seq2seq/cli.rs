//! The command line: clap definitions and how flags override the settings (the same flags as
//! the other programs' where they mean the same thing).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use unroll::training::seq2seq::{BuiltinPairs, BuiltinTask, Seq2SeqConfig};

pub use crate::flags::ExportArgs;
use crate::flags::{
    CheckpointArgs, CommonSettings, FigureArgs, TrainingFlags, flag_value, refuse_meaningless, set,
};
use crate::help::Defaults;
use crate::strategy_flags::StrategyFlags;

/// What `--help` says of the program.
pub const ABOUT: &str = "Sequence to sequence: an encoder reads a source, its summary starts a decoder that \
writes the target; train, evaluate (teacher forced and open loop), translate.\n\nWith no \
command, trains the built-in task (reverse a string) with teacher forcing and with \
scheduled sampling and shows their teacher-forced and open-loop scores side by side.";

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a model (on a built-in task unless --data is given).
    Train(Box<TrainArgs>),
    /// Score pairs with a checkpoint: teacher forced, and open loop by target length (--plot
    /// draws the open loop's exact match and character error rate against it).
    Eval(EvalArgs),
    /// Write the target of each input line.
    Translate(TranslateArgs),
    /// Write a checkpoint's weights for other tools.
    Export(ExportArgs),
    /// Write a built-in task's pairs as `source<TAB>target` lines (for another tool, or to see
    /// them).
    Generate(GenerateArgs),
    /// Train every strategy on every built-in task, several seeds each, and write a report of
    /// the teacher-forced and open-loop scores by target length, with figures (40 s to 2
    /// minutes on 2 cores; --quick: 10 to 30 s).
    Study(StudyArgs),
}

#[derive(Args, Debug, Default)]
pub struct TrainArgs {
    /// The pairs: `source<TAB>target` lines (default: a built-in task, --task).
    #[arg(long, value_hint = clap::ValueHint::FilePath)]
    pub data: Option<PathBuf>,
    /// Validation pairs, in the same format (default: a seeded 10 % of the pairs); a resumed
    /// run keeps its own.
    #[arg(long, value_hint = clap::ValueHint::FilePath)]
    pub val: Option<PathBuf>,
    /// The built-in task, generated here.
    #[arg(long, value_enum)]
    pub task: Option<BuiltinTask>,
    /// Pairs the built-in task generates.
    #[arg(long)]
    pub pairs: Option<usize>,
    /// The longest source of the built-in task (for addition: digits of each number).
    #[arg(long)]
    pub max_length: Option<usize>,
    /// The longest target, in characters: decoding stops there, and a longer target in the
    /// data is refused.
    #[arg(long)]
    pub max_target_length: Option<usize>,
    /// Characters seen fewer times than this in the training pairs read as the unknown symbol,
    /// which the model learns from them and reads for any character it never saw.
    #[arg(long)]
    pub min_symbol_count: Option<usize>,
    /// The summary also part of every decoder input: the one-hot previous symbol and the
    /// encoder's top layer's final `h`, concatenated (Cho et al. 2014), besides starting the
    /// decoder's state.
    #[arg(long)]
    pub summary_input: bool,
    /// What the decoder is fed as its previous symbol, and the strategy's parameters.
    #[command(flatten)]
    pub feeding: StrategyFlags,
    /// The flags every training command line shares.
    #[command(flatten)]
    pub common: TrainingFlags,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The checkpoint read.
    #[command(flatten)]
    pub from: CheckpointArgs,
    /// The pairs to score (`source<TAB>target` lines; default: the run's own validation pairs).
    #[arg(long, value_hint = clap::ValueHint::FilePath)]
    pub data: Option<PathBuf>,
    /// --plot and --force.
    #[command(flatten)]
    pub figure: FigureArgs,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct TranslateArgs {
    /// The checkpoint read.
    #[command(flatten)]
    pub from: CheckpointArgs,
    /// Source lines (default: stdin).
    #[arg(long, value_hint = clap::ValueHint::FilePath)]
    pub input: Option<PathBuf>,
    /// Beam search with this many hypotheses (1: greedy).
    #[arg(long, default_value_t = 1, conflicts_with = "sample")]
    pub beam: usize,
    /// Draw each symbol from the decoder's distribution instead of searching.
    #[arg(long)]
    pub sample: bool,
    /// Sampling: the temperature (> 0; below 1 sharpens, above 1 flattens).
    #[arg(long, default_value_t = 1.0, requires = "sample")]
    pub temperature: f64,
    /// Sampling: only among the k most probable symbols (default: all of them).
    #[arg(long, requires = "sample")]
    pub top_k: Option<usize>,
    /// Sampling: only among the most probable symbols reaching this probability (default: all
    /// of them).
    #[arg(long, requires = "sample")]
    pub top_p: Option<f64>,
    /// Sampling: the seed of the draws.
    #[arg(long, default_value_t = 0, requires = "sample")]
    pub seed: u64,
    /// Print one JSON object per line, with the target's log-probability.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// The task.
    #[arg(long, value_enum, default_value = "reverse")]
    pub task: BuiltinTask,
    /// Pairs written.
    #[arg(long, default_value_t = PAIRS)]
    pub pairs: usize,
    /// The longest source (for addition: digits of each number).
    #[arg(long, default_value_t = MAX_LENGTH)]
    pub max_length: usize,
    /// Seed of the pairs (a run of seed S trains on the pairs of seed S).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Args, Debug)]
pub struct StudyArgs {
    /// --quick, --seeds and --force.
    #[command(flatten)]
    pub study: crate::study::StudyFlags,
    /// Training iterations of every run (default: 1500, or 300 with --quick).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub iterations: Option<u64>,
    /// Pairs each run's task generates, a tenth held out (default: 4000, or 2000 with
    /// --quick).
    #[arg(long)]
    pub pairs: Option<usize>,
    /// The built-in tasks studied, repeated for several (default: all of them).
    #[arg(long, value_enum)]
    pub task: Vec<BuiltinTask>,
    /// Every run's decoder also reads the summary at every step (as `train --summary-input`).
    #[arg(long)]
    pub summary_input: bool,
    /// Where the report, its figures and the runs go.
    #[arg(long, value_hint = clap::ValueHint::DirPath, default_value = "runs/seq2seq-study")]
    pub out: PathBuf,
}

/// The built-in task when none is named.
pub const TASK: BuiltinTask = BuiltinTask::Reverse;
/// `--pairs` when not given.
pub const PAIRS: usize = 4000;
/// `--max-length` when not given.
pub const MAX_LENGTH: usize = 8;

impl TrainArgs {
    /// Applies the flags over `config`, then checks it; `builtin` when the run reads no file.
    pub fn apply(&self, config: &mut Seq2SeqConfig, builtin: bool) -> Result<(), String> {
        self.common.check_meaningful()?;
        self.feeding.check_meaningful()?;
        let needs = (!builtin).then_some("the built-in task (no --data)");
        refuse_meaningless(&[
            ("--task", self.task.is_some(), needs),
            ("--pairs", self.pairs.is_some(), needs),
            ("--max-length", self.max_length.is_some(), needs),
            (
                "--bytes",
                self.common.bytes,
                Some("a program reading bytes: seq2seq reads characters"),
            ),
        ])?;
        self.common.apply(config.settings());
        set(&mut config.min_symbol_count, self.min_symbol_count);
        set(&mut config.max_target_length, self.max_target_length);
        config.summary_input |= self.summary_input;
        if builtin {
            let builtin = config.builtin.get_or_insert(BuiltinPairs {
                task: TASK,
                count: PAIRS,
                max_length: MAX_LENGTH,
            });
            set(&mut builtin.task, self.task);
            set(&mut builtin.count, self.pairs);
            set(&mut builtin.max_length, self.max_length);
        } else {
            config.builtin = None;
        }
        if let Some(strategy) = self.feeding.strategy(
            config.iterations,
            config.max_target_length.saturating_add(1),
        ) {
            config.strategy = strategy;
        }
        config.validate().map_err(|e| e.to_string())
    }
}

/// What each training flag stands for when left out, starting from `config`.
pub fn train_defaults(mut config: Seq2SeqConfig) -> Defaults {
    let mut defaults = TrainingFlags::defaults(config.settings());
    defaults.extend([
        ("task", flag_value(&TASK)),
        ("pairs", PAIRS.to_string()),
        ("max_length", MAX_LENGTH.to_string()),
        ("max_target_length", config.max_target_length.to_string()),
        ("min_symbol_count", config.min_symbol_count.to_string()),
    ]);
    defaults.extend(StrategyFlags::defaults(
        &config.strategy,
        "the longest target and its end",
    ));
    defaults
}
