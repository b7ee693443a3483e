//! `/api/venues/{venue_id}/ingredients/...` and `/api/venues/{venue_id}/menu/items/{id}/recipe`: the
//! stock list, ingredients, recipes with their dish cost and margin, and the stock movements a venue's
//! staff record (receipts, counts, waste). Reading and recording movements takes the venue's staff;
//! changing ingredients and recipes its managers.

use std::collections::HashMap;

use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::fifo::{self, MICRO, MILLI};
use super::{Context, Incoming, MovementKind, WasteReason};
use crate::accounts::{AuthUser, MemberRole};
use crate::entities::{
    batches, ingredients, menu_items, recipe_lines, restaurants, stock_movements,
};
use crate::http::envelope::{Envelope, Page, PageParams, Reply, created, ok, paginate};
use crate::http::error::{ApiError, ApiResult, ErrorBody, FieldErrors};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::money::Amount;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_ingredients, create_ingredient))
        .routes(routes!(get_ingredient, update_ingredient))
        .routes(routes!(get_recipe, put_recipe))
        .routes(routes!(receive))
        .routes(routes!(count_stock))
        .routes(routes!(record_waste))
        .routes(routes!(list_movements))
}

/// What quantities of an ingredient count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    G,
    Ml,
    Each,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::G => "g",
            Unit::Ml => "ml",
            Unit::Each => "each",
        }
    }
}

/// A unit cost as the API takes it: a string of digits with up to six decimals ("0.0042" per gram).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitCost(pub Decimal);

pub const UNIT_COST_PATTERN: &str = r"^[0-9]{1,9}(\.[0-9]{1,6})?$";

impl<'de> Deserialize<'de> for UnitCost {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <String as Deserialize>::deserialize(d)?;
        let (whole, fraction) = raw.split_once('.').unwrap_or((&raw, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let shaped = (1..=9).contains(&whole.len())
            && digits(whole)
            && (!raw.contains('.') || (1..=6).contains(&fraction.len()))
            && digits(fraction);
        if !shaped {
            return Err(serde::de::Error::custom(format!(
                "{raw:?} is not a unit cost like 0.0042 (digits, at most six decimals)"
            )));
        }
        raw.parse::<Decimal>()
            .map(UnitCost)
            .map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for UnitCost {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(UNIT_COST_PATTERN))
            .description(Some(
                "A cost per unit of the ingredient in the venue's currency, as a string with up to six decimals.",
            ))
            .examples(["0.0042"])
            .into()
    }
}

impl utoipa::ToSchema for UnitCost {}

/// A quantity that must be more than zero, as a string: digits with up to three decimals ("125",
/// "0.5"), no leading zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Positive(pub Decimal);

pub const POSITIVE_PATTERN: &str =
    r"^(?:[1-9][0-9]{0,11}(?:\.[0-9]{1,3})?|0\.(?:[1-9][0-9]{0,2}|0[1-9][0-9]?|00[1-9]))$";

impl Positive {
    /// Exactly the strings [`POSITIVE_PATTERN`] matches.
    pub fn parse(raw: &str) -> Result<Positive, String> {
        let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let fraction_ok = !raw.contains('.') || (digits(fraction) && fraction.len() <= 3);
        let shaped = if whole == "0" {
            raw.contains('.') && fraction_ok && fraction.bytes().any(|b| b != b'0')
        } else {
            digits(whole) && whole.len() <= 12 && !whole.starts_with('0') && fraction_ok
        };
        if !shaped {
            return Err(format!(
                "{raw:?} is not a quantity more than zero like 125 or 0.5 (at most three decimals)"
            ));
        }
        raw.parse::<Decimal>()
            .map(Positive)
            .map_err(|_| format!("{raw:?} is not a quantity"))
    }
}

impl<'de> Deserialize<'de> for Positive {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <String as Deserialize>::deserialize(d)?;
        Positive::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Positive {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(POSITIVE_PATTERN))
            .description(Some(
                "A quantity more than zero in the ingredient's unit, as a string with up to three decimals.",
            ))
            .examples(["125"])
            .into()
    }
}

impl utoipa::ToSchema for Positive {}

fn positive(p: Positive) -> i64 {
    milli(Amount(p.0))
}

fn milli(amount: Amount) -> i64 {
    // At most 12 digits and 3 decimals: exact in thousandths.
    (amount.0 * Decimal::from(MILLI))
        .trunc()
        .try_into()
        .unwrap_or(i64::MAX)
}

