//! `/api/channel-orders/...`, `/api/channel-accounts/...` and `/api/analytics/...`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::answers;
use super::channel::{self, ChannelOrderInput, IngestOutcome, Mapping};
use super::queries::{
    self, Bound, Clock, CustomerSummary, Range, Restaurants, StatusTime, ThroughputBucket,
};
use super::rollup::{self, RollupRun};
use crate::accounts::{AuthUser, MemberRole, Principal, Role, require_restaurant_role};
use crate::entities::{
    channel_accounts, channel_orders, customers, order_status_events, order_status_rollups,
    restaurants, status_code_mappings,
};
use crate::http::envelope::{Envelope, Reply, created, ok};
use crate::http::error::{ApiError, ApiResult, ErrorBody, FieldErrors};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::orders::{OrderStatus, OrderView};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ingest_orders))
        .routes(routes!(status_codes, new_status_codes))
        .routes(routes!(get_channel_order))
        .routes(routes!(add_status))
        .routes(routes!(set_account))
        .routes(routes!(time_in_status))
        .routes(routes!(throughput))
        .routes(routes!(customers_query))
        .routes(routes!(run_rollups))
}

/// Channel integrations and operations people send orders; API keys need `orders:write`.
fn require_ingest(me: &Principal) -> ApiResult<()> {
    me.require_role(&[Role::Admin, Role::Kam])?;
    Ok(())
}

const SIGNATURE_HEADER: &str = "x-signature";

/// Store channel orders: one order object as the channel sends it, or an array of them (at most 5,000, and
/// within the request body limit: 1 MiB by default, about 1,500 orders like the seed's; see
/// `body_limit_bytes`).
/// Idempotent on `_id`: an order sent again, or an update of it, merges into the stored order (new
/// status events are added, known ones counted as duplicates). One invalid order rejects the whole
/// request with the field named (`[3].items[0].quantity`), and nothing is stored. When the order's
/// account has a signing secret, `X-Signature: sha256=<hex HMAC-SHA256 of the body>` is required.
#[utoipa::path(post, path = "/api/channel-orders", tag = "channel-orders", security(("bearer" = []), ("api_key" = ["orders:write"])),
    request_body(content = ChannelOrderInput, example = json!({
        "_id": "60f87ea2a52dad8a3fa4860",
        "created": "2021-07-22T20:08:02Z",
        "account": "60bfc6dc4887c9851d5a0246",
        "brandId": "60bfc6dc4887c9851d5a0245",
        "channelOrderId": "TEST1626898082",
        "customer": {"name": "John Doe", "phoneNumber": "+123456789"},
        "deliveryAddress": {"city": "Helsinki", "street": "Huuvatie 1", "postalCode": "00100"},
        "pickupTime": "2021-07-22T20:28:02Z",
        "items": [{"name": "Hawaii Burger", "plu": "CAT1-0001", "quantity": 1}],
        "status": 1,
        "statusHistory": [
            {"status": 4, "timestamp": "2021-07-22T20:08:02Z"},
            {"status": 1, "timestamp": "2021-07-22T20:10:00Z"}
        ]
    })),
    responses(
        (status = 201, description = "At least one order created", body = Envelope<IngestOutcome>),
        (status = 200, description = "Only updates (or repeats) of stored orders", body = Envelope<IngestOutcome>),
        (status = 401, description = "Missing or wrong signature", body = ErrorBody),
        (status = 403, description = "Not operations, or the key lacks orders:write", body = ErrorBody),
        (status = 409, description = "An order contradicts what is stored of it (`order_conflict`), or names an unknown brand where orders do not create restaurants (`unknown_restaurant`); nothing was stored", body = ErrorBody),
        (status = 422, description = "An order is invalid", body = ErrorBody),
    ))]
