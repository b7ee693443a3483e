//! The venue workspace: guest customers (an account made on the order page with a name and a phone or
//! e-mail, no password), menu items that are "86" until a given instant (the next local day) and PLU
//! codes on menu items, so channel orders' items find their station by code.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for (table, column) in [
            ("users", boolean("is_guest").default(false).to_owned()),
            ("users", string_null("contact_email").to_owned()),
            ("menu_items", string_null("plu").to_owned()),
            (
                "menu_items",
                timestamp_with_time_zone_null("unavailable_until").to_owned(),
            ),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in [
            ("users", "is_guest"),
            ("users", "contact_email"),
            ("menu_items", "plu"),
            ("menu_items", "unavailable_until"),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
