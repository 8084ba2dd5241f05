//! claims: the claims of *Deep Learning* ch. 10 that the project implements, each turned into an
//! experiment on the project's own modules, with seeds, numbers and a verdict.
//!
//! `cargo run --release --example claims` runs the quick version of every claim
//! and prints the report; `claims run` writes the full one. Measured so far: claim 2 (pattern 2
//! is less powerful than pattern 1), claim 3 (pattern 2 trains in parallel over time; BPTT is
//! Θ(τ) and sequential), claim 4 (pattern 3 summarises; its gradient can come from downstream),
//! claim 5 (the summary recovers the input, as an autoencoder), claim 6 (teacher forcing is
//! maximum likelihood), claim 7 (own outputs narrow the exposure bias) and claim 8 (a network
//! fed its own outputs learns to map its state back).

mod bias;
mod bias_forecast;
mod bias_language;
mod bias_strategies;
mod cli;
mod lengths;
mod likelihood;
mod memory;
mod recall;
mod recovery;
mod scaling;
mod sharing;
mod summary;
mod task;
mod verdict;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use unroll::backend::{Inference, NAME};
use unroll::training::Validation;

use self::task::Bench;
use self::verdict::verdict;
use crate::Error;
use crate::console::note;
use crate::program::Invocation;
use crate::study::{StudyFlags, cell};
use cli::{Command, RunArgs};
use memory::Target;

type Device = burn::tensor::Device<Inference>;

/// The command line: every command and flag, as `--help` shows them.
pub fn command() -> clap::Command {
    crate::program::definition::<Command>("claims", cli::ABOUT)
}

/// The program: parses the command line and runs the command.
pub fn main() -> ExitCode {
    crate::console::main(
        command(),
        |invocation: Invocation<Command>| match invocation.command {
            None => demonstration(),
            Some(Command::Run(args)) => run(&args),
        },
    )
}

/// The run without arguments: the quick run into a fresh directory (an earlier one is kept).
fn demonstration() -> Result<ExitCode, Error> {
    let out = std::iter::once(PathBuf::from("runs/claims-quick"))
        .chain((2..).map(|n| PathBuf::from(format!("runs/claims-quick-{n}"))))
        .find(|dir| !dir.exists())
        .expect("some number is free");
    run(&RunArgs {
        study: StudyFlags {
            quick: true,
            seeds: 3,
            force: false,
        },
        only: Vec::new(),
        out,
    })
}

/// `run`: every claim asked for, then the report.
fn run(args: &RunArgs) -> Result<ExitCode, Error> {
    crate::study::check_out(&args.out, args.study.force)?;
    std::fs::create_dir_all(&args.out)?;
    let device = crate::device::open()?;
    let mut journal = Journal {
        started: Instant::now(),
        results: String::new(),
        exposure: None,
    };
    let mut sections = String::new();
    let claims: [(u8, Claim); 8] = [
        (1, claim_1),
        (2, claim_2),
        (3, claim_3),
        (4, claim_4),
        (5, claim_5),
        (6, claim_6),
        (7, claim_7),
        (8, claim_8),
    ];
    for (number, claim) in claims {
        if args.only.is_empty() || args.only.contains(&number) {
            sections.push_str(&claim(args, &device, &mut journal)?);
        }
    }
    let only: String = args.only.iter().map(|n| format!(" --only {n}")).collect();
    let report = format!(
        "# The chapter's claims, measured\n\n\
         `cargo run --release --example claims -- run{}{only}` ({} seeds; {:.0} s on backend \
         {NAME}, {} threads).\n\n{}{}{sections}",
        args.study.sized("", " --quick"),
        args.study.seeds,
        journal.started.elapsed().as_secs_f64(),
        rayon::current_num_threads(),
        args.study.sized(
            "",
            "**The quick run's budgets are far too small for its numbers and verdicts to say \
             anything of the claims**: it shows that each experiment runs and writes its \
             section. The full run (`claims run`, its report in `docs/claims/`) is the one to \
             read.\n\n"
        ),
        verdicts(&sections),
    );
    crate::study::write_report(&args.out, &report, &journal.results)?;
    Ok(ExitCode::SUCCESS)
}

