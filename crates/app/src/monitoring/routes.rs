//! `/api/monitoring/...`, and the seed's `/trigger_report` and `/get_report` contract.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use sea_orm::{EntityTrait, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::polls::StoreStats;
use super::report::{self, ReportStatus};
use super::timeline::Poll;
use super::{DayUptime, Incident};
use crate::accounts::{AuthUser, MemberRole, Principal, Role, require_restaurant_role};
use crate::entities::monitoring_reports;
use crate::http::envelope::{Envelope, Page, PageParams, Reply, created, ok, paginate};
use crate::http::error::{ApiError, ApiResult, ErrorBody, FieldErrors};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_polls))
        .routes(routes!(list_reports, create_report))
        .routes(routes!(get_report))
        .routes(routes!(report_csv))
        .routes(routes!(store_incidents))
        .routes(routes!(store_uptime))
        .routes(routes!(trigger_report_seed))
        .routes(routes!(get_report_seed))
}

/// Reports cover every store: operations people (admins and KAMs) run them.
fn require_operations(me: &Principal) -> ApiResult<()> {
    me.require_role(&[Role::Admin, Role::Kam])?;
    Ok(())
}

/// A store's own people, or operations.
async fn require_store_access(state: &AppState, me: &Principal, id: Uuid) -> ApiResult<()> {
    if me.role != Role::Kam {
        require_restaurant_role(state, me, id, MemberRole::Manager).await?;
    }
    crate::restaurants::find(state, id).await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PollInput {
    /// The store's external id; an unknown one creates the restaurant (in America/Chicago until its zone
    /// is set).
    #[schema(value_type = String, required = true, example = "8419537941919820732", max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    pub store_id: Option<String>,
    #[schema(value_type = String, required = true, example = "2023-01-22 12:09:39.388884 UTC",
        pattern = r"^(?:[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)[ T](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?(?: UTC|Z|\+00:00)?$")]
    pub timestamp_utc: Option<String>,
    /// active or inactive (any case).
    #[schema(value_type = String, required = true, example = "active",
        pattern = r"^\s*([Aa][Cc][Tt][Ii][Vv][Ee]|[Ii][Nn][Aa][Cc][Tt][Ii][Vv][Ee])\s*$")]
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PollBatch {
    #[schema(min_items = 1, max_items = 50000)]
    pub polls: Vec<PollInput>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PollsStored {
    #[serde(flatten)]
    pub stats: StoreStats,
    pub stores_created: usize,
}

/// Store a batch of status polls (admins and KAMs; API keys need `monitoring:write`). The whole batch is
/// checked first: one bad poll rejects the batch with the field named, and nothing is stored. Polls
/// already stored are counted as duplicates, not stored twice.
#[utoipa::path(post, path = "/api/monitoring/polls", tag = "monitoring", security(("bearer" = []), ("api_key" = ["monitoring:write"])),
    request_body(content = PollBatch, example = json!({"polls": [
        {"store_id": "8419537941919820732", "timestamp_utc": "2023-01-22 12:09:39.388884 UTC", "status": "active"},
        {"store_id": "8419537941919820732", "timestamp_utc": "2023-01-22 13:10:02 UTC", "status": "inactive"}
    ]})),
    responses(
        (status = 201, description = "Stored", body = Envelope<PollsStored>),
        (status = 403, description = "Not operations, or the key lacks monitoring:write", body = ErrorBody),
        (status = 422, description = "A poll is invalid", body = ErrorBody),
    ))]
