//! # unroll-training
//!
//! Training for the recurrent patterns of `unroll-model`: teacher forcing, scheduled sampling and
//! a free-running curriculum in a resumable loop. This crate is being built; today it holds no
//! public items.
#![warn(missing_docs)]

pub use unroll_model as model;
