//! Flags every training command line spells the same way: the optimiser and the learning-rate
//! schedule.

use clap::ValueEnum;
use unroll::training::settings::FixedSetting;
use unroll::training::{
    ExportFormat, LearningRateSchedule, LearningRateScheduleKind, OptimizerKind,
};

/// `--lr-every` when not given: iterations between decays of the step schedule.
const LR_EVERY: u64 = 1000;
/// `--lr-factor` when not given, for the step schedule.
const LR_STEP_FACTOR: f64 = 0.5;
/// `--lr-factor` when not given, for the exponential schedule.
const LR_GAMMA: f64 = 0.999;
/// `--lr-min` when not given: the cosine schedule's final rate.
const LR_MINIMUM: f64 = 0.0;

/// The learning-rate schedule of `kind`, with `--lr-every`, `--lr-factor` and `--lr-min` where
/// it takes them.
pub fn learning_rate_schedule(
    kind: LearningRateScheduleKind,
    every: Option<u64>,
    factor: Option<f64>,
    minimum: Option<f64>,
) -> LearningRateSchedule {
    match kind {
        LearningRateScheduleKind::Constant => LearningRateSchedule::Constant,
        LearningRateScheduleKind::Step => LearningRateSchedule::Step {
            every: every.unwrap_or(LR_EVERY),
            factor: factor.unwrap_or(LR_STEP_FACTOR),
        },
        LearningRateScheduleKind::Exponential => LearningRateSchedule::Exponential {
            gamma: factor.unwrap_or(LR_GAMMA),
        },
        LearningRateScheduleKind::Cosine => LearningRateSchedule::Cosine {
            minimum: minimum.unwrap_or(LR_MINIMUM),
        },
    }
}

/// The training flags every command line shares, with the same names and meanings.
#[derive(clap::Args, Debug, Default)]
pub struct TrainingFlags {
    /// Hidden units per layer.
    #[arg(long)]
    pub hidden: Option<usize>,
    /// The hidden layers' cell (patterns 1 and 3).
    #[arg(long, value_enum)]
    pub cell: Option<unroll::model::RecurrentCell>,
    /// Stacked layers.
    #[arg(long)]
    pub layers: Option<usize>,
    /// Dropout between stacked layers.
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Read each sequence both ways, forward and backward in time, as PyTorch's
    /// `bidirectional=True` (classify; seq2seq's encoder). Programs that generate from the past
    /// (char-rnn, forecast) refuse it.
    #[arg(long)]
    pub bidirectional: bool,
    /// Sequences per batch.
    #[arg(long)]
    pub batch: Option<usize>,
    /// Total optimiser iterations; with --resume, training continues up to this count
    /// (`--steps`, the familiar name, is the same flag).
    #[arg(long, visible_alias = "steps")]
    pub iterations: Option<u64>,
    /// Stop after this many minutes of training in this invocation (validation not counted):
    /// the iteration running then is validated and checkpointed as the last; --resume
    /// continues the run.
    #[arg(long, value_name = "MINUTES", value_parser = minutes)]
    pub time_limit: Option<std::time::Duration>,
    /// Learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Learning-rate schedule.
    #[arg(long, value_enum)]
    pub lr_schedule: Option<LearningRateScheduleKind>,
    /// Iterations between decays (step schedule).
    #[arg(long)]
    pub lr_every: Option<u64>,
    /// Decay factor (step and exponential schedules).
    #[arg(long)]
    pub lr_factor: Option<f64>,
    /// Final learning rate (cosine schedule).
    #[arg(long)]
    pub lr_min: Option<f64>,
    /// Seed of everything random.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Maximum global gradient norm; 0 turns clipping off.
    #[arg(long)]
    pub clip: Option<f64>,
    /// Optimiser.
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerKind>,
    /// Treat text as bytes instead of UTF-8 characters.
    #[arg(long)]
    pub bytes: bool,
    /// Iterations between validations and checkpoints.
    #[arg(long)]
    pub eval_every: Option<u64>,
    /// Run directory for checkpoints and metrics; must not hold a run unless --force.
    #[arg(long, value_hint = clap::ValueHint::DirPath)]
    pub out: Option<std::path::PathBuf>,
    /// Continue the run whose checkpoint directory this is.
    #[arg(long, value_hint = clap::ValueHint::DirPath)]
    pub resume: Option<std::path::PathBuf>,
    /// Settings file, JSON or TOML (.toml), with the fields of the run's settings; flags win.
    #[arg(long, value_hint = clap::ValueHint::FilePath)]
    pub config: Option<std::path::PathBuf>,
    /// Replace the run already in --out instead of refusing.
    #[arg(long)]
    pub force: bool,
    /// Print the result as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Where a command's settings keep what [`TrainingFlags`] set.
pub struct Settings<'a> {
    /// The network's shape (--hidden, --cell, --layers, --dropout).
    pub model: &'a mut unroll::training::ModelSettings,
    /// --batch.
    pub batch: &'a mut usize,
    /// --iterations.
    pub iterations: &'a mut u64,
    /// --lr.
    pub learning_rate: &'a mut f64,
    /// --lr-schedule and its parameters.
    pub learning_rate_schedule: &'a mut LearningRateSchedule,
    /// --seed.
    pub seed: &'a mut u64,
    /// --clip (none when it is 0).
    pub clip: &'a mut Option<f64>,
    /// --optimizer.
    pub optimizer: &'a mut OptimizerKind,
    /// --eval-every.
    pub eval_every: &'a mut u64,
    /// --bytes (symbols are bytes instead of characters); none for a task of numbers.
    pub symbols: Option<&'a mut unroll::training::SymbolMode>,
}

