use sea_orm::entity::prelude::*;

/// One store's status polls of one seven-day block, packed (see `monitoring::polls`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "store_poll_days")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub restaurant_id: Uuid,
    /// First day of the block: days since 1970-01-01 (UTC), a multiple of seven.
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: i32,
    #[sea_orm(column_type = "Blob")]
    pub polls: Vec<u8>,
    pub poll_count: i32,
    /// Unix microseconds.
    pub first_at: i64,
    pub last_at: i64,
    pub version: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
