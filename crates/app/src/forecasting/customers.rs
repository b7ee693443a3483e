//! Customer predictions per restaurant: RFM segments, the probability of no order within 60 days
//! (churn), and the orders and value expected within a year (BG/NBD with Gamma-Gamma, fitted by
//! `brigade-forecast`). Customers are QR ordering accounts and delivery-channel customers (known by
//! phone) alike; a restaurant's customers are those who ordered from it in the last two years.
//!
//! A trained version (kind `customer`, series `bgnbd`) is scored by the Brier score of its churn
//! probabilities on the last 60 days held out, and promoted only when that beats the latest. Answers
//! come from the latest version, else the previous one, else the restaurant's base rate (`average`),
//! and are cached for 24 hours (the seed's TTL) under the registry's epoch, so a promotion or rollback
//! is seen at once.

use std::collections::{HashMap, HashSet};
use std::time::{Duration as StdDuration, Instant};

use brigade_forecast::customers::{self as cm, CustomerModel, CustomerScore, Purchases};
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::predict::FallbackLevel;
use super::registry;
use crate::entities::{channel_orders, customers, orders, users};
use crate::http::error::ApiError;
use crate::money::Currency;
use crate::state::AppState;

pub const CUSTOMER: &str = "customer";
pub const SERIES: &str = "bgnbd";
/// No order within this many days is churn.
pub const CHURN_DAYS: i64 = 60;
/// Expected orders and value are for this many days ahead.
pub const VALUE_DAYS: i64 = 365;
/// The history a restaurant's customers are read from.
pub const HISTORY_DAYS: i64 = 730;
const CUSTOMER_TTL: StdDuration = StdDuration::from_secs(24 * 3600);
const SECONDS_PER_DAY: f64 = 86_400.0;

/// Who a customer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerKind {
    /// A QR ordering account.
    Account,
    /// A delivery-channel customer, known by phone number.
    Phone,
}

/// The purchases of a restaurant's customers before an instant.
struct History {
    currency: Currency,
    /// Days are counted from this instant.
    origin: DateTime<Utc>,
    end: f64,
    ids: Vec<(Uuid, CustomerKind)>,
    purchases: Vec<Purchases>,
    fingerprint: String,
    first: Option<DateTime<Utc>>,
}

impl History {
    fn instant(&self, day: f64) -> DateTime<Utc> {
        self.origin + Duration::milliseconds((day * SECONDS_PER_DAY * 1000.0).round() as i64)
    }
}

