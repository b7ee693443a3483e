//! `/api/venues/{venue_id}/stations`, `/station-routes`, `/kitchen/...` and `/api/kitchen/lines/...`:
//! the venue's stations and routing (its managers change them), its ticket lines by station, and the
//! staff's actions on a line (start, bump, recall, void) with the live kitchen stream.

use std::collections::HashMap;
use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, Sse};
use chrono::{DateTime, Utc};
use futures::Stream;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{Action, LineState, StationKind, act, kitchen_channel};
use crate::accounts::{AuthUser, MemberRole, Principal, require_restaurant_role};
use crate::entities::{
    menu_categories, menu_items, orders, station_routes, stations, ticket_lines,
};
use crate::http::envelope::{Envelope, Reply, created, ok};
use crate::http::error::{ApiError, ApiResult, ErrorBody, FieldErrors};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::notifications::routes::{StreamAuth, sse_from};
use crate::orders::{Actor, ActorKind};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_stations, create_station))
        .routes(routes!(update_station, delete_station))
        .routes(routes!(list_routes, set_route))
        .routes(routes!(tickets))
        .routes(routes!(kitchen_stream))
        .routes(routes!(start_line))
        .routes(routes!(bump_line))
        .routes(routes!(recall_line))
        .routes(routes!(void_line))
        .routes(routes!(recall_last))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StationView {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub name: String,
    /// grill, fry, cold, hot, bar, pass or other.
    pub kind: String,
    pub display_order: i32,
    /// Minutes a line may take before it shows late.
    pub target_minutes: i32,
    /// Lines go here when neither their item nor its category names a station.
    pub is_default: bool,
    /// Lines queued or started here now.
    pub open_lines: u64,
}

