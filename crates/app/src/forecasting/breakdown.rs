//! Demand per menu item and per category, top-down: the restaurant's forecast (its chosen model, with
//! its intervals) split by what each item (or category) made up of the orders on the same local weekday
//! (and hour) over the 8 weeks before. Item series are sparse and short; the restaurant series is the
//! one with enough signal to choose and fit a model, and historical proportions are the standard way
//! down a hierarchy (Hyndman & Athanasopoulos, Forecasting: Principles and Practice, 11.2).
//! Items are menu items where the order line names one, else the line's name (imported and channel
//! orders); a category is the menu item's category, else "Uncategorised".

use std::collections::HashMap;

use brigade_forecast::Granularity;
use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use sea_orm::{ColumnTrait, EntityTrait, JoinType, QueryFilter, QuerySelect, RelationTrait};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::predict::DemandAnswer;
use crate::entities::{menu_categories, menu_items, order_items, orders};
use crate::http::error::ApiError;
use crate::state::AppState;

/// Weeks of order lines the proportions are taken from.
pub const SHARE_WEEKS: i64 = 8;
/// At most this many items (or categories), the largest first.
pub const MAX_SERIES: usize = 50;

/// One forecast step of an item or category: expected quantity.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BreakdownPoint {
    pub start: DateTime<Utc>,
    pub predicted: f64,
    pub lower_80: f64,
    pub upper_80: f64,
    pub lower_95: f64,
    pub upper_95: f64,
}

/// The forecast of one menu item or category.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BreakdownSeries {
    pub name: String,
    /// The menu item or category, when the order lines name one.
    pub id: Option<Uuid>,
    /// Quantity sold in the 8 weeks the proportions come from.
    pub quantity_history: i64,
    /// Expected quantity over the whole horizon.
    pub total_predicted: f64,
    pub points: Vec<BreakdownPoint>,
}

/// A menu item or category: its id when the order lines name one, and its name.
type SeriesKey = (Option<Uuid>, String);

/// Which level the breakdown is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Item,
    Category,
}

/// The slot of a local instant that proportions are kept by: the weekday (daily) or weekday and hour.
fn slot(g: Granularity, local: chrono::NaiveDateTime) -> usize {
    let weekday = local.weekday().num_days_from_monday() as usize;
    match g {
        Granularity::Daily => weekday,
        Granularity::Hourly => weekday * 24 + local.hour() as usize,
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Splits a restaurant's forecast into items or categories.
pub async fn breakdown(
    state: &AppState,
    answer: &DemandAnswer,
    level: Level,
    before: DateTime<Utc>,
) -> Result<Vec<BreakdownSeries>, ApiError> {
    let restaurant = crate::restaurants::find(state, answer.restaurant_id).await?;
    let tz = crate::restaurants::zone_of(&restaurant);
    let g = answer.granularity;
    let since = before - Duration::weeks(SHARE_WEEKS);
    let in_window = |q: sea_orm::Select<orders::Entity>| {
        q.filter(orders::Column::RestaurantId.eq(answer.restaurant_id))
            .filter(orders::Column::CreatedAt.gte(since))
            .filter(orders::Column::CreatedAt.lt(before))
            .filter(orders::Column::Status.ne("CANCELLED"))
    };
    // Orders per slot: the denominator of every proportion.
    let order_times: Vec<DateTime<Utc>> = in_window(orders::Entity::find())
        .select_only()
        .column(orders::Column::CreatedAt)
        .into_tuple()
        .all(&state.forecast_db)
        .await?;
    let slots = match g {
        Granularity::Daily => 7,
        Granularity::Hourly => 7 * 24,
    };
    let mut orders_in = vec![0f64; slots];
    for at in &order_times {
        orders_in[slot(g, at.with_timezone(&tz).naive_local())] += 1.0;
    }
    let total_orders: f64 = orders_in.iter().sum();
    let lines: Vec<(DateTime<Utc>, Option<Uuid>, String, i32)> = in_window(orders::Entity::find())
        .select_only()
        .column(orders::Column::CreatedAt)
        .column(order_items::Column::MenuItemId)
        .column(order_items::Column::Name)
        .column(order_items::Column::Quantity)
        .join(JoinType::InnerJoin, orders::Relation::Items.def())
        .into_tuple()
        .all(&state.forecast_db)
        .await?;
    let menu: HashMap<Uuid, (Uuid, String)> = if level == Level::Category {
        menu_items::Entity::find()
            .select_only()
            .column(menu_items::Column::Id)
            .column(menu_categories::Column::Id)
            .column(menu_categories::Column::Name)
            .join(JoinType::InnerJoin, menu_items::Relation::Category.def())
            .filter(menu_items::Column::RestaurantId.eq(answer.restaurant_id))
            .into_tuple::<(Uuid, Uuid, String)>()
            .all(&state.forecast_db)
            .await?
            .into_iter()
            .map(|(item, category, name)| (item, (category, name)))
            .collect()
    } else {
        HashMap::new()
    };
    // Quantity per series and slot.
    let mut series: HashMap<SeriesKey, Vec<f64>> = HashMap::new();
    for (at, item, name, quantity) in lines {
        let key = match level {
            Level::Item => (item, name),
            Level::Category => match item.and_then(|i| menu.get(&i)) {
                Some((category, category_name)) => (Some(*category), category_name.clone()),
                None => (None, "Uncategorised".to_string()),
            },
        };
        series.entry(key).or_insert_with(|| vec![0.0; slots])
            [slot(g, at.with_timezone(&tz).naive_local())] += f64::from(quantity.max(0));
    }
    let mut ranked: Vec<(SeriesKey, Vec<f64>)> = series.into_iter().collect();
    ranked.sort_by(|a, b| {
        let (ta, tb): (f64, f64) = (a.1.iter().sum(), b.1.iter().sum());
        tb.total_cmp(&ta).then(a.0.1.cmp(&b.0.1))
    });
    ranked.truncate(MAX_SERIES);
    Ok(ranked
        .into_iter()
        .map(|((id, name), quantities)| {
            let history: f64 = quantities.iter().sum();
            // Units per order in a slot; a slot without orders in the window takes the overall rate.
            let overall = if total_orders > 0.0 {
                history / total_orders
            } else {
                0.0
            };
            let points: Vec<BreakdownPoint> = answer
                .points
                .iter()
                .map(|p| {
                    let s = slot(g, p.start.with_timezone(&tz).naive_local());
                    let rate = if orders_in[s] > 0.0 {
                        quantities[s] / orders_in[s]
                    } else {
                        overall
                    };
                    BreakdownPoint {
                        start: p.start,
                        predicted: round2(p.predicted * rate),
                        lower_80: round2(p.lower_80 * rate),
                        upper_80: round2(p.upper_80 * rate),
                        lower_95: round2(p.lower_95 * rate),
                        upper_95: round2(p.upper_95 * rate),
                    }
                })
                .collect();
            BreakdownSeries {
                name,
                id,
                quantity_history: history as i64,
                total_predicted: round2(points.iter().map(|p| p.predicted).sum()),
                points,
            }
        })
        .collect())
}
