//! `/api/venues`, `/api/venues/{venue_id}/...` QR codes and logo, `/api/venues/qr/{code}` and
//! `/api/stocked-venues`: the seed's venue endpoints over the shared restaurants.

use axum::extract::{Multipart, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{QrCodeView, new_code, qr_png, qr_svg, qr_url, qr_view, resolve_code};
use crate::accounts::{AuthUser, MaybeAuthUser, MemberRole, Principal, require_restaurant_role};
use crate::entities::{qr_codes, restaurants, stocked_venues};
use crate::http::envelope::{
    Envelope, Page, PageParams, Reply, contains_ci, created, ok, paginate,
};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::restaurants::{RestaurantInput, RestaurantView, find_view};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_venues, create_venue))
        .routes(routes!(get_venue, update_venue, delete_venue))
        .routes(routes!(upload_logo))
        .routes(routes!(generate_qr))
        .routes(routes!(list_qr_codes))
        .routes(routes!(qr_image))
        .routes(routes!(revoke_qr))
        .routes(routes!(regenerate_qr))
        .routes(routes!(resolve_qr))
        .routes(routes!(share_qr))
        .routes(routes!(list_stocked, stock_venue))
        .routes(routes!(unstock_venue))
        .routes(routes!(toggle_favorite))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VenueFilter {
    /// Text search in name and address.
    pub q: Option<String>,
    pub region: Option<String>,
    /// Only venues that serve eat-in (true) or only takeout (false).
    pub eat_in: Option<bool>,
    pub page: Option<crate::http::envelope::PageNumber>,
    pub per_page: Option<crate::http::envelope::PerPage>,
}

/// Venues taking orders, by name. Public.
#[utoipa::path(get, path = "/api/venues", tag = "venues", security((), ("bearer" = []), ("api_key" = ["restaurants:read"])), params(VenueFilter),
    responses((status = 200, description = "A page of venues", body = Envelope<Page<RestaurantView>>)))]
async fn list_venues(
    State(state): State<AppState>,
    ApiQuery(filter): ApiQuery<VenueFilter>,
) -> ApiResult<Reply<Page<RestaurantView>>> {
    let mut select = restaurants::Entity::find()
        .filter(restaurants::Column::Status.ne("inactive"))
        .order_by_asc(restaurants::Column::Name)
        .order_by_asc(restaurants::Column::Id);
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let backend = sea_orm::ConnectionTrait::get_database_backend(&state.db);
        select = select.filter(crate::restaurants::matching(backend, q));
    }
    if let Some(region) = filter.region.as_deref().filter(|r| !r.is_empty()) {
        select = select.filter(restaurants::Column::Region.eq(region));
    }
    if let Some(eat_in) = filter.eat_in {
        select = select.filter(restaurants::Column::EnableEatIn.eq(eat_in));
    }
    let params = PageParams {
        page: filter.page,
        per_page: filter.per_page,
    };
    let (rows, index, per_page, total) = paginate(select, &state.db, &params).await?;
    let items = crate::restaurants::views_of(&state.db, rows, state.now()).await?;
    Ok(ok(Page::new(items, index, per_page, total)))
}

/// One venue with its opening hours. Public unless the venue is inactive.
#[utoipa::path(get, path = "/api/venues/{id}", tag = "venues", security((), ("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("id" = Uuid, Path, description = "Venue id")),
    responses(
        (status = 200, description = "The venue", body = Envelope<RestaurantView>),
        (status = 404, description = "No such venue", body = ErrorBody),
    ))]
