//! `/api/orders`: placing orders (with `Idempotency-Key`), reading them, moving them through their
//! states, their status history and live stream, and payments.

use std::convert::Infallible;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::payments::{PaymentEvent, PaymentProvider, PaymentSession, SignedWebhookProvider};
use super::{
    Actor, ActorKind, Idempotency, OrderInput, OrderStatus, OrderView, PaymentMethod,
    PaymentStatus, StatusEventView, events_of, find, order_channel, place, transition, views_of,
};
use crate::accounts::{AuthUser, MemberRole, Principal, membership_role, require_restaurant_role};
use crate::entities::{orders, restaurant_members};
use crate::http::envelope::{Envelope, Page, PageParams, Reply, created, ok};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{ApiJson, ApiJsonDigest, ApiPath, ApiQuery};
use crate::notifications::routes::{StreamAuth, sse_from};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orders, create_order))
        .routes(routes!(get_order, cancel_order))
        .routes(routes!(update_status))
        .routes(routes!(order_events))
        .routes(routes!(order_stream))
        .routes(routes!(mark_payment))
        .routes(routes!(start_online_payment))
        .routes(routes!(payment_webhook))
}

/// How the caller relates to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Admin,
    Venue(MemberRole),
    Customer,
}

async fn access(state: &AppState, me: &Principal, order: &orders::Model) -> ApiResult<Access> {
    if me.is_admin() {
        return Ok(Access::Admin);
    }
    if let Some(role) = membership_role(state, me.user_id, order.restaurant_id).await? {
        return Ok(Access::Venue(role));
    }
    if order.customer_id == Some(me.user_id) {
        return Ok(Access::Customer);
    }
    // Not revealing that the order exists.
    Err(ApiError::not_found("order"))
}

fn actor_for(me: &Principal, access: Access) -> Actor {
    Actor {
        kind: match access {
            Access::Admin => ActorKind::Admin,
            Access::Venue(_) => ActorKind::Venue,
            Access::Customer => ActorKind::Customer,
        },
        user_id: Some(me.user_id),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderFilter {
    /// Orders of one venue (its people and admins).
    pub venue_id: Option<Uuid>,
    /// `PENDING`, `CONFIRMED`, `PREPARING`, `READY`, `COMPLETED` or `CANCELLED`.
    pub status: Option<OrderStatus>,
    /// Only orders created at or after this instant.
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Only orders created before this instant.
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    pub page: Option<crate::http::envelope::PageNumber>,
    pub per_page: Option<crate::http::envelope::PerPage>,
}

/// Orders, newest first. Customers see their own; venue people see their venues' (all of them at
/// once, or one with `venue_id`); admins see everything.
#[utoipa::path(get, path = "/api/orders", tag = "orders", security(("bearer" = []), ("api_key" = ["orders:read"])), params(OrderFilter),
    responses(
        (status = 200, description = "A page of orders", body = Envelope<Page<OrderView>>),
        (status = 403, description = "Not one of your venues", body = ErrorBody),
    ))]
