use sea_orm::entity::prelude::*;

/// Reservations and covers taken at one start instant of one time slot.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reservation_capacity")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub time_slot_id: Uuid,
    pub starts_at: DateTimeUtc,
    pub reservations: i32,
    pub covers: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
