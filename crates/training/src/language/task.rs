//! Language modelling as a task of the shared loop: windows of a corpus, the feeding strategy
//! of each iteration, the loss per symbol, validation on the held-out end of the corpus.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use unroll_model::HiddenState;

use crate::checkpoint::{Resumed, SavedTensor, Snapshot, Which};
use crate::corpus::{Corpus, DataSource, shortest_corpus};
use crate::error::{Result, TrainingError};
use crate::feeding::FeedingStreams;
use crate::language::batches::WindowSource;
use crate::language::checkpoint::LanguageCheckpoint;
use crate::language::config::LanguageConfig;
use crate::language::evaluate::{LanguageScores, score_language};
use crate::network::Network;
use crate::progress::Observer;
use crate::trainer::{IterationLoss, RunPlace, Task, TrainingBackend, TrainingReport, train_task};

/// What to train, where.
///
/// The run directory `out` is locked for the whole run (a second writer gets
/// [`TrainingError::RunLocked`]). A run already there is continued only when `resume` is its
/// `last` checkpoint; otherwise it is refused ([`TrainingError::RunExists`]) unless
/// `replace_existing` is set, so no run is overwritten or rewound by accident.
pub struct LanguageRun<'a, B: Backend> {
    /// The settings (when resuming, normally the checkpoint's, with `iterations` raised).
    pub config: LanguageConfig,
    /// The corpus.
    pub corpus: &'a Corpus,
    /// The run directory: checkpoints `last` and `best`, `metrics.jsonl`, `loss.png`.
    pub out: PathBuf,
    /// A checkpoint to continue from.
    pub resume: Option<LanguageCheckpoint>,
    /// Where to compute.
    pub device: B::Device,
    /// The backend's name, recorded in checkpoints.
    pub backend: String,
    /// Remove a run that `out` already holds instead of refusing (what `--force` asks for).
    pub replace_existing: bool,
    /// When this becomes true (a signal handler sets it, say), training stops after the
    /// current iteration, writes `last`, the metrics and the plot, and returns
    /// [`TrainingError::Interrupted`].
    pub stop: Option<Arc<AtomicBool>>,
    /// Where the corpus came from, recorded in the checkpoints.
    pub data: Option<DataSource>,
    /// Training time this invocation may take ([`crate::RunPlace::time_limit`]).
    pub time_limit: Option<Duration>,
    /// Memory the run may take, in bytes (the machine's available memory for a CPU backend):
    /// a run estimated to need more is refused before anything is allocated. Absurd sizes are
    /// refused even without it.
    pub memory_limit: Option<u64>,
}

impl<'a, B: Backend> LanguageRun<'a, B> {
    /// A fresh run of `config` on `corpus` into `out`, refusing to replace an existing run,
    /// with no stop flag, no recorded data source and no memory limit beyond the absurd.
    pub fn new(
        config: LanguageConfig,
        corpus: &'a Corpus,
        out: impl Into<PathBuf>,
        device: B::Device,
        backend: impl Into<String>,
    ) -> Self {
        LanguageRun {
            config,
            corpus,
            out: out.into(),
            resume: None,
            device,
            backend: backend.into(),
            replace_existing: false,
            stop: None,
            data: None,
            time_limit: None,
            memory_limit: None,
        }
    }

    /// Continues from `checkpoint`.
    pub fn resuming(mut self, checkpoint: Option<LanguageCheckpoint>) -> Self {
        self.resume = checkpoint;
        self
    }
}

/// What a language model's run reports, with the trained model on `B`'s inner backend.
pub type LanguageReport<B> =
    TrainingReport<Network<<B as AutodiffBackend>::InnerBackend>, LanguageScores>;

/// Trains a language model, writing checkpoints and metrics under `run.out`; the report holds
/// the trained model.
///
/// Resuming continues a run exactly where its `last` checkpoint stopped:
///
/// ```
/// use burn::backend::{Autodiff, Flex};
/// use unroll_training::{LanguageCheckpoint, Corpus, Silent, SymbolMode, LanguageConfig, LanguageRun};
/// use unroll_training::{Which, train_language};
///
/// type B = Autodiff<Flex>;
/// let corpus = Corpus::from_bytes("abcabd".repeat(50).as_bytes(), SymbolMode::Text)?;
/// let mut config = LanguageConfig { window: 8, batch: 4, iterations: 6, ..Default::default() };
/// config.model.hidden = 8;
/// let out = std::env::temp_dir().join(format!("unroll-resume-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&out);
/// train_language(LanguageRun::<B>::new(config.clone(), &corpus, &out, Default::default(), "flex"), &mut Silent)?;
///
/// let last = LanguageCheckpoint::open(&out, Which::Last)?;
/// config.iterations = 10;
/// let more = LanguageRun::<B>::new(config, &corpus, &out, Default::default(), "flex")
///     .resuming(Some(last));
/// let report = train_language(more, &mut Silent)?;
/// assert_eq!((report.first_iteration, report.iterations), (6, 10));
/// # std::fs::remove_dir_all(&out).unwrap();
/// # Ok::<(), unroll_training::TrainingError>(())
/// ```
pub fn train_language<B: TrainingBackend>(
    run: LanguageRun<'_, B>,
    observer: &mut dyn Observer<LanguageScores>,
) -> Result<LanguageReport<B>> {
    let LanguageRun {
        config,
        corpus,
        out,
        resume,
        device,
        backend,
        replace_existing,
        stop,
        data,
        time_limit,
        memory_limit,
    } = run;
    let task = LanguageTask::<B>::new(&config, corpus)?;
    config.check_memory(corpus.vocabulary.len(), memory_limit)?;
    let place = RunPlace {
        out,
        resume_from: resume.as_ref().map(|checkpoint| checkpoint.path.clone()),
        replace_existing,
        stop,
        backend,
        data,
        time_limit,
    };
    train_task(
        &mut task.resuming(resume),
        &config.loop_settings(),
        &place,
        &device,
        observer,
    )
}

