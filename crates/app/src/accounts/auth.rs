//! Request authentication: `Authorization: Bearer <access JWT | API key>`. A malformed or revoked
//! credential is always a 401, never treated as anonymous.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use chrono::Duration;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::tokens::digest;
use super::{AuthMethod, Principal, Role, Scope};
use crate::entities::{api_keys, users};
use crate::http::error::ApiError;
use crate::state::AppState;

pub const API_KEY_PREFIX: &str = "brg_";

/// Requires an authenticated caller.
pub struct AuthUser(pub Principal);

/// An authenticated caller if credentials were sent; bad credentials are still refused.
pub struct MaybeAuthUser(pub Option<Principal>);

fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("invalid_token", "malformed Authorization header"))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthorized(
            "invalid_token",
            "use Authorization: Bearer <token>",
        ));
    }
    Ok(Some(token.trim()))
}

async fn active_user(state: &AppState, user_id: uuid::Uuid) -> Result<users::Model, ApiError> {
    match users::Entity::find_by_id(user_id).one(&state.db).await? {
        Some(user) if user.is_active => Ok(user),
        Some(_) => Err(ApiError::unauthorized(
            "account_disabled",
            "this account is disabled",
        )),
        None => Err(ApiError::unauthorized(
            "invalid_token",
            "the account no longer exists",
        )),
    }
}

pub async fn authenticate(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    if let Some(rest) = token.strip_prefix(API_KEY_PREFIX) {
        if rest.is_empty() {
            return Err(ApiError::unauthorized(
                "invalid_api_key",
                "the API key is invalid or revoked",
            ));
        }
        let key = api_keys::Entity::find()
            .filter(api_keys::Column::KeyHash.eq(digest(token)))
            .one(&state.db)
            .await?
            .filter(|key| key.revoked_at.is_none())
            .ok_or_else(|| {
                ApiError::unauthorized("invalid_api_key", "the API key is invalid or revoked")
            })?;
        let user = active_user(state, key.user_id).await?;
        let now = state.now();
        // Record use at most once a minute, so a busy key does not write on every request.
        if key
            .last_used_at
            .is_none_or(|at| now - at > Duration::minutes(1))
        {
            let mut active: api_keys::ActiveModel = key.clone().into();
            active.last_used_at = Set(Some(now));
            active.update(&state.db).await?;
        }
        let scopes = key
            .scopes
            .split_whitespace()
            .filter_map(Scope::parse)
            .collect();
        return Ok(Principal {
            user_id: user.id,
            role: user.role.parse().unwrap_or(Role::Customer),
            method: AuthMethod::ApiKey {
                key_id: key.id,
                scopes,
            },
        });
    }
    let claims = state.keys.verify(token, state.now())?;
    let user = active_user(state, claims.sub).await?;
    // The role comes from the database, so a demotion takes effect before the token expires.
    Ok(Principal {
        user_id: user.id,
        role: user.role.parse().unwrap_or(Role::Customer),
        method: AuthMethod::AccessToken,
    })
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match bearer(parts)? {
            Some(token) => authenticate(state, token).await.map(AuthUser),
            None => Err(ApiError::unauthorized(
                "unauthorized",
                "authentication required: send Authorization: Bearer <token>",
            )),
        }
    }
}

impl FromRequestParts<AppState> for MaybeAuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match bearer(parts)? {
            Some(token) => authenticate(state, token)
                .await
                .map(|p| MaybeAuthUser(Some(p))),
            None => Ok(MaybeAuthUser(None)),
        }
    }
}
