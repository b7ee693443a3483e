//! What the venue's stock did: every movement (the waste log is its `waste` ones), the waste summary,
//! and the venue's stock settings.

use super::*;
use sea_orm::QuerySelect;

use super::stock::MovementView;

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MovementKindFilter {
    Receipt,
    Consumption,
    Count,
    Waste,
    Transfer,
    Production,
}

impl From<MovementKindFilter> for MovementKind {
    fn from(k: MovementKindFilter) -> Self {
        match k {
            MovementKindFilter::Receipt => MovementKind::Receipt,
            MovementKindFilter::Consumption => MovementKind::Consumption,
            MovementKindFilter::Count => MovementKind::Count,
            MovementKindFilter::Waste => MovementKind::Waste,
            MovementKindFilter::Transfer => MovementKind::Transfer,
            MovementKindFilter::Production => MovementKind::Production,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VenueMovementFilter {
    /// Only movements of this kind.
    pub kind: Option<MovementKindFilter>,
    /// Only this ingredient's.
    pub ingredient_id: Option<Uuid>,
    /// Only movements at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only movements before this instant.
    pub to: Option<DateTime<Utc>>,
    pub page: Option<crate::http::envelope::PageNumber>,
    pub per_page: Option<crate::http::envelope::PerPage>,
}

/// The venue's stock movements, newest first (the waste log is `kind=waste`).
#[utoipa::path(get, path = "/api/venues/{venue_id}/movements", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), VenueMovementFilter),
    responses(
        (status = 200, description = "A page of movements", body = Envelope<Page<MovementView>>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
    ))]
pub async fn venue_movements(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiQuery(filter): ApiQuery<VenueMovementFilter>,
) -> ApiResult<Reply<Page<MovementView>>> {
    crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    let mut select = stock_movements::Entity::find()
        .filter(stock_movements::Column::RestaurantId.eq(venue_id))
        .order_by_desc(stock_movements::Column::OccurredAt)
        .order_by_desc(stock_movements::Column::Id);
    if let Some(kind) = filter.kind {
        select = select.filter(stock_movements::Column::Kind.eq(MovementKind::from(kind).as_str()));
    }
    if let Some(id) = filter.ingredient_id {
        select = select.filter(stock_movements::Column::IngredientId.eq(id));
    }
    if let Some(from) = filter.from {
        select = select.filter(stock_movements::Column::OccurredAt.gte(from));
    }
    if let Some(to) = filter.to {
        select = select.filter(stock_movements::Column::OccurredAt.lt(to));
    }
    let params = PageParams {
        page: filter.page,
        per_page: filter.per_page,
    };
    let (rows, index, per_page, total) = paginate(select, &state.db, &params).await?;
    Ok(ok(Page::new(
        rows.into_iter().map(MovementView::from).collect(),
        index,
        per_page,
        total,
    )))
}

crate::bounded_parameter!(WasteDays, 1, 366, "Days back from now, 1 to 366.");

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WasteQuery {
    /// How many days back (default 30).
    pub days: Option<WasteDays>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WasteByReason {
    pub reason: String,
    /// Entries recorded with this reason.
    pub entries: u64,
    #[schema(value_type = String, example = "12.40")]
    pub value: Decimal,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WasteByIngredient {
    pub ingredient_id: Uuid,
    pub name: String,
    pub unit: String,
    #[schema(value_type = String, example = "1500")]
    pub quantity: Decimal,
    #[schema(value_type = String, example = "6.30")]
    pub value: Decimal,
}

/// What a venue threw away over a period, at the batches' own costs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WasteSummary {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    #[schema(value_type = String, example = "31.75")]
    pub value: Decimal,
    /// Share of the period's stock use (consumption plus waste, by value) that was waste, 0-1; absent
    /// when nothing was used.
    #[schema(value_type = Option<String>, example = "0.042")]
    pub share_of_use: Option<Decimal>,
    /// Expired, spoiled, dropped, returned: those with any.
    pub by_reason: Vec<WasteByReason>,
    /// The ten ingredients wasted most, by value.
    pub top_ingredients: Vec<WasteByIngredient>,
}

/// What the venue wasted in the last days (venue staff): the value by reason, the ingredients wasted
/// most, and waste as a share of all stock used.
#[utoipa::path(get, path = "/api/venues/{venue_id}/waste/summary", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), WasteQuery),
    responses(
        (status = 200, description = "The summary", body = Envelope<WasteSummary>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
    ))]
pub async fn waste_summary(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<WasteQuery>,
) -> ApiResult<Reply<WasteSummary>> {
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    let currency = crate::menus::currency_of(&venue);
    let to = state.now();
    let from = to - chrono::Duration::days(query.days.map_or(30, WasteDays::get) as i64);
    // Per (kind, reason, ingredient): quantity and value in billionths, summed here (value is a
    // product per row, which SQL would round differently on each backend).
    let rows: Vec<(String, Option<String>, Uuid, i64, i64)> = stock_movements::Entity::find()
        .select_only()
        .column(stock_movements::Column::Kind)
        .column(stock_movements::Column::Reason)
        .column(stock_movements::Column::IngredientId)
        .column(stock_movements::Column::Quantity)
        .column(stock_movements::Column::UnitCostMicros)
        .filter(stock_movements::Column::RestaurantId.eq(venue_id))
        .filter(stock_movements::Column::Kind.is_in([
            MovementKind::Waste.as_str(),
            MovementKind::Consumption.as_str(),
        ]))
        .filter(stock_movements::Column::OccurredAt.gte(from))
        .filter(stock_movements::Column::OccurredAt.lte(to))
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut used = 0i128;
    let mut wasted = 0i128;
    let mut reasons: std::collections::BTreeMap<String, (u64, i128)> = Default::default();
    let mut per_ingredient: HashMap<Uuid, (i64, i128)> = HashMap::new();
    for (kind, reason, ingredient, qty, cost) in rows {
        let value = -fifo::value_nanos(qty, cost);
        used += value;
        if kind != MovementKind::Waste.as_str() {
            continue;
        }
        wasted += value;
        let entry = reasons.entry(reason.unwrap_or_default()).or_default();
        entry.0 += 1;
        entry.1 += value;
        let entry = per_ingredient.entry(ingredient).or_default();
        entry.0 -= qty;
        entry.1 += value;
    }
    let names: HashMap<Uuid, ingredients::Model> = ingredients::Entity::find()
        .filter(ingredients::Column::Id.is_in(per_ingredient.keys().copied()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    let mut top: Vec<(Uuid, i64, i128)> = per_ingredient
        .into_iter()
        .map(|(id, (q, v))| (id, q, v))
        .collect();
    top.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    top.truncate(10);
    let share_of_use = (used > 0).then(|| {
        (Decimal::from_i128_with_scale(wasted, 0) / Decimal::from_i128_with_scale(used, 0))
            .round_dp(4)
            .normalize()
    });
    Ok(ok(WasteSummary {
        from,
        to,
        value: money_in(currency, wasted),
        share_of_use,
        by_reason: reasons
            .into_iter()
            .map(|(reason, (entries, value))| WasteByReason {
                reason,
                entries,
                value: money_in(currency, value),
            })
            .collect(),
        top_ingredients: top
            .into_iter()
            .map(|(id, q, v)| {
                let found = names.get(&id);
                WasteByIngredient {
                    ingredient_id: id,
                    name: found.map(|i| i.name.clone()).unwrap_or_default(),
                    unit: found.map(|i| i.unit.clone()).unwrap_or_default(),
                    quantity: quantity(q),
                    value: money_in(currency, v),
                }
            })
            .collect(),
    }))
}

/// What a venue decides about its stock.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StockSettingsView {
    /// An order cancelled after the kitchen started on it (preparing or ready) takes its recipes from
    /// stock as waste (reason `cancelled`); when false it takes nothing.
    pub waste_cancelled_cooking: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockSettingsInput {
    pub waste_cancelled_cooking: bool,
}

async fn settings_of(state: &AppState, venue_id: Uuid) -> ApiResult<StockSettingsView> {
    let found = crate::entities::stock_settings::Entity::find_by_id(venue_id)
        .one(&state.db)
        .await?;
    Ok(StockSettingsView {
        waste_cancelled_cooking: found.is_some_and(|s| s.waste_cancelled_cooking),
    })
}

/// The venue's stock settings (venue staff).
#[utoipa::path(get, path = "/api/venues/{venue_id}/stock-settings", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    responses(
        (status = 200, description = "The settings", body = Envelope<StockSettingsView>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
    ))]
pub async fn get_stock_settings(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
) -> ApiResult<Reply<StockSettingsView>> {
    crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    Ok(ok(settings_of(&state, venue_id).await?))
}

/// Change the venue's stock settings (venue manager or admin).
#[utoipa::path(put, path = "/api/venues/{venue_id}/stock-settings", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    request_body(content = StockSettingsInput, example = json!({"waste_cancelled_cooking": true})),
    responses(
        (status = 200, description = "The settings", body = Envelope<StockSettingsView>),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
pub async fn put_stock_settings(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<StockSettingsInput>,
) -> ApiResult<Reply<StockSettingsView>> {
    crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Manager).await?;
    use crate::entities::stock_settings;
    stock_settings::Entity::insert(stock_settings::ActiveModel {
        restaurant_id: Set(venue_id),
        waste_cancelled_cooking: Set(input.waste_cancelled_cooking),
        updated_at: Set(state.now()),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(stock_settings::Column::RestaurantId)
            .update_columns([
                stock_settings::Column::WasteCancelledCooking,
                stock_settings::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(&state.db)
    .await?;
    Ok(ok(settings_of(&state, venue_id).await?).message("saved"))
}
