//! Demand answers with the seed's fallbacks: the latest version, else the previous one, else the rule
//! (mean of the last 4 same weekdays or hours), else the average of the history. Each answer names the
//! version and level that answered and whether it came from the cache (1 hour, dropped when a version is
//! promoted or rolled back: the cache key carries the latest version's id).

use std::time::{Duration as StdDuration, Instant};

use brigade_forecast::backtest::average_forecast;
use brigade_forecast::{Forecast, Granularity, Model};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::registry::{self, Pointer};
use super::series::{self, Extracted};
use crate::http::error::ApiError;
use crate::state::AppState;

pub const DEMAND: &str = "demand";
const DEMAND_TTL: StdDuration = StdDuration::from_secs(3600);

/// Which part of the chain answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FallbackLevel {
    /// The latest version in the registry.
    Latest,
    /// The version before it (the latest failed).
    Previous,
    /// A model chosen and fitted for this answer from data before `as_of` only.
    AsOf,
    /// The mean of the last 4 same weekdays (hours).
    RuleBased,
    /// The mean of the whole history (less than a week of it, or nothing else worked).
    Average,
}

impl FallbackLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            FallbackLevel::Latest => "latest",
            FallbackLevel::Previous => "previous",
            FallbackLevel::AsOf => "as_of",
            FallbackLevel::RuleBased => "rule_based",
            FallbackLevel::Average => "average",
        }
    }
}

/// One forecast step.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DemandPoint {
    /// The step's first instant.
    pub start: DateTime<Utc>,
    /// The step in the restaurant's local time (`2024-03-31` or `2024-03-31T02:00`).
    pub local: String,
    /// Expected orders.
    pub predicted: f64,
    pub lower_80: f64,
    pub upper_80: f64,
    pub lower_95: f64,
    pub upper_95: f64,
    /// False when the restaurant is closed (every figure is then 0).
    pub open: bool,
}

/// A demand forecast.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DemandAnswer {
    pub restaurant_id: Uuid,
    #[schema(value_type = String, example = "daily")]
    pub granularity: Granularity,
    pub points: Vec<DemandPoint>,
    /// The registry version that answered (none for the rule, the average and `as_of` answers).
    pub model_version: Option<i32>,
    pub model_id: Option<Uuid>,
    /// The forecasting method behind the figures.
    pub method: String,
    pub fallback_level: FallbackLevel,
    pub cached: bool,
    pub generated_at: DateTime<Utc>,
    pub prediction_time_ms: f64,
    /// With `level` item or category: the forecast of each menu item (category), top-down from the
    /// restaurant's by their share of the same weekday's (hour's) orders over the last 8 weeks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<Vec<super::breakdown::BreakdownSeries>>,
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn points(ex: &Extracted, f: &Forecast) -> Vec<DemandPoint> {
    let n = ex.values.len();
    (0..f.mean.len())
        .map(|k| DemandPoint {
            start: ex.starts[n + k],
            local: ex.label(n + k),
            predicted: round2(f.mean[k]),
            lower_80: round2(f.lower_80[k]),
            upper_80: round2(f.upper_80[k]),
            lower_95: round2(f.lower_95[k]),
            upper_95: round2(f.upper_95[k]),
            open: ex.steps[n + k].open,
        })
        .collect()
}

pub fn series_key(g: Granularity) -> &'static str {
    match g {
        Granularity::Daily => "daily",
        Granularity::Hourly => "hourly",
    }
}

/// Checks a horizon for a granularity (1-28 days, 1-168 hours).
pub fn check_horizon(g: Granularity, horizon: usize) -> Result<(), ApiError> {
    if horizon == 0 || horizon > g.max_horizon() {
        return Err(ApiError::field(
            "horizon",
            format!(
                "must be 1 to {} for {} forecasts",
                g.max_horizon(),
                series_key(g)
            ),
        ));
    }
    Ok(())
}

fn failed(level: FallbackLevel, restaurant: Uuid, reason: &str) {
    tracing::warn!(%restaurant, level = level.as_str(), reason, "forecast level failed, falling back");
    metrics::counter!("brigade_forecast_fallbacks_total", "kind" => DEMAND, "level" => level.as_str())
        .increment(1);
}

