//! Uptime/downtime reports: computing one from the database, and report runs (a stored row per report,
//! computed by the `monitoring.report` background job).

use std::collections::HashMap;

use async_trait::async_trait;
use brigade_platform::jobs::{JobFailure, JobHandler, NewJob};
use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{ActiveModelTrait, DbErr, EntityTrait, QuerySelect, Set};
use uuid::Uuid;

use super::polls;
use super::timeline::{self, DAY, Figures, Micros, Poll};
use crate::entities::{monitoring_reports, restaurant_hours, restaurants};
use crate::restaurants::{BusinessHours, HoursInterval};
use crate::state::AppState;

pub const REPORT_JOB: &str = "monitoring.report";

/// The seed's columns (by the seed's rule: every business instant takes the nearest poll's status,
/// however far it is), then the orders the demand forecast expected during the week's outages and
/// their value in the restaurant's currency (empty for stores without order history), then how much of
/// each window's business time had data: the percentage within an hour of a poll (empty when the window
/// holds no business time).
pub const CSV_HEADER: &str = "store_id,uptime_last_hour,uptime_last_day,uptime_last_week,downtime_last_hour,downtime_last_day,downtime_last_week,orders_at_risk_last_week,value_at_risk_last_week,data_coverage_last_hour,data_coverage_last_day,data_coverage_last_week";

#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub store_id: String,
    pub restaurant_id: Uuid,
    pub figures: Figures,
    /// The outages of the week (start, end).
    pub outages: Vec<(Micros, Micros)>,
    /// Orders the demand forecast expected during those outages, and their value (restaurants with
    /// orders only).
    pub orders_at_risk: Option<f64>,
    pub value_at_risk: Option<rust_decimal::Decimal>,
    /// Business time in the last hour, day and week, and the part of it within an hour of a poll.
    pub business: [Micros; 3],
    pub known: [Micros; 3],
}

