//! The summary tables, written from the status-event stream by the `analytics.rollup` job.
//!
//! The job reads the events stored since its watermark (`analytics_watermarks`). For every order those
//! events belong to, it takes away what the order contributed before (its events up to the watermark) and
//! adds what it contributes now (all its events up to the new watermark), in every hour and local day the
//! order touches: a late event that lands between two stored ones changes the bucket of the interval it
//! splits, and only those buckets.
//!
//! A run reads and computes first, with no lock held ([`read`], [`compute`]), then writes in one short
//! transaction that claims the watermark row and checks that it has not moved since the reads
//! ([`write`]); when another process's run got there first, the run starts again from the new
//! watermark. So runs on several processes never count twice, and on SQLite the write lock is held only
//! while rows are written, not while a million events are read.
//!
//! What an order contributes:
//! - `order_status_rollups`: each event enters its status (and channel code) in the bucket of its
//!   instant; the time until the order's next event (by instant, then id) is that status's time, counted
//!   in the same bucket. The last event's state is still open and not timed.
//! - `order_throughput_rollups`: `created` in the bucket of the order's creation, `finished` in the
//!   bucket of its first event in a terminal state (COMPLETED or CANCELLED).
//! - `customer_order_stats` and `customer_order_totals`: one order for its customer at its restaurant
//!   and over all restaurants (once, when first seen); `customer_order_counts`: how many customers have
//!   each number of orders over all restaurants.
//!
//! Buckets are the restaurant's local hours and local days (a local hour is a UTC hour except in zones
//! whose offset is not a whole number of hours).
//!
//! [`recompute`] works the same tables out from the raw stream in the plainest way, for tests to hold
//! the incremental runs against.

mod compute;
mod read;
mod write;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use brigade_platform::jobs::{JobFailure, JobHandler};
use chrono::{DateTime, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use rustc_hash::FxHashMap as HashMap;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;
use tokio::sync::mpsc;
use utoipa::ToSchema;
use uuid::Uuid;

use super::channel::SOURCE_CHANNEL;
use super::histogram::Histogram;
use crate::entities::{
    analytics_watermarks, channel_orders, customer_order_counts, customer_order_stats,
    customer_order_totals, order_status_events, order_status_rollups, order_throughput_rollups,
    orders, restaurants,
};
use crate::state::AppState;

pub const ROLLUP_JOB: &str = "analytics.rollup";
const WATERMARK: &str = "order_rollups";
/// Up to which event the customers of newly seen orders are counted. It trails `WATERMARK` while a
/// catch-up gathers them, and may pass it when a run's customers are written but its status rows lose
/// to another process's run (see [`catch_up`]).
const CUSTOMER_WATERMARK: &str = "customer_rollups";
/// Customer changes (rows to write) gathered at most before they are written.
const CUSTOMERS_GATHERED: usize = 2_000_000;
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

/// The summary tables' rows (as stored, or as worked out from the raw stream).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rollups {
    pub status: HashMap<StatusKey, StatusCell>,
    pub throughput: HashMap<BucketKey, Throughput>,
    pub customers: HashMap<(Uuid, Uuid), CustomerStat>,
    /// Over all restaurants, by customer.
    pub totals: HashMap<Uuid, CustomerStat>,
    /// Customers by their number of orders over all restaurants.
    pub counts: BTreeMap<i64, i64>,
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
///
/// The next batch is read while the one before it is computed and written (the reads need only the raw
/// stream, not the rollups), so reading and writing overlap on two cores. Customer counts only ever
/// grow, and a run of a million events touches about 300,000 customer rows, mostly the same customers
/// as the run before; so they are gathered over the runs of one catch-up (up to `CUSTOMERS_GATHERED`
/// rows) and written together, under a watermark of their own, beside the last run's status rows: on
/// PostgreSQL the two transactions run at once on two connections; on SQLite, which writes one
/// transaction at a time, one after the other. Should a process stop before writing what it gathered,
/// or another process's runs interleave with its own, the next catch-up counts the customers of the
/// orders first seen after the customer watermark again from the stream ([`count_customers`]).
pub async fn catch_up(state: &AppState) -> Result<RollupRun, DbErr> {
    catch_up_in_batches(state, BATCH).await
}

/// [`catch_up`] reading at most `size` events per run (tests use small batches to go through many
/// runs).
pub async fn catch_up_in_batches(state: &AppState, size: u64) -> Result<RollupRun, DbErr> {
    let settled = state.now() - chrono::Duration::seconds(SETTLE_SECONDS);
    catch_up_to(state, size, Horizon::settled(settled)).await
}

/// Roll up every event committed before the call, at once: what an explicit run (`brigade orders
/// rollup`, `POST /api/analytics/rollups`) promises. Instead of leaving the last seconds' events to
/// settle, it finds the highest event id allocated so far and waits for the transactions that could
/// still commit an event at or below it ([`read::committed_horizon`]); on SQLite, whose writes commit
/// in id order, that is the highest stored id.
pub async fn catch_up_now(state: &AppState) -> Result<RollupRun, DbErr> {
    let horizon = read::committed_horizon(&state.db).await?;
    catch_up_to(state, BATCH, horizon).await
}

/// How far a catch-up reads: events up to the id `until` and recorded at or before `settled_ms`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Horizon {
    pub settled_ms: i64,
    pub until: i64,
}

