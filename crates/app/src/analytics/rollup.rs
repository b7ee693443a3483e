//! The summary tables, written from the status-event stream by the `analytics.rollup` job.
//!
//! The job reads the events stored since its watermark (`analytics_watermarks`). For every order those
//! events belong to, it takes away what the order contributed before (its events up to the watermark) and
//! adds what it contributes now (all its events up to the new watermark), in every hour and local day the
//! order touches: a late event that lands between two stored ones changes the bucket of the interval it
//! splits, and only those buckets. One run is one transaction that claims the watermark row first, so
//! runs on several processes queue behind each other instead of counting twice.
//!
//! What an order contributes:
//! - `order_status_rollups`: each event enters its status (and channel code) in the bucket of its
//!   instant; the time until the order's next event (by instant, then id) is that status's time, counted
//!   in the same bucket. The last event's state is still open and not timed.
//! - `order_throughput_rollups`: `created` in the bucket of the order's creation, `finished` in the
//!   bucket of its first event in a terminal state (COMPLETED or CANCELLED).
//! - `customer_order_stats`: one order for its customer at its restaurant (once, when first seen).
//!
//! Buckets are the restaurant's local hours and local days (a local hour is a UTC hour except in zones
//! whose offset is not a whole number of hours).

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use brigade_platform::jobs::{JobFailure, JobHandler};
use chrono::Offset;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rustc_hash::FxHashMap as HashMap;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    QuerySelect, Set, Statement, TransactionTrait,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::bulk::{self, Col};
use super::channel::SOURCE_CHANNEL;
use super::histogram::Histogram;
use crate::entities::{
    analytics_watermarks, channel_orders, customer_order_stats, customer_order_totals,
    order_status_events, order_status_rollups, order_throughput_rollups, orders, restaurants,
};
use crate::state::AppState;

pub const ROLLUP_JOB: &str = "analytics.rollup";
const WATERMARK: &str = "order_rollups";
/// Events read in one run.
const BATCH: u64 = 1_000_000;
/// Events younger than this are left for the next run: on PostgreSQL a sequence number is taken before
/// its transaction commits, so a younger event with a smaller id might still appear.
pub const SETTLE_SECONDS: i64 = 5;

