//! Store-monitoring pages: reports (start one, download its CSV) and a store's uptime over time with its
//! outages. For administrators and KAMs.

use super::form::Form;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use std::collections::HashMap;

use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use uuid::Uuid;

use super::chart::{Chart, Series, colour};
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

/// One store of the fleet overview.
pub struct FleetRow {
    pub id: Uuid,
    pub name: String,
    pub store_id: String,
    pub region: String,
    pub timezone: String,
    pub kam: String,
    pub state: &'static str,
    pub label: &'static str,
    /// "for 25 min" (down, no data), else empty.
    pub since: String,
    pub uptime_day: Option<f64>,
    pub uptime_week: Option<f64>,
    pub data_week: Option<f64>,
}

pub struct OpenAlert {
    pub id: Uuid,
    pub name: String,
    pub since: String,
}

/// A choice of a filter's select: value, label, chosen.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "monitoring.html")]
struct MonitoringPage {
    layout: Layout,
    reports: Vec<ReportRow>,
    q: String,
    stores: Vec<StoreRow>,
    searched: bool,
    fleet: Vec<FleetRow>,
    fleet_total: u64,
    /// (state, label, how many) across the filtered fleet.
    counts: Vec<(&'static str, &'static str, u64)>,
    as_of: String,
    kams: Vec<Choice>,
    regions: Vec<Choice>,
    zones: Vec<Choice>,
    states: Vec<Choice>,
    page: u64,
    pages: u64,
    /// The filters as a query string, for the paging links.
    query: String,
    alerts: Vec<OpenAlert>,
}

#[derive(Deserialize)]
pub struct SearchQuery {
    pub q: Option<String>,
    pub kam: Option<String>,
    pub region: Option<String>,
    pub zone: Option<String>,
    pub state: Option<String>,
    pub page: Option<crate::http::envelope::PageNumber>,
}

const FLEET_PAGE: u64 = 50;