async fn get_venue(
    State(state): State<AppState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<RestaurantView>> {
    super::visible_venue(&state, &caller, id).await?;
    let venue = find_view(&state, id).await?;
    Ok(ok(venue))
}

/// Create a venue (admin). The same record is the restaurant everywhere else in Brigade.
#[utoipa::path(post, path = "/api/venues", tag = "venues", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    request_body(content = crate::restaurants::RestaurantInput, example = json!({"name": "Omochi Ramen", "timezone": "Asia/Tokyo", "currency": "JPY",
        "address": "1-2-3 Shibuya, Tokyo", "status": "active", "enable_eat_in": true,
        "hours": [{"weekday": 0, "opens": "11:30", "closes": "15:00"}, {"weekday": 0, "opens": "17:30", "closes": "01:00"}]})),
    responses(
        (status = 201, description = "Created", body = Envelope<RestaurantView>),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn create_venue(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiJson(input): ApiJson<RestaurantInput>,
) -> ApiResult<Reply<RestaurantView>> {
    me.require_admin()?;
    Ok(created(crate::restaurants::create(&state, &input).await?))
}

/// Update a venue (admin, or its owner or manager): details, opening hours, eat-in, reservation rules.
#[utoipa::path(put, path = "/api/venues/{id}", tag = "venues", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("id" = Uuid, Path, description = "Venue id")),
    request_body(content = RestaurantInput, example = json!({"enable_eat_in": false, "hours": [{"weekday": 4, "opens": "18:00", "closes": "02:00"}]})),
    responses(
        (status = 200, description = "Updated", body = Envelope<RestaurantView>),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn update_venue(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<RestaurantInput>,
) -> ApiResult<Reply<RestaurantView>> {
    Ok(ok(crate::restaurants::routes::update(
        &state, &me, id, &input,
    )
    .await?))
}

/// Delete a venue and everything that is only its (admin).
#[utoipa::path(delete, path = "/api/venues/{id}", tag = "venues", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("id" = Uuid, Path, description = "Venue id")),
    responses(
        (status = 200, description = "Deleted", body = Envelope<Option<String>>),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
    ))]
