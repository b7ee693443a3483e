//! Purchase orders: a draft names a supplier and what to buy of which ingredient at what cost; sending
//! it e-mails the supplier (through the outbox) and receiving against it, from a phone at the back door,
//! puts batches into stock. Draft -> sent -> partly received -> received; cancelled from any state
//! before received. Managers write and send orders, staff receive them.

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::Expr;

use super::suppliers::find_supplier;
use super::*;
use crate::entities::{purchase_order_lines, purchase_orders, suppliers};
use crate::menus::currency_of;

/// Where a purchase order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PurchaseStatus {
    Draft,
    Sent,
    PartlyReceived,
    Received,
    Cancelled,
}

impl PurchaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PurchaseStatus::Draft => "draft",
            PurchaseStatus::Sent => "sent",
            PurchaseStatus::PartlyReceived => "partly_received",
            PurchaseStatus::Received => "received",
            PurchaseStatus::Cancelled => "cancelled",
        }
    }

    pub(super) fn parse(raw: &str) -> PurchaseStatus {
        match raw {
            "sent" => PurchaseStatus::Sent,
            "partly_received" => PurchaseStatus::PartlyReceived,
            "received" => PurchaseStatus::Received,
            "cancelled" => PurchaseStatus::Cancelled,
            _ => PurchaseStatus::Draft,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PurchaseLineView {
    pub id: Uuid,
    pub ingredient_id: Uuid,
    pub ingredient_name: String,
    pub unit: String,
    /// Ordered, in the ingredient's unit.
    #[schema(value_type = String, example = "12000")]
    pub quantity: Decimal,
    /// Arrived so far, in the ingredient's unit.
    #[schema(value_type = String, example = "0")]
    pub received_quantity: Decimal,
    /// Still to come (zero once all, or more, has arrived).
    #[schema(value_type = String, example = "12000")]
    pub outstanding: Decimal,
    /// The ordered quantity in purchase units (a case of 12: 1), when the ingredient has one.
    #[schema(value_type = Option<String>, example = "12")]
    pub purchase_units: Option<Decimal>,
    pub purchase_unit: Option<String>,
    #[schema(value_type = String, example = "0.0098")]
    pub unit_cost: Decimal,
    /// Quantity times unit cost, in the venue's currency.
    #[schema(value_type = String, example = "117.60")]
    pub total: Decimal,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PurchaseOrderView {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub supplier_id: Uuid,
    pub supplier_name: String,
    pub status: PurchaseStatus,
    pub note: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub expected_on: Option<NaiveDate>,
    pub lines: Vec<PurchaseLineView>,
    /// Every line's total, in the venue's currency.
    #[schema(value_type = String, example = "117.60")]
    pub total: Decimal,
    pub currency: String,
    /// The total is below the supplier's minimum order.
    pub below_minimum: bool,
    pub created_by: Option<Uuid>,
    pub sent_at: Option<DateTime<Utc>>,
    pub received_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Purchase orders with their lines, ingredients and suppliers: four queries whatever their number.
async fn views_of<C: ConnectionTrait>(
    db: &C,
    venue: &restaurants::Model,
    orders: Vec<purchase_orders::Model>,
) -> ApiResult<Vec<PurchaseOrderView>> {
    let currency = currency_of(venue);
    let ids: Vec<Uuid> = orders.iter().map(|o| o.id).collect();
    let lines = purchase_order_lines::Entity::find()
        .filter(purchase_order_lines::Column::PurchaseOrderId.is_in(ids))
        .order_by_asc(purchase_order_lines::Column::Position)
        .all(db)
        .await?;
    let ingredient_ids: Vec<Uuid> = lines.iter().map(|l| l.ingredient_id).collect();
    let ingredients: HashMap<Uuid, ingredients::Model> = ingredients::Entity::find()
        .filter(ingredients::Column::Id.is_in(ingredient_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    let supplier_ids: Vec<Uuid> = orders.iter().map(|o| o.supplier_id).collect();
    let suppliers: HashMap<Uuid, suppliers::Model> = suppliers::Entity::find()
        .filter(suppliers::Column::Id.is_in(supplier_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut by_order: HashMap<Uuid, Vec<purchase_order_lines::Model>> = HashMap::new();
    for line in lines {
        by_order
            .entry(line.purchase_order_id)
            .or_default()
            .push(line);
    }
    Ok(orders
        .into_iter()
        .map(|o| {
            let mut total: i128 = 0;
            let lines = by_order
                .remove(&o.id)
                .unwrap_or_default()
                .into_iter()
                .map(|l| {
                    let ingredient = ingredients.get(&l.ingredient_id);
                    let value = fifo::value_nanos(l.quantity, l.unit_cost_micros);
                    total += value;
                    PurchaseLineView {
                        id: l.id,
                        ingredient_id: l.ingredient_id,
                        ingredient_name: ingredient.map(|i| i.name.clone()).unwrap_or_default(),
                        unit: ingredient.map(|i| i.unit.clone()).unwrap_or_default(),
                        quantity: quantity(l.quantity),
                        received_quantity: quantity(l.received_quantity),
                        outstanding: quantity((l.quantity - l.received_quantity).max(0)),
                        purchase_units: ingredient
                            .filter(|i| i.purchase_unit.is_some() && i.purchase_factor > 0)
                            .map(|i| {
                                (Decimal::from(l.quantity) / Decimal::from(i.purchase_factor))
                                    .round_dp(3)
                                    .normalize()
                            }),
                        purchase_unit: ingredient.and_then(|i| i.purchase_unit.clone()),
                        unit_cost: unit_cost(l.unit_cost_micros),
                        total: money_in(currency, value),
                    }
                })
                .collect();
            let supplier = suppliers.get(&o.supplier_id);
            let total = money_in(currency, total);
            PurchaseOrderView {
                id: o.id,
                venue_id: o.restaurant_id,
                supplier_id: o.supplier_id,
                supplier_name: supplier.map(|s| s.name.clone()).unwrap_or_default(),
                status: PurchaseStatus::parse(&o.status),
                note: o.note,
                expected_on: o.expected_on,
                lines,
                total,
                currency: currency.code.to_string(),
                below_minimum: supplier
                    .is_some_and(|s| total < currency.from_minor(s.min_order_minor)),
                created_by: o.created_by,
                sent_at: o.sent_at,
                received_at: o.received_at,
                created_at: o.created_at,
                updated_at: o.updated_at,
            }
        })
        .collect())
}

pub(super) async fn view_of<C: ConnectionTrait>(
    db: &C,
    venue: &restaurants::Model,
    order: purchase_orders::Model,
) -> ApiResult<PurchaseOrderView> {
    views_of(db, venue, vec![order])
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a purchase order without its view")))
}

async fn find_order<C: ConnectionTrait>(
    db: &C,
    venue_id: Uuid,
    id: Uuid,
) -> ApiResult<purchase_orders::Model> {
    purchase_orders::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|o| o.restaurant_id == venue_id)
        .ok_or_else(|| ApiError::not_found("purchase order"))
}

/// Take the order's row for this transaction (PostgreSQL; SQLite writers already run one at a time)
/// and read it: every change of a purchase order starts here, so two receipts or a receipt and a
/// cancel never both act on the state they read.
pub(super) async fn lock_order<C: ConnectionTrait>(
    db: &C,
    venue_id: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
) -> ApiResult<purchase_orders::Model> {
    purchase_orders::Entity::update_many()
        .col_expr(purchase_orders::Column::UpdatedAt, Expr::value(at))
        .filter(purchase_orders::Column::Id.eq(id))
        .filter(purchase_orders::Column::RestaurantId.eq(venue_id))
        .exec(db)
        .await?;
    find_order(db, venue_id, id).await
}

pub(super) fn wrong_state(status: PurchaseStatus, wanted: &str) -> ApiError {
    ApiError::conflict(
        "purchase_order_state",
        format!("the purchase order is {}; {wanted}", status.as_str()),
    )
    .with_data(serde_json::json!({ "status": status.as_str() }))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseLineInput {
    /// An ingredient of this venue, at most once per order.
    pub ingredient_id: Uuid,
    /// How much to buy, in the ingredient's unit.
    pub quantity: Positive,
    /// What one unit costs (default: the ingredient's standard cost).
    pub unit_cost: Option<UnitCost>,
}

/// A new purchase order, as a draft.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPurchaseOrder {
    /// A supplier of this venue.
    pub supplier_id: Uuid,
    #[schema(min_items = 1, max_items = 50)]
    pub lines: Vec<PurchaseLineInput>,
    #[schema(max_length = 1000)]
    pub note: Option<String>,
    /// When the delivery is expected (default: today plus the supplier's lead time, once sent).
    #[schema(value_type = Option<String>, format = Date)]
    pub expected_on: Option<NaiveDate>,
}

/// A change to a draft.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseOrderInput {
    /// The whole list of lines, replacing the draft's.
    #[schema(min_items = 1, max_items = 50)]
    pub lines: Option<Vec<PurchaseLineInput>>,
    /// Blank removes it.
    #[schema(max_length = 1000)]
    pub note: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub expected_on: Option<NaiveDate>,
}

pub(super) const MAX_LINES: usize = 50;

/// Check lines against the venue's ingredients and write them for `order_id` (replacing any).
async fn write_lines<C: ConnectionTrait>(
    db: &C,
    venue_id: Uuid,
    order_id: Uuid,
    lines: &[PurchaseLineInput],
) -> ApiResult<()> {
    if lines.is_empty() || lines.len() > MAX_LINES {
        return Err(ApiError::field(
            "lines",
            format!("must list 1 to {MAX_LINES} ingredients"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, line) in lines.iter().enumerate() {
        if !seen.insert(line.ingredient_id) {
            return Err(ApiError::field(
                &format!("lines[{i}].ingredient_id"),
                "names an ingredient already on the order",
            ));
        }
    }
    let found: HashMap<Uuid, ingredients::Model> = ingredients::Entity::find()
        .filter(ingredients::Column::Id.is_in(seen.iter().copied().collect::<Vec<_>>()))
        .filter(ingredients::Column::RestaurantId.eq(venue_id))
        .all(db)
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    let mut rows = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let Some(ingredient) = found.get(&line.ingredient_id) else {
            return Err(ApiError::not_found("ingredient").with_field(
                &format!("lines[{i}].ingredient_id"),
                "is not an ingredient of this venue",
            ));
        };
        rows.push(purchase_order_lines::ActiveModel {
            id: Set(Uuid::now_v7()),
            purchase_order_id: Set(order_id),
            ingredient_id: Set(line.ingredient_id),
            position: Set(i as i32),
            quantity: Set(positive(line.quantity)),
            received_quantity: Set(0),
            unit_cost_micros: Set(line
                .unit_cost
                .map(micros)
                .unwrap_or(ingredient.unit_cost_micros)),
        });
    }
    purchase_order_lines::Entity::delete_many()
        .filter(purchase_order_lines::Column::PurchaseOrderId.eq(order_id))
        .exec(db)
        .await?;
    purchase_order_lines::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

fn note_of(raw: Option<&str>) -> ApiResult<Option<Option<String>>> {
    raw.map(|n| {
        crate::http::text::optional_text(n, 1000)
            .map_err(|problem| ApiError::field("note", problem))
    })
    .transpose()
}

/// What a new draft holds.
pub(crate) struct Draft<'a> {
    pub supplier_id: Uuid,
    pub lines: &'a [PurchaseLineInput],
    pub note: Option<String>,
    pub expected_on: Option<NaiveDate>,
}

/// Create a draft and its lines (used by the API and by the reorder suggestions' drafts).
pub(crate) async fn create_draft<C: ConnectionTrait>(
    db: &C,
    venue_id: Uuid,
    draft: Draft<'_>,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> ApiResult<purchase_orders::Model> {
    let order = purchase_orders::ActiveModel {
        id: Set(Uuid::now_v7()),
        restaurant_id: Set(venue_id),
        supplier_id: Set(draft.supplier_id),
        status: Set(PurchaseStatus::Draft.as_str().to_string()),
        note: Set(draft.note),
        expected_on: Set(draft.expected_on),
        created_by: Set(actor),
        sent_at: Set(None),
        received_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    write_lines(db, venue_id, order.id, draft.lines).await?;
    Ok(order)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PurchaseOrderFilter {
    pub status: Option<PurchaseStatus>,
    pub supplier_id: Option<Uuid>,
    pub page: Option<crate::http::envelope::PageNumber>,
    pub per_page: Option<crate::http::envelope::PerPage>,
}

/// The venue's purchase orders, newest first.
#[utoipa::path(get, path = "/api/venues/{venue_id}/purchase-orders", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), PurchaseOrderFilter),
    responses(
        (status = 200, description = "A page of purchase orders", body = Envelope<Page<PurchaseOrderView>>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
    ))]
pub async fn list_purchase_orders(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiQuery(filter): ApiQuery<PurchaseOrderFilter>,
) -> ApiResult<Reply<Page<PurchaseOrderView>>> {
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    let mut select = purchase_orders::Entity::find()
        .filter(purchase_orders::Column::RestaurantId.eq(venue_id))
        .order_by_desc(purchase_orders::Column::CreatedAt)
        .order_by_desc(purchase_orders::Column::Id);
    if let Some(status) = filter.status {
        select = select.filter(purchase_orders::Column::Status.eq(status.as_str()));
    }
    if let Some(supplier) = filter.supplier_id {
        select = select.filter(purchase_orders::Column::SupplierId.eq(supplier));
    }
    let params = PageParams {
        page: filter.page,
        per_page: filter.per_page,
    };
    let (rows, index, per_page, total) = paginate(select, &state.db, &params).await?;
    let views = views_of(&state.db, &venue, rows).await?;
    Ok(ok(Page::new(views, index, per_page, total)))
}

/// Write a purchase order as a draft (venue manager or admin).
#[utoipa::path(post, path = "/api/venues/{venue_id}/purchase-orders", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    request_body(content = NewPurchaseOrder, example = json!({"supplier_id": "0190c8a2-7d5e-7cc1-9a8e-3f1b2c4d5e6f", "lines": [{"ingredient_id": "0190c8a2-7d5e-7cc1-9a8e-3f1b2c4d5e70", "quantity": "12000"}]})),
    responses(
        (status = 201, description = "The draft", body = Envelope<PurchaseOrderView>),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 404, description = "No such venue, supplier or ingredient", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
pub async fn create_purchase_order(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<NewPurchaseOrder>,
) -> ApiResult<Reply<PurchaseOrderView>> {
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Manager).await?;
    let note = note_of(input.note.as_deref())?.flatten();
    find_supplier(&state, venue_id, input.supplier_id)
        .await
        .map_err(|e| e.with_field("supplier_id", "is not a supplier of this venue"))?;
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    let draft = Draft {
        supplier_id: input.supplier_id,
        lines: &input.lines,
        note,
        expected_on: input.expected_on,
    };
    let order = create_draft(&txn, venue_id, draft, Some(me.user_id), state.now()).await?;
    let view = view_of(&txn, &venue, order).await?;
    txn.commit().await?;
    drop(turn);
    Ok(created(view))
}

/// One purchase order with its lines.
#[utoipa::path(get, path = "/api/venues/{venue_id}/purchase-orders/{id}", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Purchase order id")),
    responses(
        (status = 200, description = "The purchase order", body = Envelope<PurchaseOrderView>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such purchase order", body = ErrorBody),
    ))]
pub async fn get_purchase_order(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Reply<PurchaseOrderView>> {
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    let order = find_order(&state.db, venue_id, id).await?;
    Ok(ok(view_of(&state.db, &venue, order).await?))
}

/// Change a draft: its lines, note or expected day (venue manager or admin). A sent order is the
/// supplier's to fill as sent: 409.
#[utoipa::path(put, path = "/api/venues/{venue_id}/purchase-orders/{id}", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Purchase order id")),
    request_body(content = PurchaseOrderInput, example = json!({"note": "Back door, before 10:00"})),
    responses(
        (status = 200, description = "Changed", body = Envelope<PurchaseOrderView>),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 404, description = "No such purchase order or ingredient", body = ErrorBody),
        (status = 409, description = "Not a draft", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
pub async fn update_purchase_order(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<PurchaseOrderInput>,
) -> ApiResult<Reply<PurchaseOrderView>> {
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Manager).await?;
    let note = note_of(input.note.as_deref())?;
    let now = state.now();
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    let order = lock_order(&txn, venue_id, id, now).await?;
    let status = PurchaseStatus::parse(&order.status);
    if status != PurchaseStatus::Draft {
        return Err(wrong_state(status, "only a draft can change"));
    }
    if let Some(lines) = &input.lines {
        write_lines(&txn, venue_id, id, lines).await?;
    }
    let mut active: purchase_orders::ActiveModel = order.into();
    if let Some(note) = note {
        active.note = Set(note);
    }
    if let Some(day) = input.expected_on {
        active.expected_on = Set(Some(day));
    }
    active.updated_at = Set(now);
    let order = active.update(&txn).await?;
    let view = view_of(&txn, &venue, order).await?;
    txn.commit().await?;
    drop(turn);
    Ok(ok(view))
}

fn order_email(venue: &restaurants::Model, view: &PurchaseOrderView) -> (String, String) {
    let subject = format!(
        "Purchase order from {} ({})",
        venue.name,
        &view.id.to_string()[..8]
    );
    let mut body = format!(
        "Hello {},\n\n{} orders the following:\n\n",
        view.supplier_name, venue.name
    );
    for line in &view.lines {
        let amount = match (&line.purchase_units, &line.purchase_unit) {
            (Some(units), Some(unit)) => {
                format!("{units} {unit} ({} {})", line.quantity, line.unit)
            }
            _ => format!("{} {}", line.quantity, line.unit),
        };
        body.push_str(&format!(
            "- {}: {amount} at {} {} per {} = {} {}\n",
            line.ingredient_name,
            line.unit_cost,
            view.currency,
            line.unit,
            line.total,
            view.currency
        ));
    }
    body.push_str(&format!("\nTotal: {} {}\n", view.total, view.currency));
    if let Some(day) = view.expected_on {
        body.push_str(&format!("Delivery expected on {day}.\n"));
    }
    if let Some(note) = &view.note {
        body.push_str(&format!("\nNote: {note}\n"));
    }
    if let Some(address) = &venue.address {
        body.push_str(&format!("\nDeliver to: {address}\n"));
    }
    body.push_str(&format!("\nOrder reference: {}\n", view.id));
    (subject, body)
}

/// Send a draft to its supplier (venue manager or admin): it becomes `sent`, its expected day defaults
/// to today plus the supplier's lead time, and the order is e-mailed to the supplier through the
/// outbox, in the same transaction (a supplier without an e-mail address is told some other way; the
/// answer says so).
#[utoipa::path(post, path = "/api/venues/{venue_id}/purchase-orders/{id}/send", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Purchase order id")),
    responses(
        (status = 200, description = "Sent", body = Envelope<PurchaseOrderView>),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 404, description = "No such purchase order", body = ErrorBody),
        (status = 409, description = "Not a draft", body = ErrorBody),
    ))]
pub async fn send_purchase_order(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Reply<PurchaseOrderView>> {
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Manager).await?;
    let now = state.now();
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    let order = lock_order(&txn, venue_id, id, now).await?;
    let status = PurchaseStatus::parse(&order.status);
    if status != PurchaseStatus::Draft {
        return Err(wrong_state(status, "only a draft can be sent"));
    }
    let supplier = suppliers::Entity::find_by_id(order.supplier_id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("supplier"))?;
    let today = crate::inventory::local_today(&venue, now);
    let mut active: purchase_orders::ActiveModel = order.clone().into();
    active.status = Set(PurchaseStatus::Sent.as_str().to_string());
    active.sent_at = Set(Some(now));
    if order.expected_on.is_none() {
        active.expected_on = Set(Some(
            today + chrono::Days::new(supplier.lead_time_days.max(0) as u64),
        ));
    }
    active.updated_at = Set(now);
    let order = active.update(&txn).await?;
    let view = view_of(&txn, &venue, order).await?;
    let queued = match &supplier.email {
        Some(address) => {
            let (subject, body) = order_email(&venue, &view);
            Some(crate::notifications::mail::record(&txn, &state, address, &subject, &body).await?)
        }
        None => None,
    };
    txn.commit().await?;
    drop(turn);
    let message = match queued {
        Some(queued) => {
            let to = supplier.email.clone().unwrap_or_default();
            crate::notifications::mail::dispatch(&state, queued).await?;
            format!("sent; e-mailed to {to}")
        }
        None => "sent; the supplier has no e-mail address, so tell them yourself".to_string(),
    };
    Ok(ok(view).message(message))
}

/// Cancel a purchase order (venue manager or admin). What was already received stays in stock; a
/// received order cannot be cancelled.
#[utoipa::path(post, path = "/api/venues/{venue_id}/purchase-orders/{id}/cancel", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Purchase order id")),
    responses(
        (status = 200, description = "Cancelled", body = Envelope<PurchaseOrderView>),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 404, description = "No such purchase order", body = ErrorBody),
        (status = 409, description = "Already received or cancelled", body = ErrorBody),
    ))]
pub async fn cancel_purchase_order(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Reply<PurchaseOrderView>> {
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Manager).await?;
    let now = state.now();
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    let order = lock_order(&txn, venue_id, id, now).await?;
    let status = PurchaseStatus::parse(&order.status);
    if matches!(status, PurchaseStatus::Received | PurchaseStatus::Cancelled) {
        return Err(wrong_state(status, "it cannot be cancelled"));
    }
    let mut active: purchase_orders::ActiveModel = order.into();
    active.status = Set(PurchaseStatus::Cancelled.as_str().to_string());
    active.updated_at = Set(now);
    let order = active.update(&txn).await?;
    let view = view_of(&txn, &venue, order).await?;
    txn.commit().await?;
    drop(turn);
    Ok(ok(view).message("cancelled"))
}