async fn ingest_orders(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Reply<IngestOutcome>)> {
    require_ingest(&me)?;
    let mut value: serde_json::Value = crate::http::extract::parse_json(&body)?;
    // JSON Schema counts 2.0 as an integer, as the document's clients may write it.
    crate::http::extract::whole_numbers_as_integers(&mut value);
    let (inputs, batch) = match value {
        serde_json::Value::Array(items) => (items, true),
        v @ serde_json::Value::Object(_) => (vec![v], false),
        _ => {
            return Err(ApiError::bad_request(
                "invalid_body",
                "send one order object or an array of them",
            ));
        }
    };
    if inputs.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_body",
            "the array holds no orders",
        ));
    }
    if inputs.len() > channel::MAX_BATCH {
        return Err(ApiError::bad_request(
            "batch_too_large",
            format!("at most {} orders a request", channel::MAX_BATCH),
        ));
    }
    let mut errors = FieldErrors::new();
    let mut valid = Vec::with_capacity(inputs.len());
    for (i, raw) in inputs.into_iter().enumerate() {
        let at = if batch {
            format!("[{i}]")
        } else {
            String::new()
        };
        match serde_json::from_value::<ChannelOrderInput>(raw) {
            Ok(input) => {
                if let Some(order) = channel::validate(&input, &at, &mut errors) {
                    valid.push(order);
                }
            }
            Err(err) => errors.add(
                if at.is_empty() { "body" } else { &at },
                format!("is not a channel order: {err}"),
            ),
        }
    }
    errors.into_result()?;
    let accounts = valid.iter().map(|o| o.account.clone()).collect();
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    channel::check_signatures(&state, &accounts, signature, &body).await?;
    let outcome = if batch {
        channel::ingest(&state, valid).await?
    } else {
        let order = valid.into_iter().next().ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("a checked single order went missing"))
        })?;
        state.channel_writer().store(order).await?
    };
    let status = if outcome.created > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, ok(outcome)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelStatusInput {
    /// The channel's integer code (unknown codes are stored and reported).
    #[schema(example = 50, minimum = 0, maximum = 2147483647)]
    pub status: i64,
    /// When it happened (RFC 3339, in the years 1970 to 9999).
    #[schema(example = "2021-07-22T20:15:00Z", format = DateTime, pattern = r"^(19[7-9][0-9]|[2-9][0-9]{3})-")]
    pub timestamp: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusAdded {
    pub order_id: Uuid,
    /// False when the same event (code and instant) was stored already.
    pub stored: bool,
    /// The order's state after the event, by the latest timestamp.
    #[schema(example = "PREPARING")]
    pub status: String,
    pub status_code: i32,
}

/// Add a status change to a channel order (by its `_id`). Events may arrive late, twice or out of order:
/// each is stored once and the order's status follows the latest timestamp. Same rights and signature
/// as ingest.
#[utoipa::path(post, path = "/api/channel-orders/{id}/status", tag = "channel-orders", security(("bearer" = []), ("api_key" = ["orders:write"])),
    params(("id" = String, Path, description = "The channel's order `_id`")),
    request_body(content = ChannelStatusInput, example = json!({"status": 50, "timestamp": "2021-07-22T20:15:00Z"})),
    responses(
        (status = 200, description = "Stored (or already stored)", body = Envelope<StatusAdded>),
        (status = 401, description = "Missing or wrong signature", body = ErrorBody),
        (status = 404, description = "No such channel order", body = ErrorBody),
        (status = 409, description = "Contradicts the stored history (`order_conflict`)", body = ErrorBody),
        (status = 422, description = "Invalid", body = ErrorBody),
    ))]
