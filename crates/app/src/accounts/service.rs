//! Account operations shared by the JSON API, the web pages and the CLI.

use std::net::IpAddr;
use std::time::Duration as StdDuration;

use brigade_platform::ratelimit::Limit;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::ValidateEmail;

use super::passwords::{self, Password};
use super::tokens::{digest, random_token};
use super::{Role, Scope};
use crate::entities::{api_keys, password_resets, refresh_tokens, users, web_sessions};
use crate::http::error::{ApiError, FieldErrors};
use crate::notifications::mail;
use crate::state::AppState;

/// The pattern of a phone number as [`parse_phone`] takes it (the document gives it to clients).
pub const PHONE_PATTERN: &str = r"^\+?[ ().-]*([0-9][ ().-]*){6,15}$";

pub fn parse_email(raw: &str) -> Result<String, String> {
    let email = crate::http::text::trimmed(raw).to_lowercase();
    if email.len() > 254 || !email.validate_email() {
        return Err("must be a valid e-mail address".into());
    }
    Ok(email)
}

/// A person's or a place's name: not blank, at most 100 characters.
pub fn parse_name(raw: &str) -> Result<String, String> {
    crate::http::text::required_text(raw, 100)
}

/// Phone numbers: digits with an optional leading +, spaces, dashes, dots and brackets; 6 to 15 digits
/// ([`PHONE_PATTERN`]).
pub fn parse_phone(raw: &str) -> Result<String, String> {
    let digits = raw.chars().filter(char::is_ascii_digit).count();
    let allowed = raw
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || " -.()".contains(c) || (c == '+' && i == 0));
    if !allowed || !(6..=15).contains(&digits) {
        return Err("must be a phone number such as +44 20 7946 0000".into());
    }
    Ok(raw.trim().to_string())
}

/// An IANA time zone name, exactly as the zone database spells it.
pub fn parse_timezone(raw: &str) -> Result<String, String> {
    raw.parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_string())
        .map_err(|_| format!("{raw:?} is not an IANA time zone such as Europe/London"))
}

/// A new account, checked field by field.
pub struct NewAccount {
    pub email: String,
    pub password: Password,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub role: Role,
    pub timezone: Option<String>,
}

impl NewAccount {
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        email: &str,
        password: &str,
        first_name: &str,
        last_name: &str,
        phone: Option<&str>,
        role: Role,
        timezone: Option<&str>,
    ) -> Result<NewAccount, ApiError> {
        let mut errors = FieldErrors::new();
        let email = errors.check("email", parse_email(email));
        let password = errors.check("password", Password::parse(password));
        let first_name = errors.check("first_name", parse_name(first_name));
        let last_name = errors.check("last_name", parse_name(last_name));
        let phone = phone
            .filter(|p| !p.is_empty())
            .map(|p| errors.check("phone", parse_phone(p)));
        let timezone = timezone
            .filter(|t| !t.is_empty())
            .map(|t| errors.check("timezone", parse_timezone(t)));
        errors.into_result()?;
        Ok(NewAccount {
            email: email.unwrap_or_default(),
            password: password.ok_or_else(|| ApiError::field("password", "invalid"))?,
            first_name: first_name.unwrap_or_default(),
            last_name: last_name.unwrap_or_default(),
            phone: phone.flatten(),
            role,
            timezone: timezone.flatten(),
        })
    }
}