pub const HOUR: &str = "hour";
pub const DAY: &str = "day";
const HOUR_MS: i64 = 3_600_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusKey {
    pub granularity: &'static str,
    pub restaurant: Uuid,
    pub bucket: i64,
    pub status: Arc<str>,
    pub code: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusCell {
    pub entered: i64,
    pub timed: i64,
    pub duration_ms: i64,
    pub histogram: Histogram,
}

impl StatusCell {
    fn is_empty(&self) -> bool {
        self.entered == 0 && self.timed == 0 && self.duration_ms == 0 && self.histogram.is_empty()
    }

    fn add(&mut self, other: &StatusCell) {
        self.entered += other.entered;
        self.timed += other.timed;
        self.duration_ms += other.duration_ms;
        self.histogram.merge(&other.histogram, 1);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BucketKey {
    pub granularity: &'static str,
    pub restaurant: Uuid,
    pub bucket: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Throughput {
    pub created: i64,
    pub finished: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerStat {
    pub orders: i64,
    pub valued_orders: i64,
    pub value_minor: i64,
    pub currency: String,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// Rollup rows, as stored or as computed (also used for the differences one run applies).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rollups {
    pub status: HashMap<StatusKey, StatusCell>,
    pub throughput: HashMap<BucketKey, Throughput>,
    pub customers: HashMap<(Uuid, Uuid), CustomerStat>,
    /// Over all restaurants, by customer.
    pub totals: HashMap<Uuid, CustomerStat>,
}

impl Rollups {
    fn prune(&mut self) {
        self.status.retain(|_, c| !c.is_empty());
        self.throughput
            .retain(|_, t| t.created != 0 || t.finished != 0);
    }
}

/// One event of an order, as the rollups read it.
#[derive(Debug, Clone)]
struct Ev {
    id: i64,
    at_ms: i64,
    status: Arc<str>,
    code: i32,
}

struct OrderInfo {
    restaurant: Uuid,
    created_ms: i64,
    customer: Option<Uuid>,
    total_minor: i64,
    currency: String,
    value_known: bool,
}

/// Bucket starts: each restaurant's local hours and local days.
#[derive(Default)]
struct Buckets {
    zones: HashMap<Uuid, Tz>,
    /// (hour start, day start) by restaurant and quarter hour (every zone's offset is a whole number of
    /// quarters, so one quarter hour lies in one local hour and one local day).
    starts: HashMap<(Uuid, i64), (i64, i64)>,
}

impl Buckets {
    fn starts(&mut self, restaurant: Uuid, ms: i64) -> (i64, i64) {
        const QUARTER: i64 = 900_000;
        let slot = ms.div_euclid(QUARTER);
        if let Some(starts) = self.starts.get(&(restaurant, slot)) {
            return *starts;
        }
        let tz = self.zones.get(&restaurant).copied().unwrap_or(Tz::UTC);
        let starts = match Utc.timestamp_millis_opt(slot * QUARTER).single() {
            Some(at) => (
                local_hour(tz, slot * QUARTER),
                local_midnight(tz, at.with_timezone(&tz).date_naive()),
            ),
            None => (
                ms.div_euclid(HOUR_MS) * HOUR_MS,
                ms.div_euclid(HOUR_MS) * HOUR_MS,
            ),
        };
        self.starts.insert((restaurant, slot), starts);
        starts
    }
}

/// The start of the local hour (of `tz`) an instant falls in: the UTC hour in zones whose offset is a
/// whole number of hours, the half hour in India's.
pub fn local_hour(tz: Tz, ms: i64) -> i64 {
    let offset_ms = Utc
        .timestamp_millis_opt(ms)
        .single()
        .map(|at| {
            i64::from(
                tz.offset_from_utc_datetime(&at.naive_utc())
                    .fix()
                    .local_minus_utc(),
            ) * 1000
        })
        .unwrap_or(0);
    ms - (ms + offset_ms).rem_euclid(HOUR_MS)
}

/// The first instant of a local date (a midnight skipped by a DST change moves to the first hour that
/// exists).
pub fn local_midnight(tz: Tz, date: NaiveDate) -> i64 {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    crate::restaurants::hours::local_to_utc(tz, midnight).timestamp_millis()
}

fn is_terminal(status: &str) -> bool {
    status == "COMPLETED" || status == "CANCELLED"
}

/// Add (sign 1) or take away (sign -1) what one order's events contribute.
fn contribute(out: &mut Rollups, buckets: &mut Buckets, info: &OrderInfo, evs: &[Ev], sign: i64) {
    if evs.is_empty() {
        return;
    }
    let r = info.restaurant;
    let keys = |buckets: &mut Buckets, ms: i64| {
        let (hour, day) = buckets.starts(r, ms);
        [(HOUR, hour), (DAY, day)]
    };
    for (granularity, bucket) in keys(buckets, info.created_ms) {
        out.throughput
            .entry(BucketKey {
                granularity,
                restaurant: r,
                bucket,
            })
            .or_default()
            .created += sign;
    }
    let mut finished = false;
    for (i, ev) in evs.iter().enumerate() {
        let next = evs.get(i + 1).map(|n| n.at_ms - ev.at_ms);
        for (granularity, bucket) in keys(buckets, ev.at_ms) {
            let cell = out
                .status
                .entry(StatusKey {
                    granularity,
                    restaurant: r,
                    bucket,
                    status: Arc::clone(&ev.status),
                    code: ev.code,
                })
                .or_default();
            cell.entered += sign;
            if let Some(ms) = next {
                cell.timed += sign;
                cell.duration_ms += sign * ms;
                cell.histogram.add_ms(ms, sign);
            }
            if !finished && is_terminal(&ev.status) {
                out.throughput
                    .entry(BucketKey {
                        granularity,
                        restaurant: r,
                        bucket,
                    })
                    .or_default()
                    .finished += sign;
            }
        }
        if is_terminal(&ev.status) {
            finished = true;
        }
    }
}

fn count_customer(out: &mut Rollups, info: &OrderInfo) {
    let Some(customer) = info.customer else {
        return;
    };
    let add = |stat: &mut CustomerStat| {
        stat.orders += 1;
        if info.value_known {
            stat.valued_orders += 1;
            stat.value_minor += info.total_minor;
        }
        stat.first_ms = stat.first_ms.min(info.created_ms);
        stat.last_ms = stat.last_ms.max(info.created_ms);
    };
    let fresh = || CustomerStat {
        orders: 0,
        valued_orders: 0,
        value_minor: 0,
        currency: info.currency.clone(),
        first_ms: info.created_ms,
        last_ms: info.created_ms,
    };
    add(out
        .customers
        .entry((info.restaurant, customer))
        .or_insert_with(fresh));
    add(out.totals.entry(customer).or_insert_with(fresh));
}

type EventRow = (i64, Uuid, DateTime<Utc>, String, Option<i32>);
/// An event row with the instant it was stored.
type RecordedRow = (i64, Uuid, DateTime<Utc>, String, Option<i32>, DateTime<Utc>);
type OrderRow = (Uuid, Uuid, DateTime<Utc>, Option<Uuid>, i64, String, String);

fn event_columns() -> [order_status_events::Column; 5] {
    [
        order_status_events::Column::Id,
        order_status_events::Column::OrderId,
        order_status_events::Column::OccurredAt,
        order_status_events::Column::ToStatus,
        order_status_events::Column::RawCode,
    ]
}

/// One shared copy of each status name.
fn intern(names: &mut HashMap<String, Arc<str>>, status: String) -> Arc<str> {
    if let Some(name) = names.get(&status) {
        return Arc::clone(name);
    }
    let name: Arc<str> = Arc::from(status.as_str());
    names.insert(status, Arc::clone(&name));
    name
}

fn group_events(rows: Vec<EventRow>, into: &mut HashMap<Uuid, Vec<Ev>>) {
    let mut names: HashMap<String, Arc<str>> = HashMap::default();
    for (id, order, at, status, code) in rows {
        let status = intern(&mut names, status);
        into.entry(order).or_default().push(Ev {
            id,
            at_ms: at.timestamp_millis(),
            status,
            code: code.unwrap_or(-1),
        });
    }
}

fn sort_events(evs: &mut [Ev]) {
    evs.sort_by_key(|e| (e.at_ms, e.id));
}

async fn order_infos<C: ConnectionTrait>(
    db: &C,
    orders_filter: Condition,
    channel_filter: Condition,
) -> Result<HashMap<Uuid, OrderInfo>, DbErr> {
    let rows: Vec<OrderRow> = orders::Entity::find()
        .select_only()
        .columns([
            orders::Column::Id,
            orders::Column::RestaurantId,
            orders::Column::CreatedAt,
            orders::Column::CustomerId,
            orders::Column::TotalMinor,
            orders::Column::Currency,
            orders::Column::Source,
        ])
        .filter(orders_filter)
        .into_tuple()
        .all(db)
        .await?;
    let channel: HashMap<Uuid, (Option<Uuid>, bool)> = channel_orders::Entity::find()
        .select_only()
        .columns([
            channel_orders::Column::OrderId,
            channel_orders::Column::CustomerId,
            channel_orders::Column::ValueKnown,
        ])
        .filter(channel_filter)
        .into_tuple::<(Uuid, Option<Uuid>, bool)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, c, v)| (id, (c, v)))
        .collect();
    Ok(rows
        .into_iter()
        .map(
            |(id, restaurant, created, customer, total, currency, source)| {
                let (channel_customer, value_known) = match channel.get(&id) {
                    Some((c, v)) => (*c, *v),
                    None => (None, source != SOURCE_CHANNEL),
                };
                (
                    id,
                    OrderInfo {
                        restaurant,
                        created_ms: created.timestamp_millis(),
                        customer: customer.or(channel_customer),
                        total_minor: total,
                        currency,
                        value_known,
                    },
                )
            },
        )
        .collect())
}

async fn zones<C: ConnectionTrait>(db: &C, filter: Condition) -> Result<HashMap<Uuid, Tz>, DbErr> {
    let rows: Vec<(Uuid, String)> = restaurants::Entity::find()
        .select_only()
        .columns([restaurants::Column::Id, restaurants::Column::Timezone])
        .filter(filter)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, zone)| (id, zone.parse().unwrap_or(Tz::UTC)))
        .collect())
}

