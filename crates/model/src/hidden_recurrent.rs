//! Pattern 1: hidden-to-hidden recurrence with an output at every step.
//!
//! `a(t) = b + W h(t-1) + U x(t)`, `h(t) = tanh(a(t))`, `o(t) = c + V h(t)`; the loss is summed
//! over steps and back-propagation through time is done by Burn's autodiff.

use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Int, Tensor, backend::Backend};

use crate::error::shape_error;
use crate::fused::cross_entropy::log_softmax_losses;
use crate::fused::rollout::{FeedingPlan, HiddenRollout, generic_loop};
use crate::fused::{RecurrenceBackend, output_row_cross_entropy};
use crate::ids::require_ids_below;
use crate::input::{InputEncoding, SequenceInput, StepInput, symbol_and_context};
use crate::loss::{check_targets, output_bias};
use crate::recurrence::{Cell, HiddenStack, HiddenStackConfig, HiddenState, RecurrencePath};
use crate::recurrence::{Direction, OutputLoss, Rows};
use crate::setting::at_least_one;

/// Configuration of a [`HiddenRecurrent`] network: a [`HiddenStackConfig`] and the size of the
/// output.
///
/// ```
/// use unroll_model::{HiddenRecurrentConfig, HiddenStackConfig, InputEncoding};
/// let tokens = InputEncoding::Tokens { vocab_size: 65 };
/// let config = HiddenRecurrentConfig::new(HiddenStackConfig::new(tokens, 256).with_num_layers(2), 65);
/// assert!(config.validate().is_ok());
/// ```
#[derive(Config, Debug)]
pub struct HiddenRecurrentConfig {
    /// The recurrent layers: input encoding, hidden size, layers, dropout, path.
    pub hidden: HiddenStackConfig,
    /// Size of the output `o(t)` (the vocabulary size for a language model).
    pub d_output: usize,
}

impl HiddenRecurrentConfig {
    /// Checks every setting, naming the first one that is invalid.
    pub fn validate(&self) -> crate::Result<()> {
        self.hidden.validate()?;
        at_least_one("d_output", self.d_output as u64)
    }

    /// Builds the network, or says which setting is invalid.
    pub fn try_init<B: Backend>(&self, device: &B::Device) -> crate::Result<HiddenRecurrent<B>> {
        let (hidden, output) = self.hidden.try_init_with_output(self.d_output, device)?;
        Ok(HiddenRecurrent { hidden, output })
    }
}

crate::setting::init_or_panic!(HiddenRecurrentConfig => HiddenRecurrent);

/// Pattern 1: a recurrent network with hidden-to-hidden recurrence and an output at every step.
///
/// Dense input, a state carried from one window to the next, one step for generation:
///
/// ```
/// use burn::backend::{Autodiff, Flex};
/// use burn::tensor::Tensor;
/// use unroll_model::{HiddenRecurrentConfig, HiddenStackConfig, InputEncoding};
/// use unroll_model::{SequenceInput, StepInput};
///
/// type B = Autodiff<Flex>;
/// let device = Default::default();
/// let features = InputEncoding::Dense { d_input: 3 };
/// let model = HiddenRecurrentConfig::new(HiddenStackConfig::new(features, 8), 2)
///     .init::<B>(&device);
/// let window = || SequenceInput::Dense(Tensor::<B, 3>::ones([5, 20, 3], &device));
/// let first = model.forward(window(), None)?; // h(0) = 0
/// let second = model.forward(window(), Some(first.state.detach()))?; // truncated BPTT
/// assert_eq!(second.logits.dims(), [5, 20, 2]);
/// let x = StepInput::Dense(Tensor::<B, 2>::ones([5, 3], &device));
/// let (logits, state) = model.step(x, Some(second.state))?;
/// assert_eq!((logits.dims(), state.dims()), ([5, 2], [1, 5, 8])); // h: [num_layers, batch, d_hidden]
/// logits.sum().backward();
/// # Ok::<(), unroll_model::ModelError>(())
/// ```
#[derive(Module, Debug)]
pub struct HiddenRecurrent<B: Backend> {
    /// The recurrent layers (`U`, `W`, `b` of each).
    pub hidden: HiddenStack<B>,
    /// The output layer: `o(t) = c + V h(t)` (`V` stored `[d_hidden, d_output]`).
    pub output: Linear<B>,
}