impl Horizon {
    fn settled(at: DateTime<Utc>) -> Horizon {
        Horizon {
            settled_ms: at.timestamp_millis(),
            until: i64::MAX,
        }
    }
}

async fn catch_up_to(state: &AppState, size: u64, horizon: Horizon) -> Result<RollupRun, DbErr> {
    let size = size.max(1);
    let settled = horizon;
    count_customers(state, size).await?;
    let mut total = RollupRun::default();
    let mut from = watermark(&state.db).await?;
    let mut gathered = Gathered::at(from);
    let mut flushing = Flushing::default();
    let mut reading = Reading::start(state, from, settled, size);
    loop {
        let started = std::time::Instant::now();
        let Some((mut input, to, last)) = reading.next().await? else {
            break;
        };
        let waited_ms = started.elapsed().as_millis() as u64;
        let events = input.events.len() as u64;
        let orders = input.names.orders.len() as u64;
        let (input, mut delta) = tokio::task::spawn_blocking(move || {
            let delta = compute::compute(&mut input);
            (input, delta)
        })
        .await
        .map_err(|e| DbErr::Custom(format!("rollup computation failed: {e}")))?;
        let computed_ms = started.elapsed().as_millis() as u64 - waited_ms;
        // A range of events' customers do not depend on which run writes its status rows: they are
        // gathered now, and counted by whichever write moves the customer watermark over the range
        // first (a write that finds the watermark elsewhere is dropped; the range is counted again
        // from the stream if nobody counted it).
        gathered
            .customers
            .merge(std::mem::take(&mut delta.customers));
        gathered.to = to;
        if last || gathered.customers.len() >= CUSTOMERS_GATHERED {
            // Written beside this run's status rows.
            flushing.finish().await?;
            flushing.start(state, std::mem::replace(&mut gathered, Gathered::at(to)));
        }
        if !write::apply(state, from, to, input.names, delta.status, delta.throughput).await? {
            // Another process's run moved the watermark since this batch was read: read again from
            // where it left off.
            flushing.finish().await?;
            gathered.write(state).await?;
            from = watermark(&state.db).await?;
            gathered = Gathered::at(from);
            reading = Reading::start(state, from, settled, size);
            continue;
        }
        tracing::debug!(
            events,
            orders,
            waited_ms,
            computed_ms,
            written_ms = started.elapsed().as_millis() as u64 - waited_ms - computed_ms,
            "rollup run"
        );
        metrics::counter!("brigade_rollup_events_total").increment(events);
        total.events += events;
        total.orders += orders;
        total.batches += 1;
        total.watermark = to;
        from = to;
    }
    flushing.finish().await?;
    gathered.write(state).await?;
    count_customers(state, size).await?;
    if total.batches == 0 {
        total.watermark = watermark(&state.db).await?;
    }
    if total.events >= ANALYZE_AFTER_EVENTS
        && state.db.get_database_backend() == sea_orm::DbBackend::Postgres
    {
        // A run this large (a first load, a rebuild) changes the tables faster than autovacuum
        // notices: until it analyzes them, PostgreSQL plans the reads from statistics of nearly empty
        // tables (a nested loop over every hourly row: 29 ms a zone instead of 4; BENCHMARKS.md, issue
        // 22). Analyzing them now costs tens of milliseconds.
        state
            .db
            .execute_unprepared(
                "ANALYZE order_status_rollups, order_throughput_rollups, customer_order_stats, \
                 customer_order_totals",
            )
            .await?;
    }
    Ok(total)
}