async fn add_status(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Reply<StatusAdded>> {
    require_ingest(&me)?;
    let input: ChannelStatusInput = crate::http::extract::parse_json(&body)?;
    let code = i32::try_from(input.status)
        .ok()
        .filter(|c| *c >= 0)
        .ok_or_else(|| ApiError::field("status", "must be a status code from 0 to 2147483647"))?;
    let at =
        channel::parse_instant(&input.timestamp).map_err(|p| ApiError::field("timestamp", p))?;
    let target = channel::update_target(&state, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("channel order"))?;
    let accounts = std::iter::once(target.account.clone()).collect();
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    channel::check_signatures(&state, &accounts, signature, &body).await?;
    let order = channel::add_status(&state, target, code, at).await?;
    Ok(ok(StatusAdded {
        order_id: order.order_id,
        stored: order.events_stored > 0,
        status: order.status,
        status_code: order.status_code,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelEventView {
    pub code: Option<i32>,
    pub label: Option<String>,
    #[schema(example = "PREPARING")]
    pub status: String,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelOrderView {
    #[serde(rename = "_id")]
    pub external_id: String,
    pub account: String,
    pub brand_id: String,
    pub channel_order_id: Option<String>,
    pub status_code: i32,
    pub status_label: Option<String>,
    pub customer_name: Option<String>,
    pub customer_phone: Option<String>,
    /// The address as the channel sent it, or null when it sent none.
    #[schema(value_type = Option<Object>)]
    pub delivery_address: Option<serde_json::Value>,
    pub order: OrderView,
    /// In timestamp order.
    pub events: Vec<ChannelEventView>,
}

/// A channel order by its `_id`, with its status history in timestamp order (operations, or the
/// restaurant's people).
#[utoipa::path(get, path = "/api/channel-orders/{id}", tag = "channel-orders", security(("bearer" = []), ("api_key" = ["orders:read"])),
    params(("id" = String, Path, description = "The channel's order `_id`")),
    responses(
        (status = 200, description = "The order", body = Envelope<ChannelOrderView>),
        (status = 404, description = "No such channel order", body = ErrorBody),
    ))]
async fn get_channel_order(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Reply<ChannelOrderView>> {
    let row = channel_orders::Entity::find()
        .filter(channel_orders::Column::ExternalId.eq(id.as_str()))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("channel order"))?;
    let order = crate::orders::find(&state, row.order_id).await?;
    if me.role != Role::Kam {
        require_restaurant_role(&state, &me, order.restaurant_id, MemberRole::Staff)
            .await
            .map_err(|_| ApiError::not_found("channel order"))?;
    }
    let mapping = channel::current_mapping(&state.db).await?;
    let events = order_status_events::Entity::find()
        .filter(order_status_events::Column::OrderId.eq(order.id))
        .order_by_asc(order_status_events::Column::OccurredAt)
        .order_by_asc(order_status_events::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|e| ChannelEventView {
            label: e
                .raw_code
                .and_then(|c| mapping.codes.get(&c).map(|(l, _)| l.clone())),
            code: e.raw_code,
            status: e.to_status,
            occurred_at: e.occurred_at,
            recorded_at: e.recorded_at,
        })
        .collect();
    let customer = match row.customer_id {
        Some(c) => customers::Entity::find_by_id(c).one(&state.db).await?,
        None => None,
    };
    let order = crate::orders::views_of(&state.db, vec![order])
        .await?
        .remove(0);
    Ok(ok(ChannelOrderView {
        status_label: mapping.codes.get(&row.status_code).map(|(l, _)| l.clone()),
        external_id: row.external_id,
        account: row.account,
        brand_id: row.brand_id,
        channel_order_id: row.channel_order_id,
        status_code: row.status_code,
        customer_name: customer.as_ref().and_then(|c| c.name.clone()),
        customer_phone: customer.map(|c| c.phone),
        delivery_address: row
            .delivery_address
            .and_then(|a| serde_json::from_str(&a).ok()),
        order,
        events,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CodeMapping {
    #[schema(example = 50)]
    pub code: i32,
    #[schema(example = "preparing")]
    pub label: String,
    #[schema(value_type = String, example = "PREPARING")]
    pub state: OrderStatus,
    /// Whether the state ends the order (COMPLETED or CANCELLED).
    #[serde(default)]
    pub terminal: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnknownCode {
    pub code: i32,
    /// Events stored with this code (as rolled up).
    pub events: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusCodes {
    pub version: i32,
    pub codes: Vec<CodeMapping>,
    /// Codes received that the mapping does not know (stored with the state UNKNOWN).
    pub unknown_seen: Vec<UnknownCode>,
}

fn mapping_view(mapping: &Mapping) -> Vec<CodeMapping> {
    mapping
        .codes
        .iter()
        .map(|(code, (label, state))| CodeMapping {
            code: *code,
            label: label.clone(),
            state: *state,
            terminal: state.is_terminal(),
        })
        .collect()
}

async fn unknown_seen(state: &AppState) -> ApiResult<Vec<UnknownCode>> {
    let rows: Vec<(i32, Option<i64>)> = order_status_rollups::Entity::find()
        .select_only()
        .column(order_status_rollups::Column::Code)
        .column_as(
            sea_orm::sea_query::Expr::expr(sea_orm::sea_query::Func::cast_as(
                sea_orm::sea_query::Func::sum(sea_orm::sea_query::Expr::col(
                    order_status_rollups::Column::Entered,
                )),
                sea_orm::sea_query::Alias::new("BIGINT"),
            )),
            "events",
        )
        .filter(order_status_rollups::Column::Granularity.eq(rollup::DAY))
        .filter(order_status_rollups::Column::Status.eq(channel::UNKNOWN_STATE))
        .group_by(order_status_rollups::Column::Code)
        .order_by_asc(order_status_rollups::Column::Code)
        .into_tuple()
        .all(&state.db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(code, events)| UnknownCode {
            code,
            events: events.unwrap_or(0),
        })
        .collect())
}

/// The current mapping of channel status codes to Brigade's order states, and the unknown codes seen.
#[utoipa::path(get, path = "/api/channel-orders/status-codes", tag = "channel-orders", security(("bearer" = []), ("api_key" = ["orders:read"])),
    responses((status = 200, description = "The mapping", body = Envelope<StatusCodes>)))]
async fn status_codes(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
) -> ApiResult<Reply<StatusCodes>> {
    me.require_role(&[Role::Admin, Role::Kam])?;
    let mapping = channel::current_mapping(&state.db).await?;
    Ok(ok(StatusCodes {
        version: mapping.version,
        codes: mapping_view(&mapping),
        unknown_seen: unknown_seen(&state).await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMapping {
    /// The complete list, each code once; codes left out become unknown for new events.
    #[schema(min_items = 1)]
    pub codes: Vec<NewCode>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCode {
    #[schema(minimum = 0)]
    pub code: i32,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub label: String,
    #[schema(example = "PREPARING")]
    pub state: OrderStatus,
}

/// Publish a new version of the mapping (administrators). Events already stored keep the state they
/// were stored with; new events use the new version.
#[utoipa::path(put, path = "/api/channel-orders/status-codes", tag = "channel-orders", security(("bearer" = []), ("api_key" = ["orders:write"])),
    request_body(content = NewMapping, example = json!({"codes": [
        {"code": 10, "label": "new", "state": "PENDING"},
        {"code": 90, "label": "finalized", "state": "COMPLETED"}
    ]})),
    responses(
        (status = 201, description = "The new version", body = Envelope<StatusCodes>),
        (status = 403, description = "Not an administrator", body = ErrorBody),
        (status = 422, description = "Invalid list", body = ErrorBody),
    ))]
async fn new_status_codes(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiJson(input): ApiJson<NewMapping>,
) -> ApiResult<(StatusCode, Reply<StatusCodes>)> {
    me.require_role(&[Role::Admin])?;
    let mut errors = FieldErrors::new();
    let mut seen = std::collections::HashSet::new();
    if input.codes.is_empty() {
        errors.add("codes", "must hold at least one code");
    }
    for (i, c) in input.codes.iter().enumerate() {
        if c.code < 0 {
            errors.add(&format!("codes[{i}].code"), "must not be negative");
        }
        if !seen.insert(c.code) {
            errors.add(&format!("codes[{i}].code"), "appears twice");
        }
        if let Err(problem) = crate::http::text::required_text(&c.label, 100) {
            errors.add(&format!("codes[{i}].label"), problem);
        }
    }
    errors.into_result()?;
    let now = state.now();
    let current = channel::current_mapping(&state.db).await?;
    let version = current.version + 1;
    status_code_mappings::Entity::insert_many(input.codes.iter().map(|c| {
        status_code_mappings::ActiveModel {
            version: Set(version),
            code: Set(c.code),
            label: Set(crate::http::text::trimmed(&c.label).to_string()),
            state: Set(c.state.as_str().to_string()),
            created_at: Set(now),
        }
    }))
    .exec_without_returning(&state.db)
    .await?;
    channel::mapping_changed(&state).await;
    let mapping = channel::current_mapping(&state.db).await?;
    Ok((
        StatusCode::CREATED,
        created(StatusCodes {
            version: mapping.version,
            codes: mapping_view(&mapping),
            unknown_seen: unknown_seen(&state).await?,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    /// Requests for this account must then carry `X-Signature`; null stops checking.
    #[schema(min_length = 16)]
    pub signing_secret: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub account: String,
    pub signed: bool,
}

/// Set or clear a channel account's signing secret (administrators).
#[utoipa::path(put, path = "/api/channel-accounts/{account}", tag = "channel-orders", security(("bearer" = []), ("api_key" = ["orders:write"])),
    params(("account" = String, Path, description = "The channel's account id")),
    request_body(content = AccountInput, example = json!({"signing_secret": "a-long-shared-secret"})),
    responses(
        (status = 200, description = "Saved", body = Envelope<AccountView>),
        (status = 403, description = "Not an administrator", body = ErrorBody),
        (status = 422, description = "Secret too short", body = ErrorBody),
    ))]
async fn set_account(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(account): ApiPath<String>,
    ApiJson(input): ApiJson<AccountInput>,
) -> ApiResult<Reply<AccountView>> {
    me.require_role(&[Role::Admin])?;
    if let Some(secret) = &input.signing_secret
        && secret.chars().count() < 16
    {
        return Err(ApiError::field(
            "signing_secret",
            "must be at least 16 characters",
        ));
    }
    let now = state.now();
    channel_accounts::Entity::insert(channel_accounts::ActiveModel {
        account: Set(account.clone()),
        signing_secret: Set(input.signing_secret.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(channel_accounts::Column::Account)
            .update_columns([
                channel_accounts::Column::SigningSecret,
                channel_accounts::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(&state.db)
    .await?;
    channel::account_changed(&state, &account).await;
    Ok(ok(AccountView {
        account,
        signed: input.signing_secret.is_some(),
    }))
}

/// Each restaurant's own clock, or UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TzChoice {
    Local,
    Restaurant,
    Utc,
}

/// Time in status by Brigade's states or by the channel's own codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ByChoice {
    State,
    Code,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IntervalChoice {
    Hour,
    Day,
}

crate::bounded_parameter!(
    TopCustomers,
    0,
    200,
    "How many of the most frequent customers to list, 0 to 200."
);

/// An end of a range: a date (its midnight in the zone asked) or an instant (RFC 3339).
#[derive(Debug, Clone, Copy)]
pub struct RangeEnd(Bound);

impl<'de> Deserialize<'de> for RangeEnd {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        bound(&raw).map(RangeEnd).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for RangeEnd {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{
            KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type,
        };
        let string = |format| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(format)))
        };
        OneOfBuilder::new()
            .item(string(KnownFormat::Date))
            .item(string(KnownFormat::DateTime))
            .description(Some(
                "A date (its midnight in the zone asked) or an instant (RFC 3339).",
            ))
            .into()
    }
}

impl utoipa::ToSchema for RangeEnd {}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsQuery {
    /// One restaurant. Operations leave it out for all restaurants; venue managers for all of theirs.
    pub restaurant_id: Option<Uuid>,
    /// One restaurant by its external id (a channel's `brandId`).
    pub brand: Option<String>,
    /// Start: an instant (RFC 3339) or a date (its midnight in the zone asked). Default: 7 days before
    /// `to`. A range whose start is not before its end is empty.
    pub from: Option<RangeEnd>,
    /// End (exclusive): an instant or a date. Default: now.
    pub to: Option<RangeEnd>,
    /// `local` (each restaurant's zone, the default; `restaurant` says the same) or `utc`.
    pub tz: Option<TzChoice>,
    /// Time in status: `state` (default) or `code` (the channel's codes).
    pub by: Option<ByChoice>,
    /// Throughput: `hour` (default) or `day`.
    pub interval: Option<IntervalChoice>,
    /// Customers: how many of the most frequent to list (default 20).
    pub top: Option<TopCustomers>,
}

fn bound(raw: &str) -> Result<Bound, String> {
    if let Ok(date) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Ok(Bound::Date(date));
    }
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|at| Bound::At(at.with_timezone(&chrono::Utc)))
        .map_err(|_| {
            "must be an instant like 2021-07-22T20:00:00Z or a date like 2021-07-22".into()
        })
}

/// The range asked for; `None` when it is empty (its start is not before its end).
fn range_of(state: &AppState, q: &AnalyticsQuery) -> Option<Range> {
    let to = match q.to {
        Some(RangeEnd(end)) => end,
        None => Bound::At(state.now()),
    };
    let from = match q.from {
        Some(RangeEnd(start)) => start,
        None => match to {
            Bound::At(at) => Bound::At(at - chrono::Duration::days(7)),
            Bound::Date(d) => Bound::Date(d - chrono::Duration::days(7)),
        },
    };
    // Compare in UTC (a zone moves both ends by less than a day).
    let approx = |b: Bound| match b {
        Bound::At(at) => at.timestamp(),
        Bound::Date(d) => d
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp(),
    };
    (approx(to) > approx(from)).then_some(Range { from, to })
}

/// A range as the answer sees it: the queries take an instant's start out to the whole hour before it
/// and its end to the whole hour after, and every zone's hours begin on a whole minute, so instants
/// within one minute (the start floored, the end ceiled) give the same answer and the same key.
fn range_key(range: Range) -> String {
    let minute = |b: Bound, up: bool| match b {
        Bound::Date(d) => d.to_string(),
        Bound::At(at) => {
            let s = at.timestamp_millis();
            let m = if up {
                s.div_euclid(60_000) + i64::from(s.rem_euclid(60_000) > 0)
            } else {
                s.div_euclid(60_000)
            };
            format!("{m}m")
        }
    };
    format!("{}..{}", minute(range.from, false), minute(range.to, true))
}

const EMPTY_RANGE: &str = "the range is empty: from is not before to";

fn clock_of(q: &AnalyticsQuery) -> Clock {
    match q.tz {
        None | Some(TzChoice::Local) | Some(TzChoice::Restaurant) => Clock::Local,
        Some(TzChoice::Utc) => Clock::Utc,
    }
}

/// Which restaurants the caller may ask about: operations all (or the one named), restaurant managers
/// their own (named).
async fn scope_of(state: &AppState, me: &Principal, q: &AnalyticsQuery) -> ApiResult<Restaurants> {
    let id = match (&q.restaurant_id, &q.brand) {
        (Some(id), _) => Some(*id),
        (None, Some(brand)) => Some(
            restaurants::Entity::find()
                .select_only()
                .column(restaurants::Column::Id)
                .filter(restaurants::Column::ExternalId.eq(brand.trim()))
                .into_tuple::<Uuid>()
                .one(&state.db)
                .await?
                .ok_or_else(|| ApiError::not_found("restaurant"))?,
        ),
        (None, None) => None,
    };
    match (me.role, id) {
        (Role::Admin | Role::Kam, None) => Ok(Restaurants::All),
        (Role::Kam, Some(id)) => {
            crate::restaurants::find(state, id).await?;
            Ok(Restaurants::Some(vec![id]))
        }
        (_, Some(id)) => {
            require_restaurant_role(state, me, id, MemberRole::Manager).await?;
            crate::restaurants::find(state, id).await?;
            Ok(Restaurants::Some(vec![id]))
        }
        // Venue managers: all of their restaurants.
        (_, None) => {
            let managed: Vec<Uuid> = crate::entities::restaurant_members::Entity::find()
                .select_only()
                .column(crate::entities::restaurant_members::Column::RestaurantId)
                .filter(crate::entities::restaurant_members::Column::UserId.eq(me.user_id))
                .filter(
                    crate::entities::restaurant_members::Column::Role
                        .is_in([MemberRole::Manager.as_str(), MemberRole::Owner.as_str()]),
                )
                .into_tuple()
                .all(&state.db)
                .await?;
            if managed.is_empty() {
                return Err(ApiError::forbidden(
                    "analytics are for operations and the managers of a restaurant",
                ));
            }
            Ok(Restaurants::Some(managed))
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimeInStatus {
    pub statuses: Vec<StatusTime>,
}

/// Average, median and p90 time orders spend in each status: from an event to the order's next event
/// (the open last state is not counted), by the status entered in the range. Read from the rollups,
/// which lag the event stream by up to a minute.
#[utoipa::path(get, path = "/api/analytics/time-in-status", tag = "analytics", security(("bearer" = []), ("api_key" = ["analytics:read"])),
    params(AnalyticsQuery),
    responses(
        (status = 200, description = "Per status", body = Envelope<TimeInStatus>, example = json!({"success": true, "data": {"statuses": [
            {"status": "PENDING", "code": null, "entered": 120, "timed": 118, "avg_seconds": 95.5, "median_seconds": 80.0, "p90_seconds": 170.0}
        ]}})),
        (status = 403, description = "Not allowed for this restaurant", body = ErrorBody),
        (status = 404, description = "No such restaurant", body = ErrorBody),
        (status = 422, description = "Invalid range or option", body = ErrorBody),
    ))]
async fn time_in_status(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> ApiResult<Reply<TimeInStatus>> {
    let which = scope_of(&state, &me, &q).await?;
    let Some(range) = range_of(&state, &q) else {
        return Ok(ok(TimeInStatus {
            statuses: Vec::new(),
        })
        .message(EMPTY_RANGE));
    };
    let by_code = q.by == Some(ByChoice::Code);
    let clock = clock_of(&q);
    let question = format!(
        "time-in-status {which:?} {} {clock:?} {by_code}",
        range_key(range)
    );
    let statuses = answers::cached(&state, &question, || async {
        Ok(queries::time_in_status(&state.db, &which, range, clock, by_code).await?)
    })
    .await?;
    Ok(ok(TimeInStatus { statuses }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ThroughputView {
    pub interval: String,
    pub buckets: Vec<ThroughputBucket>,
}

/// Orders created and orders reaching a terminal state per hour (or day), in the restaurants' local
/// time or UTC. Buckets without orders are left out.
#[utoipa::path(get, path = "/api/analytics/throughput", tag = "analytics", security(("bearer" = []), ("api_key" = ["analytics:read"])),
    params(AnalyticsQuery),
    responses(
        (status = 200, description = "Per bucket", body = Envelope<ThroughputView>),
        (status = 403, description = "Not allowed for this restaurant", body = ErrorBody),
        (status = 404, description = "No such restaurant", body = ErrorBody),
        (status = 422, description = "Invalid range or option", body = ErrorBody),
    ))]
async fn throughput(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> ApiResult<Reply<ThroughputView>> {
    let which = scope_of(&state, &me, &q).await?;
    let daily = q.interval == Some(IntervalChoice::Day);
    let interval = if daily { "day" } else { "hour" }.to_string();
    let Some(range) = range_of(&state, &q) else {
        return Ok(ok(ThroughputView {
            interval,
            buckets: Vec::new(),
        })
        .message(EMPTY_RANGE));
    };
    let clock = clock_of(&q);
    let question = format!(
        "throughput {which:?} {} {clock:?} {daily}",
        range_key(range)
    );
    let buckets = answers::cached(&state, &question, || async {
        Ok(queries::throughput(&state.db, &which, range, clock, daily).await?)
    })
    .await?;
    Ok(ok(ThroughputView { interval, buckets }))
}

/// Orders per customer over their lifetime: how many customers placed how many orders, and the most
/// frequent customers with their first and last order and value. With `from`/`to`, only customers whose
/// first order falls in the range (a cohort). Channel customers are one customer per phone number.
#[utoipa::path(get, path = "/api/analytics/customers", tag = "analytics", security(("bearer" = []), ("api_key" = ["analytics:read"])),
    params(AnalyticsQuery),
    responses(
        (status = 200, description = "Summary", body = Envelope<CustomerSummary>),
        (status = 403, description = "Not allowed for this restaurant", body = ErrorBody),
        (status = 404, description = "No such restaurant", body = ErrorBody),
    ))]
async fn customers_query(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> ApiResult<Reply<CustomerSummary>> {
    let which = scope_of(&state, &me, &q).await?;
    let cohort = if q.from.is_some() || q.to.is_some() {
        let ms = |b: Bound| match b {
            Bound::At(at) => at.timestamp_millis(),
            Bound::Date(d) => d
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp_millis(),
        };
        // An empty range is a cohort of nobody.
        Some(match range_of(&state, &q) {
            Some(range) => (ms(range.from), ms(range.to)),
            None => (0, 0),
        })
    } else {
        None
    };
    let top = q.top.map_or(20, |t| t.get());
    let question = format!("customers {which:?} {cohort:?} {top}");
    let summary = answers::cached(&state, &question, || async {
        Ok(queries::customers(&state.db, &which, cohort, top).await?)
    })
    .await?;
    Ok(ok(summary))
}

/// Bring the summary tables up to date now (operations; the job also runs every minute).
#[utoipa::path(post, path = "/api/analytics/rollups", tag = "analytics", security(("bearer" = []), ("api_key" = ["analytics:read"])),
    responses(
        (status = 200, description = "What the run read", body = Envelope<RollupRun>),
        (status = 403, description = "Not operations", body = ErrorBody),
    ))]
async fn run_rollups(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
) -> ApiResult<Reply<RollupRun>> {
    me.require_role(&[Role::Admin, Role::Kam])?;
    // A run goes on to its end when the caller goes away (or the request times out): cut off half way,
    // its reads and writes would be thrown away.
    let run = tokio::spawn(async move { rollup::catch_up_now(&state).await })
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("rollup run failed: {e}")))??;
    Ok(ok(run))
}
