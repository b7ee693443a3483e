//! Order analytics at size: loads synthetic channel orders through the ingest code path (in process, no
//! HTTP), rolls their status events up, then times the three queries. Prints figures; asserts nothing.
//!
//!   cargo bench -p brigade-app --bench analytics
//!
//! Environment: `BENCH_DATABASE_URL` (default: SQLite in `BENCH_DATA_DIR`, or a temporary directory),
//! `ORDERS` (default 2,000,000, about ten million status events), `RESTAURANTS` (20), `RUNS` (100 per
//! query), `SKIP_INGEST=1` (keep the orders already in that database: the rollup is rebuilt from them),
//! `RUST_LOG=brigade_app::analytics=debug` (each rollup run's read, compute and write times), `COLD=1`
//! (PostgreSQL: no `VACUUM (ANALYZE)` between the load and the rollup).
//!
//! The orders arrive the way a channel sends them: in order of creation (a few minutes of jitter), each
//! with its status history. A customer (300,000 phone numbers) orders from one home restaurant four
//! times out of five, otherwise from any.

mod common;

use std::sync::Arc;
use std::time::Instant;

use brigade_app::analytics::channel::{self, ValidOrder};
use brigade_app::analytics::queries::{self, Bound, Clock, Range, Restaurants};
use brigade_app::analytics::rollup;
use chrono::{Duration, TimeZone, Utc};
use common::{env_or, percentile};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

const ZONES: [&str; 4] = [
    "Europe/Helsinki",
    "America/New_York",
    "Asia/Kolkata",
    "Europe/London",
];

