//! What the task command lines (classify, forecast) share when they train: where a run starts
//! (the checkpoint it resumes, its data file, its settings) and the place the loop runs in.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use unroll::backend::{Inference, NAME, Training};
use unroll::training::task_checkpoint::{CheckpointKind, TaskCheckpoint};
use unroll::training::trainer::{LoopSettings, RunPlace, Task, TaskReport, train_task};
use unroll::training::{ConsoleReporter, DataSource, Which};

use super::console::{Unfinished, note};
use super::flags::{Fixed, TrainingFlags, first_change};
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

impl<K: CheckpointKind<Config: Default>> TaskStart<K> {
    /// Reads what `flags` and `data` (`--data`) name. Settings not given (by `--config` or
    /// the resumed run) are the defaults for a data file, or `builtin()` for the program's
    /// built-in data when there is no file.
    pub fn read(
        flags: &TrainingFlags,
        data: Option<&Path>,
        builtin: impl FnOnce() -> K::Config,
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
        let default = || match data_path {
            Some(_) => K::Config::default(),
            None => builtin(),
        };
        let config = match (&resume, &flags.config) {
            (_, Some(path)) => super::settings::read(path, &default())?,
            (Some(checkpoint), None) => checkpoint.config.clone(),
            (None, None) => default(),
        };
        Ok(TaskStart {
            resume,
            data_path,
            config,
        })
    }

    /// Applies the command line's flags over the settings read (`apply`), then refuses what a
    /// resumed run cannot change ([`check_unchanged`], with the program's own `others`).
    pub fn apply_flags(
        &mut self,
        apply: impl FnOnce(&mut K::Config) -> Result<(), String>,
        others: impl IntoIterator<Item = Fixed>,
    ) -> Result<(), String> {
        let read = self.config.clone();
        apply(&mut self.config)?;
        check_unchanged(self.resume.as_ref(), &read, &self.config, others)
    }
}

/// Refuses settings that a run resumed from `resume` cannot take, naming the flag (or
/// `--config`, when the settings file asked for the value) and both values: `read` is the
/// settings before the flags applied, `config` after, `others` the program's own fixed
/// settings (classify's `--val`).
pub fn check_unchanged<K: CheckpointKind>(
    resume: Option<&TaskCheckpoint<K>>,
    read: &K::Config,
    config: &K::Config,
    others: impl IntoIterator<Item = Fixed>,
) -> Result<(), String> {
    let Some(checkpoint) = resume else {
        return Ok(());
    };
    let by_file = K::fixed(&checkpoint.config, read);
    let fixed = K::fixed(&checkpoint.config, config).into_iter().map(|f| {
        let from_file = by_file
            .iter()
            .any(|b| b.setting == f.setting && b.asked == f.asked && b.saved != b.asked);
        Fixed::from_setting(f, from_file)
    });
    first_change(fixed.chain(others))
}

/// The run directory: `--out`, else the directory of the run `resume` continues, else a fresh
/// one named `name` (an existing run is an error unless `--force`).
pub fn run_directory<K: CheckpointKind>(
    resume: Option<&TaskCheckpoint<K>>,
    name: &str,
    flags: &TrainingFlags,
) -> Result<PathBuf, Error> {
    let resumed = resume.map(|c| (c.path.as_path(), c.progress.iteration));
    let out = flags.out.as_deref();
    Ok(super::run::run_directory(out, resumed, name, flags.force)?)
}

/// Says so when the data a resumed run reads is its recorded file, changed since the checkpoint
/// was written (same path, another hash): it trains on, as asked, but not on what it had.
pub fn note_changed_data(recorded: Option<&DataSource>, source: Option<&DataSource>) {
    let (Some(recorded), Some(source)) = (recorded, source) else {
        return;
    };
    if recorded.sha256 != source.sha256 && recorded.path == source.path {
        let file = source
            .path
            .as_deref()
            .map_or("the built-in data".into(), |p| p.display().to_string());
        note(format!(
            "note: {file} changed since the run's checkpoint was written ({} bytes then, {} now)",
            recorded.bytes, source.bytes
        ));
    }
}

/// The place the loop trains in: the run directory `out`, continuing `resume`, stopped by
/// `interrupt`, recording `data` (a resumed run's recorded file changed since is noted).
fn place<K: CheckpointKind>(
    out: &Path,
    resume: Option<&TaskCheckpoint<K>>,
    flags: &TrainingFlags,
    data: Option<DataSource>,
    interrupt: &Interrupt,
) -> RunPlace {
    let recorded = resume.and_then(|checkpoint| checkpoint.progress.data.as_ref());
    note_changed_data(recorded, data.as_ref());
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

/// Trains the task `build` makes of the checkpoint it continues (`resume`), in the run directory
/// `out`, recording `data` (a resumed run's recorded file changed since is noted), with the
/// console's progress lines, stopped gracefully by a signal; a run stopped by a signal ends in
/// [`Unfinished`] with the signal's status, its closing note printed.
pub fn train<K: CheckpointKind, T: Task<Training>>(
    (out, resume): (&Path, Option<TaskCheckpoint<K>>),
    flags: &TrainingFlags,
    data: Option<DataSource>,
    settings: &LoopSettings,
    device: &Device<Inference>,
    build: impl FnOnce(Option<TaskCheckpoint<K>>) -> Result<T, Error>,
) -> Result<TaskReport<Training, T>, Error> {
    let interrupt = Interrupt::install()?;
    let place = place(out, resume.as_ref(), flags, data, &interrupt);
    let mut task = build(resume)?;
    let mut console = ConsoleReporter::new();
    let mut observer = interrupt.observer(&mut console);
    match train_task::<Training, T>(&mut task, settings, &place, device, &mut observer) {
        Ok(report) => Ok(report),
        Err(error) => {
            Err(Unfinished(super::run::unfinished(error, &place.out, &interrupt)?).into())
        }
    }
}
