//! The command line: clap definitions and how flags override the settings (the same flags as
//! char-rnn's and classify's where they mean the same thing).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use unroll::training::forecast::{
    BuiltinSystem, FedGradient, ForecastConfig, RegressionLoss, fitted_curriculum,
};
use unroll::training::{Pattern, Strategy};

pub use crate::flags::ExportArgs;
use crate::flags::{CheckpointArgs, CommonSettings, FigureArgs, TrainingFlags, flag_value, set};
use crate::help::Defaults;

/// What `--help` says of the program.
pub const ABOUT: &str = "Real-valued sequences forecast by pattern 2 (or pattern 1) fed back its own outputs: \
train, evaluate one step ahead and open loop, forecast, and study what the training \
strategies do to the exposure bias.\n\nWith no command, trains teacher forcing and the \
curriculum on Lorenz-63 (about a minute on 2 cores) and prints their open-loop errors \
side by side.";

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a forecaster (on a built-in system unless --data is given).
    Train(Box<TrainArgs>),
    /// Score a checkpoint on a series: one step ahead, and open loop from many starting points
    /// (--plot draws the open-loop NRMSE against the horizon).
    Eval(EvalArgs),
    /// Continue a series after its last row, fed back the model's own outputs.
    Forecast(ForecastArgs),
    /// Write a checkpoint's weights for other tools (safetensors: PyTorch's names, the
    /// standardisation and settings in the metadata).
    Export(ExportArgs),
    /// Write a built-in system's series as CSV on stdout.
    Generate(GenerateArgs),
    /// Train every strategy on both systems and both patterns, several seeds each, and write
    /// a report with figures (4.5 to 14 minutes on 2 cores; --quick: 26 to 75 s).
    Study(StudyArgs),
}