/// What [`HiddenRecurrent::forward`] returns.
#[derive(Debug, Clone)]
pub struct RecurrentOutput<B: Backend> {
    /// `o(1) … o(τ)`, the unnormalised log-probabilities, `[batch, time, d_output]`.
    pub logits: Tensor<B, 3>,
    /// The final state of every layer, `h(τ)` (and `c(τ)` for an LSTM): pass it to the next
    /// call to carry the state across windows (detach it first to truncate back-propagation).
    pub state: HiddenState<B>,
}

impl<B: Backend> HiddenRecurrent<B> {
    /// Size of the output `o(t)`.
    pub fn d_output(&self) -> usize {
        self.output.weight.dims()[1]
    }

    /// Number of stacked layers.
    pub fn num_layers(&self) -> usize {
        self.hidden.num_layers()
    }
}

impl<B: RecurrenceBackend> HiddenRecurrent<B> {
    /// Runs the network over a sequence.
    ///
    /// - `input`: `[batch, time]` token ids or `[batch, time, d_input]` features.
    /// - `state`: the state before the first step ([`HiddenStack::state_dims`]); `None` means
    ///   zeros.
    ///
    /// Returns logits `[batch, time, d_output]` and the final state.
    pub fn forward(
        &self,
        input: SequenceInput<B>,
        state: Option<HiddenState<B>>,
    ) -> crate::Result<RecurrentOutput<B>> {
        let [batch, time] = input.check(&self.hidden.input, self.hidden.id_check)?;
        let device = self.output.weight.device();
        let state = self.hidden.check_state(state, batch, &device)?;
        let (hidden, state) = self.hidden.forward_time_major(input, state, None);
        // One matrix product for the outputs of all steps, then batch-first: the logits are
        // narrower than the states, so they are the cheaper ones to reorder.
        let d_hidden = self.hidden.d_hidden();
        let logits = self
            .output
            .forward(hidden.reshape([time * batch, d_hidden]))
            .reshape([time, batch, self.d_output()])
            .swap_dims(0, 1);
        Ok(RecurrentOutput { logits, state })
    }

    /// The training forward pass: the loss of every step, `−log softmax(o(t))[y(t)]`, and the
    /// final state.
    ///
    /// - `input`, `state`: as for [`HiddenRecurrent::forward`].
    /// - `targets`: `y(t)`, `[batch, time]` class ids below `d_output`.
    ///
    /// Returns the losses `[batch, time]` (as [`crate::step_cross_entropy`] of the logits) and the
    /// final state. On the fused path the output layer and the loss run as one operation over all steps
    /// ([`crate::fused::output_row_cross_entropy`]), so the logits are never reordered or kept for
    /// the backward pass; the unrolled path computes the logits, then the loss by Burn's own
    /// operations (the reference the fused path is tested against).
    pub fn forward_loss(
        &self,
        input: SequenceInput<B>,
        state: Option<HiddenState<B>>,
        targets: Tensor<B, 2, Int>,
    ) -> crate::Result<(Tensor<B, 2>, HiddenState<B>)> {
        let [batch, time] = input.check(&self.hidden.input, self.hidden.id_check)?;
        check_targets(
            &targets,
            [batch, time],
            self.d_output(),
            self.hidden.id_check,
        )?;
        if self.hidden.path == RecurrencePath::Unrolled
            || self.hidden.direction == Direction::Backward
        {
            // The reference (and a backward stack's way, which has no fused loss): logits, then
            // the loss from Burn's log-softmax and gather.
            let out = self.forward(input, state)?;
            let rows = batch * time;
            let logits = out.logits.reshape([rows, self.d_output()]);
            let (losses, _) = log_softmax_losses(logits, targets.reshape([rows]));
            return Ok((losses.reshape([batch, time]), out.state));
        }
        let device = self.output.weight.device();
        let state = self.hidden.check_state(state, batch, &device)?;
        let targets = targets.swap_dims(0, 1).reshape([time * batch]);
        // Every layer below the top runs its fused recurrence; the top one fuses the output
        // layer and the loss into its own when its cell has such an operation (tanh).
        let (rows, mut finals) =
            self.hidden
                .fused_below_top(input.into_time_major_rows(), [time, batch], &state, None);
        let top = self.hidden.layers.len() - 1;
        let top_layer = &self.hidden.layers[top];
        let output = || (self.output.weight.val(), output_bias(&self.output));
        let sequence = Rows {
            rows,
            time_batch: [time, batch],
            initial: state.layer(top),
            lengths: None,
        };
        let loss = OutputLoss {
            output: Box::new(output),
            targets: targets.clone(),
        };
        let losses = match top_layer.fused_loss(sequence, loss) {
            Ok((losses, last)) => {
                finals.push(last);
                losses
            }
            Err(sequence) => {
                // The recurrence, then the output layer and the loss fused over all steps,
                // reading the states straight from the top layer's output (the LSTM's ends
                // with `c(τ)`, which the loss skips).
                let (outputs, last) = top_layer.fused(sequence);
                finals.push(last);
                let rows = outputs.dims()[0] * batch;
                let (weight, bias) = output();
                output_row_cross_entropy(
                    outputs.reshape([rows, self.hidden.d_hidden()]),
                    weight,
                    bias,
                    targets,
                )
            }
        };
        Ok((
            losses.reshape([time, batch]).swap_dims(0, 1),
            HiddenState::of_layers(finals),
        ))
    }

