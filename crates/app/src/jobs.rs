//! Brigade's background jobs: which handler runs each job kind, and the recurring schedules.

use std::sync::Arc;

use async_trait::async_trait;
use brigade_platform::jobs::{CronJob, JobFailure, JobHandler, JobRegistry};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::entities::{password_resets, refresh_tokens, web_sessions};
use crate::notifications::mail;
use crate::state::AppState;

pub const HOUSEKEEPING: &str = "platform.housekeeping";

/// Every job kind with its handler, and the cron schedules.
pub fn registry(state: &AppState) -> JobRegistry {
    let mut registry = JobRegistry::new();
    registry.register(mail::DELIVER_JOB, mail::handler(state));
    registry.register(HOUSEKEEPING, Arc::new(Housekeeping(state.clone())));
    registry.register(
        crate::monitoring::report::REPORT_JOB,
        Arc::new(crate::monitoring::report::ReportJob(state.clone())),
    );
    registry.register(
        crate::analytics::rollup::ROLLUP_JOB,
        Arc::new(crate::analytics::rollup::RollupJob(state.clone())),
    );
    registry.schedule(
        CronJob::new(
            "order-rollups-every-minute",
            "30 * * * * *",
            crate::analytics::rollup::ROLLUP_JOB,
        )
        .expect("valid cron expression"),
    );
    registry.register(
        crate::crm::jobs::SCORE_JOB,
        Arc::new(crate::crm::jobs::ScoreJob(state.clone())),
    );
    registry.register(
        crate::crm::jobs::SCORE_ALL_JOB,
        Arc::new(crate::crm::jobs::ScoreAllJob(state.clone())),
    );
    registry.schedule(
        CronJob::new(
            "crm-scores-every-minute",
            "45 * * * * *",
            crate::crm::jobs::SCORE_JOB,
        )
        .expect("valid cron expression"),
    );
    registry.schedule(
        CronJob::new(
            "crm-scores-nightly",
            "0 40 0 * * *",
            crate::crm::jobs::SCORE_ALL_JOB,
        )
        .expect("valid cron expression"),
    );
    registry.schedule(
        CronJob::new("housekeeping-hourly", "0 17 * * * *", HOUSEKEEPING)
            .expect("valid cron expression"),
    );
    registry.register(
        crate::monitoring::fleet::FLEET_JOB,
        Arc::new(crate::monitoring::fleet::FleetJob(state.clone())),
    );
    registry.schedule(
        CronJob::new(
            "monitoring-fleet-every-minute",
            "20 * * * * *",
            crate::monitoring::fleet::FLEET_JOB,
        )
        .expect("valid cron expression"),
    );
    registry.register(
        crate::forecasting::jobs::TRAIN_JOB,
        Arc::new(crate::forecasting::jobs::TrainJob(state.clone())),
    );
    registry.register(
        crate::forecasting::jobs::TRAIN_ALL_JOB,
        Arc::new(crate::forecasting::jobs::TrainAllJob(state.clone())),
    );
    registry.schedule(
        CronJob::new(
            "forecast-training-daily",
            "0 20 3 * * *",
            crate::forecasting::jobs::TRAIN_ALL_JOB,
        )
        .expect("valid cron expression"),
    );
    // Customer models weekly (the seed's schedule): Mondays.
    registry.schedule(CronJob {
        payload: serde_json::json!({ "kind": crate::forecasting::customers::CUSTOMER }),
        ..CronJob::new(
            "forecast-customers-weekly",
            "0 50 3 * * Mon",
            crate::forecasting::jobs::TRAIN_ALL_JOB,
        )
        .expect("valid cron expression")
    });
    // Kitchen prep-time models nightly, after the day's service.
    registry.schedule(CronJob {
        payload: serde_json::json!({ "kind": crate::kitchen::prep::KITCHEN }),
        ..CronJob::new(
            "forecast-kitchen-nightly",
            "0 35 3 * * *",
            crate::forecasting::jobs::TRAIN_ALL_JOB,
        )
        .expect("valid cron expression")
    });
    registry.register(
        crate::inventory::alerts::ALERTS_JOB,
        crate::inventory::alerts::handler(state),
    );
    registry.schedule(
        CronJob::new(
            "stock-alerts-hourly",
            "0 5 * * * *",
            crate::inventory::alerts::ALERTS_JOB,
        )
        .expect("valid cron expression"),
    );
    registry.register(
        crate::backup::BACKUP_JOB,
        Arc::new(crate::backup::BackupJob(state.clone())),
    );
    // PostgreSQL installations back up with PostgreSQL's tools.
    if state.config.backup.daily && state.config.is_embedded() {
        registry.schedule(
            CronJob::new("backup-daily", "0 30 2 * * *", crate::backup::BACKUP_JOB)
                .expect("valid cron expression"),
        );
    }
    registry
}

/// Hourly clean-up: expired sessions and tokens, and finished jobs older than a week.
pub struct Housekeeping(pub AppState);

#[async_trait]
impl JobHandler for Housekeeping {
    async fn run(&self, _payload: serde_json::Value) -> Result<(), JobFailure> {
        let state = &self.0;
        let now = state.now();
        let retry = |e: sea_orm::DbErr| JobFailure::Retry(e.to_string());
        let sessions = web_sessions::Entity::delete_many()
            .filter(web_sessions::Column::ExpiresAt.lt(now))
            .exec(&state.db)
            .await
            .map_err(retry)?;
        let tokens = refresh_tokens::Entity::delete_many()
            .filter(refresh_tokens::Column::ExpiresAt.lt(now - chrono::Duration::days(1)))
            .exec(&state.db)
            .await
            .map_err(retry)?;
        let resets = password_resets::Entity::delete_many()
            .filter(password_resets::Column::ExpiresAt.lt(now - chrono::Duration::days(1)))
            .exec(&state.db)
            .await
            .map_err(retry)?;
        let jobs = state
            .jobs
            .prune_finished(now - chrono::Duration::days(7))
            .await
            .map_err(|e| JobFailure::Retry(e.to_string()))?;
        tracing::info!(
            sessions = sessions.rows_affected,
            tokens = tokens.rows_affected,
            resets = resets.rows_affected,
            jobs,
            "housekeeping done"
        );
        Ok(())
    }
}

/// Run every job an inline queue collected (tests and one-shot CLI commands).
pub async fn run_inline(state: &AppState) -> Vec<Result<(), JobFailure>> {
    let registry = registry(state);
    let mut results = Vec::new();
    loop {
        let batch = state.jobs.take_inline();
        if batch.is_empty() {
            return results;
        }
        for envelope in batch {
            results.push(registry.dispatch(&envelope).await);
        }
    }
}
