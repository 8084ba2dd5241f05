//! Pattern 3 as a task of the shared loop: length-bucketed batches, cross-entropy (optionally
//! class-weighted) or the mean squared error of standardised targets, validation scores. Its
//! checkpoint is every task's
//! ([`TaskCheckpoint`](crate::task_checkpoint::TaskCheckpoint)) with the encoding in
//! `encoding.json`.

use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use unroll_model::RecurrenceBackend;
use unroll_model::fused::row_cross_entropy;

use super::batches::{BatchTargets, batch_inputs, batch_tensors};
use super::config::{ClassWeights, SequenceConfig};
use super::encoding::{Encoding, Inputs, Samples, TargetEncoding, Targets};
use super::network::SequenceNetwork;
use super::scores::{ClassificationScores, LabellingScores, RegressionScores, SequenceScores};
use crate::buckets::{BucketedBatches, sorted_batches};
use crate::error::Result;
use crate::trainer::{IterationLoss, Task, TrainingBackend};

/// Training a [`SequenceNetwork`] (pattern 3, one way or both) on encoded samples.
pub struct SequenceTask {
    config: SequenceConfig,
    encoding: Encoding,
    train: Samples,
    validation: Samples,
    batches: BucketedBatches,
    class_weights: Option<Vec<f32>>,
    resume: Option<SequenceCheckpoint>,
}

impl SequenceTask {
    /// A task training on `train`, validating on `validation`, both encoded by `encoding`.
    pub fn new(
        config: SequenceConfig,
        encoding: Encoding,
        train: Samples,
        validation: Samples,
    ) -> Result<Self> {
        config.validate()?;
        if train.is_empty() || validation.is_empty() {
            return Err(crate::error::invalid(
                "data",
                "training and validation each need at least one sample",
            ));
        }
        let class_weights = match (&encoding.targets, config.class_weights) {
            (
                TargetEncoding::Classes { counts, .. } | TargetEncoding::StepLabels { counts, .. },
                ClassWeights::Balanced,
            ) => {
                let total: usize = counts.iter().sum();
                Some(
                    counts
                        .iter()
                        .map(|&n| total as f32 / (counts.len() * n.max(1)) as f32)
                        .collect(),
                )
            }
            _ => None,
        };
        let batches = BucketedBatches::new(train.lengths(), config.batch, config.seed);
        Ok(SequenceTask {
            config,
            encoding,
            train,
            validation,
            batches,
            class_weights,
            resume: None,
        })
    }

    /// Continues from `checkpoint`, which must fit this task's encoding and model.
    pub fn resuming(mut self, checkpoint: Option<SequenceCheckpoint>) -> Self {
        self.resume = checkpoint;
        self
    }

    /// The encoding.
    pub fn encoding(&self) -> &Encoding {
        &self.encoding
    }

    /// The settings.
    pub fn config(&self) -> &SequenceConfig {
        &self.config
    }
}

impl SequenceTask {
    /// The mean of the losses, each weighed by its class's weight when classes are balanced
    /// (PyTorch's weighted mean: `Σ wᵢ lᵢ / Σ wᵢ`).
    fn weighted_mean<B: Backend>(
        &self,
        losses: Tensor<B, 1>,
        classes: Tensor<B, 1, Int>,
        device: &B::Device,
    ) -> Tensor<B, 1> {
        match &self.class_weights {
            None => losses.mean(),
            Some(weights) => {
                let table = Tensor::<B, 1>::from_data(
                    TensorData::new(weights.clone(), [weights.len()]),
                    device,
                );
                let weights = table.select(0, classes);
                (losses * weights.clone()).sum() / weights.sum()
            }
        }
    }
}

impl<B: TrainingBackend> Task<B> for SequenceTask {
    type Model = SequenceNetwork<B>;
    type Validation = SequenceScores;

    crate::task_checkpoint::checkpointed_task!(SequenceCheckpoint, config, encoding);

    fn loss(
        &mut self,
        model: &Self::Model,
        iteration: u64,
        device: &B::Device,
    ) -> Result<IterationLoss<B>> {
        let indices = self.batches.batch(iteration);
        let batch = batch_tensors::<B>(&self.train, &indices, device);
        let lengths = Some(&batch.lengths[..]);
        let loss = match batch.targets {
            BatchTargets::Classes(classes) => {
                let outputs = model.forward(batch.input, lengths)?;
                self.weighted_mean(row_cross_entropy(outputs, classes.clone()), classes, device)
            }
            BatchTargets::Steps { positions, classes } => {
                let outputs = model.forward_steps(batch.input, lengths)?;
                let [rows, time, width] = outputs.dims();
                // The real steps' logits alone: padding neither counts nor dilutes the mean.
                let logits = outputs.reshape([rows * time, width]).select(0, positions);
                self.weighted_mean(row_cross_entropy(logits, classes.clone()), classes, device)
            }
            BatchTargets::Values(values) => {
                let outputs = model.forward(batch.input, lengths)?;
                (outputs - values).powf_scalar(2.0).mean()
            }
        };
        Ok(IterationLoss::given(loss, batch.steps))
    }

    fn validate(
        &self,
        model: &<Self::Model as AutodiffModule<B>>::InnerModule,
        device: &B::Device,
    ) -> Result<SequenceScores> {
        let outputs = predict(
            model,
            &self.encoding,
            &self.validation.inputs,
            self.config.batch,
            device,
        )?;
        Ok(score(&self.encoding, &self.validation, &outputs))
    }