/// A guest customer: a placeholder login address that no one can sign in with (its password hash is
/// not one), the name and phone it gave, and the e-mail it gave as `contact_email`.
pub async fn create_guest(
    state: &AppState,
    name: String,
    phone: Option<String>,
    contact_email: Option<String>,
) -> Result<users::Model, ApiError> {
    let now = state.now();
    let id = Uuid::now_v7();
    let user = users::ActiveModel {
        id: Set(id),
        email: Set(format!("guest-{}@guest.invalid", id.simple())),
        password_hash: Set("!guest".into()),
        first_name: Set(name),
        last_name: Set(String::new()),
        phone: Set(phone),
        role: Set(Role::Customer.as_str().to_string()),
        timezone: Set(None),
        is_active: Set(true),
        is_guest: Set(true),
        contact_email: Set(contact_email),
        last_login_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(user.insert(&state.db).await?)
}

pub async fn create_user(state: &AppState, account: NewAccount) -> Result<users::Model, ApiError> {
    let taken = users::Entity::find()
        .filter(users::Column::Email.eq(&account.email))
        .one(&state.db)
        .await?;
    if taken.is_some() {
        return Err(email_taken());
    }
    let password_hash = passwords::hash(&account.password).await?;
    let now = state.now();
    let user = users::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(account.email),
        password_hash: Set(password_hash),
        first_name: Set(account.first_name),
        last_name: Set(account.last_name),
        phone: Set(account.phone),
        role: Set(account.role.as_str().to_string()),
        timezone: Set(account.timezone),
        is_active: Set(true),
        is_guest: Set(false),
        contact_email: Set(None),
        last_login_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    match user.insert(&state.db).await {
        Ok(user) => Ok(user),
        // Lost a race with a concurrent registration of the same address.
        Err(err)
            if matches!(
                err.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            Err(email_taken())
        }
        Err(err) => Err(err.into()),
    }
}

fn email_taken() -> ApiError {
    ApiError::conflict(
        "email_taken",
        "an account with this e-mail address already exists",
    )
    .with_field("email", "is already registered")
}

fn failed_login_limit(state: &AppState) -> Limit {
    Limit {
        name: "login_failures",
        max: state.config.rate_limit.failed_logins_per_window,
        window: StdDuration::from_secs(state.config.rate_limit.failed_login_window_secs),
    }
}

/// Check an e-mail and password. Too many failures from one client IP lock it out for the window (429).
pub async fn check_credentials(
    state: &AppState,
    email: &str,
    password: &str,
    client: IpAddr,
) -> Result<users::Model, ApiError> {
    let limit = failed_login_limit(state);
    let key = client.to_string();
    if state.config.rate_limit.enabled {
        match state.limiter.peek(&limit, &key).await {
            Ok(decision) if !decision.allowed => {
                return Err(ApiError::rate_limited(decision.reset_after)
                    .with_data(serde_json::json!({"reason": "too many failed logins"})));
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(%err, "rate limiter unavailable; allowing login attempt"),
        }
    }
    let email = email.trim().to_lowercase();
    let user = users::Entity::find()
        .filter(users::Column::Email.eq(&email))
        .one(&state.db)
        .await?;
    let ok = passwords::verify(password, user.as_ref().map(|u| u.password_hash.as_str())).await;
    match user {
        Some(user) if ok && user.is_active => Ok(user),
        Some(user) if ok && !user.is_active => Err(ApiError::unauthorized(
            "account_disabled",
            "this account is disabled",
        )),
        _ => {
            if state.config.rate_limit.enabled
                && let Err(err) = state.limiter.hit(&limit, &key).await
            {
                tracing::warn!(%err, "could not count a failed login");
            }
            metrics::counter!("brigade_failed_logins_total").increment(1);
            Err(ApiError::unauthorized(
                "invalid_credentials",
                "wrong e-mail address or password",
            ))
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    /// Always "Bearer".
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub access_expires_at: DateTime<Utc>,
    /// Single use: each refresh returns a new one. Re-using an old one revokes the whole chain.
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
}

/// Issue an access token and a refresh token (a new family unless `family` continues a rotation).
pub async fn issue_tokens<C: sea_orm::ConnectionTrait>(
    state: &AppState,
    conn: &C,
    user: &users::Model,
    family: Option<Uuid>,
) -> Result<TokenPair, ApiError> {
    let now = state.now();
    let role: Role = user.role.parse().unwrap_or(Role::Customer);
    let family = family.unwrap_or_else(Uuid::now_v7);
    let (access_token, access_expires_at) = state.keys.issue(user.id, role, now, Some(family))?;
    let refresh_token = random_token("rt_");
    let refresh_expires_at = now + Duration::days(state.config.auth.refresh_token_ttl_days);
    refresh_tokens::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        family_id: Set(family),
        token_hash: Set(digest(&refresh_token)),
        expires_at: Set(refresh_expires_at),
        created_at: Set(now),
        used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(TokenPair {
        access_token,
        token_type: "Bearer".into(),
        expires_in: (access_expires_at - now).num_seconds(),
        access_expires_at,
        refresh_token,
        refresh_expires_at,
    })
}

pub async fn record_login(state: &AppState, user: users::Model) -> Result<users::Model, ApiError> {
    let mut active: users::ActiveModel = user.into();
    active.last_login_at = Set(Some(state.now()));
    Ok(active.update(&state.db).await?)
}

/// End one sign-in: its refresh tokens, and (through the `sid` claim) its access tokens at once.
async fn revoke_family(state: &AppState, family: Uuid) -> Result<(), ApiError> {
    refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(state.now()))
        .filter(refresh_tokens::Column::FamilyId.eq(family))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(&state.db)
        .await?;
    super::auth::forget_sign_ins(state, &[family]).await;
    Ok(())
}

fn invalid_refresh() -> ApiError {
    ApiError::unauthorized(
        "invalid_refresh_token",
        "the refresh token is invalid or expired",
    )
}

/// Rotate a refresh token. A token that was already used (or revoked) is a sign of theft: the whole
/// family is revoked, so the thief and the victim both have to sign in again.
pub async fn refresh(
    state: &AppState,
    presented: &str,
) -> Result<(users::Model, TokenPair), ApiError> {
    let now = state.now();
    let token = refresh_tokens::Entity::find()
        .filter(refresh_tokens::Column::TokenHash.eq(digest(presented)))
        .one(&state.db)
        .await?
        .ok_or_else(invalid_refresh)?;
    if token.used_at.is_some() || token.revoked_at.is_some() {
        revoke_family(state, token.family_id).await?;
        metrics::counter!("brigade_refresh_token_reuse_total").increment(1);
        return Err(ApiError::unauthorized(
            "refresh_token_reused",
            "this refresh token was already used; all sessions from it are signed out",
        ));
    }
    if token.expires_at <= now {
        return Err(invalid_refresh());
    }
    let user = users::Entity::find_by_id(token.user_id)
        .one(&state.db)
        .await?
        .ok_or_else(invalid_refresh)?;
    if !user.is_active {
        return Err(ApiError::unauthorized(
            "account_disabled",
            "this account is disabled",
        ));
    }
    let txn = crate::database::begin_write(&state.db).await?;
    // Claim the token; of two concurrent refreshes only one gets a row.
    let claimed = refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::UsedAt, Expr::value(now))
        .filter(refresh_tokens::Column::Id.eq(token.id))
        .filter(refresh_tokens::Column::UsedAt.is_null())
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        txn.rollback().await?;
        revoke_family(state, token.family_id).await?;
        return Err(ApiError::unauthorized(
            "refresh_token_reused",
            "this refresh token was already used",
        ));
    }
    let pair = issue_tokens(state, &txn, &user, Some(token.family_id)).await?;
    txn.commit().await?;
    Ok((user, pair))
}

/// Sign out the chain a refresh token belongs to. Unknown tokens are fine (already signed out).
pub async fn logout(state: &AppState, presented: &str) -> Result<(), ApiError> {
    let token = refresh_tokens::Entity::find()
        .filter(refresh_tokens::Column::TokenHash.eq(digest(presented)))
        .one(&state.db)
        .await?;
    if let Some(token) = token {
        revoke_family(state, token.family_id).await?;
    }
    Ok(())
}

/// Revoke every refresh token and browser session of a user (after a password change or deactivation).
/// Returns the sign-ins it ended: pass them to `auth::forget_sign_ins` once the transaction commits, so
/// their access tokens stop working at once on every process.
#[must_use = "forget the ended sign-ins after the commit"]
pub async fn sign_out_everywhere<C: sea_orm::ConnectionTrait>(
    state: &AppState,
    conn: &C,
    user_id: Uuid,
) -> Result<Vec<Uuid>, ApiError> {
    let families: Vec<Uuid> = refresh_tokens::Entity::find()
        .select_only()
        .column(refresh_tokens::Column::FamilyId)
        .distinct()
        .filter(refresh_tokens::Column::UserId.eq(user_id))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .into_tuple()
        .all(conn)
        .await?;
    refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(state.now()))
        .filter(refresh_tokens::Column::UserId.eq(user_id))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    web_sessions::Entity::delete_many()
        .filter(web_sessions::Column::UserId.eq(user_id))
        .exec(conn)
        .await?;
    Ok(families)
}

