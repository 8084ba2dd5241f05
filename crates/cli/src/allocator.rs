//! mimalloc, told to keep the memory it frees, and a wrapper of it that counts live bytes.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// Live heap bytes, counted by [`Counting`].
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// The most live heap bytes since the last [`reset_peak`].
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// [`MiMalloc`] with a count of live heap bytes and their peak: installed as the
/// `#[global_allocator]`, it measures exactly the memory a computation adds, whatever mimalloc
/// keeps cached. The count costs two relaxed atomic operations an allocation.
pub struct Counting;

impl Counting {
    fn grew(size: usize) {
        let now = LIVE.fetch_add(size, Ordering::Relaxed) + size;
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded to mimalloc unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { MiMalloc.alloc(layout) };
        if !pointer.is_null() {
            Self::grew(layout.size());
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { MiMalloc.alloc_zeroed(layout) };
        if !pointer.is_null() {
            Self::grew(layout.size());
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { MiMalloc.dealloc(pointer, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { MiMalloc.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            Self::grew(new_size);
        }
        moved
    }
}

/// Live heap bytes now; `None` where [`Counting`] is not the global allocator (nothing counted).
pub fn live_bytes() -> Option<usize> {
    Some(LIVE.load(Ordering::Relaxed)).filter(|&live| live > 0)
}

/// Starts a new peak at the live heap of now.
pub fn reset_peak() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
}

/// The most live heap bytes since the last [`reset_peak`].
pub fn peak_bytes() -> usize {
    PEAK.load(Ordering::Relaxed)
}
