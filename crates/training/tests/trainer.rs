//! The training loop: exact resumption, determinism, divergence, checkpoints and bad input.
//!
//! Every test takes its turn ([`common::turn`]): the CPU backends' random generators are
//! process-wide, and a model built in a parallel test would draw from a run's stream.

mod common;

use common::Scratch;

use std::path::Path;

use burn::backend::{Autodiff, Flex, NdArray};
use burn::module::{Module, ModuleMapper};
use burn::tensor::{Int, Tensor, TensorData};
use unroll_model::RecurrentCell;
use unroll_training::checkpoint::{Snapshot, Which};
use unroll_training::durable::sha256_hex;
use unroll_training::metrics::read_run_metrics;
use unroll_training::{
    Batching, Corpus, CurriculumSchedule, FeedbackChoice, FeedingPlan, LanguageCheckpoint,
    LanguageConfig, LanguageReport, LanguageRun, LanguageScores, OptimizerKind, Pattern,
    RecurrencePath, SamplingSchedule, Silent, Strategy, SymbolMode, TrainingError, score_language,
    train_language,
};

type B = Autodiff<NdArray>;

/// A text with structure to learn: words from a small list, chosen by a fixed generator.
fn text(length: usize, seed: u64) -> String {
    let words = [
        "the ", "cat ", "sat ", "on ", "a ", "mat. ", "dog ", "ran\n",
    ];
    let mut state = seed;
    let mut out = String::new();
    while out.len() < length {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        out.push_str(words[(state >> 60) as usize % words.len()]);
    }
    out.truncate(length);
    out
}

fn corpus() -> Corpus {
    Corpus::from_bytes(text(3000, 1).as_bytes(), SymbolMode::Text).unwrap()
}

fn small(iterations: u64) -> LanguageConfig {
    let settings = r#"{"window": 8, "batch": 4, "eval_every": 3, "log_every": 1, "seed": 5, "model": {"hidden": 16}}"#;
    LanguageConfig {
        iterations,
        ..serde_json::from_str(settings).unwrap()
    }
}

/// A test's turn ([`common::turn`]), the corpus and a scratch directory named `name`.
fn setup(name: &str) -> (std::sync::MutexGuard<'static, ()>, Corpus, Scratch) {
    (common::turn(), corpus(), Scratch::new(name))
}

fn run(
    config: LanguageConfig,
    corpus: &Corpus,
    out: &Path,
    resume: Option<LanguageCheckpoint>,
) -> Result<LanguageReport<B>, TrainingError> {
    run_with(config, corpus, out, resume, |_| {})
}

