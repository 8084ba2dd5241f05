//! The whole training loop against PyTorch's: from the same initial weights and the same
//! batches, every iteration's loss and gradient norm and the weights after the last iteration
//! agree with those of PyTorch's `nn.RNN`/`nn.LSTM`/`nn.GRU` + `nn.Linear` trained by
//! `torch.nn.utils.clip_grad_norm_` and `torch.optim.Adam`
//! (`tests/fixtures/trajectory.json`, written by `scripts/pytorch_trajectory_fixture.py`).
//!
//! The gradient fixtures prove one step's gradients; this proves what a run does with them over
//! many steps (the loss averaged per symbol, the global-norm clipping, Adam's moments and bias
//! corrections, the parameters each step updates), so that a difference between unroll's and
//! PyTorch's learning curves can only come from what each side draws at random (initial weights,
//! batches, dropout masks), never from the arithmetic of training. Language models of each cell
//! and an LSTM encoder–decoder (PyTorch's encoder over packed sources).
//!
//! The fixture starts from the trainer's own initial weights: with `UNROLL_TRAJECTORY_DUMP` set
//! to a directory, each case writes them (`<case>.safetensors`, taken after one iteration at a
//! learning rate of 10⁻³⁰, which moves no weight) and its batches (`<case>.json`) there for the
//! script to replay. A case whose first loss no longer matches (another initialisation or other
//! batches) fails with a note to regenerate it.

mod common;

use std::collections::HashMap;
use std::path::Path;

use safetensors::SafeTensors;
use serde::Deserialize;
use unroll_test_support::assert_close;
use unroll_training::export::encoder_decoder_safetensors_bytes;
use unroll_training::export::safetensors_bytes;
use unroll_training::language::batches::WindowSource;
use unroll_training::metrics::IterationMetrics;
use unroll_training::model::RecurrentCell;
use unroll_training::seq2seq::task::training_batches;
use unroll_training::seq2seq::{
    BuiltinPairs, BuiltinTask, EncodedPairs, PairEncoding, Seq2SeqConfig, Seq2SeqTask, split_pairs,
};
use unroll_training::trainer::RunPlace;
use unroll_training::{
    Corpus, LanguageConfig, LanguageRun, Silent, SymbolMode, TrainingBackend, train_language,
    train_task,
};

const ITERATIONS: u64 = 40;

/// One run of the fixture: a cell, a backend, PyTorch's losses, gradient norms (before
/// clipping) and weights.
#[derive(Deserialize)]
struct Case {
    name: String,
    losses: Vec<f64>,
    gradient_norms: Vec<f64>,
    trained: HashMap<String, Vec<f32>>,
}

fn fixture(name: &str) -> Case {
    let text = include_str!("fixtures/trajectory.json");
    let cases: Vec<Case> = serde_json::from_str(text).expect("the fixture parses");
    cases
        .into_iter()
        .find(|case| case.name == name)
        .unwrap_or_else(|| panic!("the fixture has no case {name}"))
}

/// A few thousand characters of words drawn by a fixed linear congruential generator.
fn corpus() -> Corpus {
    let words = [
        "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "and", "then", "sleeps",
        "under", "a", "tree,", "while", "birds", "sing.",
    ];
    let mut state: u64 = 12_345;
    let mut text = String::new();
    while text.len() < 6_000 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        text.push_str(words[(state >> 33) as usize % words.len()]);
        text.push(if (state >> 20).is_multiple_of(9) {
            '\n'
        } else {
            ' '
        });
    }
    Corpus::from_bytes(text.as_bytes(), SymbolMode::Text).unwrap()
}

fn config(cell: RecurrentCell) -> LanguageConfig {
    let mut config = LanguageConfig {
        window: 16,
        batch: 4,
        iterations: ITERATIONS,
        eval_every: ITERATIONS,
        learning_rate: 1e-2,
        // Low enough that some iterations are clipped and others not.
        clip: Some(0.25),
        seed: 3,
        ..LanguageConfig::default()
    };
    config.model.cell = cell;
    config.model.layers = 2;
    config.model.hidden = 8;
    config
}

/// Every tensor of a safetensors export, as f32 values by name.
fn tensors(bytes: &[u8]) -> HashMap<String, Vec<f32>> {
    let file = SafeTensors::deserialize(bytes).unwrap();
    file.tensors()
        .into_iter()
        .map(|(name, view)| {
            let values = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (name, values)
        })
        .collect()
}

