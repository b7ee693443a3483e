use sea_orm::entity::prelude::*;

/// One order item at its station: queued when the order is confirmed, started, made ready (bumped),
/// perhaps recalled or voided (never deleted).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub restaurant_id: Uuid,
    pub order_id: Uuid,
    pub station_id: Option<Uuid>,
    pub station_name: String,
    pub menu_item_id: Option<Uuid>,
    pub order_item_id: Option<Uuid>,
    pub name: String,
    pub quantity: i32,
    pub note: Option<String>,
    pub state: String,
    pub queued_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub ready_at: Option<DateTimeUtc>,
    pub bumped_by: Option<Uuid>,
    pub recalls: i32,
    pub voided_at: Option<DateTimeUtc>,
    pub void_reason: Option<String>,
    pub queue_depth: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
