//! What a task's validation measured: the one number that picks the best checkpoint, and its
//! line for the console. Every task's scores implement it; the loop, the metrics log, the loss
//! plot and the progress lines read it.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// What a validation measured, as a task defines it.
pub trait Validation: Clone + Debug + PartialEq + Serialize + DeserializeOwned {
    /// What the task's training loss covers, plural (`symbols`, `steps`, `values`): the unit of
    /// the logged throughput, items per second.
    const ITEMS: &'static str;

    /// The number that picks the best checkpoint: lower is better.
    fn loss(&self) -> f64;
    /// The validation in one line for the console (`1.7459 nats/symbol, …`).
    fn summary(&self) -> String;
}
