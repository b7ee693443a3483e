use sea_orm::entity::prelude::*;

/// What a venue decides about its stock; a venue without a row has the defaults.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stock_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub restaurant_id: Uuid,
    /// An order cancelled after the kitchen started on it (preparing or ready) takes its recipes from
    /// stock as waste (reason `cancelled`); otherwise it takes nothing.
    pub waste_cancelled_cooking: bool,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