/// The fleet overview: every monitored store's state, worst first, filtered by KAM, region and zone.
async fn fleet_overview(
    state: &AppState,
    query: &SearchQuery,
    me: Uuid,
) -> Result<FleetView, sea_orm::DbErr> {
    use crate::entities::{crm_accounts, store_alerts, store_states, users};
    use crate::monitoring::fleet::{State, ago};
    use sea_orm::sea_query::{Expr, Query as Sql};
    use sea_orm::{PaginatorTrait, QueryTrait};

    let text = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or_default().to_string();
    let (kam, region, zone, wanted) = (
        text(&query.kam),
        text(&query.region),
        text(&query.zone),
        text(&query.state),
    );
    let monitored = || {
        Sql::select()
            .column(store_states::Column::RestaurantId)
            .from(store_states::Entity)
            .to_owned()
    };
    let mut filter = Condition::all();
    let mut places = restaurants::Entity::find()
        .select_only()
        .column(restaurants::Column::Id)
        .filter(restaurants::Column::Id.in_subquery(monitored()));
    if !region.is_empty() {
        places = places.filter(restaurants::Column::Region.eq(region.clone()));
    }
    if !zone.is_empty() {
        places = places.filter(restaurants::Column::Timezone.eq(zone.clone()));
    }
    if !region.is_empty() || !zone.is_empty() {
        filter = filter.add(store_states::Column::RestaurantId.in_subquery(places.into_query()));
    }
    let kam_id = match kam.as_str() {
        "me" => Some(me),
        other => other.parse::<Uuid>().ok(),
    };
    if let Some(kam_id) = kam_id {
        filter = filter.add(
            store_states::Column::RestaurantId.in_subquery(
                Sql::select()
                    .column(crm_accounts::Column::RestaurantId)
                    .from(crm_accounts::Entity)
                    .and_where(crm_accounts::Column::KamId.eq(kam_id))
                    .to_owned(),
            ),
        );
    }
    // Counts per state before the state filter, so the badges say what each choice would show.
    let counted: Vec<(String, i64)> = store_states::Entity::find()
        .select_only()
        .column(store_states::Column::State)
        .column_as(store_states::Column::RestaurantId.count(), "n")
        .filter(filter.clone())
        .group_by(store_states::Column::State)
        .into_tuple()
        .all(&state.db)
        .await?;
    let counts = [State::Down, State::NoData, State::Up, State::Closed]
        .into_iter()
        .map(|s| {
            let n = counted
                .iter()
                .find(|(name, _)| name == s.as_str())
                .map_or(0, |(_, n)| *n as u64);
            (s.as_str(), s.label(), n)
        })
        .collect();
    if let Some(chosen) = State::parse(&wanted) {
        filter = filter.add(store_states::Column::State.eq(chosen.as_str()));
    }
    let paginator = store_states::Entity::find()
        .filter(filter)
        .order_by_asc(store_states::Column::Rank)
        // Lowest uptime first; stores without data in the week after those with.
        .order_by_asc(Expr::cust("COALESCE(uptime_week, 101)"))
        .order_by_asc(store_states::Column::RestaurantId)
        .paginate(&state.db, FLEET_PAGE);
    let total = paginator.num_items().await?;
    let pages = total.div_ceil(FLEET_PAGE).max(1);
    let page = query.page.map_or(1, |p| p.get()).min(pages);
    let rows = paginator.fetch_page(page - 1).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.restaurant_id).collect();
    let places: HashMap<Uuid, restaurants::Model> = restaurants::Entity::find()
        .filter(restaurants::Column::Id.is_in(ids.clone()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let accounts: HashMap<Uuid, Uuid> = crm_accounts::Entity::find()
        .filter(crm_accounts::Column::RestaurantId.is_in(ids))
        .all(&state.db)
        .await?
        .into_iter()
        .filter_map(|a| a.kam_id.map(|k| (a.restaurant_id, k)))
        .collect();
    let kam_users = users::Entity::find()
        .filter(users::Column::Role.eq("kam"))
        .all(&state.db)
        .await?;
    let kam_name = |id: &Uuid| {
        kam_users
            .iter()
            .find(|u| u.id == *id)
            .map(|u| format!("{} {}", u.first_name, u.last_name))
    };
    let as_of = rows.first().map(|r| r.as_of);
    let fleet = rows
        .into_iter()
        .map(|r| {
            let place = places.get(&r.restaurant_id);
            let st = State::parse(&r.state).unwrap_or(State::NoData);
            FleetRow {
                id: r.restaurant_id,
                name: place.map(|p| p.name.clone()).unwrap_or_default(),
                store_id: place
                    .and_then(|p| p.external_id.clone())
                    .unwrap_or_default(),
                region: place.and_then(|p| p.region.clone()).unwrap_or_default(),
                timezone: place.map(|p| p.timezone.clone()).unwrap_or_default(),
                kam: accounts
                    .get(&r.restaurant_id)
                    .and_then(kam_name)
                    .unwrap_or_default(),
                state: st.as_str(),
                label: st.label(),
                since: match (st, r.since) {
                    (State::Down | State::NoData, Some(since)) => {
                        format!("for {}", ago(since, r.as_of))
                    }
                    _ => String::new(),
                },
                uptime_day: r.uptime_day,
                uptime_week: r.uptime_week,
                data_week: r.data_week,
            }
        })
        .collect();
    // The filters' choices, from the monitored stores.
    let distinct = |column: restaurants::Column| {
        restaurants::Entity::find()
            .select_only()
            .column(column)
            .distinct()
            .filter(restaurants::Column::Id.in_subquery(monitored()))
            .order_by_asc(column)
            .into_tuple::<Option<String>>()
            .all(&state.db)
    };
    let choose = |values: Vec<Option<String>>, chosen: &str| -> Vec<Choice> {
        values
            .into_iter()
            .flatten()
            .filter(|v| !v.is_empty())
            .map(|v| Choice {
                selected: v == chosen,
                label: v.clone(),
                value: v,
            })
            .collect()
    };
    let regions = choose(distinct(restaurants::Column::Region).await?, &region);
    let zones = choose(distinct(restaurants::Column::Timezone).await?, &zone);
    let mut kams: Vec<Choice> = vec![Choice {
        value: "me".into(),
        label: "Mine".into(),
        selected: kam == "me",
    }];
    kams.extend(kam_users.iter().map(|u| Choice {
        value: u.id.to_string(),
        label: format!("{} {}", u.first_name, u.last_name),
        selected: kam == u.id.to_string(),
    }));
    let states = [State::Down, State::NoData, State::Up, State::Closed]
        .into_iter()
        .map(|s| Choice {
            value: s.as_str().into(),
            label: s.label().into(),
            selected: wanted == s.as_str(),
        })
        .collect();
    let open = store_alerts::Entity::find()
        .filter(store_alerts::Column::RecoveredAt.is_null())
        .order_by_asc(store_alerts::Column::OutageStartedAt)
        .all(&state.db)
        .await?;
    let names: HashMap<Uuid, String> = restaurants::Entity::find()
        .filter(restaurants::Column::Id.is_in(open.iter().map(|a| a.restaurant_id)))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    let alerts = open
        .into_iter()
        .map(|a| OpenAlert {
            id: a.restaurant_id,
            name: names.get(&a.restaurant_id).cloned().unwrap_or_default(),
            since: a.outage_started_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        })
        .collect();
    let query_string = form_urlencoded::Serializer::new(String::new())
        .append_pair("kam", &kam)
        .append_pair("region", &region)
        .append_pair("zone", &zone)
        .append_pair("state", &wanted)
        .finish();
    Ok(FleetView {
        fleet,
        total,
        counts,
        as_of: as_of
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default(),
        kams,
        regions,
        zones,
        states,
        page,
        pages,
        query: query_string,
        alerts,
    })
}

struct FleetView {
    fleet: Vec<FleetRow>,
    total: u64,
    counts: Vec<(&'static str, &'static str, u64)>,
    as_of: String,
    kams: Vec<Choice>,
    regions: Vec<Choice>,
    zones: Vec<Choice>,
    states: Vec<Choice>,
    page: u64,
    pages: u64,
    query: String,
    alerts: Vec<OpenAlert>,
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
    let q = query.q.clone().unwrap_or_default().trim().to_string();
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
    let view = match fleet_overview(&state, &query, user.principal.user_id).await {
        Ok(v) => v,
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
        fleet: view.fleet,
        fleet_total: view.total,
        counts: view.counts,
        as_of: view.as_of,
        kams: view.kams,
        regions: view.regions,
        zones: view.zones,
        states: view.states,
        page: view.page,
        pages: view.pages,
        query: view.query,
        alerts: view.alerts,
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

#[derive(Template)]
#[template(path = "monitoring_store.html")]
struct StorePage {
    layout: Layout,
    name: String,
    store_id: String,
    timezone: String,
    /// Uptime per local day as a chart (JSON): the share up of the time with data, and the days
    /// without data as grey bars that say so.
    chart: String,
    days: Vec<DayUptime>,
    incidents: Vec<(String, String, Incident)>,
    currency: String,
    at_risk_orders: f64,
    at_risk_value: Option<rust_decimal::Decimal>,
}

pub fn uptime_chart(days: &[DayUptime]) -> Chart {
    let no_data = |d: &DayUptime| d.uptime_percent.is_none() && d.business_hours > 0.0;
    let mut chart = Chart::bar(
        days.iter().map(|d| d.date.to_string()).collect(),
        vec![
            Series::new(
                "Up (of the time with data)",
                days.iter().map(|d| d.uptime_percent).collect(),
                colour::GREEN,
            ),
            Series::new(
                "No data",
                days.iter().map(|d| no_data(d).then_some(100.0)).collect(),
                colour::GREY,
            ),
        ],
        "up, within business hours",
    );
    chart.percent = true;
    chart.stacked = true;
    chart.time = true;
    chart.label_title = "local day".into();
    chart
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
        chart: uptime_chart(&days).json(),
        days,
        incidents,
        currency: restaurant.currency,
        at_risk_orders,
        at_risk_value,
    };
    (jar, render(&page)).into_response()
}
