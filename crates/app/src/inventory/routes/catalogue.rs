//! The ingredient catalogue: the stock list, and each ingredient added, read with its batches, changed.

use super::*;

/// first, then by name.
#[utoipa::path(get, path = "/api/venues/{venue_id}/ingredients", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    responses(
        (status = 200, description = "Ingredients", body = Envelope<Vec<IngredientView>>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
    ))]
pub async fn list_ingredients(
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

pub(super) async fn apply_ingredient(
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

/// A new ingredient of the venue with every optional field empty, for `apply_ingredient` to fill.
pub(super) fn new_ingredient(venue_id: Uuid, now: DateTime<Utc>) -> ingredients::ActiveModel {
    ingredients::ActiveModel {
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
    }
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
pub async fn create_ingredient(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<NewIngredient>,
) -> ApiResult<Reply<IngredientView>> {
    let input = IngredientInput::from(input);
    crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Manager).await?;
    let mut active = new_ingredient(venue_id, state.now());
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

/// One ingredient, its stock and its batches.
#[utoipa::path(get, path = "/api/venues/{venue_id}/ingredients/{id}", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Ingredient id")),
    responses(
        (status = 200, description = "The ingredient", body = Envelope<IngredientDetail>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such ingredient", body = ErrorBody),
    ))]
pub async fn get_ingredient(
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
    let today = crate::inventory::local_today(&venue, state.now());
    let as_lots: Vec<fifo::Lot> = lots.iter().map(fifo::Lot::from).collect();
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
pub async fn update_ingredient(
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
