//! Kitchen prep times: how long a ticket line takes from being queued at its station to being ready.
//!
//! The model works on log seconds (prep times are skewed: a few lines take far longer than most), as a
//! sum of three parts:
//! - the item's own typical time: the median of its log times, or its station's when the item has
//!   fewer than [`MIN_ITEM_LINES`] lines;
//! - the load: a slope per line already open at the station when the line arrived;
//! - the hour of day: an effect per local hour, shrunk towards zero where an hour has few lines.
//!
//! Load and hour are fitted together by a few rounds of alternating least squares. Its 80% interval
//! comes from the 10% and 90% quantiles of the fitted residuals, so a prediction is the median
//! time with a lower and an upper bound. The rule it must beat is the item's recent median
//! ([`median_rule`]); [`backtest`] scores both on the latest lines after fitting on the ones before.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{ForecastError, Result};

/// Lines an item needs before its own median is used (else its station's).
pub const MIN_ITEM_LINES: usize = 3;
/// Lines a model needs to fit at all.
pub const MIN_LINES: usize = 30;
/// How strongly an hour's effect is pulled towards zero: as if it had this many more lines at zero.
const HOUR_SHRINKAGE: f64 = 20.0;

/// One finished ticket line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrepLine {
    pub station: String,
    pub item: String,
    /// Lines open at the station when this one arrived.
    pub queue_depth: u32,
    /// Local hour the line was queued, 0..23.
    pub hour: u8,
    /// From queued to ready.
    pub seconds: f64,
}

/// A predicted prep time: the median and an 80% interval, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrepPrediction {
    pub seconds: f64,
    pub lower: f64,
    pub upper: f64,
}

/// A fitted prep-time model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrepModel {
    /// Median log seconds per item with enough lines.
    pub items: HashMap<String, f64>,
    /// Median log seconds per station.
    pub stations: HashMap<String, f64>,
    /// Median log seconds of every line.
    pub overall: f64,
    /// Log seconds added to every item's median (the load and hour model's intercept).
    pub offset: f64,
    /// Log seconds added per line open at the station.
    pub load_slope: f64,
    /// Log seconds added in each local hour.
    pub hours: Vec<f64>,
    /// The 10% and 90% quantiles of the log residuals.
    pub band: [f64; 2],
    pub lines: usize,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn log_seconds(line: &PrepLine) -> f64 {
    line.seconds.max(1.0).ln()
}

/// Median log seconds per key, for keys with at least `min` lines.
fn medians(
    lines: &[PrepLine],
    key: impl Fn(&PrepLine) -> &str,
    min: usize,
) -> HashMap<String, f64> {
    let mut groups: HashMap<&str, Vec<f64>> = HashMap::new();
    for line in lines {
        groups.entry(key(line)).or_default().push(log_seconds(line));
    }
    groups
        .into_iter()
        .filter(|(_, v)| v.len() >= min)
        .map(|(k, mut v)| (k.to_string(), median(&mut v)))
        .collect()
}

fn check(lines: &[PrepLine]) -> Result<()> {
    if lines.len() < MIN_LINES {
        return Err(ForecastError::NotEnoughHistory {
            needed: MIN_LINES,
            have: lines.len(),
        });
    }
    if lines
        .iter()
        .any(|l| !l.seconds.is_finite() || l.seconds < 0.0 || l.hour > 23)
    {
        return Err(ForecastError::Shape(
            "prep times must be finite and not negative, hours 0 to 23".into(),
        ));
    }
    Ok(())
}

