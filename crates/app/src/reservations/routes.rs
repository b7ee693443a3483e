//! `/api/venues/{venue_id}/time-slots`, `/api/venues/{venue_id}/reservations` and `/api/reservations`.

use axum::extract::State;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{
    ReservationChange, ReservationInput, ReservationStatus, SlotAvailability, availability, book,
    change,
};
use crate::accounts::{AuthUser, MemberRole, Principal, membership_role, require_restaurant_role};
use crate::entities::{reservations, time_slots, users};
use crate::http::envelope::{Envelope, Page, PageParams, Reply, created, ok, paginate};
use crate::http::error::{ApiError, ApiResult, ErrorBody, FieldErrors};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(available_slots, create_slot))
        .routes(routes!(weekly_slots))
        .routes(routes!(update_slot, delete_slot))
        .routes(routes!(venue_reservations, create_reservation))
        .routes(routes!(my_reservations))
        .routes(routes!(
            get_reservation,
            update_reservation,
            cancel_reservation
        ))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimeSlotView {
    pub id: Uuid,
    pub venue_id: Uuid,
    /// 0 = Monday .. 6 = Sunday.
    pub weekday: i16,
    #[schema(value_type = String, example = "18:00:00")]
    pub start_time: NaiveTime,
    #[schema(value_type = String, example = "22:00:00")]
    pub end_time: NaiveTime,
    pub interval_minutes: i32,
    pub max_reservations: i32,
    pub max_covers: Option<i32>,
}

