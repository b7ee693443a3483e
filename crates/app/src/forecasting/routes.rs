//! `/api/predictions/...` (the seed's prediction endpoints), `/api/models/...` (the registry) and
//! `/api/restaurants/{id}/closures` (the closure calendar).

use axum::extract::State;
use axum::http::StatusCode;
use brigade_forecast::Granularity;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::closures::{self, ClosureKind, ClosureView};
use super::customers::{
    self as customer_predictions, CustomerPrediction, HoldoutView, SegmentFilter,
};
use super::predict::{self, DemandAnswer, PeakHours};
use super::registry::{self, ModelView};
use crate::accounts::{AuthUser, Principal};
use crate::entities::forecast_models;
use crate::http::envelope::{Envelope, Page, PageParams, Reply, created, ok, paginate};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(predict_demand))
        .routes(routes!(predict_peak_hours))
        .routes(routes!(predict_customer))
        .routes(routes!(list_customer_predictions))
        .routes(routes!(list_models))
        .routes(routes!(get_model))
        .routes(routes!(train_models))
        .routes(routes!(promote_model))
        .routes(routes!(rollback_model))
        .routes(routes!(list_closures, add_closure))
        .routes(routes!(delete_closure))
}

/// What a demand forecast is of: the restaurant's orders, or (top-down from them) the quantity of each
/// menu item or category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DemandLevel {
    #[default]
    Restaurant,
    Item,
    Category,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GranularityInput {
    Daily,
    Hourly,
}

