use sea_orm::entity::prelude::*;

/// One customer's orders at all restaurants over their lifetime.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customer_order_totals")]
pub struct Model {
    /// `customers.id` (channel customers) or `users.id` (Brigade accounts).
    #[sea_orm(primary_key, auto_increment = false)]
    pub customer_id: Uuid,
    pub orders: i64,
    /// Orders whose value is known, and their total in minor units of `currency`.
    pub valued_orders: i64,
    pub value_minor: i64,
    pub currency: String,
    /// Unix milliseconds of the first and last order.
    pub first_ms: i64,
    pub last_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
