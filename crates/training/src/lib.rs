//! # unroll-training
//!
//! Training for the recurrent patterns of `unroll-model`. Built so far: the corpus and its
//! vocabulary ([`corpus`]), what the network is fed at each step ([`feeding`]), the schedules of scheduled sampling and of the free-running
//! curriculum ([`schedule`]) and PyTorch-style global-norm gradient clipping ([`clipping`]). The
//! training loop, checkpoints and feeding strategies build on these.
#![warn(missing_docs)]

pub mod clipping;
pub mod corpus;
pub mod error;
pub mod feeding;
pub mod schedule;

pub use clipping::{clip_global_norm, global_norm};
pub use corpus::{Corpus, SymbolMode, Vocabulary};
pub use error::{Result, TrainingError};
pub use feeding::{Feeding, OwnSymbol, hidden_recurrent_window, mix, output_recurrent_window};
pub use schedule::{CurriculumSchedule, SamplingSchedule};
pub use unroll_model as model;
