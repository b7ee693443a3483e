//! `/api/crm/...`: KAM profiles, leads, contacts, interactions, call planning, reassignment and
//! performance. Administrators see everything; a KAM only their own restaurants (404 for the others);
//! other roles 403.

use std::collections::HashMap;

use axum::extract::State;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, JoinType, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait, Set,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::score::{Breakdown, Patterns, Tier};
use super::{
    AssignmentView, CallsToday, ContactRole, InteractionKind, Outcome, account_for, active_kam,
    assignment_views, call_days, ensure_account, planning, record_status_change, user_names,
};
use crate::accounts::{AuthUser, Principal, Role};
use crate::entities::{
    contacts, crm_accounts, interactions, kam_assignments, kam_profiles, kam_working_hours, orders,
    restaurant_scores, restaurant_status_changes, restaurants, users,
};
use crate::http::envelope::{Envelope, Page, PageParams, Reply, created, ok, paginate};
use crate::http::error::{ApiError, ApiResult, ErrorBody, FieldErrors};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::restaurants::{HoursInterval, RestaurantInput, RestaurantStatus};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_kams))
        .routes(routes!(my_profile))
        .routes(routes!(get_kam, update_kam))
        .routes(routes!(list_accounts))
        .routes(routes!(create_lead))
        .routes(routes!(get_account))
        .routes(routes!(change_status))
        .routes(routes!(status_history))
        .routes(routes!(update_call_plan))
        .routes(routes!(list_contacts, create_contact))
        .routes(routes!(update_contact, delete_contact))
        .routes(routes!(list_interactions, create_interaction))
        .routes(routes!(assignment_history))
        .routes(routes!(performance))
        .routes(routes!(restaurant_orders))
        .routes(routes!(reassign))
        .routes(routes!(calls_today))
        .routes(routes!(performance_overview))
        .routes(routes!(super::import::import_leads))
        .routes(routes!(super::import::import_contacts))
}

/// `Some(None)` for an explicit `null`, `None` when the field is absent.
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

fn crm_read(me: &Principal) -> ApiResult<()> {
    me.require_role(&[Role::Admin, Role::Kam])?;
    Ok(())
}

fn crm_write(me: &Principal) -> ApiResult<()> {
    me.require_role(&[Role::Admin, Role::Kam])?;
    Ok(())
}

fn text(value: &str, field: &str, max: usize, errors: &mut FieldErrors) -> Option<String> {
    errors.check(field, crate::http::text::required_text(value, max))
}

// ---------------------------------------------------------------------------------------------------
// KAMs

#[derive(Debug, Serialize, ToSchema)]
pub struct KamView {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub region: Option<String>,
    /// IANA zone; "today" and working hours are read in it.
    pub timezone: String,
    /// Weekly working hours in `timezone` (Monday to Friday 09:00–17:00 until set).
    pub working_hours: Vec<HoursInterval>,
    /// Working days (0 = Monday), from the hours.
    pub working_days: Vec<u8>,
    pub is_active: bool,
    pub restaurants: u64,
}

async fn kam_view(state: &AppState, user: users::Model) -> ApiResult<KamView> {
    Ok(kam_views(state, vec![user]).await?.remove(0))
}

/// Profiles of several KAMs in three queries (hours, regions, restaurant counts), whatever their number.
async fn kam_views(state: &AppState, users: Vec<users::Model>) -> ApiResult<Vec<KamView>> {
    let ids: Vec<Uuid> = users.iter().map(|u| u.id).collect();
    let mut hours: HashMap<Uuid, Vec<HoursInterval>> = HashMap::new();
    for r in kam_working_hours::Entity::find()
        .filter(kam_working_hours::Column::UserId.is_in(ids.iter().copied()))
        .order_by_asc(kam_working_hours::Column::Weekday)
        .order_by_asc(kam_working_hours::Column::Opens)
        .all(&state.db)
        .await?
    {
        hours.entry(r.user_id).or_default().push(HoursInterval {
            weekday: r.weekday as u8,
            opens: r.opens,
            closes: r.closes,
        });
    }
    let regions: HashMap<Uuid, Option<String>> = kam_profiles::Entity::find()
        .filter(kam_profiles::Column::UserId.is_in(ids.iter().copied()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|p| (p.user_id, p.region))
        .collect();
    let counts: HashMap<Uuid, i64> = crm_accounts::Entity::find()
        .select_only()
        .column(crm_accounts::Column::KamId)
        .column_as(crm_accounts::Column::RestaurantId.count(), "restaurants")
        .filter(crm_accounts::Column::KamId.is_in(ids.iter().copied()))
        .group_by(crm_accounts::Column::KamId)
        .into_tuple::<(Uuid, i64)>()
        .all(&state.db)
        .await?
        .into_iter()
        .collect();
    Ok(users
        .into_iter()
        .map(|user| {
            let intervals = hours
                .remove(&user.id)
                .unwrap_or_else(planning::default_working_hours);
            let mut working_days: Vec<u8> = intervals.iter().map(|i| i.weekday).collect();
            working_days.sort();
            working_days.dedup();
            let timezone = super::kam_zone(&user).name().to_string();
            KamView {
                id: user.id,
                email: user.email,
                first_name: user.first_name,
                last_name: user.last_name,
                phone: user.phone,
                region: regions.get(&user.id).cloned().flatten(),
                timezone,
                working_hours: intervals,
                working_days,
                is_active: user.is_active,
                restaurants: counts.get(&user.id).copied().unwrap_or(0) as u64,
            }
        })
        .collect())
}

async fn kam_user(state: &AppState, me: &Principal, id: Uuid) -> ApiResult<users::Model> {
    me.require_role(&[Role::Admin, Role::Kam])?;
    if me.role == Role::Kam && me.user_id != id {
        return Err(ApiError::not_found("key account manager"));
    }
    users::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|u| u.role == Role::Kam.as_str())
        .ok_or_else(|| ApiError::not_found("key account manager"))
}

/// Key account managers (admin), with how many restaurants each looks after.
#[utoipa::path(get, path = "/api/crm/kams", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:read"])),
    responses(
        (status = 200, description = "Every KAM", body = Envelope<Vec<KamView>>),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
async fn list_kams(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
) -> ApiResult<Reply<Vec<KamView>>> {
    me.require_admin()?;
    let rows = users::Entity::find()
        .filter(users::Column::Role.eq(Role::Kam.as_str()))
        .order_by_asc(users::Column::FirstName)
        .order_by_asc(users::Column::LastName)
        .all(&state.db)
        .await?;
    Ok(ok(kam_views(&state, rows).await?))
}

/// The signed-in KAM's own profile.
#[utoipa::path(get, path = "/api/crm/me", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:read"])),
    responses(
        (status = 200, description = "Profile", body = Envelope<KamView>),
        (status = 403, description = "Not a KAM", body = ErrorBody),
    ))]
async fn my_profile(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
) -> ApiResult<Reply<KamView>> {
    me.require_role(&[Role::Kam])?;
    let user = kam_user(&state, &me, me.user_id).await?;
    Ok(ok(kam_view(&state, user).await?))
}

/// One KAM (admin, or the KAM themselves).
#[utoipa::path(get, path = "/api/crm/kams/{id}", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:read"])),
    params(("id" = Uuid, Path, description = "The KAM's user id")),
    responses(
        (status = 200, description = "Profile", body = Envelope<KamView>),
        (status = 404, description = "No such KAM (or not you)", body = ErrorBody),
    ))]