async fn add_polls(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiJson(batch): ApiJson<PollBatch>,
) -> ApiResult<Reply<PollsStored>> {
    me.require_role(&[Role::Admin, Role::Kam])?;
    if batch.polls.is_empty() {
        return Err(ApiError::field("polls", "must hold at least one poll"));
    }
    if batch.polls.len() > 50_000 {
        return Err(ApiError::field("polls", "at most 50000 polls a batch"));
    }
    let mut errors = FieldErrors::new();
    let mut conflicts = FieldErrors::new();
    let mut parsed: Vec<(&str, Poll)> = Vec::with_capacity(batch.polls.len());
    for (i, p) in batch.polls.iter().enumerate() {
        let store = match p.store_id.as_deref() {
            Some(raw)
                if raw.chars().count() <= 100
                    && !raw.contains(char::is_control)
                    && !crate::http::text::trimmed(raw).is_empty() =>
            {
                Some(crate::http::text::trimmed(raw))
            }
            Some(_) => {
                errors.add(
                    &format!("polls[{i}].store_id"),
                    "must be 1 to 100 characters, none of them control characters",
                );
                None
            }
            None => {
                errors.add(&format!("polls[{i}].store_id"), "is required");
                None
            }
        };
        let at = match &p.timestamp_utc {
            Some(raw) => errors.check(
                &format!("polls[{i}].timestamp_utc"),
                super::import::parse_timestamp(raw),
            ),
            None => {
                errors.add(&format!("polls[{i}].timestamp_utc"), "is required");
                None
            }
        };
        let inactive = match &p.status {
            Some(raw) => errors.check(
                &format!("polls[{i}].status"),
                super::import::parse_status(raw),
            ),
            None => {
                errors.add(&format!("polls[{i}].status"), "is required");
                None
            }
        };
        if let (Some(store), Some(at), Some(inactive)) = (store, at, inactive) {
            if at > report::micros_of(state.now() + chrono::Duration::days(1)) {
                conflicts.add(
                    &format!("polls[{i}].timestamp_utc"),
                    "is more than a day in the future",
                );
            }
            parsed.push((store, Poll::new(at, inactive)));
        }
    }
    errors.into_result()?;
    conflicts.into_conflict(
        "poll_in_the_future",
        "a poll is from more than a day ahead of this server's clock; nothing was stored",
    )?;
    let mut ids: Vec<&str> = parsed.iter().map(|(s, _)| *s).collect();
    ids.sort_unstable();
    ids.dedup();
    let known = crate::restaurants::ensure_external(&state, &ids, &|_| None).await?;
    let polls: Vec<(Uuid, Poll)> = parsed
        .iter()
        .map(|(store, poll)| (known[*store].id, *poll))
        .collect();
    let stats = super::polls::store(&state, &polls, &|_, _| {}).await?;
    metrics::counter!("brigade_monitoring_polls_stored_total").increment(stats.stored);
    Ok(created(PollsStored {
        stats,
        stores_created: known.values().filter(|k| k.created).count(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    pub report_id: Uuid,
    pub status: ReportStatus,
    /// The instant asked for, if any.
    pub as_of: Option<DateTime<Utc>>,
    /// The "now" the windows end at: `as_of`, or the latest poll.
    pub computed_for: Option<DateTime<Utc>>,
    pub store_count: Option<i32>,
    /// Why it failed.
    pub error: Option<String>,
    pub duration_ms: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Where the CSV is, once complete.
    pub csv_url: Option<String>,
    /// The CSV itself (only on the single-report read, once complete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csv: Option<String>,
}

fn report_view(m: monitoring_reports::Model, with_csv: bool) -> ReportView {
    let status = ReportStatus::parse(&m.status);
    ReportView {
        report_id: m.id,
        status,
        as_of: m.as_of,
        computed_for: m.computed_for,
        store_count: m.store_count,
        error: m.error,
        duration_ms: m.duration_ms,
        created_at: m.created_at,
        completed_at: m.completed_at,
        csv_url: (status == ReportStatus::Complete)
            .then(|| format!("/api/monitoring/reports/{}/csv", m.id)),
        csv: if with_csv { m.csv } else { None },
    }
}

#[derive(Debug, Default, Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportRequest {
    /// End the windows at this instant instead of the latest poll (polls after it are ignored).
    #[schema(value_type = Option<String>, example = "2023-01-25T18:00:00Z", pattern = r"^(?:(?:19[7-9][0-9]|[2-9][0-9]{3})-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)|(?:19(?:7[26]|8[048]|9[26])|[2-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[3579][26])00)-02-29)[ T](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?(?: UTC|Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?$")]
    #[param(value_type = Option<String>, example = "2023-01-25T18:00:00Z", pattern = r"^(?:(?:19[7-9][0-9]|[2-9][0-9]{3})-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)|(?:19(?:7[26]|8[048]|9[26])|[2-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[3579][26])00)-02-29)[ T](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?(?: UTC|Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?$")]
    pub as_of: Option<String>,
}

fn parse_as_of(raw: Option<&str>) -> ApiResult<Option<DateTime<Utc>>> {
    raw.map(|s| super::parse_instant(s).map_err(|problem| ApiError::field("as_of", problem)))
        .transpose()
}

/// Start an uptime/downtime report of every store (admins and KAMs). It runs as a background job; poll
/// `GET /api/monitoring/reports/{id}` until it is `Complete` or `Failed`.
#[utoipa::path(post, path = "/api/monitoring/reports", tag = "monitoring", security(("bearer" = []), ("api_key" = ["analytics:read"])),
    request_body(content = Option<ReportRequest>, example = json!({"as_of": "2023-01-25T18:00:00Z"})),
    responses(
        (status = 202, description = "Started", body = Envelope<ReportView>),
        (status = 422, description = "Bad as_of", body = ErrorBody),
    ))]
async fn create_report(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    body: axum::body::Bytes,
) -> ApiResult<Reply<ReportView>> {
    require_operations(&me)?;
    // The body is optional: no body means "up to the latest poll".
    let request: ReportRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ReportRequest::default()
    } else {
        crate::http::extract::parse_json::<Option<ReportRequest>>(&body)?.unwrap_or_default()
    };
    let as_of = parse_as_of(request.as_of.as_deref())?;
    let model = report::start(&state, as_of, Some(me.user_id)).await?;
    Ok(created(report_view(model, false))
        .status(StatusCode::ACCEPTED)
        .message("report started"))
}

