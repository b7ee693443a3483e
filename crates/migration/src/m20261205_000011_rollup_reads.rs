//! What the faster rollup job reads and keeps:
//! - an order's events are indexed by `(order_id, occurred_at, id)` instead of `(order_id, occurred_at)`:
//!   a run asks "which of these orders have events before the watermark", and with the id in the index
//!   PostgreSQL answers from the index alone instead of visiting every event row of every order
//!   (SQLite's indexes already end in the rowid, which is the id);
//! - `customer_order_counts`: how many customers have placed each number of orders, over all restaurants,
//!   kept by the rollup beside `customer_order_totals`, so the distribution is read from a few rows
//!   instead of grouping every customer;
//! - `customer_order_stats` loses its index on `customer_id` alone, which no query uses (orders per
//!   customer over all restaurants read `customer_order_totals`) and every rollup run had to keep up.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD_EVENTS_INDEX: &str = "idx_order_status_events_order_id_occurred_at";
const STATS_CUSTOMER_INDEX: &str = "idx_customer_order_stats_customer_id";

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
        drop_index(manager, OLD_EVENTS_INDEX, "order_status_events").await?;
        drop_index(manager, STATS_CUSTOMER_INDEX, "customer_order_stats").await?;

        manager
            .create_table(
                Table::create()
                    .table("customer_order_counts")
                    .col(big_integer("orders").primary_key())
                    .col(big_integer("customers"))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO customer_order_counts (orders, customers) \
                 SELECT orders, count(*) FROM customer_order_totals GROUP BY orders",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("customer_order_counts").to_owned())
            .await?;
        manager
            .create_index(index("customer_order_stats", &["customer_id"], false))
            .await?;
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

async fn drop_index(manager: &SchemaManager<'_>, name: &str, table: &str) -> Result<(), DbErr> {
    manager
        .drop_index(Index::drop().name(name).table(table.to_owned()).to_owned())
        .await
}
