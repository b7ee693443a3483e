//! Answers to the analytics questions, kept in the shared cache until the summary tables change. A
//! dashboard asks the same window again and again, and between two rollup runs (a minute apart) the
//! answer cannot change; reading it again would cost what the rows cost, not what the answer costs.
//!
//! An answer's key holds the question (endpoint, restaurants, range, options) and the **generation** of
//! the summary tables: every row of `analytics_watermarks`, which a rollup run moves, and the
//! `revision` row that deleting a restaurant's rows or emptying the tables counts up. So a rollup run,
//! in any process, makes every earlier answer unreachable at once (one primary-key read per question
//! tells), and with Redis all processes share the answers. What the generation does not see (a
//! restaurant's zone or a customer's name edited) shows within [`TTL`].

use std::future::Future;
use std::time::Duration;

use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::entities::analytics_watermarks;
use crate::http::error::ApiError;
use crate::state::AppState;

/// How long an answer is kept at most.
pub const TTL: Duration = Duration::from_secs(60);

/// The summary tables' generation: each watermark row's name and position.
pub async fn generation<C: ConnectionTrait>(db: &C) -> Result<String, sea_orm::DbErr> {
    let mut rows: Vec<(String, i64)> = analytics_watermarks::Entity::find()
        .select_only()
        .column(analytics_watermarks::Column::Name)
        .column(analytics_watermarks::Column::LastEventId)
        .into_tuple()
        .all(db)
        .await?;
    rows.sort();
    Ok(rows
        .iter()
        .map(|(name, at)| format!("{name}={at}"))
        .collect::<Vec<_>>()
        .join(","))
}

/// The answer to `question` (any text that tells two questions apart) at the tables' present
/// generation: from the cache, or from `load`, which is then kept. Questions asked together while the
/// answer is not kept yet share one `load` (`Flights::answers`).
pub async fn cached<T, F, Fut>(state: &AppState, question: &str, load: F) -> Result<T, ApiError>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let generation = generation(&state.db).await?;
    let digest = Sha256::digest(format!("{generation}\n{question}").as_bytes());
    let key = format!("analytics:answer:{}", hex::encode(&digest[..16]));
    if let Some(answer) = brigade_platform::cache::get_json(state.cache.as_ref(), &key).await {
        return Ok(answer);
    }
    let bytes = state
        .flights
        .answers
        .run(key.clone(), || async {
            let answer = load().await.map_err(std::sync::Arc::new)?;
            let bytes = serde_json::to_vec(&answer)
                .map_err(|e| std::sync::Arc::new(ApiError::internal(e)))?;
            if let Err(err) = state.cache.set(&key, bytes.clone(), TTL).await {
                tracing::debug!(%err, "an analytics answer could not be kept");
            }
            Ok::<_, std::sync::Arc<ApiError>>(std::sync::Arc::new(bytes))
        })
        .await
        .map_err(|e| match std::sync::Arc::try_unwrap(e) {
            Ok(err) => err,
            // Another caller's load failed: the same answer, without its source (logged once).
            Err(shared) => ApiError::new(shared.status, shared.code, shared.message.clone()),
        })?;
    serde_json::from_slice(&bytes).map_err(ApiError::internal)
}
