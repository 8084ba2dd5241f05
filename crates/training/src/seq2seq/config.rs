//! Every setting of a sequence-to-sequence run, serialisable and checked before training.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use unroll_model::{EncoderDecoderConfig, HiddenRecurrentConfig, HiddenStackConfig, IdCheck};
use unroll_model::{InputEncoding, RecurrentCell};

use super::data::BuiltinPairs;
use super::encoding::PairEncoding;
use crate::error::{Result, invalid};
use crate::feeding::Strategy;
use crate::memory::{MemoryEstimate, check, hidden_stack_weights, product};
use crate::settings::{LearningRateSchedule, ModelSettings, OptimizerKind};

/// The longest target a run may ask for: a decoder unrolled further is a typing mistake.
pub const MAX_TARGET_LENGTH: usize = 100_000;

crate::settings::settings_with_loop! {
    /// The settings of an encoder–decoder's run.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct Seq2SeqConfig {
        /// The shape of the encoder and of the decoder, alike (`pattern` must be `hidden`).
        pub model: ModelSettings,
        /// Pairs per batch.
        pub batch: usize,
        /// What the decoder is fed in training: the true previous symbol, or its own.
        pub strategy: Strategy,
        /// Fraction of the pairs held out for validation, drawn by the seed, when no
        /// validation file is given.
        pub validation_fraction: f64,
        /// The file of validation pairs, when they are not drawn from the data.
        pub validation_file: Option<PathBuf>,
        /// Characters seen fewer times than this in the training pairs read as the unknown
        /// symbol, which the model learns from them (Good–Turing, as for the other tasks).
        pub min_symbol_count: usize,
        /// The longest target, in characters: decoding stops there, and a longer target in
        /// the data is refused.
        pub max_target_length: usize,
        /// Validation pairs decoded open loop (greedy) at each validation, the first ones.
        pub open_loop_pairs: usize,
        /// A task generated here instead of a file of pairs.
        pub builtin: Option<BuiltinPairs>,
        /// The summary also part of every decoder input: the one-hot previous symbol and the
        /// encoder's top layer's final `h`, concatenated (Cho et al. 2014), besides starting
        /// the decoder's state.
        pub summary_input: bool,
    }
}

impl Default for Seq2SeqConfig {
    fn default() -> Self {
        Seq2SeqConfig {
            model: ModelSettings {
                hidden: 128,
                cell: RecurrentCell::Lstm,
                ..ModelSettings::default()
            },
            batch: 32,
            strategy: Strategy::TeacherForcing,
            validation_fraction: 0.1,
            validation_file: None,
            min_symbol_count: 2,
            max_target_length: 100,
            open_loop_pairs: 500,
            builtin: None,
            summary_input: false,
            iterations: 2000,
            optimizer: OptimizerKind::Adam,
            learning_rate: 2e-3,
            learning_rate_schedule: LearningRateSchedule::Constant,
            clip: Some(5.0),
            eval_every: 200,
            log_every: 20,
            seed: 0,
        }
    }
}

impl Seq2SeqConfig {
    /// Checks every setting, naming the first that is invalid.
    pub fn validate(&self) -> Result<()> {
        self.model
            .require_hidden("the encoder reads and the decoder writes")?;
        self.validate_shared(&[
            ("batch", self.batch),
            ("min_symbol_count", self.min_symbol_count),
            ("max_target_length", self.max_target_length),
        ])?;
        if self.max_target_length > MAX_TARGET_LENGTH {
            return Err(invalid(
                "max_target_length",
                format!("at most {MAX_TARGET_LENGTH} characters"),
            ));
        }
        if self.model.bidirectional && self.model.hidden % 2 == 1 {
            return Err(invalid(
                "hidden",
                format!(
                    "{} units: an encoder reading both ways gives each direction half of them, \
                     so the number must be even",
                    self.model.hidden
                ),
            ));
        }
        // The decoder runs one step per target symbol and one for `end`.
        self.strategy.validate(self.max_target_length + 1)?;
        match &self.builtin {
            Some(builtin) => builtin.validate(),
            None => Ok(()),
        }
    }

    /// The network for pairs encoded by `encoding`.
    pub fn network(&self, encoding: &PairEncoding) -> EncoderDecoderConfig {
        let stack = |vocab_size| {
            HiddenStackConfig::new(InputEncoding::Tokens { vocab_size }, self.model.hidden)
                .with_cell(self.model.cell)
                .with_num_layers(self.model.layers)
                .with_dropout(self.model.dropout)
                .with_id_check(IdCheck::Caller)
        };
        let targets = encoding.target_symbols();
        let mut encoder = stack(encoding.source_symbols());
        // Both ways, each direction has half the units: their final states, concatenated,
        // start the decoder.
        if self.model.bidirectional {
            encoder.d_hidden = self.model.hidden / 2;
        }
        let network =
            EncoderDecoderConfig::new(encoder, HiddenRecurrentConfig::new(stack(targets), targets))
                .with_bidirectional(self.model.bidirectional);
        match self.summary_input {
            true => network.with_summary_in_every_input(),
            false => network,
        }
    }

