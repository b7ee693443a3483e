use sea_orm::entity::prelude::*;

/// A restaurant's CRM side: its KAM, call plan and cached performance score.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "crm_accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub restaurant_id: Uuid,
    pub kam_id: Option<Uuid>,
    /// Days between calls; `None` follows the tier's default.
    pub call_frequency_days: Option<i32>,
    pub last_call_at: Option<DateTimeUtc>,
    pub next_call_at: Option<DateTimeUtc>,
    pub score: Option<i32>,
    pub tier: Option<String>,
    /// JSON of `crm::score::Breakdown`.
    pub score_breakdown: Option<String>,
    /// JSON of `crm::score::Patterns`.
    pub patterns: Option<String>,
    pub scored_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::restaurants::Entity",
        from = "Column::RestaurantId",
        to = "super::restaurants::Column::Id",
        on_delete = "Cascade"
    )]
    Restaurant,
}

impl Related<super::restaurants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Restaurant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
