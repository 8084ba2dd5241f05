//! Every setting of a forecaster's run, serialisable and checked before training.

use std::ops::Bound::{Excluded, Included};

use serde::{Deserialize, Serialize};
use unroll_model::setting::{at_least_one, within};

use super::data::BuiltinSeries;
use crate::error::{Result, invalid};
use crate::feeding::Feeding;
use crate::schedule::{CurriculumSchedule, SamplingSchedule};
use crate::settings::{
    LearningRateSchedule, ModelSettings, OptimizerKind, Pattern, check_validation_fraction,
};
use unroll_model::FeedbackChoice;

/// What a forecaster's training minimises.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum RegressionLoss {
    /// `(y − o)²`, averaged over steps and columns.
    #[default]
    #[cfg_attr(feature = "clap", value(name = "mse"))]
    #[serde(alias = "mse")]
    MeanSquared,
    /// The Gaussian negative log-likelihood: each column's mean and log-variance predicted, the
    /// mean fed back.
    ///
    /// `½ (s + (y − μ)² e^(−s))` with the predicted mean `μ` and log-variance `s` of each column
    /// (PyTorch's `GaussianNLLLoss` without its constant), averaged over steps and columns.
    #[serde(alias = "gaussian-nll")]
    GaussianNll,
}

/// What the network is fed at each training step: the true previous value, or its own
/// previous output.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ForecastStrategy {
    /// Always the truth: every step decouples, and pattern 2 trains in parallel over time.
    #[serde(alias = "teacher-forcing")]
    TeacherForcing,
    /// Per (sequence, step), the truth with probability ε(i), else the model's own output.
    #[serde(alias = "scheduled-sampling")]
    ScheduledSampling {
        /// ε(i).
        schedule: SamplingSchedule,
    },
    /// The last n(i) steps of every window fed the model's own outputs.
    Curriculum {
        /// n(i).
        schedule: CurriculumSchedule,
    },
}

impl ForecastStrategy {
    /// What iteration `iteration` feeds.
    pub fn feeding(&self, iteration: u64) -> Feeding {
        // A real value is fed back as it is: the choice of symbol is unused.
        let own = FeedbackChoice::Argmax;
        match *self {
            ForecastStrategy::TeacherForcing => Feeding::TeacherForcing,
            ForecastStrategy::ScheduledSampling { schedule } => Feeding::ScheduledSampling {
                truth_probability: schedule.probability(iteration),
                own,
            },
            ForecastStrategy::Curriculum { schedule } => Feeding::Curriculum {
                free_steps: schedule.free_running_steps(iteration),
                own,
            },
        }
    }

    /// A short name for reports (`teacher forcing`, `scheduled sampling (linear)`, …).
    pub fn name(&self) -> String {
        match self {
            ForecastStrategy::TeacherForcing => "teacher forcing".into(),
            ForecastStrategy::ScheduledSampling { schedule } => {
                let kind = match schedule {
                    SamplingSchedule::Constant { .. } => "constant",
                    SamplingSchedule::Linear { .. } => "linear",
                    SamplingSchedule::Exponential { .. } => "exponential",
                    SamplingSchedule::InverseSigmoid { .. } => "inverse sigmoid",
                };
                format!("scheduled sampling ({kind})")
            }
            ForecastStrategy::Curriculum { .. } => "curriculum".into(),
        }
    }
}

/// Whether the gradient flows through a fed-back own output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FedGradient {
    /// The fed-back output is a constant, as a sampled token is (Bengio et al. 2015).
    #[default]
    Detached,
    /// Back-propagated through the output-to-input path, as in training a free-running model
    /// end to end.
    Through,
}

