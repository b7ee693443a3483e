//! What staff record against stock: receipts, counts and stocktakes, waste, transfers between venues,
//! production runs, and an ingredient's movements and daily use.

use super::*;
use sea_orm::QuerySelect;

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
    /// `quantity` at `unit_cost` (negative for what left stock), unrounded.
    #[schema(value_type = String, example = "-1.225")]
    pub value: Decimal,
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
            value: fifo::money(fifo::value_nanos(m.quantity, m.unit_cost_micros)).normalize(),
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
pub async fn receive(
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
        today: crate::inventory::local_today(&venue, now),
    };
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    let batch = crate::inventory::put(
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
pub async fn count_stock(
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
        today: crate::inventory::local_today(&venue, now),
    };
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    let variance = crate::inventory::count(&txn, id, milli(input.counted), &ctx).await?;
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
pub async fn record_waste(
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
        today: crate::inventory::local_today(&venue, now),
    };
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    crate::inventory::take(&txn, id, positive(input.quantity), &ctx).await?;
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
pub async fn list_movements(
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
    let stock = crate::inventory::on_hand(&state.db, id, filter.at).await?;
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferInput {
    /// Another venue the caller manages, in the same currency.
    pub to_venue_id: Uuid,
    /// Its ingredient to receive the stock (default: its ingredient of the same name).
    pub to_ingredient_id: Option<Uuid>,
    /// How much to move, in the ingredient's unit (no more than is on hand).
    pub quantity: Positive,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TransferResult {
    /// The reference of both venues' `transfer` movements.
    pub transfer_id: Uuid,
    pub from: IngredientView,
    pub to: IngredientView,
    /// What moved, at the batches' own costs.
    #[schema(value_type = String, example = "12.5")]
    pub value: Decimal,
}

/// Move stock to another venue of the group (a manager of both, or an administrator): taken from this
/// venue's oldest batches and received there as batches with the same cost and use-by days, in one
/// transaction; both sides are `transfer` movements with one reference.
#[utoipa::path(post, path = "/api/venues/{venue_id}/ingredients/{id}/transfers", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Ingredient id")),
    request_body(content = TransferInput, example = json!({"to_venue_id": "0190c8a2-7d5e-7cc1-9a8e-3f1b2c4d5e6f", "quantity": "2000"})),
    responses(
        (status = 201, description = "Moved", body = Envelope<TransferResult>),
        (status = 403, description = "Not a manager of both venues", body = ErrorBody),
        (status = 404, description = "No such ingredient, venue or destination ingredient", body = ErrorBody),
        (status = 409, description = "Less on hand than asked, another unit or currency, or this venue", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
pub async fn transfer_stock(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<TransferInput>,
) -> ApiResult<Reply<TransferResult>> {
    if input.to_venue_id == venue_id {
        return Err(
            ApiError::conflict("same_venue", "the stock is already at this venue")
                .with_field("to_venue_id", "is this venue"),
        );
    }
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Manager).await?;
    let from = find_ingredient(&state, venue_id, id).await?;
    let destination =
        crate::restaurants::team_venue(&state, &me, input.to_venue_id, MemberRole::Manager)
            .await
            .map_err(|e| e.with_field("to_venue_id", "is not a venue you manage"))?;
    if destination.currency != venue.currency {
        return Err(ApiError::conflict(
            "currency_mismatch",
            "the venues keep stock in different currencies",
        )
        .with_field("to_venue_id", "uses another currency"));
    }
    let to = match input.to_ingredient_id {
        Some(other) => find_ingredient(&state, destination.id, other)
            .await
            .map_err(|e| e.with_field("to_ingredient_id", "is not an ingredient of that venue"))?,
        None => ingredients::Entity::find()
            .filter(ingredients::Column::RestaurantId.eq(destination.id))
            .filter(ingredients::Column::Name.eq(from.name.as_str()))
            .one(&state.db)
            .await?
            .ok_or_else(|| {
                ApiError::not_found("ingredient").with_field(
                    "to_ingredient_id",
                    "that venue has no ingredient of this name: name one",
                )
            })?,
    };
    if to.unit != from.unit {
        return Err(ApiError::conflict(
            "unit_mismatch",
            format!(
                "{} counts in {}, {} in {}",
                from.name, from.unit, to.name, to.unit
            ),
        )
        .with_field("to_ingredient_id", "counts in another unit"));
    }
    let now = state.now();
    let transfer_id = Uuid::now_v7();
    let side = |kind_venue: &restaurants::Model| Context {
        kind: MovementKind::Transfer,
        order_id: None,
        reference_id: Some(transfer_id),
        reason: None,
        actor_id: Some(me.user_id),
        at: now,
        today: crate::inventory::local_today(kind_venue, now),
    };
    let (out, into) = (side(&venue), side(&destination));
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    let value =
        crate::inventory::transfer(&txn, &from, &to, positive(input.quantity), &out, &into).await?;
    txn.commit().await?;
    drop(turn);
    let from = find_ingredient(&state, venue_id, id).await?;
    let to = find_ingredient(&state, destination.id, to.id).await?;
    Ok(created(TransferResult {
        transfer_id,
        from: view_of(&state, from).await?,
        to: view_of(&state, to).await?,
        value: fifo::money(value),
    })
    .message(format!("moved to {}", destination.name)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// Local days back, today included (default 28).
    #[param(minimum = 7, maximum = 90)]
    pub days: Option<u32>,
}

/// One local day of an ingredient's movements.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UsageDay {
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    /// Taken by completed orders, in the ingredient's unit.
    #[schema(value_type = String)]
    pub consumed: Decimal,
    #[schema(value_type = String)]
    pub wasted: Decimal,
    /// Deliveries and transfers in.
    #[schema(value_type = String)]
    pub received: Decimal,
}

/// An ingredient's use, waste and deliveries per local day of the venue, oldest first.
#[utoipa::path(get, path = "/api/venues/{venue_id}/ingredients/{id}/usage", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Ingredient id"), UsageQuery),
    responses(
        (status = 200, description = "Days", body = Envelope<Vec<UsageDay>>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such ingredient", body = ErrorBody),
        (status = 422, description = "Invalid parameters", body = ErrorBody),
    ))]
pub async fn ingredient_usage(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiQuery(query): ApiQuery<UsageQuery>,
) -> ApiResult<Reply<Vec<UsageDay>>> {
    let days = query.days.unwrap_or(28);
    if !(7..=90).contains(&days) {
        return Err(ApiError::field("days", "must be between 7 and 90"));
    }
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    find_ingredient(&state, venue_id, id).await?;
    let tz = crate::restaurants::zone_of(&venue);
    let today = crate::inventory::local_today(&venue, state.now());
    let first = today - chrono::Days::new(u64::from(days) - 1);
    let since =
        crate::restaurants::hours::local_to_utc(tz, first.and_hms_opt(0, 0, 0).expect("midnight"));
    let rows: Vec<(String, i64, DateTime<Utc>)> = stock_movements::Entity::find()
        .select_only()
        .column(stock_movements::Column::Kind)
        .column(stock_movements::Column::Quantity)
        .column(stock_movements::Column::OccurredAt)
        .filter(stock_movements::Column::IngredientId.eq(id))
        .filter(stock_movements::Column::OccurredAt.gte(since))
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut by_day: std::collections::BTreeMap<NaiveDate, (i64, i64, i64)> = (0..days)
        .map(|k| (first + chrono::Days::new(u64::from(k)), (0, 0, 0)))
        .collect();
    for (kind, amount, at) in rows {
        let Some(day) = by_day.get_mut(&at.with_timezone(&tz).date_naive()) else {
            continue;
        };
        match kind.as_str() {
            "consumption" => day.0 -= amount,
            // A component used to make a sub-recipe is used as a dish's ingredient is.
            "production" if amount < 0 => day.0 -= amount,
            "waste" => day.1 -= amount,
            "receipt" | "transfer" | "production" if amount > 0 => day.2 += amount,
            _ => {}
        }
    }
    Ok(ok(by_day
        .into_iter()
        .map(|(date, (consumed, wasted, received))| UsageDay {
            date,
            consumed: quantity(consumed),
            wasted: quantity(wasted),
            received: quantity(received),
        })
        .collect()))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StocktakeLineInput {
    pub ingredient_id: Uuid,
    /// What is on the shelf, in the ingredient's unit (zero for none).
    pub counted: Amount,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StocktakeInput {
    /// The ingredients counted, each at most once (422 naming the repeated line otherwise); those left
    /// out keep their stock.
    #[schema(min_items = 1, max_items = 1000)]
    pub lines: Vec<StocktakeLineInput>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StocktakeLine {
    pub ingredient_id: Uuid,
    pub name: String,
    pub unit: String,
    /// What the records said before the count.
    #[schema(value_type = String, example = "4350")]
    pub expected: Decimal,
    #[schema(value_type = String, example = "4200")]
    pub counted: Decimal,
    /// Counted minus expected (negative: missing).
    #[schema(value_type = String, example = "-150")]
    pub variance: Decimal,
    /// The variance at the ingredient's standard cost, in the venue's currency.
    #[schema(value_type = String, example = "-1.47")]
    pub variance_value: Decimal,
}

/// A stocktake: every line's variance and what they come to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StocktakeResult {
    /// The reference of every `count` movement it made.
    pub count_id: Uuid,
    pub lines: Vec<StocktakeLine>,
    #[schema(value_type = String, example = "-3.20")]
    pub variance_value: Decimal,
}

/// Count several ingredients as one stocktake: in one transaction, under one reference, each
/// ingredient's counted quantity becoming its stock (in ingredient-id order, the order every stock
/// write locks in). `lines` are (ingredient, counted thousandths), each ingredient of the venue once.
pub(super) async fn apply_stocktake(
    state: &AppState,
    venue: &restaurants::Model,
    actor: Uuid,
    lines: &[(ingredients::Model, i64)],
) -> ApiResult<StocktakeResult> {
    let now = state.now();
    let count_id = Uuid::now_v7();
    let ctx = Context {
        kind: MovementKind::Count,
        order_id: None,
        reference_id: Some(count_id),
        reason: None,
        actor_id: Some(actor),
        at: now,
        today: crate::inventory::local_today(venue, now),
    };
    let currency = crate::menus::currency_of(venue);
    let mut sorted: Vec<&(ingredients::Model, i64)> = lines.iter().collect();
    sorted.sort_by_key(|(i, _)| i.id);
    let mut variances = HashMap::new();
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    for (ingredient, counted) in &sorted {
        let variance = crate::inventory::count(&txn, ingredient.id, *counted, &ctx).await?;
        variances.insert(ingredient.id, variance);
    }
    txn.commit().await?;
    drop(turn);
    let mut total = 0i128;
    let out = lines
        .iter()
        .map(|(ingredient, counted)| {
            let variance = variances.get(&ingredient.id).copied().unwrap_or(0);
            let value = fifo::value_nanos(variance, ingredient.unit_cost_micros);
            total += value;
            StocktakeLine {
                ingredient_id: ingredient.id,
                name: ingredient.name.clone(),
                unit: ingredient.unit.clone(),
                expected: quantity(counted - variance),
                counted: quantity(*counted),
                variance: quantity(variance),
                variance_value: money_in(currency, value),
            }
        })
        .collect();
    Ok(StocktakeResult {
        count_id,
        lines: out,
        variance_value: money_in(currency, total),
    })
}

/// A stocktake of several ingredients at once (venue staff), from the stocktake sheet: one
/// transaction, one reference; each counted quantity becomes the stock and its difference a `count`
/// movement.
#[utoipa::path(post, path = "/api/venues/{venue_id}/stocktakes", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    request_body(content = StocktakeInput, example = json!({"lines": [{"ingredient_id": "0190d7a4-3b7c-7cc0-8000-000000000003", "counted": "4200"}]})),
    responses(
        (status = 201, description = "Counted", body = Envelope<StocktakeResult>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "An ingredient not of this venue", body = ErrorBody),
        (status = 422, description = "Invalid fields, or an ingredient twice", body = ErrorBody),
    ))]
pub async fn stocktake(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<StocktakeInput>,
) -> ApiResult<Reply<StocktakeResult>> {
    let mut errors = FieldErrors::new();
    if input.lines.is_empty() {
        errors.add("lines", "count at least one ingredient");
    }
    if input.lines.len() > 1000 {
        errors.add("lines", "at most 1000 lines");
    }
    let mut seen = std::collections::HashSet::new();
    for (k, line) in input.lines.iter().enumerate() {
        if !seen.insert(line.ingredient_id) {
            errors.add(
                &format!("lines[{k}].ingredient_id"),
                "is counted on another line",
            );
        }
    }
    errors.into_result()?;
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    let found: HashMap<Uuid, ingredients::Model> = ingredients::Entity::find()
        .filter(ingredients::Column::RestaurantId.eq(venue_id))
        .filter(ingredients::Column::Id.is_in(seen.iter().copied()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    let mut lines = Vec::new();
    for (k, line) in input.lines.iter().enumerate() {
        let Some(ingredient) = found.get(&line.ingredient_id) else {
            return Err(ApiError::not_found("ingredient").with_field(
                &format!("lines[{k}].ingredient_id"),
                "is not an ingredient of this venue",
            ));
        };
        lines.push((ingredient.clone(), milli(line.counted)));
    }
    let result = apply_stocktake(&state, &venue, me.user_id, &lines).await?;
    let message = format!(
        "{} ingredient(s) counted; variance {} {}",
        result.lines.len(),
        result.variance_value,
        crate::menus::currency_of(&venue).code
    );
    Ok(created(result).message(message))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductionInput {
    /// How much was made, in the ingredient's unit (default: one batch, its recipe's yield).
    pub quantity: Option<Positive>,
}

/// What a production run made and used.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProductionResult {
    /// The reference of every `production` movement it made.
    pub production_id: Uuid,
    /// The batch made, costing what its components cost.
    pub batch: BatchView,
    pub ingredient: IngredientView,
}

/// Record a batch made in the kitchen from the ingredient's sub-recipe (venue staff): its components
/// leave stock FIFO, scaled to the quantity made (below zero if the shelf held less, as with orders),
/// and the ingredient enters stock as a batch at what they cost, with its shelf life.
#[utoipa::path(post, path = "/api/venues/{venue_id}/ingredients/{id}/production", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Ingredient id")),
    request_body(content = ProductionInput, example = json!({"quantity": "2000"})),
    responses(
        (status = 201, description = "Made", body = Envelope<ProductionResult>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such ingredient", body = ErrorBody),
        (status = 409, description = "The ingredient has no recipe: it is bought, not made", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
pub async fn produce(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<ProductionInput>,
) -> ApiResult<Reply<ProductionResult>> {
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    let made = find_ingredient(&state, venue_id, id).await?;
    let lines: Vec<(Uuid, i64)> = recipe_lines::Entity::find()
        .filter(recipe_lines::Column::ParentIngredientId.eq(id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|l| (l.ingredient_id, l.quantity))
        .collect();
    let Some(yield_quantity) = made.yield_quantity.filter(|y| *y > 0 && !lines.is_empty()) else {
        return Err(ApiError::conflict(
            "not_made",
            format!(
                "{} has no recipe: it is bought, not made (give it one first)",
                made.name
            ),
        ));
    };
    let made_quantity = input.quantity.map_or(yield_quantity, positive);
    let now = state.now();
    let production_id = Uuid::now_v7();
    let ctx = Context {
        kind: MovementKind::Production,
        order_id: None,
        reference_id: Some(production_id),
        reason: None,
        actor_id: Some(me.user_id),
        at: now,
        today: crate::inventory::local_today(&venue, now),
    };
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    let batch =
        crate::inventory::produce(&txn, &made, &lines, yield_quantity, made_quantity, &ctx).await?;
    txn.commit().await?;
    drop(turn);
    let made = find_ingredient(&state, venue_id, id).await?;
    Ok(created(ProductionResult {
        production_id,
        batch: BatchView::from(batch),
        ingredient: view_of(&state, made).await?,
    })
    .message("made"))
}
