//! A language model's checkpoint: every task's
//! ([`TaskCheckpoint`](crate::task_checkpoint::TaskCheckpoint)) with the vocabulary in
//! `vocabulary.json`, and the state carried between windows in `progress.json`.
//!
//! ```text
//! RUN/last/  model.bpk  optimizer.bin  config.json  vocabulary.json  progress.json
//!            metrics.jsonl  checksums.json (the SHA-256 of every other file)
//! RUN/best/  the same, from the iteration with the lowest validation loss
//! ```

use burn::tensor::backend::Backend;

use super::config::LanguageConfig;
use super::evaluate::LanguageScores;
use crate::corpus::Vocabulary;
use crate::error::Result;
use crate::network::Network;

crate::task_checkpoint::checkpoint_kind! {
    /// A language model's checkpoint, read and verified; its `encoding` is the vocabulary.
    LanguageCheckpoint = LanguageFiles {
        config: LanguageConfig, encoding: Vocabulary, file: "vocabulary.json",
        scores: LanguageScores, model: Network, what: "a language model's checkpoint",
        fixed: [symbols, min_symbol_count, optimizer],
    }

    fn other_data(saved: &Vocabulary, vocabulary: &Vocabulary) -> Option<String> {
        (saved != vocabulary).then(|| "its vocabulary differs from this corpus's".to_string())
    }

    fn init<B: Backend>(
        config: &LanguageConfig,
        vocabulary: &Vocabulary,
        device: &B::Device,
    ) -> Result<Network<B>> {
        config.model.init::<B>(vocabulary.len(), device)
    }
}
