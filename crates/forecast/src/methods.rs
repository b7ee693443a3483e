//! The candidate methods. Each fits on the history known at an origin and forecasts the steps after it;
//! its fitted form is serialisable so the registry can keep it and answer without fitting again (ETS
//! keeps its chosen form and refits its few smoothing parameters on the newest history, which takes
//! milliseconds; the boosted model keeps its trees).

use augurs::ets::AutoETS;
use augurs::mstl::MSTLModel;
use augurs::{Fit, Predict};
use forust_ml::objective::ObjectiveType;
use forust_ml::{GradientBooster, Matrix};
use serde::{Deserialize, Serialize};

use crate::calendar::{Granularity, Series, Step};
use crate::{ForecastError, Result};

/// A forecasting method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The same step one week earlier.
    SeasonalNaive,
    /// The mean of the same step in the last 4 weeks (same weekday, same hour).
    WeekdayMean,
    /// Exponential smoothing: MSTL (weekly season for days; daily and weekly for hours) with an ETS
    /// trend (augurs).
    Ets,
    /// Additive Holt-Winters (ETS(A,N,A) or ETS(A,Ad,A) by AICc; `holt_winters`).
    HoltWinters,
    /// The standard Theta method (`theta`): deseasonalised exponential smoothing with half the trend.
    Theta,
    /// Gradient-boosted trees (forust) on calendar, closure and lag features.
    Boosted,
    /// The mean of the best members (by their own backtest, at most three) of the weekday mean, ETS,
    /// Holt-Winters, Theta and boosted forecasts.
    Ensemble,
}

impl Method {
    /// Every candidate, in the order backtests report them.
    pub const ALL: [Method; 7] = [
        Method::SeasonalNaive,
        Method::WeekdayMean,
        Method::Ets,
        Method::HoltWinters,
        Method::Theta,
        Method::Boosted,
        Method::Ensemble,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::SeasonalNaive => "seasonal_naive",
            Method::WeekdayMean => "weekday_mean",
            Method::Ets => "ets",
            Method::Theta => "theta",
            Method::HoltWinters => "holt_winters",
            Method::Boosted => "boosted",
            Method::Ensemble => "ensemble",
        }
    }

    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Steps of history the method needs before it can fit.
    pub fn min_history(self, g: Granularity) -> usize {
        let s = g.season();
        match self {
            Method::SeasonalNaive | Method::WeekdayMean => s,
            Method::Theta => 2 * s,
            Method::HoltWinters => 3 * s,
            Method::Ets => match g {
                Granularity::Daily => 3 * s,
                Granularity::Hourly => 2 * s,
            },
            Method::Boosted => g.max_horizon() + 4 * s + s,
            // Two members at least: the weekday mean and Theta.
            Method::Ensemble => 2 * s,
        }
    }
}

/// A fitted method, as the registry stores it.
#[derive(Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Fitted {
    SeasonalNaive,
    WeekdayMean,
    /// MSTL with an ETS trend, estimated again on the newest history at each forecast.
    Ets,
    /// Its smoothing parameter and seasons are estimated again at each forecast (microseconds).
    Theta,
    /// Its form and parameters are estimated again at each forecast (a millisecond).
    HoltWinters,
    Boosted {
        booster: Box<GradientBooster>,
    },
    Ensemble {
        members: Vec<Fitted>,
    },
}

impl std::fmt::Debug for Fitted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fitted::Ets => f.write_str("Ets"),
            Fitted::Theta => f.write_str("Theta"),
            Fitted::HoltWinters => f.write_str("HoltWinters"),
            Fitted::Boosted { booster } => {
                write!(f, "Boosted {{ trees: {} }}", booster.trees.len())
            }
            Fitted::Ensemble { members } => f.debug_list().entries(members).finish(),
            Fitted::SeasonalNaive => f.write_str("SeasonalNaive"),
            Fitted::WeekdayMean => f.write_str("WeekdayMean"),
        }
    }
}

impl Fitted {
    /// Whether its forecasts read lagged values (so cannot run past the longest horizon).
    pub fn uses_lags(&self) -> bool {
        match self {
            Fitted::Boosted { .. } => true,
            Fitted::Ensemble { members } => members.iter().any(Fitted::uses_lags),
            _ => false,
        }
    }

    pub fn method(&self) -> Method {
        match self {
            Fitted::SeasonalNaive => Method::SeasonalNaive,
            Fitted::WeekdayMean => Method::WeekdayMean,
            Fitted::Ets => Method::Ets,
            Fitted::Theta => Method::Theta,
            Fitted::HoltWinters => Method::HoltWinters,
            Fitted::Boosted { .. } => Method::Boosted,
            Fitted::Ensemble { .. } => Method::Ensemble,
        }
    }
}

