//! Forecasting: demand per restaurant from the one order stream (QR, channel and imported orders
//! alike), with models chosen per restaurant and series by a rolling-origin backtest
//! (`brigade-forecast` does the maths), kept in a versioned registry, trained by jobs on the workers and
//! served with the seed's fallbacks and cache. Closure calendars (holidays, one-off closures) live here
//! too: they decide which days forecast zero.
//!
//! Customers (RFM, churn, expected value) are the other kind of model: [`customers`].
//!
//! Facade: [`train_demand`], [`backtest`], [`predict::demand`], [`predict::peak_hours`],
//! [`customers::restaurant_customers`], [`customers::train`], [`registry::promote`],
//! [`registry::rollback`], [`closures`].

pub mod at_risk;
pub mod breakdown;
pub mod closures;
pub mod customers;
pub mod jobs;
pub mod predict;
pub mod registry;
pub mod routes;
pub mod series;

use std::time::Instant;

use brigade_forecast::backtest::Backtest;
use brigade_forecast::{ForecastError, Granularity};
use serde_json::json;
use uuid::Uuid;

use crate::accounts::{MemberRole, Principal, Role};
use crate::http::error::ApiError;
use crate::state::AppState;

pub use predict::DEMAND;

fn forecast_error(e: ForecastError) -> ApiError {
    match e {
        ForecastError::NotEnoughHistory { needed, have } => ApiError::conflict(
            "not_enough_history",
            format!("not enough history to train: {needed} steps needed, {have} available"),
        )
        .with_data(json!({"needed": needed, "have": have})),
        other => ApiError::conflict("training_failed", other.to_string()),
    }
}

