//! Per-iteration metrics and their JSON-lines log.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Result, checkpoint_error, io_error};

/// The metrics log's file name, in a run directory and in each checkpoint.
pub(crate) const METRICS: &str = "metrics.jsonl";

/// What one logged iteration measured; `V` is what the task's validation measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "V: Serialize",
    deserialize = "V: serde::de::DeserializeOwned"
))]
pub struct IterationMetrics<V> {
    /// Iterations completed (1 after the first).
    pub iteration: u64,
    /// Training loss of this iteration's batch, in the task's own unit (nats per symbol for a
    /// language model; per sequence, or squared error, for classify; per value for forecast).
    pub loss: f64,
    /// Training throughput since the previous log line, items per second: the task's
    /// [`crate::validation::Validation::ITEMS`] (symbols, steps, values).
    #[serde(alias = "tokens_per_second")]
    pub items_per_second: f64,
    /// Training time since the run's first iteration, in seconds: validation and checkpoints
    /// not counted, a resumed run continuing the clock (0 in metrics written before it was
    /// recorded).
    #[serde(default)]
    pub seconds: f64,
    /// Global gradient norm before clipping.
    pub gradient_norm: f64,
    /// Learning rate used.
    pub learning_rate: f64,
    /// Scheduled sampling's ε, when that strategy runs.
    pub truth_probability: Option<f64>,
    /// The curriculum's free-running steps n, when that strategy runs.
    pub free_steps: Option<usize>,
    /// Validation, when one ran at this iteration.
    pub validation: Option<V>,
}

/// Appends one record to a JSON-lines file.
pub fn append_jsonl<V: Serialize>(path: &Path, record: &IterationMetrics<V>) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io_error(path, e))?;
    let line = serde_json::to_string(record).expect("metrics serialise");
    writeln!(file, "{line}").map_err(|e| io_error(path, e))
}

/// Serialises a metrics history as JSON lines.
pub fn to_jsonl<V: Serialize>(history: &[IterationMetrics<V>]) -> String {
    history
        .iter()
        .map(|m| serde_json::to_string(m).expect("metrics serialise") + "\n")
        .collect()
}

/// Parses a JSON-lines metrics history.
pub fn from_jsonl<V: serde::de::DeserializeOwned>(
    text: &str,
) -> std::result::Result<Vec<IterationMetrics<V>>, serde_json::Error> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect()
}

/// A run's metrics log (`RUN/metrics.jsonl`): every logged iteration, in order. `V` is what the
/// task's validation measures (`serde_json::Value` reads any task's log).
pub fn read_run_metrics<V: serde::de::DeserializeOwned>(
    run: &Path,
) -> Result<Vec<IterationMetrics<V>>> {
    let path = run.join(METRICS);
    let text = std::fs::read_to_string(&path).map_err(|e| io_error(&path, e))?;
    from_jsonl(&text).map_err(|e| checkpoint_error(&path, format!("corrupted: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::evaluate::LanguageScores;

    fn record(
        iteration: u64,
        loss: f64,
        validation: Option<f64>,
    ) -> IterationMetrics<LanguageScores> {
        IterationMetrics {
            iteration,
            loss,
            items_per_second: 1000.0,
            seconds: iteration as f64,
            gradient_norm: 1.0,
            learning_rate: 1e-3,
            truth_probability: None,
            free_steps: None,
            validation: validation.map(|v| LanguageScores {
                nats_per_symbol: v,
                bits_per_symbol: v / std::f64::consts::LN_2,
                perplexity: v.exp(),
                symbols: 10,
                open_loop_accuracy: None,
            }),
        }
    }

    #[test]
    fn history_round_trips_and_plots() {
        use crate::plot::plot_losses;
        let history: Vec<_> = (1..=50)
            .map(|i| record(i, 3.0 / i as f64 + 1.0, (i % 10 == 0).then_some(1.5)))
            .collect();
        assert_eq!(from_jsonl(&to_jsonl(&history)).unwrap(), history);
        if !cfg!(feature = "plot") {
            return;
        }
        let dir = crate::durable::scratch("plot");
        let path = dir.join("loss.png");
        plot_losses(&history, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A metrics log written when the throughput was named `tokens_per_second` still reads.
    #[test]
    fn logs_that_name_the_throughput_tokens_per_second_still_read() {
        let line = r#"{"iteration":3,"loss":2.5,"tokens_per_second":812.0,"gradient_norm":1.0,"learning_rate":0.002,"truth_probability":null,"free_steps":null,"validation":null}"#;
        let read: Vec<IterationMetrics<LanguageScores>> = from_jsonl(line).unwrap();
        assert_eq!(read[0].items_per_second, 812.0);
        assert!(to_jsonl(&read).contains("\"items_per_second\":812.0"));
    }
}
