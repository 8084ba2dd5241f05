//! Claim 3: pattern 2 with teacher forcing trains in parallel over time; pattern 1's
//! back-propagation through time takes Θ(τ) time that cannot be parallelised, and Θ(τ) memory.
//! One training step (forward, the loss of every step, backward, global-norm clipping, Adam) of
//! each pattern, timed at lengths τ, at batch 1 and batch 64, on one thread and on every core,
//! with the memory the step adds counted by the global allocator.

use std::path::Path;
use std::time::{Duration, Instant};

use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::{Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use unroll::backend::Training;
use unroll::model::{
    FeedbackSequence, HiddenRecurrentConfig, HiddenStackConfig, InputEncoding,
    OutputRecurrentConfig, SequenceInput,
};
use unroll::training::plot::{Line, plot_lines};
use unroll::training::{FusedAdam, clip_global_norm};

use super::verdict::verdict;
use crate::Error;
use crate::allocator;
use crate::study::cell;

type Device = burn::tensor::Device<Training>;

/// The experiment's sizes.
#[derive(Debug, Clone)]
pub struct Sizes {
    /// Hidden units of both patterns.
    pub hidden: usize,
    /// Symbols in and out (one-hot inputs, softmax outputs).
    pub vocab: usize,
    /// The lengths τ, shortest first.
    pub lengths: Vec<usize>,
    /// The batches.
    pub batches: [usize; 2],
    /// How long each configuration is timed, at least (after a warm-up step), each round.
    pub budget: Duration,
    /// The shortest τ the slopes are fitted from: below it, a step's fixed costs dominate.
    pub fit_from: usize,
}

/// Which pattern a point measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Pattern {
    /// Hidden recurrence, trained by back-propagation through time.
    HiddenRecurrence,
    /// Output recurrence, teacher forced: no loop over time.
    OutputRecurrence,
}

impl Pattern {
    /// Both, in the report's order.
    pub const ALL: [Pattern; 2] = [Pattern::HiddenRecurrence, Pattern::OutputRecurrence];

    /// The pattern's name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Pattern::HiddenRecurrence => "pattern 1 (BPTT)",
            Pattern::OutputRecurrence => "pattern 2 (teacher forced)",
        }
    }
}

/// One configuration's measurements, one a round.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// The pattern.
    pub pattern: Pattern,
    /// Rows a step.
    pub batch: usize,
    /// τ.
    pub length: usize,
    /// Milliseconds a step on one thread, one a round.
    pub one_thread_ms: Vec<f64>,
    /// Milliseconds a step on every core, one a round.
    pub every_core_ms: Vec<f64>,
    /// MiB the step adds to the live heap at its peak, one a round (`None`: not counted, the
    /// counting allocator is not installed).
    pub added_mib: Vec<Option<f64>>,
}

impl Point {
    fn mean(values: &[f64]) -> f64 {
        values.iter().sum::<f64>() / values.len().max(1) as f64
    }

    /// Tokens a second on every core, the rounds' mean time.
    fn tokens_per_second(&self) -> f64 {
        (self.batch * self.length) as f64 / (Self::mean(&self.every_core_ms) / 1000.0)
    }

    /// One thread's time over every core's: what the other cores bring.
    fn speedup(&self) -> f64 {
        Self::mean(&self.one_thread_ms) / Self::mean(&self.every_core_ms)
    }

    /// The memory added, the rounds' mean, when counted.
    fn added(&self) -> Option<f64> {
        let counted: Option<Vec<f64>> = self.added_mib.iter().copied().collect();
        counted.map(|c| Self::mean(&c))
    }
}

/// Random symbols `[batch, length]`.
fn symbols(
    batch: usize,
    length: usize,
    vocab: usize,
    seed: u64,
    device: &Device,
) -> Tensor<Training, 2, Int> {
    let mut random = ChaCha8Rng::seed_from_u64(seed);
    let values: Vec<i64> = (0..batch * length)
        .map(|_| random.random_range(0..vocab as i64))
        .collect();
    Tensor::from_data(TensorData::new(values, [batch, length]), device)
}

