//! The exposure-bias study: every strategy, several seeds, both patterns, both built-in systems,
//! the same iteration budget; a markdown report (mean ± standard deviation of every metric) and
//! figures. And the demonstration the example runs without arguments.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use unroll::backend::{Inference, NAME, Training};
use unroll::training::forecast::{
    BuiltinSeries, BuiltinSystem, FedGradient, ForecastConfig, ForecastScores, ForecastTask,
    forecasts,
};
use unroll::training::plot::{Line, plot_lines};
use unroll::training::trainer::RunPlace;
use unroll::training::{Pattern, Silent, train_task};

use crate::Error;

type Device = burn::tensor::Device<Inference>;
use super::cli::StudyArgs;
use crate::console::{note, print};
use crate::study::{FittedStrategy, cell, range, spread};

/// Training runs per seed: every strategy, on both systems and both patterns.
const RUNS_PER_SEED: usize = 2 * 2 * FittedStrategy::ALL.len();

/// One run of the study.
pub(crate) struct Run {
    pub system: BuiltinSystem,
    pub pattern: Pattern,
    pub strategy: FittedStrategy,
    pub seed: u64,
}

/// What a run gave: its scores, and one forecast of the first column against the truth.
pub(crate) struct Outcome {
    pub scores: ForecastScores,
    forecast: Vec<f64>,
    truth: Vec<f64>,
}

/// The sizes every run of a study shares, and how the gradient meets fed-back outputs.
#[derive(Clone, Copy)]
pub(crate) struct Budget {
    pub iterations: u64,
    pub length: usize,
    pub fed_gradient: FedGradient,
}

fn config(run: &Run, budget: Budget) -> ForecastConfig {
    let mut config = ForecastConfig {
        iterations: budget.iterations,
        eval_every: budget.iterations,
        log_every: budget.iterations.div_ceil(10),
        seed: run.seed,
        builtin: Some(BuiltinSeries {
            system: run.system,
            length: budget.length,
            noise: 0.0,
        }),
        ..ForecastConfig::default()
    };
    config.model.pattern = run.pattern;
    // Five Lyapunov times of Lorenz-63 (55 steps each); 100 samples (600 time units, about
    // four Lyapunov times) of Mackey–Glass.
    config.horizon = match run.system {
        BuiltinSystem::Lorenz => 275,
        BuiltinSystem::MackeyGlass => 100,
    };
    config.strategy = run.strategy.strategy(config.iterations, config.window);
    config.fed_gradient = budget.fed_gradient;
    config
}

/// Trains one run in `dir` (replacing what is there) and scores it.
pub(crate) fn train_one(
    run: &Run,
    budget: Budget,
    dir: &Path,
    device: &Device,
) -> Result<Outcome, Error> {
    let config = config(run, budget);
    let series = config.builtin.expect("set").series()?;
    let super::Prepared {
        standardization,
        train,
        validation,
    } = super::prepare(&config, &series, None)?;
    let place = RunPlace {
        replace_existing: true,
        ..RunPlace::new(dir, NAME)
    };
    let mut task = ForecastTask::new(
        config.clone(),
        standardization.clone(),
        train,
        validation.clone(),
    )?;
    let report = train_task::<Training, _>(
        &mut task,
        &config.loop_settings(),
        &place,
        device,
        &mut Silent,
    )?;
    let predicted = forecasts::<Inference>(
        &report.model,
        &validation,
        &[0],
        config.warmup,
        config.horizon,
        device,
    )?;
    let column = |rows: &[Vec<f64>]| -> Vec<f64> {
        rows.iter()
            .map(|row| standardization.restore(row)[0])
            .collect()
    };
    Ok(Outcome {
        scores: report.validation,
        forecast: column(&predicted[0]),
        truth: column(&validation[config.warmup..config.warmup + config.horizon]),
    })
}

fn pattern_name(pattern: Pattern) -> &'static str {
    match pattern {
        Pattern::Output => "pattern 2",
        Pattern::Hidden => "pattern 1",
    }
}

fn slug(system: BuiltinSystem, pattern: Pattern) -> String {
    let system = match system {
        BuiltinSystem::Lorenz => "lorenz",
        BuiltinSystem::MackeyGlass => "mackey-glass",
    };
    let pattern = match pattern {
        Pattern::Output => "p2",
        Pattern::Hidden => "p1",
    };
    format!("{system}-{pattern}")
}