    fn uninformed_loss(&self) -> Option<f64> {
        Some(match self.encoding.targets {
            TargetEncoding::Classes { ref labels, .. }
            | TargetEncoding::StepLabels { ref labels, .. } => (labels.len() as f64).ln(),
            // Standardised targets have variance 1: the mean squared error of predicting 0.
            TargetEncoding::Standardized { .. } => 1.0,
        })
    }
}

/// The network's output for every input sequence, in order, as `encoding` defines it: one
/// output a sequence, `[sequences][d_output]`, or one at every real step, `[sequences][length ·
/// d_output]` (step-major); logits or standardised values. Runs in batches of `batch` sequences
/// of similar length.
pub fn predict<B: Backend + RecurrenceBackend>(
    model: &SequenceNetwork<B>,
    encoding: &Encoding,
    inputs: &Inputs,
    batch: usize,
    device: &B::Device,
) -> Result<Vec<Vec<f64>>> {
    let mut outputs = vec![Vec::new(); inputs.len()];
    for indices in sorted_batches(&inputs.lengths(), batch) {
        let (input, lengths) = batch_inputs::<B>(inputs, &indices, device);
        // Each row's values, `span` of them: per step, the first `lengths[row] · width` real;
        // one output a sequence, all of them.
        let (values, span, per_step_width) = if encoding.per_step() {
            let steps = model.forward_steps(input, Some(&lengths))?;
            let [_, time, width] = steps.dims();
            (steps.into_data(), time * width, Some(width))
        } else {
            let rows = model.forward(input, Some(&lengths))?;
            let width = rows.dims()[1];
            (rows.into_data(), width, None)
        };
        let values: Vec<f64> = values.iter::<f64>().collect();
        for (row, &i) in indices.iter().enumerate() {
            let real = per_step_width.map_or(span, |width| lengths[row] * width);
            outputs[i] = values[row * span..row * span + real].to_vec();
        }
    }
    Ok(outputs)
}

/// A softmax over logits, in f64.
pub fn probabilities(logits: &[f64]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
    let total: f64 = exps.iter().sum();
    exps.iter().map(|e| e / total).collect()
}

/// The index of the largest value (the first of equals).
pub fn argmax(values: &[f64]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}

/// Scores the network's `outputs` ([`predict`]) against the samples' targets.
pub fn score(encoding: &Encoding, samples: &Samples, outputs: &[Vec<f64>]) -> SequenceScores {
    match (&encoding.targets, &samples.targets) {
        (TargetEncoding::Classes { labels, counts }, Targets::Classes(truth)) => {
            let predicted: Vec<usize> = outputs.iter().map(|o| argmax(o)).collect();
            let cross_entropy = outputs
                .iter()
                .zip(truth)
                .map(|(o, &t)| -probabilities(o)[t].max(f64::MIN_POSITIVE).ln())
                .sum::<f64>()
                / truth.len().max(1) as f64;
            let majority = argmax(&counts.iter().map(|&c| c as f64).collect::<Vec<_>>());
            SequenceScores::Classification(ClassificationScores::new(
                labels,
                truth,
                &predicted,
                cross_entropy,
                majority,
            ))
        }
        (TargetEncoding::StepLabels { labels, counts }, Targets::Steps(truth)) => {
            let width = labels.len();
            let (mut right_sequences, mut cross_entropy) = (0, 0.0);
            let (mut steps_truth, mut steps_predicted) = (Vec::new(), Vec::new());
            for (output, truth) in outputs.iter().zip(truth) {
                let predicted: Vec<usize> = output.chunks(width).map(argmax).collect();
                right_sequences += usize::from(&predicted == truth);
                cross_entropy += output
                    .chunks(width)
                    .zip(truth)
                    .map(|(o, &t)| -probabilities(o)[t].max(f64::MIN_POSITIVE).ln())
                    .sum::<f64>();
                steps_truth.extend_from_slice(truth);
                steps_predicted.extend(predicted);
            }
            let majority = argmax(&counts.iter().map(|&c| c as f64).collect::<Vec<_>>());
            SequenceScores::Labelling(LabellingScores {
                steps: ClassificationScores::new(
                    labels,
                    &steps_truth,
                    &steps_predicted,
                    cross_entropy / steps_truth.len().max(1) as f64,
                    majority,
                ),
                sequence_accuracy: right_sequences as f64 / truth.len().max(1) as f64,
                sequences: truth.len(),
            })
        }
        (TargetEncoding::Standardized { mean, .. }, Targets::Values(truth)) => {
            let truth: Vec<f64> = truth
                .iter()
                .map(|&t| encoding.value(f64::from(t)))
                .collect();
            let predicted: Vec<f64> = outputs.iter().map(|o| encoding.value(o[0])).collect();
            SequenceScores::Regression(RegressionScores::new(&truth, &predicted, *mean))
        }
        _ => unreachable!("samples are encoded by their encoding"),
    }
}

crate::task_checkpoint::checkpoint_kind! {
    /// A sequence model's checkpoint, read and verified.
    SequenceCheckpoint = SequenceFiles {
        config: SequenceConfig, encoding: Encoding, file: "encoding.json",
        scores: SequenceScores, model: SequenceNetwork, what: "a sequence model's checkpoint",
        fixed: [symbols, optimizer, seed, min_symbol_count, per_step],
    }

    fn other_data(saved: &Encoding, encoding: &Encoding) -> Option<String> {
        (saved != encoding)
            .then(|| "it was trained on data with other symbols or labels than these".to_string())
    }

    fn init<B: Backend>(
        config: &SequenceConfig,
        encoding: &Encoding,
        device: &B::Device,
    ) -> Result<SequenceNetwork<B>> {
        config.network(encoding, device)
    }
}
