//! The hidden-to-hidden recurrence of patterns 1 and 3: a stack of layers ([`HiddenStack`])
//! whose transition `f(h(t-1), x(t); θ)` is the cell chosen in its config ([`RecurrentCell`]):
//! the textbook's tanh layer ([`TanhRecurrence`], `h(t) = tanh(b + W h(t-1) + U x(t))`), or a
//! gated cell, LSTM or GRU with PyTorch's equations ([`LstmCell`], [`GruCell`]). Every cell
//! implements [`Cell`]; the list of cells is [`registry`]'s.
//!
//! Weights are stored in row layout, as Burn's `Linear` stores them: a batch of row vectors is
//! multiplied on the right, so the textbook's `W h(t-1)` is computed as `h(t-1) · W_stored` with
//! `W_stored = Wᵀ` (`[d_hidden, d_hidden]`), and `U x(t)` as `x(t) · U_stored` with
//! `U_stored = Uᵀ` (`[d_input, d_hidden]`). PyTorch's `weight_hh` and `weight_ih` are the
//! transposes of these.

mod bidirectional;
mod cell;
mod direction;
mod gated;
mod gru;
mod layer_inputs;
mod lstm;
pub mod registry;
pub(crate) mod stack;
mod state;
mod tanh;

use serde::{Deserialize, Serialize};

pub use bidirectional::{BidirectionalLayer, BidirectionalStack, BidirectionalStackConfig};
pub use cell::{Cell, CellFacts, CellKind, FusedLoss, LayerState, OutputLoss};
pub use cell::{PytorchParameters, Rows, Steps};
pub use direction::Direction;
pub use gru::{GruCell, GruCellConfig};
pub use lstm::{LstmCell, LstmCellConfig, LstmState};
pub use registry::{Layer, RecurrentCell};
pub use stack::{HiddenStack, HiddenStackConfig};
pub use state::HiddenState;
pub(crate) use tanh::uniform_initializer;
pub use tanh::{TanhRecurrence, TanhRecurrenceConfig};

/// How a recurrence runs over a sequence, and a window fed the model's own outputs; both give
/// the same values and gradients.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum RecurrencePath {
    /// One fused operation per layer with hand-written BPTT, padded rows too; a window fed its
    /// own outputs: the rollout decides them, then one fused pass (fast).
    #[default]
    Fused,
    /// One autodiff node per operation and step on Burn's operations: the reference.
    Unrolled,
}
