//! Inventory: each venue's ingredients, recipes, batches and stock movements. Every change to stock is an
//! immutable `stock_movements` row (receipt, consumption, count, waste), so an ingredient's stock at any
//! instant is the sum of its movements until then; batches hold what FIFO takes from (oldest unexpired
//! first, `fifo`). When an order completes, its recipes' quantities leave stock in the same transaction
//! as its status event, once: a row in `order_consumptions` is the claim, and a replayed or concurrent
//! completion finds it taken. Stock may go below zero (the kitchen cooked it anyway); the movement says
//! so and the next receipt settles the deficit before it fills a batch.
//!
//! Writes to one ingredient are serialised by locking its row first on PostgreSQL (`SELECT … FOR
//! UPDATE`, held to the end of the transaction, `lock_rows`), always in ingredient-id order, so
//! concurrent completions neither deadlock nor take one batch twice; on SQLite write transactions
//! already run one at a time.
//!
//! Facade: [`consume_order`], [`put`] (receipts), [`take`] (waste), [`count`], [`produce`],
//! [`transfer`], [`on_hand`].

pub mod alerts;
pub mod demo;
pub mod fifo;
pub mod predictions;
pub mod routes;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::entities::{
    batches, ingredients, order_consumptions, order_items, orders, recipe_lines, stock_movements,
};
use crate::http::error::ApiError;

/// What a movement was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    Receipt,
    Consumption,
    Count,
    Waste,
    /// Moved to or from another venue of the group.
    Transfer,
    /// Made in the kitchen from a sub-recipe: its components out, the made ingredient in.
    Production,
}

impl MovementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Receipt => "receipt",
            MovementKind::Consumption => "consumption",
            MovementKind::Count => "count",
            MovementKind::Waste => "waste",
            MovementKind::Transfer => "transfer",
            MovementKind::Production => "production",
        }
    }
}

/// Why stock was thrown away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WasteReason {
    Expired,
    Spoiled,
    Dropped,
    Returned,
    /// Cooked for an order that was then cancelled.
    Cancelled,
}

impl WasteReason {
    pub fn as_str(self) -> &'static str {
        match self {
            WasteReason::Expired => "expired",
            WasteReason::Spoiled => "spoiled",
            WasteReason::Dropped => "dropped",
            WasteReason::Returned => "returned",
            WasteReason::Cancelled => "cancelled",
        }
    }
}

/// Who and what a movement belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub kind: MovementKind,
    pub order_id: Option<Uuid>,
    pub reference_id: Option<Uuid>,
    pub reason: Option<&'static str>,
    pub actor_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    /// The venue's local date at `at` (what expiry is judged against).
    pub today: NaiveDate,
}

/// The sum of an ingredient's movements up to `at` (all of them when `None`): its stock then, in
/// thousandths of its unit.
pub async fn on_hand<C: ConnectionTrait>(
    db: &C,
    ingredient_id: Uuid,
    at: Option<DateTime<Utc>>,
) -> Result<i64, ApiError> {
    let mut select = stock_movements::Entity::find()
        .select_only()
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(quantity), 0) AS BIGINT)"),
            "total",
        )
        .filter(stock_movements::Column::IngredientId.eq(ingredient_id));
    if let Some(at) = at {
        select = select.filter(stock_movements::Column::OccurredAt.lte(at));
    }
    let total: Option<i64> = select.into_tuple().one(db).await?;
    Ok(total.unwrap_or(0))
}

