//! `/api/users`: administrators manage accounts and roles.

use axum::extract::State;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::service::{self, NewAccount};
use super::{AuthUser, Role, UserView, memberships_of, user_view};
use crate::entities::users;
use crate::http::envelope::{
    Envelope, Page, PageParams, Reply, contains_ci, created, ok, paginate,
};
use crate::http::error::{ApiError, ApiResult, ErrorBody, FieldErrors};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    /// Only this role.
    pub role: Option<Role>,
    /// Only active (true) or disabled (false) accounts.
    pub is_active: Option<bool>,
    /// Text search in e-mail and names.
    pub q: Option<String>,
    /// 1-based page number (default 1).
    pub page: Option<crate::http::envelope::PageNumber>,
    /// Items per page, 1 to 100 (default 20).
    pub per_page: Option<crate::http::envelope::PerPage>,
}

/// List accounts (admin).
#[utoipa::path(get, path = "/api/users", tag = "users", security(("bearer" = []), ("api_key" = ["users:read"])), params(UserFilter),
    responses(
        (status = 200, description = "A page of accounts", body = Envelope<Page<UserView>>),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
async fn list_users(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(filter): ApiQuery<UserFilter>,
) -> ApiResult<Reply<Page<UserView>>> {
    me.require_admin()?;
    let mut select = users::Entity::find().order_by_asc(users::Column::Email);
    if let Some(role) = filter.role {
        select = select.filter(users::Column::Role.eq(role.as_str()));
    }
    if let Some(active) = filter.is_active {
        select = select.filter(users::Column::IsActive.eq(active));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        select = select.filter(
            Condition::any()
                .add(contains_ci(users::Column::Email, q))
                .add(contains_ci(users::Column::FirstName, q))
                .add(contains_ci(users::Column::LastName, q)),
        );
    }
    let (rows, index, per_page, total) = paginate(
        select,
        &state.db,
        &PageParams {
            page: filter.page,
            per_page: filter.per_page,
        },
    )
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for user in rows {
        let memberships = memberships_of(&state, user.id).await?;
        items.push(UserView::from_model(user, memberships));
    }
    Ok(ok(Page::new(items, index, per_page, total)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateUser {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[schema(min_length = 8, max_length = 128, pattern = r"\S")]
    pub password: String,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub first_name: String,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub last_name: String,
    #[schema(pattern = r"^$|^\+?[ ().-]*([0-9][ ().-]*){6,15}$")]
    pub phone: Option<String>,
    pub role: Role,
    #[schema(value_type = Option<crate::http::openapi::TimeZoneOrNone>)]
    pub timezone: Option<String>,
}

/// Create an account with any role (admin).
#[utoipa::path(post, path = "/api/users", tag = "users", security(("bearer" = [])), request_body = CreateUser,
    responses(
        (status = 201, description = "Created", body = Envelope<UserView>),
        (status = 409, description = "E-mail taken", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn create_user(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiJson(body): ApiJson<CreateUser>,
) -> ApiResult<Reply<UserView>> {
    me.require_admin()?;
    let account = NewAccount::parse(
        &body.email,
        &body.password,
        &body.first_name,
        &body.last_name,
        body.phone.as_deref(),
        body.role,
        body.timezone.as_deref(),
    )?;
    let user = service::create_user(&state, account).await?;
    Ok(created(user_view(&state, user).await?))
}

/// One account (admin, or yourself).
#[utoipa::path(get, path = "/api/users/{id}", tag = "users", security(("bearer" = []), ("api_key" = ["users:read"])),
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The account", body = Envelope<UserView>),
        (status = 404, description = "No such account", body = ErrorBody),
    ))]
async fn get_user(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<UserView>> {
    if !me.is_admin() && me.user_id != id {
        return Err(ApiError::forbidden("only admins can read other accounts"));
    }
    let user = users::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(ok(user_view(&state, user).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub role: Option<Role>,
    pub is_active: Option<bool>,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub first_name: Option<String>,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub last_name: Option<String>,
    /// Empty string clears it.
    #[schema(value_type = Option<crate::http::openapi::TimeZoneOrNone>)]
    pub timezone: Option<String>,
}

/// Change an account's role, activity, names or time zone (admin). Disabling signs the account out.
#[utoipa::path(put, path = "/api/users/{id}", tag = "users", security(("bearer" = [])), request_body = UpdateUser,
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "Updated", body = Envelope<UserView>),
        (status = 404, description = "No such account", body = ErrorBody),
        (status = 409, description = "You cannot disable or demote your own account", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn update_user(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UpdateUser>,
) -> ApiResult<Reply<UserView>> {
    me.require_admin()?;
    let user = users::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    if id == me.user_id
        && (body.is_active == Some(false) || body.role.is_some_and(|r| r != Role::Admin))
    {
        return Err(ApiError::conflict(
            "cannot_demote_self",
            "you cannot disable or demote your own account",
        ));
    }
    let mut errors = FieldErrors::new();
    let mut active: users::ActiveModel = user.into();
    if let Some(role) = body.role {
        active.role = Set(role.as_str().to_string());
    }
    if let Some(is_active) = body.is_active {
        active.is_active = Set(is_active);
    }
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
    match body.timezone.as_deref() {
        Some("") => active.timezone = Set(None),
        Some(tz) => {
            if let Some(tz) = errors.check("timezone", service::parse_timezone(tz)) {
                active.timezone = Set(Some(tz));
            }
        }
        None => {}
    }
    errors.into_result()?;
    active.updated_at = Set(state.now());
    let user = active.update(&state.db).await?;
    super::auth::forget_account(&state, user.id).await;
    if !user.is_active {
        let ended = service::sign_out_everywhere(&state, &state.db, user.id).await?;
        super::auth::forget_sign_ins(&state, &ended).await;
    }
    Ok(ok(user_view(&state, user).await?))
}