/// [`run`], with the run's other settings changed by `adjust`.
fn run_with(
    config: LanguageConfig,
    corpus: &Corpus,
    out: &Path,
    resume: Option<LanguageCheckpoint>,
    adjust: impl FnOnce(&mut LanguageRun<'_, B>),
) -> Result<LanguageReport<B>, TrainingError> {
    let mut run =
        LanguageRun::new(config, corpus, out, Default::default(), "ndarray").resuming(resume);
    adjust(&mut run);
    train_language::<B>(run, &mut Silent)
}

fn losses(report: &LanguageReport<B>) -> Vec<(u64, f64)> {
    report
        .metrics
        .iter()
        .map(|m| (m.iteration, m.loss))
        .collect()
}

fn assert_resume_is_exact(config: LanguageConfig, name: &str) {
    let corpus = corpus();
    let whole = Scratch::new(&format!("{name}-whole"));
    let parts = Scratch::new(&format!("{name}-parts"));
    let uninterrupted = run(config.clone(), &corpus, &whole.0, None).unwrap();
    let first = run(
        LanguageConfig {
            iterations: 3,
            ..config.clone()
        },
        &corpus,
        &parts.0,
        None,
    )
    .unwrap();
    assert_eq!(first.iterations, 3);
    let checkpoint = LanguageCheckpoint::open(&parts.0, Which::Last).unwrap();
    let resumed = run(config, &corpus, &parts.0, Some(checkpoint)).unwrap();
    assert_eq!(resumed.iterations, 6);
    assert_eq!(
        losses(&resumed),
        losses(&uninterrupted),
        "{name}: the same loss curve"
    );
    assert_eq!(resumed.validation, uninterrupted.validation, "{name}");
}

#[test]
fn resumed_run_matches_uninterrupted_run() {
    let _turn = common::turn();
    assert_resume_is_exact(small(6), "random-windows");
}

#[test]
fn resume_is_exact_with_carried_state_and_scheduled_sampling() {
    let _turn = common::turn();
    // Every cell, two layers with dropout; the LSTM's carried state is (h, c): both must come
    // back from the checkpoint.
    for cell in [RecurrentCell::Tanh, RecurrentCell::Lstm, RecurrentCell::Gru] {
        let mut config = LanguageConfig {
            batching: Batching::ContiguousStreams,
            carry_state: true,
            strategy: Strategy::ScheduledSampling {
                schedule: SamplingSchedule::Linear {
                    k: 1.0,
                    c: 0.1,
                    minimum: 0.3,
                },
                own: FeedbackChoice::Sample,
            },
            ..small(6)
        };
        config.model.cell = cell;
        config.model.layers = 2;
        config.model.dropout = 0.2;
        assert_resume_is_exact(config, &format!("streams-{}", cell.name()));
    }
}

#[test]
fn resume_is_exact_for_pattern_2_with_the_curriculum() {
    let _turn = common::turn();
    let mut config = LanguageConfig {
        strategy: Strategy::Curriculum {
            schedule: CurriculumSchedule {
                maximum: 8,
                start: 1,
                ramp: 4,
            },
            own: FeedbackChoice::Sample,
        },
        optimizer: OptimizerKind::Rmsprop,
        ..small(6)
    };
    config.model.pattern = Pattern::Output;
    assert_resume_is_exact(config, "pattern-2");
}

#[test]
fn a_seed_fixes_the_run() {
    let _turn = common::turn();
    let corpus = corpus();
    let (a, b, c) = (
        Scratch::new("seed-a"),
        Scratch::new("seed-b"),
        Scratch::new("seed-c"),
    );
    let first = run(small(4), &corpus, &a.0, None).unwrap();
    let again = run(small(4), &corpus, &b.0, None).unwrap();
    let other = run(
        LanguageConfig {
            seed: 6,
            ..small(4)
        },
        &corpus,
        &c.0,
        None,
    )
    .unwrap();
    assert_eq!(losses(&first), losses(&again));
    assert_ne!(losses(&first), losses(&other));
}

#[test]
fn training_lowers_the_validation_loss_and_writes_its_outputs() {
    let (_turn, corpus, out) = setup("learns");
    let mut config = LanguageConfig {
        iterations: 150,
        eval_every: 50,
        log_every: 10,
        batch: 16,
        window: 32,
        ..small(150)
    };
    config.model.hidden = 32;
    let report = run(config, &corpus, &out.0, None).unwrap();
    let validations: Vec<f64> = report
        .metrics
        .iter()
        .filter_map(|m| m.validation.map(|v| v.nats_per_symbol))
        .collect();
    assert_eq!(validations.len(), 3);
    let uniform = (corpus.vocabulary.len() as f64).ln();
    assert!(
        validations[2] < 0.6 * uniform,
        "{validations:?} vs uniform {uniform}"
    );
    for file in [
        "metrics.jsonl",
        "loss.png",
        "last/model.bpk",
        "best/model.bpk",
        "last/optimizer.bin",
    ] {
        assert!(out.0.join(file).is_file(), "{file}");
    }
    let lines = std::fs::read_to_string(out.0.join("metrics.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), report.metrics.len());
}

/// `config` with plain SGD at a rate that makes the loss blow up, unclipped.
fn exploding(config: LanguageConfig) -> LanguageConfig {
    LanguageConfig {
        optimizer: OptimizerKind::Sgd,
        learning_rate: 1e6,
        clip: None,
        ..config
    }
}

#[test]
fn divergence_stops_training_and_keeps_the_last_good_checkpoint() {
    let (_turn, corpus, out) = setup("diverge");
    let config = LanguageConfig {
        optimizer: OptimizerKind::Sgd,
        learning_rate: 0.1,
        ..small(3)
    };
    run(config.clone(), &corpus, &out.0, None).unwrap();
    let before = std::fs::read(out.0.join("last/model.bpk")).unwrap();
    let exploding = LanguageConfig {
        iterations: 30,
        ..exploding(config)
    };
    let checkpoint = LanguageCheckpoint::open(&out.0, Which::Last).unwrap();
    match run(exploding, &corpus, &out.0, Some(checkpoint)) {
        Err(TrainingError::Diverged { iteration, reason }) => {
            assert!(iteration >= 3, "{iteration}");
            assert!(reason.contains("loss"), "{reason}");
        }
        other => panic!("expected divergence, got {other:?}"),
    }
    assert_eq!(std::fs::read(out.0.join("last/model.bpk")).unwrap(), before);
    assert_eq!(
        LanguageCheckpoint::open(&out.0, Which::Last)
            .unwrap()
            .progress
            .iteration,
        3
    );
}

#[test]
fn bad_checkpoints_give_errors_not_panics() {
    let (_turn, corpus, out) = setup("bad-checkpoints");
    run(small(3), &corpus, &out.0, None).unwrap();
    let device = Default::default();

    assert!(matches!(
        LanguageCheckpoint::open(&out.0.join("nowhere"), Which::Last),
        Err(TrainingError::Checkpoint { .. })
    ));
    // Another vocabulary.
    let other =
        Corpus::from_bytes(text(3000, 1).to_uppercase().as_bytes(), SymbolMode::Text).unwrap();
    let checkpoint = LanguageCheckpoint::open(&out.0, Which::Last).unwrap();
    let error = run(small(6), &other, &out.0, Some(checkpoint)).unwrap_err();
    assert!(error.to_string().contains("vocabulary"), "{error}");
    // Settings a resumed run keeps, each named with both values: the network's shape, the
    // optimiser whose state it saved.
    let mut wider = small(6);
    wider.model.hidden = 24;
    let mut other_optimizer = small(6);
    other_optimizer.optimizer = OptimizerKind::Sgd;
    for (config, named) in [
        (
            wider,
            "`hidden` cannot change when resuming: the run has 16, these settings ask for 24",
        ),
        (
            other_optimizer,
            "`optimizer` cannot change when resuming: the run has adam",
        ),
    ] {
        let checkpoint = LanguageCheckpoint::open(&out.0, Which::Last).unwrap();
        let error = run(config, &corpus, &out.0, Some(checkpoint)).unwrap_err();
        assert!(error.to_string().contains(named), "{error}");
    }
    // Another shape: the settings say 24 hidden units, the weights have 16 (checksums made
    // anew, as a deliberate edit would).
    let copy = Scratch::new("bad-shape");
    copy_dir(&out.0.join("last"), &copy.0);
    edit(&copy.0, "config.json", |t| {
        t.replace("\"hidden\": 16", "\"hidden\": 24")
    });
    reseal(&copy.0);
    let error = LanguageCheckpoint::open(&copy.0, Which::Last)
        .unwrap()
        .model::<B>(&device)
        .unwrap_err();
    assert!(error.to_string().contains("weights do not load"), "{error}");
    // Said in words, on one line, not as the store's debug dump of every tensor.
    assert!(error.to_string().contains("in the file, "), "{error}");
    assert!(error.to_string().contains("for these settings"), "{error}");
    assert!(!error.to_string().contains("ShapeMismatch"), "{error}");

    // Damage that the checksums catch: truncated or flipped weights, a truncated optimiser
    // state, an edited vocabulary.
    for (file, damage) in [
        ("model.bpk", Damage::Truncate),
        ("model.bpk", Damage::Flip),
        ("optimizer.bin", Damage::Truncate),
        ("vocabulary.json", Damage::Flip),
        ("progress.json", Damage::Truncate),
    ] {
        let damaged = Scratch::new("damaged");
        copy_dir(&out.0.join("last"), &damaged.0);
        let path = damaged.0.join(file);
        let mut bytes = std::fs::read(&path).unwrap();
        match damage {
            Damage::Truncate => bytes.truncate(bytes.len() / 2),
            Damage::Flip => {
                let middle = bytes.len() / 2;
                bytes[middle] ^= 0x01;
            }
        }
        std::fs::write(&path, bytes).unwrap();
        let error = LanguageCheckpoint::open(&damaged.0, Which::Last).unwrap_err();
        assert!(
            error.to_string().contains(file) && error.to_string().contains("damaged"),
            "{file}: {error}"
        );
    }

    // Resealed damage is still caught where it can be: truncated weights do not load, a
    // vocabulary out of order is refused, corrupted settings do not parse.
    let truncated = Scratch::new("truncated");
    copy_dir(&out.0.join("last"), &truncated.0);
    let weights = std::fs::read(truncated.0.join("model.bpk")).unwrap();
    std::fs::write(truncated.0.join("model.bpk"), &weights[..weights.len() / 2]).unwrap();
    reseal(&truncated.0);
    let result = LanguageCheckpoint::open(&truncated.0, Which::Last)
        .unwrap()
        .model::<B>(&device);
    assert!(
        matches!(result, Err(TrainingError::Checkpoint { .. })),
        "{result:?}"
    );
    let swapped = Scratch::new("swapped");
    copy_dir(&out.0.join("last"), &swapped.0);
    edit(&swapped.0, "vocabulary.json", |t| {
        // The first two symbols trade places.
        let mut value: serde_json::Value = serde_json::from_str(t).unwrap();
        value["symbols"].as_array_mut().unwrap().swap(0, 1);
        value.to_string()
    });
    reseal(&swapped.0);
    let error = LanguageCheckpoint::open(&swapped.0, Which::Last).unwrap_err();
    assert!(error.to_string().contains("out of order"), "{error}");
    edit(&truncated.0, "config.json", |_| "{ not json".into());
    reseal(&truncated.0);
    let error = LanguageCheckpoint::open(&truncated.0, Which::Last).unwrap_err();
    assert!(error.to_string().contains("corrupted"), "{error}");

    // Missing files.
    for file in ["progress.json", "checksums.json"] {
        let incomplete = Scratch::new("incomplete");
        copy_dir(&out.0.join("last"), &incomplete.0);
        std::fs::remove_file(incomplete.0.join(file)).unwrap();
        let error = LanguageCheckpoint::open(&incomplete.0, Which::Last).unwrap_err();
        assert!(error.to_string().contains("incomplete"), "{file}: {error}");
    }

    // Weights that are not finite, written as a checkpoint with valid checksums.
    let checkpoint = LanguageCheckpoint::open(&out.0, Which::Last).unwrap();
    let model = checkpoint.model::<B>(&device).unwrap().map(&mut Poison);
    let nan_run = Scratch::new("nan");
    let snapshot = Snapshot {
        model: &model,
        optimizer: Vec::new(),
        progress: &checkpoint.progress,
        metrics: &checkpoint.metrics,
    };
    let (config, vocabulary) = (&checkpoint.config, &checkpoint.encoding);
    LanguageCheckpoint::save(&nan_run.0, Which::Last, config, vocabulary, &snapshot).unwrap();
    let error = LanguageCheckpoint::open(&nan_run.0, Which::Last)
        .unwrap()
        .model::<B>(&device)
        .unwrap_err();
    assert!(error.to_string().contains("NaN"), "{error}");
}

enum Damage {
    Truncate,
    Flip,
}

/// Sets one weight of every parameter to NaN.
struct Poison;

impl ModuleMapper<B> for Poison {
    fn map_float<const D: usize>(
        &mut self,
        param: burn::module::Param<Tensor<B, D>>,
    ) -> burn::module::Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        let mut values: Vec<f32> = tensor.to_data().iter::<f32>().collect();
        values[0] = f32::NAN;
        let poisoned = Tensor::from_data(TensorData::new(values, tensor.shape()), &tensor.device());
        burn::module::Param::from_mapped_value(id, poisoned, mapper)
    }
}

fn edit(dir: &Path, file: &str, change: impl FnOnce(&str) -> String) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, change(&text)).unwrap();
}

