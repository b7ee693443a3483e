use axum::http::StatusCode;
use serde_json::json;

use crate::harness::{TestApp, redis_url};

#[tokio::test]
async fn health_ready_and_metrics() {
    let app = TestApp::spawn().await;
    let health = app.get("/health", None).await;
    health.assert_status(StatusCode::OK);
    assert_eq!(health.body["status"], "ok");

    let ready = app.get("/ready", None).await;
    ready.assert_status(StatusCode::OK);
    assert_eq!(ready.body["checks"]["database"], "ok");
    assert_eq!(ready.body["checks"]["job_queue"]["backend"], "inline");
    if redis_url().is_some() {
        assert_eq!(ready.body["checks"]["redis"], "ok");
    } else {
        assert_eq!(ready.body["checks"]["redis"], "not configured");
    }

    app.post(
        "/api/auth/login",
        json!({"email": "x@example.com", "password": "wrong-password"}),
        None,
    )
    .await;
    let metrics = app.get("/metrics", None).await;
    metrics.assert_status(StatusCode::OK);
    assert!(
        metrics.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = &metrics.text;
    assert!(
        text.lines().any(|l| l.starts_with("http_requests_total{")
            && l.contains("route=\"/api/auth/login\"")
            && l.contains("status=\"401\"")),
        "requests by route and status:\n{text}"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket{"),
        "latency histogram"
    );
    assert!(
        text.contains("brigade_job_queue_depth{state=\"pending\"}"),
        "queue depth"
    );
    assert!(
        text.contains("brigade_db_pool_connections{state=\"idle\"}"),
        "pool gauges"
    );
    assert!(
        text.contains("brigade_failed_logins_total"),
        "failed logins"
    );
}

#[tokio::test]
async fn ready_reports_a_broken_database() {
    let app = TestApp::spawn().await;
    app.state.db.clone().close().await.ok();
    let ready = app.get("/ready", None).await;
    ready.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.body["status"], "unavailable");
    assert!(
        ready.body["checks"]["database"]["error"].is_string(),
        "{}",
        ready.text
    );
}
