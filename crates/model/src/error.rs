//! The one error type of the model crate.

/// What can go wrong when building or running a recurrent model.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum ModelError {
    /// A configuration value is out of its valid range.
    #[error("invalid setting `{setting}`: {reason}")]
    InvalidConfig {
        /// Name of the offending setting, as spelled in the config.
        setting: &'static str,
        /// Why the value is rejected.
        reason: String,
    },
    /// A tensor handed to the model does not have the shape the model expects.
    #[error("shape mismatch for {what}: expected {expected}, got {actual:?}")]
    Shape {
        /// Which argument is wrong.
        what: &'static str,
        /// The expected shape, in words (`[batch, time, 16]`).
        expected: String,
        /// The shape that was given.
        actual: Vec<usize>,
    },
    /// The kind of input (token ids or dense features) does not match the model's input encoding.
    #[error("input kind mismatch: the model expects {expected}, got {actual}")]
    InputKind {
        /// What the model was configured for.
        expected: &'static str,
        /// What it received.
        actual: &'static str,
    },
}

/// Result type of the model crate.
pub type Result<T> = std::result::Result<T, ModelError>;

/// Checks that `value > 0`, naming the setting when it is not.
pub(crate) fn require_positive(setting: &'static str, value: usize) -> Result<()> {
    if value == 0 {
        return Err(ModelError::InvalidConfig {
            setting,
            reason: "must be at least 1".into(),
        });
    }
    Ok(())
}

/// Checks that a probability lies in `[0, 1)`.
pub(crate) fn require_dropout(setting: &'static str, value: f64) -> Result<()> {
    if !(0.0..1.0).contains(&value) {
        return Err(ModelError::InvalidConfig {
            setting,
            reason: format!("must lie in [0, 1), got {value}"),
        });
    }
    Ok(())
}

/// Builds a [`ModelError::Shape`].
pub(crate) fn shape_error(what: &'static str, expected: String, actual: &[usize]) -> ModelError {
    ModelError::Shape {
        what,
        expected,
        actual: actual.to_vec(),
    }
}
