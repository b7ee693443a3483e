//! The venue team's menu editor, reservation book, stock and purchasing pages. They are drawn in the
//! browser (`menu.js`, `reservations.js`, `inventory.js`, `purchasing.js`) from the same REST API every
//! client uses, called with the signed-in session and
//! the page's CSRF token (`accounts::sessions::api_session`), so a change made here is the change an API
//! client would make, with the same checks and the same cache invalidation.

use std::convert::Infallible;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use futures::Stream;
use sea_orm::EntityTrait;
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
#[template(path = "ingredient.html")]
struct IngredientPage {
    layout: Layout,
    venue_id: Uuid,
    venue_name: String,
    currency: String,
    ingredient_id: Uuid,
    name: String,
    can_manage: bool,
}

#[derive(Template)]
#[template(path = "purchasing.html")]
struct PurchasingPage {
    layout: Layout,
    venue_id: Uuid,
    venue_name: String,
    currency: String,
    venues: Vec<(Uuid, String, bool)>,
    can_manage: bool,
}

#[derive(Template)]
#[template(path = "stocktake.html")]
struct StocktakePage {
    layout: Layout,
    venue_id: Uuid,
    venue_name: String,
    currency: String,
    venues: Vec<(Uuid, String, bool)>,
}

#[derive(Template)]
#[template(path = "waste.html")]
struct WastePage {
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

/// What every team page starts from: the venue (or the refusal page), whether the caller manages it,
/// the other venues they work at, and the layout with a fresh CSRF token for the page's API calls.
struct Team {
    layout: Layout,
    venue: crate::entities::restaurants::Model,
    venues: Vec<(Uuid, String, bool)>,
    can_manage: bool,
}

impl Team {
    fn currency(&self) -> String {
        crate::menus::currency_of(&self.venue).code.to_string()
    }
}

async fn team(
    state: &AppState,
    jar: CookieJar,
    user: &WebUser,
    id: Uuid,
    (screen, what, current): (&str, &str, &str),
) -> Result<(CookieJar, Team), Response> {
    let venue = team_venue(state, user, id, what).await?;
    let can_manage = require_restaurant_role(state, &user.principal, id, MemberRole::Manager)
        .await
        .is_ok();
    let (jar, csrf) = sessions::csrf_token(state, jar);
    let layout = Layout::for_user(
        &format!("{screen} · {}", venue.name),
        current,
        user,
        !user.principal.is_admin(),
        csrf,
    );
    Ok((
        jar,
        Team {
            layout,
            venues: venues_of(state, user, id).await,
            venue,
            can_manage,
        },
    ))
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
    let (jar, t) = match team(&state, jar, &user, id, ("Menu", "its menu", "/menu")).await {
        Ok(team) => team,
        Err(refused) => return refused,
    };
    let page = MenuEditor {
        currency: t.currency(),
        layout: t.layout,
        venue_id: id,
        venue_name: t.venue.name,
        venues: t.venues,
        can_manage: t.can_manage,
    };
    (jar, render(&page)).into_response()
}

pub async fn reservations_page(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Path(id): Path<Uuid>,
) -> Response {
    let screen = ("Reservations", "its reservations", "/reservations");
    let (jar, t) = match team(&state, jar, &user, id, screen).await {
        Ok(team) => team,
        Err(refused) => return refused,
    };
    let tz = crate::restaurants::zone_of(&t.venue);
    let page = ReservationBook {
        layout: t.layout,
        venue_id: id,
        timezone: tz.name().to_string(),
        today: state.now().with_timezone(&tz).date_naive().to_string(),
        venue_name: t.venue.name,
        venues: t.venues,
        can_manage: t.can_manage,
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

/// The stock list with receiving, counting and waste per ingredient, what to order now (the reorder
/// predictions, drafted into purchase orders by a manager), new ingredients, and the recipe editor with
/// each dish's cost and margin (`assets/inventory.js`, on the REST API).
pub async fn inventory_page(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Path(id): Path<Uuid>,
) -> Response {
    let (jar, t) = match team(&state, jar, &user, id, ("Stock", "its stock", "/inventory")).await {
        Ok(team) => team,
        Err(refused) => return refused,
    };
    let page = StockPage {
        currency: t.currency(),
        layout: t.layout,
        venue_id: id,
        venue_name: t.venue.name,
        venues: t.venues,
        can_manage: t.can_manage,
    };
    (jar, render(&page)).into_response()
}

/// `/purchasing`: the purchase orders of the caller's first venue.
pub async fn purchasing_start(State(state): State<AppState>, user: WebUser) -> Response {
    first_venue(&state, &user, "purchasing").await
}

/// Purchase orders (send and cancel for managers, receiving line by line for staff, from a phone) and
/// suppliers (`assets/purchasing.js`, on the REST API).
pub async fn purchasing_page(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Path(id): Path<Uuid>,
) -> Response {
    let screen = ("Purchasing", "its purchasing", "/purchasing");
    let (jar, t) = match team(&state, jar, &user, id, screen).await {
        Ok(team) => team,
        Err(refused) => return refused,
    };
    let page = PurchasingPage {
        currency: t.currency(),
        layout: t.layout,
        venue_id: id,
        venue_name: t.venue.name,
        venues: t.venues,
        can_manage: t.can_manage,
    };
    (jar, render(&page)).into_response()
}

/// One ingredient: its facts, a chart of its daily use with the forecast, how it is made (a sub-recipe,
/// edited by managers, with batches made recorded by staff), its batches and movements
/// (`assets/ingredient.js`, on the REST API).
pub async fn ingredient_page(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Path((id, ingredient)): Path<(Uuid, Uuid)>,
) -> Response {
    let (jar, t) = match team(&state, jar, &user, id, ("Stock", "its stock", "/inventory")).await {
        Ok(team) => team,
        Err(refused) => return refused,
    };
    let found = crate::entities::ingredients::Entity::find_by_id(ingredient)
        .one(&state.db)
        .await
        .ok()
        .flatten()
        .filter(|i| i.restaurant_id == id);
    let Some(found) = found else {
        return super::error_page(
            axum::http::StatusCode::NOT_FOUND,
            "No such ingredient",
            "This venue has no such ingredient.",
        );
    };
    let page = IngredientPage {
        currency: t.currency(),
        layout: t.layout,
        venue_id: id,
        venue_name: t.venue.name,
        ingredient_id: ingredient,
        name: found.name,
        can_manage: t.can_manage,
    };
    (jar, render(&page)).into_response()
}

/// The stocktake sheet: every ingredient with what the records expect and a box for what is on the
/// shelf, saved as one stocktake; or the same sheet as CSV, filled in a spreadsheet and uploaded
/// (`assets/stocktake.js`, on the REST API).
pub async fn stocktake_page(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Path(id): Path<Uuid>,
) -> Response {
    let screen = ("Stocktake", "its stock", "/inventory");
    let (jar, t) = match team(&state, jar, &user, id, screen).await {
        Ok(team) => team,
        Err(refused) => return refused,
    };
    let page = StocktakePage {
        currency: t.currency(),
        layout: t.layout,
        venue_id: id,
        venue_name: t.venue.name,
        venues: t.venues,
    };
    (jar, render(&page)).into_response()
}

/// The waste log: what was thrown away and why, its value by reason and the ingredients wasted most,
/// a form to log more, and (for managers) whether orders cancelled after cooking count as waste
/// (`assets/waste.js`, on the REST API).
pub async fn waste_page(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Path(id): Path<Uuid>,
) -> Response {
    let screen = ("Waste", "its stock", "/inventory");
    let (jar, t) = match team(&state, jar, &user, id, screen).await {
        Ok(team) => team,
        Err(refused) => return refused,
    };
    let page = WastePage {
        currency: t.currency(),
        layout: t.layout,
        venue_id: id,
        venue_name: t.venue.name,
        venues: t.venues,
        can_manage: t.can_manage,
    };
    (jar, render(&page)).into_response()
}
