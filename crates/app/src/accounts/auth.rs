//! Request authentication: `Authorization: Bearer <access JWT | API key>`. A malformed or revoked
//! credential is always a 401, never treated as anonymous.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use chrono::Duration;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};

use super::tokens::digest;
use super::{AuthMethod, Principal, Role, Scope};
use crate::entities::{api_keys, refresh_tokens, users};
use crate::http::access::{Authenticated, admits};
use crate::http::error::ApiError;
use crate::state::AppState;

pub const API_KEY_PREFIX: &str = "brg_";

/// Requires an authenticated caller.
pub struct AuthUser(pub Principal);

/// An authenticated caller if credentials were sent; bad credentials are still refused.
pub struct MaybeAuthUser(pub Option<Principal>);

/// The request's credential: the `Authorization: Bearer` token, else (where the operation declares it)
/// the `access_token` query parameter. A malformed header is refused, never treated as anonymous.
pub fn credential(headers: &HeaderMap, query: Option<&str>) -> Result<Option<String>, ApiError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| {
            ApiError::unauthorized("invalid_token", "malformed Authorization header")
        })?;
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(ApiError::unauthorized(
                "invalid_token",
                "use Authorization: Bearer <token>",
            ));
        }
        return Ok(Some(token.trim().to_string()));
    }
    // The seed's header for API keys.
    if let Some(value) = headers.get("x-api-key") {
        let key = value
            .to_str()
            .map(str::trim)
            .map_err(|_| ApiError::unauthorized("invalid_token", "malformed X-API-Key header"))?;
        if !key.starts_with(API_KEY_PREFIX) {
            return Err(ApiError::unauthorized(
                "invalid_token",
                "X-API-Key takes an API key (brg_...); send access tokens as Authorization: Bearer",
            ));
        }
        return Ok(Some(key.to_string()));
    }
    Ok(query.and_then(|query| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "access_token")
            .map(|(_, token)| token.trim().to_string())
            .filter(|token| !token.is_empty())
    }))
}

/// What authentication needs of an account: its role and whether it may sign in. Kept in the shared
/// cache for a minute (every authenticated request asked the database for it) and forgotten the moment
/// an administrator changes either, on every process.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct AccountAccess {
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
            state
                .flights
                .accounts
                .run(user_id, || async {
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
                    brigade_platform::cache::set_json(
                        state.cache.as_ref(),
                        &key,
                        &access,
                        ACCOUNT_TTL,
                    )
                    .await;
                    Ok::<_, ApiError>(access)
                })
                .await?
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

fn sign_in_key(family: uuid::Uuid) -> String {
    format!("signin:v1:{family}")
}

/// A sign-in's state is cached briefly: every process forgets it the moment it ends, and a read racing
/// the sign-out can keep it alive for at most this long.
const SIGN_IN_TTL: std::time::Duration = std::time::Duration::from_secs(15);

/// Forget the cached state of sign-ins that just ended (after their revocation committed).
pub async fn forget_sign_ins(state: &AppState, families: &[uuid::Uuid]) {
    for family in families {
        brigade_platform::cache::invalidate(state.cache.as_ref(), &sign_in_key(*family)).await;
    }
}

/// Whether a sign-in (refresh-token family) is still live: one of its tokens is unrevoked.
async fn sign_in_live(state: &AppState, family: uuid::Uuid) -> Result<bool, ApiError> {
    let key = sign_in_key(family);
    if let Some(live) = brigade_platform::cache::get_json::<bool>(state.cache.as_ref(), &key).await
    {
        return Ok(live);
    }
    state
        .flights
        .sign_ins
        .run(family, || async {
            let live = refresh_tokens::Entity::find()
                .select_only()
                .column(refresh_tokens::Column::Id)
                .filter(refresh_tokens::Column::FamilyId.eq(family))
                .filter(refresh_tokens::Column::RevokedAt.is_null())
                .into_tuple::<uuid::Uuid>()
                .one(&state.db)
                .await?
                .is_some();
            let ttl = if live {
                SIGN_IN_TTL
            } else {
                state.keys.access_ttl.to_std().unwrap_or(SIGN_IN_TTL)
            };
            brigade_platform::cache::set_json(state.cache.as_ref(), &key, &live, ttl).await;
            Ok(live)
        })
        .await
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
    if let Some(family) = claims.sid
        && !sign_in_live(state, family).await?
    {
        return Err(ApiError::unauthorized(
            "token_revoked",
            "this sign-in has ended (signed out or password changed); sign in again",
        ));
    }
    Ok(Principal {
        user_id: claims.sub,
        role,
        method: AuthMethod::AccessToken,
    })
}

/// The caller the access layer authenticated (`http::access`), or, on a route outside it, the bearer
/// token's; API keys are only ever admitted by the access layer, which checks their scope.
async fn caller(parts: &mut Parts, state: &AppState) -> Result<Option<Principal>, ApiError> {
    if let Some(Authenticated(principal)) = parts.extensions.get::<Authenticated>() {
        return Ok(principal.clone());
    }
    match credential(&parts.headers, None)? {
        Some(token) => {
            let principal = authenticate(state, &token).await?;
            admits(None, &principal)?;
            Ok(Some(principal))
        }
        None => Ok(None),
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match caller(parts, state).await? {
            Some(principal) => Ok(AuthUser(principal)),
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
        caller(parts, state).await.map(MaybeAuthUser)
    }
}