/// Stock on hand now of each of `ingredients` (those with no movement are absent), in one query.
pub async fn on_hand_of<C: ConnectionTrait>(
    db: &C,
    ingredients: Vec<Uuid>,
) -> Result<std::collections::HashMap<Uuid, i64>, ApiError> {
    if ingredients.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(Uuid, i64)> = stock_movements::Entity::find()
        .select_only()
        .column(stock_movements::Column::IngredientId)
        .column_as(Expr::cust("CAST(SUM(quantity) AS BIGINT)"), "total")
        .filter(stock_movements::Column::IngredientId.is_in(ingredients))
        .group_by(stock_movements::Column::IngredientId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Take the ingredients' rows for this transaction, in id order, and read them: every stock write goes
/// through here first. On PostgreSQL one `SELECT … ORDER BY id FOR UPDATE` locks them (the lock is
/// applied to rows as the sort hands them out, so always in id order and never a deadlock between two
/// completions); SQLite needs no row locks: its write transactions already run one at a time.
async fn lock_rows<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> Result<Vec<ingredients::Model>, ApiError> {
    let mut select = ingredients::Entity::find()
        .filter(ingredients::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(ingredients::Column::Id);
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        select = select.lock_exclusive();
    }
    Ok(select.all(db).await?)
}

/// [`lock_rows`] for one ingredient, and the ingredient.
async fn lock<C: ConnectionTrait>(
    db: &C,
    ingredient_id: Uuid,
) -> Result<ingredients::Model, ApiError> {
    lock_rows(db, &[ingredient_id])
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("ingredient"))
}

fn movement(
    ingredient: &ingredients::Model,
    batch: Option<Uuid>,
    quantity: i64,
    unit_cost_micros: i64,
    ctx: &Context,
) -> stock_movements::ActiveModel {
    movement_of(
        &Out {
            restaurant_id: ingredient.restaurant_id,
            ingredient_id: ingredient.id,
            batch_id: batch,
            quantity,
            unit_cost_micros,
        },
        ctx,
    )
}

/// One movement's own values (the rest comes from its [`Context`]).
#[derive(Debug, Clone, Copy)]
struct Out {
    restaurant_id: Uuid,
    ingredient_id: Uuid,
    batch_id: Option<Uuid>,
    quantity: i64,
    unit_cost_micros: i64,
}

fn movement_of(out: &Out, ctx: &Context) -> stock_movements::ActiveModel {
    stock_movements::ActiveModel {
        restaurant_id: Set(out.restaurant_id),
        ingredient_id: Set(out.ingredient_id),
        batch_id: Set(out.batch_id),
        kind: Set(ctx.kind.as_str().to_string()),
        quantity: Set(out.quantity),
        unit_cost_micros: Set(out.unit_cost_micros),
        order_id: Set(ctx.order_id),
        reference_id: Set(ctx.reference_id),
        reason: Set(ctx.reason.map(str::to_string)),
        actor_id: Set(ctx.actor_id),
        occurred_at: Set(ctx.at),
        ..Default::default()
    }
}

/// Take `quantity` (thousandths) of an ingredient out of stock, FIFO, recording a movement per batch
/// taken from and one for any shortfall (valued at the ingredient's standard cost).
pub async fn take<C: ConnectionTrait>(
    db: &C,
    ingredient_id: Uuid,
    quantity: i64,
    ctx: &Context,
) -> Result<(), ApiError> {
    lock(db, ingredient_id).await?;
    take_many(db, &BTreeMap::from([(ingredient_id, quantity)]), ctx)
        .await
        .map(|_| ())
}

/// What comes into stock: a delivery, or a count's surplus.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub quantity: i64,
    pub unit_cost_micros: i64,
    pub supplier_id: Option<Uuid>,
    pub lot: Option<String>,
    pub expires_on: Option<NaiveDate>,
}

/// Put `incoming` into stock as a batch. A deficit (stock below zero) is settled first: the batch
/// holds only what is left after it, so batches always hold exactly the stock on hand when it is
/// positive.
pub async fn put<C: ConnectionTrait>(
    db: &C,
    ingredient_id: Uuid,
    incoming: &Incoming,
    ctx: &Context,
) -> Result<batches::Model, ApiError> {
    let ingredient = lock(db, ingredient_id).await?;
    let before = on_hand(db, ingredient_id, None).await?;
    let deficit = (-before).max(0);
    let expires_on = incoming.expires_on.or_else(|| {
        ingredient
            .shelf_life_days
            .map(|days| ctx.today + chrono::Days::new(days.max(0) as u64))
    });
    let batch = batches::ActiveModel {
        id: Set(Uuid::now_v7()),
        restaurant_id: Set(ingredient.restaurant_id),
        ingredient_id: Set(ingredient_id),
        supplier_id: Set(incoming.supplier_id),
        lot: Set(incoming.lot.clone()),
        received_quantity: Set(incoming.quantity),
        remaining: Set(incoming.quantity - deficit.min(incoming.quantity)),
        unit_cost_micros: Set(incoming.unit_cost_micros),
        received_at: Set(ctx.at),
        expires_on: Set(expires_on),
    }
    .insert(db)
    .await?;
    movement(
        &ingredient,
        Some(batch.id),
        incoming.quantity,
        incoming.unit_cost_micros,
        ctx,
    )
    .insert(db)
    .await?;
    if matches!(ctx.kind, MovementKind::Receipt | MovementKind::Production) {
        ingredients::Entity::update_many()
            .col_expr(
                ingredients::Column::UnitCostMicros,
                Expr::value(incoming.unit_cost_micros),
            )
            .filter(ingredients::Column::Id.eq(ingredient_id))
            .exec(db)
            .await?;
    }
    Ok(batch)
}

