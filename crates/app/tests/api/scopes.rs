//! API-key scopes: every operation of the OpenAPI document declares who may call it, and a key without
//! the declared scope is refused before the handler runs, whatever the operation.

use axum::http::{Method, StatusCode};
use brigade_app::accounts::Scope;
use serde_json::{Value, json};

use crate::harness::TestApp;

const REFUSALS: [&str; 2] = ["insufficient_scope", "api_key_not_allowed"];

async fn key_with(app: &TestApp, token: &str, scopes: &[&str]) -> String {
    let response = app
        .post(
            "/api/auth/api-keys",
            json!({"name": format!("key {}", scopes.len()), "scopes": scopes}),
            Some(token),
        )
        .await;
    response.assert_status(StatusCode::CREATED);
    response.data()["secret"].as_str().unwrap().to_string()
}

/// Every operation of the document as (method, path template, operation).
fn operations(spec: &Value) -> Vec<(Method, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            all.push((method, path.clone(), operation.clone()));
        }
    }
    all
}

/// The scope an operation's security names for API keys, if it admits them.
fn key_scope(operation: &Value) -> Option<String> {
    operation["security"]
        .as_array()?
        .iter()
        .find_map(|requirement| requirement["api_key"][0].as_str().map(String::from))
}

fn is_event_stream(operation: &Value) -> bool {
    operation["responses"]["200"]["content"]
        .as_object()
        .is_some_and(|content| content.contains_key("text/event-stream"))
}

#[tokio::test]
async fn every_operation_declares_who_may_call_it_and_keys_without_its_scope_are_refused() {
    let app = TestApp::spawn_with(|config| config.rate_limit.enabled = false).await;
    let admin = app.admin().await;
    let venue = app
        .restaurant(
            &admin,
            json!({"name": "Scope Kitchen", "timezone": "Europe/London", "currency": "GBP"}),
        )
        .await;
    let spec = app.get("/api/openapi.json", None).await.body;
    let operations = operations(&spec);
    assert!(operations.len() >= 120, "{} operations", operations.len());

    let mut keys = Vec::new();
    for scope in Scope::ALL {
        keys.push((
            scope.as_str(),
            key_with(&app, &admin, &[scope.as_str()]).await,
        ));
    }
    let every_scope: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    let all_scopes = key_with(&app, &admin, &every_scope).await;

    let mut undeclared = Vec::new();
    let mut admitted_without_scope = Vec::new();
    let mut refused_with_scope = Vec::new();
    for (method, template, operation) in &operations {
        if operation["security"]
            .as_array()
            .is_none_or(|s| s.is_empty())
        {
            undeclared.push(format!("{method} {template}"));
            continue;
        }
        let path = template
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    venue.as_str()
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));
        let required = key_scope(operation);
        for (scope, key) in &keys {
            if required.as_deref() == Some(*scope) {
                continue;
            }
            let response = app
                .request(method.clone(), &path, body.clone(), Some(key))
                .await;
            if response.status != StatusCode::FORBIDDEN || !REFUSALS.contains(&response.code()) {
                admitted_without_scope.push(format!(
                    "{method} {template} with {scope}: {} {}",
                    response.status,
                    response.code()
                ));
            }
        }
        // The key with every scope is refused exactly where the operation admits no keys.
        if !is_event_stream(operation) {
            let response = app
                .request(method.clone(), &path, body.clone(), Some(&all_scopes))
                .await;
            let refused =
                response.status == StatusCode::FORBIDDEN && REFUSALS.contains(&response.code());
            if refused != required.is_none() {
                refused_with_scope.push(format!(
                    "{method} {template} (declares {required:?}): {} {}",
                    response.status,
                    response.code()
                ));
            }
        }
    }
    assert!(
        undeclared.is_empty(),
        "operations without a security declaration: {undeclared:#?}"
    );
    assert!(
        admitted_without_scope.is_empty(),
        "API keys admitted without the declared scope: {admitted_without_scope:#?}"
    );
    assert!(
        refused_with_scope.is_empty(),
        "keys with every scope answered against the declaration: {refused_with_scope:#?}"
    );
}

#[tokio::test]
async fn keys_never_reach_account_key_or_user_administration() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let every_scope: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    let key = key_with(&app, &admin, &every_scope).await;
    let spec = app.get("/api/openapi.json", None).await.body;
    for (method, template, operation) in operations(&spec) {
        let administration = template.starts_with("/api/auth/")
            || (template.starts_with("/api/users") && method != Method::GET);
        if administration {
            assert_eq!(
                key_scope(&operation),
                None,
                "{method} {template} must not admit API keys"
            );
        }
    }
    // The audit's escalation: an administrator's read-only key creating an administrator.
    let read_only = key_with(&app, &admin, &["orders:read"]).await;
    for key in [&read_only, &key] {
        app.post(
            "/api/users",
            json!({"email": "mallory@example.com", "password": "password-123",
                   "first_name": "M", "last_name": "X", "role": "admin"}),
            Some(key),
        )
        .await
        .assert_error(StatusCode::FORBIDDEN, "api_key_not_allowed");
        app.post(
            "/api/auth/api-keys",
            json!({"name": "more", "scopes": ["users:read"]}),
            Some(key),
        )
        .await
        .assert_error(StatusCode::FORBIDDEN, "api_key_not_allowed");
        app.put(
            "/api/auth/me/password",
            json!({"current_password": "password-123", "new_password": "password-456"}),
            Some(key),
        )
        .await
        .assert_error(StatusCode::FORBIDDEN, "api_key_not_allowed");
    }
    // An event stream takes its key from the query string too, and checks it the same way.
    app.get(
        &format!("/api/notifications/stream?access_token={read_only}"),
        None,
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "insufficient_scope");
}
