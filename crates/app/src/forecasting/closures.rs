//! A restaurant's closure calendar: local days it is closed (public holidays it observes, one-off
//! closures). Forecasts are zero on them; changing the calendar forgets the cached forecasts.

use chrono::NaiveDate;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::entities::restaurant_closures;
use crate::http::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClosureKind {
    /// A public holiday the restaurant keeps closed.
    Holiday,
    /// Any other day it is closed (refurbishment, a private event, a staff day).
    Closure,
}

impl ClosureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClosureKind::Holiday => "holiday",
            ClosureKind::Closure => "closure",
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClosureView {
    pub id: Uuid,
    pub restaurant_id: Uuid,
    /// The restaurant's local day.
    pub day: NaiveDate,
    pub kind: String,
    pub note: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<restaurant_closures::Model> for ClosureView {
    fn from(m: restaurant_closures::Model) -> Self {
        ClosureView {
            id: m.id,
            restaurant_id: m.restaurant_id,
            day: m.day,
            kind: m.kind,
            note: m.note,
            created_at: m.created_at,
        }
    }
}

pub async fn list(
    state: &AppState,
    restaurant_id: Uuid,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Vec<ClosureView>, ApiError> {
    let mut q = restaurant_closures::Entity::find()
        .filter(restaurant_closures::Column::RestaurantId.eq(restaurant_id));
    if let Some(from) = from {
        q = q.filter(restaurant_closures::Column::Day.gte(from));
    }
    if let Some(to) = to {
        q = q.filter(restaurant_closures::Column::Day.lte(to));
    }
    Ok(q.order_by_asc(restaurant_closures::Column::Day)
        .all(&state.db)
        .await?
        .into_iter()
        .map(ClosureView::from)
        .collect())
}

async fn forget_forecasts(state: &AppState, restaurant_id: Uuid) {
    for series in ["daily", "hourly"] {
        super::registry::forget(state, super::DEMAND, Some(restaurant_id), series).await;
    }
}

/// Adds a closed day; a day already in the calendar is a conflict.
pub async fn add(
    state: &AppState,
    restaurant_id: Uuid,
    day: NaiveDate,
    kind: ClosureKind,
    note: Option<String>,
) -> Result<ClosureView, ApiError> {
    let exists = restaurant_closures::Entity::find()
        .filter(restaurant_closures::Column::RestaurantId.eq(restaurant_id))
        .filter(restaurant_closures::Column::Day.eq(day))
        .one(&state.db)
        .await?;
    if exists.is_some() {
        return Err(ApiError::conflict(
            "already_closed",
            format!("{day} is already in the closure calendar"),
        ));
    }
    let model = restaurant_closures::ActiveModel {
        id: Set(Uuid::now_v7()),
        restaurant_id: Set(restaurant_id),
        day: Set(day),
        kind: Set(kind.as_str().into()),
        note: Set(note),
        created_at: Set(state.now()),
    }
    .insert(&state.db)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => ApiError::conflict(
            "already_closed",
            format!("{day} is already in the closure calendar"),
        ),
        _ => ApiError::from(e),
    })?;
    forget_forecasts(state, restaurant_id).await;
    Ok(model.into())
}

pub async fn remove(state: &AppState, restaurant_id: Uuid, id: Uuid) -> Result<(), ApiError> {
    let done = restaurant_closures::Entity::delete_many()
        .filter(restaurant_closures::Column::Id.eq(id))
        .filter(restaurant_closures::Column::RestaurantId.eq(restaurant_id))
        .exec(&state.db)
        .await?;
    if done.rows_affected == 0 {
        return Err(ApiError::not_found("closure"));
    }
    forget_forecasts(state, restaurant_id).await;
    Ok(())
}
