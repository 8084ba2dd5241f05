//! A character (or byte) language model built on pattern 1 or pattern 2.

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};
use unroll_model::{
    Feedback, FeedbackSequence, FeedingPlan, HiddenRecurrent, HiddenRecurrentConfig,
    HiddenStackConfig, HiddenState, IdCheck, InputEncoding, ModelError, OutputRecurrent,
    OutputRecurrentConfig, RecurrenceBackend, RecurrencePath, RecurrentCell, SequenceInput,
    StepInput, step_cross_entropy,
};

use crate::error::{Result, invalid};
use crate::feeding::{check_plan, hidden_recurrent_window, output_recurrent_window};
use crate::settings::{ModelSettings, Pattern};

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
    /// Pattern 1's configuration for a vocabulary of `vocab_size` symbols.
    ///
    /// The model does not read ids back to check them ([`IdCheck::Caller`]): a language model's
    /// ids come from a [`Vocabulary`](crate::Vocabulary), which made them in range on the host.
    pub fn hidden_recurrent(&self, vocab_size: usize) -> HiddenRecurrentConfig {
        let tokens = InputEncoding::Tokens { vocab_size };
        let hidden = HiddenStackConfig::new(tokens, self.hidden)
            .with_cell(self.cell)
            .with_num_layers(self.layers)
            .with_dropout(self.dropout)
            .with_id_check(IdCheck::Caller);
        HiddenRecurrentConfig::new(hidden, vocab_size)
    }

    /// Pattern 2's configuration for a vocabulary of `vocab_size` symbols (ids checked by the
    /// caller, as for [`ModelSettings::hidden_recurrent`]).
    pub fn output_recurrent(&self, vocab_size: usize) -> OutputRecurrentConfig {
        OutputRecurrentConfig::new(self.hidden, vocab_size).with_id_check(IdCheck::Caller)
    }

    /// Checks the settings by the model's own configuration (any vocabulary of at least one
    /// symbol fits), naming a rejected setting as these settings spell it.
    pub fn validate(&self) -> Result<()> {
        if self.pattern == Pattern::Output && (self.layers != 1 || self.dropout != 0.0) {
            return Err(invalid(
                "layers",
                "pattern 2 (output recurrence) has one hidden layer and no dropout",
            ));
        }
        self.check_cell()?;
        let checked = match self.pattern {
            Pattern::Hidden => self.hidden_recurrent(1).validate(),
            Pattern::Output => self.output_recurrent(1).validate(),
        };
        checked.map_err(|error| match error {
            ModelError::InvalidConfig { setting, reason } => {
                let setting = match setting {
                    "d_hidden" => "hidden",
                    "num_layers" => "layers",
                    other => other,
                };
                invalid(setting, reason)
            }
            other => other.into(),
        })
    }

    /// Rejects a gated cell in pattern 2, whose hidden layer is the tanh one.
    pub fn check_cell(&self) -> Result<()> {
        if self.pattern == Pattern::Output && self.cell != RecurrentCell::Tanh {
            return Err(invalid(
                "cell",
                "pattern 2 (output recurrence) has a tanh hidden layer; gated cells are for \
                 patterns 1 and 3",
            ));
        }
        Ok(())
    }

    /// Builds the model for a vocabulary of `vocab_size` symbols.
    pub fn init<B: Backend>(
        &self,
        vocab_size: usize,
        device: &B::Device,
    ) -> Result<LanguageModel<B>> {
        self.validate()?;
        Ok(match self.pattern {
            Pattern::Hidden => {
                LanguageModel::Hidden(self.hidden_recurrent(vocab_size).try_init(device)?)
            }
            Pattern::Output => {
                LanguageModel::Output(self.output_recurrent(vocab_size).try_init(device)?)
            }
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
    /// - `state`: pattern 1's [`HiddenState`] or `None` (zeros); pattern 2 has none.
    /// - `plan`: what each step is fed ([`crate::Feeding::plan`]); `path`: how a window with own
    ///   predictions runs.
    ///
    /// Returns logits `[batch, time, vocab]` and pattern 1's final state.
    pub fn window(
        &self,
        inputs: Tensor<B, 2, Int>,
        state: Option<HiddenState<B>>,
        plan: &FeedingPlan,
        path: RecurrencePath,
    ) -> Result<(Tensor<B, 3>, Option<HiddenState<B>>)> {
        match self {
            LanguageModel::Hidden(model) => {
                let out = hidden_recurrent_window(model, inputs, state, plan, path)?;
                Ok((out.logits, Some(out.state)))
            }
            LanguageModel::Output(model) => {
                Ok((output_recurrent_window(model, inputs, plan, path)?, None))
            }
        }
    }

    /// The loss of every step of one window, `−log softmax(o(t))[y(t)]`.
    ///
    /// - `inputs`: the true previous symbols, `[batch, time]`; `targets`: the symbols to
    ///   predict, `[batch, time]`.
    /// - `state`, `plan`, `path`: as for [`LanguageModel::window`].
    ///
    /// Returns the losses `[batch, time]` and pattern 1's final state. The training passes run on
    /// the fed symbols: the true ones under teacher forcing, the rollout's otherwise
    /// ([`RecurrencePath::Fused`]). Pattern 1 takes the fused path that never materialises the
    /// logits batch-first ([`HiddenRecurrent::forward_loss`]), pattern 2 its teacher-forced loss
    /// ([`OutputRecurrent::teacher_forced_loss`]). [`RecurrencePath::Unrolled`] computes the logits
    /// step by step, then the loss.
    pub fn window_loss(
        &self,
        inputs: Tensor<B, 2, Int>,
        targets: Tensor<B, 2, Int>,
        state: Option<HiddenState<B>>,
        plan: &FeedingPlan,
        path: RecurrencePath,
    ) -> Result<(Tensor<B, 2>, Option<HiddenState<B>>)> {
        check_plan(plan, inputs.dims())?;
        if !plan.is_teacher_forcing() && path == RecurrencePath::Unrolled {
            let (logits, state) = self.window(inputs, state, plan, path)?;
            return Ok((step_cross_entropy(logits, targets)?, state));
        }
        match self {
            LanguageModel::Hidden(model) => {
                let fed = model.fed_symbols(inputs, state.clone(), plan)?;
                let (losses, state) =
                    model.forward_loss(SequenceInput::Tokens(fed), state, targets)?;
                Ok((losses, Some(state)))
            }
            LanguageModel::Output(model) => {
                let fed = model.fed_symbols(None, inputs, plan)?;
                let previous = FeedbackSequence::Tokens(fed);
                Ok((model.teacher_forced_loss(None, previous, targets)?, None))
            }
        }
    }

    /// One generation step from the previous symbols `[batch]`: logits `[batch, vocab]` and the
    /// new state (always `None` for pattern 2).
    pub fn step(
        &self,
        previous: Tensor<B, 1, Int>,
        state: Option<HiddenState<B>>,
    ) -> Result<(Tensor<B, 2>, Option<HiddenState<B>>)> {
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
