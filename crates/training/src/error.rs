//! The one error type of the training crate.

use unroll_model::ModelError;

/// What can go wrong when preparing or running training.
#[derive(Debug, thiserror::Error)]
pub enum TrainingError {
    /// A setting is out of its valid range.
    #[error("invalid setting `{setting}`: {reason}")]
    InvalidSetting {
        /// Name of the setting.
        setting: &'static str,
        /// Why the value is rejected.
        reason: String,
    },
    /// The corpus holds no symbol at all.
    #[error("the corpus is empty")]
    EmptyCorpus,
    /// The corpus is too short for what was asked of it.
    #[error("the corpus is too short: {needed} symbols are needed ({why}), it has {actual}")]
    CorpusTooShort {
        /// How many symbols are needed.
        needed: usize,
        /// What needs them.
        why: String,
        /// How many there are.
        actual: usize,
    },
    /// Text mode was asked for but the bytes are not UTF-8.
    #[error(
        "the corpus is not valid UTF-8 (first bad byte at offset {offset}); use byte mode for non-text data"
    )]
    InvalidUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// A symbol is not in the vocabulary.
    #[error("symbol {symbol:?} is not in the vocabulary")]
    UnknownSymbol {
        /// The symbol, as text.
        symbol: String,
    },
    /// A data file holds something that is not a sample: named by file and line.
    #[error("{path}{}: {reason}", line.map(|line| format!(":{line}")).unwrap_or_default())]
    Data {
        /// The file.
        path: String,
        /// The line (1-based), when one is to blame.
        line: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// A checkpoint is missing, incomplete, corrupted or does not fit.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The checkpoint directory or file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Training stopped because the loss became unusable; the last good checkpoint is intact.
    #[error("training stopped at iteration {iteration}: {reason}")]
    Diverged {
        /// The iteration at which it happened.
        iteration: u64,
        /// What happened.
        reason: String,
    },
    /// The run would need more memory than there is.
    #[error("this {what} needs about {needed} of memory, more than {available} ({detail})")]
    OutOfMemory {
        /// What would need it: `run` (training), `forecast` (an open loop).
        what: &'static str,
        /// The estimate.
        needed: String,
        /// What there is.
        available: String,
        /// Where the memory goes.
        detail: String,
    },
    /// The output directory already holds a run that was not asked to be continued or replaced.
    #[error("{path} already holds a run ({what}); continue it or start over")]
    RunExists {
        /// The run directory.
        path: String,
        /// What is there.
        what: String,
    },
    /// Another process is writing to the run directory.
    #[error("{path} is in use by another training process{}", holder.map(|pid| format!(" (pid {pid})")).unwrap_or_default())]
    RunLocked {
        /// The run directory.
        path: String,
        /// The process holding the lock, when it said.
        holder: Option<u32>,
    },
    /// Training was asked to stop (a signal); the `last` checkpoint holds where it stood.
    #[error("interrupted after iteration {iteration}; checkpoint {checkpoint}")]
    Interrupted {
        /// Iterations completed.
        iteration: u64,
        /// The checkpoint written.
        checkpoint: String,
    },
    /// The model rejected an input.
    #[error(transparent)]
    Model(ModelError),
}

/// A setting the model rejects is an invalid setting like any other; other model errors keep
/// their own variant.
impl From<ModelError> for TrainingError {
    fn from(error: ModelError) -> Self {
        match error {
            ModelError::InvalidConfig { setting, reason } => {
                TrainingError::InvalidSetting { setting, reason }
            }
            other => TrainingError::Model(other),
        }
    }
}

/// Result type of the training crate.
pub type Result<T> = std::result::Result<T, TrainingError>;

/// Builds an [`TrainingError::InvalidSetting`].
pub(crate) fn invalid(setting: &'static str, reason: impl Into<String>) -> TrainingError {
    TrainingError::InvalidSetting {
        setting,
        reason: reason.into(),
    }
}

/// Builds a [`TrainingError::Checkpoint`].
pub(crate) fn checkpoint_error(
    path: &std::path::Path,
    reason: impl std::fmt::Display,
) -> TrainingError {
    TrainingError::Checkpoint {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Builds a [`TrainingError::Data`].
pub(crate) fn data_error(
    path: &std::path::Path,
    line: Option<usize>,
    reason: impl Into<String>,
) -> TrainingError {
    TrainingError::Data {
        path: path.display().to_string(),
        line,
        reason: reason.into(),
    }
}

/// Builds a [`TrainingError::Io`].
pub(crate) fn io_error(path: &std::path::Path, source: std::io::Error) -> TrainingError {
    TrainingError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A change of settings and the setting its refusal must name.
#[cfg(test)]
pub(crate) type NamedChange<C> = (fn(&mut C), &'static str);

/// Asserts that `validate` accepts the default settings and refuses each change of them with an
/// error that names the setting written beside the change.
#[cfg(test)]
pub(crate) fn assert_refusals_named<C: Default + std::fmt::Debug>(
    validate: fn(&C) -> Result<()>,
    changes: &[NamedChange<C>],
) {
    validate(&C::default()).expect("the defaults are valid");
    for (change, setting) in changes {
        let mut config = C::default();
        change(&mut config);
        match validate(&config) {
            Err(TrainingError::InvalidSetting { setting: named, .. }) => {
                assert_eq!(named, *setting, "{config:?}")
            }
            other => panic!("{config:?}: expected an error naming {setting}, got {other:?}"),
        }
    }
}