/// Everything the rollups should hold, computed from the raw events (tests and checks).
pub async fn recompute<C: ConnectionTrait>(db: &C) -> Result<Rollups, DbErr> {
    let rows: Vec<EventRow> = order_status_events::Entity::find()
        .select_only()
        .columns(event_columns())
        .into_tuple()
        .all(db)
        .await?;
    let mut by_order = HashMap::default();
    group_events(rows, &mut by_order);
    let infos = order_infos(db, Condition::all(), Condition::all()).await?;
    let mut buckets = Buckets {
        zones: zones(db, Condition::all()).await?,
        ..Default::default()
    };
    let mut out = Rollups::default();
    for (order, mut evs) in by_order {
        let Some(info) = infos.get(&order) else {
            continue;
        };
        sort_events(&mut evs);
        contribute(&mut out, &mut buckets, info, &evs, 1);
        count_customer(&mut out, info);
    }
    out.prune();
    Ok(out)
}

/// What the summary tables hold now.
pub async fn stored<C: ConnectionTrait>(db: &C) -> Result<Rollups, DbErr> {
    let mut out = Rollups::default();
    for row in order_status_rollups::Entity::find().all(db).await? {
        out.status.insert(
            StatusKey {
                granularity: granularity_of(&row.granularity),
                restaurant: row.restaurant_id,
                bucket: row.bucket_start,
                status: Arc::from(row.status),
                code: row.code,
            },
            StatusCell {
                entered: row.entered,
                timed: row.timed,
                duration_ms: row.duration_ms,
                histogram: Histogram::parse(&row.histogram),
            },
        );
    }
    for row in order_throughput_rollups::Entity::find().all(db).await? {
        out.throughput.insert(
            BucketKey {
                granularity: granularity_of(&row.granularity),
                restaurant: row.restaurant_id,
                bucket: row.bucket_start,
            },
            Throughput {
                created: row.created,
                finished: row.finished,
            },
        );
    }
    for row in customer_order_stats::Entity::find().all(db).await? {
        out.customers.insert(
            (row.restaurant_id, row.customer_id),
            CustomerStat {
                orders: row.orders,
                valued_orders: row.valued_orders,
                value_minor: row.value_minor,
                currency: row.currency,
                first_ms: row.first_ms,
                last_ms: row.last_ms,
            },
        );
    }
    for row in customer_order_totals::Entity::find().all(db).await? {
        out.totals.insert(
            row.customer_id,
            CustomerStat {
                orders: row.orders,
                valued_orders: row.valued_orders,
                value_minor: row.value_minor,
                currency: row.currency,
                first_ms: row.first_ms,
                last_ms: row.last_ms,
            },
        );
    }
    Ok(out)
}

