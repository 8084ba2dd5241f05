//! forecast: pattern 2 (or pattern 1) on real-valued sequences, trained with teacher forcing,
//! scheduled sampling or the curriculum, and measured open loop, where the model is fed its own
//! outputs.
//!
//! `cargo run --release --example forecast` trains teacher forcing and the curriculum on
//! Lorenz-63 and prints their open-loop errors side by side; `-- --help` lists the commands.

mod cli;
pub(crate) mod study;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::json;
use unroll::backend::Inference;
use unroll::training::DataSource;
use unroll::training::durable::{MAX_INPUT_BYTES, read_limited};
use unroll::training::forecast::{
    BuiltinSeries, ForecastCheckpoint, ForecastConfig, ForecastFiles, ForecastScores, ForecastTask,
    Series, Standardization, open_loop, read_series_csv, score_forecaster, series_csv,
    split_in_time,
};
use unroll::training::memory::available_bytes;
use unroll::training::plot::{Line, plot_lines};

use crate::console::{note, print};
use crate::run::{scores_json, task_report_json};
use crate::task_run::{self, TaskStart, run_directory};
use cli::{Command, EvalArgs, ExportArgs, ForecastArgs, GenerateArgs, TrainArgs};
use unroll::training::export::forecaster_safetensors_bytes;

use crate::Error;
use crate::program::Invocation;

/// The command line: every command and flag, as `--help` shows them.
pub fn command() -> clap::Command {
    crate::help::train_command(
        crate::program::definition::<Command>("forecast", cli::ABOUT),
        cli::train_defaults(ForecastConfig::default()),
    )
}

/// The program: parses the command line and runs the command.
pub fn main() -> ExitCode {
    crate::console::main(
        command(),
        |invocation: Invocation<Command>| match invocation.command {
            None => study::demonstration(),
            Some(Command::Train(args)) => run_train(*args),
            Some(Command::Eval(args)) => run_eval(args),
            Some(Command::Forecast(args)) => run_forecast(args),
            Some(Command::Export(args)) => run_export(args),
            Some(Command::Generate(args)) => run_generate(args),
            Some(Command::Study(args)) => study::run(args),
        },
    )
}

/// The series a run trains on: the file it names, or its built-in system.
fn run_series(config: &ForecastConfig, data: Option<&Path>) -> Result<Series, Error> {
    Ok(read_run_series(config, data)?.0)
}

/// [`run_series`], and where a file's series came from: the file is read once (a FIFO or
/// `/dev/stdin` can be read only once), its bytes parsed and described by the same read.
fn read_run_series(
    config: &ForecastConfig,
    data: Option<&Path>,
) -> Result<(Series, Option<DataSource>), Error> {
    Ok(match (data, &config.builtin) {
        (Some(path), _) => {
            let bytes = read_limited(path, MAX_INPUT_BYTES)?;
            let series = series_csv(path, &bytes)?;
            (series, Some(DataSource::of(Some(path), &bytes)))
        }
        (None, Some(builtin)) => {
            builtin.check_memory(available_bytes())?;
            (builtin.series()?, None)
        }
        (None, None) => return Err("no data: give --data FILE".into()),
    })
}

/// The memory the model's device has left, where it is known (the CPU's).
fn model_memory() -> Option<u64> {
    crate::device::ON_CPU.then(available_bytes).flatten()
}

/// A series split and standardised for a run.
pub struct Prepared {
    /// The statistics of the training part (or a resumed run's).
    pub standardization: Standardization,
    /// The training rows, in standard units.
    pub train: Vec<Vec<f64>>,
    /// The validation rows, in standard units.
    pub validation: Vec<Vec<f64>>,
}

/// The training and validation rows in standard units, with the statistics of the training
/// part (or those of `fitted`, a resumed run's).
pub fn prepare(
    config: &ForecastConfig,
    series: &Series,
    fitted: Option<&Standardization>,
) -> Result<Prepared, Error> {
    let aligned;
    let series = match fitted {
        Some(fitted) => {
            aligned = fitted.align(series)?;
            &aligned
        }
        None => series,
    };
    let (train, validation) =
        split_in_time(series, config.validation_fraction, config.shortest_part())?;
    let standardization = match fitted {
        Some(fitted) => fitted.clone(),
        None => Standardization::fit(&train)?,
    };
    let train = standardization.standardize(&train.rows)?;
    let validation = standardization.standardize(&validation.rows)?;
    Ok(Prepared {
        standardization,
        train,
        validation,
    })
}