/// Times training steps of `model` (its loss from `loss`, then clipping at 5 and Adam at 2e-3)
/// for at least `budget` after a warm-up step; milliseconds a step and the MiB the measured
/// steps added at their peak (`None` when the allocator does not count).
fn time_steps<M: AutodiffModule<Training>>(
    model: M,
    budget: Duration,
    loss: impl Fn(&M) -> Result<Tensor<Training, 1>, Error>,
) -> Result<(f64, Option<f64>), Error> {
    let mut optimizer = FusedAdam::default().init();
    let mut step = |model: M| -> Result<M, Error> {
        let loss = loss(&model)?;
        let gradients = GradientsParams::from_grads(loss.backward(), &model);
        let (gradients, _) = clip_global_norm(&model, gradients, 5.0)?;
        Ok(optimizer.step(2e-3, model, gradients))
    };
    let mut model = step(model)?;
    let before = allocator::live_bytes();
    allocator::reset_peak();
    let started = Instant::now();
    let mut count = 0;
    while count < 2 || started.elapsed() < budget {
        model = step(model)?;
        count += 1;
    }
    let ms = 1000.0 * started.elapsed().as_secs_f64() / f64::from(count);
    let added = before.map(|b| allocator::peak_bytes().saturating_sub(b) as f64 / 1048576.0);
    Ok((ms, added))
}

/// One training step of `pattern` timed at `batch` × `length` on the threads of the current
/// pool; milliseconds a step and the MiB it adds.
fn measure(
    pattern: Pattern,
    (batch, length): (usize, usize),
    sizes: &Sizes,
    device: &Device,
) -> Result<(f64, Option<f64>), Error> {
    let inputs = symbols(batch, length, sizes.vocab, 1, device);
    let targets = symbols(batch, length, sizes.vocab, 2, device);
    match pattern {
        Pattern::HiddenRecurrence => {
            let encoding = InputEncoding::Tokens {
                vocab_size: sizes.vocab,
            };
            let stack = HiddenStackConfig::new(encoding, sizes.hidden);
            let model = HiddenRecurrentConfig::new(stack, sizes.vocab).init::<Training>(device);
            time_steps(model, sizes.budget, |model| {
                let input = SequenceInput::Tokens(inputs.clone());
                let (losses, _) = model.forward_loss(input, None, targets.clone())?;
                Ok(losses.mean())
            })
        }
        Pattern::OutputRecurrence => {
            let model =
                OutputRecurrentConfig::new(sizes.hidden, sizes.vocab).init::<Training>(device);
            time_steps(model, sizes.budget, |model| {
                let previous = FeedbackSequence::Tokens(inputs.clone());
                let losses = model.teacher_forced_loss(None, previous, targets.clone())?;
                Ok(losses.mean())
            })
        }
    }
}

/// Every configuration, `rounds` times (each round measures every configuration in turn, so
/// that the host's drift falls on all alike).
pub fn run(
    sizes: &Sizes,
    rounds: u64,
    device: &Device,
    note: &mut impl FnMut(String),
) -> Result<Vec<Point>, Error> {
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| format!("a one-thread pool: {e}"))?;
    let mut points: Vec<Point> = Pattern::ALL
        .into_iter()
        .flat_map(|pattern| {
            sizes.batches.into_iter().flat_map(move |batch| {
                sizes.lengths.iter().map(move |&length| Point {
                    pattern,
                    batch,
                    length,
                    one_thread_ms: Vec::new(),
                    every_core_ms: Vec::new(),
                    added_mib: Vec::new(),
                })
            })
        })
        .collect();
    for round in 0..rounds {
        for point in &mut points {
            let size = (point.batch, point.length);
            // The error is not `Send`: it crosses back from the pool as its message.
            let (alone, _) = one_thread.install(|| {
                measure(point.pattern, size, sizes, device).map_err(|e| e.to_string())
            })?;
            let (every, added) = measure(point.pattern, size, sizes, device)?;
            point.one_thread_ms.push(alone);
            point.every_core_ms.push(every);
            point.added_mib.push(added);
        }
        note(format!("claim 3, round {round} of {rounds} measured"));
    }
    Ok(points)
}

