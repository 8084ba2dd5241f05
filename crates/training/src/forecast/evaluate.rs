//! How well a forecaster predicts one step ahead when fed the truth, and how far its forecasts
//! drift when fed its own outputs: the gap between the two is the exposure bias.

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};
use unroll_model::RecurrenceBackend;

use super::metrics::{column_deviations, nrmse_by_horizon, valid_prediction_time};
use super::model::Forecaster;
use crate::error::{Result, invalid};
use crate::validation::Validation;

/// Where and how far open-loop forecasts run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpenLoop {
    /// True steps read before the model feeds back its own outputs.
    pub warmup: usize,
    /// Steps forecast from each starting point.
    pub horizon: usize,
    /// Starting points, spread evenly over the series.
    pub starts: usize,
    /// The NRMSE above which a forecast is no longer valid.
    pub valid_threshold: f64,
    /// Steps per Lyapunov time, when known.
    pub steps_per_lyapunov_time: Option<f64>,
}

/// A forecaster's scores on a series in standard units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastScores {
    /// The mean squared error of teacher-forced one-step predictions (standard units), over
    /// every step after the warm-up: what training minimises.
    pub one_step_mse: f64,
    /// The same error normalised per column by the series' deviation (NRMSE).
    pub one_step_nrmse: f64,
    /// Open-loop NRMSE at each horizon `1 … H` (horizon 1 is a one-step prediction).
    pub nrmse: Vec<f64>,
    /// The mean of [`ForecastScores::nrmse`] over the horizons.
    pub mean_nrmse: f64,
    /// Horizons before the NRMSE first exceeds the threshold.
    pub valid_steps: usize,
    /// The same in Lyapunov times, when known.
    pub valid_lyapunov_times: Option<f64>,
    /// The starting points averaged over.
    pub starts: usize,
}

impl Validation for ForecastScores {
    const ITEMS: &'static str = "values";

    fn loss(&self) -> f64 {
        self.one_step_mse
    }

    fn summary(&self) -> String {
        let at = |h: usize| self.nrmse.get(h.min(self.nrmse.len()) - 1).copied();
        let mut text = format!(
            "one-step MSE {:.3e} (NRMSE {:.4}), open loop NRMSE {:.4} at {} steps, {:.4} mean; valid for {} steps",
            self.one_step_mse,
            self.one_step_nrmse,
            at(self.nrmse.len()).unwrap_or(f64::NAN),
            self.nrmse.len(),
            self.mean_nrmse,
            self.valid_steps
        );
        if let Some(times) = self.valid_lyapunov_times {
            text.push_str(&format!(" ({times:.2} Lyapunov times)"));
        }
        text
    }
}

/// A `[batch, time, width]` tensor of `rows[start + offset]` for each start.
fn gather<B: Backend>(
    rows: &[Vec<f64>],
    starts: &[usize],
    offset: usize,
    time: usize,
    device: &B::Device,
) -> Tensor<B, 3> {
    let width = rows[0].len();
    let values: Vec<f32> = starts
        .iter()
        .flat_map(|&s| rows[s + offset..s + offset + time].iter().flatten())
        .map(|&v| v as f32)
        .collect();
    Tensor::from_data(TensorData::new(values, [starts.len(), time, width]), device)
}

/// `[batch][time][width]` values of a tensor.
fn nested<B: Backend>(tensor: Tensor<B, 3>) -> Vec<Vec<Vec<f64>>> {
    let [batch, time, width] = tensor.dims();
    let flat: Vec<f64> = tensor.into_data().iter::<f64>().collect();
    (0..batch)
        .map(|b| {
            (0..time)
                .map(|t| flat[(b * time + t) * width..(b * time + t + 1) * width].to_vec())
                .collect()
        })
        .collect()
}

/// Evenly spread starting points of open-loop forecasts over `rows` steps.
pub fn starting_points(rows: usize, open_loop: &OpenLoop) -> Result<Vec<usize>> {
    let span = open_loop.warmup + open_loop.horizon;
    if rows < span {
        return Err(invalid(
            "horizon",
            format!(
                "a warm-up of {} and a horizon of {} need {span} steps; the series has {rows}",
                open_loop.warmup, open_loop.horizon
            ),
        ));
    }
    let last = rows - span;
    let count = open_loop.starts.min(last + 1);
    Ok((0..count)
        .map(|k| {
            if count == 1 {
                0
            } else {
                k * last / (count - 1)
            }
        })
        .collect())
}

/// Open-loop forecasts from each of `starts`: `[start][horizon][width]`, standard units.
pub fn forecasts<B: Backend + RecurrenceBackend>(
    model: &Forecaster<B>,
    rows: &[Vec<f64>],
    starts: &[usize],
    warmup: usize,
    horizon: usize,
    device: &B::Device,
) -> Result<Vec<Vec<Vec<f64>>>> {
    let warm = gather::<B>(rows, starts, 0, warmup, device);
    Ok(nested(model.open_loop(warm, horizon)?))
}

/// Scores `model` on `rows` (standard units): teacher-forced one-step error over the whole
/// series after the warm-up, and open-loop forecasts from evenly spread starting points.
pub fn score_forecaster<B: Backend + RecurrenceBackend>(
    model: &Forecaster<B>,
    rows: &[Vec<f64>],
    open_loop: &OpenLoop,
    device: &B::Device,
) -> Result<ForecastScores> {
    let starts = starting_points(rows.len(), open_loop)?;
    let deviations = column_deviations(rows)?;
    // One step: fed every true value, the whole series as one sequence.
    let steps = rows.len() - 1;
    let previous = gather::<B>(rows, &[0], 0, steps, device);
    let predicted = nested(model.means(model.teacher_forced(previous)?)).remove(0);
    let skip = open_loop.warmup.min(steps - 1);
    let (mut squared, mut normalised) = (0.0, 0.0);
    for (t, prediction) in predicted.iter().enumerate().skip(skip) {
        for ((p, truth), d) in prediction.iter().zip(&rows[t + 1]).zip(&deviations) {
            squared += (p - truth).powi(2);
            normalised += ((p - truth) / d).powi(2);
        }
    }
    let count = ((steps - skip) * deviations.len()) as f64;
    let predicted = forecasts(
        model,
        rows,
        &starts,
        open_loop.warmup,
        open_loop.horizon,
        device,
    )?;
    let truths: Vec<Vec<Vec<f64>>> = starts
        .iter()
        .map(|&s| rows[s + open_loop.warmup..s + open_loop.warmup + open_loop.horizon].to_vec())
        .collect();
    let nrmse = nrmse_by_horizon(&predicted, &truths, &deviations)?;
    let valid_steps = valid_prediction_time(&nrmse, open_loop.valid_threshold);
    Ok(ForecastScores {
        one_step_mse: squared / count,
        one_step_nrmse: (normalised / count).sqrt(),
        mean_nrmse: nrmse.iter().sum::<f64>() / nrmse.len() as f64,
        valid_steps,
        valid_lyapunov_times: open_loop
            .steps_per_lyapunov_time
            .map(|steps| valid_steps as f64 / steps),
        starts: starts.len(),
        nrmse,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starting_points_span_the_series() {
        let open_loop = OpenLoop {
            warmup: 2,
            horizon: 3,
            starts: 3,
            valid_threshold: 0.5,
            steps_per_lyapunov_time: None,
        };
        assert_eq!(starting_points(15, &open_loop).unwrap(), [0, 5, 10]);
        assert_eq!(starting_points(5, &open_loop).unwrap(), [0]);
        assert!(starting_points(4, &open_loop).is_err());
    }
}
