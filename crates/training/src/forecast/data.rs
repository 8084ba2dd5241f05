//! A real-valued series a user brings (a CSV file of numeric columns) or a built-in system
//! generates, its standardisation (fitted on the training part, saved with the model) and the
//! split that holds out its final part for validation.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::systems::{LORENZ_LYAPUNOV_EXPONENT, Lorenz, MackeyGlass, add_observation_noise};
use crate::durable::{MAX_INPUT_BYTES, csv_records, read_limited};
use crate::error::{Result, data_error, invalid};

/// A multivariate series: one row per time step, one value per column.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The columns' names (from the header, or `x1`, `x2`, … without one).
    pub columns: Vec<String>,
    /// Whether the names came from the data (a header), so that columns are matched by name.
    pub named: bool,
    /// `[steps][columns]`.
    pub rows: Vec<Vec<f64>>,
    /// Time steps per Lyapunov time, when the series comes from a system whose largest
    /// Lyapunov exponent is known: the unit valid prediction times are also given in.
    pub steps_per_lyapunov_time: Option<f64>,
}

/// Reads a CSV file of numeric columns, one row per time step. A first row none of whose fields
/// is a number is a header, naming the columns (each once); blank lines and lines starting with
/// `#` are skipped. Every error names the file and the line.
pub fn read_series_csv(path: &Path) -> Result<Series> {
    series_csv(path, &read_limited(path, MAX_INPUT_BYTES)?)
}

/// The series of a CSV file's `bytes`, read from `path` (named in errors), as
/// [`read_series_csv`].
pub fn series_csv(path: &Path, bytes: &[u8]) -> Result<Series> {
    let mut columns: Option<Vec<String>> = None;
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for (line, record) in csv_records(path, bytes)? {
        if record.iter().all(str::is_empty) {
            continue;
        }
        let parsed: Vec<Option<f64>> = record.iter().map(|f| f.parse::<f64>().ok()).collect();
        if rows.is_empty() && columns.is_none() && parsed.iter().all(Option::is_none) {
            let names: Vec<String> = record.iter().map(str::to_owned).collect();
            if let Some(twice) = names
                .iter()
                .find(|n| names.iter().filter(|m| m == n).count() > 1)
            {
                return Err(data_error(
                    path,
                    Some(line),
                    format!("the header names column {twice:?} twice"),
                ));
            }
            columns = Some(names);
            continue;
        }
        let width = columns.as_ref().map_or_else(
            || rows.first().map_or(parsed.len(), Vec::len),
            std::vec::Vec::len,
        );
        if parsed.len() != width {
            return Err(data_error(
                path,
                Some(line),
                format!(
                    "{} values, where the file has {width} columns",
                    parsed.len()
                ),
            ));
        }
        let mut row = Vec::with_capacity(width);
        for (column, value) in parsed.iter().enumerate() {
            match value {
                Some(v) if v.is_finite() => row.push(*v),
                _ => {
                    return Err(data_error(
                        path,
                        Some(line),
                        format!(
                            "value {} ({:?}) is not a finite number",
                            column + 1,
                            record.get(column).unwrap_or("")
                        ),
                    ));
                }
            }
        }
        rows.push(row);
    }
    let width = rows.first().map_or(0, Vec::len);
    if rows.is_empty() {
        return Err(data_error(path, None, "no rows of numbers"));
    }
    Ok(Series {
        named: columns.is_some(),
        columns: columns.unwrap_or_else(|| unnamed_columns(width)),
        rows,
        steps_per_lyapunov_time: None,
    })
}

/// The names of `width` columns that a file does not name: `x1`, `x2`, …
fn unnamed_columns(width: usize) -> Vec<String> {
    (1..=width).map(|c| format!("x{c}")).collect()
}

/// A system whose series is generated here, so nothing is downloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum BuiltinSystem {
    /// Lorenz-63 (σ 10, ρ 28, β 8/3), sampled every 0.02 time units: columns x, y, z.
    Lorenz,
    /// Mackey–Glass (τ 17) sampled every 6 time units as a delay vector `x(t), x(t−6),
    /// x(t−12), x(t−18)`.
    ///
    /// The classical embedding, whose next vector is the present one
    /// shifted by one place and one new value, so that a network fed its whole previous
    /// output (pattern 2) sees the system's state.
    #[serde(alias = "mackey-glass")]
    MackeyGlass,
}

