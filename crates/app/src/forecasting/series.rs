//! From the order stream to series: orders per local day or local hour of a restaurant, with the
//! calendar of those steps (open by its business hours and closure calendar, weekday, hour, holiday).
//!
//! Hours run on a grid of 24 local hours a day: in a 25-hour day the repeated hour's orders fall in
//! its one slot; in a 23-hour day the missing hour is closed. Extraction reads `forecast_db` (the read
//! replica when one is configured).

use std::collections::HashMap;

use brigade_forecast::{Granularity, Step};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::entities::{orders, restaurant_closures};
use crate::http::error::ApiError;
use crate::restaurants::BusinessHours;
use crate::state::AppState;

/// Days of history extracted for a daily series: the training year, the features' year-ago look-back
/// and the backtest windows.
pub const DAILY_HISTORY_DAYS: i64 = 371 + 364 + 4 * 28 + 28;
/// Hours of history for an hourly series: eight training weeks, four backtest weeks, four weeks of lags.
pub const HOURLY_HISTORY_HOURS: i64 = 16 * 168;

/// A series of one restaurant, ready for the forecasting crate.
#[derive(Debug, Clone)]
pub struct Extracted {
    pub granularity: Granularity,
    pub tz: Tz,
    /// The local day of the first step.
    pub first_day: NaiveDate,
    /// The local start of each step, history and future (`steps.len()` entries).
    pub starts: Vec<DateTime<Utc>>,
    pub values: Vec<f64>,
    pub steps: Vec<Step>,
    /// Orders counted (the history's total).
    pub orders: usize,
    /// The SHA-256 of the values and calendar, hex: the data fingerprint of a model trained on it.
    pub fingerprint: String,
}

impl Extracted {
    pub fn series(&self) -> brigade_forecast::Series<'_> {
        brigade_forecast::Series {
            granularity: self.granularity,
            values: &self.values,
            steps: &self.steps,
        }
    }

    /// Runs `f` on the series on the blocking pool (choosing and fitting take milliseconds of CPU).
    pub async fn on_blocking_pool<R: Send + 'static>(
        &self,
        f: impl FnOnce(&brigade_forecast::Series) -> R + Send + 'static,
    ) -> Result<R, ApiError> {
        let (granularity, values, steps) =
            (self.granularity, self.values.clone(), self.steps.clone());
        tokio::task::spawn_blocking(move || {
            f(&brigade_forecast::Series {
                granularity,
                values: &values,
                steps: &steps,
            })
        })
        .await
        .map_err(ApiError::internal)
    }

    /// The local label of step `i` on the grid (`2024-03-31`, or `2024-03-31T02:00` even when that
    /// hour does not exist on the clock: it is the closed slot of a 23-hour day).
    pub fn label(&self, i: usize) -> String {
        match self.granularity {
            Granularity::Daily => (self.first_day + Duration::days(i as i64)).to_string(),
            Granularity::Hourly => format!(
                "{}T{:02}:00",
                self.first_day + Duration::days((i / 24) as i64),
                i % 24
            ),
        }
    }
}

/// The restaurant's closure calendar between two local days: day -> holiday (true) or closure.
pub async fn closures(
    state: &AppState,
    restaurant_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<HashMap<NaiveDate, bool>, ApiError> {
    let rows = restaurant_closures::Entity::find()
        .filter(restaurant_closures::Column::RestaurantId.eq(restaurant_id))
        .filter(restaurant_closures::Column::Day.gte(from))
        .filter(restaurant_closures::Column::Day.lte(to))
        .all(&state.forecast_db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.day, r.kind == "holiday"))
        .collect())
}

