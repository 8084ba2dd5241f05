//! Sequence to sequence as a task of the shared loop: batches of pairs of similar source length,
//! the decoder fed by the run's strategy (the rollout from the encoder's summary writes its own
//! symbols), the loss per target symbol; validated teacher forced and open loop. Its checkpoint
//! is every task's ([`TaskCheckpoint`](crate::task_checkpoint::TaskCheckpoint)) with the two
//! vocabularies in `vocabularies.json`.

use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use unroll_model::{EncoderDecoder, RecurrenceBackend, SequenceInput};

use super::config::Seq2SeqConfig;
use super::decode::{greedy, padded};
use super::encoding::{EncodedPairs, PairEncoding};
use super::scores::{OpenLoopCounts, PairOutcomes, Seq2SeqScores};
use crate::buckets::{BucketedBatches, sorted_batches};
use crate::error::{Result, invalid};
use crate::feeding::FeedingStreams;
use crate::trainer::{IterationLoss, Task, TrainingBackend};

/// Training an [`EncoderDecoder`] on encoded pairs.
pub struct Seq2SeqTask {
    config: Seq2SeqConfig,
    encoding: PairEncoding,
    train: EncodedPairs,
    validation: EncodedPairs,
    batches: BucketedBatches,
    resume: Option<Seq2SeqCheckpoint>,
}

impl Seq2SeqTask {
    /// A task training on `train`, validating on `validation`, both encoded by `encoding`;
    /// an error if a setting is out of range, a part is empty, or a target is longer than
    /// `max_target_length`.
    pub fn new(
        config: Seq2SeqConfig,
        encoding: PairEncoding,
        train: EncodedPairs,
        validation: EncodedPairs,
    ) -> Result<Self> {
        config.validate()?;
        if train.is_empty() || validation.is_empty() {
            return Err(invalid(
                "data",
                "training and validation each need at least one pair",
            ));
        }
        // Every target holds `end` after its symbols.
        let longest = (train.targets.iter().chain(&validation.targets))
            .map(|t| t.len() - 1)
            .max()
            .unwrap_or(0);
        if longest > config.max_target_length {
            return Err(invalid(
                "max_target_length",
                format!(
                    "a target has {longest} symbols, more than {}",
                    config.max_target_length
                ),
            ));
        }
        let batches = training_batches(&train, &config);
        Ok(Seq2SeqTask {
            config,
            encoding,
            train,
            validation,
            batches,
            resume: None,
        })
    }

    /// Continues from `checkpoint`, which must fit this task's vocabularies and settings.
    pub fn resuming(mut self, checkpoint: Option<Seq2SeqCheckpoint>) -> Self {
        self.resume = checkpoint;
        self
    }

    /// The vocabularies.
    pub fn encoding(&self) -> &PairEncoding {
        &self.encoding
    }

    /// The settings.
    pub fn config(&self) -> &Seq2SeqConfig {
        &self.config
    }
}

/// A batch of pairs as the network reads it.
pub struct PairBatch<B: Backend> {
    /// Sources, `[batch, longest source]`, padded.
    pub source: Tensor<B, 2, Int>,
    /// Each source's length.
    pub source_lengths: Vec<usize>,
    /// `start` then each target but its last symbol, `[batch, longest target + 1]`, padded.
    pub previous: Tensor<B, 2, Int>,
    /// Each target's symbols and `end`, padded as `previous`.
    pub targets: Tensor<B, 2, Int>,
    /// Each target's steps, `end` included.
    pub target_lengths: Vec<usize>,
    /// The target steps of the batch, `end` included.
    pub steps: usize,
}

