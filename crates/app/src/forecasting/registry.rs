//! The model registry: every training run stores a version per kind, restaurant and series, with its
//! training window, data fingerprint, features, parameters, backtest metrics, score and fitted artifact.
//! A new version becomes `latest` only when its score beats the current one (lower is better);
//! otherwise it stays a `candidate`. Promotion makes the old latest `previous` (the fallback below it);
//! a rollback puts `previous` back and marks the rolled-back version.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::entities::forecast_models;
use crate::http::error::ApiError;
use crate::state::AppState;

pub const LATEST: &str = "latest";
pub const PREVIOUS: &str = "previous";
pub const CANDIDATE: &str = "candidate";
pub const RETIRED: &str = "retired";
pub const ROLLED_BACK: &str = "rolled_back";

/// Which versions answer for a (kind, restaurant, series), cached for an hour and forgotten on every
/// process when one is promoted or rolled back.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Pointer {
    pub latest: Option<Uuid>,
    pub previous: Option<Uuid>,
    /// New each time the pointer is read from the database: answers cached under an older epoch are
    /// never read again (a promotion, a rollback or a closure change forgets the pointer).
    pub epoch: Uuid,
}

const POINTER_TTL: StdDuration = StdDuration::from_secs(3600);

fn pointer_key(kind: &str, restaurant: Option<Uuid>, series: &str) -> String {
    let scope = restaurant
        .map(|r| r.to_string())
        .unwrap_or_else(|| "all".into());
    format!("forecast:v1:pointer:{kind}:{scope}:{series}")
}

/// Narrows a query of versions to one (kind, restaurant, series).
fn in_series<Q: QueryFilter>(q: Q, kind: &str, restaurant: Option<Uuid>, series: &str) -> Q {
    let q = q
        .filter(forecast_models::Column::Kind.eq(kind))
        .filter(forecast_models::Column::Series.eq(series));
    match restaurant {
        Some(id) => q.filter(forecast_models::Column::RestaurantId.eq(id)),
        None => q.filter(forecast_models::Column::RestaurantId.is_null()),
    }
}

fn same_series(model: &forecast_models::Model) -> sea_orm::Select<forecast_models::Entity> {
    in_series(
        forecast_models::Entity::find(),
        &model.kind,
        model.restaurant_id,
        &model.series,
    )
}

/// Sets a version's status (and, when it becomes latest, when).
async fn set_status<C: sea_orm::ConnectionTrait>(
    db: &C,
    id: Uuid,
    status: &'static str,
    promoted_at: Option<DateTime<Utc>>,
) -> Result<(), ApiError> {
    let mut q = forecast_models::Entity::update_many()
        .col_expr(forecast_models::Column::Status, Expr::value(status))
        .filter(forecast_models::Column::Id.eq(id));
    if let Some(at) = promoted_at {
        q = q.col_expr(forecast_models::Column::PromotedAt, Expr::value(at));
    }
    q.exec(db).await?;
    Ok(())
}

/// Versions without their fitted artifact (which may be hundreds of kilobytes): for listings.
pub fn without_artifact(
    select: sea_orm::Select<forecast_models::Entity>,
) -> sea_orm::Select<forecast_models::Entity> {
    use sea_orm::Iterable;
    select
        .select_only()
        .columns(
            forecast_models::Column::iter()
                .filter(|c| !matches!(c, forecast_models::Column::Artifact)),
        )
        .column_as(Expr::value(Option::<String>::None), "artifact")
}

/// A version as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelView {
    pub id: Uuid,
    /// demand or customer.
    pub kind: String,
    pub restaurant_id: Option<Uuid>,
    /// daily or hourly (demand), rfm (customers).
    pub series: String,
    pub version: i32,
    /// latest, previous, candidate, retired or rolled_back.
    pub status: String,
    /// The method the backtest chose.
    pub method: String,
    pub training_from: Option<DateTime<Utc>>,
    pub training_to: DateTime<Utc>,
    pub data_fingerprint: String,
    #[schema(value_type = Object)]
    pub features: serde_json::Value,
    #[schema(value_type = Object)]
    pub parameters: serde_json::Value,
    /// The backtest: each candidate's MASE, sMAPE, interval coverage and fit time, and the choice.
    #[schema(value_type = Object)]
    pub metrics: serde_json::Value,
    /// What versions are compared by, lower is better (mean backtest MASE for demand).
    pub score: Option<f64>,
    pub training_ms: i32,
    pub trained_at: DateTime<Utc>,
    pub promoted_at: Option<DateTime<Utc>>,
}