/// Start a password reset. Says nothing about whether the address exists.
pub async fn request_password_reset(state: &AppState, email: &str) -> Result<(), ApiError> {
    let Ok(email) = parse_email(email) else {
        return Ok(());
    };
    let Some(user) = users::Entity::find()
        .filter(users::Column::Email.eq(&email))
        .one(&state.db)
        .await?
    else {
        return Ok(());
    };
    // A guest's address is a placeholder no mail reaches.
    if !user.is_active || user.is_guest {
        return Ok(());
    }
    let token = random_token("");
    let now = state.now();
    password_resets::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        token_hash: Set(digest(&token)),
        expires_at: Set(now + Duration::seconds(state.config.auth.password_reset_ttl_secs)),
        created_at: Set(now),
        used_at: Set(None),
    }
    .insert(&state.db)
    .await?;
    let link = format!(
        "{}/reset-password?token={}",
        state.config.public_url.trim_end_matches('/'),
        token
    );
    let body = format!(
        "Hello {},\n\nSomeone asked to reset the password of your Brigade account.\n\
         Open this link within {} minutes to choose a new one:\n\n{link}\n\n\
         Or use this reset token: {token}\n\nIf it was not you, ignore this e-mail.\n",
        user.first_name,
        state.config.auth.password_reset_ttl_secs / 60
    );
    mail::send(state, &user.email, "Reset your Brigade password", &body).await
}