/// The pairs `indices` of `pairs` as one batch.
pub fn pair_batch<B: RecurrenceBackend>(
    pairs: &EncodedPairs,
    indices: &[usize],
    start: u32,
    device: &B::Device,
) -> PairBatch<B> {
    let sources: Vec<&[u32]> = indices
        .iter()
        .map(|&i| pairs.sources[i].as_slice())
        .collect();
    let (source, source_lengths) = padded::<B>(&sources, device);
    let targets: Vec<&[u32]> = indices
        .iter()
        .map(|&i| pairs.targets[i].as_slice())
        .collect();
    let target_lengths: Vec<usize> = targets.iter().map(|t| t.len()).collect();
    let steps = target_lengths.iter().copied().max().unwrap_or(1);
    let mut previous = Vec::with_capacity(targets.len() * steps);
    let mut next = Vec::with_capacity(targets.len() * steps);
    for target in &targets {
        for t in 0..steps {
            let fed = if t == 0 {
                Some(&start)
            } else {
                target.get(t - 1)
            };
            previous.push(fed.map_or(0, |&id| i64::from(id)));
            next.push(target.get(t).map_or(0, |&id| i64::from(id)));
        }
    }
    let shape = [targets.len(), steps];
    PairBatch {
        source,
        previous: Tensor::from_data(TensorData::new(previous, shape), device),
        targets: Tensor::from_data(TensorData::new(next, shape), device),
        steps: target_lengths.iter().sum(),
        source_lengths,
        target_lengths,
    }
}

impl<B: TrainingBackend> Task<B> for Seq2SeqTask {
    type Model = EncoderDecoder<B>;
    type Validation = Seq2SeqScores;

    crate::task_checkpoint::checkpointed_task!(Seq2SeqCheckpoint, config, encoding);

    fn loss(
        &mut self,
        model: &Self::Model,
        iteration: u64,
        device: &B::Device,
    ) -> Result<IterationLoss<B>> {
        let indices = self.batches.batch(iteration);
        let batch = pair_batch::<B>(&self.train, &indices, self.encoding.start(), device);
        let feeding = self.config.strategy.feeding(iteration);
        let seed = self.config.seed;
        let streams = FeedingStreams { seed, iteration };
        let plan = feeding.plan_within(batch.previous.dims(), &batch.target_lengths, streams)?;
        // Encoded once: the rollout starts from the summary cut from the graph (no gradient flows
        // through a fed symbol), and the loss reads it whole.
        let summary = model.encode(
            SequenceInput::Tokens(batch.source),
            Some(&batch.source_lengths),
        )?;
        let previous = if plan.is_teacher_forcing() {
            batch.previous
        } else {
            model.fed_symbols(batch.previous, summary.clone(), &plan)?
        };
        let losses = model.decode_loss(
            summary,
            previous,
            batch.targets,
            Some(&batch.target_lengths),
        )?;
        Ok(IterationLoss::fed(
            losses.sum().div_scalar(batch.steps as f64),
            batch.steps,
            &feeding,
        ))
    }

    fn validate(
        &self,
        model: &<Self::Model as AutodiffModule<B>>::InnerModule,
        device: &B::Device,
    ) -> Result<Seq2SeqScores> {
        score(
            model,
            &self.encoding,
            &self.validation,
            (self.config.batch, self.config.open_loop_pairs),
            self.config.max_target_length,
            device,
        )
    }

    fn uninformed_loss(&self) -> Option<f64> {
        Some((self.encoding.target_symbols() as f64).ln())
    }
}

/// The batches a run of `config` draws from `train`: pairs of similar source length, seeded by
/// the run's seed (iteration `i`'s batch is `batch(i)`, whatever came before).
pub fn training_batches(train: &EncodedPairs, config: &Seq2SeqConfig) -> BucketedBatches {
    let lengths = train.sources.iter().map(Vec::len).collect();
    BucketedBatches::new(lengths, config.batch, config.seed)
}