/// Reports, newest first (admins and KAMs).
#[utoipa::path(get, path = "/api/monitoring/reports", tag = "monitoring", security(("bearer" = []), ("api_key" = ["analytics:read"])),
    params(PageParams),
    responses((status = 200, description = "Reports without their CSV", body = Envelope<Page<ReportView>>)))]
async fn list_reports(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Reply<Page<ReportView>>> {
    require_operations(&me)?;
    let query =
        monitoring_reports::Entity::find().order_by_desc(monitoring_reports::Column::CreatedAt);
    let (items, index, per_page, total) = paginate(query, &state.db, &page).await?;
    Ok(ok(Page::new(
        items.into_iter().map(|m| report_view(m, false)).collect(),
        index,
        per_page,
        total,
    )))
}

async fn find_report(state: &AppState, id: Uuid) -> ApiResult<monitoring_reports::Model> {
    monitoring_reports::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("report"))
}

/// One report: `Running`, `Complete` with its CSV, or `Failed` with the reason.
#[utoipa::path(get, path = "/api/monitoring/reports/{id}", tag = "monitoring", security(("bearer" = []), ("api_key" = ["analytics:read"])),
    params(("id" = Uuid, Path, description = "Report id")),
    responses(
        (status = 200, description = "The report", body = Envelope<ReportView>),
        (status = 404, description = "No such report", body = ErrorBody),
    ))]
async fn get_report(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<ReportView>> {
    require_operations(&me)?;
    Ok(ok(report_view(find_report(&state, id).await?, true)))
}

/// A complete report's CSV as a download (the API and the web page).
pub fn csv_response(m: &monitoring_reports::Model) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"store-report-{}.csv\"", m.id),
            ),
        ],
        m.csv.clone().unwrap_or_default(),
    )
        .into_response()
}

/// The report's CSV (409 while it is running or when it failed).
#[utoipa::path(get, path = "/api/monitoring/reports/{id}/csv", tag = "monitoring", security(("bearer" = []), ("api_key" = ["analytics:read"])),
    params(("id" = Uuid, Path, description = "Report id")),
    responses(
        (status = 200, description = "store_id,uptime_last_hour,...", content_type = "text/csv", body = String),
        (status = 409, description = "Not complete", body = ErrorBody),
    ))]
async fn report_csv(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    require_operations(&me)?;
    let m = find_report(&state, id).await?;
    match ReportStatus::parse(&m.status) {
        ReportStatus::Complete => Ok(csv_response(&m)),
        ReportStatus::Running => Err(ApiError::conflict(
            "report_running",
            "the report is still running",
        )),
        ReportStatus::Failed => Err(ApiError::conflict(
            "report_failed",
            format!(
                "the report failed: {}",
                m.error.as_deref().unwrap_or("no reason recorded")
            ),
        )),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeedTrigger {
    pub report_id: Uuid,
}

/// The seed's contract: start a report and return its id (same rights as `POST /api/monitoring/reports`).
#[utoipa::path(get, path = "/trigger_report", tag = "monitoring", security(("bearer" = []), ("api_key" = ["analytics:read"])),
    params(ReportRequest),
    responses((status = 200, description = "Started", body = SeedTrigger, example = json!({"report_id": "01938f9e-7c1a-7d2e-9a4b-2f6d8c0e1a23"}))))]