/// A run's settings that [`TrainingFlags`] set, as [`Settings`].
pub trait CommonSettings {
    /// Where these settings keep each value the shared flags set.
    fn settings(&mut self) -> Settings<'_>;
}

/// [`CommonSettings`] for each task's settings, whose fields have the same names; `symbols`
/// where the task reads text.
macro_rules! common_settings {
    ($config:ty, |$this:ident| $symbols:expr) => {
        impl CommonSettings for $config {
            fn settings(&mut self) -> Settings<'_> {
                let $this = self;
                Settings {
                    model: &mut $this.model,
                    batch: &mut $this.batch,
                    iterations: &mut $this.iterations,
                    learning_rate: &mut $this.learning_rate,
                    learning_rate_schedule: &mut $this.learning_rate_schedule,
                    seed: &mut $this.seed,
                    clip: &mut $this.clip,
                    optimizer: &mut $this.optimizer,
                    eval_every: &mut $this.eval_every,
                    symbols: $symbols,
                }
            }
        }
    };
}

common_settings!(unroll::training::LanguageConfig, |this| Some(
    &mut this.symbols
));
common_settings!(unroll::training::sequence::SequenceConfig, |this| Some(
    &mut this.symbols
));
common_settings!(unroll::training::forecast::ForecastConfig, |_this| None);
common_settings!(unroll::training::seq2seq::Seq2SeqConfig, |_this| None);

impl TrainingFlags {
    /// Refuses a learning-rate schedule's parameter given without that schedule.
    pub fn check_meaningful(&self) -> Result<(), String> {
        use LearningRateScheduleKind::{Cosine, Exponential, Step};
        let schedule = self.lr_schedule;
        let unless = |ok: bool, needs: &'static str| (!ok).then_some(needs);
        refuse_meaningless(&[
            (
                "--lr-every",
                self.lr_every.is_some(),
                unless(schedule == Some(Step), "--lr-schedule step"),
            ),
            (
                "--lr-factor",
                self.lr_factor.is_some(),
                unless(
                    matches!(schedule, Some(Step | Exponential)),
                    "--lr-schedule step or exponential",
                ),
            ),
            (
                "--lr-min",
                self.lr_min.is_some(),
                unless(schedule == Some(Cosine), "--lr-schedule cosine"),
            ),
        ])
    }

    /// Applies the flags given over `settings`.
    pub fn apply(&self, settings: Settings<'_>) {
        set(&mut settings.model.hidden, self.hidden);
        set(&mut settings.model.cell, self.cell);
        set(&mut settings.model.layers, self.layers);
        set(&mut settings.model.dropout, self.dropout);
        if self.bidirectional {
            settings.model.bidirectional = true;
        }
        set(settings.batch, self.batch);
        set(settings.iterations, self.iterations);
        set(settings.learning_rate, self.lr);
        set(settings.seed, self.seed);
        set(settings.eval_every, self.eval_every);
        if let Some(clip) = self.clip {
            *settings.clip = (clip != 0.0).then_some(clip);
        }
        if let (true, Some(symbols)) = (self.bytes, settings.symbols) {
            *symbols = unroll::training::SymbolMode::Bytes;
        }
        if let Some(optimizer) = self.optimizer {
            *settings.optimizer = optimizer;
        }
        if let Some(kind) = self.lr_schedule {
            *settings.learning_rate_schedule =
                learning_rate_schedule(kind, self.lr_every, self.lr_factor, self.lr_min);
        }
    }

