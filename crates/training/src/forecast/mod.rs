//! Forecasting real-valued sequences (the groundwork of pattern 2 in open loop): the built-in
//! dynamical systems that need no download ([`systems`]) and the open-loop metrics that measure
//! exposure bias ([`metrics`]).

pub mod metrics;
pub mod systems;

pub use metrics::{column_deviations, nrmse_by_horizon, valid_prediction_time};
pub use systems::{LORENZ_LYAPUNOV_EXPONENT, Lorenz, MackeyGlass, add_observation_noise};
