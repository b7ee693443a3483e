//! Training as jobs: `forecast.train-all` (cron: demand daily, customers weekly) puts one
//! `forecast.train` job per restaurant with orders on the queue, so every worker process takes a share
//! (more workers, more training capacity); `forecast.train` trains one restaurant's daily and hourly
//! demand models, or its customer model.

use async_trait::async_trait;
use brigade_forecast::Granularity;
use brigade_forecast::backtest::DEFAULT_WINDOWS;
use brigade_platform::jobs::{JobFailure, JobHandler, NewJob};
use serde_json::json;
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::state::AppState;

pub const TRAIN_JOB: &str = "forecast.train";
pub const TRAIN_ALL_JOB: &str = "forecast.train-all";

/// What training one restaurant did, per series.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TrainedSeries {
    pub series: String,
    /// trained (promoted or kept as a candidate), or skipped with the reason.
    pub outcome: String,
    pub model_id: Option<Uuid>,
    pub version: Option<i32>,
    pub method: Option<String>,
    pub score: Option<f64>,
    pub promoted: bool,
}

/// What a training run came to: a stored version, or (too little history, a fit that failed) the
/// reason there is none, which is an outcome, not an error.
fn outcome(
    series: String,
    result: Result<super::registry::Stored, ApiError>,
) -> Result<TrainedSeries, ApiError> {
    match result {
        Ok(stored) => Ok(TrainedSeries {
            series,
            outcome: stored.reason,
            model_id: Some(stored.model.id),
            version: Some(stored.model.version),
            method: Some(stored.model.method),
            score: stored.model.score,
            promoted: stored.promoted,
        }),
        Err(e) if e.code == "not_enough_history" || e.code == "training_failed" => {
            Ok(TrainedSeries {
                series,
                outcome: e.message,
                model_id: None,
                version: None,
                method: None,
                score: None,
                promoted: false,
            })
        }
        Err(e) => Err(e),
    }
}

/// Trains a restaurant's daily and hourly demand models.
pub async fn train_restaurant(
    state: &AppState,
    restaurant_id: Uuid,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Vec<TrainedSeries>, ApiError> {
    let mut out = Vec::new();
    for g in [Granularity::Daily, Granularity::Hourly] {
        let result = super::train_demand(state, restaurant_id, g, DEFAULT_WINDOWS, as_of).await;
        out.push(outcome(super::predict::series_key(g).to_string(), result)?);
    }
    Ok(out)
}

/// Trains a restaurant's customer model.
pub async fn train_customers(
    state: &AppState,
    restaurant_id: Uuid,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<TrainedSeries, ApiError> {
    let result = super::customers::train(state, restaurant_id, as_of).await;
    outcome(super::customers::SERIES.to_string(), result)
}

/// Trains one kind of model of a restaurant (`demand`, `customer` or `kitchen`).
pub async fn train_kind(
    state: &AppState,
    restaurant_id: Uuid,
    kind: &str,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Vec<TrainedSeries>, ApiError> {
    if kind == super::customers::CUSTOMER {
        Ok(vec![train_customers(state, restaurant_id, as_of).await?])
    } else if kind == crate::kitchen::prep::KITCHEN {
        let result = crate::kitchen::prep::train(state, restaurant_id, as_of).await;
        Ok(vec![outcome(
            crate::kitchen::prep::SERIES.to_string(),
            result,
        )?])
    } else {
        train_restaurant(state, restaurant_id, as_of).await
    }
}

/// The restaurants a kind of model is trained for: those with orders, or (kitchen) with finished
/// ticket lines.
pub async fn trainable(state: &AppState, kind: &str) -> Result<Vec<Uuid>, ApiError> {
    if kind == crate::kitchen::prep::KITCHEN {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
        let ids: Vec<Uuid> = crate::entities::ticket_lines::Entity::find()
            .select_only()
            .column(crate::entities::ticket_lines::Column::RestaurantId)
            .filter(crate::entities::ticket_lines::Column::State.eq("ready"))
            .distinct()
            .into_tuple()
            .all(&state.db)
            .await?;
        return Ok(ids);
    }
    super::series::restaurants_with_orders(state).await
}

/// Puts one training job per restaurant (or for the one given) on the queue; returns how many.
pub async fn enqueue_training(
    state: &AppState,
    restaurant: Option<Uuid>,
    kind: &str,
) -> Result<usize, ApiError> {
    let ids = match restaurant {
        Some(id) => vec![id],
        None => trainable(state, kind).await?,
    };
    for id in &ids {
        state
            .jobs
            .enqueue(
                NewJob::new(TRAIN_JOB, json!({ "restaurant_id": id, "kind": kind }))
                    .max_attempts(3),
            )
            .await
            .map_err(ApiError::internal)?;
    }
    Ok(ids.len())
}

pub struct TrainJob(pub AppState);

#[async_trait]
impl JobHandler for TrainJob {
    async fn run(&self, payload: serde_json::Value) -> Result<(), JobFailure> {
        let id = payload
            .get("restaurant_id")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse::<Uuid>().ok())
            .ok_or_else(|| JobFailure::Fatal("payload without a restaurant_id".into()))?;
        let kind = payload
            .get("kind")
            .and_then(|v| v.as_str())
            .unwrap_or(super::DEMAND);
        match train_kind(&self.0, id, kind, None).await {
            Ok(outcomes) => {
                for o in outcomes {
                    tracing::info!(restaurant = %id, kind, series = o.series, version = ?o.version, method = ?o.method, promoted = o.promoted, outcome = o.outcome, "forecast trained");
                }
                Ok(())
            }
            Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => {
                Err(JobFailure::Fatal(format!("restaurant {id} is gone")))
            }
            Err(e) => Err(JobFailure::Retry(e.message)),
        }
    }
}

pub struct TrainAllJob(pub AppState);

#[async_trait]
impl JobHandler for TrainAllJob {
    async fn run(&self, payload: serde_json::Value) -> Result<(), JobFailure> {
        let kind = match payload.get("kind").and_then(|v| v.as_str()) {
            Some(k) if k == super::customers::CUSTOMER => super::customers::CUSTOMER,
            Some(k) if k == crate::kitchen::prep::KITCHEN => crate::kitchen::prep::KITCHEN,
            _ => super::DEMAND,
        };
        let n = enqueue_training(&self.0, None, kind)
            .await
            .map_err(|e| JobFailure::Retry(e.message))?;
        tracing::info!(restaurants = n, kind, "forecast training queued");
        Ok(())
    }
}
