use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "menu_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub restaurant_id: Uuid,
    pub category_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// Price in minor units of the restaurant's currency.
    pub price_minor: i64,
    pub image_url: Option<String>,
    pub ingredients: Option<String>,
    pub preparation_minutes: Option<i32>,
    pub is_available: bool,
    /// "86": off the menu until this instant (the start of the venue's next local day), then back.
    pub unavailable_until: Option<DateTimeUtc>,
    /// The point-of-sale code channel orders name the item by.
    pub plu: Option<String>,
    pub display_order: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::menu_categories::Entity",
        from = "Column::CategoryId",
        to = "super::menu_categories::Column::Id",
        on_delete = "Cascade"
    )]
    Category,
}

impl Related<super::menu_categories::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Category.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
