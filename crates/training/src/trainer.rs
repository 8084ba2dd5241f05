//! The training loop: truncated BPTT over windows, any feeding strategy, global-norm clipping,
//! a learning-rate schedule, validation, checkpoints, and exact resumption.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer, RmsPropConfig, SgdConfig};
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use unroll_model::RecurrenceBackend;

use crate::batches::{WindowSource, iteration_seed};
use crate::checkpoint::{
    self, Checkpoint, CheckpointContents, Progress, SavedTensor, Which, first_non_finite,
};
use crate::clipping::{clip_global_norm, global_norm};
use crate::config::{OptimizerKind, Strategy, TrainingConfig};
use crate::corpus::{Corpus, DataSource, Vocabulary, shortest_corpus};
use crate::durable::write_atomically;
use crate::error::{Result, TrainingError, checkpoint_error, invalid};
use crate::evaluate::{Evaluation, evaluate};
use crate::feeding::Feeding;
use crate::language_model::LanguageModel;
use crate::metrics::{IterationMetrics, append_jsonl, plot_losses, to_jsonl};
use crate::progress::Observer;
use crate::run_directory;

/// A loss above this multiple of the first iteration's stops training.
const DIVERGENCE_FACTOR: f64 = 3.0;

/// What to train, where.
///
/// The run directory `out` is locked for the whole run (a second writer gets
/// [`TrainingError::RunLocked`]). A run already there is continued only when `resume` is its
/// `last` checkpoint; otherwise it is refused ([`TrainingError::RunExists`]) unless
/// `replace_existing` is set, so no run is overwritten or rewound by accident.
pub struct TrainingRun<'a, B: Backend> {
    /// The settings (when resuming, normally the checkpoint's, with `iterations` raised).
    pub config: TrainingConfig,
    /// The corpus.
    pub corpus: &'a Corpus,
    /// The run directory: checkpoints `last` and `best`, `metrics.jsonl`, `loss.png`.
    pub out: PathBuf,
    /// A checkpoint to continue from.
    pub resume: Option<Checkpoint>,
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
    /// Memory the run may take, in bytes (the machine's available memory for a CPU backend):
    /// a run estimated to need more is refused before anything is allocated. Absurd sizes are
    /// refused even without it.
    pub memory_limit: Option<u64>,
}

impl<'a, B: Backend> TrainingRun<'a, B> {
    /// A fresh run of `config` on `corpus` into `out`, refusing to replace an existing run,
    /// with no stop flag, no recorded data source and no memory limit beyond the absurd.
    pub fn new(
        config: TrainingConfig,
        corpus: &'a Corpus,
        out: impl Into<PathBuf>,
        device: B::Device,
        backend: impl Into<String>,
    ) -> Self {
        TrainingRun {
            config,
            corpus,
            out: out.into(),
            resume: None,
            device,
            backend: backend.into(),
            replace_existing: false,
            stop: None,
            data: None,
            memory_limit: None,
        }
    }