async fn delete_venue(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<Option<String>>> {
    me.require_admin()?;
    crate::restaurants::delete(&state, id).await?;
    Ok(ok(None).message("venue deleted"))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct LogoUpload {
    /// PNG, JPEG, WebP or GIF, within the request size limit.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Upload the venue's logo (multipart field `file`; owner, manager or admin). Replaces the old one.
#[utoipa::path(post, path = "/api/venues/{id}/logo", tag = "venues", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("id" = Uuid, Path, description = "Venue id")),
    request_body(content = LogoUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The venue with its new logo_url", body = Envelope<RestaurantView>),
        (status = 413, description = "Too large", body = ErrorBody),
        (status = 422, description = "Not an image", body = ErrorBody),
    ))]
async fn upload_logo(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<Reply<RestaurantView>> {
    let venue = crate::restaurants::find(&state, id).await?;
    require_restaurant_role(&state, &me, id, MemberRole::Manager).await?;
    let (file, ext) = crate::storage::read_image_upload(multipart).await?;
    let key = format!("venues/{id}/logo-{}.{ext}", Uuid::now_v7().simple());
    state.storage.put(&key, file).await?;
    restaurants::Entity::update_many()
        .col_expr(restaurants::Column::LogoKey, Expr::value(key))
        .col_expr(restaurants::Column::UpdatedAt, Expr::value(state.now()))
        .filter(restaurants::Column::Id.eq(id))
        .exec(&state.db)
        .await?;
    if let Some(old) = venue.logo_key {
        state.storage.delete(&old).await?;
    }
    Ok(ok(find_view(&state, id).await?))
}

async fn manage(state: &AppState, me: &Principal, venue_id: Uuid) -> ApiResult<restaurants::Model> {
    let venue = crate::restaurants::find(state, venue_id)
        .await
        .map_err(|_| ApiError::not_found("venue"))?;
    require_restaurant_role(state, me, venue_id, MemberRole::Manager).await?;
    Ok(venue)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QrInput {
    /// A table's label as printed (none or blank: the venue's own code, for takeout).
    #[schema(example = "T4", max_length = 40)]
    pub table: Option<String>,
}

pub(crate) fn table_label(input: &QrInput) -> ApiResult<Option<String>> {
    match input.table.as_deref() {
        Some(raw) => crate::http::text::optional_text(raw, 40)
            .map_err(|problem| ApiError::field("table", problem)),
        None => Ok(None),
    }
}

async fn live_code(
    state: &AppState,
    venue_id: Uuid,
    table: &Option<String>,
) -> ApiResult<Option<qr_codes::Model>> {
    let mut select = qr_codes::Entity::find()
        .filter(qr_codes::Column::RestaurantId.eq(venue_id))
        .filter(qr_codes::Column::RevokedAt.is_null());
    select = match table {
        Some(t) => select.filter(qr_codes::Column::TableLabel.eq(t.clone())),
        None => select.filter(qr_codes::Column::TableLabel.is_null()),
    };
    Ok(select.one(&state.db).await?)
}

async fn insert_code(
    state: &AppState,
    venue_id: Uuid,
    table: Option<String>,
    by: Option<Uuid>,
) -> ApiResult<qr_codes::Model> {
    // A clash of two random 10-character codes is astronomically unlikely; retry anyway.
    for _ in 0..3 {
        let result = qr_codes::ActiveModel {
            id: Set(Uuid::now_v7()),
            restaurant_id: Set(venue_id),
            code: Set(new_code()),
            table_label: Set(table.clone()),
            created_by: Set(by),
            created_at: Set(state.now()),
            revoked_at: Set(None),
        }
        .insert(&state.db)
        .await;
        match result {
            Ok(model) => return Ok(model),
            Err(err)
                if matches!(
                    err.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                ) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Err(ApiError::internal(anyhow::anyhow!(
        "could not draw a unique QR code"
    )))
}

/// The QR code of the venue or of one table: the live one when it exists, else a new one.
#[utoipa::path(post, path = "/api/venues/{venue_id}/generate-qr", tag = "venues", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    request_body(content = QrInput, example = json!({"table": "T4"})),
    responses(
        (status = 201, description = "A new code", body = Envelope<QrCodeView>),
        (status = 200, description = "The live code of that table", body = Envelope<QrCodeView>),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
    ))]
async fn generate_qr(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<QrInput>,
) -> ApiResult<Reply<QrCodeView>> {
    manage(&state, &me, venue_id).await?;
    let table = table_label(&input)?;
    match generate(&state, venue_id, table, Some(me.user_id)).await? {
        (qr, true) => Ok(created(qr_view(&state, qr))),
        (qr, false) => Ok(ok(qr_view(&state, qr))),
    }
}

/// The live code of the venue (`table` None) or of a table, or a new one (true when new). The caller's
/// right to manage the venue is checked by the caller.
pub(crate) async fn generate(
    state: &AppState,
    venue_id: Uuid,
    table: Option<String>,
    by: Option<Uuid>,
) -> ApiResult<(qr_codes::Model, bool)> {
    if let Some(existing) = live_code(state, venue_id, &table).await? {
        return Ok((existing, false));
    }
    Ok((insert_code(state, venue_id, table, by).await?, true))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QrFilter {
    /// Include revoked codes.
    pub include_revoked: Option<bool>,
}

/// The venue's QR codes (venue people and admins).
#[utoipa::path(get, path = "/api/venues/{venue_id}/qr-codes", tag = "venues", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), QrFilter),
    responses((status = 200, description = "Codes by table", body = Envelope<Vec<QrCodeView>>)))]
async fn list_qr_codes(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiQuery(filter): ApiQuery<QrFilter>,
) -> ApiResult<Reply<Vec<QrCodeView>>> {
    crate::restaurants::find(&state, venue_id)
        .await
        .map_err(|_| ApiError::not_found("venue"))?;
    require_restaurant_role(&state, &me, venue_id, MemberRole::Staff).await?;
    let mut select = qr_codes::Entity::find()
        .filter(qr_codes::Column::RestaurantId.eq(venue_id))
        .order_by_asc(qr_codes::Column::TableLabel)
        .order_by_asc(qr_codes::Column::CreatedAt);
    if !filter.include_revoked.unwrap_or(false) {
        select = select.filter(qr_codes::Column::RevokedAt.is_null());
    }
    let rows = select.all(&state.db).await?;
    Ok(ok(rows.into_iter().map(|q| qr_view(&state, q)).collect()))
}

pub(crate) async fn find_qr(
    state: &AppState,
    venue_id: Uuid,
    id: Uuid,
) -> ApiResult<qr_codes::Model> {
    qr_codes::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|q| q.restaurant_id == venue_id)
        .ok_or_else(|| ApiError::not_found("QR code"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImageQuery {
    /// Default `png`.
    pub format: Option<ImageFormat>,
    /// Minimum width in pixels (default 512).
    pub size: Option<QrSize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    Png,
    Svg,
}

crate::bounded_parameter!(
    QrSize,
    64,
    2048,
    "Minimum width of a QR image in pixels, 64 to 2048."
);

/// The QR code as an image to print (venue people and admins).
#[utoipa::path(get, path = "/api/venues/{venue_id}/qr-codes/{id}/image", tag = "venues", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "QR code id"), ImageQuery),
    responses(
        (status = 200, description = "PNG (default) or SVG, as `format` asks", content(
            (Vec<u8> = "image/png"),
            (String = "image/svg+xml"),
        )),
    ))]
async fn qr_image(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiQuery(query): ApiQuery<ImageQuery>,
) -> ApiResult<Response> {
    require_restaurant_role(&state, &me, venue_id, MemberRole::Staff).await?;
    let qr = find_qr(&state, venue_id, id).await?;
    let size = query.size.map_or(512, |s| s.get() as u32);
    let url = qr_url(&state, &qr.code);
    let name = format!(
        "qr-{}{}",
        qr.code,
        qr.table_label
            .as_deref()
            .map(|t| format!("-{}", t.replace(|c: char| !c.is_ascii_alphanumeric(), "_")))
            .unwrap_or_default()
    );
    match query.format.unwrap_or(ImageFormat::Png) {
        ImageFormat::Png => Ok((
            [
                (header::CONTENT_TYPE, "image/png".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"{name}.png\""),
                ),
            ],
            qr_png(&url, size)?,
        )
            .into_response()),
        ImageFormat::Svg => Ok((
            [
                (header::CONTENT_TYPE, "image/svg+xml".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"{name}.svg\""),
                ),
            ],
            qr_svg(&url, size)?,
        )
            .into_response()),
    }
}

