//! `/api/restaurants`: the shared restaurant records, their weekly hours and their people.

use axum::extract::State;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{
    HoursInterval, RestaurantInput, RestaurantStatus, RestaurantView, check_hours, find, find_view,
    hours_of, replace_hours,
};
use crate::accounts::{AuthUser, MemberRole, Role, require_restaurant_role};
use crate::entities::{restaurant_members, restaurants, users};
use crate::http::envelope::{Envelope, Page, PageParams, Reply, created, ok, paginate};
use crate::http::error::{ApiError, ApiResult, ErrorBody, FieldErrors};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_restaurants, create_restaurant))
        .routes(routes!(
            get_restaurant,
            update_restaurant,
            delete_restaurant
        ))
        .routes(routes!(get_hours, put_hours))
        .routes(routes!(list_members, add_member))
        .routes(routes!(remove_member))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, Default)]
pub enum RestaurantSort {
    #[default]
    #[serde(rename = "name")]
    NameAsc,
    #[serde(rename = "-name")]
    NameDesc,
    #[serde(rename = "created_at")]
    CreatedAsc,
    #[serde(rename = "-created_at")]
    CreatedDesc,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RestaurantFilter {
    pub status: Option<RestaurantStatus>,
    pub region: Option<String>,
    /// Text search in name and address.
    pub q: Option<String>,
    pub external_id: Option<String>,
    pub sort: Option<RestaurantSort>,
    /// 1-based page number (default 1).
    pub page: Option<crate::http::envelope::PageNumber>,
    /// Items per page, 1 to 100 (default 20).
    pub per_page: Option<crate::http::envelope::PerPage>,
}

/// List restaurants. Admins and KAMs see all; others see the restaurants they belong to.
#[utoipa::path(get, path = "/api/restaurants", tag = "restaurants", security(("bearer" = []), ("api_key" = ["restaurants:read"])), params(RestaurantFilter),
    responses(
        (status = 200, description = "A page of restaurants", body = Envelope<Page<RestaurantView>>),
        (status = 400, description = "Bad filter", body = ErrorBody),
    ))]
async fn list_restaurants(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(filter): ApiQuery<RestaurantFilter>,
) -> ApiResult<Reply<Page<RestaurantView>>> {
    let mut select = restaurants::Entity::find();
    if !matches!(me.role, Role::Admin | Role::Kam) {
        let mine = restaurant_members::Entity::find()
            .select_only()
            .column(restaurant_members::Column::RestaurantId)
            .filter(restaurant_members::Column::UserId.eq(me.user_id))
            .into_tuple::<Uuid>()
            .all(&state.db)
            .await?;
        select = select.filter(restaurants::Column::Id.is_in(mine));
    }
    if let Some(status) = filter.status {
        select = select.filter(restaurants::Column::Status.eq(status.as_str()));
    }
    if let Some(region) = filter.region.as_deref().filter(|r| !r.is_empty()) {
        select = select.filter(restaurants::Column::Region.eq(region));
    }
    if let Some(external) = filter.external_id.as_deref() {
        select = select.filter(restaurants::Column::ExternalId.eq(external));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let backend = sea_orm::ConnectionTrait::get_database_backend(&state.db);
        select = select.filter(super::matching(backend, q));
    }
    select = match filter.sort.unwrap_or_default() {
        RestaurantSort::NameAsc => select.order_by_asc(restaurants::Column::Name),
        RestaurantSort::NameDesc => select.order_by_desc(restaurants::Column::Name),
        RestaurantSort::CreatedAsc => select.order_by_asc(restaurants::Column::CreatedAt),
        RestaurantSort::CreatedDesc => select.order_by_desc(restaurants::Column::CreatedAt),
    }
    .order_by_asc(restaurants::Column::Id);
    let (rows, index, per_page, total) = paginate(
        select,
        &state.db,
        &PageParams {
            page: filter.page,
            per_page: filter.per_page,
        },
    )
    .await?;
    let items = super::views_of(&state.db, rows, state.now()).await?;
    Ok(ok(Page::new(items, index, per_page, total)))
}