fn granularity_of(s: &str) -> &'static str {
    if s == DAY { DAY } else { HOUR }
}

#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
pub struct RollupRun {
    /// Events read.
    pub events: u64,
    /// Orders whose contribution changed.
    pub orders: u64,
    /// Runs (transactions) it took.
    pub batches: u64,
    /// The newest event id the rollups include.
    pub watermark: i64,
}

/// Roll up every settled event not rolled up yet.
pub async fn catch_up(state: &AppState) -> Result<RollupRun, DbErr> {
    let mut total = RollupRun::default();
    loop {
        match step(state).await? {
            Some(run) => {
                total.events += run.events;
                total.orders += run.orders;
                total.batches += 1;
                total.watermark = run.watermark;
            }
            None => {
                if total.batches == 0 {
                    total.watermark = watermark(&state.db).await?;
                }
                return Ok(total);
            }
        }
    }
}

/// The newest event id the rollups include.
pub async fn watermark<C: ConnectionTrait>(db: &C) -> Result<i64, DbErr> {
    Ok(analytics_watermarks::Entity::find_by_id(WATERMARK)
        .one(db)
        .await?
        .map(|w| w.last_event_id)
        .unwrap_or(0))
}

/// Forget every rollup and build them again from the whole stream.
pub async fn rebuild(state: &AppState) -> Result<RollupRun, DbErr> {
    forget(state).await?;
    catch_up(state).await
}

/// Empty the rollups and set the watermark back to the start of the stream.
pub async fn forget(state: &AppState) -> Result<(), DbErr> {
    {
        let _turn = state.write_turn().await;
        let txn = state.db.begin().await?;
        claim(&txn, state.now()).await?;
        order_status_rollups::Entity::delete_many()
            .exec(&txn)
            .await?;
        order_throughput_rollups::Entity::delete_many()
            .exec(&txn)
            .await?;
        customer_order_stats::Entity::delete_many()
            .exec(&txn)
            .await?;
        customer_order_totals::Entity::delete_many()
            .exec(&txn)
            .await?;
        analytics_watermarks::Entity::update_many()
            .col_expr(analytics_watermarks::Column::LastEventId, Expr::value(0i64))
            .filter(analytics_watermarks::Column::Name.eq(WATERMARK))
            .exec(&txn)
            .await?;
        txn.commit().await?;
    }
    Ok(())
}