/// Reads the orders of the restaurant's known customers in the two years up to `before` (cancelled
/// orders excepted): QR orders by account, channel orders by the phone customer they name.
async fn history(
    state: &AppState,
    restaurant_id: Uuid,
    before: DateTime<Utc>,
) -> Result<History, ApiError> {
    let restaurant = crate::restaurants::find(state, restaurant_id).await?;
    let currency = Currency::parse(&restaurant.currency)
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    let origin = before - Duration::days(HISTORY_DAYS);
    let in_window = |q: sea_orm::Select<orders::Entity>| {
        q.filter(orders::Column::RestaurantId.eq(restaurant_id))
            .filter(orders::Column::CreatedAt.gte(origin))
            .filter(orders::Column::CreatedAt.lte(before))
            .filter(orders::Column::Status.ne("CANCELLED"))
    };
    let channel_ids = Query::select()
        .column(orders::Column::Id)
        .from(orders::Entity)
        .and_where(orders::Column::RestaurantId.eq(restaurant_id))
        .and_where(orders::Column::CreatedAt.gte(origin))
        .and_where(orders::Column::CreatedAt.lte(before))
        .and_where(orders::Column::Status.ne("CANCELLED"))
        .to_owned();
    let channel: HashMap<Uuid, (Uuid, bool)> = channel_orders::Entity::find()
        .select_only()
        .columns([
            channel_orders::Column::OrderId,
            channel_orders::Column::CustomerId,
            channel_orders::Column::ValueKnown,
        ])
        .filter(channel_orders::Column::CustomerId.is_not_null())
        .filter(channel_orders::Column::OrderId.in_subquery(channel_ids))
        .into_tuple::<(Uuid, Uuid, bool)>()
        .all(&state.forecast_db)
        .await?
        .into_iter()
        .map(|(order, customer, known)| (order, (customer, known)))
        .collect();
    // One read of the window's orders: an account's, or a channel order whose phone customer is known.
    let placed: Vec<(Uuid, Option<Uuid>, DateTime<Utc>, i64)> = in_window(orders::Entity::find())
        .select_only()
        .columns([
            orders::Column::Id,
            orders::Column::CustomerId,
            orders::Column::CreatedAt,
            orders::Column::TotalMinor,
        ])
        .filter(
            sea_orm::Condition::any()
                .add(orders::Column::CustomerId.is_not_null())
                .add(orders::Column::Source.eq("channel")),
        )
        .into_tuple()
        .all(&state.forecast_db)
        .await?;
    let day =
        |at: DateTime<Utc>| (at - origin).num_milliseconds() as f64 / 1000.0 / SECONDS_PER_DAY;
    let mut index: HashMap<(Uuid, CustomerKind), usize> = HashMap::new();
    let mut ids = Vec::new();
    let mut purchases: Vec<Purchases> = Vec::new();
    let mut first: Option<DateTime<Utc>> = None;
    let mut add = |customer: (Uuid, CustomerKind), at: DateTime<Utc>, value: f64| {
        let i = *index.entry(customer).or_insert_with(|| {
            ids.push(customer);
            purchases.push(Vec::new());
            ids.len() - 1
        });
        purchases[i].push((day(at), value));
        first = Some(first.map_or(at, |f| f.min(at)));
    };
    for (order, account, at, total) in placed {
        if let Some(account) = account {
            add((account, CustomerKind::Account), at, total as f64);
        } else if let Some((customer, known)) = channel.get(&order) {
            let value = if *known { total as f64 } else { f64::NAN };
            add((*customer, CustomerKind::Phone), at, value);
        }
    }
    // The fingerprint of what a model would be trained on, independent of row order.
    let mut lines: Vec<String> = ids
        .iter()
        .zip(&purchases)
        .map(|((id, _), p)| {
            let mut p = p.clone();
            p.sort_by(|a, b| a.0.total_cmp(&b.0));
            format!("{id}:{p:?}")
        })
        .collect();
    lines.sort();
    let mut hash = Sha256::new();
    for line in &lines {
        hash.update(line.as_bytes());
    }
    Ok(History {
        currency,
        origin,
        end: HISTORY_DAYS as f64,
        ids,
        purchases,
        fingerprint: hex::encode(hash.finalize()),
        first,
    })
}

/// How the latest version's churn probabilities did on the last 60 days held out.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HoldoutView {
    /// Customers who had ordered before the held-out days.
    pub customers: usize,
    /// Of them, those who did not order in the held-out days.
    pub churned: usize,
    /// The Brier score of the model's churn probabilities (lower is better)...
    pub brier: f64,
    /// ...against predicting the share that churned for everyone.
    pub base_rate: f64,
    pub base_rate_brier: f64,
}

impl From<&cm::Holdout> for HoldoutView {
    fn from(h: &cm::Holdout) -> Self {
        HoldoutView {
            customers: h.customers,
            churned: h.churned,
            brier: h.brier,
            base_rate: h.base_rate,
            base_rate_brier: h.base_rate_brier,
        }
    }
}

/// RFM scores, 1-5, 5 best.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct RfmView {
    pub recency: u8,
    pub frequency: u8,
    pub monetary: u8,
}

/// What Brigade expects of one customer at one restaurant.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CustomerPrediction {
    pub customer_id: Uuid,
    pub customer_kind: CustomerKind,
    /// The account holder's name, or the phone number with all but its last 4 digits hidden.
    pub label: String,
    pub orders: usize,
    pub first_order_at: DateTime<Utc>,
    pub last_order_at: DateTime<Utc>,
    pub days_since_last_order: f64,
    /// The total of the orders whose value is known, in the restaurant's currency.
    #[schema(value_type = String, example = "184.50")]
    pub total_spent: Decimal,
    pub rfm: RfmView,
    /// champions, loyal, new, promising, at_risk or hibernating (by RFM).
    pub segment: String,
    /// The probability the customer is still a customer (none without a model).
    pub p_alive: Option<f64>,
    /// The probability of no order within 60 days.
    pub churn_probability: f64,
    /// Orders expected within 365 days.
    pub expected_orders_365d: Option<f64>,
    /// The expected value of one future order.
    #[schema(value_type = Option<String>, example = "23.10")]
    pub expected_order_value: Option<Decimal>,
    /// The value expected within 365 days (expected orders x expected order value).
    #[schema(value_type = Option<String>, example = "310.00")]
    pub expected_value_365d: Option<Decimal>,
}

