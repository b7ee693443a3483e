use sea_orm::entity::prelude::*;

/// The channel's own fields of a channel order (the order itself is a row of `orders`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "channel_orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub order_id: Uuid,
    /// The channel's `_id`.
    #[sea_orm(unique)]
    pub external_id: String,
    pub account: String,
    pub brand_id: String,
    pub channel_order_id: Option<String>,
    pub customer_id: Option<Uuid>,
    /// JSON as received.
    pub delivery_address: Option<String>,
    /// The latest status code by timestamp, as received.
    pub status_code: i32,
    pub mapping_version: i32,
    pub value_known: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