/// The methods an ensemble may average.
pub const ENSEMBLE_MEMBERS: [Method; 5] = [
    Method::WeekdayMean,
    Method::Ets,
    Method::HoltWinters,
    Method::Theta,
    Method::Boosted,
];

/// An ensemble of these members (at least two).
pub fn fit_ensemble(series: &Series, members: &[Method]) -> Result<Fitted> {
    if members.len() < 2 || members.iter().any(|m| !ENSEMBLE_MEMBERS.contains(m)) {
        return Err(ForecastError::Model(format!(
            "an ensemble of {members:?} cannot be made"
        )));
    }
    Ok(Fitted::Ensemble {
        members: members
            .iter()
            .map(|m| fit(*m, series))
            .collect::<Result<_>>()?,
    })
}

/// The training part of a history: its last `max_training` steps.
fn training_start(series: &Series) -> usize {
    series
        .len()
        .saturating_sub(series.granularity.max_training())
}

/// Fits `method` on everything `series` has observed.
pub fn fit(method: Method, series: &Series) -> Result<Fitted> {
    let need = method.min_history(series.granularity);
    if series.len() < need {
        return Err(ForecastError::NotEnoughHistory {
            needed: need,
            have: series.len(),
        });
    }
    Ok(match method {
        Method::SeasonalNaive => Fitted::SeasonalNaive,
        Method::WeekdayMean => Fitted::WeekdayMean,
        Method::Ets => fit_ets(series)?,
        Method::Theta => Fitted::Theta,
        Method::HoltWinters => Fitted::HoltWinters,
        Method::Boosted => Fitted::Boosted {
            booster: Box::new(fit_boosted(series)?),
        },
        Method::Ensemble => {
            let able: Vec<Method> = ENSEMBLE_MEMBERS
                .into_iter()
                .filter(|m| series.len() >= m.min_history(series.granularity))
                .collect();
            fit_ensemble(series, &able)?
        }
    })
}

/// Forecasts the `h` steps after the observed history of `series` (whose calendar must reach that far).
/// The result is raw: [`crate::Model::forecast`] clamps it at 0 and zeroes closed steps.
pub fn forecast(fitted: &Fitted, series: &Series, h: usize) -> Result<Vec<f64>> {
    let n = series.len();
    if series.steps.len() < n + h {
        return Err(ForecastError::Shape(format!(
            "the calendar ends {} steps after the history, {h} asked",
            series.steps.len() - n
        )));
    }
    if n == 0 {
        return Err(ForecastError::NotEnoughHistory { needed: 1, have: 0 });
    }
    let season = series.granularity.season();
    if n < season {
        return Err(ForecastError::NotEnoughHistory {
            needed: season,
            have: n,
        });
    }
    match fitted {
        Fitted::SeasonalNaive => Ok(same_step_mean(series, h, 1)),
        Fitted::WeekdayMean => Ok(same_step_mean(series, h, 4)),
        Fitted::Ets => mstl_forecast(series, h),
        Fitted::HoltWinters => {
            crate::holt_winters::forecast(&ets_input(series), series.granularity.season(), h).ok_or(
                ForecastError::NotEnoughHistory {
                    needed: 3 * series.granularity.season(),
                    have: series.len(),
                },
            )
        }
        Fitted::Theta => Ok(crate::theta::forecast(
            &ets_input(series),
            series.granularity.season(),
            h,
        )),
        Fitted::Boosted { booster } => Ok(forecast_boosted(booster, series, h)),
        Fitted::Ensemble { members } => {
            let mut sum = vec![0.0; h];
            for member in members {
                for (s, v) in sum.iter_mut().zip(forecast(member, series, h)?) {
                    *s += v.max(0.0);
                }
            }
            Ok(sum.into_iter().map(|s| s / members.len() as f64).collect())
        }
    }
}

/// For each future step, the mean of the same step of the last `weeks` weeks of history (closed steps
/// filled from their open neighbours of earlier weeks); `weeks = 1` is the seasonal naive forecast.
pub fn same_step_mean(series: &Series, h: usize, weeks: usize) -> Vec<f64> {
    let s = series.granularity.season();
    let n = series.len();
    let values = series.filled();
    (0..h)
        .map(|k| {
            // The same step in the latest week of history.
            let t = n + k;
            let back = (t - n) / s + 1;
            let latest = t as i64 - (back * s) as i64;
            let mut sum = 0.0;
            let mut seen = 0;
            let mut j = latest;
            while j >= 0 && seen < weeks {
                sum += values[j as usize];
                seen += 1;
                j -= s as i64;
            }
            if seen == 0 {
                values.iter().sum::<f64>() / n as f64
            } else {
                sum / seen as f64
            }
        })
        .collect()
}

