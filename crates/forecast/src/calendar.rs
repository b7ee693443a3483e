//! The shape of a series: daily or hourly steps on the restaurant's local calendar, and what is known
//! about each step in advance (open or closed, weekday, hour, holiday).

use serde::{Deserialize, Serialize};

/// How long one step of a series is. Hourly series run on a grid of 24 local hours a day, so the same
/// local hour one week earlier is always 168 steps back (the app folds a 25-hour day's repeated hour into
/// its slot and leaves the missing hour of a 23-hour day closed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Daily,
    Hourly,
}

impl Granularity {
    /// Steps in one week: the season every model here knows.
    pub fn season(self) -> usize {
        match self {
            Granularity::Daily => 7,
            Granularity::Hourly => 168,
        }
    }

    /// Steps in one day.
    pub fn day(self) -> usize {
        match self {
            Granularity::Daily => 1,
            Granularity::Hourly => 24,
        }
    }

    /// The longest horizon, which is also the length of one backtest window: 28 days, or 168 hours.
    pub fn max_horizon(self) -> usize {
        match self {
            Granularity::Daily => 28,
            Granularity::Hourly => 168,
        }
    }

    /// Steps of history a model fits on, at most: a year of days (53 weeks), eight weeks of hours.
    /// Older history changes little in what a restaurant does next month and costs time at every fit
    /// (features may still look further back: the boosted model reads the day a year earlier).
    pub fn max_training(self) -> usize {
        match self {
            Granularity::Daily => 371,
            Granularity::Hourly => 8 * 168,
        }
    }
}

/// What is known about one step before it happens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Open for business (its hours, minus holidays and one-off closures). Closed steps forecast 0.
    pub open: bool,
    /// 0 = Monday .. 6 = Sunday, local.
    pub weekday: u8,
    /// Local hour 0..23 (0 for daily steps).
    pub hour: u8,
    /// 1..366, local.
    pub day_of_year: u16,
    /// A public holiday or special day the restaurant marked (it may still be open).
    pub holiday: bool,
}

/// A series to fit: observed values for the first `values.len()` steps, and the calendar of those steps
/// and of the steps to forecast after them.
#[derive(Clone, Copy, Debug)]
pub struct Series<'a> {
    pub granularity: Granularity,
    pub values: &'a [f64],
    /// At least as long as `values`; the steps beyond are the future.
    pub steps: &'a [Step],
}

impl<'a> Series<'a> {
    pub fn new(
        granularity: Granularity,
        values: &'a [f64],
        steps: &'a [Step],
    ) -> Result<Self, crate::ForecastError> {
        if steps.len() < values.len() {
            return Err(crate::ForecastError::Shape(format!(
                "{} values but only {} calendar steps",
                values.len(),
                steps.len()
            )));
        }
        if values.iter().any(|v| !v.is_finite() || *v < 0.0) {
            return Err(crate::ForecastError::Shape(
                "values must be finite and not negative".into(),
            ));
        }
        Ok(Series {
            granularity,
            values,
            steps,
        })
    }

    /// Observed steps.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The same series cut at `origin` (what was known then), keeping the calendar.
    pub fn until(&self, origin: usize) -> Series<'a> {
        Series {
            granularity: self.granularity,
            values: &self.values[..origin],
            steps: self.steps,
        }
    }

    /// The values with closed steps filled in from the same step of earlier weeks that were open (or 0
    /// when none was): a closed day is missing demand, not zero demand, for the models that smooth over
    /// the past.
    pub fn filled(&self) -> Vec<f64> {
        let season = self.granularity.season();
        let mut out = self.values.to_vec();
        for i in 0..out.len() {
            if self.steps[i].open {
                continue;
            }
            let mut sum = 0.0;
            let mut seen = 0;
            let mut j = i;
            while j >= season && seen < 4 {
                j -= season;
                if self.steps[j].open {
                    sum += out[j];
                    seen += 1;
                }
            }
            out[i] = if seen > 0 { sum / seen as f64 } else { 0.0 };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(n: usize, closed: &[usize]) -> Vec<Step> {
        (0..n)
            .map(|i| Step {
                open: !closed.contains(&i),
                weekday: (i % 7) as u8,
                ..Step::default()
            })
            .collect()
    }

    #[test]
    fn closed_days_are_filled_from_the_same_weekday_of_earlier_weeks() {
        let values: Vec<f64> = (0..21)
            .map(|i| if i == 14 { 0.0 } else { (i % 7) as f64 * 10.0 })
            .collect();
        let steps = days(21, &[14]);
        let series = Series::new(Granularity::Daily, &values, &steps).unwrap();
        let filled = series.filled();
        assert_eq!(filled[14], 0.0, "weekday 0 is 0 in earlier weeks too");
        let values: Vec<f64> = (0..21).map(|i| if i == 15 { 0.0 } else { 7.0 }).collect();
        let steps = days(21, &[15]);
        let filled = Series::new(Granularity::Daily, &values, &steps)
            .unwrap()
            .filled();
        assert_eq!(filled[15], 7.0);
        // The first week has no earlier week: 0.
        let steps = days(21, &[2]);
        let filled = Series::new(Granularity::Daily, &values, &steps)
            .unwrap()
            .filled();
        assert_eq!(filled[2], 0.0);
    }

    #[test]
    fn bad_values_and_short_calendars_are_refused() {
        let steps = days(3, &[]);
        assert!(Series::new(Granularity::Daily, &[1.0, -1.0], &steps).is_err());
        assert!(Series::new(Granularity::Daily, &[1.0, f64::NAN], &steps).is_err());
        assert!(Series::new(Granularity::Daily, &[1.0; 4], &steps).is_err());
    }
}
