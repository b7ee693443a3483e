use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reservations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub restaurant_id: Uuid,
    pub user_id: Uuid,
    pub time_slot_id: Option<Uuid>,
    /// Local date of the slot's window (a slot after midnight belongs to the previous date's window).
    pub date: ChronoDate,
    /// Local start time.
    pub slot_time: ChronoTime,
    pub starts_at: DateTimeUtc,
    pub party_size: i32,
    /// `PENDING`, `CONFIRMED`, `COMPLETED` or `CANCELLED`.
    pub status: String,
    pub table_preference: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
