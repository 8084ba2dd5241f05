//! What the studies share (`forecast study`, `seq2seq study`): the strategies they compare, each
//! fitted to the run's length, the report's mean ± standard deviation, and the rules of the
//! directory a study writes into.

use std::path::Path;

use crate::Error;
use crate::console::print;

use unroll::training::forecast::fitted_curriculum;
use unroll::training::{FeedbackChoice, SamplingSchedule, Strategy};

/// The flags every study takes.
#[derive(clap::Args, Debug)]
pub struct StudyFlags {
    /// The short study: fewer iterations and less data (the command's help says how long).
    #[arg(long)]
    pub quick: bool,
    /// Seeds per strategy (at least 3 for a spread worth reporting; at most 1000, already
    /// days of training on 2 cores).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub seeds: u64,
    /// Replace an earlier study in --out.
    #[arg(long)]
    pub force: bool,
}

impl StudyFlags {
    /// `full`, or `quick` with --quick.
    pub fn sized<T>(&self, full: T, quick: T) -> T {
        if self.quick { quick } else { full }
    }
}

/// A strategy with its schedule fitted to the run (`forecast train --strategy`, and what the
/// studies compare).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FittedStrategy {
    /// Teacher forcing: always fed the truth.
    TeacherForcing,
    /// Scheduled sampling, ε decaying linearly from 1 to 0.25 over the run.
    Linear,
    /// Scheduled sampling, ε = kⁱ reaching 0.05 at the end of the run.
    Exponential,
    /// Scheduled sampling, ε = k / (k + exp(i/k)) crossing 0.5 halfway.
    InverseSigmoid,
    /// The curriculum: from a quarter of the run, the last steps of each window are fed the
    /// model's own outputs, growing to half the window by three quarters of the run.
    Curriculum,
}

impl FittedStrategy {
    /// Every strategy, in the order of the reports.
    pub const ALL: [FittedStrategy; 5] = [
        FittedStrategy::TeacherForcing,
        FittedStrategy::Linear,
        FittedStrategy::Exponential,
        FittedStrategy::InverseSigmoid,
        FittedStrategy::Curriculum,
    ];

    /// The strategy, its schedule fitted to a run of `iterations` over windows of `window`
    /// steps (a decoder's: its longest target and `end`).
    pub fn strategy(self, iterations: u64, window: usize) -> Strategy {
        let n = iterations.max(1) as f64;
        let own = FeedbackChoice::Sample;
        let scheduled = |schedule| Strategy::ScheduledSampling { schedule, own };
        match self {
            FittedStrategy::TeacherForcing => Strategy::TeacherForcing,
            FittedStrategy::Linear => scheduled(SamplingSchedule::Linear {
                k: 1.0,
                c: 0.75 / n,
                minimum: 0.25,
            }),
            FittedStrategy::Exponential => scheduled(SamplingSchedule::Exponential {
                k: 0.05f64.powf(1.0 / n).min(1.0 - 1e-12),
            }),
            FittedStrategy::InverseSigmoid => {
                // k ln k = n / 2: ε crosses one half halfway through the run.
                let mut k = 2.0f64;
                for _ in 0..60 {
                    k = (n / 2.0 / k.ln()).max(1.0 + 1e-9);
                }
                scheduled(SamplingSchedule::InverseSigmoid { k: k.max(1.0) })
            }
            FittedStrategy::Curriculum => fitted_curriculum(iterations, window),
        }
    }

    /// The strategy's name in reports and figures.
    pub fn name(self) -> &'static str {
        match self {
            FittedStrategy::TeacherForcing => "teacher forcing",
            FittedStrategy::Linear => "scheduled sampling, linear",
            FittedStrategy::Exponential => "scheduled sampling, exponential",
            FittedStrategy::InverseSigmoid => "scheduled sampling, inverse sigmoid",
            FittedStrategy::Curriculum => "curriculum",
        }
    }
}

/// Mean and sample standard deviation.
pub fn spread(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = if values.len() > 1 {
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, variance.sqrt())
}

/// A report's cell: `mean ± deviation` with `digits` decimals.
pub fn cell(values: &[f64], digits: usize) -> String {
    let (mean, deviation) = spread(values);
    format!("{mean:.digits$} ± {deviation:.digits$}")
}

/// The lowest and highest of `values`: a figure's band.
pub fn range(values: &[f64]) -> (f64, f64) {
    let low = values.iter().copied().fold(f64::MAX, f64::min);
    let high = values.iter().copied().fold(f64::MIN, f64::max);
    (low, high)
}

/// Checks `--out` before any work: a directory (made if missing) that is empty or holds an
/// earlier study; an earlier study, or a directory holding anything else, only with `force`.
pub fn check_out(out: &Path, force: bool) -> Result<(), String> {
    if out.exists() && !out.is_dir() {
        return Err(format!(
            "--out {} is a file, not a directory: the study writes a report, figures and runs into a directory",
            out.display()
        ));
    }
    let holds_anything = std::fs::read_dir(out).is_ok_and(|mut entries| entries.next().is_some());
    if !holds_anything || force {
        return Ok(());
    }
    Err(if out.join("report.md").exists() {
        format!(
            "{} already holds a study: replace it with --force, or choose another --out",
            out.display()
        )
    } else {
        format!(
            "{} holds files that are not a study's: choose another --out, or write among them with --force",
            out.display()
        )
    })
}

/// Writes a study's report (`report.md`) and every run's scores (`results.jsonl`, a JSON object
/// a line) into `out`, then prints the report and where both are.
pub fn write_report(out: &Path, report: &str, results: &str) -> Result<(), Error> {
    let (report_path, results_path) = (out.join("report.md"), out.join("results.jsonl"));
    std::fs::write(&report_path, report)?;
    std::fs::write(&results_path, results)?;
    print(report);
    print(format!(
        "report: {}, per-run scores: {}",
        report_path.display(),
        results_path.display()
    ));
    Ok(())
}
