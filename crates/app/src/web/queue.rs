//! The order queue: today's orders of a venue (its local day), newest first, with the moves the venue
//! may make on each (accept, advance, cancel with a reason, mark cash paid). `queue.js` draws it from
//! the JSON here, rings and badges on new orders, and redraws on every change the venue's order stream
//! announces, from any process. Session cookies and the page's CSRF token, like the kitchen display.

use std::convert::Infallible;

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use futures::Stream;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::Layout;
use super::kitchen::{
    csrf_ok, first_venue, json_error, staff_of, team_venue, venues_of, web_actor,
};
use super::pages::render;
use crate::accounts::sessions::{self, WebUser};
use crate::entities::orders;
use crate::http::error::ApiError;
use crate::orders::{ActorKind, OrderStatus, OrderView, PaymentStatus, venue_channel, views_of};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePage {
    layout: Layout,
    venue_id: Uuid,
    venue_name: String,
    venues: Vec<(Uuid, String, bool)>,
}

/// `/orders`: the queue of the caller's first venue.
pub async fn start(State(state): State<AppState>, user: WebUser) -> Response {
    first_venue(&state, &user, "orders").await
}

pub async fn page(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Path(id): Path<Uuid>,
) -> Response {
    let venue = match team_venue(&state, &user, id, "its orders").await {
        Ok(venue) => venue,
        Err(refused) => return refused,
    };
    let (jar, csrf) = sessions::csrf_token(&state, jar);
    let page = QueuePage {
        layout: Layout::for_user(
            &format!("Orders · {}", venue.name),
            "/orders",
            &user,
            !user.principal.is_admin(),
            csrf,
        ),
        venue_id: id,
        venue_name: venue.name.clone(),
        venues: venues_of(&state, &user, id).await,
    };
    (jar, render(&page)).into_response()
}

#[derive(Debug, Deserialize)]
pub struct QueueFilter {
    pub status: Option<String>,
    #[serde(rename = "type")]
    pub order_type: Option<String>,
    pub table: Option<String>,
}

/// One order as the queue shows it: the order and the moves the venue may make now.
#[derive(Debug, Serialize)]
struct QueueRow {
    #[serde(flatten)]
    order: OrderView,
    short_id: String,
    /// Who ordered (a guest's name, phone and e-mail, or the account's), for calling them out.
    customer: Option<Customer>,
    next: Vec<&'static str>,
    can_cancel: bool,
    can_mark_paid: bool,
}

#[derive(Debug, Serialize)]
struct Customer {
    name: String,
    phone: Option<String>,
    email: Option<String>,
    guest: bool,
}