/// Writes `checksums.json` anew for the files as they are now.
fn reseal(dir: &Path) {
    let path = dir.join("checksums.json");
    let mut checksums: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for (file, sum) in checksums.iter_mut() {
        *sum = sha256_hex(&std::fs::read(dir.join(file)).unwrap());
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&checksums).unwrap()).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Teacher-forced logits of one sequence, on any backend.
fn logits<Bk: unroll_training::model::RecurrenceBackend>(
    model: &unroll_training::Network<Bk>,
    ids: &[u32],
) -> Vec<f32> {
    let values: Vec<i64> = ids.iter().map(|&i| i64::from(i)).collect();
    let input = Tensor::<Bk, 2, Int>::from_data(
        TensorData::new(values, [1, ids.len()]),
        &Default::default(),
    );
    let plan = FeedingPlan::teacher_forcing(1, ids.len()).unwrap();
    let (logits, _) = model
        .window(input, None, &plan, RecurrencePath::Fused)
        .unwrap();
    logits.into_data().iter::<f32>().collect()
}

#[test]
fn a_checkpoint_from_one_backend_loads_on_another() {
    let (_turn, corpus, out) = setup("portable");
    run(small(3), &corpus, &out.0, None).unwrap();
    let checkpoint = LanguageCheckpoint::open(&out.0, Which::Last).unwrap();
    let on_ndarray = checkpoint.model::<NdArray>(&Default::default()).unwrap();
    let on_flex = checkpoint.model::<Flex>(&Default::default()).unwrap();
    let ndarray_logits = logits(&on_ndarray, &corpus.ids[..20]);
    let flex_logits = logits(&on_flex, &corpus.ids[..20]);
    assert_eq!(ndarray_logits.len(), flex_logits.len());
    assert_eq!(ndarray_logits.len(), 20 * corpus.vocabulary.len());
    for (a, b) in ndarray_logits.iter().zip(&flex_logits) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}