/// The least-squares slope of `log y` on `log x`: the exponent `k` of `y ∝ x^k`.
pub fn log_slope(points: &[(f64, f64)]) -> f64 {
    let logs: Vec<(f64, f64)> = points.iter().map(|(x, y)| (x.ln(), y.ln())).collect();
    let n = logs.len() as f64;
    let (mean_x, mean_y) = (
        logs.iter().map(|p| p.0).sum::<f64>() / n,
        logs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let covariance: f64 = logs.iter().map(|(x, y)| (x - mean_x) * (y - mean_y)).sum();
    let variance: f64 = logs.iter().map(|(x, _)| (x - mean_x).powi(2)).sum();
    covariance / variance
}

/// The exponents of a series `(τ, y)` over τ ≥ `fit_from`: of `y` itself ([`log_slope`]), and
/// of its increments `y(τ) − y(τ/2)` between the lengths in turn (doubling). A fixed cost
/// (the parameters' gradients, Adam's moments) bends the first below 1 where `y = a + bτ`; the
/// increments `bτ/2` drop it, and grow as `τ^k` where `y` does.
pub fn exponents(series: &[(f64, f64)], fit_from: usize) -> Exponents {
    let fitted: Vec<(f64, f64)> = (series.iter().copied())
        .filter(|(x, _)| *x >= fit_from as f64)
        .collect();
    let increments: Vec<(f64, f64)> = (fitted.windows(2))
        .map(|pair| (pair[1].0, pair[1].1 - pair[0].1))
        .collect();
    Exponents {
        whole: log_slope(&fitted),
        // An increment at or below 0 (noise) has no logarithm: no exponent, not a wrong one.
        increments: if increments.iter().all(|(_, d)| *d > 0.0) {
            log_slope(&increments)
        } else {
            f64::NAN
        },
    }
}

/// [`exponents`]' two numbers.
#[derive(Debug, Clone, Copy)]
pub struct Exponents {
    /// The exponent of the quantity.
    pub whole: f64,
    /// The exponent of its increments.
    pub increments: f64,
}

/// The exponents of one pattern at one batch over τ ≥ `fit_from`: time (every core) and memory.
fn slopes(points: &[&Point], fit_from: usize) -> (Exponents, Option<Exponents>) {
    let time: Vec<(f64, f64)> = (points.iter())
        .map(|p| (p.length as f64, Point::mean(&p.every_core_ms)))
        .collect();
    let memory: Option<Vec<(f64, f64)>> = (points.iter())
        .map(|p| p.added().map(|m| (p.length as f64, m)))
        .collect();
    (
        exponents(&time, fit_from),
        memory.map(|m| exponents(&m, fit_from)),
    )
}

/// One pattern at one batch on the figure: log₂ of the time a step against log₂ τ.
fn time_line(pattern: Pattern, batch: usize, points: &[&Point]) -> Line {
    Line {
        name: format!("{}, batch {batch}", pattern.name()),
        points: (points.iter())
            .map(|p| {
                (
                    (p.length as f64).log2(),
                    Point::mean(&p.every_core_ms).log2(),
                )
            })
            .collect(),
        band: Vec::new(),
    }
}

/// The table's rows: one a configuration.
fn rows(points: &[Point]) -> String {
    let mut text = String::new();
    for p in points {
        let added: Option<Vec<f64>> = p.added_mib.iter().copied().collect();
        let _ = std::fmt::Write::write_fmt(
            &mut text,
            format_args!(
                "| {} | {} | {} | {} | {} | {:.2} | {:.0} | {} |\n",
                p.pattern.name(),
                p.batch,
                p.length,
                cell(&p.every_core_ms, 2),
                cell(&p.one_thread_ms, 2),
                p.speedup(),
                p.tokens_per_second(),
                added.map_or("not counted".into(), |a| cell(&a, 1)),
            ),
        );
    }
    text
}

/// Claim 3's section, and its figure in `out`.
pub fn section(sizes: &Sizes, points: &[Point], out: &Path, rounds: u64) -> Result<String, Error> {
    let longest = *sizes.lengths.last().expect("at least one length");
    let mut text = format!(
        "## 3. Pattern 2 trains in parallel over time; pattern 1's BPTT is Θ(τ) in time and \
         memory, and sequential\n\n\
         > The chapter (§10.2): the runtime of back-propagation through time is O(τ) and cannot \
         be reduced by parallelisation, because the forward propagation graph is inherently \
         sequential; the memory cost is O(τ). A network whose only recurrence is from the output \
         to the hidden layer, trained with teacher forcing, decouples its time steps, so that \
         training can be parallelised.\n\n\
         Experiment: one training step (forward, cross-entropy at every step, backward, \
         global-norm clipping, Adam) of each pattern (tanh, hidden {}, {} symbols one-hot in, \
         softmax out; pattern 2 fed the true previous symbol), on random symbols of length τ = \
         {}, at batch {} and {}; timed on one thread and on every core ({} here), {rounds} \
         rounds, each timing at least {} ms after a warm-up step; and the memory the step adds \
         to the live heap at its peak, counted by the program's allocator. Exponents are \
         least-squares fits of `y ∝ τ^k` over τ ≥ {}, of the quantity and of its increments \
         from one length to the next (twice as long). Verdict: holds if (a) pattern 1's time \
         and memory grow as τ (the exponents of both increments within 0.85–1.15 at both \
         batches) and (b) at τ = {longest} pattern 2 at batch {} trains at least half as \
         many tokens a second as at batch {} (time stands in for the batch), while pattern 1 at \
         batch {} trains at most a quarter of its batch-{} rate (its steps run one after \
         another); holds in part if one of (a) and (b) holds; does not hold here otherwise. The \
         rule was fixed before the runs but for one revision after the first full run: (a) \
         read the exponents of the quantities themselves, which the fixed cost of a step \
         (0.2 MiB at batch 1: the parameters' gradients and Adam's moments) bends below 0.85 \
         for a memory that grows as exactly `a + bτ`; the exponents of the increments do not \
         see that cost.\n\n\
         | pattern | batch | τ | ms/step, every core | ms/step, one thread | other cores' speed-up | tokens/s | MiB added |\n\
         |---|---|---|---|---|---|---|---|\n",
        sizes.hidden,
        sizes.vocab,
        sizes
            .lengths
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        sizes.batches[0],
        sizes.batches[1],
        rayon::current_num_threads(),
        sizes.budget.as_millis(),
        sizes.fit_from,
        sizes.batches[0],
        sizes.batches[1],
        sizes.batches[0],
        sizes.batches[1],
    );
    text.push_str(&rows(points));
    text.push_str(
        "\n| pattern | batch | time exponent | of its increments | memory exponent | of its \
         increments |\n|---|---|---|---|---|---|\n",
    );
    let mut linear = true;
    let mut lines = Vec::new();
    for pattern in Pattern::ALL {
        for batch in sizes.batches {
            let these: Vec<&Point> = (points.iter())
                .filter(|p| p.pattern == pattern && p.batch == batch)
                .collect();
            let (time, memory) = slopes(&these, sizes.fit_from);
            if pattern == Pattern::HiddenRecurrence {
                let within = |k: f64| (0.85..=1.15).contains(&k);
                linear &= within(time.increments) && memory.is_some_and(|m| within(m.increments));
            }
            let memory = memory.map_or("not counted | not counted".into(), |m| {
                format!("{:.2} | {:.2}", m.whole, m.increments)
            });
            let _ = std::fmt::Write::write_fmt(
                &mut text,
                format_args!(
                    "| {} | {batch} | {:.2} | {:.2} | {memory} |\n",
                    pattern.name(),
                    time.whole,
                    time.increments,
                ),
            );
            lines.push(time_line(pattern, batch, &these));
        }
    }
    let rate = |pattern: Pattern, batch: usize| {
        (points.iter())
            .find(|p| p.pattern == pattern && p.batch == batch && p.length == longest)
            .map_or(f64::NAN, Point::tokens_per_second)
    };
    let [small, large] = sizes.batches;
    let output_share =
        rate(Pattern::OutputRecurrence, small) / rate(Pattern::OutputRecurrence, large);
    let hidden_share =
        rate(Pattern::HiddenRecurrence, small) / rate(Pattern::HiddenRecurrence, large);
    let parallel = output_share >= 0.5 && hidden_share <= 0.25;
    let verdict = verdict(linear && parallel, linear || parallel);
    let _ = std::fmt::Write::write_fmt(
        &mut text,
        format_args!(
            "\nVerdict: {verdict}. (a) pattern 1's time and memory grow as τ: {}. (b) at τ = \
             {longest}, pattern 2 at batch {small} trains {output_share:.2} of its batch-{large} \
             tokens a second, pattern 1 {hidden_share:.3}: {}.\n\n\
             ![time a step against τ](scaling.png)\n\n",
            if linear { "yes" } else { "no" },
            if parallel { "yes" } else { "no" },
        ),
    );
    plot_lines(
        &lines,
        "one training step, every core",
        ["log2 τ", "log2 ms a step"],
        &out.join("scaling.png"),
    )?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fitted_slope_is_the_exponent_of_a_power_law() {
        let cubic: Vec<(f64, f64)> = [2.0, 4.0, 8.0, 16.0]
            .map(|x: f64| (x, 3.0 * x.powi(3)))
            .into();
        assert!((log_slope(&cubic) - 3.0).abs() < 1e-9);
        let flat: Vec<(f64, f64)> = [1.0, 10.0, 100.0].map(|x| (x, 7.0)).into();
        assert!(log_slope(&flat).abs() < 1e-9);
        // A fixed cost bends the exponent of the quantity, not that of its increments.
        let affine: Vec<(f64, f64)> = [64.0, 128.0, 256.0, 512.0].map(|x| (x, 200.0 + x)).into();
        let found = exponents(&affine, 64);
        assert!(found.whole < 0.8, "{found:?}");
        assert!((found.increments - 1.0).abs() < 1e-9, "{found:?}");
        let quadratic: Vec<(f64, f64)> = [64.0, 128.0, 256.0].map(|x| (x, 9.0 + x * x)).into();
        assert!((exponents(&quadratic, 64).increments - 2.0).abs() < 1e-9);
    }
}
