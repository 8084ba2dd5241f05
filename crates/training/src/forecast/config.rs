//! Every setting of a forecaster's run, serialisable and checked before training.

use std::ops::Bound::{Excluded, Included};

use serde::{Deserialize, Serialize};
use unroll_model::setting::within;

use super::data::BuiltinSeries;
use crate::error::{Result, invalid};
use crate::feeding::Strategy;
use crate::memory::{
    MemoryEstimate, check, check_buffer, check_inference, hidden_stack_weights, product,
};
use crate::schedule::CurriculumSchedule;
use crate::settings::{LearningRateSchedule, ModelSettings, OptimizerKind, Pattern};
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

impl RegressionLoss {
    /// Its name as the command line and messages spell it (`mse`, `gaussian-nll`).
    pub fn name(self) -> &'static str {
        match self {
            RegressionLoss::MeanSquared => "mse",
            RegressionLoss::GaussianNll => "gaussian-nll",
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
        pub strategy: Strategy,
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

/// The curriculum fitted to a run of `iterations` over windows of `window` steps: from a quarter
/// of the run, the last steps of each window are fed the model's own outputs, growing to half
/// the window by three quarters of the run.
pub fn fitted_curriculum(iterations: u64, window: usize) -> Strategy {
    Strategy::Curriculum {
        schedule: CurriculumSchedule {
            maximum: (window / 2).max(1),
            start: iterations / 4,
            ramp: (iterations / 2).max(1),
        },
        own: FeedbackChoice::Sample,
    }
}

/// The default forecaster, chosen by the exposure-bias study (README, "What the training
/// strategies do to exposure bias"): pattern 1 trained with the curriculum, back-propagated
/// through the fed-back outputs, which holds the trajectory longest on average over both
/// systems (valid for 75 and 98 steps, against 96 and 65 for teacher forcing and at most 39 and
/// 64 for any pattern-2 strategy).
impl Default for ForecastConfig {
    fn default() -> Self {
        let (iterations, window) = (3000, 50);
        ForecastConfig {
            model: ModelSettings {
                pattern: Pattern::Hidden,
                hidden: 64,
                ..ModelSettings::default()
            },
            window,
            batch: 32,
            iterations,
            optimizer: OptimizerKind::Adam,
            learning_rate: 3e-3,
            // A regression's error keeps falling as the rate decays (a constant rate stalls
            // an order of magnitude higher in one-step error).
            learning_rate_schedule: LearningRateSchedule::Cosine { minimum: 1e-4 },
            clip: Some(5.0),
            strategy: fitted_curriculum(iterations, window),
            fed_gradient: FedGradient::Through,
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
        self.validate_shared(&[
            ("window", self.window),
            ("batch", self.batch),
            ("warmup", self.warmup),
            ("horizon", self.horizon),
            ("starts", self.starts),
        ])?;
        self.model.refuse_bidirectional("forecast")?;
        within(
            "valid_threshold",
            self.valid_threshold,
            Excluded(0.0),
            Included(f64::MAX),
        )?;
        self.strategy.validate(self.window)?;
        if self.model.pattern == Pattern::Output && self.model.layers != 1 {
            return Err(invalid(
                "layers",
                "pattern 2 has one hidden layer between the fed-back output and the next",
            ));
        }
        self.model.check_cell()?;
        Ok(())
    }

    /// The fewest rows each part of the series needs: a window and the step after it to
    /// train, a warm-up and a horizon to validate.
    pub fn shortest_part(&self) -> usize {
        self.window
            .saturating_add(1)
            .max(self.warmup.saturating_add(self.horizon))
    }

    /// The outputs per step of a forecaster of `columns` values: a value per column, or a mean
    /// and a log-variance.
    fn outputs(&self, columns: usize) -> usize {
        match self.loss {
            RegressionLoss::MeanSquared => columns,
            RegressionLoss::GaussianNll => columns.saturating_mul(2),
        }
    }

    /// The memory a run of this forecaster takes on `columns` values per step, in f32: the
    /// weights with their gradients and optimiser state, and the larger of a training batch's
    /// activations and an open-loop validation's (`starts` rows of warm-up and horizon).
    pub fn memory_estimate(&self, columns: usize) -> MemoryEstimate {
        let training = product(&[self.batch, self.window]);
        let validation = product(&[self.starts, self.warmup.saturating_add(self.horizon)]);
        let positions = training.max(validation);
        MemoryEstimate {
            parameters: self.weights(columns).saturating_mul(4 * 4),
            activations: self.activations_per_step(columns).saturating_mul(positions),
        }
    }

    /// Refuses a run whose estimated memory exceeds `available` bytes (when known) or is absurd.
    pub fn check_memory(&self, columns: usize, available: Option<u64>) -> Result<()> {
        let shape = format!(
            "batch {} × window {}, or {} starts × warm-up {} and horizon {}",
            self.batch, self.window, self.starts, self.warmup, self.horizon
        );
        check(self.memory_estimate(columns), available, &shape)
    }

    /// Refuses an open loop of `rows` sequences over `steps` steps (warm-up and horizon) of
    /// `columns` values that would not fit in `available` bytes: the states, the outputs and
    /// the forecast values kept in f64.
    pub fn check_open_loop(
        &self,
        columns: usize,
        rows: usize,
        steps: usize,
        available: Option<u64>,
    ) -> Result<()> {
        let positions = product(&[rows, steps]);
        let estimate = MemoryEstimate {
            parameters: self.weights(columns).saturating_mul(4),
            activations: self
                .activations_per_step(columns)
                .saturating_add(product(&[columns, 8]))
                .saturating_mul(positions),
        };
        check_inference(
            estimate,
            available,
            &format!("{rows} sequences × {steps} steps"),
        )
    }

    /// The forecaster's weights.
    fn weights(&self, columns: usize) -> u128 {
        let (h, outputs) = (self.model.hidden, self.outputs(columns));
        match self.model.pattern {
            // The fed-back output's weights, the bias, and the output layer.
            Pattern::Output => product(&[columns, h])
                .saturating_add(h as u128)
                .saturating_add(product(&[h, outputs]))
                .saturating_add(outputs as u128),
            Pattern::Hidden => {
                hidden_stack_weights(columns, h, self.model.layers, outputs, self.model.cell)
            }
        }
    }

    /// Bytes per sequence and step: every layer's states and their gradients, the outputs and
    /// theirs.
    fn activations_per_step(&self, columns: usize) -> u128 {
        let model = &self.model;
        product(&[
            model.layers,
            model.hidden,
            model.cell.facts().values_per_state,
        ])
        .saturating_add(product(&[self.outputs(columns), 3]))
        .saturating_mul(4)
    }
}

impl BuiltinSeries {
    /// Refuses a series longer than `available` bytes hold (when known) or absurd: its rows in
    /// f64, split and standardised copies included.
    pub fn check_memory(&self, available: Option<u64>) -> Result<()> {
        let columns = self.system.columns();
        check_buffer(
            "length",
            &format!("a series of {} steps × {columns} columns", self.length),
            product(&[self.length, columns, 8, 3]),
            available,
        )
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
                (
                    |c| {
                        c.model.pattern = Pattern::Output;
                        c.model.layers = 2;
                    },
                    "layers",
                ),
                (
                    |c| c.strategy = Strategy::curriculum_to(51, FeedbackChoice::Sample),
                    "maximum",
                ),
            ],
        );
    }

    #[test]
    fn sizes_are_bounded_before_anything_is_allocated() {
        let config = ForecastConfig::default();
        config.check_memory(3, Some(1 << 30)).unwrap();
        // Every size of 2⁶⁴ − 1 is refused, naming what it is for, without overflowing.
        let changes: [fn(&mut ForecastConfig); 6] = [
            |c| c.window = usize::MAX,
            |c| c.batch = usize::MAX,
            |c| c.warmup = usize::MAX,
            |c| c.horizon = usize::MAX,
            |c| c.starts = usize::MAX,
            |c| c.model.hidden = usize::MAX,
        ];
        for change in changes {
            let mut config = ForecastConfig::default();
            change(&mut config);
            let error = config.check_memory(3, None).unwrap_err().to_string();
            assert!(error.contains("more than any machine"), "{error}");
        }
        let mut hidden = ForecastConfig::default();
        hidden.model.pattern = Pattern::Hidden;
        hidden.model.layers = 100_000;
        let error = hidden.check_memory(3, Some(1 << 30)).unwrap_err();
        assert!(error.to_string().contains("1.0 GiB available"), "{error}");
        // An open loop's horizon: a billion steps do not fit in a gibibyte.
        config.check_open_loop(3, 1, 10_000, Some(1 << 30)).unwrap();
        assert!(
            config
                .check_open_loop(3, 1, 1_000_000_000, Some(1 << 30))
                .is_err()
        );
        // A built-in series: its length.
        let series = |length| BuiltinSeries {
            system: super::super::data::BuiltinSystem::Lorenz,
            length,
            noise: 0.0,
        };
        series(10_000).check_memory(Some(1 << 30)).unwrap();
        let error = series(usize::MAX)
            .check_memory(None)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`length`") && error.contains("any machine"),
            "{error}"
        );
    }
}
