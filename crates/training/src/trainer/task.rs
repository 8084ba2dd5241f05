//! What a task brings to the shared training loop.

use std::path::{Path, PathBuf};

use burn::module::AutodiffModule;
use burn::tensor::Tensor;
use burn::tensor::backend::{AutodiffBackend, Backend};
use unroll_model::RecurrenceBackend;

use crate::checkpoint::{Resumed, SavedTensor, Snapshot, Which};
use crate::error::Result;
use crate::feeding::Feeding;
use crate::validation::Validation;

/// A backend the built-in tasks train on: autodiff over the fused recurrences, which the inner
/// (non-autodiff) backend runs too, for validation and generation.
pub trait TrainingBackend:
    AutodiffBackend<InnerBackend: RecurrenceBackend> + RecurrenceBackend
{
}

impl<B> TrainingBackend for B where
    B: AutodiffBackend<InnerBackend: RecurrenceBackend> + RecurrenceBackend
{
}

/// The loss of one training iteration.
pub struct IterationLoss<B: Backend> {
    /// The mean loss per predicted item, a one-element tensor on the autodiff graph.
    pub loss: Tensor<B, 1>,
    /// The items (symbols, samples) the loss covers: the unit of the logged throughput.
    pub items: usize,
    /// Scheduled sampling's ε, when that strategy runs.
    pub truth_probability: Option<f64>,
    /// The curriculum's free-running steps n, when that strategy runs.
    pub free_steps: Option<usize>,
}

impl<B: Backend> IterationLoss<B> {
    /// The loss of an iteration whose inputs are all given (no strategy feeds them).
    pub fn given(loss: Tensor<B, 1>, items: usize) -> Self {
        IterationLoss {
            loss,
            items,
            truth_probability: None,
            free_steps: None,
        }
    }

    /// The mean of `losses`, one item each (every step of every row, say), all given.
    pub fn mean_of<const D: usize>(losses: Tensor<B, D>) -> Self {
        let items = losses.shape().num_elements();
        Self::given(losses.mean(), items)
    }

    /// The loss of an iteration fed as `feeding` says, whose ε and n the metrics record.
    pub fn fed(loss: Tensor<B, 1>, items: usize, feeding: &Feeding) -> Self {
        IterationLoss {
            loss,
            items,
            truth_probability: feeding.scheduled_truth_probability(),
            free_steps: feeding.free_steps(),
        }
    }
}

/// A kind of training (language modelling; later sequence classification, forecasting): its
/// model, its batches and loss, its validation and its checkpoint files. The loop
/// ([`train_task`](super::train_task)) brings the rest and gives it to every task alike: exact
/// resumption, atomic checkpoints, the divergence guard, metrics, the loss plot, progress, and
/// stopping on request.
pub trait Task<B: AutodiffBackend> {
    /// The module trained.
    type Model: AutodiffModule<B>;
    /// What a validation measures.
    type Validation: Validation;

    /// A fresh model (the loop has seeded the backend).
    fn init_model(&mut self, device: &B::Device) -> Result<Self::Model>;

    /// The checkpoint to continue from, checked against this task, or `None` for a fresh run.
    fn resume(
        &mut self,
        device: &B::Device,
    ) -> Result<Option<Resumed<Self::Model, Self::Validation>>>;

    /// The loss of iteration `iteration`, whose batch must depend on nothing but the seed and
    /// the iteration (so a resumed run draws what an uninterrupted one would). The loop has
    /// seeded the backend for this iteration.
    fn loss(
        &mut self,
        model: &Self::Model,
        iteration: u64,
        device: &B::Device,
    ) -> Result<IterationLoss<B>>;

    /// Validates the model (without autodiff).
    fn validate(
        &self,
        model: &<Self::Model as AutodiffModule<B>>::InnerModule,
        device: &B::Device,
    ) -> Result<Self::Validation>;

    /// The loss per item of a model that has learnt nothing (ln K for K classes, 1 for
    /// standardised targets), if the task knows it: the divergence guard's reference when it
    /// is above the first iteration's loss, which one lucky batch can make small.
    fn uninformed_loss(&self) -> Option<f64> {
        None
    }

    /// State the task carries from one iteration to the next, saved in checkpoints.
    fn carried_state(&self) -> Option<SavedTensor> {
        None
    }

    /// Writes checkpoint `which` into the run directory `out`: the snapshot and the task's
    /// own files ([`checkpoint::save_files`](crate::checkpoint::save_files) does it atomically).
    fn save(
        &self,
        out: &Path,
        which: Which,
        snapshot: &Snapshot<'_, Self::Model, Self::Validation>,
    ) -> Result<PathBuf>;
}