    /// The symbol every step of a window is fed under `plan`: the true symbol, or the model's own
    /// prediction from the step before (scheduled sampling, the free-running curriculum).
    ///
    /// - `truth`: the true previous symbols, `[batch, time]` (the input at `t` is the symbol at
    ///   `t-1`); the model's input must be tokens of its own output vocabulary.
    /// - `state`: as for [`HiddenRecurrent::forward`].
    /// - `plan`: per row and step, the truth or the own prediction, and the sampling draws;
    ///   `[batch, time]` as `truth`.
    ///
    /// Returns the fed symbols, `[batch, time]`: `truth` itself, untouched, when the plan feeds
    /// the truth everywhere. Runs without autodiff and without dropout (the predictions are the
    /// model's as at generation); the CPU backends run it as one kernel.
    /// No gradient flows through a fed prediction, so [`HiddenRecurrent::forward_loss`] on the
    /// fed symbols is the step-wise training pass, values and gradients.
    pub fn fed_symbols(
        &self,
        truth: Tensor<B, 2, Int>,
        state: Option<HiddenState<B>>,
        plan: &FeedingPlan,
    ) -> crate::Result<Tensor<B, 2, Int>> {
        self.fed_symbols_with(truth, state, None, plan)
    }

    /// [`HiddenRecurrent::fed_symbols`], and with `context` (`[batch, d_context]`) for a network
    /// whose input is `[one_hot(y(t-1)), context]` at every step (an encoder–decoder's summary
    /// in every decoder input): the rollout kernel adds each row's `context · U_context` to the
    /// first layer's looked-up `U y(t-1)`.
    pub(crate) fn fed_symbols_with(
        &self,
        truth: Tensor<B, 2, Int>,
        state: Option<HiddenState<B>>,
        context: Option<Tensor<B, 2>>,
        plan: &FeedingPlan,
    ) -> crate::Result<Tensor<B, 2, Int>> {
        let [batch, time] = truth.dims();
        plan.check_fits([batch, time])?;
        if plan.is_teacher_forcing() {
            // Nothing to decide: the training pass that follows checks the ids.
            return Ok(truth);
        }
        self.hidden.check_stepwise()?;
        let symbols = self.d_output();
        let context_width = context.as_ref().map_or(0, |c| c.dims()[1]);
        let expected = InputEncoding::of_symbols(symbols, context_width);
        if self.hidden.input != expected {
            return Err(shape_error(
                "truth",
                format!("the output's {symbols} symbols, with {context_width} of context"),
                &[self.hidden.input.width()],
            ));
        }
        require_ids_below("truth", &truth, symbols, self.hidden.id_check)?;
        let device = self.output.weight.device();
        let initial = self.hidden.check_state(state, batch, &device)?.detach();
        let context = context.map(Tensor::detach);
        // The rollout kernel when every layer's cell has one, otherwise step by step.
        let layers: Option<Vec<_>> = self
            .hidden
            .layers
            .iter()
            .map(Cell::rollout_weights)
            .collect();
        let Some(mut layers) = layers else {
            return Ok(self.stepwise_fed_symbols(truth, initial, context, plan));
        };
        // With a context, the first layer's `U` is the symbols' table, then the context's rows:
        // each row's share of the context is the same at every step, computed once.
        let first_layer_offset = context.map(|context| {
            let first = &mut layers[0];
            let share = first.input_weight.clone().narrow(0, symbols, context_width);
            first.input_weight = first.input_weight.clone().narrow(0, 0, symbols);
            context.matmul(share)
        });
        let rollout = HiddenRollout {
            layers,
            output_weight: self.output.weight.val().detach(),
            output_bias: output_bias(&self.output).detach(),
            initial: initial.hidden,
            initial_cell: initial.cell,
            truth,
            first_layer_offset,
        };
        Ok(B::hidden_rollout(rollout, plan))
    }

