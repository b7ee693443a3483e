//! Store-monitoring pages: reports (start one, download its CSV) and a store's uptime over time with its
//! outages. For administrators and KAMs.

use super::form::Form;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use uuid::Uuid;

use super::pages::{render, server_error as failed};
use super::{Layout, error_page};
use crate::accounts::Role;
use crate::accounts::sessions::{self, WebUser};
use crate::entities::{monitoring_reports, restaurants, store_poll_days};
use crate::http::envelope::contains_ci;
use crate::monitoring::report::{self, ReportStatus};
use crate::monitoring::{DayUptime, Incident};
use crate::state::AppState;

fn operations_only(user: &WebUser) -> Option<Response> {
    (!matches!(user.principal.role, Role::Admin | Role::Kam)).then(|| {
        error_page(
            StatusCode::FORBIDDEN,
            "Not for your role",
            "Store monitoring is for administrators and key account managers.",
        )
    })
}

pub struct ReportRow {
    pub id: Uuid,
    pub status: &'static str,
    pub created: String,
    pub computed_for: String,
    pub stores: String,
    pub duration: String,
    pub error: String,
    pub complete: bool,
}

pub struct StoreRow {
    pub id: Uuid,
    pub store_id: String,
    pub name: String,
    pub timezone: String,
}

#[derive(Template)]
#[template(path = "monitoring.html")]
struct MonitoringPage {
    layout: Layout,
    reports: Vec<ReportRow>,
    q: String,
    stores: Vec<StoreRow>,
    searched: bool,
}

#[derive(Deserialize)]
pub struct SearchQuery {
    pub q: Option<String>,
}

pub async fn index(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Query(query): Query<SearchQuery>,
) -> Response {
    if let Some(denied) = operations_only(&user) {
        return denied;
    }
    let q = query.q.unwrap_or_default().trim().to_string();
    let result = async {
        let reports = monitoring_reports::Entity::find()
            .order_by_desc(monitoring_reports::Column::CreatedAt)
            .limit(20)
            .all(&state.db)
            .await?;
        let mut stores = Vec::new();
        if !q.is_empty() {
            let found = restaurants::Entity::find()
                .filter(
                    Condition::any()
                        .add(contains_ci(restaurants::Column::Name, &q))
                        .add(contains_ci(restaurants::Column::ExternalId, &q)),
                )
                .order_by_asc(restaurants::Column::Name)
                .limit(200)
                .all(&state.db)
                .await?;
            let ids: Vec<Uuid> = found.iter().map(|r| r.id).collect();
            let monitored: Vec<Uuid> = store_poll_days::Entity::find()
                .select_only()
                .column(store_poll_days::Column::RestaurantId)
                .distinct()
                .filter(store_poll_days::Column::RestaurantId.is_in(ids))
                .into_tuple()
                .all(&state.db)
                .await?;
            stores = found
                .into_iter()
                .filter(|r| monitored.contains(&r.id))
                .take(50)
                .map(|r| StoreRow {
                    id: r.id,
                    store_id: r.external_id.unwrap_or_default(),
                    name: r.name,
                    timezone: r.timezone,
                })
                .collect();
        }
        Ok::<_, sea_orm::DbErr>((reports, stores))
    }
    .await;
    let (reports, stores) = match result {
        Ok(r) => r,
        Err(err) => return failed(err),
    };
    let fmt = |d: chrono::DateTime<chrono::Utc>| d.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let reports = reports
        .into_iter()
        .map(|m| {
            let status = ReportStatus::parse(&m.status);
            ReportRow {
                id: m.id,
                status: match status {
                    ReportStatus::Running => "Running",
                    ReportStatus::Complete => "Complete",
                    ReportStatus::Failed => "Failed",
                },
                created: fmt(m.created_at),
                computed_for: m.computed_for.map(fmt).unwrap_or_default(),
                stores: m.store_count.map(|n| n.to_string()).unwrap_or_default(),
                duration: m
                    .duration_ms
                    .map(|ms| format!("{ms} ms"))
                    .unwrap_or_default(),
                error: m.error.unwrap_or_default(),
                complete: status == ReportStatus::Complete,
            }
        })
        .collect();
    let (jar, csrf) = sessions::csrf_token(&state, jar);
    let page = MonitoringPage {
        layout: Layout::for_user("Store monitoring", "/monitoring", &user, false, csrf),
        reports,
        searched: !q.is_empty(),
        q,
        stores,
    };
    (jar, render(&page)).into_response()
}

#[derive(Deserialize)]
pub struct StartForm {
    pub csrf: String,
    pub as_of: Option<String>,
}

pub async fn start_report(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Form(form): Form<StartForm>,
) -> Response {
    if let Some(denied) = operations_only(&user) {
        return denied;
    }
    if sessions::check_csrf(&jar, &form.csrf).is_err() {
        return error_page(
            StatusCode::FORBIDDEN,
            "Form expired",
            "Reload the page and try again.",
        );
    }
    let as_of = match form
        .as_of
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(raw) => match crate::monitoring::parse_instant(raw) {
            Ok(at) => Some(at),
            Err(problem) => {
                return error_page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Not an instant",
                    &format!(
                        "The end of the report {problem}; or leave it empty for the latest poll."
                    ),
                );
            }
        },
        None => None,
    };
    match report::start(&state, as_of, Some(user.principal.user_id)).await {
        Ok(_) => Redirect::to("/monitoring").into_response(),
        Err(err) => failed(err.message),
    }
}

