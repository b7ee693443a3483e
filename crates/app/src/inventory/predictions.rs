//! Inventory predictions (seed 003's inventory part, on the forecasting registry): each ingredient's
//! usage forecast is the restaurant's daily demand forecast (its registry version, with the usual
//! fallbacks) split into menu items (`forecasting::breakdown`) times their recipes, its error the
//! forecast's interval together with how much the dish mix moves the ingredient's use per order from
//! day to day (`mix_error`, which the restaurant's forecast cannot see); from it and the
//! stock, `brigade_forecast::inventory` gives days of cover with an interval, the reorder point
//! (lead-time demand plus safety stock from the forecast's error at a service level), the order
//! quantity (EOQ bounded by shelf life and the supplier's minimum, in whole purchase units) and the
//! batches expected to expire before they are used. The reorder summary groups what to order now by
//! supplier, and can be turned into draft purchase orders.

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use brigade_forecast::Granularity;
use brigade_forecast::inventory::{self as maths, Situation};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::fifo::{self, MILLI};
use super::routes::purchasing::{Draft, PurchaseStatus, create_draft};
use super::routes::{Positive, PurchaseLineInput};
use crate::accounts::{AuthUser, MemberRole};
use crate::entities::{
    batches, ingredients, menu_items, order_items, orders, purchase_order_lines, purchase_orders,
    recipe_lines, restaurants, suppliers,
};
use crate::forecasting::breakdown::{self, Level};
use crate::forecasting::predict::{self, FallbackLevel};
use crate::http::envelope::{Envelope, Reply, created, ok};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{ApiJson, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(predict_inventory))
        .routes(routes!(reorder_summary))
        .routes(routes!(draft_orders))
}

/// Defaults of the policy's settings.
const SERVICE_LEVEL: f64 = 0.95;
const HORIZON_DAYS: u32 = 14;
/// What placing one order costs, in the venue's currency, when the request does not say.
const ORDER_COST: f64 = 15.0;
/// The yearly cost of holding stock, as a share of its value.
const HOLDING_RATE: f64 = 0.25;

