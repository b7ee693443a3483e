//! Rolling-origin backtests: every candidate is fitted at several origins, each followed by one window
//! of the longest horizon (28 days, or 168 hours), and scored by MASE against the seasonal naive
//! forecast's in-sample error. The candidate with the lowest mean MASE is chosen for the series, and its
//! backtest residuals calibrate the intervals of its forecasts.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::calendar::{Granularity, Series};
use crate::methods::{self, Fitted, Method};
use crate::{ForecastError, Result};

/// Backtest windows when the caller does not say.
pub const DEFAULT_WINDOWS: usize = 4;

/// The most members an ensemble averages: the best of the candidates that forecast every window.
pub const ENSEMBLE_SIZE: usize = 3;

/// How one candidate did over the backtest windows.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CandidateScore {
    pub method: Method,
    /// Mean absolute scaled error, averaged over the windows (below 1: better than the seasonal naive
    /// forecast's in-sample error).
    pub mase: f64,
    /// Symmetric mean absolute percentage error, in percent.
    pub smape: f64,
    /// Share of actual values inside the 80% and 95% intervals, each window's intervals calibrated on
    /// the other windows only.
    pub coverage_80: f64,
    pub coverage_95: f64,
    /// Mean time to fit and forecast one window, in milliseconds.
    pub fit_ms: f64,
}

/// The outcome of a backtest.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Backtest {
    pub granularity: Granularity,
    pub windows: usize,
    pub horizon: usize,
    /// Every candidate that could forecast every window, in [`Method::ALL`] order.
    pub candidates: Vec<CandidateScore>,
    pub chosen: Method,
    /// The methods the ensemble averaged (those that forecast every window).
    #[serde(default)]
    pub ensemble_members: Vec<Method>,
}

impl Backtest {
    pub fn score(&self, method: Method) -> Option<&CandidateScore> {
        self.candidates.iter().find(|c| c.method == method)
    }

    /// The chosen candidate's score.
    pub fn chosen_score(&self) -> &CandidateScore {
        self.score(self.chosen)
            .expect("the chosen method is one of the candidates")
    }
}

/// Quantiles (2.5%, 10%, 90%, 97.5%) of backtest errors, each divided by the square root of its
/// forecast (at least 1): errors of counts grow with the count, like a Poisson variable's.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct Intervals {
    pub quantiles: [f64; 4],
}

impl Intervals {
    /// What a Poisson count would give, for models with no backtest to calibrate on.
    pub const POISSON: Intervals = Intervals {
        quantiles: [-1.959964, -1.281552, 1.281552, 1.959964],
    };

    fn from_residuals(residuals: &mut [f64]) -> Intervals {
        if residuals.len() < 8 {
            return Intervals::POISSON;
        }
        residuals.sort_by(f64::total_cmp);
        Intervals {
            quantiles: [0.025, 0.10, 0.90, 0.975].map(|q| quantile(residuals, q)),
        }
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn scale(f: f64) -> f64 {
    f.max(1.0).sqrt()
}

/// A forecast with its intervals, one value per step.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Forecast {
    pub mean: Vec<f64>,
    pub lower_80: Vec<f64>,
    pub upper_80: Vec<f64>,
    pub lower_95: Vec<f64>,
    pub upper_95: Vec<f64>,
}

impl Forecast {
    fn from_raw(raw: &[f64], series: &Series, intervals: &Intervals) -> Forecast {
        let n = series.len();
        let mut out = Forecast::default();
        for (k, m) in clean(raw, series).into_iter().enumerate() {
            let open = series.steps[n + k].open;
            let band = |q: f64| {
                if open {
                    (m + q * scale(m)).max(0.0)
                } else {
                    0.0
                }
            };
            let [q025, q10, q90, q975] = intervals.quantiles;
            out.mean.push(m);
            out.lower_95.push(band(q025).min(m));
            out.lower_80.push(band(q10).min(m));
            out.upper_80.push(band(q90).max(m));
            out.upper_95.push(band(q975).max(m));
        }
        out
    }
}

/// A fitted model with calibrated intervals: what the registry stores.
#[derive(Debug, Serialize, Deserialize)]
pub struct Model {
    pub granularity: Granularity,
    pub fitted: Fitted,
    pub intervals: Intervals,
    /// The forecast made when the model was trained, kept with it (see [`Model::with_path`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Path>,
}

/// A forecast from the end of the training history, a day longer than the longest horizon, with the
/// calendar it was made on: an answer from an origin within that day is a slice of it, with no fitting.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Path {
    /// The start of each step, in whatever unit the caller keys steps by (seconds since 1970 in Brigade).
    pub starts: Vec<i64>,
    /// Open or closed, as the calendar said when the path was made.
    pub open: Vec<bool>,
    pub forecast: Forecast,
}