#[test]
fn bad_corpora_and_settings_are_rejected_before_training() {
    let _turn = common::turn();
    let out = Scratch::new("bad-input");
    let tiny = Corpus::from_bytes(b"abcdefghij", SymbolMode::Text).unwrap();
    let error = run(small(3), &tiny, &out.0, None).unwrap_err();
    let TrainingError::CorpusTooShort { .. } = error else {
        panic!("{error}")
    };
    let corpus = corpus();
    let error = run(
        LanguageConfig {
            window: 5000,
            ..small(3)
        },
        &corpus,
        &out.0,
        None,
    )
    .unwrap_err();
    let TrainingError::CorpusTooShort { .. } = error else {
        panic!("{error}")
    };
    let error = run(
        LanguageConfig {
            batch: 0,
            ..small(3)
        },
        &corpus,
        &out.0,
        None,
    )
    .unwrap_err();
    assert!(error.to_string().contains("`batch`"), "{error}");
    assert!(!out.0.join("last").exists(), "nothing written");
}

#[test]
fn validation_is_one_stateful_pass() {
    let _turn = common::turn();
    // Longer than one evaluation chunk, so the state must carry across chunks.
    let corpus = Corpus::from_bytes(text(2600, 3).as_bytes(), SymbolMode::Text).unwrap();
    let device = Default::default();
    let settings = unroll_training::ModelSettings {
        hidden: 8,
        layers: 2,
        ..Default::default()
    };
    let model = settings
        .init::<NdArray>(corpus.vocabulary.len(), &device)
        .unwrap();
    let evaluation: LanguageScores = score_language(&model, &corpus.ids, 8, &device).unwrap();
    let n = corpus.ids.len();
    assert_eq!(evaluation.symbols, n - 1);
    let to_tensor = |ids: &[u32]| {
        let values: Vec<i64> = ids.iter().map(|&i| i64::from(i)).collect();
        Tensor::<NdArray, 2, Int>::from_data(TensorData::new(values, [1, ids.len()]), &device)
    };
    let (logits, _) = model
        .window(
            to_tensor(&corpus.ids[..n - 1]),
            None,
            &FeedingPlan::teacher_forcing(1, n - 1).unwrap(),
            RecurrencePath::Fused,
        )
        .unwrap();
    let direct: f64 = unroll_model::step_cross_entropy(logits, to_tensor(&corpus.ids[1..]))
        .unwrap()
        .mean()
        .into_data()
        .iter::<f64>()
        .next()
        .unwrap();
    assert!(
        (evaluation.nats_per_symbol - direct).abs() < 1e-5,
        "{evaluation:?} vs {direct}"
    );
    assert!((evaluation.bits_per_symbol - direct / std::f64::consts::LN_2).abs() < 1e-5);
    assert!((evaluation.perplexity - direct.exp()).abs() < 1e-4);
}

