//! A character (or byte) language model built on pattern 1 or pattern 2.

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};
use unroll_model::{
    Feedback, FeedbackSequence, FeedingPlan, HiddenRecurrentConfig, HiddenStackConfig, HiddenState,
    IdCheck, InputEncoding, OutputRecurrentConfig, RecurrenceBackend, RecurrencePath,
    SequenceInput, StepInput, step_cross_entropy,
};

use crate::error::Result;
use crate::feeding::{check_plan, hidden_recurrent_window, output_recurrent_window};
use crate::network::Network;
use crate::settings::{ModelSettings, Pattern};

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

    /// Builds the model for a vocabulary of `vocab_size` symbols.
    pub fn init<B: Backend>(&self, vocab_size: usize, device: &B::Device) -> Result<Network<B>> {
        self.validate()?;
        Ok(match self.pattern {
            Pattern::Hidden => Network::Hidden(self.hidden_recurrent(vocab_size).try_init(device)?),
            Pattern::Output => Network::Output(self.output_recurrent(vocab_size).try_init(device)?),
        })
    }
}

/// A language model: predicts the symbol at `t` from the symbols before it.
impl<B: RecurrenceBackend> Network<B> {
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
            Network::Hidden(model) => {
                let out = hidden_recurrent_window(model, inputs, state, plan, path)?;
                Ok((out.logits, Some(out.state)))
            }
            Network::Output(model) => {
                Ok((output_recurrent_window(model, inputs, plan, path)?, None))
            }
        }
    }

    /// The loss of every step of one window, `−log softmax(o(t))[y(t)]`.
    ///
    /// - `inputs`: the true previous symbols, `[batch, time]`; `targets`: the symbols to
    ///   predict, `[batch, time]`.
    /// - `state`, `plan`, `path`: as for [`Network::window`].
    ///
    /// Returns the losses `[batch, time]` and pattern 1's final state. The training passes run on
    /// the fed symbols: the true ones under teacher forcing, the rollout's otherwise
    /// ([`RecurrencePath::Fused`]). Pattern 1 takes the fused path that never materialises the
    /// logits batch-first ([`unroll_model::HiddenRecurrent::forward_loss`]), pattern 2 its teacher-forced loss
    /// ([`unroll_model::OutputRecurrent::teacher_forced_loss`]). [`RecurrencePath::Unrolled`] computes the logits
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
            Network::Hidden(model) => {
                let fed = model.fed_symbols(inputs, state.clone(), plan)?;
                let (losses, state) =
                    model.forward_loss(SequenceInput::Tokens(fed), state, targets)?;
                Ok((losses, Some(state)))
            }
            Network::Output(model) => {
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
            Network::Hidden(model) => {
                let (logits, state) = model.step(StepInput::Tokens(previous), state)?;
                Ok((logits, Some(state)))
            }
            Network::Output(model) => Ok((model.step(None, Feedback::Tokens(previous))?, None)),
        }
    }
}
