//! Gated cells stacked as PyTorch stacks them (`nn.LSTM`/`nn.GRU` with `num_layers`): layer k's
//! outputs are layer k+1's inputs, with dropout between layers in training.

use std::ops::Bound::{Excluded, Included};

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig};
use burn::tensor::{Tensor, backend::Backend};

use super::{GruCell, GruCellConfig, LstmCell, LstmCellConfig, LstmState};
use crate::setting::{at_least_one, within};

/// Which gated cell.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum GatedCell {
    /// Long short-term memory: state `(h, c)`.
    Lstm,
    /// Gated recurrent unit: state `h`.
    Gru,
}

/// Configuration of a [`GatedStack`].
#[derive(Config, Debug)]
pub struct GatedStackConfig {
    /// The cell of every layer.
    pub cell: GatedCell,
    /// Width of the first layer's input.
    pub d_input: usize,
    /// Size of each layer's hidden state.
    pub d_hidden: usize,
    /// Number of stacked layers.
    #[config(default = 1)]
    pub num_layers: usize,
    /// Dropout on the outputs of every layer but the last, in training (as PyTorch's).
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl GatedStackConfig {
    /// Builds the stack, or says which setting is invalid.
    pub fn try_init<B: Backend>(&self, device: &B::Device) -> crate::Result<GatedStack<B>> {
        at_least_one("num_layers", self.num_layers as u64)?;
        within("dropout", self.dropout, Included(0.0), Excluded(1.0))?;
        let layers = (0..self.num_layers)
            .map(|k| {
                let d_input = if k == 0 { self.d_input } else { self.d_hidden };
                Ok(match self.cell {
                    GatedCell::Lstm => GatedLayer::Lstm(
                        LstmCellConfig::new(d_input, self.d_hidden).try_init(device)?,
                    ),
                    GatedCell::Gru => GatedLayer::Gru(
                        GruCellConfig::new(d_input, self.d_hidden).try_init(device)?,
                    ),
                })
            })
            .collect::<crate::Result<Vec<_>>>()?;
        Ok(GatedStack {
            layers,
            dropout: DropoutConfig::new(self.dropout).init(),
        })
    }

    /// Builds the stack.
    ///
    /// # Panics
    /// If a setting is invalid; use [`GatedStackConfig::try_init`] to get an error instead.
    pub fn init<B: Backend>(&self, device: &B::Device) -> GatedStack<B> {
        self.try_init(device)
            .unwrap_or_else(|error| panic!("{error}"))
    }
}

/// One layer of a [`GatedStack`].
#[derive(Module, Debug)]
pub enum GatedLayer<B: Backend> {
    /// An LSTM layer.
    Lstm(LstmCell<B>),
    /// A GRU layer.
    Gru(GruCell<B>),
}

/// The state of every layer: `h`, and `c` for LSTM layers, each `[num_layers, batch,
/// d_hidden]` (PyTorch's `h_n` and `c_n`).
#[derive(Debug, Clone)]
pub struct GatedState<B: Backend> {
    /// `h` of every layer.
    pub hidden: Tensor<B, 3>,
    /// `c` of every layer (LSTM only).
    pub cell: Option<Tensor<B, 3>>,
}

/// Stacked gated cells with dropout between layers.
#[derive(Module, Debug)]
pub struct GatedStack<B: Backend> {
    /// The layers, bottom first.
    pub layers: Vec<GatedLayer<B>>,
    /// Dropout applied to each layer's outputs before they feed the next layer.
    pub dropout: Dropout,
}

/// Layer `k` of `[num_layers, batch, d_hidden]`, as `[batch, d_hidden]`.
fn layer_of<B: Backend>(state: &Tensor<B, 3>, k: usize) -> Tensor<B, 2> {
    let [_, batch, d_hidden] = state.dims();
    state.clone().narrow(0, k, 1).reshape([batch, d_hidden])
}

impl<B: Backend> GatedStack<B> {
    /// Size of each layer's hidden state.
    pub fn d_hidden(&self) -> usize {
        match &self.layers[0] {
            GatedLayer::Lstm(cell) => cell.d_hidden(),
            GatedLayer::Gru(cell) => cell.d_hidden(),
        }
    }

    /// Runs every layer over `x` (`[batch, time, d_input]`) from `state` (zeros when `None`).
    /// Returns the top layer's `h(1) … h(τ)`, `[batch, time, d_hidden]`, and the final state of
    /// every layer.
    pub fn forward(
        &self,
        x: Tensor<B, 3>,
        state: Option<GatedState<B>>,
    ) -> (Tensor<B, 3>, GatedState<B>) {
        let mut sequence = x;
        let (mut hidden, mut cells) = (Vec::new(), Vec::new());
        for (k, layer) in self.layers.iter().enumerate() {
            if k > 0 {
                sequence = self.dropout.forward(sequence);
            }
            let h0 = state.as_ref().map(|s| layer_of(&s.hidden, k));
            sequence = match layer {
                GatedLayer::Lstm(cell) => {
                    let initial = h0.map(|h| LstmState {
                        hidden: h,
                        cell: state
                            .as_ref()
                            .and_then(|s| s.cell.as_ref())
                            .map(|c| layer_of(c, k))
                            .expect("an LSTM stack's state holds c"),
                    });
                    let (outputs, last) = cell.forward(sequence, initial);
                    hidden.push(last.hidden.unsqueeze_dim(0));
                    cells.push(last.cell.unsqueeze_dim(0));
                    outputs
                }
                GatedLayer::Gru(cell) => {
                    let (outputs, last) = cell.forward(sequence, h0);
                    hidden.push(last.unsqueeze_dim(0));
                    outputs
                }
            };
        }
        let state = GatedState {
            hidden: Tensor::cat(hidden, 0),
            cell: (!cells.is_empty()).then(|| Tensor::cat(cells, 0)),
        };
        (sequence, state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    #[test]
    fn nonsense_is_named_and_states_have_every_layer() {
        let device = Default::default();
        let named = |config: GatedStackConfig| match config.try_init::<NdArray>(&device) {
            Err(crate::ModelError::InvalidConfig { setting, .. }) => setting,
            other => panic!("expected an invalid setting, got {other:?}"),
        };
        let base = || GatedStackConfig::new(GatedCell::Lstm, 3, 4);
        assert_eq!(named(base().with_num_layers(0)), "num_layers");
        assert_eq!(named(base().with_dropout(1.0)), "dropout");
        assert_eq!(
            named(GatedStackConfig::new(GatedCell::Gru, 0, 4)),
            "d_input"
        );
        let x = Tensor::<NdArray, 3>::ones([2, 5, 3], &device);
        let lstm = base().with_num_layers(3).init::<NdArray>(&device);
        let (outputs, state) = lstm.forward(x.clone(), None);
        assert_eq!(outputs.dims(), [2, 5, 4]);
        assert_eq!(state.hidden.dims(), [3, 2, 4]);
        assert_eq!(state.cell.map(|c| c.dims()), Some([3, 2, 4]));
        let gru = GatedStackConfig::new(GatedCell::Gru, 3, 4)
            .with_num_layers(2)
            .init::<NdArray>(&device);
        let (_, state) = gru.forward(x, None);
        assert_eq!(state.hidden.dims(), [2, 2, 4]);
        assert!(state.cell.is_none());
    }
}
