//! # unroll-training
//!
//! Trains the recurrent patterns of `unroll-model` on any autodiff backend: one loop every task
//! shares, and the tasks.
//!
//! - [`trainer`]: the loop ([`train_task`]) and what a task brings to it ([`Task`]): truncated
//!   BPTT over windows, global-norm clipping ([`clipping`]), learning-rate schedules, validation,
//!   atomic checkpoints ([`checkpoint`]) and exact resumption, run directories that are locked
//!   and never overwritten by accident ([`run_directory`]), durable writes ([`durable`]), a memory
//!   estimate checked before allocating ([`memory`]), metrics as JSON lines and a loss-curve PNG
//!   ([`metrics`]), progress on the console ([`progress`]); the settings every task shares
//!   ([`settings`]) and what a validation is ([`validation`]);
//! - [`corpus`]: a UTF-8 text (or bytes) becomes a sorted vocabulary and a sequence of ids, split
//!   with the last 10 % for validation; [`feeding`] and [`schedule`]: teacher forcing,
//!   scheduled sampling and the free-running curriculum; [`export`](mod@export): safetensors in
//!   PyTorch's layout, or Burnpack.
//!
//! The tasks: [`language`] trains patterns 1 and 2 as character language models (sampling with
//! temperature, top-k, top-p or argmax; open-loop scores: exact answers to addition prompts,
//! n-gram divergence of generated text), [`sequence`] pattern 3 as a sequence classifier or
//! regressor on a user's data, [`forecast`] patterns 2 and 1 on real-valued series, measured open
//! loop, [`seq2seq`] an encoder whose summary starts a decoder (teacher forced and open-loop
//! scores, greedy decoding and beam search). A task of your own plugs into the same loop through [`Task`] ([`train_task`]).
//!
//! ## Start
//!
//! A character model trained on a text, then sampled:
//!
//! ```
//! use std::ops::ControlFlow;
//! use burn::backend::{Autodiff, Flex};
//! use unroll_training::{Corpus, GenerationRequest, SamplingOptions, Silent, SymbolMode};
//! use unroll_training::{LanguageConfig, LanguageRun, generate, train_language};
//!
//! let text = "the cat sat on the mat. ".repeat(40);
//! let corpus = Corpus::from_bytes(text.as_bytes(), SymbolMode::Text)?;
//! let mut config = LanguageConfig { window: 16, batch: 8, iterations: 20, ..Default::default() };
//! config.model.hidden = 32;
//! let out = std::env::temp_dir().join(format!("unroll-start-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&out);
//! let run = LanguageRun::<Autodiff<Flex>>::new(config, &corpus, &out, Default::default(), "flex");
//! let report = train_language(run, &mut Silent)?; // checkpoints, metrics.jsonl and loss.png in `out`
//! println!("validation: {:.3} nats/char", report.validation.nats_per_symbol);
//!
//! let request = GenerationRequest { prime: "the ", length: 20, options: SamplingOptions::default(), seed: 1 };
//! let text = generate(&report.model, &corpus.vocabulary, &request, &Default::default(), |_| {
//!     ControlFlow::Continue(())
//! })?;
//! assert_eq!(text.chars().count(), 20);
//! # std::fs::remove_dir_all(&out).unwrap();
//! # Ok::<(), unroll_training::TrainingError>(())
//! ```
#![warn(missing_docs)]

pub mod buckets;
pub mod checkpoint;
pub mod clipping;
pub mod corpus;
pub mod durable;
pub mod error;
pub mod export;
pub mod feeding;
pub mod forecast;
pub mod language;
pub mod memory;
pub mod metrics;
pub mod network;
pub mod plot;
pub mod progress;
pub mod run_directory;
pub mod schedule;
pub mod seeds;
pub mod seq2seq;
pub mod sequence;
pub mod settings;
pub mod task_checkpoint;
pub mod trainer;
pub mod validation;

pub use checkpoint::Which;
pub use clipping::{clip_global_norm, global_norm};
pub use corpus::{Corpus, DataSource, SymbolMode, Vocabulary};
pub use error::{Result, TrainingError};
pub use export::{ExportFormat, export};
pub use feeding::{
    Feeding, FeedingStreams, Strategy, hidden_recurrent_stepwise, hidden_recurrent_window,
    output_recurrent_stepwise, output_recurrent_window,
};
pub use language::checkpoint::{LanguageCheckpoint, LanguageFiles};
pub use language::config::{Batching, LanguageConfig};
pub use language::evaluate::{LanguageScores, score_language};
pub use language::generation::{GenerationRequest, SamplingOptions, generate};
pub use language::task::{LanguageReport, LanguageRun, LanguageTask, train_language};
pub use network::Network;
pub use progress::{ConsoleReporter, Observer, Silent};
pub use schedule::{CurriculumSchedule, SamplingSchedule};
pub use settings::{LearningRateSchedule, LoopSettings, ModelSettings, OptimizerKind, Pattern};
pub use trainer::{
    FusedAdam, RunPlace, Task, TrainingBackend, TrainingReport, Validation, train_task,
};
pub use unroll_model as model;
/// How the model's own prediction becomes the fed-back symbol (`sample` or `argmax`).
pub use unroll_model::FeedbackChoice;
/// Per row and step of a window: the truth or the model's own prediction, and the sampling draws.
pub use unroll_model::FeedingPlan;
/// How a window runs: one path enum for the recurrence and for windows fed the model's own
/// outputs (the model crate's).
pub use unroll_model::RecurrencePath;
#[cfg(feature = "clap")]
pub use {
    feeding::StrategyKind, schedule::SamplingScheduleKind, settings::LearningRateScheduleKind,
};
