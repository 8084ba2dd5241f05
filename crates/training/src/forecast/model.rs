//! The forecaster: pattern 2 on real values (the fed-back `y(t-1)` is the network's only
//! input) or pattern 1 as an autoregressive model (`x(t) = y(t-1)`, its hidden state carried),
//! trained on windows fed the truth or its own outputs, and run open loop.
//!
//! Values are in standard units ([`Standardization`](super::Standardization)). Under the mean
//! squared error `o(t)` is the prediction of `y(t)`; under the Gaussian negative log-likelihood
//! `o(t)` holds the mean `μ(t)` of each column, then its log-variance `s(t)`, and the mean is
//! what is fed back.

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use unroll_model::{
    Feedback, FeedbackSequence, FeedingPlan, HiddenRecurrentConfig, HiddenStackConfig, HiddenState,
    InputEncoding, OutputRecurrentConfig, RecurrenceBackend, SequenceInput, StepInput,
};

use super::config::{FedGradient, RegressionLoss};
use crate::error::Result;
use crate::network::Network;
use crate::settings::{ModelSettings, Pattern};

/// The log-variance is kept in `[−12, 12]`, so that `e^(−s)` stays finite.
const LOG_VARIANCE_BOUND: f64 = 12.0;

/// A forecaster of `columns` real values per step.
#[derive(Module, Debug)]
pub struct Forecaster<B: Backend> {
    /// The recurrence and its output layer.
    pub network: Network<B>,
    /// The values per step.
    #[module(skip)]
    pub columns: usize,
    /// What its outputs mean: a value per column, or a mean and a log-variance.
    #[module(skip)]
    pub loss: RegressionLoss,
}

/// Builds a fresh forecaster of `columns` values per step with the shape `model` gives.
pub fn init_forecaster<B: Backend>(
    model: &ModelSettings,
    columns: usize,
    loss: RegressionLoss,
    device: &B::Device,
) -> Result<Forecaster<B>> {
    let outputs = match loss {
        RegressionLoss::MeanSquared => columns,
        RegressionLoss::GaussianNll => 2 * columns,
    };
    let network = match model.pattern {
        Pattern::Output => {
            Network::Output(OutputRecurrentConfig::new(model.hidden, outputs).try_init(device)?)
        }
        Pattern::Hidden => {
            let hidden =
                HiddenStackConfig::new(InputEncoding::Dense { d_input: columns }, model.hidden)
                    .with_cell(model.cell)
                    .with_num_layers(model.layers)
                    .with_dropout(model.dropout);
            Network::Hidden(HiddenRecurrentConfig::new(hidden, outputs).try_init(device)?)
        }
    };
    Ok(Forecaster {
        network,
        columns,
        loss,
    })
}

/// Column `t` of `[batch, time, width]`, as `[batch, width]`.
fn column<B: Backend>(values: &Tensor<B, 3>, t: usize) -> Tensor<B, 2> {
    let [batch, _, width] = values.dims();
    values.clone().narrow(1, t, 1).reshape([batch, width])
}

impl<B: Backend + RecurrenceBackend> Forecaster<B> {
    /// Values per output step: the columns, twice over under the Gaussian NLL.
    pub fn output_width(&self) -> usize {
        match self.loss {
            RegressionLoss::MeanSquared => self.columns,
            RegressionLoss::GaussianNll => 2 * self.columns,
        }
    }

    /// The predicted values (means) of outputs `[batch, time, output_width]`:
    /// `[batch, time, columns]`.
    pub fn means(&self, outputs: Tensor<B, 3>) -> Tensor<B, 3> {
        outputs.narrow(2, 0, self.columns)
    }

    /// The loss of outputs `[batch, time, output_width]` against targets
    /// `[batch, time, columns]`, averaged over every step and column.
    pub fn loss(&self, outputs: Tensor<B, 3>, targets: Tensor<B, 3>) -> Tensor<B, 1> {
        let error = self.means(outputs.clone()) - targets;
        match self.loss {
            RegressionLoss::MeanSquared => error.powf_scalar(2.0).mean(),
            RegressionLoss::GaussianNll => {
                let log_variance = outputs
                    .narrow(2, self.columns, self.columns)
                    .clamp(-LOG_VARIANCE_BOUND, LOG_VARIANCE_BOUND);
                ((error.powf_scalar(2.0) * log_variance.clone().neg().exp() + log_variance) / 2.0)
                    .mean()
            }
        }
    }

