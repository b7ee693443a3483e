//! A venue's inventory API, by operation group: `catalogue` (the stock list and each ingredient),
//! `recipes` (a menu item's recipe with its dish cost and margin, a made ingredient's), `stock`
//! (receipts, counts and stocktakes, waste, transfers, production, an ingredient's movements and use),
//! `reports` (the venue's movements, the waste summary, stock settings), `files` and `recipe_files`
//! (CSV in and out), `suppliers`, `purchasing` (purchase orders written and sent)
//! and `receiving` (deliveries received against them).
//! Reading and recording movements takes the venue's staff; changing ingredients, recipes, suppliers
//! and orders its managers. This file holds what they share: the quantity and cost types, the
//! conversions to stored thousandths and millionths, and the ingredient view.

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

use crate::accounts::{AuthUser, MemberRole};
use crate::entities::{
    batches, ingredients, menu_items, recipe_lines, restaurants, stock_movements,
};
use crate::http::envelope::{Envelope, Page, PageParams, Reply, created, ok, paginate};
use crate::http::error::{ApiError, ApiResult, ErrorBody, FieldErrors};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::inventory::fifo::{self, MICRO, MILLI};
use crate::inventory::{Context, Incoming, MovementKind, WasteReason};
use crate::money::Amount;
use crate::state::AppState;

mod catalogue;
mod files;
pub(crate) mod purchasing;
mod receiving;
mod recipe_files;
mod recipes;
mod reports;
mod stock;
pub(crate) mod suppliers;

pub use catalogue::{IngredientDetail, IngredientInput, NewIngredient};
pub use files::StockImportReport;
pub use purchasing::{
    NewPurchaseOrder, PurchaseLineInput, PurchaseLineView, PurchaseOrderFilter, PurchaseOrderInput,
    PurchaseOrderView, PurchaseStatus,
};
pub use receiving::{ReceiveInput, ReceiveLineInput};
pub use recipes::{
    RecipeInput, RecipeLineInput, RecipeLineView, RecipeView, SubRecipeInput, SubRecipeView,
};
pub use reports::{
    MovementKindFilter, StockSettingsInput, StockSettingsView, VenueMovementFilter,
    WasteByIngredient, WasteByReason, WasteDays, WasteQuery, WasteSummary,
};
pub use stock::{
    CountInput, CountResult, MovementFilter, MovementView, ProductionInput, ProductionResult,
    ReceiptInput, StocktakeInput, StocktakeLine, StocktakeLineInput, StocktakeResult,
    TransferInput, TransferResult, UsageDay, UsageQuery, WasteInput,
};
pub use suppliers::{NewSupplier, SupplierInput, SupplierView};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            catalogue::list_ingredients,
            catalogue::create_ingredient
        ))
        .routes(routes!(files::export_ingredients))
        .routes(routes!(files::import_ingredients))
        .routes(routes!(recipe_files::export_recipes))
        .routes(routes!(recipe_files::import_recipes))
        .routes(routes!(files::count_sheet))
        .routes(routes!(files::import_counts))
        .routes(routes!(stock::stocktake))
        .routes(routes!(reports::venue_movements))
        .routes(routes!(reports::waste_summary))
        .routes(routes!(
            reports::get_stock_settings,
            reports::put_stock_settings
        ))
        .routes(routes!(stock::produce))
        .routes(routes!(
            catalogue::get_ingredient,
            catalogue::update_ingredient
        ))
        .routes(routes!(recipes::get_recipe, recipes::put_recipe))
        .routes(routes!(recipes::get_sub_recipe, recipes::put_sub_recipe))
        .routes(routes!(stock::receive))
        .routes(routes!(stock::count_stock))
        .routes(routes!(stock::record_waste))
        .routes(routes!(stock::list_movements))
        .routes(routes!(stock::transfer_stock))
        .routes(routes!(stock::ingredient_usage))
        .routes(routes!(
            suppliers::list_suppliers,
            suppliers::create_supplier
        ))
        .routes(routes!(
            suppliers::get_supplier,
            suppliers::update_supplier,
            suppliers::delete_supplier
        ))
        .routes(routes!(
            purchasing::list_purchase_orders,
            purchasing::create_purchase_order
        ))
        .routes(routes!(
            purchasing::get_purchase_order,
            purchasing::update_purchase_order
        ))
        .routes(routes!(purchasing::send_purchase_order))
        .routes(routes!(purchasing::cancel_purchase_order))
        .routes(routes!(receiving::receive_purchase_order))
}

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

    fn parse(raw: &str) -> Result<Unit, String> {
        match raw.trim().to_lowercase().as_str() {
            "g" => Ok(Unit::G),
            "ml" => Ok(Unit::Ml),
            "each" => Ok(Unit::Each),
            _ => Err(format!("{raw:?} is not a unit (g, ml or each)")),
        }
    }
}

/// A unit cost as the API takes it: a string of digits with up to six decimals ("0.0042" per gram).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitCost(pub Decimal);

pub const UNIT_COST_PATTERN: &str = r"^[0-9]{1,9}(\.[0-9]{1,6})?$";

impl UnitCost {
    /// Exactly the strings [`UNIT_COST_PATTERN`] matches.
    pub fn parse(raw: &str) -> Result<UnitCost, String> {
        let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let shaped = (1..=9).contains(&whole.len())
            && digits(whole)
            && (!raw.contains('.') || (1..=6).contains(&fraction.len()))
            && digits(fraction);
        if !shaped {
            return Err(format!(
                "{raw:?} is not a unit cost like 0.0042 (digits, at most six decimals)"
            ));
        }
        raw.parse::<Decimal>()
            .map(UnitCost)
            .map_err(|_| format!("{raw:?} is not a unit cost"))
    }
}

impl<'de> Deserialize<'de> for UnitCost {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <String as Deserialize>::deserialize(d)?;
        UnitCost::parse(&raw).map_err(serde::de::Error::custom)
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

/// A value in billionths (thousandths of a unit times millionths per unit) as money in `currency`,
/// to its minor unit ("47.80").
pub(crate) fn money_in(currency: crate::money::Currency, value_nanos: i128) -> Decimal {
    let mut amount = fifo::money(value_nanos).round_dp(currency.exponent);
    amount.rescale(currency.exponent);
    amount
}

pub(crate) fn quantity(milli: i64) -> Decimal {
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
