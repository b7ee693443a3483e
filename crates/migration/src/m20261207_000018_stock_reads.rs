//! Venue-wide stock reads: the waste log and the waste summary read a venue's movements over a period,
//! which the per-ingredient index cannot serve.

use sea_orm_migration::prelude::*;

use crate::helpers::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
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
            .await
    }
}