    /// The memory a training step takes on pairs encoded by `encoding` whose longest source
    /// and target have `longest` steps, in f32: an upper estimate, good to a factor of two.
    pub fn memory_estimate(&self, encoding: &PairEncoding, longest: [usize; 2]) -> MemoryEstimate {
        let (h, l, cell) = (self.model.hidden, self.model.layers, self.model.cell);
        let (sources, targets) = (encoding.source_symbols(), encoding.target_symbols());
        // With the summary in every input, the decoder reads `targets + h` features a step.
        let decoder_input = targets.saturating_add(usize::from(self.summary_input) * h);
        let weights = hidden_stack_weights(sources, h, l, 0, cell)
            .saturating_add(hidden_stack_weights(decoder_input, h, l, targets, cell));
        let positions = product(&[self.batch, longest[0].saturating_add(longest[1])]);
        let per_position = product(&[l, h, cell.facts().values_per_state])
            .saturating_add(product(&[targets, 3]))
            .saturating_add(product(&[decoder_input - targets, 2]));
        MemoryEstimate {
            parameters: weights.saturating_mul(4 * 4),
            activations: per_position.saturating_mul(positions).saturating_mul(4),
        }
    }

    /// Refuses a run whose estimated memory exceeds `available` bytes (when known) or is absurd.
    pub fn check_memory(
        &self,
        encoding: &PairEncoding,
        longest: [usize; 2],
        available: Option<u64>,
    ) -> Result<()> {
        let shape = format!(
            "batch {} × longest source {} and target {}",
            self.batch, longest[0], longest[1]
        );
        check(self.memory_estimate(encoding, longest), available, &shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seq2seq::data::BuiltinTask;
    use crate::settings::Pattern;

    #[test]
    fn defaults_are_valid_and_nonsense_is_named() {
        crate::error::assert_refusals_named(
            Seq2SeqConfig::validate,
            &[
                (|c| c.model.pattern = Pattern::Output, "pattern"),
                (|c| c.max_target_length = 0, "max_target_length"),
                (
                    |c| {
                        c.model.bidirectional = true;
                        c.model.hidden = 63;
                    },
                    "hidden",
                ),
                (|c| c.max_target_length = usize::MAX, "max_target_length"),
                (
                    |c| {
                        c.builtin = Some(BuiltinPairs {
                            task: BuiltinTask::Copy,
                            count: 10,
                            max_length: 0,
                        })
                    },
                    "max_length",
                ),
            ],
        );
    }

    /// Weights saved when the encoder read one way only (its stack then a plain field) load
    /// into today's network, and give its losses.
    #[test]
    fn checkpoints_from_before_both_ways_load() {
        use burn::backend::NdArray;
        use burn::module::Module;
        use burn::tensor::Tensor;
        use unroll_model::{EncoderDecoder, HiddenRecurrent, HiddenStack, SequenceInput};

        #[derive(Module, Debug)]
        struct Before<B: burn::tensor::backend::Backend> {
            encoder: HiddenStack<B>,
            decoder: HiddenRecurrent<B>,
        }
        type B = NdArray<f64>;
        let device = Default::default();
        let config = unroll_model::EncoderDecoderConfig::symbols(5, 4, 3, 2, RecurrentCell::Gru);
        let model = config.init::<B>(&device);
        let before = Before {
            encoder: model.encoder.clone().unwrap(),
            decoder: model.decoder.clone(),
        };
        let bytes = crate::checkpoint::model_bytes(&before).unwrap();
        let fresh: EncoderDecoder<B> = config.init(&device);
        let path = std::path::Path::new("run");
        let loaded = crate::checkpoint::load_weights(fresh, &bytes, path, &[]).unwrap();
        let losses = |m: &EncoderDecoder<B>| {
            m.forward_loss(
                SequenceInput::Tokens(Tensor::from_data([[1, 2, 3], [4, 0, 1]], &device)),
                Some(&[3, 2]),
                Tensor::from_data([[0, 1], [2, 3]], &device),
                Tensor::from_data([[1, 2], [3, 0]], &device),
                None,
            )
            .unwrap()
            .into_data()
        };
        let saved = EncoderDecoder {
            encoder: Some(before.encoder),
            bidirectional_encoder: None,
            decoder: before.decoder,
        };
        losses(&loaded).assert_eq(&losses(&saved), true);
    }
}
