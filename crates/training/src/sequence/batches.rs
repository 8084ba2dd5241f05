//! Batches of sequences bucketed by length, so that a batch pads little: each epoch shuffles the
//! samples, sorts pools of a few dozen batches by length, cuts them into batches and shuffles the
//! batches (torchtext's `BucketIterator`). Iteration `i`'s batch depends on nothing but the seed
//! and `i`, so a resumed run draws what an uninterrupted one would.

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use unroll_model::SequenceInput;

use super::encoding::{Inputs, Samples, Targets};
use crate::seeds::iteration_seed;

/// Batches per pool sorted by length: enough that neighbours in length share a batch, few
/// enough that batches still mix the data.
const BATCHES_PER_POOL: usize = 50;

/// Draws iteration `i`'s batch of sample indices.
#[derive(Debug, Clone)]
pub struct BucketedBatches {
    lengths: Vec<usize>,
    batch: usize,
    seed: u64,
    /// The batches of the epoch last asked for.
    epoch: Option<(u64, Vec<Vec<usize>>)>,
}

impl BucketedBatches {
    /// Batches of `batch` samples (the last of an epoch may be smaller) of sequences of
    /// `lengths`, seeded by `seed`.
    pub fn new(lengths: Vec<usize>, batch: usize, seed: u64) -> Self {
        BucketedBatches {
            lengths,
            batch: batch.max(1),
            seed,
            epoch: None,
        }
    }

    /// Batches in one pass over the data.
    pub fn per_epoch(&self) -> u64 {
        self.lengths.len().div_ceil(self.batch) as u64
    }

    /// The sample indices of iteration `iteration`'s batch, longest first.
    pub fn batch(&mut self, iteration: u64) -> Vec<usize> {
        let per_epoch = self.per_epoch().max(1);
        let (epoch, position) = (iteration / per_epoch, iteration % per_epoch);
        if self.epoch.as_ref().is_none_or(|(e, _)| *e != epoch) {
            self.epoch = Some((epoch, self.epoch_batches(epoch)));
        }
        let (_, batches) = self.epoch.as_ref().expect("just set");
        batches[position as usize].clone()
    }

    fn epoch_batches(&self, epoch: u64) -> Vec<Vec<usize>> {
        let mut random = ChaCha8Rng::seed_from_u64(iteration_seed(self.seed, epoch, 7));
        let mut order: Vec<usize> = (0..self.lengths.len()).collect();
        order.shuffle(&mut random);
        let mut batches = Vec::with_capacity(self.per_epoch() as usize);
        for pool in order.chunks_mut(self.batch * BATCHES_PER_POOL) {
            pool.sort_by_key(|&i| std::cmp::Reverse(self.lengths[i]));
            batches.extend(pool.chunks(self.batch).map(<[usize]>::to_vec));
        }
        batches.shuffle(&mut random);
        batches
    }
}

/// Indices of all samples in batches of `batch`, each batch's sequences of similar length
/// (sorted longest first): for validation and prediction, where order does not matter.
pub fn sorted_batches(lengths: &[usize], batch: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
    order.chunks(batch.max(1)).map(<[usize]>::to_vec).collect()
}

/// A batch as the network reads it.
pub struct BatchTensors<B: Backend> {
    /// `[batch, time]` ids or `[batch, time, 1]` values, padded with zeros to the longest.
    pub input: SequenceInput<B>,
    /// Each sequence's length.
    pub lengths: Vec<usize>,
    /// The targets: class ids `[batch]` or standardised values `[batch, 1]`.
    pub targets: BatchTargets<B>,
    /// Real (unpadded) steps in the batch.
    pub steps: usize,
}

/// A batch's targets.
pub enum BatchTargets<B: Backend> {
    /// Class ids, `[batch]`.
    Classes(Tensor<B, 1, Int>),
    /// Standardised values, `[batch, 1]`.
    Values(Tensor<B, 2>),
}