/// A stocktake: the counted quantity becomes the stock, the difference is recorded as a `count`
/// movement (a surplus enters as a batch at the standard cost). Returns the variance.
pub async fn count<C: ConnectionTrait>(
    db: &C,
    ingredient_id: Uuid,
    counted: i64,
    ctx: &Context,
) -> Result<i64, ApiError> {
    let ingredient = lock(db, ingredient_id).await?;
    let variance = counted - on_hand(db, ingredient_id, None).await?;
    if variance < 0 {
        take_many(db, &BTreeMap::from([(ingredient_id, -variance)]), ctx).await?;
    } else if variance > 0 {
        put(
            db,
            ingredient_id,
            &Incoming {
                quantity: variance,
                unit_cost_micros: ingredient.unit_cost_micros,
                supplier_id: None,
                lot: None,
                expires_on: None,
            },
            ctx,
        )
        .await?;
    }
    Ok(variance)
}

/// Why an order's recipes leave stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderUse {
    /// It completed: `consumption`.
    Sold,
    /// It was cancelled after the kitchen started on it, and the venue records that as waste
    /// (`waste`, reason `cancelled`).
    CancelledCooking,
}

/// A QR order's portions per menu item.
fn portions_of(items: &[order_items::Model]) -> BTreeMap<Uuid, i64> {
    let mut ordered: BTreeMap<Uuid, i64> = BTreeMap::new();
    for item in items {
        if let Some(menu_item) = item.menu_item_id {
            *ordered.entry(menu_item).or_default() += i64::from(item.quantity.max(0));
        }
    }
    ordered
}

/// Take an order's recipes out of stock, once. Called inside the transaction that records the order's
/// COMPLETED status; a second call for the same order (a replay, a concurrent completion) finds the
/// claim taken and takes nothing. Returns how many ingredients moved.
pub async fn consume_order<C: ConnectionTrait>(
    db: &C,
    order: &orders::Model,
    items: &[order_items::Model],
    at: DateTime<Utc>,
    today: NaiveDate,
) -> Result<usize, ApiError> {
    let ordered = portions_of(items);
    consume(db, order.id, order.restaurant_id, &ordered, at, today).await
}

/// An order cancelled after the kitchen started on it: if the venue says so (`stock_settings`), its
/// recipes leave stock as waste (reason `cancelled`), once; otherwise nothing moves. Called inside the
/// transaction that records the CANCELLED status.
pub async fn waste_cancelled_order<C: ConnectionTrait>(
    db: &C,
    order: &orders::Model,
    items: &[order_items::Model],
    at: DateTime<Utc>,
    today: NaiveDate,
) -> Result<usize, ApiError> {
    if !wastes_cancelled_cooking(db, vec![order.restaurant_id])
        .await?
        .contains(&order.restaurant_id)
    {
        return Ok(0);
    }
    let ordered = portions_of(items);
    take_order(
        db,
        (order.id, order.restaurant_id),
        &ordered,
        (at, today),
        OrderUse::CancelledCooking,
    )
    .await
}

/// Venues among `venues` that record a cancelled order the kitchen started on as waste.
pub async fn wastes_cancelled_cooking<C: ConnectionTrait>(
    db: &C,
    venues: Vec<Uuid>,
) -> Result<std::collections::HashSet<Uuid>, ApiError> {
    if venues.is_empty() {
        return Ok(Default::default());
    }
    let found: Vec<Uuid> = crate::entities::stock_settings::Entity::find()
        .select_only()
        .column(crate::entities::stock_settings::Column::RestaurantId)
        .filter(crate::entities::stock_settings::Column::RestaurantId.is_in(venues))
        .filter(crate::entities::stock_settings::Column::WasteCancelledCooking.eq(true))
        .into_tuple()
        .all(db)
        .await?;
    Ok(found.into_iter().collect())
}

