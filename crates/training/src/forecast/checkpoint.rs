//! A forecaster's checkpoint: the loop's files, its settings and its standardisation.
//!
//! ```text
//! RUN/last/  model.bpk  optimizer.bin  config.json  standardization.json  progress.json
//!            metrics.jsonl  checksums.json
//! ```
//! Written and verified as every checkpoint is ([`crate::checkpoint`]).

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;

use super::config::ForecastConfig;
use super::data::Standardization;
use super::evaluate::ForecastScores;
use super::model::{Forecaster, init_forecaster};
use crate::checkpoint::{
    CONFIG, CheckpointFiles, MODEL, OPTIMIZER, PROGRESS, Progress, Which, load_weights, pretty,
    save_snapshot,
};
use crate::error::{Result, checkpoint_error};
use crate::metrics::IterationMetrics;
use crate::trainer::Snapshot;

const STANDARDIZATION: &str = "standardization.json";

/// A forecaster's checkpoint, read and verified.
#[derive(Debug, Clone)]
pub struct ForecastCheckpoint {
    /// The checkpoint's directory.
    pub path: PathBuf,
    /// The run's settings.
    pub config: ForecastConfig,
    /// The columns and their statistics.
    pub standardization: Standardization,
    /// Where training stood.
    pub progress: Progress,
    /// Every logged iteration so far.
    pub metrics: Vec<IterationMetrics<ForecastScores>>,
    model: Vec<u8>,
    optimizer: Option<Vec<u8>>,
}

impl ForecastCheckpoint {
    /// Reads checkpoint `which` of the run in `dir` (or the checkpoint directory `dir` itself),
    /// every file checked against its SHA-256.
    pub fn open(dir: &Path, which: Which) -> Result<Self> {
        let files = CheckpointFiles::open(dir, which)?;
        if !files.files.contains_key(STANDARDIZATION) {
            return Err(checkpoint_error(
                &files.path,
                "this is not a forecaster's checkpoint (it has no standardization.json)",
            ));
        }
        let config: ForecastConfig = files.json(CONFIG)?;
        config
            .validate()
            .map_err(|e| checkpoint_error(&files.path.join(CONFIG), e))?;
        Ok(ForecastCheckpoint {
            config,
            standardization: files.json(STANDARDIZATION)?,
            progress: files.json(PROGRESS)?,
            metrics: files.metrics()?,
            model: files.get(MODEL)?.to_vec(),
            optimizer: files.files.get(OPTIMIZER).cloned(),
            path: files.path,
        })
    }

    /// The network with its weights; an error if they do not fit the settings.
    pub fn model<B: Backend>(&self, device: &B::Device) -> Result<Forecaster<B>> {
        let model = init_forecaster(
            &self.config.model,
            self.standardization.width(),
            self.config.loss,
            device,
        )?;
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
        config: &ForecastConfig,
        standardization: &Standardization,
        snapshot: &Snapshot<'_, Forecaster<B>, ForecastScores>,
    ) -> Result<PathBuf> {
        save_snapshot(
            out,
            which,
            snapshot,
            vec![
                (CONFIG, pretty(config)),
                (STANDARDIZATION, pretty(standardization)),
            ],
        )
    }
}
