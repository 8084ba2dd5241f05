//! What every command line of the project shares: one `error:` line per failure, output that
//! survives closed pipes, graceful interrupts, a device check before the first tensor, and
//! settings files whose unknown keys are errors.
//!
//! Exit status: 0 on success, 1 for an error, 2 for a usage error (an unknown flag or a value
//! that does not parse), 128 + the signal's number for a run stopped by a signal.

// Each example uses its own part of this module.
#![allow(dead_code)]

/// Any failure of a command, shown as one `error:` line.
pub type Error = Box<dyn std::error::Error>;

pub mod allocator;
pub mod console;
pub mod device;
pub mod flags;
pub mod interrupt;
pub mod run;
pub mod settings;
pub mod task_run;
