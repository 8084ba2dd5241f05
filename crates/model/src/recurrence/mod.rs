//! The hidden-to-hidden recurrence of patterns 1 and 3: one tanh layer
//! ([`TanhRecurrence`], `h(t) = tanh(b + W h(t-1) + U x(t))`) and a stack of them
//! ([`HiddenStack`]); and the gated cells, LSTM and GRU with PyTorch's equations
//! ([`LstmCell`], [`GruCell`]), not yet part of the patterns.
//!
//! Weights are stored in row layout, as Burn's `Linear` stores them: a batch of row vectors is
//! multiplied on the right, so the textbook's `W h(t-1)` is computed as `h(t-1) · W_stored` with
//! `W_stored = Wᵀ` (`[d_hidden, d_hidden]`), and `U x(t)` as `x(t) · U_stored` with
//! `U_stored = Uᵀ` (`[d_input, d_hidden]`). PyTorch's `weight_hh` and `weight_ih` are the
//! transposes of these.

mod gated;
mod layer;
mod stack;

use burn::config::Config;

pub use gated::{
    GatedCell, GatedLayer, GatedStack, GatedStackConfig, GatedState, GruCell, GruCellConfig,
    LstmCell, LstmCellConfig, LstmState,
};
pub(crate) use layer::uniform_initializer;
pub use layer::{TanhRecurrence, TanhRecurrenceConfig};
pub use stack::{HiddenStack, HiddenStackConfig};

/// How a recurrence runs over a sequence; both give the same values and gradients.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum RecurrencePath {
    /// One fused operation per layer with a hand-written BPTT backward ([`crate::fused`]): the
    /// fast path, for padded batches too (each row stops at its own length).
    Fused,
    /// One autodiff node per operation and step: the reference the fused path is tested against.
    Unrolled,
}
