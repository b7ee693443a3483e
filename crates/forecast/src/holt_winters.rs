//! Seasonal exponential smoothing with additive errors and seasons (Holt-Winters: ETS(A,N,A) and
//! ETS(A,Ad,A)), the forms statsforecast's AutoETS picks most often for restaurant days (its undamped
//! trend, ETS(A,A,A), carried a month ahead, did worse on the real logs than either). augurs' ETS has no
//! seasonal forms, so it is written here. For short seasons (a week of days) the initial level,
//! trend and seasonal states are estimated with the smoothing parameters by least squares (Nelder-Mead,
//! argmin), as in the state-space formulation of Hyndman et al.; for long ones (a week of hours) they
//! come from the first seasons. The form is chosen by AICc.

use crate::customers::minimise_within;

/// The longest season whose initial states are estimated (beyond, they are read off the first seasons).
const ESTIMATED_STATES_UP_TO: usize = 24;

/// Nelder-Mead stops when the simplex's mean squared errors (in units of the series' variance) differ
/// by less than this, or after so many iterations.
const TOLERANCE: f64 = 1e-6;
const MAX_ITERS: u64 = 2000;

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trend {
    None,
    Damped,
}

impl Trend {
    fn parameters(self) -> usize {
        match self {
            Trend::None => 2,
            Trend::Damped => 4,
        }
    }
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
    /// [0.8, 0.98] (1 without a trend).
    fn from(p: &[f64], trend: Trend) -> Params {
        let alpha = 0.0001 + 0.9998 * logistic(p[0]);
        let gamma = (1.0 - alpha) * logistic(p[1]);
        let (beta, phi) = match trend {
            Trend::None => (0.0, 1.0),
            Trend::Damped => (alpha * logistic(p[2]), 0.8 + 0.18 * logistic(p[3])),
        };
        Params {
            alpha,
            beta,
            gamma,
            phi,
        }
    }
}

/// Initial states: level, trend and one seasonal value per step of the season (summing to 0).
#[derive(Clone, Debug)]
struct States {
    level: f64,
    trend: f64,
    season: Vec<f64>,
}

impl States {
    /// Read off the first two seasons: the first season's mean, the change to the second, the first
    /// season's deviations.
    fn heuristic(y: &[f64], m: usize, trend: Trend) -> States {
        let first: f64 = y[..m].iter().sum::<f64>() / m as f64;
        let second: f64 = y[m..2 * m].iter().sum::<f64>() / m as f64;
        States {
            level: first,
            trend: if trend == Trend::None {
                0.0
            } else {
                (second - first) / m as f64
            },
            season: y[..m].iter().map(|v| v - first).collect(),
        }
    }

    /// As free values in units of `size`: level, trend, and all seasonal values but the last.
    fn encode(&self, size: f64) -> Vec<f64> {
        let mut out = vec![self.level / size, self.trend / size];
        out.extend(
            self.season[..self.season.len() - 1]
                .iter()
                .map(|v| v / size),
        );
        out
    }

    fn decode(p: &[f64], m: usize, size: f64, trend: Trend) -> States {
        let mut season: Vec<f64> = p[2..2 + m - 1].iter().map(|v| v * size).collect();
        season.push(-season.iter().sum::<f64>());
        States {
            level: p[0] * size,
            trend: if trend == Trend::None {
                0.0
            } else {
                p[1] * size
            },
            season,
        }
    }
}

/// Runs the recursions over `y` from `states` (at step `from`: 0 with estimated states, `m` with states
/// read off the first season); returns the sum of squared one-step errors and the final states.
fn run(
    y: &[f64],
    m: usize,
    p: Params,
    trend: Trend,
    mut states: States,
    from: usize,
) -> (f64, States) {
    let mut sse = 0.0;
    for (t, v) in y.iter().enumerate().skip(from) {
        let s = states.season[t % m];
        let damped_trend = p.phi * states.trend;
        let e = v - (states.level + damped_trend + s);
        sse += e * e;
        states.level += damped_trend + p.alpha * e;
        if trend != Trend::None {
            states.trend = damped_trend + p.beta * e;
        }
        states.season[t % m] = s + p.gamma * e;
    }
    (sse, states)
}

/// Forecasts `h` steps after `y` (season `m`), choosing between no trend and a damped one by AICc.
/// None when the series is shorter than three seasons.
pub fn forecast(y: &[f64], m: usize, h: usize) -> Option<Vec<f64>> {
    let n = y.len();
    if m < 2 || n < 3 * m {
        return None;
    }
    let estimate_states = m <= ESTIMATED_STATES_UP_TO;
    let mean = y.iter().sum::<f64>() / n as f64;
    let size = (y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64)
        .sqrt()
        .max(1e-6);
    let from = if estimate_states { 0 } else { m };
    let mut best: Option<(f64, Vec<f64>)> = None;
    for trend in [Trend::None, Trend::Damped] {
        let smoothing = trend.parameters();
        let mut start = vec![0.0, -2.0, -2.0, 1.0];
        start.truncate(smoothing);
        let heuristic = States::heuristic(y, m, trend);
        if estimate_states {
            start.extend(heuristic.encode(size));
        }
        let states_of = |p: &[f64]| {
            if estimate_states {
                States::decode(&p[smoothing..], m, size, trend)
            } else {
                heuristic.clone()
            }
        };
        // The cost in units of the series' variance, so one tolerance suits every scale.
        let unit = (n - from) as f64 * size * size;
        let Ok(found) = minimise_within(
            |p| run(y, m, Params::from(p, trend), trend, states_of(p), from).0 / unit,
            start,
            TOLERANCE,
            MAX_ITERS,
        ) else {
            continue;
        };
        let params = Params::from(&found, trend);
        let (sse, last) = run(y, m, params, trend, states_of(&found), from);
        let fitted = (n - from) as f64;
        let states = if trend == Trend::None { 1 } else { 2 } + m - 1;
        let k = (smoothing + states + 1) as f64;
        if sse <= 0.0 || fitted <= k + 1.0 {
            continue;
        }
        let aicc =
            fitted * (sse / fitted).ln() + 2.0 * k + 2.0 * k * (k + 1.0) / (fitted - k - 1.0);
        let mut path = Vec::with_capacity(h);
        let mut damping = 0.0;
        let mut power = 1.0;
        for step in 1..=h {
            power *= params.phi;
            damping += power;
            path.push(last.level + damping * last.trend + last.season[(n + step - 1) % m]);
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

    #[test]
    fn a_linear_trend_is_followed_and_damped() {
        let shape = [0.0, 3.0, -2.0, 5.0, 1.0, -4.0, -3.0];
        let y: Vec<f64> = (0..140)
            .map(|t| 20.0 + 0.5 * t as f64 + shape[t % 7])
            .collect();
        let f = forecast(&y, 7, 28).unwrap();
        let want = |t: usize| 20.0 + 0.5 * t as f64 + shape[t % 7];
        for (k, v) in f.iter().enumerate().take(7) {
            assert!(
                (v - want(140 + k)).abs() < 1.0,
                "step {k}: {v} vs {}",
                want(140 + k)
            );
        }
        // A week later the forecast is still higher, by less than the straight line would be.
        let rise = f[27] - f[20];
        assert!(rise > 1.0 && rise < 3.5 + 1e-9, "{rise}");
    }
}
