//! What the task command lines (classify, forecast) share when they train: where a run starts
//! (the checkpoint it resumes, its data file, its settings) and the place the loop runs in.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use burn::tensor::Device;
use unroll::backend::{Inference, NAME, Training};
use unroll::training::task_checkpoint::{CheckpointKind, TaskCheckpoint};
use unroll::training::trainer::{LoopSettings, RunPlace, Task, TaskReport, train_task};
use unroll::training::{ConsoleReporter, DataSource, Which};

use super::flags::TrainingFlags;
use super::interrupt::Interrupt;

use super::Error;

/// Where a task's training run starts.
pub struct TaskStart<K: CheckpointKind> {
    /// The checkpoint `--resume` names, read and verified.
    pub resume: Option<TaskCheckpoint<K>>,
    /// `--data`, else the file the resumed run recorded; `None` for the built-in data.
    pub data_path: Option<PathBuf>,
    /// `--config`, else the resumed run's settings, else `default` (before flags apply).
    pub config: K::Config,
}

impl<K: CheckpointKind> TaskStart<K> {
    /// Reads what `flags` and `data` (`--data`) name; `default` gets whether there is a data
    /// file.
    pub fn read(
        flags: &TrainingFlags,
        data: Option<&Path>,
        default: impl FnOnce(bool) -> K::Config,
    ) -> Result<Self, Error> {
        let resume = flags
            .resume
            .as_deref()
            .map(|dir| TaskCheckpoint::<K>::open(dir, Which::Last))
            .transpose()?;
        let recorded = resume
            .as_ref()
            .and_then(|c| c.progress.data.as_ref())
            .and_then(|d| d.path.clone());
        let data_path = data.map(Path::to_path_buf).or(recorded);
        let config = match (&resume, &flags.config) {
            (_, Some(path)) => super::settings::read(path, &default(data_path.is_some()))?,
            (Some(checkpoint), None) => checkpoint.config.clone(),
            (None, None) => default(data_path.is_some()),
        };
        Ok(TaskStart {
            resume,
            data_path,
            config,
        })
    }
}

/// The run directory: `out` (`--out`), else the directory of the run `resume` continues, else
/// a fresh one named `name` (an existing run is an error unless `--force`).
pub fn run_directory<K: CheckpointKind>(
    out: Option<&Path>,
    resume: Option<&TaskCheckpoint<K>>,
    name: &str,
    flags: &TrainingFlags,
) -> Result<PathBuf, Error> {
    let resumed = resume.map(|c| (c.path.as_path(), c.progress.iteration));
    Ok(super::run::run_directory(out, resumed, name, flags.force)?)
}

/// The place the loop trains in: the run directory `out`, continuing `resume`, stopped by
/// `interrupt`, recording `data`.
pub fn place<K: CheckpointKind>(
    out: &Path,
    resume: Option<&TaskCheckpoint<K>>,
    flags: &TrainingFlags,
    data: Option<DataSource>,
    interrupt: &Interrupt,
) -> RunPlace {
    RunPlace {
        out: out.to_path_buf(),
        resume_from: resume.map(|c| c.path.clone()),
        replace_existing: flags.force,
        stop: Some(interrupt.flag.clone()),
        time_limit: flags.time_limit,
        backend: NAME.into(),
        data,
    }
}

/// Trains `task` in `place` with the console's progress lines; `Err(status)` when the run ended
/// unfinished (stopped by a signal, diverged), its closing note printed.
pub fn train<T: Task<Training>>(
    task: &mut T,
    settings: &LoopSettings,
    place: &RunPlace,
    device: &Device<Inference>,
    interrupt: &Interrupt,
) -> Result<Result<TaskReport<Training, T>, ExitCode>, Error> {
    let mut console = ConsoleReporter::new();
    let mut observer = interrupt.observer(&mut console);
    match train_task::<Training, T>(task, settings, place, device, &mut observer) {
        Ok(report) => Ok(Ok(report)),
        Err(error) => Ok(Err(super::run::unfinished(error, &place.out, interrupt)?)),
    }
}