/// A built-in series as a run records it, so that resuming and evaluating regenerate the same
/// values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BuiltinSeries {
    /// The system.
    pub system: BuiltinSystem,
    /// Steps generated.
    pub length: usize,
    /// Observation noise, as a fraction of each column's deviation.
    pub noise: f64,
}

impl BuiltinSeries {
    /// The series (always from the same start, so every run of a study sees the same data).
    pub fn series(&self) -> Result<Series> {
        self.system.series(self.length, self.noise, 0)
    }
}

/// Lorenz-63's sampling interval in the built-in series.
pub const LORENZ_INTERVAL: f64 = 0.02;
const MACKEY_GLASS_LAGS: usize = 4;

impl BuiltinSystem {
    /// `steps` rows of the system from a start fixed by `seed`, with Gaussian observation
    /// noise of `noise` times each column's deviation.
    pub fn series(self, steps: usize, noise: f64, seed: u64) -> Result<Series> {
        if steps == 0 {
            return Err(invalid("steps", "at least one step"));
        }
        // The start moves with the seed; the transient puts the trajectory on the attractor.
        let offset = (seed % 1000) as f64 / 1000.0;
        let (columns, mut rows, lyapunov): (Vec<String>, Vec<Vec<f64>>, Option<f64>) = match self {
            BuiltinSystem::Lorenz => {
                let system = Lorenz {
                    step: LORENZ_INTERVAL,
                    ..Lorenz::default()
                };
                let rows = system
                    .trajectory([1.0 + offset, 1.0, 1.0], 1000, steps)?
                    .into_iter()
                    .map(|s| s.to_vec())
                    .collect();
                let names = ["x", "y", "z"].map(String::from).to_vec();
                (
                    names,
                    rows,
                    Some(1.0 / (LORENZ_LYAPUNOV_EXPONENT * LORENZ_INTERVAL)),
                )
            }
            BuiltinSystem::MackeyGlass => {
                let system = MackeyGlass {
                    steps_per_sample: 60,
                    ..MackeyGlass::default()
                };
                let values =
                    system.trajectory(1.2 + 0.1 * offset, 100, steps + MACKEY_GLASS_LAGS - 1)?;
                let rows = (MACKEY_GLASS_LAGS - 1..values.len())
                    .map(|t| (0..MACKEY_GLASS_LAGS).map(|lag| values[t - lag]).collect())
                    .collect();
                let names = ["x(t)", "x(t-6)", "x(t-12)", "x(t-18)"]
                    .map(String::from)
                    .to_vec();
                (names, rows, None)
            }
        };
        add_observation_noise(&mut rows, noise, seed ^ 0x006e_6f69_7365)?;
        Ok(Series {
            columns,
            named: true,
            rows,
            steps_per_lyapunov_time: lyapunov,
        })
    }

    /// The values per step of its series.
    pub fn columns(self) -> usize {
        match self {
            BuiltinSystem::Lorenz => 3,
            BuiltinSystem::MackeyGlass => MACKEY_GLASS_LAGS,
        }
    }

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            BuiltinSystem::Lorenz => "Lorenz-63",
            BuiltinSystem::MackeyGlass => "Mackey-Glass",
        }
    }
}

/// Each column's mean and standard deviation over the training part: the model sees
/// `(v − mean) / deviation`, so that columns of any scale train alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardization {
    /// The columns' names.
    pub columns: Vec<String>,
    /// Each column's mean.
    pub mean: Vec<f64>,
    /// Each column's standard deviation (positive).
    pub deviation: Vec<f64>,
    /// Time steps per Lyapunov time, if known (see [`Series`]).
    #[serde(default)]
    pub steps_per_lyapunov_time: Option<f64>,
}

impl Standardization {
    /// Fits the statistics on `series`' rows; a constant column is an error.
    pub fn fit(series: &Series) -> Result<Self> {
        let deviation = super::metrics::column_deviations(&series.rows).map_err(|_| {
            invalid(
                "data",
                "a column is constant over the training part: it cannot be standardised",
            )
        })?;
        let count = series.rows.len() as f64;
        let mean = (0..deviation.len())
            .map(|c| series.rows.iter().map(|r| r[c]).sum::<f64>() / count)
            .collect();
        Ok(Standardization {
            columns: series.columns.clone(),
            mean,
            deviation,
            steps_per_lyapunov_time: series.steps_per_lyapunov_time,
        })
    }