    /// Continues from `checkpoint`.
    pub fn resuming(mut self, checkpoint: Option<Checkpoint>) -> Self {
        self.resume = checkpoint;
        self
    }
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct TrainingReport {
    /// Iterations completed in all (including those before a resume).
    pub iterations: u64,
    /// The iteration this invocation started from (0, or where the resumed checkpoint stood).
    pub first_iteration: u64,
    /// The last iteration's training loss (nats per symbol).
    pub final_loss: f64,
    /// The final validation.
    pub validation: Evaluation,
    /// The lowest validation loss of the run.
    pub best_validation: f64,
    /// The `last` checkpoint.
    pub checkpoint: PathBuf,
    /// Seconds spent in this invocation.
    pub seconds: f64,
    /// Every logged iteration, from the start of the run.
    pub metrics: Vec<IterationMetrics>,
}

impl Strategy {
    /// The feeding of iteration `i`, with the ε or n it used.
    pub fn feeding(&self, iteration: u64) -> (Feeding, Option<f64>, Option<usize>) {
        match *self {
            Strategy::TeacherForcing => (Feeding::TeacherForcing, None, None),
            Strategy::ScheduledSampling { schedule, own } => {
                let epsilon = schedule.probability(iteration);
                (
                    Feeding::ScheduledSampling {
                        truth_probability: epsilon,
                        own,
                    },
                    Some(epsilon),
                    None,
                )
            }
            Strategy::Curriculum { schedule, own } => {
                let free_steps = schedule.free_running_steps(iteration);
                (
                    Feeding::FreeRunningTail { free_steps, own },
                    None,
                    Some(free_steps),
                )
            }
        }
    }
}

/// Trains a language model, writing checkpoints and metrics under `run.out`.
pub fn train<B>(run: TrainingRun<'_, B>, observer: &mut dyn Observer) -> Result<TrainingReport>
where
    B: AutodiffBackend + RecurrenceBackend,
    B::InnerBackend: RecurrenceBackend,
{
    match run.config.optimizer {
        OptimizerKind::Adam => {
            let optimizer = AdamConfig::new().with_epsilon(1e-8).init();
            train_with(run, optimizer, observer)
        }
        OptimizerKind::Sgd => train_with(run, SgdConfig::new().init(), observer),
        OptimizerKind::Rmsprop => {
            let optimizer = RmsPropConfig::new()
                .with_alpha(0.99)
                .with_epsilon(1e-8)
                .init();
            train_with(run, optimizer, observer)
        }
    }
}

type OptimizerRecorder = BinBytesRecorder<FullPrecisionSettings>;

/// The model, the optimiser and where training stands: what a checkpoint restores.
struct TrainingState<B: AutodiffBackend, O> {
    model: LanguageModel<B>,
    optimizer: O,
    progress: Progress,
    history: Vec<IterationMetrics>,
    /// The iteration of the newest checkpoint on disk, if any.
    saved: Option<u64>,
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

/// A fresh model, or the resumed checkpoint's model, optimiser state and progress.
fn initialise_or_resume<B, O>(
    run: &TrainingRun<'_, B>,
    mut optimizer: O,
) -> Result<TrainingState<B, O>>
where
    B: AutodiffBackend,
    O: Optimizer<LanguageModel<B>, B>,
{
    let config = &run.config;
    let Some(checkpoint) = &run.resume else {
        B::seed(&run.device, iteration_seed(config.seed, 0, 0));
        let model = config
            .model
            .init::<B>(run.corpus.vocabulary.len(), &run.device)?;
        let progress = Progress {
            iteration: 0,
            best_validation: None,
            initial_loss: None,
            carried_state: None,
            backend: run.backend.clone(),
            parameter_ids: Vec::new(),
            data: run.data.clone(),
        };
        return Ok(TrainingState {
            model,
            optimizer,
            progress,
            history: Vec::new(),
            saved: None,
        });
    };
    if checkpoint.vocabulary != run.corpus.vocabulary {
        return Err(checkpoint_error(
            &checkpoint.path,
            "its vocabulary differs from this corpus's",
        ));
    }
    if checkpoint.config.model != config.model || checkpoint.config.symbols != config.symbols {
        return Err(checkpoint_error(
            &checkpoint.path,
            "its model settings differ from this run's",
        ));
    }
    if checkpoint.config.optimizer != config.optimizer {
        return Err(checkpoint_error(
            &checkpoint.path,
            format!(
                "its optimiser state is {:?}'s; the optimiser cannot change when resuming (asked: {:?})",
                checkpoint.config.optimizer, config.optimizer
            ),
        ));
    }
    let model = checkpoint.model::<B>(&run.device)?;
    if let Some(bytes) = checkpoint.optimizer_bytes() {
        let record = OptimizerRecorder::default()
            .load(bytes.to_vec(), &run.device)
            .map_err(|e| checkpoint_error(&checkpoint.path, format!("optimizer state: {e}")))?;
        optimizer = optimizer.load_record(record);
    }
    let mut progress = checkpoint.progress.clone();
    if progress.iteration >= config.iterations {
        return Err(invalid(
            "iterations",
            format!(
                "the checkpoint already completed {} iterations; ask for more than that",
                progress.iteration
            ),
        ));
    }
    if run.data.is_some() {
        progress.data = run.data.clone();
    }
    Ok(TrainingState {
        model,
        optimizer,
        progress,
        // The history up to the checkpoint: iterations logged after it (before a crash) go.
        history: checkpoint.metrics.clone(),
        saved: Some(checkpoint.progress.iteration),
    })
}

/// Where a checkpoint goes and what it records beside the training state.
struct CheckpointTarget<'a> {
    out: &'a Path,
    config: &'a TrainingConfig,
    vocabulary: &'a Vocabulary,
}

/// Writes `last` (and `best` when `best`), refusing weights that are no longer finite.
fn save_checkpoint<B, O>(
    target: &CheckpointTarget<'_>,
    state: &mut TrainingState<B, O>,
    carried: Option<&Tensor<B, 3>>,
    best: bool,
) -> Result<PathBuf>
where
    B: AutodiffBackend,
    O: Optimizer<LanguageModel<B>, B>,
{
    let iteration = state.progress.iteration;
    if let Some(name) = first_non_finite(&state.model) {
        return Err(TrainingError::Diverged {
            iteration,
            reason: format!(
                "the weights ({name}) became NaN or infinite; {}",
                kept(state.saved)
            ),
        });
    }
    state.progress.carried_state = carried.map(SavedTensor::from_tensor);
    state.progress.parameter_ids = checkpoint::parameter_ids(&state.model);
    let optimizer_bytes = OptimizerRecorder::default()
        .record(state.optimizer.to_record(), ())
        .map_err(|e| checkpoint_error(target.out, format!("optimizer state: {e}")))?;
    let contents = CheckpointContents {
        model: &state.model,
        optimizer: Some(optimizer_bytes),
        config: target.config,
        vocabulary: target.vocabulary,
        progress: &state.progress,
        metrics: &state.history,
    };
    let last = checkpoint::save(target.out, Which::Last, &contents)?;
    if best {
        checkpoint::save(target.out, Which::Best, &contents)?;
    }
    state.saved = Some(iteration);
    Ok(last)
}

/// What the divergence guard leaves behind, in words.
fn kept(saved: Option<u64>) -> String {
    match saved {
        Some(iteration) => format!("the checkpoint of iteration {iteration} is left as it was"),
        None => "no checkpoint had been written yet".into(),
    }
}

fn train_with<B, O>(
    run: TrainingRun<'_, B>,
    optimizer: O,
    observer: &mut dyn Observer,
) -> Result<TrainingReport>
where
    B: AutodiffBackend + RecurrenceBackend,
    B::InnerBackend: RecurrenceBackend,
    O: Optimizer<LanguageModel<B>, B>,
{
    let config = &run.config;
    let corpus = run.corpus;
    let device = &run.device;
    let out = run.out.as_path();
    config.validate()?;
    config.check_memory(corpus.vocabulary.len(), run.memory_limit)?;
    let (train_ids, valid_ids) = corpus.split(config.validation_fraction, 2)?;
    let source = WindowSource::new(
        train_ids,
        config.window,
        config.batch,
        config.batching,
        config.seed,
    )
    .map_err(|e| whole_corpus_error(e, corpus, config.validation_fraction))?;
    let _lock = run_directory::prepare(out, run.resume.as_ref(), run.replace_existing)?;
    let mut state = initialise_or_resume(&run, optimizer)?;
    let metrics_path = out.join("metrics.jsonl");
    write_atomically(&metrics_path, to_jsonl(&state.history).as_bytes())?;
    let target = CheckpointTarget {
        out,
        config,
        vocabulary: &corpus.vocabulary,
    };

    let carried_shape = [config.model.layers, config.batch, config.model.hidden];
    // A state carried with another batch size cannot continue: those streams start afresh.
    let mut carried: Option<Tensor<B, 3>> = state
        .progress
        .carried_state
        .as_ref()
        .and_then(|saved| saved.to_tensor(carried_shape, device));
    let first_iteration = state.progress.iteration;
    let started = Instant::now();
    let mut window_started = Instant::now();
    let mut window_tokens = 0usize;
    let mut final_loss = f64::NAN;
    let mut last_validation = None;
    let mut last_checkpoint = out.join("last");
    observer.started(first_iteration, config.iterations);

    for iteration in first_iteration..config.iterations {
        // Everything random in this iteration (coins, samples, dropout) depends on (seed, i).
        B::seed(device, iteration_seed(config.seed, iteration, 2));
        let batch = source.batch(iteration);
        let shape = [config.batch, config.window];
        let inputs = Tensor::<B, 2, Int>::from_data(TensorData::new(batch.inputs, shape), device);
        let targets = Tensor::<B, 2, Int>::from_data(TensorData::new(batch.targets, shape), device);
        let carried_in = if config.carry_state && !batch.restart {
            carried.take()
        } else {
            None
        };
        let (feeding, truth_probability, free_steps) = config.strategy.feeding(iteration);
        let (losses, carried_out) = state
            .model
            .window_loss(inputs, targets, carried_in, &feeding)?;
        let loss = losses.mean();
        let loss_value: f64 = loss.clone().into_scalar().elem();
        let initial = *state.progress.initial_loss.get_or_insert(loss_value);
        if !loss_value.is_finite() || loss_value > DIVERGENCE_FACTOR * initial {
            observer.finished();
            plot_losses(&state.history, &out.join("loss.png"))?;
            return Err(TrainingError::Diverged {
                iteration,
                reason: format!(
                    "the loss is {loss_value} (first iteration: {initial:.4}); {}",
                    kept(state.saved)
                ),
            });
        }
        let gradients = GradientsParams::from_grads(loss.backward(), &state.model);
        let (gradients, gradient_norm) = match config.clip {
            Some(max_norm) => clip_global_norm(&state.model, gradients, max_norm)?,
            None => {
                let norm = global_norm(&state.model, &gradients);
                (gradients, norm)
            }
        };
        let learning_rate =
            config
                .learning_rate_schedule
                .rate(config.learning_rate, iteration, config.iterations);
        state.model = state.optimizer.step(learning_rate, state.model, gradients);
        if config.carry_state {
            carried = carried_out.map(|s| s.detach());
        }
        final_loss = loss_value;
        window_tokens += config.batch * config.window;
        let done = iteration + 1;
        state.progress.iteration = done;
        let stopping = run
            .stop
            .as_ref()
            .is_some_and(|stop| stop.load(Ordering::SeqCst));

        let evaluate_now = done % config.eval_every == 0 || done == config.iterations;
        if done % config.log_every == 0 || evaluate_now || done == 1 || stopping {
            let tokens_per_second = window_tokens as f64 / window_started.elapsed().as_secs_f64();
            window_started = Instant::now();
            window_tokens = 0;
            let mut record = IterationMetrics {
                iteration: done,
                loss: loss_value,
                tokens_per_second,
                gradient_norm,
                learning_rate,
                truth_probability,
                free_steps,
                validation: None,
            };
            if evaluate_now {
                let evaluation = evaluate(&state.model.valid(), valid_ids, config.window, device)?;
                let best = state
                    .progress
                    .best_validation
                    .is_none_or(|b| evaluation.nats_per_symbol < b);
                if best {
                    state.progress.best_validation = Some(evaluation.nats_per_symbol);
                }
                observer.validation(done, &evaluation, best);
                record.validation = Some(evaluation);
                last_validation = Some(evaluation);
                state.history.push(record.clone());
                append_jsonl(&metrics_path, &record)?;
                last_checkpoint = save_checkpoint(&target, &mut state, carried.as_ref(), best)?;
            } else {
                state.history.push(record.clone());
                append_jsonl(&metrics_path, &record)?;
            }
            observer.iteration(&record);
        }
        if stopping {
            // The checkpoint written at this iteration's validation, if any, is already current.
            if state.saved != Some(done) {
                last_checkpoint = save_checkpoint(&target, &mut state, carried.as_ref(), false)?;
            }
            observer.finished();
            plot_losses(&state.history, &out.join("loss.png"))?;
            return Err(TrainingError::Interrupted {
                iteration: done,
                checkpoint: last_checkpoint.display().to_string(),
            });
        }
    }
    observer.finished();
    plot_losses(&state.history, &out.join("loss.png"))?;
    let validation = last_validation.expect("the last iteration always validates");
    Ok(TrainingReport {
        iterations: state.progress.iteration,
        first_iteration,
        final_loss,
        validation,
        best_validation: state
            .progress
            .best_validation
            .unwrap_or(validation.nats_per_symbol),
        checkpoint: last_checkpoint,
        seconds: started.elapsed().as_secs_f64(),
        metrics: state.history,
    })
}
