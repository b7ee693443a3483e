//! The venue team's menu editor and reservation book. Both pages are drawn in the browser (`menu.js`,
//! `reservations.js`) from the same REST API every client uses, called with the signed-in session and
//! the page's CSRF token (`accounts::sessions::api_session`), so a change made here is the change an API
//! client would make, with the same checks and the same cache invalidation.

use std::convert::Infallible;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use futures::Stream;
use uuid::Uuid;

use super::Layout;
use super::kitchen::{first_venue, staff_of, team_venue, venues_of};
use super::pages::render;
use crate::accounts::sessions::{self, WebUser};
use crate::accounts::{MemberRole, require_restaurant_role};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "menu_editor.html")]
struct MenuEditor {
    layout: Layout,
    venue_id: Uuid,
    venue_name: String,
    currency: String,
    venues: Vec<(Uuid, String, bool)>,
    can_manage: bool,
}

#[derive(Template)]
#[template(path = "inventory.html")]
struct StockPage {
    layout: Layout,
    venue_id: Uuid,
    venue_name: String,
    currency: String,
    venues: Vec<(Uuid, String, bool)>,
    can_manage: bool,
}

#[derive(Template)]
#[template(path = "reservations.html")]
struct ReservationBook {
    layout: Layout,
    venue_id: Uuid,
    venue_name: String,
    timezone: String,
    today: String,
    venues: Vec<(Uuid, String, bool)>,
    can_manage: bool,
}

/// `/menu`: the menu editor of the caller's first venue.
pub async fn menu_start(State(state): State<AppState>, user: WebUser) -> Response {
    first_venue(&state, &user, "menu").await
}

/// `/reservations`: the reservation book of the caller's first venue.
pub async fn reservations_start(State(state): State<AppState>, user: WebUser) -> Response {
    first_venue(&state, &user, "reservations").await
}

pub async fn menu_page(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Path(id): Path<Uuid>,
) -> Response {
    let venue = match team_venue(&state, &user, id, "its menu").await {
        Ok(venue) => venue,
        Err(refused) => return refused,
    };
    let can_manage = require_restaurant_role(&state, &user.principal, id, MemberRole::Manager)
        .await
        .is_ok();
    let (jar, csrf) = sessions::csrf_token(&state, jar);
    let page = MenuEditor {
        layout: Layout::for_user(
            &format!("Menu · {}", venue.name),
            "/menu",
            &user,
            !user.principal.is_admin(),
            csrf,
        ),
        venue_id: id,
        currency: crate::menus::currency_of(&venue).code.to_string(),
        venue_name: venue.name,
        venues: venues_of(&state, &user, id).await,
        can_manage,
    };
    (jar, render(&page)).into_response()
}

pub async fn reservations_page(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Path(id): Path<Uuid>,
) -> Response {
    let venue = match team_venue(&state, &user, id, "its reservations").await {
        Ok(venue) => venue,
        Err(refused) => return refused,
    };
    let can_manage = require_restaurant_role(&state, &user.principal, id, MemberRole::Manager)
        .await
        .is_ok();
    let tz = crate::restaurants::zone_of(&venue);
    let (jar, csrf) = sessions::csrf_token(&state, jar);
    let page = ReservationBook {
        layout: Layout::for_user(
            &format!("Reservations · {}", venue.name),
            "/reservations",
            &user,
            !user.principal.is_admin(),
            csrf,
        ),
        venue_id: id,
        timezone: tz.name().to_string(),
        today: state.now().with_timezone(&tz).date_naive().to_string(),
        venue_name: venue.name,
        venues: venues_of(&state, &user, id).await,
        can_manage,
    };
    (jar, render(&page)).into_response()
}

/// The venue's reservation changes as Server-Sent Events (`event: reservation`), from any process, for
/// the book to redraw.
pub async fn reservation_events(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<Uuid>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Response> {
    staff_of(&state, &user, id).await?;
    Ok(crate::notifications::routes::sse_from(
        &state,
        &crate::reservations::book_channel(id),
        "reservation",
    ))
}

/// `/inventory`: the stock of the caller's first venue.
pub async fn inventory_start(State(state): State<AppState>, user: WebUser) -> Response {
    first_venue(&state, &user, "inventory").await
}

/// The stock list with receiving, counting and waste per ingredient, new ingredients, and the recipe
/// editor with each dish's cost and margin (`assets/inventory.js`, on the REST API).
pub async fn inventory_page(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Path(id): Path<Uuid>,
) -> Response {
    let venue = match team_venue(&state, &user, id, "its stock").await {
        Ok(venue) => venue,
        Err(refused) => return refused,
    };
    let can_manage = require_restaurant_role(&state, &user.principal, id, MemberRole::Manager)
        .await
        .is_ok();
    let (jar, csrf) = sessions::csrf_token(&state, jar);
    let page = StockPage {
        layout: Layout::for_user(
            &format!("Stock · {}", venue.name),
            "/inventory",
            &user,
            !user.principal.is_admin(),
            csrf,
        ),
        venue_id: id,
        currency: crate::menus::currency_of(&venue).code.to_string(),
        venue_name: venue.name,
        venues: venues_of(&state, &user, id).await,
        can_manage,
    };
    (jar, render(&page)).into_response()
}
