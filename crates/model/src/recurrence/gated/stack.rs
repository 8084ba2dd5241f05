//! Gated cells stacked as PyTorch stacks them (`nn.LSTM`/`nn.GRU` with `num_layers`): layer k's
//! outputs are layer k+1's inputs, with dropout between layers in training.

use std::ops::Bound::{Excluded, Included};

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig};
use burn::tensor::{Tensor, backend::Backend};

use super::{GruCell, GruCellConfig, LstmCell, LstmCellConfig, LstmState};
use crate::fused::{RecurrenceBackend, gru_recurrence, lstm_recurrence};
use crate::input::{SequenceInput, StepInput};
use crate::recurrence::layer_inputs::next_layer_inputs;
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
}

crate::setting::init_or_panic!(GatedStackConfig => GatedStack);

/// Stacked gated cells with dropout between layers.
#[derive(Module, Debug)]
pub struct GatedStack<B: Backend> {
    /// The layers, bottom first.
    pub layers: Vec<GatedLayer<B>>,
    /// Dropout applied to each layer's outputs before they feed the next layer.
    pub dropout: Dropout,
}

/// One layer of a [`GatedStack`].
#[derive(Module, Debug)]
pub enum GatedLayer<B: Backend> {
    /// An LSTM layer.
    Lstm(LstmCell<B>),
    /// A GRU layer.
    Gru(GruCell<B>),
}

impl<B: Backend> GatedLayer<B> {
    /// Size of the hidden state.
    pub fn d_hidden(&self) -> usize {
        match self {
            GatedLayer::Lstm(cell) => cell.d_hidden(),
            GatedLayer::Gru(cell) => cell.d_hidden(),
        }
    }

    /// `W_ihᵀ`, `[d_input, gates · d_hidden]`, and `b_ih`, `[gates · d_hidden]`.
    pub fn input_affine(&self) -> (Tensor<B, 2>, Tensor<B, 1>) {
        match self {
            GatedLayer::Lstm(cell) => (cell.input_weight.val(), cell.input_bias.val()),
            GatedLayer::Gru(cell) => (cell.input_weight.val(), cell.input_bias.val()),
        }
    }

    /// `W_hhᵀ`, `[d_hidden, gates · d_hidden]`, and `b_hh`, `[gates · d_hidden]`.
    pub fn hidden_affine(&self) -> (Tensor<B, 2>, Tensor<B, 1>) {
        match self {
            GatedLayer::Lstm(cell) => (cell.hidden_weight.val(), cell.hidden_bias.val()),
            GatedLayer::Gru(cell) => (cell.hidden_weight.val(), cell.hidden_bias.val()),
        }
    }

    /// One step from the input's share of the gates (`[batch, gates · d_hidden]`).
    fn advance(&self, projected: Tensor<B, 2>, state: LayerState<B>) -> LayerState<B> {
        match self {
            GatedLayer::Lstm(cell) => {
                let next = cell.advance(
                    projected,
                    LstmState {
                        hidden: state.hidden,
                        cell: state.cell.expect("an LSTM layer's state holds c"),
                    },
                );
                LayerState {
                    hidden: next.hidden,
                    cell: Some(next.cell),
                }
            }
            GatedLayer::Gru(cell) => LayerState {
                hidden: cell.advance(projected, state.hidden),
                cell: None,
            },
        }
    }
}

/// One layer's state: `h`, and `c` for an LSTM layer, each `[batch, d_hidden]`.
#[derive(Debug, Clone)]
struct LayerState<B: Backend> {
    hidden: Tensor<B, 2>,
    cell: Option<Tensor<B, 2>>,
}

impl<B: Backend> LayerState<B> {
    /// `self` where `mask` (`[batch, 1]`) is 1, `before` where it is 0: padding carries the
    /// state through unchanged.
    fn masked(self, before: &LayerState<B>, mask: &Tensor<B, 2>) -> LayerState<B> {
        let blend =
            |next: Tensor<B, 2>, old: Tensor<B, 2>| old.clone() + (next - old) * mask.clone();
        LayerState {
            hidden: blend(self.hidden, before.hidden.clone()),
            cell: self
                .cell
                .zip(before.cell.clone())
                .map(|(next, old)| blend(next, old)),
        }
    }
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

impl<B: Backend> GatedState<B> {
    /// Zeros for `num_layers` layers of `cell`, `[num_layers, batch, d_hidden]` each.
    pub fn zeros(
        cell: GatedCell,
        num_layers: usize,
        batch: usize,
        d_hidden: usize,
        device: &B::Device,
    ) -> Self {
        let zeros = || Tensor::zeros([num_layers, batch, d_hidden], device);
        GatedState {
            hidden: zeros(),
            cell: (cell == GatedCell::Lstm).then(zeros),
        }
    }

