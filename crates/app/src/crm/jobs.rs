//! Scoring as background work. `crm.score` rescores the restaurants named in its payload, or (every
//! minute, from cron) those with order status events since its own watermark on the event stream, so a
//! score follows new orders within a minute. `crm.score-all` (nightly) rescores every restaurant, since the
//! 30- and 90-day windows slide even without new orders. Results are cached in `crm_accounts` (read by
//! every page and endpoint) with one `restaurant_scores` row per restaurant and local day (the history).

use std::collections::HashMap;

use async_trait::async_trait;
use brigade_platform::jobs::{JobFailure, JobHandler, NewJob};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::score::{self, OrderPoint, Tier};
use crate::entities::{
    analytics_watermarks, crm_accounts, interactions, order_status_events, orders,
    restaurant_scores, restaurants,
};
use crate::state::AppState;

pub const SCORE_JOB: &str = "crm.score";
pub const SCORE_ALL_JOB: &str = "crm.score-all";
const WATERMARK: &str = "crm.score";
const CHUNK: usize = 200;

/// Ask for a restaurant to be rescored (after an interaction, say); failures only log.
pub async fn rescore_soon(state: &AppState, restaurant_id: Uuid) {
    let minute = state.now().timestamp() / 60;
    let job = NewJob::new(
        SCORE_JOB,
        serde_json::json!({ "restaurant_ids": [restaurant_id] }),
    )
    .dedup_key(format!("crm-score:{restaurant_id}:{minute}"));
    if let Err(err) = state.jobs.enqueue(job).await {
        tracing::warn!(error = %err, "could not queue a rescore");
    }
}

/// Rescore these restaurants now; returns how many were scored.
pub async fn score_restaurants(state: &AppState, ids: &[Uuid]) -> Result<usize, DbErr> {
    let now = state.now();
    let mut done = 0;
    for chunk in ids.chunks(CHUNK) {
        done += score_chunk(state, chunk, now).await?;
    }
    Ok(done)
}

