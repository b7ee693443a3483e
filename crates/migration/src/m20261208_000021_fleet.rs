//! The monitoring fleet: each store's state as the `monitoring.fleet` job last found it (up, down,
//! closed or no data, with uptime over the last day and week on the business time that had data), read
//! by the overview page with filters and paging; and down alerts, one row per outage of a store, so
//! every process agrees on whether its KAM and managers have been told and whether it has recovered.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("store_states")
                    .col(pk_uuid("restaurant_id"))
                    .col(string_len("state", 16))
                    // Order of concern: down 0, no data 1, up 2, closed 3.
                    .col(small_integer("rank"))
                    .col(timestamp_with_time_zone_null("since"))
                    .col(timestamp_with_time_zone_null("last_poll_at"))
                    .col(double_null("uptime_day"))
                    .col(double_null("uptime_week"))
                    .col(double_null("data_day"))
                    .col(double_null("data_week"))
                    .col(timestamp_with_time_zone("as_of"))
                    .col(timestamp_with_time_zone("computed_at"))
                    .foreign_key(&mut fk(("store_states", "restaurant_id"), "restaurants"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("store_states", &["rank", "uptime_week"], false))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("store_alerts")
                    .col(pk_uuid("id"))
                    .col(uuid("restaurant_id"))
                    .col(timestamp_with_time_zone("outage_started_at"))
                    .col(timestamp_with_time_zone("alerted_at"))
                    .col(double("downtime_minutes"))
                    .col(timestamp_with_time_zone_null("recovered_at"))
                    .foreign_key(&mut fk(("store_alerts", "restaurant_id"), "restaurants"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "store_alerts",
                &["restaurant_id", "outage_started_at"],
                true,
            ))
            .await?;
        manager
            .create_index(index("store_alerts", &["recovered_at"], false))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("store_alerts").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("store_states").to_owned())
            .await
    }
}