/// The mean of the open steps of history, with no pattern at all: the last fallback.
pub fn average(series: &Series) -> f64 {
    let (sum, count) = series
        .values
        .iter()
        .zip(series.steps)
        .filter(|(_, step)| step.open)
        .fold((0.0, 0usize), |(s, c), (v, _)| (s + v, c + 1));
    if count == 0 { 0.0 } else { sum / count as f64 }
}

fn ets_input(series: &Series) -> Vec<f64> {
    let filled = series.filled();
    filled[training_start(series)..].to_vec()
}

fn model_error(e: impl std::fmt::Display) -> ForecastError {
    ForecastError::Model(e.to_string())
}

fn fit_ets(series: &Series) -> Result<Fitted> {
    // The parameters are estimated on the newest history at each forecast (milliseconds); there is
    // nothing to keep but the choice of method.
    let _ = series;
    Ok(Fitted::Ets)
}

/// MSTL: the history less its weekly (and, for hours, daily) seasonal components, smoothed by an ETS
/// trend model chosen by AICc, plus the seasonal components carried forward. (augurs' ETS itself has
/// no seasonal forms; MSTL is how it handles seasons.)
fn mstl_forecast(series: &Series, h: usize) -> Result<Vec<f64>> {
    let y = ets_input(series);
    let periods = match series.granularity {
        Granularity::Daily => vec![7],
        Granularity::Hourly => vec![24, 168],
    };
    // Additive errors (counts have zeros), trend none, additive or damped: chosen by AICc.
    let trend_model = AutoETS::new(1, "AZN")
        .map_err(model_error)?
        .into_trend_model();
    let fitted = MSTLModel::new(periods, trend_model)
        .fit(&y)
        .map_err(model_error)?;
    let point = fitted.predict(h, None).map_err(model_error)?.point;
    if point.len() != h || point.iter().any(|v| !v.is_finite()) {
        return Err(ForecastError::Model("MSTL gave no finite forecast".into()));
    }
    Ok(point)
}

/// Features of step `t`, using only values at least `max_horizon` steps before it, so one model
/// forecasts every step of the horizon from what is known at the origin.
const FEATURES: usize = 10;

fn features(values: &[f64], steps: &[Step], g: Granularity, t: usize, out: &mut [f64; FEATURES]) {
    let s = g.season();
    let w = g.max_horizon();
    let lag = |back: usize| -> f64 {
        if t >= back {
            values[t - back]
        } else {
            f64::NAN
        }
    };
    // The same step in the four weeks before the horizon.
    let first = w.div_ceil(s) * s;
    for (k, slot) in out.iter_mut().take(4).enumerate() {
        *slot = lag(first + k * s);
    }
    // The level: the mean of the season ending `w` steps back.
    out[4] = if t >= w + s {
        values[t - w - s..t - w].iter().sum::<f64>() / s as f64
    } else {
        f64::NAN
    };
    let step = steps[t];
    out[5] = step.weekday as f64;
    out[6] = step.hour as f64;
    // No day-of-year: with a year or less of history the trees would read a date they never saw as
    // the nearest one they did (the year-ago lag carries the yearly pattern instead).
    out[7] = if step.holiday { 1.0 } else { 0.0 };
    // A year ago (days), or a day before the horizon (hours).
    out[8] = match g {
        Granularity::Daily => lag(364),
        Granularity::Hourly => lag(w + g.day()),
    };
    // The same step's ratio to its level four weeks before: the shape of the week.
    out[9] = if out[4].is_finite() && out[4] > 0.0 {
        out[0] / out[4]
    } else {
        f64::NAN
    };
}

fn booster() -> GradientBooster {
    GradientBooster::default()
        .set_objective_type(ObjectiveType::SquaredLoss)
        .set_iterations(40)
        .set_learning_rate(0.15)
        .set_max_depth(4)
        .set_nbins(32)
        .set_min_leaf_weight(3.0)
        .set_initialize_base_score(true)
        .set_parallel(false)
        .set_num_threads(Some(1))
        .set_seed(7)
        .set_missing(f64::NAN)
}

