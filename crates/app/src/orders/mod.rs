//! Orders: placing them (priced by the server from the current menu), the status machine, and the
//! status-event stream that is the single source of truth for an order's history. Every status change
//! goes through [`transition`], which writes one `order_status_events` row and moves `orders.status` in the
//! same transaction, then tells the customer (in-app notification, live streams).
//!
//! Facade: [`OrderStatus`], [`Actor`], [`place`], [`transition`], [`order_view`], [`events_of`].

pub mod payments;
pub mod routes;
pub mod store;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::entities::{order_items, order_status_events, orders};
use crate::http::error::{ApiError, FieldErrors};
use crate::money::Currency;
use crate::state::AppState;

/// Where an order came from.
pub const SOURCE_QR: &str = "qr";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Pending,
    Confirmed,
    Preparing,
    Ready,
    Completed,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 6] = [
        OrderStatus::Pending,
        OrderStatus::Confirmed,
        OrderStatus::Preparing,
        OrderStatus::Ready,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "PENDING",
            OrderStatus::Confirmed => "CONFIRMED",
            OrderStatus::Preparing => "PREPARING",
            OrderStatus::Ready => "READY",
            OrderStatus::Completed => "COMPLETED",
            OrderStatus::Cancelled => "CANCELLED",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, OrderStatus::Completed | OrderStatus::Cancelled)
    }

    /// The next state on the happy path.
    fn forward(self) -> Option<OrderStatus> {
        match self {
            OrderStatus::Pending => Some(OrderStatus::Confirmed),
            OrderStatus::Confirmed => Some(OrderStatus::Preparing),
            OrderStatus::Preparing => Some(OrderStatus::Ready),
            OrderStatus::Ready => Some(OrderStatus::Completed),
            OrderStatus::Completed | OrderStatus::Cancelled => None,
        }
    }

    /// The states `who` may move an order to from this one.
    pub fn allowed_for(self, who: ActorKind) -> Vec<OrderStatus> {
        match who {
            ActorKind::Venue | ActorKind::Admin | ActorKind::System => {
                let mut next: Vec<_> = self.forward().into_iter().collect();
                // A recalled ticket line takes a READY order back to the kitchen.
                if self == OrderStatus::Ready {
                    next.push(OrderStatus::Preparing);
                }
                if !self.is_terminal() {
                    next.push(OrderStatus::Cancelled);
                }
                next
            }
            ActorKind::Customer => match self {
                OrderStatus::Pending | OrderStatus::Confirmed => vec![OrderStatus::Cancelled],
                _ => Vec::new(),
            },
        }
    }

    fn title(self) -> &'static str {
        match self {
            OrderStatus::Pending => "Order received",
            OrderStatus::Confirmed => "Order confirmed",
            OrderStatus::Preparing => "Your order is being prepared",
            OrderStatus::Ready => "Your order is ready",
            OrderStatus::Completed => "Order completed",
            OrderStatus::Cancelled => "Order cancelled",
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrderStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        OrderStatus::ALL
            .into_iter()
            .find(|status| status.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown order status {s:?}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderType {
    Takeout,
    DineIn,
}

impl OrderType {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Takeout => "TAKEOUT",
            OrderType::DineIn => "DINE_IN",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    Pending,
    Paid,
    Failed,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "PENDING",
            PaymentStatus::Paid => "PAID",
            PaymentStatus::Failed => "FAILED",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentMethod {
    Cash,
    Online,
}

impl PaymentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Cash => "CASH",
            PaymentMethod::Online => "ONLINE",
        }
    }
}

