//! Seasonal exponential smoothing with additive errors and seasons (Holt-Winters; ETS(A,N,A) and
//! ETS(A,Ad,A)), the form statsforecast's AutoETS picks most often for restaurant days. augurs' ETS has no
//! seasonal forms, so it is written here: parameters by least squares (Nelder-Mead, argmin), form by AICc.

use crate::customers::minimise;

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Smoothing parameters, each within its usual bounds.
#[derive(Clone, Copy, Debug)]
struct Params {
    alpha: f64,
    beta: f64,
    gamma: f64,
    phi: f64,
}

impl Params {
    /// From unconstrained values: alpha in (0, 1), beta in (0, alpha), gamma in (0, 1 - alpha), phi in
    /// [0.8, 0.98].
    fn from(p: &[f64], damped: bool) -> Params {
        let alpha = 0.001 + 0.998 * logistic(p[0]);
        let gamma = (1.0 - alpha) * logistic(p[1]);
        let (beta, phi) = if damped {
            (alpha * logistic(p[2]), 0.8 + 0.18 * logistic(p[3]))
        } else {
            (0.0, 0.0)
        };
        Params {
            alpha,
            beta,
            gamma,
            phi,
        }
    }
}

/// Runs the recursions over `y`; returns the sum of squared one-step errors and the final states.
fn run(y: &[f64], m: usize, p: Params, damped: bool) -> (f64, f64, f64, Vec<f64>) {
    let first: f64 = y[..m].iter().sum::<f64>() / m as f64;
    let second: f64 = y[m..2 * m].iter().sum::<f64>() / m as f64;
    let mut level = first;
    let mut trend = if damped {
        (second - first) / m as f64
    } else {
        0.0
    };
    let mut season: Vec<f64> = y[..m].iter().map(|v| v - first).collect();
    let mut sse = 0.0;
    for (t, v) in y.iter().enumerate().skip(m) {
        let s = season[t % m];
        let damped_trend = if damped { p.phi * trend } else { 0.0 };
        let e = v - (level + damped_trend + s);
        sse += e * e;
        level += damped_trend + p.alpha * e;
        if damped {
            trend = damped_trend + p.beta * e;
        }
        season[t % m] = s + p.gamma * e;
    }
    (sse, level, trend, season)
}

/// Forecasts `h` steps after `y` (season `m`), choosing between no trend and a damped trend by AICc.
/// None when the series is shorter than three seasons.
pub fn forecast(y: &[f64], m: usize, h: usize) -> Option<Vec<f64>> {
    let n = y.len();
    if m < 2 || n < 3 * m {
        return None;
    }
    let mut best: Option<(f64, Vec<f64>)> = None;
    for damped in [false, true] {
        let start = if damped {
            vec![0.0, -2.0, -2.0, 1.0]
        } else {
            vec![0.0, -2.0]
        };
        let Ok(found) = minimise(|p| run(y, m, Params::from(p, damped), damped).0, start) else {
            continue;
        };
        let params = Params::from(&found, damped);
        let (sse, level, trend, season) = run(y, m, params, damped);
        let fitted = (n - m) as f64;
        let k = if damped { 4.0 } else { 2.0 } + 1.0 + m as f64 + if damped { 1.0 } else { 0.0 };
        if sse <= 0.0 || fitted <= k + 1.0 {
            continue;
        }
        let aicc =
            fitted * (sse / fitted).ln() + 2.0 * k + 2.0 * k * (k + 1.0) / (fitted - k - 1.0);
        let mut path = Vec::with_capacity(h);
        let mut damping = 0.0;
        let mut power = 1.0;
        for step in 1..=h {
            if damped {
                power *= params.phi;
                damping += power;
            }
            path.push(level + damping * trend + season[(n + step - 1) % m]);
        }
        if best.as_ref().is_none_or(|(a, _)| aicc < *a) {
            best = Some((aicc, path));
        }
    }
    best.map(|(_, path)| path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_weekly_pattern_with_noise_is_continued() {
        let shape = [10.0, 12.0, 8.0, 15.0, 25.0, 30.0, 20.0];
        let y: Vec<f64> = (0..200)
            .map(|t| shape[t % 7] + ((t * 7919) % 5) as f64 - 2.0)
            .collect();
        let f = forecast(&y, 7, 14).unwrap();
        for (k, v) in f.iter().enumerate() {
            let want = shape[(200 + k) % 7];
            assert!((v - want).abs() < 2.5, "step {k}: {v} vs {want}");
        }
        assert!(forecast(&y[..20], 7, 7).is_none(), "under three seasons");
    }
}
