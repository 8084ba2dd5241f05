//! The LSTM kernels' other way to share a step between cores: by hidden units instead of batch
//! rows. Each thread owns a block of hidden units, all four gates of them, so its share of a
//! step's product is `[gates · units, H] · [H, batch]`: every row of the batch as the product's
//! narrow side and a slice of `W_hh` that stays in the core's cache. The threads meet once a step,
//! when every unit's `h(t)` is written and the next product may read it.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::fused::pool::drives_kernels;

/// The fewest hidden units a thread owns. Measured on 2 cores (LSTM, batch 64, 100 steps, medians
/// of 15 calls): at H 512 the split by units takes 10 % off the forward and backward passes
/// (137 → 123 ms, 161 → 145 ms); at H 256 the two splits tie, the products' gain eaten by the
/// barrier and the extra transposes.
const MIN_UNITS_PER_THREAD: usize = 256;

/// How many threads share a recurrence of `hidden` units by units: every thread of rayon's pool
/// (idle while a kernel runs, they would otherwise spin on the cores the kernel needs), or 1 (the
/// split by rows then applies) when the units are too few for each to own enough, or when the
/// caller is one of the pool's threads other than a program's own ([`drives_kernels`]).
pub(crate) fn unit_threads(hidden: usize) -> usize {
    let threads = rayon::current_num_threads();
    if !drives_kernels() || hidden / MIN_UNITS_PER_THREAD < threads {
        return 1;
    }
    threads
}

/// The units thread `k` of `threads` owns, `[start, end)`.
pub(crate) fn units_of(k: usize, threads: usize, hidden: usize) -> Range<usize> {
    k * hidden / threads..(k + 1) * hidden / threads
}

/// Runs `work(k)` for `k` in `0..threads` at once: on every thread of rayon's pool when they
/// are as many (the threads wait for each other every step, so each must have a core) and the
/// caller drives the kernels ([`drives_kernels`]: the pool's other threads are idle), on scoped
/// threads of their own otherwise (the tests' other splits).
pub(crate) fn on_threads(threads: usize, work: impl Fn(usize) + Sync) {
    if threads == rayon::current_num_threads() && drives_kernels() {
        rayon::broadcast(|context| work(context.index()));
        return;
    }
    std::thread::scope(|scope| {
        let work = &work;
        for k in 1..threads {
            scope.spawn(move || work(k));
        }
        work(0);
    });
}

/// Runs `work(units, barrier)` on `threads` threads at once ([`on_threads`]), each owning its
/// block of the `hidden` units ([`units_of`]) and meeting the others at `barrier`; a thread that
/// panics releases the others ([`SpinBarrier::guard`]).
pub(crate) fn by_units(
    threads: usize,
    hidden: usize,
    work: impl Fn(Range<usize>, &SpinBarrier) + Sync,
) {
    let barrier = SpinBarrier::new(threads);
    on_threads(threads, |k| {
        let _guard = barrier.guard();
        work(units_of(k, threads, hidden), &barrier);
    });
}

/// A barrier the threads of one kernel call spin on. A step takes a fraction of a millisecond,
/// and a sleeping barrier's wake-up (tens of microseconds) would cost a tenth of it; after a
/// while of spinning a waiting thread yields, in case the threads outnumber free cores.
pub(crate) struct SpinBarrier {
    threads: usize,
    arrived: AtomicUsize,
    generation: AtomicUsize,
    /// Set when a thread panics: the others would wait for it forever.
    poisoned: AtomicBool,
}

/// Poisons its barrier if dropped while its thread panics.
pub(crate) struct PanicGuard<'a>(&'a SpinBarrier);

impl Drop for PanicGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.poisoned.store(true, Ordering::Release);
        }
    }
}

impl SpinBarrier {
    /// A barrier for `threads` threads.
    pub(crate) fn new(threads: usize) -> Self {
        SpinBarrier {
            threads,
            arrived: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
            poisoned: AtomicBool::new(false),
        }
    }