fn run_train(args: TrainArgs) -> Result<ExitCode, Error> {
    let mut start = TaskStart::<ForecastFiles>::read(
        &args.common,
        args.data.as_deref(),
        ForecastConfig::default,
    )?;
    let (has_data, fresh) = (start.data_path.is_some(), start.resume.is_none());
    if !has_data && (fresh || args.system.is_some()) {
        start.config.builtin = Some(BuiltinSeries {
            system: args.system.unwrap_or(cli::SYSTEM),
            length: args.length,
            noise: args.noise,
        });
    }
    if has_data {
        start.config.builtin = None;
    }
    start.apply_flags(|config| args.apply(config, fresh), [])?;
    let TaskStart {
        resume,
        data_path,
        config,
    } = start;
    let (series, source) = read_run_series(&config, data_path.as_deref())?;
    config.check_memory(series.columns.len(), model_memory())?;
    let Prepared {
        standardization,
        train,
        validation,
    } = prepare(&config, &series, resume.as_ref().map(|c| &c.encoding))?;
    let out = run_directory(resume.as_ref(), "forecast", &args.common)?;
    let device = crate::device::open()?;
    describe(
        &config,
        data_path.as_deref(),
        &standardization,
        [train.len(), validation.len()],
    );
    let settings = config.loop_settings();
    let task = |resume| {
        Ok(ForecastTask::new(config.clone(), standardization, train, validation)?.resuming(resume))
    };
    let report = task_run::train(
        (&out, resume),
        &args.common,
        source,
        &settings,
        &device,
        task,
    )?;
    let picture = out.join("open-loop.png");
    plot_scores(&[("validation", &report.validation)], &picture)?;
    if args.common.json {
        print(task_report_json(&report, json!({})));
        return Ok(ExitCode::SUCCESS);
    }
    print(format!(
        "trained {} iterations in {:.1} s",
        report.iterations - report.first_iteration,
        report.seconds
    ));
    print_scores(&report.validation);
    print(format!("checkpoint: {}", report.checkpoint.display()));
    print(format!(
        "metrics: {}, loss curve: {}, open-loop error: {}",
        out.join("metrics.jsonl").display(),
        out.join("loss.png").display(),
        picture.display()
    ));
    Ok(ExitCode::SUCCESS)
}

/// One line saying what is about to be trained.
fn describe(
    config: &ForecastConfig,
    data: Option<&Path>,
    standardization: &Standardization,
    [train, validation]: [usize; 2],
) {
    let what = data.map_or_else(
        || {
            config
                .builtin
                .map_or("?".into(), |b| b.system.name().to_string())
        },
        |p| p.display().to_string(),
    );
    let feeds_own = config.strategy != unroll::training::Strategy::TeacherForcing;
    let through =
        if feeds_own && config.fed_gradient == unroll::training::forecast::FedGradient::Through {
            ", gradient through the fed-back outputs"
        } else {
            ""
        };
    note(format!(
        "{what}: {} columns ({}), {train} training and {validation} validation steps; pattern {}, hidden {}, window {}, batch {}, {} iterations, {}, loss {}{through}",
        standardization.width(),
        standardization.columns.join(", "),
        pattern_number(config),
        config.model.hidden,
        config.window,
        config.batch,
        config.iterations,
        config.strategy.name(),
        crate::flags::flag_value(&config.loss),
    ));
}

/// `2` or `1`.
pub fn pattern_number(config: &ForecastConfig) -> u8 {
    match config.model.pattern {
        unroll::training::Pattern::Output => 2,
        unroll::training::Pattern::Hidden => 1,
    }
}

/// The scores in a few lines: one step, open loop at a few horizons, valid time.
pub fn print_scores(scores: &ForecastScores) {
    print(format!(
        "one step ahead (fed the truth): NRMSE {:.4}",
        scores.one_step_nrmse
    ));
    let horizons: Vec<String> = [1, 10, 25, 50, 100, 200, 400]
        .into_iter()
        .filter(|&h| h <= scores.nrmse.len())
        .map(|h| format!("{h}: {:.3}", scores.nrmse[h - 1]))
        .collect();
    print(format!(
        "open loop (fed its own outputs), NRMSE by horizon over {} starts: {}; mean {:.3}",
        scores.starts,
        horizons.join(", "),
        scores.mean_nrmse
    ));
    print(format!(
        "valid for {} steps{}",
        scores.valid_steps,
        scores
            .valid_lyapunov_times
            .map_or(String::new(), |t| format!(" ({t:.2} Lyapunov times)"))
    ));
}

/// Draws the open-loop NRMSE against the horizon, one line per named score.
pub fn plot_scores(scores: &[(&str, &ForecastScores)], path: &Path) -> Result<(), Error> {
    let lines: Vec<Line> = scores
        .iter()
        .map(|(name, s)| Line {
            name: name.to_string(),
            points: s
                .nrmse
                .iter()
                .enumerate()
                .map(|(h, &e)| ((h + 1) as f64, e))
                .collect(),
            band: Vec::new(),
        })
        .collect();
    plot_lines(
        &lines,
        "open-loop error",
        ["horizon (steps)", "NRMSE"],
        path,
    )?;
    Ok(())
}

