//! Claim 5: at the most demanding, the summary `h(τ)` is rich enough to recover the input
//! sequence, as an autoencoder. The encoder–decoder of `seq2seq` on its copy task (a random
//! string through the fixed-size summary and back), for several hidden sizes: the share of
//! strings recalled exactly against their length.

use std::fmt::Write as _;
use std::path::Path;

use unroll::training::plot::plot_lines;
use unroll::training::seq2seq::{BuiltinPairs, BuiltinTask, Seq2SeqConfig};

use super::task::Bench;
use super::verdict::verdict;
use crate::Error;
use crate::seq2seq::study::{Outcome, by_length, train_one};
use crate::study::{cell, spread};

/// The sizes of the experiment.
#[derive(Debug, Clone)]
pub struct Sizes {
    /// The hidden sizes tried, smallest first.
    pub hidden: Vec<usize>,
    /// The longest string.
    pub max_length: usize,
    /// Strings generated (a tenth held out and scored).
    pub pairs: usize,
    /// Training iterations of every run.
    pub iterations: u64,
}

/// What was learnt at one hidden size over the seeds.
pub struct Recall {
    /// The hidden size.
    pub hidden: usize,
    /// Each seed's run.
    pub runs: Vec<Outcome>,
}

impl Recall {
    /// Each seed's exact recall of the strings of `length` (those that have some).
    fn at(&self, length: usize) -> Vec<f64> {
        (self.runs.iter())
            .filter_map(|run| run.lengths.iter().find(|l| l.target_length == length))
            .map(|l| l.exact_match)
            .collect()
    }
}

/// The settings of one run.
fn config(sizes: &Sizes, hidden: usize, seed: u64) -> Seq2SeqConfig {
    Seq2SeqConfig {
        iterations: sizes.iterations,
        eval_every: sizes.iterations,
        log_every: sizes.iterations.div_ceil(10),
        learning_rate: 5e-3,
        max_target_length: sizes.max_length + 4,
        seed,
        builtin: Some(BuiltinPairs {
            task: BuiltinTask::Copy,
            count: sizes.pairs,
            max_length: sizes.max_length,
        }),
        ..Seq2SeqConfig::default()
    }
    .with_hidden(hidden)
}

/// Trains and scores every hidden size and seed, in `out/runs`; `note` hears of each run.
pub fn run(sizes: &Sizes, bench: Bench<'_>) -> Result<Vec<Recall>, Error> {
    let (seeds, out, device, note) = (bench.seeds, bench.out, bench.device, bench.note);
    let mut recalls = Vec::new();
    for &hidden in &sizes.hidden {
        let mut runs = Vec::new();
        for seed in 0..seeds {
            let config = config(sizes, hidden, seed);
            let dir = out.join("runs").join(format!("recall-h{hidden}-{seed}"));
            let (outcome, _) = train_one(&config, &dir, device)?;
            note(format!(
                "claim 5, hidden {hidden}, seed {seed}: exact recall {:.3}",
                outcome.scores.exact_match.unwrap_or(f64::NAN)
            ));
            runs.push(outcome);
        }
        recalls.push(Recall { hidden, runs });
    }
    Ok(recalls)
}

/// The longest length up to which every string length is recalled exactly at least 90 % of
/// the time (mean over seeds); 0 when even length 1 is not.
fn recalled_up_to(recall: &Recall, max_length: usize) -> usize {
    (1..=max_length)
        .take_while(|&length| spread(&recall.at(length)).0 >= 0.9)
        .last()
        .unwrap_or(0)
}

