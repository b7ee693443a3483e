use sea_orm::entity::prelude::*;

/// A weekly reservation window of a venue: bookable starts every `interval_minutes` from `start_time`
/// until before `end_time` (an end at or before the start runs past midnight).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "time_slots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub restaurant_id: Uuid,
    /// 0 = Monday .. 6 = Sunday, local to the venue.
    pub weekday: i16,
    pub start_time: ChronoTime,
    pub end_time: ChronoTime,
    pub interval_minutes: i32,
    /// Reservations per start time.
    pub max_reservations: i32,
    /// Guests per start time (no limit when absent).
    pub max_covers: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