fn micros(cost: UnitCost) -> i64 {
    (cost.0 * Decimal::from(MICRO))
        .trunc()
        .try_into()
        .unwrap_or(i64::MAX)
}

fn quantity(milli: i64) -> Decimal {
    Decimal::new(milli, 3).normalize()
}

fn unit_cost(micros: i64) -> Decimal {
    Decimal::new(micros, 6).normalize()
}

/// 404 naming `supplier_id` unless it is a supplier of the venue.
async fn check_supplier(state: &AppState, venue_id: Uuid, supplier: Uuid) -> ApiResult<()> {
    crate::entities::suppliers::Entity::find_by_id(supplier)
        .one(&state.db)
        .await?
        .filter(|s| s.restaurant_id == venue_id)
        .map(|_| ())
        .ok_or_else(|| {
            ApiError::not_found("supplier")
                .with_field("supplier_id", "is not a supplier of this venue")
        })
}

async fn find_ingredient(
    state: &AppState,
    venue_id: Uuid,
    id: Uuid,
) -> ApiResult<ingredients::Model> {
    ingredients::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|i| i.restaurant_id == venue_id)
        .ok_or_else(|| ApiError::not_found("ingredient"))
}

/// An ingredient with its stock now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IngredientView {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub name: String,
    pub unit: String,
    pub category: Option<String>,
    /// Standard cost of one unit (the latest receipt's), in the venue's currency.
    #[schema(value_type = String, example = "0.0042")]
    pub unit_cost: Decimal,
    /// Stock on hand in `unit` (below zero when the kitchen used more than was recorded).
    #[schema(value_type = String, example = "1250.5")]
    pub on_hand: Decimal,
    /// What the stock is worth, each batch at its own cost (FIFO).
    #[schema(value_type = String, example = "5.25")]
    pub value: Decimal,
    #[schema(value_type = Option<String>, example = "2000")]
    pub par_level: Option<Decimal>,
    /// On hand below the par level.
    pub below_par: bool,
    pub shelf_life_days: Option<i32>,
    /// Units of `unit` in one purchase unit (a case of 12 is 12).
    #[schema(value_type = String, example = "1000")]
    pub purchase_factor: Decimal,
    pub purchase_unit: Option<String>,
    pub supplier_id: Option<Uuid>,
    /// Set for a sub-recipe: what one batch of it yields, in `unit`.
    #[schema(value_type = Option<String>)]
    pub yield_quantity: Option<Decimal>,
    pub updated_at: DateTime<Utc>,
}

async fn view_of(state: &AppState, i: ingredients::Model) -> ApiResult<IngredientView> {
    let mut views = views_of(state, vec![i]).await?;
    views
        .pop()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("an ingredient without its view")))
}

/// Ingredients with their stock: one query for every stock on hand, one for every batch's value,
/// whatever their number.
async fn views_of(
    state: &AppState,
    rows: Vec<ingredients::Model>,
) -> ApiResult<Vec<IngredientView>> {
    let ids: Vec<Uuid> = rows.iter().map(|i| i.id).collect();
    let on_hand: HashMap<Uuid, i64> = super::on_hand_of(&state.db, ids.clone()).await?;
    let mut value: HashMap<Uuid, i128> = HashMap::new();
    for b in batches::Entity::find()
        .filter(batches::Column::IngredientId.is_in(ids))
        .filter(batches::Column::Remaining.gt(0))
        .all(&state.db)
        .await?
    {
        *value.entry(b.ingredient_id).or_default() +=
            fifo::value_nanos(b.remaining, b.unit_cost_micros);
    }
    Ok(rows
        .into_iter()
        .map(|i| {
            let on_hand = on_hand.get(&i.id).copied().unwrap_or(0);
            let value = value.get(&i.id).copied().unwrap_or(0);
            view(i, on_hand, value)
        })
        .collect())
}

fn view(i: ingredients::Model, on_hand: i64, value: i128) -> IngredientView {
    IngredientView {
        id: i.id,
        venue_id: i.restaurant_id,
        name: i.name,
        unit: i.unit,
        category: i.category,
        unit_cost: unit_cost(i.unit_cost_micros),
        on_hand: quantity(on_hand),
        // Thousandths of a unit times millionths per unit: billionths of the currency.
        value: fifo::money(value),
        par_level: i.par_level.map(quantity),
        below_par: i.par_level.is_some_and(|par| on_hand < par),
        shelf_life_days: i.shelf_life_days,
        purchase_factor: quantity(i.purchase_factor),
        purchase_unit: i.purchase_unit,
        supplier_id: i.supplier_id,
        yield_quantity: i.yield_quantity.map(quantity),
        updated_at: i.updated_at,
    }
}

