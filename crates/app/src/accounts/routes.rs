//! `/api/auth/*`: register, login, token refresh, logout, password reset, the caller's profile and API keys.

use axum::http::StatusCode;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::service::{self, NewAccount, TokenPair};
use super::{AuthUser, Role, Scope, UserView, user_view};
use crate::entities::{api_keys, users};
use crate::http::envelope::{Envelope, Reply, created, ok};
use crate::http::error::{ApiError, ApiResult, ErrorBody, FieldErrors};
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::middleware::ClientIp;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(guest))
        .routes(routes!(login))
        .routes(routes!(refresh_token))
        .routes(routes!(logout))
        .routes(routes!(password_reset))
        .routes(routes!(password_reset_confirm))
        .routes(routes!(get_me, update_me))
        .routes(routes!(change_password))
        .routes(routes!(list_api_keys, create_api_key))
        .routes(routes!(revoke_api_key))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    #[schema(example = "ana@example.com", format = Email, max_length = 254)]
    pub email: String,
    /// 8 to 128 characters, not all spaces.
    #[schema(
        example = "correct horse battery",
        min_length = 8,
        max_length = 128,
        pattern = r"\S"
    )]
    pub password: String,
    #[schema(example = "Ana", min_length = 1, max_length = 100, pattern = r"\S")]
    pub first_name: String,
    #[schema(example = "Silva", min_length = 1, max_length = 100, pattern = r"\S")]
    pub last_name: String,
    /// Empty or null: none.
    #[schema(
        example = "+44 20 7946 0000",
        pattern = r"^$|^\+?[ ().-]*([0-9][ ().-]*){6,15}$"
    )]
    pub phone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthResponse {
    pub user: UserView,
    pub tokens: TokenPair,
}

