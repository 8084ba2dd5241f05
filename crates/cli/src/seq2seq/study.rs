//! The exposure-bias study of sequence to sequence: every strategy, several seeds, every built-in
//! task, the same budget; teacher-forced and open-loop exact match against the target length,
//! a markdown report (mean ± standard deviation) and figures.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use unroll::backend::{Inference, NAME, Training};
use unroll::model::EncoderDecoder;
use unroll::training::memory::available_bytes;
use unroll::training::plot::{Line, plot_lines};
use unroll::training::seq2seq::{
    BuiltinPairs, BuiltinTask, EncodedPairs, LengthScores, PairEncoding, Seq2SeqConfig,
    Seq2SeqScores, Seq2SeqTask, score_and_write, split_pairs,
};
use unroll::training::trainer::RunPlace;
use unroll::training::{Silent, train_task};

use super::cli::StudyArgs;
use crate::Error;
use crate::console::note;
use crate::study::{FittedStrategy, cell, range, spread};

type Device = burn::tensor::Device<Inference>;

/// Every built-in task, in the order of the report.
const TASKS: [BuiltinTask; 4] = [
    BuiltinTask::Reverse,
    BuiltinTask::Sort,
    BuiltinTask::Copy,
    BuiltinTask::Addition,
];

/// The sizes every run of a study shares.
#[derive(Clone, Copy)]
pub(crate) struct Budget {
    /// Training iterations of every run.
    pub iterations: u64,
    /// Pairs each run's task generates.
    pub pairs: usize,
    /// Whether the decoder also reads the summary at every step (`--summary-input`).
    pub summary_input: bool,
}

/// What a run gave.
pub(crate) struct Outcome {
    /// The validation pairs' scores, all of them decoded open loop.
    pub scores: Seq2SeqScores,
    /// Seconds of training (the loop alone: no scoring after it).
    pub seconds: f64,
    /// The scores by target length.
    pub lengths: Vec<LengthScores>,
}

/// A trained network, its encoding and its validation pairs.
#[derive(Debug, Clone)]
pub(crate) struct Trained {
    /// The network.
    pub model: EncoderDecoder<Inference>,
    /// Its symbols.
    pub encoding: PairEncoding,
    /// The held-out pairs it was scored on.
    pub validation: EncodedPairs,
}

/// The settings of one run: the built-in task's, with the study's budget and strategy.
pub(crate) fn config(
    task: BuiltinTask,
    strategy: FittedStrategy,
    seed: u64,
    budget: Budget,
) -> Seq2SeqConfig {
    let mut config = Seq2SeqConfig {
        iterations: budget.iterations,
        eval_every: budget.iterations,
        log_every: budget.iterations.div_ceil(10),
        seed,
        builtin: Some(BuiltinPairs {
            task,
            count: budget.pairs,
            max_length: max_length(task),
        }),
        summary_input: budget.summary_input,
        ..super::builtin_defaults()
    };
    config.strategy = strategy.strategy(config.iterations, steps(task));
    config
}

/// The longest source of a task in the study: the built-in default, but for addition, whose
/// numbers have at most 3 digits (of 8, a fixed-size summary learns nothing in this budget).
fn max_length(task: BuiltinTask) -> usize {
    match task {
        BuiltinTask::Addition => 3,
        _ => super::cli::MAX_LENGTH,
    }
}

/// The decoder's steps at the most on a task: its longest target and `end`.
fn steps(task: BuiltinTask) -> usize {
    let longest = match task {
        // The sum of two numbers of n digits has at most n + 1.
        BuiltinTask::Addition => max_length(task) + 1,
        _ => max_length(task),
    };
    longest + 1
}

/// Trains one run in `dir` (replacing what is there) and scores every validation pair; the
/// scores and the trained network.
pub(crate) fn train_one(
    config: &Seq2SeqConfig,
    dir: &Path,
    device: &Device,
) -> Result<(Outcome, Trained), Error> {
    let pairs = (config.builtin.expect("a study's runs are built-in")).pairs(config.seed)?;
    let (train, validation) = split_pairs(pairs, config.validation_fraction, config.seed)?;
    let encoding = PairEncoding::fit(&train, config.min_symbol_count);
    let (train, validation) = (encoding.encode(&train)?, encoding.encode(&validation)?);
    // The loop's own validation scores teacher-forced alone: every pair is decoded once, below.
    let looped = Seq2SeqConfig {
        open_loop_pairs: 0,
        ..config.clone()
    };
    let mut task = Seq2SeqTask::new(looped, encoding.clone(), train, validation.clone())?;
    let place = RunPlace {
        replace_existing: true,
        ..RunPlace::new(dir, NAME)
    };
    let settings = config.loop_settings();
    let report = train_task::<Training, _>(&mut task, &settings, &place, device, &mut Silent)?;
    let seconds = report.training_seconds();
    let (scores, outcomes) = score_and_write(
        &report.model,
        &encoding,
        &validation,
        (config.batch, validation.len()),
        config.max_target_length,
        device,
    )?;
    let outcome = Outcome {
        seconds,
        lengths: outcomes.by_length(&validation.targets),
        scores,
    };
    let trained = Trained {
        model: report.model,
        encoding,
        validation,
    };
    Ok((outcome, trained))
}

