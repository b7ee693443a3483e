//! Browser sessions for the web pages: an HttpOnly, SameSite=Lax cookie holding a random token whose
//! SHA-256 is the session row's id; and CSRF protection by the double-submit pattern (a random
//! `brigade_csrf` cookie that every form echoes in a hidden field).

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use chrono::Duration;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::tokens::{digest, random_token};
use super::{AuthMethod, Principal, Role};
use crate::entities::{users, web_sessions};
use crate::http::error::ApiError;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "brigade_session";
pub const CSRF_COOKIE: &str = "brigade_csrf";

fn cookie(state: &AppState, name: &'static str, value: String, http_only: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(http_only)
        .secure(state.config.cookie_secure())
        .same_site(if name == CSRF_COOKIE {
            SameSite::Strict
        } else {
            SameSite::Lax
        })
        .build()
}

/// Start a session for `user`; returns the jar with the cookie set.
pub async fn start(state: &AppState, jar: CookieJar, user_id: Uuid) -> Result<CookieJar, ApiError> {
    let token = random_token("");
    let now = state.now();
    web_sessions::ActiveModel {
        id: Set(digest(&token)),
        user_id: Set(user_id),
        expires_at: Set(now + Duration::hours(state.config.auth.session_ttl_hours)),
        created_at: Set(now),
    }
    .insert(&state.db)
    .await?;
    Ok(jar.add(cookie(state, SESSION_COOKIE, token, true)))
}

pub async fn end(state: &AppState, jar: CookieJar) -> Result<CookieJar, ApiError> {
    if let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) {
        web_sessions::Entity::delete_by_id(digest(&token))
            .exec(&state.db)
            .await?;
    }
    Ok(jar.remove(Cookie::build(SESSION_COOKIE).path("/")))
}

/// The CSRF token for forms on this page, creating the cookie when missing.
pub fn csrf_token(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    match jar
        .get(CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| v.len() >= 32)
    {
        Some(token) => (jar, token),
        None => {
            let token = random_token("");
            (
                jar.add(cookie(state, CSRF_COOKIE, token.clone(), false)),
                token,
            )
        }
    }
}

/// A submitted form's token must equal the cookie's (which another site can neither read nor set).
pub fn check_csrf(jar: &CookieJar, submitted: &str) -> Result<(), ApiError> {
    let expected = jar
        .get(CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    let matches = !expected.is_empty()
        && expected.len() == submitted.len()
        && expected
            .bytes()
            .zip(submitted.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if matches {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "the form expired or came from another site; reload and try again",
        ))
    }
}

/// A signed-in browser user (pages redirect to /login when there is none).
/// The signed-in browser session behind an API call from one of Brigade's own pages: the session
/// cookie, and the page's CSRF token in `X-CSRF-Token` matching its cookie (which another site cannot
/// read or send), so the menu editor and the reservation book call the same REST API as every client.
/// `None` without either.
pub async fn api_session(
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> Result<Option<Principal>, ApiError> {
    let Some(sent) = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let jar = CookieJar::from_headers(headers);
    if check_csrf(&jar, sent).is_err() {
        return Ok(None);
    }
    let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) else {
        return Ok(None);
    };
    let Some(session) = web_sessions::Entity::find_by_id(digest(&token))
        .one(&state.db)
        .await?
        .filter(|s| s.expires_at > state.now())
    else {
        return Err(ApiError::unauthorized(
            "session_expired",
            "your session has ended; sign in again",
        ));
    };
    let user = users::Entity::find()
        .filter(users::Column::Id.eq(session.user_id))
        .filter(users::Column::IsActive.eq(true))
        .one(&state.db)
        .await?
        .ok_or_else(|| {
            ApiError::unauthorized("session_expired", "your session has ended; sign in again")
        })?;
    Ok(Some(Principal {
        user_id: user.id,
        role: user.role.parse().unwrap_or(Role::Customer),
        method: AuthMethod::Session,
    }))
}

pub struct WebUser {
    pub principal: Principal,
    pub user: users::Model,
}

/// No signed-in session. A page asked for by address goes to the sign-in form, which comes back to it
/// afterwards; an in-place request from a page (htmx's `HX-Request`) gets a 401 with a short message instead, so the page keeps what was typed and
/// asks the user to sign in again rather than pasting the sign-in page into itself.
pub struct LoginRedirect {
    next: Option<String>,
    in_place: bool,
}

impl LoginRedirect {
    fn of(parts: &Parts) -> Self {
        let in_place = parts.headers.contains_key("hx-request");
        // Only a page asked for with GET is worth coming back to (a form's POST is not).
        let next = if parts.method == axum::http::Method::GET {
            parts.uri.path_and_query().map(|p| p.as_str().to_string())
        } else {
            None
        }
        .filter(|p| p != "/" && safe_next(p).is_some());
        LoginRedirect { next, in_place }
    }
}

/// `next` when it is a path on this site (never `//host`, `/\host` or a full address), else `None`.
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\')
        && !next.starts_with("/login")
        && next.len() <= 2000;
    ok.then_some(next)
}

impl IntoResponse for LoginRedirect {
    fn into_response(self) -> Response {
        if self.in_place {
            return (
                axum::http::StatusCode::UNAUTHORIZED,
                [("content-type", "text/plain; charset=utf-8")],
                "Your session has ended. Sign in again to continue; what you typed is still here.",
            )
                .into_response();
        }
        match self.next {
            Some(next) => {
                let query: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", &next)
                    .finish();
                Redirect::to(&format!("/login?{query}")).into_response()
            }
            None => Redirect::to("/login").into_response(),
        }
    }
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = LoginRedirect;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, LoginRedirect> {
        signed_in(state, &parts.headers)
            .await
            .ok_or_else(|| LoginRedirect::of(parts))
    }
}

/// The user whose live session cookie these request headers carry, if any.
pub async fn signed_in(state: &AppState, headers: &axum::http::HeaderMap) -> Option<WebUser> {
    let jar = CookieJar::from_headers(headers);
    let token = jar.get(SESSION_COOKIE)?.value().to_string();
    let session = web_sessions::Entity::find_by_id(digest(&token))
        .one(&state.db)
        .await
        .ok()
        .flatten()
        .filter(|s| s.expires_at > state.now())?;
    let user = users::Entity::find()
        .filter(users::Column::Id.eq(session.user_id))
        .filter(users::Column::IsActive.eq(true))
        .one(&state.db)
        .await
        .ok()
        .flatten()?;
    let principal = Principal {
        user_id: user.id,
        role: user.role.parse().unwrap_or(Role::Customer),
        method: AuthMethod::Session,
    };
    Some(WebUser { principal, user })
}

impl OptionalFromRequestParts<AppState> for WebUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(
            <WebUser as FromRequestParts<AppState>>::from_request_parts(parts, state)
                .await
                .ok(),
        )
    }
}
