//! The command line: clap definitions and how flags override the settings (the same flags as
//! char-rnn's where they mean the same thing).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use unroll::training::SymbolMode;
use unroll::training::sequence::{ClassWeights, SequenceConfig};

use crate::common::flags::{LrScheduleArg, OptimizerArg};

/// Sequence classifiers and regressors (pattern 3): train, evaluate, predict, export.
///
/// With no command, trains on a built-in task (is a string of brackets balanced?) and reports
/// the result beside chance and the best possible.
#[derive(Parser, Debug)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a model (on the built-in task unless --data is given).
    Train(Box<TrainArgs>),
    /// Score every sample of a file with a checkpoint.
    Eval(EvalArgs),
    /// Predict the label (and its probability) or the value of each input line.
    Predict(PredictArgs),
    /// Write a checkpoint's weights for other tools.
    Export(ExportArgs),
}

#[derive(Args, Debug, Default)]
#[command(allow_negative_numbers = true)]
pub struct TrainArgs {
    /// The samples: a `label<TAB>text` file, a directory with one file per class (each line a
    /// sample), or a `.csv` file of rows `target,v1,v2,…` (default: the built-in task).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Validation samples, in the same format (default: a stratified 10 % of --data).
    #[arg(long)]
    pub val: Option<PathBuf>,
    /// In a CSV file, read the target as a class label instead of a number.
    #[arg(long)]
    pub classes: bool,
    /// Treat text as bytes instead of UTF-8 characters.
    #[arg(long)]
    pub bytes: bool,
    /// Weigh each class by n / (K · n_k) in the loss, so rare classes count as much as frequent
    /// ones.
    #[arg(long)]
    pub balanced: bool,
    /// Run directory for checkpoints and metrics; must not hold a run unless --force (default:
    /// runs/classify, or runs/classify-2, -3, … when that holds one).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Hidden units per layer.
    #[arg(long)]
    pub hidden: Option<usize>,
    /// Stacked layers.
    #[arg(long)]
    pub layers: Option<usize>,
    /// Dropout between layers.
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Sequences per batch.
    #[arg(long)]
    pub batch: Option<usize>,
    /// Total optimiser iterations; with --resume, training continues up to this count
    /// (`--steps` is the same flag).
    #[arg(long, visible_alias = "steps")]
    pub iterations: Option<u64>,
    /// Learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Learning-rate schedule.
    #[arg(long, value_enum)]
    pub lr_schedule: Option<LrScheduleArg>,
    /// Iterations between decays (step schedule).
    #[arg(long)]
    pub lr_every: Option<u64>,
    /// Decay factor (step and exponential schedules).
    #[arg(long)]
    pub lr_factor: Option<f64>,
    /// Final learning rate (cosine schedule).
    #[arg(long)]
    pub lr_min: Option<f64>,
    /// Optimiser.
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerArg>,
    /// Maximum global gradient norm; 0 turns clipping off.
    #[arg(long)]
    pub clip: Option<f64>,
    /// Seed of everything random: weights, split, batches.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Iterations between validations and checkpoints.
    #[arg(long)]
    pub eval_every: Option<u64>,
    /// Continue the run whose checkpoint directory this is.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Settings file, JSON or TOML (.toml), with the fields of the sequence config; flags win.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Replace the run already in --out instead of refusing.
    #[arg(long)]
    pub force: bool,
    /// Print the result as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Run or checkpoint directory.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Use the best checkpoint instead of the last.
    #[arg(long)]
    pub best: bool,
    /// The samples to score (every one of them), in the training data's format.
    #[arg(long)]
    pub data: PathBuf,
    /// Also draw the confusion matrix into this PNG file (classifiers).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// Run or checkpoint directory.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Use the best checkpoint instead of the last.
    #[arg(long)]
    pub best: bool,
    /// Input lines: text, or comma-separated values for a numeric model (default: stdin).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Print one JSON object per input line.
    #[arg(long)]
    pub json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum FormatArg {
    /// PyTorch's names: torch.nn.RNN (`rnn.*`) and torch.nn.Linear (`fc.*`).
    Safetensors,
    /// Burn's format.
    Burnpack,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Run or checkpoint directory.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Use the best checkpoint instead of the last.
    #[arg(long)]
    pub best: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "safetensors")]
    pub format: FormatArg,
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
}

impl TrainArgs {
    /// Applies the flags over `config`, then checks it.
    pub fn apply(&self, config: &mut SequenceConfig) -> Result<(), String> {
        set(&mut config.model.hidden, self.hidden);
        set(&mut config.model.layers, self.layers);
        set(&mut config.model.dropout, self.dropout);
        set(&mut config.batch, self.batch);
        set(&mut config.iterations, self.iterations);
        set(&mut config.learning_rate, self.lr);
        set(&mut config.seed, self.seed);
        set(&mut config.eval_every, self.eval_every);
        if let Some(clip) = self.clip {
            config.clip = (clip != 0.0).then_some(clip);
        }
        if self.bytes {
            config.symbols = SymbolMode::Bytes;
        }
        if self.balanced {
            config.class_weights = ClassWeights::Balanced;
        }
        if let Some(o) = self.optimizer {
            config.optimizer = o.kind();
        }
        if let Some(schedule) = self.lr_schedule {
            config.learning_rate_schedule =
                schedule.schedule(self.lr_every, self.lr_factor, self.lr_min);
        }
        config.validate().map_err(|e| e.to_string())
    }

    /// When resuming, the settings a checkpoint fixes must keep their values.
    pub fn check_unchanged(
        &self,
        config: &SequenceConfig,
        run: &SequenceConfig,
    ) -> Result<(), String> {
        let fixed = [
            (
                "--hidden",
                run.model.hidden.to_string(),
                config.model.hidden.to_string(),
            ),
            (
                "--layers",
                run.model.layers.to_string(),
                config.model.layers.to_string(),
            ),
            (
                "--dropout",
                run.model.dropout.to_string(),
                config.model.dropout.to_string(),
            ),
            (
                "--bytes",
                format!("{:?}", run.symbols),
                format!("{:?}", config.symbols),
            ),
            (
                "--optimizer",
                format!("{:?}", run.optimizer),
                format!("{:?}", config.optimizer),
            ),
            ("--seed", run.seed.to_string(), config.seed.to_string()),
        ];
        match fixed.into_iter().find(|(_, old, new)| old != new) {
            Some((flag, old, new)) => Err(format!(
                "{flag} cannot change when resuming: the run has {}, this command asks for {}",
                old.to_lowercase(),
                new.to_lowercase()
            )),
            None => Ok(()),
        }
    }
}

fn set<T: Copy>(target: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *target = value;
    }
}