impl Model {
    /// The rule-based model of the fallback chain (the mean of the last 4 same weekdays or hours).
    pub fn rule_based(granularity: Granularity) -> Model {
        Model {
            granularity,
            fitted: Fitted::WeekdayMean,
            intervals: Intervals::POISSON,
            path: None,
        }
    }

    /// Keeps the forecast from the end of `series`' history for the longest horizon and a day more
    /// (`starts`: each future step's key, as many as the calendar has). Past the longest horizon, lag
    /// features would read the future: an ensemble averages its other members there, and the boosted
    /// model alone gets no path.
    pub fn with_path(mut self, series: &Series, starts: &[i64]) -> Model {
        let g = series.granularity;
        let n = series.len();
        let h = (g.max_horizon() + g.day()).min(series.steps.len().saturating_sub(n));
        if h < g.max_horizon() || starts.len() < h {
            self.path = None;
            return self;
        }
        let raw = match &self.fitted {
            Fitted::Ensemble { members } if self.fitted.uses_lags() => {
                let mut sum = vec![0.0; h];
                let mut count = vec![0usize; h];
                let mut ok = true;
                for member in members {
                    let len = if member.uses_lags() {
                        g.max_horizon()
                    } else {
                        h
                    };
                    match methods::forecast(member, series, len) {
                        Ok(f) => {
                            for (k, v) in f.into_iter().enumerate() {
                                sum[k] += v.max(0.0);
                                count[k] += 1;
                            }
                        }
                        Err(_) => ok = false,
                    }
                }
                ok.then(|| {
                    sum.iter()
                        .zip(&count)
                        .map(|(s, c)| s / (*c).max(1) as f64)
                        .collect::<Vec<f64>>()
                })
            }
            fitted if fitted.uses_lags() => None,
            fitted => methods::forecast(fitted, series, h).ok(),
        };
        self.path = raw.map(|raw| Path {
            starts: starts[..h].to_vec(),
            open: series.steps[n..n + h].iter().map(|s| s.open).collect(),
            forecast: Forecast::from_raw(&raw, series, &self.intervals),
        });
        self
    }

    /// The `h` steps from the step keyed `first` out of the stored path, when it covers them and the
    /// calendar (`open`, from that step on) is still the one it was made on.
    pub fn from_path(&self, first: i64, open: &[bool], h: usize) -> Option<Forecast> {
        let path = self.path.as_ref()?;
        let i = path.starts.iter().position(|s| *s == first)?;
        if i + h > path.starts.len() || open.len() < h || path.open[i..i + h] != open[..h] {
            return None;
        }
        let f = &path.forecast;
        Some(Forecast {
            mean: f.mean[i..i + h].to_vec(),
            lower_80: f.lower_80[i..i + h].to_vec(),
            upper_80: f.upper_80[i..i + h].to_vec(),
            lower_95: f.lower_95[i..i + h].to_vec(),
            upper_95: f.upper_95[i..i + h].to_vec(),
        })
    }

    pub fn method(&self) -> Method {
        self.fitted.method()
    }

    /// Forecasts the `h` steps after `series`' history: never negative, zero on closed steps.
    pub fn forecast(&self, series: &Series, h: usize) -> Result<Forecast> {
        check_horizon(series.granularity, h)?;
        if series.granularity != self.granularity {
            return Err(ForecastError::Shape(format!(
                "a {:?} model cannot forecast a {:?} series",
                self.granularity, series.granularity
            )));
        }
        let raw = methods::forecast(&self.fitted, series, h)?;
        Ok(Forecast::from_raw(&raw, series, &self.intervals))
    }
}

fn check_horizon(g: Granularity, h: usize) -> Result<()> {
    if h == 0 || h > g.max_horizon() {
        return Err(ForecastError::Shape(format!(
            "the horizon is 1 to {} steps, not {h}",
            g.max_horizon()
        )));
    }
    Ok(())
}