    /// [`HiddenRecurrent::fed_symbols_with`] step by step on Burn's operations, each step's
    /// state detached. The network itself, not a copy: a copy of parameters not yet read would
    /// draw values of its own (Burn initialises a parameter at its first read).
    fn stepwise_fed_symbols(
        &self,
        truth: Tensor<B, 2, Int>,
        initial: HiddenState<B>,
        context: Option<Tensor<B, 2>>,
        plan: &FeedingPlan,
    ) -> Tensor<B, 2, Int> {
        let mut state = initial;
        generic_loop(truth, plan, |_, symbols| {
            let input = match &context {
                None => StepInput::Tokens(symbols),
                Some(context) => StepInput::Dense(symbol_and_context(
                    symbols,
                    self.d_output(),
                    context.clone(),
                )),
            };
            let (top, next) = self.hidden.step_with(input, state.clone(), false);
            state = next.detach();
            self.output.forward(top)
        })
    }

    /// One step, for generation.
    ///
    /// - `input`: `[batch]` token ids or `[batch, d_input]` features.
    /// - `state`: [`HiddenStack::state_dims`]; `None` means zeros.
    ///
    /// Returns logits `[batch, d_output]` and the new state.
    pub fn step(
        &self,
        input: StepInput<B>,
        state: Option<HiddenState<B>>,
    ) -> crate::Result<(Tensor<B, 2>, HiddenState<B>)> {
        let batch = input.check(&self.hidden.input, self.hidden.id_check)?;
        self.hidden.check_stepwise()?;
        let device = self.output.weight.device();
        let state = self.hidden.check_state(state, batch, &device)?;
        let (top, state) = self.hidden.step(input, state);
        Ok((self.output.forward(top), state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ModelError;
    use crate::input::InputEncoding;
    use burn::backend::Flex;
    use burn::tensor::{Int, Tensor};

    type B = Flex;

    /// `layers` layers of `hidden` units over `input`, `outputs` outputs.
    fn model(
        input: InputEncoding,
        hidden: usize,
        layers: usize,
        outputs: usize,
    ) -> HiddenRecurrent<B> {
        let stack = HiddenStackConfig::new(input, hidden).with_num_layers(layers);
        HiddenRecurrentConfig::new(stack, outputs).init(&Default::default())
    }

    #[test]
    fn invalid_settings_are_named() {
        let device = Default::default();
        let tokens = InputEncoding::Tokens { vocab_size: 3 };
        let cases = [
            (
                HiddenRecurrentConfig::new(
                    HiddenStackConfig::new(InputEncoding::Tokens { vocab_size: 0 }, 4),
                    3,
                ),
                "vocab_size",
            ),
            (
                HiddenRecurrentConfig::new(
                    HiddenStackConfig::new(InputEncoding::Dense { d_input: 0 }, 4),
                    3,
                ),
                "d_input",
            ),
            (
                HiddenRecurrentConfig::new(HiddenStackConfig::new(tokens, 0), 3),
                "d_hidden",
            ),
            (
                HiddenRecurrentConfig::new(HiddenStackConfig::new(tokens, 4), 0),
                "d_output",
            ),
            (
                HiddenRecurrentConfig::new(HiddenStackConfig::new(tokens, 4).with_num_layers(0), 3),
                "num_layers",
            ),
            (
                HiddenRecurrentConfig::new(HiddenStackConfig::new(tokens, 4).with_dropout(1.0), 3),
                "dropout",
            ),
            (
                HiddenRecurrentConfig::new(HiddenStackConfig::new(tokens, 4).with_dropout(-0.1), 3),
                "dropout",
            ),
        ];
        for (config, setting) in cases {
            match config.try_init::<B>(&device) {
                Err(ModelError::InvalidConfig { setting: named, .. }) => assert_eq!(named, setting),
                other => panic!("{setting}: expected an InvalidConfig error, got {other:?}"),
            }
        }
    }

    #[test]
    fn inputs_that_do_not_fit_are_rejected() {
        let device = Default::default();
        let model = model(InputEncoding::Dense { d_input: 3 }, 4, 2, 2);
        let wrong_width = Tensor::<B, 3>::zeros([2, 5, 4], &device);
        let error = model
            .forward(SequenceInput::Dense(wrong_width), None)
            .unwrap_err();
        assert!(error.to_string().contains("[batch, time, 3]"), "{error}");

        let ids = Tensor::<B, 2, Int>::zeros([2, 5], &device);
        let error = model.forward(SequenceInput::Tokens(ids), None).unwrap_err();
        assert!(matches!(error, ModelError::InputKind { .. }), "{error}");

        let x = Tensor::<B, 3>::zeros([2, 5, 3], &device);
        let wrong_state = HiddenState::zeros(1, 2, 4, false, &device);
        let error = model
            .forward(SequenceInput::Dense(x.clone()), Some(wrong_state))
            .unwrap_err();
        assert!(error.to_string().contains("state"), "{error}");
        // A tanh state has no c.
        let with_cell = HiddenState::zeros(2, 2, 4, true, &device);
        let error = model
            .forward(SequenceInput::Dense(x), Some(with_cell))
            .unwrap_err();
        assert!(error.to_string().contains("state.cell"), "{error}");

        let empty = Tensor::<B, 3>::zeros([2, 0, 3], &device);
        assert!(model.forward(SequenceInput::Dense(empty), None).is_err());

        // One step: its width, then its kind.
        let narrow = StepInput::Dense(Tensor::<B, 2>::zeros([2, 2], &device));
        let error = model.step(narrow, None).unwrap_err();
        assert!(error.to_string().contains("[batch, 3]"), "{error}");
        let ids = StepInput::Tokens(Tensor::<B, 1, Int>::zeros([2], &device));
        let error = model.step(ids, None).unwrap_err();
        assert!(error.to_string().contains("token ids"), "{error}");
    }

    #[test]
    fn ids_outside_the_vocabulary_are_rejected_by_every_pass() {
        let device = Default::default();
        let model = model(InputEncoding::Tokens { vocab_size: 5 }, 4, 1, 3);
        let good = Tensor::<B, 2, Int>::from_data([[0i64, 4, 2]], &device);
        let bad_input = Tensor::<B, 2, Int>::from_data([[0i64, 5, 2]], &device);
        let bad_target = Tensor::<B, 2, Int>::from_data([[0i64, 1, 3]], &device);
        let targets = Tensor::<B, 2, Int>::from_data([[0i64, 1, 2]], &device);
        let named = |error: ModelError, text: &str| {
            assert!(error.to_string().contains(text), "{error}");
        };
        let input = |ids: &Tensor<B, 2, Int>| SequenceInput::Tokens(ids.clone());
        named(
            model.forward(input(&bad_input), None).unwrap_err(),
            "input holds the id 5, outside 0..5",
        );
        named(
            model
                .forward_loss(input(&bad_input), None, targets.clone())
                .unwrap_err(),
            "input holds the id 5",
        );
        named(
            model
                .forward_loss(input(&good), None, bad_target)
                .unwrap_err(),
            "targets holds the id 3, outside 0..3",
        );
        let step = StepInput::Tokens(Tensor::<B, 1, Int>::from_data([-1i64], &device));
        named(model.step(step, None).unwrap_err(), "input holds the id -1");
        assert!(model.forward_loss(input(&good), None, targets).is_ok());
    }

    #[test]
    fn a_plan_for_another_window_is_refused() {
        let truth = Tensor::<B, 2, Int>::zeros([2, 3], &Default::default());
        let model = model(InputEncoding::Tokens { vocab_size: 5 }, 4, 1, 5);
        let plan = FeedingPlan::teacher_forcing(2, 4).unwrap();
        let error = model.fed_symbols(truth, None, &plan).unwrap_err();
        assert!(error.to_string().contains("plan"), "{error}");
    }

    #[test]
    fn output_shapes() {
        let device = Default::default();
        let model = model(InputEncoding::Tokens { vocab_size: 7 }, 5, 3, 7);
        let out = model
            .forward(SequenceInput::Tokens(Tensor::zeros([4, 6], &device)), None)
            .unwrap();
        assert_eq!(out.logits.dims(), [4, 6, 7]);
        assert_eq!(out.state.dims(), [3, 4, 5]);
        let (logits, state) = model
            .step(
                StepInput::Tokens(Tensor::zeros([4], &device)),
                Some(out.state),
            )
            .unwrap();
        assert_eq!(logits.dims(), [4, 7]);
        assert_eq!(state.dims(), [3, 4, 5]);
    }
}