/// Take the watermark row for this transaction (other runs wait), creating it the first time.
async fn claim<C: ConnectionTrait>(txn: &C, now: DateTime<Utc>) -> Result<i64, DbErr> {
    let touch = || {
        analytics_watermarks::Entity::update_many()
            .col_expr(analytics_watermarks::Column::UpdatedAt, Expr::value(now))
            .filter(analytics_watermarks::Column::Name.eq(WATERMARK))
    };
    if touch().exec(txn).await?.rows_affected == 0 {
        analytics_watermarks::Entity::insert(analytics_watermarks::ActiveModel {
            name: Set(WATERMARK.into()),
            last_event_id: Set(0),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(analytics_watermarks::Column::Name)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
        touch().exec(txn).await?;
    }
    watermark(txn).await
}

/// Events read per statement.
const READ_CHUNK: u64 = 100_000;

/// An instant as stored (RFC 3339 text on SQLite, ISO 8601 in PostgreSQL's JSON).
fn parse_stored_instant(text: &str) -> Result<DateTime<Utc>, DbErr> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z"))
        .map(|at| at.with_timezone(&Utc))
        .map_err(|e| DbErr::Custom(format!("stored instant {text:?}: {e}")))
}

/// Events whose rows `filter` picks (SQL over `order_status_events`, binding `values`), with the instant
/// each was stored, in id order. They come as one JSON array per statement: a row per event costs the
/// driver more than the database spends finding it.
async fn events_where<C: ConnectionTrait>(
    db: &C,
    filter: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Vec<RecordedRow>, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => format!(
            "SELECT json_agg(json_build_array(id, order_id, occurred_at, to_status, raw_code, recorded_at) \
             ORDER BY id)::text FROM (SELECT id, order_id, occurred_at, to_status, raw_code, recorded_at \
             FROM order_status_events WHERE {filter}) s"
        ),
        _ => format!(
            "SELECT json_group_array(json_array(id, hex(order_id), occurred_at, to_status, raw_code, \
             recorded_at)) FROM (SELECT id, order_id, occurred_at, to_status, raw_code, recorded_at \
             FROM order_status_events WHERE {filter})"
        ),
    };
    let Some(row) = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?
    else {
        return Ok(Vec::new());
    };
    let Some(json) = row.try_get_by_index::<Option<String>>(0)? else {
        return Ok(Vec::new());
    };
    type Raw<'a> = (i64, &'a str, &'a str, &'a str, Option<i32>, &'a str);
    let raw: Vec<Raw> =
        serde_json::from_str(&json).map_err(|e| DbErr::Custom(format!("events: {e}")))?;
    let mut out = Vec::with_capacity(raw.len());
    for (id, order, at, status, code, recorded) in raw {
        out.push((
            id,
            Uuid::try_parse(order).map_err(|e| DbErr::Custom(format!("event {id}: {e}")))?,
            parse_stored_instant(at)?,
            status.to_owned(),
            code,
            parse_stored_instant(recorded)?,
        ));
    }
    out.sort_unstable_by_key(|r| r.0);
    Ok(out)
}

/// What the rollups need of the orders with events in the ids `(from, to]`, read as one JSON array.
async fn touched_order_infos<C: ConnectionTrait>(
    db: &C,
    from: i64,
    to: i64,
) -> Result<HashMap<Uuid, OrderInfo>, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT json_agg(json_build_array(o.id, o.restaurant_id, o.created_at, o.customer_id, \
             o.total_minor, o.currency, o.source, c.customer_id, c.value_known))::text \
             FROM orders o LEFT JOIN channel_orders c ON c.order_id = o.id WHERE o.id IN \
             (SELECT order_id FROM order_status_events WHERE id > $1 AND id <= $2)"
        }
        _ => {
            "SELECT json_group_array(json_array(hex(o.id), hex(o.restaurant_id), o.created_at, \
             hex(o.customer_id), o.total_minor, o.currency, o.source, hex(c.customer_id), c.value_known)) \
             FROM orders o LEFT JOIN channel_orders c ON c.order_id = o.id WHERE o.id IN \
             (SELECT order_id FROM order_status_events WHERE id > ?1 AND id <= ?2)"
        }
    };
    let Some(row) = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [from.into(), to.into()],
        ))
        .await?
    else {
        return Ok(HashMap::default());
    };
    let Some(json) = row.try_get_by_index::<Option<String>>(0)? else {
        return Ok(HashMap::default());
    };
    type Raw<'a> = (
        &'a str,
        &'a str,
        &'a str,
        Option<&'a str>,
        i64,
        &'a str,
        &'a str,
        Option<&'a str>,
        Option<serde_json::Value>,
    );
    let raw: Vec<Raw> =
        serde_json::from_str(&json).map_err(|e| DbErr::Custom(format!("orders: {e}")))?;
    let uuid = |text: &str| {
        Uuid::try_parse(text).map_err(|e| DbErr::Custom(format!("stored id {text:?}: {e}")))
    };
    // SQLite's hex() of NULL is the empty string.
    let maybe = |text: Option<&str>| match text {
        None | Some("") => Ok(None),
        Some(text) => uuid(text).map(Some),
    };
    let mut out = HashMap::with_capacity_and_hasher(raw.len(), Default::default());
    for (id, restaurant, created, customer, total, currency, source, channel_customer, known) in raw
    {
        let value_known = match known {
            Some(serde_json::Value::Bool(b)) => b,
            Some(serde_json::Value::Number(n)) => n.as_i64() != Some(0),
            // Not a channel order: its value is its total.
            _ => source != SOURCE_CHANNEL,
        };
        out.insert(
            uuid(id)?,
            OrderInfo {
                restaurant: uuid(restaurant)?,
                created_ms: parse_stored_instant(created)?.timestamp_millis(),
                customer: maybe(customer)?.or(maybe(channel_customer)?),
                total_minor: total,
                currency: currency.to_owned(),
                value_known,
            },
        );
    }
    Ok(out)
}

