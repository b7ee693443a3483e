//! What the hardening review changed in the schema:
//! - `orders.idempotency_fingerprint`: the SHA-256 of the request that placed an order with an
//!   `Idempotency-Key`, so a later request with the same key and a different body is refused instead of
//!   silently answered with the first order. Orders placed before it have none and replay as before.
//! - Time-in-status histograms bin by the millisecond below ten minutes (they binned by the second, so
//!   medians and p90 came out floored to whole seconds). Histograms of the old bins cannot be added to
//!   new ones, so the summaries are emptied and the watermarks set back: the `analytics.rollup` job
//!   builds them again from the event stream.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SUMMARIES: [&str; 5] = [
    "order_status_rollups",
    "order_throughput_rollups",
    "customer_order_stats",
    "customer_order_totals",
    "customer_order_counts",
];

async fn start_over(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for table in SUMMARIES {
        db.execute_unprepared(&format!("DELETE FROM {table}"))
            .await?;
    }
    db.execute_unprepared("UPDATE analytics_watermarks SET last_event_id = 0")
        .await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("orders")
                    .add_column(string_null("idempotency_fingerprint"))
                    .to_owned(),
            )
            .await?;
        start_over(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("orders")
                    .drop_column("idempotency_fingerprint")
                    .to_owned(),
            )
            .await?;
        start_over(manager).await
    }
}
