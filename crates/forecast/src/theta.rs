//! The Theta method in its four state-space forms (Fiorucci, Pellegrini, Louzada, Petropoulos and
//! Koehler, 2016): the standard Theta model (θ = 2), the optimised one (θ estimated), and their dynamic
//! versions, whose trend line is re-estimated step by step instead of once over the whole history. As
//! in the usual "auto" Theta, the series is first tested for weekly seasonality (the autocorrelation at
//! one season against its standard error) and, when seasonal, deseasonalised by classical decomposition
//! (multiplicative, or additive where the data has zeros); each form's level, smoothing and θ are
//! estimated by least one-step squared error, and the form with the least error forecasts.

use crate::customers::minimise;

/// The one-sided 95% point of the standard normal: the seasonality test's threshold.
const Z_95: f64 = 1.644854;

/// Seasonal indices by classical decomposition: the ratio (or, with zeros in the data, the difference)
/// of each value to its centred moving average, averaged per position in the season and normalised.
/// Returns (indices, multiplicative).
fn seasonal_indices(y: &[f64], s: usize) -> (Vec<f64>, bool) {
    let multiplicative = y.iter().all(|v| *v > 0.0);
    let indices = decompose(y, s, multiplicative);
    // Ratios near zero would blow up the deseasonalised series: additive then.
    if multiplicative && indices.iter().any(|v| *v < 0.01) {
        return (decompose(y, s, false), false);
    }
    (indices, multiplicative)
}

fn decompose(y: &[f64], s: usize, multiplicative: bool) -> Vec<f64> {
    let n = y.len();
    let neutral = if multiplicative { 1.0 } else { 0.0 };
    if s < 2 || n < 2 * s {
        return vec![neutral; s.max(1)];
    }
    // Centred moving average: plain for an odd season, 2 x s for an even one.
    let half = s / 2;
    let mut sums = vec![0.0; s];
    let mut counts = vec![0usize; s];
    for t in half..n - half {
        let trend = if s % 2 == 1 {
            y[t - half..=t + half].iter().sum::<f64>() / s as f64
        } else {
            if t + half >= n {
                continue;
            }
            (y[t - half..t + half].iter().sum::<f64>()
                + y[t - half + 1..=t + half].iter().sum::<f64>())
                / (2 * s) as f64
        };
        let detrended = if multiplicative {
            if trend <= 0.0 {
                continue;
            }
            y[t] / trend
        } else {
            y[t] - trend
        };
        sums[t % s] += detrended;
        counts[t % s] += 1;
    }
    let mut indices: Vec<f64> = sums
        .iter()
        .zip(&counts)
        .map(|(sum, c)| if *c > 0 { sum / *c as f64 } else { neutral })
        .collect();
    let mean = indices.iter().sum::<f64>() / s as f64;
    for v in indices.iter_mut() {
        if multiplicative {
            *v /= mean;
        } else {
            *v -= mean;
        }
    }
    indices
}

/// Whether the series is seasonal with period `s`: its autocorrelation at lag `s` is significant at
/// 90% (two-sided) against Bartlett's standard error from the lower lags.
pub fn is_seasonal(y: &[f64], s: usize) -> bool {
    let n = y.len();
    if s < 4 || n < 2 * s {
        return false;
    }
    let mean = y.iter().sum::<f64>() / n as f64;
    let denominator: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    if denominator <= 0.0 {
        return false;
    }
    let acf = |k: usize| {
        (k..n)
            .map(|t| (y[t] - mean) * (y[t - k] - mean))
            .sum::<f64>()
            / denominator
    };
    let lower: f64 = (1..s).map(|k| acf(k).powi(2)).sum();
    let error = ((1.0 + 2.0 * lower) / n as f64).sqrt();
    acf(s).abs() / error > Z_95
}

/// The four forms of the Theta model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    /// θ = 2, the trend line fitted once over the whole history.
    Standard,
    /// θ estimated, the trend line fitted once.
    Optimised,
    /// θ = 2, the trend line re-fitted at every step.
    DynamicStandard,
    /// θ estimated, the trend line re-fitted at every step.
    DynamicOptimised,
}

