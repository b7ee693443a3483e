//! Orders per customer over all restaurants (`customer_order_totals`, one row per customer, kept by the
//! rollup job beside the per-restaurant `customer_order_stats`), indexes that let the distribution and the
//! top customers be read from an index, and rollups started over: hour buckets are now each restaurant's
//! local hours (they differ from UTC hours in zones such as Asia/Kolkata), so the stored rollups are
//! cleared and the next `analytics.rollup` run builds them again from the event stream.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("customer_order_totals")
                    // A channel customer (`customers.id`) or a Brigade account (`users.id`).
                    .col(uuid("customer_id").primary_key())
                    .col(big_integer("orders"))
                    .col(big_integer("valued_orders"))
                    .col(big_integer("value_minor"))
                    .col(string("currency"))
                    .col(big_integer("first_ms"))
                    .col(big_integer("last_ms"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("customer_order_totals", &["orders"], false))
            .await?;
        manager
            .create_index(index(
                "customer_order_stats",
                &["restaurant_id", "orders"],
                false,
            ))
            .await?;
        let db = manager.get_connection();
        for sql in [
            "DELETE FROM order_status_rollups",
            "DELETE FROM order_throughput_rollups",
            "DELETE FROM customer_order_stats",
            "UPDATE analytics_watermarks SET last_event_id = 0",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_customer_order_stats_restaurant_id_orders")
                    .table("customer_order_stats")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table("customer_order_totals").to_owned())
            .await
    }
}
