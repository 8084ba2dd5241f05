//! Every setting of a language model's training run, serialisable (JSON or TOML) and checked
//! before training; the settings every task shares are in [`crate::settings`].

use serde::{Deserialize, Serialize};

use crate::corpus::SymbolMode;
use crate::error::{Result, invalid};
use crate::feeding::Strategy;
use crate::memory::{MemoryEstimate, check, hidden_stack_weights, product};
use crate::settings::{
    LearningRateSchedule, ModelSettings, OptimizerKind, Pattern, settings_with_loop,
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
    pub struct LanguageConfig {
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

impl Default for LanguageConfig {
    fn default() -> Self {
        LanguageConfig {
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

impl LanguageConfig {
    /// Checks every setting, naming the first one out of range.
    pub fn validate(&self) -> Result<()> {
        self.validate_shared(&[
            ("window", self.window),
            ("batch", self.batch),
            ("min_symbol_count", self.min_symbol_count),
        ])?;
        self.model.refuse_bidirectional("char-rnn")?;
        if self.carry_state && self.batching != Batching::ContiguousStreams {
            return Err(invalid(
                "carry_state",
                "carrying the hidden state needs contiguous streams",
            ));
        }
        self.strategy.validate(self.window)
    }

    /// The memory a training step of this run takes with a vocabulary of `vocab_size` symbols,
    /// in f32: an upper estimate (the fused path keeps less), good to a factor of about two.
    pub fn memory_estimate(&self, vocab_size: usize) -> MemoryEstimate {
        let (v, h, l) = (vocab_size, self.model.hidden, self.model.layers);
        let (b, t) = (self.batch, self.window);
        let output = product(&[h, v]).saturating_add(v as u128);
        let weights = match self.model.pattern {
            Pattern::Hidden => hidden_stack_weights(v, h, l, v, self.model.cell),
            // The fed-back weights, the bias, the output layer and the [vocab, vocab] table of
            // logits that the teacher-forced pass computes once.
            Pattern::Output => product(&[v, h])
                .saturating_add(h as u128)
                .saturating_add(output)
                .saturating_add(product(&[v, v, 2])),
        };
        // Evaluation scores chunks of 1024 symbols of one stream; training a batch of windows.
        let positions = product(&[b, t]).max(1024);
        let states =
            product(&[l, h, self.model.cell.facts().values_per_state]).saturating_mul(positions);
        let logits = product(&[v, 3]).saturating_mul(positions);
        MemoryEstimate {
            parameters: weights.saturating_mul(4 * 4),
            activations: states.saturating_add(logits).saturating_mul(4),
        }
    }

    /// Refuses a run whose estimated memory exceeds `available` bytes (when known) or is absurd.
    pub fn check_memory(&self, vocab_size: usize, available: Option<u64>) -> Result<()> {
        let shape = format!("batch {} × window {}", self.batch, self.window);
        check(self.memory_estimate(vocab_size), available, &shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::SamplingSchedule;
    use unroll_model::{FeedbackChoice, RecurrentCell};

    #[test]
    fn defaults_are_valid_and_round_trip() {
        let config = LanguageConfig::default();
        config.validate().unwrap();
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(
            serde_json::from_str::<LanguageConfig>(&json).unwrap(),
            config
        );
        let partial: LanguageConfig = serde_json::from_str(r#"{"window": 50}"#).unwrap();
        assert_eq!(partial.window, 50);
        assert_eq!(partial.batch, 64);
        let familiar: LanguageConfig = serde_json::from_str(r#"{"steps": 5}"#).unwrap();
        assert_eq!(familiar.iterations, 5, "`steps` is read as `iterations`");
    }

    #[test]
    fn nonsense_is_named() {
        fn sampled(schedule: SamplingSchedule) -> Strategy {
            let own = FeedbackChoice::Sample;
            Strategy::ScheduledSampling { schedule, own }
        }
        crate::error::assert_refusals_named(
            LanguageConfig::validate,
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
                    |c| c.strategy = Strategy::curriculum_to(10, FeedbackChoice::Probabilities),
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

    #[test]
    fn estimate_counts_weights_and_activations() {
        let mut config = LanguageConfig {
            batch: 2,
            window: 3,
            ..LanguageConfig::default()
        };
        config.model.hidden = 4;
        let estimate = config.memory_estimate(5);
        // Lookup 5×4, recurrence 4×4 + 4, output 4×5 + 5: 65 weights, four f32 copies.
        assert_eq!(estimate.parameters, 65 * 16);
        // 1024 positions (evaluation's chunk) × (1 layer × 4 × 3 + 5 × 3) floats.
        assert_eq!(estimate.activations, 1024 * 27 * 4);
        // An LSTM: W_ih 5×16, W_hh 4×16, two biases of 16, output 4×5 + 5: 201 weights; per
        // position 4 units × 15 values kept, and the logits.
        config.model.cell = RecurrentCell::Lstm;
        let estimate = config.memory_estimate(5);
        assert_eq!(estimate.parameters, 201 * 16);
        assert_eq!(estimate.activations, 1024 * (4 * 15 + 15) * 4);
    }

    #[test]
    fn absurd_and_oversized_runs_are_refused() {
        let mut config = LanguageConfig::default();
        config.check_memory(65, Some(1 << 30)).unwrap();
        config.model.hidden = usize::MAX;
        let error = config.check_memory(65, None).unwrap_err().to_string();
        assert!(error.contains("any machine"), "{error}");
        config.model.hidden = 100_000;
        let error = config
            .check_memory(65, Some(1 << 30))
            .unwrap_err()
            .to_string();
        assert!(error.contains("1.0 GiB available"), "{error}");
    }
}