impl Form {
    const ALL: [Form; 4] = [
        Form::Standard,
        Form::Optimised,
        Form::DynamicStandard,
        Form::DynamicOptimised,
    ];

    fn dynamic(self) -> bool {
        matches!(self, Form::DynamicStandard | Form::DynamicOptimised)
    }

    fn optimises_theta(self) -> bool {
        matches!(self, Form::Optimised | Form::DynamicOptimised)
    }
}

/// Where a run of the model ends: what its forecasts start from.
struct State {
    mse: f64,
    level: f64,
    /// Intercept and slope of the trend line (the last ones, for a dynamic form).
    a: f64,
    b: f64,
}

/// The least-squares line through `x` against t = 1..n: (intercept, slope).
fn trend_line(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean_t = (n + 1.0) / 2.0;
    let mean_x = x.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, v) in x.iter().enumerate() {
        let dt = (i + 1) as f64 - mean_t;
        sxy += dt * (v - mean_x);
        sxx += dt * dt;
    }
    let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (mean_x - b * mean_t, b)
}

/// Runs the model over `x` from the initial level `level`: its one-step squared error and final state.
fn run(x: &[f64], form: Form, level: f64, alpha: f64, theta: f64) -> State {
    let weight = 1.0 - 1.0 / theta;
    let (mut a, mut b) = if form.dynamic() {
        (0.0, 0.0)
    } else {
        trend_line(x)
    };
    let mut level = level;
    let mut mean = 0.0;
    let mut decay = 1.0; // (1 - alpha)^(t - 1)
    let mut sse = 0.0;
    let mut counted = 0usize;
    for (i, y) in x.iter().enumerate() {
        let t = (i + 1) as f64;
        // The one-step forecast of step t from what was known after t - 1.
        let mu = if form.dynamic() && i < 2 {
            // Too few steps for a trend line yet.
            level
        } else {
            level + weight * (decay * a + (1.0 - decay * (1.0 - alpha)) / alpha * b)
        };
        let e = y - mu;
        if i > 0 {
            sse += e * e;
            counted += 1;
        }
        level = alpha * y + (1.0 - alpha) * level;
        decay *= 1.0 - alpha;
        if form.dynamic() {
            // The least-squares line through the first t values, updated from the first t - 1.
            let previous_mean = mean;
            mean = ((t - 1.0) * mean + y) / t;
            b = if i == 0 {
                0.0
            } else {
                ((t - 2.0) * b + 6.0 * (y - previous_mean) / t) / (t + 1.0)
            };
            a = mean - (t + 1.0) / 2.0 * b;
        }
    }
    State {
        mse: if counted > 0 {
            sse / counted as f64
        } else {
            f64::INFINITY
        },
        level,
        a,
        b,
    }
}

/// A fitted form: its parameters and final state.
struct Fit {
    alpha: f64,
    theta: f64,
    state: State,
}

fn fit(x: &[f64], form: Form) -> Option<Fit> {
    // Unconstrained parameters: level in units of the series' mean size, alpha in (0.1, 0.99) and
    // theta >= 1 through smooth maps, as the published estimator bounds them.
    let size = (x.iter().map(|v| v.abs()).sum::<f64>() / x.len() as f64).max(1e-9);
    let alpha_of = |p: f64| 0.1 + 0.89 / (1.0 + (-p).exp());
    let theta_of = |p: f64| 1.0 + p.exp();
    let params = |p: &[f64]| {
        let theta = if form.optimises_theta() {
            theta_of(p[2])
        } else {
            2.0
        };
        (p[0] * size, alpha_of(p[1]), theta)
    };
    // Start: level x[0], alpha 0.5, theta 2.
    let mut start = vec![x[0] / size, 0.0];
    if form.optimises_theta() {
        start.push(0.0);
    }
    let found = minimise(
        |p| {
            let (level, alpha, theta) = params(p);
            run(x, form, level, alpha, theta).mse
        },
        start,
    )
    .ok()?;
    let (level, alpha, theta) = params(&found);
    let state = run(x, form, level, alpha, theta);
    state.mse.is_finite().then_some(Fit {
        alpha,
        theta,
        state,
    })
}

