//! Training windows drawn from the corpus, each iteration's a pure function of (seed, iteration),
//! so a resumed run draws exactly what an uninterrupted one would.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Result, TrainingError};
use crate::language::config::Batching;
use crate::seeds::iteration_seed;

/// One batch of windows: `inputs[b][t]` is the symbol before `targets[b][t]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// `[batch × window]` symbol ids, row-major.
    pub inputs: Vec<i64>,
    /// `[batch × window]` symbol ids, row-major.
    pub targets: Vec<i64>,
    /// Whether these windows do not continue the previous iteration's (the state must restart).
    pub restart: bool,
}

/// Draws training windows from a sequence of symbol ids.
#[derive(Debug, Clone)]
pub struct WindowSource<'a> {
    ids: &'a [u32],
    window: usize,
    batch: usize,
    batching: Batching,
    seed: u64,
}

impl<'a> WindowSource<'a> {
    /// Checks that the symbols hold at least one window per sequence of the batch.
    pub fn new(
        ids: &'a [u32],
        window: usize,
        batch: usize,
        batching: Batching,
        seed: u64,
    ) -> Result<Self> {
        let (needed, why) = match batching {
            Batching::RandomWindows => (
                window.saturating_add(1),
                format!("one window of {window} plus its target"),
            ),
            Batching::ContiguousStreams => (
                batch.saturating_mul(window.saturating_add(1)),
                format!("{batch} streams of at least one window of {window} plus its target"),
            ),
        };
        if ids.len() < needed {
            return Err(TrainingError::CorpusTooShort {
                needed,
                why,
                actual: ids.len(),
            });
        }
        Ok(WindowSource {
            ids,
            window,
            batch,
            batching,
            seed,
        })
    }

    /// The windows of iteration `iteration`.
    pub fn batch(&self, iteration: u64) -> Batch {
        let (window, batch) = (self.window, self.batch);
        let (starts, restart): (Vec<usize>, bool) = match self.batching {
            Batching::RandomWindows => {
                let mut rng = ChaCha8Rng::seed_from_u64(iteration_seed(self.seed, iteration, 1));
                let last = self.ids.len() - window - 1;
                (
                    (0..batch).map(|_| rng.random_range(0..=last)).collect(),
                    true,
                )
            }
            Batching::ContiguousStreams => {
                let stream = self.ids.len() / batch;
                let per_stream = ((stream - 1) / window) as u64;
                let k = (iteration % per_stream) as usize;
                (
                    (0..batch).map(|b| b * stream + k * window).collect(),
                    k == 0,
                )
            }
        };
        let mut inputs = Vec::with_capacity(batch * window);
        let mut targets = Vec::with_capacity(batch * window);
        for start in starts {
            inputs.extend(
                self.ids[start..start + window]
                    .iter()
                    .map(|&id| i64::from(id)),
            );
            targets.extend(
                self.ids[start + 1..start + window + 1]
                    .iter()
                    .map(|&id| i64::from(id)),
            );
        }
        Batch {
            inputs,
            targets,
            restart,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_shifted_targets_and_reproducible() {
        let ids: Vec<u32> = (0..1000).collect();
        let source = WindowSource::new(&ids, 10, 4, Batching::RandomWindows, 3).unwrap();
        let a = source.batch(17);
        assert_eq!(a, source.batch(17), "a pure function of (seed, iteration)");
        assert_ne!(a.inputs, source.batch(18).inputs);
        for (x, y) in a.inputs.iter().zip(&a.targets) {
            assert_eq!(x + 1, *y);
        }
        for row in a.inputs.chunks(10) {
            assert!(
                row.windows(2).all(|w| w[1] == w[0] + 1),
                "contiguous window"
            );
        }
        let other = WindowSource::new(&ids, 10, 4, Batching::RandomWindows, 4).unwrap();
        assert_ne!(a.inputs, other.batch(17).inputs, "the seed matters");
    }

    #[test]
    fn streams_continue_window_after_window() {
        let ids: Vec<u32> = (0..100).collect();
        // 4 streams of 25 symbols: 2 windows of 10 per stream, then back to the start.
        let source = WindowSource::new(&ids, 10, 4, Batching::ContiguousStreams, 0).unwrap();
        let first = source.batch(0);
        let second = source.batch(1);
        assert!(first.restart && !second.restart);
        assert_eq!(&first.inputs[..3], &[0, 1, 2]);
        assert_eq!(&first.inputs[10..13], &[25, 26, 27]);
        assert_eq!(second.inputs[0], 10, "stream 0 continues where it stopped");
        assert_eq!(second.inputs[10], 35);
        assert_eq!(source.batch(2), first);
    }

    #[test]
    fn too_short_corpora_are_rejected() {
        let ids: Vec<u32> = (0..10).collect();
        assert!(matches!(
            WindowSource::new(&ids, 10, 1, Batching::RandomWindows, 0),
            Err(TrainingError::CorpusTooShort { needed: 11, .. })
        ));
        assert!(WindowSource::new(&ids, 9, 1, Batching::RandomWindows, 0).is_ok());
        assert!(WindowSource::new(&ids, 4, 2, Batching::ContiguousStreams, 0).is_ok());
        assert!(WindowSource::new(&ids, 4, 3, Batching::ContiguousStreams, 0).is_err());
    }
}
