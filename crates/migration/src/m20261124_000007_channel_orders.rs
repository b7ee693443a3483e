//! Channel orders and order analytics.
//!
//! A channel order is a row of `orders` (`source = 'channel'`) with its channel's own fields beside it in
//! `channel_orders`; its status changes are rows of `order_status_events` whose `raw_code` keeps the
//! channel's integer code. Codes map to Brigade's order states through `status_code_mappings`, one
//! complete list per version (version 1, the aggregator scheme, is written here). Channel customers are
//! matched by normalised phone number in `customers`.
//!
//! The summary tables are written by the rollup job from the event stream: `order_status_rollups` (per
//! restaurant, hour or local day, status and code: events entering the status, intervals timed, their
//! total and a histogram of their lengths), `order_throughput_rollups` (orders created and reaching a
//! terminal state) and `customer_order_stats` (orders per customer and restaurant over their lifetime).
//! `analytics_watermarks` remembers how far the event stream has been read.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{fk, fk_on_delete, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The aggregator's status codes: (code, label, Brigade state).
const DEFAULT_CODES: [(i32, &str, &str); 19] = [
    (1, "parsed", "PENDING"),
    (2, "received", "PENDING"),
    (4, "before parsed", "PENDING"),
    (10, "new", "PENDING"),
    (20, "accepted", "CONFIRMED"),
    (25, "scheduled", "CONFIRMED"),
    (30, "duplicate", "PENDING"),
    (40, "printed", "CONFIRMED"),
    (50, "preparing", "PREPARING"),
    (60, "prepared", "READY"),
    (70, "ready for pickup", "READY"),
    (80, "in delivery", "READY"),
    (90, "finalized", "COMPLETED"),
    (95, "auto-finalized", "COMPLETED"),
    (100, "cancel requested", "PENDING"),
    (110, "cancelled", "CANCELLED"),
    (115, "delivery cancelled", "CANCELLED"),
    (120, "failed", "CANCELLED"),
    (124, "parse failed", "CANCELLED"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("customers")
                    .col(pk_uuid("id"))
                    // E.164-like: '+' and digits only.
                    .col(string_uniq("phone"))
                    .col(string_null("name"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("status_code_mappings")
                    .col(integer("version"))
                    .col(integer("code"))
                    .col(string("label"))
                    .col(string("state"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("version").col("code"))
                    .to_owned(),
            )
            .await?;
        let mut insert = Query::insert();
        insert.into_table("status_code_mappings").columns([
            "version",
            "code",
            "label",
            "state",
            "created_at",
        ]);
        for (code, label, state) in DEFAULT_CODES {
            insert.values_panic([
                1.into(),
                code.into(),
                label.into(),
                state.into(),
                Expr::current_timestamp(),
            ]);
        }
        manager.exec_stmt(insert).await?;

        manager
            .create_table(
                Table::create()
                    .table("channel_accounts")
                    .col(string("account").primary_key())
                    // Shared secret for HMAC-SHA256 request signatures; none = unsigned requests accepted.
                    .col(string_null("signing_secret"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("channel_orders")
                    .col(pk_uuid("order_id"))
                    // The channel's order identity (`_id`): sending it again updates, never duplicates.
                    .col(string_uniq("external_id"))
                    .col(string("account"))
                    .col(string("brand_id"))
                    .col(string_null("channel_order_id"))
                    .col(uuid_null("customer_id"))
                    .col(text_null("delivery_address"))
                    // The latest integer status by timestamp, as received.
                    .col(integer("status_code"))
                    .col(integer("mapping_version"))
                    // Channels send no prices: the order's value is known only when its items could be
                    // priced from the restaurant's menu.
                    .col(boolean("value_known"))
                    .foreign_key(&mut fk_on_delete(
                        ("channel_orders", "order_id"),
                        "orders",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk_on_delete(
                        ("channel_orders", "customer_id"),
                        "customers",
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("channel_orders", &["customer_id"], false))
            .await?;

        // A channel event is stored once: the same order, code and instant again is the same event.
        manager
            .create_index(index(
                "order_status_events",
                &["order_id", "raw_code", "occurred_at"],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("order_status_rollups")
                    // `hour` (UTC hours) or `day` (the restaurant's local days).
                    .col(string("granularity"))
                    .col(uuid("restaurant_id"))
                    // Unix milliseconds of the bucket's first instant.
                    .col(big_integer("bucket_start"))
                    .col(string("status"))
                    // The channel's code, or -1 for events without one.
                    .col(integer("code"))
                    // Events entering the status in the bucket.
                    .col(big_integer("entered"))
                    // Of those, the ones followed by a later event of the same order (time in status known).
                    .col(big_integer("timed"))
                    .col(big_integer("duration_ms"))
                    // Lengths of the timed intervals: `bin:count` pairs (see analytics::histogram).
                    .col(text("histogram"))
                    .primary_key(
                        Index::create()
                            .col("granularity")
                            .col("restaurant_id")
                            .col("bucket_start")
                            .col("status")
                            .col("code"),
                    )
                    .foreign_key(&mut fk(
                        ("order_status_rollups", "restaurant_id"),
                        "restaurants",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("order_throughput_rollups")
                    .col(string("granularity"))
                    .col(uuid("restaurant_id"))
                    .col(big_integer("bucket_start"))
                    .col(big_integer("created"))
                    .col(big_integer("finished"))
                    .primary_key(
                        Index::create()
                            .col("granularity")
                            .col("restaurant_id")
                            .col("bucket_start"),
                    )
                    .foreign_key(&mut fk(
                        ("order_throughput_rollups", "restaurant_id"),
                        "restaurants",
                    ))
                    .to_owned(),
            )
            .await?;
        for table in ["order_status_rollups", "order_throughput_rollups"] {
            manager
                .create_index(index(table, &["granularity", "bucket_start"], false))
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("customer_order_stats")
                    .col(uuid("restaurant_id"))
                    // A channel customer (`customers.id`) or a Brigade account (`users.id`).
                    .col(uuid("customer_id"))
                    .col(big_integer("orders"))
                    .col(big_integer("valued_orders"))
                    .col(big_integer("value_minor"))
                    .col(string("currency"))
                    .col(big_integer("first_ms"))
                    .col(big_integer("last_ms"))
                    .primary_key(Index::create().col("restaurant_id").col("customer_id"))
                    .foreign_key(&mut fk(
                        ("customer_order_stats", "restaurant_id"),
                        "restaurants",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("customer_order_stats", &["customer_id"], false))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("analytics_watermarks")
                    .col(string("name").primary_key())
                    .col(big_integer("last_event_id"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_order_status_events_order_id_raw_code_occurred_at")
                    .table("order_status_events")
                    .to_owned(),
            )
            .await?;
        for table in [
            "analytics_watermarks",
            "customer_order_stats",
            "order_throughput_rollups",
            "order_status_rollups",
            "channel_orders",
            "channel_accounts",
            "status_code_mappings",
            "customers",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
