use sea_orm::entity::prelude::*;

/// One outage of a store that lasted long enough inside business hours to tell its KAM and managers;
/// unique per store and outage start, so every process agrees it was told once.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "store_alerts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub restaurant_id: Uuid,
    pub outage_started_at: DateTimeUtc,
    pub alerted_at: DateTimeUtc,
    /// Business minutes down when the alert was raised.
    pub downtime_minutes: f64,
    pub recovered_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
