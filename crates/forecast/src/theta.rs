//! The standard Theta method (Assimakopoulos and Nikolopoulos, 2000, in the form of Hyndman and Billah,
//! 2003): the series is deseasonalised by classical decomposition, forecast by simple exponential
//! smoothing with half the slope of its linear trend added, and reseasonalised. It is simple and, on daily
//! restaurant demand, often the strongest of the classical methods.

/// Seasonal indices by classical decomposition: the ratio (or, with zeros in the data, the difference)
/// of each value to its centred moving average, averaged per position in the season and normalised.
/// Returns (indices, multiplicative).
fn seasonal_indices(y: &[f64], s: usize) -> (Vec<f64>, bool) {
    let n = y.len();
    let multiplicative = y.iter().all(|v| *v > 0.0);
    let neutral = if multiplicative { 1.0 } else { 0.0 };
    if s < 2 || n < 2 * s {
        return (vec![neutral; s.max(1)], multiplicative);
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
    (indices, multiplicative)
}

/// Simple exponential smoothing's final level for `alpha` and its sum of squared one-step errors.
fn ses(x: &[f64], alpha: f64) -> (f64, f64) {
    let mut level = x[0];
    let mut sse = 0.0;
    for v in &x[1..] {
        let e = v - level;
        sse += e * e;
        level += alpha * e;
    }
    (level, sse)
}

/// Forecasts `h` steps after `y` (season `s`).
pub fn forecast(y: &[f64], s: usize, h: usize) -> Vec<f64> {
    let n = y.len();
    if n < 3 {
        let last = y.last().copied().unwrap_or(0.0);
        return vec![last; h];
    }
    let (indices, multiplicative) = seasonal_indices(y, s);
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
    // Alpha by least one-step squared error: a coarse grid, then a finer one around the best.
    let mut best = (0.5, f64::INFINITY);
    for i in 1..20 {
        let a = i as f64 * 0.05;
        let (_, sse) = ses(&x, a);
        if sse < best.1 {
            best = (a, sse);
        }
    }
    let centre = best.0;
    for i in -9..=9 {
        let a = (centre + i as f64 * 0.005).clamp(0.001, 0.999);
        let (_, sse) = ses(&x, a);
        if sse < best.1 {
            best = (a, sse);
        }
    }
    let alpha = best.0;
    let (level, _) = ses(&x, alpha);
    // The slope of the least-squares line through the deseasonalised series.
    let nf = n as f64;
    let mean_t = (nf - 1.0) / 2.0;
    let mean_x = x.iter().sum::<f64>() / nf;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (t, v) in x.iter().enumerate() {
        let dt = t as f64 - mean_t;
        sxy += dt * (v - mean_x);
        sxx += dt * dt;
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let decay = (1.0 - alpha).powf(nf);
    (1..=h)
        .map(|k| {
            let drift = 0.5 * slope * ((k as f64 - 1.0) + 1.0 / alpha - decay / alpha);
            let value = level + drift;
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
}
