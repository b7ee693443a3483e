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

/// What authentication needs of an account: its role and whether it may sign in. Kept in the shared
/// cache for a minute (every authenticated request asked the database for it) and forgotten the moment
/// an administrator changes either, on every process.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct AccountAccess {
    role: String,
    is_active: bool,
}

const ACCOUNT_TTL: std::time::Duration = std::time::Duration::from_secs(60);

fn account_key(user_id: uuid::Uuid) -> String {
    format!("account:v1:{user_id}")
}

/// Forget the cached role and state of an account (after changing either).
pub async fn forget_account(state: &AppState, user_id: uuid::Uuid) {
    brigade_platform::cache::invalidate(state.cache.as_ref(), &account_key(user_id)).await;
}

/// The role of an active account.
async fn active_user(state: &AppState, user_id: uuid::Uuid) -> Result<Role, ApiError> {
    let key = account_key(user_id);
    let access = match brigade_platform::cache::get_json::<AccountAccess>(
        state.cache.as_ref(),
        &key,
    )
    .await
    {
        Some(access) => access,
        None => {
            let user = users::Entity::find_by_id(user_id)
                .one(&state.db)
                .await?
                .ok_or_else(|| {
                    ApiError::unauthorized("invalid_token", "the account no longer exists")
                })?;
            let access = AccountAccess {
                role: user.role,
                is_active: user.is_active,
            };
            brigade_platform::cache::set_json(state.cache.as_ref(), &key, &access, ACCOUNT_TTL)
                .await;
            access
        }
    };
    if !access.is_active {
        return Err(ApiError::unauthorized(
            "account_disabled",
            "this account is disabled",
        ));
    }
    Ok(access.role.parse().unwrap_or(Role::Customer))
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
        let role = active_user(state, key.user_id).await?;
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
            user_id: key.user_id,
            role,
            method: AuthMethod::ApiKey {
                key_id: key.id,
                scopes,
            },
        });
    }
    let claims = state.keys.verify(token, state.now())?;
    // The role comes from the account (cached, forgotten on change), so a demotion takes effect before
    // the token expires.
    let role = active_user(state, claims.sub).await?;
    Ok(Principal {
        user_id: claims.sub,
        role,
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