/// Forecasts with a stored version; Err names why it could not.
async fn with_version(
    state: &AppState,
    id: Uuid,
    ex: &Extracted,
    horizon: usize,
) -> Result<(Forecast, i32, String), String> {
    let (model, version) = registry::load::<Model>(state, id).await?;
    let method = model.method().name().to_string();
    // Within a day of training, the forecast the version made then answers (no fitting).
    let n = ex.values.len();
    let open: Vec<bool> = ex.steps[n..].iter().map(|s| s.open).collect();
    if let Some(first) = ex.starts.get(n)
        && let Some(forecast) = model.from_path(first.timestamp(), &open, horizon)
    {
        return Ok((forecast, version, method));
    }
    let forecast = ex
        .on_blocking_pool(move |series| model.forecast(series, horizon))
        .await
        .map_err(|e| e.message)?
        .map_err(|e| e.to_string())?;
    Ok((forecast, version, method))
}

/// The demand forecast of a restaurant, `horizon` steps from the step containing `as_of` (now when
/// not given).
pub async fn demand(
    state: &AppState,
    restaurant_id: Uuid,
    granularity: Granularity,
    horizon: usize,
    as_of: Option<DateTime<Utc>>,
) -> Result<DemandAnswer, ApiError> {
    check_horizon(granularity, horizon)?;
    let started = Instant::now();
    let now = state.now();
    let at = as_of.unwrap_or(now);
    let pointer =
        registry::pointer(state, DEMAND, Some(restaurant_id), series_key(granularity)).await?;
    // An `as_of` answer uses no stored version: they were trained on data after it.
    let stored = if as_of.is_some() {
        Pointer {
            latest: None,
            previous: None,
            ..pointer
        }
    } else {
        pointer
    };
    // The step containing `at`, to the hour: a new day or hour is a new answer.
    let key = format!(
        "forecast:v1:demand:{restaurant_id}:{}:{horizon}:{}:{}{}",
        series_key(granularity),
        pointer.epoch,
        if as_of.is_some() { "as_of:" } else { "" },
        at.format("%Y%m%dT%H"),
    );
    if let Some(shared) =
        brigade_platform::cache::get_json_shared::<DemandAnswer>(state.cache.as_ref(), &key).await
    {
        let mut hit = DemandAnswer::clone(&shared);
        hit.cached = true;
        hit.prediction_time_ms = started.elapsed().as_secs_f64() * 1000.0;
        metrics::counter!("brigade_forecast_predictions_total", "kind" => DEMAND, "cached" => "true").increment(1);
        return Ok(hit);
    }
    let ex = series::extract(state, restaurant_id, granularity, at, horizon).await?;
    let mut answer = None;
    if as_of.is_some() {
        let trained = ex
            .on_blocking_pool(move |series| {
                brigade_forecast::train(series, brigade_forecast::backtest::DEFAULT_WINDOWS)
                    .and_then(|(model, _)| {
                        model
                            .forecast(series, horizon)
                            .map(|f| (f, model.method().name()))
                    })
            })
            .await?;
        match trained {
            Ok((f, method)) => {
                answer = Some((f, None, None, method.to_string(), FallbackLevel::AsOf))
            }
            Err(e) => failed(FallbackLevel::AsOf, restaurant_id, &e.to_string()),
        }
    }
    for (level, id) in [
        (FallbackLevel::Latest, stored.latest),
        (FallbackLevel::Previous, stored.previous),
    ] {
        if answer.is_some() {
            break;
        }
        let Some(id) = id else {
            if level == FallbackLevel::Latest && as_of.is_none() {
                failed(level, restaurant_id, "no trained version");
            }
            continue;
        };
        match with_version(state, id, &ex, horizon).await {
            Ok((f, version, method)) => answer = Some((f, Some(version), Some(id), method, level)),
            Err(reason) => failed(level, restaurant_id, &reason),
        }
    }
    if answer.is_none() {
        match Model::rule_based(granularity).forecast(&ex.series(), horizon) {
            Ok(f) => {
                answer = Some((
                    f,
                    None,
                    None,
                    "weekday_mean".into(),
                    FallbackLevel::RuleBased,
                ))
            }
            Err(e) => failed(FallbackLevel::RuleBased, restaurant_id, &e.to_string()),
        }
    }
    let (forecast, version, model_id, method, level) = match answer {
        Some(a) => a,
        None => {
            let f = average_forecast(&ex.series(), horizon)
                .map_err(|e| ApiError::field("horizon", e.to_string()))?;
            (f, None, None, "average".to_string(), FallbackLevel::Average)
        }
    };
    let answer = DemandAnswer {
        restaurant_id,
        granularity,
        points: points(&ex, &forecast),
        model_version: version,
        model_id,
        method,
        fallback_level: level,
        cached: false,
        generated_at: now,
        prediction_time_ms: started.elapsed().as_secs_f64() * 1000.0,
        breakdown: None,
    };
    metrics::counter!("brigade_forecast_predictions_total", "kind" => DEMAND, "cached" => "false")
        .increment(1);
    brigade_platform::cache::set_json(state.cache.as_ref(), &key, &answer, DEMAND_TTL).await;
    Ok(answer)
}