    /// A guard each thread holds while it works: should the thread panic, the others stop
    /// waiting for it and panic too, instead of spinning for good.
    pub(crate) fn guard(&self) -> PanicGuard<'_> {
        PanicGuard(self)
    }

    /// Returns once every thread has called it (as many times).
    pub(crate) fn wait(&self) {
        let generation = self.generation.load(Ordering::Acquire);
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == self.threads {
            self.arrived.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::Release);
            return;
        }
        let mut spins = 0u32;
        while self.generation.load(Ordering::Acquire) == generation {
            assert!(
                !self.poisoned.load(Ordering::Acquire),
                "another thread of the kernel panicked"
            );
            if spins < 1 << 14 {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// A buffer the threads of one kernel call write into at once, each into places no other thread
/// reads or writes until the next barrier: its own units' columns of every row.
#[derive(Clone, Copy)]
pub(crate) struct SharedBuffer<E> {
    pointer: *mut E,
    len: usize,
}

// SAFETY: the threads only reach the buffer through `slice`, whose callers promise disjoint
// places between barriers.
unsafe impl<E: Send> Send for SharedBuffer<E> {}
// SAFETY: as above.
unsafe impl<E: Send> Sync for SharedBuffer<E> {}

impl<E> SharedBuffer<E> {
    /// Shares `buffer` for the lifetime of the threads that use it (the caller keeps the
    /// borrow alive by not touching `buffer` until they are joined).
    pub(crate) fn new(buffer: &mut [E]) -> Self {
        SharedBuffer {
            pointer: buffer.as_mut_ptr(),
            len: buffer.len(),
        }
    }

    /// Elements `range` of the buffer, to read.
    ///
    /// # Safety
    /// No other thread writes `range` while the slice lives, and the buffer outlives it.
    pub(crate) unsafe fn view(&self, range: Range<usize>) -> &[E] {
        assert!(
            range.start <= range.end && range.end <= self.len,
            "outside the buffer"
        );
        // SAFETY: in bounds (checked); not written meanwhile, by the caller's promise.
        unsafe { std::slice::from_raw_parts(self.pointer.add(range.start), range.len()) }
    }

    /// Elements `range` of the buffer, to write.
    ///
    /// # Safety
    /// No other thread reads or writes `range` while the slice lives, and the buffer outlives
    /// it.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn slice(&self, range: Range<usize>) -> &mut [E] {
        assert!(
            range.start <= range.end && range.end <= self.len,
            "outside the buffer"
        );
        // SAFETY: in bounds (checked); exclusive by the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.pointer.add(range.start), range.len()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On the program's pool thread the kernels split as they do from outside the pool (the
    /// LSTM's split by units included); on the pool's other threads, and once the program has
    /// returned, they keep to the calling thread.
    #[test]
    fn the_program_thread_drives_the_kernels_as_a_thread_outside_the_pool() {
        let hidden = 512 * rayon::current_num_threads();
        let outside = (drives_kernels(), unit_threads(hidden));
        assert_eq!(outside, (true, rayon::current_num_threads()));
        let (inside, nested, thread) = crate::fused::on_pool(|| {
            let nested = rayon::join(|| (), || (drives_kernels(), unit_threads(hidden)));
            let thread = rayon::current_thread_index();
            ((drives_kernels(), unit_threads(hidden)), nested.1, thread)
        });
        assert!(thread.is_some(), "the work ran on a pool thread");
        assert_eq!(inside, outside);
        if rayon::current_num_threads() > 1 {
            // `join`'s second half ran on this thread or another; on another it is not marked.
            assert!(nested == outside || nested == (false, 1), "{nested:?}");
        }
        let after = rayon::broadcast(|_| (drives_kernels(), unit_threads(hidden)));
        assert!(after.iter().all(|&split| split == (false, 1)), "{after:?}");
    }

    #[test]
    fn units_cover_the_hidden_state_once() {
        for (threads, hidden) in [(1, 5), (2, 5), (3, 256), (2, 2)] {
            let covered: Vec<usize> = (0..threads)
                .flat_map(|k| units_of(k, threads, hidden))
                .collect();
            assert_eq!(covered, (0..hidden).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_thread_that_panics_releases_the_others() {
        let barrier = SpinBarrier::new(2);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            on_threads(2, |k| {
                let _guard = barrier.guard();
                assert!(k != 1, "thread 1 fails before the barrier");
                barrier.wait();
            });
        }));
        assert!(result.is_err());
    }

    #[test]
    fn the_barrier_holds_every_thread_until_all_arrive() {
        let (threads, steps) = (3, 200);
        let barrier = SpinBarrier::new(threads);
        let counts: Vec<AtomicUsize> = (0..threads).map(|_| AtomicUsize::new(0)).collect();
        on_threads(threads, |k| {
            for step in 0..steps {
                counts[k].store(step + 1, Ordering::SeqCst);
                barrier.wait();
                // Past the barrier, every thread has finished this step's write.
                for count in &counts {
                    assert!(count.load(Ordering::SeqCst) > step);
                }
                barrier.wait();
            }
        });
    }
}
