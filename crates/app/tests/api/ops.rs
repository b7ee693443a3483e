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

/// On SQLite no commit copies the write-ahead log into the database file (that would hold the write lock
/// for the copy); a task of the server does it instead, within a second of the writes.
#[tokio::test]
async fn sqlite_log_is_checkpointed_by_the_server_not_by_commits() {
    use sea_orm::{ConnectionTrait, Statement};
    let app = TestApp::spawn().await;
    let db = &app.state.db;
    if app.postgres.is_some() {
        assert_eq!(db.get_database_backend(), sea_orm::DbBackend::Postgres);
        return;
    }
    let setting = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "PRAGMA wal_autocheckpoint",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(setting.try_get_by_index::<i32>(0).unwrap(), 0);
    let file = app.state.config.data_dir.join("brigade.db");
    let before = std::fs::metadata(&file).unwrap().len();
    // About 4 MiB in one table, committed: more than SQLite's own checkpoint threshold of 1,000 pages.
    db.execute_unprepared(
        "CREATE TABLE checkpoint_probe (body BLOB); \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) \
         INSERT INTO checkpoint_probe SELECT randomblob(4000) FROM n",
    )
    .await
    .unwrap();
    let wal = app.state.config.data_dir.join("brigade.db-wal");
    assert!(std::fs::metadata(&wal).unwrap().len() > 4_000_000);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let now = std::fs::metadata(&file).unwrap().len();
        if now > before + 4_000_000 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the database file is still {now} bytes (it was {before}): the log was not checkpointed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
