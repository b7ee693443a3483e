//! The kitchen display: a venue's open tickets by station (or every station, the expo view), drawn by
//! `kitchen.js` from the JSON these routes serve and kept live by the venue's kitchen stream. Staff start
//! and bump lines by tapping or with the number keys (a bump bar sends them), and recall the last bump.
//! The routes here use the browser's session (and its CSRF token on changes); the API's own routes
//! (`kitchen::routes`) serve the same data to tokens and keys.

use std::convert::Infallible;

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use futures::Stream;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::pages::{render, server_error as failed};
use super::{Layout, error_page};
use crate::accounts::sessions::{self, WebUser};
use crate::accounts::{MemberRole, memberships_of, require_restaurant_role};
use crate::entities::{restaurants, stations};
use crate::http::error::ApiError;
use crate::kitchen::{Action, act, kitchen_channel, routes::open_tickets};
use crate::orders::{Actor, ActorKind};
use crate::state::AppState;

pub struct StationTab {
    pub href: String,
    pub label: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "kitchen.html")]
struct KitchenPage {
    layout: Layout,
    venue_id: Uuid,
    venue_name: String,
    /// The station shown, or empty for every station.
    station_id: String,
    station_name: String,
    tabs: Vec<StationTab>,
    venues: Vec<(Uuid, String, bool)>,
}

#[derive(Debug, Deserialize)]
pub struct StationQuery {
    pub station: Option<String>,
}

/// `/kitchen`: the first of the caller's venues (administrators pick from every venue on the page).
pub async fn start(State(state): State<AppState>, user: WebUser) -> Response {
    first_venue(&state, &user, "kitchen").await
}

/// `/{screen}` without a venue: the caller's first venue's screen (an administrator's: the first venue by
/// name), or a page saying they work at none.
pub(super) async fn first_venue(state: &AppState, user: &WebUser, screen: &str) -> Response {
    let first = if user.principal.is_admin() {
        restaurants::Entity::find()
            .order_by_asc(restaurants::Column::Name)
            .one(&state.db)
            .await
            .map(|r| r.map(|r| r.id))
            .map_err(|e| e.to_string())
    } else {
        memberships_of(state, user.user.id)
            .await
            .map(|m| m.first().map(|m| m.restaurant_id))
            .map_err(|e| e.message)
    };
    match first {
        Ok(Some(id)) => Redirect::to(&format!("/venues/{id}/{screen}")).into_response(),
        Ok(None) => error_page(
            StatusCode::NOT_FOUND,
            "No venue of yours",
            "You do not work at any venue yet; a venue's manager can add you to its team.",
        ),
        Err(err) => failed(err),
    }
}

/// The venue of a team page, or the page refusing: 404 for no such venue, 403 for callers who are not
/// on its team (`what`: what only the team sees).
pub(super) async fn team_venue(
    state: &AppState,
    user: &WebUser,
    id: Uuid,
    what: &str,
) -> Result<restaurants::Model, Response> {
    let venue = crate::restaurants::find(state, id).await.map_err(|_| {
        error_page(
            StatusCode::NOT_FOUND,
            "No such venue",
            "There is no venue here.",
        )
    })?;
    if require_restaurant_role(state, &user.principal, id, MemberRole::Staff)
        .await
        .is_err()
    {
        return Err(error_page(
            StatusCode::FORBIDDEN,
            "Not your venue",
            &format!("Only the venue's team sees {what}."),
        ));
    }
    Ok(venue)
}

pub(super) async fn venues_of(
    state: &AppState,
    user: &WebUser,
    current: Uuid,
) -> Vec<(Uuid, String, bool)> {
    let ids: Option<Vec<Uuid>> = if user.principal.is_admin() {
        None
    } else {
        match memberships_of(state, user.user.id).await {
            Ok(m) => Some(m.into_iter().map(|m| m.restaurant_id).collect()),
            Err(_) => Some(vec![current]),
        }
    };
    let mut select = restaurants::Entity::find().order_by_asc(restaurants::Column::Name);
    if let Some(ids) = ids {
        select = select.filter(restaurants::Column::Id.is_in(ids));
    }
    select
        .all(&state.db)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.id, r.name, r.id == current))
        .collect()
}

/// The kitchen display of one venue, for one station (`?station=`) or every station.
pub async fn page(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Path(id): Path<Uuid>,
    Query(query): Query<StationQuery>,
) -> Response {
    let venue = match team_venue(&state, &user, id, "its kitchen display").await {
        Ok(venue) => venue,
        Err(refused) => return refused,
    };
    let all = match stations::Entity::find()
        .filter(stations::Column::RestaurantId.eq(id))
        .order_by_asc(stations::Column::DisplayOrder)
        .order_by_asc(stations::Column::Name)
        .all(&state.db)
        .await
    {
        Ok(all) => all,
        Err(err) => return failed(err),
    };
    let selected = match query
        .station
        .as_deref()
        .filter(|s| !s.is_empty() && *s != "all")
    {
        None => None,
        Some(raw) => match raw
            .parse::<Uuid>()
            .ok()
            .and_then(|s| all.iter().find(|st| st.id == s))
        {
            Some(station) => Some(station.clone()),
            None => {
                return error_page(
                    StatusCode::NOT_FOUND,
                    "No such station",
                    "This venue has no station with that id; pick one of its stations.",
                );
            }
        },
    };
    let mut tabs = vec![StationTab {
        href: format!("/venues/{id}/kitchen"),
        label: "All stations".into(),
        active: selected.is_none(),
    }];
    tabs.extend(all.iter().map(|s| StationTab {
        href: format!("/venues/{id}/kitchen?station={}", s.id),
        label: s.name.clone(),
        active: selected.as_ref().is_some_and(|sel| sel.id == s.id),
    }));
    let (jar, csrf) = sessions::csrf_token(&state, jar);
    let page = KitchenPage {
        layout: Layout::for_user(
            &format!("Kitchen · {}", venue.name),
            "/kitchen",
            &user,
            !user.principal.is_admin(),
            csrf,
        ),
        venue_id: id,
        venue_name: venue.name.clone(),
        station_id: selected
            .as_ref()
            .map(|s| s.id.to_string())
            .unwrap_or_default(),
        station_name: selected
            .as_ref()
            .map(|s| s.name.clone())
            .unwrap_or_else(|| "All stations".into()),
        tabs,
        venues: venues_of(&state, &user, id).await,
    };
    (jar, render(&page)).into_response()
}