/// Register a customer account and sign it in.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", security(()), request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created", body = Envelope<AuthResponse>),
        (status = 409, description = "E-mail already registered", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
async fn register(
    axum::extract::State(state): axum::extract::State<AppState>,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> ApiResult<Reply<AuthResponse>> {
    let account = NewAccount::parse(
        &body.email,
        &body.password,
        &body.first_name,
        &body.last_name,
        body.phone.as_deref(),
        Role::Customer,
        None,
    )?;
    let user = service::create_user(&state, account).await?;
    let tokens = service::issue_tokens(&state, &state.db, &user, None).await?;
    let user = user_view(&state, user).await?;
    Ok(created(AuthResponse { user, tokens }).message("account created"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuestRequest {
    /// The name the venue calls out.
    #[schema(example = "Ana", min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    /// A phone number or an e-mail (or both) is required, for the venue to reach the guest.
    #[schema(
        example = "+44 20 7946 0000",
        pattern = r"^$|^\+?[ ().-]*([0-9][ ().-]*){6,15}$"
    )]
    pub phone: Option<String>,
    /// Absent or null for none (an empty string is not an address).
    #[schema(example = "ana@example.com", format = Email, max_length = 254)]
    pub email: Option<String>,
}

/// Order as a guest: a customer account for this visit made from a name and a phone number or an
/// e-mail (one of the two is required), with no password, signed in at once (its tokens follow the order on the customer page). It
/// cannot sign in again; ordering with an account that can takes `register`.
#[utoipa::path(post, path = "/api/auth/guest", tag = "auth", security(()), request_body = GuestRequest,
    responses(
        (status = 201, description = "Guest signed in", body = Envelope<AuthResponse>),
        (status = 422, description = "Invalid fields, or neither a phone nor an e-mail", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
async fn guest(
    axum::extract::State(state): axum::extract::State<AppState>,
    ApiJson(body): ApiJson<GuestRequest>,
) -> ApiResult<Reply<AuthResponse>> {
    let mut errors = FieldErrors::new();
    let name = errors.check("name", crate::http::text::required_text(&body.name, 100));
    let phone = match body.phone.as_deref().map(crate::http::text::trimmed) {
        None | Some("") => None,
        Some(raw) => errors.check("phone", service::parse_phone(raw)),
    };
    let email = match body.email.as_deref() {
        None => None,
        Some(raw) => errors.check("email", service::parse_email(raw)),
    };
    let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
    if blank(&body.phone) && body.email.is_none() {
        errors.add("phone", "give a phone number or an e-mail");
    }
    errors.into_result()?;
    let user = service::create_guest(&state, name.unwrap_or_default(), phone, email).await?;
    let tokens = service::issue_tokens(&state, &state.db, &user, None).await?;
    let user = user_view(&state, user).await?;
    Ok(created(AuthResponse { user, tokens }).message("ordering as a guest"))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(example = "admin@demo.brigade")]
    pub email: String,
    #[schema(example = "brigade-demo")]
    pub password: String,
}

/// Sign in with e-mail and password.
///
/// Repeated failures from one client address are refused with 429 and `Retry-After` for a while.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", security(()), request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = Envelope<AuthResponse>),
        (status = 401, description = "Wrong e-mail or password", body = ErrorBody),
        (status = 429, description = "Too many failed attempts", body = ErrorBody),
    ))]
async fn login(
    axum::extract::State(state): axum::extract::State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Reply<AuthResponse>> {
    let user = service::check_credentials(&state, &body.email, &body.password, ip).await?;
    let user = service::record_login(&state, user).await?;
    let tokens = service::issue_tokens(&state, &state.db, &user, None).await?;
    let user = user_view(&state, user).await?;
    Ok(ok(AuthResponse { user, tokens }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Exchange a refresh token for a new token pair (the old refresh token stops working).
#[utoipa::path(post, path = "/api/auth/refresh-token", tag = "auth", security(()), request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = Envelope<AuthResponse>),
        (status = 401, description = "Invalid, expired or reused refresh token", body = ErrorBody),
    ))]
async fn refresh_token(
    axum::extract::State(state): axum::extract::State<AppState>,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> ApiResult<Reply<AuthResponse>> {
    let (user, tokens) = service::refresh(&state, &body.refresh_token).await?;
    let user = user_view(&state, user).await?;
    Ok(ok(AuthResponse { user, tokens }))
}

/// Sign out: revoke the refresh token and every token rotated from the same sign-in.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", security(()), request_body = RefreshRequest,
    responses((status = 200, description = "Signed out", body = Envelope<Option<String>>)))]
async fn logout(
    axum::extract::State(state): axum::extract::State<AppState>,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> ApiResult<Reply<Option<String>>> {
    service::logout(&state, &body.refresh_token).await?;
    Ok(ok(None).message("signed out"))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordResetRequest {
    pub email: String,
}

/// Ask for a password reset e-mail. The answer is the same whether or not the address is registered.
#[utoipa::path(post, path = "/api/auth/password-reset", tag = "auth", security(()), request_body = PasswordResetRequest,
    responses((status = 202, description = "If the account exists, an e-mail is on its way", body = Envelope<Option<String>>)))]
async fn password_reset(
    axum::extract::State(state): axum::extract::State<AppState>,
    ApiJson(body): ApiJson<PasswordResetRequest>,
) -> ApiResult<Reply<Option<String>>> {
    service::request_password_reset(&state, &body.email).await?;
    Ok(ok(None)
        .status(StatusCode::ACCEPTED)
        .message("if an account exists for this address, a reset e-mail has been sent"))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordResetConfirm {
    pub token: String,
    /// 8 to 128 characters, not all spaces.
    #[schema(min_length = 8, max_length = 128, pattern = r"\S")]
    pub new_password: String,
}

/// Set a new password with a reset token (single use, valid for one hour). Signs out every session.
#[utoipa::path(post, path = "/api/auth/password-reset/confirm", tag = "auth", security(()), request_body = PasswordResetConfirm,
    responses(
        (status = 200, description = "Password changed", body = Envelope<Option<String>>),
        (status = 401, description = "Invalid, used or expired token", body = ErrorBody),
        (status = 422, description = "Password too weak", body = ErrorBody),
    ))]
