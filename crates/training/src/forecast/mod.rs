//! Pattern 2 (and pattern 1) on real-valued sequences, trained with teacher forcing, scheduled
//! sampling or the curriculum, and measured in open loop, where the model is fed its own
//! outputs: the exposure bias the strategies are meant to reduce.
//!
//! - [`data`]: a CSV series or a built-in system ([`systems`]: Lorenz-63, Mackey–Glass), its
//!   standardisation fitted on the training part, and the split that holds out its end;
//! - [`model`]: the [`Forecaster`], fed the truth or its own outputs (detached or not);
//! - [`task`]: the [`Task`](crate::Task) the shared loop trains, with its checkpoint;
//! - [`evaluate`] and [`metrics`]: one-step error, open-loop NRMSE at each horizon and the
//!   valid prediction time.

pub mod config;
pub mod data;
pub mod evaluate;
pub mod metrics;
pub mod model;
pub mod systems;
pub mod task;

pub use config::{FedGradient, ForecastConfig, RegressionLoss, fitted_curriculum};
pub use data::{
    BuiltinSeries, BuiltinSystem, LORENZ_INTERVAL, Series, Standardization, read_series_csv,
    series_csv, split_in_time,
};
pub use evaluate::{ForecastScores, OpenLoop, forecasts, score_forecaster, starting_points};
pub use metrics::{column_deviations, nrmse_by_horizon, valid_prediction_time};
pub use model::{Forecaster, init_forecaster};
pub use systems::{LORENZ_LYAPUNOV_EXPONENT, Lorenz, MackeyGlass, add_observation_noise};
pub use task::{ForecastCheckpoint, ForecastFiles, ForecastTask, open_loop};