/// A character or byte language model trained on a corpus: truncated BPTT over windows, fed by
/// the run's strategy, validated on the corpus's held-out end.
pub struct LanguageTask<'a, B: Backend> {
    config: &'a LanguageConfig,
    corpus: &'a Corpus,
    windows: WindowSource<'a>,
    validation: &'a [u32],
    resume: Option<LanguageCheckpoint>,
    /// Each stream's state after its last window, when state carries over.
    carried: Option<HiddenState<B>>,
}

impl<'a, B: Backend> LanguageTask<'a, B> {
    /// The task of `config` on `corpus`; an error if a setting is out of range or the corpus is
    /// too short for the windows and the validation split.
    pub fn new(config: &'a LanguageConfig, corpus: &'a Corpus) -> Result<Self> {
        config.validate()?;
        let (train_ids, validation) = corpus.split(config.validation_fraction, 2)?;
        let windows = WindowSource::new(
            train_ids,
            config.window,
            config.batch,
            config.batching,
            config.seed,
        )
        .map_err(|e| whole_corpus_error(e, corpus, config.validation_fraction))?;
        Ok(LanguageTask {
            config,
            corpus,
            windows,
            validation,
            resume: None,
            carried: None,
        })
    }

    /// Continues from `checkpoint`, which must fit this corpus's vocabulary and these settings.
    pub fn resuming(mut self, checkpoint: Option<LanguageCheckpoint>) -> Self {
        self.resume = checkpoint;
        self
    }
}

impl<B: TrainingBackend> Task<B> for LanguageTask<'_, B> {
    type Model = Network<B>;
    type Validation = LanguageScores;

    fn init_model(&mut self, device: &B::Device) -> Result<Network<B>> {
        self.config
            .model
            .init::<B>(self.corpus.vocabulary.len(), device)
    }

    fn resume(
        &mut self,
        device: &B::Device,
    ) -> Result<Option<Resumed<Network<B>, LanguageScores>>> {
        let config = self.config;
        let vocabulary = &self.corpus.vocabulary;
        let resumed =
            LanguageCheckpoint::take_resumed(&mut self.resume, config, vocabulary, device)?;
        let Some(resumed) = resumed else {
            return Ok(None);
        };
        // Stored packed: h of every layer, then c of every layer for a cell that has one.
        let with_cell = config.model.cell.has_cell_state();
        let shape = [
            config.model.layers * (1 + usize::from(with_cell)),
            config.batch,
            config.model.hidden,
        ];
        // A state carried with another batch size cannot continue: those streams start afresh.
        self.carried = resumed
            .progress
            .carried_state
            .as_ref()
            .and_then(|saved| saved.to_tensor(shape, device))
            .map(|packed| HiddenState::from_packed(packed, with_cell));
        Ok(Some(resumed))
    }

    fn loss(
        &mut self,
        model: &Network<B>,
        iteration: u64,
        device: &B::Device,
    ) -> Result<IterationLoss<B>> {
        let config = self.config;
        let batch = self.windows.batch(iteration);
        let shape = [config.batch, config.window];
        let inputs = Tensor::<B, 2, Int>::from_data(TensorData::new(batch.inputs, shape), device);
        let targets = Tensor::<B, 2, Int>::from_data(TensorData::new(batch.targets, shape), device);
        let carried_in = if config.carry_state && !batch.restart {
            self.carried.take()
        } else {
            None
        };
        let feeding = config.strategy.feeding(iteration);
        let streams = FeedingStreams {
            seed: config.seed,
            iteration,
        };
        let plan = feeding.plan(shape, streams)?;
        let (losses, carried_out) =
            model.window_loss(inputs, targets, carried_in, &plan, config.stepwise_path)?;
        if config.carry_state {
            self.carried = carried_out.map(HiddenState::detach);
        }
        Ok(IterationLoss::fed(
            losses.mean(),
            config.batch * config.window,
            &feeding,
        ))
    }

    fn validate(
        &self,
        model: &Network<B::InnerBackend>,
        device: &B::Device,
    ) -> Result<LanguageScores> {
        score_language(model, self.validation, self.config.window, device)
    }

    fn carried_state(&self) -> Option<SavedTensor> {
        let packed = self.carried.clone().map(HiddenState::packed);
        packed.as_ref().map(SavedTensor::from_tensor)
    }

    fn save(
        &self,
        out: &Path,
        which: Which,
        snapshot: &Snapshot<'_, Network<B>, LanguageScores>,
    ) -> Result<PathBuf> {
        LanguageCheckpoint::save(out, which, self.config, &self.corpus.vocabulary, snapshot)
    }
}

/// The corpus-level form of "the training part is too short": how long the whole file must be.
fn whole_corpus_error(error: TrainingError, corpus: &Corpus, fraction: f64) -> TrainingError {
    match error {
        TrainingError::CorpusTooShort { needed, why, .. } => TrainingError::CorpusTooShort {
            needed: shortest_corpus(fraction, needed, 2),
            why: format!(
                "its first {:.0} % trains and must hold {why}",
                100.0 * (1.0 - fraction)
            ),
            actual: corpus.ids.len(),
        },
        other => other,
    }
}
