//! Orders at risk: for each outage of a store, the orders its hourly demand forecast expected during
//! the outage, and their value at the restaurant's average order value. The forecast is made as of the
//! outage's start (only the orders before it are used), with the latest hourly version's method, else the
//! rule (the mean of the last 4 same weekday-hours), else the average; so the figure is what Brigade
//! would have expected had it been asked when the store went down.

use std::time::Duration as StdDuration;

use brigade_forecast::{Granularity, Model};
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::predict::{DEMAND, series_key};
use super::registry;
use crate::entities::orders;
use crate::http::error::ApiError;
use crate::money::Currency;
use crate::state::AppState;

const TTL: StdDuration = StdDuration::from_secs(3600);
/// One forecast covers the outages starting within a week of its origin.
const SPAN_HOURS: i64 = 168;
/// The average order value is taken over this many days before the first outage.
const VALUE_DAYS: i64 = 90;

/// What a restaurant's outages put at risk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AtRisk {
    /// Expected orders during each outage given, in order.
    pub expected_orders: Vec<f64>,
    /// Their value at the average order value (none without valued orders in the 90 days before).
    pub values: Vec<Option<Decimal>>,
    pub currency: String,
    /// The method of the forecasts (the latest hourly version's, `weekday_mean` or `average`).
    pub method: String,
}

impl AtRisk {
    pub fn total_orders(&self) -> f64 {
        round1(self.expected_orders.iter().sum())
    }