    /// Checks what a saved standardisation must hold: one name, mean and deviation per column
    /// (at least one), names distinct, means finite, deviations finite and positive. The reason,
    /// when not.
    pub fn check(&self) -> std::result::Result<(), String> {
        let width = self.columns.len();
        if width == 0 || self.mean.len() != width || self.deviation.len() != width {
            return Err(format!(
                "{} column names, {} means and {} deviations: one each per column",
                width,
                self.mean.len(),
                self.deviation.len()
            ));
        }
        if let Some(twice) =
            (self.columns.iter()).find(|c| self.columns.iter().filter(|d| d == c).count() > 1)
        {
            return Err(format!("column {twice:?} is named twice"));
        }
        if let Some(c) = (0..width).find(|&c| {
            !self.mean[c].is_finite() || !self.deviation[c].is_finite() || self.deviation[c] <= 0.0
        }) {
            return Err(format!(
                "column {:?} has mean {} and deviation {}: both must be finite, the deviation positive",
                self.columns[c], self.mean[c], self.deviation[c]
            ));
        }
        match self.steps_per_lyapunov_time {
            Some(steps) if !(steps.is_finite() && steps > 0.0) => Err(format!(
                "{steps} steps per Lyapunov time: a positive number, or none"
            )),
            _ => Ok(()),
        }
    }

    /// The number of columns.
    pub fn width(&self) -> usize {
        self.mean.len()
    }

