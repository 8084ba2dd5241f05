//! What the gated cells share: their four parameters, PyTorch's equations and initialisation
//! (stored in row layout, as Burn's `Linear` stores them: `input_weight` is `weight_ihᵀ`,
//! `[d_input, gates · d_hidden]`; `hidden_weight` is `weight_hhᵀ`, `[d_hidden, gates ·
//! d_hidden]`; `input_bias` and `hidden_bias` are `bias_ih` and `bias_hh`), so weights move
//! between the two without transformation but a transpose. The gates' blocks come in PyTorch's
//! order: LSTM `i, f, g, o`, GRU `r, z, n`.
//!
//! The unrolled loop here is the reference, one autodiff node per operation and step on Burn's
//! own operations; it is checked against PyTorch's numbers (`scripts/pytorch_cell_fixture.py`)
//! and against finite differences.

use burn::module::Param;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

use super::cell::{LayerState, Steps};
use super::uniform_initializer;
use crate::recurrence::layer_inputs::StepProjection;
use crate::setting::at_least_one;

/// The four parameters of a gated cell.
pub(super) struct GatedParameters<B: Backend> {
    pub input_weight: Param<Tensor<B, 2>>,
    pub hidden_weight: Param<Tensor<B, 2>>,
    pub input_bias: Param<Tensor<B, 1>>,
    pub hidden_bias: Param<Tensor<B, 1>>,
}

