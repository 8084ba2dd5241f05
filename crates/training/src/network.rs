//! The network a task trains on patterns 1 and 2, as its settings' [`Pattern`] chose: one enum
//! for language modelling and forecasting, the variants in the chapter's order.

use burn::module::Module;
use burn::tensor::backend::Backend;
use unroll_model::{HiddenRecurrent, OutputRecurrent};

use crate::settings::Pattern;

/// Pattern 1 or pattern 2, built.
// One network lives per run: the variants' sizes do not matter, and Burn's derive takes
// modules, not boxes.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Network<B: Backend> {
    /// Pattern 1: hidden-to-hidden recurrence; the hidden state carries the past (a language
    /// model reads the symbol at `t-1`, a forecaster `x(t) = y(t-1)`).
    Hidden(HiddenRecurrent<B>),
    /// Pattern 2: output-to-hidden recurrence only; the fed-back `y(t-1)` is all that is
    /// carried, so teacher-forced training has no loop over time. A forecaster under the
    /// Gaussian NLL has a row of `W` per output, and the log-variances' rows meet zeros: only
    /// means are fed.
    Output(OutputRecurrent<B>),
}

impl<B: Backend> Network<B> {
    /// Which pattern it is.
    pub fn pattern(&self) -> Pattern {
        match self {
            Network::Hidden(_) => Pattern::Hidden,
            Network::Output(_) => Pattern::Output,
        }
    }

    /// Size of the output `o(t)`: the vocabulary of a language model.
    pub fn d_output(&self) -> usize {
        match self {
            Network::Hidden(model) => model.d_output(),
            Network::Output(model) => model.d_output(),
        }
    }
}
