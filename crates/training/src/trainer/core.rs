//! The loop every task trains in: initialise or resume, one iteration, log and checkpoint.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer, RmsPropConfig, SgdConfig};
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::ElementConversion;
use burn::tensor::backend::AutodiffBackend;

use super::adam::FusedAdam;
use super::task::{IterationLoss, Task, TrainingBackend};
use crate::checkpoint::Snapshot;
use crate::checkpoint::{Progress, Which, first_non_finite, parameter_ids};
use crate::clipping::{clip_global_norm, global_norm};
use crate::corpus::DataSource;
use crate::durable::write_atomically;
use crate::error::{Result, TrainingError, checkpoint_error, invalid};
use crate::metrics::{IterationMetrics, append_jsonl, to_jsonl};
use crate::plot::plot_losses;
use crate::progress::Observer;
use crate::run_directory;
use crate::seeds::iteration_seed;
use crate::settings::{LoopSettings, OptimizerKind};
use crate::validation::Validation;

/// A smoothed loss above this multiple of the first iteration's (or of the task's uninformed
/// loss, when higher) stops training.
const DIVERGENCE_FACTOR: f64 = 3.0;
/// How much of the smoothed loss each iteration keeps: about the last ten iterations count, so
/// one bad batch (a classifier confidently wrong on it) is not taken for divergence, while a
/// loss that explodes is caught within an iteration or two.
const SMOOTHING: f64 = 0.9;

/// Where a run lives and how it may be stopped.
#[derive(Debug, Clone)]
pub struct RunPlace {
    /// The run directory: checkpoints `last` and `best`, `metrics.jsonl`, `loss.png`.
    pub out: PathBuf,
    /// The checkpoint directory the task resumes from, if any: continuing its own run's `last`
    /// is allowed, any other run already in `out` is refused unless `replace_existing`.
    pub resume_from: Option<PathBuf>,
    /// Remove a run that `out` already holds instead of refusing.
    pub replace_existing: bool,
    /// When this becomes true, training stops after the current iteration, writes `last`, the
    /// metrics and the plot, and returns [`TrainingError::Interrupted`].
    pub stop: Option<Arc<AtomicBool>>,
    /// The backend's name, recorded in checkpoints.
    pub backend: String,
    /// Where the data came from, recorded in checkpoints.
    pub data: Option<DataSource>,
    /// Training time this invocation may take (validation and checkpoints not counted): once
    /// past it, the iteration running is the last, validated and checkpointed as a run's last
    /// iteration is, and the run reports normally. A resumed run continues from there.
    pub time_limit: Option<Duration>,
}

