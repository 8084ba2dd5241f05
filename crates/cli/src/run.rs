//! Run directories as every command line names them: a fresh default that never collides with
//! an earlier run, and the errors a training run ends with, said the same way.

use std::path::{Path, PathBuf};

use unroll::training::TrainingError;
use unroll::training::run_directory::{existing_run, is_last_of, run_of};
use unroll::training::trainer::TrainingReport;

use super::console::note;
use super::interrupt::Interrupt;

/// The default run directory, or `BASE-2`, `BASE-3`, … when it already holds a run: a run
/// without `--out` never collides with an earlier one (an explicit `--out` is never renamed).
pub fn fresh_run_directory(base: &Path) -> PathBuf {
    let name = base
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
    std::iter::once(base.to_path_buf())
        .chain((2..).map(|n| base.with_file_name(format!("{name}-{n}"))))
        .find(|dir| existing_run(dir).is_none())
        .expect("some number is free")
}

/// The run directory: `--out`, else the resumed checkpoint's run, else a fresh one under
/// `runs/NAME`. Resuming an earlier checkpoint of a run into that run would rewind its `last`:
/// refused unless `force`.
pub fn run_directory(
    out: Option<&Path>,
    resumed: Option<(&Path, u64)>,
    name: &str,
    force: bool,
) -> Result<PathBuf, String> {
    let out = match (out, resumed) {
        (Some(out), _) => out.to_path_buf(),
        (None, Some((checkpoint, _))) => run_of(checkpoint),
        (None, None) => fresh_run_directory(&PathBuf::from("runs").join(name)),
    };
    if out.exists() && !out.is_dir() {
        return Err(format!(
            "--out {} is a file, not a run directory: name a directory (it is made if missing)",
            out.display()
        ));
    }
    if let Some((checkpoint, iteration)) = resumed
        && !is_last_of(checkpoint, &out)
        && run_of(checkpoint).canonicalize().ok() == out.canonicalize().ok()
        && !force
    {
        return Err(format!(
            "resuming from {} (iteration {iteration}) in its own run directory would rewind its `last` checkpoint: continue in a new directory with --out DIR",
            checkpoint.display(),
        ));
    }
    Ok(out)
}

/// How a training run that did not finish ends: an interrupt is a note and the signal's exit
/// status (`Ok`), any other error a message (`Err`).
pub fn unfinished(
    error: TrainingError,
    out: &Path,
    interrupt: &Interrupt,
) -> Result<std::process::ExitCode, String> {
    match error {
        TrainingError::Interrupted {
            iteration,
            checkpoint,
        } => {
            note(format!(
                "{} received: stopped after iteration {iteration}; checkpoint {checkpoint}, metrics {}, loss curve {}; continue with `train --resume {}`",
                interrupt.name(),
                out.join("metrics.jsonl").display(),
                out.join("loss.png").display(),
                out.display()
            ));
            Ok(std::process::ExitCode::from(interrupt.exit_status()))
        }
        TrainingError::RunExists { path, what } => Err(format!(
            "{path} already holds a run ({what}): continue it with --resume {path}, start over with --force, or choose another --out"
        )),
        error => Err(error.to_string()),
    }
}

/// What `--json` prints of an evaluation: the scores, the checkpoint and the data scored, and
/// how many items were (`counted`: their name and number).
pub fn scores_json(
    scores: &impl serde::Serialize,
    checkpoint: &std::path::Path,
    data: impl serde::Serialize,
    (name, count): (&str, usize),
) -> serde_json::Result<serde_json::Value> {
    let mut object = serde_json::to_value(scores)?;
    object["checkpoint"] = serde_json::json!(checkpoint);
    object["data"] = serde_json::json!(data);
    object[name] = serde_json::json!(count);
    Ok(object)
}

/// What `--json` prints of a finished training run: the fields every command shares, then
/// the command's own `extra` fields.
pub fn report_json<M, V>(
    report: &TrainingReport<M, V>,
    extra: serde_json::Value,
) -> serde_json::Value {
    let mut value = serde_json::json!({
        "checkpoint": report.checkpoint,
        "iterations": report.iterations,
        "first_iteration": report.first_iteration,
        "seconds": report.seconds,
        "final_training_loss": report.final_loss,
    });
    extend(&mut value, extra);
    value
}

/// What `--json` prints of a finished task run (classify, forecast): [`report_json`]'s fields,
/// the final validation and the best validation loss, then the command's own `extra` fields.
pub fn task_report_json<M, V: serde::Serialize>(
    report: &TrainingReport<M, V>,
    extra: serde_json::Value,
) -> serde_json::Value {
    let mut value = report_json(
        report,
        serde_json::json!({
            "validation": report.validation,
            "best_validation_loss": report.best_validation,
        }),
    );
    extend(&mut value, extra);
    value
}

/// `extra`'s fields added to `value`'s, both objects.
fn extend(value: &mut serde_json::Value, extra: serde_json::Value) {
    if let (Some(fields), serde_json::Value::Object(extra)) = (value.as_object_mut(), extra) {
        fields.extend(extra);
    }
}