/// The parameters of a gated cell with `gates` blocks, initialised as PyTorch initialises its
/// RNNs: uniform in `[-1/√d_hidden, 1/√d_hidden]`.
pub(super) fn gated_parameters<B: Backend>(
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
pub(super) fn block<B: Backend>(gates: &Tensor<B, 2>, k: usize, d_hidden: usize) -> Tensor<B, 2> {
    gates.clone().narrow(1, k * d_hidden, d_hidden)
}

/// Column `t` of `[batch, time, width]`, as `[batch, width]`.
pub(super) fn step_of<B: Backend>(x: &Tensor<B, 3>, t: usize) -> Tensor<B, 2> {
    let [batch, _, width] = x.dims();
    x.clone().narrow(1, t, 1).reshape([batch, width])
}

/// A gated cell run over every step on Burn's operations: the input's share of the gates,
/// `W_ih x(t) + b_ih` (a row lookup for token ids), then `advance` from the state before.
///
/// - `input_affine`: `W_ihᵀ` `[d_input, gates · d_hidden]` and `b_ih`.
/// - `steps`: as for [`super::Cell::unrolled`].
pub(super) fn unrolled_gated<B: Backend>(
    (weight, bias): (Tensor<B, 2>, Tensor<B, 1>),
    Steps {
        inputs,
        initial,
        masks,
    }: Steps<'_, B>,
    advance: impl Fn(Tensor<B, 2>, LayerState<B>) -> LayerState<B>,
) -> (Vec<Tensor<B, 2>>, LayerState<B>) {
    let projection = StepProjection::new(weight, bias, inputs.first());
    let mut current = initial;
    let mut outputs = Vec::with_capacity(inputs.len());
    for (t, input) in inputs.into_iter().enumerate() {
        let projected = projection.project(input);
        let next = advance(projected, current.clone());
        current = match masks {
            Some(masks) => next.masked(&current, &masks[t]),
            None => next,
        };
        outputs.push(current.hidden.clone());
    }
    (outputs, current)
}

/// Writes what a gated cell `$cell` shares with the others from its inherent `advance_layer`
/// (one step from the input's share of the gates), `fused_layer` (its fused operation) and
/// `rollout_layer` (the weights the rollout reads): its
/// configuration `$config` (`d_input`, `d_hidden`, PyTorch's initialisation), its [`CellKind`]
/// with `$facts`, and its [`Cell`].
///
/// [`CellKind`]: super::CellKind
/// [`Cell`]: super::Cell
macro_rules! gated_cell {
    ($(#[doc = $doc:literal])* $cell:ident($config:ident, $facts:expr, $blocks:literal)) => {
        $(#[doc = $doc])*
        #[derive(burn::module::Module, Debug)]
        pub struct $cell<B: Backend> {
            #[doc = concat!("`weight_ihᵀ`, `[d_input, gates · d_hidden]`, blocks ", $blocks, ".")]
            pub input_weight: Param<Tensor<B, 2>>,
            /// `weight_hhᵀ`, `[d_hidden, gates · d_hidden]`.
            pub hidden_weight: Param<Tensor<B, 2>>,
            /// `bias_ih`, `[gates · d_hidden]`.
            pub input_bias: Param<Tensor<B, 1>>,
            /// `bias_hh`, `[gates · d_hidden]`.
            pub hidden_bias: Param<Tensor<B, 1>>,
        }

        impl<B: Backend> $cell<B> {
            /// Size of the hidden state.
            pub fn d_hidden(&self) -> usize {
                self.hidden_weight.dims()[0]
            }
        }

        #[doc = concat!("Configuration of a [`", stringify!($cell), "`].")]
        #[derive(burn::config::Config, Debug)]
        pub struct $config {
            /// Width of `x(t)`.
            pub d_input: usize,
            /// Size of the hidden state `h(t)` (and of the LSTM's cell state `c(t)`).
            pub d_hidden: usize,
        }

        impl $config {
            /// Builds the cell with PyTorch's initialisation, or says which size is invalid.
            pub fn try_init<B: Backend>(&self, device: &B::Device) -> crate::Result<$cell<B>> {
                let gates = <Self as $crate::recurrence::CellKind>::FACTS.gates;
                let parameters = gated_parameters(self.d_input, self.d_hidden, gates, device)?;
                Ok($cell {
                    input_weight: parameters.input_weight,
                    hidden_weight: parameters.hidden_weight,
                    input_bias: parameters.input_bias,
                    hidden_bias: parameters.hidden_bias,
                })
            }
        }

        crate::setting::init_or_panic!($config => $cell);

        impl $crate::recurrence::CellKind for $config {
            const FACTS: $crate::recurrence::CellFacts = $facts;
        }

        impl<B: Backend> $crate::recurrence::Cell<B> for $cell<B> {
            fn d_hidden(&self) -> usize {
                $cell::d_hidden(self)
            }

            fn unrolled(&self, steps: Steps<'_, B>) -> (Vec<Tensor<B, 2>>, LayerState<B>) {
                let affine = (self.input_weight.val(), self.input_bias.val());
                unrolled_gated(affine, steps, |projected, state| {
                    self.advance_layer(projected, state)
                })
            }

            fn fused(&self, sequence: Rows<'_, B>) -> (Tensor<B, 3>, LayerState<B>)
            where
                B: RecurrenceBackend,
            {
                self.fused_layer(sequence)
            }

            fn fused_pair(
                &self,
                other: &Self,
                sequences: [Rows<'_, B>; 2],
            ) -> $crate::recurrence::cell::FusedPair<B>
            where
                B: RecurrenceBackend,
            {
                self.fused_layer_pair(other, sequences)
            }

            fn step(&self, input: StepInput<B>, state: LayerState<B>) -> LayerState<B>
            where
                B: RecurrenceBackend,
            {
                let projected = input.project(self.input_weight.val())
                    + self.input_bias.val().unsqueeze::<2>();
                self.advance_layer(projected, state)
            }

            fn rollout_weights(&self) -> Option<$crate::fused::rollout::LayerWeights<B>> {
                Some(self.rollout_layer())
            }

            fn pytorch_parameters(&self) -> PytorchParameters<B> {
                let weights = [&self.input_weight, &self.hidden_weight];
                PytorchParameters {
                    weights: weights.map(|weight| weight.val().transpose()),
                    biases: [&self.input_bias, &self.hidden_bias].map(|bias| bias.val()),
                }
            }
        }
    };
}

pub(super) use gated_cell;
