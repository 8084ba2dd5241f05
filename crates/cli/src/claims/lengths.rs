//! Claim 1's tasks and runs: sharing parameters over time lets a network generalise to lengths
//! never seen in training, and it needs fewer samples than a network without sharing. The
//! protocol of Delétang et al. 2023 ("Neural Networks and the Chomsky Hierarchy"): train on
//! lengths 1 to 40, each batch one length drawn uniformly; test on longer ones.

use std::path::Path;

use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use unroll::backend::{Inference, Training};
use unroll::model::{
    HiddenRecurrent, HiddenRecurrentConfig, HiddenStackConfig, InputEncoding, RecurrenceBackend,
    RecurrentCell, SequenceInput, SequenceSummarizer, SequenceSummarizerConfig, UntiedSummarizer,
    UntiedSummarizerConfig, step_cross_entropy,
};
use unroll::training::trainer::{IterationLoss, TaskReport};
use unroll::training::{Silent, Task, train_task};

use super::memory::StepScores;
use super::task::{TrainingLoss, TrainingResult};
use crate::Error;

type Device = burn::tensor::Device<Inference>;
type ModelResult<T> = unroll::model::Result<T>;

/// The tasks, after Delétang et al.: four regular ones and one that is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Problem {
    /// Whether the count of ones is odd (binary strings).
    Parity,
    /// Whether the pairs `ab` and `ba` come an even number of times: whether the first symbol
    /// is the last (binary strings).
    EvenPairs,
    /// The place on a cycle of 5 after moves of +1, −1 or 0 from place 0.
    CycleNavigation,
    /// An expression of numbers 0–4 and `+`, `−`, `·` (odd length, `·` first) modulo 5.
    ModularArithmetic,
    /// A binary string written backwards after it has been read (not regular: deterministic
    /// context-free).
    ReverseString,
}

/// A symbol read after a reversed string's input: "now write".
const BLANK: i64 = 2;
/// Modular arithmetic's modulus, and its operators' ids after the numbers.
const MODULUS: i64 = 5;
const PLUS: i64 = MODULUS;
const MINUS: i64 = MODULUS + 1;
const TIMES: i64 = MODULUS + 2;

impl Problem {
    /// Every task, in the report's order.
    pub const ALL: [Problem; 5] = [
        Problem::Parity,
        Problem::EvenPairs,
        Problem::CycleNavigation,
        Problem::ModularArithmetic,
        Problem::ReverseString,
    ];

    /// The task's name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Problem::Parity => "parity",
            Problem::EvenPairs => "even pairs",
            Problem::CycleNavigation => "cycle navigation",
            Problem::ModularArithmetic => "modular arithmetic",
            Problem::ReverseString => "reverse string",
        }
    }

    /// Whether a finite automaton solves it: the class on which Delétang et al. report that
    /// RNNs and LSTMs generalise.
    pub fn regular(self) -> bool {
        self != Problem::ReverseString
    }

    /// The input symbols.
    fn symbols(self) -> usize {
        match self {
            Problem::Parity | Problem::EvenPairs => 2,
            Problem::CycleNavigation | Problem::ReverseString => 3,
            Problem::ModularArithmetic => 8,
        }
    }

    /// The output classes (for the reversed string: 0, 1 and "nothing yet").
    fn classes(self) -> usize {
        match self {
            Problem::Parity | Problem::EvenPairs => 2,
            Problem::CycleNavigation | Problem::ModularArithmetic => 5,
            Problem::ReverseString => 3,
        }
    }

    /// The length of a training batch asked for `length`: modular arithmetic's expressions
    /// have odd lengths (one less, as Delétang et al. do).
    fn actual(self, length: usize) -> usize {
        match self {
            Problem::ModularArithmetic if length.is_multiple_of(2) => length - 1,
            _ => length,
        }
    }

    /// One example of `length` symbols: the ids read and the targets of the steps scored (one
    /// for a label; for the reversed string, one a step, the input's steps targeted "nothing").
    fn example(self, length: usize, random: &mut ChaCha8Rng) -> (Vec<i64>, Vec<i64>) {
        let length = self.actual(length);
        let mut draw = |n: i64| random.random_range(0..n);
        match self {
            Problem::Parity => {
                let bits: Vec<i64> = (0..length).map(|_| draw(2)).collect();
                let label = bits.iter().sum::<i64>() % 2;
                (bits, vec![label])
            }
            Problem::EvenPairs => {
                let bits: Vec<i64> = (0..length).map(|_| draw(2)).collect();
                let label = i64::from(bits.first() == bits.last());
                (bits, vec![label])
            }
            Problem::CycleNavigation => {
                let moves: Vec<i64> = (0..length).map(|_| draw(3)).collect();
                let place = moves.iter().map(|m| m - 1).sum::<i64>().rem_euclid(5);
                (moves, vec![place])
            }
            Problem::ModularArithmetic => {
                let symbols: Vec<i64> = (0..length)
                    .map(|k| {
                        if k % 2 == 0 {
                            draw(MODULUS)
                        } else {
                            PLUS + draw(3)
                        }
                    })
                    .collect();
                let value = evaluate(&symbols);
                (symbols, vec![value])
            }
            Problem::ReverseString => {
                let bits: Vec<i64> = (0..length).map(|_| draw(2)).collect();
                let mut read = bits.clone();
                read.extend(std::iter::repeat_n(BLANK, length));
                let mut targets = vec![BLANK; length];
                targets.extend(bits.iter().rev());
                (read, targets)
            }
        }
    }

    /// The first scored step whose accuracy counts: the reversed string's output alone.
    fn counted_from(self, scored: usize) -> usize {
        match self {
            Problem::ReverseString => scored / 2,
            _ => 0,
        }
    }
}

