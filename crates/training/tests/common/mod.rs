//! What the training crate's integration tests share.

// Each test file uses its own part of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use unroll_training::trainer::{RunPlace, TaskReport};
use unroll_training::{LoopSettings, Silent, Task, TrainingBackend, train_task};

#[allow(unused_imports)]
pub use unroll_test_support::{Scratch, assert_files, turn};

/// Two tests of `check::<B>(dir)`, each in its turn with a scratch directory named after it:
/// `$on_ndarray` on autodiff ndarray, `$on_flex` on autodiff flex.
#[allow(unused_macros)]
macro_rules! test_on_cpu_backends {
    ($check:ident: $on_ndarray:ident, $on_flex:ident) => {
        #[test]
        fn $on_ndarray() {
            let _turn = common::turn();
            let scratch = common::Scratch::new(stringify!($on_ndarray));
            $check::<burn::backend::Autodiff<burn::backend::NdArray>>(scratch.path());
        }

        #[test]
        fn $on_flex() {
            let _turn = common::turn();
            let scratch = common::Scratch::new(stringify!($on_flex));
            $check::<burn::backend::Autodiff<burn::backend::Flex>>(scratch.path());
        }
    };
}
#[allow(unused_imports)]
pub(crate) use test_on_cpu_backends;

/// A run in `out` (resuming `resume_from`).
pub fn place(out: &Path, resume_from: Option<PathBuf>) -> RunPlace {
    RunPlace {
        resume_from,
        ..RunPlace::new(out, "test")
    }
}

/// `task` trained into `place` on the backend's default device, with nothing shown.
pub fn train_silently<B: TrainingBackend, T: Task<B>>(
    task: &mut T,
    settings: &LoopSettings,
    place: &RunPlace,
) -> unroll_training::Result<TaskReport<B, T>> {
    train_task(task, settings, place, &Default::default(), &mut Silent)
}

/// A fresh model of `task` on autodiff ndarray, and its loss on the first iteration's batch.
pub fn first_loss<T: Task<burn::backend::Autodiff<burn::backend::NdArray>>>(
    task: &mut T,
) -> (T::Model, f64) {
    use burn::tensor::ElementConversion;
    let device = Default::default();
    let model = task.init_model(&device).unwrap();
    let loss = task
        .loss(&model, 0, &device)
        .unwrap()
        .loss
        .into_scalar()
        .elem();
    (model, loss)
}
