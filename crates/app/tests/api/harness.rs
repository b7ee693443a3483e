//! `TestApp`: a Brigade instance per test. SQLite in a temporary directory by default; with
//! `BRIGADE_TEST_DATABASE_URL` (a PostgreSQL server URL) a fresh database per test, dropped afterwards;
//! with `BRIGADE_TEST_REDIS_URL` Redis for cache, pub/sub and rate limits under a per-test key prefix.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use brigade_app::accounts::Role;
use brigade_app::accounts::service::{self, NewAccount};
use brigade_app::{AppState, StateOptions};
use brigade_platform::clock::ManualClock;
use brigade_platform::config::Config;
use chrono::TimeZone;
use http_body_util::BodyExt;
use secrecy::SecretString;
use serde_json::{Value, json};
use tower::ServiceExt;

pub struct TestApp {
    pub state: AppState,
    /// Built once: assembling the router (and its API document) per request cost more than most
    /// requests.
    pub service: brigade_app::http::Service,
    pub clock: ManualClock,
    pub client: SocketAddr,
    _dir: tempfile::TempDir,
    pub postgres: Option<(String, String)>,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
    pub bytes: Vec<u8>,
}

impl TestResponse {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }

    #[track_caller]
    pub fn assert_status(&self, status: StatusCode) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// An enveloped error with this status and code.
    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, code: &str) -> &Self {
        self.assert_status(status);
        assert_eq!(self.body["success"], json!(false), "{}", self.text);
        assert_eq!(self.code(), code, "{}", self.text);
        self
    }

    pub fn field_errors(&self, field: &str) -> Vec<String> {
        self.body["errors"][field]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub fn redis_url() -> Option<String> {
    std::env::var("BRIGADE_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// An S3-compatible endpoint for uploads (`BRIGADE_TEST_S3_ENDPOINT`; `.ci/run` starts one), whose bucket
/// `BRIGADE_TEST_S3_BUCKET` (default `brigade-test`) exists.
pub fn s3_endpoint() -> Option<String> {
    std::env::var("BRIGADE_TEST_S3_ENDPOINT")
        .ok()
        .filter(|u| !u.is_empty())
}

pub fn s3_config(endpoint: &str) -> brigade_platform::config::S3Config {
    brigade_platform::config::S3Config {
        bucket: std::env::var("BRIGADE_TEST_S3_BUCKET").unwrap_or_else(|_| "brigade-test".into()),
        endpoint: Some(endpoint.to_string()),
        region: "us-east-1".into(),
        access_key_id: Some("test".into()),
        secret_access_key: Some(SecretString::from("test")),
        allow_http: true,
    }
}

/// A fresh PostgreSQL database on the test server; returns (server URL, database name, database URL).
pub async fn create_pg_database(server: &str) -> (String, String, String) {
    use sea_orm::ConnectionTrait;
    let name = format!("brigade_t_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(server)
        .await
        .expect("connect to the PostgreSQL test server");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    admin.close().await.ok();
    let base = server
        .rsplit_once('/')
        .map(|(base, _)| base.to_string())
        .unwrap_or_else(|| server.to_string());
    (server.to_string(), name.clone(), format!("{base}/{name}"))
}

pub fn drop_pg_database(server: String, name: String) {
    // Drop from a thread with its own runtime: Drop cannot await, and the test's runtime is ending.
    let _ = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async move {
            use sea_orm::ConnectionTrait;
            if let Ok(admin) = sea_orm::Database::connect(&server).await {
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
                let _ = admin.close().await;
            }
        });
    })
    .join();
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// A test configuration (adjust it in `configure`) on the backends the environment names.
    pub async fn config(dir: &tempfile::TempDir) -> (Config, Option<(String, String)>) {
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            secret_key: Some(SecretString::from("test-secret-".repeat(4))),
            database_max_connections: 5,
            ..Config::default()
        };
        let mut postgres = None;
        if let Ok(server) = std::env::var("BRIGADE_TEST_DATABASE_URL")
            && !server.is_empty()
        {
            let (server, name, url) = create_pg_database(&server).await;
            config.database_url = Some(SecretString::from(url));
            postgres = Some((server, name));
        }
        if let Some(redis) = redis_url() {
            config.redis_url = Some(SecretString::from(redis));
            config.redis_prefix = format!("brigade-test-{}", uuid::Uuid::new_v4().simple());
        }
        if let Some(endpoint) = s3_endpoint() {
            config.storage.s3 = Some(s3_config(&endpoint));
        }
        (config, postgres)
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (mut config, postgres) = Self::config(&dir).await;
        configure(&mut config);
        let clock = ManualClock::new(chrono::Utc.with_ymd_and_hms(2026, 6, 15, 12, 0, 0).unwrap());
        let state = AppState::build(
            config,
            StateOptions {
                clock: Some(Arc::new(clock.clone())),
                inline_jobs: true,
            },
        )
        .await
        .expect("build the application state");
        TestApp {
            service: brigade_app::http::service(state.clone()),
            state,
            clock,
            client: "203.0.113.7:50000".parse().unwrap(),
            _dir: dir,
            postgres,
        }
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send(builder.body(body).unwrap()).await
    }

    pub async fn send(&self, mut request: Request<Body>) -> TestResponse {
        request.extensions_mut().insert(ConnectInfo(self.client));
        let response = self
            .service
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("read body")
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).to_string();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        TestResponse {
            status,
            headers,
            body,
            text,
            bytes: bytes.to_vec(),
        }
    }

    /// Open a Server-Sent-Events stream (the response must be 200).
    pub async fn sse(&self, path: &str, token: Option<&str>) -> SseStream {
        let mut builder = Request::builder().method(Method::GET).uri(path);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let mut request = builder.body(Body::empty()).unwrap();
        request.extensions_mut().insert(ConnectInfo(self.client));
        let response = self
            .service
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::OK, "stream refused");
        SseStream {
            body: response.into_body(),
            buffer: String::new(),
        }
    }

    /// A GET whose body is not JSON: (status, content type, bytes).
    pub async fn raw(&self, path: &str, token: Option<&str>) -> (StatusCode, String, Vec<u8>) {
        let response = self.get(path, token).await;
        let kind = response
            .headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or_default().to_string())
            .unwrap_or_default();
        (response.status, kind, response.bytes)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.request(Method::GET, path, None, token).await
    }

    pub async fn post(&self, path: &str, body: Value, token: Option<&str>) -> TestResponse {
        self.request(Method::POST, path, Some(body), token).await
    }

    pub async fn put(&self, path: &str, body: Value, token: Option<&str>) -> TestResponse {
        self.request(Method::PUT, path, Some(body), token).await
    }

    /// A POST of a CSV file (`text/csv`).
    pub async fn post_csv(&self, path: &str, csv: &str, token: &str) -> TestResponse {
        self.send(
            Request::builder()
                .method(Method::POST)
                .uri(path)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "text/csv")
                .body(Body::from(csv.to_string()))
                .unwrap(),
        )
        .await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.request(Method::DELETE, path, None, token).await
    }

    /// Create an account directly and sign it in; returns (user id, access token, refresh token).
    pub async fn user(&self, email: &str, role: Role) -> (uuid::Uuid, String, String) {
        let account = NewAccount::parse(email, "password-123", "Test", "User", None, role, None)
            .expect("valid account");
        let user = service::create_user(&self.state, account)
            .await
            .expect("create user");
        let tokens = service::issue_tokens(&self.state, &self.state.db, &user, None)
            .await
            .expect("tokens");
        (user.id, tokens.access_token, tokens.refresh_token)
    }

    /// A new access token for an existing account, issued at the test clock's "now".
    pub async fn token_for(&self, email: &str) -> String {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let user = brigade_app::entities::users::Entity::find()
            .filter(brigade_app::entities::users::Column::Email.eq(email))
            .one(&self.state.db)
            .await
            .unwrap()
            .expect("account exists");
        let role = user.role.parse().unwrap();
        self.state
            .keys
            .issue(user.id, role, self.state.now(), None)
            .unwrap()
            .0
    }

    pub async fn admin(&self) -> String {
        self.user("root@example.com", Role::Admin).await.1
    }

    /// Create a restaurant as admin; returns its id.
    pub async fn restaurant(&self, admin: &str, body: Value) -> String {
        let response = self.post("/api/restaurants", body, Some(admin)).await;
        response.assert_status(StatusCode::CREATED);
        response.data()["id"].as_str().unwrap().to_string()
    }
}

/// A live event stream read event by event.
pub struct SseStream {
    body: Body,
    buffer: String,
}

impl SseStream {
    /// Whether the stream ends (rather than waits for more) within 5 s.
    pub async fn ends(&mut self) -> bool {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            match tokio::time::timeout_at(deadline, self.body.frame()).await {
                Err(_) => return false,
                Ok(None) => return true,
                Ok(Some(_)) => continue,
            }
        }
    }

    /// The next event of type `kind` as (event, JSON data), skipping keep-alives and other types; panics
    /// after 10 s without one.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = "message";
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = if v.trim() == kind { kind } else { "other" };
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if event == kind {
                    return serde_json::from_str(&data).expect("JSON event data");
                }
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .unwrap_or_else(|_| panic!("no {kind} event within 10 s"))
                .expect("stream ended")
                .expect("stream error");
            if let Ok(bytes) = frame.into_data() {
                self.buffer.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((server, name)) = self.postgres.take() {
            drop_pg_database(server, name);
        }
    }
}
