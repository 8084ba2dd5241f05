//! The hidden-to-hidden recurrence of patterns 1 and 3: a stack of layers ([`HiddenStack`])
//! whose transition `f(h(t-1), x(t); θ)` is the cell chosen in its config ([`RecurrentCell`]):
//! the textbook's tanh layer ([`TanhRecurrence`], `h(t) = tanh(b + W h(t-1) + U x(t))`), or a
//! gated cell, LSTM or GRU with PyTorch's equations ([`LstmCell`], [`GruCell`], stacked as a
//! [`GatedStack`]).
//!
//! Weights are stored in row layout, as Burn's `Linear` stores them: a batch of row vectors is
//! multiplied on the right, so the textbook's `W h(t-1)` is computed as `h(t-1) · W_stored` with
//! `W_stored = Wᵀ` (`[d_hidden, d_hidden]`), and `U x(t)` as `x(t) · U_stored` with
//! `U_stored = Uᵀ` (`[d_input, d_hidden]`). PyTorch's `weight_hh` and `weight_ih` are the
//! transposes of these.

mod gated;
mod layer;
mod layer_inputs;
mod stack;

use burn::config::Config;

pub use gated::{
    GatedCell, GatedLayer, GatedStack, GatedStackConfig, GatedState, GruCell, GruCellConfig,
    LstmCell, LstmCellConfig, LstmState,
};
pub(crate) use layer::uniform_initializer;
pub use layer::{TanhRecurrence, TanhRecurrenceConfig};
pub use stack::{HiddenStack, HiddenStackConfig};

/// The transition `f(h(t-1), x(t); θ)` of a hidden recurrence.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum RecurrentCell {
    /// The textbook's `h(t) = tanh(b + W h(t-1) + U x(t))`, PyTorch's `nn.RNN`.
    Tanh,
    /// Long short-term memory, PyTorch's `nn.LSTM`: the state is `(h, c)`.
    Lstm,
    /// Gated recurrent unit, PyTorch's `nn.GRU`.
    Gru,
}

// By hand: burn's `Config` derive copies the variants' attributes where clap's would not apply.
#[cfg(feature = "clap")]
impl clap::ValueEnum for RecurrentCell {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        use clap::builder::PossibleValue;
        Some(match self {
            RecurrentCell::Tanh => PossibleValue::new("tanh")
                .help("`h(t) = tanh(b + W h(t-1) + U x(t))`, the textbook's (PyTorch's `nn.RNN`)"),
            RecurrentCell::Lstm => {
                PossibleValue::new("lstm").help("Long short-term memory (PyTorch's `nn.LSTM`)")
            }
            RecurrentCell::Gru => {
                PossibleValue::new("gru").help("Gated recurrent unit (PyTorch's `nn.GRU`)")
            }
        })
    }
}

impl RecurrentCell {
    /// Every cell.
    pub const ALL: [RecurrentCell; 3] =
        [RecurrentCell::Tanh, RecurrentCell::Lstm, RecurrentCell::Gru];

    /// The gated cell, or `None` for tanh.
    pub fn gated(self) -> Option<GatedCell> {
        match self {
            RecurrentCell::Tanh => None,
            RecurrentCell::Lstm => Some(GatedCell::Lstm),
            RecurrentCell::Gru => Some(GatedCell::Gru),
        }
    }

    /// Rows of the state tensor per layer: 2 for an LSTM (`h`, then `c`), 1 otherwise.
    pub fn state_rows_per_layer(self) -> usize {
        match self {
            RecurrentCell::Lstm => 2,
            RecurrentCell::Tanh | RecurrentCell::Gru => 1,
        }
    }

    /// Number of gate blocks in the weights: 4 for an LSTM, 3 for a GRU, 1 for tanh.
    pub fn gates(self) -> usize {
        match self {
            RecurrentCell::Tanh => 1,
            RecurrentCell::Lstm => 4,
            RecurrentCell::Gru => 3,
        }
    }

    /// The cell's name in lower case, as command lines and exports spell it.
    pub fn name(self) -> &'static str {
        match self {
            RecurrentCell::Tanh => "tanh",
            RecurrentCell::Lstm => "lstm",
            RecurrentCell::Gru => "gru",
        }
    }
}

/// How a recurrence runs over a sequence; both give the same values and gradients.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum RecurrencePath {
    /// One fused operation per layer with a hand-written BPTT backward ([`crate::fused`]): the
    /// fast path, for padded batches too (each row stops at its own length).
    Fused,
    /// One autodiff node per operation and step: the reference the fused path is tested against.
    Unrolled,
}
