use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "monitoring_reports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// running, complete or failed.
    pub status: String,
    /// The instant the report was asked for, if any.
    pub as_of: Option<DateTimeUtc>,
    /// The "now" the figures end at (the `as_of`, or the latest poll).
    pub computed_for: Option<DateTimeUtc>,
    pub requested_by: Option<Uuid>,
    pub store_count: Option<i32>,
    #[sea_orm(column_type = "Text")]
    pub csv: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub error: Option<String>,
    pub duration_ms: Option<i64>,
    pub created_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
