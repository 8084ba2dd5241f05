//! Files a user names as an output: nothing they own is replaced without `--force`, and a run's
//! own directory is never written into by anything but training.

use std::path::{Path, PathBuf};

use unroll::training::durable::write_target;

/// Checks that the file `path` (named by `flag`) may be written, through its links: refused
/// when it lies inside the run read (`run`: a run directory, or one of its checkpoint
/// directories), whatever `force` says, and when it exists, unless `force`.
pub fn check_output(path: &Path, flag: &str, force: bool, run: &Path) -> Result<(), String> {
    let target = write_target(path).map_err(|e| e.to_string())?;
    if let Some(run) = run_root(run)
        && inside(&target, &run)
    {
        return Err(format!(
            "{flag} {} is inside the run directory {}, whose files only training writes: name a file elsewhere",
            path.display(),
            run.display()
        ));
    }
    if target.exists() && !force {
        return Err(format!(
            "{flag} {}: the file exists; pass --force to replace it",
            path.display()
        ));
    }
    Ok(())
}

/// The run directory `dir` belongs to, resolved: `dir` itself, or its parent when `dir` is one
/// of the run's checkpoints (`last/`, `best/`). `None` when it cannot be resolved (it does not
/// exist: reading the checkpoint will say so).
fn run_root(dir: &Path) -> Option<PathBuf> {
    let dir = dir.canonicalize().ok()?;
    match dir.file_name().and_then(|n| n.to_str()) {
        Some("last" | "best") => dir.parent().map(Path::to_path_buf),
        _ => Some(dir),
    }
}

/// Whether the file `target` (which may not exist yet) lies inside the directory `root`.
fn inside(target: &Path, root: &Path) -> bool {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    parent
        .canonicalize()
        .is_ok_and(|parent| parent.starts_with(root))
}

/// Checks `--plot` before any work is done: a name ending in `.png` (the one format drawn), and
/// [`check_output`]'s rules (not inside the run read, an existing file only with `force`).
pub fn check_plot(path: &Path, force: bool, run: &Path) -> Result<(), String> {
    if !path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"))
    {
        return Err(format!(
            "--plot {}: pictures are drawn as PNG; name a file ending in .png",
            path.display()
        ));
    }
    check_output(path, "--plot", force, run)
}
