//! Store monitoring: status polls of restaurants, uptime/downtime within local business hours, reports,
//! outages ("incidents") and uptime over time.
//!
//! The rule, as the docs state it: business time in a window is the union of the store's local business
//! intervals converted to UTC with its zone; between polls each instant takes the status of the nearest
//! poll in time (two polls at one instant: inactive wins); uptime is business time with status active and
//! downtime the rest of the business time. See `timeline` for the arithmetic, `polls` for storage.
//!
//! Facade: [`polls::store`], [`report::compute`], [`report::start`], [`incidents`], [`daily_uptime`],
//! [`import::import_dir`].

pub mod bulk;
pub mod fleet;
pub mod import;
pub mod polls;
pub mod report;
pub mod routes;
pub mod timeline;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::restaurants::hours::local_to_utc;
use crate::state::AppState;
use report::{business_micros, instant_of, micros_of};
use timeline::{DAY, Micros, Poll};

/// One store's normalised polls up to `to` (and its latest one before `from`), and its business hours.
async fn store_timeline(
    state: &AppState,
    restaurant_id: Uuid,
    from: Micros,
    to: Micros,
) -> Result<(Vec<Poll>, report::StoreInfo), ApiError> {
    let mut info = report::store_info(&state.db, &[restaurant_id]).await?;
    let info = info
        .remove(&restaurant_id)
        .ok_or_else(|| ApiError::not_found("store"))?;
    let mut by_store = polls::load(
        &state.db,
        polls::day_of(from),
        polls::day_of(to),
        &[restaurant_id],
    )
    .await?;
    let mut polls: Vec<Poll> = by_store
        .remove(&restaurant_id)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.at <= to)
        .collect();
    timeline::normalise(&mut polls);
    Ok((polls, info))
}

/// The end of the period a store question is about: the given instant, or the store's latest poll (or
/// the clock when it has none).
async fn end_of(
    state: &AppState,
    restaurant_id: Uuid,
    at: Option<DateTime<Utc>>,
) -> Result<Micros, ApiError> {
    if let Some(at) = at {
        return Ok(micros_of(at));
    }
    let latest = polls::latest(&state.db, Some(restaurant_id)).await?;
    // Windows reach back at most 93 days from here: a store whose polls are all from before 1970 (the
    // years an explicit instant may name start there) ends its default window in April 1970, so no
    // window starts before 1970.
    let floor = DateTime::from_timestamp(94 * 86_400, 0).map_or(0, micros_of);
    Ok(latest.unwrap_or_else(|| micros_of(state.now())).max(floor))
}

/// An instant as reports take it: RFC 3339 (`2023-01-25T18:00:00Z`) or the poll files' shape
/// (`2023-01-25 18:00:00 UTC`), within the years 1970 to 9999.
pub fn parse_instant(raw: &str) -> Result<DateTime<Utc>, String> {
    let at = DateTime::parse_from_rfc3339(raw)
        .map(|d| d.with_timezone(&Utc))
        .or_else(|_| import::parse_timestamp(raw).map(instant_of))
        .map_err(|_| {
            format!(
                "{raw:?} is not an instant like 2023-01-25T18:00:00Z or 2023-01-25 18:00:00 UTC"
            )
        })?;
    check_instant("at", Some(at))
        .map_err(|_| "must lie between the years 1970 and 9999".to_string())?;
    Ok(at)
}

/// Instants a store question may name: years 1970 to 9999 (chrono takes years far beyond, where date
/// arithmetic overflows).
pub fn check_instant(field: &str, at: Option<DateTime<Utc>>) -> Result<(), ApiError> {
    use chrono::Datelike;
    match at {
        Some(at) if !(1970..=9999).contains(&at.year()) => Err(ApiError::field(
            field,
            "must lie between the years 1970 and 9999",
        )),
        _ => Ok(()),
    }
}

/// An outage: consecutive inactive polls in business hours.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Incident {
    pub started_at: DateTime<Utc>,
    /// Where the store became active again, or the end of the period asked about.
    pub ended_at: DateTime<Utc>,
    /// Business minutes the store was down (closed hours in between are not counted).
    pub downtime_minutes: f64,
    pub inactive_polls: usize,
    /// Still down at the end of the period.
    pub ongoing: bool,
    /// Orders the hourly demand forecast (made as of the outage's start) expected during the outage:
    /// the orders at risk. None when no forecast could be made.
    pub expected_orders: Option<f64>,
    /// Their value at the restaurant's average order value over the 90 days before.
    #[schema(value_type = Option<String>, example = "42.50")]
    pub value_at_risk: Option<rust_decimal::Decimal>,
}

