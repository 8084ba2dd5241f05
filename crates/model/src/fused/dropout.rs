//! Dropout's mask: each value kept with probability `keep` and scaled by `1/keep`, else zero,
//! drawn from the backend's seeded generator.
//!
//! Burn's `Dropout` draws a Bernoulli tensor one value at a time from the backend's generator on
//! the calling thread, then multiplies twice (by the mask, then by `1/keep`), each a graph node:
//! about 5 % of the samples of a 2-layer LSTM step with dropout 0.25 under `perf`, while the
//! other core waited. The host kernel takes one seed from the backend's generator (so a seeded
//! run draws the same masks) and fills the mask in blocks on every core, each block from a
//! generator seeded by the seed and its index (so the mask does not depend on which core took
//! which block); `recurrence::layer_inputs::dropout` applies it by one product.

use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Distribution, Shape, Tensor};

use super::primitive;

/// The mask on Burn's operations (what the GPU backends run): Bernoulli values scaled by
/// `1/keep`, `shape`.
pub fn generic<B: Backend>(shape: Shape, keep: f64, device: &B::Device) -> FloatTensor<B> {
    let mask = Tensor::<B, 1>::random(
        [shape.num_elements()],
        Distribution::Bernoulli(keep),
        device,
    );
    B::float_reshape(primitive(mask.mul_scalar(1.0 / keep)), shape)
}

/// The mask by the host kernel: one seed from the backend's generator, the values drawn on
/// every core.
#[cfg(host_kernels)]
pub(crate) fn host<B: Backend>(shape: Shape, keep: f64, device: &B::Device) -> FloatTensor<B> {
    use burn::tensor::{Int, TensorData};

    // Two draws of 31 bits from the backend's generator: a seeded run draws the same seed.
    let draws = Tensor::<B, 1, Int>::random([2], Distribution::Uniform(0.0, 2147483647.0), device)
        .into_data()
        .convert::<i64>()
        .into_vec::<i64>()
        .expect("integers");
    let seed = ((draws[0] as u64) << 31) ^ draws[1] as u64;
    let values = kernel(shape.num_elements(), keep, seed);
    B::float_from_data(TensorData::new(values, shape), device)
}

/// Values a block holds: a core's share is many blocks, each with a generator of its own.
#[cfg(host_kernels)]
const BLOCK: usize = 1 << 14;

/// `count` mask values from `seed`: `1/keep` where a 32-bit draw falls under `keep · 2³²`, else
/// zero; block `b` drawn from a generator seeded by `seed` and `b`.
#[cfg(host_kernels)]
fn kernel(count: usize, keep: f64, seed: u64) -> Vec<f32> {
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};
    use rayon::prelude::*;
    let scale = (1.0 / keep) as f32;
    // Below 2³², so `keep = 1` keeps every value.
    let threshold = (keep * 4294967296.0) as u64;
    let mut values = vec![0f32; count];
    values
        .par_chunks_mut(BLOCK)
        .enumerate()
        .for_each(|(block, values)| {
            let mut generator =
                SmallRng::seed_from_u64(seed ^ (block as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            for value in values {
                if u64::from(generator.random::<u32>()) < threshold {
                    *value = scale;
                }
            }
        });
    values
}

#[cfg(test)]
#[cfg(feature = "ndarray")]
pub(crate) mod tests {
    use burn::backend::NdArray;

    use super::*;
    use crate::fused::{RecurrenceBackend, float};

    /// Every value is `0` or `1/keep`, and the share kept is within five standard deviations of
    /// `keep`.
    pub(crate) fn assert_mask(values: &[f32], keep: f64) {
        let scale = (1.0 / keep) as f32;
        assert!(
            values.iter().all(|&v| v == 0.0 || v == scale),
            "values 0 or 1/keep"
        );
        let kept = values.iter().filter(|&&v| v == scale).count() as f64;
        let count = values.len() as f64;
        let spread = (count * keep * (1.0 - keep)).sqrt();
        assert!(
            (kept - count * keep).abs() <= 5.0 * spread.max(1.0),
            "kept {kept} of {count} at keep {keep}"
        );
    }

    #[test]
    fn the_host_mask_keeps_its_share_and_depends_on_the_seed_alone() {
        for keep in [0.75, 0.5, 0.1] {
            assert_mask(&kernel(3 * BLOCK + 17, keep, 5), keep);
        }
        assert!(
            kernel(1000, 1.0, 5).iter().all(|&v| v == 1.0),
            "keep 1 keeps all"
        );
        let mask = kernel(3 * BLOCK + 17, 0.5, 5);
        assert_eq!(mask, kernel(3 * BLOCK + 17, 0.5, 5), "the same seed");
        assert_ne!(mask, kernel(3 * BLOCK + 17, 0.5, 6), "another seed");
        // Each block draws its own values (a generator seeded by the seed alone repeats them).
        assert_ne!(mask[..BLOCK], mask[BLOCK..2 * BLOCK], "blocks of their own");
        // The same on one core: which core takes which block does not matter.
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("a thread pool");
        assert_eq!(mask, one.install(|| kernel(3 * BLOCK + 17, 0.5, 5)));
    }

    #[test]
    fn both_passes_draw_masks_of_the_share_and_a_seed_repeats_them() {
        let shape = Shape::new([40, 30, 20]);
        let values = |mask: FloatTensor<NdArray>| {
            float::<NdArray, 3>(mask)
                .into_data()
                .convert::<f32>()
                .to_vec::<f32>()
                .unwrap()
        };
        let device = Default::default();
        assert_mask(
            &values(generic::<NdArray>(shape.clone(), 0.75, &device)),
            0.75,
        );
        <NdArray as Backend>::seed(&device, 3);
        let first = values(<NdArray as RecurrenceBackend>::dropout_mask(
            shape.clone(),
            0.75,
            &device,
        ));
        assert_mask(&first, 0.75);
        let second = values(<NdArray as RecurrenceBackend>::dropout_mask(
            shape.clone(),
            0.75,
            &device,
        ));
        assert_ne!(first, second, "each call a mask of its own");
        <NdArray as Backend>::seed(&device, 3);
        assert_eq!(
            first,
            values(<NdArray as RecurrenceBackend>::dropout_mask(
                shape, 0.75, &device
            ))
        );
    }
}
