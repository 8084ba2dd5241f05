//! The forecaster: pattern 2 on real values (the fed-back `y(t-1)` is the network's only
//! input) or pattern 1 as an autoregressive model (`x(t) = y(t-1)`, its hidden state carried),
//! trained on windows fed the truth or its own outputs, and run open loop.
//!
//! Values are in standard units ([`Standardization`](super::Standardization)); `o(t)` is the
//! prediction of `y(t)` itself, scored by the mean squared error.

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use unroll_model::{
    Feedback, FeedbackSequence, FeedingPlan, HiddenRecurrent, HiddenRecurrentConfig,
    HiddenStackConfig, InputEncoding, OutputRecurrent, OutputRecurrentConfig, RecurrenceBackend,
    SequenceInput, StepInput,
};

use super::config::FedGradient;
use crate::config::{ModelSettings, Pattern};
use crate::error::Result;

/// A forecaster of `width` real values per step.
// One forecaster lives per run: the variants' sizes do not matter, and Burn's derive takes
// modules, not boxes.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Forecaster<B: Backend> {
    /// Pattern 2: `h(t) = tanh(b + W y(t-1))`, `o(t) = c + V h(t)`; no state but the fed-back
    /// value, so teacher-forced training has no loop over time.
    Output(OutputRecurrent<B>),
    /// Pattern 1 with `x(t) = y(t-1)`: the hidden state carries the past.
    Hidden(HiddenRecurrent<B>),
}

/// Builds a fresh forecaster of `width` columns with the shape `model` gives.
pub fn init_forecaster<B: Backend>(
    model: &ModelSettings,
    width: usize,
    device: &B::Device,
) -> Result<Forecaster<B>> {
    Ok(match model.pattern {
        Pattern::Output => {
            Forecaster::Output(OutputRecurrentConfig::new(model.hidden, width).try_init(device)?)
        }
        Pattern::Hidden => {
            let hidden =
                HiddenStackConfig::new(InputEncoding::Dense { d_input: width }, model.hidden)
                    .with_num_layers(model.layers)
                    .with_dropout(model.dropout);
            Forecaster::Hidden(HiddenRecurrentConfig::new(hidden, width).try_init(device)?)
        }
    })
}

/// Column `t` of `[batch, time, width]`, as `[batch, width]`.
fn column<B: Backend>(values: &Tensor<B, 3>, t: usize) -> Tensor<B, 2> {
    let [batch, _, width] = values.dims();
    values.clone().narrow(1, t, 1).reshape([batch, width])
}

impl<B: Backend + RecurrenceBackend> Forecaster<B> {
    /// The values per step.
    pub fn width(&self) -> usize {
        match self {
            Forecaster::Output(model) => model.d_output(),
            Forecaster::Hidden(model) => model.d_output(),
        }
    }

    /// Teacher-forced predictions: fed the true `y(0) … y(τ-1)` (`[batch, time, width]`),
    /// returns the predictions of `y(1) … y(τ)`, `[batch, time, width]`. Pattern 2 runs in
    /// parallel over time; pattern 1 starts from a zero state.
    pub fn teacher_forced(&self, previous: Tensor<B, 3>) -> Result<Tensor<B, 3>> {
        Ok(self.teacher_forced_with_state(previous)?.0)
    }

    /// As [`Forecaster::teacher_forced`], with pattern 1's final state `[layers, batch, d_hidden]`.
    fn teacher_forced_with_state(
        &self,
        previous: Tensor<B, 3>,
    ) -> Result<(Tensor<B, 3>, Option<Tensor<B, 3>>)> {
        Ok(match self {
            Forecaster::Output(model) => (
                model.forward_teacher_forced(None, FeedbackSequence::Dense(previous))?,
                None,
            ),
            Forecaster::Hidden(model) => {
                let output = model.forward(SequenceInput::Dense(previous), None)?;
                (output.logits, Some(output.state))
            }
        })
    }

    /// One step fed `fed` (`[batch, width]`) from pattern 1's `state`: the prediction
    /// `[batch, width]` and the new state.
    fn step(
        &self,
        fed: Tensor<B, 2>,
        state: Option<Tensor<B, 3>>,
    ) -> Result<(Tensor<B, 2>, Option<Tensor<B, 3>>)> {
        Ok(match self {
            Forecaster::Output(model) => (model.step(None, Feedback::Dense(fed))?, None),
            Forecaster::Hidden(model) => {
                let (o, state) = model.step(StepInput::Dense(fed), state)?;
                (o, Some(state))
            }
        })
    }

    /// Predictions over one training window fed by `plan`: at each step and row, the true
    /// previous value or the model's own previous prediction (`gradient` says whether the
    /// gradient flows through it). The steps before the first own value run teacher-forced
    /// (in parallel for pattern 2), the rest one by one.
    ///
    /// - `previous`: the true `y(0) … y(τ-1)`, `[batch, time, width]`.
    /// - `plan`: `[batch, time]`; step 0 is always fed the truth.
    ///
    /// Returns the predictions of `y(1) … y(τ)`, `[batch, time, width]`.
    pub fn window(
        &self,
        previous: Tensor<B, 3>,
        plan: &FeedingPlan,
        gradient: FedGradient,
    ) -> Result<Tensor<B, 3>> {
        let [batch, time, width] = previous.dims();
        if plan.dims() != [batch, time] {
            return Err(unroll_model::ModelError::Shape {
                what: "plan",
                expected: format!("[{batch}, {time}]"),
                actual: plan.dims().to_vec(),
            }
            .into());
        }
        let first_own = (1..time).find(|&t| (0..batch).any(|row| !plan.fed_truth(row, t)));
        let Some(first_own) = first_own else {
            return self.teacher_forced(previous);
        };
        let (head, mut state) =
            self.teacher_forced_with_state(previous.clone().narrow(1, 0, first_own))?;
        let mut predictions = vec![head];
        let mut own = column(&predictions[0], first_own - 1);
        let device = previous.device();
        for t in first_own..time {
            let truth: Vec<f32> = (0..batch)
                .map(|row| f32::from(u8::from(plan.fed_truth(row, t))))
                .collect();
            let truth = Tensor::<B, 2>::from_data(TensorData::new(truth, [batch, 1]), &device);
            let own_value = match gradient {
                FedGradient::Detached => own.detach(),
                FedGradient::Through => own,
            };
            let fed = column(&previous, t) * truth.clone() + own_value * (truth.neg() + 1.0);
            let (o, next) = self.step(fed, state)?;
            state = next;
            own = o.clone();
            predictions.push(o.reshape([batch, 1, width]));
        }
        Ok(Tensor::cat(predictions, 1))
    }

    /// Open-loop forecasts: reads the true `warmup` values (`[batch, w, width]`), then feeds
    /// back its own outputs. Returns the predictions of the `horizon` values after the warm-up,
    /// `[batch, horizon, width]`; the first is the teacher-forced one-step prediction.
    pub fn open_loop(&self, warmup: Tensor<B, 3>, horizon: usize) -> Result<Tensor<B, 3>> {
        let [batch, w, width] = warmup.dims();
        let (head, mut state) = self.teacher_forced_with_state(warmup)?;
        let mut own = column(&head, w - 1);
        let mut predictions = vec![own.clone().reshape([batch, 1, width])];
        for _ in 1..horizon {
            let (o, next) = self.step(own, state)?;
            state = next;
            own = o;
            predictions.push(own.clone().reshape([batch, 1, width]));
        }
        Ok(Tensor::cat(predictions, 1))
    }
}
