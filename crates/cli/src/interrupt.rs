//! Graceful interrupts: the first SIGINT, SIGTERM or SIGHUP sets a flag that training checks
//! after each iteration (it then writes its checkpoint and stops); a second one ends the
//! process at once. Until the first iteration is logged (reading data, building the model, a
//! first iteration that may take minutes) there is nothing worth saving, so the first signal
//! ends the process at once ([`Interrupt::observer`] says when that time is over).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use unroll::training::Observer;
use unroll::training::metrics::IterationMetrics;

/// The flag the signals set, and which signal came.
pub struct Interrupt {
    /// Set by the first signal.
    pub flag: Arc<AtomicBool>,
    signal: Arc<AtomicUsize>,
    /// Set until the first iteration is logged: a signal then ends the process at once.
    setting_up: Arc<AtomicBool>,
}

#[cfg(unix)]
const SIGNALS: [i32; 3] = [
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
];
#[cfg(not(unix))]
const SIGNALS: [i32; 2] = [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM];

impl Interrupt {
    /// Installs the handlers.
    pub fn install() -> std::io::Result<Self> {
        let flag = Arc::new(AtomicBool::new(false));
        let signal = Arc::new(AtomicUsize::new(0));
        let setting_up = Arc::new(AtomicBool::new(true));
        for number in SIGNALS {
            signal_hook::flag::register_conditional_shutdown(
                number,
                128 + number,
                Arc::clone(&setting_up),
            )?;
            // Registered first, so it sees the flag as the earlier signal left it: set means
            // this is the second signal, and the process ends now with 128 + its number.
            signal_hook::flag::register_conditional_shutdown(
                number,
                128 + number,
                Arc::clone(&flag),
            )?;
            signal_hook::flag::register_usize(number, Arc::clone(&signal), number as usize)?;
            signal_hook::flag::register(number, Arc::clone(&flag))?;
        }
        Ok(Interrupt {
            flag,
            signal,
            setting_up,
        })
    }

    /// `inner`, which also tells the handlers when the first iteration is logged: from then on
    /// a first signal stops training after its iteration, with a checkpoint.
    pub fn observer<'a, O>(&'a self, inner: &'a mut O) -> Armed<'a, O> {
        Armed {
            inner,
            setting_up: &self.setting_up,
        }
    }

    /// The exit status for a run stopped by the signal: 128 + its number (130 for SIGINT).
    pub fn exit_status(&self) -> u8 {
        let number = self.signal.load(Ordering::SeqCst).min(127);
        128 + number as u8
    }

    /// The signal's name.
    pub fn name(&self) -> &'static str {
        match self.signal.load(Ordering::SeqCst) as i32 {
            signal_hook::consts::SIGINT => "SIGINT",
            signal_hook::consts::SIGTERM => "SIGTERM",
            #[cfg(unix)]
            signal_hook::consts::SIGHUP => "SIGHUP",
            _ => "a signal",
        }
    }
}

/// An observer that ends the set-up phase of [`Interrupt`] when training has something to
/// save: its first logged iteration, validation or message.
pub struct Armed<'a, O> {
    inner: &'a mut O,
    setting_up: &'a AtomicBool,
}

impl<O> Armed<'_, O> {
    fn arm(&self) {
        self.setting_up.store(false, Ordering::SeqCst);
    }
}

impl<V, O: Observer<V>> Observer<V> for Armed<'_, O> {
    fn started(&mut self, first: u64, total: u64) {
        self.inner.started(first, total);
    }

    fn iteration(&mut self, metrics: &IterationMetrics<V>) {
        self.arm();
        self.inner.iteration(metrics);
    }

    fn validation(&mut self, iteration: u64, validation: &V, best: bool) {
        self.arm();
        self.inner.validation(iteration, validation, best);
    }

    fn message(&mut self, text: &str) {
        self.arm();
        self.inner.message(text);
    }

    fn finished(&mut self) {
        self.inner.finished();
    }
}