/// The first `limit` events after the id `after`.
async fn events_after<C: ConnectionTrait>(
    db: &C,
    after: i64,
    limit: u64,
) -> Result<Vec<RecordedRow>, DbErr> {
    let backend = db.get_database_backend();
    let (p1, p2) = (bulk::param(backend, 1), bulk::param(backend, 2));
    let mut out: Vec<RecordedRow> = Vec::new();
    let mut last = after;
    while (out.len() as u64) < limit {
        let n = (limit - out.len() as u64).min(READ_CHUNK);
        let part = events_where(
            db,
            &format!("id > {p1} ORDER BY id LIMIT {p2}"),
            vec![last.into(), (n as i64).into()],
        )
        .await?;
        let Some(end) = part.last().map(|r| r.0) else {
            break;
        };
        let full = part.len() as u64 == n;
        out.extend(part);
        last = end;
        if !full {
            break;
        }
    }
    Ok(out)
}

/// One run: at most `BATCH` events, one transaction. `None` when nothing settled is waiting.
async fn step(state: &AppState) -> Result<Option<RollupRun>, DbErr> {
    let now = state.now();
    let settled = now - chrono::Duration::seconds(SETTLE_SECONDS);
    let _turn = state.write_turn().await;
    let txn = state.db.begin().await?;
    let from = claim(&txn, now).await?;

    let rows = events_after(&txn, from, BATCH).await?;
    let settled_rows: Vec<EventRow> = rows
        .into_iter()
        .take_while(|r| r.5 <= settled)
        .map(|(id, order, at, status, code, _)| (id, order, at, status, code))
        .collect();
    let Some(to) = settled_rows.last().map(|r| r.0) else {
        txn.commit().await?;
        return Ok(None);
    };
    let events_read = settled_rows.len() as u64;

    let backend = txn.get_database_backend();
    let (p1, p2) = (bulk::param(backend, 1), bulk::param(backend, 2));
    let old_rows: Vec<EventRow> = events_where(
        &txn,
        &format!(
            "id <= {p1} AND order_id IN (SELECT order_id FROM order_status_events WHERE id > {p1} \
             AND id <= {p2})"
        ),
        vec![from.into(), to.into()],
    )
    .await?
    .into_iter()
    .map(|(id, order, at, status, code, _)| (id, order, at, status, code))
    .collect();
    let mut old: HashMap<Uuid, Vec<Ev>> = HashMap::default();
    group_events(old_rows, &mut old);
    let mut new: HashMap<Uuid, Vec<Ev>> = old.clone();
    group_events(settled_rows, &mut new);

    let infos = touched_order_infos(&txn, from, to).await?;
    let restaurants_touched: BTreeSet<Uuid> = infos.values().map(|i| i.restaurant).collect();
    let mut buckets = Buckets {
        zones: zones(
            &txn,
            Condition::all().add(restaurants::Column::Id.is_in(restaurants_touched)),
        )
        .await?,
        ..Default::default()
    };

    let mut delta = Rollups::default();
    for (order, mut evs) in new {
        let Some(info) = infos.get(&order) else {
            continue;
        };
        sort_events(&mut evs);
        match old.get_mut(&order) {
            Some(before) => {
                sort_events(before);
                contribute(&mut delta, &mut buckets, info, before, -1);
            }
            None => count_customer(&mut delta, info),
        }
        contribute(&mut delta, &mut buckets, info, &evs, 1);
    }
    let orders_changed = infos.len() as u64;
    delta.prune();
    apply(&txn, delta).await?;

    analytics_watermarks::Entity::update_many()
        .col_expr(analytics_watermarks::Column::LastEventId, Expr::value(to))
        .filter(analytics_watermarks::Column::Name.eq(WATERMARK))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    metrics::counter!("brigade_rollup_events_total").increment(events_read);
    Ok(Some(RollupRun {
        events: events_read,
        orders: orders_changed,
        batches: 1,
        watermark: to,
    }))
}

