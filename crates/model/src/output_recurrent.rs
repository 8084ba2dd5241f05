//! Pattern 2: recurrence from the output only.
//!
//! `h(t) = tanh(b + W y(t-1) + U x(t))`, `o(t) = c + V h(t)`. There is no hidden-to-hidden
//! connection: the only thing carried from one step to the next is the fed-back previous output.
//! With teacher forcing the fed-back values are the known targets, every step decouples, and the
//! whole sequence is computed in parallel with no loop over time.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::{Int, Tensor, backend::Backend};

use crate::error::{require_steps, shape_error};
use crate::feedback::{FeedbackChoice, sample_classes};
use crate::fused::rollout::{FeedingPlan, OutputRollout};
use crate::fused::{
    RecurrenceBackend, lookup_rows, output_row_cross_entropy, row_cross_entropy, tanh,
};
use crate::ids::{IdCheck, require_ids_below};
use crate::input::{InputEncoding, SequenceInput, StepInput};
use crate::loss::{check_targets, output_bias};
use crate::recurrence::uniform_initializer;
use crate::setting::at_least_one;

/// Configuration of an [`OutputRecurrent`] network.
#[derive(Config, Debug)]
pub struct OutputRecurrentConfig {
    /// How `x(t)` enters, or `None` when the only input is the fed-back previous output (a
    /// language model whose input at `t` is the symbol at `t-1`).
    pub input: Option<InputEncoding>,
    /// Size of the hidden layer `h(t)`.
    pub d_hidden: usize,
    /// Size of the output `o(t)`, and so of the fed-back `y(t-1)`.
    pub d_output: usize,
    /// Whether every call reads the token and class ids back to check their range.
    #[config(default = "IdCheck::EveryCall")]
    pub id_check: IdCheck,
}

impl OutputRecurrentConfig {
    /// Checks every setting, naming the first one that is invalid.
    pub fn validate(&self) -> crate::Result<()> {
        if let Some(input) = &self.input {
            input.validate()?;
        }
        at_least_one("d_hidden", self.d_hidden as u64)?;
        at_least_one("d_output", self.d_output as u64)
    }

    /// Builds the network (weights uniform in `[-1/√d_hidden, 1/√d_hidden]`, as PyTorch's RNNs),
    /// or says which setting is invalid.
    pub fn try_init<B: Backend>(&self, device: &B::Device) -> crate::Result<OutputRecurrent<B>> {
        self.validate()?;
        let init = uniform_initializer(self.d_hidden);
        Ok(OutputRecurrent {
            input_weight: self
                .input
                .map(|input| init.init([input.width(), self.d_hidden], device)),
            feedback_weight: init.init([self.d_output, self.d_hidden], device),
            bias: init.init([self.d_hidden], device),
            output: LinearConfig::new(self.d_hidden, self.d_output).init(device),
            input_encoding: self.input,
            id_check: self.id_check,
        })
    }
}

crate::setting::init_or_panic!(OutputRecurrentConfig => OutputRecurrent);

