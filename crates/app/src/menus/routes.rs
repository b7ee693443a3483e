//! `/api/venues/{venue_id}/menu/...`: the seed's menu endpoints. Reading is public (a customer scanning a
//! QR code is not signed in yet); changes need the venue's manager (or an admin), except marking an item
//! sold out or back, which any of the venue's staff may do.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{CategoryView, ItemView, MenuView, currency_of, invalidate, item_view, load_menu};
use crate::accounts::{MaybeAuthUser, MemberRole, Principal, require_restaurant_role};
use crate::entities::{menu_categories, menu_items, restaurants};
use crate::http::envelope::{Envelope, Reply, created, ok};
use crate::http::error::{ApiError, ApiResult, ErrorBody, FieldErrors};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_menu))
        .routes(routes!(list_categories, create_category))
        .routes(routes!(get_category, update_category, delete_category))
        .routes(routes!(list_items, create_item))
        .routes(routes!(get_item, update_item, delete_item))
        .routes(routes!(upload_item_image))
        .routes(routes!(eighty_six_item))
        .routes(routes!(reorder_menu))
}

async fn venue_for_writing(
    state: &AppState,
    caller: &Option<Principal>,
    id: Uuid,
    min: MemberRole,
) -> ApiResult<restaurants::Model> {
    let caller = caller
        .as_ref()
        .ok_or_else(|| ApiError::unauthorized("unauthorized", "authentication required"))?;
    let venue = crate::restaurants::find(state, id)
        .await
        .map_err(|_| ApiError::not_found("venue"))?;
    require_restaurant_role(state, caller, id, min).await?;
    Ok(venue)
}

/// The venue's whole menu: categories in display order, each with its items (cached for five minutes and
/// refreshed on every change).
#[utoipa::path(get, path = "/api/venues/{venue_id}/menu", tag = "menus", security((), ("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue (restaurant) id")),
    responses(
        (status = 200, description = "The menu", body = Envelope<MenuView>),
        (status = 404, description = "No such venue", body = ErrorBody),
    ))]
async fn get_menu(
    State(state): State<AppState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let key = super::response_key(venue_id);
    if let Ok(Some(bytes)) = state.cache.get(&key).await {
        metrics::counter!("brigade_menu_cache_total", "result" => "hit").increment(1);
        return Ok(json_bytes(bytes));
    }
    let venue = crate::venues::visible_venue(&state, &caller, venue_id).await?;
    let menu = load_menu(&state, &venue).await?;
    if venue.status == "inactive" {
        return Ok(ok(menu).into_response());
    }
    let ttl = super::menu_ttl(&menu, state.now());
    let bytes = serde_json::to_vec(&Envelope {
        success: true,
        data: menu,
        message: None,
        errors: None,
    })
    .map_err(ApiError::internal)?;
    if let Err(err) = state.cache.set(&key, bytes.clone(), ttl).await {
        tracing::warn!(%err, "could not cache a menu response");
    }
    Ok(json_bytes(bytes))
}

fn json_bytes(bytes: Vec<u8>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryInput {
    #[schema(example = "Mains", min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// Lower numbers come first.
    pub display_order: Option<i32>,
}

fn apply_category(
    input: &CategoryInput,
    active: &mut menu_categories::ActiveModel,
    creating: bool,
) -> ApiResult<()> {
    let mut errors = FieldErrors::new();
    match input.name.as_deref() {
        Some(n) => {
            if let Some(n) = errors.check("name", crate::http::text::required_text(n, 100)) {
                active.name = Set(n);
            }
        }
        None if creating => errors.add("name", "is required"),
        None => {}
    }
    if let Some(d) = &input.description
        && let Some(d) = errors.check("description", crate::http::text::optional_text(d, 1000))
    {
        active.description = Set(d);
    }
    match input.display_order {
        Some(o) => active.display_order = Set(o),
        None if creating => active.display_order = Set(0),
        None => {}
    }
    errors.into_result()
}

async fn find_category(
    state: &AppState,
    venue_id: Uuid,
    id: Uuid,
) -> ApiResult<menu_categories::Model> {
    menu_categories::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|c| c.restaurant_id == venue_id)
        .ok_or_else(|| ApiError::not_found("menu category"))
}

