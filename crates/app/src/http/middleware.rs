//! Cross-cutting request handling: client address, rate limits, metrics, the envelope for errors the
//! framework itself produces, and trailing-slash normalisation.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use brigade_platform::ratelimit::{Decision, Limit};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use crate::state::AppState;

/// The caller's address: the socket peer, or the first `X-Forwarded-For` hop when configured to trust it.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

pub fn client_ip(
    parts_headers: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
    trust_forwarded: bool,
) -> IpAddr {
    if trust_forwarded {
        let forwarded = parts_headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        if let Some(ip) = forwarded {
            return ip;
        }
    }
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(
            &parts.headers,
            &parts.extensions,
            state.config.rate_limit.trust_forwarded_for,
        )))
    }
}

const AUTH_PATHS: [&str; 5] = [
    "/api/auth/login",
    "/api/auth/register",
    "/api/auth/guest",
    "/api/auth/password-reset",
    "/api/auth/password-reset/confirm",
];

fn minute(name: &'static str, max: u32) -> Limit {
    Limit {
        name,
        max,
        window: Duration::from_secs(60),
    }
}

/// Per-IP and per-credential limits on `/api`, stricter on sign-in and reset endpoints. When the limiter
/// itself fails (Redis down) requests go through and the failure is logged.
pub async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let config = &state.config.rate_limit;
    let path = request.uri().path();
    if !config.enabled || !path.starts_with("/api/") {
        return next.run(request).await;
    }
    let ip = client_ip(
        request.headers(),
        request.extensions(),
        config.trust_forwarded_for,
    )
    .to_string();
    let mut checks: Vec<(Limit, String)> =
        vec![(minute("ip", config.per_ip_per_minute), ip.clone())];
    if AUTH_PATHS.contains(&path) || path == "/api/auth/refresh-token" {
        checks.push((minute("auth_ip", config.auth_per_ip_per_minute), ip));
    }
    if let Some(token) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let id = hex::encode(&Sha256::digest(token.as_bytes())[..12]);
        checks.push((minute("token", config.per_token_per_minute), id));
    }
    let mut tightest: Option<Decision> = None;
    for (limit, key) in &checks {
        match state.limiter.hit(limit, key).await {
            Ok(decision) if !decision.allowed => {
                metrics::counter!("brigade_rate_limited_total", "limit" => limit.name).increment(1);
                let mut response = ApiError::rate_limited(decision.reset_after).into_response();
                set_rate_headers(&mut response, &decision);
                return response;
            }
            Ok(decision) => {
                if tightest
                    .as_ref()
                    .is_none_or(|t| decision.remaining < t.remaining)
                {
                    tightest = Some(decision);
                }
            }
            Err(err) => {
                tracing::warn!(%err, "rate limiter unavailable; letting the request through")
            }
        }
    }
    let mut response = next.run(request).await;
    if let Some(decision) = tightest {
        set_rate_headers(&mut response, &decision);
    }
    response
}

fn set_rate_headers(response: &mut Response, decision: &Decision) {
    let headers = response.headers_mut();
    for (name, value) in [
        ("ratelimit-limit", decision.limit.to_string()),
        ("ratelimit-remaining", decision.remaining.to_string()),
        (
            "ratelimit-reset",
            decision.reset_after.as_secs().max(1).to_string(),
        ),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
}

/// Requests by route and status, with latency.
pub async fn track_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The longest request target (path and query) Brigade reads; longer ones are refused with 414 in the
/// envelope. (Past 65,534 bytes the HTTP parser itself answers 414, before any of Brigade runs.)
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Under `/api`, any error response that is not already JSON (405 from the router, 413 from the body
/// limit, 408 from the timeout) is rewritten into the envelope; request targets over
/// [`MAX_URI_BYTES`] are refused here with 414.
pub async fn envelope_errors(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let target_len = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if target_len > MAX_URI_BYTES {
        let err = ApiError::new(
            axum::http::StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the request target is {target_len} bytes; at most {MAX_URI_BYTES} are read"),
        );
        return if is_api {
            err.into_response()
        } else {
            crate::web::error_page(err.status, "Address too long", &err.message)
        };
    }
    let response = next.run(request).await;
    let status = response.status();
    if !is_api || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut enveloped = ApiError::from_status(status).into_response();
    if let Some(allow) = allow {
        enveloped.headers_mut().insert(header::ALLOW, allow);
    }
    enveloped
}

/// The content policy of every page: Brigade's own scripts, styles and images only (inline `style`
/// attributes allowed; no inline scripts), never framed by another site.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; \
    connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
    frame-ancestors 'none'";

/// Browser-hardening headers on every response (a handler's own values win): the content policy, no
/// framing, no content sniffing, no full referrers to other sites, and HSTS when `public_url` is https.
pub async fn security_headers(State(hsts): State<bool>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert_with(|| HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "strict-origin-when-cross-origin");
    if hsts {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}

/// Run the rest of the request in a task of its own, so that nothing cancels it half way: a client that
/// hangs up, or the request timeout, drops this future, not the handler's. A handler's transaction is
/// always committed or rolled back by the code that began it. Cancelling a request inside sqlx's
/// `begin()` would otherwise return its pooled PostgreSQL connection still inside a transaction (sqlx
/// 0.9.0, upstream #4393: the next borrower then runs inside it and logs "there is already a
/// transaction in progress"), and a write the client will never hear of is finished rather than torn.
/// A handler that panics answers 500 in the envelope instead of closing the connection.
pub async fn run_to_completion(request: Request, next: Next) -> Response {
    use tracing::Instrument;
    let work = tokio::spawn(next.run(request).instrument(tracing::Span::current()));
    match work.await {
        Ok(response) => response,
        Err(err) => {
            ApiError::internal(anyhow::anyhow!("the request's task failed: {err}")).into_response()
        }
    }
}

/// Text holding a NUL character is refused wherever it arrives in the URL (the path or any query
/// parameter, for pages as for the API): PostgreSQL cannot store it and SQLite cuts strings at it.
/// Bodies are checked by their extractors (`ApiJson`, the pages' forms) with the same rule.
pub async fn reject_nul(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let is_api = uri.path().starts_with("/api/") || uri.path() == "/api";
    // A raw NUL byte cannot be in a request line, so a NUL can only come percent-encoded.
    let in_path = uri.path().contains("%00");
    let in_query = uri
        .query()
        .and_then(|q| super::extract::nul_field_in_pairs(q.as_bytes()));
    if !in_path && in_query.is_none() {
        return next.run(request).await;
    }
    if is_api {
        let field = in_query.unwrap_or_else(|| "path".to_string());
        return super::extract::nul_error(&field).into_response();
    }
    if in_path {
        crate::web::not_found_page().into_response()
    } else {
        crate::web::error_page(
            axum::http::StatusCode::BAD_REQUEST,
            "Bad request",
            "The address holds a NUL character (%00).",
        )
    }
}

/// `/api/auth/login/` and `/api/auth/login` are the same endpoint (the seed writes paths with a trailing
/// slash). `/api/docs/` keeps its slash: the documentation UI lives there.
pub fn normalize_path(mut request: Request<Body>) -> Request<Body> {
    let path = request.uri().path();
    if path.len() > 1 && path.ends_with('/') && path != "/api/docs/" {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let new = match request.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_string(),
        };
        if let Ok(uri) = new.parse::<Uri>() {
            *request.uri_mut() = uri;
        }
    }
    request
}