/// The seeds, directory and device of a claim's runs, and where each finished run is noted.
fn bench<'a>(args: &'a RunArgs, device: &'a Device, note: &'a mut dyn FnMut(String)) -> Bench<'a> {
    Bench {
        seeds: args.study.seeds,
        out: &args.out,
        device,
        note,
    }
}

/// The table of every section's verdict: its title (the `## ` line) and the first bold words
/// after `Verdict: `.
fn verdicts(sections: &str) -> String {
    let mut table = String::from("| claim | verdict |\n|---|---|\n");
    for section in sections.split("\n## ").filter(|s| !s.trim().is_empty()) {
        let section = section.trim_start_matches("## ");
        let title = section.lines().next().unwrap_or_default();
        let verdict = (section.split_once("Verdict: **"))
            .and_then(|(_, rest)| rest.split_once("**"))
            .map_or("no verdict", |(verdict, _)| verdict);
        let _ = writeln!(table, "| {title} | {verdict} |");
    }
    table.push('\n');
    table
}

/// One claim's experiment: its runs noted in `journal`, its report section returned.
type Claim = fn(&RunArgs, &Device, &mut Journal) -> Result<String, Error>;

/// What a run keeps as it goes: progress lines on the console, timed from the start, and one
/// JSON record per run for `results.jsonl`.
struct Journal {
    started: Instant,
    results: String,
    /// Claim 7's trained networks, which claim 8 perturbs.
    exposure: Option<Vec<bias::Kept>>,
}

impl Journal {
    /// A progress line on the console.
    fn note(&self, line: &str) {
        note(format!(
            "[{:.0} s] {line}",
            self.started.elapsed().as_secs_f64()
        ));
    }

    /// A record for `results.jsonl`.
    fn record(&mut self, record: serde_json::Value) {
        let _ = writeln!(self.results, "{record}");
    }

    /// Claim 7's record of each run of another program: `program`'s runs by strategy, each
    /// seed's result under `what`.
    fn record_runs<T: serde::Serialize>(
        &mut self,
        program: &str,
        what: &str,
        all: &[(crate::study::FittedStrategy, Vec<T>)],
    ) {
        for (strategy, runs) in all {
            for (seed, result) in runs.iter().enumerate() {
                let mut record = serde_json::json!({
                    "claim": 7, "program": program, "strategy": strategy.name(), "seed": seed,
                });
                record[what] = serde_json::json!(result);
                self.record(record);
            }
        }
    }

    /// A progress line and its record.
    fn entry(&mut self, line: String, record: serde_json::Value) {
        self.note(&line);
        self.record(record);
    }
}

/// Claim 1: the length tasks with shared and untied networks, every seed; its section and
/// figure.
fn claim_1(args: &RunArgs, device: &Device, journal: &mut Journal) -> Result<String, Error> {
    use unroll::model::RecurrentCell;
    let plan = sharing::Plan {
        sizes: lengths::Sizes {
            hidden: args.study.sized(64, 16),
            longest: 40,
            batch: 64,
            iterations: args.study.sized(2000, 60),
            validation: args.study.sized(500, 100),
            evaluations: args.study.sized(40, 4),
        },
        problems: lengths::Problem::ALL.to_vec(),
        cells: vec![RecurrentCell::Tanh, RecurrentCell::Lstm],
        test_lengths: args.study.sized(
            vec![41, 50, 60, 80, 100, 150, 200, 300, 400, 500],
            vec![41, 60],
        ),
        tested: args.study.sized(200, 20),
    };
    let all = sharing::run(&plan, bench(args, device, &mut |line| journal.note(&line)))?;
    for ((problem, network), runs) in &all {
        for (seed, outcome) in runs.iter().enumerate() {
            journal.record(serde_json::json!({
                "claim": 1, "task": problem.name(), "network": network.name(), "seed": seed,
                "outcome": outcome,
            }));
        }
    }
    sharing::section(&plan, &all, &args.out)
}