async fn list_orders(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(filter): ApiQuery<OrderFilter>,
) -> ApiResult<Reply<Page<OrderView>>> {
    let mut select = orders::Entity::find()
        .order_by_desc(orders::Column::CreatedAt)
        .order_by_desc(orders::Column::Id);
    if let Some(venue) = filter.venue_id {
        require_restaurant_role(&state, &me, venue, MemberRole::Staff).await?;
        select = select.filter(orders::Column::RestaurantId.eq(venue));
    } else if !me.is_admin() {
        let venues: Vec<Uuid> = restaurant_members::Entity::find()
            .select_only()
            .column(restaurant_members::Column::RestaurantId)
            .filter(restaurant_members::Column::UserId.eq(me.user_id))
            .into_tuple()
            .all(&state.db)
            .await?;
        let mut visible = Condition::any().add(orders::Column::CustomerId.eq(me.user_id));
        if !venues.is_empty() {
            visible = visible.add(orders::Column::RestaurantId.is_in(venues));
        }
        select = select.filter(visible);
    }
    if let Some(status) = filter.status {
        select = select.filter(orders::Column::Status.eq(status.as_str()));
    }
    if let Some(from) = filter.from {
        select = select.filter(orders::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.to {
        select = select.filter(orders::Column::CreatedAt.lt(to));
    }
    let params = PageParams {
        page: filter.page,
        per_page: filter.per_page,
    };
    let (rows, index, per_page, total) =
        crate::http::envelope::paginate(select, &state.db, &params).await?;
    Ok(ok(Page::new(
        views_of(&state.db, rows).await?,
        index,
        per_page,
        total,
    )))
}

/// The `Idempotency-Key` header: 1 to 255 printable ASCII characters, no space at either end.
fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    let printable = |b: &u8| (0x20..=0x7e).contains(b);
    if bytes.is_empty()
        || bytes.len() > 255
        || !bytes.iter().all(printable)
        || bytes[0] == b' '
        || bytes[bytes.len() - 1] == b' '
    {
        return Err(ApiError::field(
            "Idempotency-Key",
            "must be 1 to 255 printable ASCII characters",
        ));
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

/// Place an order. The server prices it from the current menu and refuses sold-out items, closed venues
/// and pickup times outside opening hours. With an `Idempotency-Key` header a retry returns the first
/// order (200, `Idempotent-Replayed: true`) instead of placing a second one.
#[utoipa::path(post, path = "/api/orders", tag = "orders", security(("bearer" = []), ("api_key" = ["orders:write"])),
    params(("Idempotency-Key" = Option<String>, Header, max_length = 255, pattern = r"^[!-~]([ -~]*[!-~])?$",
        description = "Makes retries safe: the same key (1 to 255 printable ASCII characters) with the same body returns the same order")),
    request_body(content = OrderInput, example = json!({
        "venue_id": "0192f0c4-6c1e-7a30-8d3e-4f5a6b7c8d9e",
        "order_type": "TAKEOUT",
        "items": [{"menu_item_id": "0192f0c4-7000-7a30-8d3e-4f5a6b7c8d9e", "quantity": 2, "special_request": "no onions"}],
        "pickup_time": "2026-06-15T12:30:00Z",
        "payment_method": "CASH"
    })),
    responses(
        (status = 201, description = "Placed", body = Envelope<OrderView>),
        (status = 200, description = "The order an earlier request with this Idempotency-Key placed", body = Envelope<OrderView>),
        (status = 409, description = "`idempotency_key_reused`: the Idempotency-Key was used for a different request (the first order's id is in `data`)", body = ErrorBody),
        (status = 422, description = "Invalid order; `errors` names the fields (for example `items[0].menu_item_id`)", body = ErrorBody),
    ))]
async fn create_order(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    headers: HeaderMap,
    ApiJsonDigest(input, fingerprint): ApiJsonDigest<OrderInput>,
) -> ApiResult<Response> {
    let idempotency = idempotency_key(&headers)?.map(|key| Idempotency { key, fingerprint });
    let placed = place(&state, me.user_id, input, idempotency).await?;
    if placed.replayed {
        let mut response = ok(placed.order)
            .message("an order was already placed with this Idempotency-Key")
            .into_response();
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
        Ok(response)
    } else {
        Ok(created(placed.order).into_response())
    }
}

/// One order with its items.
#[utoipa::path(get, path = "/api/orders/{id}", tag = "orders", security(("bearer" = []), ("api_key" = ["orders:read"])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order", body = Envelope<OrderView>),
        (status = 404, description = "No such order of yours", body = ErrorBody),
    ))]
async fn get_order(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<OrderView>> {
    let order = find(&state, id).await?;
    access(&state, &me, &order).await?;
    let mut view = views_of(&state.db, vec![order.clone()]).await?.remove(0);
    view.estimated_ready_at = crate::kitchen::prep::estimated_ready(&state, &order).await?;
    Ok(ok(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderStatusInput {
    #[schema(example = "CONFIRMED")]
    pub status: OrderStatus,
    pub note: Option<String>,
}

/// Move an order to its next state (venue staff and admins; a customer may only cancel a PENDING or
/// CONFIRMED order). An illegal move is 409 `invalid_transition` with the allowed states in
/// `data.allowed_transitions`.
#[utoipa::path(put, path = "/api/orders/{id}/status", tag = "orders", security(("bearer" = []), ("api_key" = ["orders:write"])),
    params(("id" = Uuid, Path, description = "Order id")),
    request_body(content = OrderStatusInput, example = json!({"status": "PREPARING"})),
    responses(
        (status = 200, description = "Moved", body = Envelope<OrderView>),
        (status = 404, description = "No such order of yours", body = ErrorBody),
        (status = 409, description = "Not allowed from the current state", body = ErrorBody),
    ))]
async fn update_status(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<OrderStatusInput>,
) -> ApiResult<Reply<OrderView>> {
    let order = find(&state, id).await?;
    let access = access(&state, &me, &order).await?;
    let view = transition(&state, id, input.status, actor_for(&me, access), input.note).await?;
    Ok(ok(view))
}

/// Cancel an order (the customer while it is PENDING or CONFIRMED; the venue until it is completed).
#[utoipa::path(delete, path = "/api/orders/{id}", tag = "orders", security(("bearer" = []), ("api_key" = ["orders:write"])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "Cancelled", body = Envelope<OrderView>),
        (status = 409, description = "Too late to cancel", body = ErrorBody),
    ))]