impl From<GranularityInput> for Granularity {
    fn from(g: GranularityInput) -> Self {
        match g {
            GranularityInput::Daily => Granularity::Daily,
            GranularityInput::Hourly => Granularity::Hourly,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemandRequest {
    pub restaurant_id: Uuid,
    pub granularity: GranularityInput,
    /// Steps ahead: 1 to 28 days, or 1 to 168 hours.
    #[schema(minimum = 1, maximum = 168)]
    pub horizon: u32,
    #[serde(default)]
    pub level: DemandLevel,
    /// Forecast as if it were this instant: the model is chosen, fitted and applied on data before it
    /// only, so a past forecast can be reproduced and scored against what happened.
    pub as_of: Option<DateTime<Utc>>,
}

/// Expected orders per local day (up to 28) or local hour (up to 168) from the step containing now (or
/// `as_of`), with 80% and 95% intervals, zero while the restaurant is closed. With `level` item or
/// category, also each menu item's (category's) expected quantity, split top-down from the restaurant's
/// forecast by its share of the same weekday's (hour's) orders over the last 8 weeks. Names the model version
/// and fallback level that answered and whether the answer was cached (1 hour). Administrators, the
/// restaurant's KAM and its staff; API keys need `forecasts:read`. A horizon over the granularity's
/// limit is refused (422).
#[utoipa::path(post, path = "/api/predictions/demand", tag = "forecasting", security(("bearer" = []), ("api_key" = ["forecasts:read"])),
    request_body(content = DemandRequest, example = json!({"restaurant_id": "0190f2a4-3b7c-7d7e-8a9b-0c1d2e3f4a5b", "granularity": "daily", "horizon": 7})),
    responses(
        (status = 200, description = "The forecast", body = Envelope<DemandAnswer>),
        (status = 404, description = "No such restaurant (or not yours)", body = ErrorBody),
        (status = 422, description = "A horizon beyond the granularity's limit, or another invalid field", body = ErrorBody),
    ))]
async fn predict_demand(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiJson(body): ApiJson<DemandRequest>,
) -> ApiResult<Reply<DemandAnswer>> {
    let g: Granularity = body.granularity.into();
    predict::check_horizon(g, body.horizon as usize)?;
    check_as_of(&state, body.as_of)?;
    super::require_access(&state, &me, body.restaurant_id).await?;
    let mut answer = predict::demand(
        &state,
        body.restaurant_id,
        g,
        body.horizon as usize,
        body.as_of,
    )
    .await?;
    let level = match body.level {
        DemandLevel::Restaurant => None,
        DemandLevel::Item => Some(super::breakdown::Level::Item),
        DemandLevel::Category => Some(super::breakdown::Level::Category),
    };
    if let Some(level) = level {
        let before = body.as_of.unwrap_or_else(|| state.now());
        answer.breakdown = Some(super::breakdown::breakdown(&state, &answer, level, before).await?);
    }
    Ok(ok(answer))
}

fn check_as_of(state: &AppState, as_of: Option<DateTime<Utc>>) -> ApiResult<()> {
    if let Some(at) = as_of {
        if at > state.now() {
            return Err(ApiError::field("as_of", "must not be in the future"));
        }
        if at.timestamp() < 0 {
            return Err(ApiError::field("as_of", "must be after 1970"));
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeakHoursRequest {
    pub restaurant_id: Uuid,
    /// How many of the busiest hours to list (1 to 50, default 5).
    #[schema(minimum = 1, maximum = 50)]
    pub top: Option<u32>,
    pub as_of: Option<DateTime<Utc>>,
}

/// The busiest hours of the coming week by the hourly forecast: the top hours overall and each local
/// day's busiest hour.
#[utoipa::path(post, path = "/api/predictions/demand/peak-hours", tag = "forecasting", security(("bearer" = []), ("api_key" = ["forecasts:read"])),
    request_body = PeakHoursRequest,
    responses(
        (status = 200, description = "The peak hours", body = Envelope<PeakHours>),
        (status = 404, description = "No such restaurant (or not yours)", body = ErrorBody),
    ))]
async fn predict_peak_hours(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiJson(body): ApiJson<PeakHoursRequest>,
) -> ApiResult<Reply<PeakHours>> {
    let top = body.top.unwrap_or(5);
    if !(1..=50).contains(&top) {
        return Err(ApiError::field("top", "must be 1 to 50"));
    }
    check_as_of(&state, body.as_of)?;
    super::require_access(&state, &me, body.restaurant_id).await?;
    Ok(ok(predict::peak_hours(
        &state,
        body.restaurant_id,
        top as usize,
        body.as_of,
    )
    .await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerRequest {
    /// A QR ordering account's id, or a delivery-channel customer's id.
    pub customer_id: Uuid,
    /// Only at this restaurant; default every restaurant of yours the customer ordered from.
    pub restaurant_id: Option<Uuid>,
}

/// A customer at one restaurant.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerAtRestaurant {
    pub restaurant_id: Uuid,
    pub currency: String,
    pub prediction: CustomerPrediction,
    /// The registry version that answered (none at the `average` level).
    pub model_version: Option<i32>,
    pub fallback_level: predict::FallbackLevel,
    pub cached: bool,
}

/// What Brigade expects of a customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerAnswer {
    pub customer_id: Uuid,
    /// One entry per restaurant the customer ordered from in the last two years (that you see).
    pub restaurants: Vec<CustomerAtRestaurant>,
    pub generated_at: DateTime<Utc>,
    pub prediction_time_ms: f64,
}

/// A customer's RFM segment, churn probability (no order within 60 days), and the orders and value
/// expected within a year, at each restaurant they ordered from in the last two years. Customers are QR
/// ordering accounts and delivery-channel customers (by phone) alike. Answers come from the latest
/// customer model, else the previous one, else the restaurant's base rate (`average`), cached 24 hours.
/// Administrators, the restaurant's KAM and its staff; keys need `forecasts:read`.
#[utoipa::path(post, path = "/api/predictions/customer", tag = "forecasting", security(("bearer" = []), ("api_key" = ["forecasts:read"])),
    request_body(content = CustomerRequest, example = json!({"customer_id": "0190f2a4-3b7c-7d7e-8a9b-0c1d2e3f4a5b"})),
    responses(
        (status = 200, description = "The customer's predictions", body = Envelope<CustomerAnswer>),
        (status = 404, description = "No such customer at a restaurant of yours", body = ErrorBody),
    ))]
async fn predict_customer(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiJson(body): ApiJson<CustomerRequest>,
) -> ApiResult<Reply<CustomerAnswer>> {
    let started = std::time::Instant::now();
    let mut restaurants = customer_predictions::restaurants_of(&state, body.customer_id).await?;
    if let Some(only) = body.restaurant_id {
        restaurants.retain(|r| *r == only);
    }
    let mut answers = Vec::new();
    for restaurant_id in restaurants {
        if super::require_access(&state, &me, restaurant_id)
            .await
            .is_err()
        {
            continue;
        }
        let (all, cached) =
            customer_predictions::restaurant_customers(&state, restaurant_id).await?;
        if let Some(prediction) = all
            .customers
            .iter()
            .find(|c| c.customer_id == body.customer_id)
        {
            answers.push(CustomerAtRestaurant {
                restaurant_id,
                currency: all.currency.clone(),
                prediction: prediction.clone(),
                model_version: all.model_version,
                fallback_level: all.fallback_level,
                cached,
            });
        }
    }
    if answers.is_empty() {
        return Err(ApiError::not_found("customer"));
    }
    Ok(ok(CustomerAnswer {
        customer_id: body.customer_id,
        restaurants: answers,
        generated_at: state.now(),
        prediction_time_ms: started.elapsed().as_secs_f64() * 1000.0,
    }))
}

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CustomerListQuery {
    pub restaurant_id: Uuid,
    /// at_risk, high_value, an RFM segment (champions, loyal, new, promising, hibernating) or all;
    /// default all.
    pub segment: Option<SegmentFilter>,
    /// At most this many (1 to 500, default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// A list of a restaurant's customers.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerList {
    pub restaurant_id: Uuid,
    pub segment: SegmentFilter,
    pub currency: String,
    /// Customers in the list before `limit`.
    pub total: usize,
    /// The restaurant's customers known in the last two years.
    pub restaurant_customers: usize,
    pub customers: Vec<CustomerPrediction>,
    pub model_version: Option<i32>,
    pub fallback_level: predict::FallbackLevel,
    /// How the model's churn probabilities did on held-out days, against the base rate.
    pub holdout: Option<HoldoutView>,
    /// The share of customers who did not come back within 60 days, the last time that could be seen.
    pub base_rate: Option<f64>,
    pub cached: bool,
    pub generated_at: DateTime<Utc>,
    pub prediction_time_ms: f64,
}

/// A restaurant's customers at risk (ordered more than once and probably stopped by the customer model,
/// or by RFM without one; biggest spenders first), of high value (the fifth expected to spend most within a year), in an RFM segment, or all.
/// Administrators, the restaurant's KAM and its staff; keys need `forecasts:read`.
#[utoipa::path(get, path = "/api/predictions/customers", tag = "forecasting", security(("bearer" = []), ("api_key" = ["forecasts:read"])),
    params(CustomerListQuery),
    responses(
        (status = 200, description = "The list", body = Envelope<CustomerList>),
        (status = 404, description = "No such restaurant (or not yours)", body = ErrorBody),
        (status = 422, description = "An unknown segment or a limit out of range", body = ErrorBody),
    ))]
