//! Orders and their status-event stream, and in-app notifications.
//!
//! `orders` holds every order Brigade knows, whatever its source (QR ordering now, delivery channels and
//! history imports later). `order_status_events` is the single source of truth for status changes: one
//! row per change with its instant and actor; `orders.status` is only the latest of them, kept for fast
//! lookups. Event ids are an increasing sequence so analytics can read "everything since the last run".

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{fk_on_delete, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("restaurants")
                    .add_column(boolean("enable_eat_in").default(true))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("restaurants")
                    .add_column(string_null("logo_key"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("orders")
                    .col(pk_uuid("id"))
                    .col(uuid("restaurant_id"))
                    .col(uuid_null("customer_id"))
                    .col(string("source"))
                    .col(string("order_type"))
                    .col(string("status"))
                    .col(timestamp_with_time_zone("status_changed_at"))
                    .col(big_integer("total_minor"))
                    .col(string("currency"))
                    .col(string("payment_status"))
                    .col(string_null("payment_method"))
                    .col(string_null("payment_reference"))
                    .col(timestamp_with_time_zone_null("pickup_time"))
                    .col(string_null("table_label"))
                    .col(uuid_null("reservation_id"))
                    .col(text_null("note"))
                    .col(string_null("idempotency_key"))
                    .col(string_null("external_ref"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk_on_delete(
                        ("orders", "restaurant_id"),
                        "restaurants",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk_on_delete(
                        ("orders", "customer_id"),
                        "users",
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for (cols, unique) in [
            (&["restaurant_id", "created_at"][..], false),
            (&["customer_id", "created_at"][..], false),
            (&["customer_id", "idempotency_key"][..], true),
            (&["restaurant_id", "source", "external_ref"][..], true),
            (&["status"][..], false),
        ] {
            manager.create_index(index("orders", cols, unique)).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("order_items")
                    .col(pk_uuid("id"))
                    .col(uuid("order_id"))
                    .col(uuid_null("menu_item_id"))
                    .col(string("name"))
                    .col(string_null("plu"))
                    .col(big_integer("unit_price_minor"))
                    .col(integer("quantity"))
                    .col(big_integer("subtotal_minor"))
                    .col(text_null("special_request"))
                    .foreign_key(&mut fk_on_delete(
                        ("order_items", "order_id"),
                        "orders",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk_on_delete(
                        ("order_items", "menu_item_id"),
                        "menu_items",
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("order_items", &["order_id"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("order_status_events")
                    .col(big_pk_auto("id"))
                    .col(uuid("order_id"))
                    .col(uuid("restaurant_id"))
                    .col(string_null("from_status"))
                    .col(string("to_status"))
                    .col(integer_null("raw_code"))
                    .col(string("actor_kind"))
                    .col(uuid_null("actor_id"))
                    .col(text_null("note"))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .col(timestamp_with_time_zone("recorded_at"))
                    .foreign_key(&mut fk_on_delete(
                        ("order_status_events", "order_id"),
                        "orders",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        for cols in [
            &["order_id", "occurred_at"][..],
            &["restaurant_id", "occurred_at"][..],
        ] {
            manager
                .create_index(index("order_status_events", cols, false))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("notifications")
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(string("title"))
                    .col(text("message"))
                    .col(string("kind"))
                    .col(string("status"))
                    .col(uuid_null("reference_id"))
                    .col(string_null("reference_type"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("read_at"))
                    .foreign_key(&mut fk_on_delete(
                        ("notifications", "user_id"),
                        "users",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("notifications", &["user_id", "created_at"], false))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "notifications",
            "order_status_events",
            "order_items",
            "orders",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for column in ["logo_key", "enable_eat_in"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("restaurants")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
