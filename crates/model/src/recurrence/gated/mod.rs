//! Gated cells, the transition `f(h(t-1), x(t); θ)` of an LSTM or a GRU, with PyTorch's
//! equations and parameters, so weights move between the two without transformation but a
//! transpose (stored in row layout, as Burn's `Linear` stores them: `input_weight` is
//! `weight_ihᵀ`, `[d_input, gates · d_hidden]`; `hidden_weight` is `weight_hhᵀ`,
//! `[d_hidden, gates · d_hidden]`; `input_bias` and `hidden_bias` are `bias_ih` and `bias_hh`).
//! The gates' blocks come in PyTorch's order: LSTM `i, f, g, o`, GRU `r, z, n`.
//!
//! These are the unrolled cells, one autodiff node per operation and step on Burn's own
//! operations; they are checked against PyTorch's numbers (`scripts/pytorch_cell_fixture.py`)
//! and against finite differences.

mod gru;
mod lstm;
mod stack;

use burn::module::Param;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

pub use gru::{GruCell, GruCellConfig};
pub use lstm::{LstmCell, LstmCellConfig, LstmState};
pub use stack::{GatedCell, GatedLayer, GatedStack, GatedStackConfig, GatedState};

use super::uniform_initializer;
use crate::fused::sigmoid;
use crate::setting::at_least_one;

/// The four parameters of a gated cell.
struct GatedParameters<B: Backend> {
    input_weight: Param<Tensor<B, 2>>,
    hidden_weight: Param<Tensor<B, 2>>,
    input_bias: Param<Tensor<B, 1>>,
    hidden_bias: Param<Tensor<B, 1>>,
}

/// The parameters of a gated cell with `gates` blocks, initialised as PyTorch initialises its
/// RNNs: uniform in `[-1/√d_hidden, 1/√d_hidden]`.
fn gated_parameters<B: Backend>(
    d_input: usize,
    d_hidden: usize,
    gates: usize,
    device: &B::Device,
) -> crate::Result<GatedParameters<B>> {
    at_least_one("d_input", d_input as u64)?;
    at_least_one("d_hidden", d_hidden as u64)?;
    let init = uniform_initializer(d_hidden);
    let width = gates * d_hidden;
    Ok(GatedParameters {
        input_weight: init.init([d_input, width], device),
        hidden_weight: init.init([d_hidden, width], device),
        input_bias: init.init([width], device),
        hidden_bias: init.init([width], device),
    })
}

/// Gate block `k` of `[batch, gates · d_hidden]`: `[batch, d_hidden]`.
fn block<B: Backend>(gates: &Tensor<B, 2>, k: usize, d_hidden: usize) -> Tensor<B, 2> {
    gates.clone().narrow(1, k * d_hidden, d_hidden)
}

/// Column `t` of `[batch, time, width]`, as `[batch, width]`.
fn step_of<B: Backend>(x: &Tensor<B, 3>, t: usize) -> Tensor<B, 2> {
    let [batch, _, width] = x.dims();
    x.clone().narrow(1, t, 1).reshape([batch, width])
}
