//! The state of a stack at its public boundary: `h` of every layer, and `c` of every layer for
//! a cell that has one, named rather than packed, so that it can be handed on (from window to
//! window, from an encoder to a decoder) without knowing how a cell lays it out.

use burn::tensor::{Tensor, backend::Backend};

use super::cell::LayerState;

/// The state of every layer of a stack: PyTorch's `h_n` and, for the LSTM, `c_n`, each
/// `[num_layers, batch, d_hidden]`.
#[derive(Debug, Clone)]
pub struct HiddenState<B: Backend> {
    /// `h` of every layer, `[num_layers, batch, d_hidden]`.
    pub hidden: Tensor<B, 3>,
    /// `c` of every layer, `[num_layers, batch, d_hidden]`, for a cell with a cell state.
    pub cell: Option<Tensor<B, 3>>,
}

impl<B: Backend> HiddenState<B> {
    /// Zeros for `num_layers` layers, with a cell state when `with_cell` (the LSTM).
    pub fn zeros(
        num_layers: usize,
        batch: usize,
        d_hidden: usize,
        with_cell: bool,
        device: &B::Device,
    ) -> Self {
        let zeros = || Tensor::zeros([num_layers, batch, d_hidden], device);
        HiddenState {
            hidden: zeros(),
            cell: with_cell.then(zeros),
        }
    }

    /// `[num_layers, batch, d_hidden]`, the shape of `h` (and of `c`).
    pub fn dims(&self) -> [usize; 3] {
        self.hidden.dims()
    }

    /// The top layer's `h`, `[batch, d_hidden]`: what an output layer reads.
    pub fn top_hidden(&self) -> Tensor<B, 2> {
        let [layers, batch, d_hidden] = self.dims();
        self.hidden
            .clone()
            .narrow(0, layers - 1, 1)
            .reshape([batch, d_hidden])
    }

    /// The state cut from the graph: what carries over a window boundary in truncated BPTT.
    pub fn detach(self) -> Self {
        HiddenState {
            hidden: self.hidden.detach(),
            cell: self.cell.map(Tensor::detach),
        }
    }

    /// The state as one tensor: `h` of every layer, then `c` of every layer when there is one,
    /// `[num_layers, batch, d_hidden]` or `[2 · num_layers, batch, d_hidden]`: how checkpoints
    /// store a carried state.
    pub fn packed(self) -> Tensor<B, 3> {
        match self.cell {
            Some(cell) => Tensor::cat(vec![self.hidden, cell], 0),
            None => self.hidden,
        }
    }

    /// The state of a [`HiddenState::packed`] tensor, which holds `c` when `with_cell`.
    pub fn from_packed(packed: Tensor<B, 3>, with_cell: bool) -> Self {
        if !with_cell {
            return HiddenState {
                hidden: packed,
                cell: None,
            };
        }
        let layers = packed.dims()[0] / 2;
        HiddenState {
            hidden: packed.clone().narrow(0, 0, layers),
            cell: Some(packed.narrow(0, layers, layers)),
        }
    }

    /// Layer `k`'s state.
    pub fn layer(&self, k: usize) -> LayerState<B> {
        LayerState {
            hidden: layer_of(&self.hidden, k),
            cell: self.cell.as_ref().map(|c| layer_of(c, k)),
        }
    }

    /// The state of a stack from each layer's, bottom first.
    pub fn of_layers(layers: Vec<LayerState<B>>) -> Self {
        let (hidden, cells): (Vec<_>, Vec<_>) = layers
            .into_iter()
            .map(|state| (state.hidden, state.cell))
            .unzip();
        let cells: Option<Vec<_>> = cells.into_iter().collect();
        HiddenState {
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
