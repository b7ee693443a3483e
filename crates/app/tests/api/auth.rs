use axum::http::StatusCode;
use brigade_app::accounts::Role;
use brigade_app::entities::{mail_outbox, users};
use chrono::Duration;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

use crate::harness::TestApp;

fn registration(email: &str) -> serde_json::Value {
    json!({"email": email, "password": "correct horse", "first_name": "Ana", "last_name": "Silva", "phone": "+44 20 7946 0000"})
}

#[tokio::test]
async fn register_login_me_refresh_logout() {
    let app = TestApp::spawn().await;
    let created = app
        .post("/api/auth/register/", registration("Ana@Example.com"), None)
        .await;
    created.assert_status(StatusCode::CREATED);
    assert_eq!(created.body["success"], json!(true));
    assert_eq!(created.data()["user"]["email"], "ana@example.com");
    assert_eq!(created.data()["user"]["role"], "customer");

    let login = app
        .post(
            "/api/auth/login",
            json!({"email": "ANA@example.com", "password": "correct horse"}),
            None,
        )
        .await;
    login.assert_status(StatusCode::OK);
    let tokens = &login.data()["tokens"];
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();

    let me = app.get("/api/auth/me/", Some(&access)).await;
    me.assert_status(StatusCode::OK);
    assert_eq!(me.data()["first_name"], "Ana");
    assert!(me.data()["last_login_at"].is_string());

    // Rotation: the new refresh token works, the old one is refused and takes the whole family with it.
    let rotated = app
        .post(
            "/api/auth/refresh-token",
            json!({"refresh_token": refresh}),
            None,
        )
        .await;
    rotated.assert_status(StatusCode::OK);
    let refresh2 = rotated.data()["tokens"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(refresh2, refresh);
    let new_access = rotated.data()["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    app.get("/api/auth/me", Some(&new_access))
        .await
        .assert_status(StatusCode::OK);

    app.post(
        "/api/auth/refresh-token",
        json!({"refresh_token": refresh}),
        None,
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "refresh_token_reused");
    // The stolen chain is over, access tokens included.
    app.get("/api/auth/me", Some(&new_access))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token_revoked");
    app.post(
        "/api/auth/refresh-token",
        json!({"refresh_token": refresh2}),
        None,
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "refresh_token_reused");

    // A fresh sign-in, then logout revokes it.
    let login = app
        .post(
            "/api/auth/login",
            json!({"email": "ana@example.com", "password": "correct horse"}),
            None,
        )
        .await;
    let refresh3 = login.data()["tokens"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let access3 = login.data()["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    // In use (and so cached as live) right up to the logout...
    app.get("/api/auth/me", Some(&access3))
        .await
        .assert_status(StatusCode::OK);
    app.post("/api/auth/logout", json!({"refresh_token": refresh3}), None)
        .await
        .assert_status(StatusCode::OK);
    // ...and ended with it, not an hour later.
    app.get("/api/auth/me", Some(&access3))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token_revoked");

    app.post(
        "/api/auth/refresh-token",
        json!({"refresh_token": refresh3}),
        None,
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "refresh_token_reused");
    app.post(
        "/api/auth/refresh-token",
        json!({"refresh_token": "rt_made_up"}),
        None,
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
}

#[tokio::test]
async fn registration_validates_every_field_and_refuses_duplicates() {
    let app = TestApp::spawn().await;
    let bad = app
        .post("/api/auth/register", json!({"email": "nope", "password": "short", "first_name": " ", "last_name": "X", "phone": "call me"}), None)
        .await;
    bad.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    for field in ["email", "password", "first_name", "phone"] {
        assert!(
            !bad.field_errors(field).is_empty(),
            "{field} should be named: {}",
            bad.text
        );
    }
    assert_eq!(
        users::Entity::find().count(&app.state.db).await.unwrap(),
        0,
        "nothing stored after bad input"
    );

    app.post("/api/auth/register", registration("dup@example.com"), None)
        .await
        .assert_status(StatusCode::CREATED);
    let dup = app
        .post("/api/auth/register", registration("DUP@example.com"), None)
        .await;
    dup.assert_error(StatusCode::CONFLICT, "email_taken");
    assert_eq!(dup.field_errors("email"), vec!["is already registered"]);
    assert_eq!(users::Entity::find().count(&app.state.db).await.unwrap(), 1);
}

#[tokio::test]
async fn wrong_passwords_are_refused_and_repeated_failures_throttled() {
    let mut app = TestApp::spawn().await;
    app.user("cook@example.com", Role::Customer).await;
    let wrong = json!({"email": "cook@example.com", "password": "not-the-password"});
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(
            app.post("/api/auth/login", wrong.clone(), None)
                .await
                .status
                .as_u16(),
        );
    }
    // Five failures are allowed per window, then the address is locked out.
    assert_eq!(
        statuses,
        vec![401, 401, 401, 401, 401, 429, 429, 429, 429, 429]
    );
    let locked = app
        .post(
            "/api/auth/login",
            json!({"email": "cook@example.com", "password": "password-123"}),
            None,
        )
        .await;
    locked.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry_after: u64 = locked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");

    // Another address is not affected; and after the window the right password works again.
    let home = app.client;
    app.client = "198.51.100.1:4000".parse().unwrap();
    app.post("/api/auth/login", wrong.clone(), None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    app.client = home;
    app.clock.advance(Duration::seconds(retry_after as i64 + 1));
    app.post(
        "/api/auth/login",
        json!({"email": "cook@example.com", "password": "password-123"}),
        None,
    )
    .await
    .assert_status(StatusCode::OK);
    // Unknown e-mail addresses get the same answer as wrong passwords.
    app.post(
        "/api/auth/login",
        json!({"email": "ghost@example.com", "password": "whatever-1"}),
        None,
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
}

#[tokio::test]
async fn bad_expired_and_tampered_tokens_are_401() {
    let app = TestApp::spawn().await;
    let (id, token, _) = app.user("t@example.com", Role::Customer).await;
    app.get("/api/auth/me", None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    app.get("/api/auth/me", Some("garbage"))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    app.get("/api/auth/me", Some(&tampered))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");

    let (expired, _) = app
        .state
        .keys
        .issue(
            id,
            Role::Customer,
            app.state.now() - Duration::hours(2),
            None,
        )
        .unwrap();
    app.get("/api/auth/me", Some(&expired))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token_expired");

    // A token whose role claim says admin is still judged by the stored role.
    let (claimed_admin, _) = app
        .state
        .keys
        .issue(id, Role::Admin, app.state.now(), None)
        .unwrap();
    app.get("/api/users", Some(&claimed_admin))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");

    // Disabled accounts are refused even with a valid token.
    let admin = app.admin().await;
    app.put(
        &format!("/api/users/{id}"),
        json!({"is_active": false}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::OK);
    app.get("/api/auth/me", Some(&token))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "account_disabled");
}

#[tokio::test]
async fn password_reset_is_single_use_and_expires() {
    let app = TestApp::spawn().await;
    let (_, _, refresh) = app.user("reset@example.com", Role::Customer).await;

    let unknown = app
        .post(
            "/api/auth/password-reset",
            json!({"email": "nobody@example.com"}),
            None,
        )
        .await;
    unknown.assert_status(StatusCode::ACCEPTED);
    assert_eq!(
        mail_outbox::Entity::find()
            .count(&app.state.db)
            .await
            .unwrap(),
        0
    );

    let known = app
        .post(
            "/api/auth/password-reset/",
            json!({"email": "reset@example.com"}),
            None,
        )
        .await;
    known.assert_status(StatusCode::ACCEPTED);
    assert_eq!(
        known.body["message"], unknown.body["message"],
        "the answer does not reveal which addresses exist"
    );
    let mail = mail_outbox::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to_address, "reset@example.com");
    assert_eq!(
        mail[0].status, "kept",
        "no SMTP configured: kept for the CLI"
    );
    let token = mail[0]
        .body
        .split("reset token: ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(
        mail[0]
            .body
            .contains(&format!("/reset-password?token={token}"))
    );

    app.post(
        "/api/auth/password-reset/confirm",
        json!({"token": token, "new_password": "short"}),
        None,
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    app.post(
        "/api/auth/password-reset/confirm",
        json!({"token": token, "new_password": "brand new secret"}),
        None,
    )
    .await
    .assert_status(StatusCode::OK);
    app.post(
        "/api/auth/password-reset/confirm",
        json!({"token": token, "new_password": "another secret"}),
        None,
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "invalid_reset_token");
    app.post(
        "/api/auth/login",
        json!({"email": "reset@example.com", "password": "brand new secret"}),
        None,
    )
    .await
    .assert_status(StatusCode::OK);
    // The reset signed out the sessions that existed before it.
    app.post(
        "/api/auth/refresh-token",
        json!({"refresh_token": refresh}),
        None,
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "refresh_token_reused");

    // A token older than an hour is refused.
    app.post(
        "/api/auth/password-reset",
        json!({"email": "reset@example.com"}),
        None,
    )
    .await;
    let mail = mail_outbox::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    let newest = mail.iter().max_by_key(|m| m.created_at).unwrap();
    let late = newest
        .body
        .split("reset token: ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    app.clock.advance(Duration::minutes(61));
    app.post(
        "/api/auth/password-reset/confirm",
        json!({"token": late, "new_password": "too late now"}),
        None,
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "invalid_reset_token");
}

#[tokio::test]
async fn profile_updates_are_validated() {
    let app = TestApp::spawn().await;
    let (_, token, _) = app.user("p@example.com", Role::Kam).await;
    let updated = app
        .put(
            "/api/auth/me",
            json!({"timezone": "Asia/Kolkata", "first_name": "Priya"}),
            Some(&token),
        )
        .await;
    updated.assert_status(StatusCode::OK);
    assert_eq!(updated.data()["timezone"], "Asia/Kolkata");
    assert_eq!(updated.data()["first_name"], "Priya");
    let bad = app
        .put(
            "/api/auth/me",
            json!({"timezone": "Mars/Olympus"}),
            Some(&token),
        )
        .await;
    bad.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(bad.field_errors("timezone").len(), 1);
    app.put("/api/auth/me", json!({"role": "admin"}), Some(&token))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let me = app.get("/api/auth/me", Some(&token)).await;
    assert_eq!(me.data()["role"], "kam");
    assert_eq!(me.data()["timezone"], "Asia/Kolkata");
}

#[tokio::test]
async fn changing_the_password_signs_out_other_sessions() {
    let app = TestApp::spawn().await;
    let (_, token, refresh) = app.user("c@example.com", Role::Customer).await;
    app.put(
        "/api/auth/me/password",
        json!({"current_password": "nope-nope", "new_password": "whatever-2"}),
        Some(&token),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "wrong_password");
    app.put(
        "/api/auth/me/password",
        json!({"current_password": "password-123", "new_password": "new-password-9"}),
        Some(&token),
    )
    .await
    .assert_status(StatusCode::OK);
    app.get("/api/auth/me", Some(&token))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token_revoked");
    app.post(
        "/api/auth/refresh-token",
        json!({"refresh_token": refresh}),
        None,
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "refresh_token_reused");
    app.post(
        "/api/auth/login",
        json!({"email": "c@example.com", "password": "new-password-9"}),
        None,
    )
    .await
    .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn api_keys_are_scoped_and_revocable() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.restaurant(&admin, json!({"name": "Keyed", "timezone": "UTC"}))
        .await;

    let bad = app
        .post(
            "/api/auth/api-keys",
            json!({"name": "x", "scopes": ["everything"]}),
            Some(&admin),
        )
        .await;
    bad.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    let created = app
        .post(
            "/api/auth/api-keys",
            json!({"name": "reader", "scopes": ["restaurants:read"]}),
            Some(&admin),
        )
        .await;
    created.assert_status(StatusCode::CREATED);
    let key = created.data()["secret"].as_str().unwrap().to_string();
    let key_id = created.data()["key"]["id"].as_str().unwrap().to_string();
    assert!(key.starts_with("brg_"));
    assert_eq!(
        created.data()["key"]["prefix"].as_str().unwrap(),
        &key[..12]
    );

    let list = app.get("/api/restaurants", Some(&key)).await;
    list.assert_status(StatusCode::OK);
    assert_eq!(list.data()["pagination"]["total"], 1);
    // The key lacks restaurants:write.
    app.post(
        "/api/restaurants",
        json!({"name": "Nope", "timezone": "UTC"}),
        Some(&key),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "insufficient_scope");
    // Keys cannot mint keys.
    app.post(
        "/api/auth/api-keys",
        json!({"name": "child", "scopes": ["restaurants:read"]}),
        Some(&key),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "api_key_not_allowed");
    let keys = app.get("/api/auth/api-keys", Some(&admin)).await;
    assert!(
        keys.data()[0]["last_used_at"].is_string(),
        "use is recorded: {}",
        keys.text
    );

    app.delete(&format!("/api/auth/api-keys/{key_id}"), Some(&admin))
        .await
        .assert_status(StatusCode::OK);
    app.get("/api/restaurants", Some(&key))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
    app.get("/api/restaurants", Some("brg_madeup"))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
}

#[tokio::test]
async fn only_admins_manage_users() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (kam_id, kam, _) = app.user("kam@example.com", Role::Kam).await;
    app.get("/api/users", Some(&kam))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    app.get(&format!("/api/users/{kam_id}"), Some(&kam))
        .await
        .assert_status(StatusCode::OK);

    let created = app
        .post("/api/users", json!({"email": "new.kam@example.com", "password": "password-77", "first_name": "N", "last_name": "K",
            "role": "kam", "timezone": "America/New_York"}), Some(&admin))
        .await;
    created.assert_status(StatusCode::CREATED);
    assert_eq!(created.data()["role"], "kam");
    let bad_role = app
        .post("/api/users", json!({"email": "x@example.com", "password": "password-77", "first_name": "N", "last_name": "K",
            "role": "chef"}), Some(&admin))
        .await;
    bad_role.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(
        !bad_role.field_errors("role").is_empty(),
        "{}",
        bad_role.text
    );

    let kams = app
        .get("/api/users?role=kam&per_page=1", Some(&admin))
        .await;
    kams.assert_status(StatusCode::OK);
    assert_eq!(kams.data()["pagination"]["total"], 2);
    assert_eq!(kams.data()["pagination"]["total_pages"], 2);
    assert_eq!(kams.data()["items"].as_array().unwrap().len(), 1);
    let search = app.get("/api/users?q=NEW.KAM", Some(&admin)).await;
    assert_eq!(search.data()["pagination"]["total"], 1);

    let admin_id = app.get("/api/auth/me", Some(&admin)).await.data()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.put(
        &format!("/api/users/{admin_id}"),
        json!({"role": "kam"}),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "cannot_demote_self");
}

#[tokio::test]
async fn a_role_change_takes_effect_on_the_next_request() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (kam_id, kam, _) = app.user("kam.role@example.com", Role::Kam).await;
    // Used once, so its role is cached.
    app.get("/api/monitoring/reports", Some(&kam))
        .await
        .assert_status(StatusCode::OK);
    app.put(
        &format!("/api/users/{kam_id}"),
        json!({"role": "customer"}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::OK);
    app.get("/api/monitoring/reports", Some(&kam))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
}