/// Scores `pairs`: every pair teacher forced, in batches of `sizes.0`; the first `sizes.1`
/// decoded open loop (greedy, at most `max_length` symbols).
pub fn score<B: RecurrenceBackend>(
    model: &EncoderDecoder<B>,
    encoding: &PairEncoding,
    pairs: &EncodedPairs,
    sizes: (usize, usize),
    max_length: usize,
    device: &B::Device,
) -> Result<Seq2SeqScores> {
    Ok(score_and_write(model, encoding, pairs, sizes, max_length, device)?.0)
}

/// [`score`], and what it found of each pair ([`PairOutcomes`]: for scores by target length).
pub fn score_and_write<B: RecurrenceBackend>(
    model: &EncoderDecoder<B>,
    encoding: &PairEncoding,
    pairs: &EncodedPairs,
    (batch, open_loop_pairs): (usize, usize),
    max_length: usize,
    device: &B::Device,
) -> Result<(Seq2SeqScores, PairOutcomes)> {
    let (mut nats, mut right, mut steps) = (0.0, 0usize, 0usize);
    let mut teacher_forced_errors = vec![0; pairs.len()];
    let lengths: Vec<usize> = pairs.sources.iter().map(Vec::len).collect();
    for indices in sorted_batches(&lengths, batch) {
        let batch = pair_batch::<B>(pairs, &indices, encoding.start(), device);
        let out = model.forward(
            SequenceInput::Tokens(batch.source),
            Some(&batch.source_lengths),
            batch.previous,
        )?;
        let [_, time, width] = out.logits.dims();
        let logits: Vec<f64> = out.logits.into_data().iter::<f64>().collect();
        for (row, &i) in indices.iter().enumerate() {
            for (t, &target) in pairs.targets[i].iter().enumerate() {
                let o = &logits[(row * time + t) * width..(row * time + t + 1) * width];
                let max = o.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let log_sum = o.iter().map(|v| (v - max).exp()).sum::<f64>().ln() + max;
                nats += log_sum - o[target as usize];
                let best = (0..width)
                    .max_by(|&a, &b| o[a].total_cmp(&o[b]))
                    .unwrap_or(0);
                right += usize::from(best == target as usize);
                teacher_forced_errors[i] += usize::from(best != target as usize);
                steps += 1;
            }
        }
    }
    let decoded = open_loop_pairs.min(pairs.len());
    let written = greedy(
        model,
        encoding,
        &pairs.sources[..decoded],
        max_length,
        batch,
        device,
    )?;
    let mut counts = OpenLoopCounts::default();
    for (written, truth) in written.iter().zip(&pairs.targets) {
        counts.add(written, &truth[..truth.len() - 1]);
    }
    let (exact_match, character_error_rate) = counts.rates();
    let scores = Seq2SeqScores {
        nats_per_symbol: nats / steps.max(1) as f64,
        symbol_accuracy: right as f64 / steps.max(1) as f64,
        exact_match,
        character_error_rate,
        pairs: pairs.len(),
        decoded,
    };
    let outcomes = PairOutcomes {
        teacher_forced_errors,
        written,
    };
    Ok((scores, outcomes))
}

crate::task_checkpoint::checkpoint_kind! {
    /// A sequence-to-sequence model's checkpoint, read and verified; its `encoding` is the two
    /// vocabularies.
    Seq2SeqCheckpoint = Seq2SeqFiles {
        config: Seq2SeqConfig, encoding: PairEncoding, file: "vocabularies.json",
        scores: Seq2SeqScores, model: EncoderDecoder,
        what: "a sequence-to-sequence model's checkpoint",
        fixed: [min_symbol_count, summary_input, optimizer, seed],
    }

    fn other_data(saved: &PairEncoding, encoding: &PairEncoding) -> Option<String> {
        (saved != encoding)
            .then(|| "it was trained on pairs with other characters than these".to_string())
    }

    fn init<B: Backend>(
        config: &Seq2SeqConfig,
        encoding: &PairEncoding,
        device: &B::Device,
    ) -> Result<EncoderDecoder<B>> {
        Ok(config.network(encoding).try_init(device)?)
    }
}
