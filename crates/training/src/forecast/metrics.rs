//! Open-loop metrics: how far forecasts that feed back their own outputs drift from the truth.
//!
//! Errors are normalised per column by the column's standard deviation (`NRMSE`), so that
//! columns of different scales count alike and 1 means "no better than the mean".

use crate::error::{Result, invalid};

/// Each column's standard deviation over `rows` (`[samples][columns]`): the normaliser of
/// [`nrmse_by_horizon`].
pub fn column_deviations(rows: &[Vec<f64>]) -> Result<Vec<f64>> {
    let Some(first) = rows.first() else {
        return Err(invalid("rows", "no rows to take deviations of"));
    };
    let count = rows.len() as f64;
    let deviations: Vec<f64> = (0..first.len())
        .map(|c| {
            let mean = rows.iter().map(|r| r[c]).sum::<f64>() / count;
            (rows.iter().map(|r| (r[c] - mean).powi(2)).sum::<f64>() / count).sqrt()
        })
        .collect();
    if deviations.iter().any(|&d| d.is_nan() || d <= 0.0) {
        return Err(invalid(
            "rows",
            "a column is constant: its error cannot be normalised",
        ));
    }
    Ok(deviations)
}

/// The normalised root-mean-square error at each horizon `h = 1 … H`:
/// `sqrt(mean over forecasts and columns of ((ŷ − y) / σ)²)`.
///
/// - `forecasts`, `truths`: one entry per starting point, each `[H][columns]`.
/// - `deviations`: σ of each column ([`column_deviations`] of the reference data).
pub fn nrmse_by_horizon(
    forecasts: &[Vec<Vec<f64>>],
    truths: &[Vec<Vec<f64>>],
    deviations: &[f64],
) -> Result<Vec<f64>> {
    if forecasts.is_empty() || forecasts.len() != truths.len() {
        return Err(invalid(
            "forecasts",
            format!("{} forecasts for {} truths", forecasts.len(), truths.len()),
        ));
    }
    let horizon = forecasts[0].len();
    let shaped = |rows: &Vec<Vec<f64>>| {
        rows.len() == horizon && rows.iter().all(|row| row.len() == deviations.len())
    };
    if horizon == 0 || !forecasts.iter().chain(truths).all(shaped) {
        return Err(invalid(
            "forecasts",
            format!(
                "every forecast and truth must be [{horizon}][{}]",
                deviations.len()
            ),
        ));
    }
    let count = (forecasts.len() * deviations.len()) as f64;
    Ok((0..horizon)
        .map(|h| {
            let total: f64 = forecasts
                .iter()
                .zip(truths)
                .flat_map(|(forecast, truth)| {
                    forecast[h]
                        .iter()
                        .zip(&truth[h])
                        .zip(deviations)
                        .map(|((f, t), d)| ((f - t) / d).powi(2))
                })
                .sum();
            (total / count).sqrt()
        })
        .collect())
}

/// The valid prediction time, in steps: how many horizons pass before the NRMSE first exceeds
/// `threshold` (all of them when it never does). Multiply by the sampling interval and the
/// largest Lyapunov exponent for Lyapunov times.
pub fn valid_prediction_time(nrmse: &[f64], threshold: f64) -> usize {
    nrmse
        .iter()
        .position(|&error| error > threshold)
        .unwrap_or(nrmse.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nrmse_by_hand() {
        // Two columns of deviations 2 and 0.5; two forecasts of two steps.
        let deviations = [2.0, 0.5];
        let truths = vec![
            vec![vec![0.0, 0.0], vec![1.0, 1.0]],
            vec![vec![0.0, 0.0], vec![1.0, 1.0]],
        ];
        let forecasts = vec![
            vec![vec![2.0, 0.0], vec![1.0, 2.0]],
            vec![vec![0.0, 0.5], vec![-3.0, 1.0]],
        ];
        // h = 1: errors/σ are (1, 0) and (0, 1): mean of squares 2/4, NRMSE √0.5.
        // h = 2: (0, 2) and (−2, 0): mean of squares 8/4 = 2, NRMSE √2.
        let nrmse = nrmse_by_horizon(&forecasts, &truths, &deviations).unwrap();
        assert!((nrmse[0] - 0.5f64.sqrt()).abs() < 1e-15);
        assert!((nrmse[1] - 2f64.sqrt()).abs() < 1e-15);
        assert_eq!(valid_prediction_time(&nrmse, 1.0), 1);
        assert_eq!(valid_prediction_time(&nrmse, 0.5), 0);
        assert_eq!(valid_prediction_time(&nrmse, 2.0), 2);
        assert!(nrmse_by_horizon(&forecasts, &truths[..1], &deviations).is_err());
        assert!(nrmse_by_horizon(&forecasts, &truths, &deviations[..1]).is_err());
    }

    #[test]
    fn deviations_by_hand() {
        let rows = vec![vec![1.0, 5.0], vec![3.0, 5.5], vec![5.0, 4.5]];
        let deviations = column_deviations(&rows).unwrap();
        assert!((deviations[0] - (8.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert!((deviations[1] - (0.5f64 / 3.0).sqrt()).abs() < 1e-15);
        assert!(column_deviations(&[vec![1.0], vec![1.0]]).is_err());
        assert!(column_deviations(&[]).is_err());
    }
}