impl From<time_slots::Model> for TimeSlotView {
    fn from(s: time_slots::Model) -> Self {
        TimeSlotView {
            id: s.id,
            venue_id: s.restaurant_id,
            weekday: s.weekday,
            start_time: s.start_time,
            end_time: s.end_time,
            interval_minutes: s.interval_minutes,
            max_reservations: s.max_reservations,
            max_covers: s.max_covers,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeSlotInput {
    /// 0 = Monday .. 6 = Sunday (or MON..SUN).
    #[schema(value_type = Option<crate::http::openapi::WeekdayInput>, example = "FRI")]
    pub weekday: Option<serde_json::Value>,
    #[schema(value_type = Option<crate::http::openapi::TimeOfDay>, example = "18:00")]
    pub start_time: Option<String>,
    /// At or before the start: the window runs past midnight.
    #[schema(value_type = Option<crate::http::openapi::TimeOfDay>, example = "23:00")]
    pub end_time: Option<String>,
    /// Minutes between bookable starts (default 30).
    #[schema(example = 30, minimum = 5, maximum = 240)]
    pub interval_minutes: Option<i32>,
    /// Reservations per start.
    #[schema(example = 6, minimum = 1, maximum = 1000)]
    pub max_reservations: Option<i32>,
    /// Guests per start (unlimited when absent).
    #[schema(example = 24, minimum = 1, maximum = 10000)]
    pub max_covers: Option<i32>,
}

fn weekday_of(value: &serde_json::Value) -> Result<i16, String> {
    const NAMES: [&str; 7] = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
    match value {
        serde_json::Value::Number(n) => n
            .as_i64()
            .filter(|d| (0..=6).contains(d))
            .map(|d| d as i16)
            .ok_or_else(|| "must be 0 (Monday) to 6 (Sunday)".to_string()),
        serde_json::Value::String(s) => NAMES
            .iter()
            .position(|n| n == s)
            .map(|d| d as i16)
            .ok_or_else(|| format!("{s:?} is not a weekday (MON..SUN)")),
        _ => Err("must be 0..6 or MON..SUN".into()),
    }
}

fn apply_slot(
    input: &TimeSlotInput,
    active: &mut time_slots::ActiveModel,
    creating: bool,
) -> ApiResult<()> {
    let mut errors = FieldErrors::new();
    match &input.weekday {
        Some(v) => {
            if let Some(d) = errors.check("weekday", weekday_of(v)) {
                active.weekday = Set(d);
            }
        }
        None if creating => errors.add("weekday", "is required"),
        None => {}
    }
    for (field, value, required) in [
        ("start_time", &input.start_time, creating),
        ("end_time", &input.end_time, creating),
    ] {
        match value {
            Some(raw) => {
                if let Some(t) = errors.check(field, crate::restaurants::hours::parse_time(raw)) {
                    if field == "start_time" {
                        active.start_time = Set(t);
                    } else {
                        active.end_time = Set(t);
                    }
                }
            }
            None if required => errors.add(field, "is required"),
            None => {}
        }
    }
    match input.interval_minutes {
        Some(v) if !(5..=240).contains(&v) => {
            errors.add("interval_minutes", "must be between 5 and 240")
        }
        Some(v) => active.interval_minutes = Set(v),
        None if creating => active.interval_minutes = Set(30),
        None => {}
    }
    match input.max_reservations {
        Some(v) if !(1..=1000).contains(&v) => {
            errors.add("max_reservations", "must be between 1 and 1000")
        }
        Some(v) => active.max_reservations = Set(v),
        None if creating => errors.add("max_reservations", "is required"),
        None => {}
    }
    match input.max_covers {
        Some(v) if !(1..=10_000).contains(&v) => {
            errors.add("max_covers", "must be between 1 and 10000")
        }
        Some(v) => active.max_covers = Set(Some(v)),
        None if creating => active.max_covers = Set(None),
        None => {}
    }
    errors.into_result()
}

async fn venue_model(state: &AppState, id: Uuid) -> ApiResult<crate::entities::restaurants::Model> {
    crate::restaurants::find(state, id)
        .await
        .map_err(|_| ApiError::not_found("venue"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityQuery {
    /// Local date at the venue (default: today there). Outside the venue's booking window there are no
    /// free starts.
    #[param(value_type = Option<String>, format = Date, example = "2026-06-20")]
    pub date: Option<NaiveDate>,
    /// Guests (default 2).
    #[param(minimum = 1, maximum = 50)]
    pub party_size: Option<i32>,
}

/// Free reservation times of a date, in the venue's time zone: past starts and starts inside the
/// minimum notice are hidden, as are full ones.
#[utoipa::path(get, path = "/api/venues/{venue_id}/time-slots", tag = "reservations", security((), ("bearer" = []), ("api_key" = ["reservations:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), AvailabilityQuery),
    responses(
        (status = 200, description = "Free starts, earliest first", body = Envelope<Vec<SlotAvailability>>),
        (status = 422, description = "Invalid parameter", body = ErrorBody),
    ))]
async fn available_slots(
    State(state): State<AppState>,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<AvailabilityQuery>,
) -> ApiResult<Reply<Vec<SlotAvailability>>> {
    let venue = venue_model(&state, venue_id).await?;
    if venue.status == "inactive" || !venue.enable_eat_in {
        return Ok(ok(Vec::new()).message("this venue does not take reservations"));
    }
    let date = query.date.unwrap_or_else(|| {
        state
            .now()
            .with_timezone(&crate::restaurants::zone_of(&venue))
            .date_naive()
    });
    let free = availability(&state, &venue, date, query.party_size.unwrap_or(2)).await?;
    Ok(
        match crate::reservations::check_date(&venue, date, state.now()) {
            Err(problem) => ok(free).message(format!("no reservations: the date {problem}")),
            Ok(()) => ok(free),
        },
    )
}

/// The venue's weekly reservation windows.
#[utoipa::path(get, path = "/api/venues/{venue_id}/time-slots/weekly", tag = "reservations", security((), ("bearer" = []), ("api_key" = ["reservations:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    responses((status = 200, description = "Windows by weekday and start", body = Envelope<Vec<TimeSlotView>>)))]
async fn weekly_slots(
    State(state): State<AppState>,
    ApiPath(venue_id): ApiPath<Uuid>,
) -> ApiResult<Reply<Vec<TimeSlotView>>> {
    venue_model(&state, venue_id).await?;
    let rows = time_slots::Entity::find()
        .filter(time_slots::Column::RestaurantId.eq(venue_id))
        .order_by_asc(time_slots::Column::Weekday)
        .order_by_asc(time_slots::Column::StartTime)
        .all(&state.db)
        .await?;
    Ok(ok(rows.into_iter().map(TimeSlotView::from).collect()))
}

/// Add a weekly window (venue manager or admin).
#[utoipa::path(post, path = "/api/venues/{venue_id}/time-slots", tag = "reservations", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    request_body(content = TimeSlotInput, example = json!({"weekday": "FRI", "start_time": "18:00", "end_time": "23:00", "interval_minutes": 30, "max_reservations": 6, "max_covers": 24})),
    responses(
        (status = 201, description = "Created", body = Envelope<TimeSlotView>),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn create_slot(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<TimeSlotInput>,
) -> ApiResult<Reply<TimeSlotView>> {
    venue_model(&state, venue_id).await?;
    require_restaurant_role(&state, &me, venue_id, MemberRole::Manager).await?;
    let now = state.now();
    let mut active = time_slots::ActiveModel {
        id: Set(Uuid::now_v7()),
        restaurant_id: Set(venue_id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    apply_slot(&input, &mut active, true)?;
    Ok(created(active.insert(&state.db).await?.into()))
}

async fn find_slot(state: &AppState, venue_id: Uuid, id: Uuid) -> ApiResult<time_slots::Model> {
    time_slots::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|s| s.restaurant_id == venue_id)
        .ok_or_else(|| ApiError::not_found("time slot"))
}

/// Change a weekly window (venue manager or admin). Existing reservations keep their times.
#[utoipa::path(put, path = "/api/venues/{venue_id}/time-slots/{id}", tag = "reservations", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Time slot id")),
    request_body = TimeSlotInput,
    responses(
        (status = 200, description = "Updated", body = Envelope<TimeSlotView>),
        (status = 404, description = "Not found", body = ErrorBody),
    ))]
async fn update_slot(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<TimeSlotInput>,
) -> ApiResult<Reply<TimeSlotView>> {
    require_restaurant_role(&state, &me, venue_id, MemberRole::Manager).await?;
    let mut active: time_slots::ActiveModel = find_slot(&state, venue_id, id).await?.into();
    apply_slot(&input, &mut active, false)?;
    active.updated_at = Set(state.now());
    Ok(ok(active.update(&state.db).await?.into()))
}

/// Delete a weekly window (venue manager or admin). Existing reservations stay.
#[utoipa::path(delete, path = "/api/venues/{venue_id}/time-slots/{id}", tag = "reservations", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Time slot id")),
    responses(
        (status = 200, description = "Deleted", body = Envelope<Option<String>>),
        (status = 404, description = "Not found", body = ErrorBody),
    ))]
async fn delete_slot(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Reply<Option<String>>> {
    require_restaurant_role(&state, &me, venue_id, MemberRole::Manager).await?;
    find_slot(&state, venue_id, id).await?;
    time_slots::Entity::delete_by_id(id).exec(&state.db).await?;
    Ok(ok(None).message("time slot deleted"))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReservationView {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub user_id: Uuid,
    #[schema(value_type = String, example = "2026-06-20")]
    pub date: NaiveDate,
    #[schema(value_type = String, example = "19:30:00")]
    pub time_slot: NaiveTime,
    pub starts_at: DateTime<Utc>,
    pub party_size: i32,
    #[schema(value_type = String, example = "CONFIRMED")]
    pub status: String,
    pub table_preference: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Who booked (the venue's people and admins see it in the venue's list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest: Option<ReservationGuest>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReservationGuest {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl From<reservations::Model> for ReservationView {
    fn from(r: reservations::Model) -> Self {
        ReservationView {
            id: r.id,
            venue_id: r.restaurant_id,
            user_id: r.user_id,
            date: r.date,
            time_slot: r.slot_time,
            starts_at: r.starts_at,
            party_size: r.party_size,
            status: r.status,
            table_preference: r.table_preference,
            note: r.note,
            created_at: r.created_at,
            updated_at: r.updated_at,
            guest: None,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReservationFilter {
    /// Local date.
    #[param(value_type = Option<String>, format = Date)]
    pub date: Option<NaiveDate>,
    pub status: Option<ReservationStatus>,
    pub page: Option<crate::http::envelope::PageNumber>,
    pub per_page: Option<crate::http::envelope::PerPage>,
}

/// A venue's reservations, soonest first: all of them for its people and admins, the caller's own for
/// anyone else.
#[utoipa::path(get, path = "/api/venues/{venue_id}/reservations", tag = "reservations", security(("bearer" = []), ("api_key" = ["reservations:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ReservationFilter),
    responses((status = 200, description = "A page of reservations", body = Envelope<Page<ReservationView>>)))]
async fn venue_reservations(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiQuery(filter): ApiQuery<ReservationFilter>,
) -> ApiResult<Reply<Page<ReservationView>>> {
    venue_model(&state, venue_id).await?;
    let mut select = reservations::Entity::find()
        .filter(reservations::Column::RestaurantId.eq(venue_id))
        .order_by_asc(reservations::Column::StartsAt);
    let staff = me.is_admin()
        || membership_role(&state, me.user_id, venue_id)
            .await?
            .is_some();
    if !staff {
        select = select.filter(reservations::Column::UserId.eq(me.user_id));
    }
    let mut reply = list(&state, select, &filter).await?;
    if staff {
        let ids: Vec<Uuid> = reply.1.items.iter().map(|r| r.user_id).collect();
        let guests: std::collections::HashMap<Uuid, ReservationGuest> = users::Entity::find()
            .filter(users::Column::Id.is_in(ids))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|u| {
                let (name, phone, email) = crate::accounts::contact_of(&u);
                (u.id, ReservationGuest { name, phone, email })
            })
            .collect();
        for r in reply.1.items.iter_mut() {
            r.guest = guests.get(&r.user_id).cloned();
        }
    }
    Ok(reply)
}

async fn list(
    state: &AppState,
    mut select: sea_orm::Select<reservations::Entity>,
    filter: &ReservationFilter,
) -> ApiResult<Reply<Page<ReservationView>>> {
    if let Some(date) = filter.date {
        select = select.filter(reservations::Column::Date.eq(date));
    }
    if let Some(status) = filter.status {
        select = select.filter(reservations::Column::Status.eq(status.as_str()));
    }
    let params = PageParams {
        page: filter.page,
        per_page: filter.per_page,
    };
    let (rows, index, per_page, total) = paginate(select, &state.db, &params).await?;
    Ok(ok(Page::new(
        rows.into_iter().map(ReservationView::from).collect(),
        index,
        per_page,
        total,
    )))
}

/// Reserve a table at one of the free times (`date` and `time` as the availability list gives them).
/// Confirmed at once, with an in-app notification and an e-mail; 409 `slot_full` when it just filled.
#[utoipa::path(post, path = "/api/venues/{venue_id}/reservations", tag = "reservations", security(("bearer" = []), ("api_key" = ["reservations:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    request_body(content = ReservationInput, example = json!({"date": "2026-06-20", "time": "19:30", "party_size": 4, "table_preference": "window"})),
    responses(
        (status = 201, description = "Reserved", body = Envelope<ReservationView>),
        (status = 409, description = "That time is full", body = ErrorBody),
        (status = 422, description = "Not a bookable time, or a bad party size", body = ErrorBody),
    ))]
async fn create_reservation(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<ReservationInput>,
) -> ApiResult<Reply<ReservationView>> {
    let venue = venue_model(&state, venue_id).await?;
    Ok(created(
        book(&state, &venue, me.user_id, &input).await?.into(),
    ))
}

/// The caller's own reservations at every venue, soonest first.
#[utoipa::path(get, path = "/api/reservations", tag = "reservations", security(("bearer" = []), ("api_key" = ["reservations:read"])),
    params(ReservationFilter),
    responses((status = 200, description = "A page of reservations", body = Envelope<Page<ReservationView>>)))]
async fn my_reservations(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(filter): ApiQuery<ReservationFilter>,
) -> ApiResult<Reply<Page<ReservationView>>> {
    let select = reservations::Entity::find()
        .filter(reservations::Column::UserId.eq(me.user_id))
        .order_by_asc(reservations::Column::StartsAt);
    list(&state, select, &filter).await
}

/// (the reservation, whether the caller acts for the venue)
async fn reachable(
    state: &AppState,
    me: &Principal,
    id: Uuid,
) -> ApiResult<(reservations::Model, bool)> {
    let r = reservations::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("reservation"))?;
    if me.is_admin()
        || membership_role(state, me.user_id, r.restaurant_id)
            .await?
            .is_some()
    {
        return Ok((r, true));
    }
    if r.user_id == me.user_id {
        return Ok((r, false));
    }
    Err(ApiError::not_found("reservation"))
}

/// One reservation (its guest, the venue's people, admins).
#[utoipa::path(get, path = "/api/reservations/{id}", tag = "reservations", security(("bearer" = []), ("api_key" = ["reservations:read"])),
    params(("id" = Uuid, Path, description = "Reservation id")),
    responses(
        (status = 200, description = "The reservation", body = Envelope<ReservationView>),
        (status = 404, description = "No such reservation of yours", body = ErrorBody),
    ))]