fn assert_weights_close(
    case: &str,
    what: &str,
    actual: &HashMap<String, Vec<f32>>,
    expected: &HashMap<String, Vec<f32>>,
    tolerance: f64,
) {
    let mut names: Vec<&String> = expected.keys().collect();
    names.sort();
    assert_eq!(actual.len(), expected.len(), "{case}: tensors of {what}");
    for name in names {
        let label = format!("{case}: {what} {name} against PyTorch's");
        assert_close(&label, &actual[name], &expected[name], tolerance);
    }
}

/// Writes `initial` and `run` (what PyTorch must replay) under `UNROLL_TRAJECTORY_DUMP`, if set.
fn dump(name: &str, initial: &[u8], run: impl FnOnce() -> serde_json::Value) {
    if let Ok(dump) = std::env::var("UNROLL_TRAJECTORY_DUMP") {
        let dump = Path::new(&dump);
        std::fs::create_dir_all(dump).unwrap();
        std::fs::write(dump.join(format!("{name}.safetensors")), initial).unwrap();
        std::fs::write(dump.join(format!("{name}.json")), run().to_string()).unwrap();
    }
}

/// Holds a run's metrics and trained weights (an export under PyTorch's names) to the case's.
fn assert_follows<V>(name: &str, metrics: &[IterationMetrics<V>], trained: &[u8], clip: f64) {
    let case = fixture(name);
    assert_eq!(metrics.len(), ITERATIONS as usize);
    let clipped = (case.gradient_norms.iter())
        .filter(|&&norm| norm > clip)
        .count();
    assert!(
        clipped > 0 && clipped < ITERATIONS as usize,
        "{name}: the fixture clips {clipped} of {ITERATIONS} iterations; it should clip some"
    );
    let first = metrics[0].loss;
    assert!(
        (first - case.losses[0]).abs() < 2e-5 * first.abs(),
        "{name}: the first iteration's loss is {first}, PyTorch's from the trainer's initial \
         weights {}: if the initialisation or the batches changed on purpose, regenerate \
         tests/fixtures/trajectory.json with scripts/pytorch_trajectory_fixture.py",
        case.losses[0]
    );
    for (record, (loss, norm)) in metrics
        .iter()
        .zip(case.losses.iter().zip(&case.gradient_norms))
    {
        let i = record.iteration;
        assert!(
            (record.loss - loss).abs() < 2e-5 * loss.abs().max(1.0),
            "{name}: iteration {i}'s loss is {}, PyTorch's {loss}",
            record.loss
        );
        assert!(
            (record.gradient_norm - norm).abs() < 1e-3 * norm,
            "{name}: iteration {i}'s gradient norm is {}, PyTorch's {norm}",
            record.gradient_norm
        );
    }
    assert_weights_close(name, "trained", &tensors(trained), &case.trained, 1e-4);
}

fn language<B: TrainingBackend>(name: &str, cell: RecurrentCell, dir: &Path) {
    let corpus = corpus();
    let config = config(cell);
    let device = burn::tensor::Device::<B>::default();

    // The trainer's initial weights: one iteration at a learning rate too small to move them.
    let mut probe = config.clone();
    probe.iterations = 1;
    probe.eval_every = 1;
    probe.learning_rate = 1e-30;
    let probed = train_language(
        LanguageRun::<B>::new(probe, &corpus, dir.join("probe"), device.clone(), "cpu"),
        &mut Silent,
    )
    .unwrap();
    let initial = safetensors_bytes(&probed.model, &corpus.vocabulary, &config).unwrap();
    dump(name, &initial, || {
        let (train, _) = corpus.split(config.validation_fraction, 2).unwrap();
        let windows = WindowSource::new(
            train,
            config.window,
            config.batch,
            config.batching,
            config.seed,
        )
        .unwrap();
        let batches: Vec<_> = (0..ITERATIONS)
            .map(|i| {
                let batch = windows.batch(i);
                (batch.inputs, batch.targets)
            })
            .collect();
        serde_json::json!({
            "task": "language", "batch": config.batch, "window": config.window,
            "clip": config.clip, "learning_rate": config.learning_rate, "cell": cell.name(),
            "batches": batches,
        })
    });

    let report = train_language(
        LanguageRun::<B>::new(config.clone(), &corpus, dir.join("run"), device, "cpu"),
        &mut Silent,
    )
    .unwrap();
    let trained = safetensors_bytes(&report.model, &corpus.vocabulary, &config).unwrap();
    assert_follows(name, &report.metrics, &trained, config.clip.unwrap());
}