fn metric_iterations(dir: &Path) -> Vec<u64> {
    let metrics = read_run_metrics::<serde_json::Value>(dir).unwrap();
    metrics.iter().map(|m| m.iteration).collect()
}

#[test]
fn an_existing_run_is_never_replaced_or_rewound_by_accident() {
    let (_turn, corpus, out) = setup("existing");
    let config = LanguageConfig {
        eval_every: 2,
        ..small(4)
    };
    run(config.clone(), &corpus, &out.0, None).unwrap();
    let before = std::fs::read(out.0.join("last/model.bpk")).unwrap();
    // A fresh run into it is refused, and nothing changes.
    let error = run(small(2), &corpus, &out.0, None).unwrap_err();
    assert!(
        matches!(&error, TrainingError::RunExists { what, .. } if what.contains("iteration 4")),
        "{error}"
    );
    // So is continuing from `best` there: it would rewind `last`.
    let best = LanguageCheckpoint::open(&out.0, Which::Best).unwrap();
    let error = run(small(6), &corpus, &out.0, Some(best)).unwrap_err();
    assert!(matches!(error, TrainingError::RunExists { .. }), "{error}");
    assert_eq!(std::fs::read(out.0.join("last/model.bpk")).unwrap(), before);
    assert_eq!(metric_iterations(&out.0), [1, 2, 3, 4]);

    // From `best` into a new directory: the history up to it comes along.
    let branch = Scratch::new("branch");
    let best = LanguageCheckpoint::open(&out.0, Which::Best).unwrap();
    let from = best.progress.iteration;
    let report = run(small(6), &corpus, &branch.0, Some(best)).unwrap();
    assert_eq!(report.first_iteration, from);
    let expected: Vec<u64> = (1..=6).collect();
    assert_eq!(metric_iterations(&branch.0), expected);

    // Asked to replace it, a fresh run starts over.
    let report = run_with(small(2), &corpus, &out.0, None, |r| {
        r.replace_existing = true
    })
    .unwrap();
    assert_eq!(report.first_iteration, 0);
    assert_eq!(metric_iterations(&out.0), [1, 2]);
    assert!(
        !out.0.join("best").exists()
            || LanguageCheckpoint::open(&out.0, Which::Best)
                .unwrap()
                .progress
                .iteration
                <= 2
    );
}

