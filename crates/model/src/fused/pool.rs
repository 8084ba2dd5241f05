//! Where a program's own work runs: on one of rayon's threads, so that the kernels' parallel
//! parts start on the core that calls them.
//!
//! Called from a thread outside rayon's pool, every parallel part of a kernel (a dozen or more a
//! training step: the recurrences, the products, Adam) hands its work to the pool, wakes a pool
//! thread and puts the caller to sleep until the work is done: two wake-ups a part, a tenth of a
//! seq2seq step at hidden 256 (batch 32, steps of tens of microseconds). From a pool thread, the
//! caller takes the first share itself and wakes only the other core. [`on_pool`] runs a
//! program there, and marks its thread as the one that drives the kernels: the kernels that meet
//! at a barrier every step (the LSTM's split by hidden units) still take every core from it, as
//! they do from a thread outside the pool, where on any other pool thread (a task inside a
//! kernel, one direction of a bidirectional layer) they keep to the calling thread.

#[cfg(host_kernels)]
use std::cell::Cell;

#[cfg(host_kernels)]
thread_local! {
    /// Whether this pool thread runs a program through [`on_pool`].
    static DRIVES_KERNELS: Cell<bool> = const { Cell::new(false) };
}

/// Runs `work` on one of rayon's threads, marked as the thread that drives the kernels, and
/// returns what it returns (a panic in `work` reaches the caller). Already on a pool thread, or
/// without the CPU kernels, `work` runs where it is called.
pub fn on_pool<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    #[cfg(host_kernels)]
    if rayon::current_thread_index().is_none() {
        return rayon::scope(|_| {
            let _mark = Mark::set();
            work()
        });
    }
    work()
}

/// Whether the calling thread may hand a kernel's work to every thread of the pool and wait for
/// it: a thread outside the pool, or the one [`on_pool`] runs a program on.
#[cfg(host_kernels)]
pub(crate) fn drives_kernels() -> bool {
    rayon::current_thread_index().is_none() || DRIVES_KERNELS.get()
}

/// The mark of [`on_pool`]'s thread, taken off when the work returns or panics (the pool
/// thread goes on to run other tasks).
#[cfg(host_kernels)]
struct Mark;

#[cfg(host_kernels)]
impl Mark {
    fn set() -> Self {
        DRIVES_KERNELS.set(true);
        Mark
    }
}

#[cfg(host_kernels)]
impl Drop for Mark {
    fn drop(&mut self) {
        DRIVES_KERNELS.set(false);
    }
}

#[cfg(all(test, host_kernels))]
mod tests {
    use super::*;

    #[test]
    fn a_panic_on_the_pool_reaches_the_caller_and_takes_the_mark_off() {
        let result = std::panic::catch_unwind(|| on_pool(|| panic!("the program fails")));
        assert!(result.is_err());
        let marks = rayon::broadcast(|_| DRIVES_KERNELS.get());
        assert!(marks.iter().all(|&mark| !mark), "{marks:?}");
    }
}