/// Categories of the venue's menu, in display order.
#[utoipa::path(get, path = "/api/venues/{venue_id}/menu/categories", tag = "menus", security((), ("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    responses((status = 200, description = "Categories", body = Envelope<Vec<CategoryView>>)))]
async fn list_categories(
    State(state): State<AppState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
) -> ApiResult<Reply<Vec<CategoryView>>> {
    crate::venues::visible_venue(&state, &caller, venue_id).await?;
    let rows = menu_categories::Entity::find()
        .filter(menu_categories::Column::RestaurantId.eq(venue_id))
        .order_by_asc(menu_categories::Column::DisplayOrder)
        .order_by_asc(menu_categories::Column::Name)
        .all(&state.db)
        .await?;
    Ok(ok(rows.into_iter().map(CategoryView::from).collect()))
}

/// Add a category (venue manager or admin).
#[utoipa::path(post, path = "/api/venues/{venue_id}/menu/categories", tag = "menus", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    request_body(content = CategoryInput, example = json!({"name": "Mains", "display_order": 2})),
    responses(
        (status = 201, description = "Created", body = Envelope<CategoryView>),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn create_category(
    State(state): State<AppState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<CategoryInput>,
) -> ApiResult<Reply<CategoryView>> {
    venue_for_writing(&state, &caller, venue_id, MemberRole::Manager).await?;
    let now = state.now();
    let mut active = menu_categories::ActiveModel {
        id: Set(Uuid::now_v7()),
        restaurant_id: Set(venue_id),
        description: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    apply_category(&input, &mut active, true)?;
    let category = active.insert(&state.db).await?;
    invalidate(&state, venue_id).await;
    Ok(created(category.into()))
}

/// One category.
#[utoipa::path(get, path = "/api/venues/{venue_id}/menu/categories/{id}", tag = "menus", security((), ("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Category id")),
    responses(
        (status = 200, description = "The category", body = Envelope<CategoryView>),
        (status = 404, description = "Not found", body = ErrorBody),
    ))]
