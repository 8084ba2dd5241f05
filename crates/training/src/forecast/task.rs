//! The forecaster as a task of the shared loop: random windows of the training part, fed by
//! the strategy, scored by the mean squared error; validated one step ahead and open loop. Its
//! checkpoint is every task's
//! ([`TaskCheckpoint`](crate::task_checkpoint::TaskCheckpoint)) with the standardisation in
//! `standardization.json`.

use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::config::ForecastConfig;
use super::data::Standardization;
use super::evaluate::{ForecastScores, OpenLoop, score_forecaster};
use super::model::{Forecaster, init_forecaster};
use crate::error::{Result, invalid};
use crate::feeding::FeedingStreams;
use crate::seeds::iteration_seed;
use crate::trainer::{IterationLoss, Task, TrainingBackend};

/// Training a [`Forecaster`] on a standardised series.
pub struct ForecastTask {
    config: ForecastConfig,
    standardization: Standardization,
    train: Vec<Vec<f64>>,
    validation: Vec<Vec<f64>>,
    resume: Option<ForecastCheckpoint>,
}

impl ForecastTask {
    /// A task training on `train` and validating on `validation`, rows in standard units of
    /// `standardization`.
    pub fn new(
        config: ForecastConfig,
        standardization: Standardization,
        train: Vec<Vec<f64>>,
        validation: Vec<Vec<f64>>,
    ) -> Result<Self> {
        config.validate()?;
        if train.len() < config.window + 1 {
            return Err(invalid(
                "window",
                format!(
                    "a window of {} steps and the step after it need {} training rows; there are {}",
                    config.window,
                    config.window + 1,
                    train.len()
                ),
            ));
        }
        super::evaluate::starting_points(validation.len(), &open_loop(&config, &standardization))?;
        Ok(ForecastTask {
            config,
            standardization,
            train,
            validation,
            resume: None,
        })
    }

    /// Continues from `checkpoint`, which must fit this task's columns and model.
    pub fn resuming(mut self, checkpoint: Option<ForecastCheckpoint>) -> Self {
        self.resume = checkpoint;
        self
    }

    /// The previous values `[batch, window, width]` and the targets after them, of the windows
    /// iteration `iteration` draws (a pure function of the seed and the iteration).
    pub fn batch<B: AutodiffBackend>(
        &self,
        iteration: u64,
        device: &B::Device,
    ) -> (Tensor<B, 3>, Tensor<B, 3>) {
        let (batch, window) = (self.config.batch, self.config.window);
        let width = self.standardization.width();
        let mut random = ChaCha8Rng::seed_from_u64(iteration_seed(self.config.seed, iteration, 11));
        let last = self.train.len() - window - 1;
        let starts: Vec<usize> = (0..batch).map(|_| random.random_range(0..=last)).collect();
        let tensor = |offset: usize| {
            let values: Vec<f32> = starts
                .iter()
                .flat_map(|&s| self.train[s + offset..s + offset + window].iter().flatten())
                .map(|&v| v as f32)
                .collect();
            Tensor::<B, 3>::from_data(TensorData::new(values, [batch, window, width]), device)
        };
        (tensor(0), tensor(1))
    }
}

/// The open-loop evaluation the settings ask for.
pub fn open_loop(config: &ForecastConfig, standardization: &Standardization) -> OpenLoop {
    OpenLoop {
        warmup: config.warmup,
        horizon: config.horizon,
        starts: config.starts,
        valid_threshold: config.valid_threshold,
        steps_per_lyapunov_time: standardization.steps_per_lyapunov_time,
    }
}

impl<B: TrainingBackend> Task<B> for ForecastTask {
    type Model = Forecaster<B>;
    type Validation = ForecastScores;

    crate::task_checkpoint::checkpointed_task!(ForecastCheckpoint, config, standardization);

    fn loss(
        &mut self,
        model: &Self::Model,
        iteration: u64,
        device: &B::Device,
    ) -> Result<IterationLoss<B>> {
        let (previous, targets) = self.batch::<B>(iteration, device);
        let [batch, window, width] = previous.dims();
        let feeding = self.config.strategy.feeding(iteration);
        let plan = feeding.plan(
            [batch, window],
            FeedingStreams {
                seed: self.config.seed,
                iteration,
            },
        )?;
        let outputs = model.window(previous, &plan, self.config.fed_gradient)?;
        let loss = model.loss(outputs, targets);
        Ok(IterationLoss::fed(loss, batch * window * width, &feeding))
    }

    fn validate(
        &self,
        model: &<Self::Model as AutodiffModule<B>>::InnerModule,
        device: &B::Device,
    ) -> Result<ForecastScores> {
        score_forecaster(
            model,
            &self.validation,
            &open_loop(&self.config, &self.standardization),
            device,
        )
    }

    fn uninformed_loss(&self) -> Option<f64> {
        // Standardised columns have variance about 1: the error of predicting their mean.
        Some(1.0)
    }
}

crate::task_checkpoint::checkpoint_kind! {
    /// A forecaster's checkpoint, read and verified; its `encoding` is the columns'
    /// standardisation.
    ForecastCheckpoint = ForecastFiles {
        config: ForecastConfig, encoding: Standardization, file: "standardization.json",
        scores: ForecastScores, model: Forecaster, what: "a forecaster's checkpoint",
        fixed: [loss.name(), optimizer, seed],
    }

    fn other_data(saved: &Standardization, standardization: &Standardization) -> Option<String> {
        (saved.columns != standardization.columns).then(|| {
            format!(
                "it forecasts the columns {}, not {}",
                saved.columns.join(", "),
                standardization.columns.join(", ")
            )
        })
    }

    fn init<B: Backend>(
        config: &ForecastConfig,
        standardization: &Standardization,
        device: &B::Device,
    ) -> Result<Forecaster<B>> {
        init_forecaster(&config.model, standardization.width(), config.loss, device)
    }
}