/// Claims 2 and 4's sizes: 20 bits, 16 units, batches of 32, `iterations` in the full run.
fn memory_sizes(args: &RunArgs, iterations: u64) -> memory::Sizes {
    memory::Sizes {
        time: 20,
        hidden: 16,
        batch: 32,
        iterations: args.study.sized(iterations, 100),
        validation: args.study.sized(500, 100),
    }
}

/// Claim 2: both patterns on the count modulo 3 and on parity, every seed; its section.
fn claim_2(args: &RunArgs, device: &Device, journal: &mut Journal) -> Result<String, Error> {
    let sizes = memory_sizes(args, 2000);
    let mut trained = Vec::new();
    for case in memory::CASES {
        let mut runs = Vec::new();
        for seed in 0..args.study.seeds {
            let name = format!("claim-2-{:?}-{:?}-{seed}", case.0, case.1);
            let dir = args.out.join("runs").join(name.to_lowercase());
            let (scores, seconds) = memory::run(case, sizes, seed, &dir, device)?;
            journal.entry(
                format!(
                    "claim 2, {}, {}, seed {seed}: {}",
                    case.0.name(),
                    case.1.name(),
                    scores.summary()
                ),
                serde_json::json!({
                    "claim": 2, "target": case.0.name(), "pattern": case.1.name(), "seed": seed,
                    "scores": scores, "training_seconds": seconds,
                }),
            );
            runs.push((scores, seconds));
        }
        trained.push(memory::Trained { case, runs });
    }
    Ok(memory::section(sizes, &trained))
}

/// Claim 3: both patterns' training steps timed against τ; its section and figure.
fn claim_3(args: &RunArgs, device: &Device, journal: &mut Journal) -> Result<String, Error> {
    let sizes = scaling::Sizes {
        hidden: 128,
        vocab: 65,
        lengths: args.study.sized(
            vec![64, 128, 256, 512, 1024, 2048, 4096],
            vec![64, 128, 256],
        ),
        batches: [1, 64],
        budget: std::time::Duration::from_millis(args.study.sized(300, 20)),
        fit_from: args.study.sized(256, 64),
    };
    let rounds = args.study.seeds;
    let points = scaling::run(&sizes, rounds, device, &mut |line| journal.note(&line))?;
    for point in &points {
        journal.record(serde_json::json!({ "claim": 3, "point": point }));
    }
    scaling::section(&sizes, &points, &args.out, rounds)
}

/// Claim 4: parity learnt three ways, every seed; its section.
fn claim_4(args: &RunArgs, device: &Device, journal: &mut Journal) -> Result<String, Error> {
    let sizes = memory_sizes(args, 3000);
    let mut outcomes = Vec::new();
    // The verdict's case, parity at 20 bits, and what was added after its first runs: shorter
    // parity, and a target every bit moves.
    let cases = args.study.sized(
        vec![
            (Target::Parity, 5),
            (Target::Parity, 10),
            (Target::Parity, 20),
            (Target::Majority, 20),
        ],
        vec![(Target::Parity, 5), (Target::Majority, 5)],
    );
    for (target, time) in cases {
        let sizes = memory::Sizes { time, ..sizes };
        for way in summary::Way::ALL {
            let mut runs = Vec::new();
            for seed in 0..args.study.seeds {
                let name = format!("claim-4-{target:?}-{time}-{way:?}-{seed}").to_lowercase();
                let dir = args.out.join("runs").join(name);
                let outcome = summary::run((target, way), sizes, seed, &dir, device)?;
                journal.entry(
                    format!(
                        "claim 4, {}, {time} bits, {}, seed {seed}: last step {:.3}, sequences to criterion {:?}",
                        target.name(),
                        way.name(),
                        outcome.scores.last_step_accuracy,
                        outcome.sequences_to_criterion
                    ),
                    serde_json::json!({
                        "claim": 4, "target": target.name(), "bits": time, "way": way.name(),
                        "seed": seed, "outcome": outcome,
                    }),
                );
                runs.push(outcome);
            }
            outcomes.push(((target, time, way), runs));
        }
    }
    summary::section(sizes, &outcomes, &args.out)
}