async fn get_category(
    State(state): State<AppState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Reply<CategoryView>> {
    crate::venues::visible_venue(&state, &caller, venue_id).await?;
    Ok(ok(find_category(&state, venue_id, id).await?.into()))
}

/// Change a category (venue manager or admin).
#[utoipa::path(put, path = "/api/venues/{venue_id}/menu/categories/{id}", tag = "menus", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Category id")),
    request_body = CategoryInput,
    responses(
        (status = 200, description = "Updated", body = Envelope<CategoryView>),
        (status = 404, description = "Not found", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn update_category(
    State(state): State<AppState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<CategoryInput>,
) -> ApiResult<Reply<CategoryView>> {
    venue_for_writing(&state, &caller, venue_id, MemberRole::Manager).await?;
    let mut active: menu_categories::ActiveModel =
        find_category(&state, venue_id, id).await?.into();
    apply_category(&input, &mut active, false)?;
    active.updated_at = Set(state.now());
    let category = active.update(&state.db).await?;
    invalidate(&state, venue_id).await;
    Ok(ok(category.into()))
}

/// Delete a category and its items (venue manager or admin).
#[utoipa::path(delete, path = "/api/venues/{venue_id}/menu/categories/{id}", tag = "menus", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Category id")),
    responses(
        (status = 200, description = "Deleted", body = Envelope<Option<String>>),
        (status = 404, description = "Not found", body = ErrorBody),
    ))]
async fn delete_category(
    State(state): State<AppState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Reply<Option<String>>> {
    venue_for_writing(&state, &caller, venue_id, MemberRole::Manager).await?;
    find_category(&state, venue_id, id).await?;
    let txn = crate::database::begin_write(&state.db).await?;
    menu_items::Entity::delete_many()
        .filter(menu_items::Column::CategoryId.eq(id))
        .exec(&txn)
        .await?;
    menu_categories::Entity::delete_by_id(id).exec(&txn).await?;
    txn.commit().await?;
    invalidate(&state, venue_id).await;
    Ok(ok(None).message("category and its items deleted"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    /// A category of this venue's menu (404 otherwise).
    pub category_id: Option<Uuid>,
    #[schema(
        example = "Tonkotsu ramen",
        min_length = 1,
        max_length = 150,
        pattern = r"\S"
    )]
    pub name: Option<String>,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// In the venue's currency, with no more decimals than it has (409 otherwise).
    #[schema(example = "14.50")]
    pub price: Option<crate::money::Amount>,
    /// An http(s) URL or a path on this server; blank for none (or to clear it).
    #[schema(max_length = 2000, pattern = r"^\s*$|^\s*(https?://|/)")]
    pub image_url: Option<String>,
    #[schema(max_length = 2000)]
    pub ingredients: Option<String>,
    /// Minutes the kitchen needs.
    #[schema(minimum = 0, maximum = 600)]
    pub preparation_minutes: Option<i32>,
    /// False marks it sold out (default true); either way it ends an "86 until tomorrow".
    pub is_available: Option<bool>,
    pub display_order: Option<i32>,
    /// The point-of-sale code channel orders name it by (unique in the venue; blank for none).
    #[schema(max_length = 64)]
    pub plu: Option<String>,
}

impl ItemInput {
    fn only_availability(&self) -> bool {
        self.is_available.is_some()
            && self.category_id.is_none()
            && self.name.is_none()
            && self.description.is_none()
            && self.price.is_none()
            && self.image_url.is_none()
            && self.ingredients.is_none()
            && self.preparation_minutes.is_none()
            && self.display_order.is_none()
            && self.plu.is_none()
    }
}

async fn apply_item(
    state: &AppState,
    venue: &restaurants::Model,
    input: &ItemInput,
    active: &mut menu_items::ActiveModel,
    creating: bool,
) -> ApiResult<()> {
    let mut errors = FieldErrors::new();
    let mut unknown_category = false;
    match input.category_id {
        Some(category) => {
            if find_category(state, venue.id, category).await.is_ok() {
                active.category_id = Set(category);
            } else {
                unknown_category = true;
            }
        }
        None if creating => errors.add("category_id", "is required"),
        None => {}
    }
    match input.name.as_deref() {
        Some(n) => {
            if let Some(n) = errors.check("name", crate::http::text::required_text(n, 150)) {
                active.name = Set(n);
            }
        }
        None if creating => errors.add("name", "is required"),
        None => {}
    }
    let mut precision = None;
    match input.price {
        Some(crate::money::Amount(price)) => match currency_of(venue).to_minor(price) {
            Ok(minor) => active.price_minor = Set(minor),
            Err(problem) => precision = Some(problem),
        },
        None if creating => errors.add("price", "is required"),
        None => {}
    }
    for (field, value, target) in [
        ("description", &input.description, &mut active.description),
        ("ingredients", &input.ingredients, &mut active.ingredients),
    ] {
        if let Some(text) = value
            && let Some(text) = errors.check(field, crate::http::text::optional_text(text, 2000))
        {
            *target = Set(text);
        }
    }
    if let Some(raw) = input.image_url.as_deref() {
        match crate::http::text::optional_text(raw, 2000) {
            Ok(None) => active.image_url = Set(None),
            Ok(Some(url))
                if url.starts_with("https://")
                    || url.starts_with("http://")
                    || url.starts_with('/') =>
            {
                active.image_url = Set(Some(url))
            }
            Ok(Some(_)) => errors.add(
                "image_url",
                "must be an http(s) URL or a path on this server",
            ),
            Err(problem) => errors.add("image_url", problem),
        }
    }
    match input.preparation_minutes {
        Some(m) if !(0..=600).contains(&m) => {
            errors.add("preparation_minutes", "must be between 0 and 600")
        }
        Some(m) => active.preparation_minutes = Set(Some(m)),
        None => {}
    }
    match input.is_available {
        Some(a) => {
            active.is_available = Set(a);
            active.unavailable_until = Set(None);
        }
        None if creating => {
            active.is_available = Set(true);
            active.unavailable_until = Set(None);
        }
        None => {}
    }
    let mut plu_taken = false;
    match input.plu.as_deref() {
        Some(raw) => match crate::http::text::optional_text(raw, 64) {
            Ok(plu) => {
                if let Some(code) = &plu {
                    let mut same = menu_items::Entity::find()
                        .filter(menu_items::Column::RestaurantId.eq(venue.id))
                        .filter(menu_items::Column::Plu.eq(code.as_str()));
                    if let sea_orm::ActiveValue::Unchanged(id) | sea_orm::ActiveValue::Set(id) =
                        &active.id
                    {
                        same = same.filter(menu_items::Column::Id.ne(*id));
                    }
                    plu_taken = same.one(&state.db).await?.is_some();
                }
                active.plu = Set(plu);
            }
            Err(problem) => errors.add("plu", problem),
        },
        None if creating => active.plu = Set(None),
        None => {}
    }
    match input.display_order {
        Some(o) => active.display_order = Set(o),
        None if creating => active.display_order = Set(0),
        None => {}
    }
    errors.into_result()?;
    if unknown_category {
        return Err(ApiError::not_found("menu category")
            .with_field("category_id", "is not a category of this venue's menu"));
    }
    if plu_taken {
        return Err(
            ApiError::conflict("plu_taken", "another item of this menu has that PLU")
                .with_field("plu", "is already used by another item of this menu"),
        );
    }
    // Well formed, but the venue's currency has fewer decimals.
    match precision {
        Some(problem) => Err(ApiError::conflict(
            "currency_precision",
            "the price has more decimals than the venue's currency",
        )
        .with_field("price", problem)),
        None => Ok(()),
    }
}

pub(crate) async fn find_item(
    state: &AppState,
    venue_id: Uuid,
    id: Uuid,
) -> ApiResult<menu_items::Model> {
    menu_items::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|i| i.restaurant_id == venue_id)
        .ok_or_else(|| ApiError::not_found("menu item"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemFilter {
    /// Only items of this category.
    pub category_id: Option<Uuid>,
    /// Only available (true) or sold-out (false) items.
    pub available: Option<bool>,
}

/// Items of the venue's menu.
#[utoipa::path(get, path = "/api/venues/{venue_id}/menu/items", tag = "menus", security((), ("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ItemFilter),
    responses((status = 200, description = "Items", body = Envelope<Vec<ItemView>>)))]
async fn list_items(
    State(state): State<AppState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiQuery(filter): ApiQuery<ItemFilter>,
) -> ApiResult<Reply<Vec<ItemView>>> {
    let venue = crate::venues::visible_venue(&state, &caller, venue_id).await?;
    let mut select = menu_items::Entity::find()
        .filter(menu_items::Column::RestaurantId.eq(venue_id))
        .order_by_asc(menu_items::Column::DisplayOrder)
        .order_by_asc(menu_items::Column::Name);
    if let Some(category) = filter.category_id {
        select = select.filter(menu_items::Column::CategoryId.eq(category));
    }
    let currency = currency_of(&venue);
    let now = state.now();
    Ok(ok(select
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|i| {
            filter
                .available
                .is_none_or(|wanted| super::available_at(i, now) == wanted)
        })
        .map(|i| item_view(i, currency, now))
        .collect()))
}

/// Add an item (venue manager or admin).
#[utoipa::path(post, path = "/api/venues/{venue_id}/menu/items", tag = "menus", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    request_body(content = ItemInput, example = json!({"category_id": "0190b9b4-5f7e-7c3a-9d2e-4c1f0a8b6d21",
        "name": "Tonkotsu ramen", "price": "14.50", "preparation_minutes": 12, "ingredients": "pork broth, noodles, egg"})),
    responses(
        (status = 201, description = "Created", body = Envelope<ItemView>),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn create_item(
    State(state): State<AppState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<ItemInput>,
) -> ApiResult<Reply<ItemView>> {
    let venue = venue_for_writing(&state, &caller, venue_id, MemberRole::Manager).await?;
    let now = state.now();
    let mut active = menu_items::ActiveModel {
        id: Set(Uuid::now_v7()),
        restaurant_id: Set(venue_id),
        description: Set(None),
        image_url: Set(None),
        ingredients: Set(None),
        preparation_minutes: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    apply_item(&state, &venue, &input, &mut active, true).await?;
    let item = active.insert(&state.db).await?;
    invalidate(&state, venue_id).await;
    Ok(created(item_view(item, currency_of(&venue), state.now())))
}

/// One item.
#[utoipa::path(get, path = "/api/venues/{venue_id}/menu/items/{id}", tag = "menus", security((), ("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Item id")),
    responses(
        (status = 200, description = "The item", body = Envelope<ItemView>),
        (status = 404, description = "Not found", body = ErrorBody),
    ))]