/// A run that reads at least this many events has the summary tables' statistics refreshed.
const ANALYZE_AFTER_EVENTS: u64 = 50_000;

/// Customers of the orders first seen in the events `(from, to]`, not written yet.
struct Gathered {
    from: i64,
    to: i64,
    customers: compute::Customers,
}

impl Gathered {
    fn at(from: i64) -> Gathered {
        Gathered {
            from,
            to: from,
            customers: compute::Customers::default(),
        }
    }

    /// Write them if the customer watermark is where they start; otherwise drop them (the catch-up
    /// counts what nobody counted of that range again from the stream).
    async fn write(&mut self, state: &AppState) -> Result<(), DbErr> {
        if self.to > self.from {
            let customers = std::mem::take(&mut self.customers);
            if !write::flush_customers(state, self.from, self.to, customers).await? {
                tracing::debug!(
                    from = self.from,
                    to = self.to,
                    "rollup customers dropped: another run moved the customer watermark"
                );
            }
        }
        self.from = self.to;
        Ok(())
    }
}

/// Gathered customers being written in the background. A catch-up runs at most one such write at a
/// time, and its next write of customers waits for it ([`Flushing::finish`]): each starts where the
/// one before ended. A catch-up that fails or is dropped meanwhile leaves the write to finish on its
/// own; its error is then only logged.
#[derive(Default)]
struct Flushing(Option<tokio::task::JoinHandle<Result<(), DbErr>>>);

impl Flushing {
    fn start(&mut self, state: &AppState, mut gathered: Gathered) {
        let state = state.clone();
        self.0 = Some(tokio::spawn(async move {
            let written = gathered.write(&state).await;
            if let Err(e) = &written {
                tracing::warn!(error = %e, "writing the rollup's customers failed");
            }
            written
        }));
    }

    /// Wait for the write in the background, if one runs, and pass on its error.
    async fn finish(&mut self) -> Result<(), DbErr> {
        match self.0.take() {
            Some(handle) => handle.await.map_err(|e| {
                DbErr::Custom(format!("writing the rollup's customers failed: {e}"))
            })?,
            None => Ok(()),
        }
    }
}

/// Count the customers of the orders first seen between the customer watermark and the rollup
/// watermark, reading those events again (after a process stopped before writing what it gathered,
/// or its gathered customers were dropped because another process's runs interleaved). Nothing to do
/// when the customer watermark is at or past the rollup watermark.
async fn count_customers(state: &AppState, size: u64) -> Result<(), DbErr> {
    loop {
        let counted = customer_watermark(&state.db).await?;
        let rolled = watermark(&state.db).await?;
        if counted >= rolled {
            return Ok(());
        }
        let Some((input, to)) = read::input_until(&state.db, counted, size, rolled).await? else {
            return Ok(());
        };
        let customers = compute::customers_of_new_orders(&input);
        write::flush_customers(state, counted, to, customers).await?;
    }
}

/// Batches read in the background, two stages deep: while one batch is computed and written, the
/// earlier events and order facts of the next are read, and the events of the one after. Dropped, the
/// stages stop once their current read is done (a read cut off half way could leave its database
/// connection mid-conversation).
struct Reading(mpsc::Receiver<ReadBatch>);

/// A batch read, the last event id it holds and whether it is the last settled batch; `None` when no
/// settled event waits.
type ReadBatch = Result<Option<(compute::Input, i64, bool)>, DbErr>;

