//! A menu item's recipe, its cost per portion and margin.

use super::*;

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

pub(super) async fn sub_recipes(
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

/// A recipe's lines as written: at most 100, each ingredient once (422 naming the repeated line).
fn check_lines(lines: &[RecipeLineInput]) -> ApiResult<()> {
    let mut errors = FieldErrors::new();
    if lines.len() > 100 {
        errors.add("lines", "at most 100 lines");
    }
    let mut seen = std::collections::HashSet::new();
    for (k, line) in lines.iter().enumerate() {
        if !seen.insert(line.ingredient_id) {
            errors.add(
                &format!("lines[{k}].ingredient_id"),
                "is already in the recipe",
            );
        }
    }
    errors.into_result()
}

/// Replace a menu item's recipe with `lines` (ingredient, thousandths per portion), in one transaction.
pub(super) async fn save_dish_recipe(
    state: &AppState,
    venue_id: Uuid,
    item_id: Uuid,
    lines: &[(Uuid, i64)],
) -> ApiResult<()> {
    let now = state.now();
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    recipe_lines::Entity::delete_many()
        .filter(recipe_lines::Column::MenuItemId.eq(item_id))
        .exec(&txn)
        .await?;
    for (k, (ingredient, quantity)) in lines.iter().enumerate() {
        recipe_lines::ActiveModel {
            id: Set(Uuid::now_v7()),
            restaurant_id: Set(venue_id),
            menu_item_id: Set(Some(item_id)),
            parent_ingredient_id: Set(None),
            ingredient_id: Set(*ingredient),
            quantity: Set(*quantity),
            // Kept in the order given.
            created_at: Set(now + chrono::Duration::microseconds(k as i64)),
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    drop(turn);
    Ok(())
}

/// A menu item's recipe with its cost per portion and margin.
#[utoipa::path(get, path = "/api/venues/{venue_id}/menu/items/{id}/recipe", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Menu item id")),
    responses(
        (status = 200, description = "The recipe", body = Envelope<RecipeView>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such item", body = ErrorBody),
    ))]
pub async fn get_recipe(
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
pub async fn put_recipe(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<RecipeInput>,
) -> ApiResult<Reply<RecipeView>> {
    check_lines(&input.lines)?;
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
    let lines: Vec<(Uuid, i64)> = input
        .lines
        .iter()
        .map(|l| (l.ingredient_id, positive(l.quantity)))
        .collect();
    save_dish_recipe(&state, venue_id, id, &lines).await?;
    Ok(ok(recipe_view(&state, &venue, &item).await?).message("recipe saved"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubRecipeInput {
    /// What one batch of `lines` makes, in the made ingredient's own unit.
    pub yield_quantity: Positive,
    /// The whole recipe (it replaces the old one); empty for an ingredient that is bought, not made.
    /// Each ingredient at most once (422 naming the repeated line otherwise).
    #[schema(max_items = 100)]
    pub lines: Vec<RecipeLineInput>,
}

/// How the kitchen makes an ingredient (a sauce, a dough) from others, and what it comes to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubRecipeView {
    pub ingredient_id: Uuid,
    /// What one batch makes, in the ingredient's unit; absent for a bought ingredient.
    #[schema(value_type = Option<String>, example = "2000")]
    pub yield_quantity: Option<Decimal>,
    pub lines: Vec<RecipeLineView>,
    /// What one batch costs at its components' standard costs.
    #[schema(value_type = String, example = "4.80")]
    pub batch_cost: Decimal,
    /// Per unit of the ingredient (`batch_cost / yield_quantity`).
    #[schema(value_type = Option<String>, example = "0.0024")]
    pub unit_cost: Option<Decimal>,
}

async fn sub_recipe_view(
    state: &AppState,
    venue_id: Uuid,
    made: &ingredients::Model,
) -> ApiResult<SubRecipeView> {
    let all: HashMap<Uuid, ingredients::Model> = ingredients::Entity::find()
        .filter(ingredients::Column::RestaurantId.eq(venue_id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    let costs: HashMap<Uuid, i64> = all.values().map(|i| (i.id, i.unit_cost_micros)).collect();
    let subs = sub_recipes(state, venue_id, &all).await?;
    let own = recipe_lines::Entity::find()
        .filter(recipe_lines::Column::ParentIngredientId.eq(made.id))
        .order_by_asc(recipe_lines::Column::CreatedAt)
        .all(&state.db)
        .await?;
    let mut lines = Vec::new();
    let mut batch = Decimal::ZERO;
    for line in &own {
        let part = [fifo::RecipeLine {
            ingredient: line.ingredient_id,
            quantity: line.quantity,
        }];
        let cost = fifo::recipe_cost(&part, &costs, &subs).unwrap_or(Decimal::ZERO);
        batch += cost;
        let ingredient = all.get(&line.ingredient_id);
        lines.push(RecipeLineView {
            ingredient_id: line.ingredient_id,
            name: ingredient.map(|i| i.name.clone()).unwrap_or_default(),
            unit: ingredient.map(|i| i.unit.clone()).unwrap_or_default(),
            quantity: quantity(line.quantity),
            cost: cost.round_dp(4).normalize(),
        });
    }
    let yield_quantity = made.yield_quantity.filter(|_| !own.is_empty());
    Ok(SubRecipeView {
        ingredient_id: made.id,
        yield_quantity: yield_quantity.map(quantity),
        lines,
        batch_cost: batch.round_dp(4).normalize(),
        unit_cost: yield_quantity
            .filter(|y| *y > 0)
            .map(|y| (batch / Decimal::new(y, 3)).round_dp(6).normalize()),
    })
}

/// How an ingredient is made in the kitchen (its sub-recipe), with the cost of a batch; no lines for a
/// bought ingredient.
#[utoipa::path(get, path = "/api/venues/{venue_id}/ingredients/{id}/recipe", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Ingredient id")),
    responses(
        (status = 200, description = "The sub-recipe", body = Envelope<SubRecipeView>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such ingredient", body = ErrorBody),
    ))]
pub async fn get_sub_recipe(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Reply<SubRecipeView>> {
    crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    let made = find_ingredient(&state, venue_id, id).await?;
    Ok(ok(sub_recipe_view(&state, venue_id, &made).await?))
}

/// Replace how an ingredient is made (venue manager or admin): one batch of `lines` yields
/// `yield_quantity` of it; a dish using it is costed through it. A recipe that would use itself,
/// directly or through another made ingredient, is refused (409 `recipe_cycle`).
#[utoipa::path(put, path = "/api/venues/{venue_id}/ingredients/{id}/recipe", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Ingredient id")),
    request_body(content = SubRecipeInput, example = json!({"yield_quantity": "2000", "lines": [{"ingredient_id": "0190d7a4-3b7c-7cc0-8000-000000000003", "quantity": "1600"}]})),
    responses(
        (status = 200, description = "The sub-recipe", body = Envelope<SubRecipeView>),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 404, description = "No such ingredient, or a line's not of this venue", body = ErrorBody),
        (status = 409, description = "The recipe would use itself", body = ErrorBody),
        (status = 422, description = "An ingredient twice, or invalid fields", body = ErrorBody),
    ))]
pub async fn put_sub_recipe(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<SubRecipeInput>,
) -> ApiResult<Reply<SubRecipeView>> {
    check_lines(&input.lines)?;
    crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Manager).await?;
    let made = find_ingredient(&state, venue_id, id).await?;
    let lines: Vec<(Uuid, i64)> = input
        .lines
        .iter()
        .map(|l| (l.ingredient_id, positive(l.quantity)))
        .collect();
    save_sub_recipe(
        &state,
        venue_id,
        &made,
        positive(input.yield_quantity),
        &lines,
    )
    .await?;
    let made = find_ingredient(&state, venue_id, id).await?;
    Ok(ok(sub_recipe_view(&state, venue_id, &made).await?).message("recipe saved"))
}

/// Check and store a made ingredient's recipe (the API's and the CSV import's): every line an
/// ingredient of the venue (404 naming it), no cycle (409), then the lines and the yield replaced in
/// one transaction.
pub(super) async fn save_sub_recipe(
    state: &AppState,
    venue_id: Uuid,
    made: &ingredients::Model,
    yield_quantity: i64,
    lines: &[(Uuid, i64)],
) -> ApiResult<()> {
    let all: HashMap<Uuid, ingredients::Model> = ingredients::Entity::find()
        .filter(ingredients::Column::RestaurantId.eq(venue_id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    for (k, (ingredient, _)) in lines.iter().enumerate() {
        if !all.contains_key(ingredient) {
            return Err(ApiError::not_found("ingredient").with_field(
                &format!("lines[{k}].ingredient_id"),
                "is not an ingredient of this venue",
            ));
        }
    }
    // The graph as it would be: a cycle through this ingredient makes costing it impossible.
    let mut subs = sub_recipes(state, venue_id, &all).await?;
    if lines.is_empty() {
        subs.remove(&made.id);
    } else {
        subs.insert(
            made.id,
            fifo::SubRecipe {
                yield_quantity,
                lines: lines
                    .iter()
                    .map(|(ingredient, quantity)| fifo::RecipeLine {
                        ingredient: *ingredient,
                        quantity: *quantity,
                    })
                    .collect(),
            },
        );
    }
    let costs: HashMap<Uuid, i64> = all.values().map(|i| (i.id, i.unit_cost_micros)).collect();
    let probe = [fifo::RecipeLine {
        ingredient: made.id,
        quantity: MILLI,
    }];
    if let Err(fifo::CostError::Cycle(at)) = fifo::recipe_cost(&probe, &costs, &subs) {
        let through = all.get(&at).map(|i| i.name.as_str()).unwrap_or("it");
        return Err(ApiError::conflict(
            "recipe_cycle",
            format!(
                "{} would be made from itself (through {through})",
                made.name
            ),
        )
        .with_field(
            "lines",
            "use the ingredient itself, directly or through another",
        ));
    }
    let now = state.now();
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    recipe_lines::Entity::delete_many()
        .filter(recipe_lines::Column::ParentIngredientId.eq(made.id))
        .exec(&txn)
        .await?;
    for (k, (ingredient, quantity)) in lines.iter().enumerate() {
        recipe_lines::ActiveModel {
            id: Set(Uuid::now_v7()),
            restaurant_id: Set(venue_id),
            menu_item_id: Set(None),
            parent_ingredient_id: Set(Some(made.id)),
            ingredient_id: Set(*ingredient),
            quantity: Set(*quantity),
            created_at: Set(now + chrono::Duration::microseconds(k as i64)),
        }
        .insert(&txn)
        .await?;
    }
    ingredients::Entity::update_many()
        .col_expr(
            ingredients::Column::YieldQuantity,
            sea_orm::sea_query::Expr::value((!lines.is_empty()).then_some(yield_quantity)),
        )
        .col_expr(
            ingredients::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(ingredients::Column::Id.eq(made.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    drop(turn);
    Ok(())
}
