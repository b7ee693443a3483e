use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "restaurants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub external_id: Option<String>,
    pub name: String,
    pub address: Option<String>,
    pub region: Option<String>,
    pub timezone: String,
    pub status: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub description: Option<String>,
    /// ISO 4217 code; prices are kept in its minor units.
    pub currency: String,
    /// Whether customers may order to eat in (dine-in orders and reservations).
    pub enable_eat_in: bool,
    /// Storage key of the uploaded logo, if any.
    pub logo_key: Option<String>,
    /// Reservations must be made at least this long before they start.
    pub reservation_min_notice_minutes: i32,
    /// And at most this many days ahead (local dates).
    pub reservation_max_days_ahead: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::restaurant_hours::Entity")]
    Hours,
    #[sea_orm(has_many = "super::restaurant_members::Entity")]
    Members,
}

impl Related<super::restaurant_hours::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Hours.def()
    }
}

impl Related<super::restaurant_members::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Members.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
