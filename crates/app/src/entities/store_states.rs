use sea_orm::entity::prelude::*;

/// A monitored store's state as the `monitoring.fleet` job last found it.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "store_states")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub restaurant_id: Uuid,
    /// `down`, `no_data`, `up` or `closed`.
    pub state: String,
    /// The same as a number, worst first (down 0, no data 1, up 2, closed 3), for sorting.
    pub rank: i16,
    /// When the current outage began (down), or the last poll (no data).
    pub since: Option<DateTimeUtc>,
    pub last_poll_at: Option<DateTimeUtc>,
    /// Percent up of the business time with data in the last day and week; `None` without any.
    pub uptime_day: Option<f64>,
    pub uptime_week: Option<f64>,
    /// Percent of business time with data in the last day and week; `None` without business time.
    pub data_day: Option<f64>,
    pub data_week: Option<f64>,
    /// The instant the state is for ("now": the clock, or the latest poll of a historical import).
    pub as_of: DateTimeUtc,
    pub computed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