async fn get_item(
    State(state): State<AppState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Reply<ItemView>> {
    let venue = crate::venues::visible_venue(&state, &caller, venue_id).await?;
    Ok(ok(item_view(
        find_item(&state, venue_id, id).await?,
        currency_of(&venue),
        state.now(),
    )))
}

/// Change an item (venue manager or admin). Staff may send only `is_available` to mark it sold out or
/// back; that takes effect for new orders at once.
#[utoipa::path(put, path = "/api/venues/{venue_id}/menu/items/{id}", tag = "menus", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Item id")),
    request_body(content = ItemInput, example = json!({"is_available": false})),
    responses(
        (status = 200, description = "Updated", body = Envelope<ItemView>),
        (status = 404, description = "Not found", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn update_item(
    State(state): State<AppState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<ItemInput>,
) -> ApiResult<Reply<ItemView>> {
    let min = if input.only_availability() {
        MemberRole::Staff
    } else {
        MemberRole::Manager
    };
    let venue = venue_for_writing(&state, &caller, venue_id, min).await?;
    let mut active: menu_items::ActiveModel = find_item(&state, venue_id, id).await?.into();
    apply_item(&state, &venue, &input, &mut active, false).await?;
    active.updated_at = Set(state.now());
    let item = active.update(&state.db).await?;
    invalidate(&state, venue_id).await;
    Ok(ok(item_view(item, currency_of(&venue), state.now())))
}

/// Delete an item (venue manager or admin).
#[utoipa::path(delete, path = "/api/venues/{venue_id}/menu/items/{id}", tag = "menus", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Item id")),
    responses(
        (status = 200, description = "Deleted", body = Envelope<Option<String>>),
        (status = 404, description = "Not found", body = ErrorBody),
    ))]
async fn delete_item(
    State(state): State<AppState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Reply<Option<String>>> {
    venue_for_writing(&state, &caller, venue_id, MemberRole::Manager).await?;
    find_item(&state, venue_id, id).await?;
    menu_items::Entity::delete_by_id(id).exec(&state.db).await?;
    invalidate(&state, venue_id).await;
    Ok(ok(None).message("item deleted"))
}

/// Upload an item's photo (multipart field `file`; venue manager or admin). Its `image_url` then points
/// at the stored file.
#[utoipa::path(post, path = "/api/venues/{venue_id}/menu/items/{id}/image", tag = "menus", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Item id")),
    request_body(content = crate::venues::routes::LogoUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The item with its new image_url", body = Envelope<ItemView>),
        (status = 413, description = "Too large", body = ErrorBody),
        (status = 422, description = "Not an image", body = ErrorBody),
    ))]