impl PrepModel {
    /// Fits the model on finished lines.
    pub fn fit(lines: &[PrepLine]) -> Result<PrepModel> {
        check(lines)?;
        let items = medians(lines, |l| l.item.as_str(), MIN_ITEM_LINES);
        let stations = medians(lines, |l| l.station.as_str(), 1);
        let mut all: Vec<f64> = lines.iter().map(log_seconds).collect();
        let overall = median(&mut all);
        let mut model = PrepModel {
            items,
            stations,
            overall,
            offset: 0.0,
            load_slope: 0.0,
            hours: vec![0.0; 24],
            band: [0.0, 0.0],
            lines: lines.len(),
        };
        let base: Vec<f64> = lines
            .iter()
            .map(|l| model.base(&l.station, &l.item))
            .collect();
        let residual: Vec<f64> = lines
            .iter()
            .zip(&base)
            .map(|(l, b)| log_seconds(l) - b)
            .collect();
        let depth: Vec<f64> = lines.iter().map(|l| l.queue_depth as f64).collect();
        for _ in 0..8 {
            // The load slope, given the hour effects.
            let target: Vec<f64> = lines
                .iter()
                .zip(&residual)
                .map(|(l, r)| r - model.hours[l.hour as usize])
                .collect();
            let n = lines.len() as f64;
            let mean_d = depth.iter().sum::<f64>() / n;
            let mean_t = target.iter().sum::<f64>() / n;
            let (mut sxy, mut sxx) = (0.0, 0.0);
            for (d, t) in depth.iter().zip(&target) {
                sxy += (d - mean_d) * (t - mean_t);
                sxx += (d - mean_d) * (d - mean_d);
            }
            model.load_slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
            model.offset = mean_t - model.load_slope * mean_d;
            // The hour effects, given the line, shrunk towards zero.
            let mut sums = [0.0; 24];
            let mut counts = [0.0; 24];
            for ((l, r), d) in lines.iter().zip(&residual).zip(&depth) {
                sums[l.hour as usize] += r - model.offset - model.load_slope * d;
                counts[l.hour as usize] += 1.0;
            }
            for h in 0..24 {
                model.hours[h] = sums[h] / (counts[h] + HOUR_SHRINKAGE);
            }
        }
        let mut fitted: Vec<f64> = lines
            .iter()
            .zip(&residual)
            .zip(&depth)
            .map(|((l, r), d)| {
                r - model.offset - model.load_slope * d - model.hours[l.hour as usize]
            })
            .collect();
        fitted.sort_by(f64::total_cmp);
        model.band = [quantile(&fitted, 0.10), quantile(&fitted, 0.90)];
        Ok(model)
    }

    /// The typical log time of an item at a station, before load and hour.
    fn base(&self, station: &str, item: &str) -> f64 {
        self.items
            .get(item)
            .or_else(|| self.stations.get(station))
            .copied()
            .unwrap_or(self.overall)
    }

    /// The predicted time of an item queued at a station with `queue_depth` lines open, at a local hour.
    pub fn predict(&self, station: &str, item: &str, queue_depth: u32, hour: u8) -> PrepPrediction {
        let centre = self.base(station, item)
            + self.offset
            + self.load_slope * queue_depth as f64
            + self.hours.get(hour as usize).copied().unwrap_or(0.0);
        PrepPrediction {
            seconds: centre.exp(),
            lower: (centre + self.band[0]).exp(),
            upper: (centre + self.band[1]).exp(),
        }
    }
}

/// The rule-based prediction: the item's median time over `lines` (its station's when the item has
/// fewer than [`MIN_ITEM_LINES`], every line's when the station has none), in seconds.
pub fn median_rule(lines: &[PrepLine], station: &str, item: &str) -> Option<f64> {
    let pick = |f: &dyn Fn(&PrepLine) -> bool, min: usize| {
        let mut v: Vec<f64> = lines.iter().filter(|l| f(l)).map(|l| l.seconds).collect();
        (v.len() >= min).then(|| median(&mut v))
    };
    pick(&|l| l.item == item, MIN_ITEM_LINES)
        .or_else(|| pick(&|l| l.station == station, 1))
        .or_else(|| pick(&|_| true, 1))
}

/// How the model and the item-median rule did on the latest lines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrepBacktest {
    pub train_lines: usize,
    pub test_lines: usize,
    /// Mean absolute error in seconds.
    pub model_mae: f64,
    pub rule_mae: f64,
    /// Share of test lines inside the model's 80% interval.
    pub coverage_80: f64,
}

