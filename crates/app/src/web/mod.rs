//! Server-rendered pages: a shared layout with role-based navigation, sign-in and sign-out, password reset,
//! and a landing page per role. Later capabilities add their pages and navigation entries here.

mod analytics;
mod chart;
mod crm;
mod forecast;
mod form;
mod inbox;
mod kitchen;
mod monitoring;
mod pages;
mod qr;
mod queue;
mod workspace;

use askama::Template;
use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use crate::accounts::Role;
use crate::accounts::sessions::WebUser;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/reset-password", get(pages::reset_form).post(pages::reset))
        .route("/restaurants", get(pages::restaurants))
        .route("/admin/users", get(pages::users))
        .route("/analytics", get(analytics::page))
        .route("/notifications", get(inbox::page))
        .route("/notifications/read", post(inbox::read_all))
        .route("/forecasts", get(forecast::page))
        .route("/crm", get(crm::dashboard))
        .route("/crm/restaurants", get(crm::list))
        .route("/crm/restaurants/{id}", get(crm::detail))
        .route(
            "/crm/restaurants/{id}/interactions",
            post(crm::log_interaction),
        )
        .route("/crm/restaurants/{id}/status", post(crm::change_status))
        .route("/crm/restaurants/{id}/contacts", post(crm::add_contact))
        .route("/crm/settings", get(crm::settings).post(crm::save_settings))
        .route("/crm/reassign", get(crm::reassign_page).post(crm::reassign))
        .route("/monitoring", get(monitoring::index))
        .route("/monitoring/reports", post(monitoring::start_report))
        .route("/monitoring/reports/{id}/csv", get(monitoring::report_csv))
        .route("/monitoring/stores/{id}", get(monitoring::store))
        .route("/orders", get(queue::start))
        .route("/venues/{id}/orders", get(queue::page))
        .route("/venues/{id}/orders/today", get(queue::list))
        .route("/venues/{id}/orders/events", get(queue::events))
        .route(
            "/venues/{id}/orders/{order}/status",
            post(queue::move_order),
        )
        .route("/venues/{id}/orders/{order}/paid", post(queue::mark_paid))
        .route("/qr", get(qr::start))
        .route("/menu", get(workspace::menu_start))
        .route("/inventory", get(workspace::inventory_start))
        .route("/venues/{id}/inventory", get(workspace::inventory_page))
        .route(
            "/venues/{id}/inventory/{ingredient}",
            get(workspace::ingredient_page),
        )
        .route("/venues/{id}/stocktake", get(workspace::stocktake_page))
        .route("/venues/{id}/waste", get(workspace::waste_page))
        .route("/purchasing", get(workspace::purchasing_start))
        .route("/venues/{id}/purchasing", get(workspace::purchasing_page))
        .route("/venues/{id}/menu", get(workspace::menu_page))
        .route("/reservations", get(workspace::reservations_start))
        .route(
            "/venues/{id}/reservations",
            get(workspace::reservations_page),
        )
        .route(
            "/venues/{id}/reservations/events",
            get(workspace::reservation_events),
        )
        .route("/venues/{id}/qr", get(qr::sheet).post(qr::add))
        .route("/venues/{id}/qr/{qr}/image", get(qr::image))
        .route("/venues/{id}/qr/{qr}/revoke", post(qr::revoke_code))
        .route("/venues/{id}/qr/{qr}/regenerate", post(qr::regenerate_code))
        .route("/kitchen", get(kitchen::start))
        .route("/venues/{id}/kitchen", get(kitchen::page))
        .route("/venues/{id}/kitchen/tickets", get(kitchen::tickets))
        .route("/venues/{id}/kitchen/events", get(kitchen::events))
        .route(
            "/venues/{id}/kitchen/lines/{line}/{action}",
            post(kitchen::line_action),
        )
        .route(
            "/venues/{id}/kitchen/stations/{station}/recall-last",
            post(kitchen::recall_last),
        )
        .route("/q/{code}", get(pages::order_page))
        .route("/static/{file}", get(static_file))
        // Browsers ask for /favicon.ico whatever the page says.
        .route(
            "/favicon.ico",
            get(|| async { axum::response::Redirect::permanent("/static/favicon.svg") }),
        )
        .route("/media/{*key}", get(media_file))
}

pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

pub struct NavUser {
    pub name: String,
    pub role_label: String,
}

/// What every page's layout needs.
pub struct Layout {
    pub title: String,
    pub user: Option<NavUser>,
    pub nav: Vec<NavLink>,
    pub csrf: String,
    pub flash: Option<String>,
}

impl Layout {
    pub fn anonymous(title: &str, csrf: String) -> Layout {
        Layout {
            title: title.to_string(),
            user: None,
            nav: Vec::new(),
            csrf,
            flash: None,
        }
    }

