//! `/api/predictions/kitchen/...`: prep-time predictions per station and item, and the stations that
//! will be bottlenecks in the coming hours (same rights as every prediction: KAMs their restaurants,
//! venue staff their venue, administrators all; scope `forecasts:read`).

use axum::extract::State;
use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::prep::{self, Bottleneck, PrepAnswer, StationHour};
use crate::accounts::AuthUser;
use crate::entities::{menu_items, stations};
use crate::http::envelope::{Envelope, Reply, ok};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{ApiJson, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(prep_time))
        .routes(routes!(bottlenecks))
        .routes(routes!(station_performance))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrepRequest {
    pub station_id: Uuid,
    /// The item (any item of the station when absent).
    pub menu_item_id: Option<Uuid>,
    /// When the line would be queued (now when absent); the station's current load is assumed.
    pub at: Option<DateTime<Utc>>,
}

/// How long a line of this item takes at this station (queued to ready), with its 80% interval: the
/// latest trained version, else the previous, else the item's recent median, else the station's target.
#[utoipa::path(post, path = "/api/predictions/kitchen/prep-time", tag = "forecasting", security(("bearer" = []), ("api_key" = ["forecasts:read"])),
    request_body(content = PrepRequest, example = json!({"station_id": "0190d7a4-3b7c-7cc0-8000-000000000002"})),
    responses(
        (status = 200, description = "The prediction", body = Envelope<PrepAnswer>),
        (status = 403, description = "Not a restaurant of yours", body = ErrorBody),
        (status = 404, description = "No such station, or the item is not on its venue's menu", body = ErrorBody),
    ))]
async fn prep_time(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiJson(body): ApiJson<PrepRequest>,
) -> ApiResult<Reply<PrepAnswer>> {
    let station = stations::Entity::find_by_id(body.station_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("station"))?;
    crate::forecasting::require_access(&state, &me, station.restaurant_id).await?;
    if let Some(item) = body.menu_item_id {
        let found = menu_items::Entity::find_by_id(item)
            .one(&state.db)
            .await?
            .filter(|i| i.restaurant_id == station.restaurant_id);
        if found.is_none() {
            return Err(ApiError::not_found("menu item")
                .with_field("menu_item_id", "is not an item of the station's venue"));
        }
    }
    Ok(ok(prep::predict(
        &state,
        &station,
        body.menu_item_id,
        body.at,
    )
    .await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BottleneckQuery {
    pub restaurant_id: Uuid,
    /// Hours ahead, 1 to 24 (default 6).
    #[param(minimum = 1, maximum = 24)]
    pub hours: Option<u32>,
}

/// Each station's expected lines and predicted minutes per hour for the next hours, from the hourly
/// demand forecast; `over_target` marks the hours a station will run past its target.
#[utoipa::path(get, path = "/api/predictions/kitchen/bottlenecks", tag = "forecasting", security(("bearer" = []), ("api_key" = ["forecasts:read"])),
    params(BottleneckQuery),
    responses(
        (status = 200, description = "Per station and hour", body = Envelope<Vec<Bottleneck>>),
        (status = 403, description = "Not a restaurant of yours", body = ErrorBody),
        (status = 422, description = "Hours out of range", body = ErrorBody),
    ))]
async fn bottlenecks(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(query): ApiQuery<BottleneckQuery>,
) -> ApiResult<Reply<Vec<Bottleneck>>> {
    let hours = query.hours.unwrap_or(6);
    if !(1..=24).contains(&hours) {
        return Err(ApiError::field("hours", "must be between 1 and 24"));
    }
    crate::forecasting::require_access(&state, &me, query.restaurant_id).await?;
    crate::restaurants::find(&state, query.restaurant_id).await?;
    Ok(ok(prep::bottlenecks(
        &state,
        query.restaurant_id,
        hours as usize,
    )
    .await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PerformanceQuery {
    pub restaurant_id: Uuid,
    /// Days back, 1 to 90 (default 14).
    #[param(minimum = 1, maximum = 90)]
    pub days: Option<u32>,
}

/// Station performance: per station and local hour of the day, how long finished lines took (p50, p90)
/// against what the prep-time model predicted for them, and the share that ran past the prediction's
/// upper bound.
#[utoipa::path(get, path = "/api/predictions/kitchen/performance", tag = "forecasting", security(("bearer" = []), ("api_key" = ["forecasts:read"])),
    params(PerformanceQuery),
    responses(
        (status = 200, description = "Per station and hour", body = Envelope<Vec<StationHour>>),
        (status = 403, description = "Not a restaurant of yours", body = ErrorBody),
        (status = 404, description = "No such restaurant", body = ErrorBody),
        (status = 422, description = "Days out of range", body = ErrorBody),
    ))]
async fn station_performance(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(query): ApiQuery<PerformanceQuery>,
) -> ApiResult<Reply<Vec<StationHour>>> {
    let days = query.days.unwrap_or(14);
    if !(1..=90).contains(&days) {
        return Err(ApiError::field("days", "must be between 1 and 90"));
    }
    crate::forecasting::require_access(&state, &me, query.restaurant_id).await?;
    Ok(ok(prep::performance(
        &state,
        query.restaurant_id,
        i64::from(days),
    )
    .await?))
}