/// Pattern 2: the previous output, not the hidden state, feeds the next hidden state.
///
/// Trained with teacher forcing in parallel over time, then run open loop on its own samples:
///
/// ```
/// use burn::backend::{Autodiff, Flex};
/// use burn::tensor::{Int, Tensor};
/// use unroll_model::{Feedback, FeedbackChoice, FeedbackSequence, OutputRecurrentConfig};
///
/// type B = Autodiff<Flex>;
/// let device = Default::default();
/// // No input besides the fed-back symbol: a bigram language model over 6 symbols.
/// let model = OutputRecurrentConfig::new(16, 6).init::<B>(&device);
/// let previous = Tensor::<B, 2, Int>::zeros([4, 9], &device); // y(0) … y(τ-1)
/// let targets = Tensor::<B, 2, Int>::ones([4, 9], &device); // y(1) … y(τ)
/// let losses = model.teacher_forced_loss(None, FeedbackSequence::Tokens(previous), targets)?;
/// assert_eq!(losses.dims(), [4, 9]);
/// losses.mean().backward();
///
/// let first = Feedback::Tokens(Tensor::<B, 1, Int>::zeros([4], &device));
/// let logits = model.forward_stepwise(None, first, 12, |_, o| {
///     Feedback::from_logits(o, FeedbackChoice::Sample) // open loop
/// })?;
/// assert_eq!(logits.dims(), [4, 12, 6]);
/// # Ok::<(), unroll_model::ModelError>(())
/// ```
#[derive(Module, Debug)]
pub struct OutputRecurrent<B: Backend> {
    /// `U`, stored `[d_input, d_hidden]`; absent when the model has no input besides `y(t-1)`.
    pub input_weight: Option<Param<Tensor<B, 2>>>,
    /// `W`, stored `[d_output, d_hidden]`: the fed-back `y(t-1)` enters as `y(t-1) · W_stored`.
    pub feedback_weight: Param<Tensor<B, 2>>,
    /// `b`, `[d_hidden]`.
    pub bias: Param<Tensor<B, 1>>,
    /// The output layer, `o(t) = c + V h(t)`.
    pub output: Linear<B>,
    /// How `x(t)` enters, if at all.
    #[module(skip)]
    pub input_encoding: Option<InputEncoding>,
    /// Whether every call reads the token and class ids back to check their range.
    #[module(skip)]
    pub id_check: IdCheck,
}

/// The fed-back value `y(t-1)` of one step: class ids `[batch]` (`y(t-1)` is the one-hot vector
/// of each id, a row lookup in `W`) or dense vectors `[batch, d_output]` (a probability vector,
/// or a real-valued target in regression). The same type as a step's input: the two are fed to
/// the network alike, by lookup or by product.
pub type Feedback<B> = StepInput<B>;

/// The fed-back values of a whole sequence, `y(0) … y(τ-1)`: class ids `[batch, time]` or dense
/// vectors `[batch, time, d_output]`. The same type as an input sequence.
pub type FeedbackSequence<B> = SequenceInput<B>;

impl<B: Backend> Feedback<B> {
    /// Turns logits `[batch, d_output]` into a fed-back value by `choice`.
    ///
    /// Sampling draws from the backend's random generator (seeded by `B::seed`) and stays on the
    /// device: a class is the number of cumulative probabilities below a uniform draw.
    pub fn from_logits(logits: Tensor<B, 2>, choice: FeedbackChoice) -> Self {
        match choice {
            FeedbackChoice::Probabilities => Feedback::Dense(softmax(logits, 1)),
            FeedbackChoice::Argmax => {
                let [batch, _] = logits.dims();
                Feedback::Tokens(logits.detach().argmax(1).reshape([batch]))
            }
            FeedbackChoice::Sample => Feedback::Tokens(sample_classes(logits.detach())),
        }
    }
}

impl<B: Backend> OutputRecurrent<B> {
    /// Size of the output `o(t)`.
    pub fn d_output(&self) -> usize {
        self.feedback_weight.dims()[0]
    }

    /// Size of the hidden layer.
    pub fn d_hidden(&self) -> usize {
        self.feedback_weight.dims()[1]
    }

    fn check_input(
        &self,
        input: Option<&SequenceInput<B>>,
        batch_time: [usize; 2],
    ) -> crate::Result<()> {
        match (input, &self.input_encoding) {
            (None, None) => Ok(()),
            (Some(input), Some(encoding)) => {
                let given = input.check(encoding, self.id_check)?;
                if given != batch_time {
                    return Err(shape_error(
                        "input",
                        format!("[batch, time] = {batch_time:?}, as the fed-back values"),
                        &given,
                    ));
                }
                Ok(())
            }
            (None, Some(_)) => Err(shape_error(
                "input",
                "an input sequence (the model was built with an input)".into(),
                &[],
            )),
            (Some(_), None) => Err(shape_error(
                "input",
                "no input (the model was built with `input: None`)".into(),
                &[],
            )),
        }
    }

