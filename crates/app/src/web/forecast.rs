//! A restaurant's forecast page: recent history and the forecast with its 80% and 95% bands (Chart.js,
//! drawn by `forecast.js` from the JSON the page carries), daily or hourly; the model that answered and
//! the backtest that chose it; next week's expected orders per day and its peak hours.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use brigade_forecast::Granularity;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;
use uuid::Uuid;

use super::analytics::Choice;
use super::pages::{render, server_error as failed};
use super::{Layout, error_page};
use crate::accounts::sessions::{self, WebUser};
use crate::entities::restaurants;
use crate::forecasting::{self, predict, registry, series};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct ForecastForm {
    pub restaurant_id: Option<String>,
    pub granularity: Option<String>,
}

/// One backtest row.
pub struct CandidateRow {
    pub method: String,
    pub mase: String,
    pub smape: String,
    pub coverage_80: String,
    pub coverage_95: String,
    pub fit_ms: String,
    pub chosen: bool,
}

pub struct DayRow {
    pub day: String,
    pub predicted: String,
    pub band: String,
    pub open: bool,
}

pub struct PeakRow {
    pub local: String,
    pub predicted: String,
}

/// A customer in the at-risk or high-value list.
pub struct CustomerRow {
    pub label: String,
    pub orders: usize,
    pub last_order: String,
    pub spent: String,
    pub churn: String,
    pub expected_value: String,
    pub segment: String,
}

/// The customers card: who is slipping away, who is worth most.
#[derive(Default)]
pub struct CustomersCard {
    pub known: usize,
    pub answered_by: String,
    pub holdout: String,
    pub at_risk: Vec<CustomerRow>,
    pub at_risk_total: usize,
    pub high_value: Vec<CustomerRow>,
}

#[derive(Template)]
#[template(path = "forecasts.html")]
struct ForecastPage {
    layout: Layout,
    choices: Vec<Choice>,
    restaurant: Option<String>,
    hourly: bool,
    chart_json: String,
    model: String,
    fallback: String,
    candidates: Vec<CandidateRow>,
    trained: String,
    week: Vec<DayRow>,
    week_total: String,
    last_week_total: String,
    peaks: Vec<PeakRow>,
    customers: CustomersCard,
}

fn f1(v: f64) -> String {
    format!("{v:.1}")
}

