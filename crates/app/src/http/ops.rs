//! Operations endpoints: `/health` (the process is up), `/ready` (database, Redis and job queue
//! reachable) and `/metrics` (Prometheus text).

use std::sync::OnceLock;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::{ConnectionTrait, DbBackend};
use serde_json::json;

use brigade_platform::redis_conn::RedisStatus;

use crate::state::AppState;

const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Time an order spends in one status: seconds to hours.
const STATUS_BUCKETS: [f64; 12] = [
    5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 21600.0,
];

/// The process-wide Prometheus recorder (metrics are global by nature; installed once).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("duration_seconds".into()),
                    &LATENCY_BUCKETS,
                )
                .expect("bucket list is not empty")
                .set_buckets_for_metric(
                    Matcher::Full("brigade_order_time_in_status_seconds".into()),
                    &STATUS_BUCKETS,
                )
                .expect("bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (a host application); ours still renders.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(render_metrics))
}

async fn health() -> impl IntoResponse {
    Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let db = state
        .db
        .execute_unprepared("SELECT 1")
        .await
        .map(|_| ())
        .map_err(|e| e.to_string());
    // Redis down is degraded, not unavailable: requests are still served (the cache is bypassed,
    // rate limits counted in process, live updates local to each process).
    let redis = match &state.redis {
        Some(redis) => {
            let _ = redis.ping().await;
            Some(match redis.status() {
                RedisStatus::Up => json!("ok"),
                RedisStatus::Down { for_ms, reason } => json!({
                    "error": reason,
                    "down_for_ms": for_ms,
                    "effect": "degraded: cache bypassed, rate limits counted in each process, live updates local to each process",
                }),
            })
        }
        None => None,
    };
    let redis_down = state.redis.as_ref().is_some_and(|r| r.is_down());
    let queue = state.jobs.depth().await.map_err(|e| e.to_string());
    let ok = db.is_ok() && queue.is_ok();
    let describe = |r: &Result<(), String>| match r {
        Ok(()) => json!("ok"),
        Err(e) => json!({"error": e}),
    };
    let body = json!({
        "status": match (ok, redis_down) {
            (false, _) => "unavailable",
            (true, true) => "degraded",
            (true, false) => "ready",
        },
        "checks": {
            "database": describe(&db),
            "redis": redis.unwrap_or_else(|| json!("not configured")),
            "job_queue": match &queue { Ok(depth) => json!({"backend": state.jobs.backend(), "depth": depth}),
                                          Err(e) => json!({"error": e}) },
        }
    });
    (
        if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(body),
    )
}

async fn render_metrics(State(state): State<AppState>) -> impl IntoResponse {
    let (size, idle) = match state.db.get_database_backend() {
        DbBackend::Sqlite => {
            let pool = state.db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle() as u32)
        }
        DbBackend::Postgres => {
            let pool = state.db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle() as u32)
        }
        _ => (0, 0),
    };
    metrics::gauge!("brigade_db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("brigade_db_pool_connections", "state" => "in_use")
        .set(f64::from(size.saturating_sub(idle)));
    metrics::gauge!("brigade_db_pool_max_connections")
        .set(f64::from(state.config.database_max_connections));
    if let Ok(depth) = state.jobs.depth().await {
        for (label, value) in [
            ("pending", depth.pending),
            ("running", depth.running),
            ("failed", depth.failed),
            ("done", depth.done),
            ("killed", depth.killed),
        ] {
            metrics::gauge!("brigade_job_queue_depth", "state" => label).set(value as f64);
        }
    }
    state.metrics.run_upkeep();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