/// The figure of open-loop NRMSE against horizon: the mean over seeds, shaded from the lowest
/// to the highest seed.
fn plot_errors(
    outcomes: &[(FittedStrategy, Vec<Outcome>)],
    title: &str,
    path: &Path,
) -> Result<(), Error> {
    let lines: Vec<Line> = outcomes
        .iter()
        .map(|(strategy, runs)| {
            let horizon = runs[0].scores.nrmse.len();
            let at = |h: usize| runs.iter().map(|r| r.scores.nrmse[h]).collect::<Vec<_>>();
            Line {
                name: strategy.name().into(),
                points: (0..horizon)
                    .map(|h| ((h + 1) as f64, spread(&at(h)).0))
                    .collect(),
                band: (0..horizon)
                    .map(|h| {
                        let (low, high) = range(&at(h));
                        ((h + 1) as f64, low, high)
                    })
                    .collect(),
            }
        })
        .collect();
    plot_lines(&lines, title, ["horizon (steps)", "open-loop NRMSE"], path)?;
    Ok(())
}

/// The figure of one forecast per strategy (seed 0, the first starting point) against the
/// truth, first column.
fn plot_forecasts(
    outcomes: &[(FittedStrategy, Vec<Outcome>)],
    column: &str,
    title: &str,
    path: &Path,
) -> Result<(), Error> {
    let series = |name: &str, values: &[f64]| Line {
        name: name.into(),
        points: values
            .iter()
            .enumerate()
            .map(|(h, &v)| ((h + 1) as f64, v))
            .collect(),
        band: Vec::new(),
    };
    let mut lines: Vec<Line> = outcomes
        .iter()
        .map(|(strategy, runs)| series(strategy.name(), &runs[0].forecast))
        .collect();
    lines.push(series("truth", &outcomes[0].1[0].truth));
    plot_lines(&lines, title, ["horizon (steps)", column], path)?;
    Ok(())
}

/// The rows of one (system, pattern) table.
fn table(outcomes: &[(FittedStrategy, Vec<Outcome>)], lyapunov: bool) -> String {
    let horizon = outcomes[0].1[0].scores.nrmse.len();
    let marks = [horizon / 10, horizon / 4, horizon / 2, horizon];
    let mut text = String::from("| strategy | one step | ");
    for h in marks {
        let _ = write!(text, "open loop, h {h} | ");
    }
    text.push_str("open loop, mean | valid steps |");
    if lyapunov {
        text.push_str(" valid, Lyapunov times |");
    }
    text.push_str(" mean / one step |\n|---|---|");
    text.push_str(&"---|".repeat(marks.len() + 3 + usize::from(lyapunov)));
    text.push('\n');
    for (strategy, runs) in outcomes {
        let metric = |f: &dyn Fn(&ForecastScores) -> f64| -> Vec<f64> {
            runs.iter().map(|r| f(&r.scores)).collect()
        };
        let _ = write!(
            text,
            "| {} | {} |",
            strategy.name(),
            cell(&metric(&|s| s.one_step_nrmse), 4)
        );
        for h in marks {
            let _ = write!(text, " {} |", cell(&metric(&|s| s.nrmse[h - 1]), 3));
        }
        let _ = write!(
            text,
            " {} | {} |",
            cell(&metric(&|s| s.mean_nrmse), 3),
            cell(&metric(&|s| s.valid_steps as f64), 1)
        );
        if lyapunov {
            let _ = write!(
                text,
                " {} |",
                cell(&metric(&|s| s.valid_lyapunov_times.unwrap_or(f64::NAN)), 2)
            );
        }
        let _ = writeln!(
            text,
            " {} |",
            cell(&metric(&|s| s.mean_nrmse / s.one_step_nrmse), 1)
        );
    }
    text
}