/// Forecasts `h` steps after `y` (season `s`).
pub fn forecast(y: &[f64], s: usize, h: usize) -> Vec<f64> {
    let n = y.len();
    if n < 4 {
        let last = y.last().copied().unwrap_or(0.0);
        return vec![last; h];
    }
    let first = y[0];
    if y.iter().all(|v| *v == first) {
        return vec![first; h];
    }
    let (indices, multiplicative) = if is_seasonal(y, s) {
        seasonal_indices(y, s)
    } else {
        (vec![0.0; s.max(1)], false)
    };
    let index = |t: usize| indices[t % indices.len()];
    let x: Vec<f64> = y
        .iter()
        .enumerate()
        .map(|(t, v)| {
            if multiplicative {
                v / index(t)
            } else {
                v - index(t)
            }
        })
        .collect();
    let best = Form::ALL
        .into_iter()
        .filter_map(|form| fit(&x, form))
        .min_by(|a, b| a.state.mse.total_cmp(&b.state.mse));
    let Some(Fit {
        alpha,
        theta,
        state,
    }) = best
    else {
        let last = x[n - 1];
        return (0..h)
            .map(|k| {
                let t = n + k;
                if multiplicative {
                    last * index(t)
                } else {
                    last + index(t)
                }
            })
            .collect();
    };
    let weight = 1.0 - 1.0 / theta;
    let decay = (1.0 - alpha).powf(n as f64);
    (1..=h)
        .map(|k| {
            let value = state.level
                + weight
                    * (decay * state.a
                        + ((k as f64 - 1.0) + (1.0 - decay * (1.0 - alpha)) / alpha) * state.b);
            let t = n + k - 1;
            if multiplicative {
                value * index(t)
            } else {
                value + index(t)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seasonal_series_with_a_trend_is_continued() {
        let shape = [1.0, 1.2, 0.8, 1.5, 0.5, 1.1, 0.9];
        let y: Vec<f64> = (0..140)
            .map(|t| (50.0 + 0.5 * t as f64) * shape[t % 7])
            .collect();
        let f = forecast(&y, 7, 14);
        for (k, v) in f.iter().enumerate() {
            let t = 140 + k;
            let want = (50.0 + 0.5 * t as f64) * shape[t % 7];
            assert!((v - want).abs() / want < 0.05, "step {k}: {v} vs {want}");
        }
    }

    #[test]
    fn zeros_use_additive_seasons_and_short_series_repeat_their_last_value() {
        let y: Vec<f64> = (0..70)
            .map(|t| if t % 7 == 0 { 0.0 } else { 10.0 })
            .collect();
        let f = forecast(&y, 7, 7);
        assert!(f[0].abs() < 1.5, "{f:?}");
        assert!((f[1] - 10.0).abs() < 1.5, "{f:?}");
        assert_eq!(forecast(&[3.0, 4.0], 7, 2), vec![4.0, 4.0]);
    }

    #[test]
    fn the_dynamic_trend_line_is_the_least_squares_line_of_the_history_so_far() {
        let x = [3.0, 5.0, 4.0, 8.0, 9.0, 7.0, 12.0];
        let state = run(&x, Form::DynamicStandard, 3.0, 0.5, 2.0);
        let (a, b) = trend_line(&x);
        assert!((state.a - a).abs() < 1e-9, "{} vs {a}", state.a);
        assert!((state.b - b).abs() < 1e-9, "{} vs {b}", state.b);
    }

    #[test]
    fn a_series_without_weekly_pattern_is_not_deseasonalised() {
        // Noise of no period around a constant level: no season to find.
        let mut state = 7u64;
        let y: Vec<f64> = (0..200)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                20.0 + ((state >> 33) % 10) as f64
            })
            .collect();
        assert!(!is_seasonal(&y, 7));
        let weekly: Vec<f64> = (0..200)
            .map(|t| y[t] + [5.0, 9.0, 2.0, 7.0, 7.0, 3.0, 1.0][t % 7])
            .collect();
        assert!(is_seasonal(&weekly, 7));
    }
}