/// An hour of the coming week and its expected orders.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PeakHour {
    pub start: DateTime<Utc>,
    pub local: String,
    pub predicted: f64,
    pub upper_80: f64,
}

/// The busiest hours of the coming week, per local day and overall.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PeakHours {
    pub restaurant_id: Uuid,
    /// The `top` busiest hours of the next 168, busiest first.
    pub peak_hours: Vec<PeakHour>,
    /// For each of the next 7 local days, its busiest hour.
    pub per_day: Vec<PeakHour>,
    pub model_version: Option<i32>,
    pub method: String,
    pub fallback_level: FallbackLevel,
    pub cached: bool,
    pub generated_at: DateTime<Utc>,
    pub prediction_time_ms: f64,
}

pub async fn peak_hours(
    state: &AppState,
    restaurant_id: Uuid,
    top: usize,
    as_of: Option<DateTime<Utc>>,
) -> Result<PeakHours, ApiError> {
    let answer = demand(state, restaurant_id, Granularity::Hourly, 168, as_of).await?;
    let hour = |p: &DemandPoint| PeakHour {
        start: p.start,
        local: p.local.clone(),
        predicted: p.predicted,
        upper_80: p.upper_80,
    };
    let mut open: Vec<&DemandPoint> = answer
        .points
        .iter()
        .filter(|p| p.open && p.predicted > 0.0)
        .collect();
    open.sort_by(|a, b| {
        b.predicted
            .total_cmp(&a.predicted)
            .then(a.start.cmp(&b.start))
    });
    let peak_hours = open.iter().take(top).map(|p| hour(p)).collect();
    let mut per_day: Vec<PeakHour> = Vec::new();
    for p in &answer.points {
        let day = &p.local[..10];
        match per_day.last_mut() {
            Some(last) if &last.local[..10] == day => {
                if p.predicted > last.predicted {
                    *last = hour(p);
                }
            }
            _ => per_day.push(hour(p)),
        }
    }
    per_day.retain(|p| p.predicted > 0.0);
    Ok(PeakHours {
        restaurant_id,
        peak_hours,
        per_day,
        model_version: answer.model_version,
        method: answer.method,
        fallback_level: answer.fallback_level,
        cached: answer.cached,
        generated_at: answer.generated_at,
        prediction_time_ms: answer.prediction_time_ms,
    })
}

/// Expected orders over the next 7 local days beside the orders of the last 7 (the CRM's outlook).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WeekOutlook {
    pub next_7_days: f64,
    pub last_7_days: f64,
    pub method: String,
    pub fallback_level: FallbackLevel,
}

pub async fn week_outlook(state: &AppState, restaurant_id: Uuid) -> Result<WeekOutlook, ApiError> {
    let (ahead, history) = tokio::try_join!(
        demand(state, restaurant_id, Granularity::Daily, 7, None),
        series::extract(state, restaurant_id, Granularity::Daily, state.now(), 0),
    )?;
    Ok(WeekOutlook {
        next_7_days: round2(ahead.points.iter().map(|p| p.predicted).sum()),
        last_7_days: history.values.iter().rev().take(7).sum(),
        method: ahead.method,
        fallback_level: ahead.fallback_level,
    })
}