    pub fn for_user(
        title: &str,
        current: &str,
        user: &WebUser,
        is_venue: bool,
        csrf: String,
    ) -> Layout {
        let role = user.principal.role;
        let role_label = match role {
            Role::Admin => "Administrator",
            Role::Kam => "Key account manager",
            Role::Customer if is_venue => "Venue team",
            Role::Customer => "Customer",
        };
        Layout {
            title: title.to_string(),
            user: Some(NavUser {
                name: format!("{} {}", user.user.first_name, user.user.last_name),
                role_label: role_label.to_string(),
            }),
            nav: navigation(role, is_venue, current),
            csrf,
            flash: None,
        }
    }
}

/// The navigation each role sees (`is_venue`: a customer account that works at a venue).
pub fn navigation(role: Role, is_venue: bool, current: &str) -> Vec<NavLink> {
    let mut links: Vec<(&'static str, &'static str)> = vec![("/", "Home")];
    match role {
        Role::Admin => {
            links.push(("/crm", "CRM"));
            links.push(("/restaurants", "Restaurants"));
            links.push(("/monitoring", "Monitoring"));
            links.push(("/analytics", "Analytics"));
            links.push(("/forecasts", "Forecasts"));
            links.push(("/admin/users", "Users"));
            links.push(("/api/docs/", "API"));
        }
        Role::Kam => {
            links.push(("/crm", "Today"));
            links.push(("/crm/restaurants", "My restaurants"));
            links.push(("/crm/settings", "Settings"));
            links.push(("/monitoring", "Monitoring"));
            links.push(("/analytics", "Analytics"));
            links.push(("/forecasts", "Forecasts"));
            links.push(("/api/docs/", "API"));
        }
        Role::Customer if is_venue => {
            links.push(("/orders", "Orders"));
            links.push(("/kitchen", "Kitchen"));
            links.push(("/menu", "Menu"));
            links.push(("/reservations", "Reservations"));
            links.push(("/inventory", "Stock"));
            links.push(("/purchasing", "Purchasing"));
            links.push(("/qr", "QR codes"));
        }
        Role::Customer => {}
    }
    links.push(("/notifications", "Inbox"));
    links
        .into_iter()
        .map(|(href, label)| NavLink {
            href,
            label,
            active: href == current,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    heading: String,
    message: String,
}

/// What an error page says; kept on its response so `with_navigation` can draw it again inside the
/// signed-in user's layout.
#[derive(Clone)]
struct ErrorContent {
    heading: String,
    message: String,
}

pub fn error_page(status: StatusCode, heading: &str, message: &str) -> Response {
    let content = ErrorContent {
        heading: heading.to_string(),
        message: message.to_string(),
    };
    let mut response = render_error(status, Layout::anonymous(heading, String::new()), &content);
    response.extensions_mut().insert(content);
    response
}

fn render_error(status: StatusCode, layout: Layout, content: &ErrorContent) -> Response {
    let page = ErrorPage {
        layout,
        heading: content.heading.clone(),
        message: content.message.clone(),
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, content.message.clone()).into_response(),
    }
}

/// Whether a customer account works at a venue (its layout then shows the venue team's screens). A
/// failed lookup counts as no: the layout falls back to a customer's.
pub async fn works_at_a_venue(state: &AppState, user: &WebUser) -> bool {
    user.principal.role == Role::Customer
        && crate::accounts::memberships_of(state, user.user.id)
            .await
            .is_ok_and(|m| !m.is_empty())
}

/// Error pages keep the navigation: a page answered with `error_page` for a signed-in user is drawn
/// again in that user's layout (their links, their name, sign-out), so "not found" or "not allowed"
/// is never a dead end.
pub async fn with_navigation(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // Only the cookies are kept (a request without any has no session to draw the layout for).
    let mut headers = axum::http::HeaderMap::new();
    for value in request.headers().get_all(header::COOKIE) {
        headers.append(header::COOKIE, value.clone());
    }
    if headers.is_empty() {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    let Some(content) = response.extensions().get::<ErrorContent>().cloned() else {
        return response;
    };
    let Some(user) = crate::accounts::sessions::signed_in(&state, &headers).await else {
        return response;
    };
    let is_venue = works_at_a_venue(&state, &user).await;
    let jar = axum_extra::extract::cookie::CookieJar::from_headers(&headers);
    let csrf = jar
        .get(crate::accounts::sessions::CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    let layout = Layout::for_user(&content.heading, "", &user, is_venue, csrf);
    let mut redrawn = render_error(response.status(), layout, &content);
    // The handler's own headers (cookies it set, Retry-After, ...) stay.
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            redrawn.headers_mut().append(name.clone(), value.clone());
        }
    }
    redrawn
}

pub fn not_found_page() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is nothing at this address.",
    )
}

