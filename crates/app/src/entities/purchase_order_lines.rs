use sea_orm::entity::prelude::*;

/// What a purchase order asks for of one ingredient, and how much of it has arrived (thousandths of
/// the ingredient's unit; cost in millionths per unit).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "purchase_order_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub purchase_order_id: Uuid,
    pub ingredient_id: Uuid,
    pub position: i32,
    pub quantity: i64,
    pub received_quantity: i64,
    pub unit_cost_micros: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