/// The series `eval` scores: `--data`, or the run's own validation part.
fn scored_rows(
    checkpoint: &ForecastCheckpoint,
    data: Option<&PathBuf>,
) -> Result<Vec<Vec<f64>>, Error> {
    match data {
        Some(path) => {
            let series = checkpoint.encoding.align(&read_series_csv(path)?)?;
            Ok(checkpoint.encoding.standardize(&series.rows)?)
        }
        None => {
            // The run's own validation part: of its built-in system, or of the file it
            // recorded.
            let recorded = checkpoint
                .progress
                .data
                .as_ref()
                .and_then(|d| d.path.clone());
            if checkpoint.config.builtin.is_none() && recorded.is_none() {
                return Err("give the series to score with --data FILE".into());
            }
            let series = run_series(&checkpoint.config, recorded.as_deref())?;
            Ok(prepare(&checkpoint.config, &series, Some(&checkpoint.encoding))?.validation)
        }
    }
}

fn run_eval(args: EvalArgs) -> Result<ExitCode, Error> {
    args.figure.check(&args.from.checkpoint)?;
    let checkpoint = ForecastCheckpoint::open(&args.from.checkpoint, args.from.which())?;
    let rows = scored_rows(&checkpoint, args.data.as_ref())?;
    let mut config = checkpoint.config.clone();
    if let Some(horizon) = args.horizon {
        config.horizon = horizon;
    }
    if let Some(starts) = args.starts {
        config.starts = starts;
    }
    config.validate()?;
    let steps = config.warmup.saturating_add(config.horizon);
    config.check_open_loop(
        checkpoint.encoding.width(),
        config.starts,
        steps,
        model_memory(),
    )?;
    let device = crate::device::open()?;
    let model = checkpoint.model::<Inference>(&device)?;
    let scores = score_forecaster(
        &model,
        &rows,
        &open_loop(&config, &checkpoint.encoding),
        &device,
    )?;
    if args.json {
        let counted = ("steps", rows.len());
        print(scores_json(&scores, &checkpoint.path, &args.data, counted)?);
    } else {
        print(format!(
            "{}: {} steps scored (warm-up {}, horizon {})",
            args.data
                .as_ref()
                .map_or("the run's validation part".into(), |p| p
                    .display()
                    .to_string()),
            rows.len(),
            config.warmup,
            config.horizon
        ));
        print_scores(&scores);
    }
    // Drawn last: a picture that cannot be written loses no score.
    if let Some(path) = &args.figure.plot {
        plot_scores(&[("open loop", &scores)], path)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn run_forecast(args: ForecastArgs) -> Result<ExitCode, Error> {
    if args.horizon == 0 {
        return Err("--horizon: at least one step".into());
    }
    let checkpoint = ForecastCheckpoint::open(&args.from.checkpoint, args.from.which())?;
    let columns = checkpoint.encoding.width();
    let steps = checkpoint.config.warmup.saturating_add(args.horizon);
    checkpoint
        .config
        .check_open_loop(columns, 1, steps, model_memory())
        .map_err(|e| format!("--horizon {}: {e}", args.horizon))?;
    let standardization = &checkpoint.encoding;
    let series = standardization.align(&read_series_csv(&args.data)?)?;
    let rows = standardization.standardize(&series.rows)?;
    let warmup = checkpoint.config.warmup.min(rows.len());
    let device = crate::device::open()?;
    let model = checkpoint.model::<Inference>(&device)?;
    let predicted = unroll::training::forecast::forecasts(
        &model,
        &rows,
        &[rows.len() - warmup],
        warmup,
        args.horizon,
        &device,
    )?;
    let values: Vec<Vec<f64>> = predicted[0]
        .iter()
        .map(|row| standardization.restore(row))
        .collect();
    if args.json {
        print(json!({
            "columns": standardization.columns,
            "after_row": rows.len(),
            "forecast": values,
        }));
        return Ok(ExitCode::SUCCESS);
    }
    print_csv(&standardization.columns, &values);
    Ok(ExitCode::SUCCESS)
}

/// A header of `columns`, then one line per row; stops quietly when stdout is gone.
fn print_csv(columns: &[String], rows: &[Vec<f64>]) {
    if !print(columns.join(",")) {
        return;
    }
    for row in rows {
        let line: Vec<String> = row.iter().map(|v| format!("{v}")).collect();
        if !print(line.join(",")) {
            break;
        }
    }
}

fn run_generate(args: GenerateArgs) -> Result<ExitCode, Error> {
    let builtin = BuiltinSeries {
        system: args.system,
        length: args.length,
        noise: args.noise,
    };
    builtin.check_memory(available_bytes())?;
    let series = args.system.series(args.length, args.noise, args.seed)?;
    print_csv(&series.columns, &series.rows);
    Ok(ExitCode::SUCCESS)
}

fn run_export(args: ExportArgs) -> Result<ExitCode, Error> {
    crate::flags::export_task::<ForecastFiles>(
        &args,
        |checkpoint| {
            let pattern = pattern_number(&checkpoint.config).to_string();
            Ok(vec![("pattern", pattern)])
        },
        forecaster_safetensors_bytes,
    )
}