/// Who changes an order's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    Customer,
    Venue,
    Admin,
    System,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Customer => "customer",
            ActorKind::Venue => "venue",
            ActorKind::Admin => "admin",
            ActorKind::System => "system",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub kind: ActorKind,
    pub user_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderItemView {
    pub id: Uuid,
    pub menu_item_id: Option<Uuid>,
    pub name: String,
    pub quantity: i32,
    #[schema(value_type = String, example = "14.50")]
    pub unit_price: Decimal,
    #[schema(value_type = String, example = "29.00")]
    pub subtotal: Decimal,
    pub special_request: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderView {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub customer_id: Option<Uuid>,
    /// `qr` for orders placed through Brigade.
    pub source: String,
    #[schema(value_type = String, example = "TAKEOUT")]
    pub order_type: String,
    #[schema(value_type = String, example = "PENDING")]
    pub status: String,
    pub status_changed_at: DateTime<Utc>,
    #[schema(value_type = String, example = "29.00")]
    pub total_amount: Decimal,
    #[schema(example = "GBP")]
    pub currency: String,
    #[schema(value_type = String, example = "PENDING")]
    pub payment_status: String,
    #[schema(value_type = Option<String>, example = "CASH")]
    pub payment_method: Option<String>,
    pub pickup_time: Option<DateTime<Utc>>,
    pub table: Option<String>,
    pub reservation_id: Option<Uuid>,
    pub note: Option<String>,
    pub items: Vec<OrderItemView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the kitchen should have it ready (one order's read only, while it is CONFIRMED or
    /// PREPARING): its open ticket lines' predicted prep times, or their stations' targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_ready_at: Option<DateTime<Utc>>,
}

pub fn order_view(order: orders::Model, items: Vec<order_items::Model>) -> OrderView {
    let currency = Currency::parse(&order.currency).unwrap_or(Currency {
        code: "EUR",
        exponent: 2,
    });
    OrderView {
        id: order.id,
        venue_id: order.restaurant_id,
        customer_id: order.customer_id,
        source: order.source,
        order_type: order.order_type,
        status: order.status,
        status_changed_at: order.status_changed_at,
        total_amount: currency.from_minor(order.total_minor),
        currency: currency.code.to_string(),
        payment_status: order.payment_status,
        payment_method: order.payment_method,
        pickup_time: order.pickup_time,
        table: order.table_label,
        reservation_id: order.reservation_id,
        note: order.note,
        items: items
            .into_iter()
            .map(|item| OrderItemView {
                id: item.id,
                menu_item_id: item.menu_item_id,
                name: item.name,
                quantity: item.quantity,
                unit_price: currency.from_minor(item.unit_price_minor),
                subtotal: currency.from_minor(item.subtotal_minor),
                special_request: item.special_request,
            })
            .collect(),
        created_at: order.created_at,
        updated_at: order.updated_at,
        estimated_ready_at: None,
    }
}

/// Orders with their items, in the given order.
pub async fn views_of<C: ConnectionTrait>(
    db: &C,
    orders: Vec<orders::Model>,
) -> Result<Vec<OrderView>, ApiError> {
    let ids: Vec<Uuid> = orders.iter().map(|o| o.id).collect();
    let mut items: HashMap<Uuid, Vec<order_items::Model>> = HashMap::new();
    if !ids.is_empty() {
        for item in order_items::Entity::find()
            .filter(order_items::Column::OrderId.is_in(ids))
            .order_by_asc(order_items::Column::Name)
            .all(db)
            .await?
        {
            items.entry(item.order_id).or_default().push(item);
        }
    }
    Ok(orders
        .into_iter()
        .map(|o| {
            let its = items.remove(&o.id).unwrap_or_default();
            order_view(o, its)
        })
        .collect())
}

pub async fn find(state: &AppState, id: Uuid) -> Result<orders::Model, ApiError> {
    orders::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatusEventView {
    pub id: i64,
    pub order_id: Uuid,
    #[schema(value_type = Option<String>, example = "PENDING")]
    pub from: Option<String>,
    #[schema(value_type = String, example = "CONFIRMED")]
    pub to: String,
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub note: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

impl From<order_status_events::Model> for StatusEventView {
    fn from(e: order_status_events::Model) -> Self {
        StatusEventView {
            id: e.id,
            order_id: e.order_id,
            from: e.from_status,
            to: e.to_status,
            actor_kind: e.actor_kind,
            actor_id: e.actor_id,
            note: e.note,
            occurred_at: e.occurred_at,
        }
    }
}

pub async fn events_of(state: &AppState, order_id: Uuid) -> Result<Vec<StatusEventView>, ApiError> {
    Ok(order_status_events::Entity::find()
        .filter(order_status_events::Column::OrderId.eq(order_id))
        .order_by_asc(order_status_events::Column::OccurredAt)
        .order_by_asc(order_status_events::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(StatusEventView::from)
        .collect())
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderItemInput {
    pub menu_item_id: Uuid,
    #[schema(example = 2, minimum = 1, maximum = 99)]
    pub quantity: i32,
    #[schema(max_length = 500)]
    pub special_request: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    pub venue_id: Uuid,
    pub order_type: OrderType,
    #[schema(min_items = 1, max_items = 50)]
    pub items: Vec<OrderItemInput>,
    /// Takeout only: when the customer collects it (in the next 7 days, inside opening hours; 409
    /// otherwise). Without it the venue must be open now.
    pub pickup_time: Option<DateTime<Utc>>,
    /// Dine-in only: the table (as printed on its QR code).
    #[schema(max_length = 40)]
    pub table: Option<String>,
    /// Dine-in only: the customer's reservation at this venue.
    pub reservation_id: Option<Uuid>,
    /// `CASH` (default, paid at the venue) or `ONLINE` (through the payment provider).
    pub payment_method: Option<PaymentMethod>,
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

pub const MAX_QUANTITY: i32 = 99;
pub const MAX_LINES: usize = 50;
/// How far ahead a pickup may be booked.
pub const MAX_PICKUP_AHEAD_DAYS: i64 = 7;

/// A menu item's name, price and availability as an order sees them.
#[derive(Debug, Clone)]
struct Priced {
    id: Uuid,
    name: String,
    price_minor: i64,
    is_available: bool,
}

/// A placed order, and whether it was created now or found from an earlier request with the same
/// idempotency key.
pub struct Placed {
    pub order: OrderView,
    pub replayed: bool,
}

/// An `Idempotency-Key` and the digest of the request that carried it.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    /// SHA-256 (hex) of the request body (`http::extract::json_digest`).
    pub fingerprint: String,
}

async fn by_idempotency_key(
    state: &AppState,
    customer: Uuid,
    key: &str,
) -> Result<Option<orders::Model>, ApiError> {
    Ok(orders::Entity::find()
        .filter(orders::Column::CustomerId.eq(customer))
        .filter(orders::Column::IdempotencyKey.eq(key))
        .one(&state.db)
        .await?)
}

/// The order an earlier request with this key placed, as a replay; refused when that request was a
/// different one (a reused key must not silently answer with another order).
async fn replay_for(
    state: &AppState,
    idempotency: &Idempotency,
    existing: orders::Model,
) -> Result<Placed, ApiError> {
    if existing
        .idempotency_fingerprint
        .as_deref()
        .is_some_and(|stored| stored != idempotency.fingerprint)
    {
        // The key and body are each well formed; together with the stored order they conflict: 409,
        // like every refusal that depends on what is already stored.
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request; use a new key for a new order",
        )
        .with_field("Idempotency-Key", "was used for a different request")
        .with_data(serde_json::json!({ "order_id": existing.id })));
    }
    replay(state, existing).await
}

/// Check an order against the venue and its current menu, price it, and store it with its first status
/// event, all or nothing.
pub async fn place(
    state: &AppState,
    customer: Uuid,
    input: OrderInput,
    idempotency: Option<Idempotency>,
) -> Result<Placed, ApiError> {
    let now = state.now();
    let prepared = prepare(state, customer, input, idempotency.as_ref(), now).await;
    let (order, items, venue) = match prepared {
        Ok(prepared) => prepared,
        Err(err) => {
            // A retry of an order placed earlier gets that order, even when it could not be placed now
            // (the venue has closed, an item sold out).
            if let Some(idempotency) = &idempotency
                && let Some(existing) =
                    by_idempotency_key(state, customer, &idempotency.key).await?
            {
                return replay_for(state, idempotency, existing).await;
            }
            return Err(err);
        }
    };
    let note = notification_for(&order_view(order.clone(), Vec::new()), &venue.name, now)
        .map(sea_orm::TryIntoModel::try_into_model)
        .transpose()?;
    let event = store::FirstEvent {
        from_status: None,
        to_status: OrderStatus::Pending.as_str().to_string(),
        actor_kind: ActorKind::Customer.as_str().to_string(),
        actor_id: Some(customer),
        note: None,
        occurred_at: now,
    };
    let rows = store::PlacedRows {
        order,
        items,
        event,
        notification: note,
    };
    let (rows, stored) = store::insert_placed(state, rows).await?;
    if !stored {
        // The key was used before (by an earlier request, or one racing this one): answer with its order.
        let idempotency = idempotency.ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("an order without a key was not stored"))
        })?;
        let existing = by_idempotency_key(state, customer, &idempotency.key)
            .await?
            .ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("idempotency key conflict without an order"))
            })?;
        return replay_for(state, &idempotency, existing).await;
    }
    let store::PlacedRows {
        order,
        items,
        notification: note,
        ..
    } = rows;
    let order = order_view(order, items);
    metrics::counter!("brigade_orders_created_total", "source" => SOURCE_QR).increment(1);
    announce(state, &order, None, note).await;
    Ok(Placed {
        order,
        replayed: false,
    })
}