/// The value modulo 5 of an expression `n op n op … n` with `·` before `+` and `−`.
fn evaluate(symbols: &[i64]) -> i64 {
    let (mut total, mut term, mut sign) = (0, symbols[0], 1);
    for pair in symbols[1..].chunks(2) {
        let (operator, number) = (pair[0], pair[1]);
        if operator == TIMES {
            term = term * number % MODULUS;
        } else {
            total += sign * term;
            term = number;
            sign = if operator == MINUS { -1 } else { 1 };
        }
    }
    (total + sign * term).rem_euclid(MODULUS)
}

/// A batch of one length: ids `[rows, steps]` and targets `[rows, scored]`.
#[derive(Debug, Clone)]
pub struct Examples {
    inputs: Vec<i64>,
    targets: Vec<i64>,
    rows: usize,
    steps: usize,
    scored: usize,
    problem: Problem,
}

impl Examples {
    /// `rows` examples of `problem` of `length`, drawn from `seed`.
    pub fn draw(problem: Problem, rows: usize, length: usize, seed: u64) -> Self {
        let mut random = ChaCha8Rng::seed_from_u64(seed);
        let (mut inputs, mut targets) = (Vec::new(), Vec::new());
        let (mut steps, mut scored) = (0, 0);
        for _ in 0..rows {
            let (read, target) = problem.example(length, &mut random);
            (steps, scored) = (read.len(), target.len());
            inputs.extend(read);
            targets.extend(target);
        }
        Examples {
            inputs,
            targets,
            rows,
            steps,
            scored,
            problem,
        }
    }

    fn tensors<B: Backend>(&self, device: &B::Device) -> (Tensor<B, 2, Int>, Tensor<B, 2, Int>) {
        let data = |values: &Vec<i64>, width| TensorData::new(values.clone(), [self.rows, width]);
        (
            Tensor::from_data(data(&self.inputs, self.steps), device),
            Tensor::from_data(data(&self.targets, self.scored), device),
        )
    }
}

/// A network that reads a batch of one length and gives logits for the scored steps.
pub trait Reader<B: RecurrenceBackend> {
    /// `inputs`: `[batch, steps]` ids; returns `[batch, scored, classes]`.
    fn read(&self, inputs: Tensor<B, 2, Int>) -> ModelResult<Tensor<B, 3>>;
}

