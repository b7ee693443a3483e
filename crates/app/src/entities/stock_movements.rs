use sea_orm::entity::prelude::*;

/// One change to an ingredient's stock, never updated or deleted: the sum of an ingredient's movements up
/// to an instant is its stock then.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stock_movements")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub restaurant_id: Uuid,
    pub ingredient_id: Uuid,
    pub batch_id: Option<Uuid>,
    pub kind: String,
    pub quantity: i64,
    pub unit_cost_micros: i64,
    pub order_id: Option<Uuid>,
    pub reference_id: Option<Uuid>,
    pub reason: Option<String>,
    pub actor_id: Option<Uuid>,
    pub occurred_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