/// Rows per bulk statement.
const CHUNK: usize = 20_000;

const STATUS_COLS: [Col; 9] = [
    Col::Text,
    Col::Uuid,
    Col::Int,
    Col::Text,
    Col::Int4,
    Col::Int,
    Col::Int,
    Col::Int,
    Col::Text,
];

/// The stored status rows of the buckets a difference touches (read first: histograms are merged here).
async fn stored_status<C: ConnectionTrait>(
    txn: &C,
    delta: &HashMap<StatusKey, StatusCell>,
) -> Result<HashMap<StatusKey, StatusCell>, DbErr> {
    let buckets: BTreeSet<(&'static str, Uuid, i64)> = delta
        .keys()
        .map(|k| (k.granularity, k.restaurant, k.bucket))
        .collect();
    let buckets: Vec<_> = buckets.into_iter().collect();
    let sql = format!(
        "SELECT t.granularity, t.restaurant_id, t.bucket_start, t.status, t.code, t.entered, t.timed, \
         t.duration_ms, t.histogram FROM ({}) k JOIN order_status_rollups t ON t.granularity = k.c0 \
         AND t.restaurant_id = k.c1 AND t.bucket_start = k.c2",
        bulk::select(
            txn.get_database_backend(),
            &[Col::Text, Col::Uuid, Col::Int]
        )
    );
    let mut names: HashMap<String, Arc<str>> = HashMap::default();
    let mut out = HashMap::default();
    for row in bulk::query(txn, &sql, &buckets, CHUNK).await? {
        let status: String = row.try_get_by_index(3)?;
        let status = intern(&mut names, status);
        let histogram: String = row.try_get_by_index(8)?;
        out.insert(
            StatusKey {
                granularity: granularity_of(&row.try_get_by_index::<String>(0)?),
                restaurant: row.try_get_by_index(1)?,
                bucket: row.try_get_by_index(2)?,
                status,
                code: row.try_get_by_index(4)?,
            },
            StatusCell {
                entered: row.try_get_by_index(5)?,
                timed: row.try_get_by_index(6)?,
                duration_ms: row.try_get_by_index(7)?,
                histogram: Histogram::parse(&histogram),
            },
        );
    }
    Ok(out)
}

/// Add a difference to the stored rows (rows that become empty are deleted). Counts are added in SQL
/// (`col = col + excluded.col`); only status rows, whose histograms are merged here, are read first.
async fn apply<C: ConnectionTrait>(txn: &C, delta: Rollups) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();

    // Status rows.
    let mut current = stored_status(txn, &delta.status).await?;
    let mut upserts = Vec::with_capacity(delta.status.len());
    let mut empty = Vec::new();
    for (key, change) in delta.status {
        let mut cell = current.remove(&key).unwrap_or_default();
        cell.add(&change);
        if cell.is_empty() {
            empty.push((
                key.granularity,
                key.restaurant,
                key.bucket,
                key.status.to_string(),
                key.code,
            ));
        } else {
            upserts.push((
                key.granularity,
                key.restaurant,
                key.bucket,
                key.status.to_string(),
                key.code,
                cell.entered,
                cell.timed,
                cell.duration_ms,
                cell.histogram.to_text(),
            ));
        }
    }
    // In key order: the database then adds to the end of its indexes instead of all over them.
    upserts.sort_unstable_by(|a, b| (a.0, a.1, a.2, &a.3, a.4).cmp(&(b.0, b.1, b.2, &b.3, b.4)));
    let sql = format!(
        "INSERT INTO order_status_rollups (granularity, restaurant_id, bucket_start, status, code, \
         entered, timed, duration_ms, histogram) {} ON CONFLICT (granularity, restaurant_id, bucket_start, \
         status, code) DO UPDATE SET entered = excluded.entered, timed = excluded.timed, \
         duration_ms = excluded.duration_ms, histogram = excluded.histogram",
        bulk::select(backend, &STATUS_COLS)
    );
    bulk::execute(txn, &sql, &upserts, CHUNK).await?;
    let sql = format!(
        "DELETE FROM order_status_rollups WHERE (granularity, restaurant_id, bucket_start, status, code) \
         IN ({})",
        bulk::select(
            backend,
            &[Col::Text, Col::Uuid, Col::Int, Col::Text, Col::Int4]
        )
    );
    bulk::execute(txn, &sql, &empty, CHUNK).await?;

    // Throughput rows: added in SQL; the rows a subtraction may have emptied are deleted after.
    let mut rows = Vec::with_capacity(delta.throughput.len());
    let mut lowered = Vec::new();
    for (key, change) in delta.throughput {
        if change.created < 0 || change.finished < 0 {
            lowered.push((key.granularity, key.restaurant, key.bucket));
        }
        rows.push((
            key.granularity,
            key.restaurant,
            key.bucket,
            change.created,
            change.finished,
        ));
    }
    rows.sort_unstable_by_key(|r| (r.0, r.1, r.2));
    let sql = format!(
        "INSERT INTO order_throughput_rollups (granularity, restaurant_id, bucket_start, created, finished) \
         {} ON CONFLICT (granularity, restaurant_id, bucket_start) DO UPDATE SET \
         created = order_throughput_rollups.created + excluded.created, \
         finished = order_throughput_rollups.finished + excluded.finished",
        bulk::select(
            backend,
            &[Col::Text, Col::Uuid, Col::Int, Col::Int, Col::Int]
        )
    );
    bulk::execute(txn, &sql, &rows, CHUNK).await?;
    let sql = format!(
        "DELETE FROM order_throughput_rollups WHERE created = 0 AND finished = 0 \
         AND (granularity, restaurant_id, bucket_start) IN ({})",
        bulk::select(backend, &[Col::Text, Col::Uuid, Col::Int])
    );
    bulk::execute(txn, &sql, &lowered, CHUNK).await?;

    // Customers: only ever added to, per restaurant and over all restaurants.
    let mut rows: Vec<_> = delta
        .customers
        .into_iter()
        .map(|((r, c), add)| (vec![r, c], add))
        .collect();
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    add_customers(
        txn,
        "customer_order_stats",
        &["restaurant_id", "customer_id"],
        rows,
    )
    .await?;
    let mut rows: Vec<_> = delta
        .totals
        .into_iter()
        .map(|(c, add)| (vec![c], add))
        .collect();
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    add_customers(txn, "customer_order_totals", &["customer_id"], rows).await?;
    Ok(())
}

