use sea_orm::entity::prelude::*;

/// Time in status per restaurant, bucket, status and channel code (see `analytics::rollup`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_status_rollups")]
pub struct Model {
    /// `hour` or `day`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub granularity: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub restaurant_id: Uuid,
    /// Unix milliseconds.
    #[sea_orm(primary_key, auto_increment = false)]
    pub bucket_start: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub status: String,
    /// The channel code, or -1.
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: i32,
    pub entered: i64,
    pub timed: i64,
    pub duration_ms: i64,
    #[sea_orm(column_type = "Text")]
    pub histogram: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