/// The tensors of the samples `indices`, padded to the longest.
pub fn batch_tensors<B: Backend>(
    samples: &Samples,
    indices: &[usize],
    device: &B::Device,
) -> BatchTensors<B> {
    let (input, lengths) = batch_inputs(&samples.inputs, indices, device);
    let batch = indices.len();
    let targets = match &samples.targets {
        Targets::Classes(classes) => {
            let ids: Vec<i64> = indices.iter().map(|&i| classes[i] as i64).collect();
            BatchTargets::Classes(Tensor::from_data(TensorData::new(ids, [batch]), device))
        }
        Targets::Values(values) => {
            let picked: Vec<f32> = indices.iter().map(|&i| values[i]).collect();
            BatchTargets::Values(Tensor::from_data(
                TensorData::new(picked, [batch, 1]),
                device,
            ))
        }
    };
    BatchTensors {
        input,
        steps: lengths.iter().sum(),
        lengths,
        targets,
    }
}

/// The input sequences `indices`, padded with zeros to the longest, and their lengths.
pub fn batch_inputs<B: Backend>(
    inputs: &Inputs,
    indices: &[usize],
    device: &B::Device,
) -> (SequenceInput<B>, Vec<usize>) {
    let lengths: Vec<usize> = match inputs {
        Inputs::Symbols(sequences) => indices.iter().map(|&i| sequences[i].len()).collect(),
        Inputs::Values(sequences) => indices.iter().map(|&i| sequences[i].len()).collect(),
    };
    let (batch, time) = (indices.len(), lengths.iter().copied().max().unwrap_or(1));
    let input = match inputs {
        Inputs::Symbols(sequences) => {
            let mut ids = vec![0i64; batch * time];
            for (row, &i) in indices.iter().enumerate() {
                for (t, &id) in sequences[i].iter().enumerate() {
                    ids[row * time + t] = i64::from(id);
                }
            }
            SequenceInput::Tokens(Tensor::from_data(
                TensorData::new(ids, [batch, time]),
                device,
            ))
        }
        Inputs::Values(sequences) => {
            let mut values = vec![0f32; batch * time];
            for (row, &i) in indices.iter().enumerate() {
                values[row * time..row * time + sequences[i].len()].copy_from_slice(&sequences[i]);
            }
            SequenceInput::Dense(Tensor::from_data(
                TensorData::new(values, [batch, time, 1]),
                device,
            ))
        }
    };
    (input, lengths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epoch_visits_every_sample_once_in_batches_of_similar_length() {
        let lengths: Vec<usize> = (0..1000).map(|i| 20 + (i * 37) % 181).collect();
        let mut batches = BucketedBatches::new(lengths.clone(), 64, 5);
        assert_eq!(batches.per_epoch(), 16);
        let mut seen: Vec<usize> = (0..16).flat_map(|i| batches.batch(i)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..1000).collect::<Vec<_>>());
        // Padding: real steps over padded steps, against batches drawn without bucketing.
        let efficiency = |batches: &[Vec<usize>]| {
            let real: usize = batches.iter().flatten().map(|&i| lengths[i]).sum();
            let padded: usize = batches
                .iter()
                .map(|b| b.len() * b.iter().map(|&i| lengths[i]).max().unwrap())
                .sum();
            real as f64 / padded as f64
        };
        let bucketed: Vec<Vec<usize>> = (0..16).map(|i| batches.batch(i)).collect();
        let plain: Vec<Vec<usize>> = (0..1000)
            .collect::<Vec<_>>()
            .chunks(64)
            .map(<[usize]>::to_vec)
            .collect();
        assert!(efficiency(&bucketed) > 0.9, "{}", efficiency(&bucketed));
        assert!(efficiency(&plain) < 0.7, "{}", efficiency(&plain));
        for batch in &bucketed {
            assert!(
                batch.windows(2).all(|w| lengths[w[0]] >= lengths[w[1]]),
                "longest first"
            );
        }
        // A fresh drawer (a resumed run) draws the same batch; the next epoch another order.
        let mut again = BucketedBatches::new(lengths, 64, 5);
        assert_eq!(again.batch(9), batches.batch(9));
        assert_ne!(batches.batch(16), batches.batch(0));
    }
}