async fn trigger_report_seed(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(request): ApiQuery<ReportRequest>,
) -> ApiResult<axum::Json<SeedTrigger>> {
    require_operations(&me)?;
    let as_of = parse_as_of(request.as_of.as_deref())?;
    let model = report::start(&state, as_of, Some(me.user_id)).await?;
    Ok(axum::Json(SeedTrigger {
        report_id: model.id,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeedReportQuery {
    /// The id `/trigger_report` answered.
    #[param(value_type = Uuid, required = true)]
    pub report_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeedStatus {
    pub status: ReportStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The seed's contract: `{"status": "Running"}`, `{"status": "Failed", "reason": ...}`, or, once complete,
/// the CSV itself (with the header `X-Report-Status: Complete`).
#[utoipa::path(get, path = "/get_report", tag = "monitoring", security(("bearer" = []), ("api_key" = ["analytics:read"])),
    params(SeedReportQuery),
    responses(
        (status = 200, description = "Running or Failed as JSON; the CSV when complete", body = SeedStatus),
        (status = 404, description = "No such report", body = ErrorBody),
    ))]
async fn get_report_seed(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(query): ApiQuery<SeedReportQuery>,
) -> ApiResult<Response> {
    require_operations(&me)?;
    let id = query
        .report_id
        .as_deref()
        .ok_or_else(|| ApiError::field("report_id", "is required"))?
        .parse::<Uuid>()
        .map_err(|_| ApiError::field("report_id", "is not a report id"))?;
    let m = find_report(&state, id).await?;
    let status = ReportStatus::parse(&m.status);
    if status == ReportStatus::Complete {
        let mut response = csv_response(&m);
        response.headers_mut().insert(
            "x-report-status",
            axum::http::HeaderValue::from_static("Complete"),
        );
        return Ok(response);
    }
    Ok(axum::Json(SeedStatus {
        status,
        reason: m.error,
    })
    .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// Start (default: 7 days before `to`), in the years 1970 to 9999; at most 93 days before `to`
    /// (422 otherwise). A start not before the end is an empty period.
    #[param(pattern = r"^(19[7-9][0-9]|[2-9][0-9]{3})-")]
    pub from: Option<DateTime<Utc>>,
    /// End (default: the store's latest poll), in the years 1970 to 9999.
    #[param(pattern = r"^(19[7-9][0-9]|[2-9][0-9]{3})-")]
    pub to: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentList {
    pub restaurant_id: Uuid,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub incidents: Vec<Incident>,
}

/// A store's outages in a period: consecutive inactive polls in business hours, with start, end and
/// business downtime (the store's managers, admins and KAMs).
#[utoipa::path(get, path = "/api/monitoring/stores/{restaurant_id}/incidents", tag = "monitoring", security(("bearer" = []), ("api_key" = ["analytics:read"])),
    params(("restaurant_id" = Uuid, Path, description = "Restaurant id"), PeriodQuery),
    responses(
        (status = 200, description = "Outages, oldest first", body = Envelope<IncidentList>),
        (status = 422, description = "Bad period", body = ErrorBody),
    ))]
async fn store_incidents(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<PeriodQuery>,
) -> ApiResult<Reply<IncidentList>> {
    require_store_access(&state, &me, id).await?;
    let (from, to, incidents) = super::incidents(&state, id, query.from, query.to).await?;
    Ok(ok(IncidentList {
        restaurant_id: id,
        from,
        to,
        incidents,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UptimeQuery {
    /// Local days (default 14).
    pub days: Option<UptimeDays>,
    /// The last day is the one holding this instant (default: the store's latest poll), in the years
    /// 1970 to 9999.
    #[param(pattern = r"^(19[7-9][0-9]|[2-9][0-9]{3})-")]
    pub at: Option<DateTime<Utc>>,
}

crate::bounded_parameter!(UptimeDays, 1, 93, "Local days of uptime, 1 to 93.");

/// A store's uptime per local day (the store's managers, admins and KAMs).
#[utoipa::path(get, path = "/api/monitoring/stores/{restaurant_id}/uptime", tag = "monitoring", security(("bearer" = []), ("api_key" = ["analytics:read"])),
    params(("restaurant_id" = Uuid, Path, description = "Restaurant id"), UptimeQuery),
    responses((status = 200, description = "Oldest day first", body = Envelope<Vec<DayUptime>>)))]
async fn store_uptime(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<UptimeQuery>,
) -> ApiResult<Reply<Vec<DayUptime>>> {
    require_store_access(&state, &me, id).await?;
    Ok(ok(super::daily_uptime(
        &state,
        id,
        query.days.map_or(14, |d| d.get() as u32),
        query.at,
    )
    .await?))
}