/// [`consume_order`] for portions already resolved to menu items (a channel order's items matched by
/// PLU or name).
pub async fn consume<C: ConnectionTrait>(
    db: &C,
    order_id: Uuid,
    restaurant_id: Uuid,
    ordered: &BTreeMap<Uuid, i64>,
    at: DateTime<Utc>,
    today: NaiveDate,
) -> Result<usize, ApiError> {
    take_order(
        db,
        (order_id, restaurant_id),
        ordered,
        (at, today),
        OrderUse::Sold,
    )
    .await
}

/// Claim an order's consumption and add up what its recipes take of each ingredient (thousandths),
/// in ingredient-id order; nothing when the claim was taken already. On PostgreSQL one statement
/// claims, adds up and locks the ingredients' rows in id order (`WITH claim AS (INSERT … ON CONFLICT
/// DO NOTHING RETURNING …), needs AS (… WHERE EXISTS (SELECT 1 FROM claim)) SELECT … FOR UPDATE OF
/// i`), as [`lock_rows`] would; on SQLite, in process and one writer at a time, two statements.
async fn claim_and_needs<C: ConnectionTrait>(
    db: &C,
    (order_id, restaurant_id): (Uuid, Uuid),
    ordered: &BTreeMap<Uuid, i64>,
    at: DateTime<Utc>,
) -> Result<BTreeMap<Uuid, i64>, ApiError> {
    let backend = db.get_database_backend();
    if backend == sea_orm::DbBackend::Postgres && !ordered.is_empty() {
        let (items, portions) = id_and_number_lists(ordered);
        let rows = db
            .query_all_raw(sea_orm::Statement::from_sql_and_values(
                backend,
                CLAIM_AND_NEEDS,
                [
                    order_id.into(),
                    restaurant_id.into(),
                    at.into(),
                    items.into(),
                    portions.into(),
                ],
            ))
            .await?;
        return rows
            .iter()
            .map(|row| Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?)))
            .collect::<Result<_, sea_orm::DbErr>>()
            .map_err(ApiError::from);
    }
    let claimed = order_consumptions::Entity::insert(order_consumptions::ActiveModel {
        order_id: Set(order_id),
        restaurant_id: Set(restaurant_id),
        consumed_at: Set(at),
    })
    .on_conflict(
        OnConflict::column(order_consumptions::Column::OrderId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    if claimed == 0 || ordered.is_empty() {
        return Ok(BTreeMap::new());
    }
    let lines = recipe_lines::Entity::find()
        .filter(recipe_lines::Column::MenuItemId.is_in(ordered.keys().copied().collect::<Vec<_>>()))
        .all(db)
        .await?;
    let mut needs: BTreeMap<Uuid, i64> = BTreeMap::new();
    for line in lines {
        let Some(item) = line.menu_item_id else {
            continue;
        };
        let portions = ordered.get(&item).copied().unwrap_or(0);
        *needs.entry(line.ingredient_id).or_default() += portions * line.quantity;
    }
    needs.retain(|_, quantity| *quantity > 0);
    Ok(needs)
}

/// [`claim_and_needs`] on PostgreSQL. `$4` and `$5` are the ordered menu items and their portions as
/// comma-separated lists, so the statement's text (and its prepared plan) is the same for every order.
const CLAIM_AND_NEEDS: &str = "\
WITH claim AS (
    INSERT INTO order_consumptions (order_id, restaurant_id, consumed_at) VALUES ($1, $2, $3)
    ON CONFLICT (order_id) DO NOTHING RETURNING order_id),
ordered AS (
    SELECT * FROM unnest(string_to_array($4, ',')::uuid[], string_to_array($5, ',')::bigint[])
        AS o(menu_item_id, portions)),
needs AS (
    SELECT r.ingredient_id, SUM(r.quantity * o.portions)::bigint AS quantity
    FROM recipe_lines r JOIN ordered o ON o.menu_item_id = r.menu_item_id
    WHERE EXISTS (SELECT 1 FROM claim)
    GROUP BY r.ingredient_id)
SELECT i.id, n.quantity FROM ingredients i JOIN needs n ON n.ingredient_id = i.id
WHERE n.quantity > 0
ORDER BY i.id FOR UPDATE OF i";

