//! Reporting while training: a progress bar with rate and ETA on a terminal, plain periodic lines
//! otherwise (logs, CI, pipes).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::metrics::IterationMetrics;
use crate::validation::Validation;

/// Told what training does, as it does it; `V` is what the task's validation measures.
pub trait Observer<V> {
    /// Training starts at iteration `first` (0, or where a resumed run stood) of `total`.
    fn started(&mut self, _first: u64, _total: u64) {}
    /// A logged iteration.
    fn iteration(&mut self, _metrics: &IterationMetrics<V>) {}
    /// A validation ran; `best` when it is the lowest so far.
    fn validation(&mut self, _iteration: u64, _validation: &V, _best: bool) {}
    /// A line worth showing (checkpoint written, divergence).
    fn message(&mut self, _text: &str) {}
    /// Training ended.
    fn finished(&mut self) {}
}

/// Writes a line to stderr, ignoring failure: a closed pipe or a full disk behind stderr must
/// not stop training.
pub fn stderr_line(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Reports nothing.
pub struct Silent;

impl<V> Observer<V> for Silent {}

#[cfg(feature = "progress-bar")]
use indicatif::ProgressBar;

/// A progress bar on the terminal (feature `progress-bar`, on by default).
#[cfg(feature = "progress-bar")]
fn progress_bar(first: u64, total: u64) -> Option<ProgressBar> {
    let bar = ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} it  {per_sec}  ETA {eta}  {msg}",
        )
        .expect("valid template"),
    );
    bar.set_position(first);
    Some(bar)
}

/// Without the `progress-bar` feature there is no bar: progress comes as plain lines.
#[cfg(not(feature = "progress-bar"))]
enum ProgressBar {}

#[cfg(not(feature = "progress-bar"))]
impl ProgressBar {
    fn println(&self, _text: &str) {
        match *self {}
    }
    fn set_position(&self, _position: u64) {
        match *self {}
    }
    fn set_message(&self, _message: String) {
        match *self {}
    }
    fn finish_and_clear(&self) {
        match *self {}
    }
}

#[cfg(not(feature = "progress-bar"))]
fn progress_bar(_first: u64, _total: u64) -> Option<ProgressBar> {
    None
}

/// Writes progress to stderr: a bar on a terminal, a line every few seconds otherwise.
pub struct ConsoleReporter {
    bar: Option<ProgressBar>,
    interactive: bool,
    last_line: Option<Instant>,
    total: u64,
}

impl ConsoleReporter {
    /// A reporter that draws a bar only when stderr is a terminal.
    pub fn new() -> Self {
        ConsoleReporter {
            bar: None,
            interactive: std::io::stderr().is_terminal(),
            last_line: None,
            total: 0,
        }
    }

    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => stderr_line(text),
        }
    }
}

impl Default for ConsoleReporter {
    fn default() -> Self {
        Self::new()
    }
}

impl<V: Validation> Observer<V> for ConsoleReporter {
    fn started(&mut self, first: u64, total: u64) {
        self.total = total;
        if self.interactive {
            self.bar = progress_bar(first, total);
        }
    }

    fn iteration(&mut self, m: &IterationMetrics<V>) {
        let summary = format!(
            "loss {:.4}  {:.0} {}/s  |g| {:.2}  lr {:.2e}{}{}",
            m.loss,
            m.items_per_second,
            V::ITEMS,
            m.gradient_norm,
            m.learning_rate,
            m.truth_probability
                .map(|e| format!("  ε {e:.3}"))
                .unwrap_or_default(),
            m.free_steps.map(|n| format!("  n {n}")).unwrap_or_default(),
        );
        match &self.bar {
            Some(bar) => {
                bar.set_position(m.iteration);
                bar.set_message(summary);
            }
            None => {
                let due = self
                    .last_line
                    .is_none_or(|t| t.elapsed() >= Duration::from_secs(5));
                if due || m.iteration == self.total {
                    stderr_line(&format!(
                        "iteration {}/{}  {summary}",
                        m.iteration, self.total
                    ));
                    self.last_line = Some(Instant::now());
                }
            }
        }
    }

    fn validation(&mut self, iteration: u64, validation: &V, best: bool) {
        self.line(&format!(
            "iteration {iteration}: validation {}{}",
            validation.summary(),
            if best { " (best)" } else { "" },
        ));
    }

    fn message(&mut self, text: &str) {
        self.line(text);
    }

    fn finished(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
