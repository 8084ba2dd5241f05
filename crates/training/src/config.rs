//! Every setting of a training run, serialisable (JSON or TOML) and checked before training.

use std::ops::Bound::{Excluded, Included, Unbounded};

use serde::{Deserialize, Serialize};
use unroll_model::setting::{at_least_one, within};

use crate::corpus::SymbolMode;
use crate::error::{Result, invalid};
use crate::feeding::{StepwisePath, check_own_symbol};
use crate::schedule::{CurriculumSchedule, SamplingSchedule};
use unroll_model::{FeedbackChoice, RecurrentCell};

/// Which recurrent pattern the language model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Pattern {
    /// Pattern 1: hidden-to-hidden recurrence; the input at `t` is the symbol at `t-1`.
    #[cfg_attr(
        feature = "clap",
        value(help = "Pattern 1: hidden-to-hidden recurrence (the hidden state carries the past)")
    )]
    Hidden,
    /// Pattern 2: output-to-hidden recurrence only; the fed-back value is the symbol at `t-1`.
    #[cfg_attr(
        feature = "clap",
        value(
            help = "Pattern 2: output-to-hidden recurrence only (the fed-back previous output is the only input)"
        )
    )]
    Output,
}

/// The network's shape.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelSettings {
    /// Which pattern.
    pub pattern: Pattern,
    /// Size of each hidden layer.
    pub hidden: usize,
    /// The transition of the hidden layers: tanh, LSTM or GRU (patterns 1 and 3; pattern 2's
    /// is tanh). Spelt `"tanh"`, `"lstm"` or `"gru"`.
    #[serde(with = "cell_name")]
    pub cell: RecurrentCell,
    /// Number of stacked layers (pattern 1 only).
    pub layers: usize,
    /// Dropout between stacked layers (pattern 1 only).
    pub dropout: f64,
}

impl Default for ModelSettings {
    fn default() -> Self {
        ModelSettings {
            pattern: Pattern::Hidden,
            hidden: 256,
            cell: RecurrentCell::Tanh,
            layers: 1,
            dropout: 0.0,
        }
    }
}

/// A cell by its lower-case name, as the command lines spell it.
mod cell_name {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use unroll_model::RecurrentCell;

    pub fn serialize<S: Serializer>(
        cell: &RecurrentCell,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(cell.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<RecurrentCell, D::Error> {
        let name = String::deserialize(deserializer)?;
        RecurrentCell::ALL
            .into_iter()
            .find(|cell| cell.name() == name)
            .ok_or_else(|| D::Error::custom(format!("unknown cell {name:?}: tanh, lstm or gru")))
    }
}

/// The optimiser, with PyTorch's default hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum OptimizerKind {
    /// Adam (β = 0.9, 0.999; ε = 1e-8).
    Adam,
    /// Plain stochastic gradient descent.
    Sgd,
    /// RMSprop (α = 0.99, ε = 1e-8).
    Rmsprop,
}

/// How the learning rate changes with the iteration `i` (counted from 0) of `iterations`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LearningRateSchedule {
    /// `lr`.
    Constant,
    /// `lr · factor^⌊i / every⌋`.
    Step {
        /// Iterations between decays.
        every: u64,
        /// Multiplier at each decay, in (0, 1].
        factor: f64,
    },
    /// `lr · gammaⁱ`.
    Exponential {
        /// Per-iteration multiplier, in (0, 1].
        gamma: f64,
    },
    /// `minimum + (lr − minimum) · (1 + cos(π i / iterations)) / 2`.
    Cosine {
        /// The rate reached at the last iteration.
        minimum: f64,
    },
}

impl LearningRateSchedule {
    /// The learning rate at iteration `i`.
    pub fn rate(&self, base: f64, iteration: u64, iterations: u64) -> f64 {
        match *self {
            LearningRateSchedule::Constant => base,
            LearningRateSchedule::Step { every, factor } => {
                base * factor.powi((iteration / every.max(1)) as i32)
            }
            LearningRateSchedule::Exponential { gamma } => base * gamma.powf(iteration as f64),
            LearningRateSchedule::Cosine { minimum } => {
                let progress = iteration as f64 / iterations.max(1) as f64;
                minimum + (base - minimum) * (1.0 + (std::f64::consts::PI * progress).cos()) / 2.0
            }
        }
    }

    pub(crate) fn validate(&self, base: f64) -> Result<()> {
        match *self {
            LearningRateSchedule::Constant => Ok(()),
            LearningRateSchedule::Step { every, factor } => {
                at_least_one("every", every)?;
                Ok(within("factor", factor, Excluded(0.0), Included(1.0))?)
            }
            LearningRateSchedule::Exponential { gamma } => {
                Ok(within("gamma", gamma, Excluded(0.0), Included(1.0))?)
            }
            LearningRateSchedule::Cosine { minimum } => {
                Ok(within("minimum", minimum, Included(0.0), Included(base))?)
            }
        }
    }
}

