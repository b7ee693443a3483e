//! Purchasing: a venue's purchase orders to its suppliers (draft, sent, partly received, received,
//! cancelled) and their lines, each with what was ordered and what has arrived so far. Receiving a line
//! puts a batch into stock (`stock_movements` of kind `receipt` whose `reference_id` is the receipt).

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
                    .table("purchase_orders")
                    .col(pk_uuid("id"))
                    .col(uuid("restaurant_id"))
                    .col(uuid("supplier_id"))
                    // draft, sent, partly_received, received, cancelled.
                    .col(string("status"))
                    .col(string_null("note"))
                    .col(date_null("expected_on"))
                    .col(uuid_null("created_by"))
                    .col(timestamp_with_time_zone_null("sent_at"))
                    .col(timestamp_with_time_zone_null("received_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk(("purchase_orders", "restaurant_id"), "restaurants"))
                    .foreign_key(&mut fk(("purchase_orders", "supplier_id"), "suppliers"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "purchase_orders",
                &["restaurant_id", "created_at"],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("purchase_order_lines")
                    .col(pk_uuid("id"))
                    .col(uuid("purchase_order_id"))
                    .col(uuid("ingredient_id"))
                    .col(integer("position"))
                    // Thousandths of the ingredient's unit.
                    .col(big_integer("quantity"))
                    .col(big_integer("received_quantity").default(0))
                    // Millionths of the venue's currency per unit.
                    .col(big_integer("unit_cost_micros"))
                    .foreign_key(&mut fk(
                        ("purchase_order_lines", "purchase_order_id"),
                        "purchase_orders",
                    ))
                    .foreign_key(&mut fk(
                        ("purchase_order_lines", "ingredient_id"),
                        "ingredients",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "purchase_order_lines",
                &["purchase_order_id", "ingredient_id"],
                true,
            ))
            .await?;
        // What was received against which line, so a retried receipt (same receipt id) puts nothing
        // into stock twice.
        manager
            .create_table(
                Table::create()
                    .table("purchase_receipts")
                    .col(pk_uuid("id"))
                    .col(uuid("purchase_order_id"))
                    .col(uuid_null("actor_id"))
                    .col(timestamp_with_time_zone("received_at"))
                    .foreign_key(&mut fk(
                        ("purchase_receipts", "purchase_order_id"),
                        "purchase_orders",
                    ))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "purchase_receipts",
            "purchase_order_lines",
            "purchase_orders",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