    fn check_feedback(&self, feedback: &Feedback<B>) -> crate::Result<()> {
        if let Feedback::Tokens(ids) = feedback {
            require_ids_below("feedback", ids, self.d_output(), self.id_check)?;
        }
        if let Feedback::Dense(y) = feedback
            && y.dims()[1] != self.d_output()
        {
            return Err(shape_error(
                "feedback",
                format!("[batch, {}]", self.d_output()),
                &y.dims(),
            ));
        }
        Ok(())
    }

    /// `y · W` for a fed-back value: `[batch, d_hidden]`.
    fn feed(&self, feedback: Feedback<B>) -> Tensor<B, 2> {
        match feedback {
            Feedback::Tokens(ids) => self.feedback_weight.val().select(0, ids),
            Feedback::Dense(y) => y.matmul(self.feedback_weight.val()),
        }
    }
}

impl<B: RecurrenceBackend> OutputRecurrent<B> {
    /// Teacher-forced forward, in parallel over time with no loop.
    ///
    /// - `input`: `x(1) … x(τ)`, `[batch, time]` ids or `[batch, time, d_input]` features, or
    ///   `None` for a model built without input.
    /// - `previous_outputs`: the true `y(0) … y(τ-1)`, `[batch, time]` ids or
    ///   `[batch, time, d_output]` vectors (what `y(0)` is, a start symbol or the symbol before
    ///   the window, is the caller's choice).
    ///
    /// Returns logits `o(1) … o(τ)`, `[batch, time, d_output]`.
    pub fn forward_teacher_forced(
        &self,
        input: Option<SequenceInput<B>>,
        previous_outputs: FeedbackSequence<B>,
    ) -> crate::Result<Tensor<B, 3>> {
        let [batch, time] = previous_outputs.batch_time();
        let logits = match self.per_symbol_logits(&input, &previous_outputs)? {
            Some(logits) => logits,
            None => self
                .output
                .forward(self.teacher_forced_hidden(input, previous_outputs)?),
        };
        Ok(logits.reshape([batch, time, self.d_output()]))
    }

    /// The teacher-forced training pass: the loss of every step, `−log softmax(o(t))[y(t)]`,
    /// `[batch, time]`, with the output layer and the loss fused into one operation over all
    /// steps ([`crate::fused::output_row_cross_entropy`]).
    ///
    /// - `input`, `previous_outputs`: as for [`OutputRecurrent::forward_teacher_forced`].
    /// - `targets`: `y(1) … y(τ)`, `[batch, time]` class ids below `d_output`.
    pub fn teacher_forced_loss(
        &self,
        input: Option<SequenceInput<B>>,
        previous_outputs: FeedbackSequence<B>,
        targets: Tensor<B, 2, Int>,
    ) -> crate::Result<Tensor<B, 2>> {
        let [batch, time] = previous_outputs.batch_time();
        check_targets(&targets, [batch, time], self.d_output(), self.id_check)?;
        if let Some(logits) = self.per_symbol_logits(&input, &previous_outputs)? {
            let rows = batch * time;
            return Ok(row_cross_entropy(logits, targets.reshape([rows])).reshape([batch, time]));
        }
        let hidden = self.teacher_forced_hidden(input, previous_outputs)?;
        let losses = output_row_cross_entropy(
            hidden,
            self.output.weight.val(),
            output_bias(&self.output),
            targets.reshape([batch * time]),
        );
        Ok(losses.reshape([batch, time]))
    }