async fn replay(state: &AppState, existing: orders::Model) -> Result<Placed, ApiError> {
    let order = views_of(&state.db, vec![existing]).await?.remove(0);
    Ok(Placed {
        order,
        replayed: true,
    })
}

/// Check an order against the venue and its menu and price it: the rows to store, or field errors.
async fn prepare(
    state: &AppState,
    customer: Uuid,
    input: OrderInput,
    idempotency: Option<&Idempotency>,
    now: DateTime<Utc>,
) -> Result<
    (
        orders::Model,
        Vec<order_items::Model>,
        crate::entities::restaurants::Model,
    ),
    ApiError,
> {
    // Problems with the request itself (422), and with what the venue can do now (409).
    let mut errors = FieldErrors::new();
    let mut conflicts = FieldErrors::new();
    let found = crate::restaurants::cached_with_hours(state, input.venue_id).await?;
    let Some(found) = found.filter(|found| found.0.status != "inactive") else {
        return Err(
            ApiError::not_found("venue").with_field("venue_id", "no such venue is taking orders")
        );
    };
    let venue = found.0.clone();
    let hours = crate::restaurants::BusinessHours::new(
        crate::restaurants::zone_of(&venue),
        found.1.clone(),
    );
    let currency = crate::menus::currency_of(&venue);

    if input.order_type == OrderType::DineIn && !venue.enable_eat_in {
        conflicts.add("order_type", "this venue does not serve eat-in orders");
    }
    match (input.order_type, input.pickup_time) {
        (OrderType::Takeout, Some(at)) => {
            if at <= now {
                conflicts.add("pickup_time", "must be in the future");
            } else if at > now + Duration::days(MAX_PICKUP_AHEAD_DAYS) {
                conflicts.add(
                    "pickup_time",
                    format!("must be within {MAX_PICKUP_AHEAD_DAYS} days"),
                );
            } else if !hours.is_open_at(at) {
                conflicts.add("pickup_time", "the venue is closed at that time");
            }
        }
        (OrderType::Takeout, None) if !hours.is_open_at(now) => conflicts.add(
            "pickup_time",
            "the venue is closed now: choose a pickup time within its opening hours",
        ),
        (OrderType::DineIn, Some(_)) => {
            errors.add("pickup_time", "only takeout orders have a pickup time")
        }
        (OrderType::DineIn, None) if !hours.is_open_at(now) => {
            conflicts.add("order_type", "the venue is closed now")
        }
        _ => {}
    }
    let table = match input
        .table
        .as_deref()
        .map(|t| crate::http::text::optional_text(t, 40))
    {
        Some(Ok(table)) => table,
        Some(Err(problem)) => {
            errors.add("table", problem);
            None
        }
        None => None,
    };
    if table.is_some() && input.order_type != OrderType::DineIn {
        errors.add("table", "only dine-in orders have a table");
    }
    let table = table.as_deref();
    if let Some(reservation) = input.reservation_id {
        if input.order_type != OrderType::DineIn {
            errors.add("reservation_id", "only dine-in orders have a reservation");
        } else if let Err(problem) =
            crate::reservations::check_for_order(state, reservation, customer, venue.id).await?
        {
            conflicts.add("reservation_id", problem);
        }
    }
    if let Some(note) = &input.note
        && note.chars().count() > 1000
    {
        errors.add("note", "must be at most 1000 characters");
    }

    if input.items.is_empty() {
        errors.add("items", "an order needs at least one item");
    } else if input.items.len() > MAX_LINES {
        errors.add("items", format!("at most {MAX_LINES} lines"));
    }
    // Prices and availability from the cached menu, which every menu change drops at once.
    let shared = crate::menus::load_menu_shared(state, &venue).await?;
    let menu: HashMap<Uuid, &crate::menus::ItemView> = shared
        .categories
        .iter()
        .flat_map(|section| section.items.iter())
        .map(|item| (item.id, item))
        .collect();
    let priced = |id: &Uuid| -> Option<Priced> {
        let item = menu.get(id)?;
        Some(Priced {
            id: item.id,
            price_minor: currency.to_minor(item.price).ok()?,
            name: item.name.clone(),
            is_available: item.is_available,
        })
    };
    let mut lines = Vec::new();
    let mut total: i64 = 0;
    for (i, line) in input.items.iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            errors.add(
                &format!("items[{i}].quantity"),
                format!("must be between 1 and {MAX_QUANTITY}"),
            );
        }
        if let Some(request) = &line.special_request
            && request.chars().count() > 500
        {
            errors.add(
                &format!("items[{i}].special_request"),
                "must be at most 500 characters",
            );
        }
        match priced(&line.menu_item_id) {
            None => conflicts.add(
                &format!("items[{i}].menu_item_id"),
                "is not on this venue's menu",
            ),
            Some(item) if !item.is_available => conflicts.add(
                &format!("items[{i}].menu_item_id"),
                format!("{} is sold out", item.name),
            ),
            Some(item) => {
                let quantity = line.quantity.clamp(0, MAX_QUANTITY);
                let subtotal = item.price_minor * i64::from(quantity);
                total += subtotal;
                lines.push((item, quantity, subtotal, line.special_request.clone()));
            }
        }
    }
    errors.into_result()?;
    conflicts.into_conflict(
        "order_not_possible",
        "the venue cannot take this order as it stands",
    )?;

    let id = Uuid::now_v7();
    let order = orders::Model {
        id,
        restaurant_id: venue.id,
        customer_id: Some(customer),
        source: SOURCE_QR.to_string(),
        order_type: input.order_type.as_str().to_string(),
        status: OrderStatus::Pending.as_str().to_string(),
        status_changed_at: now,
        total_minor: total,
        currency: currency.code.to_string(),
        payment_status: PaymentStatus::Pending.as_str().to_string(),
        payment_method: Some(
            input
                .payment_method
                .unwrap_or(PaymentMethod::Cash)
                .as_str()
                .to_string(),
        ),
        payment_reference: None,
        pickup_time: input.pickup_time,
        table_label: table.map(str::to_string),
        reservation_id: input.reservation_id,
        note: input
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string),
        idempotency_key: idempotency.map(|i| i.key.clone()),
        idempotency_fingerprint: idempotency.map(|i| i.fingerprint.clone()),
        external_ref: None,
        created_at: now,
        updated_at: now,
    };
    let items: Vec<order_items::Model> = lines
        .into_iter()
        .map(
            |(item, quantity, subtotal, special_request)| order_items::Model {
                id: Uuid::now_v7(),
                order_id: id,
                menu_item_id: Some(item.id),
                name: item.name,
                plu: None,
                unit_price_minor: item.price_minor,
                quantity,
                subtotal_minor: subtotal,
                special_request: special_request
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty()),
            },
        )
        .collect();
    Ok((order, items, venue))
}

