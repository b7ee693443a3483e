//! The KAM dashboard: today's calls, performance by tier, the restaurant list with filters, a restaurant's
//! page (contacts, timeline, orders, score history, the log-an-interaction form), profile and settings,
//! and the administrators' reassignment page. Server-rendered; forms
//! marked for htmx (logging an interaction) are answered in place.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;
use uuid::Uuid;

use super::chart::{Chart, Series, colour};
use super::form::{Form, Submitted};
use super::pages::render;
use super::{Layout, error_page};
use crate::accounts::Role;
use crate::accounts::sessions::{self, WebUser};
use crate::crm::planning::local_label;
use crate::crm::routes::{
    AccountFilter, AccountSummary, ContactInput, InteractionInput, InteractionView,
    KamProfileInput, OrderBrief, PerformanceView, StatusChangeView,
};
use crate::crm::score::{Breakdown, Patterns, Tier};
use crate::crm::{AssignmentView, CallsToday, ContactRole, InteractionKind, Outcome};
use crate::entities::users;
use crate::http::envelope::PageParams;
use crate::http::error::ApiError;
use crate::restaurants::{HoursInterval, RestaurantStatus};
use crate::state::AppState;

/// A refusal page unless the user has one of `roles`.
fn only(user: &WebUser, roles: &[Role], why: &str) -> Option<Response> {
    (!roles.contains(&user.principal.role))
        .then(|| error_page(StatusCode::FORBIDDEN, "Not for your role", why))
}

fn crm_only(user: &WebUser) -> Option<Response> {
    only(
        user,
        &[Role::Admin, Role::Kam],
        "The CRM is for key account managers and administrators.",
    )
}

fn kam_only(user: &WebUser) -> Option<Response> {
    only(
        user,
        &[Role::Kam],
        "Profile and working hours are for key account managers.",
    )
}

fn admin_only(user: &WebUser) -> Option<Response> {
    only(
        user,
        &[Role::Admin],
        "Only administrators reassign restaurants.",
    )
}

/// "field: problem · field: problem", or the message when no field is named.
fn problems_text(err: &ApiError) -> String {
    match &err.errors {
        Some(map) => map
            .iter()
            .map(|(f, p)| format!("{f}: {}", p.join("; ")))
            .collect::<Vec<_>>()
            .join(" · "),
        None => err.message.clone(),
    }
}

fn api_error_page(err: ApiError) -> Response {
    if err.status.is_server_error() {
        tracing::error!(error = %err.message, "CRM page failed");
        return error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "The page could not be shown. Try again in a moment.",
        );
    }
    let detail = problems_text(&err);
    let heading = match err.status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        _ => "Please check the form",
    };
    error_page(err.status, heading, &detail)
}

fn csrf_failed() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "Form expired",
        "Reload the page and try again.",
    )
}

fn tier_label(t: Option<Tier>) -> &'static str {
    t.map_or("Not scored", Tier::label)
}

fn tier_class(t: Option<Tier>) -> &'static str {
    t.map_or("none", Tier::as_str)
}

/// Restaurants per tier, as a chart (JSON): one bar per tier.
fn tier_chart(overview: &crate::crm::routes::PerformanceOverview) -> String {
    let mut chart = Chart::bar(
        overview
            .tiers
            .iter()
            .map(|t| tier_label(t.tier).to_string())
            .collect(),
        vec![Series::new(
            "Restaurants",
            overview
                .tiers
                .iter()
                .map(|t| Some(t.restaurants as f64))
                .collect(),
            colour::BLUE,
        )],
        "restaurants",
    );
    chart.horizontal = true;
    chart.unit = " restaurants".into();
    chart.json()
}

// ---------------------------------------------------------------------------------------------------

pub struct KamChoice {
    pub id: Uuid,
    pub name: String,
    pub selected: bool,
}

async fn kam_choices(state: &AppState, selected: Option<Uuid>) -> Result<Vec<KamChoice>, ApiError> {
    Ok(users::Entity::find()
        .filter(users::Column::Role.eq(Role::Kam.as_str()))
        .filter(users::Column::IsActive.eq(true))
        .order_by_asc(users::Column::FirstName)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|u| KamChoice {
            selected: Some(u.id) == selected,
            id: u.id,
            name: format!("{} {}", u.first_name, u.last_name),
        })
        .collect())
}