async fn upload_item_image(
    State(state): State<AppState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<Reply<ItemView>> {
    let venue = venue_for_writing(&state, &caller, venue_id, MemberRole::Manager).await?;
    let item = find_item(&state, venue_id, id).await?;
    let (file, ext) = crate::storage::read_image_upload(multipart).await?;
    let key = format!(
        "venues/{venue_id}/items/{id}-{}.{ext}",
        Uuid::now_v7().simple()
    );
    state.storage.put(&key, file).await?;
    let old = item.image_url.clone();
    let mut active: menu_items::ActiveModel = item.into();
    active.image_url = Set(Some(crate::storage::public_url(&key)));
    active.updated_at = Set(state.now());
    let item = active.update(&state.db).await?;
    if let Some(old_key) = old.as_deref().and_then(|u| u.strip_prefix("/media/")) {
        state.storage.delete(old_key).await?;
    }
    invalidate(&state, venue_id).await;
    Ok(ok(item_view(item, currency_of(&venue), state.now())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EightySixInput {
    /// True: off the menu until the start of the venue's next local day, then back by itself. False:
    /// back on the menu now.
    pub until_tomorrow: bool,
}

/// "86" an item: off the menu until tomorrow (the start of the venue's next local day, in its time
/// zone), or back now. Any of the venue's staff may; it takes effect for new orders at once.
#[utoipa::path(post, path = "/api/venues/{venue_id}/menu/items/{id}/eighty-six", tag = "menus", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Item id")),
    request_body(content = EightySixInput, example = json!({"until_tomorrow": true})),
    responses(
        (status = 200, description = "The item, with `unavailable_until`", body = Envelope<ItemView>),
        (status = 404, description = "Not found", body = ErrorBody),
    ))]
async fn eighty_six_item(
    State(state): State<AppState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<EightySixInput>,
) -> ApiResult<Reply<ItemView>> {
    let venue = venue_for_writing(&state, &caller, venue_id, MemberRole::Staff).await?;
    let item = find_item(&state, venue_id, id).await?;
    let now = state.now();
    let mut active: menu_items::ActiveModel = item.into();
    if input.until_tomorrow {
        let tz = crate::restaurants::zone_of(&venue);
        let tomorrow = now.with_timezone(&tz).date_naive() + chrono::Days::new(1);
        let midnight = crate::analytics::rollup::local_midnight(tz, tomorrow);
        active.unavailable_until = Set(chrono::DateTime::from_timestamp_millis(midnight));
    } else {
        active.unavailable_until = Set(None);
        active.is_available = Set(true);
    }
    active.updated_at = Set(now);
    let item = active.update(&state.db).await?;
    invalidate(&state, venue_id).await;
    let message = if input.until_tomorrow {
        "86 until tomorrow"
    } else {
        "back on the menu"
    };
    Ok(ok(item_view(item, currency_of(&venue), now)).message(message))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MenuOrderInput {
    /// Categories in their new order (each gets its position as `display_order`).
    #[serde(default)]
    #[schema(max_items = 200)]
    pub category_ids: Vec<Uuid>,
    /// Items in their new order; an item listed under a category other than its own moves there.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub items: Vec<CategoryItems>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryItems {
    pub category_id: Uuid,
    #[schema(max_items = 200)]
    pub item_ids: Vec<Uuid>,
}

/// Reorder the menu in one go (what dragging categories and items in the menu editor sends): categories
/// and the items of each listed category take their positions in the lists, in one transaction (venue
/// manager or admin). Every id must belong to this venue's menu (404 naming it otherwise).
#[utoipa::path(put, path = "/api/venues/{venue_id}/menu/order", tag = "menus", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    request_body(content = MenuOrderInput),
    responses(
        (status = 200, description = "The menu in its new order", body = Envelope<MenuView>),
        (status = 404, description = "An id is not of this menu", body = ErrorBody),
    ))]
async fn reorder_menu(
    State(state): State<AppState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<MenuOrderInput>,
) -> ApiResult<Reply<MenuView>> {
    use sea_orm::sea_query::Expr;
    let mut errors = FieldErrors::new();
    if input.category_ids.len() > 200 {
        errors.add("category_ids", "at most 200 categories");
    }
    if input.items.len() > 50 {
        errors.add("items", "at most 50 categories' items at once");
    }
    for (g, group) in input.items.iter().enumerate() {
        if group.item_ids.len() > 200 {
            errors.add(&format!("items[{g}].item_ids"), "at most 200 items");
        }
    }
    errors.into_result()?;
    let venue = venue_for_writing(&state, &caller, venue_id, MemberRole::Manager).await?;
    let categories: std::collections::HashSet<Uuid> = menu_categories::Entity::find()
        .filter(menu_categories::Column::RestaurantId.eq(venue_id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    let items: std::collections::HashSet<Uuid> = menu_items::Entity::find()
        .filter(menu_items::Column::RestaurantId.eq(venue_id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|i| i.id)
        .collect();
    for (k, id) in input.category_ids.iter().enumerate() {
        if !categories.contains(id) {
            return Err(ApiError::not_found("menu category").with_field(
                &format!("category_ids[{k}]"),
                "is not a category of this venue's menu",
            ));
        }
    }
    for (g, group) in input.items.iter().enumerate() {
        if !categories.contains(&group.category_id) {
            return Err(ApiError::not_found("menu category").with_field(
                &format!("items[{g}].category_id"),
                "is not a category of this venue's menu",
            ));
        }
        for (k, id) in group.item_ids.iter().enumerate() {
            if !items.contains(id) {
                return Err(ApiError::not_found("menu item").with_field(
                    &format!("items[{g}].item_ids[{k}]"),
                    "is not an item of this venue's menu",
                ));
            }
        }
    }
    let now = state.now();
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    for (position, id) in input.category_ids.iter().enumerate() {
        menu_categories::Entity::update_many()
            .col_expr(
                menu_categories::Column::DisplayOrder,
                Expr::value(position as i32),
            )
            .col_expr(menu_categories::Column::UpdatedAt, Expr::value(now))
            .filter(menu_categories::Column::Id.eq(*id))
            .exec(&txn)
            .await?;
    }
    for group in &input.items {
        for (position, id) in group.item_ids.iter().enumerate() {
            menu_items::Entity::update_many()
                .col_expr(
                    menu_items::Column::DisplayOrder,
                    Expr::value(position as i32),
                )
                .col_expr(
                    menu_items::Column::CategoryId,
                    Expr::value(group.category_id),
                )
                .col_expr(menu_items::Column::UpdatedAt, Expr::value(now))
                .filter(menu_items::Column::Id.eq(*id))
                .exec(&txn)
                .await?;
        }
    }
    txn.commit().await?;
    drop(turn);
    invalidate(&state, venue_id).await;
    Ok(ok(load_menu(&state, &venue).await?).message("menu order saved"))
}