impl ReportRow {
    /// Percentage of each window's business time with data; `None` for a window without business time.
    pub fn data_coverage(&self) -> [Option<f64>; 3] {
        std::array::from_fn(|i| {
            (self.business[i] > 0).then(|| 100.0 * self.known[i] as f64 / self.business[i] as f64)
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ComputedReport {
    /// The instant the windows end at.
    pub now: DateTime<Utc>,
    pub rows: Vec<ReportRow>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("there are no polls to report on{0}")]
    NoPolls(&'static str),
    #[error("database: {0}")]
    Database(#[from] DbErr),
    #[error("the report computation stopped: {0}")]
    Crashed(String),
}

pub fn micros_of(at: DateTime<Utc>) -> Micros {
    at.timestamp_micros()
}

pub fn instant_of(at: Micros) -> DateTime<Utc> {
    Utc.timestamp_micros(at).single().unwrap_or_default()
}

/// Each store's zone, external id and hours.
pub struct StoreInfo {
    pub store_id: String,
    pub hours: BusinessHours,
}

/// Zones, external ids and hours of some restaurants.
pub async fn store_info(
    db: &sea_orm::DatabaseConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, StoreInfo>, DbErr> {
    let started = std::time::Instant::now();
    let rows = {
        use sea_orm::{ColumnTrait, QueryFilter};
        let stores: Vec<(Uuid, Option<String>, String)> = restaurants::Entity::find()
            .select_only()
            .columns([
                restaurants::Column::Id,
                restaurants::Column::ExternalId,
                restaurants::Column::Timezone,
            ])
            .filter(restaurants::Column::Id.is_in(ids.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        let hours: Vec<(Uuid, i16, NaiveTime, NaiveTime)> = restaurant_hours::Entity::find()
            .select_only()
            .columns([
                restaurant_hours::Column::RestaurantId,
                restaurant_hours::Column::Weekday,
                restaurant_hours::Column::Opens,
                restaurant_hours::Column::Closes,
            ])
            .filter(restaurant_hours::Column::RestaurantId.is_in(ids.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        let mut out: HashMap<Uuid, (Option<String>, String, Vec<HoursInterval>)> = stores
            .into_iter()
            .map(|(id, external, zone)| (id, (external, zone, Vec::new())))
            .collect();
        for (id, weekday, opens, closes) in hours {
            if let Some(entry) = out.get_mut(&id) {
                entry.2.push(HoursInterval {
                    weekday: weekday.clamp(0, 6) as u8,
                    opens,
                    closes,
                });
            }
        }
        out
    };
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        stores = rows.len(),
        "stores read"
    );
    Ok(rows
        .into_iter()
        .map(|(id, (external, zone, intervals))| {
            let tz: Tz = zone.parse().unwrap_or(chrono_tz::America::Chicago);
            (
                id,
                StoreInfo {
                    store_id: external.unwrap_or_else(|| id.to_string()),
                    hours: BusinessHours::new(tz, intervals),
                },
            )
        })
        .collect())
}

/// Business intervals of `[from, to)` as microseconds.
pub fn business_micros(hours: &BusinessHours, from: Micros, to: Micros) -> Vec<(Micros, Micros)> {
    hours
        .intervals_utc(instant_of(from), instant_of(to))
        .into_iter()
        .map(|(a, b)| (micros_of(a), micros_of(b)))
        .collect()
}

/// The whole report, from the database. `as_of` defaults to the latest poll.
pub async fn compute(
    db: &sea_orm::DatabaseConnection,
    as_of: Option<DateTime<Utc>>,
) -> Result<ComputedReport, ReportError> {
    let now = match as_of {
        Some(at) => micros_of(at),
        None => polls::latest(db, None)
            .await?
            .ok_or(ReportError::NoPolls(" yet"))?,
    };
    let started = std::time::Instant::now();
    let stores = load_week(db, now).await?;
    let loaded = started.elapsed();
    let rows = tokio::task::spawn_blocking(move || figures_of_all(stores, now))
        .await
        .map_err(|e| ReportError::Crashed(e.to_string()))?
        .ok_or_else(|| ReportError::Crashed("a worker thread panicked".into()))?;
    tracing::debug!(
        load_ms = loaded.as_millis() as u64,
        compute_ms = (started.elapsed() - loaded).as_millis() as u64,
        "report computed"
    );
    if rows.is_empty() {
        return Err(ReportError::NoPolls(" at or before that instant"));
    }
    Ok(ComputedReport {
        now: instant_of(now),
        rows,
    })
}

/// Every store with polls in the week ending at `now` (or, for stores whose polls all lie before it,
/// their latest block), with its zone, hours and external id; polls after `now` included (callers
/// drop them).
pub async fn load_week(
    db: &sea_orm::DatabaseConnection,
    now: Micros,
) -> Result<Vec<(Vec<Poll>, StoreInfo, Uuid)>, DbErr> {
    let week_start = now - 7 * DAY;
    let (from_day, to_day) = (polls::day_of(week_start), polls::day_of(now));
    let input = super::bulk::read_report_input(db, from_day, to_day).await?;
    // Stores whose polls all lie before the range: their latest block, and their zone and hours.
    let mut before = polls::earlier(db, from_day, None).await?;
    let mut stores: Vec<(Vec<Poll>, StoreInfo, Uuid)> = Vec::with_capacity(input.len());
    for store in input {
        let mut list = before.remove(&store.restaurant_id).unwrap_or_default();
        polls::decode(&store.polls, &mut list);
        let tz: Tz = store
            .timezone
            .parse()
            .unwrap_or(chrono_tz::America::Chicago);
        stores.push((
            list,
            StoreInfo {
                store_id: store
                    .external_id
                    .unwrap_or_else(|| store.restaurant_id.to_string()),
                hours: BusinessHours::new(tz, store.hours),
            },
            store.restaurant_id,
        ));
    }
    if !before.is_empty() {
        let ids: Vec<Uuid> = before.keys().copied().collect();
        let mut info = HashMap::new();
        for chunk in ids.chunks(500) {
            info.extend(store_info(db, chunk).await?);
        }
        for (id, list) in before {
            if let Some(store) = info.remove(&id) {
                stores.push((list, store, id));
            }
        }
    }
    Ok(stores)
}

/// Figures of every store with a poll at or before `now`, sorted by store id; on both cores.
fn figures_of_all(
    stores: Vec<(Vec<Poll>, StoreInfo, Uuid)>,
    now: Micros,
) -> Option<Vec<ReportRow>> {
    let work = |part: &[(Vec<Poll>, StoreInfo, Uuid)]| -> Vec<ReportRow> {
        let mut rows = Vec::with_capacity(part.len());
        for (polls, store, id) in part {
            let mut polls: Vec<Poll> = polls.iter().copied().filter(|p| p.at <= now).collect();
            if polls.is_empty() {
                continue;
            }
            timeline::normalise(&mut polls);
            let business = business_micros(&store.hours, now - 7 * DAY, now);
            let windows = [now - timeline::HOUR, now - DAY, now - 7 * DAY];
            let window_business = windows.map(|from| timeline::clip(&business, from, now));
            rows.push(ReportRow {
                business: std::array::from_fn(|i| timeline::total(&window_business[i])),
                known: std::array::from_fn(|i| {
                    timeline::total(&timeline::covered(&polls, &window_business[i]))
                }),
                store_id: store.store_id.clone(),
                restaurant_id: *id,
                figures: timeline::figures(&polls, &business, now),
                outages: timeline::outages(&polls, &business)
                    .into_iter()
                    .map(|o| (o.start, o.end))
                    .collect(),
                orders_at_risk: None,
                value_at_risk: None,
            });
        }
        rows
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    let chunk = stores.len().div_ceil(threads).max(1);
    let parts: Option<Vec<Vec<ReportRow>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = stores
            .chunks(chunk)
            .map(|part| scope.spawn(move || work(part)))
            .collect();
        // A panicked part fails the report rather than leaving its stores out.
        handles.into_iter().map(|h| h.join().ok()).collect()
    });
    let mut rows: Vec<ReportRow> = parts?.into_iter().flatten().collect();
    rows.sort_by(|a, b| a.store_id.cmp(&b.store_id));
    Some(rows)
}

fn minutes(m: Micros) -> f64 {
    m as f64 / timeline::MINUTE as f64
}

fn hours(m: Micros) -> f64 {
    m as f64 / timeline::HOUR as f64
}

impl ComputedReport {
    /// The seed's CSV: hour figures in minutes, day and week figures in hours, two decimals.
    pub fn to_csv(&self) -> String {
        use std::fmt::Write;
        let mut out = String::with_capacity(64 * (self.rows.len() + 1));
        out.push_str(CSV_HEADER);
        out.push('\n');
        for row in &self.rows {
            let f = &row.figures;
            let coverage = row
                .data_coverage()
                .map(|c| c.map(|c| format!("{c:.2}")).unwrap_or_default());
            let _ = writeln!(
                out,
                "{},{:.2},{:.2},{:.2},{:.2},{:.2},{:.2},{},{},{},{},{}",
                csv_field(&row.store_id),
                minutes(f.uptime_hour),
                hours(f.uptime_day),
                hours(f.uptime_week),
                minutes(f.downtime_hour),
                hours(f.downtime_day),
                hours(f.downtime_week),
                row.orders_at_risk
                    .map(|o| format!("{o:.1}"))
                    .unwrap_or_default(),
                row.value_at_risk.map(|v| v.to_string()).unwrap_or_default(),
                coverage[0],
                coverage[1],
                coverage[2],
            );
        }
        out
    }
}

fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

/// Report states as the API names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub enum ReportStatus {
    Running,
    Complete,
    Failed,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Running => "running",
            ReportStatus::Complete => "complete",
            ReportStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> ReportStatus {
        match s {
            "complete" => ReportStatus::Complete,
            "failed" => ReportStatus::Failed,
            _ => ReportStatus::Running,
        }
    }
}

/// Store a new report run and queue its computation.
pub async fn start(
    state: &AppState,
    as_of: Option<DateTime<Utc>>,
    requested_by: Option<Uuid>,
) -> Result<monitoring_reports::Model, crate::http::error::ApiError> {
    let id = Uuid::now_v7();
    let model = monitoring_reports::ActiveModel {
        id: Set(id),
        status: Set(ReportStatus::Running.as_str().to_string()),
        as_of: Set(as_of),
        computed_for: Set(None),
        requested_by: Set(requested_by),
        store_count: Set(None),
        csv: Set(None),
        error: Set(None),
        duration_ms: Set(None),
        created_at: Set(state.now()),
        completed_at: Set(None),
    }
    .insert(&state.db)
    .await?;
    state
        .jobs
        .enqueue(
            NewJob::new(REPORT_JOB, serde_json::json!({ "report_id": id }))
                .dedup_key(format!("monitoring-report:{id}"))
                .max_attempts(1),
        )
        .await
        .map_err(crate::http::error::ApiError::internal)?;
    Ok(model)
}

/// Compute a stored report run and record the outcome (the reason when it fails).
pub async fn run(state: &AppState, id: Uuid) -> Result<(), DbErr> {
    let Some(report) = monitoring_reports::Entity::find_by_id(id)
        .one(&state.db)
        .await?
    else {
        tracing::warn!(%id, "report run not found; was it deleted?");
        return Ok(());
    };
    if ReportStatus::parse(&report.status) != ReportStatus::Running {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let mut outcome = compute(&state.db, report.as_of).await;
    if let Ok(computed) = &mut outcome {
        add_orders_at_risk(state, &mut computed.rows).await;
    }
    let elapsed = started.elapsed();
    metrics::histogram!("brigade_monitoring_report_seconds").record(elapsed.as_secs_f64());
    let mut active: monitoring_reports::ActiveModel = report.into();
    active.completed_at = Set(Some(state.now()));
    active.duration_ms = Set(Some(elapsed.as_millis() as i64));
    match outcome {
        Ok(computed) => {
            active.status = Set(ReportStatus::Complete.as_str().to_string());
            active.computed_for = Set(Some(computed.now));
            active.store_count = Set(Some(computed.rows.len() as i32));
            active.csv = Set(Some(computed.to_csv()));
            tracing::info!(%id, stores = computed.rows.len(), ms = elapsed.as_millis() as u64, "monitoring report complete");
        }
        Err(err) => {
            active.status = Set(ReportStatus::Failed.as_str().to_string());
            active.error = Set(Some(err.to_string()));
            tracing::warn!(%id, error = %err, "monitoring report failed");
        }
    }
    active.update(&state.db).await?;
    Ok(())
}

/// Orders at risk for the stores with order history and outages in the week.
pub async fn add_orders_at_risk(state: &AppState, rows: &mut [ReportRow]) {
    let with_orders: std::collections::HashSet<Uuid> =
        match crate::forecasting::series::restaurants_with_orders(state).await {
            Ok(ids) => ids.into_iter().collect(),
            Err(err) => {
                tracing::warn!(error = %err.message, "orders at risk left out of the report");
                return;
            }
        };
    for row in rows.iter_mut() {
        if !with_orders.contains(&row.restaurant_id) {
            continue;
        }
        let spans: Vec<_> = row
            .outages
            .iter()
            .map(|&(a, b)| (instant_of(a), instant_of(b)))
            .collect();
        match crate::forecasting::at_risk::expected_during(state, row.restaurant_id, &spans).await {
            Ok(risk) => {
                row.orders_at_risk = Some(risk.total_orders());
                row.value_at_risk = if spans.is_empty() {
                    Some(rust_decimal::Decimal::ZERO)
                } else {
                    risk.total_value()
                };
            }
            Err(err) => {
                tracing::warn!(store = row.store_id, error = %err.message, "orders at risk not computed")
            }
        }
    }
}

pub struct ReportJob(pub AppState);

#[async_trait]
impl JobHandler for ReportJob {
    async fn run(&self, payload: serde_json::Value) -> Result<(), JobFailure> {
        let id = payload
            .get("report_id")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse::<Uuid>().ok())
            .ok_or_else(|| JobFailure::Fatal("payload without a report_id".into()))?;
        run(&self.0, id)
            .await
            .map_err(|e| JobFailure::Retry(e.to_string()))
    }
}