/// The report's title and the settings every run shared.
fn report_header(args: &StudyArgs, budget: Budget, seconds: f64) -> String {
    let sample = config(
        &Run {
            system: BuiltinSystem::Lorenz,
            pattern: Pattern::Output,
            strategy: FittedStrategy::TeacherForcing,
            seed: 0,
        },
        budget,
    );
    format!(
        "# Exposure bias: what each training strategy does to open-loop forecasts\n\n\
         `cargo run --release --example forecast -- study{}{}` ({} seeds; {:.0} s on backend {NAME}).\n\n\
         Every run: {} iterations, hidden {}, window {}, batch {}, Adam {} decaying to 1e-4 (cosine), clip {}, a series of {} steps \
         (the last {:.0} % held out). Fed-back own outputs: {}. Scheduled sampling: ε from 1, linear to 0.25 at \
         the end, exponential to 0.05 at the end, inverse sigmoid crossing 0.5 halfway; the curriculum: \
         from a quarter of the run, the last n steps of each window free-running, n growing to half \
         the window by three quarters. One step: NRMSE of predictions fed the truth. Open loop: from {} \
         starting points in the held-out part, {} true steps, then the model's own outputs; NRMSE at \
         each horizon h, normalised per column by its deviation; valid while below {}. \
         Cells are mean ± standard deviation over seeds. Past the valid time the NRMSE of a forecast \
         that stays on the attractor but out of phase tends to √2, and that of one that decays to \
         the mean tends to 1: there, a lower number is not a better model, and the valid time is \
         the measure to read.\n\n",
        args.study.sized("", " --quick"),
        if args.detached { " --detached" } else { "" },
        args.study.seeds,
        seconds,
        budget.iterations,
        sample.model.hidden,
        sample.window,
        sample.batch,
        sample.learning_rate,
        sample.clip.unwrap_or(0.0),
        budget.length,
        100.0 * sample.validation_fraction,
        match budget.fed_gradient {
            FedGradient::Detached => "constants (detached)",
            FedGradient::Through => "back-propagated through",
        },
        sample.starts,
        sample.warmup,
        sample.valid_threshold,
    )
}

/// `study`: every run, then the report and figures.
pub fn run(args: StudyArgs) -> Result<ExitCode, Error> {
    let budget = Budget {
        iterations: args.iterations.unwrap_or(args.study.sized(3000, 300)),
        length: args.study.sized(10_000, 3000),
        fed_gradient: if args.detached {
            FedGradient::Detached
        } else {
            FedGradient::Through
        },
    };
    crate::study::check_out(&args.out, args.study.force)?;
    std::fs::create_dir_all(&args.out)?;
    let device = crate::device::open()?;
    let started = Instant::now();
    let systems = [BuiltinSystem::Lorenz, BuiltinSystem::MackeyGlass];
    let patterns = [Pattern::Output, Pattern::Hidden];
    let total = RUNS_PER_SEED * args.study.seeds as usize;
    let mut done = 0;
    let mut sections = BTreeMap::new();
    let mut results = String::new();
    for system in systems {
        for pattern in patterns {
            let mut outcomes = Vec::new();
            for strategy in FittedStrategy::ALL {
                let mut runs = Vec::new();
                for seed in 0..args.study.seeds {
                    let run = Run {
                        system,
                        pattern,
                        strategy,
                        seed,
                    };
                    let dir = args
                        .out
                        .join("runs")
                        .join(format!("{}-{strategy:?}-{seed}", slug(system, pattern)));
                    let outcome = train_one(&run, budget, &dir, &device)?;
                    done += 1;
                    note(format!(
                        "[{done}/{total}, {:.0} s] {}, {}, {}, seed {seed}: one step {:.4}, open loop mean {:.3}, valid {} steps",
                        started.elapsed().as_secs_f64(),
                        system.name(),
                        pattern_name(pattern),
                        strategy.name(),
                        outcome.scores.one_step_nrmse,
                        outcome.scores.mean_nrmse,
                        outcome.scores.valid_steps
                    ));
                    let _ = writeln!(
                        results,
                        "{}",
                        serde_json::json!({
                            "system": system.name(),
                            "pattern": pattern_name(pattern),
                            "strategy": strategy.name(),
                            "seed": seed,
                            "scores": outcome.scores,
                        })
                    );
                    runs.push(outcome);
                }
                outcomes.push((strategy, runs));
            }
            let name = slug(system, pattern);
            let title = format!("{}, {}", system.name(), pattern_name(pattern));
            plot_errors(
                &outcomes,
                &title,
                &args.out.join(format!("nrmse-{name}.png")),
            )?;
            let column = match system {
                BuiltinSystem::Lorenz => "x",
                BuiltinSystem::MackeyGlass => "x(t)",
            };
            plot_forecasts(
                &outcomes,
                column,
                &format!("{title}: a forecast from the first starting point (seed 0)"),
                &args.out.join(format!("forecast-{name}.png")),
            )?;
            let lyapunov = system == BuiltinSystem::Lorenz;
            sections.insert(
                (system.name(), pattern_name(pattern) == "pattern 1"),
                (title, name, table(&outcomes, lyapunov)),
            );
        }
    }
    let mut report = report_header(&args, budget, started.elapsed().as_secs_f64());
    for (title, name, table) in sections.values() {
        let _ = write!(
            report,
            "## {title}\n\n{table}\n![open-loop NRMSE, {title}](nrmse-{name}.png)\n![a forecast, {title}](forecast-{name}.png)\n\n"
        );
    }
    crate::study::write_report(&args.out, &report, &results)?;
    Ok(ExitCode::SUCCESS)
}

