//! Inventory: ingredients per venue (a unit, a cost, par and shelf life, a supplier), recipes (a menu
//! item's or a sub-recipe's ingredient quantities), batches received with their cost and expiry, every
//! stock movement as an immutable row, and the claim that an order's consumption was taken (once).
//! Quantities are thousandths of the ingredient's unit, unit costs millionths of the currency unit.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{fk, fk_on_delete, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("suppliers")
                    .col(pk_uuid("id"))
                    .col(uuid("restaurant_id"))
                    .col(string("name"))
                    .col(string_null("email"))
                    .col(string_null("phone"))
                    .col(integer("lead_time_days").default(2))
                    // The smallest order it takes, in minor units of the venue's currency.
                    .col(big_integer("min_order_minor").default(0))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk(("suppliers", "restaurant_id"), "restaurants"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("suppliers", &["restaurant_id", "name"], true))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("ingredients")
                    .col(pk_uuid("id"))
                    .col(uuid("restaurant_id"))
                    .col(string("name"))
                    // g, ml or each: what quantities count.
                    .col(string("unit"))
                    .col(string_null("category"))
                    // The standard cost of one unit (what a count's surplus and a shortfall are valued at),
                    // updated by each receipt.
                    .col(big_integer("unit_cost_micros").default(0))
                    .col(big_integer_null("par_level"))
                    .col(integer_null("shelf_life_days"))
                    .col(uuid_null("supplier_id"))
                    // How it is bought: a case of 12 = 12,000 thousandths of `each`.
                    .col(string_null("purchase_unit"))
                    .col(big_integer("purchase_factor").default(1000))
                    // A sub-recipe (made in the kitchen from other ingredients): what one batch yields.
                    .col(big_integer_null("yield_quantity"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk(("ingredients", "restaurant_id"), "restaurants"))
                    .foreign_key(&mut fk_on_delete(
                        ("ingredients", "supplier_id"),
                        "suppliers",
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ingredients", &["restaurant_id", "name"], true))
            .await?;
        // A recipe line belongs to a menu item or to a sub-recipe (an ingredient), never both.
        manager
            .create_table(
                Table::create()
                    .table("recipe_lines")
                    .col(pk_uuid("id"))
                    .col(uuid("restaurant_id"))
                    .col(uuid_null("menu_item_id"))
                    .col(uuid_null("parent_ingredient_id"))
                    .col(uuid("ingredient_id"))
                    .col(big_integer("quantity"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk(("recipe_lines", "restaurant_id"), "restaurants"))
                    .foreign_key(&mut fk(("recipe_lines", "menu_item_id"), "menu_items"))
                    .foreign_key(&mut fk(
                        ("recipe_lines", "parent_ingredient_id"),
                        "ingredients",
                    ))
                    .foreign_key(&mut fk(("recipe_lines", "ingredient_id"), "ingredients"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "recipe_lines",
                &["menu_item_id", "ingredient_id"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "recipe_lines",
                &["parent_ingredient_id", "ingredient_id"],
                true,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("batches")
                    .col(pk_uuid("id"))
                    .col(uuid("restaurant_id"))
                    .col(uuid("ingredient_id"))
                    .col(uuid_null("supplier_id"))
                    .col(string_null("lot"))
                    .col(big_integer("received_quantity"))
                    .col(big_integer("remaining"))
                    .col(big_integer("unit_cost_micros"))
                    .col(timestamp_with_time_zone("received_at"))
                    .col(date_null("expires_on"))
                    .foreign_key(&mut fk(("batches", "restaurant_id"), "restaurants"))
                    .foreign_key(&mut fk(("batches", "ingredient_id"), "ingredients"))
                    .foreign_key(&mut fk_on_delete(
                        ("batches", "supplier_id"),
                        "suppliers",
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("batches", &["ingredient_id", "received_at"], false))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("stock_movements")
                    .col(big_pk_auto("id"))
                    .col(uuid("restaurant_id"))
                    .col(uuid("ingredient_id"))
                    .col(uuid_null("batch_id"))
                    // receipt, consumption, count, waste, production.
                    .col(string("kind"))
                    // Signed: in is positive, out negative.
                    .col(big_integer("quantity"))
                    .col(big_integer("unit_cost_micros"))
                    .col(uuid_null("order_id"))
                    // The count, waste entry or receipt it belongs to.
                    .col(uuid_null("reference_id"))
                    .col(string_null("reason"))
                    .col(uuid_null("actor_id"))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .foreign_key(&mut fk(("stock_movements", "restaurant_id"), "restaurants"))
                    .foreign_key(&mut fk(("stock_movements", "ingredient_id"), "ingredients"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "stock_movements",
                &["ingredient_id", "occurred_at"],
                false,
            ))
            .await?;
        manager
            .create_index(index("stock_movements", &["order_id"], false))
            .await?;
        // One row per order whose consumption was taken: the claim that makes it happen once.
        manager
            .create_table(
                Table::create()
                    .table("order_consumptions")
                    .col(pk_uuid("order_id"))
                    .col(uuid("restaurant_id"))
                    .col(timestamp_with_time_zone("consumed_at"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "order_consumptions",
            "stock_movements",
            "batches",
            "recipe_lines",
            "ingredients",
            "suppliers",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
