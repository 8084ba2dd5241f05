//! Graceful interrupts: the first SIGINT, SIGTERM or SIGHUP sets a flag that training checks
//! after each iteration (it then writes its checkpoint and stops); a second one ends the
//! process at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The flag the signals set, and which signal came.
pub struct Interrupt {
    /// Set by the first signal.
    pub flag: Arc<AtomicBool>,
    signal: Arc<AtomicUsize>,
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
        for number in SIGNALS {
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
        Ok(Interrupt { flag, signal })
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
