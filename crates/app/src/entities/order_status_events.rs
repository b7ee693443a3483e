use sea_orm::entity::prelude::*;

/// One status change of an order: the single source of truth for order history and analytics.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_status_events")]
pub struct Model {
    /// Increasing sequence number.
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: Uuid,
    pub restaurant_id: Uuid,
    /// `None` for the event that created the order.
    pub from_status: Option<String>,
    pub to_status: String,
    /// A channel's own integer status code, kept exactly as received.
    pub raw_code: Option<i32>,
    /// `customer`, `venue`, `admin`, `system`, `channel` or `payment`.
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub note: Option<String>,
    /// When the change happened.
    pub occurred_at: DateTimeUtc,
    /// When Brigade stored it.
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