impl Reading {
    fn start(state: &AppState, from: i64, settled: Horizon, size: u64) -> Reading {
        type Batch = Result<Option<(compute::Input, i64, i64)>, DbErr>;
        let (events_tx, mut events_rx) = mpsc::channel::<Batch>(1);
        let (ready_tx, ready_rx) = mpsc::channel(1);
        let db = state.db.clone();
        tokio::spawn(async move {
            let mut from = from;
            loop {
                let batch = read::events(&db, from, size, settled).await;
                // Nothing past the horizon is read, so the last batch may end there.
                let next = match &batch {
                    Ok(Some((_, to))) => Some(*to),
                    _ => None,
                };
                let batch = batch.map(|b| b.map(|(input, to)| (input, from, to)));
                if events_tx.send(batch).await.is_err() {
                    return;
                }
                match next {
                    Some(to) => from = to,
                    None => return,
                }
            }
        });
        let db = state.db.clone();
        tokio::spawn(async move {
            while let Some(batch) = events_rx.recv().await {
                let batch = match batch {
                    Ok(Some((mut input, from, to))) => {
                        // A batch shorter than asked for is the last settled one.
                        let last = (input.events.len() as u64) < size;
                        read::complete(&db, &mut input, from, to)
                            .await
                            .map(|()| Some((input, to, last)))
                    }
                    Ok(None) => Ok(None),
                    Err(e) => Err(e),
                };
                let end = !matches!(batch, Ok(Some(_)));
                if ready_tx.send(batch).await.is_err() || end {
                    return;
                }
            }
        });
        Reading(ready_rx)
    }

    /// The next batch (see [`ReadBatch`]).
    async fn next(&mut self) -> ReadBatch {
        self.0.recv().await.unwrap_or_else(|| {
            Err(DbErr::Custom(
                "the rollup's background read stopped unexpectedly".into(),
            ))
        })
    }
}

/// A PostgreSQL transaction for the rollup's statements, with their plan settings: no JIT (compiling
/// these plans took longer than running them) and no hash or merge joins, so stored rows, earlier
/// events and order facts are found by index for each key (the planner's guesses for statements over
/// arrays, or for tables without statistics after a bulk load, would hash whole tables instead).
/// `extra` settings follow; `read_only` makes it a read-only transaction.
async fn pg_begin(
    db: &sea_orm::DatabaseConnection,
    read_only: bool,
    extra: &[&'static str],
) -> Result<sea_orm::sqlx::Transaction<'static, sea_orm::sqlx::Postgres>, DbErr> {
    let err = |e: sea_orm::sqlx::Error| DbErr::Custom(e.to_string());
    let mut tx = db
        .get_postgres_connection_pool()
        .begin()
        .await
        .map_err(err)?;
    let settings = [
        "SET LOCAL jit = off",
        "SET LOCAL enable_hashjoin = off",
        "SET LOCAL enable_mergejoin = off",
    ];
    let first = read_only.then_some("SET TRANSACTION READ ONLY");
    for setting in first
        .into_iter()
        .chain(settings)
        .chain(extra.iter().copied())
    {
        sea_orm::sqlx::query(setting)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
    }
    Ok(tx)
}

/// The newest event id the rollups include.
pub async fn watermark<C: ConnectionTrait>(db: &C) -> Result<i64, DbErr> {
    watermark_of(db, WATERMARK).await
}

/// The newest event id whose newly seen orders are counted for their customers.
async fn customer_watermark<C: ConnectionTrait>(db: &C) -> Result<i64, DbErr> {
    watermark_of(db, CUSTOMER_WATERMARK).await
}

async fn watermark_of<C: ConnectionTrait>(db: &C, name: &str) -> Result<i64, DbErr> {
    Ok(analytics_watermarks::Entity::find_by_id(name)
        .one(db)
        .await?
        .map(|w| w.last_event_id)
        .unwrap_or(0))
}

/// Forget every rollup and build them again from the whole stream.
/// Start over from the stream: every event committed before the call (see [`catch_up_now`]).
pub async fn rebuild(state: &AppState) -> Result<RollupRun, DbErr> {
    forget(state).await?;
    catch_up_now(state).await
}

/// Empty the rollups and set the watermark back to the start of the stream.
pub async fn forget(state: &AppState) -> Result<(), DbErr> {
    write::forget(state).await
}

/// Delete the summary rows of a restaurant that was deleted (with its orders and their events).
pub async fn forget_restaurant(state: &AppState, restaurant: Uuid) -> Result<(), DbErr> {
    write::forget_restaurant(state, restaurant).await
}

/// An event as [`recompute`] reads it: id, order, instant, status, code.
type EventRow = (i64, Uuid, DateTime<Utc>, String, Option<i32>);
/// An order as [`recompute`] reads it: id, restaurant, creation, customer, total, currency, source.
type OrderRow = (Uuid, Uuid, DateTime<Utc>, Option<Uuid>, i64, String, String);

