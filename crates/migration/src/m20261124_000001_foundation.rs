//! Platform foundation: the shared restaurants model, accounts, tokens, sessions, API keys and the mail
//! outbox.

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
                    .table("restaurants")
                    .col(pk_uuid("id"))
                    .col(string_null("external_id"))
                    .col(string("name"))
                    .col(text_null("address"))
                    .col(string_null("region"))
                    .col(string("timezone"))
                    .col(string("status"))
                    .col(string_null("phone"))
                    .col(string_null("email"))
                    .col(string_null("website"))
                    .col(text_null("description"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("restaurants", &["external_id"], true))
            .await?;
        manager
            .create_index(index("restaurants", &["status"], false))
            .await?;
        manager
            .create_index(index("restaurants", &["region"], false))
            .await?;
        manager
            .create_index(index("restaurants", &["name"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("restaurant_hours")
                    .col(pk_uuid("id"))
                    .col(uuid("restaurant_id"))
                    .col(small_integer("weekday"))
                    .col(time("opens"))
                    .col(time("closes"))
                    .foreign_key(&mut fk(
                        ("restaurant_hours", "restaurant_id"),
                        "restaurants",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "restaurant_hours",
                &["restaurant_id", "weekday"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("users")
                    .col(pk_uuid("id"))
                    .col(string("email"))
                    .col(string("password_hash"))
                    .col(string("first_name"))
                    .col(string("last_name"))
                    .col(string_null("phone"))
                    .col(string("role"))
                    .col(string_null("timezone"))
                    .col(boolean("is_active"))
                    .col(timestamp_with_time_zone_null("last_login_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("users", &["email"], true))
            .await?;
        manager
            .create_index(index("users", &["role"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("restaurant_members")
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(uuid("restaurant_id"))
                    .col(string("role"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk(("restaurant_members", "user_id"), "users"))
                    .foreign_key(&mut fk(
                        ("restaurant_members", "restaurant_id"),
                        "restaurants",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "restaurant_members",
                &["user_id", "restaurant_id"],
                true,
            ))
            .await?;
        manager
            .create_index(index("restaurant_members", &["restaurant_id"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("refresh_tokens")
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(uuid("family_id"))
                    .col(string("token_hash"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(&mut fk(("refresh_tokens", "user_id"), "users"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("refresh_tokens", &["token_hash"], true))
            .await?;
        manager
            .create_index(index("refresh_tokens", &["family_id"], false))
            .await?;
        manager
            .create_index(index("refresh_tokens", &["user_id"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("password_resets")
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(string("token_hash"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .foreign_key(&mut fk(("password_resets", "user_id"), "users"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("password_resets", &["token_hash"], true))
            .await?;
        manager
            .create_index(index("password_resets", &["user_id"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("api_keys")
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(string("name"))
                    .col(string("prefix"))
                    .col(string("key_hash"))
                    .col(text("scopes"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("last_used_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(&mut fk(("api_keys", "user_id"), "users"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("api_keys", &["key_hash"], true))
            .await?;
        manager
            .create_index(index("api_keys", &["user_id"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("web_sessions")
                    .col(string("id").primary_key())
                    .col(uuid("user_id"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk(("web_sessions", "user_id"), "users"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("web_sessions", &["user_id"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("mail_outbox")
                    .col(pk_uuid("id"))
                    .col(string("to_address"))
                    .col(string("subject"))
                    .col(text("body"))
                    .col(string("status"))
                    .col(integer("attempts"))
                    .col(text_null("last_error"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("sent_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("mail_outbox", &["to_address"], false))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "mail_outbox",
            "web_sessions",
            "api_keys",
            "password_resets",
            "refresh_tokens",
            "restaurant_members",
            "users",
            "restaurant_hours",
            "restaurants",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