/// Create a restaurant (admin).
#[utoipa::path(post, path = "/api/restaurants", tag = "restaurants", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    request_body(content = crate::restaurants::RestaurantInput, example = json!({"name": "Dishoom Shoreditch", "timezone": "Europe/London",
        "region": "London", "status": "active", "hours": [{"weekday": 0, "opens": "08:00", "closes": "23:00"},
        {"weekday": 4, "opens": "18:00", "closes": "02:00"}]})),
    responses(
        (status = 201, description = "Created", body = Envelope<RestaurantView>),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "External id taken", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn create_restaurant(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiJson(input): ApiJson<RestaurantInput>,
) -> ApiResult<Reply<RestaurantView>> {
    me.require_admin()?;
    Ok(created(super::create(&state, &input).await?))
}

async fn require_read(
    state: &AppState,
    me: &crate::accounts::Principal,
    id: Uuid,
) -> ApiResult<()> {
    if matches!(me.role, Role::Admin | Role::Kam) {
        return Ok(());
    }
    require_restaurant_role(state, me, id, MemberRole::Staff).await
}

/// One restaurant with its hours.
#[utoipa::path(get, path = "/api/restaurants/{id}", tag = "restaurants", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("id" = Uuid, Path, description = "Restaurant id")),
    responses(
        (status = 200, description = "The restaurant", body = Envelope<RestaurantView>),
        (status = 404, description = "No such restaurant", body = ErrorBody),
    ))]
async fn get_restaurant(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<RestaurantView>> {
    let view = find_view(&state, id).await?;
    require_read(&state, &me, id).await?;
    Ok(ok(view))
}

/// Update a restaurant (admin, or its owner or manager). Fields left out stay as they are.
#[utoipa::path(put, path = "/api/restaurants/{id}", tag = "restaurants", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("id" = Uuid, Path, description = "Restaurant id")), request_body = RestaurantInput,
    responses(
        (status = 200, description = "Updated", body = Envelope<RestaurantView>),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such restaurant", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn update_restaurant(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<RestaurantInput>,
) -> ApiResult<Reply<RestaurantView>> {
    Ok(ok(update(&state, &me, id, &input).await?))
}

/// Apply a change to a restaurant as `me` (admin, or its owner or manager; only admins change the
/// status and external id).
pub async fn update(
    state: &AppState,
    me: &crate::accounts::Principal,
    id: Uuid,
    input: &RestaurantInput,
) -> ApiResult<RestaurantView> {
    let model = find(state, id).await?;
    require_restaurant_role(state, me, id, MemberRole::Manager).await?;
    if !me.is_admin() && (input.external_id.is_some() || input.status.is_some()) {
        return Err(ApiError::forbidden(
            "only admins change a restaurant's status or external id",
        ));
    }
    let old_status = model.status.clone();
    let mut active: restaurants::ActiveModel = model.into();
    super::apply(input, &mut active, false)?;
    active.updated_at = Set(state.now());
    let txn = crate::database::begin_write(&state.db).await?;
    let updated = active
        .update(&txn)
        .await
        .map_err(super::external_id_conflict)?;
    crate::crm::record_status_change(
        &txn,
        id,
        Some(&old_status),
        &updated.status,
        Some(me.user_id),
        None,
        state.now(),
    )
    .await?;
    if let Some(hours) = &input.hours {
        replace_hours(&txn, id, hours).await?;
    }
    txn.commit().await?;
    // The menu shows the venue's currency.
    crate::menus::invalidate(state, id).await;
    find_view(state, id).await
}

/// Delete a restaurant and everything that belongs only to it (admin).
#[utoipa::path(delete, path = "/api/restaurants/{id}", tag = "restaurants", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("id" = Uuid, Path, description = "Restaurant id")),
    responses(
        (status = 200, description = "Deleted", body = Envelope<Option<String>>),
        (status = 404, description = "No such restaurant", body = ErrorBody),
    ))]
async fn delete_restaurant(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<Option<String>>> {
    me.require_admin()?;
    super::delete(&state, id).await?;
    Ok(ok(None).message("restaurant deleted"))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HoursBody {
    /// Local intervals; empty means open around the clock.
    #[schema(max_items = 70)]
    pub hours: Vec<HoursInterval>,
}

/// Weekly opening hours (local time in the restaurant's zone).
#[utoipa::path(get, path = "/api/restaurants/{id}/hours", tag = "restaurants", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("id" = Uuid, Path, description = "Restaurant id")),
    responses((status = 200, description = "Hours", body = Envelope<HoursBody>)))]
async fn get_hours(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<HoursBody>> {
    let view = find_view(&state, id).await?;
    require_read(&state, &me, id).await?;
    Ok(ok(HoursBody { hours: view.hours }))
}

/// Replace the weekly opening hours (admin, owner or manager).
#[utoipa::path(put, path = "/api/restaurants/{id}/hours", tag = "restaurants", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("id" = Uuid, Path, description = "Restaurant id")),
    request_body(content = HoursBody, example = json!({"hours": [{"weekday": 0, "opens": "11:30", "closes": "14:30"},
        {"weekday": 0, "opens": "18:00", "closes": "23:00"}, {"weekday": 5, "opens": "18:00", "closes": "02:00"}]})),
    responses(
        (status = 200, description = "New hours", body = Envelope<HoursBody>),
        (status = 422, description = "Invalid hours", body = ErrorBody),
    ))]