pub async fn confirm_password_reset(
    state: &AppState,
    token: &str,
    new_password: &str,
) -> Result<(), ApiError> {
    let password = Password::parse(new_password).map_err(|e| ApiError::field("new_password", e))?;
    let invalid = || {
        ApiError::unauthorized(
            "invalid_reset_token",
            "the reset token is invalid, used or expired",
        )
    };
    let now = state.now();
    let reset = password_resets::Entity::find()
        .filter(password_resets::Column::TokenHash.eq(digest(token.trim())))
        .one(&state.db)
        .await?
        .filter(|r| r.used_at.is_none() && r.expires_at > now)
        .ok_or_else(invalid)?;
    let hash = passwords::hash(&password).await?;
    let txn = crate::database::begin_write(&state.db).await?;
    let claimed = password_resets::Entity::update_many()
        .col_expr(password_resets::Column::UsedAt, Expr::value(now))
        .filter(password_resets::Column::Id.eq(reset.id))
        .filter(password_resets::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(invalid());
    }
    users::Entity::update_many()
        .col_expr(users::Column::PasswordHash, Expr::value(hash))
        .col_expr(users::Column::UpdatedAt, Expr::value(now))
        .filter(users::Column::Id.eq(reset.user_id))
        .exec(&txn)
        .await?;
    let ended = sign_out_everywhere(state, &txn, reset.user_id).await?;
    txn.commit().await?;
    super::auth::forget_sign_ins(state, &ended).await;
    Ok(())
}

pub async fn change_password(
    state: &AppState,
    user: &users::Model,
    current: &str,
    new: &str,
) -> Result<(), ApiError> {
    let password = Password::parse(new).map_err(|e| ApiError::field("new_password", e))?;
    if !passwords::verify(current, Some(&user.password_hash)).await {
        // Not a malformed request: the caller may not change the password without knowing it.
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "wrong_password",
            "the current password is not right",
        )
        .with_field("current_password", "is not your current password"));
    }
    let hash = passwords::hash(&password).await?;
    let txn = crate::database::begin_write(&state.db).await?;
    users::Entity::update_many()
        .col_expr(users::Column::PasswordHash, Expr::value(hash))
        .col_expr(users::Column::UpdatedAt, Expr::value(state.now()))
        .filter(users::Column::Id.eq(user.id))
        .exec(&txn)
        .await?;
    let ended = sign_out_everywhere(state, &txn, user.id).await?;
    txn.commit().await?;
    super::auth::forget_sign_ins(state, &ended).await;
    Ok(())
}

/// Create an API key; the plain key is returned once and only its hash is kept.
pub async fn create_api_key(
    state: &AppState,
    user_id: Uuid,
    name: &str,
    scopes: &[Scope],
) -> Result<(api_keys::Model, String), ApiError> {
    let key = random_token(super::auth::API_KEY_PREFIX);
    let model = api_keys::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        name: Set(name.to_string()),
        prefix: Set(key.chars().take(12).collect()),
        key_hash: Set(digest(&key)),
        scopes: Set(scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")),
        created_at: Set(state.now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(&state.db)
    .await?;
    Ok((model, key))
}
