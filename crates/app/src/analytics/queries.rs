//! The three analytics questions, answered from the summary tables: time in each status, throughput per
//! hour or day, and orders per customer over their lifetime.
//!
//! Ranges are read in whole hours (a range's start is taken back to its hour, its end forward to the
//! next), so the hourly rollups answer them exactly. The rollups' hours are each restaurant's local hours,
//! which are UTC hours except in zones whose offset is not a whole number of hours (India's +05:30): a
//! range asked in UTC covers those restaurants' hours that start inside it. Asked in the restaurants' local
//! time, the whole local days inside a range come from the daily rollups and only the edges from the
//! hourly ones.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Order, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::histogram::Totals;
use super::rollup::{DAY, HOUR, local_hour, local_midnight};
use crate::entities::{
    customer_order_counts, customer_order_stats, customer_order_totals, customers,
    order_status_rollups, order_throughput_rollups, restaurants, users,
};
use crate::money::Currency;

const HOUR_MS: i64 = 3_600_000;

/// Which restaurants a question covers.
#[derive(Debug, Clone)]
pub enum Restaurants {
    All,
    Some(Vec<Uuid>),
}

/// The time a question is asked in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Each restaurant's own zone.
    Local,
    Utc,
}

/// One end of a range: an instant, or a date (its midnight in the zone asked).
#[derive(Debug, Clone, Copy)]
pub enum Bound {
    At(DateTime<Utc>),
    Date(NaiveDate),
}

