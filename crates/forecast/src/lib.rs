//! Brigade's forecasting maths, with no database and no HTTP: series and calendars in, fitted models,
//! backtests and forecasts out. The app's `forecasting` module extracts the series from the order stream,
//! keeps the fitted models in its registry and serves their forecasts.
//!
//! - [`calendar`]: the shape of a series (daily or hourly local steps, open or closed).
//! - [`methods`]: the candidate forecasting methods and their fitted, serialisable form.
//! - [`backtest`]: rolling-origin backtests that choose a method per series and calibrate its intervals.
//! - [`customers`]: RFM segments, BG/NBD purchase and churn probabilities, Gamma-Gamma spend, Brier scores.
//! - [`inventory`]: reorder points, order quantities, days of cover and expiry risk from a usage forecast.
//! - [`replenishment`]: a year's usage replayed under the forecast policy and a fixed par level.
//! - [`prep`]: kitchen prep times per station and item, with load and hour of day, against the item median.

pub mod backtest;
pub mod calendar;
pub mod customers;
pub mod holt_winters;
pub mod inventory;
pub mod methods;
pub mod prep;
pub mod replenishment;
pub mod theta;

pub use backtest::{Backtest, CandidateScore, Forecast, Model, train};
pub use calendar::{Granularity, Series, Step};
pub use methods::{Fitted, Method};

/// Why a fit or a forecast could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ForecastError {
    /// The inputs do not fit together (lengths, negative or non-finite values).
    #[error("{0}")]
    Shape(String),
    /// Too little history for this method or for a backtest.
    #[error("not enough history: {needed} steps needed, {have} available")]
    NotEnoughHistory { needed: usize, have: usize },
    /// The underlying model library failed.
    #[error("model failed: {0}")]
    Model(String),
    /// A stored model could not be read back.
    #[error("stored model is unreadable: {0}")]
    Artifact(String),
}

pub type Result<T, E = ForecastError> = std::result::Result<T, E>;