impl<B: RecurrenceBackend> Reader<B> for SequenceSummarizer<B> {
    fn read(&self, inputs: Tensor<B, 2, Int>) -> ModelResult<Tensor<B, 3>> {
        let logits = self.forward(SequenceInput::Tokens(inputs), None)?;
        let [batch, classes] = logits.dims();
        Ok(logits.reshape([batch, 1, classes]))
    }
}

impl<B: RecurrenceBackend> Reader<B> for HiddenRecurrent<B> {
    fn read(&self, inputs: Tensor<B, 2, Int>) -> ModelResult<Tensor<B, 3>> {
        Ok(self.forward(SequenceInput::Tokens(inputs), None)?.logits)
    }
}

impl<B: RecurrenceBackend> Reader<B> for UntiedSummarizer<B> {
    fn read(&self, inputs: Tensor<B, 2, Int>) -> ModelResult<Tensor<B, 3>> {
        let logits = self.forward(inputs)?;
        let [batch, classes] = logits.dims();
        Ok(logits.reshape([batch, 1, classes]))
    }
}

/// Scores `model` on `examples`: nats per scored step, and the share of counted steps right
/// (the last step's share beside it).
pub fn scores<B: RecurrenceBackend, M: Reader<B>>(
    model: &M,
    examples: &Examples,
    device: &B::Device,
) -> ModelResult<StepScores> {
    let (inputs, targets) = examples.tensors::<B>(device);
    let logits = model.read(inputs)?;
    let nats: f64 = step_cross_entropy(logits.clone(), targets)?
        .mean()
        .into_scalar()
        .elem();
    let best: Vec<i64> = logits.argmax(2).into_data().iter::<i64>().collect();
    let from = examples.problem.counted_from(examples.scored);
    let (mut right, mut last) = (0, 0);
    for row in 0..examples.rows {
        for step in from..examples.scored {
            let k = row * examples.scored + step;
            right += usize::from(best[k] == examples.targets[k]);
        }
        let k = (row + 1) * examples.scored - 1;
        last += usize::from(best[k] == examples.targets[k]);
    }
    Ok(StepScores {
        nats_per_step: nats,
        accuracy: right as f64 / (examples.rows * (examples.scored - from)) as f64,
        last_step_accuracy: last as f64 / examples.rows as f64,
    })
}

use burn::tensor::ElementConversion as _;

/// The network a run trains: a cell of some hidden size, shared over time or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Network {
    /// One weight set shared over time, of this cell: pattern 3 for a label, pattern 1 for
    /// the reversed string.
    Shared(RecurrentCell),
    /// The same cell with separate weights at each of the trained positions (labels only).
    Untied(RecurrentCell),
}

impl Network {
    /// Its name in the report.
    pub fn name(self) -> String {
        match self {
            Network::Shared(cell) => format!("{}, shared", cell_name(cell)),
            Network::Untied(cell) => format!("{}, untied", cell_name(cell)),
        }
    }
}

/// A cell's name in the report.
pub fn cell_name(cell: RecurrentCell) -> &'static str {
    match cell {
        RecurrentCell::Tanh => "tanh",
        RecurrentCell::Lstm => "LSTM",
        RecurrentCell::Gru => "GRU",
    }
}

/// The sizes every run shares.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Hidden units.
    pub hidden: usize,
    /// The longest training length (and the untied network's positions).
    pub longest: usize,
    /// Rows of a batch.
    pub batch: usize,
    /// Training iterations.
    pub iterations: u64,
    /// Held-out sequences of the longest training length, scored during training.
    pub validation: usize,
    /// Validations a run.
    pub evaluations: u64,
}

/// Claim 1's training task: batches of one length drawn in `1..=longest`.
struct LengthTask<M> {
    of: Blueprint,
    seed: u64,
    validation: Examples,
    network: std::marker::PhantomData<M>,
}