async fn list_customer_predictions(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(query): ApiQuery<CustomerListQuery>,
) -> ApiResult<Reply<CustomerList>> {
    let started = std::time::Instant::now();
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1 to 500"));
    }
    super::require_access(&state, &me, query.restaurant_id).await?;
    let segment = query.segment.unwrap_or(SegmentFilter::All);
    let (all, cached) =
        customer_predictions::restaurant_customers(&state, query.restaurant_id).await?;
    let list = customer_predictions::select(&all.customers, segment, all.model_version.is_some());
    Ok(ok(CustomerList {
        restaurant_id: query.restaurant_id,
        segment,
        currency: all.currency.clone(),
        total: list.len(),
        restaurant_customers: all.customers.len(),
        customers: list.into_iter().take(limit as usize).collect(),
        model_version: all.model_version,
        fallback_level: all.fallback_level,
        holdout: all.holdout.clone(),
        base_rate: all.base_rate,
        cached,
        generated_at: all.generated_at,
        prediction_time_ms: started.elapsed().as_secs_f64() * 1000.0,
    }))
}

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct ModelFilter {
    /// Only this restaurant's versions.
    pub restaurant_id: Option<Uuid>,
    /// demand or customer.
    pub kind: Option<ModelKind>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    Demand,
    Customer,
    /// Kitchen prep times per station and item.
    Kitchen,
}

impl ModelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Demand => super::DEMAND,
            ModelKind::Customer => super::customers::CUSTOMER,
            ModelKind::Kitchen => crate::kitchen::prep::KITCHEN,
        }
    }
}

/// Model versions, newest first (the seed's models/info): each with its training window, data
/// fingerprint, features, parameters, backtest metrics and status (latest, previous, candidate,
/// retired, rolled_back). Without the fitted artifact.
#[utoipa::path(get, path = "/api/models", tag = "forecasting", security(("bearer" = []), ("api_key" = ["forecasts:read"])),
    params(ModelFilter, PageParams),
    responses((status = 200, description = "Versions", body = Envelope<Page<ModelView>>)))]