impl From<forecast_models::Model> for ModelView {
    fn from(m: forecast_models::Model) -> Self {
        let json = |s: &str| serde_json::from_str(s).unwrap_or(serde_json::Value::Null);
        ModelView {
            id: m.id,
            kind: m.kind,
            restaurant_id: m.restaurant_id,
            series: m.series,
            version: m.version,
            status: m.status,
            method: m.method,
            training_from: m.training_from,
            training_to: m.training_to,
            data_fingerprint: m.data_fingerprint,
            features: json(&m.features),
            parameters: json(&m.parameters),
            metrics: json(&m.metrics),
            score: m.score,
            training_ms: m.training_ms,
            trained_at: m.trained_at,
            promoted_at: m.promoted_at,
        }
    }
}

/// A trained version to store.
pub struct NewVersion {
    pub kind: &'static str,
    pub restaurant_id: Option<Uuid>,
    pub series: String,
    pub method: String,
    pub training_from: Option<DateTime<Utc>>,
    pub training_to: DateTime<Utc>,
    pub data_fingerprint: String,
    pub features: serde_json::Value,
    pub parameters: serde_json::Value,
    pub metrics: serde_json::Value,
    pub score: Option<f64>,
    pub artifact: String,
    pub training_ms: i32,
}

/// What storing a version did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Stored {
    pub model: ModelView,
    /// It became `latest`.
    pub promoted: bool,
    /// Why it was or was not promoted.
    pub reason: String,
}

/// Stores a version, promoting it when it beats the current latest (or there is none).
pub async fn store(state: &AppState, new: NewVersion) -> Result<Stored, ApiError> {
    let txn = crate::database::begin_write(&state.db).await?;
    let scope = |q| in_series(q, new.kind, new.restaurant_id, &new.series);
    let last_version: Option<i32> = scope(forecast_models::Entity::find())
        .select_only()
        .column_as(forecast_models::Column::Version.max(), "v")
        .into_tuple::<Option<i32>>()
        .one(&txn)
        .await?
        .flatten();
    let current = scope(forecast_models::Entity::find())
        .filter(forecast_models::Column::Status.eq(LATEST))
        .one(&txn)
        .await?;
    let (promote, reason) = match (&current, new.score) {
        (None, _) => (true, "the first version".to_string()),
        (Some(c), Some(score)) => match c.score {
            Some(old) if score < old => (
                true,
                format!(
                    "its backtest score {score:.4} beats version {}'s {old:.4}",
                    c.version
                ),
            ),
            Some(old) => (
                false,
                format!(
                    "its backtest score {score:.4} does not beat version {}'s {old:.4}: kept as a candidate",
                    c.version
                ),
            ),
            None => (true, format!("version {} has no score", c.version)),
        },
        (Some(c), None) => (
            false,
            format!("no backtest score to compare with version {}", c.version),
        ),
    };
    let now = state.now();
    let id = Uuid::now_v7();
    let model = forecast_models::ActiveModel {
        id: Set(id),
        kind: Set(new.kind.to_string()),
        restaurant_id: Set(new.restaurant_id),
        series: Set(new.series.clone()),
        version: Set(last_version.unwrap_or(0) + 1),
        status: Set(if promote { LATEST } else { CANDIDATE }.to_string()),
        method: Set(new.method),
        training_from: Set(new.training_from),
        training_to: Set(new.training_to),
        data_fingerprint: Set(new.data_fingerprint),
        features: Set(new.features.to_string()),
        parameters: Set(new.parameters.to_string()),
        metrics: Set(new.metrics.to_string()),
        score: Set(new.score),
        artifact: Set(Some(new.artifact)),
        artifact_key: Set(None),
        training_ms: Set(new.training_ms),
        trained_at: Set(now),
        promoted_at: Set(promote.then_some(now)),
    };
    if promote && let Some(current) = &current {
        demote(&txn, current).await?;
    }
    let model = model.insert(&txn).await?;
    txn.commit().await?;
    if promote {
        forget(state, new.kind, new.restaurant_id, &new.series).await;
    }
    Ok(Stored {
        model: model.into(),
        promoted: promote,
        reason,
    })
}

/// The current latest becomes `previous`; the `previous` before it is retired.
async fn demote<C: sea_orm::ConnectionTrait>(
    db: &C,
    current: &forecast_models::Model,
) -> Result<(), ApiError> {
    in_series(
        forecast_models::Entity::update_many(),
        &current.kind,
        current.restaurant_id,
        &current.series,
    )
    .col_expr(forecast_models::Column::Status, Expr::value(RETIRED))
    .filter(forecast_models::Column::Status.eq(PREVIOUS))
    .exec(db)
    .await?;
    set_status(db, current.id, PREVIOUS, None).await
}