/// The event row of one status change, happening now.
fn status_event(
    order_id: Uuid,
    restaurant_id: Uuid,
    from: Option<OrderStatus>,
    to: OrderStatus,
    actor: Actor,
    note: Option<String>,
    now: DateTime<Utc>,
) -> order_status_events::ActiveModel {
    order_status_events::ActiveModel {
        order_id: Set(order_id),
        restaurant_id: Set(restaurant_id),
        from_status: Set(from.map(|s| s.as_str().to_string())),
        to_status: Set(to.as_str().to_string()),
        raw_code: Set(None),
        actor_kind: Set(actor.kind.as_str().to_string()),
        actor_id: Set(actor.user_id),
        note: Set(note),
        occurred_at: Set(now),
        recorded_at: Set(now),
        ..Default::default()
    }
}

/// Move an order to `to`, as `actor`. Refuses an illegal move with 409 listing the allowed ones.
pub async fn transition(
    state: &AppState,
    order_id: Uuid,
    to: OrderStatus,
    actor: Actor,
    note: Option<String>,
) -> Result<OrderView, ApiError> {
    let order = find(state, order_id).await?;
    // A channel order may be in a state of its channel's own (UNKNOWN: a code no mapping names); the
    // order status machine does not move it, its channel's status events do.
    let from: OrderStatus = order.status.parse().map_err(|_| {
        ApiError::conflict(
            "invalid_transition",
            format!(
                "the order is {}, a state its channel set; send its status through the channel",
                order.status
            ),
        )
        .with_data(serde_json::json!({"status": order.status, "allowed_transitions": []}))
    })?;
    let allowed = from.allowed_for(actor.kind);
    if !allowed.contains(&to) {
        let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
        let message = if names.is_empty() {
            format!("the order is {from}; it cannot move to {to}")
        } else {
            format!(
                "the order is {from}; it can move to {} but not to {to}",
                names.join(", ")
            )
        };
        return Err(ApiError::conflict("invalid_transition", message).with_data(
            serde_json::json!({"status": from.as_str(), "allowed_transitions": names}),
        ));
    }
    let now = state.now();
    let venue = crate::restaurants::cached_with_hours(state, order.restaurant_id).await?;
    let venue_name = venue
        .as_ref()
        .map(|found| found.0.name.clone())
        .unwrap_or_default();
    let today = venue
        .as_ref()
        .map(|found| crate::inventory::local_today(&found.0, now))
        .unwrap_or_else(|| now.date_naive());
    let items = order_items::Entity::find()
        .filter(order_items::Column::OrderId.eq(order_id))
        .order_by_asc(order_items::Column::Name)
        .all(&state.db)
        .await?;
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    // Only move it if nobody else moved it since we read it.
    let moved = orders::Entity::update_many()
        .col_expr(orders::Column::Status, Expr::value(to.as_str()))
        .col_expr(orders::Column::StatusChangedAt, Expr::value(now))
        .col_expr(orders::Column::UpdatedAt, Expr::value(now))
        .filter(orders::Column::Id.eq(order_id))
        .filter(orders::Column::Status.eq(from.as_str()))
        .exec(&txn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(ApiError::conflict(
            "order_changed",
            "the order changed meanwhile; read it again",
        ));
    }
    let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    status_event(
        order_id,
        order.restaurant_id,
        Some(from),
        to,
        actor,
        note,
        now,
    )
    .insert(&txn)
    .await?;
    // The kitchen follows: a confirmed order's items become ticket lines at their stations; an order
    // cancelled, or marked READY or COMPLETED by hand, closes its open lines.
    let kitchen = match to {
        OrderStatus::Confirmed => crate::kitchen::queue_lines(&txn, &order, &items, now)
            .await?
            .into_iter()
            .map(|line| line.id)
            .collect(),
        OrderStatus::Cancelled | OrderStatus::Ready | OrderStatus::Completed => {
            crate::kitchen::close_lines(&txn, order_id, to, actor.user_id, now).await?
        }
        OrderStatus::Pending | OrderStatus::Preparing => Vec::new(),
    };
    // Stock follows: a completed order's recipes leave stock in this transaction, once.
    if to == OrderStatus::Completed {
        crate::inventory::consume_order(&txn, &order, &items, now, today).await?;
    }
    // An order the kitchen had started on and is now cancelled: waste, if the venue says so.
    if to == OrderStatus::Cancelled && matches!(from, OrderStatus::Preparing | OrderStatus::Ready) {
        crate::inventory::waste_cancelled_order(&txn, &order, &items, now, today).await?;
    }
    let view = order_view(
        orders::Model {
            status: to.as_str().to_string(),
            status_changed_at: now,
            updated_at: now,
            ..order.clone()
        },
        items,
    );
    let notification = match notification_for(&view, &venue_name, now) {
        Some(row) => Some(row.insert(&txn).await?),
        None => None,
    };
    txn.commit().await?;
    drop(turn);

    metrics::counter!("brigade_order_transitions_total", "from" => from.as_str(), "to" => to.as_str())
        .increment(1);
    let seconds = (now - order.status_changed_at).num_milliseconds().max(0) as f64 / 1000.0;
    metrics::histogram!("brigade_order_time_in_status_seconds", "status" => from.as_str())
        .record(seconds);
    announce(state, &view, Some(from), notification).await;
    if !kitchen.is_empty() {
        let kind = match to {
            OrderStatus::Confirmed => "queued",
            OrderStatus::Cancelled => "voided",
            _ => "ready",
        };
        crate::kitchen::publish(
            state,
            &crate::kitchen::KitchenUpdate {
                venue_id: order.restaurant_id,
                order_id,
                line_ids: kitchen,
                kind: kind.to_string(),
                at: now,
            },
        )
        .await;
    }
    Ok(view)
}