/// The instants of the restaurant's orders (cancelled ones excepted) in `[from, to)`.
async fn order_instants(
    state: &AppState,
    restaurant_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, ApiError> {
    Ok(orders::Entity::find()
        .select_only()
        .column(orders::Column::CreatedAt)
        .filter(orders::Column::RestaurantId.eq(restaurant_id))
        .filter(orders::Column::CreatedAt.gte(from))
        .filter(orders::Column::CreatedAt.lt(to))
        .filter(orders::Column::Status.ne("CANCELLED"))
        .into_tuple::<DateTime<Utc>>()
        .all(&state.forecast_db)
        .await?)
}

/// The restaurant's first order, if any.
async fn first_order(
    state: &AppState,
    restaurant_id: Uuid,
    before: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    Ok(orders::Entity::find()
        .select_only()
        .column_as(orders::Column::CreatedAt.min(), "first")
        .filter(orders::Column::RestaurantId.eq(restaurant_id))
        .filter(orders::Column::CreatedAt.lt(before))
        .into_tuple::<Option<DateTime<Utc>>>()
        .one(&state.forecast_db)
        .await?
        .flatten())
}

/// The start of a local day (its first instant; midnight may not exist on a DST day).
fn day_start(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    crate::restaurants::hours::local_to_utc(tz, day.and_hms_opt(0, 0, 0).expect("midnight"))
}

/// Extracts the series of `restaurant_id` as known before `as_of`, with the calendar running
/// `future` steps past it. History starts at the first order (at most the history limit back); the
/// step containing `as_of` is the first future step.
pub async fn extract(
    state: &AppState,
    restaurant_id: Uuid,
    granularity: Granularity,
    as_of: DateTime<Utc>,
    future: usize,
) -> Result<Extracted, ApiError> {
    let restaurant = crate::restaurants::find(state, restaurant_id).await?;
    let tz = crate::restaurants::zone_of(&restaurant);
    let hours = crate::restaurants::hours_of(&state.forecast_db, &[restaurant_id])
        .await?
        .remove(&restaurant_id)
        .unwrap_or_default();
    let business = BusinessHours::new(tz, hours);
    let today = as_of.with_timezone(&tz).date_naive();
    let limit = match granularity {
        Granularity::Daily => today - Duration::days(DAILY_HISTORY_DAYS),
        Granularity::Hourly => today - Duration::days(HOURLY_HISTORY_HOURS / 24),
    };
    let first_day = match first_order(state, restaurant_id, as_of).await? {
        Some(first) => first.with_timezone(&tz).date_naive().max(limit),
        None => today,
    };
    // Step boundaries: local days, or the 24 local hours of each day.
    let future_days = match granularity {
        Granularity::Daily => future as i64,
        Granularity::Hourly => (future as i64 + 23) / 24 + 1,
    };
    let last_day = today + Duration::days(future_days);
    let closed = closures(state, restaurant_id, first_day, last_day).await?;
    let mut starts = Vec::new();
    let mut steps = Vec::new();
    let mut day = first_day;
    while day <= last_day {
        let closure = closed.get(&day);
        let weekday = day.weekday().num_days_from_monday() as u8;
        let day_of_year = day.ordinal() as u16;
        let holiday = closure == Some(&true);
        match granularity {
            Granularity::Daily => {
                let start = day_start(tz, day);
                let end = day_start(tz, day + Duration::days(1));
                let open =
                    closure.is_none() && business.open_duration(start, end) > Duration::zero();
                starts.push(start);
                steps.push(Step {
                    open,
                    weekday,
                    hour: 0,
                    day_of_year,
                    holiday,
                });
            }
            Granularity::Hourly => {
                for hour in 0..24u32 {
                    let local = day.and_hms_opt(hour, 0, 0).expect("an hour of the day");
                    let exists = tz.from_local_datetime(&local).earliest().is_some();
                    let start = crate::restaurants::hours::local_to_utc(tz, local);
                    let end = if hour == 23 {
                        day_start(tz, day + Duration::days(1))
                    } else {
                        crate::restaurants::hours::local_to_utc(tz, local + Duration::hours(1))
                    };
                    let open = exists
                        && closure.is_none()
                        && end > start
                        && business.open_duration(start, end) > Duration::zero();
                    starts.push(start);
                    steps.push(Step {
                        open,
                        weekday,
                        hour: hour as u8,
                        day_of_year,
                        holiday,
                    });
                }
            }
        }
        day += Duration::days(1);
    }
    // The first future step: the one containing `as_of`.
    let history = match granularity {
        Granularity::Daily => (today - first_day).num_days() as usize,
        Granularity::Hourly => {
            let local = as_of.with_timezone(&tz);
            (today - first_day).num_days() as usize * 24 + local.hour() as usize
        }
    };
    let mut values: Vec<f64> = vec![0.0; history];
    let from = starts.first().copied().unwrap_or(as_of);
    let history_end = starts.get(history).copied().unwrap_or(as_of).min(as_of);
    let instants = if history > 0 {
        order_instants(state, restaurant_id, from, history_end).await?
    } else {
        Vec::new()
    };
    let mut counted = 0;
    for at in &instants {
        let local = at.with_timezone(&tz);
        let days = (local.date_naive() - first_day).num_days();
        if days < 0 {
            continue;
        }
        let index = match granularity {
            Granularity::Daily => days as usize,
            Granularity::Hourly => days as usize * 24 + local.hour() as usize,
        };
        if let Some(v) = values.get_mut(index) {
            *v += 1.0;
            counted += 1;
        }
    }
    // An order on a step the calendar calls closed says the restaurant was open then after all.
    for (i, v) in values.iter().enumerate() {
        if *v > 0.0 {
            steps[i].open = true;
        }
    }
    let needed = history + future;
    starts.truncate(needed);
    steps.truncate(needed);
    let mut hasher = Sha256::new();
    for (v, s) in values.iter().zip(&steps) {
        hasher.update(v.to_le_bytes());
        hasher.update([s.open as u8, s.holiday as u8]);
    }
    hasher.update(first_day.to_string());
    Ok(Extracted {
        granularity,
        tz,
        first_day,
        starts,
        values,
        steps,
        orders: counted,
        fingerprint: hex::encode(hasher.finalize()),
    })
}

/// The restaurants with orders before `as_of` (what a training run covers).
pub async fn restaurants_with_orders(state: &AppState) -> Result<Vec<Uuid>, ApiError> {
    Ok(orders::Entity::find()
        .select_only()
        .column(orders::Column::RestaurantId)
        .distinct()
        .order_by_asc(orders::Column::RestaurantId)
        .into_tuple()
        .all(&state.forecast_db)
        .await?)
}