/// Add customer counts to `table` (keyed by the UUID columns `keys`): counts and values are summed,
/// first and last orders widened, in SQL.
async fn add_customers<C: ConnectionTrait>(
    txn: &C,
    table: &str,
    keys: &[&str],
    rows: Vec<(Vec<Uuid>, CustomerStat)>,
) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    let (least, greatest) = match backend {
        DbBackend::Postgres => ("LEAST", "GREATEST"),
        _ => ("min", "max"),
    };
    let key_list = keys.join(", ");
    let mut cols = vec![Col::Uuid; keys.len()];
    cols.extend([Col::Int, Col::Int, Col::Int, Col::Text, Col::Int, Col::Int]);
    let sql = format!(
        "INSERT INTO {table} ({key_list}, orders, valued_orders, value_minor, currency, first_ms, last_ms) \
         {select} ON CONFLICT ({key_list}) DO UPDATE SET orders = {table}.orders + excluded.orders, \
         valued_orders = {table}.valued_orders + excluded.valued_orders, \
         value_minor = {table}.value_minor + excluded.value_minor, \
         first_ms = {least}({table}.first_ms, excluded.first_ms), \
         last_ms = {greatest}({table}.last_ms, excluded.last_ms)",
        select = bulk::select(backend, &cols)
    );
    let rows: Vec<Vec<serde_json::Value>> = rows
        .into_iter()
        .map(|(key, add)| {
            let mut row: Vec<serde_json::Value> =
                key.iter().map(|k| k.to_string().into()).collect();
            row.extend([
                add.orders.into(),
                add.valued_orders.into(),
                add.value_minor.into(),
                add.currency.into(),
                add.first_ms.into(),
                add.last_ms.into(),
            ]);
            row
        })
        .collect();
    bulk::execute(txn, &sql, &rows, CHUNK).await?;
    Ok(())
}

/// The `analytics.rollup` job (every minute, and on demand).
pub struct RollupJob(pub AppState);

#[async_trait]
impl JobHandler for RollupJob {
    async fn run(&self, _payload: serde_json::Value) -> Result<(), JobFailure> {
        let started = std::time::Instant::now();
        let run = catch_up(&self.0)
            .await
            .map_err(|e| JobFailure::Retry(e.to_string()))?;
        if run.events > 0 {
            tracing::info!(
                events = run.events,
                orders = run.orders,
                watermark = run.watermark,
                ms = started.elapsed().as_millis() as u64,
                "order rollups caught up"
            );
        }
        Ok(())
    }
}
