//! The API conventions every endpoint shares: the envelope, error codes, body limits, pagination,
//! trailing slashes and request ids.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use brigade_app::entities::restaurants;
use futures::StreamExt;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

use crate::harness::TestApp;

#[tokio::test]
async fn malformed_and_mistyped_bodies_are_enveloped_4xx_and_change_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let id = app
        .restaurant(
            &admin,
            json!({"name": "Stable", "timezone": "Europe/Paris"}),
        )
        .await;
    let path = format!("/api/restaurants/{id}");

    let raw = |body: &str, content_type: &str| {
        Request::builder()
            .method(Method::PUT)
            .uri(&path)
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    app.send(raw("{\"name\": ", "application/json"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_json");
    app.send(raw("{\"name\": \"x\"}", "text/plain"))
        .await
        .assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let wrong_type = app.send(raw("{\"name\": 42}", "application/json")).await;
    wrong_type.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(
        wrong_type.field_errors("name")[0].contains("invalid type"),
        "{}",
        wrong_type.text
    );
    let bad_enum = app
        .send(raw("{\"status\": \"closed-forever\"}", "application/json"))
        .await;
    bad_enum.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(
        bad_enum.field_errors("status")[0].contains("unknown variant"),
        "{}",
        bad_enum.text
    );
    let nested = app
        .send(raw(
            "{\"hours\": [{\"weekday\": 1, \"opens\": \"9am\", \"closes\": \"17:00\"}]}",
            "application/json",
        ))
        .await;
    nested.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(
        !nested.field_errors("hours[0].opens").is_empty(),
        "{}",
        nested.text
    );
    let unknown_field = app
        .send(raw("{\"colour\": \"red\"}", "application/json"))
        .await;
    unknown_field.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    let missing = app
        .post("/api/auth/login", json!({"email": "a@b.co"}), None)
        .await;
    missing.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        missing.field_errors("password"),
        vec!["missing field `password`"]
    );

    let after = app.get(&path, Some(&admin)).await;
    assert_eq!(after.data()["name"], "Stable");
    assert_eq!(after.data()["timezone"], "Europe/Paris");
}

#[tokio::test]
async fn oversized_bodies_are_413_in_the_envelope() {
    let app = TestApp::spawn_with(|config| config.body_limit_bytes = 2048).await;
    let big = json!({"email": "a@example.com", "password": "x".repeat(5000)});
    app.post("/api/auth/login", big, None)
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

/// A request whose headers and body are as given (no JSON helper adjusting them).
fn raw_request(method: Method, uri: &str, headers: &[(&str, &str)], body: Body) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body).unwrap()
}

#[tokio::test]
async fn whatever_layer_refuses_an_api_request_answers_in_the_envelope() {
    let app = TestApp::spawn_with(|config| {
        config.body_limit_bytes = 2048;
        config.request_timeout_secs = 1;
    })
    .await;
    // 413 from the body limit, judged by Content-Length before any handler runs.
    let big = "x".repeat(5000);
    let response = app
        .send(raw_request(
            Method::POST,
            "/api/auth/login",
            &[
                ("content-type", "application/json"),
                ("content-length", "5000"),
            ],
            Body::from(big),
        ))
        .await;
    response.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert!(
        response.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    // 408 from the timeout: a body that stops arriving.
    let stalled = futures::stream::once(async {
        Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"{\"email\":"))
    })
    .chain(futures::stream::pending());
    let response = app
        .send(raw_request(
            Method::POST,
            "/api/auth/login",
            &[("content-type", "application/json")],
            Body::from_stream(stalled),
        ))
        .await;
    response.assert_error(StatusCode::REQUEST_TIMEOUT, "request_timeout");
    // 414 for a request target past the limit.
    let long = format!("/api/venues?q={}", "a".repeat(9000));
    let response = app.get(&long, None).await;
    response.assert_error(StatusCode::URI_TOO_LONG, "uri_too_long");
    // 405 with the methods that are allowed.
    let response = app.request(Method::PATCH, "/api/venues", None, None).await;
    response.assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

