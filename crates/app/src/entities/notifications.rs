use sea_orm::entity::prelude::*;

/// An in-app notification for one user.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub title: String,
    pub message: String,
    /// `order_status`, `reservation` or `system`.
    pub kind: String,
    /// `unread` or `read`.
    pub status: String,
    pub reference_id: Option<Uuid>,
    pub reference_type: Option<String>,
    pub created_at: DateTimeUtc,
    pub read_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