#[derive(Template)]
#[template(path = "crm_dashboard.html")]
struct Dashboard {
    layout: Layout,
    kams: Vec<KamChoice>,
    is_admin: bool,
    calls: Option<CallsToday>,
    kam_name: String,
    overview: crate::crm::routes::PerformanceOverview,
    /// Restaurants per tier (JSON).
    tier_chart: String,
    /// The KAM's accounts whose outages cost the most orders (None: no KAM chosen).
    outages: Option<Vec<crate::forecasting::at_risk::AccountOutages>>,
}

impl Dashboard {
    fn tier_text(&self, t: &Option<Tier>) -> &'static str {
        tier_label(*t)
    }
}

#[derive(Deserialize)]
pub struct DashboardQuery {
    pub kam_id: Option<Uuid>,
}

pub async fn dashboard(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Query(query): Query<DashboardQuery>,
) -> Response {
    if let Some(denied) = crm_only(&user) {
        return denied;
    }
    let is_admin = user.principal.role == Role::Admin;
    let kam_id = if is_admin {
        query.kam_id
    } else {
        Some(user.principal.user_id)
    };
    let result = async {
        let kam = match kam_id {
            Some(id) => users::Entity::find_by_id(id)
                .one(&state.db)
                .await?
                .filter(|u| u.role == Role::Kam.as_str()),
            None => None,
        };
        let calls = match &kam {
            Some(k) => Some(crate::crm::calls_today(&state, k, 50).await?),
            None => None,
        };
        let overview = crate::crm::routes::overview(&state, kam.as_ref().map(|k| k.id)).await?;
        let kams = if is_admin {
            kam_choices(&state, kam_id).await?
        } else {
            Vec::new()
        };
        // What outages cost is a side panel: when it cannot be had, the dashboard goes on without it.
        let outages = match &kam {
            Some(k) => match crate::forecasting::at_risk::accounts_at_risk(&state, k.id).await {
                Ok(list) => Some(list),
                Err(e) => {
                    tracing::warn!(error = %e.message, "no orders-at-risk panel on the CRM dashboard");
                    None
                }
            },
            None => None,
        };
        Ok::<_, ApiError>((kam, calls, overview, kams, outages))
    }
    .await;
    let (kam, calls, overview, kams, outages) = match result {
        Ok(r) => r,
        Err(e) => return api_error_page(e),
    };
    let (jar, csrf) = sessions::csrf_token(&state, jar);
    let page = Dashboard {
        layout: Layout::for_user("CRM", "/crm", &user, false, csrf),
        kams,
        is_admin,
        kam_name: kam
            .map(|k| format!("{} {}", k.first_name, k.last_name))
            .unwrap_or_default(),
        tier_chart: tier_chart(&overview),
        calls,
        overview,
        outages,
    };
    (jar, render(&page)).into_response()
}

// ---------------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "crm_list.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<AccountSummary>,
    total: u64,
    page: u64,
    pages: u64,
    q: String,
    status: String,
    tier: String,
    region: String,
    kam: String,
    kams: Vec<KamChoice>,
    is_admin: bool,
    query: String,
}

impl ListPage {
    fn tier_text(&self, t: &Option<Tier>) -> &'static str {
        tier_label(*t)
    }
    fn tier_css(&self, t: &Option<Tier>) -> &'static str {
        tier_class(*t)
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    pub q: Option<String>,
    pub status: Option<String>,
    pub tier: Option<String>,
    pub region: Option<String>,
    pub kam_id: Option<String>,
    pub page: Option<crate::http::envelope::PageNumber>,
}

