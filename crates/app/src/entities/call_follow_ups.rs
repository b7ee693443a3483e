use sea_orm::entity::prelude::*;

/// A call still to be made on a date, often about an order (the seed's `next_call_list`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "call_follow_ups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub restaurant_id: Uuid,
    pub order_id: Option<Uuid>,
    pub interaction_id: Option<Uuid>,
    /// A calendar date in the assigned KAM's zone.
    pub due_on: Date,
    pub done_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