/// The backtest of every candidate on a restaurant's series as known now, without storing anything.
pub async fn backtest(
    state: &AppState,
    restaurant_id: Uuid,
    granularity: Granularity,
    windows: usize,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(Backtest, series::Extracted), ApiError> {
    let at = as_of.unwrap_or_else(|| state.now());
    let ex = series::extract(
        state,
        restaurant_id,
        granularity,
        at,
        granularity.max_horizon(),
    )
    .await?;
    let backtest = ex
        .on_blocking_pool(move |series| {
            brigade_forecast::backtest::backtest(series, &brigade_forecast::Method::ALL, windows)
                .map(|(b, _)| b)
        })
        .await?
        .map_err(forecast_error)?;
    Ok((backtest, ex))
}

/// Trains a demand model of one restaurant and series and stores it as a new version (promoted when
/// its backtest beats the latest).
pub async fn train_demand(
    state: &AppState,
    restaurant_id: Uuid,
    granularity: Granularity,
    windows: usize,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<registry::Stored, ApiError> {
    let as_of = as_of.unwrap_or_else(|| state.now());
    // The calendar runs a day past the longest horizon: the version keeps its forecast that far, so
    // answers for the day after training slice it instead of fitting again.
    let ex = series::extract(
        state,
        restaurant_id,
        granularity,
        as_of,
        granularity.max_horizon() + granularity.day(),
    )
    .await?;
    let starts: Vec<i64> = ex.starts[ex.values.len()..]
        .iter()
        .map(|s| s.timestamp())
        .collect();
    let started = Instant::now();
    let (model, backtest) = ex
        .on_blocking_pool(move |series| {
            brigade_forecast::train(series, windows)
                .map(|(model, backtest)| (model.with_path(series, &starts), backtest))
        })
        .await?
        .map_err(forecast_error)?;
    let training_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
    let artifact = serde_json::to_string(&model).map_err(ApiError::internal)?;
    let chosen = backtest.chosen_score().clone();
    registry::store(
        state,
        registry::NewVersion {
            kind: DEMAND,
            restaurant_id: Some(restaurant_id),
            series: predict::series_key(granularity).into(),
            method: chosen.method.name().into(),
            training_from: ex.starts.first().copied(),
            training_to: ex.starts.get(ex.values.len()).copied().unwrap_or(as_of),
            data_fingerprint: ex.fingerprint.clone(),
            features: json!({
                "target": "orders per local step, cancelled orders excepted",
                "calendar": ["open (business hours and closures)", "weekday", "hour", "day_of_year", "holiday"],
                "lags": "the same step 4 weeks before the horizon, the level of the week before the horizon, a year (days) or a day (hours) before the horizon",
                "history_steps": ex.values.len(),
                "orders": ex.orders,
                "zone": ex.tz.name(),
            }),
            parameters: json!({
                "granularity": predict::series_key(granularity),
                "windows": backtest.windows,
                "window_steps": backtest.horizon,
                "candidates": brigade_forecast::Method::ALL.iter().map(|m| m.name()).collect::<Vec<_>>(),
                "intervals": model.intervals,
            }),
            metrics: serde_json::to_value(&backtest).map_err(ApiError::internal)?,
            score: Some(chosen.mase),
            artifact,
            training_ms,
        },
    )
    .await
}

/// Restaurants the caller may forecast, or 404 as if it did not exist: administrators all, KAMs the
/// restaurants they manage, venue staff their venue.
pub async fn require_access(
    state: &AppState,
    me: &Principal,
    restaurant_id: Uuid,
) -> Result<(), ApiError> {
    // Administrators and venue members are checked against the cached restaurant (a cached answer
    // costs no database read); a KAM's ownership is the CRM's rule.
    let exists = || async {
        crate::restaurants::cached_with_hours(state, restaurant_id)
            .await?
            .map(|_| ())
            .ok_or_else(|| ApiError::not_found("restaurant"))
    };
    match me.role {
        Role::Admin => exists().await,
        Role::Kam => crate::crm::account_for(state, me, restaurant_id)
            .await
            .map(|_| ()),
        Role::Customer => {
            exists().await?;
            match crate::accounts::membership_role(state, me.user_id, restaurant_id).await? {
                Some(role) if role >= MemberRole::Staff => Ok(()),
                _ => Err(ApiError::not_found("restaurant")),
            }
        }
    }
}

/// Training and promotion are for administrators, and for KAMs and venue managers on their own
/// restaurants.
pub async fn require_train_access(
    state: &AppState,
    me: &Principal,
    restaurant_id: Uuid,
) -> Result<(), ApiError> {
    require_access(state, me, restaurant_id).await?;
    if me.role == Role::Admin || me.role == Role::Kam {
        return Ok(());
    }
    crate::accounts::require_restaurant_role(state, me, restaurant_id, MemberRole::Manager).await
}

/// A restaurant named on the command line: its id, or its external id (`pizza-sales`, a store id).
pub async fn resolve_restaurant(state: &AppState, name: &str) -> Result<Uuid, ApiError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    if let Ok(id) = name.parse::<Uuid>() {
        return Ok(crate::restaurants::find(state, id).await?.id);
    }
    crate::entities::restaurants::Entity::find()
        .filter(crate::entities::restaurants::Column::ExternalId.eq(name))
        .one(&state.db)
        .await?
        .map(|r| r.id)
        .ok_or_else(|| ApiError::not_found(&format!("restaurant {name:?}")))
}

/// The restaurants a caller may forecast (None: all of them): a KAM's accounts, a venue member's venues.
pub async fn visible_restaurants(
    state: &AppState,
    me: &Principal,
) -> Result<Option<Vec<Uuid>>, ApiError> {
    use crate::entities::{crm_accounts, restaurant_members};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    match me.role {
        Role::Admin => Ok(None),
        Role::Kam => Ok(Some(
            crm_accounts::Entity::find()
                .select_only()
                .column(crm_accounts::Column::RestaurantId)
                .filter(crm_accounts::Column::KamId.eq(me.user_id))
                .into_tuple()
                .all(&state.db)
                .await?,
        )),
        Role::Customer => Ok(Some(
            restaurant_members::Entity::find()
                .select_only()
                .column(restaurant_members::Column::RestaurantId)
                .filter(restaurant_members::Column::UserId.eq(me.user_id))
                .into_tuple()
                .all(&state.db)
                .await?,
        )),
    }
}