    /// `series` with its columns in this standardisation's order: matched by name when the
    /// series names them (a header), else by position. A column missing from the series, or
    /// one the model was not trained on, is an error naming it.
    pub fn align(&self, series: &Series) -> Result<Series> {
        // A model trained on a file without a header knows its columns by position alone.
        if !series.named || self.columns == unnamed_columns(self.width()) {
            return Ok(series.clone());
        }
        let missing: Vec<&str> = (self.columns.iter())
            .filter(|c| !series.columns.contains(c))
            .map(String::as_str)
            .collect();
        let extra: Vec<&str> = (series.columns.iter())
            .filter(|c| !self.columns.contains(c))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() || !extra.is_empty() {
            let list = |names: &[&str]| {
                names
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut problems = Vec::new();
            if !missing.is_empty() {
                problems.push(format!("lacks column {}", list(&missing)));
            }
            if !extra.is_empty() {
                problems.push(format!(
                    "has column {} the model was not trained on",
                    list(&extra)
                ));
            }
            return Err(invalid(
                "data",
                format!(
                    "the series {} (the model reads {})",
                    problems.join(" and "),
                    self.columns.join(", ")
                ),
            ));
        }
        let order: Vec<usize> = (self.columns.iter())
            .map(|c| series.columns.iter().position(|s| s == c).unwrap_or(0))
            .collect();
        Ok(Series {
            columns: self.columns.clone(),
            named: true,
            rows: (series.rows.iter())
                .map(|row| order.iter().map(|&i| row[i]).collect())
                .collect(),
            steps_per_lyapunov_time: series.steps_per_lyapunov_time,
        })
    }

    /// Rows in standard units, as the model sees them.
    pub fn standardize(&self, rows: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        rows.iter()
            .map(|row| {
                if row.len() != self.width() {
                    return Err(invalid(
                        "data",
                        format!(
                            "rows of {} columns, where the model was trained on {} ({})",
                            row.len(),
                            self.width(),
                            self.columns.join(", ")
                        ),
                    ));
                }
                Ok(row
                    .iter()
                    .zip(&self.mean)
                    .zip(&self.deviation)
                    .map(|((v, m), d)| (v - m) / d)
                    .collect())
            })
            .collect()
    }

    /// A row in standard units back in the data's units.
    pub fn restore(&self, row: &[f64]) -> Vec<f64> {
        row.iter()
            .zip(&self.mean)
            .zip(&self.deviation)
            .map(|((v, m), d)| v * d + m)
            .collect()
    }
}

/// Splits a series in time: the first `1 − fraction` of its rows for training, the rest for
/// validation, each of at least `shortest` rows.
pub fn split_in_time(series: &Series, fraction: f64, shortest: usize) -> Result<(Series, Series)> {
    let rows = series.rows.len();
    let validation = (rows as f64 * fraction).round() as usize;
    let train = rows - validation.min(rows);
    if train < shortest || validation < shortest {
        return Err(invalid(
            "data",
            format!(
                "{rows} rows give {train} for training and {validation} for validation; each part needs at least {shortest} (a window and a step, or a warm-up and a horizon)"
            ),
        ));
    }
    let part = |range: std::ops::Range<usize>| Series {
        columns: series.columns.clone(),
        named: series.named,
        rows: series.rows[range].to_vec(),
        steps_per_lyapunov_time: series.steps_per_lyapunov_time,
    };
    Ok((part(0..train), part(train..rows)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file holding `text`, removed when dropped.
    struct Written(std::path::PathBuf);

    impl Drop for Written {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn written(text: &str) -> (Written, std::path::PathBuf) {
        static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("unroll-series-{}-{n}.csv", std::process::id()));
        std::fs::write(&path, text).unwrap();
        (Written(path.clone()), path)
    }

    #[test]
    fn a_header_names_the_columns_and_errors_name_the_line() {
        let (_dir, path) = written("time,load\n1,2.5\n\n2,3.5\n# a note\n3,4\n");
        let series = read_series_csv(&path).unwrap();
        assert_eq!(series.columns, ["time", "load"]);
        assert_eq!(
            series.rows,
            [vec![1.0, 2.5], vec![2.0, 3.5], vec![3.0, 4.0]]
        );
        let (_dir, path) = written("1,2\n3,4\n");
        assert_eq!(read_series_csv(&path).unwrap().columns, ["x1", "x2"]);
        let error = |text: &str| {
            let (_dir, path) = written(text);
            read_series_csv(&path).unwrap_err().to_string()
        };
        assert!(error("1,2\n3,x\n").contains(":2: value 2 (\"x\") is not a finite number"));
        assert!(error("1,2\n3\n").contains(":2: 1 values, where the file has 2 columns"));
        assert!(error("1,2\n3,inf\n").contains(":2:"));
        assert!(error("a,b\n").contains("no rows of numbers"));
        assert!(error("").contains("no rows of numbers"));
    }

    #[test]
    fn standardisation_by_hand_and_back() {
        let series = Series {
            columns: vec!["a".into(), "b".into()],
            named: true,
            rows: vec![vec![1.0, 10.0], vec![3.0, 10.0 + 4.0]],
            steps_per_lyapunov_time: None,
        };
        let fitted = Standardization::fit(&series).unwrap();
        // Means 2 and 12, population deviations 1 and 2.
        assert_eq!(fitted.mean, [2.0, 12.0]);
        assert_eq!(fitted.deviation, [1.0, 2.0]);
        let standard = fitted.standardize(&[vec![4.0, 8.0]]).unwrap();
        assert_eq!(standard, [vec![2.0, -2.0]]);
        assert_eq!(fitted.restore(&standard[0]), [4.0, 8.0]);
        assert!(fitted.standardize(&[vec![1.0]]).is_err());
        let constant = Series {
            rows: vec![vec![1.0, 2.0], vec![1.0, 3.0]],
            ..series
        };
        assert!(Standardization::fit(&constant).is_err());
    }

    #[test]
    fn the_validation_part_is_the_end() {
        let series = Series {
            columns: vec!["v".into()],
            named: false,
            rows: (0..10).map(|v| vec![f64::from(v)]).collect(),
            steps_per_lyapunov_time: None,
        };
        let (train, validation) = split_in_time(&series, 0.3, 2).unwrap();
        assert_eq!(train.rows.len(), 7);
        assert_eq!(validation.rows[0], [7.0]);
        assert!(split_in_time(&series, 0.3, 4).is_err());
    }

    #[test]
    fn the_delay_vector_shifts_by_one_place() {
        let series = BuiltinSystem::MackeyGlass.series(50, 0.0, 0).unwrap();
        assert_eq!(series.columns.len(), 4);
        for pair in series.rows.windows(2) {
            assert_eq!(pair[1][1..], pair[0][..3]);
        }
        let lorenz = BuiltinSystem::Lorenz.series(10, 0.0, 3).unwrap();
        assert_eq!(lorenz.rows.len(), 10);
        assert!((lorenz.steps_per_lyapunov_time.unwrap() - 55.21).abs() < 0.01);
    }
}
