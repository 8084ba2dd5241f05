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
    /// A token or class id lies outside the vocabulary or the classes.
    #[error("{what} holds the id {id}, outside 0..{count}")]
    IdOutOfRange {
        /// Which argument holds it.
        what: &'static str,
        /// The offending id.
        id: i64,
        /// How many ids there are.
        count: usize,
    },
}

/// Result type of the model crate.
pub type Result<T> = std::result::Result<T, ModelError>;

/// Builds a [`ModelError::Shape`].
pub(crate) fn shape_error(what: &'static str, expected: String, actual: &[usize]) -> ModelError {
    ModelError::Shape {
        what,
        expected,
        actual: actual.to_vec(),
    }
}

/// An error naming `what` unless `[batch, time]` holds at least one sequence of at least one step.
pub(crate) fn require_steps(what: &'static str, [batch, time]: [usize; 2]) -> Result<()> {
    if batch == 0 || time == 0 {
        let expected = "at least one sequence of at least one step".into();
        return Err(shape_error(what, expected, &[batch, time]));
    }
    Ok(())
}