pub async fn list(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Query(query): Query<ListQuery>,
) -> Response {
    if let Some(denied) = crm_only(&user) {
        return denied;
    }
    let is_admin = user.principal.role == Role::Admin;
    let blank = |v: &Option<String>| v.clone().unwrap_or_default().trim().to_string();
    let (q, status, tier, region, kam) = (
        blank(&query.q),
        blank(&query.status),
        blank(&query.tier),
        blank(&query.region),
        blank(&query.kam_id),
    );
    let filter = AccountFilter {
        q: Some(q.clone()),
        status: status.parse::<RestaurantStatus>().ok(),
        tier: Tier::parse(&tier),
        region: Some(region.clone()),
        kam_id: if is_admin {
            Uuid::parse_str(&kam).ok()
        } else {
            None
        },
        unassigned: (is_admin && kam == "none").then_some(true),
        page: query.page,
        per_page: crate::http::envelope::PerPage::new(50),
    };
    let result = async {
        let page = crate::crm::routes::search_accounts(&state, &user.principal, &filter).await?;
        let kams = if is_admin {
            kam_choices(&state, filter.kam_id).await?
        } else {
            Vec::new()
        };
        Ok::<_, ApiError>((page, kams))
    }
    .await;
    let (found, kams) = match result {
        Ok(r) => r,
        Err(e) => return api_error_page(e),
    };
    let query_string = serde_urlencoded::to_string([
        ("q", q.as_str()),
        ("status", status.as_str()),
        ("tier", tier.as_str()),
        ("region", region.as_str()),
        ("kam_id", kam.as_str()),
    ])
    .unwrap_or_default();
    let (jar, csrf) = sessions::csrf_token(&state, jar);
    let page = ListPage {
        layout: Layout::for_user("CRM restaurants", "/crm/restaurants", &user, false, csrf),
        total: found.pagination.total,
        page: found.pagination.page,
        pages: found.pagination.total_pages.max(1),
        rows: found.items,
        q,
        status,
        tier,
        region,
        kam,
        kams,
        is_admin,
        query: query_string,
    };
    (jar, render(&page)).into_response()
}

// ---------------------------------------------------------------------------------------------------

/// The score over time as a chart (JSON), when there are at least two days to draw a line between.
fn history_chart(p: &PerformanceView) -> Option<String> {
    if p.history.len() < 2 {
        return None;
    }
    let mut chart = Chart::bar(
        p.history.iter().map(|h| h.day.to_string()).collect(),
        vec![Series::new(
            "Score",
            p.history.iter().map(|h| Some(f64::from(h.score))).collect(),
            colour::BLUE,
        )],
        "score (0-100)",
    );
    chart.kind = "line";
    chart.time = true;
    chart.zoom = p.history.len() > 30;
    Some(chart.json())
}

#[derive(Template)]
#[template(path = "crm_detail.html")]
struct DetailPage {
    layout: Layout,
    failed: Submitted,
    d: crate::crm::routes::AccountDetail,
    breakdown: Option<Breakdown>,
    patterns: Option<Patterns>,
    outlook: Option<crate::forecasting::predict::WeekOutlook>,
    timeline: Vec<InteractionView>,
    timeline_total: u64,
    orders: Vec<OrderBrief>,
    history: Vec<StatusChangeView>,
    assignments: Vec<AssignmentView>,
    /// The score over time (JSON), with two days or more.
    chart: Option<String>,
    is_admin: bool,
    kams: Vec<KamChoice>,
    kinds: Vec<&'static str>,
    outcomes: Vec<&'static str>,
    roles: Vec<&'static str>,
    statuses: Vec<&'static str>,
    now_local: String,
    zone: String,
    /// The viewer's zone: every time on the page is shown in it.
    tz: chrono_tz::Tz,
    local_now: String,
    usual_days: String,
    usual_hours: String,
    flash: String,
}

/// An instant as the viewer reads it: local date and time in their zone, with the zone's abbreviation.
fn local_time(tz: chrono_tz::Tz, t: &chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

impl DetailPage {
    fn at(&self, t: &chrono::DateTime<chrono::Utc>) -> String {
        local_time(self.tz, t)
    }
    fn part_label<'a>(&self, name: &'a str) -> &'a str {
        crate::crm::score::part_label(name)
    }
    fn tier_text(&self, t: &Option<Tier>) -> &'static str {
        tier_label(*t)
    }
    fn tier_css(&self, t: &Option<Tier>) -> &'static str {
        tier_class(*t)
    }
}