/// Revoke a QR code: it stops resolving at once.
#[utoipa::path(post, path = "/api/venues/{venue_id}/qr-codes/{id}/revoke", tag = "venues", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "QR code id")),
    responses((status = 200, description = "Revoked", body = Envelope<QrCodeView>)))]
async fn revoke_qr(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Reply<QrCodeView>> {
    manage(&state, &me, venue_id).await?;
    Ok(ok(qr_view(&state, revoke(&state, venue_id, id).await?)))
}

/// Revoke a code of the venue (already revoked: as it is).
pub(crate) async fn revoke(
    state: &AppState,
    venue_id: Uuid,
    id: Uuid,
) -> ApiResult<qr_codes::Model> {
    let qr = find_qr(state, venue_id, id).await?;
    if qr.revoked_at.is_some() {
        return Ok(qr);
    }
    let mut active: qr_codes::ActiveModel = qr.into();
    active.revoked_at = Set(Some(state.now()));
    Ok(active.update(&state.db).await?)
}

/// Replace a QR code with a new one for the same table (the old one stops resolving).
#[utoipa::path(post, path = "/api/venues/{venue_id}/qr-codes/{id}/regenerate", tag = "venues", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "QR code id")),
    responses((status = 201, description = "The new code", body = Envelope<QrCodeView>)))]
async fn regenerate_qr(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Reply<QrCodeView>> {
    manage(&state, &me, venue_id).await?;
    let qr = regenerate(&state, venue_id, id, Some(me.user_id)).await?;
    Ok(created(qr_view(&state, qr)))
}

/// Revoke a code and make a new one for the same table.
pub(crate) async fn regenerate(
    state: &AppState,
    venue_id: Uuid,
    id: Uuid,
    by: Option<Uuid>,
) -> ApiResult<qr_codes::Model> {
    let old = revoke(state, venue_id, id).await?;
    insert_code(state, venue_id, old.table_label, by).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResolvedQr {
    pub venue: RestaurantView,
    /// The table the code belongs to (dine-in there), if any.
    pub table: Option<String>,
    pub code: String,
    /// Brigade's customer page for this code.
    pub page_url: String,
    pub menu_url: String,
}

/// What a scanned code opens: the venue (public details), the table and where the menu is. Public.
#[utoipa::path(get, path = "/api/venues/qr/{code}", tag = "venues", security((), ("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("code" = String, Path, description = "The code from the QR image")),
    responses(
        (status = 200, description = "Resolved", body = Envelope<ResolvedQr>),
        (status = 404, description = "Unknown code", body = ErrorBody),
        (status = 410, description = "Revoked code", body = ErrorBody),
    ))]