/// Fits on the first part of `lines` (in the order they happened) and scores the last `test_share` of
/// them, against the item-median rule over the same training lines.
pub fn backtest(lines: &[PrepLine], test_share: f64) -> Result<PrepBacktest> {
    check(lines)?;
    let test = ((lines.len() as f64 * test_share).round() as usize).clamp(1, lines.len() - 1);
    let (train, holdout) = lines.split_at(lines.len() - test);
    let model = PrepModel::fit(train)?;
    let (mut model_err, mut rule_err, mut inside) = (0.0, 0.0, 0usize);
    for line in holdout {
        let p = model.predict(&line.station, &line.item, line.queue_depth, line.hour);
        model_err += (p.seconds - line.seconds).abs();
        let rule = median_rule(train, &line.station, &line.item).unwrap_or(p.seconds);
        rule_err += (rule - line.seconds).abs();
        inside += (line.seconds >= p.lower && line.seconds <= p.upper) as usize;
    }
    let n = holdout.len() as f64;
    Ok(PrepBacktest {
        train_lines: train.len(),
        test_lines: holdout.len(),
        model_mae: model_err / n,
        rule_mae: rule_err / n,
        coverage_80: inside as f64 / n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines where the grill's burger takes 8 minutes, each line already open at the station adds 8%,
    /// and 19-20h take 50% longer, with multiplicative noise.
    fn kitchen(n: usize) -> Vec<PrepLine> {
        let mut state = 11u64;
        let mut noise = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5
        };
        (0..n)
            .map(|i| {
                let (station, item, base) = match i % 3 {
                    0 => ("grill", "burger", 480.0),
                    1 => ("fry", "fries", 240.0),
                    _ => ("bar", "lemonade", 90.0),
                };
                let hour = [12u8, 13, 19, 20, 15][i % 5];
                let depth = ((noise() + 0.5) * 8.0) as u32;
                let rush = if hour >= 19 { 1.5 } else { 1.0 };
                let seconds = base * (1.0 + 0.08 * depth as f64) * rush * (1.0 + 0.3 * noise());
                PrepLine {
                    station: station.into(),
                    item: item.into(),
                    queue_depth: depth,
                    hour,
                    seconds,
                }
            })
            .collect()
    }

    #[test]
    fn load_and_the_rush_hour_make_lines_slower_and_the_model_sees_it() {
        let lines = kitchen(900);
        let model = PrepModel::fit(&lines).unwrap();
        assert!(model.load_slope > 0.0, "{}", model.load_slope);
        assert!(model.hours[19] > model.hours[13] + 0.2, "{:?}", model.hours);
        let quiet = model.predict("grill", "burger", 0, 13);
        let busy = model.predict("grill", "burger", 6, 19);
        assert!((quiet.seconds - 480.0).abs() < 80.0, "{quiet:?}");
        assert!(busy.seconds > 1.6 * quiet.seconds, "{busy:?} vs {quiet:?}");
        assert!(quiet.lower < quiet.seconds && quiet.seconds < quiet.upper);
        // An item it never saw takes its station's time; a station it never saw, everyone's.
        let unknown = model.predict("grill", "new special", 0, 13);
        assert!(
            (unknown.seconds - quiet.seconds).abs() < 60.0,
            "{unknown:?}"
        );
        assert!(model.predict("pastry", "tart", 0, 13).seconds > 0.0);
    }

    #[test]
    fn the_model_beats_the_item_median_when_load_matters_and_its_interval_covers() {
        let result = backtest(&kitchen(1200), 0.25).unwrap();
        assert_eq!(result.test_lines, 300);
        assert!(result.model_mae < 0.8 * result.rule_mae, "{result:?}");
        assert!((0.65..=0.95).contains(&result.coverage_80), "{result:?}");
    }

    #[test]
    fn too_few_or_bad_lines_are_refused() {
        assert!(matches!(
            PrepModel::fit(&kitchen(10)),
            Err(ForecastError::NotEnoughHistory { .. })
        ));
        let mut lines = kitchen(100);
        lines[3].seconds = f64::NAN;
        assert!(matches!(
            PrepModel::fit(&lines),
            Err(ForecastError::Shape(_))
        ));
        assert_eq!(
            median_rule(&kitchen(30), "bar", "lemonade").map(|s| s > 0.0),
            Some(true)
        );
    }
}
