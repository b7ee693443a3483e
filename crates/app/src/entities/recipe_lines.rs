use sea_orm::entity::prelude::*;

/// A quantity of an ingredient in a menu item's recipe or in a sub-recipe.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "recipe_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub restaurant_id: Uuid,
    pub menu_item_id: Option<Uuid>,
    pub parent_ingredient_id: Option<Uuid>,
    pub ingredient_id: Uuid,
    pub quantity: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