    /// Teacher-forced logits `[batch · time, d_output]` where they depend on `y(t-1)` alone (token
    /// feedback and no other input): `o = c + V tanh(b + W y)` takes one of `d_output` values,
    /// one per symbol, so the `[d_output, d_output]` table is computed once and rows are looked
    /// up. Exact, gradients included. `None` where the shortcut does not apply.
    fn per_symbol_logits(
        &self,
        input: &Option<SequenceInput<B>>,
        previous_outputs: &FeedbackSequence<B>,
    ) -> crate::Result<Option<Tensor<B, 2>>> {
        let FeedbackSequence::Tokens(ids) = previous_outputs else {
            return Ok(None);
        };
        let [batch, time] = ids.dims();
        if input.is_some() || batch == 0 || time == 0 {
            return Ok(None);
        }
        self.check_input(None, [batch, time])?;
        require_ids_below("previous_outputs", ids, self.d_output(), self.id_check)?;
        let hidden = tanh(self.feedback_weight.val() + self.bias.val().unsqueeze::<2>());
        let table = self.output.forward(hidden);
        Ok(Some(lookup_rows(
            table,
            ids.clone().reshape([batch * time]),
        )))
    }

    /// `h(t)` of every step under teacher forcing, batch-major rows `[batch · time, d_hidden]`.
    fn teacher_forced_hidden(
        &self,
        input: Option<SequenceInput<B>>,
        previous_outputs: FeedbackSequence<B>,
    ) -> crate::Result<Tensor<B, 2>> {
        let [batch, time] = previous_outputs.batch_time();
        require_steps("previous_outputs", [batch, time])?;
        self.check_input(input.as_ref(), [batch, time])?;
        let rows = batch * time;
        let fed = match previous_outputs {
            FeedbackSequence::Tokens(ids) => {
                require_ids_below("previous_outputs", &ids, self.d_output(), self.id_check)?;
                lookup_rows(self.feedback_weight.val(), ids.reshape([rows]))
            }
            FeedbackSequence::Dense(y) => {
                let d = y.dims()[2];
                if d != self.d_output() {
                    return Err(shape_error(
                        "previous_outputs",
                        format!("[batch, time, {}]", self.d_output()),
                        &[batch, time, d],
                    ));
                }
                y.reshape([rows, d]).matmul(self.feedback_weight.val())
            }
        };
        // b is read before U: parameters draw their initial values on first read, and this is
        // the order of first reads a seed has always met.
        let bias = self.bias.val();
        let pre_activation = match (input, &self.input_weight) {
            (Some(input), Some(weight)) => {
                fed + input.into_batch_major_rows().affine(weight.val(), bias)
            }
            _ => fed + bias.unsqueeze::<2>(),
        };
        let hidden = tanh(pre_activation);
        debug_assert_eq!(hidden.dims(), [rows, self.d_hidden()]);
        Ok(hidden)
    }

    /// One step: logits `o(t)` `[batch, d_output]` from `x(t)` (`[batch]` ids or
    /// `[batch, d_input]` features, or `None`) and the fed-back `y(t-1)`.
    pub fn step(
        &self,
        input: Option<StepInput<B>>,
        feedback: Feedback<B>,
    ) -> crate::Result<Tensor<B, 2>> {
        self.check_feedback(&feedback)?;
        let batch = feedback.batch();
        let fed = self.feed(feedback);
        // b before U, the order of first reads (and so of initial values) a seed has always met.
        let bias = self.bias.val();
        let pre_activation = match (input, &self.input_weight, &self.input_encoding) {
            (None, None, _) => fed + bias.unsqueeze::<2>(),
            (Some(input), Some(weight), Some(encoding)) => {
                let given = input.check(encoding, self.id_check)?;
                if given != batch {
                    return Err(shape_error("input", format!("[{batch}, …]"), &[given]));
                }
                fed + input.affine(weight.val(), bias)
            }
            (None, Some(_), _) => {
                return Err(shape_error("input", "an input for this step".into(), &[]));
            }
            (Some(_), _, _) => {
                return Err(shape_error(
                    "input",
                    "no input (model built without)".into(),
                    &[],
                ));
            }
        };
        Ok(self.output.forward(tanh(pre_activation)))
    }