async fn cancel_order(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<OrderView>> {
    let order = find(&state, id).await?;
    let access = access(&state, &me, &order).await?;
    let view = transition(
        &state,
        id,
        OrderStatus::Cancelled,
        actor_for(&me, access),
        None,
    )
    .await?;
    Ok(ok(view).message("order cancelled"))
}

/// The order's status history: every change with who made it and when, oldest first.
#[utoipa::path(get, path = "/api/orders/{id}/events", tag = "orders", security(("bearer" = []), ("api_key" = ["orders:read"])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses((status = 200, description = "Status events", body = Envelope<Vec<StatusEventView>>)))]
async fn order_events(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<Vec<StatusEventView>>> {
    let order = find(&state, id).await?;
    access(&state, &me, &order).await?;
    Ok(ok(events_of(&state, id).await?))
}

/// Live changes of one order as Server-Sent Events (`event: order`, data: `OrderUpdate` JSON), from
/// every Brigade process. Accepts `?access_token=` for EventSource clients.
#[utoipa::path(get, path = "/api/orders/{id}/stream", tag = "orders", security(("bearer" = []), ("api_key" = ["orders:read"])),
    params(("id" = Uuid, Path, description = "Order id"), StreamAuth),
    responses(
        (status = 200, description = "An event stream", content_type = "text/event-stream", body = crate::notifications::routes::StreamEvent),
        (status = 404, description = "No such order of yours", body = ErrorBody),
    ))]
async fn order_stream(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(_query): ApiQuery<StreamAuth>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let order = find(&state, id).await?;
    access(&state, &me, &order).await?;
    Ok(sse_from(&state, &order_channel(id), "order"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentInput {
    /// `PAID` (cash received) or `FAILED`.
    #[schema(value_type = CashPaymentState, example = "PAID")]
    pub status: PaymentStatus,
}

/// What the venue records of a cash payment.
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum CashPaymentState {
    #[schema(rename = "PAID")]
    Paid,
    #[schema(rename = "FAILED")]
    Failed,
}

async fn set_payment(
    state: &AppState,
    order: &orders::Model,
    status: PaymentStatus,
    reference: Option<&str>,
) -> ApiResult<OrderView> {
    let mut update = orders::Entity::update_many()
        .col_expr(orders::Column::PaymentStatus, Expr::value(status.as_str()))
        .col_expr(orders::Column::UpdatedAt, Expr::value(state.now()))
        .filter(orders::Column::Id.eq(order.id));
    if let Some(reference) = reference {
        update = update.col_expr(orders::Column::PaymentReference, Expr::value(reference));
    }
    update.exec(&state.db).await?;
    let view = views_of(&state.db, vec![find(state, order.id).await?])
        .await?
        .remove(0);
    super::publish_update(
        state,
        &super::OrderUpdate {
            order_id: view.id,
            venue_id: view.venue_id,
            from: Some(view.status.clone()),
            status: view.status.clone(),
            payment_status: view.payment_status.clone(),
            at: state.now(),
        },
    )
    .await;
    Ok(view)
}

/// Record a cash payment (venue staff or admins).
#[utoipa::path(put, path = "/api/orders/{id}/payment", tag = "orders", security(("bearer" = []), ("api_key" = ["orders:write"])),
    params(("id" = Uuid, Path, description = "Order id")),
    request_body(content = PaymentInput, example = json!({"status": "PAID"})),
    responses(
        (status = 200, description = "Recorded", body = Envelope<OrderView>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 409, description = "Not a cash order, or already paid", body = ErrorBody),
    ))]
async fn mark_payment(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<PaymentInput>,
) -> ApiResult<Reply<OrderView>> {
    let order = find(&state, id).await?;
    if access(&state, &me, &order).await? == Access::Customer {
        return Err(ApiError::forbidden(
            "only the venue's staff record cash payments",
        ));
    }
    Ok(ok(record_cash(&state, &order, input.status).await?))
}

/// Record a cash order's payment (PAID or FAILED) for the venue (the caller's right to is checked).
pub(crate) async fn record_cash(
    state: &AppState,
    order: &orders::Model,
    status: PaymentStatus,
) -> ApiResult<OrderView> {
    if order.payment_method.as_deref() != Some(PaymentMethod::Cash.as_str()) {
        return Err(ApiError::conflict(
            "not_a_cash_order",
            "this order is paid online; its payment status comes from the payment provider",
        ));
    }
    if order.payment_status == PaymentStatus::Paid.as_str() {
        return Err(ApiError::conflict(
            "already_paid",
            "this order is already paid",
        ));
    }
    if status == PaymentStatus::Pending {
        return Err(ApiError::field("status", "must be PAID or FAILED"));
    }
    set_payment(state, order, status, None).await
}

fn provider(state: &AppState) -> ApiResult<SignedWebhookProvider> {
    match (
        &state.config.payments.webhook_secret,
        &state.config.payments.checkout_url,
    ) {
        (Some(secret), Some(url)) => Ok(SignedWebhookProvider::new(secret.clone(), url.clone())),
        _ => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "payments_not_configured",
            "online payments are not configured on this Brigade",
        )),
    }
}

