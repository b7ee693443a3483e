use sea_orm::entity::prelude::*;

/// Something that happened to a ticket line: queued, started, ready, recalled or voided.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub line_id: Uuid,
    pub order_id: Uuid,
    pub kind: String,
    pub actor_id: Option<Uuid>,
    pub note: Option<String>,
    pub occurred_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