    /// The symbol fed back at every step of a window under `plan`: the true `y(t-1)`, or the
    /// model's own prediction from the step before.
    ///
    /// - `input`: as for [`OutputRecurrent::forward_teacher_forced`], or `None`.
    /// - `truth`: the true fed-back symbols `y(0) … y(τ-1)`, `[batch, time]`.
    /// - `plan`: per row and step, the truth or the own prediction, and the sampling draws;
    ///   `[batch, time]` as `truth`.
    ///
    /// Returns the fed-back symbols, `[batch, time]`: `truth` itself, untouched, when the plan
    /// feeds the truth everywhere. Runs without autodiff; the CPU backends run it as one kernel.
    /// No gradient flows through a fed prediction, so [`OutputRecurrent::teacher_forced_loss`]
    /// on the fed symbols is the step-wise training pass, values and gradients.
    pub fn fed_symbols(
        &self,
        input: Option<SequenceInput<B>>,
        truth: Tensor<B, 2, Int>,
        plan: &FeedingPlan,
    ) -> crate::Result<Tensor<B, 2, Int>> {
        let [batch, time] = truth.dims();
        require_steps("truth", [batch, time])?;
        plan.check_fits([batch, time])?;
        if plan.is_teacher_forcing() {
            // Nothing to decide: the training pass that follows checks the ids and the input.
            return Ok(truth);
        }
        require_ids_below("truth", &truth, self.d_output(), self.id_check)?;
        self.check_input(input.as_ref(), [batch, time])?;
        let projected = match (input, &self.input_weight) {
            (Some(input), Some(weight)) => {
                let rows = input.into_batch_major_rows().project(weight.val().detach());
                Some(rows.reshape([batch, time, self.d_hidden()]).detach())
            }
            _ => None,
        };
        let rollout = OutputRollout {
            feedback_weight: self.feedback_weight.val().detach(),
            bias: self.bias.val().detach(),
            output_weight: self.output.weight.val().detach(),
            output_bias: output_bias(&self.output).detach(),
            projected,
            truth,
        };
        Ok(B::output_rollout(rollout, plan))
    }