crate::settings::settings_with_loop! {
    /// The settings of a forecaster's run.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct ForecastConfig {
        /// The network: pattern 2 (`output`, the fed-back `y(t-1)` its only input) or pattern 1
        /// (`hidden`, an autoregressive model with `x(t) = y(t-1)` and its state carried).
        pub model: ModelSettings,
        /// Steps per training window.
        pub window: usize,
        /// Windows per batch.
        pub batch: usize,
        /// What the network is fed in training.
        pub strategy: ForecastStrategy,
        /// Whether the gradient flows through a fed-back own output.
        pub fed_gradient: FedGradient,
        /// What training minimises: the mean squared error, or the Gaussian negative
        /// log-likelihood of a predicted mean and variance.
        pub loss: RegressionLoss,
        /// Fraction of the series, at its end, held out for validation.
        pub validation_fraction: f64,
        /// Open-loop evaluation: true steps read before the model is fed its own outputs.
        pub warmup: usize,
        /// Open-loop evaluation: steps forecast from each starting point.
        pub horizon: usize,
        /// Open-loop evaluation: starting points, spread evenly over the validation part.
        pub starts: usize,
        /// The NRMSE above which a forecast is no longer valid.
        pub valid_threshold: f64,
        /// The built-in series trained on, when the data is not a file.
        pub builtin: Option<BuiltinSeries>,
    }
}

impl Default for ForecastConfig {
    fn default() -> Self {
        ForecastConfig {
            model: ModelSettings {
                pattern: Pattern::Output,
                hidden: 64,
                ..ModelSettings::default()
            },
            window: 50,
            batch: 32,
            iterations: 3000,
            optimizer: OptimizerKind::Adam,
            learning_rate: 3e-3,
            // A regression's error keeps falling as the rate decays (a constant rate stalls
            // an order of magnitude higher in one-step error).
            learning_rate_schedule: LearningRateSchedule::Cosine { minimum: 1e-4 },
            clip: Some(5.0),
            strategy: ForecastStrategy::TeacherForcing,
            fed_gradient: FedGradient::Detached,
            loss: RegressionLoss::MeanSquared,
            validation_fraction: 0.2,
            eval_every: 1000,
            log_every: 50,
            seed: 0,
            warmup: 50,
            horizon: 200,
            starts: 32,
            valid_threshold: 0.5,
            builtin: None,
        }
    }
}

impl ForecastConfig {
    /// Checks every setting, naming the first that is invalid.
    pub fn validate(&self) -> Result<()> {
        self.model.validate()?;
        at_least_one("window", self.window as u64)?;
        at_least_one("batch", self.batch as u64)?;
        at_least_one("warmup", self.warmup as u64)?;
        at_least_one("horizon", self.horizon as u64)?;
        at_least_one("starts", self.starts as u64)?;
        within(
            "valid_threshold",
            self.valid_threshold,
            Excluded(0.0),
            Included(f64::MAX),
        )?;
        match self.strategy {
            ForecastStrategy::TeacherForcing => {}
            ForecastStrategy::ScheduledSampling { schedule } => schedule.validate()?,
            ForecastStrategy::Curriculum { schedule } => schedule.validate(self.window)?,
        }
        if self.model.pattern == Pattern::Output && self.model.layers != 1 {
            return Err(invalid(
                "layers",
                "pattern 2 has one hidden layer between the fed-back output and the next",
            ));
        }
        self.model.check_cell()?;
        self.loop_settings().validate()?;
        check_validation_fraction(self.validation_fraction)
    }

    /// The fewest rows each part of the series needs: a window and the step after it to
    /// train, a warm-up and a horizon to validate.
    pub fn shortest_part(&self) -> usize {
        (self.window + 1).max(self.warmup + self.horizon)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_nonsense_is_named() {
        crate::error::assert_refusals_named(
            ForecastConfig::validate,
            &[
                (|c| c.window = 0, "window"),
                (|c| c.horizon = 0, "horizon"),
                (|c| c.valid_threshold = -1.0, "valid_threshold"),
                (|c| c.model.layers = 2, "layers"),
                (
                    |c| {
                        let schedule = CurriculumSchedule {
                            maximum: 51,
                            start: 0,
                            ramp: 10,
                        };
                        c.strategy = ForecastStrategy::Curriculum { schedule };
                    },
                    "maximum",
                ),
            ],
        );
    }
}