/// The stock list: every ingredient with its stock on hand and value, those below their par level
/// first, then by name.
#[utoipa::path(get, path = "/api/venues/{venue_id}/ingredients", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    responses(
        (status = 200, description = "Ingredients", body = Envelope<Vec<IngredientView>>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
    ))]
async fn list_ingredients(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
) -> ApiResult<Reply<Vec<IngredientView>>> {
    crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    let rows = ingredients::Entity::find()
        .filter(ingredients::Column::RestaurantId.eq(venue_id))
        .order_by_asc(ingredients::Column::Name)
        .all(&state.db)
        .await?;
    let mut views = views_of(&state, rows).await?;
    views.sort_by_key(|v| !v.below_par);
    Ok(ok(views))
}

/// A new ingredient: a name and a unit, the rest as [`IngredientInput`].
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIngredient {
    #[schema(
        example = "Mozzarella",
        min_length = 1,
        max_length = 100,
        pattern = r"\S"
    )]
    pub name: String,
    pub unit: Unit,
    #[schema(max_length = 100)]
    pub category: Option<String>,
    pub unit_cost: Option<UnitCost>,
    pub par_level: Option<Amount>,
    #[schema(minimum = 1, maximum = 3650)]
    pub shelf_life_days: Option<i32>,
    pub supplier_id: Option<Uuid>,
    #[schema(max_length = 50)]
    pub purchase_unit: Option<String>,
    pub purchase_factor: Option<Positive>,
}