#[tokio::test]
async fn pages_and_answers_carry_the_browser_hardening_headers() {
    let app = TestApp::spawn().await;
    for path in ["/login", "/api/venues", "/no/such/page"] {
        let response = app.get(path, None).await;
        let csp = response.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert_eq!(response.headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(response.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(
            response.headers[header::REFERRER_POLICY],
            "strict-origin-when-cross-origin"
        );
        assert!(
            !response
                .headers
                .contains_key(header::STRICT_TRANSPORT_SECURITY),
            "plain http: no HSTS"
        );
    }
    let https =
        TestApp::spawn_with(|config| config.public_url = "https://brigade.example".into()).await;
    let response = https.get("/login", None).await;
    assert!(
        response.headers[header::STRICT_TRANSPORT_SECURITY]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
}

#[tokio::test]
async fn odd_media_paths_are_not_found_never_a_server_error() {
    let app = TestApp::spawn().await;
    for path in [
        "/media/./x",
        "/media/a/../b",
        "/media/%00",
        "/media/x%00.png",
        "/media/.",
        "/media/a//b",
    ] {
        let response = app.get(path, None).await;
        assert_eq!(
            response.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            response.text
        );
    }
    // A NUL anywhere in a page's address is refused as a page; in the API, in the envelope.
    let response = app.get("/login?next=%00", None).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    app.get("/api/venues/%00", None)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

#[tokio::test]
async fn framework_errors_use_the_envelope_too() {
    let app = TestApp::spawn().await;
    let not_allowed = app.delete("/api/auth/login", None).await;
    not_allowed.assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(not_allowed.headers[header::ALLOW], "POST");
    app.get("/api/no/such/thing", None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    let admin = app.admin().await;
    app.get("/api/restaurants/not-a-uuid", Some(&admin))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_path");
    app.get(
        "/api/restaurants/0190b9b4-0000-7000-8000-000000000000",
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    let open = app.get("/api/restaurants?status=open", Some(&admin)).await;
    open.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(!open.field_errors("status").is_empty());
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_trailing_slashes_are_the_same_route() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let with = app.get("/api/restaurants/", Some(&admin)).await;
    let without = app.get("/api/restaurants", Some(&admin)).await;
    with.assert_status(StatusCode::OK);
    assert_eq!(with.body, without.body);
    let id = with.headers["x-request-id"].to_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 4);
    assert_ne!(id, without.headers["x-request-id"].to_str().unwrap());

    let mut request = Request::builder()
        .uri("/health")
        .header("x-request-id", "trace-me-123")
        .body(Body::empty())
        .unwrap();
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(app.client));
    let echoed = app.send(request).await;
    assert_eq!(echoed.headers["x-request-id"], "trace-me-123");
}

#[tokio::test]
async fn lists_paginate_the_same_way_everywhere() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for i in 0..5 {
        app.restaurant(
            &admin,
            json!({"name": format!("Place {i}"), "timezone": "UTC"}),
        )
        .await;
    }
    assert_eq!(
        restaurants::Entity::find()
            .count(&app.state.db)
            .await
            .unwrap(),
        5
    );
    let page2 = app
        .get("/api/restaurants?page=2&per_page=2", Some(&admin))
        .await;
    page2.assert_status(StatusCode::OK);
    assert_eq!(
        page2.data()["pagination"],
        json!({"page": 2, "per_page": 2, "total": 5, "total_pages": 3})
    );
    let names: Vec<&str> = page2.data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Place 2", "Place 3"]);
    let past_end = app
        .get("/api/restaurants?page=9&per_page=2", Some(&admin))
        .await;
    assert_eq!(past_end.data()["items"], json!([]));
    // Bounds are the extractor's: refused with the parameter named, whatever the list.
    for (query, field) in [
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page=1000001", "page"),
        ("page=461168601842738792", "page"),
        ("page=99999999999999999999999", "page"),
        ("page=-1", "page"),
    ] {
        let refused = app
            .get(&format!("/api/restaurants?{query}"), Some(&admin))
            .await;
        refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert!(
            !refused.field_errors(field).is_empty(),
            "{query}: {}",
            refused.text
        );
    }
    // The audit's case: unauthenticated, and the whole pagination multiplied out of range.
    app.get("/api/venues?page=461168601842738792", None)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    app.get("/api/venues?page=1000000&per_page=100", None)
        .await
        .assert_status(StatusCode::OK);
    let sorted = app
        .get("/api/restaurants?sort=-name&per_page=1", Some(&admin))
        .await;
    assert_eq!(sorted.data()["items"][0]["name"], "Place 4");
}

#[tokio::test]
async fn per_ip_limits_apply_to_all_api_requests() {
    let app = TestApp::spawn_with(|config| config.rate_limit.per_ip_per_minute = 3).await;
    let statuses: Vec<u16> =
        futures::future::join_all((0..5).map(|_| app.get("/api/restaurants", None)))
            .await
            .into_iter()
            .map(|r| r.status.as_u16())
            .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        2,
        "{statuses:?}"
    );
    // Pages and health checks are not API calls.
    app.get("/health", None).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn cors_answers_configured_origins_only() {
    let app =
        TestApp::spawn_with(|config| config.cors_origins = vec!["https://app.example".into()])
            .await;
    let preflight = |origin: &str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/api/auth/login")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
            .body(Body::empty())
            .unwrap()
    };
    let allowed = app.send(preflight("https://app.example")).await;
    assert_eq!(
        allowed.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example"
    );
    assert!(
        allowed.headers[header::ACCESS_CONTROL_ALLOW_METHODS]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    let refused = app.send(preflight("https://evil.example")).await;
    assert!(
        refused
            .headers
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );

    let plain = TestApp::spawn().await;
    let none = plain.send(preflight("https://app.example")).await;
    assert!(
        none.headers
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none(),
        "no CORS unless configured"
    );
}

/// The pages' content policy allows no inline scripts or handlers, so an `onclick` in a template is a
/// button that silently does nothing: none may be written.
#[test]
fn no_template_relies_on_an_inline_handler_the_content_policy_blocks() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let lower = line.to_ascii_lowercase();
            for handler in [
                " onclick=",
                " onchange=",
                " onsubmit=",
                " oninput=",
                " onload=",
            ] {
                if lower.contains(handler) {
                    found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
            if lower.contains("<script>") || lower.contains("<script type=\"text/javascript\">") {
                found.push(format!("{}:{}: an inline script", path.display(), n + 1));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}