#[derive(Args, Debug, Default)]
pub struct TrainArgs {
    /// A CSV file of numeric columns, one row per time step (a header row is allowed); its last
    /// --val-fraction is held out for validation (default: a built-in system).
    #[arg(long, value_hint = clap::ValueHint::FilePath)]
    pub data: Option<PathBuf>,
    /// The built-in system trained on without --data.
    #[arg(long, value_enum, conflicts_with = "data")]
    pub system: Option<BuiltinSystem>,
    /// Steps of the built-in series.
    #[arg(long, default_value_t = 10_000, conflicts_with = "data")]
    pub length: usize,
    /// Observation noise added to the built-in series, as a fraction of each column's
    /// deviation.
    #[arg(long, default_value_t = 0.0, conflicts_with = "data")]
    pub noise: f64,
    /// Which recurrence: pattern 2 (`output`) or pattern 1 (`hidden`).
    #[arg(long, value_enum)]
    pub pattern: Option<Pattern>,
    /// What the network is fed in training.
    #[arg(long, value_enum)]
    pub strategy: Option<crate::study::FittedStrategy>,
    /// Back-propagate through the fed-back own outputs (the default).
    #[arg(long)]
    pub through: bool,
    /// Treat the fed-back own outputs as constants, as sampled tokens are, instead of
    /// back-propagating through them.
    #[arg(long, conflicts_with = "through")]
    pub detached: bool,
    /// What training minimises.
    #[arg(long, value_enum)]
    pub loss: Option<RegressionLoss>,
    /// Steps per training window.
    #[arg(long)]
    pub window: Option<usize>,
    /// Fraction of the series, at its end, held out for validation.
    #[arg(long)]
    pub val_fraction: Option<f64>,
    /// Open loop: true steps read before the model feeds back its own outputs.
    #[arg(long)]
    pub warmup: Option<usize>,
    /// Open loop: steps forecast from each starting point.
    #[arg(long)]
    pub horizon: Option<usize>,
    /// The flags every training command line shares.
    #[command(flatten)]
    pub common: TrainingFlags,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The checkpoint read.
    #[command(flatten)]
    pub from: CheckpointArgs,
    /// The series scored, whole (CSV of the training data's columns); default: the run's own
    /// validation part (of its built-in system, or of the file it trained on).
    #[arg(long, value_hint = clap::ValueHint::FilePath)]
    pub data: Option<PathBuf>,
    /// Open loop: steps forecast from each starting point (default: the run's).
    #[arg(long)]
    pub horizon: Option<usize>,
    /// Open loop: starting points (default: the run's).
    #[arg(long)]
    pub starts: Option<usize>,
    /// --plot and --force.
    #[command(flatten)]
    pub figure: FigureArgs,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ForecastArgs {
    /// The checkpoint read.
    #[command(flatten)]
    pub from: CheckpointArgs,
    /// The series continued (CSV of the training data's columns): the model reads its last
    /// rows, then forecasts.
    #[arg(long, value_hint = clap::ValueHint::FilePath)]
    pub data: PathBuf,
    /// Steps forecast after the last row.
    #[arg(long)]
    pub horizon: usize,
    /// Print one JSON object instead of CSV.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// The system.
    #[arg(long, value_enum, default_value = "lorenz")]
    pub system: BuiltinSystem,
    /// Steps written.
    #[arg(long, default_value_t = 10_000)]
    pub length: usize,
    /// Observation noise, as a fraction of each column's deviation.
    #[arg(long, default_value_t = 0.0)]
    pub noise: f64,
    /// Seed of the start and the noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Args, Debug)]
pub struct StudyArgs {
    /// --quick, --seeds and --force.
    #[command(flatten)]
    pub study: crate::study::StudyFlags,
    /// Training iterations of every run (default: 3000, or 300 with --quick).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub iterations: Option<u64>,
    /// Treat the fed-back own outputs as constants (as sampled tokens are) instead of
    /// back-propagating through them.
    #[arg(long)]
    pub detached: bool,
    /// Where the report, its figures and the runs go.
    #[arg(long, value_hint = clap::ValueHint::DirPath, default_value = "runs/forecast-study")]
    pub out: PathBuf,
}

impl TrainArgs {
    /// Applies the flags over `config`, then checks it.
    pub fn apply(&self, config: &mut ForecastConfig, fresh: bool) -> Result<(), String> {
        if self.common.bytes {
            return Err("--bytes: a forecaster reads numbers, not text".into());
        }
        self.common.check_meaningful()?;
        self.common.apply(config.settings());
        set(&mut config.model.pattern, self.pattern);
        set(&mut config.window, self.window);
        set(&mut config.validation_fraction, self.val_fraction);
        set(&mut config.warmup, self.warmup);
        set(&mut config.horizon, self.horizon);
        match self.strategy {
            Some(strategy) => config.strategy = strategy.strategy(config.iterations, config.window),
            // The default curriculum is fitted to the run's length and window, as --strategy
            // curriculum is; a run's own (resumed, or from a settings file) stays as it is.
            None if fresh && config.strategy == ForecastConfig::default().strategy => {
                config.strategy = fitted_curriculum(config.iterations, config.window);
            }
            None => {}
        }
        let feeds_own = config.strategy != Strategy::TeacherForcing;
        for (flag, given, gradient) in [
            ("--through", self.through, FedGradient::Through),
            ("--detached", self.detached, FedGradient::Detached),
        ] {
            if given && !feeds_own {
                return Err(format!(
                    "{flag} means nothing with teacher forcing, which feeds no own outputs back"
                ));
            }
            if given {
                config.fed_gradient = gradient;
            }
        }
        set(&mut config.loss, self.loss);
        config.validate().map_err(|e| e.to_string())
    }
}

/// `--system` when neither it nor `--data` is given.
pub const SYSTEM: BuiltinSystem = BuiltinSystem::Lorenz;

/// What each training flag stands for when left out, starting from `config`.
pub fn train_defaults(mut config: ForecastConfig) -> Defaults {
    let mut defaults = TrainingFlags::defaults(config.settings());
    let strategy = match config.strategy {
        Strategy::TeacherForcing => "teacher-forcing",
        Strategy::ScheduledSampling { .. } => "scheduled sampling",
        Strategy::Curriculum { .. } => {
            "curriculum, back-propagated through the fed-back outputs: the study's best on average"
        }
    };
    defaults.extend([
        ("system", flag_value(&SYSTEM)),
        ("pattern", flag_value(&config.model.pattern)),
        ("strategy", strategy.into()),
        ("loss", flag_value(&config.loss)),
        ("window", config.window.to_string()),
        ("val_fraction", config.validation_fraction.to_string()),
        ("warmup", config.warmup.to_string()),
        ("horizon", config.horizon.to_string()),
    ]);
    defaults
}
