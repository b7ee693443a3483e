//! Reservations: weekly time-slot definitions per venue, reservations, and one capacity counter per slot
//! instance (slot definition + start instant). Booking bumps the counter with a single conditional
//! UPDATE, so capacity holds under any number of simultaneous requests on SQLite and PostgreSQL alike.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{fk, fk_on_delete, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, default) in [
            ("reservation_min_notice_minutes", 60),
            ("reservation_max_days_ahead", 30),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("restaurants")
                        .add_column(integer(name).default(default))
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("time_slots")
                    .col(pk_uuid("id"))
                    .col(uuid("restaurant_id"))
                    .col(small_integer("weekday"))
                    .col(time("start_time"))
                    .col(time("end_time"))
                    .col(integer("interval_minutes"))
                    .col(integer("max_reservations"))
                    .col(integer_null("max_covers"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk(("time_slots", "restaurant_id"), "restaurants"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("time_slots", &["restaurant_id", "weekday"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("reservations")
                    .col(pk_uuid("id"))
                    .col(uuid("restaurant_id"))
                    .col(uuid("user_id"))
                    .col(uuid_null("time_slot_id"))
                    .col(date("date"))
                    .col(time("slot_time"))
                    .col(timestamp_with_time_zone("starts_at"))
                    .col(integer("party_size"))
                    .col(string("status"))
                    .col(string_null("table_preference"))
                    .col(text_null("note"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk(("reservations", "restaurant_id"), "restaurants"))
                    .foreign_key(&mut fk(("reservations", "user_id"), "users"))
                    .foreign_key(&mut fk_on_delete(
                        ("reservations", "time_slot_id"),
                        "time_slots",
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for cols in [
            &["restaurant_id", "starts_at"][..],
            &["user_id", "starts_at"][..],
        ] {
            manager
                .create_index(index("reservations", cols, false))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("reservation_capacity")
                    .col(pk_uuid("id"))
                    .col(uuid("time_slot_id"))
                    .col(timestamp_with_time_zone("starts_at"))
                    .col(integer("reservations"))
                    .col(integer("covers"))
                    .foreign_key(&mut fk(
                        ("reservation_capacity", "time_slot_id"),
                        "time_slots",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "reservation_capacity",
                &["time_slot_id", "starts_at"],
                true,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["reservation_capacity", "reservations", "time_slots"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for column in [
            "reservation_max_days_ahead",
            "reservation_min_notice_minutes",
        ] {
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