/// Claim 5: the copy task at every hidden size, every seed; its section and figure.
fn claim_5(args: &RunArgs, device: &Device, journal: &mut Journal) -> Result<String, Error> {
    let sizes = recall::Sizes {
        hidden: args.study.sized(vec![32, 64, 128, 256], vec![16, 32]),
        max_length: args.study.sized(12, 5),
        pairs: args.study.sized(4000, 800),
        iterations: args.study.sized(1500, 150),
    };
    let recalls = recall::run(&sizes, bench(args, device, &mut |line| journal.note(&line)))?;
    for recall in &recalls {
        for (seed, run) in recall.runs.iter().enumerate() {
            journal.record(serde_json::json!({
                "claim": 5, "hidden": recall.hidden, "seed": seed,
                "scores": run.scores, "by_target_length": run.lengths,
            }));
        }
    }
    recall::section(&sizes, &recalls, &args.out)
}

/// Claim 6: the enumeration and the open-loop counts, every seed; its section.
fn claim_6(args: &RunArgs, device: &Device, journal: &mut Journal) -> Result<String, Error> {
    let sizes = likelihood::Sizes {
        vocab: 3,
        length: args.study.sized(6, 4),
        hidden: args.study.sized(16, 8),
        samples: args.study.sized(1_000_000, 20_000),
    };
    let mut outcomes = Vec::new();
    for seed in 0..args.study.seeds {
        let outcome = likelihood::run(sizes, seed, device)?;
        journal.entry(
            format!(
                "claim 6, seed {seed}: Σ p = {:.6}, open loop X² deviate {:.2}",
                outcome.total_probability, outcome.deviate
            ),
            serde_json::json!({ "claim": 6, "seed": seed, "outcome": outcome }),
        );
        outcomes.push(outcome);
    }
    Ok(likelihood_section(sizes, &outcomes))
}

/// Claim 7's budget, which claim 8's networks are trained with too.
fn exposure_budget(args: &RunArgs) -> crate::seq2seq::study::Budget {
    crate::seq2seq::study::Budget {
        iterations: args.study.sized(1500, 100),
        pairs: args.study.sized(4000, 600),
        summary_input: false,
    }
}

/// Claim 7: seq2seq's strategies on reverse and copy, every seed; its section.
fn claim_7(args: &RunArgs, device: &Device, journal: &mut Journal) -> Result<String, Error> {
    let budget = exposure_budget(args);
    let (outcomes, kept) = bias::run(budget, bench(args, device, &mut |line| journal.note(&line)))?;
    journal.exposure = Some(kept);
    for ((task, strategy), runs) in &outcomes {
        for (seed, run) in runs.iter().enumerate() {
            journal.record(serde_json::json!({
                "claim": 7, "task": format!("{task:?}"), "strategy": strategy.name(),
                "seed": seed, "scores": run.scores, "by_target_length": run.lengths,
            }));
        }
    }
    let forecast_budget = (args.study.sized(1500, 40), args.study.sized(10_000, 3000));
    let forecast = bias_forecast::run(
        forecast_budget,
        bench(args, device, &mut |line| journal.note(&line)),
    )?;
    journal.record_runs("forecast", "scores", &forecast);
    let language_iterations = args.study.sized(3000, 40);
    let language_budget = (language_iterations, args.study.sized(300, 20));
    let language = bias_language::run(
        language_budget,
        bench(args, device, &mut |line| journal.note(&line)),
    )?;
    journal.record_runs("char-rnn", "answers", &language);
    let others = bias::OtherPrograms {
        forecast: (&forecast, forecast_budget),
        language: (&language, language_iterations),
    };
    Ok(bias::section(budget, &outcomes, &others))
}

