use sea_orm::entity::prelude::*;

/// An order from any source (QR ordering, delivery channels, history imports).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub restaurant_id: Uuid,
    pub customer_id: Option<Uuid>,
    /// `qr`, `channel` or `import`.
    pub source: String,
    /// `takeout` or `dine_in`.
    pub order_type: String,
    /// The latest status event's state (see `order_status_events`).
    pub status: String,
    pub status_changed_at: DateTimeUtc,
    /// Total in minor units of `currency`.
    pub total_minor: i64,
    pub currency: String,
    pub payment_status: String,
    pub payment_method: Option<String>,
    pub payment_reference: Option<String>,
    pub pickup_time: Option<DateTimeUtc>,
    pub table_label: Option<String>,
    pub reservation_id: Option<Uuid>,
    pub note: Option<String>,
    pub idempotency_key: Option<String>,
    /// SHA-256 (hex) of the request that placed the order with `idempotency_key`.
    pub idempotency_fingerprint: Option<String>,
    pub external_ref: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::order_items::Entity")]
    Items,
}

impl Related<super::order_items::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Items.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
