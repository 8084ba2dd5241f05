//! mimalloc, told to keep the memory it frees.

use libmimalloc_sys::{mi_option_set, mi_option_t};

/// The allocator every program installs as its `#[global_allocator]`.
pub use mimalloc::MiMalloc;

/// `mi_option_purge_delay`: its place in mimalloc.h's `mi_option_e` (the Rust binding names the
/// options on either side, 14 and 16, but not this one).
const PURGE_DELAY: mi_option_t = 15;

/// Tells mimalloc never to hand freed memory back to the kernel. A training step frees and
/// allocates the same large buffers every iteration; handed back, they return as fresh pages
/// that the kernel zeroes first (measured: 10–20 % of a 2-layer LSTM step at H 512). Call it
/// first in `main`, before any thread starts.
pub fn keep_freed_memory() {
    // SAFETY: sets one of mimalloc's options (a plain store); called before other threads run.
    unsafe { mi_option_set(PURGE_DELAY, -1) }
}