/// The run without arguments: teacher forcing and the curriculum on Lorenz-63, pattern 2, side
/// by side.
pub fn demonstration() -> Result<ExitCode, Error> {
    // A fresh directory each time, as every run gets: an earlier demonstration is kept.
    let out = std::iter::once(PathBuf::from("runs/forecast-demo"))
        .chain((2..).map(|n| PathBuf::from(format!("runs/forecast-demo-{n}"))))
        .find(|dir| !dir.exists())
        .expect("some number is free");
    std::fs::create_dir_all(&out)?;
    let device = crate::device::open()?;
    // The study's budget, seed 0: the runs of its first table.
    let budget = Budget {
        iterations: 3000,
        length: 10_000,
        fed_gradient: FedGradient::Through,
    };
    note(format!(
        "Lorenz-63, pattern 2 (the fed-back output is the only input), {} iterations each: teacher forcing, then the curriculum (back-propagated through the fed-back outputs)",
        budget.iterations
    ));
    let mut scored = Vec::new();
    for strategy in [FittedStrategy::TeacherForcing, FittedStrategy::Curriculum] {
        let run = Run {
            system: BuiltinSystem::Lorenz,
            pattern: Pattern::Output,
            strategy,
            seed: 0,
        };
        let started = Instant::now();
        let dir = out.join(format!("{strategy:?}").to_lowercase());
        let outcome = train_one(&run, budget, &dir, &device)?;
        note(format!(
            "{}: trained in {:.1} s",
            strategy.name(),
            started.elapsed().as_secs_f64()
        ));
        scored.push((strategy, outcome));
    }
    print(format!(
        "{:<28}{:>18}{:>18}",
        "", "teacher forcing", "curriculum"
    ));
    let row = |label: &str, f: &dyn Fn(&ForecastScores) -> String| {
        print(format!(
            "{label:<28}{:>18}{:>18}",
            f(&scored[0].1.scores),
            f(&scored[1].1.scores)
        ));
    };
    row("one step (fed the truth)", &|s| {
        format!("{:.4}", s.one_step_nrmse)
    });
    for h in [10, 55, 110, 275] {
        row(&format!("open loop, {h} steps"), &|s| {
            format!("{:.3}", s.nrmse[h - 1])
        });
    }
    row("open loop, mean", &|s| format!("{:.3}", s.mean_nrmse));
    row("open loop mean / one step", &|s| {
        format!("{:.0}x", s.mean_nrmse / s.one_step_nrmse)
    });
    row("valid time (Lyapunov times)", &|s| {
        format!("{:.2}", s.valid_lyapunov_times.unwrap_or(f64::NAN))
    });
    let picture = out.join("open-loop.png");
    super::plot_scores(
        &[
            ("teacher forcing", &scored[0].1.scores),
            ("curriculum", &scored[1].1.scores),
        ],
        &picture,
    )?;
    print(format!(
        "NRMSE normalised per column; 55 steps are one Lyapunov time. Figure: {}; the whole study: `cargo run --release --example forecast -- study`",
        picture.display()
    ));
    Ok(ExitCode::SUCCESS)
}