impl RunPlace {
    /// A fresh run in `out` on the backend named `backend`: nothing resumed or replaced, no stop
    /// flag, no time limit, no data recorded. Set the rest with struct update syntax.
    pub fn new(out: impl Into<PathBuf>, backend: impl Into<String>) -> Self {
        RunPlace {
            out: out.into(),
            resume_from: None,
            replace_existing: false,
            stop: None,
            backend: backend.into(),
            data: None,
            time_limit: None,
        }
    }
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct TrainingReport<M, V> {
    /// The trained model, without autodiff.
    pub model: M,
    /// Iterations completed in all (including those before a resume).
    pub iterations: u64,
    /// The iteration this invocation started from (0, or where the resumed checkpoint stood).
    pub first_iteration: u64,
    /// The last iteration's training loss.
    pub final_loss: f64,
    /// The final validation.
    pub validation: V,
    /// The lowest validation loss of the run.
    pub best_validation: f64,
    /// The `last` checkpoint.
    pub checkpoint: PathBuf,
    /// Seconds spent in this invocation.
    pub seconds: f64,
    /// Every logged iteration, from the start of the run.
    pub metrics: Vec<IterationMetrics<V>>,
}

impl<M, V> TrainingReport<M, V> {
    /// Seconds of training alone since the run's first iteration (validation and checkpoints
    /// not counted), as the last logged iteration recorded them: what a comparison of training
    /// costs should read, where [`TrainingReport::seconds`] counts the whole invocation.
    pub fn training_seconds(&self) -> f64 {
        self.metrics.last().map_or(0.0, |m| m.seconds)
    }
}

/// What a run of task `T` reports: its model without autodiff, and its validation type.
pub type TaskReport<B, T> = TrainingReport<
    <<T as Task<B>>::Model as AutodiffModule<B>>::InnerModule,
    <T as Task<B>>::Validation,
>;

/// Trains `task` in the run directory `place.out` by `settings`, with the optimiser they name.
///
/// The run directory is locked for the whole run (a second writer gets
/// [`TrainingError::RunLocked`]). Everything random in iteration `i` is seeded from
/// `(settings.seed, i)`, so a run stopped and resumed gives the same curve as one that was not.
pub fn train_task<B, T>(
    task: &mut T,
    settings: &LoopSettings,
    place: &RunPlace,
    device: &B::Device,
    observer: &mut dyn Observer<T::Validation>,
) -> Result<TaskReport<B, T>>
where
    B: TrainingBackend,
    T: Task<B>,
{
    match settings.optimizer {
        OptimizerKind::Adam => {
            let optimizer = FusedAdam::default().init();
            run(task, settings, place, device, optimizer, observer)
        }
        OptimizerKind::Sgd => run(
            task,
            settings,
            place,
            device,
            SgdConfig::new().init(),
            observer,
        ),
        OptimizerKind::Rmsprop => {
            let optimizer = RmsPropConfig::new()
                .with_alpha(0.99)
                .with_epsilon(1e-8)
                .init();
            run(task, settings, place, device, optimizer, observer)
        }
    }
}

type OptimizerRecorder = BinBytesRecorder<FullPrecisionSettings>;

fn run<B, T, O>(
    task: &mut T,
    settings: &LoopSettings,
    place: &RunPlace,
    device: &B::Device,
    optimizer: O,
    observer: &mut dyn Observer<T::Validation>,
) -> Result<TaskReport<B, T>>
where
    B: TrainingBackend,
    T: Task<B>,
    O: Optimizer<T::Model, B>,
{
    let _lock = run_directory::prepare(
        &place.out,
        place.resume_from.as_deref(),
        place.replace_existing,
    )?;
    let state = State::initialise_or_resume(task, settings, place, device, optimizer)?;
    write_atomically(&state.metrics_path(), to_jsonl(&state.history).as_bytes())?;
    state.train(observer)
}

/// The model, the optimiser and where training stands: what a checkpoint restores.
struct State<'a, B: AutodiffBackend, T: Task<B>, O> {
    task: &'a mut T,
    settings: &'a LoopSettings,
    place: &'a RunPlace,
    device: &'a B::Device,
    model: T::Model,
    optimizer: O,
    progress: Progress,
    history: Vec<IterationMetrics<T::Validation>>,
    /// The iteration of the newest checkpoint on disk, if any.
    saved: Option<u64>,
}

/// One iteration's numbers, before they are logged.
struct Step {
    loss: f64,
    items: usize,
    gradient_norm: f64,
    learning_rate: f64,
    truth_probability: Option<f64>,
    free_steps: Option<usize>,
}

/// Symbols per second since the previous log line.
struct Throughput {
    since: Instant,
    items: usize,
}

impl Throughput {
    fn new() -> Self {
        Throughput {
            since: Instant::now(),
            items: 0,
        }
    }

    /// The rate since the last call, and a fresh start.
    fn take(&mut self) -> f64 {
        let rate = self.items as f64 / self.since.elapsed().as_secs_f64();
        *self = Throughput::new();
        rate
    }
}