/// Claim 8: claim 7's networks fed a wrong symbol (trained here when claim 7 did not run);
/// its section and figure.
fn claim_8(args: &RunArgs, device: &Device, journal: &mut Journal) -> Result<String, Error> {
    let kept = match journal.exposure.take() {
        Some(kept) => kept,
        None => {
            let budget = exposure_budget(args);
            let (_, kept) =
                bias::run(budget, bench(args, device, &mut |line| journal.note(&line)))?;
            kept
        }
    };
    let recoveries = recovery::run(&kept, device, &mut |line| journal.note(&line))?;
    for ((feeding, task, strategy), runs) in &recoveries {
        for (seed, recovery) in runs.iter().enumerate() {
            journal.record(serde_json::json!({
                "claim": 8, "fed": feeding.name(), "task": format!("{task:?}"),
                "strategy": strategy.name(),
                "seed": seed, "recovery": recovery,
            }));
        }
    }
    recovery::section(&recoveries, &args.out)
}

/// Claim 6's section: the claim, the experiment, every seed's numbers and the verdict.
fn likelihood_section(sizes: likelihood::Sizes, outcomes: &[likelihood::Outcome]) -> String {
    let sequences = sizes.vocab.pow(sizes.length as u32);
    let mut text = format!(
        "## 6. Teacher forcing is maximum likelihood\n\n\
         > The chapter (§10.2.1): with the true previous outputs fed, the summed loss is the \
         negative log-likelihood, `log p(y(1), y(2) | x(1), x(2)) = log p(y(2) | y(1), x(1), \
         x(2)) + log p(y(1) | x(1), x(2))`: the distribution teacher forcing trains is the one \
         the network samples from when it runs on its own outputs.\n\n\
         Experiment: a pattern-1 tanh network (hidden {}, {} symbols and a start symbol, its \
         output weights scaled by 8 so that its distributions are far from uniform), a fresh one \
         per seed. Its teacher-forced losses (the fused training pass, fed `start` and then each \
         sequence's own symbols) give each of the {sequences} sequences of {} symbols a \
         probability, `exp(−Σ loss)`. Then {} sequences written open loop (step by step, each \
         symbol drawn from the network's own output and fed to the next step) are counted \
         against those probabilities: Pearson's X² with {} degrees of freedom, as a standard \
         normal deviate (Wilson–Hilferty; beyond 3 the counts do not follow the probabilities), \
         and the total variation distance.\n\n\
         | seed | Σ p | entropy / uniform's | X² | deviate | total variation |\n\
         |---|---|---|---|---|---|\n",
        sizes.hidden,
        sizes.vocab,
        sizes.length,
        sizes.samples,
        sequences - 1,
    );
    for (seed, o) in outcomes.iter().enumerate() {
        let _ = writeln!(
            text,
            "| {seed} | {:.9} | {:.3} | {:.1} | {:.2} | {:.4} |",
            o.total_probability, o.relative_entropy, o.chi_square, o.deviate, o.total_variation
        );
    }
    let total: Vec<f64> = outcomes.iter().map(|o| o.total_probability).collect();
    let deviates: Vec<f64> = outcomes.iter().map(|o| o.deviate).collect();
    let sums_to_one = total.iter().all(|t| (t - 1.0).abs() < 1e-4);
    let follows = deviates.iter().all(|d| *d < 3.0);
    let verdict = verdict(sums_to_one && follows, sums_to_one || follows);
    let _ = write!(
        text,
        "\nVerdict: {verdict}. Σ p is {} over the seeds (1 within 1e-4: {}); the open-loop \
         counts' deviate is {} (below 3 on every seed: {}).\n\n",
        cell(&total, 9),
        if sums_to_one { "yes" } else { "no" },
        cell(&deviates, 2),
        if follows { "yes" } else { "no" },
    );
    text
}
