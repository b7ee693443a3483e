//! A Redis outage degrades Brigade, never stalls it: every request is answered promptly (the cache is
//! bypassed, rate limits count in process, live streams say their updates are local), `/ready` says
//! degraded and why, and when Redis is back everything resumes, with no stale cache entry left from
//! the outage.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use brigade_app::accounts::Role;
use serde_json::json;

use crate::harness::{TestApp, redis_url};
use crate::orders::shop;

/// The longest any request may take while Redis is away (the audit saw 30 s and 408s).
const PROMPT: Duration = Duration::from_secs(2);

async fn timed(
    app: &TestApp,
    method: axum::http::Method,
    path: &str,
    body: Option<serde_json::Value>,
    token: Option<&str>,
) -> crate::harness::TestResponse {
    let started = Instant::now();
    let response = app.request(method.clone(), path, body, token).await;
    assert!(
        started.elapsed() < PROMPT,
        "{method} {path} took {:?} with Redis away",
        started.elapsed()
    );
    response
}

#[tokio::test]
async fn with_redis_unreachable_requests_are_served_at_once_and_ready_says_degraded() {
    // Nothing listens on port 1: Brigade starts anyway and serves without Redis.
    let app = TestApp::spawn_with(|config| {
        config.redis_url = Some(secrecy::SecretString::from("redis://127.0.0.1:1"));
        config.redis_prefix = format!("outage-{}", uuid::Uuid::new_v4().simple());
        config.rate_limit.per_token_per_minute = 40;
    })
    .await;
    let ready = app.get("/ready", None).await;
    ready.assert_status(StatusCode::OK);
    assert_eq!(ready.body["status"], "degraded", "{}", ready.text);
    assert!(
        ready.body["checks"]["redis"]["error"].is_string(),
        "{}",
        ready.text
    );

    let admin = app.admin().await;
    let s = shop(&app, &admin, "Outage Diner", json!({})).await;
    let (_, customer, _) = app.user("hungry@example.com", Role::Customer).await;
    for _ in 0..3 {
        let menu = timed(
            &app,
            axum::http::Method::GET,
            &format!("/api/venues/{}/menu", s.id),
            None,
            None,
        )
        .await;
        menu.assert_status(StatusCode::OK);
    }
    let placed = timed(
        &app,
        axum::http::Method::POST,
        "/api/orders",
        Some(json!({"venue_id": s.id, "order_type": "TAKEOUT",
                    "items": [{"menu_item_id": s.ramen, "quantity": 1}]})),
        Some(&customer),
    )
    .await;
    placed.assert_status(StatusCode::CREATED);
    let order = placed.data()["id"].as_str().unwrap().to_string();

    // The live stream says its updates are local to this process.
    let mut stream = app
        .sse(&format!("/api/orders/{order}/stream"), Some(&customer))
        .await;
    assert_eq!(stream.next_of("connection").await, json!({"live": false}));
    // A change made through this process still reaches it.
    timed(
        &app,
        axum::http::Method::PUT,
        &format!("/api/orders/{order}/status"),
        Some(json!({"status": "CONFIRMED"})),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::OK);
    assert_eq!(stream.next_of("order").await["status"], "CONFIRMED");

    // Rate limits still hold, counted in this process.
    let mut limited = false;
    for _ in 0..45 {
        let r = timed(
            &app,
            axum::http::Method::GET,
            "/api/auth/me",
            None,
            Some(&customer),
        )
        .await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
    }
    assert!(limited, "the per-token limit is enforced without Redis");
}

/// A `redis-server` of the test's own on a free port, killed, paused and started again at will.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    fn start(port: u16) -> OwnRedis {
        let mut redis = OwnRedis { port, child: None };
        redis.spawn();
        redis
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server on the PATH (the Redis tests need it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// kill -9: the server and everything in it are gone.
    fn kill(&mut self) {
        self.signal("-KILL");
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn until_ready(app: &TestApp, status: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let ready = app.get("/ready", None).await;
        if ready.body["status"] == status {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "/ready still {} after {within:?}",
            ready.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn redis_killed_paused_and_back_under_requests() {
    // Runs with the Redis tests (the machine has redis-server); the test starts and kills its own.
    if redis_url().is_none() {
        return;
    }
    let mut redis = OwnRedis::start(free_port());
    let url = redis.url();
    let app = TestApp::spawn_with(move |config| {
        config.redis_url = Some(secrecy::SecretString::from(url));
        config.rate_limit.enabled = false;
    })
    .await;
    until_ready(&app, "ready", Duration::from_secs(5)).await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Flaky Cache Cafe", json!({})).await;
    let menu = format!("/api/venues/{}/menu", s.id);
    let names = |r: &crate::harness::TestResponse| -> Vec<String> {
        r.data()["categories"][0]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_string())
            .collect()
    };
    let before = app.get(&menu, None).await;
    before.assert_status(StatusCode::OK);

    // A hard outage: the server is gone. Every request is answered promptly.
    redis.kill();
    for _ in 0..10 {
        timed(&app, axum::http::Method::GET, &menu, None, None)
            .await
            .assert_status(StatusCode::OK);
    }
    until_ready(&app, "degraded", Duration::from_secs(2)).await;
    redis.spawn();
    until_ready(&app, "ready", Duration::from_secs(5)).await;
    app.get(&menu, None).await.assert_status(StatusCode::OK);

    // A partition: the server is there but does not answer (its data survives). A menu change made
    // meanwhile cannot invalidate the cached menu; when Redis answers again, no stale menu is served.
    let cached = app.get(&menu, None).await;
    assert_eq!(names(&cached), names(&before));
    redis.signal("-STOP");
    let started = Instant::now();
    let added = timed(
        &app,
        axum::http::Method::POST,
        &format!("{menu}/items"),
        Some(json!({"name": "Outage Special", "price": "9.00",
                    "category_id": cached.data()["categories"][0]["id"]})),
        Some(&s.owner),
    )
    .await;
    added.assert_status(StatusCode::CREATED);
    assert!(started.elapsed() < PROMPT);
    let during = timed(&app, axum::http::Method::GET, &menu, None, None).await;
    assert!(names(&during).contains(&"Outage Special".to_string()));
    redis.signal("-CONT");
    until_ready(&app, "ready", Duration::from_secs(5)).await;
    let after = app.get(&menu, None).await;
    assert!(
        names(&after).contains(&"Outage Special".to_string()),
        "the menu cached before the outage was served after it: {:?}",
        names(&after)
    );
}
