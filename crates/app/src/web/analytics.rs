//! The order analytics page: time in each status and orders per hour (or day) as charts, for one
//! restaurant or all, over a range of local days. For administrators and KAMs; read from the rollups.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use uuid::Uuid;

use super::chart::{Chart, Series, colour};
use super::pages::{render, server_error as failed};
use super::{Layout, error_page};
use crate::accounts::Role;
use crate::accounts::sessions::{self, WebUser};
use crate::analytics::queries::{self, Bound, Clock, Range, Restaurants, StatusTime};
use crate::entities::{order_throughput_rollups, restaurants};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct AnalyticsForm {
    pub restaurant_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// `status` or `throughput`: the table as a CSV download instead of the page.
    pub export: Option<String>,
}

pub struct Choice {
    pub id: Uuid,
    pub name: String,
    pub selected: bool,
}

/// A filter the page could not use, and the field it belongs beside.
pub struct FilterProblem {
    pub field: &'static str,
    pub message: String,
}

impl FilterProblem {
    fn new(field: &'static str, message: String) -> Self {
        Self { field, message }
    }
}

#[derive(Template)]
#[template(path = "analytics.html")]
struct AnalyticsPage {
    layout: Layout,
    problems: Vec<FilterProblem>,
    choices: Vec<Choice>,
    from: String,
    to: String,
    statuses: Vec<StatusTime>,
    /// Time in status (minutes) as a chart, as JSON.
    status_chart: String,
    interval: &'static str,
    /// Orders created and finished per hour or day, as JSON.
    flow_chart: String,
    has_flow: bool,
    created: i64,
    finished: i64,
    /// The same totals over the period of the same length just before.
    created_before: i64,
    finished_before: i64,
    /// Quick ranges: (label, link, chosen).
    presets: Vec<(String, String, bool)>,
    /// The filters as a query string (for the export links).
    query: String,
}

impl AnalyticsPage {
    /// "+12%" / "−3%" / "" (nothing before to compare with).
    fn change(&self, now: &i64, before: &i64) -> String {
        if *before == 0 {
            return String::new();
        }
        let pct = (*now - *before) as f64 * 100.0 / *before as f64;
        if pct >= 0.0 {
            format!("+{pct:.0}%")
        } else {
            format!("\u{2212}{:.0}%", -pct)
        }
    }
}

impl AnalyticsPage {
    /// The message for a field, if its value could not be used.
    fn problem(&self, field: &str) -> Option<&str> {
        self.problems
            .iter()
            .find(|p| p.field == field)
            .map(|p| p.message.as_str())
    }
}

/// Average, median and p90 time in each status, in minutes, as bars beside each other.
fn status_chart(statuses: &[StatusTime]) -> Chart {
    let minutes = |f: fn(&StatusTime) -> Option<f64>| -> Vec<Option<f64>> {
        statuses
            .iter()
            .map(|s| f(s).map(|v| (v / 6.0).round() / 10.0))
            .collect()
    };
    let mut chart = Chart::bar(
        statuses.iter().map(|s| s.status.clone()).collect(),
        vec![
            Series::new("Average", minutes(|s| s.avg_seconds), colour::BLUE),
            Series::new("Median", minutes(|s| s.median_seconds), colour::TEAL),
            Series::new("p90", minutes(|s| s.p90_seconds), colour::PURPLE),
        ],
        "minutes in the status",
    );
    chart.horizontal = true;
    chart.unit = " min".into();
    chart
}