pub(super) fn json_error(err: ApiError) -> Response {
    (
        err.status,
        Json(json!({"success": false, "code": err.code, "message": err.message})),
    )
        .into_response()
}

pub(super) async fn staff_of(
    state: &AppState,
    user: &WebUser,
    venue: Uuid,
) -> Result<(), Response> {
    require_restaurant_role(state, &user.principal, venue, MemberRole::Staff)
        .await
        .map_err(json_error)
}

/// The open tickets as JSON (what the display draws), with the server's clock for ages.
pub async fn tickets(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<Uuid>,
    Query(query): Query<StationQuery>,
) -> Response {
    if let Err(refused) = staff_of(&state, &user, id).await {
        return refused;
    }
    let station = match query
        .station
        .as_deref()
        .filter(|s| !s.is_empty() && *s != "all")
    {
        None => None,
        Some(raw) => match raw.parse::<Uuid>() {
            Ok(s) => Some(s),
            Err(_) => return json_error(ApiError::not_found("station")),
        },
    };
    match open_tickets(&state, id, station, false).await {
        Ok(tickets) => {
            Json(json!({"success": true, "now": state.now(), "tickets": tickets})).into_response()
        }
        Err(err) => json_error(err),
    }
}

/// The venue's kitchen changes as Server-Sent Events, for the display to read the tickets again.
pub async fn events(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<Uuid>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Response> {
    staff_of(&state, &user, id).await?;
    Ok(crate::notifications::routes::sse_from(
        &state,
        &kitchen_channel(id),
        "kitchen",
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct ActionBody {
    pub reason: Option<String>,
}

pub(super) fn csrf_ok(jar: &CookieJar, headers: &HeaderMap) -> bool {
    let sent = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    sessions::check_csrf(jar, sent).is_ok()
}

pub(super) fn web_actor(user: &WebUser) -> Actor {
    Actor {
        kind: if user.principal.is_admin() {
            ActorKind::Admin
        } else {
            ActorKind::Venue
        },
        user_id: Some(user.user.id),
    }
}

/// Start, bump, recall or void one line (JSON in and out; the page's CSRF token in `X-CSRF-Token`).
pub async fn line_action(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    user: WebUser,
    Path((id, line, action)): Path<(Uuid, Uuid, String)>,
    body: Option<Json<ActionBody>>,
) -> Response {
    if !csrf_ok(&jar, &headers) {
        return json_error(ApiError::forbidden(
            "the page is out of date; reload it and try again",
        ));
    }
    if let Err(refused) = staff_of(&state, &user, id).await {
        return refused;
    }
    let action = match action.as_str() {
        "start" => Action::Start,
        "bump" => Action::Bump,
        "recall" => Action::Recall,
        "void" => Action::Void,
        _ => return json_error(ApiError::not_found("kitchen action")),
    };
    let reason = body.and_then(|Json(b)| b.reason);
    if action == Action::Void && reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return json_error(ApiError::field("reason", "is required"));
    }
    match crate::entities::ticket_lines::Entity::find_by_id(line)
        .one(&state.db)
        .await
    {
        Ok(Some(found)) if found.restaurant_id == id => {}
        Ok(_) => return json_error(ApiError::not_found("ticket line")),
        Err(err) => return json_error(err.into()),
    }
    match act(&state, line, action, web_actor(&user), reason).await {
        Ok(line) => Json(
            json!({"success": true, "line": crate::kitchen::routes::TicketLineView::from(line)}),
        )
        .into_response(),
        Err(err) => json_error(err),
    }
}

/// The bump bar's undo: recall the station's last bumped line of an order not collected yet.
pub async fn recall_last(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    user: WebUser,
    Path((id, station)): Path<(Uuid, Uuid)>,
) -> Response {
    if !csrf_ok(&jar, &headers) {
        return json_error(ApiError::forbidden(
            "the page is out of date; reload it and try again",
        ));
    }
    if let Err(refused) = staff_of(&state, &user, id).await {
        return refused;
    }
    match crate::kitchen::recall_last(&state, id, station, web_actor(&user)).await {
        Ok(line) => Json(
            json!({"success": true, "line": crate::kitchen::routes::TicketLineView::from(line)}),
        )
        .into_response(),
        Err(err) => json_error(err),
    }
}