/// Ids and numbers as two comma-separated lists (`string_to_array($n, ',')::uuid[]` and `::bigint[]`
/// in a statement), in key order.
fn id_and_number_lists(pairs: &BTreeMap<Uuid, i64>) -> (String, String) {
    let ids: Vec<String> = pairs.keys().map(Uuid::to_string).collect();
    let numbers: Vec<String> = pairs.values().map(i64::to_string).collect();
    (ids.join(","), numbers.join(","))
}

/// An order's portions (per menu item) taken from stock by their recipes, once per order whatever the
/// use: the `order_consumptions` row is the claim.
pub async fn take_order<C: ConnectionTrait>(
    db: &C,
    (order_id, restaurant_id): (Uuid, Uuid),
    ordered: &BTreeMap<Uuid, i64>,
    (at, today): (DateTime<Utc>, NaiveDate),
    usage: OrderUse,
) -> Result<usize, ApiError> {
    let needs = claim_and_needs(db, (order_id, restaurant_id), ordered, at).await?;
    let (kind, reason) = match usage {
        OrderUse::Sold => (MovementKind::Consumption, None),
        OrderUse::CancelledCooking => (MovementKind::Waste, Some(WasteReason::Cancelled.as_str())),
    };
    let ctx = Context {
        kind,
        order_id: Some(order_id),
        reference_id: None,
        reason,
        actor_id: None,
        at,
        today,
    };
    take_many(db, &needs, &ctx).await?;
    Ok(needs.len())
}

impl From<&batches::Model> for fifo::Lot {
    fn from(b: &batches::Model) -> Self {
        fifo::Lot {
            id: b.id,
            remaining: b.remaining,
            unit_cost_micros: b.unit_cost_micros,
            received_at: b.received_at,
            expires_on: b.expires_on,
        }
    }
}

/// `remaining = remaining - CASE id WHEN … END` for every batch FIFO plans take from.
fn decrement_statement(takes: &[fifo::Take]) -> sea_orm::sea_query::UpdateStatement {
    use sea_orm::QueryTrait;
    let mut case = sea_orm::sea_query::CaseStatement::new();
    for t in takes {
        case = case.case(batches::Column::Id.eq(t.lot), Expr::value(t.quantity));
    }
    let case = case.finally(Expr::value(0i64));
    batches::Entity::update_many()
        .col_expr(
            batches::Column::Remaining,
            sea_orm::sea_query::ExprTrait::sub(Expr::col(batches::Column::Remaining), case),
        )
        .filter(batches::Column::Id.is_in(takes.iter().map(|t| t.lot)))
        .into_query()
}

/// Take what FIFO plans take out of their batches, in one statement.
async fn decrement<C: ConnectionTrait>(db: &C, takes: &[fifo::Take]) -> Result<(), ApiError> {
    if takes.is_empty() {
        return Ok(());
    }
    db.execute(&decrement_statement(takes)).await?;
    Ok(())
}

