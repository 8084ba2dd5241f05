//! A sequence model's checkpoint: the loop's files, its settings and its encoding.
//!
//! ```text
//! RUN/last/  model.bpk  optimizer.bin  config.json  encoding.json  progress.json  metrics.jsonl
//!            checksums.json
//! ```
//! Written and verified as every checkpoint is ([`crate::checkpoint`]).

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use unroll_model::SequenceSummarizer;

use super::config::SequenceConfig;
use super::encoding::Encoding;
use super::scores::SequenceScores;
use crate::checkpoint::{
    CONFIG, CheckpointFiles, MODEL, OPTIMIZER, PROGRESS, Progress, VOCABULARY, Which, load_weights,
    pretty, save_snapshot,
};
use crate::error::{Result, checkpoint_error};
use crate::metrics::IterationMetrics;
use crate::trainer::Snapshot;

const ENCODING: &str = "encoding.json";

/// A sequence model's checkpoint, read and verified.
#[derive(Debug, Clone)]
pub struct SequenceCheckpoint {
    /// The checkpoint's directory.
    pub path: PathBuf,
    /// The run's settings.
    pub config: SequenceConfig,
    /// How inputs and targets become numbers.
    pub encoding: Encoding,
    /// Where training stood.
    pub progress: Progress,
    /// Every logged iteration so far.
    pub metrics: Vec<IterationMetrics<SequenceScores>>,
    model: Vec<u8>,
    optimizer: Option<Vec<u8>>,
}

impl SequenceCheckpoint {
    /// Reads checkpoint `which` of the run in `dir` (or the checkpoint directory `dir` itself),
    /// every file checked against its SHA-256.
    pub fn open(dir: &Path, which: Which) -> Result<Self> {
        let files = CheckpointFiles::open(dir, which)?;
        if !files.files.contains_key(ENCODING) && files.files.contains_key(VOCABULARY) {
            return Err(checkpoint_error(
                &files.path,
                "this is a language model's checkpoint (char-rnn's), not a sequence model's",
            ));
        }
        let config: SequenceConfig = files.json(CONFIG)?;
        config
            .validate()
            .map_err(|e| checkpoint_error(&files.path.join(CONFIG), e))?;
        Ok(SequenceCheckpoint {
            config,
            encoding: files.json(ENCODING)?,
            progress: files.json(PROGRESS)?,
            metrics: files.metrics()?,
            model: files.get(MODEL)?.to_vec(),
            optimizer: files.files.get(OPTIMIZER).cloned(),
            path: files.path,
        })
    }

    /// The network with its weights; an error if they do not fit the settings.
    pub fn model<B: Backend>(&self, device: &B::Device) -> Result<SequenceSummarizer<B>> {
        let model = self.config.summarizer(&self.encoding).try_init(device)?;
        load_weights(model, &self.model, &self.path, &self.progress.parameter_ids)
    }

    /// The optimiser's saved state, if any.
    pub fn optimizer_bytes(&self) -> Option<&[u8]> {
        self.optimizer.as_deref()
    }

    /// Writes checkpoint `which` into the run directory `out`, atomically.
    pub fn save<B: Backend>(
        out: &Path,
        which: Which,
        config: &SequenceConfig,
        encoding: &Encoding,
        snapshot: &Snapshot<'_, SequenceSummarizer<B>, SequenceScores>,
    ) -> Result<PathBuf> {
        save_snapshot(
            out,
            which,
            snapshot,
            vec![(CONFIG, pretty(config)), (ENCODING, pretty(encoding))],
        )
    }
}
