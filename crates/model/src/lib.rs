//! # unroll-model
//!
//! The three recurrent design patterns of *Deep Learning* (Goodfellow, Bengio, Courville), ch. 10,
//! as Burn modules generic over the backend. One transition function is shared over time,
//! `h(t) = f(h(t-1), x(t); θ)`, and back-propagation through time is Burn's autodiff run over the
//! unrolled graph.
//!
//! | pattern | type | equations |
//! |---|---|---|
//! | 1. hidden recurrence, output every step | [`HiddenRecurrent`] | `h(t) = tanh(b + W h(t-1) + U x(t))`, `o(t) = c + V h(t)` |
//! | 2. output recurrence only | [`OutputRecurrent`] | `h(t) = tanh(b + W y(t-1) + U x(t))`, `o(t) = c + V h(t)` |
//! | 3. hidden recurrence, one output | [`SequenceSummarizer`] | `h(t)` as in 1, `o = c + V h(τ)` |
//!
//! Shapes follow Burn: batch first, `[batch, time, features]`.
#![warn(missing_docs)]

pub mod error;
pub mod fused;
pub mod hidden_recurrent;
pub mod input;
pub mod loss;
pub mod output_recurrent;
pub mod recurrence;
pub mod sequence_summarizer;
pub mod setting;

pub use error::{ModelError, Result};
pub use fused::{RecurrenceBackend, tanh, tanh_recurrence};
pub use hidden_recurrent::{HiddenRecurrent, HiddenRecurrentConfig, RecurrentOutput};
pub use input::{IdCheck, InputEncoding, SequenceInput, StepInput};
pub use loss::step_cross_entropy;
pub use output_recurrent::{
    Feedback, FeedbackChoice, FeedbackSequence, OutputRecurrent, OutputRecurrentConfig,
    sample_classes,
};
pub use recurrence::{
    HiddenStack, HiddenStackConfig, RecurrencePath, TanhRecurrence, TanhRecurrenceConfig,
};
pub use sequence_summarizer::{SequenceSummarizer, SequenceSummarizerConfig};