async fn list_models(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(filter): ApiQuery<ModelFilter>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Reply<Page<ModelView>>> {
    let mut q = registry::without_artifact(forecast_models::Entity::find())
        .order_by_desc(forecast_models::Column::TrainedAt)
        .order_by_desc(forecast_models::Column::Version);
    if let Some(ids) = super::visible_restaurants(&state, &me).await? {
        q = q.filter(forecast_models::Column::RestaurantId.is_in(ids));
    }
    if let Some(id) = filter.restaurant_id {
        q = q.filter(forecast_models::Column::RestaurantId.eq(id));
    }
    if let Some(kind) = filter.kind {
        q = q.filter(forecast_models::Column::Kind.eq(kind.as_str()));
    }
    let (items, index, per_page, total) = paginate(q, &state.db, &page).await?;
    Ok(ok(Page::new(
        items.into_iter().map(ModelView::from).collect(),
        index,
        per_page,
        total,
    )))
}

async fn visible_model(
    state: &AppState,
    me: &Principal,
    id: Uuid,
) -> ApiResult<forecast_models::Model> {
    let model = registry::find(state, id).await?;
    match model.restaurant_id {
        Some(r) => super::require_access(state, me, r)
            .await
            .map_err(|_| ApiError::not_found("model"))?,
        None => me
            .require_admin()
            .map_err(|_| ApiError::not_found("model"))?,
    }
    Ok(model)
}

/// Promoting and rolling back take the right to train the version's restaurant.
async fn may_change_model(state: &AppState, me: &Principal, id: Uuid) -> ApiResult<()> {
    if let Some(r) = visible_model(state, me, id).await?.restaurant_id {
        super::require_train_access(state, me, r).await?;
    }
    Ok(())
}

/// One version.
#[utoipa::path(get, path = "/api/models/{id}", tag = "forecasting", security(("bearer" = []), ("api_key" = ["forecasts:read"])),
    params(("id" = Uuid, Path, description = "Model version id")),
    responses(
        (status = 200, description = "The version", body = Envelope<ModelView>),
        (status = 404, description = "No such version (or not yours)", body = ErrorBody),
    ))]
async fn get_model(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<ModelView>> {
    Ok(ok(visible_model(&state, &me, id).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainRequest {
    /// One restaurant; without it, every restaurant with orders (administrators only).
    pub restaurant_id: Option<Uuid>,
    /// demand (default) or customer.
    pub kind: Option<ModelKind>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrainQueued {
    /// Training jobs queued (one per restaurant; the workers take them).
    pub queued: usize,
}

/// Queue training: one job per restaurant, run by the worker processes. For demand (the default) each
/// trains the daily and the hourly model; for customers, the BG/NBD + Gamma-Gamma model. Each version is
/// stored and promoted when its backtest (demand: MASE; customers: Brier score on held-out days) beats
/// the latest.
/// Administrators (any or every restaurant), KAMs and managers (their own); keys need `forecasts:train`.
#[utoipa::path(post, path = "/api/models/train", tag = "forecasting", security(("bearer" = []), ("api_key" = ["forecasts:train"])),
    request_body = TrainRequest,
    responses(
        (status = 202, description = "Queued", body = Envelope<TrainQueued>),
        (status = 404, description = "No such restaurant (or not yours)", body = ErrorBody),
    ))]
async fn train_models(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiJson(body): ApiJson<TrainRequest>,
) -> ApiResult<Reply<TrainQueued>> {
    match body.restaurant_id {
        Some(id) => super::require_train_access(&state, &me, id).await?,
        None => me.require_admin()?,
    }
    let kind = body.kind.unwrap_or(ModelKind::Demand).as_str();
    let queued = super::jobs::enqueue_training(&state, body.restaurant_id, kind).await?;
    Ok(created(TrainQueued { queued })
        .status(StatusCode::ACCEPTED)
        .message("training queued"))
}

/// Make this version the latest, whatever its score (the one before becomes `previous`); cached
/// answers are dropped.
#[utoipa::path(post, path = "/api/models/{id}/promote", tag = "forecasting", security(("bearer" = []), ("api_key" = ["forecasts:train"])),
    params(("id" = Uuid, Path, description = "Model version id")),
    responses(
        (status = 200, description = "Promoted", body = Envelope<ModelView>),
        (status = 404, description = "No such version (or not yours)", body = ErrorBody),
        (status = 409, description = "Already the latest", body = ErrorBody),
    ))]
async fn promote_model(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<ModelView>> {
    may_change_model(&state, &me, id).await?;
    Ok(ok(registry::promote(&state, id).await?))
}

/// Take back the latest version `id`: the previous one answers again (and is returned); cached answers
/// are dropped.
#[utoipa::path(post, path = "/api/models/{id}/rollback", tag = "forecasting", security(("bearer" = []), ("api_key" = ["forecasts:train"])),
    params(("id" = Uuid, Path, description = "The latest version's id")),
    responses(
        (status = 200, description = "The version answering now", body = Envelope<ModelView>),
        (status = 404, description = "No such version (or not yours)", body = ErrorBody),
        (status = 409, description = "Not the latest, or nothing to go back to", body = ErrorBody),
    ))]
