//! What the tests of every crate of the workspace share, written once: a turn for the checks
//! that must not run at the same time ([`turn`]), scratch directories removed when done
//! ([`Scratch`]) and the files a run leaves there ([`assert_files`]), closeness assertions that
//! name the first element apart ([`assert_close`], [`assert_within`],
//! [`assert_close_to_largest`]), and the per-step labels of the labelling tests
//! ([`labels_of_the_next`]).
#![warn(missing_docs)]

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The turn of a check that trains, seeds or builds a model: one at a time in a test binary.
///
/// Burn 0.21's autodiff can lose a gradient when one thread's backward pass sweeps the graph
/// while another builds an operation on a reused leaf (tracel-ai/burn#5573, fixed after 0.21),
/// and the CPU backends' random generators are process-wide, so a model built in a parallel test
/// would draw from a run's stream. A check that panicked leaves the turn to the next.
pub fn turn() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A directory of a test's own under the system's temporary directory, empty at the start
/// (`unroll-NAME-PID`, created) and removed when dropped.
#[derive(Debug)]
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// An empty directory for test `name` of this process.
    pub fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("unroll-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("the temporary directory is writable");
        Scratch(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `bytes` to the file `name` in the directory, and gives its path.
    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).expect("the scratch directory is writable");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Asserts that each of the whitespace-separated `files` is a file in `dir`.
pub fn assert_files(dir: &Path, files: &str) {
    for file in files.split_whitespace() {
        assert!(dir.join(file).is_file(), "{file} in {}", dir.display());
    }
}

/// Asserts equal lengths and `|a − e| ≤ tolerance · max(|a|, |e|, 1)` element by element: a
/// relative bound for large values, an absolute one below 1.
pub fn assert_close<T: Copy + Into<f64> + Display>(
    what: &str,
    actual: &[T],
    expected: &[T],
    tolerance: f64,
) {
    assert_each(what, actual, expected, tolerance, |a, e| {
        a.abs().max(e.abs()).max(1.0)
    });
}

/// Asserts equal lengths and `|a − e| ≤ bound` element by element.
pub fn assert_within<T: Copy + Into<f64> + Display>(
    what: &str,
    actual: &[T],
    expected: &[T],
    bound: f64,
) {
    assert_each(what, actual, expected, bound, |_, _| 1.0);
}

/// Asserts equal lengths and `|a − e| ≤ tolerance · max |e|` element by element: for values whose
/// scale is the whole vector's (summed losses' gradients), where small elements need no tighter
/// bound than large ones. The expected values must not be all zeros.
pub fn assert_close_to_largest<T: Copy + Into<f64> + Display>(
    what: &str,
    actual: &[T],
    expected: &[T],
    tolerance: f64,
) {
    let largest = expected.iter().fold(0f64, |m, &e| m.max(e.into().abs()));
    assert!(largest > 0.0, "{what}: the expected values are all zeros");
    assert_each(what, actual, expected, tolerance, |_, _| largest);
}

/// The check the assertions share: `|a − e| ≤ tolerance · scale(a, e)`, the first element apart
/// named with both values.
fn assert_each<T: Copy + Into<f64> + Display>(
    what: &str,
    actual: &[T],
    expected: &[T],
    tolerance: f64,
    scale: impl Fn(f64, f64) -> f64,
) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let (x, y) = (a.into(), e.into());
        let bound = tolerance * scale(x, y);
        assert!(
            (x - y).abs() <= bound,
            "{what}[{i}]: got {a}, expected {e} (allowed {bound:e})"
        );
    }
}

/// Per-step labels that only a reading ahead can give: each character labelled by the next one,
/// `s` when it is the same, `d` when it differs, `e` on the last.
pub fn labels_of_the_next(line: &[char]) -> String {
    (0..line.len())
        .map(|t| match line.get(t + 1) {
            None => 'e',
            Some(&next) if next == line[t] => 's',
            Some(_) => 'd',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closeness_is_measured_as_documented() {
        assert_close("relative", &[100.0f32], &[100.5], 0.01);
        assert_close("absolute below one", &[0.0f64], &[0.005], 0.01);
        assert_within("within", &[1.0f64], &[1.0 + 1e-13], 1e-12);
        assert_close_to_largest("largest", &[0.0f32, 10.0], &[0.05, 10.0], 0.01);
        let apart = std::panic::catch_unwind(|| assert_close("apart", &[1.0f64], &[1.1], 0.01));
        assert!(apart.is_err());
        let apart = std::panic::catch_unwind(|| assert_within("apart", &[0.0f32], &[1e-3], 1e-4));
        assert!(apart.is_err());
        let zeros =
            std::panic::catch_unwind(|| assert_close_to_largest("z", &[0.0f64], &[0.0], 1.0));
        assert!(zeros.is_err());
    }

    #[test]
    fn a_scratch_directory_is_empty_and_goes_away() {
        let path = {
            let scratch = Scratch::new("support-self-test");
            std::fs::write(scratch.path().join("file"), b"x").unwrap();
            assert!(
                Scratch::new("support-self-test")
                    .path()
                    .read_dir()
                    .unwrap()
                    .next()
                    .is_none()
            );
            scratch.path().to_path_buf()
        };
        assert!(!path.exists());
    }
}