/// The live message for an order change, on the order's and the venue's streams.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderUpdate {
    pub order_id: Uuid,
    pub venue_id: Uuid,
    #[schema(value_type = Option<String>)]
    pub from: Option<String>,
    #[schema(value_type = String)]
    pub status: String,
    #[schema(value_type = String)]
    pub payment_status: String,
    pub at: DateTime<Utc>,
}

/// Put an order change on the order's and the venue's live channels (logged, never failing the change).
pub async fn publish_update(state: &AppState, update: &OrderUpdate) {
    let payload = serde_json::to_string(update).unwrap_or_default();
    let publish = |channel: String| {
        let payload = &payload;
        async move {
            if let Err(err) = state.pubsub.publish(&channel, payload).await {
                tracing::warn!(%err, channel, "could not publish an order update");
            }
        }
    };
    // Both at once: on Redis they share one round trip of the multiplexed connection.
    tokio::join!(
        publish(order_channel(update.order_id)),
        publish(venue_channel(update.venue_id))
    );
}

pub fn order_channel(id: Uuid) -> String {
    format!("order:{id}")
}

pub fn venue_channel(id: Uuid) -> String {
    format!("venue:{id}:orders")
}

/// The customer's notification of the order's current status (stored in the change's transaction).
fn notification_for(
    order: &OrderView,
    venue: &str,
    now: DateTime<Utc>,
) -> Option<crate::entities::notifications::ActiveModel> {
    let customer = order.customer_id?;
    let status: OrderStatus = order.status.parse().unwrap_or(OrderStatus::Pending);
    let message = format!(
        "{venue}: order {} is now {}.",
        short_id(order.id),
        status.as_str().to_lowercase()
    );
    Some(crate::notifications::inbox::row(
        customer,
        crate::notifications::inbox::Kind::OrderStatus,
        status.title(),
        &message,
        Some((order.id, "order")),
        now,
    ))
}