impl<M> Task<Training> for LengthTask<M>
where
    M: AutodiffModule<Training> + Reader<Training> + Build,
    M::InnerModule: Reader<Inference>,
{
    type Model = M;
    type Validation = StepScores;

    fn init_model(&mut self, device: &Device) -> unroll::training::Result<M> {
        Ok(M::build(self.of, device)?)
    }

    super::task::fresh_runs!(M, StepScores);

    fn loss(&mut self, model: &M, iteration: u64, device: &Device) -> TrainingLoss {
        let seed = super::task::batch_seed(self.seed, iteration);
        let (problem, sizes) = (self.of.problem, self.of.sizes);
        let length = ChaCha8Rng::seed_from_u64(seed).random_range(1..=sizes.longest);
        let examples = Examples::draw(problem, sizes.batch, length, seed ^ 0xDA7A);
        let (inputs, targets) = examples.tensors::<Training>(device);
        let losses = step_cross_entropy(model.read(inputs)?, targets)?;
        Ok(IterationLoss::mean_of(losses))
    }

    fn validate(&self, model: &M::InnerModule, device: &Device) -> TrainingResult<StepScores> {
        Ok(scores(model, &self.validation, device)?)
    }
}

/// What a network is built of: its cell, the problem's symbols and classes, its sizes.
#[derive(Debug, Clone, Copy)]
struct Blueprint {
    cell: RecurrentCell,
    problem: Problem,
    sizes: Sizes,
}

/// A network a run can build: the cell comes from the run's [`Network`].
trait Build: Sized {
    fn build(of: Blueprint, device: &Device) -> ModelResult<Self>;
}

/// The stack of one layer of the blueprint's cell over its problem's symbols.
fn stack(of: Blueprint) -> HiddenStackConfig {
    let input = InputEncoding::Tokens {
        vocab_size: of.problem.symbols(),
    };
    HiddenStackConfig::new(input, of.sizes.hidden).with_cell(of.cell)
}

impl Build for SequenceSummarizer<Training> {
    fn build(of: Blueprint, device: &Device) -> ModelResult<Self> {
        SequenceSummarizerConfig::new(stack(of), of.problem.classes()).try_init(device)
    }
}

impl Build for HiddenRecurrent<Training> {
    fn build(of: Blueprint, device: &Device) -> ModelResult<Self> {
        HiddenRecurrentConfig::new(stack(of), of.problem.classes()).try_init(device)
    }
}

impl Build for UntiedSummarizer<Training> {
    fn build(of: Blueprint, device: &Device) -> ModelResult<Self> {
        let (symbols, classes) = (of.problem.symbols(), of.problem.classes());
        UntiedSummarizerConfig::new(symbols, of.sizes.hidden, of.sizes.longest, classes)
            .with_cell(of.cell)
            .try_init(device)
    }
}

/// What one run gave.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The held-out score at the longest training length, at the end.
    pub trained: StepScores,
    /// Training sequences until the held-out accuracy at the longest training length first
    /// reached [`CRITERION`] (`None`: never).
    pub sequences_to_criterion: Option<u64>,
    /// `(length, accuracy)` at each test length (none for the untied network: it has no
    /// weights beyond the longest training length).
    pub tested: Vec<(usize, f64)>,
    /// Seconds of training.
    pub seconds: f64,
}

impl Outcome {
    /// The mean accuracy over the test lengths (NaN where none was tested).
    pub fn test_accuracy(&self) -> f64 {
        let n = self.tested.len() as f64;
        self.tested.iter().map(|(_, a)| a).sum::<f64>() / n
    }
}

/// The accuracy the samples to criterion are counted to.
pub const CRITERION: f64 = 0.9;