/// An order's history: the aggregator's usual path, sometimes cancelled, a few minutes apart.
fn history(dice: &mut StdRng, created: chrono::DateTime<Utc>) -> Vec<(i32, chrono::DateTime<Utc>)> {
    let mut at = created;
    let mut out = vec![(10, at)];
    let path: &[i32] = match dice.random_range(0..20) {
        0 => &[20, 110],
        1 => &[110],
        2..=5 => &[20, 50, 70, 80, 90],
        _ => &[20, 50, 60, 90],
    };
    for code in path {
        at += Duration::seconds(20 + dice.random_range(0..900) as i64);
        out.push((*code, at));
    }
    out
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let orders = env_or("ORDERS", 2_000_000);
    let restaurants = env_or("RESTAURANTS", 20) as usize;
    let runs = env_or("RUNS", 100) as usize;
    let skip_ingest = std::env::var("SKIP_INGEST").is_ok_and(|v| v == "1");
    // RUST_LOG=brigade_app::analytics=debug prints each rollup run's read, compute and write times.
    brigade_platform::telemetry::init(brigade_platform::config::LogFormat::Text, "warn");
    let (state, postgres, _dir) = common::state(|_| {}).await?;
    println!(
        "database: {}; {orders} orders over {restaurants} restaurants",
        if postgres { "PostgreSQL" } else { "SQLite" }
    );

    // Restaurants, with their zones.
    let brands: Vec<String> = (0..restaurants)
        .map(|i| format!("bench-brand-{i}"))
        .collect();
    let refs: Vec<&str> = brands.iter().map(String::as_str).collect();
    let zone_of = |b: &str| -> Option<chrono_tz::Tz> {
        let i: usize = b.rsplit('-').next()?.parse().ok()?;
        ZONES[i % ZONES.len()].parse().ok()
    };
    let known = brigade_app::restaurants::ensure_external(&state, &refs, &zone_of).await?;
    let ids: Vec<Uuid> = brands.iter().map(|b| known[b].id).collect();

    // Ingest.
    let mut dice = StdRng::seed_from_u64(7);
    let start = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let span_secs = 365 * 86_400;
    let batch_size = 1_000;
    let started = Instant::now();
    let mut events = 0u64;
    let mut sent = 0u64;
    if skip_ingest {
        sent = orders;
    }
    while sent < orders {
        let n = batch_size.min(orders - sent);
        let batch: Vec<ValidOrder> = (0..n)
            .map(|k| {
                let i = sent + k;
                let created = start
                    + Duration::seconds(
                        (i as i64 * span_secs as i64) / orders as i64
                            + dice.random_range(0..600) as i64,
                    );
                let history = history(&mut dice, created);
                events += history.len() as u64;
                let customer = dice.random_range(0..300_000u64);
                let brand = if dice.random_range(0..5) < 4 {
                    &brands[customer as usize % restaurants]
                } else {
                    &brands[dice.random_range(0..restaurants as u64) as usize]
                };
                ValidOrder {
                    at: String::new(),
                    external_id: format!("bench-{i}"),
                    created,
                    account: "bench-account".into(),
                    brand_id: brand.clone(),
                    channel_order_id: Some(format!("CH{i}")),
                    customer: Some((None, format!("+35840{customer:07}"))),
                    delivery_address: None,
                    pickup_time: None,
                    items: vec![("Burger".into(), Some("CAT1-0001".into()), 1)],
                    status: history.last().unwrap().0,
                    history,
                }
            })
            .collect();
        channel::ingest(&state, batch)
            .await
            .map_err(|e| anyhow::anyhow!("ingest failed: {}", e.message))?;
        sent += n;
        if sent.is_multiple_of(100_000) {
            eprintln!("  {sent} orders, {:.0} s", started.elapsed().as_secs_f64());
        }
    }
    if !skip_ingest {
        let secs = started.elapsed().as_secs_f64();
        println!(
            "ingest (in process, batches of {batch_size}): {sent} orders, {events} events in {secs:.1} s = {:.0} orders/s, {:.0} events/s",
            sent as f64 / secs,
            events as f64 / secs
        );
    }

    // A PostgreSQL with autovacuum on (its default) vacuums and analyses tables after a load this size;
    // this machine's runs with autovacuum off, so the bench does it (COLD=1 leaves the tables as loaded:
    // never analysed, every row's hint bits still to be set by its first reader).
    if postgres && !skip_ingest && std::env::var("COLD").map_or(true, |v| v != "1") {
        use sea_orm::ConnectionTrait;
        let started = Instant::now();
        state
            .db
            .execute_unprepared(
                "VACUUM (ANALYZE) order_status_events, orders, channel_orders, customers",
            )
            .await?;
        println!(
            "vacuum and analyse after the load (what autovacuum would do): {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }

    // Rollup.
    tokio::time::sleep(std::time::Duration::from_secs(
        rollup::SETTLE_SECONDS as u64 + 1,
    ))
    .await;
    rollup::forget(&state).await?;
    let started = Instant::now();
    let run = rollup::catch_up(&state).await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "rollup: {} events of {} orders in {secs:.1} s = {:.0} events/s ({} runs)",
        run.events,
        run.orders,
        run.events as f64 / secs,
        run.batches
    );
    // Queries: one restaurant over 30 days, one over a year, all restaurants over 30 days.
    let year = Range {
        from: Bound::Date(start.date_naive()),
        to: Bound::Date(start.date_naive() + Duration::days(365)),
    };
    let db = Arc::new(state.db.clone());
    for (label, case) in [
        ("one restaurant, 30 days", 0),
        ("one restaurant, 365 days", 1),
        ("all restaurants, 30 days", 2),
    ] {
        for query in [
            "time in status",
            "throughput per hour",
            "throughput per day",
            "customers",
        ] {
            let mut times = Vec::with_capacity(runs);
            let mut dice = StdRng::seed_from_u64(11);
            for _ in 0..runs {
                let from = start + Duration::days(dice.random_range(0..330) as i64);
                let month = Range {
                    from: Bound::At(from),
                    to: Bound::At(from + Duration::days(30)),
                };
                let one =
                    Restaurants::Some(vec![ids[dice.random_range(0..ids.len() as u64) as usize]]);
                let (which, range) = match case {
                    0 => (one, month),
                    1 => (one, year),
                    _ => (Restaurants::All, month),
                };
                let t = Instant::now();
                match query {
                    "time in status" => {
                        queries::time_in_status(&*db, &which, range, Clock::Local, false).await?;
                    }
                    "throughput per hour" => {
                        queries::throughput(&*db, &which, range, Clock::Local, false).await?;
                    }
                    "throughput per day" => {
                        queries::throughput(&*db, &which, range, Clock::Local, true).await?;
                    }
                    _ => {
                        queries::customers(&*db, &which, None, 20).await?;
                    }
                }
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(|a, b| a.total_cmp(b));
            println!(
                "{query:<20} {label:<26} p50 {:>7.2} ms  p95 {:>7.2} ms  max {:>7.2} ms",
                percentile(&times, 0.5),
                percentile(&times, 0.95),
                times.last().copied().unwrap_or_default()
            );
        }
    }
    let stored: u64 = brigade_app::entities::order_status_events::Entity::find()
        .select_only()
        .column_as(
            brigade_app::entities::order_status_events::Column::Id.count(),
            "n",
        )
        .filter(brigade_app::entities::order_status_events::Column::Id.gt(0))
        .into_tuple::<i64>()
        .one(&state.db)
        .await?
        .unwrap_or(0) as u64;
    println!("status events stored: {stored}");
    Ok(())
}