pub async fn forget(state: &AppState, kind: &str, restaurant: Option<Uuid>, series: &str) {
    brigade_platform::cache::invalidate(
        state.cache.as_ref(),
        &pointer_key(kind, restaurant, series),
    )
    .await;
}

pub async fn find(state: &AppState, id: Uuid) -> Result<forecast_models::Model, ApiError> {
    forecast_models::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("model"))
}

/// A stored version's fitted model and its number, or why it cannot answer (gone, no artifact, an
/// artifact that does not read as `T`).
pub async fn load<T: serde::de::DeserializeOwned>(
    state: &AppState,
    id: Uuid,
) -> Result<(T, i32), String> {
    let row = find(state, id).await.map_err(|e| e.message)?;
    let artifact = row
        .artifact
        .as_deref()
        .ok_or("the version has no artifact")?;
    let model = serde_json::from_str(artifact).map_err(|e| format!("unreadable artifact: {e}"))?;
    Ok((model, row.version))
}

/// Makes a version `latest` whatever its score (an operator's decision).
pub async fn promote(state: &AppState, id: Uuid) -> Result<ModelView, ApiError> {
    let txn = crate::database::begin_write(&state.db).await?;
    let model = forecast_models::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("model"))?;
    if model.status == LATEST {
        return Err(ApiError::conflict(
            "already_latest",
            "this version is already the latest",
        ));
    }
    let now = state.now();
    let current = same_series(&model)
        .filter(forecast_models::Column::Status.eq(LATEST))
        .one(&txn)
        .await?;
    if let Some(current) = &current {
        demote(&txn, current).await?;
    }
    set_status(&txn, id, LATEST, Some(now)).await?;
    txn.commit().await?;
    forget(state, &model.kind, model.restaurant_id, &model.series).await;
    Ok(find(state, id).await?.into())
}

/// Takes back the latest version `id`: `previous` becomes latest again, and the version retired most
/// recently becomes `previous`.
pub async fn rollback(state: &AppState, id: Uuid) -> Result<ModelView, ApiError> {
    let txn = crate::database::begin_write(&state.db).await?;
    let model = forecast_models::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("model"))?;
    if model.status != LATEST {
        return Err(ApiError::conflict(
            "not_latest",
            format!(
                "only the latest version can be rolled back; this one is {}",
                model.status
            ),
        ));
    }
    let previous = same_series(&model)
        .filter(forecast_models::Column::Status.eq(PREVIOUS))
        .one(&txn)
        .await?
        .ok_or_else(|| {
            ApiError::conflict(
                "nothing_to_roll_back_to",
                "there is no previous version to go back to",
            )
        })?;
    set_status(&txn, model.id, ROLLED_BACK, None).await?;
    set_status(&txn, previous.id, LATEST, Some(state.now())).await?;
    if let Some(retired) = same_series(&model)
        .filter(forecast_models::Column::Status.eq(RETIRED))
        .filter(forecast_models::Column::PromotedAt.is_not_null())
        .order_by_desc(forecast_models::Column::PromotedAt)
        .one(&txn)
        .await?
    {
        set_status(&txn, retired.id, PREVIOUS, None).await?;
    }
    txn.commit().await?;
    forget(state, &model.kind, model.restaurant_id, &model.series).await;
    Ok(find(state, previous.id).await?.into())
}

/// The versions answering for a series now (cached).
pub async fn pointer(
    state: &AppState,
    kind: &str,
    restaurant: Option<Uuid>,
    series: &str,
) -> Result<Pointer, ApiError> {
    let key = pointer_key(kind, restaurant, series);
    if let Some(p) = brigade_platform::cache::get_json::<Pointer>(state.cache.as_ref(), &key).await
    {
        return Ok(p);
    }
    let rows: Vec<(Uuid, String)> =
        in_series(forecast_models::Entity::find(), kind, restaurant, series)
            .select_only()
            .columns([forecast_models::Column::Id, forecast_models::Column::Status])
            .filter(forecast_models::Column::Status.is_in([LATEST, PREVIOUS]))
            .into_tuple()
            .all(&state.db)
            .await?;
    let mut p = Pointer {
        epoch: Uuid::new_v4(),
        ..Pointer::default()
    };
    for (id, status) in rows {
        if status == LATEST {
            p.latest = Some(id);
        } else {
            p.previous = Some(id);
        }
    }
    brigade_platform::cache::set_json(state.cache.as_ref(), &key, &p, POINTER_TTL).await;
    Ok(p)
}