#[derive(Deserialize, Default)]
pub struct DetailQuery {
    pub saved: Option<String>,
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

pub async fn detail(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Path(id): Path<Uuid>,
    Query(query): Query<DetailQuery>,
) -> Response {
    if let Some(denied) = crm_only(&user) {
        return denied;
    }
    detail_page(
        &state,
        jar,
        &user,
        id,
        query.saved.unwrap_or_default(),
        Submitted::default(),
    )
    .await
}

/// The restaurant's CRM page. After an in-place action it is the answer too: htmx takes the parts
/// that changed (the form, the timeline, the call plan, the score). A form that failed is shown again
/// with what was typed and its problems (422).
async fn detail_page(
    state: &AppState,
    jar: CookieJar,
    user: &WebUser,
    id: Uuid,
    flash: String,
    failed: Submitted,
) -> Response {
    let is_admin = user.principal.role == Role::Admin;
    let result = async {
        let (restaurant, _) = crate::crm::account_for(state, &user.principal, id).await?;
        let d = crate::crm::routes::detail(state, id).await?;
        let perf = crate::crm::routes::performance_of(state, id).await?;
        let first = PageParams::new(1, 20);
        let timeline = crate::crm::routes::timeline(state, id, &first).await?;
        let orders = crate::crm::routes::recent_orders(state, id, &first).await?;
        let history = crate::crm::routes::status_views(state, id).await?;
        let assignments = crate::crm::routes::assignments_of(state, id).await?;
        let kams = if is_admin {
            kam_choices(state, d.summary.kam.as_ref().map(|k| k.id)).await?
        } else {
            Vec::new()
        };
        Ok::<_, ApiError>((
            restaurant,
            d,
            perf,
            timeline,
            orders,
            history,
            assignments,
            kams,
        ))
    }
    .await;
    let (restaurant, d, perf, timeline, orders, history, assignments, kams) = match result {
        Ok(r) => r,
        Err(e) => return api_error_page(e),
    };
    // The forecast's outlook is a side panel: when it cannot be had, the page says so and goes on.
    let outlook = match crate::forecasting::predict::week_outlook(state, id).await {
        Ok(o) => Some(o),
        Err(e) => {
            tracing::warn!(restaurant = %id, error = %e.message, "no forecast outlook for the CRM page");
            None
        }
    };
    let now = state.now();
    let my_zone = crate::crm::kam_zone(&user.user);
    let rtz = crate::restaurants::zone_of(&restaurant);
    let patterns = perf.patterns.clone();
    let usual_days = patterns
        .as_ref()
        .map(|p| {
            p.usual_days
                .iter()
                .map(|d| WEEKDAYS[*d as usize % 7])
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let usual_hours = patterns
        .as_ref()
        .map(|p| {
            p.usual_hours
                .iter()
                .map(|h| format!("{h:02}:00"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let (jar, csrf) = sessions::csrf_token(state, jar);
    let failed_any = ["log", "contact", "status", "reassign"]
        .iter()
        .any(|f| failed.is_failed(f));
    let page = DetailPage {
        failed,
        layout: Layout::for_user(&d.summary.name, "/crm/restaurants", user, false, csrf),
        breakdown: perf.breakdown.clone(),
        chart: history_chart(&perf),
        patterns,
        outlook,
        timeline_total: timeline.pagination.total,
        timeline: timeline.items,
        orders: orders.items,
        history,
        assignments,
        is_admin,
        kams,
        kinds: InteractionKind::ALL.iter().map(|k| k.as_str()).collect(),
        outcomes: Outcome::ALL.iter().map(|o| o.as_str()).collect(),
        roles: ContactRole::ALL.iter().map(|r| r.as_str()).collect(),
        statuses: vec!["new", "active", "inactive"],
        now_local: now
            .with_timezone(&my_zone)
            .format("%Y-%m-%dT%H:%M")
            .to_string(),
        zone: my_zone.name().to_string(),
        tz: my_zone,
        local_now: local_label(rtz, now),
        usual_days,
        usual_hours,
        flash,
        d,
    };
    let status = if failed_any {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    (status, jar, render(&page)).into_response()
}

/// Parse a `datetime-local` value in `tz`.
fn parse_local(raw: &str, tz: chrono_tz::Tz) -> Result<DateTime<Utc>, &'static str> {
    let local = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| "is not a date and time")?;
    Ok(crate::restaurants::hours::local_to_utc(tz, local))
}

#[derive(Deserialize)]
pub struct InteractionForm {
    pub csrf: String,
    pub kind: String,
    pub outcome: String,
    pub occurred_at: Option<String>,
    pub contact_id: Option<String>,
    pub order_id: Option<String>,
    pub notes: Option<String>,
    pub follow_up_on: Option<String>,
}

fn opt_uuid(raw: &Option<String>) -> Result<Option<Uuid>, &'static str> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Uuid::parse_str(s)
            .map(Some)
            .map_err(|_| "is not one of the choices"),
        None => Ok(None),
    }
}

pub async fn log_interaction(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Form(form): Form<InteractionForm>,
) -> Response {
    if let Some(denied) = crm_only(&user) {
        return denied;
    }
    if sessions::check_csrf(&jar, &form.csrf).is_err() {
        return csrf_failed();
    }
    let result = async {
        crate::crm::account_for(&state, &user.principal, id).await?;
        let zone = crate::crm::kam_zone(&user.user);
        // Every field is checked before anything is refused, so the form names all its problems.
        let mut errors = crate::http::error::FieldErrors::new();
        let kind = InteractionKind::parse(&form.kind);
        if kind.is_none() {
            errors.add("kind", "choose call, email, meeting or visit");
        }
        let outcome = Outcome::parse(&form.outcome);
        if outcome.is_none() {
            errors.add("outcome", "choose positive, neutral, negative or no answer");
        }
        let occurred_at = match form.occurred_at.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => errors.check("occurred_at", parse_local(s, zone)),
            _ => None,
        };
        let contact_id = errors
            .check("contact_id", opt_uuid(&form.contact_id))
            .flatten();
        let order_id = errors.check("order_id", opt_uuid(&form.order_id)).flatten();
        let follow_up_on = match form.follow_up_on.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => errors.check(
                "follow_up_on",
                NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| "is not a date"),
            ),
            _ => None,
        };
        errors.into_result()?;
        let input = InteractionInput {
            kind: kind.expect("checked above"),
            outcome: outcome.expect("checked above"),
            occurred_at,
            contact_id,
            order_id,
            notes: form.notes.clone().unwrap_or_default(),
            follow_up_on,
        };
        crate::crm::routes::log_interaction(&state, &user.principal, id, &input).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    let in_place = headers.contains_key("hx-request");
    match result {
        // In place, the answer is the page as it now is: htmx swaps in the fresh form, the timeline,
        // the call plan and the score.
        Ok(()) if in_place => {
            detail_page(
                &state,
                jar,
                &user,
                id,
                "interaction".into(),
                Submitted::default(),
            )
            .await
        }
        Ok(()) => Redirect::to(&format!("/crm/restaurants/{id}?saved=interaction")).into_response(),
        Err(e) if shown_in_form(&e) => {
            let values = [
                ("kind", form.kind),
                ("outcome", form.outcome),
                ("occurred_at", form.occurred_at.unwrap_or_default()),
                ("contact_id", form.contact_id.unwrap_or_default()),
                ("order_id", form.order_id.unwrap_or_default()),
                ("notes", form.notes.unwrap_or_default()),
                ("follow_up_on", form.follow_up_on.unwrap_or_default()),
            ];
            let failed = Submitted::failed("log", values, &e);
            detail_page(&state, jar, &user, id, String::new(), failed).await
        }
        Err(e) => api_error_page(e),
    }
}

/// Whether a refusal belongs beside the form's fields (a mistake in what was typed) rather than on
/// a page of its own (not found, not allowed, a failure).
fn shown_in_form(err: &ApiError) -> bool {
    matches!(
        err.status,
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST | StatusCode::CONFLICT
    )
}

#[derive(Deserialize)]
pub struct StatusForm {
    pub csrf: String,
    pub status: String,
    pub note: Option<String>,
}

pub async fn change_status(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Path(id): Path<Uuid>,
    Form(form): Form<StatusForm>,
) -> Response {
    if let Some(denied) = crm_only(&user) {
        return denied;
    }
    if sessions::check_csrf(&jar, &form.csrf).is_err() {
        return csrf_failed();
    }
    let result = async {
        let (restaurant, _) = crate::crm::account_for(&state, &user.principal, id).await?;
        let status = form
            .status
            .parse::<RestaurantStatus>()
            .map_err(|_| ApiError::field("status", "choose new, active or inactive"))?;
        crate::crm::routes::set_status(
            &state,
            &user.principal,
            restaurant,
            status,
            form.note.clone(),
        )
        .await
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/crm/restaurants/{id}?saved=status")).into_response(),
        Err(e) if shown_in_form(&e) => {
            let values = [
                ("status", form.status),
                ("note", form.note.unwrap_or_default()),
            ];
            let failed = Submitted::failed("status", values, &e);
            detail_page(&state, jar, &user, id, String::new(), failed).await
        }
        Err(e) => api_error_page(e),
    }
}

#[derive(Deserialize)]
pub struct ContactForm {
    pub csrf: String,
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    pub role: String,
    pub is_lead: Option<String>,
}

pub async fn add_contact(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Path(id): Path<Uuid>,
    Form(form): Form<ContactForm>,
) -> Response {
    if let Some(denied) = crm_only(&user) {
        return denied;
    }
    if sessions::check_csrf(&jar, &form.csrf).is_err() {
        return csrf_failed();
    }
    let result = async {
        crate::crm::account_for(&state, &user.principal, id).await?;
        let role = ContactRole::parse(&form.role);
        let input = ContactInput {
            name: Some(form.name.clone()),
            phone: Some(form.phone.clone()),
            email: form.email.clone(),
            role,
            is_lead: form.is_lead.as_ref().map(|_| true),
        };
        // The contact's own checks name every problem; a role that is not one of the choices joins them.
        if let Err(mut err) = crate::crm::routes::check_contact(&input, true) {
            if role.is_none()
                && !form.role.trim().is_empty()
                && let Some(map) = err.errors.as_mut()
            {
                map.insert(
                    "role".into(),
                    vec!["choose owner, manager, staff or other".into()],
                );
            }
            return Err(err);
        }
        let txn = crate::database::begin_write(&state.db).await?;
        crate::crm::routes::insert_contact(&txn, id, &input, state.now()).await?;
        txn.commit().await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/crm/restaurants/{id}?saved=contact")).into_response(),
        Err(e) if shown_in_form(&e) => {
            let values = [
                ("name", form.name),
                ("phone", form.phone),
                ("email", form.email.unwrap_or_default()),
                ("role", form.role),
                (
                    "is_lead",
                    form.is_lead.map(|_| "on".to_string()).unwrap_or_default(),
                ),
            ];
            let failed = Submitted::failed("contact", values, &e);
            detail_page(&state, jar, &user, id, String::new(), failed).await
        }
        Err(e) => api_error_page(e),
    }
}

// ---------------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "crm_settings.html")]
struct SettingsPage {
    layout: Layout,
    failed: Submitted,
    first_name: String,
    last_name: String,
    phone: String,
    region: String,
    timezone: String,
    hours_text: String,
    saved: bool,
}

fn hours_text(hours: &[HoursInterval]) -> String {
    hours
        .iter()
        .map(|h| {
            format!(
                "{} {}-{}",
                WEEKDAYS[h.weekday as usize % 7],
                h.opens.format("%H:%M"),
                h.closes.format("%H:%M")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lines like `Mon 09:00-17:00` (several per day for split shifts). Every line that cannot be read is
/// named in `errors`; the rest are returned.
fn parse_hours_text(
    text: &str,
    errors: &mut crate::http::error::FieldErrors,
) -> Vec<HoursInterval> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let parsed = (|| {
            let (day, span) = line.split_once(char::is_whitespace)?;
            let weekday = WEEKDAYS
                .iter()
                .position(|d| day.get(..3).is_some_and(|d3| d.eq_ignore_ascii_case(d3)))?;
            let (opens, closes) = span.trim().split_once('-')?;
            HoursInterval::parse(weekday as i64, opens.trim(), closes.trim()).ok()
        })();
        match parsed {
            Some(interval) => out.push(interval),
            None => errors.add(
                "working_hours",
                format!(
                    "line {} (\u{201c}{line}\u{201d}) is not a day and two times like \u{201c}Mon 09:00-17:00\u{201d}",
                    n + 1
                ),
            ),
        }
    }
    out
}

pub async fn settings(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Query(query): Query<DetailQuery>,
) -> Response {
    if let Some(denied) = kam_only(&user) {
        return denied;
    }
    let me = user.user.clone();
    let result = async {
        let hours = crate::crm::kam_hours(&state.db, &me).await?;
        let region = crate::crm::kam_region(&state.db, me.id).await?;
        Ok::<_, ApiError>((hours, region))
    }
    .await;
    let (hours, region) = match result {
        Ok(r) => r,
        Err(e) => return api_error_page(e),
    };
    let (jar, csrf) = sessions::csrf_token(&state, jar);
    let page = SettingsPage {
        layout: Layout::for_user("Profile and settings", "/crm/settings", &user, false, csrf),
        first_name: me.first_name.clone(),
        last_name: me.last_name.clone(),
        phone: me.phone.clone().unwrap_or_default(),
        region: region.unwrap_or_default(),
        timezone: hours.tz.name().to_string(),
        hours_text: hours_text(&hours.intervals),
        saved: query.saved.is_some(),
        failed: Submitted::default(),
    };
    (jar, render(&page)).into_response()
}

#[derive(Deserialize)]
pub struct SettingsForm {
    pub csrf: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub region: String,
    pub timezone: String,
    pub working_hours: String,
}

pub async fn save_settings(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Form(form): Form<SettingsForm>,
) -> Response {
    if let Some(denied) = kam_only(&user) {
        return denied;
    }
    if sessions::check_csrf(&jar, &form.csrf).is_err() {
        return csrf_failed();
    }
    let mut errors = crate::http::error::FieldErrors::new();
    let hours = parse_hours_text(&form.working_hours, &mut errors);
    let input = KamProfileInput {
        first_name: Some(form.first_name.clone()),
        last_name: Some(form.last_name.clone()),
        phone: Some(form.phone.clone()),
        region: Some(form.region.clone()),
        timezone: Some(form.timezone.clone()),
        // Lines that could not be read are already named; the rest are not checked again alone.
        working_hours: errors.is_empty().then_some(hours),
    };
    let result =
        crate::crm::routes::apply_profile_after(&state, user.user.clone(), &input, errors).await;
    match result {
        Ok(()) => Redirect::to("/crm/settings?saved=1").into_response(),
        Err(e) if shown_in_form(&e) => {
            let (jar, csrf) = sessions::csrf_token(&state, jar);
            let failed = Submitted::failed(
                "settings",
                [
                    ("first_name", form.first_name.clone()),
                    ("last_name", form.last_name.clone()),
                    ("phone", form.phone.clone()),
                    ("region", form.region.clone()),
                    ("timezone", form.timezone.clone()),
                    ("working_hours", form.working_hours.clone()),
                ],
                &e,
            );
            let page = SettingsPage {
                layout: Layout::for_user(
                    "Profile and settings",
                    "/crm/settings",
                    &user,
                    false,
                    csrf,
                ),
                first_name: form.first_name,
                last_name: form.last_name,
                phone: form.phone,
                region: form.region,
                timezone: form.timezone,
                hours_text: form.working_hours,
                saved: false,
                failed,
            };
            (StatusCode::UNPROCESSABLE_ENTITY, jar, render(&page)).into_response()
        }
        Err(e) => api_error_page(e),
    }
}

// ---------------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "crm_reassign.html")]
struct ReassignPage {
    layout: Layout,
    rows: Vec<AccountSummary>,
    total: u64,
    kams: Vec<KamChoice>,
    targets: Vec<KamChoice>,
    from: String,
    q: String,
    /// What the last reassignment did: whether anything changed, and the sentence saying so.
    outcome: Option<(bool, String)>,
}

#[derive(Deserialize, Default)]
pub struct ReassignQuery {
    pub from: Option<String>,
    pub q: Option<String>,
    /// Restaurants the last reassignment moved, of `asked`, to `to`.
    pub done: Option<usize>,
    pub asked: Option<usize>,
    pub to: Option<Uuid>,
}

/// The sentence after a reassignment: how many moved to whom, and why the others did not.
fn reassign_outcome(done: usize, asked: usize, to: &str) -> (bool, String) {
    let restaurants = |n: usize| {
        if n == 1 {
            "1 restaurant".to_string()
        } else {
            format!("{n} restaurants")
        }
    };
    let asked = asked.max(done);
    if done == 0 {
        let which = if asked == 1 {
            format!("the restaurant you ticked already belongs to {to}")
        } else {
            format!("the {asked} restaurants you ticked already belong to {to}")
        };
        (false, format!("Nothing changed: {which}."))
    } else if done == asked {
        (true, format!("{} reassigned to {to}.", restaurants(done)))
    } else {
        (
            true,
            format!(
                "{} of {asked} reassigned to {to}; the other {} already belonged to {to}.",
                restaurants(done),
                asked - done
            ),
        )
    }
}

pub async fn reassign_page(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Query(query): Query<ReassignQuery>,
) -> Response {
    if let Some(denied) = admin_only(&user) {
        return denied;
    }
    let from = query.from.clone().unwrap_or_default();
    let q = query.q.clone().unwrap_or_default();
    let filter = AccountFilter {
        q: Some(q.clone()),
        status: None,
        tier: None,
        region: None,
        kam_id: Uuid::parse_str(&from).ok(),
        unassigned: (from == "none").then_some(true),
        page: None,
        per_page: crate::http::envelope::PerPage::new(100),
    };
    let result = async {
        let page = crate::crm::routes::search_accounts(&state, &user.principal, &filter).await?;
        let kams = kam_choices(&state, filter.kam_id).await?;
        let targets = kam_choices(&state, None).await?;
        Ok::<_, ApiError>((page, kams, targets))
    }
    .await;
    let (found, kams, targets) = match result {
        Ok(r) => r,
        Err(e) => return api_error_page(e),
    };
    let outcome = match query.done {
        Some(done) => {
            let to = query
                .to
                .and_then(|to| targets.iter().find(|k| k.id == to))
                .map_or_else(|| "the KAM you chose".to_string(), |k| k.name.clone());
            Some(reassign_outcome(done, query.asked.unwrap_or(done), &to))
        }
        None => None,
    };
    let (jar, csrf) = sessions::csrf_token(&state, jar);
    let page = ReassignPage {
        layout: Layout::for_user("Reassign restaurants", "/crm/reassign", &user, false, csrf),
        total: found.pagination.total,
        rows: found.items,
        kams,
        targets,
        from,
        q,
        outcome,
    };
    (jar, render(&page)).into_response()
}

pub async fn reassign(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    body: axum::body::Bytes,
) -> Response {
    if let Some(denied) = admin_only(&user) {
        return denied;
    }
    // Checkbox lists repeat their key, so the body is read pair by pair.
    let mut csrf = String::new();
    let mut ids = Vec::new();
    let mut to = String::new();
    let mut note = String::new();
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "csrf" => csrf = v.into_owned(),
            "restaurant_id" => ids.push(v.into_owned()),
            "to_kam_id" => to = v.into_owned(),
            "note" => note = v.into_owned(),
            _ => {}
        }
    }
    if sessions::check_csrf(&jar, &csrf).is_err() {
        return csrf_failed();
    }
    let result = async {
        let to = Uuid::parse_str(to.trim())
            .map_err(|_| ApiError::field("to_kam_id", "choose the new KAM"))?;
        let ids: Vec<Uuid> = ids
            .iter()
            .map(|s| Uuid::parse_str(s))
            .collect::<Result<_, _>>()
            .map_err(|_| ApiError::field("restaurant_ids", "not a restaurant id"))?;
        if ids.is_empty() {
            return Err(ApiError::field(
                "restaurant_ids",
                "tick at least one restaurant",
            ));
        }
        let note = Some(note.trim().to_string()).filter(|n| !n.is_empty());
        let asked = ids.iter().collect::<std::collections::HashSet<_>>().len();
        let made = crate::crm::reassign(&state, user.principal.user_id, &ids, to, note).await?;
        Ok((made.len(), asked, to))
    }
    .await;
    match result {
        Ok((made, asked, to)) => {
            Redirect::to(&format!("/crm/reassign?done={made}&asked={asked}&to={to}"))
                .into_response()
        }
        Err(e) => api_error_page(e),
    }
}

#[cfg(test)]
mod tests {
    use super::reassign_outcome;

    #[test]
    fn a_reassignment_says_what_changed_and_why_not() {
        assert_eq!(
            reassign_outcome(1, 1, "Olivia Hart"),
            (true, "1 restaurant reassigned to Olivia Hart.".into())
        );
        assert_eq!(
            reassign_outcome(0, 1, "Kiran Mehta"),
            (
                false,
                "Nothing changed: the restaurant you ticked already belongs to Kiran Mehta.".into()
            )
        );
        assert_eq!(
            reassign_outcome(0, 3, "Kiran Mehta").1,
            "Nothing changed: the 3 restaurants you ticked already belong to Kiran Mehta."
        );
        assert_eq!(
            reassign_outcome(2, 3, "Olivia Hart").1,
            "2 restaurants of 3 reassigned to Olivia Hart; the other 1 already belonged to Olivia Hart."
        );
    }
}
