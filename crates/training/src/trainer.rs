//! The training loop: truncated BPTT over windows, any feeding strategy, global-norm clipping,
//! a learning-rate schedule, validation, checkpoints, and exact resumption.

use std::path::PathBuf;
use std::time::Instant;

use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer, RmsPropConfig, SgdConfig};
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use unroll_model::RecurrenceBackend;

use crate::batches::{WindowSource, iteration_seed};
use crate::checkpoint::{self, Checkpoint, CheckpointContents, Progress, SavedTensor, Which};
use crate::clipping::{clip_global_norm, global_norm};
use crate::config::{OptimizerKind, Strategy, TrainingConfig};
use crate::corpus::Corpus;
use crate::error::{Result, TrainingError, checkpoint_error, invalid};
use crate::evaluate::{Evaluation, evaluate};
use crate::feeding::Feeding;
use crate::language_model::LanguageModel;
use crate::metrics::{IterationMetrics, append_jsonl, plot_losses};
use crate::progress::Observer;

/// A loss above this multiple of the first iteration's stops training.
const DIVERGENCE_FACTOR: f64 = 3.0;

/// What to train, where.
pub struct TrainingRun<'a, B: Backend> {
    /// The settings (when resuming, normally the checkpoint's, with `steps` raised).
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
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct TrainingReport {
    /// Iterations completed in all (including those before a resume).
    pub iterations: u64,
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

fn saved_tensor<B: Backend>(tensor: &Tensor<B, 3>) -> SavedTensor {
    SavedTensor {
        shape: tensor.dims().to_vec(),
        values: tensor.to_data().iter::<f32>().collect(),
    }
}

fn train_with<B, O>(
    run: TrainingRun<'_, B>,
    mut optimizer: O,
    observer: &mut dyn Observer,
) -> Result<TrainingReport>
where
    B: AutodiffBackend + RecurrenceBackend,
    B::InnerBackend: RecurrenceBackend,
    O: Optimizer<LanguageModel<B>, B>,
{
    let TrainingRun {
        config,
        corpus,
        out,
        resume,
        device,
        backend,
    } = run;
    config.validate()?;
    let (train_ids, valid_ids) = corpus.split(config.validation_fraction, 2)?;
    let source = WindowSource::new(
        train_ids,
        config.window,
        config.batch,
        config.batching,
        config.seed,
    )?;

    let (mut model, mut progress, mut history) = match &resume {
        None => {
            B::seed(&device, iteration_seed(config.seed, 0, 0));
            let model = config.model.init::<B>(corpus.vocabulary.len(), &device)?;
            let progress = Progress {
                iteration: 0,
                best_validation: None,
                initial_loss: None,
                carried_state: None,
                backend: backend.clone(),
                parameter_ids: Vec::new(),
            };
            (model, progress, Vec::new())
        }
        Some(checkpoint) => {
            if checkpoint.vocabulary != corpus.vocabulary {
                return Err(checkpoint_error(
                    &checkpoint.path,
                    "its vocabulary differs from this corpus's",
                ));
            }
            if checkpoint.config.model != config.model
                || checkpoint.config.symbols != config.symbols
            {
                return Err(checkpoint_error(
                    &checkpoint.path,
                    "its model settings differ from this run's",
                ));
            }
            let model = checkpoint.model::<B>(&device)?;
            if let Some(bytes) = checkpoint.optimizer_bytes() {
                let record = OptimizerRecorder::default()
                    .load(bytes.to_vec(), &device)
                    .map_err(|e| {
                        checkpoint_error(&checkpoint.path, format!("optimizer state: {e}"))
                    })?;
                optimizer = optimizer.load_record(record);
            }
            (
                model,
                checkpoint.progress.clone(),
                checkpoint.metrics.clone(),
            )
        }
    };
    if progress.iteration >= config.steps {
        return Err(invalid(
            "steps",
            format!(
                "the checkpoint already completed {} iterations; ask for more than that",
                progress.iteration
            ),
        ));
    }
    std::fs::create_dir_all(&out).map_err(|e| crate::error::io_error(&out, e))?;
    let metrics_path = out.join("metrics.jsonl");
    if resume.is_none() && metrics_path.exists() {
        std::fs::remove_file(&metrics_path)
            .map_err(|e| crate::error::io_error(&metrics_path, e))?;
    }

    let mut carried: Option<Tensor<B, 3>> = progress.carried_state.as_ref().map(|saved| {
        let shape: [usize; 3] = [saved.shape[0], saved.shape[1], saved.shape[2]];
        Tensor::from_data(TensorData::new(saved.values.clone(), shape), &device)
    });
    let started = Instant::now();
    let mut window_started = Instant::now();
    let mut window_tokens = 0usize;
    let mut final_loss = f64::NAN;
    let mut last_validation = None;
    let mut last_checkpoint = out.join("last");
    observer.started(progress.iteration, config.steps);

    for iteration in progress.iteration..config.steps {
        // Everything random in this iteration (coins, samples, dropout) depends on (seed, i).
        B::seed(&device, iteration_seed(config.seed, iteration, 2));
        let batch = source.batch(iteration);
        let shape = [config.batch, config.window];
        let inputs = Tensor::<B, 2, Int>::from_data(TensorData::new(batch.inputs, shape), &device);
        let targets =
            Tensor::<B, 2, Int>::from_data(TensorData::new(batch.targets, shape), &device);
        let state = if config.carry_state && !batch.restart {
            carried.take()
        } else {
            None
        };
        let (feeding, truth_probability, free_steps) = config.strategy.feeding(iteration);
        let (losses, state) = model.window_loss(inputs, targets, state, &feeding)?;
        let loss = losses.mean();
        let loss_value = loss
            .clone()
            .into_data()
            .iter::<f64>()
            .next()
            .unwrap_or(f64::NAN);
        let initial = *progress.initial_loss.get_or_insert(loss_value);
        if !loss_value.is_finite() || loss_value > DIVERGENCE_FACTOR * initial {
            let reason = format!(
                "the loss is {loss_value} (first iteration: {initial:.4}); the last good checkpoint is left as it was"
            );
            observer.message(&reason);
            observer.finished();
            return Err(TrainingError::Diverged { iteration, reason });
        }
        let gradients = GradientsParams::from_grads(loss.backward(), &model);
        let (gradients, gradient_norm) = match config.clip {
            Some(max_norm) => clip_global_norm(&model, gradients, max_norm)?,
            None => {
                let norm = global_norm(&model, &gradients);
                (gradients, norm)
            }
        };
        let learning_rate =
            config
                .learning_rate_schedule
                .rate(config.learning_rate, iteration, config.steps);
        model = optimizer.step(learning_rate, model, gradients);
        if config.carry_state {
            carried = state.map(|s| s.detach());
        }
        final_loss = loss_value;
        window_tokens += config.batch * config.window;
        let done = iteration + 1;
        progress.iteration = done;

        let evaluate_now = done % config.eval_every == 0 || done == config.steps;
        if done % config.log_every == 0 || evaluate_now || done == 1 {
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
                let evaluation = evaluate(&model.valid(), valid_ids, config.window, &device)?;
                let best = progress
                    .best_validation
                    .is_none_or(|b| evaluation.nats_per_symbol < b);
                if best {
                    progress.best_validation = Some(evaluation.nats_per_symbol);
                }
                observer.validation(done, &evaluation, best);
                record.validation = Some(evaluation);
                last_validation = Some(evaluation);
                history.push(record.clone());
                append_jsonl(&metrics_path, &record)?;
                progress.carried_state = carried.as_ref().map(saved_tensor);
                progress.parameter_ids = checkpoint::parameter_ids(&model);
                let optimizer_bytes = OptimizerRecorder::default()
                    .record(optimizer.to_record(), ())
                    .map_err(|e| checkpoint_error(&out, format!("optimizer state: {e}")))?;
                let contents = CheckpointContents {
                    model: &model,
                    optimizer: Some(optimizer_bytes),
                    config: &config,
                    vocabulary: &corpus.vocabulary,
                    progress: &progress,
                    metrics: &history,
                };
                last_checkpoint = checkpoint::save(&out, Which::Last, &contents)?;
                if best {
                    checkpoint::save(&out, Which::Best, &contents)?;
                }
            } else {
                history.push(record.clone());
                append_jsonl(&metrics_path, &record)?;
            }
            observer.iteration(&record);
        }
    }
    observer.finished();
    plot_losses(&history, &out.join("loss.png"))?;
    let validation = last_validation.expect("the last iteration always validates");
    Ok(TrainingReport {
        iterations: progress.iteration,
        final_loss,
        validation,
        best_validation: progress
            .best_validation
            .unwrap_or(validation.nats_per_symbol),
        checkpoint: last_checkpoint,
        seconds: started.elapsed().as_secs_f64(),
        metrics: history,
    })
}