async fn rollback_model(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<ModelView>> {
    may_change_model(&state, &me, id).await?;
    Ok(ok(registry::rollback(&state, id).await?))
}

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct ClosureRange {
    /// First local day (inclusive).
    pub from: Option<NaiveDate>,
    /// Last local day (inclusive).
    pub to: Option<NaiveDate>,
}

/// The restaurant's closure calendar (local days it is closed), by day.
#[utoipa::path(get, path = "/api/restaurants/{id}/closures", tag = "forecasting", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("id" = Uuid, Path, description = "Restaurant id"), ClosureRange),
    responses(
        (status = 200, description = "Closed days", body = Envelope<Vec<ClosureView>>),
        (status = 404, description = "No such restaurant (or not yours)", body = ErrorBody),
    ))]
async fn list_closures(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(range): ApiQuery<ClosureRange>,
) -> ApiResult<Reply<Vec<ClosureView>>> {
    super::require_access(&state, &me, id).await?;
    Ok(ok(closures::list(&state, id, range.from, range.to).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClosureInput {
    /// The restaurant's local day.
    pub day: NaiveDate,
    pub kind: ClosureKind,
    #[schema(max_length = 200)]
    pub note: Option<String>,
}

/// Mark a local day closed (a holiday or a one-off closure): its forecasts become zero. Administrators,
/// the restaurant's KAM and its managers; keys need `restaurants:write`.
#[utoipa::path(post, path = "/api/restaurants/{id}/closures", tag = "forecasting", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("id" = Uuid, Path, description = "Restaurant id")),
    request_body(content = ClosureInput, example = json!({"day": "2026-12-25", "kind": "holiday", "note": "Christmas Day"})),
    responses(
        (status = 201, description = "Added", body = Envelope<ClosureView>),
        (status = 404, description = "No such restaurant (or not yours)", body = ErrorBody),
        (status = 409, description = "The day is already closed", body = ErrorBody),
    ))]
async fn add_closure(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ClosureInput>,
) -> ApiResult<Reply<ClosureView>> {
    let note = match body.note.as_deref().map(crate::http::text::trimmed) {
        Some(n) if n.chars().count() > 200 => {
            return Err(ApiError::field("note", "at most 200 characters"));
        }
        Some("") | None => None,
        Some(n) => Some(n.to_string()),
    };
    super::require_train_access(&state, &me, id).await?;
    Ok(created(
        closures::add(&state, id, body.day, body.kind, note).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ClosurePath {
    /// Restaurant id
    pub id: Uuid,
    /// Closure id
    pub closure_id: Uuid,
}

/// Open a closed day again.
#[utoipa::path(delete, path = "/api/restaurants/{id}/closures/{closure_id}", tag = "forecasting", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(ClosurePath),
    responses(
        (status = 200, description = "Removed", body = Envelope<ClosureRemoved>),
        (status = 404, description = "No such closure (or restaurant)", body = ErrorBody),
    ))]
async fn delete_closure(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(path): ApiPath<ClosurePath>,
) -> ApiResult<Reply<ClosureRemoved>> {
    super::require_train_access(&state, &me, path.id).await?;
    closures::remove(&state, path.id, path.closure_id).await?;
    Ok(ok(ClosureRemoved {
        deleted: path.closure_id,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClosureRemoved {
    pub deleted: Uuid,
}