impl<'a, B, T, O> State<'a, B, T, O>
where
    B: TrainingBackend,
    T: Task<B>,
    O: Optimizer<T::Model, B>,
{
    /// A fresh model, or the resumed checkpoint's model, optimiser state and progress.
    fn initialise_or_resume(
        task: &'a mut T,
        settings: &'a LoopSettings,
        place: &'a RunPlace,
        device: &'a B::Device,
        mut optimizer: O,
    ) -> Result<Self> {
        let (model, progress, history, saved) = match task.resume(device)? {
            None => {
                B::seed(device, iteration_seed(settings.seed, 0, 0));
                let progress = Progress {
                    iteration: 0,
                    best_validation: None,
                    initial_loss: None,
                    smoothed_loss: None,
                    carried_state: None,
                    backend: place.backend.clone(),
                    parameter_ids: Vec::new(),
                    data: place.data.clone(),
                };
                (task.init_model(device)?, progress, Vec::new(), None)
            }
            Some(resumed) => {
                let mut progress = resumed.progress;
                if progress.iteration >= settings.iterations {
                    return Err(invalid(
                        "iterations",
                        format!(
                            "the checkpoint already completed {} iterations; ask for more than that",
                            progress.iteration
                        ),
                    ));
                }
                if let Some(bytes) = resumed.optimizer {
                    let record = OptimizerRecorder::default()
                        .load(bytes, device)
                        .map_err(|e| {
                            checkpoint_error(&place.out, format!("optimizer state: {e}"))
                        })?;
                    optimizer = optimizer.load_record(record);
                }
                if place.data.is_some() {
                    progress.data = place.data.clone();
                }
                let saved = Some(progress.iteration);
                // The history up to the checkpoint: iterations logged after it (before a crash)
                // go.
                (resumed.model, progress, resumed.metrics, saved)
            }
        };
        Ok(State {
            task,
            settings,
            place,
            device,
            model,
            optimizer,
            progress,
            history,
            saved,
        })
    }

    fn metrics_path(&self) -> PathBuf {
        self.place.out.join("metrics.jsonl")
    }

    /// Ends the observer's report and draws the loss curve: what every way out of the loop does.
    fn finish(&self, observer: &mut dyn Observer<T::Validation>) -> Result<()> {
        observer.finished();
        plot_losses(&self.history, &self.place.out.join("loss.png"))
    }

    /// The loop, from where the state stands to the last iteration.
    fn train(mut self, observer: &mut dyn Observer<T::Validation>) -> Result<TaskReport<B, T>> {
        let first_iteration = self.progress.iteration;
        let started = Instant::now();
        // Training time, validation and checkpoints excluded: this invocation's, and the run's
        // before it (a resumed run continues its history's clock).
        let mut training_time = Duration::ZERO;
        let earlier_seconds = self.history.last().map_or(0.0, |record| record.seconds);
        let mut throughput = Throughput::new();
        let mut final_loss = f64::NAN;
        let mut last_validation = None;
        let mut last_checkpoint = self.place.out.join("last");
        observer.started(first_iteration, self.settings.iterations);
        for iteration in first_iteration..self.settings.iterations {
            let iteration_started = Instant::now();
            let step = match self.iteration(iteration) {
                Ok(step) => step,
                Err(error) => {
                    self.finish(observer)?;
                    return Err(error);
                }
            };
            final_loss = step.loss;
            throughput.items += step.items;
            training_time += iteration_started.elapsed();
            let done = iteration + 1;
            let out_of_time = self
                .place
                .time_limit
                .is_some_and(|limit| training_time >= limit);
            self.progress.iteration = done;
            let stopping = self
                .place
                .stop
                .as_ref()
                .is_some_and(|stop| stop.load(Ordering::SeqCst));
            let validate = done % self.settings.eval_every == 0
                || done == self.settings.iterations
                || out_of_time;
            if done % self.settings.log_every == 0 || validate || done == 1 || stopping {
                let mut record = IterationMetrics {
                    iteration: done,
                    loss: step.loss,
                    items_per_second: throughput.take(),
                    seconds: earlier_seconds + training_time.as_secs_f64(),
                    gradient_norm: step.gradient_norm,
                    learning_rate: step.learning_rate,
                    truth_probability: step.truth_probability,
                    free_steps: step.free_steps,
                    validation: None,
                };
                let mut best = None;
                if validate {
                    let (validation, is_best) = self.validate(done, observer)?;
                    record.validation = Some(validation.clone());
                    last_validation = Some(validation);
                    best = Some(is_best);
                }
                self.history.push(record.clone());
                append_jsonl(&self.metrics_path(), &record)?;
                if let Some(best) = best {
                    last_checkpoint = self.save(best)?;
                }
                observer.iteration(&record);
            }
            if stopping {
                // The checkpoint written at this iteration's validation, if any, is current.
                if self.saved != Some(done) {
                    last_checkpoint = self.save(false)?;
                }
                self.finish(observer)?;
                return Err(TrainingError::Interrupted {
                    iteration: done,
                    checkpoint: last_checkpoint.display().to_string(),
                });
            }
            if out_of_time {
                break;
            }
        }
        self.finish(observer)?;
        let validation = last_validation.expect("the last iteration always validates");
        Ok(TrainingReport {
            model: self.model.valid(),
            iterations: self.progress.iteration,
            first_iteration,
            final_loss,
            best_validation: self.progress.best_validation.unwrap_or(validation.loss()),
            validation,
            checkpoint: last_checkpoint,
            seconds: started.elapsed().as_secs_f64(),
            metrics: self.history,
        })
    }

    /// One iteration: the task's loss, the divergence guard, backward, clipping, the optimiser.
    fn iteration(&mut self, iteration: u64) -> Result<Step> {
        let settings = self.settings;
        // Everything random in this iteration (coins, samples, dropout) depends on (seed, i).
        B::seed(self.device, iteration_seed(settings.seed, iteration, 2));
        let IterationLoss {
            loss,
            items,
            truth_probability,
            free_steps,
        } = self.task.loss(&self.model, iteration, self.device)?;
        let loss_value: f64 = loss.clone().into_scalar().elem();
        let initial = *self.progress.initial_loss.get_or_insert(loss_value);
        let reference = self
            .task
            .uninformed_loss()
            .map_or(initial, |uninformed| uninformed.max(initial));
        let smoothed = SMOOTHING * self.progress.smoothed_loss.unwrap_or(loss_value)
            + (1.0 - SMOOTHING) * loss_value;
        if !loss_value.is_finite() || smoothed > DIVERGENCE_FACTOR * reference {
            return Err(TrainingError::Diverged {
                iteration,
                reason: format!(
                    "the loss is {loss_value} ({smoothed:.4} smoothed over recent iterations, {initial:.4} at the first); {}",
                    kept(self.saved)
                ),
            });
        }
        self.progress.smoothed_loss = Some(smoothed);
        let gradients = GradientsParams::from_grads(loss.backward(), &self.model);
        let (gradients, gradient_norm) = match settings.clip {
            Some(max_norm) => clip_global_norm(&self.model, gradients, max_norm)?,
            None => {
                let norm = global_norm(&self.model, &gradients);
                (gradients, norm)
            }
        };
        let learning_rate = settings.learning_rate_schedule.rate(
            settings.learning_rate,
            iteration,
            settings.iterations,
        );
        self.model = self
            .optimizer
            .step(learning_rate, self.model.clone(), gradients);
        Ok(Step {
            loss: loss_value,
            items,
            gradient_norm,
            learning_rate,
            truth_probability,
            free_steps,
        })
    }

    /// Validates and tells the observer; returns the validation and whether it is the best.
    fn validate(
        &mut self,
        done: u64,
        observer: &mut dyn Observer<T::Validation>,
    ) -> Result<(T::Validation, bool)> {
        let validation = self.task.validate(&self.model.valid(), self.device)?;
        let loss = validation.loss();
        let best = self.progress.best_validation.is_none_or(|b| loss < b);
        if best {
            self.progress.best_validation = Some(loss);
        }
        observer.validation(done, &validation, best);
        Ok((validation, best))
    }

    /// Writes `last` (and `best` when `best`), refusing weights that are no longer finite.
    fn save(&mut self, best: bool) -> Result<PathBuf> {
        let iteration = self.progress.iteration;
        if let Some(name) = first_non_finite(&self.model) {
            return Err(TrainingError::Diverged {
                iteration,
                reason: format!(
                    "the weights ({name}) became NaN or infinite; {}",
                    kept(self.saved)
                ),
            });
        }
        self.progress.carried_state = self.task.carried_state();
        self.progress.parameter_ids = parameter_ids(&self.model);
        let optimizer = OptimizerRecorder::default()
            .record(self.optimizer.to_record(), ())
            .map_err(|e| checkpoint_error(&self.place.out, format!("optimizer state: {e}")))?;
        let snapshot = Snapshot {
            model: &self.model,
            optimizer,
            progress: &self.progress,
            metrics: &self.history,
        };
        let out: &Path = &self.place.out;
        let last = self.task.save(out, Which::Last, &snapshot)?;
        if best {
            self.task.save(out, Which::Best, &snapshot)?;
        }
        self.saved = Some(iteration);
        Ok(last)
    }
}

/// What the divergence guard leaves behind, in words.
fn kept(saved: Option<u64>) -> String {
    match saved {
        Some(iteration) => format!("the checkpoint of iteration {iteration} is left as it was"),
        None => "no checkpoint had been written yet".into(),
    }
}