async fn password_reset_confirm(
    axum::extract::State(state): axum::extract::State<AppState>,
    ApiJson(body): ApiJson<PasswordResetConfirm>,
) -> ApiResult<Reply<Option<String>>> {
    service::confirm_password_reset(&state, &body.token, &body.new_password).await?;
    Ok(ok(None).message("password changed; sign in again"))
}

async fn current_user(state: &AppState, user_id: Uuid) -> ApiResult<users::Model> {
    users::Entity::find_by_id(user_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))
}

/// The signed-in user's profile and restaurant memberships.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "Profile", body = Envelope<UserView>),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
async fn get_me(
    axum::extract::State(state): axum::extract::State<AppState>,
    AuthUser(me): AuthUser,
) -> ApiResult<Reply<UserView>> {
    let user = current_user(&state, me.user_id).await?;
    Ok(ok(user_view(&state, user).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMe {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub first_name: Option<String>,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub last_name: Option<String>,
    /// Empty string clears it.
    #[schema(pattern = r"^$|^\+?[ ().-]*([0-9][ ().-]*){6,15}$")]
    pub phone: Option<String>,
    /// IANA zone such as "Asia/Kolkata"; empty string clears it.
    #[schema(value_type = Option<crate::http::openapi::TimeZoneOrNone>)]
    pub timezone: Option<String>,
}

/// Update the signed-in user's profile (fields left out stay as they are).
#[utoipa::path(put, path = "/api/auth/me", tag = "auth", security(("bearer" = [])), request_body = UpdateMe,
    responses(
        (status = 200, description = "Updated profile", body = Envelope<UserView>),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn update_me(
    axum::extract::State(state): axum::extract::State<AppState>,
    AuthUser(me): AuthUser,
    ApiJson(body): ApiJson<UpdateMe>,
) -> ApiResult<Reply<UserView>> {
    let user = current_user(&state, me.user_id).await?;
    let mut errors = FieldErrors::new();
    let mut active: users::ActiveModel = user.into();
    if let Some(name) = body
        .first_name
        .as_deref()
        .and_then(|n| errors.check("first_name", service::parse_name(n)))
    {
        active.first_name = Set(name);
    }
    if let Some(name) = body
        .last_name
        .as_deref()
        .and_then(|n| errors.check("last_name", service::parse_name(n)))
    {
        active.last_name = Set(name);
    }
    match body.phone.as_deref() {
        Some("") => active.phone = Set(None),
        Some(p) => {
            if let Some(p) = errors.check("phone", service::parse_phone(p)) {
                active.phone = Set(Some(p))
            }
        }
        None => {}
    }
    match body.timezone.as_deref() {
        Some("") => active.timezone = Set(None),
        Some(tz) => {
            if let Some(tz) = errors.check("timezone", service::parse_timezone(tz)) {
                active.timezone = Set(Some(tz))
            }
        }
        None => {}
    }
    errors.into_result()?;
    active.updated_at = Set(state.now());
    let user = active.update(&state.db).await?;
    Ok(ok(user_view(&state, user).await?).message("profile updated"))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePassword {
    pub current_password: String,
    /// 8 to 128 characters, not all spaces.
    #[schema(min_length = 8, max_length = 128, pattern = r"\S")]
    pub new_password: String,
}

/// Change the password (signs out every other session and refresh token).
#[utoipa::path(put, path = "/api/auth/me/password", tag = "auth", security(("bearer" = [])), request_body = ChangePassword,
    responses(
        (status = 200, description = "Changed", body = Envelope<Option<String>>),
        (status = 403, description = "The current password is not right (`wrong_password`)", body = ErrorBody),
        (status = 422, description = "The new password is too weak", body = ErrorBody),
    ))]
async fn change_password(
    axum::extract::State(state): axum::extract::State<AppState>,
    AuthUser(me): AuthUser,
    ApiJson(body): ApiJson<ChangePassword>,
) -> ApiResult<Reply<Option<String>>> {
    let user = current_user(&state, me.user_id).await?;
    service::change_password(&state, &user, &body.current_password, &body.new_password).await?;
    Ok(ok(None).message("password changed; sign in again on your other devices"))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the key.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<api_keys::Model> for ApiKeyView {
    fn from(key: api_keys::Model) -> Self {
        ApiKeyView {
            id: key.id,
            name: key.name,
            prefix: key.prefix,
            scopes: key.scopes.split_whitespace().map(String::from).collect(),
            created_at: key.created_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    pub key: ApiKeyView,
    /// Shown once: store it now.
    pub secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateApiKey {
    #[schema(
        example = "POS integration",
        min_length = 1,
        max_length = 100,
        pattern = r"\S"
    )]
    pub name: String,
    /// What the key may do; each operation names the one scope it needs.
    #[schema(value_type = Vec<Scope>, min_items = 1, example = json!(["orders:write"]))]
    pub scopes: Vec<String>,
}

/// API keys of the signed-in user (service clients authenticate with `Authorization: Bearer brg_...`).
#[utoipa::path(get, path = "/api/auth/api-keys", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "Keys", body = Envelope<Vec<ApiKeyView>>)))]
async fn list_api_keys(
    axum::extract::State(state): axum::extract::State<AppState>,
    AuthUser(me): AuthUser,
) -> ApiResult<Reply<Vec<ApiKeyView>>> {
    let keys = api_keys::Entity::find()
        .filter(api_keys::Column::UserId.eq(me.user_id))
        .order_by_desc(api_keys::Column::CreatedAt)
        .all(&state.db)
        .await?;
    Ok(ok(keys.into_iter().map(ApiKeyView::from).collect()))
}

/// Create an API key with scopes. Only a token or session may create keys (not another key).
#[utoipa::path(post, path = "/api/auth/api-keys", tag = "auth", security(("bearer" = [])), request_body = CreateApiKey,
    responses(
        (status = 201, description = "Created; the secret is shown once", body = Envelope<CreatedApiKey>),
        (status = 422, description = "Unknown scope or missing name", body = ErrorBody),
    ))]
async fn create_api_key(
    axum::extract::State(state): axum::extract::State<AppState>,
    AuthUser(me): AuthUser,
    ApiJson(body): ApiJson<CreateApiKey>,
) -> ApiResult<Reply<CreatedApiKey>> {
    let mut errors = FieldErrors::new();
    let name = errors.check("name", service::parse_name(&body.name));
    let mut scopes = Vec::new();
    for raw in &body.scopes {
        match Scope::parse(raw) {
            Some(scope) if !scopes.contains(&scope) => scopes.push(scope),
            Some(_) => {}
            None => errors.add(
                "scopes",
                format!(
                    "unknown scope {raw:?}; known: {}",
                    Scope::ALL
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        }
    }
    if body.scopes.is_empty() {
        errors.add("scopes", "give at least one scope");
    }
    errors.into_result()?;
    let (key, secret) =
        service::create_api_key(&state, me.user_id, &name.unwrap_or_default(), &scopes).await?;
    Ok(created(CreatedApiKey {
        key: key.into(),
        secret,
    }))
}

/// Revoke one of your API keys.
#[utoipa::path(delete, path = "/api/auth/api-keys/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "API key id")),
    responses(
        (status = 200, description = "Revoked", body = Envelope<ApiKeyView>),
        (status = 404, description = "No such key of yours", body = ErrorBody),
    ))]
async fn revoke_api_key(
    axum::extract::State(state): axum::extract::State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<ApiKeyView>> {
    let key = api_keys::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|k| k.user_id == me.user_id || me.is_admin())
        .ok_or_else(|| ApiError::not_found("API key"))?;
    let mut active: api_keys::ActiveModel = key.into();
    active.revoked_at = Set(Some(state.now()));
    let key = active.update(&state.db).await?;
    Ok(ok(ApiKeyView::from(key)).message("API key revoked"))
}