/// The last fallback: the mean of the open steps of history on every open future step.
pub fn average_forecast(series: &Series, h: usize) -> Result<Forecast> {
    check_horizon(series.granularity, h)?;
    if series.steps.len() < series.len() + h {
        return Err(ForecastError::Shape(
            "the calendar is shorter than the horizon".into(),
        ));
    }
    let mean = methods::average(series);
    Ok(Forecast::from_raw(
        &vec![mean; h],
        series,
        &Intervals::POISSON,
    ))
}

/// One candidate's forecasts in every window (None where it could not forecast).
struct Run {
    method: Method,
    forecasts: Vec<Option<Vec<f64>>>,
    millis: Vec<f64>,
}

/// Backtests the candidates over `windows` windows ending at the end of the history (fewer when the
/// history is short) and chooses one.
pub fn backtest(
    series: &Series,
    candidates: &[Method],
    windows: usize,
) -> Result<(Backtest, Vec<Vec<f64>>)> {
    let g = series.granularity;
    let h = g.max_horizon();
    let s = g.season();
    let n = series.len();
    let possible = n.saturating_sub(s) / h;
    let windows = windows.min(possible);
    if windows == 0 {
        return Err(ForecastError::NotEnoughHistory {
            needed: s + h,
            have: n,
        });
    }
    let origins: Vec<usize> = (0..windows).map(|i| n - (windows - i) * h).collect();
    let base: Vec<Method> = Method::ALL
        .into_iter()
        .filter(|m| {
            *m != Method::Ensemble
                && (candidates.contains(m) || candidates.contains(&Method::Ensemble))
        })
        .collect();
    let mut runs: Vec<Run> = base
        .iter()
        .map(|&method| Run {
            method,
            forecasts: Vec::new(),
            millis: Vec::new(),
        })
        .collect();
    for &origin in &origins {
        let known = series.until(origin);
        for run in runs.iter_mut() {
            let started = Instant::now();
            let forecast = methods::fit(run.method, &known)
                .and_then(|fitted| methods::forecast(&fitted, &known, h))
                .ok()
                .map(|raw| clean(&raw, &known));
            run.millis.push(started.elapsed().as_secs_f64() * 1000.0);
            run.forecasts.push(forecast);
        }
    }
    let scales: Vec<f64> = origins
        .iter()
        .map(|&o| mase_scale(&series.until(o)))
        .collect();
    let mase_of = |forecasts: &[Vec<f64>]| {
        forecasts
            .iter()
            .enumerate()
            .map(|(w, f)| {
                let actual = &series.values[origins[w]..origins[w] + h];
                actual
                    .iter()
                    .zip(f)
                    .map(|(y, f)| (y - f).abs())
                    .sum::<f64>()
                    / h as f64
                    / scales[w]
            })
            .sum::<f64>()
            / forecasts.len() as f64
    };
    // The ensemble averages the best members (by their own backtest) among those that forecast every
    // window: at least two, at most ENSEMBLE_SIZE.
    let mut members: Vec<(&Run, f64)> = runs
        .iter()
        .filter(|r| methods::ENSEMBLE_MEMBERS.contains(&r.method))
        .filter_map(|r| {
            let forecasts = r.forecasts.iter().cloned().collect::<Option<Vec<_>>>()?;
            Some((r, mase_of(&forecasts)))
        })
        .collect();
    members.sort_by(|a, b| a.1.total_cmp(&b.1));
    members.truncate(ENSEMBLE_SIZE);
    let members: Vec<&Run> = members.into_iter().map(|(r, _)| r).collect();
    let ensemble_members: Vec<Method> = members.iter().map(|r| r.method).collect();
    if candidates.contains(&Method::Ensemble) && members.len() >= 2 {
        let mut ensemble = Run {
            method: Method::Ensemble,
            forecasts: Vec::new(),
            millis: Vec::new(),
        };
        for w in 0..windows {
            let parts: Vec<&Vec<f64>> = members
                .iter()
                .filter_map(|r| r.forecasts[w].as_ref())
                .collect();
            ensemble.forecasts.push(Some(
                (0..h)
                    .map(|k| parts.iter().map(|p| p[k]).sum::<f64>() / parts.len() as f64)
                    .collect(),
            ));
            ensemble
                .millis
                .push(members.iter().map(|r| r.millis[w]).sum());
        }
        runs.push(ensemble);
    }
    runs.retain(|r| candidates.contains(&r.method));

    let mut scores = Vec::new();
    let mut residuals_of = Vec::new();
    for run in &runs {
        let Some(forecasts) = run.forecasts.iter().cloned().collect::<Option<Vec<_>>>() else {
            continue;
        };
        let mut mase = 0.0;
        let mut smape = 0.0;
        let mut per_window = Vec::new();
        for (w, f) in forecasts.iter().enumerate() {
            let actual = &series.values[origins[w]..origins[w] + h];
            mase += actual
                .iter()
                .zip(f)
                .map(|(y, f)| (y - f).abs())
                .sum::<f64>()
                / h as f64
                / scales[w];
            smape += actual
                .iter()
                .zip(f)
                .map(|(y, f)| {
                    if y + f == 0.0 {
                        0.0
                    } else {
                        200.0 * (y - f).abs() / (y.abs() + f.abs())
                    }
                })
                .sum::<f64>()
                / h as f64;
            per_window.push(
                (0..h)
                    .filter(|&k| series.steps[origins[w] + k].open)
                    .map(|k| ((actual[k] - f[k]) / scale(f[k]), actual[k], f[k]))
                    .collect::<Vec<_>>(),
            );
        }
        let (coverage_80, coverage_95) = leave_one_out_coverage(&per_window);
        scores.push(CandidateScore {
            method: run.method,
            mase: mase / windows as f64,
            smape: smape / windows as f64,
            coverage_80,
            coverage_95,
            fit_ms: run.millis.iter().sum::<f64>() / windows as f64,
        });
        residuals_of.push(
            per_window
                .iter()
                .flatten()
                .map(|(r, _, _)| *r)
                .collect::<Vec<f64>>(),
        );
    }
    let best = scores
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| a.mase.total_cmp(&b.mase))
        .map(|(i, _)| i)
        .ok_or_else(|| ForecastError::Model("no candidate could forecast every window".into()))?;
    let chosen = scores[best].method;
    Ok((
        Backtest {
            granularity: g,
            windows,
            horizon: h,
            candidates: scores,
            chosen,
            ensemble_members,
        },
        residuals_of,
    ))
}