/// Start paying an ONLINE order: returns where to send the customer. The result arrives later on the
/// payment webhook.
#[utoipa::path(post, path = "/api/orders/{id}/pay", tag = "orders", security(("bearer" = []), ("api_key" = ["orders:write"])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "Payment started", body = Envelope<PaymentSession>),
        (status = 409, description = "Not an online order, or already paid", body = ErrorBody),
        (status = 503, description = "Online payments are not configured", body = ErrorBody),
    ))]
async fn start_online_payment(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<PaymentSession>> {
    let order = find(&state, id).await?;
    access(&state, &me, &order).await?;
    if order.payment_method.as_deref() != Some(PaymentMethod::Online.as_str()) {
        return Err(ApiError::conflict(
            "not_an_online_order",
            "this order is paid in cash at the venue",
        ));
    }
    if order.payment_status == PaymentStatus::Paid.as_str() {
        return Err(ApiError::conflict(
            "already_paid",
            "this order is already paid",
        ));
    }
    if order.status == OrderStatus::Cancelled.as_str() {
        return Err(ApiError::conflict(
            "order_cancelled",
            "this order was cancelled",
        ));
    }
    let provider = provider(&state)?;
    let view = views_of(&state.db, vec![order.clone()]).await?.remove(0);
    let session = provider.start(order.id, view.total_amount, &view.currency);
    orders::Entity::update_many()
        .col_expr(
            orders::Column::PaymentReference,
            Expr::value(session.reference.clone()),
        )
        .filter(orders::Column::Id.eq(order.id))
        .exec(&state.db)
        .await?;
    Ok(ok(session))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookResult {
    pub order_id: Uuid,
    #[schema(value_type = String)]
    pub payment_status: String,
}

/// The payment provider reports an outcome. The body must carry a valid `Brigade-Signature`; the amount
/// and currency must match the order.
#[utoipa::path(post, path = "/api/payments/webhook", tag = "orders", security(()),
    params(("Brigade-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">")),
    request_body(content = PaymentEvent, example = json!({"reference": "pay_0192f0c4", "status": "succeeded", "amount": "29.00", "currency": "GBP"})),
    responses(
        (status = 200, description = "Applied", body = Envelope<WebhookResult>),
        (status = 401, description = "Bad signature", body = ErrorBody),
        (status = 404, description = "Unknown payment reference", body = ErrorBody),
        (status = 422, description = "Amount or currency does not match the order", body = ErrorBody),
    ))]
async fn payment_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Reply<WebhookResult>> {
    let provider = provider(&state)?;
    let event = provider.verify_webhook(&headers, &body, state.now())?;
    let order = orders::Entity::find()
        .filter(orders::Column::PaymentReference.eq(event.reference.clone()))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("payment reference"))?;
    let view = views_of(&state.db, vec![order.clone()]).await?.remove(0);
    if event.amount != view.total_amount || !event.currency.eq_ignore_ascii_case(&view.currency) {
        return Err(ApiError::field(
            "amount",
            format!(
                "the order is {} {}, the payment was {} {}",
                view.total_amount, view.currency, event.amount, event.currency
            ),
        ));
    }
    let status = match event.status.as_str() {
        "succeeded" => PaymentStatus::Paid,
        "failed" => PaymentStatus::Failed,
        other => {
            return Err(ApiError::field(
                "status",
                format!("{other:?} is not succeeded or failed"),
            ));
        }
    };
    // A late "failed" never overrides a payment already received.
    let view = if order.payment_status == PaymentStatus::Paid.as_str() {
        view
    } else {
        set_payment(&state, &order, status, Some(&event.reference)).await?
    };
    Ok(ok(WebhookResult {
        order_id: view.id,
        payment_status: view.payment_status,
    }))
}