/// Tell everyone watching, after the change committed: the order's stream, the venue's stream and the
/// customer's inbox stream. Failures to push are logged, never fail the change that already happened.
async fn announce(
    state: &AppState,
    order: &OrderView,
    from: Option<OrderStatus>,
    notification: Option<crate::entities::notifications::Model>,
) {
    let update = OrderUpdate {
        order_id: order.id,
        venue_id: order.venue_id,
        from: from.map(|s| s.as_str().to_string()),
        status: order.status.clone(),
        payment_status: order.payment_status.clone(),
        at: order.status_changed_at,
    };
    let push = async {
        if let Some(note) = notification {
            crate::notifications::inbox::push(state, note).await;
        }
    };
    tokio::join!(publish_update(state, &update), push);
}

/// The short form of an order id people read aloud (its last 6 hex digits).
pub fn short_id(id: Uuid) -> String {
    let hex = id.simple().to_string();
    hex[hex.len() - 6..].to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_machine_allows_only_the_documented_moves() {
        use OrderStatus::*;
        assert_eq!(
            Pending.allowed_for(ActorKind::Venue),
            vec![Confirmed, Cancelled]
        );
        assert_eq!(
            Ready.allowed_for(ActorKind::Venue),
            vec![Completed, Preparing, Cancelled]
        );
        assert!(Ready.allowed_for(ActorKind::Customer).is_empty());
        assert!(Completed.allowed_for(ActorKind::Venue).is_empty());
        assert!(Cancelled.allowed_for(ActorKind::Admin).is_empty());
        assert_eq!(Confirmed.allowed_for(ActorKind::Customer), vec![Cancelled]);
        assert!(Preparing.allowed_for(ActorKind::Customer).is_empty());
        assert_eq!("preparing".parse::<OrderStatus>(), Ok(Preparing));
        assert!("COOKING".parse::<OrderStatus>().is_err());
    }
}
