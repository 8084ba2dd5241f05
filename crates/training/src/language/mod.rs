//! Language modelling as a task: a character (or byte) model of a corpus, patterns 1 and 2,
//! trained on windows of the corpus with teacher forcing, scheduled sampling or the curriculum,
//! validated on the corpus's held-out end, sampled from, and measured open loop.
//!
//! - [`config`]: its settings ([`LanguageConfig`](config::LanguageConfig)) and their memory;
//! - [`batches`]: training windows, at random or as contiguous streams;
//! - [`checkpoint`]: its checkpoint, every task's with the vocabulary;
//! - [`model`]: the network over patterns 1 and 2 as a language model ([`crate::Network`]);
//! - [`task`]: the task on the shared loop ([`LanguageTask`](task::LanguageTask)), or a run
//!   in one call ([`train_language`](task::train_language));
//! - [`evaluate`]: the validation loss per symbol;
//! - [`generation`]: sampling with temperature, top-k and top-p;
//! - [`open_loop`]: the model fed its own output, scored.

pub mod batches;
pub mod checkpoint;
pub mod config;
pub mod evaluate;
pub mod generation;
pub mod model;
pub mod open_loop;
pub mod task;