fn fit_boosted(series: &Series) -> Result<GradientBooster> {
    let g = series.granularity;
    let values = series.filled();
    let first = training_start(series).max(g.max_horizon() + g.season());
    let rows: Vec<usize> = (first..series.len())
        .filter(|&t| series.steps[t].open)
        .collect();
    if rows.len() < 2 * g.season() {
        return Err(ForecastError::NotEnoughHistory {
            needed: first + 2 * g.season(),
            have: series.len(),
        });
    }
    let mut data = vec![0.0; rows.len() * FEATURES];
    let mut row = [0.0; FEATURES];
    for (i, &t) in rows.iter().enumerate() {
        features(&values, series.steps, g, t, &mut row);
        for (j, v) in row.iter().enumerate() {
            data[j * rows.len() + i] = *v;
        }
    }
    let y: Vec<f64> = rows.iter().map(|&t| series.values[t]).collect();
    let matrix = Matrix::new(&data, rows.len(), FEATURES);
    let mut model = booster();
    model
        .fit_unweighted(&matrix, &y, None)
        .map_err(model_error)?;
    Ok(model)
}

fn forecast_boosted(model: &GradientBooster, series: &Series, h: usize) -> Vec<f64> {
    let g = series.granularity;
    let n = series.len();
    // The history, followed by the future steps (never read: features look back `max_horizon` steps).
    let mut values = series.filled();
    values.resize(n + h, f64::NAN);
    let mut data = vec![0.0; h * FEATURES];
    let mut row = [0.0; FEATURES];
    for k in 0..h {
        features(&values, series.steps, g, n + k, &mut row);
        for (j, v) in row.iter().enumerate() {
            data[j * h + k] = *v;
        }
    }
    model.predict(&Matrix::new(&data, h, FEATURES), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn week_pattern(days: usize) -> (Vec<f64>, Vec<Step>) {
        let steps: Vec<Step> = (0..days + 28)
            .map(|i| Step {
                open: true,
                weekday: (i % 7) as u8,
                hour: 0,
                day_of_year: (i % 365 + 1) as u16,
                holiday: false,
            })
            .collect();
        let values = (0..days)
            .map(|i| [20.0, 22.0, 25.0, 30.0, 45.0, 60.0, 40.0][i % 7] + (i % 3) as f64)
            .collect();
        (values, steps)
    }

    #[test]
    fn naive_methods_repeat_the_week() {
        let (values, steps) = week_pattern(35);
        let series = Series::new(Granularity::Daily, &values, &steps).unwrap();
        let naive = forecast(&Fitted::SeasonalNaive, &series, 14).unwrap();
        for k in 0..14 {
            assert_eq!(naive[k], values[35 - 7 + k % 7], "step {k}");
        }
        let mean = forecast(&Fitted::WeekdayMean, &series, 7).unwrap();
        for (k, m) in mean.iter().enumerate() {
            let want = (1..=4).map(|w| values[35 + k - 7 * w]).sum::<f64>() / 4.0;
            assert!((m - want).abs() < 1e-9, "step {k}: {m} vs {want}");
        }
    }

    #[test]
    fn every_method_learns_a_weekly_pattern() {
        let (values, steps) = week_pattern(400);
        let series = Series::new(Granularity::Daily, &values, &steps).unwrap();
        for method in Method::ALL {
            let fitted = fit(method, &series).unwrap();
            let f = forecast(&fitted, &series, 28).unwrap();
            let weekday = |k: usize| [20.0, 22.0, 25.0, 30.0, 45.0, 60.0, 40.0][(400 + k) % 7];
            let mae = f
                .iter()
                .enumerate()
                .map(|(k, v)| (v - weekday(k)).abs())
                .sum::<f64>()
                / 28.0;
            assert!(
                mae < 4.0,
                "{method:?} is {mae} off a plain weekly pattern: {f:?}"
            );
        }
    }

    #[test]
    fn fitted_models_survive_a_round_trip_through_json() {
        let (values, steps) = week_pattern(200);
        let series = Series::new(Granularity::Daily, &values, &steps).unwrap();
        let fitted = fit(Method::Ensemble, &series).unwrap();
        let before = forecast(&fitted, &series, 10).unwrap();
        let json = serde_json::to_string(&fitted).unwrap();
        let back: Fitted = serde_json::from_str(&json).unwrap();
        assert_eq!(forecast(&back, &series, 10).unwrap(), before);
    }

    #[test]
    fn too_short_histories_are_refused_not_guessed() {
        let (values, steps) = week_pattern(10);
        let series = Series::new(Granularity::Daily, &values, &steps).unwrap();
        assert!(matches!(
            fit(Method::Boosted, &series),
            Err(ForecastError::NotEnoughHistory { .. })
        ));
        assert!(fit(Method::SeasonalNaive, &series).is_ok());
    }
}
