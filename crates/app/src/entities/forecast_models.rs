use sea_orm::entity::prelude::*;

/// One trained version of a model (the forecasting registry).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "forecast_models")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub restaurant_id: Option<Uuid>,
    pub series: String,
    pub version: i32,
    pub status: String,
    pub method: String,
    pub training_from: Option<DateTimeUtc>,
    pub training_to: DateTimeUtc,
    pub data_fingerprint: String,
    pub features: String,
    pub parameters: String,
    pub metrics: String,
    pub score: Option<f64>,
    pub artifact: Option<String>,
    pub artifact_key: Option<String>,
    pub training_ms: i32,
    pub trained_at: DateTimeUtc,
    pub promoted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
