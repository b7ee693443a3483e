//! Menus: categories and items per restaurant, and each restaurant's currency. Prices are integer minor
//! units of that currency (pence, cents, yen), exact on both databases.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("restaurants")
                    .add_column(string("currency").default("EUR"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("menu_categories")
                    .col(pk_uuid("id"))
                    .col(uuid("restaurant_id"))
                    .col(string("name"))
                    .col(text_null("description"))
                    .col(integer("display_order"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk(("menu_categories", "restaurant_id"), "restaurants"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_menu_categories_restaurant_order")
                    .table("menu_categories")
                    .col("restaurant_id")
                    .col("display_order")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("menu_items")
                    .col(pk_uuid("id"))
                    .col(uuid("restaurant_id"))
                    .col(uuid("category_id"))
                    .col(string("name"))
                    .col(text_null("description"))
                    .col(big_integer("price_minor"))
                    .col(string_null("image_url"))
                    .col(text_null("ingredients"))
                    .col(integer_null("preparation_minutes"))
                    .col(boolean("is_available"))
                    .col(integer("display_order"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk(("menu_items", "restaurant_id"), "restaurants"))
                    .foreign_key(&mut fk(("menu_items", "category_id"), "menu_categories"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_menu_items_restaurant")
                    .table("menu_items")
                    .col("restaurant_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_menu_items_category")
                    .table("menu_items")
                    .col("category_id")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("menu_items").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("menu_categories").to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("restaurants")
                    .drop_column("currency")
                    .to_owned(),
            )
            .await
    }
}