async fn resolve_qr(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<Reply<ResolvedQr>> {
    let (qr, venue) = resolve_code(&state, &code).await?;
    let id = venue.id;
    Ok(ok(ResolvedQr {
        venue: find_view(&state, id).await?,
        table: qr.table_label,
        page_url: qr_url(&state, &qr.code),
        code: qr.code,
        menu_url: format!("/api/venues/{id}/menu"),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShareLink {
    /// Link to the venue's customer page (its takeout code).
    pub url: String,
    /// A ready-made message to share.
    pub text: String,
    pub qr: QrCodeView,
}

/// A link to share the venue (its own takeout code, created on first use). Anyone signed in.
#[utoipa::path(post, path = "/api/venues/{venue_id}/share-qr", tag = "venues", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    responses(
        (status = 200, description = "The share link", body = Envelope<ShareLink>),
        (status = 403, description = "Not staff of this venue", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
    ))]
async fn share_qr(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
) -> ApiResult<Reply<ShareLink>> {
    // Minting a live code is the venue's decision (a manager may have revoked the last one).
    require_restaurant_role(&state, &me, venue_id, MemberRole::Staff).await?;
    let venue = crate::restaurants::find(&state, venue_id)
        .await
        .ok()
        .filter(|v| v.status != "inactive")
        .ok_or_else(|| ApiError::not_found("venue"))?;
    let qr = match live_code(&state, venue_id, &None).await? {
        Some(qr) => qr,
        None => insert_code(&state, venue_id, None, Some(me.user_id)).await?,
    };
    let url = qr_url(&state, &qr.code);
    Ok(ok(ShareLink {
        text: format!("Order from {} with Brigade: {url}", venue.name),
        url,
        qr: qr_view(&state, qr),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StockedVenueView {
    pub id: Uuid,
    pub venue: RestaurantView,
    pub is_favorite: bool,
    pub date_added: chrono::DateTime<chrono::Utc>,
}

async fn stocked_views(
    state: &AppState,
    rows: Vec<stocked_venues::Model>,
) -> ApiResult<Vec<StockedVenueView>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.restaurant_id).collect();
    let venues = restaurants::Entity::find()
        .filter(restaurants::Column::Id.is_in(ids))
        .all(&state.db)
        .await?;
    let mut views: std::collections::HashMap<Uuid, RestaurantView> =
        crate::restaurants::views_of(&state.db, venues, state.now())
            .await?
            .into_iter()
            .map(|v| (v.id, v))
            .collect();
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(StockedVenueView {
                id: row.id,
                venue: views.remove(&row.restaurant_id)?,
                is_favorite: row.is_favorite,
                date_added: row.date_added,
            })
        })
        .collect())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StockedFilter {
    /// Only favourites.
    pub favorite: Option<bool>,
    /// Text search in the venue's name.
    pub q: Option<String>,
    pub page: Option<crate::http::envelope::PageNumber>,
    pub per_page: Option<crate::http::envelope::PerPage>,
}

/// The caller's stocked venues, favourites first, then newest.
#[utoipa::path(get, path = "/api/stocked-venues", tag = "venues", security(("bearer" = []), ("api_key" = ["orders:read"])),
    params(StockedFilter),
    responses((status = 200, description = "A page of stocked venues", body = Envelope<Page<StockedVenueView>>)))]
async fn list_stocked(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(filter): ApiQuery<StockedFilter>,
) -> ApiResult<Reply<Page<StockedVenueView>>> {
    let mut select = stocked_venues::Entity::find()
        .filter(stocked_venues::Column::UserId.eq(me.user_id))
        .order_by_desc(stocked_venues::Column::IsFavorite)
        .order_by_desc(stocked_venues::Column::DateAdded);
    if let Some(favorite) = filter.favorite {
        select = select.filter(stocked_venues::Column::IsFavorite.eq(favorite));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let matching: Vec<Uuid> = restaurants::Entity::find()
            .select_only()
            .column(restaurants::Column::Id)
            .filter(contains_ci(restaurants::Column::Name, q))
            .into_tuple()
            .all(&state.db)
            .await?;
        select = select.filter(stocked_venues::Column::RestaurantId.is_in(matching));
    }
    let params = PageParams {
        page: filter.page,
        per_page: filter.per_page,
    };
    let (rows, index, per_page, total) = paginate(select, &state.db, &params).await?;
    Ok(ok(Page::new(
        stocked_views(&state, rows).await?,
        index,
        per_page,
        total,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockInput {
    pub venue_id: Uuid,
    pub is_favorite: Option<bool>,
}

/// Save a venue (once: saving it again returns the saved entry with 200).
#[utoipa::path(post, path = "/api/stocked-venues", tag = "venues", security(("bearer" = []), ("api_key" = ["orders:write"])),
    request_body(content = StockInput, example = json!({"venue_id": "0192f0c4-6c1e-7a30-8d3e-4f5a6b7c8d9e", "is_favorite": true})),
    responses(
        (status = 201, description = "Saved", body = Envelope<StockedVenueView>),
        (status = 200, description = "Already saved", body = Envelope<StockedVenueView>),
        (status = 404, description = "No such venue", body = ErrorBody),
    ))]
async fn stock_venue(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiJson(input): ApiJson<StockInput>,
) -> ApiResult<Reply<StockedVenueView>> {
    let venue = restaurants::Entity::find_by_id(input.venue_id)
        .one(&state.db)
        .await?
        .filter(|v| v.status != "inactive");
    if venue.is_none() {
        return Err(ApiError::not_found("venue").with_field("venue_id", "no such venue"));
    }
    let existing = stocked_venues::Entity::find()
        .filter(stocked_venues::Column::UserId.eq(me.user_id))
        .filter(stocked_venues::Column::RestaurantId.eq(input.venue_id))
        .one(&state.db)
        .await?;
    if let Some(row) = existing {
        return Ok(ok(stocked_views(&state, vec![row]).await?.remove(0))
            .message("this venue was already saved"));
    }
    let row = stocked_venues::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(me.user_id),
        restaurant_id: Set(input.venue_id),
        is_favorite: Set(input.is_favorite.unwrap_or(false)),
        date_added: Set(state.now()),
    }
    .insert(&state.db)
    .await?;
    Ok(created(stocked_views(&state, vec![row]).await?.remove(0)))
}

async fn own_stocked(
    state: &AppState,
    me: &Principal,
    id: Uuid,
) -> ApiResult<stocked_venues::Model> {
    stocked_venues::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|s| s.user_id == me.user_id)
        .ok_or_else(|| ApiError::not_found("stocked venue"))
}

/// Remove a saved venue.
#[utoipa::path(delete, path = "/api/stocked-venues/{id}", tag = "venues", security(("bearer" = []), ("api_key" = ["orders:write"])),
    params(("id" = Uuid, Path, description = "Stocked-venue id")),
    responses(
        (status = 200, description = "Removed", body = Envelope<Option<String>>),
        (status = 404, description = "Not one of yours", body = ErrorBody),
    ))]
async fn unstock_venue(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<Option<String>>> {
    own_stocked(&state, &me, id).await?;
    stocked_venues::Entity::delete_by_id(id)
        .exec(&state.db)
        .await?;
    Ok(ok(None).message("venue removed"))
}

/// Toggle a saved venue's favourite mark.
#[utoipa::path(put, path = "/api/stocked-venues/{id}/favorite", tag = "venues", security(("bearer" = []), ("api_key" = ["orders:write"])),
    params(("id" = Uuid, Path, description = "Stocked-venue id")),
    responses(
        (status = 200, description = "Toggled", body = Envelope<StockedVenueView>),
        (status = 404, description = "Not one of yours", body = ErrorBody),
    ))]
async fn toggle_favorite(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Reply<StockedVenueView>> {
    let row = own_stocked(&state, &me, id).await?;
    stocked_venues::Entity::update_many()
        .col_expr(
            stocked_venues::Column::IsFavorite,
            Expr::value(!row.is_favorite),
        )
        .filter(stocked_venues::Column::Id.eq(id))
        .exec(&state.db)
        .await?;
    let row = own_stocked(&state, &me, id).await?;
    Ok(ok(stocked_views(&state, vec![row]).await?.remove(0)))
}
