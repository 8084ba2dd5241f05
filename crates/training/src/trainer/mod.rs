//! Training: one loop shared by every task ([`train_task`]) and what a task brings to it
//! ([`Task`]); the tasks themselves live in their own modules (`language`, `sequence`,
//! `forecast`).
//!
//! The loop initialises or resumes the model and optimiser, runs iterations (the task's loss,
//! the divergence guard, backward, global-norm clipping, the learning-rate schedule, the
//! optimiser step), logs metrics and validates and checkpoints at intervals. A task
//! ([`Task`]) brings its model, its batches and loss, its validation and its checkpoint files,
//! and inherits exact resumption, atomic checkpoints, the divergence guard, metrics, the loss
//! plot, progress and stopping on request.

mod adam;
mod core;
mod task;

pub use crate::checkpoint::{Resumed, Snapshot};
pub use crate::settings::LoopSettings;
pub use crate::validation::Validation;
pub use adam::FusedAdam;
pub use core::{RunPlace, TaskReport, TrainingReport, train_task};
pub use task::{IterationLoss, Task, TrainingBackend};
