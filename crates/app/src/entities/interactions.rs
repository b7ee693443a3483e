use sea_orm::entity::prelude::*;

/// A call, e-mail, meeting or visit with a restaurant.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "interactions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub restaurant_id: Uuid,
    /// Who made it (kept when the restaurant moves to another KAM).
    pub user_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    /// call, email, meeting or visit.
    pub kind: String,
    pub occurred_at: DateTimeUtc,
    pub notes: String,
    pub outcome: String,
    pub order_id: Option<Uuid>,
    pub follow_up_on: Option<Date>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
