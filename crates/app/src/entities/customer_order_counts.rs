use sea_orm::entity::prelude::*;

/// How many customers have placed `orders` orders, over all restaurants (the distribution of
/// `customer_order_totals`, kept by the rollup job).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customer_order_counts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub orders: i64,
    pub customers: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