const BOOTSTRAP_CSS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bootstrap.min.css"));
const BOOTSTRAP_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bootstrap.bundle.min.js"));
const APP_CSS: &[u8] = include_bytes!("../../assets/app.css");
const ORDER_JS: &[u8] = include_bytes!("../../assets/order.js");
const PAGE_JS: &[u8] = include_bytes!("../../assets/page.js");
const HTMX_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/htmx.min.js"));
const HAMMER_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hammer.min.js"));
const CHART_ZOOM_JS: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/chartjs-plugin-zoom.min.js"));
const CHARTS_JS: &[u8] = include_bytes!("../../assets/charts.js");
const THEME_JS: &[u8] = include_bytes!("../../assets/theme.js");
const CHART_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/chart.umd.min.js"));
const SORTABLE_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/sortable.min.js"));
const MENU_JS: &[u8] = include_bytes!("../../assets/menu.js");
const RESERVATIONS_JS: &[u8] = include_bytes!("../../assets/reservations.js");
const INVENTORY_JS: &[u8] = include_bytes!("../../assets/inventory.js");
const PURCHASING_JS: &[u8] = include_bytes!("../../assets/purchasing.js");
const STOCKTAKE_JS: &[u8] = include_bytes!("../../assets/stocktake.js");
const WASTE_JS: &[u8] = include_bytes!("../../assets/waste.js");
const TEAM_JS: &[u8] = include_bytes!("../../assets/team.js");
const INGREDIENT_JS: &[u8] = include_bytes!("../../assets/ingredient.js");
const FORECAST_JS: &[u8] = include_bytes!("../../assets/forecast.js");
const KITCHEN_JS: &[u8] = include_bytes!("../../assets/kitchen.js");
const QUEUE_JS: &[u8] = include_bytes!("../../assets/queue.js");
const FAVICON: &[u8] = include_bytes!("../../assets/favicon.svg");

/// Uploaded files (logos, menu images), from whichever storage holds them.
async fn media_file(
    axum::extract::State(state): axum::extract::State<AppState>,
    Path(key): Path<String>,
) -> Response {
    if key
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == ".." || part.contains('\0'))
    {
        return not_found_page();
    }
    match state.storage.get(&key).await {
        Ok(Some(bytes)) => (
            [
                (header::CONTENT_TYPE, crate::storage::content_type(&key)),
                (header::CACHE_CONTROL, "public, max-age=86400, immutable"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => not_found_page(),
        Err(err) => {
            tracing::error!(error = %err.message, "cannot read a stored file");
            error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Storage unavailable",
                "The file cannot be read right now.",
            )
        }
    }
}

async fn static_file(Path(file): Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "bootstrap.min.css" => (BOOTSTRAP_CSS, "text/css; charset=utf-8"),
        "bootstrap.bundle.min.js" => (BOOTSTRAP_JS, "text/javascript; charset=utf-8"),
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "order.js" => (ORDER_JS, "text/javascript; charset=utf-8"),
        "page.js" => (PAGE_JS, "text/javascript; charset=utf-8"),
        "htmx.min.js" => (HTMX_JS, "text/javascript; charset=utf-8"),
        "hammer.min.js" => (HAMMER_JS, "text/javascript; charset=utf-8"),
        "chartjs-plugin-zoom.min.js" => (CHART_ZOOM_JS, "text/javascript; charset=utf-8"),
        "charts.js" => (CHARTS_JS, "text/javascript; charset=utf-8"),
        "theme.js" => (THEME_JS, "text/javascript; charset=utf-8"),
        "chart.umd.min.js" => (CHART_JS, "text/javascript; charset=utf-8"),
        "sortable.min.js" => (SORTABLE_JS, "text/javascript; charset=utf-8"),
        "menu.js" => (MENU_JS, "text/javascript; charset=utf-8"),
        "reservations.js" => (RESERVATIONS_JS, "text/javascript; charset=utf-8"),
        "inventory.js" => (INVENTORY_JS, "text/javascript; charset=utf-8"),
        "purchasing.js" => (PURCHASING_JS, "text/javascript; charset=utf-8"),
        "team.js" => (TEAM_JS, "text/javascript; charset=utf-8"),
        "stocktake.js" => (STOCKTAKE_JS, "text/javascript; charset=utf-8"),
        "waste.js" => (WASTE_JS, "text/javascript; charset=utf-8"),
        "ingredient.js" => (INGREDIENT_JS, "text/javascript; charset=utf-8"),
        "forecast.js" => (FORECAST_JS, "text/javascript; charset=utf-8"),
        "kitchen.js" => (KITCHEN_JS, "text/javascript; charset=utf-8"),
        "queue.js" => (QUEUE_JS, "text/javascript; charset=utf-8"),
        "favicon.svg" => (FAVICON, "image/svg+xml"),
        _ => return not_found_page(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