fn station_view(s: stations::Model, open_lines: u64) -> StationView {
    StationView {
        id: s.id,
        venue_id: s.restaurant_id,
        name: s.name,
        kind: s.kind,
        display_order: s.display_order,
        target_minutes: s.target_minutes,
        is_default: s.is_default,
        open_lines,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StationInput {
    #[schema(example = "Grill", min_length = 1, max_length = 60, pattern = r"\S")]
    pub name: Option<String>,
    /// What the station is (default other).
    pub kind: Option<StationKind>,
    pub display_order: Option<i32>,
    /// 1 to 240 minutes (default 12).
    #[schema(minimum = 1, maximum = 240)]
    pub target_minutes: Option<i32>,
    pub is_default: Option<bool>,
}

fn apply_station(
    input: &StationInput,
    active: &mut stations::ActiveModel,
    creating: bool,
) -> ApiResult<()> {
    let mut errors = FieldErrors::new();
    match input.name.as_deref() {
        Some(n) => {
            if let Some(n) = errors.check("name", crate::http::text::required_text(n, 60)) {
                active.name = Set(n);
            }
        }
        None if creating => errors.add("name", "is required"),
        None => {}
    }
    match input.kind {
        Some(k) => active.kind = Set(k.as_str().to_string()),
        None if creating => active.kind = Set(StationKind::Other.as_str().to_string()),
        None => {}
    }
    match input.display_order {
        Some(o) => active.display_order = Set(o),
        None if creating => active.display_order = Set(0),
        None => {}
    }
    match input.target_minutes {
        Some(m) if (1..=240).contains(&m) => active.target_minutes = Set(m),
        Some(_) => errors.add("target_minutes", "must be between 1 and 240"),
        None if creating => active.target_minutes = Set(super::DEFAULT_TARGET_MINUTES),
        None => {}
    }
    match input.is_default {
        Some(d) => active.is_default = Set(d),
        None if creating => active.is_default = Set(false),
        None => {}
    }
    errors.into_result()
}

async fn venue_role(
    state: &AppState,
    me: &Principal,
    venue_id: Uuid,
    min: MemberRole,
) -> ApiResult<()> {
    crate::restaurants::team_venue(state, me, venue_id, min).await?;
    Ok(())
}

async fn find_station(state: &AppState, venue_id: Uuid, id: Uuid) -> ApiResult<stations::Model> {
    stations::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|s| s.restaurant_id == venue_id)
        .ok_or_else(|| ApiError::not_found("station"))
}

async fn open_lines(state: &AppState, venue_id: Uuid) -> ApiResult<HashMap<Uuid, u64>> {
    let lines = ticket_lines::Entity::find()
        .filter(ticket_lines::Column::RestaurantId.eq(venue_id))
        .filter(
            ticket_lines::Column::State
                .is_in([LineState::Queued.as_str(), LineState::Started.as_str()]),
        )
        .all(&state.db)
        .await?;
    let mut counts = HashMap::new();
    for line in lines {
        if let Some(station) = line.station_id {
            *counts.entry(station).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

/// Save a station, keeping one default per venue and names unique (409 `station_exists`).
async fn save_station(
    state: &AppState,
    active: stations::ActiveModel,
    creating: bool,
) -> ApiResult<stations::Model> {
    let venue_id = active.restaurant_id.clone().unwrap();
    let name = active.name.clone().unwrap();
    let id = active.id.clone().unwrap();
    let taken = stations::Entity::find()
        .filter(stations::Column::RestaurantId.eq(venue_id))
        .filter(stations::Column::Name.eq(name.as_str()))
        .filter(stations::Column::Id.ne(id))
        .count(&state.db)
        .await?;
    if taken > 0 {
        return Err(ApiError::conflict(
            "station_exists",
            format!("the venue already has a station named {name}"),
        ));
    }
    let is_default = matches!(active.is_default, sea_orm::ActiveValue::Set(true));
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    if is_default {
        stations::Entity::update_many()
            .col_expr(stations::Column::IsDefault, Expr::value(false))
            .filter(stations::Column::RestaurantId.eq(venue_id))
            .filter(stations::Column::Id.ne(id))
            .exec(&txn)
            .await?;
    }
    let saved = if creating {
        active.insert(&txn).await?
    } else {
        active.update(&txn).await?
    };
    txn.commit().await?;
    drop(turn);
    Ok(saved)
}

/// The venue's stations in display order, with how many lines each has open (venue staff).
#[utoipa::path(get, path = "/api/venues/{venue_id}/stations", tag = "kitchen", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    responses(
        (status = 200, description = "Stations", body = Envelope<Vec<StationView>>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
    ))]
async fn list_stations(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
) -> ApiResult<Reply<Vec<StationView>>> {
    venue_role(&state, &me, venue_id, MemberRole::Staff).await?;
    let counts = open_lines(&state, venue_id).await?;
    let rows = stations::Entity::find()
        .filter(stations::Column::RestaurantId.eq(venue_id))
        .order_by_asc(stations::Column::DisplayOrder)
        .order_by_asc(stations::Column::Name)
        .all(&state.db)
        .await?;
    Ok(ok(rows
        .into_iter()
        .map(|s| {
            let open = counts.get(&s.id).copied().unwrap_or(0);
            station_view(s, open)
        })
        .collect()))
}

/// Add a station (the venue's manager or an admin).
#[utoipa::path(post, path = "/api/venues/{venue_id}/stations", tag = "kitchen", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    request_body(content = StationInput, example = json!({"name": "Grill", "kind": "grill", "target_minutes": 10})),
    responses(
        (status = 201, description = "Created", body = Envelope<StationView>),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 409, description = "A station of that name exists", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn create_station(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<StationInput>,
) -> ApiResult<Reply<StationView>> {
    venue_role(&state, &me, venue_id, MemberRole::Manager).await?;
    let now = state.now();
    let mut active = stations::ActiveModel {
        id: Set(Uuid::now_v7()),
        restaurant_id: Set(venue_id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    apply_station(&input, &mut active, true)?;
    let station = save_station(&state, active, true).await?;
    Ok(created(station_view(station, 0)))
}

/// Change a station (the venue's manager or an admin).
#[utoipa::path(put, path = "/api/venues/{venue_id}/stations/{id}", tag = "kitchen", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Station id")),
    request_body(content = StationInput, example = json!({"target_minutes": 8})),
    responses(
        (status = 200, description = "Changed", body = Envelope<StationView>),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 404, description = "No such station", body = ErrorBody),
        (status = 409, description = "A station of that name exists", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn update_station(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<StationInput>,
) -> ApiResult<Reply<StationView>> {
    venue_role(&state, &me, venue_id, MemberRole::Manager).await?;
    let station = find_station(&state, venue_id, id).await?;
    let mut active: stations::ActiveModel = station.into();
    apply_station(&input, &mut active, false)?;
    active.updated_at = Set(state.now());
    let station = save_station(&state, active, false).await?;
    let open = open_lines(&state, venue_id)
        .await?
        .get(&station.id)
        .copied()
        .unwrap_or(0);
    Ok(ok(station_view(station, open)))
}

/// Remove a station with no open lines (its routes go with it; its lines' history keeps its name).
#[utoipa::path(delete, path = "/api/venues/{venue_id}/stations/{id}", tag = "kitchen", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Station id")),
    responses(
        (status = 200, description = "Removed", body = Envelope<StationView>),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 404, description = "No such station", body = ErrorBody),
        (status = 409, description = "The station has open lines", body = ErrorBody),
    ))]
async fn delete_station(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Reply<StationView>> {
    venue_role(&state, &me, venue_id, MemberRole::Manager).await?;
    let station = find_station(&state, venue_id, id).await?;
    let open = open_lines(&state, venue_id)
        .await?
        .get(&id)
        .copied()
        .unwrap_or(0);
    if open > 0 {
        return Err(ApiError::conflict(
            "station_busy",
            format!(
                "{} has {open} open line(s); bump or void them first",
                station.name
            ),
        ));
    }
    stations::Entity::delete_by_id(id).exec(&state.db).await?;
    Ok(ok(station_view(station, 0)).message("station removed"))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RouteView {
    pub id: Uuid,
    pub station_id: Uuid,
    /// Set for a category's default station.
    pub category_id: Option<Uuid>,
    /// Set for one item's station (it wins over its category's).
    pub menu_item_id: Option<Uuid>,
}

impl From<station_routes::Model> for RouteView {
    fn from(r: station_routes::Model) -> Self {
        RouteView {
            id: r.id,
            station_id: r.station_id,
            category_id: r.category_id,
            menu_item_id: r.menu_item_id,
        }
    }
}

/// Route a category (its items' default station) or one item (overriding its category): one of the two.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum RouteInput {
    Category(CategoryRoute),
    Item(ItemRoute),
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryRoute {
    /// A category of the venue's menu.
    pub category_id: Uuid,
    /// The station; null sends its items back to the default station.
    pub station_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemRoute {
    /// One item of the venue's menu.
    pub menu_item_id: Uuid,
    /// The station; null sends it back to its category's.
    pub station_id: Option<Uuid>,
}

impl RouteInput {
    fn target(&self) -> (Option<Uuid>, Option<Uuid>, Option<Uuid>) {
        match self {
            RouteInput::Category(c) => (Some(c.category_id), None, c.station_id),
            RouteInput::Item(i) => (None, Some(i.menu_item_id), i.station_id),
        }
    }
}

/// How the venue's items are routed: category defaults and item overrides (venue staff).
#[utoipa::path(get, path = "/api/venues/{venue_id}/station-routes", tag = "kitchen", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    responses(
        (status = 200, description = "Routes", body = Envelope<Vec<RouteView>>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
    ))]
async fn list_routes(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
) -> ApiResult<Reply<Vec<RouteView>>> {
    venue_role(&state, &me, venue_id, MemberRole::Staff).await?;
    let rows = station_routes::Entity::find()
        .filter(station_routes::Column::RestaurantId.eq(venue_id))
        .order_by_asc(station_routes::Column::CreatedAt)
        .all(&state.db)
        .await?;
    Ok(ok(rows.into_iter().map(RouteView::from).collect()))
}

/// Route a category or an item to a station, or (station null) back to the default (the venue's
/// manager or an admin). Orders confirmed from now on follow it.
#[utoipa::path(put, path = "/api/venues/{venue_id}/station-routes", tag = "kitchen", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    request_body(content = RouteInput, example = json!({"category_id": "0190d7a4-3b7c-7cc0-8000-000000000001", "station_id": "0190d7a4-3b7c-7cc0-8000-000000000002"})),
    responses(
        (status = 200, description = "The venue's routes now", body = Envelope<Vec<RouteView>>),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 404, description = "Not a category, item or station of this venue", body = ErrorBody),
        (status = 422, description = "Not one category or one item", body = ErrorBody),
    ))]
async fn set_route(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<RouteInput>,
) -> ApiResult<Reply<Vec<RouteView>>> {
    venue_role(&state, &me, venue_id, MemberRole::Manager).await?;
    let (category_id, menu_item_id, station_id) = input.target();
    // Well formed, but naming what this venue does not have: 404 with the field named.
    if let Some(c) = category_id {
        let found = menu_categories::Entity::find_by_id(c)
            .one(&state.db)
            .await?
            .filter(|c| c.restaurant_id == venue_id);
        if found.is_none() {
            return Err(ApiError::not_found("menu category")
                .with_field("category_id", "is not a category of this venue's menu"));
        }
    }
    if let Some(i) = menu_item_id {
        let found = menu_items::Entity::find_by_id(i)
            .one(&state.db)
            .await?
            .filter(|i| i.restaurant_id == venue_id);
        if found.is_none() {
            return Err(ApiError::not_found("menu item")
                .with_field("menu_item_id", "is not an item of this venue's menu"));
        }
    }
    if let Some(station) = station_id {
        let found = stations::Entity::find_by_id(station)
            .one(&state.db)
            .await?
            .filter(|s| s.restaurant_id == venue_id);
        if found.is_none() {
            return Err(ApiError::not_found("station")
                .with_field("station_id", "is not a station of this venue"));
        }
    }
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    let mut remove = station_routes::Entity::delete_many()
        .filter(station_routes::Column::RestaurantId.eq(venue_id));
    remove = match (category_id, menu_item_id) {
        (Some(c), _) => remove.filter(station_routes::Column::CategoryId.eq(c)),
        (_, Some(i)) => remove.filter(station_routes::Column::MenuItemId.eq(i)),
        _ => unreachable!("checked above"),
    };
    remove.exec(&txn).await?;
    if let Some(station) = station_id {
        station_routes::ActiveModel {
            id: Set(Uuid::now_v7()),
            restaurant_id: Set(venue_id),
            station_id: Set(station),
            category_id: Set(category_id),
            menu_item_id: Set(menu_item_id),
            created_at: Set(state.now()),
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    drop(turn);
    let rows = station_routes::Entity::find()
        .filter(station_routes::Column::RestaurantId.eq(venue_id))
        .order_by_asc(station_routes::Column::CreatedAt)
        .all(&state.db)
        .await?;
    Ok(ok(rows.into_iter().map(RouteView::from).collect()))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketLineView {
    pub id: Uuid,
    pub order_id: Uuid,
    pub station_id: Option<Uuid>,
    pub station_name: String,
    pub menu_item_id: Option<Uuid>,
    pub name: String,
    pub quantity: i32,
    /// The customer's note on the item.
    pub note: Option<String>,
    pub state: LineState,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ready_at: Option<DateTime<Utc>>,
    pub bumped_by: Option<Uuid>,
    /// Times it came back from ready.
    pub recalls: i32,
    pub voided_at: Option<DateTime<Utc>>,
    pub void_reason: Option<String>,
}

impl From<ticket_lines::Model> for TicketLineView {
    fn from(l: ticket_lines::Model) -> Self {
        TicketLineView {
            id: l.id,
            order_id: l.order_id,
            station_id: l.station_id,
            station_name: l.station_name,
            menu_item_id: l.menu_item_id,
            name: l.name,
            quantity: l.quantity,
            note: l.note,
            state: LineState::parse(&l.state).unwrap_or(LineState::Voided),
            queued_at: l.queued_at,
            started_at: l.started_at,
            ready_at: l.ready_at,
            bumped_by: l.bumped_by,
            recalls: l.recalls,
            voided_at: l.voided_at,
            void_reason: l.void_reason,
        }
    }
}

/// One order's card on a kitchen display: its lines at the station (or every station).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketView {
    pub order_id: Uuid,
    /// What staff read aloud (the last 6 hex digits of the id).
    pub short_id: String,
    /// DINE_IN, TAKEOUT or DELIVERY.
    pub order_type: String,
    pub table_label: Option<String>,
    pub pickup_time: Option<DateTime<Utc>>,
    pub order_note: Option<String>,
    /// The order's status.
    pub status: String,
    /// When its first line was queued.
    pub queued_at: DateTime<Utc>,
    /// Minutes a line here may take before it is late (the station's target; the longest of the
    /// ticket's stations in the all-stations view).
    pub target_minutes: i32,
    /// When the ticket is due: its first line's queue time plus the longest predicted prep time of its
    /// lines (the venue's prep-time model), else plus the target.
    pub due_at: DateTime<Utc>,
    /// `model` when a prep-time model set `due_at`, `target` otherwise.
    pub due_from: String,
    pub lines: Vec<TicketLineView>,
}

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TicketsQuery {
    /// One station's lines; every station's (the expo view) when absent.
    pub station_id: Option<Uuid>,
    /// Also tickets whose lines here are all ready while the order is not collected yet (default false).
    pub include_ready: Option<bool>,
}

/// Open tickets of the venue, oldest first: orders still in the kitchen (confirmed, preparing or ready)
/// with their lines at the station, or at every station (venue staff).
#[utoipa::path(get, path = "/api/venues/{venue_id}/kitchen/tickets", tag = "kitchen", security(("bearer" = []), ("api_key" = ["orders:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), TicketsQuery),
    responses(
        (status = 200, description = "Tickets", body = Envelope<Vec<TicketView>>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such venue or station", body = ErrorBody),
    ))]
async fn tickets(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<TicketsQuery>,
) -> ApiResult<Reply<Vec<TicketView>>> {
    venue_role(&state, &me, venue_id, MemberRole::Staff).await?;
    Ok(ok(open_tickets(
        &state,
        venue_id,
        query.station_id,
        query.include_ready.unwrap_or(false),
    )
    .await?))
}

/// The tickets a kitchen display shows (see [`tickets`]).
pub async fn open_tickets(
    state: &AppState,
    venue_id: Uuid,
    station_id: Option<Uuid>,
    include_ready: bool,
) -> ApiResult<Vec<TicketView>> {
    let all_stations: HashMap<Uuid, stations::Model> = stations::Entity::find()
        .filter(stations::Column::RestaurantId.eq(venue_id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    if let Some(id) = station_id
        && !all_stations.contains_key(&id)
    {
        return Err(ApiError::not_found("station"));
    }
    let mut select = ticket_lines::Entity::find()
        .filter(ticket_lines::Column::RestaurantId.eq(venue_id))
        .filter(ticket_lines::Column::State.ne(LineState::Voided.as_str()))
        .filter(ticket_lines::Column::OrderId.in_subquery(super::in_kitchen(venue_id)));
    if let Some(id) = station_id {
        select = select.filter(ticket_lines::Column::StationId.eq(id));
    }
    let lines = select
        .order_by_asc(ticket_lines::Column::QueuedAt)
        .order_by_asc(ticket_lines::Column::Id)
        .all(&state.db)
        .await?;
    if lines.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<Uuid> = lines.iter().map(|l| l.order_id).collect();
    ids.sort();
    ids.dedup();
    let orders: HashMap<Uuid, orders::Model> = orders::Entity::find()
        .filter(orders::Column::Id.is_in(ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let model = super::prep::latest_model(state, venue_id).await;
    let mut by_order: Vec<(Uuid, Vec<ticket_lines::Model>)> = Vec::new();
    for line in lines {
        match by_order.iter_mut().find(|(id, _)| *id == line.order_id) {
            Some((_, lines)) => lines.push(line),
            None => by_order.push((line.order_id, vec![line])),
        }
    }
    Ok(by_order
        .into_iter()
        .filter(|(_, lines)| {
            include_ready
                || lines
                    .iter()
                    .any(|l| LineState::parse(&l.state).is_some_and(LineState::is_open))
        })
        .filter_map(|(order_id, lines)| {
            let order = orders.get(&order_id)?;
            let target = lines
                .iter()
                .filter_map(|l| l.station_id.and_then(|s| all_stations.get(&s)))
                .map(|s| s.target_minutes)
                .max()
                .unwrap_or(super::DEFAULT_TARGET_MINUTES);
            let queued_at = lines[0].queued_at;
            let (due_at, due_from) = match &model {
                Some((model, tz)) => {
                    let seconds = lines
                        .iter()
                        .map(|l| super::prep::line_seconds(model, *tz, l))
                        .fold(0.0, f64::max);
                    (
                        queued_at + chrono::Duration::milliseconds((seconds * 1000.0) as i64),
                        "model",
                    )
                }
                None => (
                    queued_at + chrono::Duration::minutes(target as i64),
                    "target",
                ),
            };
            Some(TicketView {
                due_at,
                due_from: due_from.to_string(),
                order_id,
                short_id: crate::orders::short_id(order_id),
                order_type: order.order_type.clone(),
                table_label: order.table_label.clone(),
                pickup_time: order.pickup_time,
                order_note: order.note.clone(),
                status: order.status.clone(),
                queued_at: lines[0].queued_at,
                target_minutes: target,
                lines: lines.into_iter().map(TicketLineView::from).collect(),
            })
        })
        .collect())
}

/// Live kitchen changes of the venue as Server-Sent Events (`event: kitchen`, data: `KitchenUpdate`
/// JSON), from every Brigade process: read the tickets again on each. Accepts `?access_token=`.
#[utoipa::path(get, path = "/api/venues/{venue_id}/kitchen/stream", tag = "kitchen", security(("bearer" = []), ("api_key" = ["orders:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), StreamAuth),
    responses(
        (status = 200, description = "An event stream", content_type = "text/event-stream", body = crate::notifications::routes::StreamEvent),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
    ))]
async fn kitchen_stream(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiQuery(_query): ApiQuery<StreamAuth>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    venue_role(&state, &me, venue_id, MemberRole::Staff).await?;
    Ok(sse_from(&state, &kitchen_channel(venue_id), "kitchen"))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidInput {
    /// Why: "dropped", "customer changed their mind"...
    #[schema(example = "dropped", min_length = 1, max_length = 200, pattern = r"\S")]
    pub reason: String,
}

/// The line, after checking the caller is staff of its venue.
async fn line_for(state: &AppState, me: &Principal, id: Uuid) -> ApiResult<ticket_lines::Model> {
    let line = ticket_lines::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("ticket line"))?;
    if require_restaurant_role(state, me, line.restaurant_id, MemberRole::Staff)
        .await
        .is_err()
    {
        // Another venue's line is not there for this caller.
        return Err(ApiError::not_found("ticket line"));
    }
    Ok(line)
}

fn actor_of(me: &Principal) -> Actor {
    Actor {
        kind: if me.is_admin() {
            ActorKind::Admin
        } else {
            ActorKind::Venue
        },
        user_id: Some(me.user_id),
    }
}

async fn line_action(
    state: &AppState,
    me: &Principal,
    id: Uuid,
    action: Action,
    reason: Option<String>,
) -> ApiResult<Reply<TicketLineView>> {
    line_for(state, me, id).await?;
    let line = act(state, id, action, actor_of(me), reason).await?;
    Ok(ok(TicketLineView::from(line)))
}

/// Start making a queued line (venue staff). A confirmed order moves to PREPARING.
#[utoipa::path(post, path = "/api/kitchen/lines/{id}/start", tag = "kitchen", security(("bearer" = []), ("api_key" = ["orders:write"])),
    params(("id" = Uuid, Path, description = "Ticket line id")),
    responses(
        (status = 200, description = "Started", body = Envelope<TicketLineView>),
        (status = 404, description = "No such line of your venue", body = ErrorBody),
        (status = 409, description = "The line is not queued", body = ErrorBody),
    ))]
async fn start_line(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<TicketLineView>> {
    line_action(&state, &me, id, Action::Start, None).await
}

/// Bump a line: it is ready (venue staff). When every line of the order is ready, the order is READY.
#[utoipa::path(post, path = "/api/kitchen/lines/{id}/bump", tag = "kitchen", security(("bearer" = []), ("api_key" = ["orders:write"])),
    params(("id" = Uuid, Path, description = "Ticket line id")),
    responses(
        (status = 200, description = "Ready", body = Envelope<TicketLineView>),
        (status = 404, description = "No such line of your venue", body = ErrorBody),
        (status = 409, description = "The line is already ready or voided", body = ErrorBody),
    ))]
async fn bump_line(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<TicketLineView>> {
    line_action(&state, &me, id, Action::Bump, None).await
}

/// Recall a bumped line (venue staff): it is being made again, and a READY order goes back to PREPARING.
#[utoipa::path(post, path = "/api/kitchen/lines/{id}/recall", tag = "kitchen", security(("bearer" = []), ("api_key" = ["orders:write"])),
    params(("id" = Uuid, Path, description = "Ticket line id")),
    responses(
        (status = 200, description = "Recalled", body = Envelope<TicketLineView>),
        (status = 404, description = "No such line of your venue", body = ErrorBody),
        (status = 409, description = "The line is not ready, or its order is closed", body = ErrorBody),
    ))]