    /// Step-wise forward where the caller picks every fed-back value.
    ///
    /// - `input`: as for [`OutputRecurrent::forward_teacher_forced`], or `None`.
    /// - `first`: `y(0)`, `[batch]` ids or `[batch, d_output]`.
    /// - `time`: number of steps τ.
    /// - `choose(t, logits)`: given `o(t)` (`[batch, d_output]`, for `t` in `1..τ`), returns
    ///   `y(t)`, the value fed to step `t+1`: the truth, or the model's own output through
    ///   [`Feedback::from_logits`], or a per-sequence mix of both.
    ///
    /// Returns logits `[batch, time, d_output]`.
    pub fn forward_stepwise(
        &self,
        input: Option<SequenceInput<B>>,
        first: Feedback<B>,
        time: usize,
        mut choose: impl FnMut(usize, Tensor<B, 2>) -> Feedback<B>,
    ) -> crate::Result<Tensor<B, 3>> {
        let batch = first.batch();
        require_steps("first", [batch, time])?;
        self.check_input(input.as_ref(), [batch, time])?;
        let mut steps = input.map(|input| input.into_steps().into_iter());
        let mut feedback = Some(first);
        let mut logits = Vec::with_capacity(time);
        for t in 0..time {
            let x = steps.as_mut().and_then(|steps| steps.next());
            let o = self.step(x, feedback.take().expect("set on every step"))?;
            if t + 1 < time {
                feedback = Some(choose(t + 1, o.clone()));
            }
            logits.push(o);
        }
        Ok(Tensor::stack(logits, 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::TensorData;

    type B = Flex;

    #[test]
    fn fed_back_ids_and_targets_outside_the_classes_are_rejected() {
        let device = Default::default();
        let model = OutputRecurrentConfig::new(4, 3).init::<B>(&device);
        let ids = |values: [i64; 3]| Tensor::<B, 2, Int>::from_data([values], &device);
        let loss = |previous: [i64; 3], targets: [i64; 3]| {
            model
                .teacher_forced_loss(None, FeedbackSequence::Tokens(ids(previous)), ids(targets))
                .map(|_| ())
                .map_err(|error| error.to_string())
        };
        assert!(
            loss([0, 1, 3], [0, 1, 2])
                .unwrap_err()
                .contains("previous_outputs holds the id 3")
        );
        assert!(
            loss([0, 1, 2], [0, 7, 2])
                .unwrap_err()
                .contains("targets holds the id 7")
        );
        assert!(loss([0, 1, 2], [2, 1, 0]).is_ok());
        let step = model.step(None, Feedback::Tokens(Tensor::from_data([3i64], &device)));
        assert!(
            step.unwrap_err()
                .to_string()
                .contains("feedback holds the id 3")
        );
    }

    #[test]
    fn sampling_follows_the_distribution() {
        let device = Default::default();
        B::seed(&device, 3);
        let probabilities = [0.1f32, 0.6, 0.3];
        let draws = 20_000;
        let logits: Vec<f32> = probabilities
            .iter()
            .map(|p| p.ln())
            .cycle()
            .take(3 * draws)
            .collect();
        let logits = Tensor::<B, 2>::from_data(TensorData::new(logits, [draws, 3]), &device);
        let classes: Vec<i64> = sample_classes(logits).into_data().iter::<i64>().collect();
        for (class, p) in probabilities.iter().enumerate() {
            let frequency =
                classes.iter().filter(|&&c| c == class as i64).count() as f32 / draws as f32;
            assert!(
                (frequency - p).abs() < 0.015,
                "class {class}: {frequency} vs {p}"
            );
        }
    }

    #[test]
    fn argmax_feedback_picks_the_largest_logit() {
        let device = Default::default();
        let logits = Tensor::<B, 2>::from_floats([[0.1, 2.0, -1.0], [3.0, 0.0, 0.5]], &device);
        match Feedback::from_logits(logits, FeedbackChoice::Argmax) {
            Feedback::Tokens(ids) => {
                assert_eq!(ids.into_data().iter::<i64>().collect::<Vec<_>>(), [1, 0])
            }
            other => panic!("expected ids, got {other:?}"),
        }
    }

    #[test]
    fn inputs_that_do_not_fit_are_rejected() {
        let device = Default::default();
        let model = OutputRecurrentConfig::new(4, 3).init::<B>(&device);
        let previous = FeedbackSequence::Tokens(Tensor::zeros([2, 5], &device));
        let x = SequenceInput::Dense(Tensor::<B, 3>::zeros([2, 5, 3], &device));
        assert!(
            model
                .forward_teacher_forced(Some(x), previous.clone())
                .is_err()
        );
        let wrong = FeedbackSequence::Dense(Tensor::zeros([2, 5, 4], &device));
        assert!(model.forward_teacher_forced(None, wrong).is_err());
        let wrong = Feedback::Dense(Tensor::zeros([2, 2], &device));
        assert!(model.step(None, wrong).is_err());
        assert_eq!(
            model.forward_teacher_forced(None, previous).unwrap().dims(),
            [2, 5, 3]
        );

        let with_input = OutputRecurrentConfig::new(4, 3)
            .with_input(Some(InputEncoding::Tokens { vocab_size: 5 }))
            .init::<B>(&device);
        let previous = FeedbackSequence::Tokens(Tensor::zeros([2, 5], &device));
        assert!(
            with_input
                .forward_teacher_forced(None, previous.clone())
                .is_err()
        );
        let short = SequenceInput::Tokens(Tensor::zeros([2, 4], &device));
        assert!(
            with_input
                .forward_teacher_forced(Some(short), previous)
                .is_err()
        );
        assert!(
            OutputRecurrentConfig::new(0, 3)
                .try_init::<B>(&device)
                .is_err(),
            "zero hidden size"
        );
    }
}
