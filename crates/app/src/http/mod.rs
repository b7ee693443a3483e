//! The HTTP edge: router assembly, middleware, the envelope, extractors, OpenAPI and ops endpoints.

pub mod access;
pub mod envelope;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod openapi;
pub mod ops;
pub mod text;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::state::AppState;

/// The OpenAPI document and the API routes it describes.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, spec) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(crate::accounts::routes::router())
        .merge(crate::accounts::users_routes::router())
        .merge(crate::restaurants::routes::router())
        .merge(crate::venues::routes::router())
        .merge(crate::menus::routes::router())
        .merge(crate::inventory::routes::router())
        .merge(crate::inventory::predictions::router())
        .merge(crate::orders::routes::router())
        .merge(crate::reservations::routes::router())
        .merge(crate::notifications::routes::router())
        .merge(crate::monitoring::routes::router())
        .merge(crate::analytics::routes::router())
        .merge(crate::crm::routes::router())
        .merge(crate::forecasting::routes::router())
        .merge(crate::kitchen::routes::router())
        .merge(crate::kitchen::predictions::router())
        .split_for_parts();
    let mut spec = spec;
    openapi::document_shared_refusals(&mut spec);
    openapi::derive_create_bodies(&mut spec);
    (router, spec)
}

/// Every route Brigade serves, with its middleware. Trailing slashes are normalised by [`service`].
pub fn router(state: AppState) -> Router {
    let (api, spec) = api();
    // Who may call each operation comes from its own annotation; see `access`.
    let table = serde_json::to_value(&spec)
        .map_err(|e| e.to_string())
        .and_then(|doc| access::AccessTable::from_openapi(&doc).map_err(|e| e.to_string()))
        .unwrap_or_else(|err| panic!("the OpenAPI document's security is invalid: {err}"));
    let api = api.route_layer(axum::middleware::from_fn_with_state(
        (state.clone(), std::sync::Arc::new(table)),
        access::authenticate,
    ));
    let config = &state.config;
    let request_id = HeaderName::from_static("x-request-id");
    let cors = if config.cors_origins.is_empty() {
        None
    } else {
        let origins: Vec<HeaderValue> = config
            .cors_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        Some(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([
                    Method::GET,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                ])
                .allow_headers([
                    header::CONTENT_TYPE,
                    header::AUTHORIZATION,
                    HeaderName::from_static("idempotency-key"),
                ])
                .expose_headers([request_id.clone(), header::RETRY_AFTER])
                .max_age(Duration::from_secs(3600)),
        )
    };
    let router = Router::new()
        .merge(api)
        .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", spec))
        .merge(ops::router())
        .merge(crate::web::router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::web::with_navigation,
        ))
        // Innermost: whatever drops the request (timeout, a client gone) drops only this layer's wait.
        .layer(axum::middleware::from_fn(middleware::run_to_completion))
        .layer(axum::middleware::from_fn(middleware::reject_nul))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::rate_limit,
        ))
        .layer(axum::middleware::from_fn(middleware::track_metrics))
        .layer(DefaultBodyLimit::max(config.body_limit_bytes))
        .layer(RequestBodyLimitLayer::new(config.body_limit_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(config.request_timeout_secs.max(1)),
        ));
    let router = match cors {
        Some(cors) => router.layer(cors),
        None => router,
    };
    // Outside every layer that can answer on its own (timeout, body limit, CORS), so whatever refuses
    // an `/api` request, the answer is the envelope.
    let router = router
        .layer(axum::middleware::from_fn(middleware::envelope_errors))
        .layer(axum::middleware::from_fn_with_state(
            config.public_url.starts_with("https://"),
            middleware::security_headers,
        ));
    router
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// The router behind trailing-slash normalisation, ready for `axum::serve`.
/// The whole HTTP service: the router behind path normalisation. Building it assembles the API
/// document, so build it once and clone it (cheap) per connection or request.
pub type Service = tower::util::MapRequest<Router, fn(Request) -> Request>;

pub fn service(state: AppState) -> Service {
    let normalize: fn(Request) -> Request = middleware::normalize_path;
    tower::ServiceExt::map_request(router(state), normalize)
}

async fn not_found(request: Request) -> Response {
    if request.uri().path().starts_with("/api/") || request.uri().path() == "/api" {
        error::ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no endpoint at {}", request.uri().path()),
        )
        .into_response()
    } else {
        crate::web::not_found_page().into_response()
    }
}
