//! `/api/notifications`: a user's in-app notifications, and their live Server-Sent-Event stream.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::inbox::{Kind, NotificationView, user_channel};
use crate::accounts::{AuthUser, Principal};
use crate::entities::notifications;
use crate::http::envelope::{Envelope, Page, PageParams, Reply, ok, paginate};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notifications))
        .routes(routes!(notification_stream))
        .routes(routes!(mark_all_read))
        .routes(routes!(mark_read))
        .routes(routes!(delete_notification))
}

/// Whether a notification has been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ReadState {
    Unread,
    Read,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationFilter {
    pub status: Option<ReadState>,
    /// `ORDER_STATUS`, `RESERVATION` or `SYSTEM`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<Kind>,
    pub page: Option<crate::http::envelope::PageNumber>,
    pub per_page: Option<crate::http::envelope::PerPage>,
}

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "/api/notifications", tag = "notifications", security(("bearer" = []), ("api_key" = ["notifications:read"])),
    params(NotificationFilter),
    responses(
        (status = 200, description = "A page of notifications", body = Envelope<Page<NotificationView>>),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
async fn list_notifications(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(filter): ApiQuery<NotificationFilter>,
) -> ApiResult<Reply<Page<NotificationView>>> {
    let mut select = notifications::Entity::find()
        .filter(notifications::Column::UserId.eq(me.user_id))
        .order_by_desc(notifications::Column::CreatedAt)
        .order_by_desc(notifications::Column::Id);
    if let Some(status) = filter.status {
        let status = match status {
            ReadState::Read => "READ",
            ReadState::Unread => "UNREAD",
        };
        select = select.filter(notifications::Column::Status.eq(status));
    }
    if let Some(kind) = filter.kind {
        select = select.filter(notifications::Column::Kind.eq(kind.as_str()));
    }
    let params = PageParams {
        page: filter.page,
        per_page: filter.per_page,
    };
    let (rows, index, per_page, total) = paginate(select, &state.db, &params).await?;
    Ok(ok(Page::new(
        rows.into_iter().map(NotificationView::from).collect(),
        index,
        per_page,
        total,
    )))
}

async fn own(state: &AppState, me: &Principal, id: Uuid) -> ApiResult<notifications::Model> {
    notifications::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|n| n.user_id == me.user_id)
        .ok_or_else(|| ApiError::not_found("notification"))
}

/// Mark one notification read.
#[utoipa::path(put, path = "/api/notifications/{id}/read", tag = "notifications", security(("bearer" = []), ("api_key" = ["notifications:write"])),
    params(("id" = Uuid, Path, description = "Notification id")),
    responses(
        (status = 200, description = "Marked read", body = Envelope<NotificationView>),
        (status = 404, description = "Not one of yours", body = ErrorBody),
    ))]
async fn mark_read(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<NotificationView>> {
    let existing = own(&state, &me, id).await?;
    if existing.status != "READ" {
        notifications::Entity::update_many()
            .col_expr(notifications::Column::Status, Expr::value("READ"))
            .col_expr(notifications::Column::ReadAt, Expr::value(state.now()))
            .filter(notifications::Column::Id.eq(id))
            .exec(&state.db)
            .await?;
    }
    Ok(ok(own(&state, &me, id).await?.into()))
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MarkedRead {
    pub updated: u64,
}

/// Mark all of the caller's notifications read.
#[utoipa::path(put, path = "/api/notifications/read-all", tag = "notifications", security(("bearer" = []), ("api_key" = ["notifications:write"])),
    responses((status = 200, description = "How many were marked", body = Envelope<MarkedRead>)))]
async fn mark_all_read(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
) -> ApiResult<Reply<MarkedRead>> {
    let result = notifications::Entity::update_many()
        .col_expr(notifications::Column::Status, Expr::value("READ"))
        .col_expr(notifications::Column::ReadAt, Expr::value(state.now()))
        .filter(notifications::Column::UserId.eq(me.user_id))
        .filter(notifications::Column::Status.eq("UNREAD"))
        .exec(&state.db)
        .await?;
    Ok(ok(MarkedRead {
        updated: result.rows_affected,
    }))
}

/// Delete one notification.
#[utoipa::path(delete, path = "/api/notifications/{id}", tag = "notifications", security(("bearer" = []), ("api_key" = ["notifications:write"])),
    params(("id" = Uuid, Path, description = "Notification id")),
    responses(
        (status = 200, description = "Deleted", body = Envelope<Option<String>>),
        (status = 404, description = "Not one of yours", body = ErrorBody),
    ))]
async fn delete_notification(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<Option<String>>> {
    own(&state, &me, id).await?;
    notifications::Entity::delete_by_id(id)
        .exec(&state.db)
        .await?;
    Ok(ok(None).message("notification deleted"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamAuth {
    /// For clients that cannot send headers (EventSource): the access token. The access layer
    /// (`http::access`) reads it on operations that declare this parameter.
    #[allow(dead_code)]
    pub access_token: Option<String>,
}

/// One Server-Sent Event of a live stream, as the document describes the stream (a client reads
/// `event` and `data` lines).
#[derive(Debug, utoipa::ToSchema)]
pub struct StreamEvent {
    /// `ready` once when the stream opens, then one event per change (`order`, `notification` or `kitchen`), and
    /// `connection` when live updates from other processes pause or resume.
    #[schema(pattern = "^(ready|order|notification|kitchen|connection)$")]
    pub event: String,
    /// JSON text: `{}` for `ready`, the change for `order` and `notification`, `{"live": true|false}` for
    /// `connection`.
    pub data: String,
}

/// Server-Sent Events from a pub/sub channel: each message becomes one event of type `kind`. When the
/// shared bus is lost (Redis down) or back, an `event: connection` says so (`{"live": false}`: changes
/// made through other processes are not heard; `{"live": true}`: they are again, and the client should
/// read the state once, since it may have missed some).
pub fn sse_from(
    state: &AppState,
    channel: &str,
    kind: &'static str,
) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<>> {
    let messages = state.pubsub.subscribe(channel);
    let mut stopping = state.stopping.subscribe();
    let live = state.pubsub.live();
    let now_live = *live.borrow();
    let hello = futures::stream::iter(
        [Ok(Event::default().event("ready").data("{}"))]
            .into_iter()
            .chain((!now_live).then(|| Ok(connection_event(false)))),
    );
    let changes = futures::stream::unfold(live, |mut live| async move {
        live.changed().await.ok()?;
        let now = *live.borrow_and_update();
        Some((Ok(connection_event(now)), live))
    });
    let events = futures::stream::select(
        messages.map(move |payload| Ok(Event::default().event(kind).data(payload))),
        changes,
    )
    .take_until(async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    });
    Sse::new(hello.chain(events)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

fn connection_event(live: bool) -> Event {
    Event::default()
        .event("connection")
        .data(serde_json::json!({ "live": live }).to_string())
}

/// Live notifications of the caller as Server-Sent Events (`event: notification`, data: the
/// notification as JSON), from every Brigade process.
#[utoipa::path(get, path = "/api/notifications/stream", tag = "notifications", security(("bearer" = []), ("api_key" = ["notifications:read"])),
    params(StreamAuth),
    responses(
        (status = 200, description = "An event stream", content_type = "text/event-stream", body = StreamEvent),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
async fn notification_stream(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(_query): ApiQuery<StreamAuth>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    Ok(sse_from(&state, &user_channel(me.user_id), "notification"))
}
