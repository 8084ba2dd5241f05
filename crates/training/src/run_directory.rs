//! A run directory's guarantees: one writer at a time (an advisory lock held for the whole run),
//! and an existing run is never replaced or rewound unless the caller asked for it.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::{Result, TrainingError, io_error};

/// The lock file inside a run directory; it holds the writer's process id.
pub const LOCK_FILE: &str = ".lock";

/// What a run writes into its directory, and so what starting over removes (nothing else is
/// touched: a directory that also holds other files keeps them).
const RUN_ENTRIES: [&str; 8] = [
    "last",
    "best",
    ".last.tmp",
    ".last.old",
    ".best.tmp",
    ".best.old",
    "metrics.jsonl",
    "loss.png",
];

/// The exclusive right to write into a run directory, released when dropped (or when the
/// process ends, however it ends).
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    path: PathBuf,
}

impl RunLock {
    /// The run directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Creates the run directory if needed and takes its lock; an error naming the holder's process
/// id when another process has it.
pub fn lock(run: &Path) -> Result<RunLock> {
    std::fs::create_dir_all(run).map_err(|e| io_error(run, e))?;
    let path = run.join(LOCK_FILE);
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| io_error(&path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(TrainingError::RunLocked {
                path: run.display().to_string(),
                holder: text.trim().parse().ok(),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io_error(&path, e)),
    }
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| writeln!(file, "{}", std::process::id()))
        .map_err(|e| io_error(&path, e))?;
    Ok(RunLock {
        _file: file,
        path: run.to_path_buf(),
    })
}

/// What run `dir` holds, in words (`None` when it holds none). An empty metrics log is no run:
/// a run stopped before its first logged iteration leaves nothing to continue.
pub fn existing_run(dir: &Path) -> Option<String> {
    let present: Vec<&str> = RUN_ENTRIES
        .iter()
        .copied()
        .filter(|name| match dir.join(name).symlink_metadata() {
            Ok(meta) => *name != "metrics.jsonl" || meta.len() > 0,
            Err(_) => false,
        })
        .collect();
    if present.is_empty() {
        return None;
    }
    // Only the progress file is read: a description needs no verified weights.
    let iteration = std::fs::read(dir.join("last").join("progress.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<crate::checkpoint::Progress>(&bytes).ok())
        .map(|progress| progress.iteration);
    Some(match iteration {
        Some(iteration) => format!("its last checkpoint is at iteration {iteration}"),
        None => format!("it has {}", present.join(", ")),
    })
}

/// Removes what a run wrote into `dir` (the entries of a run, nothing else).
pub fn clear(dir: &Path) -> Result<()> {
    for name in RUN_ENTRIES {
        let path = dir.join(name);
        let Ok(meta) = path.symlink_metadata() else {
            continue;
        };
        let removed = if meta.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| io_error(&path, e))?;
    }
    Ok(())
}

fn same_directory(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The run directory holding a checkpoint directory (`RUN/last` → `RUN`).
pub fn run_of(checkpoint: &Path) -> PathBuf {
    match checkpoint.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Whether `checkpoint` is the `last` checkpoint of run `dir`: continuing it there loses nothing.
pub fn is_last_of(checkpoint: &Path, dir: &Path) -> bool {
    let name = checkpoint.file_name().and_then(|n| n.to_str());
    matches!(name, Some("last" | ".last.old")) && same_directory(&run_of(checkpoint), dir)
}

/// Prepares `dir` for a run, holding its lock: continuing the checkpoint `resume_from` in place when it is `dir`'s
/// `last` checkpoint; otherwise `dir` must hold no run, or `replace` removes the one it holds.
pub fn prepare(dir: &Path, resume_from: Option<&Path>, replace: bool) -> Result<RunLock> {
    let lock = lock(dir)?;
    if resume_from.is_some_and(|checkpoint| is_last_of(checkpoint, dir)) {
        return Ok(lock);
    }
    if let Some(what) = existing_run(dir) {
        if !replace {
            return Err(TrainingError::RunExists {
                path: dir.display().to_string(),
                what,
            });
        }
        clear(dir)?;
    }
    Ok(lock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_with_the_holders_pid() {
        let dir = crate::durable::scratch("lock");
        let first = lock(&dir).unwrap();
        // The lock belongs to the open file, so a second open in this process conflicts too.
        match lock(&dir) {
            Err(TrainingError::RunLocked { holder, .. }) => {
                assert_eq!(holder, Some(std::process::id()))
            }
            other => panic!("expected a lock error, got {other:?}"),
        }
        drop(first);
        let again = lock(&dir).unwrap();
        assert_eq!(again.path(), dir);
        drop(again);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn starting_over_removes_only_what_a_run_wrote() {
        let dir = crate::durable::scratch("clear");
        std::fs::create_dir_all(dir.join("last")).unwrap();
        std::fs::write(dir.join("metrics.jsonl"), "{}\n").unwrap();
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        assert!(existing_run(&dir).unwrap().contains("last, metrics.jsonl"));
        clear(&dir).unwrap();
        assert_eq!(existing_run(&dir), None);
        assert!(dir.join("notes.txt").is_file());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A run stopped before its first logged iteration leaves an empty metrics log: no run.
    #[test]
    fn an_empty_metrics_log_is_no_run() {
        let dir = crate::durable::scratch("empty-metrics");
        std::fs::write(dir.join("metrics.jsonl"), "").unwrap();
        assert_eq!(existing_run(&dir), None);
        std::fs::write(dir.join("metrics.jsonl"), "{}\n").unwrap();
        assert!(existing_run(&dir).unwrap().contains("metrics.jsonl"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