/// Clamps a raw forecast as answers are clamped: not negative, zero while closed.
fn clean(raw: &[f64], known: &Series) -> Vec<f64> {
    let n = known.len();
    raw.iter()
        .enumerate()
        .map(|(k, v)| {
            if known.steps[n + k].open && v.is_finite() {
                v.max(0.0)
            } else {
                0.0
            }
        })
        .collect()
}

/// The seasonal naive forecast's mean absolute in-sample error over the training part of the history:
/// the unit MASE divides by (1 when the history never changes from week to week).
fn mase_scale(known: &Series) -> f64 {
    let s = known.granularity.season();
    let start = known
        .len()
        .saturating_sub(known.granularity.max_training())
        .max(s);
    let diffs: Vec<f64> = (start..known.len())
        .map(|t| (known.values[t] - known.values[t - s]).abs())
        .collect();
    let mean = diffs.iter().sum::<f64>() / diffs.len().max(1) as f64;
    if mean > 0.0 { mean } else { 1.0 }
}

/// Interval coverage measured honestly: each window's intervals come from the other windows' residuals.
fn leave_one_out_coverage(per_window: &[Vec<(f64, f64, f64)>]) -> (f64, f64) {
    let mut inside_80 = 0usize;
    let mut inside_95 = 0usize;
    let mut total = 0usize;
    for (w, points) in per_window.iter().enumerate() {
        let mut others: Vec<f64> = if per_window.len() > 1 {
            per_window
                .iter()
                .enumerate()
                .filter(|(o, _)| *o != w)
                .flat_map(|(_, p)| p.iter().map(|(r, _, _)| *r))
                .collect()
        } else {
            points.iter().map(|(r, _, _)| *r).collect()
        };
        let q = Intervals::from_residuals(&mut others).quantiles;
        for &(_, y, f) in points {
            let within = |lo: f64, hi: f64| {
                let lower = (f + lo * scale(f)).max(0.0).min(f);
                let upper = (f + hi * scale(f)).max(f);
                y >= lower && y <= upper
            };
            inside_80 += within(q[1], q[2]) as usize;
            inside_95 += within(q[0], q[3]) as usize;
            total += 1;
        }
    }
    if total == 0 {
        return (f64::NAN, f64::NAN);
    }
    (
        inside_80 as f64 / total as f64,
        inside_95 as f64 / total as f64,
    )
}

