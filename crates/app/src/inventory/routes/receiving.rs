//! Receiving a delivery against a sent purchase order, from a phone at the back door: each line's
//! quantity enters stock as a batch from the order's supplier, once per receipt id.

use sea_orm::sea_query::{Expr, OnConflict};

use super::purchasing::{MAX_LINES, PurchaseStatus, lock_order, view_of, wrong_state};
use super::*;
use crate::entities::{purchase_order_lines, purchase_orders, purchase_receipts};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveLineInput {
    /// A line of this purchase order, at most once per receipt.
    pub line_id: Uuid,
    /// What arrived, in the ingredient's unit (more than ordered is taken as delivered).
    pub quantity: Positive,
    /// What one unit cost on the invoice (default: the order's price).
    pub unit_cost: Option<UnitCost>,
    /// The last day it may be used (default: today plus the ingredient's shelf life).
    #[schema(value_type = Option<String>, format = Date, example = "2026-06-25")]
    pub expires_on: Option<NaiveDate>,
    #[schema(max_length = 100)]
    pub lot: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveInput {
    /// Chosen by the client (a phone at the back door) so a retried submission is received once:
    /// a second receipt with the same id changes nothing and answers with the order.
    pub receipt_id: Option<Uuid>,
    #[schema(min_items = 1, max_items = 50)]
    pub lines: Vec<ReceiveLineInput>,
}

/// Receive a delivery against a sent purchase order (venue staff): each line's quantity enters stock
/// as a batch from the order's supplier, in one transaction; the order becomes partly received, or
/// received when every line has arrived in full.
#[utoipa::path(post, path = "/api/venues/{venue_id}/purchase-orders/{id}/receipts", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Purchase order id")),
    request_body(content = ReceiveInput, example = json!({"receipt_id": "0190c8a2-7d5e-7cc1-9a8e-3f1b2c4d5e71", "lines": [{"line_id": "0190c8a2-7d5e-7cc1-9a8e-3f1b2c4d5e72", "quantity": "6000", "expires_on": "2026-06-25"}]})),
    responses(
        (status = 201, description = "Received", body = Envelope<PurchaseOrderView>),
        (status = 200, description = "This receipt was already recorded", body = Envelope<PurchaseOrderView>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such purchase order or line", body = ErrorBody),
        (status = 409, description = "A draft, received or cancelled order", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
pub async fn receive_purchase_order(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<ReceiveInput>,
) -> ApiResult<Reply<PurchaseOrderView>> {
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    if input.lines.is_empty() || input.lines.len() > MAX_LINES {
        return Err(ApiError::field(
            "lines",
            format!("must list 1 to {MAX_LINES} lines"),
        ));
    }
    let mut errors = FieldErrors::new();
    let mut lots = Vec::with_capacity(input.lines.len());
    let mut seen = std::collections::HashSet::new();
    for (i, line) in input.lines.iter().enumerate() {
        if !seen.insert(line.line_id) {
            errors.add(
                &format!("lines[{i}].line_id"),
                "names a line already received here",
            );
        }
        lots.push(match line.lot.as_deref() {
            Some(raw) => errors
                .check(
                    &format!("lines[{i}].lot"),
                    crate::http::text::optional_text(raw, 100),
                )
                .flatten(),
            None => None,
        });
    }
    errors.into_result()?;
    let now = state.now();
    let receipt_id = input.receipt_id.unwrap_or_else(Uuid::now_v7);
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    let order = lock_order(&txn, venue_id, id, now).await?;
    let claimed = purchase_receipts::Entity::insert(purchase_receipts::ActiveModel {
        id: Set(receipt_id),
        purchase_order_id: Set(id),
        actor_id: Set(Some(me.user_id)),
        received_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(purchase_receipts::Column::Id)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if claimed == 0 {
        let earlier = purchase_receipts::Entity::find_by_id(receipt_id)
            .one(&txn)
            .await?;
        if earlier.is_some_and(|r| r.purchase_order_id != id) {
            return Err(ApiError::conflict(
                "receipt_id_used",
                "this receipt id was used for another purchase order",
            )
            .with_field("receipt_id", "belongs to another purchase order"));
        }
        let view = view_of(&txn, &venue, order).await?;
        txn.commit().await?;
        drop(turn);
        return Ok(ok(view)
            .message("this receipt was already recorded; nothing changed")
            .status(axum::http::StatusCode::OK));
    }
    let status = PurchaseStatus::parse(&order.status);
    if !matches!(
        status,
        PurchaseStatus::Sent | PurchaseStatus::PartlyReceived
    ) {
        return Err(wrong_state(
            status,
            "only a sent or partly received order can be received",
        ));
    }
    let lines: HashMap<Uuid, purchase_order_lines::Model> = purchase_order_lines::Entity::find()
        .filter(purchase_order_lines::Column::PurchaseOrderId.eq(id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect();
    let mut plan = Vec::with_capacity(input.lines.len());
    for (i, (line, lot)) in input.lines.iter().zip(lots).enumerate() {
        let Some(found) = lines.get(&line.line_id) else {
            return Err(ApiError::not_found("purchase order line").with_field(
                &format!("lines[{i}].line_id"),
                "is not a line of this purchase order",
            ));
        };
        plan.push((found.clone(), line, lot));
    }
    // In ingredient order: the lock order of every stock write.
    plan.sort_by_key(|(found, _, _)| found.ingredient_id);
    let ctx = Context {
        kind: MovementKind::Receipt,
        order_id: None,
        reference_id: Some(receipt_id),
        reason: None,
        actor_id: Some(me.user_id),
        at: now,
        today: crate::inventory::local_today(&venue, now),
    };
    let mut received: HashMap<Uuid, i64> = HashMap::new();
    for (found, line, lot) in &plan {
        let amount = positive(line.quantity);
        crate::inventory::put(
            &txn,
            found.ingredient_id,
            &Incoming {
                quantity: amount,
                unit_cost_micros: line.unit_cost.map(micros).unwrap_or(found.unit_cost_micros),
                supplier_id: Some(order.supplier_id),
                lot: lot.clone(),
                expires_on: line.expires_on,
            },
            &ctx,
        )
        .await?;
        purchase_order_lines::Entity::update_many()
            .col_expr(
                purchase_order_lines::Column::ReceivedQuantity,
                sea_orm::sea_query::ExprTrait::add(
                    Expr::col(purchase_order_lines::Column::ReceivedQuantity),
                    amount,
                ),
            )
            .filter(purchase_order_lines::Column::Id.eq(found.id))
            .exec(&txn)
            .await?;
        *received.entry(found.id).or_default() += amount;
    }
    let complete = lines
        .values()
        .all(|l| l.received_quantity + received.get(&l.id).copied().unwrap_or(0) >= l.quantity);
    let mut active: purchase_orders::ActiveModel = order.into();
    active.status = Set(if complete {
        PurchaseStatus::Received
    } else {
        PurchaseStatus::PartlyReceived
    }
    .as_str()
    .to_string());
    if complete {
        active.received_at = Set(Some(now));
    }
    active.updated_at = Set(now);
    let order = active.update(&txn).await?;
    let view = view_of(&txn, &venue, order).await?;
    txn.commit().await?;
    drop(turn);
    Ok(created(view).message(if complete {
        "received in full"
    } else {
        "received in part; the rest is still to come"
    }))
}