async fn recall_line(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<TicketLineView>> {
    line_action(&state, &me, id, Action::Recall, None).await
}

/// Void a line with a reason (venue staff): it is kept, marked voided, and no longer holds the order.
#[utoipa::path(post, path = "/api/kitchen/lines/{id}/void", tag = "kitchen", security(("bearer" = []), ("api_key" = ["orders:write"])),
    params(("id" = Uuid, Path, description = "Ticket line id")),
    request_body(content = VoidInput, example = json!({"reason": "dropped"})),
    responses(
        (status = 200, description = "Voided", body = Envelope<TicketLineView>),
        (status = 404, description = "No such line of your venue", body = ErrorBody),
        (status = 409, description = "The line is already voided", body = ErrorBody),
        (status = 422, description = "No reason given", body = ErrorBody),
    ))]
async fn void_line(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<VoidInput>,
) -> ApiResult<Reply<TicketLineView>> {
    let mut errors = FieldErrors::new();
    let reason = errors.check(
        "reason",
        crate::http::text::required_text(&input.reason, 200),
    );
    errors.into_result()?;
    line_action(&state, &me, id, Action::Void, reason).await
}

/// Recall the line bumped last at a station, whose order is not collected yet (venue staff): the bump
/// bar's undo key.
#[utoipa::path(post, path = "/api/venues/{venue_id}/stations/{id}/recall-last", tag = "kitchen", security(("bearer" = []), ("api_key" = ["orders:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Station id")),
    responses(
        (status = 200, description = "Recalled", body = Envelope<TicketLineView>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such station, or nothing to recall", body = ErrorBody),
    ))]
async fn recall_last(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Reply<TicketLineView>> {
    venue_role(&state, &me, venue_id, MemberRole::Staff).await?;
    let line = super::recall_last(&state, venue_id, id, actor_of(&me)).await?;
    Ok(ok(TicketLineView::from(line)))
}