impl Bound {
    fn ms_in(self, tz: Tz) -> i64 {
        match self {
            Bound::At(at) => at.timestamp_millis(),
            Bound::Date(date) => local_midnight(tz, date),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Range {
    pub from: Bound,
    pub to: Bound,
}

/// Restaurants sharing one zone, and the condition that picks them.
struct Group {
    /// Their zone: the rollups' hours and days are its local ones.
    tz: Tz,
    /// The zone the question is asked in: `tz` itself, or UTC.
    clock: Tz,
    restaurants: Condition,
}

fn rest_condition<C: ColumnTrait>(col: C, which: &Restaurants, zone: Option<&str>) -> Condition {
    let mut cond = Condition::all();
    if let Restaurants::Some(ids) = which {
        cond = cond.add(col.is_in(ids.clone()));
    }
    if let Some(zone) = zone {
        cond = cond.add(
            col.in_subquery(
                Query::select()
                    .column(restaurants::Column::Id)
                    .from(restaurants::Entity)
                    .and_where(restaurants::Column::Timezone.eq(zone))
                    .to_owned(),
            ),
        );
    }
    cond
}

async fn groups<C: ConnectionTrait, Col: ColumnTrait + Copy>(
    db: &C,
    col: Col,
    which: &Restaurants,
    clock: Clock,
) -> Result<Vec<Group>, DbErr> {
    // Grouped by zone in both clocks: a range asked in UTC is still read from each zone's local days,
    // for the whole local days inside it, and from its hours at the edges.
    let mut zones = restaurants::Entity::find()
        .select_only()
        .column(restaurants::Column::Timezone)
        .distinct();
    if let Restaurants::Some(ids) = which {
        zones = zones.filter(restaurants::Column::Id.is_in(ids.clone()));
    }
    let zones: Vec<String> = zones.into_tuple().all(db).await?;
    Ok(zones
        .into_iter()
        .map(|zone| {
            let tz = zone.parse().unwrap_or(Tz::UTC);
            Group {
                tz,
                clock: if clock == Clock::Utc { Tz::UTC } else { tz },
                restaurants: rest_condition(col, which, Some(&zone)),
            }
        })
        .collect())
}

/// The parts of a range in one zone: hour spans and (local) day spans, in Unix milliseconds.
struct Parts {
    hours: Vec<(i64, i64)>,
    days: Option<(i64, i64)>,
}

impl Parts {
    /// (granularity, start, end) of each non-empty span to read.
    fn spans(&self) -> Vec<(&'static str, i64, i64)> {
        self.hours
            .iter()
            .map(|(a, b)| (HOUR, *a, *b))
            .chain(self.days.map(|(a, b)| (DAY, a, b)))
            .filter(|(_, a, b)| a < b)
            .collect()
    }
}

/// `range` read in `clock` (its dates are midnights there, its ends taken out to whole hours there),
/// split into the whole local days of `tz` inside it (when `use_days`) and the hours around them.
fn parts(range: Range, clock: Tz, tz: Tz, use_days: bool) -> Parts {
    let from = local_hour(clock, range.from.ms_in(clock));
    let to_raw = range.to.ms_in(clock);
    let to = match local_hour(clock, to_raw) {
        start if start < to_raw => start + HOUR_MS,
        start => start,
    };
    if !use_days || to <= from {
        return Parts {
            hours: vec![(from, to)],
            days: None,
        };
    }
    let local_date = |ms: i64| {
        Utc.timestamp_millis_opt(ms)
            .single()
            .map(|t| t.with_timezone(&tz).date_naive())
    };
    let (Some(first), Some(last)) = (local_date(from), local_date(to)) else {
        return Parts {
            hours: vec![(from, to)],
            days: None,
        };
    };
    let mut d0 = local_midnight(tz, first);
    if d0 < from {
        d0 = first
            .succ_opt()
            .map(|d| local_midnight(tz, d))
            .unwrap_or(to);
    }
    let d1 = Ord::min(local_midnight(tz, last), to);
    if d0 >= d1 {
        return Parts {
            hours: vec![(from, to)],
            days: None,
        };
    }
    Parts {
        hours: vec![(from, d0), (d1, to)],
        days: Some((d0, d1)),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatusTime {
    /// Brigade's order state.
    #[schema(example = "PREPARING")]
    pub status: String,
    /// The channel's code, when grouped by code (null for events without one).
    pub code: Option<i32>,
    /// Events that entered the status in the range.
    pub entered: i64,
    /// Of those, the ones followed by another event (their time in status is known).
    pub timed: i64,
    #[schema(example = 412.5)]
    pub avg_seconds: Option<f64>,
    /// Nearest rank: exact to the second below ten minutes, within 1% above.
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
}

#[derive(Default)]
struct StatusAcc {
    entered: i64,
    timed: i64,
    duration_ms: i64,
    histogram: Totals,
}

/// Average, median and p90 time in each status (by Brigade state, or by channel code).
pub async fn time_in_status<C: ConnectionTrait>(
    db: &C,
    which: &Restaurants,
    range: Range,
    clock: Clock,
    by_code: bool,
) -> Result<Vec<StatusTime>, DbErr> {
    let mut acc: BTreeMap<(String, i32), StatusAcc> = BTreeMap::new();
    for group in groups(db, order_status_rollups::Column::RestaurantId, which, clock).await? {
        for (granularity, lo, hi) in parts(range, group.clock, group.tz, true).spans() {
            let rows: Vec<(String, i32, i64, i64, i64, String)> =
                order_status_rollups::Entity::find()
                    .select_only()
                    .columns([
                        order_status_rollups::Column::Status,
                        order_status_rollups::Column::Code,
                        order_status_rollups::Column::Entered,
                        order_status_rollups::Column::Timed,
                        order_status_rollups::Column::DurationMs,
                        order_status_rollups::Column::Histogram,
                    ])
                    .filter(order_status_rollups::Column::Granularity.eq(granularity))
                    .filter(order_status_rollups::Column::BucketStart.gte(lo))
                    .filter(order_status_rollups::Column::BucketStart.lt(hi))
                    .filter(group.restaurants.clone())
                    .into_tuple()
                    .all(db)
                    .await?;
            for (status, code, entered, timed, duration, hist) in rows {
                // Rollups computed before the state names were made one spelling (migration
                // 000020) may still hold `completed`: one state, one row.
                let status = if status.bytes().any(|b| b.is_ascii_lowercase()) {
                    status.to_ascii_uppercase()
                } else {
                    status
                };
                let key = if by_code {
                    (status, code)
                } else {
                    (status, -1)
                };
                let a = acc.entry(key).or_default();
                a.entered += entered;
                a.timed += timed;
                a.duration_ms += duration;
                a.histogram.merge_text(&hist);
            }
        }
    }
    let order = |s: &str| {
        crate::orders::OrderStatus::ALL
            .iter()
            .position(|o| o.as_str() == s)
            .unwrap_or(99)
    };
    let mut out: Vec<StatusTime> = acc
        .into_iter()
        .map(|((status, code), a)| StatusTime {
            code: (by_code && code >= 0).then_some(code),
            entered: a.entered,
            timed: a.timed,
            avg_seconds: (a.timed > 0)
                .then(|| (a.duration_ms as f64 / a.timed as f64 / 10.0).round() / 100.0),
            median_seconds: a.histogram.quantile_seconds(0.5),
            p90_seconds: a.histogram.quantile_seconds(0.9),
            status,
        })
        .collect();
    out.sort_by_key(|s| (order(&s.status), s.code));
    Ok(out)
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ThroughputBucket {
    /// The bucket's start: local wall time (`2021-07-22T20:00:00`) or UTC (`…Z`).
    #[schema(example = "2021-07-22T20:00:00")]
    pub start: String,
    /// Orders created.
    pub created: i64,
    /// Orders reaching a terminal state (completed or cancelled).
    pub finished: i64,
}

/// Orders created and finished per hour or day.
pub async fn throughput<C: ConnectionTrait>(
    db: &C,
    which: &Restaurants,
    range: Range,
    clock: Clock,
    daily: bool,
) -> Result<Vec<ThroughputBucket>, DbErr> {
    let mut acc: BTreeMap<NaiveDateTime, (i64, i64)> = BTreeMap::new();
    for group in groups(
        db,
        order_throughput_rollups::Column::RestaurantId,
        which,
        clock,
    )
    .await?
    {
        // Daily rows answer per day only where the zone's days are the clock's.
        let use_days = daily && group.clock == group.tz;
        for (granularity, lo, hi) in parts(range, group.clock, group.tz, use_days).spans() {
            // Added up per bucket by the database: one row per hour or day of the answer, not one per
            // restaurant and bucket.
            let rows: Vec<(i64, i64, i64)> = order_throughput_rollups::Entity::find()
                .select_only()
                .column(order_throughput_rollups::Column::BucketStart)
                .column_as(Expr::cust("CAST(SUM(created) AS BIGINT)"), "created")
                .column_as(Expr::cust("CAST(SUM(finished) AS BIGINT)"), "finished")
                .filter(order_throughput_rollups::Column::Granularity.eq(granularity))
                .filter(order_throughput_rollups::Column::BucketStart.gte(lo))
                .filter(order_throughput_rollups::Column::BucketStart.lt(hi))
                .filter(group.restaurants.clone())
                .group_by(order_throughput_rollups::Column::BucketStart)
                .into_tuple()
                .all(db)
                .await?;
            for (bucket, created, finished) in rows {
                let Some(at) = Utc.timestamp_millis_opt(bucket).single() else {
                    continue;
                };
                let local = at.with_timezone(&group.clock).naive_local();
                let label = if daily {
                    local.date().and_hms_opt(0, 0, 0).expect("midnight")
                } else {
                    local
                };
                let e = acc.entry(label).or_default();
                e.0 += created;
                e.1 += finished;
            }
        }
    }
    Ok(acc
        .into_iter()
        .map(|(label, (created, finished))| ThroughputBucket {
            start: match (clock, daily) {
                (_, true) => label.date().to_string(),
                (Clock::Utc, false) => format!("{}Z", label.format("%Y-%m-%dT%H:%M:%S")),
                (Clock::Local, false) => label.format("%Y-%m-%dT%H:%M:%S").to_string(),
            },
            created,
            finished,
        })
        .collect())
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CustomerRow {
    pub customer_id: Uuid,
    pub name: Option<String>,
    /// Channel customers: the normalised phone number.
    pub phone: Option<String>,
    pub orders: i64,
    pub first_order_at: DateTime<Utc>,
    pub last_order_at: DateTime<Utc>,
    /// Total of the orders whose value is known (channel orders carry no prices); null when none is.
    #[schema(value_type = Option<String>, example = "84.50")]
    pub value: Option<Decimal>,
    pub currency: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrdersPerCustomer {
    pub orders: i64,
    /// How many customers placed this many orders.
    pub customers: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CustomerSummary {
    pub customers: i64,
    pub orders: i64,
    pub average_orders: Option<f64>,
    /// Customers with more than one order.
    pub repeat_customers: i64,
    pub distribution: Vec<OrdersPerCustomer>,
    /// The customers with the most orders.
    pub top: Vec<CustomerRow>,
}

/// Orders per customer over their lifetime (optionally only customers whose first order falls in the
/// range).
pub async fn customers<C: ConnectionTrait>(
    db: &C,
    which: &Restaurants,
    first_between: Option<(i64, i64)>,
    top: u64,
) -> Result<CustomerSummary, DbErr> {
    // One restaurant: its rows are already one per customer (no grouping needed).
    let single = matches!(which, Restaurants::Some(ids) if ids.len() == 1);
    let per_customer = || -> SelectStatement {
        // All restaurants: the rollup keeps one row per customer for that too.
        if matches!(which, Restaurants::All) {
            let mut q = Query::select();
            q.column(customer_order_totals::Column::CustomerId)
                .expr_as(
                    Expr::col(customer_order_totals::Column::Orders),
                    Alias::new("n"),
                )
                .expr_as(
                    Expr::col(customer_order_totals::Column::ValuedOrders),
                    Alias::new("valued"),
                )
                .expr_as(
                    Expr::col(customer_order_totals::Column::ValueMinor),
                    Alias::new("value"),
                )
                .columns([
                    customer_order_totals::Column::Currency,
                    customer_order_totals::Column::FirstMs,
                    customer_order_totals::Column::LastMs,
                ])
                .from(customer_order_totals::Entity);
            if let Some((lo, hi)) = first_between {
                q.and_where(customer_order_totals::Column::FirstMs.gte(lo));
                q.and_where(customer_order_totals::Column::FirstMs.lt(hi));
            }
            return q.to_owned();
        }
        if single {
            let mut q = Query::select();
            q.column(customer_order_stats::Column::CustomerId)
                .expr_as(
                    Expr::col(customer_order_stats::Column::Orders),
                    Alias::new("n"),
                )
                .expr_as(
                    Expr::col(customer_order_stats::Column::ValuedOrders),
                    Alias::new("valued"),
                )
                .expr_as(
                    Expr::col(customer_order_stats::Column::ValueMinor),
                    Alias::new("value"),
                )
                .columns([
                    customer_order_stats::Column::Currency,
                    customer_order_stats::Column::FirstMs,
                    customer_order_stats::Column::LastMs,
                ])
                .from(customer_order_stats::Entity)
                .cond_where(rest_condition(
                    customer_order_stats::Column::RestaurantId,
                    which,
                    None,
                ));
            if let Some((lo, hi)) = first_between {
                q.and_where(customer_order_stats::Column::FirstMs.gte(lo));
                q.and_where(customer_order_stats::Column::FirstMs.lt(hi));
            }
            return q.to_owned();
        }
        let mut q = Query::select();
        q.column(customer_order_stats::Column::CustomerId)
            .expr_as(
                Func::cast_as(
                    Func::sum(Expr::col(customer_order_stats::Column::Orders)),
                    Alias::new("BIGINT"),
                ),
                Alias::new("n"),
            )
            .expr_as(
                Func::cast_as(
                    Func::sum(Expr::col(customer_order_stats::Column::ValuedOrders)),
                    Alias::new("BIGINT"),
                ),
                Alias::new("valued"),
            )
            .expr_as(
                Func::cast_as(
                    Func::sum(Expr::col(customer_order_stats::Column::ValueMinor)),
                    Alias::new("BIGINT"),
                ),
                Alias::new("value"),
            )
            .expr_as(
                Func::max(Expr::col(customer_order_stats::Column::Currency)),
                Alias::new("currency"),
            )
            .expr_as(
                Func::min(Expr::col(customer_order_stats::Column::FirstMs)),
                Alias::new("first_ms"),
            )
            .expr_as(
                Func::max(Expr::col(customer_order_stats::Column::LastMs)),
                Alias::new("last_ms"),
            )
            .from(customer_order_stats::Entity)
            .cond_where(rest_condition(
                customer_order_stats::Column::RestaurantId,
                which,
                None,
            ))
            .group_by_col(customer_order_stats::Column::CustomerId);
        if let Some((lo, hi)) = first_between {
            q.and_having(Func::min(Expr::col(customer_order_stats::Column::FirstMs)).gte(lo));
            q.and_having(Func::min(Expr::col(customer_order_stats::Column::FirstMs)).lt(hi));
        }
        q.to_owned()
    };
    let n = || Expr::col(Alias::new("n"));

    let distribution_q = Query::select()
        .expr_as(n(), Alias::new("orders"))
        .expr_as(
            Func::cast_as(Func::count(Expr::val(1)), Alias::new("BIGINT")),
            Alias::new("customers"),
        )
        .from_subquery(per_customer(), Alias::new("c"))
        .group_by_col(Alias::new("n"))
        .order_by(Alias::new("n"), Order::Asc)
        .to_owned();
    let mut distribution = Vec::new();
    if matches!(which, Restaurants::All) && first_between.is_none() {
        // Kept by the rollup: a row per number of orders instead of a row per customer.
        for row in customer_order_counts::Entity::find()
            .filter(customer_order_counts::Column::Customers.gt(0))
            .order_by_asc(customer_order_counts::Column::Orders)
            .all(db)
            .await?
        {
            distribution.push(OrdersPerCustomer {
                orders: row.orders,
                customers: row.customers,
            });
        }
    } else {
        for row in db.query_all(&distribution_q).await? {
            distribution.push(OrdersPerCustomer {
                orders: row.try_get::<i64>("", "orders")?,
                customers: row.try_get::<i64>("", "customers")?,
            });
        }
    }
    let customers_total: i64 = distribution.iter().map(|d| d.customers).sum();
    let orders_total: i64 = distribution.iter().map(|d| d.orders * d.customers).sum();
    let repeat: i64 = distribution
        .iter()
        .filter(|d| d.orders > 1)
        .map(|d| d.customers)
        .sum();

    let top_q = Query::select()
        .column(Alias::new("customer_id"))
        .columns([
            Alias::new("n"),
            Alias::new("valued"),
            Alias::new("value"),
            Alias::new("currency"),
            Alias::new("first_ms"),
            Alias::new("last_ms"),
        ])
        .from_subquery(per_customer(), Alias::new("c"))
        .order_by(Alias::new("n"), Order::Desc)
        .order_by(Alias::new("last_ms"), Order::Desc)
        .limit(top)
        .to_owned();
    let mut rows = Vec::new();
    for row in db.query_all(&top_q).await? {
        rows.push((
            row.try_get::<Uuid>("", "customer_id")?,
            row.try_get::<i64>("", "n")?,
            row.try_get::<i64>("", "valued")?,
            row.try_get::<i64>("", "value")?,
            row.try_get::<String>("", "currency")?,
            row.try_get::<i64>("", "first_ms")?,
            row.try_get::<i64>("", "last_ms")?,
        ));
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let mut names: BTreeMap<Uuid, (Option<String>, Option<String>)> = BTreeMap::new();
    if !ids.is_empty() {
        for c in customers::Entity::find()
            .filter(customers::Column::Id.is_in(ids.clone()))
            .all(db)
            .await?
        {
            names.insert(c.id, (c.name, Some(c.phone)));
        }
        for u in users::Entity::find()
            .filter(users::Column::Id.is_in(ids))
            .all(db)
            .await?
        {
            names.insert(
                u.id,
                (Some(format!("{} {}", u.first_name, u.last_name)), None),
            );
        }
    }
    let instant = |ms: i64| Utc.timestamp_millis_opt(ms).single().unwrap_or_default();
    let top = rows
        .into_iter()
        .map(|(id, n, valued, value, currency, first, last)| {
            let (name, phone) = names.remove(&id).unwrap_or_default();
            let cur = Currency::parse(&currency).ok();
            CustomerRow {
                customer_id: id,
                name,
                phone,
                orders: n,
                first_order_at: instant(first),
                last_order_at: instant(last),
                value: (valued > 0)
                    .then(|| cur.map(|c| c.from_minor(value)))
                    .flatten(),
                currency: (valued > 0).then_some(currency),
            }
        })
        .collect();
    Ok(CustomerSummary {
        customers: customers_total,
        orders: orders_total,
        average_orders: (customers_total > 0)
            .then(|| (orders_total as f64 / customers_total as f64 * 100.0).round() / 100.0),
        repeat_customers: repeat,
        distribution,
        top,
    })
}