/// Today's orders (the venue's local day), newest first, filtered by status, type and table.
pub async fn list(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<Uuid>,
    Query(filter): Query<QueueFilter>,
) -> Response {
    if let Err(refused) = staff_of(&state, &user, id).await {
        return refused;
    }
    let venue = match crate::restaurants::find(&state, id).await {
        Ok(venue) => venue,
        Err(err) => return json_error(err),
    };
    let tz: chrono_tz::Tz = venue.timezone.parse().unwrap_or(chrono_tz::UTC);
    let now = state.now();
    let (from, to) =
        crate::crm::planning::day_bounds(tz, crate::crm::planning::local_date(tz, now));
    let mut select = orders::Entity::find()
        .filter(orders::Column::RestaurantId.eq(id))
        .filter(orders::Column::CreatedAt.gte(from))
        .filter(orders::Column::CreatedAt.lt(to))
        .order_by_desc(orders::Column::CreatedAt)
        .order_by_desc(orders::Column::Id);
    match filter.status.as_deref().filter(|s| !s.is_empty()) {
        None => {}
        Some("open") => {
            select = select.filter(orders::Column::Status.is_in([
                OrderStatus::Pending.as_str(),
                OrderStatus::Confirmed.as_str(),
                OrderStatus::Preparing.as_str(),
                OrderStatus::Ready.as_str(),
            ]))
        }
        Some(raw) => match raw.parse::<OrderStatus>() {
            Ok(status) => select = select.filter(orders::Column::Status.eq(status.as_str())),
            Err(_) => {
                return json_error(ApiError::field(
                    "status",
                    "must be open, PENDING, CONFIRMED, PREPARING, READY, COMPLETED or CANCELLED",
                ));
            }
        },
    }
    match filter.order_type.as_deref().filter(|s| !s.is_empty()) {
        None => {}
        Some(t @ ("DINE_IN" | "TAKEOUT" | "DELIVERY")) => {
            select = select.filter(orders::Column::OrderType.eq(t))
        }
        Some(_) => {
            return json_error(ApiError::field(
                "type",
                "must be DINE_IN, TAKEOUT or DELIVERY",
            ));
        }
    }
    if let Some(table) = filter
        .table
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        select = select.filter(orders::Column::TableLabel.eq(table));
    }
    let rows = match select.all(&state.db).await {
        Ok(rows) => rows,
        Err(err) => return json_error(err.into()),
    };
    let views = match views_of(&state.db, rows).await {
        Ok(views) => views,
        Err(err) => return json_error(err),
    };
    let customer_ids: Vec<Uuid> = views.iter().filter_map(|v| v.customer_id).collect();
    let mut customers: std::collections::HashMap<Uuid, Customer> = if customer_ids.is_empty() {
        Default::default()
    } else {
        match crate::entities::users::Entity::find()
            .filter(crate::entities::users::Column::Id.is_in(customer_ids))
            .all(&state.db)
            .await
        {
            Ok(users) => users
                .into_iter()
                .map(|u| {
                    let (name, phone, email) = crate::accounts::contact_of(&u);
                    (
                        u.id,
                        Customer {
                            name,
                            phone,
                            email,
                            guest: u.is_guest,
                        },
                    )
                })
                .collect(),
            Err(err) => return json_error(err.into()),
        }
    };
    let kind = if user.principal.is_admin() {
        ActorKind::Admin
    } else {
        ActorKind::Venue
    };
    let rows: Vec<QueueRow> = views
        .into_iter()
        .map(|order| {
            let status: Option<OrderStatus> = order.status.parse().ok();
            let allowed = status.map(|s| s.allowed_for(kind)).unwrap_or_default();
            QueueRow {
                short_id: crate::orders::short_id(order.id),
                customer: order.customer_id.and_then(|id| customers.remove(&id)),
                next: allowed
                    .iter()
                    .filter(|s| **s != OrderStatus::Cancelled)
                    .filter(|s| {
                        status.is_none_or(|from| {
                            !(from == OrderStatus::Ready && **s == OrderStatus::Preparing)
                        })
                    })
                    .map(|s| s.as_str())
                    .collect(),
                can_cancel: allowed.contains(&OrderStatus::Cancelled),
                can_mark_paid: order.payment_method.as_deref() == Some("CASH")
                    && order.payment_status != PaymentStatus::Paid.as_str()
                    && order.status != OrderStatus::Cancelled.as_str(),
                order,
            }
        })
        .collect();
    let pending = rows
        .iter()
        .filter(|r| r.order.status == OrderStatus::Pending.as_str())
        .count();
    Json(json!({"success": true, "now": now, "pending": pending, "orders": rows})).into_response()
}

#[derive(Debug, Deserialize)]
pub struct MoveBody {
    pub status: String,
    pub note: Option<String>,
}

/// Move an order (accept, advance, cancel: a cancel needs a reason).
pub async fn move_order(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    user: WebUser,
    Path((id, order_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<MoveBody>,
) -> Response {
    if !csrf_ok(&jar, &headers) {
        return json_error(ApiError::forbidden(
            "the page is out of date; reload it and try again",
        ));
    }
    if let Err(refused) = staff_of(&state, &user, id).await {
        return refused;
    }
    match crate::orders::find(&state, order_id).await {
        Ok(order) if order.restaurant_id == id => {}
        Ok(_) => return json_error(ApiError::not_found("order")),
        Err(err) => return json_error(err),
    }
    let Ok(to) = body.status.parse::<OrderStatus>() else {
        return json_error(ApiError::field("status", "is not an order status"));
    };
    let note = body
        .note
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    if to == OrderStatus::Cancelled && note.is_none() {
        return json_error(ApiError::field("note", "say why the order is cancelled"));
    }
    match crate::orders::transition(&state, order_id, to, web_actor(&user), note).await {
        Ok(view) => Json(json!({"success": true, "order": view})).into_response(),
        Err(err) => json_error(err),
    }
}

/// Record that a cash order was paid.
pub async fn mark_paid(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    user: WebUser,
    Path((id, order_id)): Path<(Uuid, Uuid)>,
) -> Response {
    if !csrf_ok(&jar, &headers) {
        return json_error(ApiError::forbidden(
            "the page is out of date; reload it and try again",
        ));
    }
    if let Err(refused) = staff_of(&state, &user, id).await {
        return refused;
    }
    let order = match crate::orders::find(&state, order_id).await {
        Ok(order) if order.restaurant_id == id => order,
        Ok(_) => return json_error(ApiError::not_found("order")),
        Err(err) => return json_error(err),
    };
    match crate::orders::routes::record_cash(&state, &order, PaymentStatus::Paid).await {
        Ok(view) => Json(json!({"success": true, "order": view})).into_response(),
        Err(err) => json_error(err),
    }
}

/// The venue's order changes as Server-Sent Events (`event: order`).
pub async fn events(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<Uuid>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Response> {
    staff_of(&state, &user, id).await?;
    Ok(crate::notifications::routes::sse_from(
        &state,
        &venue_channel(id),
        "order",
    ))
}