    pub fn total_value(&self) -> Option<Decimal> {
        self.values.iter().copied().sum::<Option<Decimal>>()
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// The hourly model to apply: the latest version's, else the rule.
async fn hourly_model(state: &AppState, restaurant_id: Uuid) -> Result<Model, ApiError> {
    let pointer = registry::pointer(
        state,
        DEMAND,
        Some(restaurant_id),
        series_key(Granularity::Hourly),
    )
    .await?;
    for id in [pointer.latest, pointer.previous].into_iter().flatten() {
        if let Ok((model, _)) = registry::load::<Model>(state, id).await {
            return Ok(model);
        }
    }
    Ok(Model::rule_based(Granularity::Hourly))
}

/// The mean value of the restaurant's valued orders (cancelled ones excepted) in the 90 days before
/// `before`, in minor units.
async fn average_order_minor(
    state: &AppState,
    restaurant_id: Uuid,
    before: DateTime<Utc>,
) -> Result<Option<f64>, ApiError> {
    let totals: Vec<i64> = orders::Entity::find()
        .select_only()
        .column(orders::Column::TotalMinor)
        .filter(orders::Column::RestaurantId.eq(restaurant_id))
        .filter(orders::Column::CreatedAt.gte(before - Duration::days(VALUE_DAYS)))
        .filter(orders::Column::CreatedAt.lt(before))
        .filter(orders::Column::Status.ne("CANCELLED"))
        .filter(orders::Column::TotalMinor.gt(0))
        .into_tuple()
        .all(&state.forecast_db)
        .await?;
    Ok((!totals.is_empty()).then(|| totals.iter().sum::<i64>() as f64 / totals.len() as f64))
}

/// Expected orders and value during each of `outages` (`[start, end)` instants) of a restaurant.
/// Cached for an hour (and forgotten when its hourly model changes).
pub async fn expected_during(
    state: &AppState,
    restaurant_id: Uuid,
    outages: &[(DateTime<Utc>, DateTime<Utc>)],
) -> Result<AtRisk, ApiError> {
    let restaurant = crate::restaurants::find(state, restaurant_id).await?;
    let currency = Currency::parse(&restaurant.currency)
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    if outages.is_empty() {
        return Ok(AtRisk {
            expected_orders: Vec::new(),
            values: Vec::new(),
            currency: currency.code.to_string(),
            method: String::new(),
        });
    }
    let pointer = registry::pointer(
        state,
        DEMAND,
        Some(restaurant_id),
        series_key(Granularity::Hourly),
    )
    .await?;
    let mut hash = Sha256::new();
    for (a, b) in outages {
        hash.update(format!("{a:?}{b:?}").as_bytes());
    }
    let key = format!(
        "forecast:v1:at-risk:{restaurant_id}:{}:{}",
        pointer.epoch,
        hex::encode(hash.finalize())
    );
    if let Some(hit) = brigade_platform::cache::get_json::<AtRisk>(state.cache.as_ref(), &key).await
    {
        return Ok(hit);
    }
    let model = std::sync::Arc::new(hourly_model(state, restaurant_id).await?);
    let mut method = model.method().name().to_string();
    let mut expected = vec![0.0; outages.len()];
    let mut order: Vec<usize> = (0..outages.len()).collect();
    order.sort_by_key(|&i| outages[i].0);
    let mut next = 0;
    while next < order.len() {
        let origin = outages[order[next]].0;
        let horizon_end = origin + Duration::hours(SPAN_HOURS);
        let ex = super::series::extract(
            state,
            restaurant_id,
            Granularity::Hourly,
            origin,
            SPAN_HOURS as usize,
        )
        .await?;
        let fitted = std::sync::Arc::clone(&model);
        let forecast = ex
            .on_blocking_pool(move |series| {
                fitted
                    .forecast(series, SPAN_HOURS as usize)
                    .map(|f| (f, None))
                    .or_else(|_| {
                        Model::rule_based(Granularity::Hourly)
                            .forecast(series, SPAN_HOURS as usize)
                            .map(|f| (f, Some("weekday_mean")))
                    })
                    .or_else(|_| {
                        brigade_forecast::backtest::average_forecast(series, SPAN_HOURS as usize)
                            .map(|f| (f, Some("average")))
                    })
            })
            .await?
            .map_err(|e| ApiError::internal(anyhow::anyhow!(e.to_string())))?;
        if let Some(used) = forecast.1 {
            method = used.to_string();
        }
        let n = ex.values.len();
        // Each forecast hour's slot: from its start to the next slot's start.
        let slots: Vec<(DateTime<Utc>, DateTime<Utc>, f64)> = (0..forecast.0.mean.len())
            .map(|k| {
                let start = ex.starts[n + k];
                let end = ex
                    .starts
                    .get(n + k + 1)
                    .copied()
                    .unwrap_or(start + Duration::hours(1));
                (start, end, forecast.0.mean[k])
            })
            .collect();
        while next < order.len() && outages[order[next]].0 < horizon_end {
            let (a, b) = outages[order[next]];
            let mut sum = 0.0;
            for (start, end, mean) in &slots {
                let from = a.max(*start);
                let to = b.min(*end);
                if to > from && end > start {
                    sum += mean * (to - from).num_seconds() as f64
                        / (*end - *start).num_seconds() as f64;
                }
            }
            expected[order[next]] = round1(sum);
            next += 1;
        }
    }
    let first = outages
        .iter()
        .map(|o| o.0)
        .min()
        .unwrap_or_else(|| state.now());
    let average = average_order_minor(state, restaurant_id, first).await?;
    let values = expected
        .iter()
        .map(|e| average.map(|avg| currency.from_minor((e * avg).round() as i64)))
        .collect();
    let answer = AtRisk {
        expected_orders: expected,
        values,
        currency: currency.code.to_string(),
        method,
    };
    brigade_platform::cache::set_json(state.cache.as_ref(), &key, &answer, TTL).await;
    Ok(answer)
}

/// One account's outages over the 7 days before its latest poll, and what they put at risk.
#[derive(Debug, Clone, Serialize)]
pub struct AccountOutages {
    pub restaurant_id: Uuid,
    pub name: String,
    pub outages: usize,
    pub downtime_minutes: f64,
    pub expected_orders: f64,
    pub value: Option<Decimal>,
    pub currency: String,
}

/// A KAM's accounts with outages in their last 7 days, those that cost the most orders first (values
/// may be in different currencies). Accounts without polls or outages are left out.
pub async fn accounts_at_risk(
    state: &AppState,
    kam_id: Uuid,
) -> Result<Vec<AccountOutages>, ApiError> {
    use crate::entities::{crm_accounts, restaurants};
    let accounts: Vec<(Uuid, String, String)> = restaurants::Entity::find()
        .select_only()
        .columns([
            restaurants::Column::Id,
            restaurants::Column::Name,
            restaurants::Column::Currency,
        ])
        .filter(
            restaurants::Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(crm_accounts::Column::RestaurantId)
                    .from(crm_accounts::Entity)
                    .and_where(crm_accounts::Column::KamId.eq(kam_id))
                    .to_owned(),
            ),
        )
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut out = Vec::new();
    for (id, name, currency) in accounts {
        // A store that has never been polled has no outages to cost anything.
        let Ok((_, _, incidents)) = crate::monitoring::incidents(state, id, None, None).await
        else {
            continue;
        };
        if incidents.is_empty() {
            continue;
        }
        out.push(AccountOutages {
            restaurant_id: id,
            name,
            outages: incidents.len(),
            downtime_minutes: round1(incidents.iter().map(|i| i.downtime_minutes).sum()),
            expected_orders: round1(incidents.iter().filter_map(|i| i.expected_orders).sum()),
            value: incidents
                .iter()
                .filter_map(|i| i.value_at_risk)
                .reduce(|a, b| a + b),
            currency,
        });
    }
    // Orders, not value: accounts may count in different currencies.
    out.sort_by(|a, b| {
        b.expected_orders
            .total_cmp(&a.expected_orders)
            .then(b.downtime_minutes.total_cmp(&a.downtime_minutes))
            .then(a.name.cmp(&b.name))
    });
    Ok(out)
}