async fn put_hours(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<HoursBody>,
) -> ApiResult<Reply<HoursBody>> {
    find(&state, id).await?;
    require_restaurant_role(&state, &me, id, MemberRole::Manager).await?;
    let mut errors = FieldErrors::new();
    check_hours(&body.hours, &mut errors);
    errors.into_result()?;
    let txn = crate::database::begin_write(&state.db).await?;
    replace_hours(&txn, id, &body.hours).await?;
    txn.commit().await?;
    crate::menus::invalidate(&state, id).await;
    let hours = hours_of(&state.db, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    Ok(ok(HoursBody { hours }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: MemberRole,
    pub since: chrono::DateTime<chrono::Utc>,
}

/// People of a restaurant (admin or any member).
#[utoipa::path(get, path = "/api/restaurants/{id}/members", tag = "restaurants", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("id" = Uuid, Path, description = "Restaurant id")),
    responses((status = 200, description = "Members", body = Envelope<Vec<MemberView>>)))]
async fn list_members(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<Vec<MemberView>>> {
    find(&state, id).await?;
    require_read(&state, &me, id).await?;
    let rows = restaurant_members::Entity::find()
        .filter(restaurant_members::Column::RestaurantId.eq(id))
        .find_also_related(users::Entity)
        .order_by_asc(restaurant_members::Column::CreatedAt)
        .all(&state.db)
        .await?;
    let members = rows
        .into_iter()
        .filter_map(|(m, u)| {
            let u = u?;
            Some(MemberView {
                user_id: u.id,
                email: u.email,
                name: format!("{} {}", u.first_name, u.last_name),
                role: m.role.parse().ok()?,
                since: m.created_at,
            })
        })
        .collect();
    Ok(ok(members))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AddMember {
    /// The e-mail address of an account (404 when there is none).
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    pub role: MemberRole,
}

/// Add a person to a restaurant, or change their role there (admin or owner).
#[utoipa::path(post, path = "/api/restaurants/{id}/members", tag = "restaurants", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("id" = Uuid, Path, description = "Restaurant id")), request_body = AddMember,
    responses(
        (status = 201, description = "Added", body = Envelope<MemberView>),
        (status = 404, description = "No such restaurant, or no account with that e-mail", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn add_member(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AddMember>,
) -> ApiResult<Reply<MemberView>> {
    find(&state, id).await?;
    require_restaurant_role(&state, &me, id, MemberRole::Owner).await?;
    let email = body.email.trim().to_lowercase();
    let user = users::Entity::find()
        .filter(users::Column::Email.eq(&email))
        .one(&state.db)
        .await?
        .ok_or_else(|| {
            ApiError::not_found("account").with_field("email", "no account has this e-mail address")
        })?;
    let existing = restaurant_members::Entity::find()
        .filter(restaurant_members::Column::RestaurantId.eq(id))
        .filter(restaurant_members::Column::UserId.eq(user.id))
        .one(&state.db)
        .await?;
    let member = match existing {
        Some(member) => {
            let mut active: restaurant_members::ActiveModel = member.into();
            active.role = Set(body.role.as_str().to_string());
            active.update(&state.db).await?
        }
        None => {
            restaurant_members::ActiveModel {
                id: Set(Uuid::now_v7()),
                user_id: Set(user.id),
                restaurant_id: Set(id),
                role: Set(body.role.as_str().to_string()),
                created_at: Set(state.now()),
            }
            .insert(&state.db)
            .await?
        }
    };
    Ok(created(MemberView {
        user_id: user.id,
        email: user.email,
        name: format!("{} {}", user.first_name, user.last_name),
        role: body.role,
        since: member.created_at,
    }))
}

/// Remove a person from a restaurant (admin or owner).
#[utoipa::path(delete, path = "/api/restaurants/{id}/members/{user_id}", tag = "restaurants", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("id" = Uuid, Path, description = "Restaurant id"), ("user_id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "Removed", body = Envelope<Option<String>>),
        (status = 404, description = "Not a member", body = ErrorBody),
    ))]
async fn remove_member(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((id, user_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Reply<Option<String>>> {
    find(&state, id).await?;
    require_restaurant_role(&state, &me, id, MemberRole::Owner).await?;
    let deleted = restaurant_members::Entity::delete_many()
        .filter(restaurant_members::Column::RestaurantId.eq(id))
        .filter(restaurant_members::Column::UserId.eq(user_id))
        .exec(&state.db)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(ApiError::not_found("membership"));
    }
    Ok(ok(None).message("member removed"))
}