pub async fn page(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Query(form): Query<ForecastForm>,
) -> Response {
    let me = &user.principal;
    let visible = match forecasting::visible_restaurants(&state, me).await {
        Ok(Some(ids)) => ids,
        Ok(None) => match series::restaurants_with_orders(&state).await {
            Ok(ids) => ids,
            Err(err) => return failed(err.message),
        },
        Err(err) => return failed(err.message),
    };
    let rows = match restaurants::Entity::find()
        .filter(restaurants::Column::Id.is_in(visible))
        .order_by_asc(restaurants::Column::Name)
        .all(&state.db)
        .await
    {
        Ok(rows) => rows,
        Err(err) => return failed(err),
    };
    let asked = form.restaurant_id.as_deref().filter(|s| !s.is_empty());
    let selected = match asked {
        Some(raw) => match raw
            .parse::<Uuid>()
            .ok()
            .filter(|id| rows.iter().any(|r| r.id == *id))
        {
            Some(id) => Some(id),
            None => {
                return error_page(
                    StatusCode::NOT_FOUND,
                    "No such restaurant",
                    "There is no restaurant of yours with that id.",
                );
            }
        },
        None => rows.first().map(|r| r.id),
    };
    let hourly = match form.granularity.as_deref() {
        None | Some("") | Some("daily") => false,
        Some("hourly") => true,
        Some(_) => {
            return error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Not a granularity",
                "Choose daily or hourly.",
            );
        }
    };
    let choices = rows
        .iter()
        .map(|r| Choice {
            id: r.id,
            name: r.name.clone(),
            selected: Some(r.id) == selected,
        })
        .collect();
    let (jar, csrf) = sessions::csrf_token(&state, jar);
    let mut page = ForecastPage {
        layout: Layout::for_user("Forecasts", "/forecasts", &user, false, csrf),
        choices,
        restaurant: None,
        hourly,
        chart_json: "null".into(),
        model: String::new(),
        fallback: String::new(),
        candidates: Vec::new(),
        trained: String::new(),
        week: Vec::new(),
        week_total: String::new(),
        last_week_total: String::new(),
        peaks: Vec::new(),
        customers: CustomersCard::default(),
    };
    let Some(id) = selected else {
        return (jar, render(&page)).into_response();
    };
    page.restaurant = rows.iter().find(|r| r.id == id).map(|r| r.name.clone());
    let g = if hourly {
        Granularity::Hourly
    } else {
        Granularity::Daily
    };
    let now = state.now();
    let (chart, daily, peaks, history) = match tokio::try_join!(
        predict::demand(&state, id, g, g.max_horizon(), None),
        predict::demand(&state, id, Granularity::Daily, 7, None),
        predict::peak_hours(&state, id, 5, None),
        series::extract(&state, id, g, now, 0),
    ) {
        Ok(all) => all,
        Err(err) => return failed(err.message),
    };
    // The chart: the last 8 weeks of days (2 weeks of hours), then the forecast.
    let shown = if hourly { 14 * 24 } else { 56 };
    let start = history.values.len().saturating_sub(shown);
    let mut labels: Vec<String> = (start..history.values.len())
        .map(|i| history.label(i))
        .collect();
    let mut actual: Vec<Option<f64>> = history.values[start..].iter().map(|v| Some(*v)).collect();
    let pad = |n: usize| vec![None::<f64>; n];
    let past = labels.len();
    let mut bands: [Vec<Option<f64>>; 5] = [pad(past), pad(past), pad(past), pad(past), pad(past)];
    for p in &chart.points {
        labels.push(p.local.clone());
        actual.push(None);
        for (band, v) in
            bands
                .iter_mut()
                .zip([p.predicted, p.lower_80, p.upper_80, p.lower_95, p.upper_95])
        {
            band.push(Some(v));
        }
    }
    // Join the forecast line to the history line.
    if past > 0 {
        bands[0][past - 1] = actual[past - 1];
    }
    let [predicted, lower_80, upper_80, lower_95, upper_95] = bands;
    page.chart_json = serde_json::json!({
        "labels": labels,
        "actual": actual,
        "predicted": predicted,
        "lower_80": lower_80,
        "upper_80": upper_80,
        "lower_95": lower_95,
        "upper_95": upper_95,
        "hourly": hourly,
    })
    .to_string()
    .replace('<', "\\u003c");
    page.model = match chart.model_version {
        Some(v) => format!("version {v}: {}", chart.method.replace('_', " ")),
        None => chart.method.replace('_', " "),
    };
    page.fallback = chart.fallback_level.as_str().replace('_', " ");
    if let Some(model_id) = chart.model_id
        && let Ok(model) = registry::find(&state, model_id).await
    {
        let view = registry::ModelView::from(model);
        page.trained = format!(
            "trained {} on {} of history up to {}",
            view.trained_at.format("%Y-%m-%d %H:%M UTC"),
            view.features["history_steps"]
                .as_u64()
                .map(|n| format!("{n} {}", if hourly { "hours" } else { "days" }))
                .unwrap_or_default(),
            view.training_to.format("%Y-%m-%d"),
        );
        let chosen = view.metrics["chosen"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for c in view.metrics["candidates"].as_array().into_iter().flatten() {
            let pct = |k: &str| {
                c[k].as_f64()
                    .map(|v| format!("{:.0}%", v * 100.0))
                    .unwrap_or_default()
            };
            let num = |k: &str, d: usize| {
                c[k].as_f64()
                    .map(|v| format!("{v:.d$}"))
                    .unwrap_or_default()
            };
            let method = c["method"].as_str().unwrap_or_default().to_string();
            page.candidates.push(CandidateRow {
                chosen: method == chosen,
                method: method.replace('_', " "),
                mase: num("mase", 3),
                smape: num("smape", 1),
                coverage_80: pct("coverage_80"),
                coverage_95: pct("coverage_95"),
                fit_ms: num("fit_ms", 1),
            });
        }
    }
    page.week = daily
        .points
        .iter()
        .map(|p| DayRow {
            day: chrono::NaiveDate::parse_from_str(&p.local, "%Y-%m-%d")
                .map(|d| d.format("%a %e %b").to_string())
                .unwrap_or_else(|_| p.local.clone()),
            predicted: f1(p.predicted),
            band: format!("{} – {}", f1(p.lower_80), f1(p.upper_80)),
            open: p.open,
        })
        .collect();
    page.week_total = f1(daily.points.iter().map(|p| p.predicted).sum());
    let days = match g {
        Granularity::Daily => 7,
        Granularity::Hourly => 7 * 24,
    };
    page.last_week_total = f1(history.values.iter().rev().take(days).sum());
    page.peaks = peaks
        .peak_hours
        .iter()
        .map(|p| PeakRow {
            local: chrono::NaiveDateTime::parse_from_str(&p.local, "%Y-%m-%dT%H:%M")
                .map(|t| t.format("%a %e %b, %H:00").to_string())
                .unwrap_or_else(|_| p.local.clone()),
            predicted: f1(p.predicted),
        })
        .collect();
    // Customers are a side card: when they cannot be had, the page says nothing of them.
    match forecasting::customers::restaurant_customers(&state, id).await {
        Ok((all, _)) => page.customers = customers_card(&all),
        Err(err) => {
            tracing::warn!(restaurant = %id, error = %err.message, "no customer card on the forecast page")
        }
    }
    (jar, render(&page)).into_response()
}

fn customers_card(all: &forecasting::customers::RestaurantCustomers) -> CustomersCard {
    use forecasting::customers::{SegmentFilter, select};
    let row = |c: &forecasting::customers::CustomerPrediction| CustomerRow {
        label: c.label.clone(),
        orders: c.orders,
        last_order: format!("{:.0} days ago", c.days_since_last_order),
        spent: format!("{} {}", c.total_spent, all.currency),
        churn: format!("{:.0}%", c.churn_probability * 100.0),
        expected_value: c
            .expected_value_365d
            .map(|v| format!("{v} {}", all.currency))
            .unwrap_or_else(|| "–".into()),
        segment: c.segment.replace('_', " "),
    };
    let modelled = all.model_version.is_some();
    let at_risk = select(&all.customers, SegmentFilter::AtRisk, modelled);
    let high_value = select(&all.customers, SegmentFilter::HighValue, modelled);
    CustomersCard {
        known: all.customers.len(),
        answered_by: match all.model_version {
            Some(v) => format!("customer model version {v}"),
            None => "the restaurant's base rate (no customer model yet)".into(),
        },
        holdout: all
            .holdout
            .as_ref()
            .map(|h| {
                format!(
                    "On the last 60 days held out, its churn probabilities scored a Brier score of {:.3} against {:.3} for the base rate ({} customers).",
                    h.brier, h.base_rate_brier, h.customers
                )
            })
            .unwrap_or_default(),
        at_risk_total: at_risk.len(),
        at_risk: at_risk.iter().take(8).map(row).collect(),
        high_value: high_value.iter().take(8).map(row).collect(),
    }
}
