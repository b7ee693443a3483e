//! QR codes of venues and tables, and the venues customers keep ("stocked venues").

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
                    .table("qr_codes")
                    .col(pk_uuid("id"))
                    .col(uuid("restaurant_id"))
                    .col(string("code"))
                    .col(string_null("table_label"))
                    .col(uuid_null("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(&mut fk(("qr_codes", "restaurant_id"), "restaurants"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("qr_codes", &["code"], true))
            .await?;
        manager
            .create_index(index("qr_codes", &["restaurant_id", "table_label"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("stocked_venues")
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(uuid("restaurant_id"))
                    .col(boolean("is_favorite"))
                    .col(timestamp_with_time_zone("date_added"))
                    .foreign_key(&mut fk(("stocked_venues", "user_id"), "users"))
                    .foreign_key(&mut fk(("stocked_venues", "restaurant_id"), "restaurants"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("stocked_venues", &["user_id", "restaurant_id"], true))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["stocked_venues", "qr_codes"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