/// Outages of a store in `[from, to)` (default: the 7 days before its latest poll).
pub async fn incidents(
    state: &AppState,
    restaurant_id: Uuid,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<(DateTime<Utc>, DateTime<Utc>, Vec<Incident>), ApiError> {
    check_instant("from", from)?;
    check_instant("to", to)?;
    let to = end_of(state, restaurant_id, to).await?;
    let from = from.map(micros_of).unwrap_or(to - 7 * DAY);
    // An empty period has no outages.
    if from >= to {
        return Ok((instant_of(to), instant_of(to), Vec::new()));
    }
    if to - from > 93 * DAY {
        return Err(ApiError::field(
            "from",
            "the period may span at most 93 days",
        ));
    }
    let (polls, info) = store_timeline(state, restaurant_id, from, to).await?;
    let business = business_micros(&info.hours, from, to);
    let outages = timeline::outages(&polls, &business);
    let last = outages.len().saturating_sub(1);
    let list = outages
        .into_iter()
        .enumerate()
        .map(|(i, o)| Incident {
            started_at: instant_of(o.start),
            ended_at: instant_of(o.end),
            downtime_minutes: round2(o.downtime as f64 / timeline::MINUTE as f64),
            inactive_polls: o.inactive_polls,
            // The latest outage is still on when the latest poll is inactive (even if the store has
            // closed since).
            ongoing: i == last && polls.last().is_some_and(|p| p.inactive && p.at >= o.start),
            expected_orders: None,
            value_at_risk: None,
        })
        .collect();
    Ok((
        instant_of(from),
        instant_of(to),
        with_orders_at_risk(state, restaurant_id, list).await,
    ))
}

/// Fills in each outage's orders at risk from the demand forecast; a forecast that cannot be made
/// leaves them empty rather than failing the list.
async fn with_orders_at_risk(
    state: &AppState,
    restaurant_id: Uuid,
    mut list: Vec<Incident>,
) -> Vec<Incident> {
    let spans: Vec<_> = list.iter().map(|i| (i.started_at, i.ended_at)).collect();
    match crate::forecasting::at_risk::expected_during(state, restaurant_id, &spans).await {
        Ok(risk) => {
            for (i, incident) in list.iter_mut().enumerate() {
                incident.expected_orders = risk.expected_orders.get(i).copied();
                incident.value_at_risk = risk.values.get(i).copied().flatten();
            }
        }
        Err(err) => {
            tracing::warn!(restaurant = %restaurant_id, error = %err.message, "orders at risk not computed")
        }
    }
    list
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Uptime of one local calendar day of a store.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DayUptime {
    #[schema(value_type = String, example = "2023-01-24")]
    pub date: NaiveDate,
    pub business_hours: f64,
    /// Business time with data (within an hour of a poll) that was up.
    pub uptime_hours: f64,
    /// Business time with data that was down.
    pub downtime_hours: f64,
    /// Business time more than an hour from every poll: neither up nor down.
    pub no_data_hours: f64,
    /// Share of the business time with data that was up, 0 to 100; null on a day without business
    /// time or without data.
    pub uptime_percent: Option<f64>,
    /// Share of business time with data, 0 to 100; null on a day without business time.
    pub data_percent: Option<f64>,
}

/// Uptime per local day for the `days` days ending with the day of `at` (default: the latest poll).
pub async fn daily_uptime(
    state: &AppState,
    restaurant_id: Uuid,
    days: u32,
    at: Option<DateTime<Utc>>,
) -> Result<Vec<DayUptime>, ApiError> {
    if !(1..=93).contains(&days) {
        return Err(ApiError::field("days", "must be between 1 and 93"));
    }
    check_instant("at", at)?;
    let end = end_of(state, restaurant_id, at).await?;
    let info = report::store_info(&state.db, &[restaurant_id]).await?;
    let tz = info
        .get(&restaurant_id)
        .ok_or_else(|| ApiError::not_found("store"))?
        .hours
        .tz;
    let last_day = instant_of(end).with_timezone(&tz).date_naive();
    let first_day = last_day - Duration::days(i64::from(days) - 1);
    let start_of =
        |d: NaiveDate| micros_of(local_to_utc(tz, d.and_hms_opt(0, 0, 0).unwrap_or_default()));
    let from = start_of(first_day);
    let to = start_of(last_day + Duration::days(1)).min(end);
    let (polls, info) = store_timeline(state, restaurant_id, from, end).await?;
    let business = business_micros(&info.hours, from, to.max(from));
    let mut out = Vec::with_capacity(days as usize);
    let mut day = first_day;
    while day <= last_day {
        let (a, b) = (start_of(day), start_of(day + Duration::days(1)).min(end));
        let part = timeline::clip(&business, a, b);
        let total = timeline::total(&part);
        // Only business time near a poll has a status; the rest is no data, neither up nor down.
        let known = timeline::covered(&polls, &part);
        let known_total = timeline::total(&known);
        let up = timeline::uptime(&polls, &known);
        let h = |m: Micros| round2(m as f64 / timeline::HOUR as f64);
        out.push(DayUptime {
            date: day,
            business_hours: h(total),
            uptime_hours: h(up),
            downtime_hours: h(known_total - up),
            no_data_hours: h(total - known_total),
            uptime_percent: (known_total > 0)
                .then(|| round2(100.0 * up as f64 / known_total as f64)),
            data_percent: (total > 0).then(|| round2(100.0 * known_total as f64 / total as f64)),
        });
        day += Duration::days(1);
    }
    Ok(out)
}
