//! Per-iteration metrics, their JSON-lines log, and the loss-curve picture.

use std::io::Write;
use std::path::Path;

use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Result, io_error};
use crate::evaluate::Evaluation;
use crate::trainer::Validation;

/// What one logged iteration measured; `V` is what the task's validation measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "V: Serialize",
    deserialize = "V: serde::de::DeserializeOwned"
))]
pub struct IterationMetrics<V = Evaluation> {
    /// Iterations completed (1 after the first).
    pub iteration: u64,
    /// Training loss of this iteration's batch, nats per symbol.
    pub loss: f64,
    /// Training throughput since the previous log line, symbols per second.
    pub tokens_per_second: f64,
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

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // An embedded font, so the picture needs no system font library.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

/// Draws training loss and validation loss against iterations, as a PNG.
pub fn plot_losses<V: Validation>(history: &[IterationMetrics<V>], path: &Path) -> Result<()> {
    register_font();
    let training: Vec<(f64, f64)> = history
        .iter()
        .filter(|m| m.loss.is_finite())
        .map(|m| (m.iteration as f64, m.loss))
        .collect();
    let validation: Vec<(f64, f64)> = history
        .iter()
        .filter_map(|m| {
            m.validation
                .as_ref()
                .map(|v| (m.iteration as f64, v.loss()))
        })
        .collect();
    if training.is_empty() {
        return Ok(());
    }
    let x_max = training
        .iter()
        .chain(&validation)
        .map(|p| p.0)
        .fold(1.0, f64::max);
    let y_values = training.iter().chain(&validation).map(|p| p.1);
    let y_max = y_values.clone().fold(f64::MIN, f64::max) * 1.05;
    let y_min = y_values.fold(f64::MAX, f64::min).min(y_max) * 0.95;
    let draw = || -> std::result::Result<(), Box<dyn std::error::Error>> {
        let root = BitMapBackend::new(path, (900, 540)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("loss (nats per symbol)", ("sans-serif", 22))
            .margin(12)
            .margin_right(30)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..x_max, y_min..y_max)?;
        chart
            .configure_mesh()
            .x_desc("iteration")
            .y_desc("nats / symbol")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .label_style(("sans-serif", 14))
            .draw()?;
        chart
            .draw_series(LineSeries::new(training.iter().copied(), &BLUE))?
            .label("training (batch)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
        if !validation.is_empty() {
            chart
                .draw_series(LineSeries::new(
                    validation.iter().copied(),
                    RED.stroke_width(2),
                ))?
                .label("validation")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
            chart.draw_series(validation.iter().map(|&p| Circle::new(p, 3, RED.filled())))?;
        }
        chart
            .configure_series_labels()
            .label_font(("sans-serif", 14))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    };
    draw().map_err(|e| io_error(path, std::io::Error::other(e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(iteration: u64, loss: f64, validation: Option<f64>) -> IterationMetrics {
        IterationMetrics {
            iteration,
            loss,
            tokens_per_second: 1000.0,
            gradient_norm: 1.0,
            learning_rate: 1e-3,
            truth_probability: None,
            free_steps: None,
            validation: validation.map(|v| Evaluation {
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
        let history: Vec<_> = (1..=50)
            .map(|i| record(i, 3.0 / i as f64 + 1.0, (i % 10 == 0).then_some(1.5)))
            .collect();
        assert_eq!(from_jsonl(&to_jsonl(&history)).unwrap(), history);
        let dir = std::env::temp_dir().join(format!("unroll-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("loss.png");
        plot_losses(&history, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
