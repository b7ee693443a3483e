//! The kitchen: stations per venue, which station makes each menu item (a default per category, an
//! override per item), and ticket lines (one per order item at its station, with when it was queued,
//! started and made ready, and by whom) with every bump, recall and void kept as an event.

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
                    .table("stations")
                    .col(pk_uuid("id"))
                    .col(uuid("restaurant_id"))
                    .col(string("name"))
                    // grill, fry, cold, bar, pass, other: what the station is, for icons and defaults.
                    .col(string("kind"))
                    .col(integer("display_order"))
                    // A line older than this is late when no prediction says otherwise.
                    .col(integer("target_minutes"))
                    // Where lines go when neither the item nor its category names a station.
                    .col(boolean("is_default").default(false))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk(("stations", "restaurant_id"), "restaurants"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("stations", &["restaurant_id", "name"], true))
            .await?;
        // Routing: a row per category (its default) or per item (its override), never both.
        manager
            .create_table(
                Table::create()
                    .table("station_routes")
                    .col(pk_uuid("id"))
                    .col(uuid("restaurant_id"))
                    .col(uuid("station_id"))
                    .col(uuid_null("category_id"))
                    .col(uuid_null("menu_item_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk(("station_routes", "restaurant_id"), "restaurants"))
                    .foreign_key(&mut fk(("station_routes", "station_id"), "stations"))
                    .foreign_key(&mut fk(
                        ("station_routes", "category_id"),
                        "menu_categories",
                    ))
                    .foreign_key(&mut fk(("station_routes", "menu_item_id"), "menu_items"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("station_routes", &["category_id"], true))
            .await?;
        manager
            .create_index(index("station_routes", &["menu_item_id"], true))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("ticket_lines")
                    .col(pk_uuid("id"))
                    .col(uuid("restaurant_id"))
                    .col(uuid("order_id"))
                    // The station as routed when the line was queued; NULL once that station is deleted
                    // (the name stays for the history).
                    .col(uuid_null("station_id"))
                    .col(string("station_name"))
                    .col(uuid_null("menu_item_id"))
                    // The order item it was made from (kept as a plain value: a channel order sent again
                    // replaces its items, and the kitchen's history must not go with them).
                    .col(uuid_null("order_item_id"))
                    .col(string("name"))
                    .col(integer("quantity"))
                    .col(string_null("note"))
                    // queued, started, ready, voided.
                    .col(string("state"))
                    .col(timestamp_with_time_zone("queued_at"))
                    .col(timestamp_with_time_zone_null("started_at"))
                    .col(timestamp_with_time_zone_null("ready_at"))
                    .col(uuid_null("bumped_by"))
                    .col(integer("recalls").default(0))
                    .col(timestamp_with_time_zone_null("voided_at"))
                    .col(string_null("void_reason"))
                    // Lines queued at the station when this one arrived: the load a prep-time model reads.
                    .col(integer("queue_depth").default(0))
                    .foreign_key(&mut fk(("ticket_lines", "restaurant_id"), "restaurants"))
                    .foreign_key(&mut fk(("ticket_lines", "order_id"), "orders"))
                    .foreign_key(&mut fk_on_delete(
                        ("ticket_lines", "station_id"),
                        "stations",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk_on_delete(
                        ("ticket_lines", "menu_item_id"),
                        "menu_items",
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ticket_lines", &["order_id"], false))
            .await?;
        manager
            .create_index(index("ticket_lines", &["station_id", "state"], false))
            .await?;
        manager
            .create_index(index(
                "ticket_lines",
                &["restaurant_id", "queued_at"],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("ticket_events")
                    .col(big_pk_auto("id"))
                    .col(uuid("line_id"))
                    .col(uuid("order_id"))
                    // queued, started, ready, recalled, voided.
                    .col(string("kind"))
                    .col(uuid_null("actor_id"))
                    .col(string_null("note"))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .foreign_key(&mut fk(("ticket_events", "line_id"), "ticket_lines"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ticket_events", &["line_id"], false))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "ticket_events",
            "ticket_lines",
            "station_routes",
            "stations",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
