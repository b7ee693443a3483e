use sea_orm::entity::prelude::*;

/// Orders created and orders reaching a terminal state per restaurant and bucket.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_throughput_rollups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub granularity: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub restaurant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub bucket_start: i64,
    pub created: i64,
    pub finished: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
