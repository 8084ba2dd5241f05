//! The divergence guard watches the loss smoothed over recent iterations: one bad batch does not
//! stop a run, a loss that stays up does, and a task's uninformed loss sets the scale when the
//! first batch happened to be easy.

mod common;

use std::path::{Path, PathBuf};

use burn::backend::{Autodiff, NdArray};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use common::{train_silently, turn};
use serde::{Deserialize, Serialize};
use unroll_training::checkpoint::{model_bytes, save_files};
use unroll_training::metrics::to_jsonl;
use unroll_training::trainer::{IterationLoss, Resumed, RunPlace, Snapshot};
use unroll_training::{LoopSettings, Task, TrainingError, Validation, Which};

type B = Autodiff<NdArray>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Nothing;

impl Validation for Nothing {
    const ITEMS: &'static str = "values";

    fn loss(&self) -> f64 {
        0.0
    }

    fn summary(&self) -> String {
        String::new()
    }
}

/// A task whose loss per iteration is given: the model's output times zero plus that value.
struct Scripted {
    losses: fn(u64) -> f64,
    uninformed: Option<f64>,
}

impl Task<B> for Scripted {
    type Model = Linear<B>;
    type Validation = Nothing;

    fn init_model(&mut self, device: &Device<B>) -> unroll_training::Result<Linear<B>> {
        Ok(LinearConfig::new(2, 1).init(device))
    }

    fn resume(
        &mut self,
        _: &Device<B>,
    ) -> unroll_training::Result<Option<Resumed<Linear<B>, Nothing>>> {
        Ok(None)
    }

    fn loss(
        &mut self,
        model: &Linear<B>,
        iteration: u64,
        device: &Device<B>,
    ) -> unroll_training::Result<IterationLoss<B>> {
        let output = model.forward(Tensor::<B, 2>::ones([1, 2], device));
        Ok(IterationLoss {
            loss: output.sum() * 0.0 + (self.losses)(iteration),
            items: 1,
            truth_probability: None,
            free_steps: None,
        })
    }

    fn validate(&self, _: &Linear<NdArray>, _: &Device<B>) -> unroll_training::Result<Nothing> {
        Ok(Nothing)
    }

    fn uninformed_loss(&self) -> Option<f64> {
        self.uninformed
    }

    fn save(
        &self,
        out: &Path,
        which: Which,
        snapshot: &Snapshot<'_, Linear<B>, Nothing>,
    ) -> unroll_training::Result<PathBuf> {
        save_files(
            out,
            which,
            vec![
                ("model.bpk", model_bytes(snapshot.model)?),
                ("metrics.jsonl", to_jsonl(snapshot.metrics).into_bytes()),
            ],
        )
    }
}

fn train(task: &mut Scripted, name: &str) -> unroll_training::Result<u64> {
    let _turn = turn();
    let out = std::env::temp_dir().join(format!("unroll-divergence-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let settings = LoopSettings {
        iterations: 40,
        eval_every: 20,
        log_every: 10,
        seed: 0,
        optimizer: unroll_training::OptimizerKind::Sgd,
        learning_rate: 1e-3,
        learning_rate_schedule: unroll_training::LearningRateSchedule::Constant,
        clip: None,
    };
    let place = RunPlace::new(out.clone(), "ndarray");
    let result = train_silently(task, &settings, &place);
    let _ = std::fs::remove_dir_all(&out);
    result.map(|report| report.iterations)
}

fn stopped_at(result: unroll_training::Result<u64>) -> Option<u64> {
    match result {
        Err(TrainingError::Diverged { iteration, .. }) => Some(iteration),
        Ok(_) => None,
        Err(other) => panic!("{other}"),
    }
}

#[test]
fn one_bad_batch_is_not_divergence_but_a_loss_that_stays_up_is() {
    // Loss 1, then a single batch at 5 (five times the first): training goes on.
    let mut spike = Scripted {
        losses: |i| if i == 5 { 5.0 } else { 1.0 },
        uninformed: None,
    };
    assert_eq!(stopped_at(train(&mut spike, "spike")), None);
    // Loss 1, then 5 from iteration 5 on: stopped a few iterations later.
    let mut explosion = Scripted {
        losses: |i| if i >= 5 { 5.0 } else { 1.0 },
        uninformed: None,
    };
    let at = stopped_at(train(&mut explosion, "explosion")).expect("diverged");
    assert!((6..=12).contains(&at), "{at}");
    // A NaN stops at once.
    let mut nan = Scripted {
        losses: |i| if i == 3 { f64::NAN } else { 1.0 },
        uninformed: None,
    };
    assert_eq!(stopped_at(train(&mut nan, "nan")), Some(3));
}

#[test]
fn the_uninformed_loss_sets_the_scale_after_an_easy_first_batch() {
    // The first batch's loss is 0.1, the rest 1: ten times the first, a third of 3 × 1.
    let losses = |i| if i == 0 { 0.1 } else { 1.0 };
    let mut easy_first = Scripted {
        losses,
        uninformed: None,
    };
    assert!(stopped_at(train(&mut easy_first, "easy")).is_some());
    let mut scaled = Scripted {
        losses,
        uninformed: Some(1.0),
    };
    assert_eq!(stopped_at(train(&mut scaled, "scaled")), None);
}
