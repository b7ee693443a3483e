//! In-app notifications: stored per user, then pushed on the user's live channel (`user:{id}`), which
//! every `brigade serve` process delivers to its Server-Sent-Event streams (through Redis when several
//! processes share it).

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::entities::notifications;
use crate::http::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[schema(as = NotificationKind)]
pub enum Kind {
    OrderStatus,
    Reservation,
    System,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::OrderStatus => "ORDER_STATUS",
            Kind::Reservation => "RESERVATION",
            Kind::System => "SYSTEM",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NotificationView {
    pub id: Uuid,
    pub title: String,
    pub message: String,
    /// `ORDER_STATUS`, `RESERVATION` or `SYSTEM`.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "ORDER_STATUS")]
    pub kind: String,
    /// `UNREAD` or `READ`.
    #[schema(value_type = String, example = "UNREAD")]
    pub status: String,
    pub reference_id: Option<Uuid>,
    pub reference_type: Option<String>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl From<notifications::Model> for NotificationView {
    fn from(n: notifications::Model) -> Self {
        NotificationView {
            id: n.id,
            title: n.title,
            message: n.message,
            kind: n.kind,
            status: n.status,
            reference_id: n.reference_id,
            reference_type: n.reference_type,
            created_at: n.created_at,
            read_at: n.read_at,
        }
    }
}

pub fn user_channel(user_id: Uuid) -> String {
    format!("user:{user_id}")
}

/// A new notification row (to insert within the caller's own transaction, then [`push`]).
pub fn row(
    user_id: Uuid,
    kind: Kind,
    title: &str,
    message: &str,
    reference: Option<(Uuid, &str)>,
    now: chrono::DateTime<Utc>,
) -> notifications::ActiveModel {
    notifications::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        title: Set(title.to_string()),
        message: Set(message.to_string()),
        kind: Set(kind.as_str().to_string()),
        status: Set("UNREAD".to_string()),
        reference_id: Set(reference.map(|r| r.0)),
        reference_type: Set(reference.map(|r| r.1.to_string())),
        created_at: Set(now),
        read_at: Set(None),
    }
}

/// Push a stored notification to its user's live streams.
pub async fn push(state: &AppState, model: notifications::Model) -> NotificationView {
    let user_id = model.user_id;
    let view = NotificationView::from(model);
    let payload = serde_json::to_string(&view).unwrap_or_default();
    if let Err(err) = state.pubsub.publish(&user_channel(user_id), &payload).await {
        tracing::warn!(%err, "could not push a notification live");
    }
    metrics::counter!("brigade_notifications_total", "type" => view.kind.clone()).increment(1);
    view
}

/// Store a notification for `user_id` and push it live.
pub async fn notify(
    state: &AppState,
    user_id: Uuid,
    kind: Kind,
    title: &str,
    message: &str,
    reference: Option<(Uuid, &str)>,
) -> Result<NotificationView, ApiError> {
    let model = row(user_id, kind, title, message, reference, state.now())
        .insert(&state.db)
        .await?;
    Ok(push(state, model).await)
}