fn seq2seq_config() -> Seq2SeqConfig {
    let mut config = Seq2SeqConfig {
        iterations: ITERATIONS,
        batch: 8,
        eval_every: ITERATIONS,
        log_every: 1,
        learning_rate: 1e-2,
        clip: Some(0.5),
        seed: 5,
        builtin: Some(BuiltinPairs {
            task: BuiltinTask::Reverse,
            count: 200,
            max_length: 7,
        }),
        open_loop_pairs: 8,
        max_target_length: 8,
        ..Seq2SeqConfig::default()
    }
    .with_hidden(8);
    config.model.cell = RecurrentCell::Lstm;
    config.model.layers = 2;
    config
}

/// The built-in pairs' encoding and their training and validation parts, encoded.
fn seq2seq_data(config: &Seq2SeqConfig) -> (PairEncoding, EncodedPairs, EncodedPairs) {
    let pairs = config.builtin.unwrap().pairs(config.seed).unwrap();
    let (train, validation) = split_pairs(pairs, config.validation_fraction, config.seed).unwrap();
    let encoding = PairEncoding::fit(&train, config.min_symbol_count);
    let train = encoding.encode(&train).unwrap();
    let validation = encoding.encode(&validation).unwrap();
    (encoding, train, validation)
}

fn seq2seq<B: TrainingBackend>(name: &str, dir: &Path) {
    let config = seq2seq_config();
    let train = |config: &Seq2SeqConfig, out: &Path| {
        let place = RunPlace::new(out, "cpu");
        let (encoding, train, validation) = seq2seq_data(config);
        let mut task = Seq2SeqTask::new(config.clone(), encoding, train, validation).unwrap();
        let report = train_task::<B, _>(
            &mut task,
            &config.loop_settings(),
            &place,
            &Default::default(),
            &mut Silent,
        )
        .unwrap();
        let bytes = encoder_decoder_safetensors_bytes(&report.model, HashMap::new());
        (report, bytes)
    };
    let mut probe = config.clone();
    probe.iterations = 1;
    probe.eval_every = 1;
    probe.learning_rate = 1e-30;
    let (_, initial) = train(&probe, &dir.join("probe"));
    dump(name, &initial, || {
        // The task's own batches: pairs of similar source length, drawn as it draws them.
        let (encoding, train, _) = seq2seq_data(&config);
        let mut batches = training_batches(&train, &config);
        let batches: Vec<_> = (0..ITERATIONS)
            .map(|i| {
                let indices = batches.batch(i);
                let sources: Vec<_> = indices.iter().map(|&k| &train.sources[k]).collect();
                let targets: Vec<_> = indices.iter().map(|&k| &train.targets[k]).collect();
                (sources, targets)
            })
            .collect();
        serde_json::json!({
            "task": "seq2seq", "start": encoding.start(), "clip": config.clip,
            "learning_rate": config.learning_rate, "cell": config.model.cell.name(),
            "batches": batches,
        })
    });
    let (report, trained) = train(&config, &dir.join("run"));
    assert_follows(name, &report.metrics, &trained, config.clip.unwrap());
}

/// A test of a two-layer language model of `$cell` on `$backend`, named `$case` in the fixture.
macro_rules! language_case {
    ($test:ident: $cell:ident on $backend:ident, $case:literal) => {
        #[test]
        fn $test() {
            let _turn = common::turn();
            let scratch = common::Scratch::new($case);
            language::<burn::backend::Autodiff<burn::backend::$backend>>(
                $case,
                RecurrentCell::$cell,
                scratch.path(),
            );
        }
    };
}

language_case!(a_two_layer_lstm_trains_as_pytorch_does_on_flex: Lstm on Flex, "lstm_flex");
language_case!(a_two_layer_lstm_trains_as_pytorch_does_on_ndarray: Lstm on NdArray, "lstm_ndarray");
language_case!(a_two_layer_gru_trains_as_pytorch_does: Gru on Flex, "gru_flex");
language_case!(a_two_layer_tanh_network_trains_as_pytorch_does: Tanh on Flex, "tanh_flex");

#[test]
fn a_two_layer_lstm_encoder_decoder_trains_as_pytorch_does() {
    let _turn = common::turn();
    let scratch = common::Scratch::new("seq2seq_lstm_flex");
    seq2seq::<burn::backend::Autodiff<burn::backend::Flex>>("seq2seq_lstm_flex", scratch.path());
}
