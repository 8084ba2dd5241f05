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
//! | sequence to sequence (§10.4) | [`EncoderDecoder`] | 3's final state starts 1, fed `y(t-1)` |
//!
//! Shapes follow Burn: batch first, `[batch, time, features]`. Each pattern runs on any backend
//! that implements [`RecurrenceBackend`] (the cargo features `flex`, `ndarray` — both on by
//! default, with CPU kernels — `wgpu` and `cuda`), and under Burn's autodiff for training.
//!
//! ## Start
//!
//! Pattern 1 over token ids, its per-step loss, and back-propagation through time:
//!
//! ```
//! use burn::backend::{Autodiff, Flex};
//! use burn::tensor::{Int, Tensor};
//! use unroll_model::{HiddenRecurrentConfig, HiddenStackConfig, InputEncoding, SequenceInput};
//!
//! type B = Autodiff<Flex>;
//! let device = Default::default();
//! let tokens = InputEncoding::Tokens { vocab_size: 10 };
//! let hidden = HiddenStackConfig::new(tokens, 32).with_num_layers(2);
//! let model = HiddenRecurrentConfig::new(hidden, 10).init::<B>(&device);
//!
//! let inputs = Tensor::<B, 2, Int>::zeros([4, 7], &device); // [batch, time] ids
//! let out = model.forward(SequenceInput::Tokens(inputs.clone()), None)?;
//! assert_eq!(out.logits.dims(), [4, 7, 10]); // [batch, time, d_output]
//! assert_eq!(out.state.hidden.dims(), [2, 4, 32]); // h: [num_layers, batch, d_hidden]
//!
//! let targets = Tensor::<B, 2, Int>::ones([4, 7], &device);
//! let (losses, _) = model.forward_loss(SequenceInput::Tokens(inputs), None, targets)?;
//! assert_eq!(losses.dims(), [4, 7]); // −log softmax(o(t))[y(t)] per step
//! let gradients = losses.sum().backward(); // BPTT through the fused recurrence
//! assert!(model.output.weight.grad(&gradients).is_some());
//! # Ok::<(), unroll_model::ModelError>(())
//! ```
#![warn(missing_docs)]

pub mod bidirectional;
pub mod encoder_decoder;
pub mod error;
pub mod feedback;
pub mod fused;
pub mod hidden_recurrent;
pub mod ids;
pub mod input;
pub mod loss;
pub mod output_recurrent;
pub mod recurrence;
pub mod sequence_summarizer;
pub mod setting;
pub mod untied;

pub use bidirectional::{BidirectionalConfig, BidirectionalRecurrent, BidirectionalSummarizer};
pub use encoder_decoder::{EncoderDecoder, EncoderDecoderConfig};
pub use error::{ModelError, Result};
pub use feedback::{FeedbackChoice, sample_classes, sample_classes_with};
pub use fused::{FeedingPlan, RecurrenceBackend, on_pool, tanh, tanh_recurrence};
pub use hidden_recurrent::{HiddenRecurrent, HiddenRecurrentConfig, RecurrentOutput};
pub use ids::IdCheck;
pub use input::{InputEncoding, SequenceInput, StepInput};
pub use loss::step_cross_entropy;
pub use output_recurrent::{Feedback, FeedbackSequence, OutputRecurrent, OutputRecurrentConfig};
pub use recurrence::{
    BidirectionalLayer, BidirectionalStack, BidirectionalStackConfig, Cell, CellKind, Direction,
    GruCell, GruCellConfig, HiddenStack, HiddenStackConfig, HiddenState, Layer, LayerState,
    LstmCell, LstmCellConfig, LstmState, PytorchParameters, RecurrencePath, RecurrentCell,
    TanhRecurrence, TanhRecurrenceConfig,
};
pub use sequence_summarizer::{SequenceSummarizer, SequenceSummarizerConfig};
pub use untied::{UntiedPosition, UntiedSummarizer, UntiedSummarizerConfig};
