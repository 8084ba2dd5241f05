//! Batches of sequences bucketed by length, so that a batch pads little: each epoch shuffles the
//! samples, sorts pools of a few dozen batches by length, cuts them into batches and shuffles the
//! batches (torchtext's `BucketIterator`). Iteration `i`'s batch depends on nothing but the seed
//! and `i`, so a resumed run draws what an uninterrupted one would. Every task of sequences of
//! different lengths draws its batches here.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

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
