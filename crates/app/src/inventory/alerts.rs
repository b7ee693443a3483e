//! Stock alerts: every hour (`inventory.alerts`, a cron job) each venue with stock is checked, and its
//! owners and managers are told in the app when an ingredient falls below its par level or below zero,
//! and when a batch with stock left is past or within a day of its use-by day. Each alert is sent once
//! a day per person and subject (the notification's reference), so an hourly check does not repeat it.

use std::sync::Arc;

use async_trait::async_trait;
use brigade_platform::jobs::{JobFailure, JobHandler};
use chrono::Duration;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::entities::{batches, ingredients, notifications, restaurant_members};
use crate::http::error::ApiError;
use crate::notifications::inbox::{Kind, notify};
use crate::state::AppState;

pub const ALERTS_JOB: &str = "inventory.alerts";

pub struct AlertsJob(pub AppState);

#[async_trait]
impl JobHandler for AlertsJob {
    async fn run(&self, _payload: serde_json::Value) -> Result<(), JobFailure> {
        check_all(&self.0)
            .await
            .map(|_| ())
            .map_err(|e| JobFailure::Retry(e.message))
    }
}

pub fn handler(state: &AppState) -> Arc<dyn JobHandler> {
    Arc::new(AlertsJob(state.clone()))
}

/// Check every venue that keeps stock; returns the notifications sent.
pub async fn check_all(state: &AppState) -> Result<usize, ApiError> {
    let venues: Vec<Uuid> = ingredients::Entity::find()
        .select_only()
        .column(ingredients::Column::RestaurantId)
        .distinct()
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut sent = 0;
    for venue in venues {
        sent += check_venue(state, venue).await?;
    }
    Ok(sent)
}

/// Check one venue; returns the notifications sent.
pub async fn check_venue(state: &AppState, venue_id: Uuid) -> Result<usize, ApiError> {
    let venue = crate::restaurants::find(state, venue_id).await?;
    let now = state.now();
    let today = super::local_today(&venue, now);
    let rows = ingredients::Entity::find()
        .filter(ingredients::Column::RestaurantId.eq(venue_id))
        .all(&state.db)
        .await?;
    let on_hand = super::on_hand_of(&state.db, rows.iter().map(|i| i.id).collect()).await?;
    let shown = |milli: i64| rust_decimal::Decimal::new(milli, 3).normalize();
    // (subject, reference type, title, message)
    let mut alerts: Vec<(Uuid, &str, String, String)> = Vec::new();
    for i in &rows {
        let held = on_hand.get(&i.id).copied().unwrap_or(0);
        if held < 0 {
            alerts.push((
                i.id,
                "ingredient_below_zero",
                format!("{} is below zero", i.name),
                format!(
                    "{}: the kitchen used {} {} more than was recorded at {}; receive or count it.",
                    i.name,
                    shown(-held),
                    i.unit,
                    venue.name
                ),
            ));
        } else if let Some(par) = i.par_level.filter(|par| held < *par) {
            alerts.push((
                i.id,
                "ingredient_low_stock",
                format!("{} is low", i.name),
                format!(
                    "{}: {} {} on hand at {}, below its par level of {} {}.",
                    i.name,
                    shown(held),
                    i.unit,
                    venue.name,
                    shown(par),
                    i.unit
                ),
            ));
        }
    }
    let names: std::collections::HashMap<Uuid, &ingredients::Model> =
        rows.iter().map(|i| (i.id, i)).collect();
    for b in batches::Entity::find()
        .filter(batches::Column::RestaurantId.eq(venue_id))
        .filter(batches::Column::Remaining.gt(0))
        .filter(batches::Column::ExpiresOn.lte(today + Duration::days(1)))
        .all(&state.db)
        .await?
    {
        let (Some(i), Some(day)) = (names.get(&b.ingredient_id), b.expires_on) else {
            continue;
        };
        let when = if day < today {
            format!("expired on {day}")
        } else if day == today {
            "must be used today".to_string()
        } else {
            "must be used by tomorrow".to_string()
        };
        alerts.push((
            b.id,
            "batch_expiry",
            format!("{} {when}", i.name),
            format!(
                "{} {} of {} ({}) at {} {when}.",
                shown(b.remaining),
                i.unit,
                i.name,
                b.lot.as_deref().unwrap_or("no lot"),
                venue.name
            ),
        ));
    }
    if alerts.is_empty() {
        return Ok(0);
    }
    let people: Vec<Uuid> = restaurant_members::Entity::find()
        .select_only()
        .column(restaurant_members::Column::UserId)
        .filter(restaurant_members::Column::RestaurantId.eq(venue_id))
        .filter(restaurant_members::Column::Role.is_in(["owner", "manager"]))
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut sent = 0;
    for (subject, kind, title, message) in &alerts {
        for person in &people {
            let told = notifications::Entity::find()
                .filter(notifications::Column::UserId.eq(*person))
                .filter(notifications::Column::ReferenceId.eq(*subject))
                .filter(notifications::Column::ReferenceType.eq(*kind))
                .filter(notifications::Column::CreatedAt.gt(now - Duration::days(1)))
                .count(&state.db)
                .await?
                > 0;
            if !told {
                notify(
                    state,
                    *person,
                    Kind::System,
                    title,
                    message,
                    Some((*subject, kind)),
                )
                .await?;
                sent += 1;
            }
        }
    }
    Ok(sent)
}