impl From<NewIngredient> for IngredientInput {
    fn from(n: NewIngredient) -> Self {
        IngredientInput {
            name: Some(n.name),
            unit: Some(n.unit),
            category: n.category,
            unit_cost: n.unit_cost,
            par_level: n.par_level,
            shelf_life_days: n.shelf_life_days,
            supplier_id: n.supplier_id,
            purchase_unit: n.purchase_unit,
            purchase_factor: n.purchase_factor,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngredientInput {
    #[schema(
        example = "Mozzarella",
        min_length = 1,
        max_length = 100,
        pattern = r"\S"
    )]
    pub name: Option<String>,
    /// Required when creating; cannot change once stock has moved.
    pub unit: Option<Unit>,
    #[schema(max_length = 100)]
    pub category: Option<String>,
    pub unit_cost: Option<UnitCost>,
    /// Stock below this is low; blank string or absent for none.
    pub par_level: Option<Amount>,
    #[schema(minimum = 1, maximum = 3650)]
    pub shelf_life_days: Option<i32>,
    /// A supplier of this venue.
    pub supplier_id: Option<Uuid>,
    #[schema(max_length = 50)]
    pub purchase_unit: Option<String>,
    /// Units of `unit` in one purchase unit.
    pub purchase_factor: Option<Positive>,
}

async fn apply_ingredient(
    state: &AppState,
    venue_id: Uuid,
    input: &IngredientInput,
    active: &mut ingredients::ActiveModel,
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
    match input.unit {
        Some(u) => active.unit = Set(u.as_str().to_string()),
        None if creating => errors.add("unit", "is required (g, ml or each)"),
        None => {}
    }
    for (field, value, target, max) in [
        ("category", &input.category, &mut active.category, 100),
        (
            "purchase_unit",
            &input.purchase_unit,
            &mut active.purchase_unit,
            50,
        ),
    ] {
        if let Some(text) = value
            && let Some(text) = errors.check(field, crate::http::text::optional_text(text, max))
        {
            *target = Set(text);
        }
    }
    if let Some(cost) = input.unit_cost {
        active.unit_cost_micros = Set(micros(cost));
    }
    if let Some(par) = input.par_level {
        active.par_level = Set(Some(milli(par)));
    }
    match input.shelf_life_days {
        Some(d) if !(1..=3650).contains(&d) => {
            errors.add("shelf_life_days", "must be between 1 and 3650")
        }
        Some(d) => active.shelf_life_days = Set(Some(d)),
        None => {}
    }
    if let Some(f) = input.purchase_factor {
        active.purchase_factor = Set(positive(f));
    }
    errors.into_result()?;
    if let Some(supplier) = input.supplier_id {
        check_supplier(state, venue_id, supplier).await?;
        active.supplier_id = Set(Some(supplier));
    }
    Ok(())
}

fn name_taken() -> ApiError {
    ApiError::conflict(
        "ingredient_exists",
        "the venue has an ingredient of that name",
    )
    .with_field("name", "is taken by another ingredient of this venue")
}

/// Add an ingredient (venue manager or admin).
#[utoipa::path(post, path = "/api/venues/{venue_id}/ingredients", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    request_body(content = NewIngredient, example = json!({"name": "Mozzarella", "unit": "g", "unit_cost": "0.0098", "par_level": "5000", "shelf_life_days": 10})),
    responses(
        (status = 201, description = "Created", body = Envelope<IngredientView>),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 404, description = "No such venue or supplier", body = ErrorBody),
        (status = 409, description = "An ingredient of that name exists", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn create_ingredient(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<NewIngredient>,
) -> ApiResult<Reply<IngredientView>> {
    let input = IngredientInput::from(input);
    crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Manager).await?;
    let now = state.now();
    let mut active = ingredients::ActiveModel {
        id: Set(Uuid::now_v7()),
        restaurant_id: Set(venue_id),
        category: Set(None),
        unit_cost_micros: Set(0),
        par_level: Set(None),
        shelf_life_days: Set(None),
        supplier_id: Set(None),
        purchase_unit: Set(None),
        purchase_factor: Set(MILLI),
        yield_quantity: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    apply_ingredient(&state, venue_id, &input, &mut active, true).await?;
    let name = match &active.name {
        Set(n) => n.clone(),
        _ => String::new(),
    };
    let taken = ingredients::Entity::find()
        .filter(ingredients::Column::RestaurantId.eq(venue_id))
        .filter(ingredients::Column::Name.eq(name))
        .count(&state.db)
        .await?
        > 0;
    if taken {
        return Err(name_taken());
    }
    let row = active.insert(&state.db).await?;
    Ok(created(view_of(&state, row).await?))
}

/// An ingredient with its batches (those with stock left, in the order FIFO takes them).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IngredientDetail {
    #[serde(flatten)]
    pub ingredient: IngredientView,
    pub batches: Vec<BatchView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchView {
    pub id: Uuid,
    #[schema(value_type = String)]
    pub received_quantity: Decimal,
    #[schema(value_type = String)]
    pub remaining: Decimal,
    #[schema(value_type = String)]
    pub unit_cost: Decimal,
    pub received_at: DateTime<Utc>,
    #[schema(value_type = Option<String>, format = Date)]
    pub expires_on: Option<NaiveDate>,
    pub lot: Option<String>,
    pub supplier_id: Option<Uuid>,
}

impl From<batches::Model> for BatchView {
    fn from(b: batches::Model) -> Self {
        BatchView {
            id: b.id,
            received_quantity: quantity(b.received_quantity),
            remaining: quantity(b.remaining),
            unit_cost: unit_cost(b.unit_cost_micros),
            received_at: b.received_at,
            expires_on: b.expires_on,
            lot: b.lot,
            supplier_id: b.supplier_id,
        }
    }
}

/// One ingredient, its stock and its batches.
#[utoipa::path(get, path = "/api/venues/{venue_id}/ingredients/{id}", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Ingredient id")),
    responses(
        (status = 200, description = "The ingredient", body = Envelope<IngredientDetail>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such ingredient", body = ErrorBody),
    ))]
async fn get_ingredient(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Reply<IngredientDetail>> {
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    let ingredient = find_ingredient(&state, venue_id, id).await?;
    let lots = batches::Entity::find()
        .filter(batches::Column::IngredientId.eq(id))
        .filter(batches::Column::Remaining.gt(0))
        .all(&state.db)
        .await?;
    let today = super::local_today(&venue, state.now());
    let as_lots: Vec<fifo::Lot> = lots
        .iter()
        .map(|b| fifo::Lot {
            id: b.id,
            remaining: b.remaining,
            unit_cost_micros: b.unit_cost_micros,
            received_at: b.received_at,
            expires_on: b.expires_on,
        })
        .collect();
    let order: Vec<Uuid> = fifo::fifo_order(&as_lots, today)
        .iter()
        .map(|l| l.id)
        .collect();
    let mut by_id: HashMap<Uuid, batches::Model> = lots.into_iter().map(|b| (b.id, b)).collect();
    let batches = order
        .iter()
        .filter_map(|id| by_id.remove(id))
        .map(BatchView::from)
        .collect();
    Ok(ok(IngredientDetail {
        ingredient: view_of(&state, ingredient).await?,
        batches,
    }))
}

/// Change an ingredient (venue manager or admin). Its unit cannot change once stock has moved.
#[utoipa::path(put, path = "/api/venues/{venue_id}/ingredients/{id}", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Ingredient id")),
    request_body(content = IngredientInput, example = json!({"par_level": "8000"})),
    responses(
        (status = 200, description = "Changed", body = Envelope<IngredientView>),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 404, description = "No such ingredient or supplier", body = ErrorBody),
        (status = 409, description = "Name taken, or the unit of an ingredient with movements", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn update_ingredient(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<IngredientInput>,
) -> ApiResult<Reply<IngredientView>> {
    crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Manager).await?;
    let existing = find_ingredient(&state, venue_id, id).await?;
    let mut active: ingredients::ActiveModel = existing.clone().into();
    apply_ingredient(&state, venue_id, &input, &mut active, false).await?;
    if let Some(unit) = input.unit
        && unit.as_str() != existing.unit
    {
        let moved = stock_movements::Entity::find()
            .filter(stock_movements::Column::IngredientId.eq(id))
            .count(&state.db)
            .await?
            > 0;
        if moved {
            return Err(ApiError::conflict(
                "unit_in_use",
                "the ingredient's stock has moved in its unit; add a new ingredient instead",
            )
            .with_field("unit", "cannot change once stock has moved"));
        }
    }
    if let Set(name) = &active.name
        && *name != existing.name
    {
        let taken = ingredients::Entity::find()
            .filter(ingredients::Column::RestaurantId.eq(venue_id))
            .filter(ingredients::Column::Name.eq(name.as_str()))
            .count(&state.db)
            .await?
            > 0;
        if taken {
            return Err(name_taken());
        }
    }
    active.updated_at = Set(state.now());
    let row = active.update(&state.db).await?;
    Ok(ok(view_of(&state, row).await?))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipeLineInput {
    pub ingredient_id: Uuid,
    /// How much of the ingredient one portion uses, in its unit.
    pub quantity: Positive,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipeInput {
    /// The whole recipe (it replaces the old one); empty for none. Each ingredient at most once (422
    /// naming the repeated line otherwise).
    #[schema(max_items = 100)]
    pub lines: Vec<RecipeLineInput>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecipeLineView {
    pub ingredient_id: Uuid,
    pub name: String,
    pub unit: String,
    #[schema(value_type = String)]
    pub quantity: Decimal,
    /// What this line costs at the ingredient's standard cost.
    #[schema(value_type = String)]
    pub cost: Decimal,
}

/// A dish's recipe, what one portion costs and its margin against the menu price.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecipeView {
    pub menu_item_id: Uuid,
    pub lines: Vec<RecipeLineView>,
    #[schema(value_type = String, example = "3.12")]
    pub cost: Decimal,
    #[schema(value_type = String, example = "12.50")]
    pub price: Decimal,
    /// Price minus cost.
    #[schema(value_type = String, example = "9.38")]
    pub margin: Decimal,
    /// Cost as a share of the price (0-1; absent for a free item).
    #[schema(value_type = Option<String>, example = "0.2496")]
    pub cost_share: Option<Decimal>,
}

async fn recipe_view(
    state: &AppState,
    venue: &restaurants::Model,
    item: &menu_items::Model,
) -> ApiResult<RecipeView> {
    let lines = recipe_lines::Entity::find()
        .filter(recipe_lines::Column::MenuItemId.eq(item.id))
        .order_by_asc(recipe_lines::Column::CreatedAt)
        .all(&state.db)
        .await?;
    let all: HashMap<Uuid, ingredients::Model> = ingredients::Entity::find()
        .filter(ingredients::Column::RestaurantId.eq(venue.id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    let costs: HashMap<Uuid, i64> = all.values().map(|i| (i.id, i.unit_cost_micros)).collect();
    let subs = sub_recipes(state, venue.id, &all).await?;
    let mut views = Vec::new();
    let mut total = Decimal::ZERO;
    for line in &lines {
        let part = [fifo::RecipeLine {
            ingredient: line.ingredient_id,
            quantity: line.quantity,
        }];
        let cost = fifo::recipe_cost(&part, &costs, &subs).unwrap_or(Decimal::ZERO);
        total += cost;
        let ingredient = all.get(&line.ingredient_id);
        views.push(RecipeLineView {
            ingredient_id: line.ingredient_id,
            name: ingredient.map(|i| i.name.clone()).unwrap_or_default(),
            unit: ingredient.map(|i| i.unit.clone()).unwrap_or_default(),
            quantity: quantity(line.quantity),
            cost: cost.round_dp(4).normalize(),
        });
    }
    let price = crate::menus::currency_of(venue).from_minor(item.price_minor);
    let cost = total.round_dp(4).normalize();
    Ok(RecipeView {
        menu_item_id: item.id,
        lines: views,
        cost,
        price,
        margin: (price - cost).normalize(),
        cost_share: (!price.is_zero()).then(|| (cost / price).round_dp(4).normalize()),
    })
}

async fn sub_recipes(
    state: &AppState,
    venue_id: Uuid,
    all: &HashMap<Uuid, ingredients::Model>,
) -> ApiResult<HashMap<Uuid, fifo::SubRecipe>> {
    let mut subs: HashMap<Uuid, fifo::SubRecipe> = HashMap::new();
    for line in recipe_lines::Entity::find()
        .filter(recipe_lines::Column::RestaurantId.eq(venue_id))
        .filter(recipe_lines::Column::ParentIngredientId.is_not_null())
        .all(&state.db)
        .await?
    {
        let Some(parent) = line.parent_ingredient_id else {
            continue;
        };
        let yield_quantity = all.get(&parent).and_then(|i| i.yield_quantity).unwrap_or(0);
        subs.entry(parent)
            .or_insert_with(|| fifo::SubRecipe {
                yield_quantity,
                lines: Vec::new(),
            })
            .lines
            .push(fifo::RecipeLine {
                ingredient: line.ingredient_id,
                quantity: line.quantity,
            });
    }
    Ok(subs)
}

/// A menu item's recipe with its cost per portion and margin.
#[utoipa::path(get, path = "/api/venues/{venue_id}/menu/items/{id}/recipe", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Menu item id")),
    responses(
        (status = 200, description = "The recipe", body = Envelope<RecipeView>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such item", body = ErrorBody),
    ))]
async fn get_recipe(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Reply<RecipeView>> {
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    let item = crate::menus::routes::find_item(&state, venue_id, id).await?;
    Ok(ok(recipe_view(&state, &venue, &item).await?))
}

/// Replace a menu item's recipe (venue manager or admin): what one portion takes from stock when an
/// order of it completes.
#[utoipa::path(put, path = "/api/venues/{venue_id}/menu/items/{id}/recipe", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Menu item id")),
    request_body(content = RecipeInput, example = json!({"lines": [{"ingredient_id": "0190d7a4-3b7c-7cc0-8000-000000000003", "quantity": "125"}]})),
    responses(
        (status = 200, description = "The recipe", body = Envelope<RecipeView>),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 404, description = "No such item, or an ingredient not of this venue", body = ErrorBody),
        (status = 422, description = "An ingredient twice, or a zero quantity", body = ErrorBody),
    ))]
async fn put_recipe(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<RecipeInput>,
) -> ApiResult<Reply<RecipeView>> {
    let mut errors = FieldErrors::new();
    if input.lines.len() > 100 {
        errors.add("lines", "at most 100 lines");
    }
    let mut seen = std::collections::HashSet::new();
    for (k, line) in input.lines.iter().enumerate() {
        if !seen.insert(line.ingredient_id) {
            errors.add(
                &format!("lines[{k}].ingredient_id"),
                "is already in the recipe",
            );
        }
    }
    errors.into_result()?;
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Manager).await?;
    let item = crate::menus::routes::find_item(&state, venue_id, id).await?;
    for (k, line) in input.lines.iter().enumerate() {
        if find_ingredient(&state, venue_id, line.ingredient_id)
            .await
            .is_err()
        {
            return Err(ApiError::not_found("ingredient").with_field(
                &format!("lines[{k}].ingredient_id"),
                "is not an ingredient of this venue",
            ));
        }
    }
    let now = state.now();
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    recipe_lines::Entity::delete_many()
        .filter(recipe_lines::Column::MenuItemId.eq(id))
        .exec(&txn)
        .await?;
    for (k, line) in input.lines.iter().enumerate() {
        recipe_lines::ActiveModel {
            id: Set(Uuid::now_v7()),
            restaurant_id: Set(venue_id),
            menu_item_id: Set(Some(id)),
            parent_ingredient_id: Set(None),
            ingredient_id: Set(line.ingredient_id),
            quantity: Set(positive(line.quantity)),
            // Kept in the order given.
            created_at: Set(now + chrono::Duration::microseconds(k as i64)),
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    drop(turn);
    Ok(ok(recipe_view(&state, &venue, &item).await?).message("recipe saved"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptInput {
    /// How much arrived, in the ingredient's unit.
    pub quantity: Positive,
    /// What one unit cost.
    pub unit_cost: UnitCost,
    /// The last day it may be used (default: today plus the ingredient's shelf life).
    #[schema(value_type = Option<String>, format = Date, example = "2026-06-25")]
    pub expires_on: Option<NaiveDate>,
    #[schema(max_length = 100)]
    pub lot: Option<String>,
    /// A supplier of this venue.
    pub supplier_id: Option<Uuid>,
}

/// A movement as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MovementView {
    pub id: i64,
    pub ingredient_id: Uuid,
    pub batch_id: Option<Uuid>,
    pub kind: String,
    /// In (positive) or out (negative), in the ingredient's unit.
    #[schema(value_type = String, example = "-125")]
    pub quantity: Decimal,
    #[schema(value_type = String)]
    pub unit_cost: Decimal,
    pub order_id: Option<Uuid>,
    pub reference_id: Option<Uuid>,
    pub reason: Option<String>,
    pub actor_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
}

impl From<stock_movements::Model> for MovementView {
    fn from(m: stock_movements::Model) -> Self {
        MovementView {
            id: m.id,
            ingredient_id: m.ingredient_id,
            batch_id: m.batch_id,
            kind: m.kind,
            quantity: quantity(m.quantity),
            unit_cost: unit_cost(m.unit_cost_micros),
            order_id: m.order_id,
            reference_id: m.reference_id,
            reason: m.reason,
            actor_id: m.actor_id,
            occurred_at: m.occurred_at,
        }
    }
}

/// Record a delivery (venue staff): a batch with its cost and expiry; the ingredient's standard cost
/// becomes this one.
#[utoipa::path(post, path = "/api/venues/{venue_id}/ingredients/{id}/receipts", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Ingredient id")),
    request_body(content = ReceiptInput, example = json!({"quantity": "5000", "unit_cost": "0.0098", "expires_on": "2026-06-25"})),
    responses(
        (status = 201, description = "The batch", body = Envelope<BatchView>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such ingredient or supplier", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn receive(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<ReceiptInput>,
) -> ApiResult<Reply<BatchView>> {
    let mut errors = FieldErrors::new();
    let lot = match input.lot.as_deref() {
        Some(raw) => errors
            .check("lot", crate::http::text::optional_text(raw, 100))
            .flatten(),
        None => None,
    };
    errors.into_result()?;
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    find_ingredient(&state, venue_id, id).await?;
    if let Some(supplier) = input.supplier_id {
        check_supplier(&state, venue_id, supplier).await?;
    }
    let now = state.now();
    let ctx = Context {
        kind: MovementKind::Receipt,
        order_id: None,
        reference_id: None,
        reason: None,
        actor_id: Some(me.user_id),
        at: now,
        today: super::local_today(&venue, now),
    };
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    let batch = super::put(
        &txn,
        id,
        &Incoming {
            quantity: positive(input.quantity),
            unit_cost_micros: micros(input.unit_cost),
            supplier_id: input.supplier_id,
            lot,
            expires_on: input.expires_on,
        },
        &ctx,
    )
    .await?;
    txn.commit().await?;
    drop(turn);
    Ok(created(BatchView::from(batch)).message("received"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CountInput {
    /// What is on the shelf, in the ingredient's unit (zero for none).
    pub counted: Amount,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CountResult {
    pub count_id: Uuid,
    /// Counted minus what the records said (negative: missing).
    #[schema(value_type = String, example = "-150")]
    pub variance: Decimal,
    pub ingredient: IngredientView,
}

/// A stocktake of one ingredient (venue staff): the counted quantity becomes the stock and the
/// difference is kept as a `count` movement.
#[utoipa::path(post, path = "/api/venues/{venue_id}/ingredients/{id}/counts", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Ingredient id")),
    request_body(content = CountInput, example = json!({"counted": "4200"})),
    responses(
        (status = 201, description = "Counted", body = Envelope<CountResult>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such ingredient", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn count_stock(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<CountInput>,
) -> ApiResult<Reply<CountResult>> {
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    find_ingredient(&state, venue_id, id).await?;
    let now = state.now();
    let count_id = Uuid::now_v7();
    let ctx = Context {
        kind: MovementKind::Count,
        order_id: None,
        reference_id: Some(count_id),
        reason: None,
        actor_id: Some(me.user_id),
        at: now,
        today: super::local_today(&venue, now),
    };
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    let variance = super::count(&txn, id, milli(input.counted), &ctx).await?;
    txn.commit().await?;
    drop(turn);
    let ingredient = find_ingredient(&state, venue_id, id).await?;
    Ok(created(CountResult {
        count_id,
        variance: quantity(variance),
        ingredient: view_of(&state, ingredient).await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WasteInput {
    /// How much was thrown away, in the ingredient's unit.
    pub quantity: Positive,
    pub reason: WasteReason,
}

/// Record waste (venue staff): taken from stock FIFO with its reason.
#[utoipa::path(post, path = "/api/venues/{venue_id}/ingredients/{id}/waste", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Ingredient id")),
    request_body(content = WasteInput, example = json!({"quantity": "300", "reason": "spoiled"})),
    responses(
        (status = 201, description = "Recorded", body = Envelope<IngredientView>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such ingredient", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
async fn record_waste(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<WasteInput>,
) -> ApiResult<Reply<IngredientView>> {
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    find_ingredient(&state, venue_id, id).await?;
    let now = state.now();
    let ctx = Context {
        kind: MovementKind::Waste,
        order_id: None,
        reference_id: Some(Uuid::now_v7()),
        reason: Some(input.reason.as_str()),
        actor_id: Some(me.user_id),
        at: now,
        today: super::local_today(&venue, now),
    };
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    super::take(&txn, id, positive(input.quantity), &ctx).await?;
    txn.commit().await?;
    drop(turn);
    let ingredient = find_ingredient(&state, venue_id, id).await?;
    Ok(created(view_of(&state, ingredient).await?).message("waste recorded"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MovementFilter {
    /// Only movements at or before this instant (the stock then is in the answer's message).
    pub at: Option<DateTime<Utc>>,
    pub page: Option<crate::http::envelope::PageNumber>,
    pub per_page: Option<crate::http::envelope::PerPage>,
}

/// An ingredient's movements, newest first.
#[utoipa::path(get, path = "/api/venues/{venue_id}/ingredients/{id}/movements", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Ingredient id"), MovementFilter),
    responses(
        (status = 200, description = "A page of movements", body = Envelope<Page<MovementView>>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such ingredient", body = ErrorBody),
    ))]
async fn list_movements(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiQuery(filter): ApiQuery<MovementFilter>,
) -> ApiResult<Reply<Page<MovementView>>> {
    crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    let ingredient = find_ingredient(&state, venue_id, id).await?;
    let mut select = stock_movements::Entity::find()
        .filter(stock_movements::Column::IngredientId.eq(id))
        .order_by_desc(stock_movements::Column::OccurredAt)
        .order_by_desc(stock_movements::Column::Id);
    if let Some(at) = filter.at {
        select = select.filter(stock_movements::Column::OccurredAt.lte(at));
    }
    let params = PageParams {
        page: filter.page,
        per_page: filter.per_page,
    };
    let (rows, index, per_page, total) = paginate(select, &state.db, &params).await?;
    let stock = super::on_hand(&state.db, id, filter.at).await?;
    Ok(ok(Page::new(
        rows.into_iter().map(MovementView::from).collect(),
        index,
        per_page,
        total,
    ))
    .message(format!(
        "stock {} {}: {}",
        if filter.at.is_some() { "then" } else { "now" },
        ingredient.unit,
        quantity(stock)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_positive_quantity_parses_exactly_what_its_pattern_admits() {
        let pattern = regex::Regex::new(POSITIVE_PATTERN).unwrap();
        for raw in [
            "1",
            "125",
            "0.5",
            "0.05",
            "0.005",
            "10.250",
            "999999999999",
            "999999999999.999",
            "0",
            "0.0",
            "0.000",
            "00.5",
            "01",
            ".5",
            "5.",
            "1.2345",
            "1000000000000",
            "-1",
            "1e3",
            "",
            " 1",
            "0.0001",
            "1,5",
        ] {
            assert_eq!(
                pattern.is_match(raw),
                Positive::parse(raw).is_ok(),
                "{raw:?}"
            );
            if let Ok(p) = Positive::parse(raw) {
                assert!(positive(p) > 0, "{raw:?}");
            }
        }
    }
}
