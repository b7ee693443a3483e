//! Prep-time predictions for ticket lines, on the forecasting registry (kind `kitchen`, series `prep`).
//!
//! Training reads a venue's finished lines of the last eight weeks, with the time each took from queued
//! to ready, its station, its item, the load it arrived into and its local hour. It backtests the model
//! of `brigade_forecast::prep` against the item-median rule on the latest fifth of them, and stores the
//! model as a new version, with the model's mean absolute error as its score (lower is better).
//!
//! Answers follow the fallback chain every forecasting model has:
//! latest -> previous -> rule-based (the item's median over its last 50 lines, else its station's)
//! -> the station's target. Each answer names its `model_version` and `fallback_level`.

use std::time::Instant;

use brigade_forecast::prep::{PrepLine, PrepModel, backtest};
use chrono::{DateTime, Duration, Timelike, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::LineState;
use crate::entities::{stations, ticket_lines};
use crate::forecasting::predict::FallbackLevel;
use crate::forecasting::registry;
use crate::http::error::ApiError;
use crate::state::AppState;

pub const KITCHEN: &str = "kitchen";
pub const SERIES: &str = "prep";
/// Days of finished lines a model learns from.
pub const HISTORY_DAYS: i64 = 56;
/// Lines of an item the rule-based level takes its median over.
pub const RULE_LINES: u64 = 50;
/// The share of the latest lines the backtest holds out.
pub const TEST_SHARE: f64 = 0.2;

/// The item key of a line: its menu item, or its name for lines no menu item matched.
pub(crate) fn item_key(line: &ticket_lines::Model) -> String {
    match line.menu_item_id {
        Some(id) => id.to_string(),
        None => format!("name:{}", line.name.trim().to_lowercase()),
    }
}

pub(crate) fn station_key(line: &ticket_lines::Model) -> String {
    match line.station_id {
        Some(id) => id.to_string(),
        None => format!("name:{}", line.station_name),
    }
}

fn tz_of(venue: &crate::entities::restaurants::Model) -> chrono_tz::Tz {
    venue.timezone.parse().unwrap_or(chrono_tz::UTC)
}

/// A venue's finished lines queued in the `HISTORY_DAYS` before `at` and ready before it, oldest first.
async fn history(
    state: &AppState,
    venue_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(Vec<PrepLine>, Option<DateTime<Utc>>), ApiError> {
    let venue = crate::restaurants::find(state, venue_id).await?;
    let tz = tz_of(&venue);
    let rows = ticket_lines::Entity::find()
        .filter(ticket_lines::Column::RestaurantId.eq(venue_id))
        .filter(ticket_lines::Column::State.eq(LineState::Ready.as_str()))
        .filter(ticket_lines::Column::QueuedAt.gte(at - Duration::days(HISTORY_DAYS)))
        .filter(ticket_lines::Column::ReadyAt.lt(at))
        .order_by_asc(ticket_lines::Column::QueuedAt)
        .order_by_asc(ticket_lines::Column::Id)
        .all(&state.db)
        .await?;
    let first = rows.first().map(|l| l.queued_at);
    let lines = rows
        .iter()
        .filter_map(|l| {
            let ready = l.ready_at?;
            Some(PrepLine {
                station: station_key(l),
                item: item_key(l),
                queue_depth: l.queue_depth.max(0) as u32,
                hour: l.queued_at.with_timezone(&tz).hour() as u8,
                seconds: (ready - l.queued_at).num_milliseconds().max(0) as f64 / 1000.0,
            })
        })
        .collect();
    Ok((lines, first))
}

/// Trains a venue's prep-time model and stores it as a new version.
pub async fn train(
    state: &AppState,
    venue_id: Uuid,
    as_of: Option<DateTime<Utc>>,
) -> Result<registry::Stored, ApiError> {
    let at = as_of.unwrap_or_else(|| state.now());
    let (lines, first) = history(state, venue_id, at).await?;
    let started = Instant::now();
    let count = lines.len();
    let fingerprint = format!(
        "lines:{count}:seconds:{:.0}",
        lines.iter().map(|l| l.seconds).sum::<f64>()
    );
    let (model, result) = tokio::task::spawn_blocking(move || {
        let result = backtest(&lines, TEST_SHARE)?;
        Ok::<_, brigade_forecast::ForecastError>((PrepModel::fit(&lines)?, result))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| match e {
        brigade_forecast::ForecastError::NotEnoughHistory { needed, have } => ApiError::conflict(
            "not_enough_history",
            format!("not enough finished ticket lines to train: {needed} needed, {have} in the last {HISTORY_DAYS} days"),
        )
        .with_data(json!({"needed": needed, "have": have})),
        other => ApiError::conflict("training_failed", other.to_string()),
    })?;
    let training_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
    registry::store(
        state,
        registry::NewVersion {
            kind: KITCHEN,
            restaurant_id: Some(venue_id),
            series: SERIES.into(),
            method: "item_median+load+hour".into(),
            training_from: first,
            training_to: at,
            data_fingerprint: fingerprint,
            features: json!({
                "lines": count,
                "per_line": ["station", "menu item (or name)", "lines open at the station when it was queued", "local hour queued"],
                "target": "seconds from queued to ready",
            }),
            parameters: json!({
                "load_slope_log_seconds_per_line": model.load_slope,
                "offset_log_seconds": model.offset,
                "hour_effects_log_seconds": model.hours,
                "items": model.items.len(),
                "stations": model.stations.len(),
            }),
            metrics: json!({
                "backtest": result,
                "score": "mean absolute error in seconds on the latest fifth of the lines (the item-median rule's beside it)",
            }),
            score: Some(result.model_mae),
            artifact: serde_json::to_string(&model).map_err(ApiError::internal)?,
            training_ms,
        },
    )
    .await
}

/// A predicted prep time.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PrepAnswer {
    pub station_id: Uuid,
    pub menu_item_id: Option<Uuid>,
    /// The median predicted time from queued to ready, in seconds, and its 80% interval.
    pub seconds: f64,
    pub lower_seconds: f64,
    pub upper_seconds: f64,
    /// When a line queued at `at` should be ready.
    pub ready_at: DateTime<Utc>,
    /// Lines open at the station (the load the prediction assumed).
    pub queue_depth: i64,
    /// The venue's local hour of `at`.
    pub hour: u8,
    pub model_version: Option<i32>,
    pub fallback_level: FallbackLevel,
}

fn failed(level: FallbackLevel, venue: Uuid, reason: &str) {
    tracing::warn!(%venue, level = level.as_str(), reason, "prep-time level failed, falling back");
    metrics::counter!("brigade_forecast_fallbacks_total", "kind" => KITCHEN, "level" => level.as_str())
        .increment(1);
}

/// The median time of an item's (else its station's) last `RULE_LINES` finished lines.
async fn rule_based(
    state: &AppState,
    station: &stations::Model,
    menu_item_id: Option<Uuid>,
) -> Result<Option<f64>, ApiError> {
    let base = ticket_lines::Entity::find()
        .filter(ticket_lines::Column::RestaurantId.eq(station.restaurant_id))
        .filter(ticket_lines::Column::State.eq(LineState::Ready.as_str()))
        .order_by_desc(ticket_lines::Column::ReadyAt)
        .limit(RULE_LINES);
    let mut tries = Vec::new();
    if let Some(item) = menu_item_id {
        tries.push(
            base.clone()
                .filter(ticket_lines::Column::MenuItemId.eq(item)),
        );
    }
    tries.push(base.filter(ticket_lines::Column::StationId.eq(station.id)));
    for select in tries {
        let mut seconds: Vec<f64> = select
            .all(&state.db)
            .await?
            .into_iter()
            .filter_map(|l| Some((l.ready_at? - l.queued_at).num_milliseconds() as f64 / 1000.0))
            .collect();
        if seconds.len() >= brigade_forecast::prep::MIN_ITEM_LINES {
            seconds.sort_by(f64::total_cmp);
            return Ok(Some(seconds[seconds.len() / 2]));
        }
    }
    Ok(None)
}

/// Predicts how long an item (or any item, `None`) takes at a station for a line queued at `at` (now
/// when absent), with the station's current load.
pub async fn predict(
    state: &AppState,
    station: &stations::Model,
    menu_item_id: Option<Uuid>,
    at: Option<DateTime<Utc>>,
) -> Result<PrepAnswer, ApiError> {
    let at = at.unwrap_or_else(|| state.now());
    let venue = crate::restaurants::find(state, station.restaurant_id).await?;
    let hour = at.with_timezone(&tz_of(&venue)).hour() as u8;
    let depth = super::open_per_station(&state.db, &[station.id])
        .await?
        .get(&station.id)
        .copied()
        .map_or(0, i64::from);
    let answer = |seconds: f64, lower: f64, upper: f64, version, level| PrepAnswer {
        station_id: station.id,
        menu_item_id,
        seconds,
        lower_seconds: lower,
        upper_seconds: upper,
        ready_at: at + Duration::milliseconds((seconds * 1000.0) as i64),
        queue_depth: depth,
        hour,
        model_version: version,
        fallback_level: level,
    };
    let stored = registry::pointer(state, KITCHEN, Some(station.restaurant_id), SERIES).await?;
    let item = menu_item_id
        .map(|id| id.to_string())
        .unwrap_or_else(|| "name:".into());
    for (level, id) in [
        (FallbackLevel::Latest, stored.latest),
        (FallbackLevel::Previous, stored.previous),
    ] {
        let Some(id) = id else {
            if level == FallbackLevel::Latest {
                failed(level, station.restaurant_id, "no trained version");
            }
            continue;
        };
        match registry::load::<PrepModel>(state, id).await {
            Ok((model, version)) => {
                let p = model.predict(
                    &station.id.to_string(),
                    &item,
                    depth.clamp(0, u32::MAX as i64) as u32,
                    hour,
                );
                return Ok(answer(p.seconds, p.lower, p.upper, Some(version), level));
            }
            Err(reason) => failed(level, station.restaurant_id, &reason),
        }
    }
    if let Some(seconds) = rule_based(state, station, menu_item_id).await? {
        return Ok(answer(
            seconds,
            seconds * 0.75,
            seconds * 1.5,
            None,
            FallbackLevel::RuleBased,
        ));
    }
    failed(
        FallbackLevel::RuleBased,
        station.restaurant_id,
        "no finished lines of the item or the station",
    );
    let target = station.target_minutes.max(1) as f64 * 60.0;
    Ok(answer(
        target,
        target * 0.5,
        target * 1.5,
        None,
        FallbackLevel::Average,
    ))
}

/// A station's expected load in the coming hours.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Bottleneck {
    pub station_id: Uuid,
    pub station_name: String,
    pub target_minutes: i32,
    /// The hour (its first instant).
    pub hour_start: DateTime<Utc>,
    /// Lines the station is expected to get in that hour (the demand forecast's orders times the
    /// station's lines per order over the last eight weeks).
    pub expected_lines: f64,
    /// Minutes a line is expected to wait there: its typical time stretched by that load.
    pub predicted_minutes: f64,
    /// The predicted wait exceeds the station's target.
    pub over_target: bool,
}

/// Stations whose predicted time will exceed their target in the next `hours` hours, from the hourly
/// demand forecast and each station's share of lines (every station and hour is listed; `over_target`
/// marks the bottlenecks).
pub async fn bottlenecks(
    state: &AppState,
    venue_id: Uuid,
    hours: usize,
) -> Result<Vec<Bottleneck>, ApiError> {
    let now = state.now();
    let all = stations::Entity::find()
        .filter(stations::Column::RestaurantId.eq(venue_id))
        .order_by_asc(stations::Column::DisplayOrder)
        .all(&state.db)
        .await?;
    if all.is_empty() {
        return Ok(Vec::new());
    }
    // Lines per order at each station over the history window.
    let since = now - Duration::days(HISTORY_DAYS);
    let recent = ticket_lines::Entity::find()
        .filter(ticket_lines::Column::RestaurantId.eq(venue_id))
        .filter(ticket_lines::Column::QueuedAt.gte(since))
        .filter(ticket_lines::Column::State.ne(LineState::Voided.as_str()))
        .all(&state.db)
        .await?;
    let orders: std::collections::HashSet<Uuid> = recent.iter().map(|l| l.order_id).collect();
    let per_order = |station: Uuid| {
        let lines = recent
            .iter()
            .filter(|l| l.station_id == Some(station))
            .count();
        if orders.is_empty() {
            0.0
        } else {
            lines as f64 / orders.len() as f64
        }
    };
    let forecast = crate::forecasting::predict::demand(
        state,
        venue_id,
        brigade_forecast::Granularity::Hourly,
        hours.clamp(1, 168),
        None,
    )
    .await?;
    let mut out = Vec::new();
    for station in &all {
        let share = per_order(station.id);
        let typical = predict(state, station, None, Some(now)).await?;
        let base_minutes = typical.seconds / 60.0;
        for point in forecast.points.iter().take(hours) {
            let expected_lines = point.predicted * share;
            // Lines in the same hour queue behind each other: each adds its share of the hour's work.
            let load = (expected_lines * base_minutes / 60.0).max(0.0);
            let predicted_minutes = base_minutes * (1.0 + load);
            out.push(Bottleneck {
                station_id: station.id,
                station_name: station.name.clone(),
                target_minutes: station.target_minutes,
                hour_start: point.start,
                expected_lines,
                predicted_minutes,
                over_target: predicted_minutes > station.target_minutes as f64,
            });
        }
    }
    Ok(out)
}

/// The venue's latest prep-time model, if one answers (for the kitchen display's due times).
pub async fn latest_model(state: &AppState, venue_id: Uuid) -> Option<(PrepModel, chrono_tz::Tz)> {
    let pointer = registry::pointer(state, KITCHEN, Some(venue_id), SERIES)
        .await
        .ok()?;
    let id = pointer.latest.or(pointer.previous)?;
    let (model, _) = registry::load::<PrepModel>(state, id).await.ok()?;
    let venue = crate::restaurants::find(state, venue_id).await.ok()?;
    Some((model, tz_of(&venue)))
}

/// A line's predicted seconds from queued to ready under `model`.
pub fn line_seconds(model: &PrepModel, tz: chrono_tz::Tz, line: &ticket_lines::Model) -> f64 {
    model
        .predict(
            &station_key(line),
            &item_key(line),
            line.queue_depth.max(0) as u32,
            line.queued_at.with_timezone(&tz).hour() as u8,
        )
        .seconds
}

/// When an order in the kitchen (CONFIRMED or PREPARING) should be ready: the latest predicted end of
/// its open lines (the venue's prep-time model, else each station's target), never before now. None
/// for orders outside the kitchen or with no open line.
pub async fn estimated_ready(
    state: &AppState,
    order: &crate::entities::orders::Model,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    use crate::orders::OrderStatus;
    if order.status != OrderStatus::Confirmed.as_str()
        && order.status != OrderStatus::Preparing.as_str()
    {
        return Ok(None);
    }
    let open = ticket_lines::Entity::find()
        .filter(ticket_lines::Column::OrderId.eq(order.id))
        .filter(
            ticket_lines::Column::State
                .is_in([LineState::Queued.as_str(), LineState::Started.as_str()]),
        )
        .all(&state.db)
        .await?;
    if open.is_empty() {
        return Ok(None);
    }
    let model = latest_model(state, order.restaurant_id).await;
    let mut targets = std::collections::HashMap::new();
    let mut latest = state.now();
    for line in &open {
        let seconds = match &model {
            Some((model, tz)) => line_seconds(model, *tz, line),
            None => {
                let minutes = match line.station_id {
                    Some(id) => match targets.get(&id) {
                        Some(m) => *m,
                        None => {
                            let m = stations::Entity::find_by_id(id)
                                .one(&state.db)
                                .await?
                                .map(|s| s.target_minutes)
                                .unwrap_or(super::DEFAULT_TARGET_MINUTES);
                            targets.insert(id, m);
                            m
                        }
                    },
                    None => super::DEFAULT_TARGET_MINUTES,
                };
                minutes as f64 * 60.0
            }
        };
        let end = line.queued_at + Duration::milliseconds((seconds * 1000.0) as i64);
        if end > latest {
            latest = end;
        }
    }
    Ok(Some(latest))
}

/// One station in one local hour of the day: how long its lines took against what the prep-time model
/// predicted for them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StationHour {
    pub station_id: Uuid,
    pub station_name: String,
    /// Local hour of the day (0-23) the lines were queued in, in the venue's time zone.
    pub hour: u8,
    /// Finished lines.
    pub lines: usize,
    /// Queued to ready, minutes: the median and the 90th percentile.
    pub actual_p50_minutes: f64,
    pub actual_p90_minutes: f64,
    /// What the model in use predicted for the same lines (the station's target when no model answers).
    pub predicted_p50_minutes: f64,
    pub predicted_p90_minutes: f64,
    /// Share of the lines (0-1) that took longer than their prediction's upper bound.
    pub late_share: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Station performance over the last `days` days: per station and local hour, actual against
/// predicted prep times (p50 and p90), from the finished ticket lines.
pub async fn performance(
    state: &AppState,
    venue_id: Uuid,
    days: i64,
) -> Result<Vec<StationHour>, ApiError> {
    let venue = crate::restaurants::find(state, venue_id).await?;
    let tz = tz_of(&venue);
    let now = state.now();
    let all = stations::Entity::find()
        .filter(stations::Column::RestaurantId.eq(venue_id))
        .order_by_asc(stations::Column::DisplayOrder)
        .all(&state.db)
        .await?;
    let lines = ticket_lines::Entity::find()
        .filter(ticket_lines::Column::RestaurantId.eq(venue_id))
        .filter(ticket_lines::Column::QueuedAt.gte(now - Duration::days(days)))
        .filter(ticket_lines::Column::State.eq(LineState::Ready.as_str()))
        .filter(ticket_lines::Column::ReadyAt.is_not_null())
        .all(&state.db)
        .await?;
    let model = latest_model(state, venue_id).await.map(|(m, _)| m);
    let mut out = Vec::new();
    for station in &all {
        let mut by_hour: std::collections::BTreeMap<u8, (Vec<f64>, Vec<f64>, usize)> =
            Default::default();
        for line in lines.iter().filter(|l| l.station_id == Some(station.id)) {
            let Some(ready) = line.ready_at else { continue };
            let actual = (ready - line.queued_at).num_milliseconds() as f64 / 60_000.0;
            if actual < 0.0 {
                continue;
            }
            let (predicted, upper) = match &model {
                Some(m) => {
                    let p = m.predict(
                        &station_key(line),
                        &item_key(line),
                        line.queue_depth.max(0) as u32,
                        line.queued_at.with_timezone(&tz).hour() as u8,
                    );
                    (p.seconds / 60.0, p.upper / 60.0)
                }
                None => (station.target_minutes as f64, station.target_minutes as f64),
            };
            let hour = line.queued_at.with_timezone(&tz).hour() as u8;
            let entry = by_hour.entry(hour).or_default();
            entry.0.push(actual);
            entry.1.push(predicted);
            if actual > upper {
                entry.2 += 1;
            }
        }
        for (hour, (mut actual, mut predicted, late)) in by_hour {
            actual.sort_by(f64::total_cmp);
            predicted.sort_by(f64::total_cmp);
            let round = |v: f64| (v * 100.0).round() / 100.0;
            out.push(StationHour {
                station_id: station.id,
                station_name: station.name.clone(),
                hour,
                lines: actual.len(),
                actual_p50_minutes: round(percentile(&actual, 0.5)),
                actual_p90_minutes: round(percentile(&actual, 0.9)),
                predicted_p50_minutes: round(percentile(&predicted, 0.5)),
                predicted_p90_minutes: round(percentile(&predicted, 0.9)),
                late_share: round(late as f64 / actual.len() as f64),
            });
        }
    }
    Ok(out)
}
