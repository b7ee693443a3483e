//! Forecasting: the model registry (every trained version of every kind of model, with its backtest
//! and fitted artifact) and each restaurant's closure calendar (holidays and one-off closures).

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
                    .table("forecast_models")
                    .col(pk_uuid("id"))
                    // demand, customer (kitchen and inventory models later).
                    .col(string("kind"))
                    // The restaurant the model is for; NULL for a model of every restaurant.
                    .col(uuid_null("restaurant_id"))
                    // Which series of the scope: `daily`, `hourly`, `item:<id>:daily`, ...
                    .col(string("series"))
                    .col(integer("version"))
                    // candidate, latest, previous, retired, rolled_back.
                    .col(string("status"))
                    .col(string("method"))
                    .col(timestamp_with_time_zone_null("training_from"))
                    .col(timestamp_with_time_zone("training_to"))
                    .col(string("data_fingerprint"))
                    // JSON: the features, the parameters, the backtest.
                    .col(text("features"))
                    .col(text("parameters"))
                    .col(text("metrics"))
                    // The score versions are compared by (lower is better): mean backtest MASE for demand,
                    // the Brier score for customers.
                    .col(double_null("score"))
                    // JSON of the fitted model, or NULL when it lives in `storage` under `artifact_key`.
                    .col(text_null("artifact"))
                    .col(string_null("artifact_key"))
                    .col(integer("training_ms"))
                    .col(timestamp_with_time_zone("trained_at"))
                    .col(timestamp_with_time_zone_null("promoted_at"))
                    .foreign_key(&mut fk(("forecast_models", "restaurant_id"), "restaurants"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "forecast_models",
                &["kind", "restaurant_id", "series", "version"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "forecast_models",
                &["kind", "restaurant_id", "series", "status"],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("restaurant_closures")
                    .col(pk_uuid("id"))
                    .col(uuid("restaurant_id"))
                    // The restaurant's local day.
                    .col(date("day"))
                    // holiday or closure.
                    .col(string("kind"))
                    .col(string_null("note"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk(
                        ("restaurant_closures", "restaurant_id"),
                        "restaurants",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "restaurant_closures",
                &["restaurant_id", "day"],
                true,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["restaurant_closures", "forecast_models"] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