#[derive(Debug, Clone, Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InventoryRequest {
    pub restaurant_id: Uuid,
    /// One ingredient only (all of the venue's when absent).
    pub ingredient_id: Option<Uuid>,
    /// The share of order cycles that should not run out (default 0.95).
    #[schema(minimum = 0.5, maximum = 0.999)]
    #[param(minimum = 0.5, maximum = 0.999)]
    pub service_level: Option<f64>,
    /// Days of usage forecast (default 14).
    #[schema(minimum = 7, maximum = 28)]
    #[param(minimum = 7, maximum = 28)]
    pub horizon_days: Option<u32>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UsagePoint {
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    /// Expected usage, in the ingredient's unit.
    pub predicted: f64,
    pub lower_80: f64,
    pub upper_80: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExpiryRisk {
    pub batch_id: Uuid,
    pub ingredient_id: Uuid,
    pub ingredient_name: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub expires_on: Option<NaiveDate>,
    #[schema(value_type = String)]
    pub remaining: Decimal,
    /// What the forecast usage will not reach before the batch's day, in the ingredient's unit.
    #[schema(value_type = String)]
    pub expected_waste: Decimal,
    /// Its cost, in the venue's currency.
    #[schema(value_type = String)]
    pub expected_waste_value: Decimal,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IngredientPrediction {
    pub ingredient_id: Uuid,
    pub name: String,
    pub unit: String,
    pub supplier_id: Option<Uuid>,
    #[schema(value_type = String)]
    pub on_hand: Decimal,
    /// On sent and partly received purchase orders, still to come.
    #[schema(value_type = String)]
    pub on_order: Decimal,
    /// On draft purchase orders (counted as coming, so suggestions are not drafted twice).
    #[schema(value_type = String)]
    pub drafted: Decimal,
    /// Expected usage per day, averaged over the horizon.
    pub daily_usage: f64,
    pub usage: Vec<UsagePoint>,
    /// Days until the stock on hand runs out (none: beyond the horizon), with the days it would if
    /// usage ran at the top (earliest) and the bottom (latest) of its 80% interval.
    pub days_of_cover: Option<f64>,
    pub days_of_cover_earliest: Option<f64>,
    pub days_of_cover_latest: Option<f64>,
    #[schema(value_type = Option<String>, format = Date)]
    pub stockout_on: Option<NaiveDate>,
    pub lead_time_days: i32,
    #[schema(value_type = String)]
    pub lead_time_demand: Decimal,
    #[schema(value_type = String)]
    pub safety_stock: Decimal,
    /// Order when on hand plus coming falls to this.
    #[schema(value_type = String)]
    pub reorder_point: Decimal,
    /// The par level the venue set, for comparison.
    #[schema(value_type = Option<String>)]
    pub par_level: Option<Decimal>,
    #[schema(value_type = String)]
    pub economic_order_quantity: Decimal,
    pub reorder_now: bool,
    /// What to order now, in the ingredient's unit (zero when nothing is needed).
    #[schema(value_type = String)]
    pub suggested_quantity: Decimal,
    #[schema(value_type = Option<String>)]
    pub suggested_purchase_units: Option<Decimal>,
    pub purchase_unit: Option<String>,
    #[schema(value_type = String)]
    pub suggested_cost: Decimal,
    /// The supplier's minimum forces more than can be used before it expires.
    pub minimum_exceeds_shelf_life: bool,
    pub expiry_risk: Vec<ExpiryRisk>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InventoryPrediction {
    pub restaurant_id: Uuid,
    pub service_level: f64,
    pub horizon_days: u32,
    pub currency: String,
    /// The demand forecast behind the usage: its method, version and fallback level.
    pub method: String,
    pub model_version: Option<i32>,
    pub fallback_level: Option<FallbackLevel>,
    pub ingredients: Vec<IngredientPrediction>,
    pub generated_at: DateTime<Utc>,
}

fn units(milli: i64) -> f64 {
    milli as f64 / MILLI as f64
}

fn decimal(v: f64) -> Decimal {
    Decimal::from_f64(v)
        .unwrap_or_default()
        .round_dp(3)
        .normalize()
}

fn check(request: &InventoryRequest) -> ApiResult<(f64, u32)> {
    let service_level = request.service_level.unwrap_or(SERVICE_LEVEL);
    if !(0.5..=0.999).contains(&service_level) {
        return Err(ApiError::field(
            "service_level",
            "must be between 0.5 and 0.999",
        ));
    }
    let horizon = request.horizon_days.unwrap_or(HORIZON_DAYS);
    if !(7..=28).contains(&horizon) {
        return Err(ApiError::field("horizon_days", "must be between 7 and 28"));
    }
    Ok((service_level, horizon))
}

/// Each menu item's daily forecast (expected portions and their 95% interval), from the restaurant's
/// demand forecast split by item; None when the restaurant has no order history to forecast from.
struct ItemForecast {
    dates: Vec<NaiveDate>,
    /// Menu item -> per day (predicted, sd).
    items: HashMap<Uuid, Vec<(f64, f64)>>,
    method: String,
    version: Option<i32>,
    level: Option<FallbackLevel>,
}

async fn item_forecast(
    state: &AppState,
    venue: &restaurants::Model,
    horizon: u32,
) -> ApiResult<ItemForecast> {
    let now = state.now();
    let today = super::local_today(venue, now);
    let dates: Vec<NaiveDate> = (0..horizon)
        .map(|d| today + chrono::Days::new(u64::from(d)))
        .collect();
    let answer =
        match predict::demand(state, venue.id, Granularity::Daily, horizon as usize, None).await {
            Ok(answer) => answer,
            // No history to forecast from: nothing is expected to be used.
            Err(e) if e.status == axum::http::StatusCode::UNPROCESSABLE_ENTITY => {
                return Ok(ItemForecast {
                    dates,
                    items: HashMap::new(),
                    method: "none (no order history)".into(),
                    version: None,
                    level: None,
                });
            }
            Err(e) => return Err(e),
        };
    let series = breakdown::breakdown(state, &answer, Level::Item, now).await?;
    let menu = menu_items::Entity::find()
        .filter(menu_items::Column::RestaurantId.eq(venue.id))
        .all(&state.db)
        .await?;
    let matcher = crate::menus::ItemMatcher::new(&menu);
    let dates: Vec<NaiveDate> = answer
        .points
        .iter()
        .map(|p| {
            NaiveDate::parse_from_str(&p.local, "%Y-%m-%d").unwrap_or_else(|_| p.start.date_naive())
        })
        .collect();
    let mut items: HashMap<Uuid, Vec<(f64, f64)>> = HashMap::new();
    for s in series {
        let Some(id) = s.id.or_else(|| matcher.find(&s.name, None)) else {
            continue;
        };
        let days = items
            .entry(id)
            .or_insert_with(|| vec![(0.0, 0.0); dates.len()]);
        for (k, p) in s.points.iter().enumerate().take(dates.len()) {
            days[k].0 += p.predicted;
            // Top-down shares of one forecast move together: their errors add.
            days[k].1 += maths::sd_from_95(p.lower_95, p.upper_95);
        }
    }
    Ok(ItemForecast {
        dates,
        items,
        method: answer.method,
        version: answer.model_version,
        level: Some(answer.fallback_level),
    })
}

/// Thousandths still to come per ingredient on the venue's purchase orders in `statuses`.
async fn coming(
    state: &AppState,
    venue_id: Uuid,
    statuses: &[PurchaseStatus],
) -> ApiResult<HashMap<Uuid, i64>> {
    let orders: Vec<Uuid> = purchase_orders::Entity::find()
        .filter(purchase_orders::Column::RestaurantId.eq(venue_id))
        .filter(
            purchase_orders::Column::Status
                .is_in(statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
        )
        .all(&state.db)
        .await?
        .into_iter()
        .map(|o| o.id)
        .collect();
    let mut out = HashMap::new();
    for line in purchase_order_lines::Entity::find()
        .filter(purchase_order_lines::Column::PurchaseOrderId.is_in(orders))
        .all(&state.db)
        .await?
    {
        *out.entry(line.ingredient_id).or_default() +=
            (line.quantity - line.received_quantity).max(0);
    }
    Ok(out)
}

/// An order line as `mix_error` reads it: order, placed at, menu item, name, quantity.
type OrderLine = (Uuid, DateTime<Utc>, Option<Uuid>, String, i32);

/// Each ingredient's day-to-day error that the restaurant's forecast cannot see: how much of it an
/// order used varies with the mix of dishes. Over the last 8 weeks, per local day, the ingredient's use
/// per order against the mean for that weekday, as a root-mean-square share (0 with under 14 days).
async fn mix_error(
    state: &AppState,
    venue: &restaurants::Model,
    lines: &[recipe_lines::Model],
    now: DateTime<Utc>,
) -> ApiResult<HashMap<Uuid, f64>> {
    use chrono::Datelike;
    use sea_orm::{JoinType, QuerySelect, RelationTrait};
    let mut recipe: HashMap<Uuid, Vec<(Uuid, f64)>> = HashMap::new();
    for line in lines {
        if let Some(item) = line.menu_item_id {
            recipe
                .entry(item)
                .or_default()
                .push((line.ingredient_id, units(line.quantity)));
        }
    }
    if recipe.is_empty() {
        return Ok(HashMap::new());
    }
    let menu = menu_items::Entity::find()
        .filter(menu_items::Column::RestaurantId.eq(venue.id))
        .all(&state.db)
        .await?;
    let matcher = crate::menus::ItemMatcher::new(&menu);
    let rows: Vec<OrderLine> = orders::Entity::find()
        .select_only()
        .column(orders::Column::Id)
        .column(orders::Column::CreatedAt)
        .column(order_items::Column::MenuItemId)
        .column(order_items::Column::Name)
        .column(order_items::Column::Quantity)
        .join(JoinType::InnerJoin, orders::Relation::Items.def())
        .filter(orders::Column::RestaurantId.eq(venue.id))
        .filter(orders::Column::CreatedAt.gte(now - chrono::Duration::weeks(8)))
        .filter(orders::Column::CreatedAt.lt(now))
        .filter(orders::Column::Status.ne("CANCELLED"))
        .into_tuple()
        .all(&state.forecast_db)
        .await?;
    let tz = crate::restaurants::zone_of(venue);
    // Per local day: its orders, and what they used of each ingredient.
    let mut days: BTreeMap<NaiveDate, (std::collections::HashSet<Uuid>, HashMap<Uuid, f64>)> =
        BTreeMap::new();
    for (order, at, item, name, quantity) in rows {
        let day = days.entry(at.with_timezone(&tz).date_naive()).or_default();
        day.0.insert(order);
        let Some(item) = item.or_else(|| matcher.find(&name, None)) else {
            continue;
        };
        for (ingredient, per_portion) in recipe.get(&item).into_iter().flatten() {
            *day.1.entry(*ingredient).or_default() += per_portion * f64::from(quantity.max(0));
        }
    }
    if days.len() < 14 {
        return Ok(HashMap::new());
    }
    let ingredients: std::collections::HashSet<Uuid> =
        recipe.values().flatten().map(|(i, _)| *i).collect();
    let mut out = HashMap::new();
    for ingredient in ingredients {
        let per_order: Vec<(usize, f64)> = days
            .iter()
            .map(|(date, (placed, used))| {
                (
                    date.weekday().num_days_from_monday() as usize,
                    used.get(&ingredient).copied().unwrap_or(0.0) / placed.len() as f64,
                )
            })
            .collect();
        let mut sum = [0.0; 7];
        let mut count = [0.0; 7];
        for (w, r) in &per_order {
            sum[*w] += r;
            count[*w] += 1.0;
        }
        let shares: Vec<f64> = per_order
            .iter()
            .filter_map(|(w, r)| {
                let mean = sum[*w] / count[*w];
                (mean > 0.0).then(|| (r - mean) / mean)
            })
            .collect();
        if shares.len() >= 14 {
            let rms = (shares.iter().map(|x| x * x).sum::<f64>() / shares.len() as f64).sqrt();
            out.insert(ingredient, rms);
        }
    }
    Ok(out)
}

/// The prediction for the venue's ingredients (or one).
pub async fn predict(
    state: &AppState,
    venue: &restaurants::Model,
    ingredient: Option<Uuid>,
    service_level: f64,
    horizon: u32,
) -> ApiResult<InventoryPrediction> {
    let currency = crate::menus::currency_of(venue);
    let mut select = ingredients::Entity::find()
        .filter(ingredients::Column::RestaurantId.eq(venue.id))
        .order_by_asc(ingredients::Column::Name);
    if let Some(id) = ingredient {
        select = select.filter(ingredients::Column::Id.eq(id));
    }
    let rows = select.all(&state.db).await?;
    if ingredient.is_some() && rows.is_empty() {
        return Err(ApiError::not_found("ingredient")
            .with_field("ingredient_id", "is not an ingredient of this restaurant"));
    }
    let ids: Vec<Uuid> = rows.iter().map(|i| i.id).collect();
    let forecast = item_forecast(state, venue, horizon).await?;
    // Ingredient -> per day (usage, sd), from every recipe using it.
    let mut usage: HashMap<Uuid, Vec<(f64, f64)>> = HashMap::new();
    let lines = recipe_lines::Entity::find()
        .filter(recipe_lines::Column::RestaurantId.eq(venue.id))
        .filter(recipe_lines::Column::IngredientId.is_in(ids.clone()))
        .all(&state.db)
        .await?;
    for line in &lines {
        let Some(days) = line.menu_item_id.and_then(|m| forecast.items.get(&m)) else {
            continue;
        };
        let per_portion = units(line.quantity);
        let target = usage
            .entry(line.ingredient_id)
            .or_insert_with(|| vec![(0.0, 0.0); forecast.dates.len()]);
        for (k, (p, sd)) in days.iter().enumerate() {
            target[k].0 += p * per_portion;
            target[k].1 += sd * per_portion;
        }
    }
    let mix = mix_error(state, venue, &lines, state.now()).await?;
    let on_hand = super::on_hand_of(&state.db, ids.clone()).await?;
    let on_order = coming(
        state,
        venue.id,
        &[PurchaseStatus::Sent, PurchaseStatus::PartlyReceived],
    )
    .await?;
    let drafted = coming(state, venue.id, &[PurchaseStatus::Draft]).await?;
    let supplier_rows: HashMap<Uuid, suppliers::Model> = suppliers::Entity::find()
        .filter(suppliers::Column::RestaurantId.eq(venue.id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut lots: HashMap<Uuid, Vec<batches::Model>> = HashMap::new();
    for b in batches::Entity::find()
        .filter(batches::Column::IngredientId.is_in(ids))
        .filter(batches::Column::Remaining.gt(0))
        .all(&state.db)
        .await?
    {
        lots.entry(b.ingredient_id).or_default().push(b);
    }
    let today = super::local_today(venue, state.now());
    let z80 = maths::z_of(0.9);
    let mut out = Vec::with_capacity(rows.len());
    for i in rows {
        let days = usage
            .remove(&i.id)
            .unwrap_or_else(|| vec![(0.0, 0.0); forecast.dates.len()]);
        let mean: Vec<f64> = days.iter().map(|d| d.0).collect();
        // The restaurant forecast's error and the dish mix's, independent of each other.
        let share = mix.get(&i.id).copied().unwrap_or(0.0);
        let sd: Vec<f64> = days
            .iter()
            .map(|d| (d.1 * d.1 + (share * d.0).powi(2)).sqrt())
            .collect();
        let held = on_hand.get(&i.id).copied().unwrap_or(0);
        let ordered = on_order.get(&i.id).copied().unwrap_or(0);
        let planned = drafted.get(&i.id).copied().unwrap_or(0);
        let supplier = i.supplier_id.and_then(|s| supplier_rows.get(&s));
        let unit_cost = i.unit_cost_micros as f64 / fifo::MICRO as f64;
        let advice = maths::advise(&Situation {
            on_hand: units(held),
            on_order: units(ordered + planned),
            usage: mean.clone(),
            usage_sd: sd.clone(),
            lead_time_days: supplier.map_or(2, |s| s.lead_time_days.max(0) as u32),
            review_days: 1,
            service_level,
            unit_cost,
            order_cost: ORDER_COST,
            holding_rate: HOLDING_RATE,
            shelf_life_days: i.shelf_life_days.map(|d| d.max(1) as u32),
            min_order_quantity: match supplier {
                Some(s) if unit_cost > 0.0 => {
                    currency
                        .from_minor(s.min_order_minor)
                        .to_f64()
                        .unwrap_or(0.0)
                        / unit_cost
                }
                _ => 0.0,
            },
            // Whole purchase units; whole pieces of what is counted in pieces.
            pack: if i.purchase_unit.is_some() {
                units(i.purchase_factor)
            } else if i.unit == "each" {
                1.0
            } else {
                0.0
            },
        });
        let suggested = (advice.order_quantity * MILLI as f64).ceil() as i64;
        // Batches past their day are waste already; the rest in the order FIFO takes them.
        let item_lots = lots.remove(&i.id).unwrap_or_default();
        let (expired, fresh): (Vec<&batches::Model>, Vec<&batches::Model>) = item_lots
            .iter()
            .partition(|b| b.expires_on.is_some_and(|e| e < today));
        let mut fresh = fresh;
        fresh.sort_by_key(|b| (b.received_at, b.id));
        let risk_input: Vec<maths::Lot> = fresh
            .iter()
            .map(|b| maths::Lot {
                remaining: units(b.remaining),
                expires_in_days: b.expires_on.map(|e| (e - today).num_days().max(0) as u32),
            })
            .collect();
        let wasted = maths::expiry_risk(&risk_input, &mean);
        let risk = |b: &batches::Model, waste: i64| ExpiryRisk {
            batch_id: b.id,
            ingredient_id: i.id,
            ingredient_name: i.name.clone(),
            expires_on: b.expires_on,
            remaining: super::routes::quantity(b.remaining),
            expected_waste: super::routes::quantity(waste),
            expected_waste_value: super::routes::money_in(
                currency,
                fifo::value_nanos(waste, b.unit_cost_micros),
            ),
        };
        let mut expiry_risk: Vec<ExpiryRisk> =
            expired.iter().map(|b| risk(b, b.remaining)).collect();
        for (b, w) in fresh.iter().zip(wasted) {
            let waste = ((w * MILLI as f64).round() as i64).min(b.remaining);
            if waste > 0 {
                expiry_risk.push(risk(b, waste));
            }
        }
        let usage_points = forecast
            .dates
            .iter()
            .zip(mean.iter().zip(&sd))
            .map(|(date, (m, s))| UsagePoint {
                date: *date,
                predicted: (m * 1000.0).round() / 1000.0,
                lower_80: ((m - z80 * s).max(0.0) * 1000.0).round() / 1000.0,
                upper_80: ((m + z80 * s) * 1000.0).round() / 1000.0,
            })
            .collect();
        let cover = advice.cover;
        out.push(IngredientPrediction {
            ingredient_id: i.id,
            name: i.name.clone(),
            unit: i.unit.clone(),
            supplier_id: i.supplier_id,
            on_hand: super::routes::quantity(held),
            on_order: super::routes::quantity(ordered),
            drafted: super::routes::quantity(planned),
            daily_usage: (mean.iter().sum::<f64>() / mean.len().max(1) as f64 * 1000.0).round()
                / 1000.0,
            usage: usage_points,
            days_of_cover: cover.days.map(|d| (d * 10.0).round() / 10.0),
            days_of_cover_earliest: cover.earliest.map(|d| (d * 10.0).round() / 10.0),
            days_of_cover_latest: cover.latest.map(|d| (d * 10.0).round() / 10.0),
            stockout_on: cover
                .days
                .map(|d| today + chrono::Days::new(d.floor() as u64)),
            lead_time_days: supplier.map_or(2, |s| s.lead_time_days),
            lead_time_demand: decimal(advice.lead_time_demand),
            safety_stock: decimal(advice.safety_stock),
            reorder_point: decimal(advice.reorder_point),
            par_level: i.par_level.map(super::routes::quantity),
            economic_order_quantity: decimal(advice.eoq),
            reorder_now: suggested > 0,
            suggested_quantity: super::routes::quantity(suggested),
            suggested_purchase_units: (i.purchase_unit.is_some() && i.purchase_factor > 0).then(
                || {
                    (Decimal::from(suggested) / Decimal::from(i.purchase_factor))
                        .round_dp(3)
                        .normalize()
                },
            ),
            purchase_unit: i.purchase_unit.clone(),
            suggested_cost: super::routes::money_in(
                currency,
                fifo::value_nanos(suggested, i.unit_cost_micros),
            ),
            minimum_exceeds_shelf_life: advice.minimum_exceeds_shelf_life,
            expiry_risk,
        });
    }
    // What must be ordered first comes first: the soonest stock-out, then by name.
    out.sort_by(|a, b| {
        b.reorder_now
            .cmp(&a.reorder_now)
            .then(
                a.days_of_cover
                    .unwrap_or(f64::INFINITY)
                    .total_cmp(&b.days_of_cover.unwrap_or(f64::INFINITY)),
            )
            .then(a.name.cmp(&b.name))
    });
    Ok(InventoryPrediction {
        restaurant_id: venue.id,
        service_level,
        horizon_days: horizon,
        currency: currency.code.to_string(),
        method: forecast.method,
        model_version: forecast.version,
        fallback_level: forecast.level,
        ingredients: out,
        generated_at: state.now(),
    })
}

async fn venue_for(
    state: &AppState,
    me: &crate::accounts::Principal,
    restaurant_id: Uuid,
) -> ApiResult<restaurants::Model> {
    crate::forecasting::require_access(state, me, restaurant_id).await?;
    crate::restaurants::find(state, restaurant_id)
        .await
        .map_err(|_| ApiError::not_found("restaurant"))
}

/// Stock predictions per ingredient: usage forecast, days of cover, reorder point, suggested order and
/// expiry risk (administrators, the restaurant's KAM, its staff).
#[utoipa::path(post, path = "/api/predictions/inventory", tag = "predictions", security(("bearer" = []), ("api_key" = ["analytics:read"])),
    request_body(content = InventoryRequest, example = json!({"restaurant_id": "0190c8a2-7d5e-7cc1-9a8e-3f1b2c4d5e6f", "service_level": 0.95})),
    responses(
        (status = 200, description = "The prediction", body = Envelope<InventoryPrediction>),
        (status = 404, description = "No such restaurant or ingredient (or not yours)", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn predict_inventory(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiJson(request): ApiJson<InventoryRequest>,
) -> ApiResult<Reply<InventoryPrediction>> {
    let (service_level, horizon) = check(&request)?;
    let venue = venue_for(&state, &me, request.restaurant_id).await?;
    Ok(ok(predict(
        &state,
        &venue,
        request.ingredient_id,
        service_level,
        horizon,
    )
    .await?))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReorderLine {
    pub ingredient_id: Uuid,
    pub name: String,
    pub unit: String,
    #[schema(value_type = String)]
    pub on_hand: Decimal,
    #[schema(value_type = String)]
    pub reorder_point: Decimal,
    #[schema(value_type = String)]
    pub quantity: Decimal,
    #[schema(value_type = Option<String>)]
    pub purchase_units: Option<Decimal>,
    pub purchase_unit: Option<String>,
    #[schema(value_type = String)]
    pub cost: Decimal,
    pub days_of_cover: Option<f64>,
    #[schema(value_type = Option<String>, format = Date)]
    pub stockout_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SupplierReorder {
    /// None: ingredients with no supplier (order them by hand, or give them one).
    pub supplier_id: Option<Uuid>,
    pub supplier_name: Option<String>,
    pub lines: Vec<ReorderLine>,
    #[schema(value_type = String)]
    pub total: Decimal,
    #[schema(value_type = Option<String>)]
    pub min_order: Option<Decimal>,
    pub below_minimum: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReorderSummary {
    pub restaurant_id: Uuid,
    pub currency: String,
    pub service_level: f64,
    /// What to order now, per supplier.
    pub suppliers: Vec<SupplierReorder>,
    #[schema(value_type = String)]
    pub total: Decimal,
    /// Ingredients that will run out within their supplier's lead time even if ordered now.
    pub at_risk_of_stockout: Vec<Uuid>,
    /// Batches expected to expire before they are used, soonest first.
    pub expiring: Vec<ExpiryRisk>,
    /// The demand forecast behind it.
    pub method: String,
    pub generated_at: DateTime<Utc>,
}

async fn summary(
    state: &AppState,
    venue: &restaurants::Model,
    service_level: f64,
    horizon: u32,
) -> ApiResult<ReorderSummary> {
    let prediction = predict(state, venue, None, service_level, horizon).await?;
    let currency = crate::menus::currency_of(venue);
    let names: HashMap<Uuid, suppliers::Model> = suppliers::Entity::find()
        .filter(suppliers::Column::RestaurantId.eq(venue.id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut groups: BTreeMap<Option<Uuid>, Vec<ReorderLine>> = BTreeMap::new();
    let mut at_risk = Vec::new();
    let mut expiring = Vec::new();
    for p in prediction.ingredients {
        if p.days_of_cover
            .is_some_and(|d| d < f64::from(p.lead_time_days.max(0)))
        {
            at_risk.push(p.ingredient_id);
        }
        expiring.extend(p.expiry_risk);
        if !p.reorder_now {
            continue;
        }
        groups.entry(p.supplier_id).or_default().push(ReorderLine {
            ingredient_id: p.ingredient_id,
            name: p.name,
            unit: p.unit,
            on_hand: p.on_hand,
            reorder_point: p.reorder_point,
            quantity: p.suggested_quantity,
            purchase_units: p.suggested_purchase_units,
            purchase_unit: p.purchase_unit,
            cost: p.suggested_cost,
            days_of_cover: p.days_of_cover,
            stockout_on: p.stockout_on,
        });
    }
    expiring.sort_by_key(|e| e.expires_on);
    let mut total = Decimal::ZERO;
    let suppliers = groups
        .into_iter()
        .map(|(id, lines)| {
            let sum: Decimal = lines.iter().map(|l| l.cost).sum();
            total += sum;
            let supplier = id.and_then(|id| names.get(&id));
            let min_order = supplier.map(|s| currency.from_minor(s.min_order_minor));
            SupplierReorder {
                supplier_id: id,
                supplier_name: supplier.map(|s| s.name.clone()),
                lines,
                total: sum,
                below_minimum: min_order.is_some_and(|m| sum < m),
                min_order,
            }
        })
        .collect();
    total.rescale(currency.exponent);
    Ok(ReorderSummary {
        restaurant_id: venue.id,
        currency: currency.code.to_string(),
        service_level,
        suppliers,
        total,
        at_risk_of_stockout: at_risk,
        expiring,
        method: prediction.method,
        generated_at: prediction.generated_at,
    })
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReorderQuery {
    pub restaurant_id: Uuid,
    /// The share of order cycles that should not run out (default 0.95).
    #[param(minimum = 0.5, maximum = 0.999)]
    pub service_level: Option<f64>,
}

/// What to order now, per supplier, and what is about to expire: the reorder summary.
#[utoipa::path(get, path = "/api/predictions/inventory/reorder", tag = "predictions", security(("bearer" = []), ("api_key" = ["analytics:read"])),
    params(ReorderQuery),
    responses(
        (status = 200, description = "The reorder summary", body = Envelope<ReorderSummary>),
        (status = 404, description = "No such restaurant (or not yours)", body = ErrorBody),
        (status = 422, description = "Invalid parameters", body = ErrorBody),
    ))]
async fn reorder_summary(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(query): ApiQuery<ReorderQuery>,
) -> ApiResult<Reply<ReorderSummary>> {
    let (service_level, horizon) = check(&InventoryRequest {
        restaurant_id: query.restaurant_id,
        ingredient_id: None,
        service_level: query.service_level,
        horizon_days: None,
    })?;
    let venue = venue_for(&state, &me, query.restaurant_id).await?;
    Ok(ok(summary(&state, &venue, service_level, horizon).await?))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftOrdersRequest {
    pub restaurant_id: Uuid,
    #[schema(minimum = 0.5, maximum = 0.999)]
    pub service_level: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DraftOrdersAnswer {
    /// The drafts made, one per supplier.
    pub purchase_orders: Vec<Uuid>,
    /// Ingredients to order that have no supplier, left for the manager.
    pub without_supplier: Vec<Uuid>,
}

/// Turn the reorder summary into draft purchase orders, one per supplier (venue manager or admin).
/// What is drafted counts as coming, so asking again drafts nothing twice.
#[utoipa::path(post, path = "/api/predictions/inventory/draft-orders", tag = "predictions", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    request_body(content = DraftOrdersRequest, example = json!({"restaurant_id": "0190c8a2-7d5e-7cc1-9a8e-3f1b2c4d5e6f"})),
    responses(
        (status = 201, description = "Drafts made", body = Envelope<DraftOrdersAnswer>),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 404, description = "No such restaurant", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn draft_orders(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiJson(request): ApiJson<DraftOrdersRequest>,
) -> ApiResult<Reply<DraftOrdersAnswer>> {
    let (service_level, horizon) = check(&InventoryRequest {
        restaurant_id: request.restaurant_id,
        ingredient_id: None,
        service_level: request.service_level,
        horizon_days: None,
    })?;
    let venue =
        crate::restaurants::team_venue(&state, &me, request.restaurant_id, MemberRole::Manager)
            .await?;
    let plan = summary(&state, &venue, service_level, horizon).await?;
    let now = state.now();
    let mut made = Vec::new();
    let mut without_supplier = Vec::new();
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    for group in &plan.suppliers {
        let Some(supplier) = group.supplier_id else {
            without_supplier.extend(group.lines.iter().map(|l| l.ingredient_id));
            continue;
        };
        let lines: Vec<PurchaseLineInput> = group
            .lines
            .iter()
            .take(50)
            .filter_map(|l| {
                Some(PurchaseLineInput {
                    ingredient_id: l.ingredient_id,
                    quantity: Positive::parse(&l.quantity.to_string()).ok()?,
                    unit_cost: None,
                })
            })
            .collect();
        if lines.is_empty() {
            continue;
        }
        let draft = Draft {
            supplier_id: supplier,
            lines: &lines,
            note: Some(format!(
                "Suggested by Brigade's reorder forecast at a {:.0}% service level.",
                service_level * 100.0
            )),
            expected_on: None,
        };
        let order = create_draft(&txn, venue.id, draft, Some(me.user_id), now).await?;
        made.push(order.id);
    }
    txn.commit().await?;
    drop(turn);
    let message = match made.len() {
        0 => "nothing to order now".to_string(),
        n => format!("{n} draft purchase order(s) to check and send"),
    };
    Ok(created(DraftOrdersAnswer {
        purchase_orders: made,
        without_supplier,
    })
    .message(message))
}
