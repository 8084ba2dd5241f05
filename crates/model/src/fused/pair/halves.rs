//! Two pieces of work at once, each in a thread pool of its own holding half of rayon's threads:
//! inside, a kernel sees its pool's threads as all there are (one each on 2 cores), so it runs
//! its rows and products there without reaching into the other half.

use std::sync::OnceLock;

use burn::tensor::ops::FloatTensor;
use burn::tensor::{Shape, TensorMetadata};
use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::fused::host::math::Real;
use crate::fused::host::{HostBackend, write};

/// The two pools, built at the first pair from the global pool's size; `None` where there is
/// one thread (or a pool could not be built): the pieces then run one after the other.
fn pools() -> Option<&'static [ThreadPool; 2]> {
    static POOLS: OnceLock<Option<[ThreadPool; 2]>> = OnceLock::new();
    POOLS
        .get_or_init(|| {
            let threads = rayon::current_num_threads();
            if threads < 2 {
                return None;
            }
            let pool = |size: usize, name: &'static str| {
                ThreadPoolBuilder::new()
                    .num_threads(size)
                    .thread_name(move |k| format!("unroll-{name}-{k}"))
                    .build()
                    .ok()
            };
            Some([
                pool(threads / 2, "ahead")?,
                pool(threads - threads / 2, "behind")?,
            ])
        })
        .as_ref()
}

/// Runs `ahead` and `behind` at once, each on its half of the threads; both results.
pub(super) fn at_once<A: Send, C: Send>(
    ahead: impl FnOnce() -> A + Send,
    behind: impl FnOnce() -> C + Send,
) -> (A, C) {
    let Some([first, second]) = pools() else {
        return (ahead(), behind());
    };
    std::thread::scope(|scope| {
        let behind = scope.spawn(|| second.install(behind));
        let ahead = first.install(ahead);
        let behind = behind
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (ahead, behind)
    })
}

/// `[2, ...]`: `ahead` and `behind` (of one shape) stacked, each half copied by its own half of
/// the threads.
pub(super) fn stacked<B: HostBackend, E: Real>(
    ahead: &FloatTensor<B>,
    behind: &FloatTensor<B>,
) -> FloatTensor<B> {
    let shape = ahead.shape();
    assert_eq!(shape, behind.shape(), "a pair's outputs have one shape");
    let count = shape.num_elements();
    let mut both: Vec<E> = Vec::with_capacity(2 * count);
    let (first, second) = both.spare_capacity_mut()[..2 * count].split_at_mut(count);
    let copy = |out: &mut [std::mem::MaybeUninit<E>], tensor: &FloatTensor<B>| {
        for (out, &value) in out.iter_mut().zip(B::view::<E>(tensor).iter()) {
            out.write(value);
        }
    };
    at_once(|| copy(first, ahead), || copy(second, behind));
    // SAFETY: both halves, `2 · count` elements, were written just above (each view holds
    // `count` values: the shapes were checked).
    unsafe { both.set_len(2 * count) };
    let dims: Shape = std::iter::once(2).chain(shape.to_vec()).collect();
    write::<B, E>(both, dims, &B::float_device(ahead))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each piece sees half of the threads, and both run (results in their order).
    #[test]
    fn each_piece_sees_its_half() {
        let threads = rayon::current_num_threads();
        let (a, b) = at_once(rayon::current_num_threads, rayon::current_num_threads);
        if threads < 2 {
            assert_eq!((a, b), (threads, threads));
        } else {
            assert_eq!((a, b), (threads / 2, threads - threads / 2));
        }
        assert_eq!(at_once(|| "ahead", || 2), ("ahead", 2));
    }
}
