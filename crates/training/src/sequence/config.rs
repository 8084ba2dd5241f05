//! Every setting of a sequence model's run, serialisable and checked before training.

use std::path::PathBuf;

use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};
use unroll_model::{
    BidirectionalConfig, HiddenStackConfig, IdCheck, InputEncoding, SequenceSummarizerConfig,
};

use super::encoding::{Encoding, InputSymbols};
use super::network::SequenceNetwork;
use crate::corpus::SymbolMode;
use crate::error::Result;
use crate::memory::{MemoryEstimate, check, hidden_stack_weights, product};
use crate::settings::{LearningRateSchedule, ModelSettings, OptimizerKind};

/// How much each class's samples weigh in the loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeights {
    /// Every sample alike.
    Uniform,
    /// Class `k` weighs `n / (K · n_k)` (scikit-learn's `balanced`): rare classes count as
    /// much as frequent ones.
    Balanced,
}

crate::settings::settings_with_loop! {
    /// The settings of a sequence classifier's or regressor's run (pattern 3).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct SequenceConfig {
        /// The network's shape (`pattern` must be `hidden`: pattern 3 reads with a hidden
        /// recurrence).
        pub model: ModelSettings,
        /// Sequences per batch.
        pub batch: usize,
        /// Class weights in the loss (classification).
        pub class_weights: ClassWeights,
        /// Per-step labelling (pattern 1 over the whole input): each `labels<TAB>text` line
        /// gives one label per character of its text, and the network labels every step
        /// instead of the whole sequence.
        pub per_step: bool,
        /// Fraction of the data held out for validation when no validation file is given.
        pub validation_fraction: f64,
        /// How text becomes symbols.
        pub symbols: SymbolMode,
        /// Characters seen fewer times than this in the training part read as the unknown
        /// symbol (text), which the model learns from them. 2, the default, makes the characters
        /// seen once its examples: by Good and Turing's estimate, the share of such characters
        /// is the share of unseen characters to expect in new text.
        pub min_symbol_count: usize,
        /// The file of validation samples, when they are not split off the data: kept with the
        /// run, so that a resumed run validates (and trains) on what it did before.
        pub validation_file: Option<PathBuf>,
    }
}

impl SequenceConfig {
    /// Checks every setting, naming the first that is invalid.
    pub fn validate(&self) -> Result<()> {
        self.model.require_hidden("pattern 3 reads its sequence")?;
        self.validate_shared(&[
            ("batch", self.batch),
            ("min_symbol_count", self.min_symbol_count),
        ])?;
        Ok(())
    }

    /// The network for data encoded by `encoding`, one way or both (`bidirectional`), or which
    /// setting is invalid.
    pub fn network<B: Backend>(
        &self,
        encoding: &Encoding,
        device: &B::Device,
    ) -> Result<SequenceNetwork<B>> {
        let hidden = self.hidden_stack(encoding);
        let width = encoding.output_width();
        Ok(if self.model.bidirectional {
            BidirectionalConfig::new(hidden, width)
                .try_init_summarizer(device)?
                .into()
        } else {
            SequenceSummarizerConfig::new(hidden, width)
                .try_init(device)?
                .into()
        })
    }

    /// Each direction's layers for data encoded by `encoding`. Ids are not read back to check
    /// them ([`IdCheck::Caller`]): the encoding made them in range on the host.
    fn hidden_stack(&self, encoding: &Encoding) -> HiddenStackConfig {
        let input = match &encoding.inputs {
            InputSymbols::Symbols { vocabulary } => InputEncoding::Tokens {
                vocab_size: vocabulary.len(),
            },
            InputSymbols::Values => InputEncoding::Dense { d_input: 1 },
        };
        HiddenStackConfig::new(input, self.model.hidden)
            .with_cell(self.model.cell)
            .with_num_layers(self.model.layers)
            .with_dropout(self.model.dropout)
            .with_id_check(IdCheck::Caller)
    }
}

impl SequenceConfig {
    /// The memory a training step takes on data encoded by `encoding` whose longest sequence
    /// has `longest` steps, in f32: an upper estimate, good to a factor of about two.
    pub fn memory_estimate(&self, encoding: &Encoding, longest: usize) -> MemoryEstimate {
        let (h, l) = (self.model.hidden, self.model.layers);
        let cell = self.model.cell;
        // Both ways, every weight and state twice (the wider inputs above the first layer are
        // within the estimate's factor of two).
        let directions = 1 + u128::from(self.model.bidirectional);
        let weights =
            hidden_stack_weights(encoding.input_width(), h, l, encoding.output_width(), cell)
                .saturating_mul(directions);
        // Every layer's states, their gradients and the projected inputs, per padded step.
        let positions = product(&[self.batch, longest]);
        MemoryEstimate {
            parameters: weights.saturating_mul(4 * 4),
            activations: product(&[l, h, cell.facts().values_per_state])
                .saturating_mul(positions)
                .saturating_mul(4 * directions),
        }
    }

    /// Refuses a run whose estimated memory exceeds `available` bytes (when known) or is absurd.
    pub fn check_memory(
        &self,
        encoding: &Encoding,
        longest: usize,
        available: Option<u64>,
    ) -> Result<()> {
        let shape = format!("batch {} × longest sequence {longest}", self.batch);
        check(self.memory_estimate(encoding, longest), available, &shape)
    }
}

impl Default for SequenceConfig {
    fn default() -> Self {
        SequenceConfig {
            model: ModelSettings {
                hidden: 128,
                ..ModelSettings::default()
            },
            batch: 32,
            iterations: 1000,
            optimizer: OptimizerKind::Adam,
            learning_rate: 2e-3,
            learning_rate_schedule: LearningRateSchedule::Constant,
            clip: Some(5.0),
            class_weights: ClassWeights::Uniform,
            per_step: false,
            validation_fraction: 0.1,
            eval_every: 100,
            log_every: 10,
            seed: 0,
            symbols: SymbolMode::Text,
            min_symbol_count: 2,
            validation_file: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Pattern;

    #[test]
    fn defaults_are_valid_and_nonsense_is_named() {
        crate::error::assert_refusals_named(
            SequenceConfig::validate,
            &[
                (|c| c.batch = 0, "batch"),
                (|c| c.iterations = 0, "iterations"),
                (|c| c.learning_rate = f64::NAN, "learning_rate"),
                (|c| c.model.hidden = 0, "hidden"),
                (|c| c.model.pattern = Pattern::Output, "pattern"),
            ],
        );
        let familiar: SequenceConfig = serde_json::from_str(r#"{"steps": 5}"#).unwrap();
        assert_eq!(familiar.iterations, 5);
    }

    #[test]
    fn absurd_sizes_are_refused_with_the_estimate() {
        let encoding = Encoding {
            inputs: super::super::encoding::InputSymbols::Values,
            targets: super::super::encoding::TargetEncoding::Standardized {
                mean: 0.0,
                deviation: 1.0,
            },
        };
        let config = SequenceConfig::default();
        config.check_memory(&encoding, 200, Some(1 << 30)).unwrap();
        // 32 sequences of a million steps: 3 × 128 × 4 bytes a step, about 46 GiB.
        let error = config
            .check_memory(&encoding, 1_000_000, Some(1 << 30))
            .unwrap_err()
            .to_string();
        assert!(error.contains("longest sequence 1000000"), "{error}");
        assert!(config.check_memory(&encoding, usize::MAX, None).is_err());
    }
}