async fn score_chunk(state: &AppState, ids: &[Uuid], now: DateTime<Utc>) -> Result<usize, DbErr> {
    let db = &state.db;
    let zones: Vec<(Uuid, String)> = restaurants::Entity::find()
        .select_only()
        .column(restaurants::Column::Id)
        .column(restaurants::Column::Timezone)
        .filter(restaurants::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    let since = now - Duration::days(180);
    let rows: Vec<(Uuid, DateTime<Utc>, i64)> = orders::Entity::find()
        .select_only()
        .column(orders::Column::RestaurantId)
        .column(orders::Column::CreatedAt)
        .column(orders::Column::TotalMinor)
        .filter(orders::Column::RestaurantId.is_in(ids.iter().copied()))
        .filter(orders::Column::Status.eq(crate::orders::OrderStatus::Completed.as_str()))
        .filter(orders::Column::CreatedAt.gte(since))
        .into_tuple()
        .all(db)
        .await?;
    let mut points: HashMap<Uuid, Vec<OrderPoint>> = HashMap::new();
    for (id, at, value) in rows {
        points.entry(id).or_default().push(OrderPoint {
            at,
            value_minor: value,
        });
    }
    let counts: HashMap<Uuid, i64> = interactions::Entity::find()
        .select_only()
        .column(interactions::Column::RestaurantId)
        .column_as(Expr::col(interactions::Column::Id).count(), "n")
        .filter(interactions::Column::RestaurantId.is_in(ids.iter().copied()))
        .filter(interactions::Column::OccurredAt.gte(now - Duration::days(30)))
        .filter(interactions::Column::OccurredAt.lte(now))
        .group_by(interactions::Column::RestaurantId)
        .into_tuple::<(Uuid, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let accounts: HashMap<Uuid, crm_accounts::Model> = crm_accounts::Entity::find()
        .filter(crm_accounts::Column::RestaurantId.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.restaurant_id, a))
        .collect();

    let _turn = state.write_turn().await;
    let txn = crate::database::begin_write(db).await?;
    for (id, zone) in &zones {
        let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
        let orders = points.remove(id).unwrap_or_default();
        let breakdown = score::score(tz, &orders, counts.get(id).copied().unwrap_or(0), now);
        let patterns = score::patterns(tz, &orders, now);
        let breakdown_json = serde_json::to_string(&breakdown).unwrap_or_default();
        let mut row = match accounts.get(id) {
            Some(a) => a.clone(),
            None => super::empty_account(*id, now).insert(&txn).await?,
        };
        let old_tier = row.tier.clone();
        row.score = Some(breakdown.score);
        row.tier = Some(breakdown.tier.as_str().to_string());
        // A restaurant on its tier's default frequency gets the new tier's default from its last call.
        if row.call_frequency_days.is_none()
            && old_tier != row.tier
            && let Some(last) = row.last_call_at
        {
            row.next_call_at = Some(
                last + Duration::days(i64::from(Tier::default_call_days(Some(breakdown.tier)))),
            );
        }
        let mut active: crm_accounts::ActiveModel = row.clone().into();
        active.score = Set(row.score);
        active.tier = Set(row.tier.clone());
        active.next_call_at = Set(row.next_call_at);
        active.score_breakdown = Set(Some(breakdown_json.clone()));
        active.patterns = Set(Some(serde_json::to_string(&patterns).unwrap_or_default()));
        active.scored_at = Set(Some(now));
        active.updated_at = Set(now);
        active.update(&txn).await?;
        restaurant_scores::Entity::insert(restaurant_scores::ActiveModel {
            restaurant_id: Set(*id),
            day: Set(now.with_timezone(&tz).date_naive()),
            score: Set(breakdown.score),
            tier: Set(breakdown.tier.as_str().to_string()),
            breakdown: Set(breakdown_json),
        })
        .on_conflict(
            OnConflict::columns([
                restaurant_scores::Column::RestaurantId,
                restaurant_scores::Column::Day,
            ])
            .update_columns([
                restaurant_scores::Column::Score,
                restaurant_scores::Column::Tier,
                restaurant_scores::Column::Breakdown,
            ])
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(zones.len())
}

/// Rescore every restaurant, a page of ids at a time.
pub async fn score_all(state: &AppState) -> Result<usize, DbErr> {
    let mut after: Option<Uuid> = None;
    let mut done = 0;
    loop {
        let mut select = restaurants::Entity::find()
            .select_only()
            .column(restaurants::Column::Id)
            .order_by_asc(restaurants::Column::Id)
            .limit(1000);
        if let Some(a) = after {
            select = select.filter(restaurants::Column::Id.gt(a));
        }
        let ids: Vec<Uuid> = select.into_tuple().all(&state.db).await?;
        let Some(last) = ids.last().copied() else {
            return Ok(done);
        };
        done += score_restaurants(state, &ids).await?;
        after = Some(last);
    }
}

/// Rescore the restaurants with order status events since the last run, and move the watermark.
pub async fn score_changed(state: &AppState) -> Result<usize, DbErr> {
    let db = &state.db;
    let from = analytics_watermarks::Entity::find_by_id(WATERMARK)
        .one(db)
        .await?
        .map(|w| w.last_event_id)
        .unwrap_or(0);
    let newest: Option<Option<i64>> = order_status_events::Entity::find()
        .select_only()
        .column_as(Expr::col(order_status_events::Column::Id).max(), "m")
        .into_tuple()
        .one(db)
        .await?;
    let Some(to) = newest.flatten().filter(|to| *to > from) else {
        return Ok(0);
    };
    let ids: Vec<Uuid> = order_status_events::Entity::find()
        .select_only()
        .column(order_status_events::Column::RestaurantId)
        .distinct()
        .filter(order_status_events::Column::Id.gt(from))
        .filter(order_status_events::Column::Id.lte(to))
        .into_tuple()
        .all(db)
        .await?;
    let done = score_restaurants(state, &ids).await?;
    analytics_watermarks::Entity::insert(analytics_watermarks::ActiveModel {
        name: Set(WATERMARK.into()),
        last_event_id: Set(to),
        updated_at: Set(state.now()),
    })
    .on_conflict(
        OnConflict::column(analytics_watermarks::Column::Name)
            .update_columns([
                analytics_watermarks::Column::LastEventId,
                analytics_watermarks::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(done)
}

pub struct ScoreJob(pub AppState);

#[async_trait]
impl JobHandler for ScoreJob {
    async fn run(&self, payload: serde_json::Value) -> Result<(), JobFailure> {
        let retry = |e: DbErr| JobFailure::Retry(e.to_string());
        let ids: Vec<Uuid> = payload
            .get("restaurant_ids")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        let n = if ids.is_empty() {
            score_changed(&self.0).await.map_err(retry)?
        } else {
            score_restaurants(&self.0, &ids).await.map_err(retry)?
        };
        if n > 0 {
            tracing::info!(restaurants = n, "restaurants rescored");
        }
        Ok(())
    }
}

pub struct ScoreAllJob(pub AppState);

#[async_trait]
impl JobHandler for ScoreAllJob {
    async fn run(&self, _payload: serde_json::Value) -> Result<(), JobFailure> {
        let n = score_all(&self.0)
            .await
            .map_err(|e| JobFailure::Retry(e.to_string()))?;
        tracing::info!(restaurants = n, "every restaurant rescored");
        Ok(())
    }
}