async fn get_reservation(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<ReservationView>> {
    Ok(ok(reachable(&state, &me, id).await?.0.into()))
}

/// Change a reservation: the guest may move it or change the party (capacity permitting); the venue may
/// also set its status (COMPLETED, CANCELLED).
#[utoipa::path(put, path = "/api/reservations/{id}", tag = "reservations", security(("bearer" = []), ("api_key" = ["reservations:write"])),
    params(("id" = Uuid, Path, description = "Reservation id")),
    request_body(content = ReservationChange, example = json!({"time": "20:00", "party_size": 5})),
    responses(
        (status = 200, description = "Changed", body = Envelope<ReservationView>),
        (status = 409, description = "The new time is full, or the reservation is closed", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn update_reservation(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<ReservationChange>,
) -> ApiResult<Reply<ReservationView>> {
    let (r, by_venue) = reachable(&state, &me, id).await?;
    Ok(ok(change(&state, r, &input, by_venue).await?.into()))
}

/// Cancel a reservation (its guest or the venue); its place is free again at once.
#[utoipa::path(delete, path = "/api/reservations/{id}", tag = "reservations", security(("bearer" = []), ("api_key" = ["reservations:write"])),
    params(("id" = Uuid, Path, description = "Reservation id")),
    responses(
        (status = 200, description = "Cancelled", body = Envelope<ReservationView>),
        (status = 409, description = "Already closed", body = ErrorBody),
    ))]
async fn cancel_reservation(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<ReservationView>> {
    let (r, _) = reachable(&state, &me, id).await?;
    let cancel = ReservationChange {
        status: Some(ReservationStatus::Cancelled),
        ..Default::default()
    };
    Ok(ok(change(&state, r, &cancel, true).await?.into()).message("reservation cancelled"))
}
