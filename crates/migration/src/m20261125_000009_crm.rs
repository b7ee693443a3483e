//! The KAM CRM: key account managers' profiles and working hours, each restaurant's account record (its
//! KAM, call plan and cached performance score), lead status history, contacts, interactions, order
//! follow-ups, KAM assignment history and the daily score history.
//!
//! A restaurant stays the one shared `restaurants` row; `crm_accounts` is its CRM side (at most one row per
//! restaurant, created when it is first assigned or touched).

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
                    .table("kam_profiles")
                    .col(uuid("user_id").primary_key())
                    .col(string_null("region"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk(("kam_profiles", "user_id"), "users"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("kam_working_hours")
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(small_integer("weekday"))
                    .col(time("opens"))
                    .col(time("closes"))
                    .foreign_key(&mut fk(("kam_working_hours", "user_id"), "users"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("kam_working_hours", &["user_id"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("crm_accounts")
                    .col(uuid("restaurant_id").primary_key())
                    .col(uuid_null("kam_id"))
                    // Days between calls; NULL follows the performance tier's default.
                    .col(integer_null("call_frequency_days"))
                    .col(timestamp_with_time_zone_null("last_call_at"))
                    .col(timestamp_with_time_zone_null("next_call_at"))
                    .col(integer_null("score"))
                    .col(string_null("tier"))
                    // JSON: the score's parts, and the ordering patterns.
                    .col(text_null("score_breakdown"))
                    .col(text_null("patterns"))
                    .col(timestamp_with_time_zone_null("scored_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk(("crm_accounts", "restaurant_id"), "restaurants"))
                    .foreign_key(&mut fk_on_delete(
                        ("crm_accounts", "kam_id"),
                        "users",
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        // (tier, score) answers the tier overview from the index alone.
        for cols in [&["kam_id", "next_call_at"][..], &["tier", "score"][..]] {
            manager
                .create_index(index("crm_accounts", cols, false))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("restaurant_status_changes")
                    .col(pk_uuid("id"))
                    .col(uuid("restaurant_id"))
                    .col(string_null("from_status"))
                    .col(string("to_status"))
                    .col(uuid_null("changed_by"))
                    .col(text_null("note"))
                    .col(timestamp_with_time_zone("changed_at"))
                    .foreign_key(&mut fk(
                        ("restaurant_status_changes", "restaurant_id"),
                        "restaurants",
                    ))
                    .foreign_key(&mut fk_on_delete(
                        ("restaurant_status_changes", "changed_by"),
                        "users",
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "restaurant_status_changes",
                &["restaurant_id", "changed_at"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("contacts")
                    .col(pk_uuid("id"))
                    .col(uuid("restaurant_id"))
                    .col(string("name"))
                    .col(string("phone"))
                    .col(string_null("email"))
                    .col(string("role"))
                    .col(boolean("is_lead"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk(("contacts", "restaurant_id"), "restaurants"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("contacts", &["restaurant_id"], false))
            .await?;
        // One lead contact per restaurant (a partial unique index; both databases have them).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX idx_contacts_one_lead ON contacts (restaurant_id) WHERE is_lead",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("interactions")
                    .col(pk_uuid("id"))
                    .col(uuid("restaurant_id"))
                    // Who made it: stays theirs after the restaurant moves to another KAM.
                    .col(uuid_null("user_id"))
                    .col(uuid_null("contact_id"))
                    .col(string("kind"))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .col(text("notes"))
                    .col(string("outcome"))
                    .col(uuid_null("order_id"))
                    .col(date_null("follow_up_on"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk(("interactions", "restaurant_id"), "restaurants"))
                    .foreign_key(&mut fk_on_delete(
                        ("interactions", "user_id"),
                        "users",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk_on_delete(
                        ("interactions", "contact_id"),
                        "contacts",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk_on_delete(
                        ("interactions", "order_id"),
                        "orders",
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for cols in [
            &["restaurant_id", "occurred_at"][..],
            &["user_id", "occurred_at"][..],
            &["occurred_at"][..],
        ] {
            manager
                .create_index(index("interactions", cols, false))
                .await?;
        }

        // The seed's `next_call_list`: (next call, order) pairs still to be made.
        manager
            .create_table(
                Table::create()
                    .table("call_follow_ups")
                    .col(pk_uuid("id"))
                    .col(uuid("restaurant_id"))
                    .col(uuid_null("order_id"))
                    .col(uuid_null("interaction_id"))
                    // A calendar date, read in the assigned KAM's zone.
                    .col(date("due_on"))
                    .col(timestamp_with_time_zone_null("done_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk(("call_follow_ups", "restaurant_id"), "restaurants"))
                    .foreign_key(&mut fk_on_delete(
                        ("call_follow_ups", "order_id"),
                        "orders",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        ("call_follow_ups", "interaction_id"),
                        "interactions",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "call_follow_ups",
                &["restaurant_id", "done_at"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("kam_assignments")
                    .col(pk_uuid("id"))
                    .col(uuid("restaurant_id"))
                    .col(uuid_null("from_kam"))
                    .col(uuid_null("to_kam"))
                    .col(uuid_null("assigned_by"))
                    .col(text_null("note"))
                    .col(timestamp_with_time_zone("assigned_at"))
                    .foreign_key(&mut fk(("kam_assignments", "restaurant_id"), "restaurants"))
                    .foreign_key(&mut fk_on_delete(
                        ("kam_assignments", "from_kam"),
                        "users",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk_on_delete(
                        ("kam_assignments", "to_kam"),
                        "users",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk_on_delete(
                        ("kam_assignments", "assigned_by"),
                        "users",
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "kam_assignments",
                &["restaurant_id", "assigned_at"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("restaurant_scores")
                    .col(uuid("restaurant_id"))
                    .col(date("day"))
                    .col(integer("score"))
                    .col(string("tier"))
                    .col(text("breakdown"))
                    .primary_key(Index::create().col("restaurant_id").col("day"))
                    .foreign_key(&mut fk(
                        ("restaurant_scores", "restaurant_id"),
                        "restaurants",
                    ))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "restaurant_scores",
            "kam_assignments",
            "call_follow_ups",
            "interactions",
            "contacts",
            "restaurant_status_changes",
            "crm_accounts",
            "kam_working_hours",
            "kam_profiles",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
