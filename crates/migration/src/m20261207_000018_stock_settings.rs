//! Stock settings and venue-wide stock reads: `stock_settings` holds what a venue decides about its
//! stock (whether an order cancelled after the kitchen started on it records its recipes as waste), and
//! the waste log and summary read a venue's movements over a period, which the per-ingredient index
//! cannot serve.

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
                    .table("stock_settings")
                    .col(pk_uuid("restaurant_id"))
                    .col(boolean("waste_cancelled_cooking").default(false))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "stock_movements",
                &["restaurant_id", "occurred_at"],
                false,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_stock_movements_restaurant_id_occurred_at")
                    .table("stock_movements")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table("stock_settings").to_owned())
            .await
    }
}
