//! Backups of the embedded database: taken while orders keep arriving, restored into a fresh directory,
//! they hold every order acknowledged before the backup began.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use brigade_app::accounts::Role;
use brigade_app::backup::{self, BackupError};
use brigade_app::entities::orders;
use brigade_app::{AppState, StateOptions};
use http_body_util::BodyExt;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::harness::TestApp;
use crate::orders::shop;

/// Place one order through the router; its id once the server has answered 201.
async fn place(state: &AppState, token: &str, body: &Value) -> Option<String> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/api/orders")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(std::net::SocketAddr::from((
            [203, 0, 113, 9],
            4000,
        ))));
    let response = brigade_app::http::service(state.clone())
        .oneshot(request)
        .await
        .unwrap();
    if response.status() != StatusCode::CREATED {
        return None;
    }
    let bytes = response.into_body().collect().await.ok()?.to_bytes();
    let body: Value = serde_json::from_slice(&bytes).ok()?;
    body["data"]["id"].as_str().map(String::from)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_order_load_restores_every_order_acknowledged_before_it() {
    let app = TestApp::spawn_with(|config| config.rate_limit.enabled = false).await;
    let dir = tempfile::tempdir().unwrap();
    if app.postgres.is_some() {
        // PostgreSQL is backed up with its own tools; the command says so instead of copying nothing.
        let refused = backup::backup_to(&app.state, &dir.path().join("x.db")).await;
        assert!(matches!(refused, Err(BackupError::NotEmbedded)));
        return;
    }
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Backup Bistro", json!({})).await;
    let (_, customer, _) = app.user("steady@example.com", Role::Customer).await;
    let body = json!({"venue_id": s.id, "order_type": "TAKEOUT",
                      "items": [{"menu_item_id": s.ramen, "quantity": 1}]});

    // Four clients place orders without pause; each acknowledgement is noted with its instant.
    let acknowledged: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (state, token, body) = (app.state.clone(), customer.clone(), body.clone());
        let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                if let Some(id) = place(&state, &token, &body).await {
                    acknowledged.lock().unwrap().push((id, Instant::now()));
                }
            }
        }));
    }
    // Wait for the load to be under way (by what it did, not by a fixed time: machines differ).
    let count_after = |since: Option<Instant>| {
        acknowledged
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, at)| since.is_none_or(|s| *at > s))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while count_after(None) < 10 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let out = dir.path().join("under-load.db");
    let began = Instant::now();
    let taken = backup::backup_to(&app.state, &out).await.expect("backup");
    while count_after(Some(began)) < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }
    assert!(taken.bytes > 0);
    // A second backup to the same name is refused rather than overwriting the first.
    assert!(matches!(
        backup::backup_to(&app.state, &out).await,
        Err(BackupError::Exists(_))
    ));

    let all = acknowledged.lock().unwrap().clone();
    let before: Vec<&String> = all
        .iter()
        .filter(|(_, at)| *at < began)
        .map(|(id, _)| id)
        .collect();
    assert!(
        before.len() >= 10,
        "load ran before the backup: {}",
        before.len()
    );
    assert!(
        all.iter().any(|(_, at)| *at > began),
        "orders kept arriving during and after the backup"
    );

    // Restore into a fresh directory and start Brigade on it.
    let fresh = tempfile::tempdir().unwrap();
    let target = fresh.path().join("brigade.db");
    let kept = backup::restore(&out, &target).await.expect("restore");
    assert!(kept.is_none(), "nothing was there to keep");
    let (mut config, _) = TestApp::config(&fresh).await;
    config.database_url = None;
    config.redis_url = None;
    config.data_dir = fresh.path().to_path_buf();
    let restored = AppState::build(
        config,
        StateOptions {
            inline_jobs: true,
            ..Default::default()
        },
    )
    .await
    .expect("Brigade starts on the restored database");
    let stored = orders::Entity::find().count(&restored.db).await.unwrap();
    for id in &before {
        let id = uuid::Uuid::parse_str(id).unwrap();
        assert!(
            orders::Entity::find_by_id(id)
                .one(&restored.db)
                .await
                .unwrap()
                .is_some(),
            "order {id} was acknowledged before the backup began but is not in it ({stored} orders are)"
        );
    }

    // Restoring over an existing database keeps the one it replaces.
    let kept = backup::restore(&out, &target).await.expect("restore again");
    assert!(kept.is_some_and(|p| p.exists()));
    // Not a backup: refused, and nothing replaced.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    assert!(matches!(
        backup::restore(&junk, &target).await,
        Err(BackupError::NotABackup { .. })
    ));
    assert!(target.exists());
}

#[tokio::test]
async fn restoring_over_a_crashed_database_keeps_what_only_its_log_holds() {
    use sea_orm::{ConnectionTrait, Database};
    let app = TestApp::spawn().await;
    if app.postgres.is_some() {
        return; // backups are of the embedded database
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("backup.db");
    backup::backup_to(&app.state, &out).await.expect("backup");

    // A database as a crash leaves it: a commit that is only in its write-ahead log.
    let live = dir.path().join("live.db");
    let image = tempfile::tempdir().unwrap();
    let target = image.path().join("brigade.db");
    let writer = Database::connect(format!("sqlite://{}?mode=rwc", live.display()))
        .await
        .unwrap();
    for sql in [
        "PRAGMA journal_mode = WAL",
        "PRAGMA wal_autocheckpoint = 0",
        "CREATE TABLE marker (x INTEGER)",
        "INSERT INTO marker VALUES (42)",
    ] {
        writer.execute_unprepared(sql).await.unwrap();
    }
    std::fs::copy(&live, &target).unwrap();
    std::fs::copy(
        dir.path().join("live.db-wal"),
        image.path().join("brigade.db-wal"),
    )
    .unwrap();
    drop(writer);

    let kept = backup::restore(&out, &target)
        .await
        .expect("restore")
        .expect("the crashed database is kept");
    let old = Database::connect(format!("sqlite://{}?mode=rw", kept.display()))
        .await
        .unwrap();
    let row = old
        .query_one_raw(sea_orm::Statement::from_string(
            old.get_database_backend(),
            "SELECT x FROM marker",
        ))
        .await
        .expect("the kept copy has the commit its log held")
        .unwrap();
    assert_eq!(row.try_get_by_index::<i64>(0).unwrap(), 42);
}

#[tokio::test]
async fn daily_backups_keep_the_newest_copies() {
    let app = TestApp::spawn_with(|config| config.backup.keep = 2).await;
    if app.postgres.is_some() {
        assert!(matches!(
            backup::daily(&app.state).await,
            Err(BackupError::NotEmbedded)
        ));
        return;
    }
    let dir = backup::daily_dir(&app.state);
    for _ in 0..3 {
        let (taken, _) = backup::daily(&app.state).await.expect("daily backup");
        assert!(taken.path.starts_with(&dir));
        backup::check(&taken.path).await.expect("a whole backup");
        // Names carry the millisecond they were taken.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let left = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(left, 2);
}
