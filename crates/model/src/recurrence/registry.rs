//! The cells a stack can be made of, one line each: the [`RecurrentCell`] a configuration
//! names and the [`Layer`] a stack holds are written from this list, every method of both by
//! asking the cell's [`CellKind`] or [`Cell`].

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Tensor, backend::Backend};

use super::TanhRecurrenceConfig;
use super::cell::one_after_other;
use super::cell::{Cell, CellFacts, CellKind, FusedLoss, FusedPair, LayerState, OutputLoss};
use super::cell::{PytorchParameters, Rows, Steps};
use super::{GruCell, GruCellConfig, LstmCell, LstmCellConfig, TanhRecurrence};
use crate::fused::RecurrenceBackend;
use crate::fused::rollout::LayerWeights;
use crate::input::StepInput;

/// Writes [`RecurrentCell`], [`Layer`] and their methods from the list of cells.
macro_rules! cells {
    ($( $(#[doc = $doc:literal])* $variant:ident($cell:ident, $config:ident): $help:literal; )+) => {
        /// The transition `f(h(t-1), x(t); θ)` of a hidden recurrence.
        #[derive(Config, Debug, Copy, PartialEq, Eq)]
        pub enum RecurrentCell {
            $( $(#[doc = $doc])* $variant, )+
        }

        impl RecurrentCell {
            /// Every cell.
            pub const ALL: &'static [RecurrentCell] = &[$(RecurrentCell::$variant),+];

            /// What the cell is made of: its name, gates, state and memory.
            pub fn facts(self) -> CellFacts {
                match self { $(RecurrentCell::$variant => <$config as CellKind>::FACTS,)+ }
            }

            /// A layer of this cell reading `d_input` wide with `d_hidden` units, or which
            /// size is invalid.
            pub fn layer<B: Backend>(
                self,
                d_input: usize,
                d_hidden: usize,
                device: &B::Device,
            ) -> crate::Result<Layer<B>> {
                Ok(match self {
                    $(RecurrentCell::$variant => {
                        Layer::$variant($config::new(d_input, d_hidden).try_init(device)?)
                    })+
                })
            }
        }

        #[cfg(feature = "clap")]
        impl clap::ValueEnum for RecurrentCell {
            fn value_variants<'a>() -> &'a [Self] {
                RecurrentCell::ALL
            }

            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(clap::builder::PossibleValue::new(self.name()).help(match self {
                    $(RecurrentCell::$variant => $help,)+
                }))
            }
        }

        /// One layer of a stack: any cell.
        #[derive(Module, Debug)]
        pub enum Layer<B: Backend> {
            $( $(#[doc = $doc])* $variant($cell<B>), )+
        }

        impl<B: Backend> Layer<B> {
            /// The layer's cell.
            pub fn kind(&self) -> RecurrentCell {
                match self { $(Layer::$variant(_) => RecurrentCell::$variant,)+ }
            }
        }

        impl<B: Backend> Cell<B> for Layer<B> {
            fn d_hidden(&self) -> usize {
                match self { $(Layer::$variant(cell) => Cell::d_hidden(cell),)+ }
            }

            fn unrolled(&self, steps: Steps<'_, B>) -> (Vec<Tensor<B, 2>>, LayerState<B>) {
                match self { $(Layer::$variant(cell) => cell.unrolled(steps),)+ }
            }

            fn fused(&self, sequence: Rows<'_, B>) -> (Tensor<B, 3>, LayerState<B>)
            where
                B: RecurrenceBackend,
            {
                match self { $(Layer::$variant(cell) => cell.fused(sequence),)+ }
            }

            fn step(&self, input: StepInput<B>, state: LayerState<B>) -> LayerState<B>
            where
                B: RecurrenceBackend,
            {
                match self { $(Layer::$variant(cell) => Cell::step(cell, input, state),)+ }
            }

            fn fused_pair(&self, other: &Self, sequences: [Rows<'_, B>; 2]) -> FusedPair<B>
            where
                B: RecurrenceBackend,
            {
                match (self, other) {
                    $((Layer::$variant(first), Layer::$variant(second)) => {
                        first.fused_pair(second, sequences)
                    })+
                    _ => one_after_other(self, other, sequences),
                }
            }

            fn pytorch_parameters(&self) -> PytorchParameters<B> {
                match self { $(Layer::$variant(cell) => cell.pytorch_parameters(),)+ }
            }

            fn fused_loss<'a>(
                &self,
                sequence: Rows<'a, B>,
                loss: OutputLoss<'_, B>,
            ) -> FusedLoss<'a, B>
            where
                B: RecurrenceBackend,
            {
                match self { $(Layer::$variant(cell) => cell.fused_loss(sequence, loss),)+ }
            }

            fn rollout_weights(&self) -> Option<LayerWeights<B>> {
                match self { $(Layer::$variant(cell) => cell.rollout_weights(),)+ }
            }
        }
    };
}

impl RecurrentCell {
    /// The cell's name in lower case, as command lines and exports spell it.
    pub fn name(self) -> &'static str {
        self.facts().name
    }

    /// Number of gate blocks in the weights: 4 for an LSTM, 3 for a GRU, 1 for tanh.
    pub fn gates(self) -> usize {
        self.facts().gates
    }

    /// Whether the state holds a cell state `c` besides `h` (the LSTM).
    pub fn has_cell_state(self) -> bool {
        self.facts().has_cell_state
    }
}

cells! {
    /// The textbook's `h(t) = tanh(b + W h(t-1) + U x(t))`, PyTorch's `nn.RNN`.
    Tanh(TanhRecurrence, TanhRecurrenceConfig):
        "`h(t) = tanh(b + W h(t-1) + U x(t))`, the textbook's (PyTorch's `nn.RNN`)";
    /// Long short-term memory, PyTorch's `nn.LSTM`: the state is `(h, c)`.
    Lstm(LstmCell, LstmCellConfig): "Long short-term memory (PyTorch's `nn.LSTM`)";
    /// Gated recurrent unit, PyTorch's `nn.GRU`.
    Gru(GruCell, GruCellConfig): "Gated recurrent unit (PyTorch's `nn.GRU`)";
}