#[test]
fn resuming_drops_what_was_logged_after_the_checkpoint() {
    let (_turn, corpus, out) = setup("after-crash");
    run(
        LanguageConfig {
            eval_every: 3,
            ..small(3)
        },
        &corpus,
        &out.0,
        None,
    )
    .unwrap();
    // A crash after iteration 5 was logged but before its checkpoint.
    let mut lines = std::fs::read_to_string(out.0.join("metrics.jsonl")).unwrap();
    let last_line = lines.lines().last().unwrap().to_string();
    for iteration in [4, 5] {
        lines.push_str(&last_line.replacen(
            "\"iteration\":3",
            &format!("\"iteration\":{iteration}"),
            1,
        ));
        lines.push('\n');
    }
    std::fs::write(out.0.join("metrics.jsonl"), lines).unwrap();
    assert_eq!(metric_iterations(&out.0), [1, 2, 3, 4, 5]);
    let checkpoint = LanguageCheckpoint::open(&out.0, Which::Last).unwrap();
    run(small(6), &corpus, &out.0, Some(checkpoint)).unwrap();
    assert_eq!(metric_iterations(&out.0), [1, 2, 3, 4, 5, 6]);
    let history: Vec<u64> = LanguageCheckpoint::open(&out.0, Which::Last)
        .unwrap()
        .metrics
        .iter()
        .map(|m| m.iteration)
        .collect();
    assert_eq!(history, [1, 2, 3, 4, 5, 6]);
}

/// Settings of 5 iterations that validate only at the end, the run made with them without a
/// break, and the corpus, to compare a run made in parts with.
fn run_without_a_break(name: &str) -> (LanguageConfig, LanguageReport<B>, Corpus) {
    let corpus = corpus();
    let whole = Scratch::new(&format!("{name}-whole"));
    let config = LanguageConfig {
        eval_every: 100,
        ..small(5)
    };
    let report = run(config.clone(), &corpus, &whole.0, None).unwrap();
    (config, report, corpus)
}