/// Chooses a method for `series` by a backtest over `windows` windows, fits it on the whole history
/// and calibrates its intervals on its backtest residuals.
pub fn train(series: &Series, windows: usize) -> Result<(Model, Backtest)> {
    let (backtest, mut residuals) = backtest(series, &Method::ALL, windows)?;
    let index = backtest
        .candidates
        .iter()
        .position(|c| c.method == backtest.chosen)
        .expect("chosen among the candidates");
    let fitted = match backtest.chosen {
        Method::Ensemble => methods::fit_ensemble(series, &backtest.ensemble_members)?,
        other => methods::fit(other, series)?,
    };
    Ok((
        Model {
            granularity: series.granularity,
            fitted,
            intervals: Intervals::from_residuals(&mut residuals[index]),
            path: None,
        },
        backtest,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Step;

    /// A restaurant with a weekly pattern, a slow trend, noise and Mondays closed.
    fn restaurant(days: usize, seed: u64) -> (Vec<f64>, Vec<Step>) {
        let mut state = seed;
        let mut noise = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5
        };
        let steps: Vec<Step> = (0..days + 28)
            .map(|i| Step {
                open: i % 7 != 0,
                weekday: (i % 7) as u8,
                hour: 0,
                day_of_year: (i % 365 + 1) as u16,
                holiday: false,
            })
            .collect();
        let values = (0..days)
            .map(|i| {
                if i % 7 == 0 {
                    0.0
                } else {
                    let base = [0.0, 30.0, 32.0, 35.0, 50.0, 80.0, 60.0][i % 7]
                        * (1.0 + i as f64 / 2000.0);
                    (base + 12.0 * noise()).round().max(0.0)
                }
            })
            .collect();
        (values, steps)
    }

    #[test]
    fn a_stored_path_answers_later_origins_exactly_as_a_fresh_forecast_then_and_not_past_its_day() {
        let (values, mut steps) = restaurant(400, 3);
        // The calendar a day past the longest horizon, as Brigade extracts it for training.
        steps.push(Step {
            open: true,
            weekday: (428 % 7) as u8,
            hour: 0,
            day_of_year: (428 % 365 + 1) as u16,
            holiday: false,
        });
        let series = Series::new(Granularity::Daily, &values, &steps).unwrap();
        let starts: Vec<i64> = (0..29).map(|k| 1000 + k).collect();
        for fitted in [Fitted::Theta, Fitted::Ets, Fitted::WeekdayMean] {
            let model = Model {
                granularity: Granularity::Daily,
                fitted,
                intervals: Intervals::POISSON,
                path: None,
            }
            .with_path(&series, &starts);
            let path = model.path.clone().expect("a path");
            assert_eq!(path.starts.len(), 29, "28 days and one more");
            // From the training origin, the path is the forecast.
            let fresh = model.forecast(&series, 28).unwrap();
            let open: Vec<bool> = steps[400..].iter().map(|s| s.open).collect();
            assert_eq!(model.from_path(1000, &open, 28).unwrap(), fresh);
            // A day later, the 28 days from then.
            let later = model.from_path(1001, &open[1..], 28).unwrap();
            assert_eq!(later.mean[..27], fresh.mean[1..]);
            // Beyond its day, or on a calendar that changed since: no answer from the path.
            assert!(model.from_path(1002, &open[2..], 28).is_none());
            let mut changed = open.clone();
            changed[3] = !changed[3];
            assert!(model.from_path(1000, &changed, 28).is_none());
            assert!(model.from_path(999, &open, 28).is_none());
        }
        // Lag features cannot look past the longest horizon: no path for the boosted model alone.
        let (model, _) = train(&series, 2).unwrap();
        let boosted = Model {
            fitted: crate::methods::fit(Method::Boosted, &series).unwrap(),
            ..model
        }
        .with_path(&series, &starts);
        assert!(boosted.path.is_none());
    }

    #[test]
    fn the_backtest_chooses_a_model_that_beats_seasonal_naive_and_calibrates_intervals() {
        let (values, steps) = restaurant(3 * 365, 1);
        let series = Series::new(Granularity::Daily, &values, &steps).unwrap();
        let (model, backtest) = train(&series, 4).unwrap();
        assert_eq!(backtest.windows, 4);
        assert_eq!(backtest.candidates.len(), Method::ALL.len(), "{backtest:?}");
        let naive = backtest.score(Method::SeasonalNaive).unwrap().mase;
        let chosen = backtest.chosen_score();
        assert!(
            chosen.mase <= naive * 0.85,
            "chosen {:?} {} vs naive {naive}",
            chosen.method,
            chosen.mase
        );
        assert!(backtest.candidates.iter().all(|c| c.mase >= chosen.mase));
        assert!((0.6..=0.97).contains(&chosen.coverage_80), "{chosen:?}");
        let forecast = model.forecast(&series, 28).unwrap();
        for k in 0..28 {
            let open = steps[values.len() + k].open;
            assert!(forecast.mean[k] >= 0.0);
            if !open {
                assert_eq!(
                    forecast.upper_95[k], 0.0,
                    "closed day {k} forecasts nothing"
                );
            } else {
                assert!(forecast.mean[k] > 10.0);
                assert!(forecast.lower_95[k] <= forecast.lower_80[k]);
                assert!(forecast.lower_80[k] <= forecast.mean[k]);
                assert!(forecast.mean[k] <= forecast.upper_80[k]);
                assert!(forecast.upper_80[k] <= forecast.upper_95[k]);
            }
        }
    }

    #[test]
    fn short_histories_backtest_fewer_windows_or_none() {
        let (values, steps) = restaurant(60, 2);
        let series = Series::new(Granularity::Daily, &values, &steps).unwrap();
        let (backtest, _) = backtest(&series, &Method::ALL, 4).unwrap();
        assert_eq!(backtest.windows, 1);
        assert!(
            backtest.score(Method::Boosted).is_none(),
            "the boosted model needs more than 32 days"
        );
        let (values, steps) = restaurant(3, 2);
        let series = Series::new(Granularity::Daily, &values, &steps).unwrap();
        assert!(matches!(
            train(&series, 4),
            Err(ForecastError::NotEnoughHistory { .. })
        ));
        // The fallbacks still answer.
        let rule = Model::rule_based(Granularity::Daily).forecast(&series, 7);
        assert!(
            rule.is_err(),
            "not even a week of history: the rule needs one"
        );
        let average = average_forecast(&series, 7).unwrap();
        assert_eq!(average.mean.len(), 7);
        assert!(
            average
                .mean
                .iter()
                .zip(&steps[3..])
                .all(|(m, s)| (*m > 0.0) == s.open)
        );
    }

    #[test]
    fn horizons_beyond_the_longest_are_refused() {
        let (values, steps) = restaurant(100, 3);
        let series = Series::new(Granularity::Daily, &values, &steps).unwrap();
        let model = Model::rule_based(Granularity::Daily);
        assert!(model.forecast(&series, 29).is_err());
        assert!(model.forecast(&series, 0).is_err());
        assert!(model.forecast(&series, 28).is_ok());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::calendar::Step;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Whatever the history, every fallback and every trained model answers with forecasts that are
        /// not negative, are zero while closed and have ordered intervals.
        #[test]
        fn forecasts_are_never_negative_and_zero_while_closed(
            values in prop::collection::vec(0.0f64..200.0, 70..160),
            closed in prop::collection::vec(any::<bool>(), 188),
            h in 1usize..=28,
        ) {
            let steps: Vec<Step> = (0..values.len() + 28)
                .map(|i| Step { open: !closed[i] || i % 3 == 0, weekday: (i % 7) as u8, hour: 0, day_of_year: (i % 365 + 1) as u16, holiday: false })
                .collect();
            let series = Series::new(Granularity::Daily, &values, &steps).unwrap();
            let mut answers = vec![average_forecast(&series, h).unwrap(), Model::rule_based(Granularity::Daily).forecast(&series, h).unwrap()];
            if let Ok((model, _)) = train(&series, 2) {
                answers.push(model.forecast(&series, h).unwrap());
            }
            for f in answers {
                prop_assert_eq!(f.mean.len(), h);
                for k in 0..h {
                    prop_assert!(f.lower_95[k] >= 0.0 && f.lower_95[k] <= f.lower_80[k] && f.lower_80[k] <= f.mean[k]);
                    prop_assert!(f.mean[k] <= f.upper_80[k] && f.upper_80[k] <= f.upper_95[k]);
                    if !steps[values.len() + k].open {
                        prop_assert_eq!(f.upper_95[k], 0.0);
                    }
                }
            }
        }
    }
}