pub async fn report_csv(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<Uuid>,
) -> Response {
    if let Some(denied) = operations_only(&user) {
        return denied;
    }
    match monitoring_reports::Entity::find_by_id(id)
        .one(&state.db)
        .await
    {
        Ok(Some(m)) if m.csv.is_some() => crate::monitoring::routes::csv_response(&m),
        Ok(_) => super::not_found_page(),
        Err(err) => failed(err),
    }
}

/// One bar of the uptime chart (SVG coordinates).
pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub height: u32,
    pub label: String,
    pub title: String,
    pub class: &'static str,
}

#[derive(Template)]
#[template(path = "monitoring_store.html")]
struct StorePage {
    layout: Layout,
    name: String,
    store_id: String,
    timezone: String,
    bars: Vec<Bar>,
    days: Vec<DayUptime>,
    incidents: Vec<(String, String, Incident)>,
    currency: String,
    at_risk_orders: f64,
    at_risk_value: Option<rust_decimal::Decimal>,
}

const CHART_HEIGHT: u32 = 160;
const BAR_WIDTH: u32 = 22;

pub fn bars(days: &[DayUptime]) -> Vec<Bar> {
    days.iter()
        .enumerate()
        .map(|(i, d)| {
            // A day without data is a full grey bar that says so, never an empty (0%) or full (100%) one.
            let pct = d.uptime_percent.map_or(100.0, |p| p.clamp(0.0, 100.0));
            let height = (pct / 100.0 * f64::from(CHART_HEIGHT)).round() as u32;
            Bar {
                x: 30 + i as u32 * (BAR_WIDTH + 6),
                y: 10 + CHART_HEIGHT - height,
                height,
                label: d.date.format("%d").to_string(),
                title: match (d.uptime_percent, d.business_hours > 0.0) {
                    (Some(p), _) if d.no_data_hours > 0.0 => format!(
                        "{}: {p:.2}% up ({:.2} h of the {:.2} h with data; no data for {:.2} h)",
                        d.date,
                        d.uptime_hours,
                        d.uptime_hours + d.downtime_hours,
                        d.no_data_hours
                    ),
                    (Some(p), _) => format!(
                        "{}: {p:.2}% up ({:.2} h of {:.2} h)",
                        d.date, d.uptime_hours, d.business_hours
                    ),
                    (None, true) => format!(
                        "{}: no data (no poll within an hour of its business hours)",
                        d.date
                    ),
                    (None, false) => format!("{}: closed all day", d.date),
                },
                class: match d.uptime_percent {
                    None if d.business_hours > 0.0 => "bar-no-data",
                    None => "bar-none",
                    Some(p) if p >= 99.0 => "bar-good",
                    Some(p) if p >= 90.0 => "bar-fair",
                    Some(_) => "bar-poor",
                },
            }
        })
        .collect()
}

pub async fn store(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Path(id): Path<Uuid>,
) -> Response {
    if let Some(denied) = operations_only(&user) {
        return denied;
    }
    let restaurant = match crate::restaurants::find(&state, id).await {
        Ok(r) => r,
        Err(_) => return super::not_found_page(),
    };
    let days = match crate::monitoring::daily_uptime(&state, id, 21, None).await {
        Ok(d) => d,
        Err(err) => return failed(err.message),
    };
    let incidents = match crate::monitoring::incidents(&state, id, None, None).await {
        Ok((_, _, list)) => list,
        Err(err) => return failed(err.message),
    };
    let tz = crate::restaurants::zone_of(&restaurant);
    let local = |d: chrono::DateTime<chrono::Utc>| {
        d.with_timezone(&tz).format("%a %d %b %H:%M").to_string()
    };
    let at_risk_orders = (incidents
        .iter()
        .filter_map(|i| i.expected_orders)
        .sum::<f64>()
        * 10.0)
        .round()
        / 10.0;
    let at_risk_value = incidents
        .iter()
        .filter_map(|i| i.value_at_risk)
        .reduce(|a, b| a + b);
    let incidents = incidents
        .into_iter()
        .rev()
        .map(|i| (local(i.started_at), local(i.ended_at), i))
        .collect();
    let (jar, csrf) = sessions::csrf_token(&state, jar);
    let page = StorePage {
        layout: Layout::for_user("Store uptime", "/monitoring", &user, false, csrf),
        name: restaurant.name,
        store_id: restaurant.external_id.unwrap_or_default(),
        timezone: restaurant.timezone,
        bars: bars(&days),
        days,
        incidents,
        currency: restaurant.currency,
        at_risk_orders,
        at_risk_value,
    };
    (jar, render(&page)).into_response()
}
