use sea_orm::entity::prelude::*;

/// A delivery of an ingredient (or a count's surplus): what came, what is left, its cost and expiry.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "batches")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub restaurant_id: Uuid,
    pub ingredient_id: Uuid,
    pub supplier_id: Option<Uuid>,
    pub lot: Option<String>,
    pub received_quantity: i64,
    pub remaining: i64,
    pub unit_cost_micros: i64,
    pub received_at: DateTimeUtc,
    pub expires_on: Option<ChronoDate>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
