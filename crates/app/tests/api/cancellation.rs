//! A request dropped half way (a client that hangs up, the request timeout) is finished by the server,
//! and leaves no pooled connection inside a transaction for the next request to run in.

use std::time::{Duration, Instant};

use brigade_app::entities::{channel_orders, order_status_events};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::harness::TestApp;

fn order(k: u64) -> serde_json::Value {
    json!({
        "_id": format!("dropped-{k}"),
        "created": "2026-06-15T11:00:00Z",
        "account": "acc-drop",
        "brandId": "brand-drop",
        "customer": {"name": "Ann", "phoneNumber": format!("+35840{k:07}")},
        "items": [{"name": "Soup", "plu": "S-1", "quantity": 1}],
        "status": 1,
        "statusHistory": [
            {"status": 4, "timestamp": "2026-06-15T11:00:00Z"},
            {"status": 1, "timestamp": "2026-06-15T11:02:00Z"}
        ]
    })
}

/// Whether each of the pool's connections, all held at once, is outside any transaction. Holding all
/// of them also waits for the requests still running to give theirs back.
async fn every_pooled_connection_is_idle(app: &TestApp) -> Vec<bool> {
    use sea_orm::sqlx;
    let db = &app.state.db;
    let size = app.state.config.database_max_connections as usize;
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            let mut held = Vec::new();
            for _ in 0..size {
                held.push(pool.acquire().await.expect("a pooled connection"));
            }
            let mut pids = Vec::new();
            for conn in &mut held {
                let (pid,): (i32,) = sqlx::query_as("SELECT pg_backend_pid()")
                    .fetch_one(&mut **conn)
                    .await
                    .expect("ask the connection");
                pids.push(pid);
            }
            // Each connection as the next one sees it (a connection asking about itself is active).
            let mut idle = Vec::new();
            for (k, pid) in pids.iter().enumerate() {
                let asker = (k + 1) % held.len();
                let (state,): (Option<String>,) =
                    sqlx::query_as("SELECT state FROM pg_stat_activity WHERE pid = $1")
                        .bind(*pid)
                        .fetch_one(&mut *held[asker])
                        .await
                        .expect("ask about the connection");
                idle.push(state.as_deref() == Some("idle"));
            }
            idle
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            let mut held = Vec::new();
            for _ in 0..size {
                held.push(pool.acquire().await.expect("a pooled connection"));
            }
            let mut idle = Vec::new();
            for conn in &mut held {
                // SQLite refuses a BEGIN inside a transaction.
                let began = sqlx::query("BEGIN").execute(&mut **conn).await.is_ok();
                if began {
                    sqlx::query("ROLLBACK")
                        .execute(&mut **conn)
                        .await
                        .expect("roll back");
                }
                idle.push(began);
            }
            idle
        }
    }
}

#[tokio::test]
async fn requests_dropped_half_way_finish_and_leave_every_pooled_connection_idle() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let total = 160u64;
    let mut answered = Vec::new();
    // The waits are spread over one and a half times a whole request's time on this machine, so that
    // requests are dropped at every stage however fast the machine is: before the transaction, inside
    // BEGIN, among the writes, after.
    let mut whole = Duration::MAX;
    for k in 10_000..10_004 {
        let started = Instant::now();
        app.post("/api/channel-orders", order(k), Some(&admin))
            .await
            .assert_status(axum::http::StatusCode::CREATED);
        whole = whole.min(started.elapsed());
        answered.push(format!("dropped-{k}"));
    }
    let mut dropped = 0;
    for k in 0..total {
        let wait = whole.mul_f64(1.5 * (k % 40) as f64 / 40.0);
        match tokio::time::timeout(
            wait,
            app.post("/api/channel-orders", order(k), Some(&admin)),
        )
        .await
        {
            Ok(response) => {
                response.assert_status(axum::http::StatusCode::CREATED);
                answered.push(format!("dropped-{k}"));
            }
            Err(_) => dropped += 1,
        }
    }
    // Most waits are shorter than a request.
    assert!(
        dropped >= total / 10,
        "only {dropped} requests were dropped"
    );
    let idle = every_pooled_connection_is_idle(&app).await;
    assert!(
        idle.iter().all(|i| *i),
        "pooled connections left inside a transaction: {idle:?}"
    );
    // The dropped requests that had reached their handler ran to the end: whatever was stored is
    // whole (both events of every stored order), and every answered order is stored.
    let deadline = Instant::now() + Duration::from_secs(20);
    let stored = loop {
        let stored: Vec<channel_orders::Model> = channel_orders::Entity::find()
            .filter(channel_orders::Column::Account.eq("acc-drop"))
            .all(&app.state.db)
            .await
            .unwrap();
        let events = order_status_events::Entity::find()
            .filter(
                order_status_events::Column::OrderId
                    .is_in(stored.iter().map(|o| o.order_id).collect::<Vec<_>>()),
            )
            .count(&app.state.db)
            .await
            .unwrap();
        if events == 2 * stored.len() as u64 {
            break stored;
        }
        assert!(
            Instant::now() < deadline,
            "{events} events for {} orders",
            stored.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for id in &answered {
        assert!(
            stored.iter().any(|o| &o.external_id == id),
            "{id} answered, not stored"
        );
    }
    assert!(
        stored.len() > answered.len(),
        "no dropped request was finished"
    );
    // And the next requests run normally.
    app.post("/api/channel-orders", order(total), Some(&admin))
        .await
        .assert_status(axum::http::StatusCode::CREATED);
}