#[test]
fn a_stop_request_saves_last_and_the_run_resumes_exactly() {
    let _turn = common::turn();
    let (config, uninterrupted, corpus) = run_without_a_break("stop");
    let parts = Scratch::new("stop-parts");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let error = run_with(config.clone(), &corpus, &parts.0, None, |r| {
        r.stop = Some(stop)
    })
    .unwrap_err();
    match &error {
        TrainingError::Interrupted {
            iteration,
            checkpoint,
        } => {
            assert_eq!(*iteration, 1, "stops after the iteration under way");
            assert!(checkpoint.ends_with("last"), "{checkpoint}");
        }
        other => panic!("expected an interruption, got {other:?}"),
    }
    assert!(parts.0.join("loss.png").is_file());
    let checkpoint = LanguageCheckpoint::open(&parts.0, Which::Last).unwrap();
    assert_eq!(checkpoint.progress.iteration, 1);
    let resumed = run(config, &corpus, &parts.0, Some(checkpoint)).unwrap();
    assert_eq!(losses(&resumed), losses(&uninterrupted));
    assert_eq!(resumed.validation, uninterrupted.validation);
}

#[test]
fn a_time_limit_ends_the_run_as_its_last_iteration_and_the_run_resumes_exactly() {
    let _turn = common::turn();
    let (config, uninterrupted, corpus) = run_without_a_break("time");
    let parts = Scratch::new("time-parts");
    // Any iteration outlasts a nanosecond: the first is the last of this invocation.
    let limited = run_with(config.clone(), &corpus, &parts.0, None, |r| {
        r.time_limit = Some(std::time::Duration::from_nanos(1))
    })
    .unwrap();
    assert_eq!(limited.iterations, 1);
    let last = limited.metrics.last().expect("logged");
    assert_eq!(last.iteration, 1);
    assert!(last.validation.is_some(), "the last iteration validates");
    assert!(last.seconds > 0.0, "training time is recorded");
    // The clock continues over the resume: with the checkpoint's history set to 1000 s of
    // training, every later record counts from there.
    let last_dir = parts.0.join("last");
    edit(&last_dir, "metrics.jsonl", |text| {
        text.replace(
            &format!("\"seconds\":{}", last.seconds),
            "\"seconds\":1000.0",
        )
    });
    reseal(&last_dir);
    let checkpoint = LanguageCheckpoint::open(&parts.0, Which::Last).unwrap();
    assert_eq!(checkpoint.progress.iteration, 1);
    assert_eq!(checkpoint.metrics[0].seconds, 1000.0);
    let resumed = run(config, &corpus, &parts.0, Some(checkpoint)).unwrap();
    assert_eq!(resumed.iterations, 5);
    assert_eq!(losses(&resumed), losses(&uninterrupted));
    let seconds: Vec<f64> = resumed.metrics.iter().map(|m| m.seconds).collect();
    assert!(
        seconds.windows(2).all(|pair| pair[0] < pair[1]) && seconds[1] > 1000.0,
        "{seconds:?}"
    );
}

#[test]
fn a_locked_run_directory_is_refused() {
    let (_turn, corpus, out) = setup("locked");
    let _holder = unroll_training::run_directory::lock(&out.0).unwrap();
    let error = run(small(2), &corpus, &out.0, None).unwrap_err();
    match error {
        TrainingError::RunLocked { holder, .. } => assert_eq!(holder, Some(std::process::id())),
        other => panic!("expected a lock error, got {other:?}"),
    }
}

#[test]
fn divergence_of_a_fresh_run_says_no_checkpoint_exists() {
    let (_turn, corpus, out) = setup("diverge-fresh");
    match run(exploding(small(30)), &corpus, &out.0, None) {
        Err(TrainingError::Diverged { reason, .. }) => {
            assert!(
                reason.contains("no checkpoint had been written"),
                "{reason}"
            )
        }
        other => panic!("expected divergence, got {other:?}"),
    }
}

#[test]
fn runs_that_cannot_fit_in_memory_are_refused_before_allocating() {
    let (_turn, corpus, out) = setup("memory");
    for hidden in [usize::MAX, 1 << 40] {
        let mut config = small(2);
        config.model.hidden = hidden;
        let error = run_with(config, &corpus, &out.0, None, |r| {
            r.memory_limit = Some(1 << 30)
        })
        .unwrap_err();
        let TrainingError::OutOfMemory { .. } = error else {
            panic!("{error}")
        };
    }
    let error = run(
        LanguageConfig {
            batch: usize::MAX,
            ..small(2)
        },
        &corpus,
        &out.0,
        None,
    )
    .unwrap_err();
    assert!(error.to_string().contains("any machine"), "{error}");
}