/// Claim 5's section, and its figure in `out`.
pub fn section(sizes: &Sizes, recalls: &[Recall], out: &Path) -> Result<String, Error> {
    let lengths: Vec<usize> = (1..=sizes.max_length).collect();
    let mut text = format!(
        "## 5. The summary can recover the input, as an autoencoder\n\n\
         > The chapter (§10.2.4, §10.4): pattern 3's `h(τ)` is a fixed-size summary, and at the \
         most demanding it must be rich enough to approximately recover the input sequence.\n\n\
         Experiment: `seq2seq`'s encoder–decoder (LSTM, one layer each, no attention: the \
         summary is the only path) trained with teacher forcing on its copy task, {} random \
         strings of 1 to {} letters over 12 (a tenth held out), {} iterations of batch 32, Adam \
         5e-3; the held-out strings decoded greedily from their summary. Exact recall by \
         length, mean ± standard deviation over the seeds. Verdict, fixed before the runs: \
         holds if the largest summary recalls at least 90 % of the strings of every length; \
         holds in part if it does up to some length of at least 4; does not hold here \
         otherwise.\n\n| hidden |",
        sizes.pairs, sizes.max_length, sizes.iterations,
    );
    for length in &lengths {
        let _ = write!(text, " length {length} |");
    }
    text.push_str(" recalled (≥ 90 %) up to |\n|---|");
    text.push_str(&"---|".repeat(lengths.len() + 1));
    text.push('\n');
    for recall in recalls {
        let _ = write!(text, "| {} |", recall.hidden);
        for &length in &lengths {
            let _ = write!(text, " {} |", cell(&recall.at(length), 2));
        }
        let _ = writeln!(text, " {} |", recalled_up_to(recall, sizes.max_length));
    }
    let largest = recalls.last().expect("at least one hidden size");
    let reach = recalled_up_to(largest, sizes.max_length);
    let verdict = verdict(reach == sizes.max_length, reach >= 4);
    let _ = write!(
        text,
        "\nVerdict: {verdict}. With {} hidden units the summary gives back at least 90 % of \
         the strings of every length up to {reach} (of {}).\n\n\
         ![exact recall against length](recall.png)\n\n",
        largest.hidden, sizes.max_length,
    );
    if reach < sizes.max_length {
        let longest = |recall: &Recall| spread(&recall.at(sizes.max_length)).0;
        let best = (recalls.iter())
            .max_by(|a, b| longest(a).total_cmp(&longest(b)))
            .expect("at least one hidden size");
        let _ = write!(
            text,
            "Why not at every length, as far as this run tells: recall falls with length at \
             every size and rises with the summary's size, and the best recall of the {}-letter \
             strings, {:.2} (hidden {}), is far from what a summary of that size could hold in \
             principle (a string of {} letters over 12 is {:.0} bits). Every size trains the same \
             {} iterations, which the larger summaries, slower to train, may need more of: the \
             limit measured is this budget's as much as the summary's.\n\n",
            sizes.max_length,
            longest(best),
            best.hidden,
            sizes.max_length,
            sizes.max_length as f64 * 12f64.log2(),
            sizes.iterations,
        );
    }
    let lines: Vec<_> = (recalls.iter())
        .map(|r| by_length(format!("hidden {}", r.hidden), &r.runs, |l| l.exact_match))
        .collect();
    plot_lines(
        &lines,
        "the copy task: strings recalled exactly through the summary",
        ["string length", "exact recall"],
        &out.join("recall.png"),
    )?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use unroll::training::seq2seq::{LengthScores, Seq2SeqScores};

    /// A run whose strings of length `k + 1` were recalled at `rates[k]`.
    fn run(rates: &[f64]) -> Outcome {
        Outcome {
            scores: Seq2SeqScores {
                nats_per_symbol: 0.0,
                symbol_accuracy: 1.0,
                exact_match: None,
                character_error_rate: None,
                pairs: 0,
                decoded: 0,
            },
            seconds: 0.0,
            lengths: (rates.iter().enumerate())
                .map(|(k, &rate)| LengthScores {
                    target_length: k + 1,
                    pairs: 10,
                    teacher_forced_exact_match: rate,
                    teacher_forced_symbol_error_rate: 0.0,
                    exact_match: rate,
                    character_error_rate: 0.0,
                })
                .collect(),
        }
    }

    #[test]
    fn recall_reaches_the_last_length_before_a_mean_below_90_percent() {
        // Means over the two seeds: 1, 0.925, 0.9, 1 (every length reached), then 1, 0.85.
        let recall = Recall {
            hidden: 8,
            runs: vec![run(&[1.0, 0.95, 0.8, 1.0]), run(&[1.0, 0.9, 1.0, 1.0])],
        };
        assert_eq!(recall.at(3), [0.8, 1.0]);
        assert_eq!(recalled_up_to(&recall, 4), 4);
        let short = Recall {
            hidden: 8,
            runs: vec![run(&[1.0, 0.8, 1.0]), run(&[1.0, 0.9, 1.0])],
        };
        assert_eq!(recalled_up_to(&short, 3), 1);
        let none = Recall {
            hidden: 8,
            runs: vec![run(&[0.5])],
        };
        assert_eq!(recalled_up_to(&none, 1), 0);
    }
}