/// Everything the summary tables should hold, worked out from the raw events one order at a time with
/// no numbering, caching or signs (tests and checks).
pub async fn recompute<C: ConnectionTrait>(db: &C) -> Result<Rollups, DbErr> {
    let events: Vec<EventRow> = order_status_events::Entity::find()
        .select_only()
        .columns([
            order_status_events::Column::Id,
            order_status_events::Column::OrderId,
            order_status_events::Column::OccurredAt,
            order_status_events::Column::ToStatus,
            order_status_events::Column::RawCode,
        ])
        .into_tuple()
        .all(db)
        .await?;
    let mut by_order: BTreeMap<Uuid, Vec<(i64, i64, String, i32)>> = BTreeMap::new();
    for (id, order, at, status, code) in events {
        by_order.entry(order).or_default().push((
            at.timestamp_millis(),
            id,
            status,
            code.unwrap_or(-1),
        ));
    }
    let order_rows: Vec<OrderRow> = orders::Entity::find()
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
        .into_tuple::<(Uuid, Option<Uuid>, bool)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, c, v)| (id, (c, v)))
        .collect();
    let zones: HashMap<Uuid, Tz> = restaurants::Entity::find()
        .select_only()
        .columns([restaurants::Column::Id, restaurants::Column::Timezone])
        .into_tuple::<(Uuid, String)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, zone)| (id, zone.parse().unwrap_or(Tz::UTC)))
        .collect();

    let mut out = Rollups::default();
    for (order, restaurant, created, customer, total, currency, source) in order_rows {
        let Some(mut events) = by_order.remove(&order) else {
            continue;
        };
        events.sort();
        let tz = zones.get(&restaurant).copied().unwrap_or(Tz::UTC);
        let buckets_of = |ms: i64| {
            let date = Utc
                .timestamp_millis_opt(ms)
                .single()
                .map(|at| at.with_timezone(&tz).date_naive());
            [
                (HOUR, local_hour(tz, ms)),
                (
                    DAY,
                    date.map_or(local_hour(tz, ms), |d| local_midnight(tz, d)),
                ),
            ]
        };
        let span = |granularity, bucket| BucketKey {
            granularity,
            restaurant,
            bucket,
        };
        for (granularity, bucket) in buckets_of(created.timestamp_millis()) {
            out.throughput
                .entry(span(granularity, bucket))
                .or_default()
                .created += 1;
        }
        let first_terminal = events.iter().position(|e| is_terminal(&e.2));
        for (i, (at, _, status, code)) in events.iter().enumerate() {
            for (granularity, bucket) in buckets_of(*at) {
                let cell = out
                    .status
                    .entry(StatusKey {
                        granularity,
                        restaurant,
                        bucket,
                        status: Arc::from(status.as_str()),
                        code: *code,
                    })
                    .or_default();
                cell.entered += 1;
                if let Some(next) = events.get(i + 1) {
                    cell.timed += 1;
                    cell.duration_ms += next.0 - at;
                    cell.histogram.add_ms(next.0 - at, 1);
                }
                if first_terminal == Some(i) {
                    out.throughput
                        .entry(span(granularity, bucket))
                        .or_default()
                        .finished += 1;
                }
            }
        }

        let (channel_customer, value_known) = match channel.get(&order) {
            Some((c, v)) => (*c, *v),
            None => (None, source != SOURCE_CHANNEL),
        };
        if let Some(customer) = customer.or(channel_customer) {
            let created = created.timestamp_millis();
            let fresh = || CustomerStat {
                orders: 0,
                valued_orders: 0,
                value_minor: 0,
                currency: currency.clone(),
                first_ms: created,
                last_ms: created,
            };
            let count = |stat: &mut CustomerStat| {
                stat.orders += 1;
                if value_known {
                    stat.valued_orders += 1;
                    stat.value_minor += total;
                }
                stat.first_ms = stat.first_ms.min(created);
                stat.last_ms = stat.last_ms.max(created);
            };
            count(
                out.customers
                    .entry((restaurant, customer))
                    .or_insert_with(fresh),
            );
            count(out.totals.entry(customer).or_insert_with(fresh));
        }
    }
    for total in out.totals.values() {
        *out.counts.entry(total.orders).or_default() += 1;
    }
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
    for row in customer_order_counts::Entity::find()
        .filter(customer_order_counts::Column::Customers.ne(0))
        .all(db)
        .await?
    {
        out.counts.insert(row.orders, row.customers);
    }
    Ok(out)
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
