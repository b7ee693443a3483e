use sea_orm::entity::prelude::*;

/// A KAM's weekly working hours in their own zone (same rules as business hours).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "kam_working_hours")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// 0 = Monday .. 6 = Sunday.
    pub weekday: i16,
    pub opens: ChronoTime,
    pub closes: ChronoTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
