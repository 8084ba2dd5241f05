//! A character (or byte) language model built on pattern 1 or pattern 2.

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};
use unroll_model::{
    Feedback, HiddenRecurrent, HiddenRecurrentConfig, InputEncoding, OutputRecurrent,
    OutputRecurrentConfig, RecurrenceBackend, StepInput,
};

use crate::config::{ModelSettings, Pattern};
use crate::error::Result;
use crate::feeding::{Feeding, hidden_recurrent_window, output_recurrent_window};

/// A language model: predicts the symbol at `t` from the symbols before it.
// One model lives per run, so the variants' size difference costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum LanguageModel<B: Backend> {
    /// Pattern 1: the input at `t` is the symbol at `t-1`, the hidden state carries the past.
    Hidden(HiddenRecurrent<B>),
    /// Pattern 2: the fed-back `y(t-1)` is the symbol at `t-1`; nothing else is carried.
    Output(OutputRecurrent<B>),
}

impl ModelSettings {
    /// Builds the model for a vocabulary of `vocab_size` symbols.
    pub fn init<B: Backend>(
        &self,
        vocab_size: usize,
        device: &B::Device,
    ) -> Result<LanguageModel<B>> {
        Ok(match self.pattern {
            Pattern::Hidden => LanguageModel::Hidden(
                HiddenRecurrentConfig::new(
                    InputEncoding::Tokens { vocab_size },
                    self.hidden,
                    vocab_size,
                )
                .with_num_layers(self.layers)
                .with_dropout(self.dropout)
                .try_init(device)?,
            ),
            Pattern::Output => LanguageModel::Output(
                OutputRecurrentConfig::new(self.hidden, vocab_size).try_init(device)?,
            ),
        })
    }
}

impl<B: Backend> LanguageModel<B> {
    /// Number of symbols.
    pub fn vocab_size(&self) -> usize {
        match self {
            LanguageModel::Hidden(model) => model.d_output(),
            LanguageModel::Output(model) => model.d_output(),
        }
    }
}

impl<B: RecurrenceBackend> LanguageModel<B> {
    /// Logits of one window.
    ///
    /// - `inputs`: the true previous symbols, `[batch, time]`.
    /// - `state`: pattern 1's `[num_layers, batch, d_hidden]` or `None` (zeros); pattern 2 has none.
    ///
    /// Returns logits `[batch, time, vocab]` and pattern 1's final state.
    pub fn window(
        &self,
        inputs: Tensor<B, 2, Int>,
        state: Option<Tensor<B, 3>>,
        feeding: &Feeding,
    ) -> Result<(Tensor<B, 3>, Option<Tensor<B, 3>>)> {
        match self {
            LanguageModel::Hidden(model) => {
                let out = hidden_recurrent_window(model, inputs, state, feeding)?;
                Ok((out.logits, Some(out.state)))
            }
            LanguageModel::Output(model) => {
                Ok((output_recurrent_window(model, inputs, feeding)?, None))
            }
        }
    }
}

impl<B: Backend> LanguageModel<B> {
    /// One generation step from the previous symbols `[batch]`: logits `[batch, vocab]` and the
    /// new state (always `None` for pattern 2).
    pub fn step(
        &self,
        previous: Tensor<B, 1, Int>,
        state: Option<Tensor<B, 3>>,
    ) -> Result<(Tensor<B, 2>, Option<Tensor<B, 3>>)> {
        match self {
            LanguageModel::Hidden(model) => {
                let (logits, state) = model.step(StepInput::Tokens(previous), state)?;
                Ok((logits, Some(state)))
            }
            LanguageModel::Output(model) => {
                Ok((model.step(None, Feedback::Tokens(previous))?, None))
            }
        }
    }
}
