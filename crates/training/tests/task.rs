//! A task other than language modelling plugs into the shared loop: pattern 3 learns which of
//! two classes a real-valued sequence belongs to, with its own batches, loss, validation record
//! and checkpoint files, and gets checkpoints, metrics and the report from the loop.

mod common;

use std::path::{Path, PathBuf};

use burn::backend::{Autodiff, NdArray};
use burn::tensor::backend::Backend;
use burn::tensor::{Device, ElementConversion, Int, Tensor, TensorData};
use common::{Scratch, assert_files, train_silently};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use unroll_model::fused::row_cross_entropy;
use unroll_model::{
    HiddenStackConfig, InputEncoding, SequenceInput, SequenceSummarizer, SequenceSummarizerConfig,
};
use unroll_training::checkpoint::save_snapshot;
use unroll_training::trainer::{IterationLoss, Resumed, RunPlace, Snapshot};
use unroll_training::{LoopSettings, Task, Validation, Which};

type B = Autodiff<NdArray>;
type Inner = NdArray;

const BATCH: usize = 32;
const TIME: usize = 6;

/// Sequences of values in [-1, 1]; the class is 1 when their sum is positive.
fn sequences(count: usize, seed: u64) -> (Vec<f32>, Vec<i64>) {
    let mut random = ChaCha8Rng::seed_from_u64(seed);
    let mut values = Vec::with_capacity(count * TIME);
    let mut classes = Vec::with_capacity(count);
    for _ in 0..count {
        let row: Vec<f32> = (0..TIME).map(|_| random.random_range(-1.0..1.0)).collect();
        classes.push(i64::from(row.iter().sum::<f32>() > 0.0));
        values.extend(row);
    }
    (values, classes)
}

/// What the validation measures: cross-entropy and accuracy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Scores {
    cross_entropy: f64,
    accuracy: f64,
}

impl Validation for Scores {
    const ITEMS: &'static str = "samples";

    fn loss(&self) -> f64 {
        self.cross_entropy
    }

    fn summary(&self) -> String {
        let percent = 100.0 * self.accuracy;
        format!("{:.4} nats, accuracy {percent:.1} %", self.cross_entropy)
    }
}

struct SignTask {
    validation: (Vec<f32>, Vec<i64>),
}

/// Per-sequence losses `[batch]` and logits `[batch, 2]` of a batch.
fn losses<Bk: Backend + unroll_model::RecurrenceBackend>(
    model: &SequenceSummarizer<Bk>,
    (values, classes): &(Vec<f32>, Vec<i64>),
    device: &Bk::Device,
) -> (Tensor<Bk, 1>, Tensor<Bk, 2>, Tensor<Bk, 1, Int>) {
    let count = classes.len();
    let x = Tensor::<Bk, 3>::from_data(TensorData::new(values.clone(), [count, TIME, 1]), device);
    let targets =
        Tensor::<Bk, 1, Int>::from_data(TensorData::new(classes.clone(), [count]), device);
    let logits = model.forward(SequenceInput::Dense(x), None).unwrap();
    (
        row_cross_entropy(logits.clone(), targets.clone()),
        logits,
        targets,
    )
}

impl Task<B> for SignTask {
    type Model = SequenceSummarizer<B>;
    type Validation = Scores;

    fn init_model(&mut self, device: &Device<B>) -> unroll_training::Result<Self::Model> {
        let hidden = HiddenStackConfig::new(InputEncoding::Dense { d_input: 1 }, 8);
        Ok(SequenceSummarizerConfig::new(hidden, 2).try_init(device)?)
    }

    fn resume(
        &mut self,
        _device: &Device<B>,
    ) -> unroll_training::Result<Option<Resumed<Self::Model, Scores>>> {
        Ok(None)
    }

    fn loss(
        &mut self,
        model: &Self::Model,
        iteration: u64,
        device: &Device<B>,
    ) -> unroll_training::Result<IterationLoss<B>> {
        let batch = sequences(BATCH, 1000 + iteration);
        let (losses, _, _) = losses(model, &batch, device);
        Ok(IterationLoss {
            loss: losses.mean(),
            items: BATCH,
            truth_probability: None,
            free_steps: None,
        })
    }

    fn validate(
        &self,
        model: &SequenceSummarizer<Inner>,
        device: &Device<B>,
    ) -> unroll_training::Result<Scores> {
        let (losses, logits, targets) = losses(model, &self.validation, device);
        let right: i64 = logits
            .argmax(1)
            .reshape([targets.dims()[0]])
            .equal(targets)
            .int()
            .sum()
            .into_scalar()
            .elem();
        Ok(Scores {
            cross_entropy: losses.mean().into_scalar().elem(),
            accuracy: right as f64 / self.validation.1.len() as f64,
        })
    }

    fn save(
        &self,
        out: &Path,
        which: Which,
        snapshot: &Snapshot<'_, Self::Model, Scores>,
    ) -> unroll_training::Result<PathBuf> {
        save_snapshot(out, which, snapshot, Vec::new())
    }
}

#[test]
fn a_sequence_classifier_trains_in_the_shared_loop() {
    let scratch = Scratch::new("task");
    let out = scratch.path();
    let mut task = SignTask {
        validation: sequences(256, 7),
    };
    let settings = LoopSettings {
        iterations: 300,
        eval_every: 100,
        log_every: 10,
        seed: 3,
        optimizer: unroll_training::OptimizerKind::Adam,
        learning_rate: 1e-2,
        learning_rate_schedule: unroll_training::LearningRateSchedule::Constant,
        clip: Some(5.0),
    };
    let place = RunPlace::new(out.to_path_buf(), "ndarray");
    let report = train_silently(&mut task, &settings, &place).unwrap();

    // The loop's part: iterations, validations at 100, 200, 300, checkpoints, metrics.
    assert_eq!(report.iterations, 300);
    let validations: Vec<&Scores> = report
        .metrics
        .iter()
        .filter_map(|m| m.validation.as_ref())
        .collect();
    assert_eq!(validations.len(), 3);
    assert!(
        report.validation.accuracy > 0.9,
        "the sign of a sum is learnable: {:?}",
        report.validation
    );
    let lowest = validations
        .iter()
        .map(|v| v.cross_entropy)
        .fold(f64::INFINITY, f64::min);
    assert_eq!(
        report.best_validation, lowest,
        "the best is the task's own loss"
    );
    assert_files(
        out,
        "last/checksums.json best/model.bpk metrics.jsonl loss.png",
    );
    let logged = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert!(
        logged.contains("\"accuracy\""),
        "the task's own record is logged"
    );

    // The report's model is the trained one: it scores what the last validation scored.
    let again = task.validate(&report.model, &Default::default()).unwrap();
    assert_eq!(again, report.validation);
}