fn task_name(task: BuiltinTask) -> &'static str {
    match task {
        BuiltinTask::Reverse => "reverse",
        BuiltinTask::Sort => "sort",
        BuiltinTask::Copy => "copy (the autoencoder)",
        BuiltinTask::Addition => "addition",
    }
}

/// The rows of one task's table.
fn table(outcomes: &[(FittedStrategy, Vec<Outcome>)]) -> String {
    let mut text = String::from(
        "| strategy | nats/symbol | symbol errors, teacher forced | CER, open loop | exposure bias (CER − teacher-forced errors) | exact match, open loop (= teacher forced) | training, s |\n|---|---|---|---|---|---|---|\n",
    );
    for (strategy, runs) in outcomes {
        let metric = |f: &dyn Fn(&Outcome) -> f64| -> Vec<f64> { runs.iter().map(f).collect() };
        let cer = |o: &Outcome| o.scores.character_error_rate.unwrap_or(f64::NAN);
        let _ = writeln!(
            text,
            "| {} | {} | {} | {} | {} | {} | {} |",
            strategy.name(),
            cell(&metric(&|o| o.scores.nats_per_symbol), 4),
            cell(&metric(&|o| 1.0 - o.scores.symbol_accuracy), 4),
            cell(&metric(&cer), 4),
            cell(&metric(&|o| cer(o) - (1.0 - o.scores.symbol_accuracy)), 4),
            cell(&metric(&|o| o.scores.exact_match.unwrap_or(f64::NAN)), 3),
            cell(&metric(&|o| o.seconds), 1),
        );
    }
    text
}

/// A line of a figure against the target length: the mean over seeds of `value`, shaded from
/// the lowest to the highest seed (the seeds' validation pairs differ, so a length some lack
/// is drawn from those that have it).
pub(crate) fn by_length(name: String, runs: &[Outcome], value: fn(&LengthScores) -> f64) -> Line {
    let mut at = std::collections::BTreeMap::<usize, Vec<f64>>::new();
    for row in runs.iter().flat_map(|r| &r.lengths) {
        at.entry(row.target_length).or_default().push(value(row));
    }
    Line {
        name,
        points: (at.iter())
            .map(|(&length, values)| (length as f64, spread(values).0))
            .collect(),
        band: (at.iter())
            .map(|(&length, values)| {
                let (low, high) = range(values);
                (length as f64, low, high)
            })
            .collect(),
    }
}

/// The figures of one task: open-loop exact match against the target length for every
/// strategy; and the open-loop character error rate for every strategy beside teacher
/// forcing's symbol error rate fed the truth.
fn plot_task(
    outcomes: &[(FittedStrategy, Vec<Outcome>)],
    title: &str,
    paths: [&Path; 2],
) -> Result<(), Error> {
    let lines = |value: fn(&LengthScores) -> f64| -> Vec<Line> {
        (outcomes.iter())
            .map(|(strategy, runs)| by_length(strategy.name().into(), runs, value))
            .collect()
    };
    plot_lines(
        &lines(|l| l.exact_match),
        &format!("{title}: exact match, open loop"),
        ["target length", "exact match"],
        paths[0],
    )?;
    let mut errors = lines(|l| l.character_error_rate);
    errors.push(by_length(
        "teacher forcing, fed the truth".into(),
        &outcomes[0].1,
        |l| l.teacher_forced_symbol_error_rate,
    ));
    plot_lines(
        &errors,
        &format!("{title}: errors per symbol, open loop"),
        ["target length", "character error rate"],
        paths[1],
    )?;
    Ok(())
}