    /// The state as one tensor: `h` of every layer, then `c` of every layer for an LSTM,
    /// `[num_layers, batch, d_hidden]` or `[2 · num_layers, batch, d_hidden]`. This is the
    /// state the patterns carry from window to window and checkpoints store.
    pub fn packed(self) -> Tensor<B, 3> {
        match self.cell {
            Some(cell) => Tensor::cat(vec![self.hidden, cell], 0),
            None => self.hidden,
        }
    }

    /// The state of a [`GatedState::packed`] tensor, for `cell`.
    pub fn unpacked(packed: Tensor<B, 3>, cell: GatedCell) -> Self {
        match cell {
            GatedCell::Lstm => {
                let layers = packed.dims()[0] / 2;
                GatedState {
                    hidden: packed.clone().narrow(0, 0, layers),
                    cell: Some(packed.narrow(0, layers, layers)),
                }
            }
            GatedCell::Gru => GatedState {
                hidden: packed,
                cell: None,
            },
        }
    }

    fn layer(&self, k: usize) -> LayerState<B> {
        LayerState {
            hidden: layer_of(&self.hidden, k),
            cell: self.cell.as_ref().map(|c| layer_of(c, k)),
        }
    }

    fn of_layers(layers: Vec<LayerState<B>>) -> Self {
        let (hidden, cells): (Vec<_>, Vec<_>) = layers
            .into_iter()
            .map(|state| (state.hidden, state.cell))
            .unzip();
        let cells: Option<Vec<_>> = cells.into_iter().collect();
        GatedState {
            hidden: Tensor::stack(hidden, 0),
            cell: cells.map(|cells| Tensor::stack(cells, 0)),
        }
    }
}

/// Layer `k` of `[num_layers, batch, d_hidden]`, as `[batch, d_hidden]`.
fn layer_of<B: Backend>(state: &Tensor<B, 3>, k: usize) -> Tensor<B, 2> {
    let [_, batch, d_hidden] = state.dims();
    state.clone().narrow(0, k, 1).reshape([batch, d_hidden])
}

impl<B: Backend> GatedStack<B> {
    /// Size of each layer's hidden state.
    pub fn d_hidden(&self) -> usize {
        self.layers[0].d_hidden()
    }

    /// The cell of every layer.
    pub fn cell(&self) -> GatedCell {
        match self.layers[0] {
            GatedLayer::Lstm(_) => GatedCell::Lstm,
            GatedLayer::Gru(_) => GatedCell::Gru,
        }
    }

    /// Runs every layer over the steps of a sequence, step by step on Burn's own operations.
    ///
    /// - `inputs`: one entry per step, `[batch]` token ids (the one-hot input, as a row
    ///   lookup) or `[batch, d_input]` features.
    /// - `state`: every layer's state before the first step.
    /// - `masks`: optional, one `[batch, 1]` tensor per step, 1 on real steps and 0 on padding,
    ///   where the state is carried through unchanged.
    ///
    /// Returns the top layer's `h(1) … h(τ)`, each `[batch, d_hidden]`, and the final state.
    pub fn forward_steps(
        &self,
        inputs: Vec<StepInput<B>>,
        state: GatedState<B>,
        masks: Option<&[Tensor<B, 2>]>,
    ) -> (Vec<Tensor<B, 2>>, GatedState<B>) {
        let mut finals = Vec::with_capacity(self.layers.len());
        let mut below = inputs;
        let mut outputs = Vec::new();
        for (k, layer) in self.layers.iter().enumerate() {
            let (weight, bias) = layer.input_affine();
            let bias = bias.unsqueeze::<2>();
            // For token ids, adding b_ih to every row of W_ih once makes each step one lookup.
            let token_table = match below.first() {
                Some(StepInput::Tokens(_)) => Some(weight.clone() + bias.clone()),
                _ => None,
            };
            let mut current = state.layer(k);
            outputs = Vec::with_capacity(below.len());
            for (t, input) in below.into_iter().enumerate() {
                let projected = match (input, &token_table) {
                    (StepInput::Tokens(ids), Some(table)) => table.clone().select(0, ids),
                    (input, _) => input.project(weight.clone()) + bias.clone(),
                };
                let next = layer.advance(projected, current.clone());
                current = match masks {
                    Some(masks) => next.masked(&current, &masks[t]),
                    None => next,
                };
                outputs.push(current.hidden.clone());
            }
            finals.push(current);
            below = next_layer_inputs(&self.dropout, &outputs, k + 1 == self.layers.len());
        }
        (outputs, GatedState::of_layers(finals))
    }
}

impl<B: RecurrenceBackend> GatedStack<B> {
    /// Runs every layer over a sequence by the fused operations: per layer, the input's share
    /// of the gates for all steps at once (one product, or a lookup for token ids), then one
    /// fused recurrence with its hand-written BPTT ([`crate::fused::lstm`],
    /// [`crate::fused::gru`]).
    ///
    /// - `input`: `[batch, time]` ids or `[batch, time, d_input]` features.
    /// - `state`: every layer's state before the first step.
    /// - `lengths`: optional, each row's number of real steps, `[batch]`, each in `1..=time`;
    ///   past its length a row's state is carried unchanged.
    ///
    /// Returns the top layer's `h(1) … h(τ)`, time-major `[time, batch, d_hidden]`, and the
    /// final state.
    pub fn forward_fused(
        &self,
        input: SequenceInput<B>,
        state: GatedState<B>,
        lengths: Option<&[usize]>,
    ) -> (Tensor<B, 3>, GatedState<B>) {
        let time = input.batch_time()[1];
        let (outputs, state) = self.forward_fused_outputs(input, state, lengths);
        (outputs.narrow(0, 0, time), state)
    }