async fn get_kam(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<KamView>> {
    let user = kam_user(&state, &me, id).await?;
    Ok(ok(kam_view(&state, user).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KamProfileInput {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub first_name: Option<String>,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub last_name: Option<String>,
    /// Blank removes it.
    #[schema(pattern = r"^$|^\s*\+?[ ().-]*([0-9][ ().-]*){6,15}\s*$")]
    pub phone: Option<String>,
    #[schema(max_length = 100)]
    pub region: Option<String>,
    /// IANA zone, e.g. Asia/Kolkata.
    #[schema(value_type = Option<crate::http::openapi::TimeZoneName>)]
    pub timezone: Option<String>,
    /// Replaces the weekly working hours (local to `timezone`; split shifts and past-midnight allowed).
    #[schema(min_items = 1, max_items = 70)]
    pub working_hours: Option<Vec<HoursInterval>>,
}

/// Apply a profile change (shared with the settings page).
pub async fn apply_profile(
    state: &AppState,
    user: users::Model,
    input: &KamProfileInput,
) -> ApiResult<()> {
    apply_profile_after(state, user, input, FieldErrors::new()).await
}

/// `apply_profile` for a caller that has already found `errors` of its own (a form's fields it
/// parsed itself): every problem is reported together and nothing is saved unless there are none.
pub async fn apply_profile_after(
    state: &AppState,
    user: users::Model,
    input: &KamProfileInput,
    mut errors: FieldErrors,
) -> ApiResult<()> {
    let now = state.now();
    let mut active: users::ActiveModel = user.clone().into();
    if let Some(v) = &input.first_name
        && let Some(v) = text(v, "first_name", 100, &mut errors)
    {
        active.first_name = Set(v);
    }
    if let Some(v) = &input.last_name
        && let Some(v) = text(v, "last_name", 100, &mut errors)
    {
        active.last_name = Set(v);
    }
    if let Some(v) = &input.phone {
        let v = crate::http::text::trimmed(v);
        if v.is_empty() {
            active.phone = Set(None);
        } else if let Some(p) = errors.check("phone", crate::accounts::service::parse_phone(v)) {
            active.phone = Set(Some(p));
        }
    }
    if let Some(v) = &input.timezone
        && let Some(tz) = errors.check("timezone", crate::accounts::service::parse_timezone(v))
    {
        active.timezone = Set(Some(tz));
    }
    let region = input.region.as_ref().map(|r| {
        errors
            .check("region", crate::http::text::optional_text(r, 100))
            .flatten()
    });
    if let Some(hours) = &input.working_hours {
        crate::restaurants::check_hours(hours, &mut errors);
        if hours.is_empty() {
            errors.add("working_hours", "must name at least one working interval");
        }
    }
    errors.into_result()?;
    active.updated_at = Set(now);
    let txn = crate::database::begin_write(&state.db).await?;
    active.update(&txn).await?;
    if let Some(region) = region {
        kam_profiles::Entity::insert(kam_profiles::ActiveModel {
            user_id: Set(user.id),
            region: Set(region),
            updated_at: Set(now),
        })
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(kam_profiles::Column::UserId)
                .update_columns([
                    kam_profiles::Column::Region,
                    kam_profiles::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec(&txn)
        .await?;
    }
    if let Some(hours) = &input.working_hours {
        kam_working_hours::Entity::delete_many()
            .filter(kam_working_hours::Column::UserId.eq(user.id))
            .exec(&txn)
            .await?;
        kam_working_hours::Entity::insert_many(hours.iter().map(|h| {
            kam_working_hours::ActiveModel {
                id: Set(Uuid::now_v7()),
                user_id: Set(user.id),
                weekday: Set(i16::from(h.weekday)),
                opens: Set(h.opens),
                closes: Set(h.closes),
            }
        }))
        .exec(&txn)
        .await?;
    }
    txn.commit().await?;
    crate::accounts::auth::forget_account(state, user.id).await;
    Ok(())
}

/// Change a KAM's profile: name, phone, region, time zone and working hours (admin, or the KAM).
#[utoipa::path(put, path = "/api/crm/kams/{id}", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:write"])),
    params(("id" = Uuid, Path, description = "The KAM's user id")),
    request_body(content = KamProfileInput, example = json!({"region": "South", "timezone": "Asia/Kolkata",
        "working_hours": [{"weekday": 0, "opens": "10:00", "closes": "14:00"}, {"weekday": 0, "opens": "16:00", "closes": "20:00"}]})),
    responses(
        (status = 200, description = "Updated profile", body = Envelope<KamView>),
        (status = 404, description = "No such KAM (or not you)", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn update_kam(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<KamProfileInput>,
) -> ApiResult<Reply<KamView>> {
    let user = kam_user(&state, &me, id).await?;
    apply_profile(&state, user, &input).await?;
    let user = kam_user(&state, &me, id).await?;
    Ok(ok(kam_view(&state, user).await?))
}

// ---------------------------------------------------------------------------------------------------
// Accounts (restaurants in the CRM)

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KamBrief {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountSummary {
    pub id: Uuid,
    pub name: String,
    pub region: Option<String>,
    pub status: RestaurantStatus,
    pub timezone: String,
    pub kam: Option<KamBrief>,
    pub tier: Option<Tier>,
    pub score: Option<i32>,
    pub call_frequency_days: i32,
    pub last_call_at: Option<DateTime<Utc>>,
    pub next_call_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountFilter {
    /// Part of the name or address, any case.
    pub q: Option<String>,
    pub status: Option<RestaurantStatus>,
    pub tier: Option<Tier>,
    pub region: Option<String>,
    /// Admins only: one KAM's restaurants (`none` is not accepted; use `unassigned=true`).
    pub kam_id: Option<Uuid>,
    /// Admins only: restaurants without a KAM.
    pub unassigned: Option<bool>,
    pub page: Option<crate::http::envelope::PageNumber>,
    pub per_page: Option<crate::http::envelope::PerPage>,
}

pub fn summary(
    r: restaurants::Model,
    a: Option<crm_accounts::Model>,
    names: &HashMap<Uuid, String>,
) -> AccountSummary {
    let kam = a.as_ref().and_then(|a| a.kam_id).map(|id| KamBrief {
        id,
        name: names.get(&id).cloned().unwrap_or_default(),
    });
    AccountSummary {
        id: r.id,
        status: r.status.parse().unwrap_or(RestaurantStatus::New),
        name: r.name,
        region: r.region,
        timezone: r.timezone,
        kam,
        tier: a
            .as_ref()
            .and_then(|a| a.tier.as_deref().and_then(Tier::parse)),
        score: a.as_ref().and_then(|a| a.score),
        call_frequency_days: a
            .as_ref()
            .map(call_days)
            .unwrap_or(Tier::default_call_days(None)),
        last_call_at: a.as_ref().and_then(|a| a.last_call_at),
        next_call_at: a.as_ref().and_then(|a| a.next_call_at),
    }
}

/// One page of CRM restaurants for `me` with the filter applied (shared with the web list).
pub async fn search_accounts(
    state: &AppState,
    me: &Principal,
    filter: &AccountFilter,
) -> ApiResult<Page<AccountSummary>> {
    let params = PageParams {
        page: filter.page,
        per_page: filter.per_page,
    };
    let (index, per_page) = params.resolve()?;
    let scope = match me.role {
        Role::Kam => {
            if filter.kam_id.is_some_and(|k| k != me.user_id) || filter.unassigned == Some(true) {
                return Err(ApiError::forbidden(
                    "a key account manager sees only their own restaurants",
                ));
            }
            Some(me.user_id)
        }
        _ => filter.kam_id,
    };
    // One KAM's restaurants (a few thousand at most) are found from the KAM index first, so the
    // database never walks every restaurant by name to find them; past 20,000 the join does it.
    let mut scoped: Option<Vec<Uuid>> = None;
    if let Some(kam) = scope {
        let mut ids = crm_accounts::Entity::find()
            .select_only()
            .column(crm_accounts::Column::RestaurantId)
            .filter(crm_accounts::Column::KamId.eq(kam));
        if let Some(tier) = filter.tier {
            ids = ids.filter(crm_accounts::Column::Tier.eq(tier.as_str()));
        }
        let ids: Vec<Uuid> = ids.limit(20_001).into_tuple().all(&state.db).await?;
        if ids.len() <= 20_000 {
            scoped = Some(ids);
        }
    }
    // Other filters on the CRM row need the join; without them the count reads `restaurants` alone.
    let needs_join = scoped.is_none()
        && (scope.is_some() || filter.unassigned == Some(true) || filter.tier.is_some());
    let mut select = restaurants::Entity::find();
    if let Some(ids) = &scoped {
        select = select.filter(restaurants::Column::Id.is_in(ids.iter().copied()));
    } else if needs_join {
        select = select.join(
            JoinType::LeftJoin,
            crm_accounts::Relation::Restaurant.def().rev(),
        );
        if let Some(kam) = scope {
            select = select.filter(crm_accounts::Column::KamId.eq(kam));
        }
        if let Some(tier) = filter.tier {
            select = select.filter(crm_accounts::Column::Tier.eq(tier.as_str()));
        }
    }
    if filter.unassigned == Some(true) && scope.is_none() {
        select = select.filter(crm_accounts::Column::KamId.is_null());
    }
    if let Some(status) = filter.status {
        select = select.filter(restaurants::Column::Status.eq(status.as_str()));
    }
    if let Some(region) = filter
        .region
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        select = select.filter(restaurants::Column::Region.eq(region));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let backend = sea_orm::ConnectionTrait::get_database_backend(&state.db);
        select = select.filter(crate::restaurants::matching(backend, q));
    }
    let total = select.clone().count(&state.db).await?;
    let ordered = |select: sea_orm::Select<restaurants::Entity>| {
        select
            .order_by_asc(restaurants::Column::Name)
            .order_by_asc(restaurants::Column::Id)
            .offset(index * per_page)
            .limit(per_page)
    };
    let rows = if needs_join {
        ordered(select)
            .select_also(crm_accounts::Entity)
            .all(&state.db)
            .await?
    } else {
        // The page's ids from `restaurants` alone (a deep page skips thousands of rows), then the page.
        let ids: Vec<Uuid> = ordered(select)
            .select_only()
            .column(restaurants::Column::Id)
            .into_tuple()
            .all(&state.db)
            .await?;
        let mut page = restaurants::Entity::find()
            .join(
                JoinType::LeftJoin,
                crm_accounts::Relation::Restaurant.def().rev(),
            )
            .filter(restaurants::Column::Id.is_in(ids.iter().copied()))
            .select_also(crm_accounts::Entity)
            .all(&state.db)
            .await?;
        page.sort_by_key(|(r, _)| ids.iter().position(|id| *id == r.id));
        page
    };
    let kams: Vec<Uuid> = rows
        .iter()
        .filter_map(|(_, a)| a.as_ref()?.kam_id)
        .collect();
    let names = user_names(&state.db, kams).await?;
    let items = rows
        .into_iter()
        .map(|(r, a)| summary(r, a, &names))
        .collect();
    Ok(Page::new(items, index, per_page, total))
}

/// Restaurants in the CRM: a KAM's own, or (admins) all, with filters by status, tier, region and KAM.
#[utoipa::path(get, path = "/api/crm/restaurants", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:read"])), params(AccountFilter),
    responses(
        (status = 200, description = "A page of restaurants", body = Envelope<Page<AccountSummary>>),
        (status = 403, description = "Not a KAM or admin, or another KAM's list", body = ErrorBody),
    ))]
async fn list_accounts(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(filter): ApiQuery<AccountFilter>,
) -> ApiResult<Reply<Page<AccountSummary>>> {
    crm_read(&me)?;
    Ok(ok(search_accounts(&state, &me, &filter).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadInput {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// IANA zone of the restaurant.
    #[schema(value_type = crate::http::openapi::TimeZoneName)]
    pub timezone: String,
    #[schema(max_length = 100)]
    pub region: Option<String>,
    #[schema(max_length = 500)]
    pub address: Option<String>,
    #[schema(
        max_length = 40,
        pattern = r"^\s*$|^\s*\+?[ ().-]*([0-9][ ().-]*){6,15}\s*$"
    )]
    pub phone: Option<String>,
    #[schema(value_type = Option<crate::http::openapi::EmailOrBlank>)]
    pub email: Option<String>,
    /// Opening hours (none: around the clock).
    #[schema(max_items = 70)]
    pub hours: Option<Vec<HoursInterval>>,
    /// Admins: the KAM to assign (a KAM's own leads are theirs; 404 for no such KAM).
    pub kam_id: Option<Uuid>,
}

/// Create a lead: a new restaurant with status `new`, assigned to the calling KAM (or the admin's choice).
#[utoipa::path(post, path = "/api/crm/leads", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:write"])),
    request_body(content = LeadInput, example = json!({"name": "Bombay Bicycle Club", "timezone": "Europe/London", "region": "London"})),
    responses(
        (status = 201, description = "The new lead", body = Envelope<AccountDetail>),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn create_lead(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiJson(input): ApiJson<LeadInput>,
) -> ApiResult<Reply<AccountDetail>> {
    crm_write(&me)?;
    let kam = match me.role {
        Role::Kam if input.kam_id.is_some_and(|k| k != me.user_id) => {
            return Err(ApiError::forbidden(
                "a key account manager creates leads for themselves",
            ));
        }
        Role::Kam => Some(me.user_id),
        _ => input.kam_id,
    };
    let id = create_lead_for(&state, &me, &input, kam).await?;
    Ok(created(detail(&state, id).await?))
}

/// Create a lead and its CRM row, assign it and record its first status (shared with the CSV import).
pub async fn create_lead_for(
    state: &AppState,
    me: &Principal,
    input: &LeadInput,
    kam: Option<Uuid>,
) -> ApiResult<Uuid> {
    if let Some(kam) = kam {
        active_kam(&state.db, kam, "kam_id").await?;
    }
    let view = crate::restaurants::create(
        state,
        &RestaurantInput {
            name: Some(input.name.clone()),
            timezone: Some(input.timezone.clone()),
            region: input.region.clone(),
            address: input.address.clone(),
            phone: input.phone.clone(),
            email: input.email.clone(),
            hours: input.hours.clone(),
            status: Some(RestaurantStatus::New),
            ..Default::default()
        },
    )
    .await?;
    let now = state.now();
    let txn = crate::database::begin_write(&state.db).await?;
    record_status_change(
        &txn,
        view.id,
        None,
        "new",
        Some(me.user_id),
        Some("lead created".into()),
        now,
    )
    .await?;
    ensure_account(&txn, view.id, now).await?;
    txn.commit().await?;
    if let Some(kam) = kam {
        super::reassign(state, me.user_id, &[view.id], kam, Some("new lead".into())).await?;
    }
    Ok(view.id)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountDetail {
    #[serde(flatten)]
    pub summary: AccountSummary,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub currency: String,
    /// Own frequency, or null when the tier's default applies.
    pub own_call_frequency_days: Option<i32>,
    pub hours: Vec<HoursInterval>,
    pub contacts: Vec<ContactView>,
    pub score_breakdown: Option<Breakdown>,
    pub patterns: Option<Patterns>,
    pub scored_at: Option<DateTime<Utc>>,
    pub open_follow_ups: Vec<super::FollowUpView>,
}

pub async fn detail(state: &AppState, id: Uuid) -> ApiResult<AccountDetail> {
    let restaurant = crate::restaurants::find(state, id).await?;
    let hours = crate::restaurants::hours_of(&state.db, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    let view = crate::restaurants::view(restaurant.clone(), hours, state.now());
    let account = crm_accounts::Entity::find_by_id(id).one(&state.db).await?;
    let kams: Vec<Uuid> = account
        .as_ref()
        .and_then(|a| a.kam_id)
        .into_iter()
        .collect();
    let names = user_names(&state.db, kams).await?;
    let contacts = contact_views(state, id).await?;
    let follow = crate::entities::call_follow_ups::Entity::find()
        .filter(crate::entities::call_follow_ups::Column::RestaurantId.eq(id))
        .filter(crate::entities::call_follow_ups::Column::DoneAt.is_null())
        .order_by_asc(crate::entities::call_follow_ups::Column::DueOn)
        .all(&state.db)
        .await?;
    Ok(AccountDetail {
        address: view.address,
        phone: view.phone,
        email: view.email,
        currency: view.currency,
        hours: view.hours,
        own_call_frequency_days: account.as_ref().and_then(|a| a.call_frequency_days),
        score_breakdown: account
            .as_ref()
            .and_then(|a| serde_json::from_str(a.score_breakdown.as_deref()?).ok()),
        patterns: account
            .as_ref()
            .and_then(|a| serde_json::from_str(a.patterns.as_deref()?).ok()),
        scored_at: account.as_ref().and_then(|a| a.scored_at),
        open_follow_ups: follow
            .into_iter()
            .map(|f| super::FollowUpView {
                id: f.id,
                due_on: f.due_on,
                order_id: f.order_id,
                interaction_id: f.interaction_id,
            })
            .collect(),
        contacts,
        summary: summary(restaurant, account, &names),
    })
}

/// One restaurant's CRM record: KAM, call plan, score with its breakdown, ordering patterns, contacts.
#[utoipa::path(get, path = "/api/crm/restaurants/{id}", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:read"])),
    params(("id" = Uuid, Path, description = "Restaurant id")),
    responses(
        (status = 200, description = "The restaurant", body = Envelope<AccountDetail>),
        (status = 404, description = "No such restaurant, or not yours", body = ErrorBody),
    ))]
async fn get_account(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<AccountDetail>> {
    crm_read(&me)?;
    account_for(&state, &me, id).await?;
    Ok(ok(detail(&state, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadStatusInput {
    pub status: RestaurantStatus,
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusChangeView {
    pub id: Uuid,
    pub from_status: Option<String>,
    pub to_status: String,
    pub changed_by: Option<Uuid>,
    pub changed_by_name: Option<String>,
    pub note: Option<String>,
    pub changed_at: DateTime<Utc>,
}

/// Change a lead's status (new, active, inactive) with an optional note; the change is kept in its history.
#[utoipa::path(put, path = "/api/crm/restaurants/{id}/status", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:write"])),
    params(("id" = Uuid, Path, description = "Restaurant id")),
    request_body(content = LeadStatusInput, example = json!({"status": "active", "note": "signed the contract"})),
    responses(
        (status = 200, description = "The restaurant", body = Envelope<AccountDetail>),
        (status = 404, description = "No such restaurant, or not yours", body = ErrorBody),
    ))]
async fn change_status(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<LeadStatusInput>,
) -> ApiResult<Reply<AccountDetail>> {
    crm_write(&me)?;
    let (restaurant, _) = account_for(&state, &me, id).await?;
    set_status(&state, &me, restaurant, input.status, input.note).await?;
    Ok(ok(detail(&state, id).await?))
}

pub async fn set_status(
    state: &AppState,
    me: &Principal,
    restaurant: restaurants::Model,
    status: RestaurantStatus,
    note: Option<String>,
) -> ApiResult<()> {
    let note = match note.as_deref() {
        Some(raw) => crate::http::text::optional_text(raw, 2000)
            .map_err(|problem| ApiError::field("note", problem))?,
        None => None,
    };
    let now = state.now();
    let from = restaurant.status.clone();
    let id = restaurant.id;
    let txn = crate::database::begin_write(&state.db).await?;
    let mut active: restaurants::ActiveModel = restaurant.into();
    active.status = Set(status.as_str().to_string());
    active.updated_at = Set(now);
    active.update(&txn).await?;
    record_status_change(
        &txn,
        id,
        Some(&from),
        status.as_str(),
        Some(me.user_id),
        note,
        now,
    )
    .await?;
    txn.commit().await?;
    state
        .cache
        .delete(&crate::restaurants::context_key(id))
        .await
        .ok();
    Ok(())
}

pub async fn status_views(state: &AppState, id: Uuid) -> ApiResult<Vec<StatusChangeView>> {
    let rows = restaurant_status_changes::Entity::find()
        .filter(restaurant_status_changes::Column::RestaurantId.eq(id))
        .order_by_desc(restaurant_status_changes::Column::ChangedAt)
        .order_by_desc(restaurant_status_changes::Column::Id)
        .all(&state.db)
        .await?;
    let ids: Vec<Uuid> = rows.iter().filter_map(|r| r.changed_by).collect();
    let names = user_names(&state.db, ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| StatusChangeView {
            id: r.id,
            changed_by_name: r.changed_by.and_then(|u| names.get(&u).cloned()),
            from_status: r.from_status,
            to_status: r.to_status,
            changed_by: r.changed_by,
            note: r.note,
            changed_at: r.changed_at,
        })
        .collect())
}

/// A lead's status changes, newest first.
#[utoipa::path(get, path = "/api/crm/restaurants/{id}/status-history", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:read"])),
    params(("id" = Uuid, Path, description = "Restaurant id")),
    responses(
        (status = 200, description = "Status changes", body = Envelope<Vec<StatusChangeView>>),
        (status = 404, description = "No such restaurant, or not yours", body = ErrorBody),
    ))]
async fn status_history(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<Vec<StatusChangeView>>> {
    crm_read(&me)?;
    account_for(&state, &me, id).await?;
    Ok(ok(status_views(&state, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallPlanInput {
    /// Days between calls; `null` returns to the tier's default.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 365)]
    pub call_frequency_days: Option<Option<i32>>,
    /// Move the next call (any instant; absent keeps it, or recomputes it from the last call when the
    /// frequency changes).
    pub next_call_at: Option<DateTime<Utc>>,
}

/// Set a restaurant's call frequency and/or its next call.
#[utoipa::path(put, path = "/api/crm/restaurants/{id}/call-plan", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:write"])),
    params(("id" = Uuid, Path, description = "Restaurant id")),
    request_body(content = CallPlanInput, example = json!({"call_frequency_days": 5})),
    responses(
        (status = 200, description = "The restaurant", body = Envelope<AccountDetail>),
        (status = 404, description = "No such restaurant, or not yours", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn update_call_plan(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<CallPlanInput>,
) -> ApiResult<Reply<AccountDetail>> {
    crm_write(&me)?;
    account_for(&state, &me, id).await?;
    if let Some(Some(days)) = input.call_frequency_days
        && !(1..=365).contains(&days)
    {
        return Err(ApiError::field(
            "call_frequency_days",
            "must be between 1 and 365",
        ));
    }
    let now = state.now();
    let txn = crate::database::begin_write(&state.db).await?;
    let account = ensure_account(&txn, id, now).await?;
    let mut changed = account.clone();
    if let Some(days) = input.call_frequency_days {
        changed.call_frequency_days = days;
        if let Some(last) = account.last_call_at {
            changed.next_call_at = Some(last + Duration::days(i64::from(call_days(&changed))));
        }
    }
    if let Some(next) = input.next_call_at {
        changed.next_call_at = Some(next);
    }
    let mut active: crm_accounts::ActiveModel = account.into();
    active.call_frequency_days = Set(changed.call_frequency_days);
    active.next_call_at = Set(changed.next_call_at);
    active.updated_at = Set(now);
    active.update(&txn).await?;
    txn.commit().await?;
    Ok(ok(detail(&state, id).await?))
}

// ---------------------------------------------------------------------------------------------------
// Contacts

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContactView {
    pub id: Uuid,
    pub restaurant_id: Uuid,
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    pub role: ContactRole,
    /// The restaurant's lead contact (one per restaurant).
    pub is_lead: bool,
    pub created_at: DateTime<Utc>,
}

fn contact_view(c: contacts::Model) -> ContactView {
    ContactView {
        id: c.id,
        restaurant_id: c.restaurant_id,
        name: c.name,
        phone: c.phone,
        email: c.email,
        role: ContactRole::parse(&c.role).unwrap_or(ContactRole::Other),
        is_lead: c.is_lead,
        created_at: c.created_at,
    }
}

pub async fn contact_views(state: &AppState, id: Uuid) -> ApiResult<Vec<ContactView>> {
    Ok(contacts::Entity::find()
        .filter(contacts::Column::RestaurantId.eq(id))
        .order_by_desc(contacts::Column::IsLead)
        .order_by_asc(contacts::Column::Name)
        .all(&state.db)
        .await?
        .into_iter()
        .map(contact_view)
        .collect())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(pattern = r"^\+?[ ().-]*([0-9][ ().-]*){6,15}$")]
    pub phone: Option<String>,
    /// Optional; blank for none (or to remove it).
    #[schema(value_type = Option<crate::http::openapi::EmailOrBlank>)]
    pub email: Option<String>,
    pub role: Option<ContactRole>,
    /// Make this the lead contact (the previous lead stops being one; a restaurant's first contact is its
    /// lead).
    pub is_lead: Option<bool>,
}

/// A contact's checked fields: name, phone, e-mail change (`Some(None)` removes it), role.
type CheckedContact = (
    Option<String>,
    Option<String>,
    Option<Option<String>>,
    Option<ContactRole>,
);

/// Check a contact's fields.
pub fn check_contact(input: &ContactInput, creating: bool) -> ApiResult<CheckedContact> {
    let mut errors = FieldErrors::new();
    let name = match &input.name {
        Some(n) => text(n, "name", 200, &mut errors),
        None if creating => {
            errors.add("name", "is required");
            None
        }
        None => None,
    };
    let phone = match &input.phone {
        Some(p) => errors.check("phone", crate::accounts::service::parse_phone(p)),
        None if creating => {
            errors.add("phone", "is required");
            None
        }
        None => None,
    };
    let email = input.email.as_ref().map(|e| {
        let e = crate::http::text::trimmed(e);
        if e.is_empty() {
            None
        } else {
            errors.check("email", crate::accounts::service::parse_email(e))
        }
    });
    if creating && input.role.is_none() {
        errors.add("role", "is required: owner, manager, staff or other");
    }
    errors.into_result()?;
    Ok((name, phone, email, input.role))
}

/// Add a contact inside `txn`; the restaurant's first contact becomes its lead.
pub async fn insert_contact<C: sea_orm::ConnectionTrait>(
    db: &C,
    restaurant_id: Uuid,
    input: &ContactInput,
    now: DateTime<Utc>,
) -> ApiResult<contacts::Model> {
    let (name, phone, email, role) = check_contact(input, true)?;
    let has_lead = contacts::Entity::find()
        .filter(contacts::Column::RestaurantId.eq(restaurant_id))
        .filter(contacts::Column::IsLead.eq(true))
        .count(db)
        .await?
        > 0;
    let is_lead = input.is_lead.unwrap_or(!has_lead);
    if is_lead {
        clear_lead(db, restaurant_id).await?;
    }
    Ok(contacts::ActiveModel {
        id: Set(Uuid::now_v7()),
        restaurant_id: Set(restaurant_id),
        name: Set(name.unwrap_or_default()),
        phone: Set(phone.unwrap_or_default()),
        email: Set(email.flatten()),
        role: Set(role.unwrap_or(ContactRole::Other).as_str().to_string()),
        is_lead: Set(is_lead),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

async fn clear_lead<C: sea_orm::ConnectionTrait>(db: &C, restaurant_id: Uuid) -> ApiResult<()> {
    contacts::Entity::update_many()
        .col_expr(contacts::Column::IsLead, Expr::value(false))
        .filter(contacts::Column::RestaurantId.eq(restaurant_id))
        .filter(contacts::Column::IsLead.eq(true))
        .exec(db)
        .await?;
    Ok(())
}

/// A restaurant's contacts, the lead first.
#[utoipa::path(get, path = "/api/crm/restaurants/{id}/contacts", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:read"])),
    params(("id" = Uuid, Path, description = "Restaurant id")),
    responses(
        (status = 200, description = "Contacts", body = Envelope<Vec<ContactView>>),
        (status = 404, description = "No such restaurant, or not yours", body = ErrorBody),
    ))]
async fn list_contacts(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<Vec<ContactView>>> {
    crm_read(&me)?;
    account_for(&state, &me, id).await?;
    Ok(ok(contact_views(&state, id).await?))
}

/// Add a contact (the first one becomes the lead contact).
#[utoipa::path(post, path = "/api/crm/restaurants/{id}/contacts", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:write"])),
    params(("id" = Uuid, Path, description = "Restaurant id")),
    request_body(content = ContactInput, example = json!({"name": "Priya Shah", "phone": "+44 20 7946 0011", "role": "owner"})),
    responses(
        (status = 201, description = "The contact", body = Envelope<ContactView>),
        (status = 404, description = "No such restaurant, or not yours", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn create_contact(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<ContactInput>,
) -> ApiResult<Reply<ContactView>> {
    crm_write(&me)?;
    account_for(&state, &me, id).await?;
    let txn = crate::database::begin_write(&state.db).await?;
    let contact = insert_contact(&txn, id, &input, state.now()).await?;
    txn.commit().await?;
    Ok(created(contact_view(contact)))
}

async fn contact_for(state: &AppState, me: &Principal, id: Uuid) -> ApiResult<contacts::Model> {
    let contact = contacts::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("contact"))?;
    account_for(state, me, contact.restaurant_id)
        .await
        .map_err(|e| {
            if e.status == axum::http::StatusCode::NOT_FOUND {
                ApiError::not_found("contact")
            } else {
                e
            }
        })?;
    Ok(contact)
}

/// Change a contact.
#[utoipa::path(put, path = "/api/crm/contacts/{id}", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:write"])),
    params(("id" = Uuid, Path, description = "Contact id")),
    request_body(content = ContactInput, example = json!({"is_lead": true})),
    responses(
        (status = 200, description = "The contact", body = Envelope<ContactView>),
        (status = 404, description = "No such contact, or not yours", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn update_contact(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<ContactInput>,
) -> ApiResult<Reply<ContactView>> {
    crm_write(&me)?;
    let contact = contact_for(&state, &me, id).await?;
    let (name, phone, email, role) = check_contact(&input, false)?;
    let txn = crate::database::begin_write(&state.db).await?;
    if input.is_lead == Some(true) && !contact.is_lead {
        clear_lead(&txn, contact.restaurant_id).await?;
    }
    let mut active: contacts::ActiveModel = contact.into();
    if let Some(v) = name {
        active.name = Set(v);
    }
    if let Some(v) = phone {
        active.phone = Set(v);
    }
    if let Some(v) = email {
        active.email = Set(v);
    }
    if let Some(v) = role {
        active.role = Set(v.as_str().to_string());
    }
    if let Some(v) = input.is_lead {
        active.is_lead = Set(v);
    }
    active.updated_at = Set(state.now());
    let contact = active.update(&txn).await?;
    txn.commit().await?;
    Ok(ok(contact_view(contact)))
}

/// Remove a contact (interactions with them stay, without the contact).
#[utoipa::path(delete, path = "/api/crm/contacts/{id}", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:write"])),
    params(("id" = Uuid, Path, description = "Contact id")),
    responses(
        (status = 200, description = "Removed"),
        (status = 404, description = "No such contact, or not yours", body = ErrorBody),
    ))]
async fn delete_contact(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<serde_json::Value>> {
    crm_write(&me)?;
    let contact = contact_for(&state, &me, id).await?;
    contacts::Entity::delete_by_id(contact.id)
        .exec(&state.db)
        .await?;
    Ok(ok(serde_json::json!({"deleted": contact.id})))
}

// ---------------------------------------------------------------------------------------------------
// Interactions

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InteractionView {
    pub id: Uuid,
    pub restaurant_id: Uuid,
    pub kind: InteractionKind,
    pub occurred_at: DateTime<Utc>,
    /// Who made it (stays theirs when the restaurant moves to another KAM).
    pub user_id: Option<Uuid>,
    pub user_name: Option<String>,
    pub contact_id: Option<Uuid>,
    pub contact_name: Option<String>,
    pub notes: String,
    pub outcome: Outcome,
    pub order_id: Option<Uuid>,
    pub follow_up_on: Option<NaiveDate>,
}

pub async fn interaction_views(
    state: &AppState,
    rows: Vec<interactions::Model>,
) -> ApiResult<Vec<InteractionView>> {
    let ids: Vec<Uuid> = rows.iter().filter_map(|r| r.user_id).collect();
    let names = user_names(&state.db, ids).await?;
    let contact_ids: Vec<Uuid> = rows.iter().filter_map(|r| r.contact_id).collect();
    let contact_names: HashMap<Uuid, String> = if contact_ids.is_empty() {
        HashMap::new()
    } else {
        contacts::Entity::find()
            .select_only()
            .column(contacts::Column::Id)
            .column(contacts::Column::Name)
            .filter(contacts::Column::Id.is_in(contact_ids))
            .into_tuple::<(Uuid, String)>()
            .all(&state.db)
            .await?
            .into_iter()
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|r| InteractionView {
            id: r.id,
            restaurant_id: r.restaurant_id,
            kind: InteractionKind::parse(&r.kind).unwrap_or(InteractionKind::Call),
            occurred_at: r.occurred_at,
            user_name: r.user_id.and_then(|u| names.get(&u).cloned()),
            user_id: r.user_id,
            contact_name: r.contact_id.and_then(|c| contact_names.get(&c).cloned()),
            contact_id: r.contact_id,
            notes: r.notes,
            outcome: Outcome::parse(&r.outcome).unwrap_or(Outcome::Neutral),
            order_id: r.order_id,
            follow_up_on: r.follow_up_on,
        })
        .collect())
}

/// One page of a restaurant's timeline, newest first.
pub async fn timeline(
    state: &AppState,
    id: Uuid,
    params: &PageParams,
) -> ApiResult<Page<InteractionView>> {
    let select = interactions::Entity::find()
        .filter(interactions::Column::RestaurantId.eq(id))
        .order_by_desc(interactions::Column::OccurredAt)
        .order_by_desc(interactions::Column::Id);
    let (rows, index, per_page, total) = paginate(select, &state.db, params).await?;
    Ok(Page::new(
        interaction_views(state, rows).await?,
        index,
        per_page,
        total,
    ))
}

/// A restaurant's interaction timeline, newest first, with who made each.
#[utoipa::path(get, path = "/api/crm/restaurants/{id}/interactions", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:read"])),
    params(("id" = Uuid, Path, description = "Restaurant id"), PageParams),
    responses(
        (status = 200, description = "A page of the timeline", body = Envelope<Page<InteractionView>>),
        (status = 404, description = "No such restaurant, or not yours", body = ErrorBody),
    ))]
async fn list_interactions(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Reply<Page<InteractionView>>> {
    crm_read(&me)?;
    account_for(&state, &me, id).await?;
    Ok(ok(timeline(&state, id, &page).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractionInput {
    pub kind: InteractionKind,
    /// When it happened (default now); not in the future (409 otherwise).
    pub occurred_at: Option<DateTime<Utc>>,
    /// A contact of this restaurant (404 otherwise).
    pub contact_id: Option<Uuid>,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub notes: String,
    pub outcome: Outcome,
    /// An order of this restaurant the interaction is about (404 otherwise).
    pub order_id: Option<Uuid>,
    /// A date to call again (in your zone), not before the interaction's day; opens a follow-up, with
    /// the order when one is linked.
    #[schema(value_type = Option<String>, format = Date)]
    pub follow_up_on: Option<NaiveDate>,
}

/// Log an interaction as `me` (shared with the web form). A call that reached someone is the planned
/// call: the next call moves a frequency later and follow-ups due by then are closed.
pub async fn log_interaction(
    state: &AppState,
    me: &Principal,
    restaurant_id: Uuid,
    input: &InteractionInput,
) -> ApiResult<interactions::Model> {
    let now = state.now();
    let author = users::Entity::find_by_id(me.user_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::unauthorized("unauthorized", "account not found"))?;
    let zone = super::kam_zone(&author);
    let mut errors = FieldErrors::new();
    let occurred_at = input.occurred_at.unwrap_or(now);
    if input.notes.chars().count() > 10_000 {
        errors.add("notes", "must be at most 10000 characters");
    }
    if let Some(day) = input.follow_up_on
        && day < planning::local_date(zone, occurred_at)
    {
        errors.add("follow_up_on", "must not be before the interaction's day");
    }
    errors.into_result()?;
    if occurred_at > now + Duration::minutes(5) {
        return Err(ApiError::conflict(
            "in_the_future",
            "an interaction is logged once it happened",
        )
        .with_field(
            "occurred_at",
            "is in the future: log what happened, and set follow_up_on for what is planned",
        ));
    }
    if let Some(contact) = input.contact_id {
        let found = contacts::Entity::find_by_id(contact).one(&state.db).await?;
        if found.is_none_or(|c| c.restaurant_id != restaurant_id) {
            return Err(ApiError::not_found("contact")
                .with_field("contact_id", "is not a contact of this restaurant"));
        }
    }
    if let Some(order) = input.order_id {
        let found = orders::Entity::find_by_id(order).one(&state.db).await?;
        if found.is_none_or(|o| o.restaurant_id != restaurant_id) {
            return Err(ApiError::not_found("order")
                .with_field("order_id", "is not an order of this restaurant"));
        }
    }
    let txn = crate::database::begin_write(&state.db).await?;
    let row = interactions::ActiveModel {
        id: Set(Uuid::now_v7()),
        restaurant_id: Set(restaurant_id),
        user_id: Set(Some(me.user_id)),
        contact_id: Set(input.contact_id),
        kind: Set(input.kind.as_str().to_string()),
        occurred_at: Set(occurred_at),
        notes: Set(input.notes.trim().to_string()),
        outcome: Set(input.outcome.as_str().to_string()),
        order_id: Set(input.order_id),
        follow_up_on: Set(input.follow_up_on),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    super::after_interaction(&txn, &row, zone, now).await?;
    txn.commit().await?;
    super::jobs::rescore_soon(state, restaurant_id).await;
    Ok(row)
}

/// Log a call, e-mail, meeting or visit.
#[utoipa::path(post, path = "/api/crm/restaurants/{id}/interactions", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:write"])),
    params(("id" = Uuid, Path, description = "Restaurant id")),
    request_body(content = InteractionInput, example = json!({"kind": "call", "outcome": "positive",
        "notes": "Owner wants the lunch menu promoted", "follow_up_on": "2026-07-01"})),
    responses(
        (status = 201, description = "The interaction", body = Envelope<InteractionView>),
        (status = 404, description = "No such restaurant, or not yours", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn create_interaction(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<InteractionInput>,
) -> ApiResult<Reply<InteractionView>> {
    crm_write(&me)?;
    account_for(&state, &me, id).await?;
    let row = log_interaction(&state, &me, id, &input).await?;
    let view = interaction_views(&state, vec![row]).await?.remove(0);
    Ok(created(view))
}

// ---------------------------------------------------------------------------------------------------
// Assignment, performance, orders

/// Who looked after a restaurant, newest first.
#[utoipa::path(get, path = "/api/crm/restaurants/{id}/assignments", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:read"])),
    params(("id" = Uuid, Path, description = "Restaurant id")),
    responses(
        (status = 200, description = "Assignment history", body = Envelope<Vec<AssignmentView>>),
        (status = 404, description = "No such restaurant, or not yours", body = ErrorBody),
    ))]
async fn assignment_history(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<Vec<AssignmentView>>> {
    crm_read(&me)?;
    account_for(&state, &me, id).await?;
    Ok(ok(assignments_of(&state, id).await?))
}

pub async fn assignments_of(state: &AppState, id: Uuid) -> ApiResult<Vec<AssignmentView>> {
    let rows = kam_assignments::Entity::find()
        .filter(kam_assignments::Column::RestaurantId.eq(id))
        .order_by_desc(kam_assignments::Column::AssignedAt)
        .order_by_desc(kam_assignments::Column::Id)
        .all(&state.db)
        .await?;
    assignment_views(&state.db, rows).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignInput {
    /// One or many restaurants (404 when one does not exist).
    #[schema(min_items = 1, max_items = 10000)]
    pub restaurant_ids: Vec<Uuid>,
    /// An active key account manager (404 for no such account, 409 for one that is not).
    pub to_kam_id: Uuid,
    /// Handover note for the new KAM.
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// Move restaurants to another KAM with a handover note (admin). History is kept; past interactions stay
/// with whoever made them, and the new KAM sees all of it.
#[utoipa::path(post, path = "/api/crm/reassignments", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:write"])),
    request_body(content = ReassignInput, example = json!({"restaurant_ids": ["0192f1a4-0000-7000-8000-000000000001"],
        "to_kam_id": "0192f1a4-0000-7000-8000-0000000000aa", "note": "Ana is on leave; key contact prefers mornings"})),
    responses(
        (status = 200, description = "Assignments made (restaurants already with that KAM are skipped)", body = Envelope<Vec<AssignmentView>>),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 422, description = "Unknown restaurants or not a KAM", body = ErrorBody),
    ))]
async fn reassign(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiJson(input): ApiJson<ReassignInput>,
) -> ApiResult<Reply<Vec<AssignmentView>>> {
    me.require_admin()?;
    if input.restaurant_ids.is_empty() {
        return Err(ApiError::field(
            "restaurant_ids",
            "name at least one restaurant",
        ));
    }
    if input.restaurant_ids.len() > 10_000 {
        return Err(ApiError::field("restaurant_ids", "at most 10000 at a time"));
    }
    let note = match input.note.as_deref() {
        Some(raw) => crate::http::text::optional_text(raw, 2000)
            .map_err(|problem| ApiError::field("note", problem))?,
        None => None,
    };
    let made = super::reassign(
        &state,
        me.user_id,
        &input.restaurant_ids,
        input.to_kam_id,
        note,
    )
    .await?;
    Ok(ok(made))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScorePoint {
    pub day: NaiveDate,
    pub score: i32,
    pub tier: Tier,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PerformanceView {
    pub restaurant_id: Uuid,
    pub score: Option<i32>,
    pub tier: Option<Tier>,
    pub breakdown: Option<Breakdown>,
    pub patterns: Option<Patterns>,
    pub scored_at: Option<DateTime<Utc>>,
    /// Daily scores, oldest first (last 180 days).
    pub history: Vec<ScorePoint>,
}

pub async fn performance_of(state: &AppState, id: Uuid) -> ApiResult<PerformanceView> {
    let account = crm_accounts::Entity::find_by_id(id).one(&state.db).await?;
    let since = (state.now() - Duration::days(180)).date_naive();
    let history = restaurant_scores::Entity::find()
        .filter(restaurant_scores::Column::RestaurantId.eq(id))
        .filter(restaurant_scores::Column::Day.gte(since))
        .order_by_asc(restaurant_scores::Column::Day)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| ScorePoint {
            day: s.day,
            score: s.score,
            tier: Tier::parse(&s.tier).unwrap_or(Tier::of(s.score)),
        })
        .collect();
    Ok(PerformanceView {
        restaurant_id: id,
        score: account.as_ref().and_then(|a| a.score),
        tier: account
            .as_ref()
            .and_then(|a| a.tier.as_deref().and_then(Tier::parse)),
        breakdown: account
            .as_ref()
            .and_then(|a| serde_json::from_str(a.score_breakdown.as_deref()?).ok()),
        patterns: account
            .as_ref()
            .and_then(|a| serde_json::from_str(a.patterns.as_deref()?).ok()),
        scored_at: account.as_ref().and_then(|a| a.scored_at),
        history,
    })
}

/// A restaurant's performance score with its breakdown, ordering patterns and score history.
#[utoipa::path(get, path = "/api/crm/restaurants/{id}/performance", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:read"])),
    params(("id" = Uuid, Path, description = "Restaurant id")),
    responses(
        (status = 200, description = "Performance", body = Envelope<PerformanceView>),
        (status = 404, description = "No such restaurant, or not yours", body = ErrorBody),
    ))]
async fn performance(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<PerformanceView>> {
    crm_read(&me)?;
    account_for(&state, &me, id).await?;
    Ok(ok(performance_of(&state, id).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderBrief {
    pub id: Uuid,
    pub source: String,
    pub status: String,
    #[schema(value_type = String, example = "24.50")]
    pub total: rust_decimal::Decimal,
    pub currency: String,
    pub created_at: DateTime<Utc>,
}

pub async fn recent_orders(
    state: &AppState,
    id: Uuid,
    params: &PageParams,
) -> ApiResult<Page<OrderBrief>> {
    let select = orders::Entity::find()
        .filter(orders::Column::RestaurantId.eq(id))
        .order_by_desc(orders::Column::CreatedAt)
        .order_by_desc(orders::Column::Id);
    let (rows, index, per_page, total) = paginate(select, &state.db, params).await?;
    let items = rows
        .into_iter()
        .map(|o| OrderBrief {
            total: crate::money::Currency::parse(&o.currency)
                .map(|c| c.from_minor(o.total_minor))
                .unwrap_or_else(|_| rust_decimal::Decimal::new(o.total_minor, 2)),
            id: o.id,
            source: o.source,
            status: o.status,
            currency: o.currency,
            created_at: o.created_at,
        })
        .collect();
    Ok(Page::new(items, index, per_page, total))
}

/// A restaurant's orders (QR, channel and imported), newest first.
#[utoipa::path(get, path = "/api/crm/restaurants/{id}/orders", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:read"])),
    params(("id" = Uuid, Path, description = "Restaurant id"), PageParams),
    responses(
        (status = 200, description = "A page of orders", body = Envelope<Page<OrderBrief>>),
        (status = 404, description = "No such restaurant, or not yours", body = ErrorBody),
    ))]
async fn restaurant_orders(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Reply<Page<OrderBrief>>> {
    crm_read(&me)?;
    account_for(&state, &me, id).await?;
    Ok(ok(recent_orders(&state, id, &page).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallsQuery {
    /// Whose calls: default the caller's own (a KAM sees only their own; administrators name the KAM).
    pub kam_id: Option<Uuid>,
    /// At most this many (default 100); `total` counts them all.
    pub limit: Option<CallLimit>,
}

crate::bounded_parameter!(CallLimit, 1, 500, "How many calls to list, 1 to 500.");

/// Calls due today for a KAM, in the KAM's zone: overdue ones flagged amber (1–3 days) or red (more) and
/// ranked first, each with a suggested time inside both the KAM's working hours and the restaurant's
/// opening hours, in both local times (or why there is none).
#[utoipa::path(get, path = "/api/crm/calls/today", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:read"])), params(CallsQuery),
    responses(
        (status = 200, description = "Today's calls", body = Envelope<CallsToday>),
        (status = 403, description = "Not a KAM or admin", body = ErrorBody),
        (status = 404, description = "No such key account manager (an administrator who is not one names the KAM)", body = ErrorBody),
        (status = 422, description = "Invalid parameter", body = ErrorBody),
    ))]
async fn calls_today(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(query): ApiQuery<CallsQuery>,
) -> ApiResult<Reply<CallsToday>> {
    crm_read(&me)?;
    let kam_id = match (me.role, query.kam_id) {
        (Role::Kam, Some(id)) if id != me.user_id => {
            return Err(ApiError::forbidden(
                "a key account manager sees only their own calls",
            ));
        }
        (Role::Kam, _) => me.user_id,
        (_, Some(id)) => id,
        (_, None) => me.user_id,
    };
    let limit = query.limit.map_or(100, |l| l.get() as usize);
    let kam = kam_user(&state, &me, kam_id).await?;
    Ok(ok(super::calls_today(&state, &kam, limit).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TierCount {
    /// `null` for restaurants not scored yet.
    pub tier: Option<Tier>,
    pub restaurants: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PerformanceOverview {
    pub restaurants: u64,
    pub tiers: Vec<TierCount>,
    pub average_score: Option<f64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OverviewQuery {
    /// Admins: one KAM's restaurants (default all).
    pub kam_id: Option<Uuid>,
}

pub async fn overview(state: &AppState, kam: Option<Uuid>) -> ApiResult<PerformanceOverview> {
    let mut select = crm_accounts::Entity::find()
        .select_only()
        .column(crm_accounts::Column::Tier)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(Expr::cust("CAST(SUM(score) AS BIGINT)"), "total")
        .group_by(crm_accounts::Column::Tier);
    if let Some(k) = kam {
        select = select.filter(crm_accounts::Column::KamId.eq(k));
    }
    let rows: Vec<(Option<String>, i64, Option<i64>)> = select.into_tuple().all(&state.db).await?;
    let mut tiers: Vec<TierCount> = Tier::ALL
        .into_iter()
        .map(|t| TierCount {
            tier: Some(t),
            restaurants: 0,
        })
        .collect();
    let mut unscored = 0u64;
    let (mut scored, mut sum) = (0i64, 0i64);
    for (tier, n, total) in rows {
        match tier.as_deref().and_then(Tier::parse) {
            Some(t) => {
                let i = Tier::ALL.iter().position(|x| *x == t).unwrap_or(0);
                tiers[i].restaurants += n as u64;
                scored += n;
                sum += total.unwrap_or(0);
            }
            None => unscored += n as u64,
        }
    }
    if kam.is_none() {
        // Restaurants with no CRM row at all are unscored too.
        let all = restaurants::Entity::find().count(&state.db).await?;
        let with_rows: u64 = tiers.iter().map(|t| t.restaurants).sum::<u64>() + unscored;
        unscored += all.saturating_sub(with_rows);
    }
    tiers.push(TierCount {
        tier: None,
        restaurants: unscored,
    });
    Ok(PerformanceOverview {
        restaurants: tiers.iter().map(|t| t.restaurants).sum(),
        tiers,
        average_score: (scored > 0).then(|| (sum as f64 / scored as f64 * 10.0).round() / 10.0),
    })
}

/// Restaurants by performance tier: a KAM's own, or (admins) everyone's or one KAM's.
#[utoipa::path(get, path = "/api/crm/performance", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:read"])), params(OverviewQuery),
    responses(
        (status = 200, description = "Counts per tier", body = Envelope<PerformanceOverview>),
        (status = 403, description = "Not a KAM or admin", body = ErrorBody),
    ))]
async fn performance_overview(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(query): ApiQuery<OverviewQuery>,
) -> ApiResult<Reply<PerformanceOverview>> {
    crm_read(&me)?;
    let kam = match me.role {
        Role::Kam if query.kam_id.is_some_and(|k| k != me.user_id) => {
            return Err(ApiError::forbidden(
                "a key account manager sees only their own restaurants",
            ));
        }
        Role::Kam => Some(me.user_id),
        _ => query.kam_id,
    };
    Ok(ok(overview(&state, kam).await?))
}