pub async fn page(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Query(form): Query<AnalyticsForm>,
) -> Response {
    // Operations see every restaurant; a venue's managers and owners see their own venues.
    let managed: Option<Vec<Uuid>> = if matches!(user.principal.role, Role::Admin | Role::Kam) {
        None
    } else {
        match crate::accounts::memberships_of(&state, user.user.id).await {
            Ok(m) => Some(
                m.into_iter()
                    .filter(|m| m.role >= crate::accounts::MemberRole::Manager)
                    .map(|m| m.restaurant_id)
                    .collect(),
            ),
            Err(err) => return failed(err.message),
        }
    };
    if managed.as_ref().is_some_and(|m| m.is_empty()) {
        return error_page(
            StatusCode::FORBIDDEN,
            "Not for your role",
            "Order analytics are for operations and for the managers of a venue.",
        );
    }
    // A filter that cannot be read is named on the page (beside its field) and the default is shown
    // instead, so a mistyped link never silently shows another range.
    let mut problems: Vec<FilterProblem> = Vec::new();
    let selected = match form.restaurant_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => match raw.parse::<Uuid>() {
            Ok(id) => Some(id),
            Err(_) => {
                problems.push(FilterProblem::new(
                    "restaurant_id",
                    format!("\u{201c}{raw}\u{201d} is not a restaurant; showing all restaurants."),
                ));
                None
            }
        },
    };
    if let (Some(id), Some(managed)) = (selected, &managed)
        && !managed.contains(&id)
    {
        return error_page(
            StatusCode::FORBIDDEN,
            "Not your venue",
            "You see the analytics of the venues you manage.",
        );
    }
    // Restaurants with orders in the rollups.
    let with_orders: Vec<Uuid> = match order_throughput_rollups::Entity::find()
        .select_only()
        .column(order_throughput_rollups::Column::RestaurantId)
        .filter(order_throughput_rollups::Column::Granularity.eq("day"))
        .distinct()
        .into_tuple()
        .all(&state.db)
        .await
    {
        Ok(ids) => ids,
        Err(err) => return failed(err),
    };
    let with_orders: Vec<Uuid> = match &managed {
        Some(managed) => with_orders
            .into_iter()
            .filter(|id| managed.contains(id))
            .collect(),
        None => with_orders,
    };
    let choices: Vec<Choice> = match restaurants::Entity::find()
        .filter(restaurants::Column::Id.is_in(with_orders))
        .order_by_asc(restaurants::Column::Name)
        .all(&state.db)
        .await
    {
        Ok(rows) => rows
            .into_iter()
            .map(|r| Choice {
                selected: Some(r.id) == selected,
                id: r.id,
                name: r.name,
            })
            .collect(),
        Err(err) => return failed(err),
    };
    let which = match (selected, &managed) {
        (Some(id), _) => Restaurants::Some(vec![id]),
        (None, Some(managed)) => Restaurants::Some(managed.clone()),
        (None, None) => Restaurants::All,
    };
    let mut date = |field: &'static str, raw: &Option<String>| match raw.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(day) => Some(day),
            Err(_) => {
                problems.push(FilterProblem::new(
                    field,
                    format!(
                        "\u{201c}{text}\u{201d} is not a date like 2026-06-14; the {} shown is the default.",
                        if field == "from" { "start" } else { "end" }
                    ),
                ));
                None
            }
        },
    };
    // Default: the week up to the latest hour with orders.
    let latest: Option<i64> = {
        let mut q = order_throughput_rollups::Entity::find()
            .select_only()
            .column_as(order_throughput_rollups::Column::BucketStart.max(), "b")
            .filter(order_throughput_rollups::Column::Granularity.eq("hour"));
        if let Some(id) = selected {
            q = q.filter(order_throughput_rollups::Column::RestaurantId.eq(id));
        } else if let Some(managed) = &managed {
            q = q.filter(order_throughput_rollups::Column::RestaurantId.is_in(managed.clone()));
        }
        match q.into_tuple::<Option<i64>>().one(&state.db).await {
            Ok(v) => v.flatten(),
            Err(err) => return failed(err),
        }
    };
    let latest_day = latest
        .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
        .unwrap_or_else(|| state.now())
        .date_naive();
    let asked_to = date("to", &form.to);
    let asked_from = date("from", &form.from);
    let mut to = asked_to.unwrap_or(latest_day + Duration::days(1));
    let mut from = asked_from.unwrap_or(to - Duration::days(7));
    if from >= to || (to - from).num_days() > 400 {
        problems.push(FilterProblem::new(
            "from",
            format!(
                "{from} to {to} is not a range: the start must come before the end, at most 400 days \
                 apart. Showing the week up to {}.",
                latest_day + Duration::days(1)
            ),
        ));
        to = latest_day + Duration::days(1);
        from = to - Duration::days(7);
    }
    let range = Range {
        from: Bound::Date(from),
        to: Bound::Date(to),
    };
    let statuses =
        match queries::time_in_status(&state.db, &which, range, Clock::Local, false).await {
            Ok(s) => s,
            Err(err) => return failed(err),
        };
    let daily = (to - from).num_days() > 7;
    let flow = match queries::throughput(&state.db, &which, range, Clock::Local, daily).await {
        Ok(f) => f,
        Err(err) => return failed(err),
    };
    if let Some(table) = form.export.as_deref().filter(|t| !t.is_empty()) {
        return export_csv(table, &statuses, &flow, from, to);
    }
    // The period of the same length just before, to compare with.
    let length = to - from;
    let before = Range {
        from: Bound::Date(from - length),
        to: Bound::Date(from),
    };
    let previous = match queries::throughput(&state.db, &which, before, Clock::Local, true).await {
        Ok(f) => f,
        Err(err) => return failed(err),
    };
    let restaurant_param = selected
        .map(|id| format!("&restaurant_id={id}"))
        .unwrap_or_default();
    let end = latest_day + Duration::days(1);
    let mut presets: Vec<(String, String, bool)> = [7, 30, 90]
        .into_iter()
        .map(|days| {
            let start = end - Duration::days(days);
            (
                format!("Last {days} days"),
                format!("/analytics?from={start}&to={end}{restaurant_param}"),
                start == from && end == to,
            )
        })
        .collect();
    presets.push((
        format!("The {} days before", length.num_days()),
        format!(
            "/analytics?from={}&to={from}{restaurant_param}",
            from - length
        ),
        false,
    ));
    let mut flow_chart = Chart::bar(
        flow.iter()
            .map(|b| b.start.chars().take(16).collect())
            .collect(),
        vec![
            Series::new(
                "Created",
                flow.iter().map(|b| Some(b.created as f64)).collect(),
                colour::BLUE,
            ),
            Series::new(
                "Finished",
                flow.iter().map(|b| Some(b.finished as f64)).collect(),
                colour::GREEN,
            ),
        ],
        if daily {
            "orders per day"
        } else {
            "orders per hour"
        },
    );
    flow_chart.label_title = if daily {
        "local day".into()
    } else {
        "local hour".into()
    };
    flow_chart.time = true;
    flow_chart.zoom = true;
    flow_chart.unit = " orders".into();
    let (jar, csrf) = sessions::csrf_token(&state, jar);
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = AnalyticsPage {
        problems,
        layout: Layout::for_user(
            "Order analytics",
            "/analytics",
            &user,
            managed.is_some(),
            csrf,
        ),
        choices,
        from: from.to_string(),
        to: to.to_string(),
        created: flow.iter().map(|b| b.created).sum(),
        finished: flow.iter().map(|b| b.finished).sum(),
        status_chart: status_chart(&statuses).json(),
        statuses,
        interval: if daily { "day" } else { "hour" },
        flow_chart: flow_chart.json(),
        has_flow: !flow.is_empty(),
        created_before: previous.iter().map(|b| b.created).sum(),
        finished_before: previous.iter().map(|b| b.finished).sum(),
        presets,
        query: format!("from={from}&to={to}{restaurant_param}"),
    };
    (status, jar, render(&page)).into_response()
}

/// A table of the page as CSV (`status`: time in each status; `throughput`: orders per hour or day).
fn export_csv(
    table: &str,
    statuses: &[StatusTime],
    flow: &[queries::ThroughputBucket],
    from: NaiveDate,
    to: NaiveDate,
) -> Response {
    use std::fmt::Write;
    let seconds = |v: Option<f64>| v.map(|v| format!("{v:.2}")).unwrap_or_default();
    let mut out = String::new();
    match table {
        "status" => {
            out.push_str("status,entered,timed,average_seconds,median_seconds,p90_seconds\n");
            for s in statuses {
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{}",
                    s.status,
                    s.entered,
                    s.timed,
                    seconds(s.avg_seconds),
                    seconds(s.median_seconds),
                    seconds(s.p90_seconds)
                );
            }
        }
        "throughput" => {
            out.push_str("start_local,created,finished\n");
            for b in flow {
                let _ = writeln!(out, "{},{},{}", b.start, b.created, b.finished);
            }
        }
        _ => {
            return error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "No such table",
                "The page exports `status` (time in each status) or `throughput` (orders per hour or day).",
            );
        }
    }
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{table}-{from}-{to}.csv\""),
            ),
        ],
        out,
    )
        .into_response()
}