/// Every known customer of a restaurant, as one answer computes and caches them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RestaurantCustomers {
    pub restaurant_id: Uuid,
    pub currency: String,
    /// Highest expected value first (spend, without a model).
    pub customers: Vec<CustomerPrediction>,
    pub model_version: Option<i32>,
    pub model_id: Option<Uuid>,
    pub fallback_level: FallbackLevel,
    pub holdout: Option<HoldoutView>,
    /// The share of customers who did not come back within 60 days, the last time that could be seen.
    pub base_rate: Option<f64>,
    pub generated_at: DateTime<Utc>,
}

fn failed(level: FallbackLevel, restaurant: Uuid, reason: &str) {
    tracing::warn!(%restaurant, level = level.as_str(), reason, "customer prediction level failed, falling back");
    metrics::counter!("brigade_forecast_fallbacks_total", "kind" => CUSTOMER, "level" => level.as_str())
        .increment(1);
}

/// The phone number with all but its last 4 digits hidden.
fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(|c| c.is_ascii_digit()).collect();
    let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("phone ...{tail}")
}

/// Names of the customers, by id.
async fn labels(
    state: &AppState,
    ids: &[(Uuid, CustomerKind)],
) -> Result<HashMap<Uuid, String>, ApiError> {
    let mut out = HashMap::new();
    let accounts: Vec<Uuid> = ids
        .iter()
        .filter(|c| c.1 == CustomerKind::Account)
        .map(|c| c.0)
        .collect();
    let phones: Vec<Uuid> = ids
        .iter()
        .filter(|c| c.1 == CustomerKind::Phone)
        .map(|c| c.0)
        .collect();
    for chunk in accounts.chunks(1000) {
        let rows: Vec<(Uuid, String, String)> = users::Entity::find()
            .select_only()
            .columns([
                users::Column::Id,
                users::Column::FirstName,
                users::Column::LastName,
            ])
            .filter(users::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(&state.forecast_db)
            .await?;
        for (id, first, last) in rows {
            out.insert(id, format!("{first} {last}").trim().to_string());
        }
    }
    for chunk in phones.chunks(1000) {
        let rows: Vec<(Uuid, String, Option<String>)> = customers::Entity::find()
            .select_only()
            .columns([
                customers::Column::Id,
                customers::Column::Phone,
                customers::Column::Name,
            ])
            .filter(customers::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(&state.forecast_db)
            .await?;
        for (id, phone, name) in rows {
            let masked = mask_phone(&phone);
            out.insert(
                id,
                match name.filter(|n| !n.trim().is_empty()) {
                    Some(name) => format!("{} ({masked})", name.trim()),
                    None => masked,
                },
            );
        }
    }
    Ok(out)
}

/// Scores every customer of a restaurant now with the fallback chain (not cached).
async fn compute(
    state: &AppState,
    restaurant_id: Uuid,
    pointer: registry::Pointer,
) -> Result<RestaurantCustomers, ApiError> {
    let now = state.now();
    let history = history(state, restaurant_id, now).await?;
    let mut chosen = None;
    for (level, id) in [
        (FallbackLevel::Latest, pointer.latest),
        (FallbackLevel::Previous, pointer.previous),
    ] {
        let Some(id) = id else {
            if level == FallbackLevel::Latest {
                failed(level, restaurant_id, "no trained version");
            }
            continue;
        };
        match registry::load::<CustomerModel>(state, id).await {
            Ok((model, version)) => {
                chosen = Some((model, version, id, level));
                break;
            }
            Err(reason) => failed(level, restaurant_id, &reason),
        }
    }
    let purchases = history.purchases.clone();
    let end = history.end;
    let (scores, model_version, model_id, level, holdout, base_rate) = match chosen {
        Some((model, version, id, level)) => {
            let holdout = model.holdout.as_ref().map(HoldoutView::from);
            let base_rate = model.holdout.as_ref().map(|h| h.base_rate);
            let scores = tokio::task::spawn_blocking(move || model.score(&purchases, end))
                .await
                .map_err(ApiError::internal)?;
            (scores, Some(version), Some(id), level, holdout, base_rate)
        }
        None => {
            let (rate, scores) = tokio::task::spawn_blocking(move || {
                cm::base_rate_scores(&purchases, end, CHURN_DAYS as f64)
            })
            .await
            .map_err(ApiError::internal)?;
            (scores, None, None, FallbackLevel::Average, None, rate)
        }
    };
    let names = labels(state, &history.ids).await?;
    let money = |minor: f64| history.currency.from_minor(minor.round() as i64);
    let mut customers: Vec<CustomerPrediction> = history
        .ids
        .iter()
        .zip(scores)
        .filter_map(|((id, kind), score)| {
            let s: CustomerScore = score?;
            Some(CustomerPrediction {
                customer_id: *id,
                customer_kind: *kind,
                label: names.get(id).cloned().unwrap_or_else(|| id.to_string()),
                orders: s.orders,
                first_order_at: history.instant(s.first_day),
                last_order_at: history.instant(s.last_day),
                days_since_last_order: (s.days_since_last * 10.0).round() / 10.0,
                total_spent: money(s.spend),
                rfm: RfmView {
                    recency: s.rfm.recency,
                    frequency: s.rfm.frequency,
                    monetary: s.rfm.monetary,
                },
                segment: s.segment.name().to_string(),
                p_alive: s.p_alive.map(round3),
                churn_probability: round3(s.churn_probability),
                expected_orders_365d: s.expected_orders.map(|v| (v * 100.0).round() / 100.0),
                expected_order_value: s.expected_order_value.map(money),
                expected_value_365d: s.expected_value.map(money),
            })
        })
        .collect();
    customers.sort_by(|a, b| {
        b.expected_value_365d
            .cmp(&a.expected_value_365d)
            .then(b.total_spent.cmp(&a.total_spent))
            .then(a.customer_id.cmp(&b.customer_id))
    });
    Ok(RestaurantCustomers {
        restaurant_id,
        currency: history.currency.code.to_string(),
        customers,
        model_version,
        model_id,
        fallback_level: level,
        holdout,
        base_rate: base_rate.map(round3),
        generated_at: now,
    })
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Every customer of a restaurant with their predictions (cached 24 hours), and whether it was cached.
pub async fn restaurant_customers(
    state: &AppState,
    restaurant_id: Uuid,
) -> Result<(std::sync::Arc<RestaurantCustomers>, bool), ApiError> {
    let pointer = registry::pointer(state, CUSTOMER, Some(restaurant_id), SERIES).await?;
    let key = format!(
        "forecast:v1:customers:{restaurant_id}:{}:{}",
        pointer.epoch,
        state.now().format("%Y%m%d")
    );
    if let Some(hit) =
        brigade_platform::cache::get_json_shared::<RestaurantCustomers>(state.cache.as_ref(), &key)
            .await
    {
        metrics::counter!("brigade_forecast_predictions_total", "kind" => CUSTOMER, "cached" => "true").increment(1);
        return Ok((hit, true));
    }
    let answer = compute(state, restaurant_id, pointer).await?;
    metrics::counter!("brigade_forecast_predictions_total", "kind" => CUSTOMER, "cached" => "false")
        .increment(1);
    brigade_platform::cache::set_json(state.cache.as_ref(), &key, &answer, CUSTOMER_TTL).await;
    Ok((std::sync::Arc::new(answer), false))
}

/// Which customers a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SegmentFilter {
    /// Customers who ordered more than once and have probably stopped (churn probability at least
    /// 0.5 by the customer model; without one, those RFM calls at risk); the biggest spenders first.
    AtRisk,
    /// The fifth of customers with the highest expected value within a year (highest spend without a
    /// model).
    HighValue,
    Champions,
    Loyal,
    New,
    Promising,
    Hibernating,
    /// Everyone, highest expected value first.
    All,
}

/// Picks a list out of a restaurant's customers (`modelled`: a customer model answered, so churn
/// probabilities are each customer's own rather than the base rate).
pub fn select(
    all: &[CustomerPrediction],
    segment: SegmentFilter,
    modelled: bool,
) -> Vec<CustomerPrediction> {
    let by_name = |name: &str| -> Vec<CustomerPrediction> {
        all.iter().filter(|c| c.segment == name).cloned().collect()
    };
    match segment {
        SegmentFilter::AtRisk => {
            let mut list: Vec<CustomerPrediction> = all
                .iter()
                .filter(|c| {
                    c.orders > 1
                        && if modelled {
                            c.churn_probability >= 0.5
                        } else {
                            c.segment == cm::Segment::AtRisk.name()
                        }
                })
                .cloned()
                .collect();
            list.sort_by(|a, b| {
                b.total_spent
                    .cmp(&a.total_spent)
                    .then(a.customer_id.cmp(&b.customer_id))
            });
            list
        }
        SegmentFilter::HighValue => {
            let n = all.len().div_ceil(5);
            // `all` is ordered by expected value (spend without a model).
            all.iter().take(n).cloned().collect()
        }
        SegmentFilter::Champions => by_name("champions"),
        SegmentFilter::Loyal => by_name("loyal"),
        SegmentFilter::New => by_name("new"),
        SegmentFilter::Promising => by_name("promising"),
        SegmentFilter::Hibernating => by_name("hibernating"),
        SegmentFilter::All => all.to_vec(),
    }
}

/// The restaurants a customer (account or phone customer) ordered from in the last two years.
pub async fn restaurants_of(state: &AppState, customer_id: Uuid) -> Result<Vec<Uuid>, ApiError> {
    let since = state.now() - Duration::days(HISTORY_DAYS);
    let channel = Query::select()
        .column(channel_orders::Column::OrderId)
        .from(channel_orders::Entity)
        .and_where(channel_orders::Column::CustomerId.eq(customer_id))
        .to_owned();
    let ids: Vec<Uuid> = orders::Entity::find()
        .select_only()
        .column(orders::Column::RestaurantId)
        .distinct()
        .filter(orders::Column::CreatedAt.gte(since))
        .filter(
            sea_orm::Condition::any()
                .add(orders::Column::CustomerId.eq(customer_id))
                .add(orders::Column::Id.in_subquery(channel)),
        )
        .into_tuple()
        .all(&state.forecast_db)
        .await?;
    let unique: HashSet<Uuid> = ids.into_iter().collect();
    let mut ids: Vec<Uuid> = unique.into_iter().collect();
    ids.sort();
    Ok(ids)
}

/// Trains a restaurant's customer model and stores it as a new version (promoted when its holdout
/// Brier score beats the latest's).
pub async fn train(
    state: &AppState,
    restaurant_id: Uuid,
    as_of: Option<DateTime<Utc>>,
) -> Result<registry::Stored, ApiError> {
    let at = as_of.unwrap_or_else(|| state.now());
    let history = history(state, restaurant_id, at).await?;
    let purchases = history.purchases.clone();
    let end = history.end;
    let started = Instant::now();
    let model = tokio::task::spawn_blocking(move || {
        cm::fit_customers(&purchases, end, CHURN_DAYS as f64, VALUE_DAYS as f64)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| match e {
        brigade_forecast::ForecastError::NotEnoughHistory { needed, have } => ApiError::conflict(
            "not_enough_history",
            format!("not enough customers to train: {needed} needed, {have} known"),
        )
        .with_data(json!({"needed": needed, "have": have})),
        other => ApiError::conflict("training_failed", other.to_string()),
    })?;
    let training_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
    let artifact = serde_json::to_string(&model).map_err(ApiError::internal)?;
    let method = if model.gamma_gamma.is_some() {
        "bg_nbd+gamma_gamma"
    } else {
        "bg_nbd"
    };
    registry::store(
        state,
        registry::NewVersion {
            kind: CUSTOMER,
            restaurant_id: Some(restaurant_id),
            series: SERIES.into(),
            method: method.into(),
            training_from: history.first,
            training_to: at,
            data_fingerprint: history.fingerprint.clone(),
            features: json!({
                "customers": "QR accounts and channel customers by phone who ordered in the two years before training_to",
                "per_customer": ["repeat orders", "days from first to last order", "days since first order", "mean value of repeat orders"],
                "orders": history.purchases.iter().map(Vec::len).sum::<usize>(),
            }),
            parameters: json!({
                "churn_horizon_days": CHURN_DAYS,
                "value_horizon_days": VALUE_DAYS,
                "bg_nbd": model.bgnbd,
                "gamma_gamma": model.gamma_gamma,
            }),
            metrics: json!({
                "customers": model.customers,
                "repeat_customers": model.repeaters,
                "holdout": model.holdout,
                "score": "Brier score of the churn probabilities on the last 60 days held out",
            }),
            score: model.holdout.as_ref().map(|h| h.brier),
            artifact,
            training_ms,
        },
    )
    .await
}