/// [`take`] for several ingredients at once (an order's recipes), their rows already locked
/// ([`lock_rows`], or [`claim_and_needs`] for an order): FIFO over each one's batches, the batch
/// decrements and a movement per batch taken from and per shortfall, so a completion costs a few
/// statements more, not a few per ingredient. Returns what was taken is worth, in billionths (each batch
/// at its cost, a shortfall at the standard cost).
///
/// On PostgreSQL all of it is one statement ([`TAKE_FIFO`]): the server plans FIFO as
/// [`fifo::plan_use`] does (a test holds the two to the same answers) and writes. It reads the batches
/// after the locks were taken, in a statement of its own, so it sees every write of the transactions it
/// waited for. SQLite, in process, reads the batches, plans in Rust and writes ([`write_takes`]).
async fn take_many<C: ConnectionTrait>(
    db: &C,
    needs: &BTreeMap<Uuid, i64>,
    ctx: &Context,
) -> Result<i128, ApiError> {
    let wanted: BTreeMap<Uuid, i64> = needs
        .iter()
        .filter(|(_, q)| **q > 0)
        .map(|(id, q)| (*id, *q))
        .collect();
    if wanted.is_empty() {
        return Ok(0);
    }
    let backend = db.get_database_backend();
    if backend == sea_orm::DbBackend::Postgres {
        let (ids, quantities) = id_and_number_lists(&wanted);
        let rows = db
            .query_all_raw(sea_orm::Statement::from_sql_and_values(
                backend,
                TAKE_FIFO,
                [
                    ids.into(),
                    quantities.into(),
                    ctx.today.into(),
                    ctx.kind.as_str().into(),
                    ctx.order_id.into(),
                    ctx.reference_id.into(),
                    ctx.reason.map(str::to_string).into(),
                    ctx.actor_id.into(),
                    ctx.at.into(),
                ],
            ))
            .await?;
        let mut value = 0i128;
        for row in rows {
            let quantity: i64 = row.try_get_by_index(0)?;
            let unit_cost_micros: i64 = row.try_get_by_index(1)?;
            value += fifo::value_nanos(-quantity, unit_cost_micros);
        }
        return Ok(value);
    }
    let ids: Vec<Uuid> = wanted.keys().copied().collect();
    let (found, lots) = stock_of(db, &ids).await?;
    let mut movements = Vec::new();
    let mut takes = Vec::new();
    let mut value = 0i128;
    for (id, want) in &wanted {
        let &(restaurant_id, standard_cost) = found
            .get(id)
            .ok_or_else(|| ApiError::not_found("ingredient"))?;
        let plan = fifo::plan_use(
            lots.get(id).map(Vec::as_slice).unwrap_or(&[]),
            *want,
            ctx.today,
        );
        let out = |batch_id, quantity, unit_cost_micros| Out {
            restaurant_id,
            ingredient_id: *id,
            batch_id,
            quantity,
            unit_cost_micros,
        };
        for t in &plan.takes {
            movements.push(out(Some(t.lot), -t.quantity, t.unit_cost_micros));
        }
        value += fifo::plan_cost_nanos(&plan) + fifo::value_nanos(plan.shortfall, standard_cost);
        takes.extend(plan.takes);
        if plan.shortfall > 0 {
            movements.push(out(None, -plan.shortfall, standard_cost));
        }
    }
    write_takes(db, &takes, &movements, ctx).await?;
    Ok(value)
}

/// Each ingredient's venue and standard cost with the batches that hold stock, in one statement of
/// only the columns FIFO needs, read by position: `ingredients LEFT JOIN batches` (SQLite; PostgreSQL
/// plans FIFO in [`TAKE_FIFO`]).
async fn stock_of<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> Result<
    (
        std::collections::HashMap<Uuid, (Uuid, i64)>,
        std::collections::HashMap<Uuid, Vec<fifo::Lot>>,
    ),
    ApiError,
> {
    use sea_orm::Statement;
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT i.id, i.restaurant_id, i.unit_cost_micros, b.id, b.remaining, b.unit_cost_micros, \
         b.received_at, b.expires_on FROM ingredients i \
         LEFT JOIN batches b ON b.ingredient_id = i.id AND b.remaining > 0 \
         WHERE i.id IN ({}) ORDER BY i.id",
        vec!["?"; ids.len()].join(", ")
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            ids.iter().map(|id| sea_orm::Value::from(*id)),
        ))
        .await?;
    let mut found = std::collections::HashMap::new();
    let mut lots: std::collections::HashMap<Uuid, Vec<fifo::Lot>> = Default::default();
    for row in rows {
        let id: Uuid = row.try_get_by_index(0)?;
        found.entry(id).or_insert((
            row.try_get_by_index::<Uuid>(1)?,
            row.try_get_by_index::<i64>(2)?,
        ));
        if let Some(batch) = row.try_get_by_index::<Option<Uuid>>(3)? {
            lots.entry(id).or_default().push(fifo::Lot {
                id: batch,
                remaining: row.try_get_by_index(4)?,
                unit_cost_micros: row.try_get_by_index(5)?,
                received_at: row.try_get_by_index(6)?,
                expires_on: row.try_get_by_index(7)?,
            });
        }
    }
    Ok((found, lots))
}