    /// What pattern 2's feedback weight multiplies: the values, with zeros for the rows of the
    /// log-variances. `[…, columns]` → `[…, output_width]`.
    fn fed<const D: usize>(&self, values: Tensor<B, D>) -> Tensor<B, D> {
        match (&self.network, self.loss) {
            (Network::Output(_), RegressionLoss::GaussianNll) => {
                let zeros = values.zeros_like();
                Tensor::cat(vec![values, zeros], D - 1)
            }
            _ => values,
        }
    }

    /// Teacher-forced outputs: fed the true `y(0) … y(τ-1)` (`[batch, time, columns]`), returns
    /// the outputs predicting `y(1) … y(τ)`, `[batch, time, output_width]`. Pattern 2 runs in
    /// parallel over time; pattern 1 starts from a zero state.
    pub fn teacher_forced(&self, previous: Tensor<B, 3>) -> Result<Tensor<B, 3>> {
        Ok(self.teacher_forced_with_state(previous)?.0)
    }

    /// As [`Forecaster::teacher_forced`], with pattern 1's final state `[layers, batch, d_hidden]`.
    fn teacher_forced_with_state(
        &self,
        previous: Tensor<B, 3>,
    ) -> Result<(Tensor<B, 3>, Option<HiddenState<B>>)> {
        Ok(match &self.network {
            Network::Output(model) => (
                model.forward_teacher_forced(None, FeedbackSequence::Dense(self.fed(previous)))?,
                None,
            ),
            Network::Hidden(model) => {
                let output = model.forward(SequenceInput::Dense(previous), None)?;
                (output.logits, Some(output.state))
            }
        })
    }

    /// One step fed `fed` (`[batch, columns]`) from pattern 1's `state`: the output
    /// `[batch, output_width]` and the new state.
    fn step(
        &self,
        fed: Tensor<B, 2>,
        state: Option<HiddenState<B>>,
    ) -> Result<(Tensor<B, 2>, Option<HiddenState<B>>)> {
        Ok(match &self.network {
            Network::Output(model) => (model.step(None, Feedback::Dense(self.fed(fed)))?, None),
            Network::Hidden(model) => {
                let (o, state) = model.step(StepInput::Dense(fed), state)?;
                (o, Some(state))
            }
        })
    }

    /// The mean part of one step's output `[batch, output_width]`: `[batch, columns]`.
    fn step_mean(&self, output: Tensor<B, 2>) -> Tensor<B, 2> {
        output.narrow(1, 0, self.columns)
    }

    /// Outputs over one training window fed by `plan`: at each step and row, the true previous
    /// value or the model's own previous prediction (`gradient` says whether the gradient
    /// flows through it). The steps before the first own value run teacher-forced (in parallel
    /// for pattern 2), the rest one by one.
    ///
    /// - `previous`: the true `y(0) … y(τ-1)`, `[batch, time, columns]`.
    /// - `plan`: `[batch, time]`; step 0 is always fed the truth.
    ///
    /// Returns the outputs predicting `y(1) … y(τ)`, `[batch, time, output_width]`.
    pub fn window(
        &self,
        previous: Tensor<B, 3>,
        plan: &FeedingPlan,
        gradient: FedGradient,
    ) -> Result<Tensor<B, 3>> {
        let [batch, time, _] = previous.dims();
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
        let mut own = self.step_mean(column(&head, first_own - 1));
        let mut outputs = vec![head];
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
            own = self.step_mean(o.clone());
            outputs.push(o.unsqueeze_dim(1));
        }
        Ok(Tensor::cat(outputs, 1))
    }

    /// Open-loop forecasts: reads the true `warmup` values (`[batch, w, columns]`), then feeds
    /// back its own predictions. Returns the predicted values (means) of the `horizon` steps
    /// after the warm-up, `[batch, horizon, columns]`; the first is the teacher-forced one-step
    /// prediction.
    pub fn open_loop(&self, warmup: Tensor<B, 3>, horizon: usize) -> Result<Tensor<B, 3>> {
        let [_, w, _] = warmup.dims();
        let (head, mut state) = self.teacher_forced_with_state(warmup)?;
        let mut own = self.step_mean(column(&head, w - 1));
        let mut predictions = vec![own.clone().unsqueeze_dim(1)];
        for _ in 1..horizon {
            let (o, next) = self.step(own, state)?;
            state = next;
            own = self.step_mean(o);
            predictions.push(own.clone().unsqueeze_dim(1));
        }
        Ok(Tensor::cat(predictions, 1))
    }
}