    /// The value each of these flags stands for when left out, under `settings` (the defaults
    /// a run starts from), as `--help` shows them.
    pub fn defaults(settings: Settings<'_>) -> Vec<(&'static str, String)> {
        let schedule = match *settings.learning_rate_schedule {
            LearningRateSchedule::Constant => "constant".to_string(),
            LearningRateSchedule::Step { every, factor } => {
                format!("step (--lr-every {every}, --lr-factor {factor})")
            }
            LearningRateSchedule::Exponential { gamma } => {
                format!("exponential (--lr-factor {gamma})")
            }
            LearningRateSchedule::Cosine { minimum } => format!("cosine (--lr-min {minimum})"),
        };
        vec![
            ("hidden", settings.model.hidden.to_string()),
            ("cell", settings.model.cell.name().to_string()),
            ("layers", settings.model.layers.to_string()),
            ("dropout", settings.model.dropout.to_string()),
            ("batch", settings.batch.to_string()),
            ("iterations", settings.iterations.to_string()),
            ("time_limit", "none, no limit".into()),
            ("lr", settings.learning_rate.to_string()),
            ("lr_schedule", schedule),
            ("lr_every", LR_EVERY.to_string()),
            (
                "lr_factor",
                format!("{LR_STEP_FACTOR} for step, {LR_GAMMA} for exponential"),
            ),
            ("lr_min", LR_MINIMUM.to_string()),
            ("seed", settings.seed.to_string()),
            (
                "clip",
                settings
                    .clip
                    .map_or("0, no clipping".into(), |c| c.to_string()),
            ),
            ("optimizer", flag_value(&*settings.optimizer)),
            ("eval_every", settings.eval_every.to_string()),
            ("resume", "none, a new run".into()),
            ("config", "none, the flags and defaults alone".into()),
        ]
    }
}

/// Refuses the first flag given where it means nothing: each row is the flag as typed, whether
/// it was given, and `Some(what it needs)` when what it needs is missing.
pub fn refuse_meaningless(rows: &[(&str, bool, Option<&str>)]) -> Result<(), String> {
    match rows
        .iter()
        .find(|(_, given, needs)| *given && needs.is_some())
    {
        Some((flag, _, Some(needs))) => Err(format!("{flag} means nothing here: it needs {needs}")),
        _ => Ok(()),
    }
}

/// A value as its flag spells it (`gaussian-nll`, `rmsprop`), for messages that name a setting.
pub fn flag_value(value: &impl ValueEnum) -> String {
    value
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_string())
}

/// A setting a resumed run fixes: the flag, whether the command line gave it (else it came from
/// the settings file), its value in the run and in this command.
pub struct Fixed {
    /// The flag, as typed (`--hidden`).
    pub flag: String,
    /// Whether the command line gave it (else the settings file did).
    pub given: bool,
    /// Its value in the run resumed.
    pub old: String,
    /// Its value in this command.
    pub new: String,
}

impl Fixed {
    /// A setting the library keeps fixed when resuming, as the flag that sets it; `from_file`
    /// when the settings file (`--config`) asked for the new value, not the command line.
    pub fn from_setting(fixed: FixedSetting, from_file: bool) -> Fixed {
        Fixed {
            flag: flag_of(fixed.setting),
            given: !from_file,
            old: fixed.saved,
            new: fixed.asked,
        }
    }
}

/// The flag that sets a setting (`min_symbol_count` → `--min-symbol-count`, `symbols` →
/// `--bytes`).
fn flag_of(setting: &'static str) -> String {
    match setting {
        "symbols" => "--bytes".into(),
        other => format!("--{}", other.replace('_', "-")),
    }
}

/// The first fixed setting this command would change, as an error naming both values.
pub fn first_change(fixed: impl IntoIterator<Item = Fixed>) -> Result<(), String> {
    match fixed.into_iter().find(|f| f.old != f.new) {
        Some(Fixed {
            flag,
            given,
            old,
            new,
        }) => {
            let source = if given {
                flag
            } else {
                format!("{flag} (from --config)")
            };
            Err(format!(
                "{source} cannot change when resuming: the run has {old}, this command asks for {new}"
            ))
        }
        None => Ok(()),
    }
}

/// `--time-limit`: a number of minutes above zero.
fn minutes(text: &str) -> Result<std::time::Duration, String> {
    match text.parse::<f64>() {
        // A limit past what a duration holds (about 5·10¹¹ years) is no limit.
        Ok(minutes) if minutes > 0.0 && minutes.is_finite() => {
            Ok(std::time::Duration::try_from_secs_f64(minutes * 60.0)
                .unwrap_or(std::time::Duration::MAX))
        }
        _ => Err(format!("{text:?} is not a number of minutes above 0")),
    }
}

/// Sets `target` to the value of a flag that was given.
pub fn set<T: Copy>(target: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *target = value;
    }
}