/// What FIFO plans take out of their batches (one `UPDATE … CASE`) and the movements that say so (one
/// insert): SQLite's side of [`take_many`].
async fn write_takes<C: ConnectionTrait>(
    db: &C,
    takes: &[fifo::Take],
    movements: &[Out],
    ctx: &Context,
) -> Result<(), ApiError> {
    decrement(db, takes).await?;
    if !movements.is_empty() {
        stock_movements::Entity::insert_many(movements.iter().map(|m| movement_of(m, ctx)))
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// [`take_many`] on PostgreSQL, one statement: `$1` and `$2` are the ingredients and the thousandths
/// wanted of each as comma-separated lists, `$3` the venue's date (what expiry is judged against),
/// `$4`-`$9` the movements' context. FIFO as [`fifo::plan_use`]: batches holding stock, unexpired
/// before expired, oldest received first, ties by id; each gives what is still wanted after the ones
/// before it (a running sum), and what no batch had is a shortfall at the standard cost. Movements are
/// numbered per ingredient in that order, the shortfall last. Returns each movement's quantity and unit
/// cost.
const TAKE_FIFO: &str = "\
WITH wanted AS (
    SELECT * FROM unnest(string_to_array($1, ',')::uuid[], string_to_array($2, ',')::bigint[])
        AS w(ingredient_id, quantity)),
ing AS (
    SELECT i.id, i.restaurant_id, i.unit_cost_micros, w.quantity
    FROM ingredients i JOIN wanted w ON w.ingredient_id = i.id),
lots AS (
    SELECT b.id, b.ingredient_id, b.remaining, b.unit_cost_micros, g.quantity AS wanted,
        SUM(b.remaining) OVER fifo - b.remaining AS before, ROW_NUMBER() OVER fifo AS rank
    FROM batches b JOIN ing g ON g.id = b.ingredient_id
    WHERE b.remaining > 0
    WINDOW fifo AS (PARTITION BY b.ingredient_id
        ORDER BY (b.expires_on IS NOT NULL AND b.expires_on < $3), b.received_at, b.id)),
takes AS (
    SELECT id, ingredient_id, unit_cost_micros, rank,
        LEAST(remaining, wanted - before)::bigint AS quantity
    FROM lots WHERE before < wanted),
taken AS (
    UPDATE batches SET remaining = batches.remaining - t.quantity
    FROM takes t WHERE batches.id = t.id),
outs AS (
    SELECT t.ingredient_id, t.rank, t.id AS batch_id, -t.quantity AS quantity, t.unit_cost_micros
    FROM takes t
    UNION ALL
    SELECT g.id, 9223372036854775807, NULL, (COALESCE(s.quantity, 0) - g.quantity)::bigint,
        g.unit_cost_micros
    FROM ing g LEFT JOIN (SELECT ingredient_id, SUM(quantity) AS quantity FROM takes
        GROUP BY ingredient_id) s ON s.ingredient_id = g.id
    WHERE g.quantity > COALESCE(s.quantity, 0))
INSERT INTO stock_movements (restaurant_id, ingredient_id, batch_id, kind, quantity,
    unit_cost_micros, order_id, reference_id, reason, actor_id, occurred_at)
SELECT g.restaurant_id, o.ingredient_id, o.batch_id, $4, o.quantity, o.unit_cost_micros,
    $5, $6, $7, $8, $9
FROM outs o JOIN ing g ON g.id = o.ingredient_id
ORDER BY o.ingredient_id, o.rank
RETURNING quantity, unit_cost_micros";

/// Make `quantity` (thousandths) of an ingredient from its sub-recipe, one batch of which (`lines`:
/// component, thousandths) yields `yield_quantity`: the components are taken FIFO, scaled to the
/// quantity made, and the made ingredient enters stock as a batch costing what they cost. Both sides
/// are `production` movements under `ctx`'s reference.
pub async fn produce<C: ConnectionTrait>(
    db: &C,
    made: &ingredients::Model,
    lines: &[(Uuid, i64)],
    yield_quantity: i64,
    quantity: i64,
    ctx: &Context,
) -> Result<batches::Model, ApiError> {
    let mut needs: BTreeMap<Uuid, i64> = BTreeMap::new();
    for (component, per_batch) in lines {
        // Rounded to the nearest thousandth of the component's unit.
        let scaled = (i128::from(*per_batch) * i128::from(quantity)
            + i128::from(yield_quantity) / 2)
            / i128::from(yield_quantity.max(1));
        *needs.entry(*component).or_default() += i64::try_from(scaled).unwrap_or(i64::MAX);
    }
    // Components and the made ingredient locked together, in id order.
    let mut ids: Vec<Uuid> = needs.keys().copied().chain([made.id]).collect();
    ids.sort();
    ids.dedup();
    lock_rows(db, &ids).await?;
    let value = take_many(db, &needs, ctx).await?;
    let unit_cost_micros = i64::try_from(value / i128::from(quantity.max(1))).unwrap_or(0);
    put(
        db,
        made.id,
        &Incoming {
            quantity,
            unit_cost_micros,
            supplier_id: None,
            lot: None,
            expires_on: None,
        },
        ctx,
    )
    .await
}

/// Move `quantity` (thousandths) of one venue's ingredient to another venue's: taken FIFO from the
/// source's batches, never below zero (409 `insufficient_stock` when the shelf holds less), and each
/// batch taken entering the destination as a batch with its cost, lot and use-by day. Both ingredients'
/// rows are taken first, in id order. Returns the value moved, in billionths.
pub async fn transfer<C: ConnectionTrait>(
    db: &C,
    from: &ingredients::Model,
    to: &ingredients::Model,
    quantity: i64,
    out: &Context,
    into: &Context,
) -> Result<i128, ApiError> {
    lock_rows(db, &[from.id, to.id]).await?;
    let held = on_hand(db, from.id, None).await?;
    if held < quantity {
        return Err(ApiError::conflict(
            "insufficient_stock",
            format!(
                "{} has {} {} on hand, less than the transfer",
                from.name,
                rust_decimal::Decimal::new(held, 3).normalize(),
                from.unit
            ),
        )
        .with_field("quantity", "is more than the stock on hand"));
    }
    let rows = batches::Entity::find()
        .filter(batches::Column::IngredientId.eq(from.id))
        .filter(batches::Column::Remaining.gt(0))
        .all(db)
        .await?;
    let lots: Vec<fifo::Lot> = rows.iter().map(fifo::Lot::from).collect();
    let plan = fifo::plan_use(&lots, quantity, out.today);
    if plan.shortfall > 0 {
        // The batches hold less than the movements say: move nothing rather than part.
        return Err(ApiError::conflict(
            "insufficient_stock",
            format!("{}'s batches hold less than the transfer", from.name),
        ));
    }
    let mut value = 0i128;
    for t in &plan.takes {
        let batch = rows
            .iter()
            .find(|b| b.id == t.lot)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a planned batch is gone")))?;
        decrement(db, std::slice::from_ref(t)).await?;
        movement(from, Some(t.lot), -t.quantity, t.unit_cost_micros, out)
            .insert(db)
            .await?;
        put(
            db,
            to.id,
            &Incoming {
                quantity: t.quantity,
                unit_cost_micros: t.unit_cost_micros,
                supplier_id: batch.supplier_id,
                lot: batch.lot.clone(),
                expires_on: batch.expires_on,
            },
            into,
        )
        .await?;
        value += fifo::value_nanos(t.quantity, t.unit_cost_micros);
    }
    Ok(value)
}

/// A venue's local date at `at`.
pub fn local_today(venue: &crate::entities::restaurants::Model, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&crate::restaurants::zone_of(venue))
        .date_naive()
}

/// The menu item each of a channel order's items is (`menus::ItemMatcher`), as portions per menu item;
/// items matching nothing are left out.
pub fn match_portions(
    menu: &[crate::entities::menu_items::Model],
    items: &[(String, Option<String>, i32)],
) -> BTreeMap<Uuid, i64> {
    let matcher = crate::menus::ItemMatcher::new(menu);
    let mut out = BTreeMap::new();
    for (name, plu, quantity) in items {
        if let Some(id) = matcher.find(name, plu.as_deref()) {
            *out.entry(id).or_default() += i64::from((*quantity).max(0));
        }
    }
    out
}

/// Venues among `venues` that have at least one recipe (only their orders can take stock).
pub async fn venues_with_recipes<C: ConnectionTrait>(
    db: &C,
    venues: Vec<Uuid>,
) -> Result<std::collections::HashSet<Uuid>, ApiError> {
    if venues.is_empty() {
        return Ok(Default::default());
    }
    let found: Vec<Uuid> = recipe_lines::Entity::find()
        .select_only()
        .column(recipe_lines::Column::RestaurantId)
        .filter(recipe_lines::Column::RestaurantId.is_in(venues))
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    Ok(found.into_iter().collect())
}
