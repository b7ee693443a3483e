use sea_orm::entity::prelude::*;

/// Something a venue keeps in stock; quantities in thousandths of `unit`, costs in millionths of the
/// currency unit per unit.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ingredients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub restaurant_id: Uuid,
    pub name: String,
    pub unit: String,
    pub category: Option<String>,
    pub unit_cost_micros: i64,
    pub par_level: Option<i64>,
    pub shelf_life_days: Option<i32>,
    pub supplier_id: Option<Uuid>,
    pub purchase_unit: Option<String>,
    pub purchase_factor: i64,
    pub yield_quantity: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