/// Which checkpoint of a run a command reads.
#[derive(clap::Args, Debug)]
pub struct CheckpointArgs {
    /// Run or checkpoint directory.
    #[arg(long, value_hint = clap::ValueHint::DirPath)]
    pub checkpoint: std::path::PathBuf,
    /// Use the best checkpoint instead of the last.
    #[arg(long)]
    pub best: bool,
}

impl CheckpointArgs {
    /// The checkpoint asked for.
    pub fn which(&self) -> unroll::training::Which {
        if self.best {
            unroll::training::Which::Best
        } else {
            unroll::training::Which::Last
        }
    }
}

/// The figure an `eval` command can draw (what it shows, the command's help says).
#[derive(clap::Args, Debug)]
pub struct FigureArgs {
    /// Also draw the command's figure into this PNG file, after the scores are printed
    /// (default: no picture).
    #[arg(long, value_hint = clap::ValueHint::FilePath)]
    pub plot: Option<std::path::PathBuf>,
    /// Replace --plot if it exists.
    #[arg(long)]
    pub force: bool,
}

impl FigureArgs {
    /// Checks `--plot` before any work is done
    /// ([`check_plot`](crate::output::check_plot), against the run read, `checkpoint`).
    pub fn check(&self, checkpoint: &std::path::Path) -> Result<(), String> {
        match &self.plot {
            Some(plot) => crate::output::check_plot(plot, self.force, checkpoint),
            None => Ok(()),
        }
    }
}

/// Writes `model` as `args` ask: safetensors (`safetensors` lays the tensors out under
/// PyTorch's names; the metadata holds `format: pt` and `entries`) or Burnpack, atomically.
pub fn write_export<B, M>(
    args: &ExportArgs,
    model: &M,
    entries: Vec<(&str, String)>,
    safetensors: impl FnOnce(&M, std::collections::HashMap<String, String>) -> Vec<u8>,
) -> Result<(), Box<dyn std::error::Error>>
where
    B: burn::tensor::backend::Backend,
    M: burn::module::Module<B>,
{
    let bytes = match args.format {
        ExportFormat::Safetensors => {
            let mut metadata = std::collections::HashMap::from([("format".into(), "pt".into())]);
            metadata.extend(entries.into_iter().map(|(k, v)| (k.to_string(), v)));
            safetensors(model, metadata)
        }
        ExportFormat::Burnpack => unroll::training::checkpoint::model_bytes(model)?,
    };
    unroll::training::durable::write_atomically(&args.out, &bytes)?;
    Ok(())
}

/// `export` of a task's checkpoint (a classifier's, a forecaster's): `--out` checked first, then
/// the model written with its settings (`config`), its encoding (named as its file is:
/// `encoding`, `standardization`) and the metadata `entries` gives from the checkpoint.
pub fn export_task<K: unroll::training::task_checkpoint::CheckpointKind>(
    args: &ExportArgs,
    entries: impl FnOnce(
        &unroll::training::task_checkpoint::TaskCheckpoint<K>,
    ) -> serde_json::Result<Vec<(&'static str, String)>>,
    safetensors: impl FnOnce(
        &K::Model<unroll::backend::Inference>,
        std::collections::HashMap<String, String>,
    ) -> Vec<u8>,
) -> Result<std::process::ExitCode, Box<dyn std::error::Error>> {
    args.check_output()?;
    let checkpoint = unroll::training::task_checkpoint::TaskCheckpoint::<K>::open(
        &args.from.checkpoint,
        args.from.which(),
    )?;
    let model = checkpoint.model::<unroll::backend::Inference>(&crate::device::open()?)?;
    // Every task's export carries its settings and its encoding, under the encoding file's name.
    let mut metadata = entries(&checkpoint)?;
    metadata.push(("config", serde_json::to_string(&checkpoint.config)?));
    let encoding = K::ENCODING_FILE.trim_end_matches(".json");
    metadata.push((encoding, serde_json::to_string(&checkpoint.encoding)?));
    write_export(args, &model, metadata, safetensors)?;
    crate::console::print(format!("wrote {}", args.out.display()));
    Ok(std::process::ExitCode::SUCCESS)
}

/// What `export` takes.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The checkpoint exported.
    #[command(flatten)]
    pub from: CheckpointArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "safetensors")]
    pub format: ExportFormat,
    /// Output file (never inside the run directory; an existing file is replaced only with
    /// --force).
    #[arg(long, value_hint = clap::ValueHint::FilePath)]
    pub out: std::path::PathBuf,
    /// Replace --out if it exists.
    #[arg(long)]
    pub force: bool,
}

impl ExportArgs {
    /// Checks --out before anything is read: not inside the run exported, and not an existing
    /// file unless --force.
    pub fn check_output(&self) -> Result<(), String> {
        crate::output::check_output(&self.out, "--out", self.force, &self.from.checkpoint)
    }
}