/// The report's title and the settings every run shared.
fn report_header(args: &StudyArgs, budget: Budget, seconds: f64) -> String {
    let sample = config(BuiltinTask::Reverse, FittedStrategy::Curriculum, 0, budget);
    format!(
        "# Exposure bias in sequence to sequence: what each training strategy does open loop\n\n\
         `cargo run --release --example seq2seq -- study{}{}` ({} seeds; {:.0} s on backend {NAME}).\n\n\
         Every run: a built-in task of {} pairs (sources of 1 to {} symbols, for addition \
         numbers of 1 to {} digits; {:.0} % held out, \
         scored whole), {} iterations, an LSTM encoder and decoder of hidden {} and {} layer(s){}, batch {}, \
         Adam {}, clip {}. Scheduled sampling: ε from 1, linear to 0.25 at the end, exponential to \
         0.05 at the end, inverse sigmoid crossing 0.5 halfway, the fed symbol drawn from the \
         decoder's distribution; the curriculum: from a quarter of the run, the last n steps of \
         each target fed the decoder's own draws, n growing to half the longest target by three \
         quarters. Teacher forced: fed the true previous symbols, the share of target symbols \
         (`end` included) that are not the most probable. Open loop: greedy decoding from the \
         summary, at most {} symbols; the character error rate is the edit distance over the \
         target length. Greedy decoding writes a target exactly when, fed the truth, every one \
         of its symbols is the most probable: exact match is the same teacher forced and open \
         loop, and the exposure bias shows in the errors per symbol (the open loop's CER against \
         the errors fed the truth). Cells are mean ± standard deviation over seeds; the figures \
         shade from the lowest to the highest seed.\n\n",
        args.study.sized("", " --quick"),
        if budget.summary_input {
            " --summary-input"
        } else {
            ""
        },
        args.study.seeds,
        seconds,
        budget.pairs,
        super::cli::MAX_LENGTH,
        max_length(BuiltinTask::Addition),
        100.0 * sample.validation_fraction,
        budget.iterations,
        sample.model.hidden,
        sample.model.layers,
        if budget.summary_input {
            ", the summary also in every decoder input"
        } else {
            ""
        },
        sample.batch,
        sample.learning_rate,
        sample.clip.unwrap_or(0.0),
        sample.max_target_length,
    )
}

/// `study`: every run, then the report and figures.
pub fn run(args: StudyArgs) -> Result<ExitCode, Error> {
    let budget = Budget {
        iterations: args.iterations.unwrap_or(args.study.sized(1500, 300)),
        pairs: args.pairs.unwrap_or(args.study.sized(4000, 2000)),
        summary_input: args.summary_input,
    };
    let tasks: Vec<BuiltinTask> = if args.task.is_empty() {
        TASKS.to_vec()
    } else {
        args.task.clone()
    };
    // Every run's settings checked, and its pairs' memory estimated, before any work.
    for &task in &tasks {
        let config = config(task, FittedStrategy::Curriculum, 0, budget);
        config.validate()?;
        (config.builtin.expect("set")).check_memory(available_bytes())?;
    }
    crate::study::check_out(&args.out, args.study.force)?;
    std::fs::create_dir_all(&args.out)?;
    let device = crate::device::open()?;
    let started = Instant::now();
    let total = tasks.len() * FittedStrategy::ALL.len() * args.study.seeds as usize;
    let (mut done, mut sections, mut results) = (0, Vec::new(), String::new());
    for &task in &tasks {
        let mut outcomes = Vec::new();
        for strategy in FittedStrategy::ALL {
            let mut runs = Vec::new();
            for seed in 0..args.study.seeds {
                let config = config(task, strategy, seed, budget);
                let dir = (args.out.join("runs")).join(format!("{task:?}-{strategy:?}-{seed}"));
                let (outcome, _) = train_one(&config, &dir, &device)?;
                done += 1;
                note(format!(
                    "[{done}/{total}, {:.0} s] {}, {}, seed {seed}: symbol errors {:.4} teacher forced, CER {:.4} open loop, exact {:.3}",
                    started.elapsed().as_secs_f64(),
                    task_name(task),
                    strategy.name(),
                    1.0 - outcome.scores.symbol_accuracy,
                    outcome.scores.character_error_rate.unwrap_or(f64::NAN),
                    outcome.scores.exact_match.unwrap_or(f64::NAN),
                ));
                let _ = writeln!(
                    results,
                    "{}",
                    serde_json::json!({
                        "task": task_name(task),
                        "strategy": strategy.name(),
                        "seed": seed,
                        "scores": outcome.scores,
                        "training_seconds": outcome.seconds,
                        "by_target_length": outcome.lengths,
                    })
                );
                runs.push(outcome);
            }
            outcomes.push((strategy, runs));
        }
        let name = format!("{task:?}").to_lowercase();
        plot_task(
            &outcomes,
            task_name(task),
            [
                &args.out.join(format!("exact-{name}.png")),
                &args.out.join(format!("errors-{name}.png")),
            ],
        )?;
        sections.push((task_name(task), name, table(&outcomes)));
    }
    let mut report = report_header(&args, budget, started.elapsed().as_secs_f64());
    for (title, name, table) in &sections {
        let _ = write!(
            report,
            "## {title}\n\n{table}\n![exact match by target length, {title}](exact-{name}.png)\n![errors per symbol by target length, {title}](errors-{name}.png)\n\n"
        );
    }
    crate::study::write_report(&args.out, &report, &results)?;
    Ok(ExitCode::SUCCESS)
}
