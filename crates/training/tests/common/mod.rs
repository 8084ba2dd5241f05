//! What the training crate's integration tests share.

// Each test file uses its own part of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use burn::tensor::backend::AutodiffBackend;
use unroll_training::trainer::{RunPlace, TaskReport};
use unroll_training::{LoopSettings, Silent, Task, train_task};

/// Burn 0.21's autodiff can lose a gradient when two threads build and sweep graphs at once
/// (tracel-ai/burn#5573), and the CPU backends' random generators are process-wide: tests that
/// train or seed take turns.
pub fn turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Two tests of `check::<B>(dir)`, each in its turn with a scratch directory named after it:
/// `$on_ndarray` on autodiff ndarray, `$on_flex` on autodiff flex.
#[allow(unused_macros)]
macro_rules! test_on_cpu_backends {
    ($check:ident: $on_ndarray:ident, $on_flex:ident) => {
        #[test]
        fn $on_ndarray() {
            let _turn = common::turn();
            $check::<burn::backend::Autodiff<burn::backend::NdArray>>(&common::scratch(
                stringify!($on_ndarray),
            ));
        }

        #[test]
        fn $on_flex() {
            let _turn = common::turn();
            $check::<burn::backend::Autodiff<burn::backend::Flex>>(&common::scratch(stringify!(
                $on_flex
            )));
        }
    };
}
#[allow(unused_imports)]
pub(crate) use test_on_cpu_backends;

/// An empty directory of its own for test `name` of this process.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("unroll-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A run in `out` (resuming `resume_from`).
pub fn place(out: &Path, resume_from: Option<PathBuf>) -> RunPlace {
    RunPlace {
        resume_from,
        ..RunPlace::new(out, "test")
    }
}

/// Asserts that each of the whitespace-separated `files` is a file in `dir`.
pub fn assert_files(dir: &Path, files: &str) {
    for file in files.split_whitespace() {
        assert!(dir.join(file).is_file(), "{file} in {}", dir.display());
    }
}

/// `task` trained into `place` on the backend's default device, with nothing shown.
pub fn train_silently<B: AutodiffBackend, T: Task<B>>(
    task: &mut T,
    settings: &LoopSettings,
    place: &RunPlace,
) -> unroll_training::Result<TaskReport<B, T>> {
    train_task(task, settings, place, &Default::default(), &mut Silent)
}
