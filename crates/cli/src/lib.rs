//! # unroll-cli
//!
//! The programs of [unroll](https://docs.rs/unroll), one module each: [`char_rnn`] (character
//! language models: train, sample, evaluate, export), [`classify`] (pattern 3: a sequence read
//! whole, one output at its end), [`forecast`] (patterns 2 and 1 on real-valued series,
//! measured open loop), [`seq2seq`] (an encoder's summary starting a decoder) and [`claims`]
//! (the chapter's claims, measured). `cargo install --path crates/cli` installs the binaries
//! `char-rnn`, `classify`, `forecast`, `seq2seq` and `claims`; `cargo run --example NAME` at the
//! workspace's root runs the same.
//!
//! The rest of this crate is what every program shares: one `error:` line per failure
//! ([`console`]), output that survives closed pipes, graceful interrupts ([`interrupt`]), a device
//! check before the first tensor ([`device`]), settings files whose unknown keys are errors
//! ([`settings`]), the flags every trainer takes ([`flags`]), run directories ([`run`]) and where
//! a task's run starts ([`task_run`]).
//!
//! Exit status: 0 on success, 1 for an error, 2 for a usage error (an unknown flag or a value
//! that does not parse), 128 + the signal's number for a run stopped by a signal.
#![warn(missing_docs)]

/// Any failure of a command, shown as one `error:` line.
pub type Error = Box<dyn std::error::Error>;

pub mod allocator;
pub mod console;
pub mod device;
pub mod flags;
pub mod help;
pub mod interrupt;
pub mod lines;
pub mod output;
pub mod program;
pub mod run;
pub mod settings;
pub mod strategy_flags;
pub mod study;
pub mod task_run;

/// Every program of this crate, by name, with its command line (as `--help` shows it): what the
/// tests that try every flag of every program walk.
pub fn programs() -> [(&'static str, clap::Command); 5] {
    [
        ("char-rnn", char_rnn::command()),
        ("classify", classify::command()),
        ("forecast", forecast::command()),
        ("seq2seq", seq2seq::command()),
        ("claims", claims::command()),
    ]
}

pub mod char_rnn;
pub mod claims;
pub mod classify;
pub mod forecast;
pub mod seq2seq;
