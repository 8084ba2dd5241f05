//! What every claim's training task shares.

use std::path::Path;

use unroll::backend::{NAME, Training};
use unroll::training::{LearningRateSchedule, LoopSettings, OptimizerKind, RunPlace};

/// A claim's run: `iterations` of Adam at `learning_rate`, the gradient's norm clipped at
/// `clip`, validated and logged `evaluations` times, from `seed`, in `dir` (replacing what an
/// earlier run left there).
pub(super) fn fresh_run(
    (iterations, evaluations): (u64, u64),
    (learning_rate, clip): (f64, f64),
    seed: u64,
    dir: &Path,
) -> (LoopSettings, RunPlace) {
    let every = (iterations / evaluations.max(1)).max(1);
    let settings = LoopSettings {
        iterations,
        eval_every: every,
        log_every: every,
        seed,
        optimizer: OptimizerKind::Adam,
        learning_rate,
        learning_rate_schedule: LearningRateSchedule::Constant,
        clip: Some(clip),
    };
    let place = RunPlace {
        replace_existing: true,
        ..RunPlace::new(dir, NAME)
    };
    (settings, place)
}

/// What a claim's runs are made with: seeds `0..seeds`, the study's directory `out` (the runs
/// in its `runs/`), the device, and `note`, told of each run as it ends.
pub(super) struct Bench<'a> {
    pub seeds: u64,
    pub out: &'a Path,
    pub device: &'a burn::tensor::Device<unroll::backend::Inference>,
    pub note: &'a mut dyn FnMut(String),
}

/// What a claim's task returns to the trainer.
pub(super) type TrainingResult<T> = unroll::training::Result<T>;

/// What a claim's task's `loss` returns.
pub(super) type TrainingLoss = TrainingResult<unroll::training::trainer::IterationLoss<Training>>;

/// The seed of iteration `iteration`'s batch in a run from `seed`: the data depend on the seed
/// and the iteration alone, so every network trained from one seed sees the same batches.
pub(super) fn batch_seed(seed: u64, iteration: u64) -> u64 {
    seed.wrapping_mul(1_000_003).wrapping_add(iteration)
}

/// A claim's training task's `resume` and `save`: its runs are never resumed (each starts
/// afresh in its own directory), and its checkpoints hold the model alone.
macro_rules! fresh_runs {
    ($model:ty, $validation:ty) => {
        fn resume(
            &mut self,
            _device: &Device,
        ) -> unroll::training::Result<Option<unroll::training::trainer::Resumed<$model, $validation>>>
        {
            Ok(None)
        }

        fn save(
            &self,
            out: &std::path::Path,
            which: unroll::training::Which,
            snapshot: &unroll::training::trainer::Snapshot<'_, $model, $validation>,
        ) -> unroll::training::Result<std::path::PathBuf> {
            unroll::training::checkpoint::save_snapshot(out, which, snapshot, Vec::new())
        }
    };
}
pub(super) use fresh_runs;
