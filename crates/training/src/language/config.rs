//! Every setting of a language model's training run, serialisable (JSON or TOML) and checked
//! before training; the settings every task shares are in [`crate::settings`].

use serde::{Deserialize, Serialize};
use unroll_model::setting::at_least_one;

use crate::corpus::SymbolMode;
use crate::error::{Result, invalid};
use crate::feeding::Strategy;
use crate::settings::{
    LearningRateSchedule, ModelSettings, OptimizerKind, check_validation_fraction,
    settings_with_loop,
};
use unroll_model::RecurrencePath;

/// How training windows are drawn from the corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Batching {
    /// Each window starts at a uniformly random position.
    #[cfg_attr(feature = "clap", value(name = "random"))]
    #[serde(alias = "random")]
    RandomWindows,
    /// `batch` contiguous streams read window after window.
    ///
    /// The corpus is cut into `batch` streams, so a stream's hidden state can carry over to its
    /// next window.
    #[cfg_attr(feature = "clap", value(name = "streams"))]
    #[serde(alias = "streams")]
    ContiguousStreams,
}

settings_with_loop! {
    /// Every setting of a training run.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct TrainingConfig {
        /// The network.
        pub model: ModelSettings,
        /// Window length T: back-propagation is truncated to T steps.
        pub window: usize,
        /// Sequences per batch.
        pub batch: usize,
        /// Feeding strategy.
        pub strategy: Strategy,
        /// How windows with own predictions run: the fused rollout and training pass (default) or
        /// the step-wise loop through autodiff (the reference).
        pub stepwise_path: RecurrencePath,
        /// How windows are drawn.
        pub batching: Batching,
        /// With contiguous streams: carry each stream's hidden state (detached) into its next window
        /// instead of starting from zeros. Carrying lets the model use context longer than T at no
        /// extra cost, but the state seen in training then comes from older weights; resetting keeps
        /// windows independent and matches random windows.
        pub carry_state: bool,
        /// Fraction of the corpus, at its end, kept for validation.
        pub validation_fraction: f64,
        /// How the corpus's bytes become symbols.
        pub symbols: SymbolMode,
        /// Characters seen fewer times than this in the corpus read as the unknown symbol
        /// (text), which the model learns from them and reads for any character it never saw;
        /// generation never writes it.
        pub min_symbol_count: usize,
    }
}

impl Default for TrainingConfig {
    fn default() -> Self {
        TrainingConfig {
            model: ModelSettings::default(),
            window: 100,
            batch: 64,
            iterations: 2000,
            optimizer: OptimizerKind::Adam,
            learning_rate: 2e-3,
            learning_rate_schedule: LearningRateSchedule::Constant,
            clip: Some(5.0),
            strategy: Strategy::TeacherForcing,
            stepwise_path: RecurrencePath::Fused,
            batching: Batching::RandomWindows,
            carry_state: false,
            validation_fraction: 0.1,
            eval_every: 500,
            log_every: 1,
            seed: 0,
            symbols: SymbolMode::Text,
            min_symbol_count: 2,
        }
    }
}

impl TrainingConfig {
    /// Checks every setting, naming the first one out of range.
    pub fn validate(&self) -> Result<()> {
        self.model.validate()?;
        at_least_one("window", self.window as u64)?;
        at_least_one("batch", self.batch as u64)?;
        at_least_one("min_symbol_count", self.min_symbol_count as u64)?;
        self.loop_settings().validate()?;
        check_validation_fraction(self.validation_fraction)?;
        if self.carry_state && self.batching != Batching::ContiguousStreams {
            return Err(invalid(
                "carry_state",
                "carrying the hidden state needs contiguous streams",
            ));
        }
        self.strategy.validate(self.window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::{CurriculumSchedule, SamplingSchedule};
    use unroll_model::FeedbackChoice;

    #[test]
    fn defaults_are_valid_and_round_trip() {
        let config = TrainingConfig::default();
        config.validate().unwrap();
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(
            serde_json::from_str::<TrainingConfig>(&json).unwrap(),
            config
        );
        let partial: TrainingConfig = serde_json::from_str(r#"{"window": 50}"#).unwrap();
        assert_eq!(partial.window, 50);
        assert_eq!(partial.batch, 64);
        let familiar: TrainingConfig = serde_json::from_str(r#"{"steps": 5}"#).unwrap();
        assert_eq!(familiar.iterations, 5, "`steps` is read as `iterations`");
    }

    #[test]
    fn nonsense_is_named() {
        fn sampled(schedule: SamplingSchedule) -> Strategy {
            let own = FeedbackChoice::Sample;
            Strategy::ScheduledSampling { schedule, own }
        }
        crate::error::assert_refusals_named(
            TrainingConfig::validate,
            &[
                (|c| c.window = 0, "window"),
                (|c| c.batch = 0, "batch"),
                (|c| c.learning_rate = -1.0, "learning_rate"),
                (|c| c.clip = Some(0.0), "clip"),
                (|c| c.validation_fraction = 1.0, "validation_fraction"),
                (|c| c.model.hidden = 0, "hidden"),
                (|c| c.model.dropout = 1.0, "dropout"),
                (|c| c.model.layers = 1025, "layers"),
                (|c| c.min_symbol_count = 0, "min_symbol_count"),
                (
                    |c| {
                        c.strategy = sampled(SamplingSchedule::Constant {
                            truth_probability: 2.0,
                        })
                    },
                    "truth_probability",
                ),
                (
                    |c| c.strategy = sampled(SamplingSchedule::InverseSigmoid { k: 0.5 }),
                    "k",
                ),
                (
                    |c| {
                        let schedule = CurriculumSchedule {
                            maximum: 10,
                            start: 0,
                            ramp: 100,
                        };
                        let own = FeedbackChoice::Probabilities;
                        c.strategy = Strategy::Curriculum { schedule, own };
                    },
                    "own",
                ),
                (
                    |c| c.learning_rate_schedule = LearningRateSchedule::Exponential { gamma: 1.5 },
                    "gamma",
                ),
                (|c| c.carry_state = true, "carry_state"),
            ],
        );
    }

    #[test]
    fn learning_rate_schedules() {
        let lr = 0.1;
        assert_eq!(LearningRateSchedule::Constant.rate(lr, 77, 100), lr);
        let step = LearningRateSchedule::Step {
            every: 10,
            factor: 0.5,
        };
        assert_eq!(step.rate(lr, 9, 100), lr);
        assert_eq!(step.rate(lr, 25, 100), lr * 0.25);
        let exponential = LearningRateSchedule::Exponential { gamma: 0.9 };
        assert!((exponential.rate(lr, 2, 100) - lr * 0.81).abs() < 1e-15);
        let cosine = LearningRateSchedule::Cosine { minimum: 0.0 };
        assert_eq!(cosine.rate(lr, 0, 100), lr);
        assert!((cosine.rate(lr, 50, 100) - lr / 2.0).abs() < 1e-15);
        assert!(cosine.rate(lr, 100, 100).abs() < 1e-15);
    }
}
