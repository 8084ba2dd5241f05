//! The command line: clap definitions and how flags override the settings (the same flags as
//! char-rnn's where they mean the same thing).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use unroll::training::sequence::{ClassWeights, SequenceConfig};

pub use crate::flags::ExportArgs;
use crate::flags::{CheckpointArgs, CommonSettings, FigureArgs, Fixed, TrainingFlags, set};
use crate::help::Defaults;

/// What `--help` says of the program.
pub const ABOUT: &str = "Sequence classifiers and regressors (pattern 3) and per-step labellers \
(pattern 1, --per-step): train, evaluate, predict, export.\n\nWith no command, trains on a built-in task (is a string of brackets \
balanced?) and reports the result beside chance and the best possible.";

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a model (on the built-in task unless --data is given).
    Train(Box<TrainArgs>),
    /// Score every sample of a file with a checkpoint (--plot draws the confusion matrix).
    Eval(EvalArgs),
    /// Predict the label (and its probability), the value, or the labels of every character
    /// (a model trained with --per-step) of each input line.
    Predict(PredictArgs),
    /// Write a checkpoint's weights for other tools.
    Export(ExportArgs),
}

#[derive(Args, Debug, Default)]
pub struct TrainArgs {
    /// The samples: a `label<TAB>text` file, a directory with one file per class (each line a
    /// sample), or a `.csv` file of rows `target,v1,v2,…` (default: the built-in task).
    #[arg(long, value_hint = clap::ValueHint::FilePath)]
    pub data: Option<PathBuf>,
    /// Validation samples, in the same format (default: a stratified 10 % of --data); a resumed
    /// run keeps its own, and refuses another.
    #[arg(long, value_hint = clap::ValueHint::FilePath)]
    pub val: Option<PathBuf>,
    /// In a CSV file, read the target as a class label instead of a number.
    #[arg(long)]
    pub classes: bool,
    /// Weigh each class by n / (K · n_k) in the loss, so rare classes count as much as frequent
    /// ones.
    #[arg(long)]
    pub balanced: bool,
    /// Characters seen fewer times than this in the training part read as the unknown symbol,
    /// which the model learns from them and reads for any character it never saw (text; --bytes
    /// reads every byte exactly).
    #[arg(long)]
    pub min_symbol_count: Option<usize>,
    /// Label every character instead of the whole line (pattern 1): `labels<TAB>text` lines
    /// with one label character per character of the text. With --bidirectional each label
    /// reads the text after its character too. Without --data: the built-in labelling task
    /// (which brackets have a partner?).
    #[arg(long)]
    pub per_step: bool,
    /// The flags every training command line shares.
    #[command(flatten)]
    pub common: TrainingFlags,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The checkpoint read.
    #[command(flatten)]
    pub from: CheckpointArgs,
    /// The samples to score (every one of them), in the training data's format.
    #[arg(long, value_hint = clap::ValueHint::FilePath)]
    pub data: PathBuf,
    /// --plot and --force.
    #[command(flatten)]
    pub figure: FigureArgs,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// The checkpoint read.
    #[command(flatten)]
    pub from: CheckpointArgs,
    /// Input lines: text, or comma-separated values for a numeric model (default: stdin).
    #[arg(long, value_hint = clap::ValueHint::FilePath)]
    pub input: Option<PathBuf>,
    /// Print one JSON object per input line.
    #[arg(long)]
    pub json: bool,
}

impl TrainArgs {
    /// Applies the flags over `config`, then checks it.
    pub fn apply(&self, config: &mut SequenceConfig) -> Result<(), String> {
        self.common.check_meaningful()?;
        self.common.apply(config.settings());
        if self.balanced {
            config.class_weights = ClassWeights::Balanced;
        }
        set(&mut config.min_symbol_count, self.min_symbol_count);
        config.per_step |= self.per_step;
        config.validate().map_err(|e| e.to_string())
    }

    /// When resuming, `--val` must name the validation the run had: the split would move
    /// samples between training and validation, and `best/` would compare losses on different
    /// sets.
    pub fn validation_unchanged(&self, run: &SequenceConfig) -> Option<Fixed> {
        let val = self.val.as_ref()?;
        let describe = |file: Option<&std::path::Path>| match file {
            Some(file) => format!("validation file {}", file.display()),
            None => format!(
                "a held-out {} % of its data for validation",
                (1000.0 * run.validation_fraction).round() / 10.0
            ),
        };
        let asked = std::path::absolute(val).unwrap_or_else(|_| val.clone());
        Some(Fixed {
            flag: "--val".into(),
            given: true,
            old: describe(run.validation_file.as_deref()),
            new: describe(Some(&asked)),
        })
    }
}

/// What each training flag stands for when left out, starting from `config`.
pub fn train_defaults(mut config: SequenceConfig) -> Defaults {
    let mut defaults = TrainingFlags::defaults(config.settings());
    defaults.push(("min_symbol_count", config.min_symbol_count.to_string()));
    defaults
}