/// Trains `network` on `problem` from `seed` in `dir` and tests it at `lengths` (`tested`
/// rows each).
pub fn run(
    (problem, network): (Problem, Network),
    sizes: Sizes,
    (lengths, tested): (&[usize], usize),
    seed: u64,
    dir: &Path,
    device: &Device,
) -> Result<Outcome, Error> {
    fn trained<M>(
        of: Blueprint,
        (lengths, tested): (&[usize], usize),
        seed: u64,
        dir: &Path,
        device: &Device,
    ) -> Result<Outcome, Error>
    where
        M: AutodiffModule<Training> + Reader<Training> + Build,
        M::InnerModule: Reader<Inference>,
    {
        let (problem, sizes) = (of.problem, of.sizes);
        let (settings, place) = super::task::fresh_run(
            (sizes.iterations, sizes.evaluations),
            (3e-3, 1.0),
            seed,
            dir,
        );
        let validation = Examples::draw(problem, sizes.validation, sizes.longest, seed ^ 0x7E57);
        let mut task: LengthTask<M> = LengthTask {
            of,
            seed,
            validation,
            network: std::marker::PhantomData,
        };
        let report: TaskReport<Training, LengthTask<M>> =
            train_task::<Training, _>(&mut task, &settings, &place, device, &mut Silent)?;
        let sequences_to_criterion = (report.metrics.iter())
            .find(|m| {
                m.validation
                    .as_ref()
                    .is_some_and(|v| v.accuracy >= CRITERION)
            })
            .map(|m| m.iteration * sizes.batch as u64);
        let mut scored = Vec::new();
        for &length in lengths {
            let examples = Examples::draw(problem, tested, length, seed ^ (length as u64) << 20);
            scored.push((length, scores(&report.model, &examples, device)?.accuracy));
        }
        Ok(Outcome {
            trained: report.validation.clone(),
            sequences_to_criterion,
            tested: scored,
            seconds: report.training_seconds(),
        })
    }
    let test = (lengths, tested);
    let of = |cell| Blueprint {
        cell,
        problem,
        sizes,
    };
    match (network, problem) {
        (Network::Shared(cell), Problem::ReverseString) => {
            trained::<HiddenRecurrent<Training>>(of(cell), test, seed, dir, device)
        }
        (Network::Shared(cell), _) => {
            trained::<SequenceSummarizer<Training>>(of(cell), test, seed, dir, device)
        }
        (Network::Untied(_), Problem::ReverseString) => {
            Err("the untied control reads labels, not the reversed string".into())
        }
        (Network::Untied(cell), _) => {
            let untested = (&[][..], 0);
            trained::<UntiedSummarizer<Training>>(of(cell), untested, seed, dir, device)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_multiply_before_they_add_modulo_5() {
        // Delétang et al.'s examples: 1 + 2 · 3 = 2, 1 − 1 − 1 = 4, 0 · 1 + 4 · 3 − 2 = 0.
        assert_eq!(evaluate(&[1, PLUS, 2, TIMES, 3]), 2);
        assert_eq!(evaluate(&[1, MINUS, 1, MINUS, 1]), 4);
        assert_eq!(evaluate(&[0, TIMES, 1, PLUS, 4, TIMES, 3, MINUS, 2]), 0);
        assert_eq!(evaluate(&[3]), 3);
        assert_eq!(
            evaluate(&[2, MINUS, 3, TIMES, 4]),
            (2 - 12i64).rem_euclid(5)
        );
    }

    #[test]
    fn labels_follow_their_definitions() {
        let mut random = ChaCha8Rng::seed_from_u64(5);
        for length in 1..30 {
            let (bits, label) = Problem::Parity.example(length, &mut random);
            assert_eq!(label, [bits.iter().filter(|&&b| b == 1).count() as i64 % 2]);
            let (bits, label) = Problem::EvenPairs.example(length, &mut random);
            let pairs = bits.windows(2).filter(|w| w[0] != w[1]).count();
            assert_eq!(label, [i64::from(pairs % 2 == 0)], "{bits:?}");
            let (moves, label) = Problem::CycleNavigation.example(length, &mut random);
            // Walked step by step: Delétang et al.'s ids, 0 a step left, 1 stay, 2 right.
            let mut place = 0i64;
            for m in &moves {
                place = (place + [4, 0, 1][*m as usize]) % 5;
            }
            assert_eq!(label, [place], "{moves:?}");
            let (symbols, _) = Problem::ModularArithmetic.example(length, &mut random);
            assert_eq!(symbols.len() % 2, 1, "odd lengths");
            let (read, targets) = Problem::ReverseString.example(length, &mut random);
            assert_eq!(read.len(), 2 * length);
            let written: Vec<i64> = targets[length..].to_vec();
            let mut reversed = read[..length].to_vec();
            reversed.reverse();
            assert_eq!(written, reversed);
            assert!(read[length..].iter().all(|&s| s == BLANK));
        }
    }
}
