//! Language modelling as a task: a character (or byte) model of a corpus, patterns 1 and 2,
//! trained on windows of the corpus with teacher forcing, scheduled sampling or the curriculum,
//! validated on the corpus's held-out end, sampled from, and measured open loop.
//!
//! - [`config`]: its settings ([`TrainingConfig`](config::TrainingConfig), the strategies);
//! - [`batches`]: training windows, at random or as contiguous streams;
//! - [`model`]: the network over patterns 1 and 2 as a language model ([`crate::Network`]);
//! - [`task`]: the task on the shared loop ([`train`](task::train));
//! - [`evaluate`]: the validation loss per symbol;
//! - [`generation`]: sampling with temperature, top-k and top-p;
//! - [`open_loop`]: the model fed its own output, scored.

pub mod batches;
pub mod config;
pub mod evaluate;
pub mod generation;
pub mod model;
pub mod open_loop;
pub mod task;