/// What the network is fed as its previous symbol during training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Strategy {
    /// Always the truth.
    TeacherForcing,
    /// A per-position coin with probability ε(i) of the truth.
    ScheduledSampling {
        /// ε(i).
        schedule: SamplingSchedule,
        /// How the model's prediction becomes a symbol.
        own: FeedbackChoice,
    },
    /// The last n(i) steps of every window fed the model's own predictions.
    Curriculum {
        /// n(i).
        schedule: CurriculumSchedule,
        /// How the model's prediction becomes a symbol.
        own: FeedbackChoice,
    },
}

/// How training windows are drawn from the corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Batching {
    /// Each window starts at a uniformly random position.
    #[cfg_attr(feature = "clap", value(name = "random"))]
    #[cfg_attr(feature = "clap", value(help = "Windows at random positions"))]
    RandomWindows,
    /// The corpus is cut into `batch` streams read window after window, so a stream's hidden
    /// state can carry over to its next window.
    #[cfg_attr(feature = "clap", value(name = "streams"))]
    #[cfg_attr(
        feature = "clap",
        value(help = "`batch` contiguous streams read window after window")
    )]
    ContiguousStreams,
}

/// Declares a task's settings with the loop's own ([`LoopSettings`]) among their fields, and
/// `loop_settings()`. The fields stay flat, so that settings files stay flat and an unknown key
/// is still refused: serde's `flatten` would hide a nested struct's keys from that check.
macro_rules! settings_with_loop {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$field_meta:meta])* pub $field:ident: $type:ty,)*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $($(#[$field_meta])* pub $field: $type,)*
            /// Total optimiser iterations of the run (a resumed run continues up to this).
            /// Settings files may spell it `steps`, the familiar name.
            #[serde(alias = "steps")]
            pub iterations: u64,
            /// The optimiser.
            pub optimizer: $crate::config::OptimizerKind,
            /// Base learning rate.
            pub learning_rate: f64,
            /// How the learning rate decays.
            pub learning_rate_schedule: $crate::config::LearningRateSchedule,
            /// Maximum global gradient norm, or `None` for no clipping.
            pub clip: Option<f64>,
            /// Iterations between validations (and checkpoints).
            pub eval_every: u64,
            /// Iterations between logged metrics.
            pub log_every: u64,
            /// Seed of everything random: initial weights, batches, coins, samples, dropout.
            pub seed: u64,
        }

        impl $name {
            /// The settings of the loop itself.
            pub fn loop_settings(&self) -> $crate::trainer::LoopSettings {
                $crate::trainer::LoopSettings {
                    iterations: self.iterations,
                    eval_every: self.eval_every,
                    log_every: self.log_every,
                    seed: self.seed,
                    optimizer: self.optimizer,
                    learning_rate: self.learning_rate,
                    learning_rate_schedule: self.learning_rate_schedule,
                    clip: self.clip,
                }
            }
        }
    };
}
pub(crate) use settings_with_loop;

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
        pub stepwise_path: StepwisePath,
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
            stepwise_path: StepwisePath::Fused,
            batching: Batching::RandomWindows,
            carry_state: false,
            validation_fraction: 0.1,
            eval_every: 500,
            log_every: 1,
            seed: 0,
            symbols: SymbolMode::Text,
        }
    }
}

impl TrainingConfig {
    /// Checks every setting, naming the first one out of range.
    pub fn validate(&self) -> Result<()> {
        self.model.validate()?;
        at_least_one("window", self.window as u64)?;
        at_least_one("batch", self.batch as u64)?;
        self.loop_settings().validate()?;
        check_validation_fraction(self.validation_fraction)?;
        if self.carry_state && self.batching != Batching::ContiguousStreams {
            return Err(invalid(
                "carry_state",
                "carrying the hidden state needs contiguous streams",
            ));
        }
        match self.strategy {
            Strategy::TeacherForcing => Ok(()),
            Strategy::ScheduledSampling { schedule, own } => {
                check_own_symbol(own)?;
                schedule.validate()
            }
            Strategy::Curriculum { schedule, own } => {
                check_own_symbol(own)?;
                schedule.validate(self.window)
            }
        }
    }
}

/// Checks the fraction of a corpus kept for validation (the setting `validation_fraction`).
pub(crate) fn check_validation_fraction(fraction: f64) -> Result<()> {
    Ok(within(
        "validation_fraction",
        fraction,
        Excluded(0.0),
        Excluded(1.0),
    )?)
}

/// Checks the maximum gradient norm of clipping (the setting `clip`).
pub(crate) fn check_max_norm(max_norm: f64) -> Result<()> {
    Ok(within("clip", max_norm, Excluded(0.0), Unbounded)?)
}

#[cfg(test)]
mod tests {
    use super::*;

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
                (
                    |c| c.strategy = sampled(SamplingSchedule::Constant { epsilon: 2.0 }),
                    "epsilon",
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
