//! What the faster rollup job reads and writes:
//! - an order's events are indexed by `(order_id, occurred_at, id)` instead of `(order_id, occurred_at)`:
//!   a run asks "which of these orders have events before the watermark", and with the id in the index
//!   PostgreSQL answers from the index alone instead of visiting every event row of every order
//!   (SQLite's indexes already end in the rowid, which is the id);
//! - the summary tables are derived data, rebuilt from the event stream at will, so they drop their
//!   foreign keys to `restaurants` (checking one for each of the hundreds of thousands of rows a run
//!   writes cost PostgreSQL a third of the write; deleting a restaurant deletes its rows explicitly) and
//!   every index no query needs (`customer_order_stats` is read one restaurant at a time, through its
//!   primary key);
//! - `customer_order_counts`: how many customers have placed each number of orders, over all
//!   restaurants, kept by the rollup beside `customer_order_totals`, so the distribution is read from a
//!   few rows instead of grouping every customer.
//!
//! The summary tables are created anew, empty, and the watermarks set back: the `analytics.rollup` job
//! builds them again from the stream.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The summary tables this migration creates anew.
const REBUILT: [&str; 3] = [
    "order_status_rollups",
    "order_throughput_rollups",
    "customer_order_stats",
];

fn status_rollups(with_fk: bool) -> TableCreateStatement {
    let mut table = Table::create();
    table
        .table("order_status_rollups")
        // `hour` (local hours) or `day` (the restaurant's local days).
        .col(string("granularity"))
        .col(uuid("restaurant_id"))
        // Unix milliseconds of the bucket's first instant.
        .col(big_integer("bucket_start"))
        .col(string("status"))
        // The channel's code, or -1 for events without one.
        .col(integer("code"))
        // Events entering the status in the bucket.
        .col(big_integer("entered"))
        // Of those, the ones followed by a later event of the same order (time in status known).
        .col(big_integer("timed"))
        .col(big_integer("duration_ms"))
        // Lengths of the timed intervals: `bin:count` pairs (see analytics::histogram).
        .col(text("histogram"))
        .primary_key(
            Index::create()
                .col("granularity")
                .col("restaurant_id")
                .col("bucket_start")
                .col("status")
                .col("code"),
        );
    if with_fk {
        table.foreign_key(&mut fk(
            ("order_status_rollups", "restaurant_id"),
            "restaurants",
        ));
    }
    table.to_owned()
}

fn throughput_rollups(with_fk: bool) -> TableCreateStatement {
    let mut table = Table::create();
    table
        .table("order_throughput_rollups")
        .col(string("granularity"))
        .col(uuid("restaurant_id"))
        .col(big_integer("bucket_start"))
        .col(big_integer("created"))
        .col(big_integer("finished"))
        .primary_key(
            Index::create()
                .col("granularity")
                .col("restaurant_id")
                .col("bucket_start"),
        );
    if with_fk {
        table.foreign_key(&mut fk(
            ("order_throughput_rollups", "restaurant_id"),
            "restaurants",
        ));
    }
    table.to_owned()
}

fn customer_stats(with_fk: bool) -> TableCreateStatement {
    let mut table = Table::create();
    table
        .table("customer_order_stats")
        .col(uuid("restaurant_id"))
        // A channel customer (`customers.id`) or a Brigade account (`users.id`).
        .col(uuid("customer_id"))
        .col(big_integer("orders"))
        .col(big_integer("valued_orders"))
        .col(big_integer("value_minor"))
        .col(string("currency"))
        .col(big_integer("first_ms"))
        .col(big_integer("last_ms"))
        .primary_key(Index::create().col("restaurant_id").col("customer_id"));
    if with_fk {
        table.foreign_key(&mut fk(
            ("customer_order_stats", "restaurant_id"),
            "restaurants",
        ));
    }
    table.to_owned()
}

/// The summary tables as they were (`true`) or as they are from here on.
async fn create_summaries(manager: &SchemaManager<'_>, before: bool) -> Result<(), DbErr> {
    manager.create_table(status_rollups(before)).await?;
    manager.create_table(throughput_rollups(before)).await?;
    manager.create_table(customer_stats(before)).await?;
    for table in ["order_status_rollups", "order_throughput_rollups"] {
        manager
            .create_index(index(table, &["granularity", "bucket_start"], false))
            .await?;
    }
    if before {
        manager
            .create_index(index("customer_order_stats", &["customer_id"], false))
            .await?;
        manager
            .create_index(index(
                "customer_order_stats",
                &["restaurant_id", "orders"],
                false,
            ))
            .await?;
    }
    Ok(())
}

async fn drop_summaries(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    for table in REBUILT {
        manager
            .drop_table(Table::drop().table(table).to_owned())
            .await?;
    }
    Ok(())
}

/// Empty the summaries kept beside the rebuilt ones and set every rollup watermark back to the start.
async fn start_over(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for sql in [
        "DELETE FROM customer_order_totals",
        "UPDATE analytics_watermarks SET last_event_id = 0",
    ] {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
}

async fn drop_index(manager: &SchemaManager<'_>, name: &str, table: &str) -> Result<(), DbErr> {
    manager
        .drop_index(Index::drop().name(name).table(table.to_owned()).to_owned())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(index(
                "order_status_events",
                &["order_id", "occurred_at", "id"],
                false,
            ))
            .await?;
        drop_index(
            manager,
            "idx_order_status_events_order_id_occurred_at",
            "order_status_events",
        )
        .await?;

        drop_summaries(manager).await?;
        create_summaries(manager, false).await?;
        manager
            .create_table(
                Table::create()
                    .table("customer_order_counts")
                    .col(big_integer("orders").primary_key())
                    .col(big_integer("customers"))
                    .to_owned(),
            )
            .await?;
        start_over(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("customer_order_counts").to_owned())
            .await?;
        drop_summaries(manager).await?;
        create_summaries(manager, true).await?;
        start_over(manager).await?;
        manager
            .create_index(index(
                "order_status_events",
                &["order_id", "occurred_at"],
                false,
            ))
            .await?;
        drop_index(
            manager,
            "idx_order_status_events_order_id_occurred_at_id",
            "order_status_events",
        )
        .await
    }
}