    /// As [`GatedStack::forward_fused`], but the top layer's output as its fused operation
    /// returns it: `h(1) … h(τ)`, then for the LSTM `c(τ)` (`[time + 1, batch, d_hidden]`; the
    /// GRU's is `[time, batch, d_hidden]`). A consumer of the first `time` rows alone (the fused
    /// output layer and loss) then takes them without a copy, and without the backward pass
    /// building a padded copy of their gradient.
    pub(crate) fn forward_fused_outputs(
        &self,
        input: SequenceInput<B>,
        state: GatedState<B>,
        lengths: Option<&[usize]>,
    ) -> (Tensor<B, 3>, GatedState<B>) {
        let [batch, time] = input.batch_time();
        let d_hidden = self.d_hidden();
        let mut rows = input.into_time_major_rows();
        let mut finals = Vec::with_capacity(self.layers.len());
        for (k, layer) in self.layers.iter().enumerate() {
            let initial = state.layer(k);
            let (layer_states, last) = match layer {
                GatedLayer::Lstm(cell) => {
                    let bias = cell.input_bias.val() + cell.hidden_bias.val();
                    let projected = rows.affine(cell.input_weight.val(), bias).reshape([
                        time,
                        batch,
                        4 * d_hidden,
                    ]);
                    let both = lstm_recurrence(
                        projected,
                        initial.hidden,
                        initial.cell.expect("an LSTM layer's state holds c"),
                        cell.hidden_weight.val(),
                        lengths,
                    );
                    let last = |t: usize| both.clone().narrow(0, t, 1).reshape([batch, d_hidden]);
                    let final_state = LayerState {
                        hidden: last(time - 1),
                        cell: Some(last(time)),
                    };
                    (both, final_state)
                }
                GatedLayer::Gru(cell) => {
                    let projected = rows
                        .affine(cell.input_weight.val(), cell.input_bias.val())
                        .reshape([time, batch, 3 * d_hidden]);
                    let states = gru_recurrence(
                        projected,
                        initial.hidden,
                        cell.hidden_weight.val(),
                        cell.hidden_bias.val(),
                        lengths,
                    );
                    let final_state = LayerState {
                        hidden: states
                            .clone()
                            .narrow(0, time - 1, 1)
                            .reshape([batch, d_hidden]),
                        cell: None,
                    };
                    (states, final_state)
                }
            };
            finals.push(last);
            if k + 1 == self.layers.len() {
                return (layer_states, GatedState::of_layers(finals));
            }
            let below = layer_states.narrow(0, 0, time);
            rows = StepInput::Dense(
                self.dropout
                    .forward(below)
                    .reshape([time * batch, d_hidden]),
            );
        }
        unreachable!("a gated stack has at least one layer")
    }
}

impl<B: Backend> GatedStack<B> {
    /// One step of every layer from `x(t)` (`[batch]` ids or `[batch, d_input]` features);
    /// returns the top layer's `h(t)`, `[batch, d_hidden]`, and the new state. `dropout` says
    /// whether the stack's dropout acts between layers (it does nothing outside training).
    pub fn step(
        &self,
        input: StepInput<B>,
        state: GatedState<B>,
        dropout: bool,
    ) -> (Tensor<B, 2>, GatedState<B>) {
        let mut below = input;
        let mut finals = Vec::with_capacity(self.layers.len());
        for (k, layer) in self.layers.iter().enumerate() {
            let (weight, bias) = layer.input_affine();
            let projected = below.project(weight) + bias.unsqueeze::<2>();
            let next = layer.advance(projected, state.layer(k));
            let output = next.hidden.clone();
            below = StepInput::Dense(if dropout {
                self.dropout.forward(output)
            } else {
                output
            });
            finals.push(next);
        }
        let top = finals.last().expect("at least one layer").hidden.clone();
        (top, GatedState::of_layers(finals))
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
