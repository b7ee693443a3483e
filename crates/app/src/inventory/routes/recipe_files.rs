//! Recipes as CSV (see `files` for what every import shares): `recipe,ingredient,quantity` and `yield`,
//! dishes' and made ingredients' recipes, each replaced whole or not at all.

use std::collections::{BTreeMap, HashSet};

use super::files::{StockImportReport, by_name, csv_body, csv_reply, named};
use super::*;
use crate::csv_lines::upload::{cell, rows, safe};

/// The venue's recipes as lines: (recipe name as a file names it, ingredient, thousandths, yield of a
/// made ingredient's batch), dishes by name first, then made ingredients by name.
async fn recipe_lines_of(
    state: &AppState,
    venue_id: Uuid,
) -> ApiResult<Vec<(String, ingredients::Model, i64, Option<i64>)>> {
    let items = menu_items::Entity::find()
        .filter(menu_items::Column::RestaurantId.eq(venue_id))
        .all(&state.db)
        .await?;
    let mut names: HashMap<String, usize> = HashMap::new();
    for item in &items {
        *names.entry(item.name.to_lowercase()).or_default() += 1;
    }
    // A name two items share is no reference: such an item goes by its PLU, or its id.
    let item_ref: HashMap<Uuid, String> = items
        .iter()
        .map(|i| {
            let reference = if names[&i.name.to_lowercase()] == 1 {
                i.name.clone()
            } else {
                i.plu.clone().unwrap_or_else(|| i.id.to_string())
            };
            (i.id, reference)
        })
        .collect();
    let all: HashMap<Uuid, ingredients::Model> = ingredients::Entity::find()
        .filter(ingredients::Column::RestaurantId.eq(venue_id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    let mut dishes = Vec::new();
    let mut made = Vec::new();
    for line in recipe_lines::Entity::find()
        .filter(recipe_lines::Column::RestaurantId.eq(venue_id))
        .order_by_asc(recipe_lines::Column::CreatedAt)
        .all(&state.db)
        .await?
    {
        let Some(ingredient) = all.get(&line.ingredient_id).cloned() else {
            continue;
        };
        match (line.menu_item_id, line.parent_ingredient_id) {
            (Some(item), _) => {
                if let Some(reference) = item_ref.get(&item) {
                    dishes.push((reference.clone(), ingredient, line.quantity, None));
                }
            }
            (None, Some(parent)) => {
                if let Some(parent) = all.get(&parent) {
                    made.push((
                        parent.name.clone(),
                        ingredient,
                        line.quantity,
                        parent.yield_quantity,
                    ));
                }
            }
            (None, None) => {}
        }
    }
    // Stable: each recipe's lines stay in their order.
    dishes.sort_by_key(|d| d.0.to_lowercase());
    made.sort_by_key(|d| d.0.to_lowercase());
    dishes.extend(made);
    Ok(dishes)
}

/// Every recipe of the venue as CSV (venue staff): `recipe,ingredient,quantity,unit,yield`, one line per
/// ingredient of a recipe; dishes by name, then made ingredients (with the yield of a batch). It imports
/// back through the recipe import.
#[utoipa::path(get, path = "/api/venues/{venue_id}/recipes/export", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    responses(
        (status = 200, description = "recipe,ingredient,quantity,unit,yield", content_type = "text/csv", body = String),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
    ))]
pub async fn export_recipes(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
) -> ApiResult<axum::response::Response> {
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    let lines = recipe_lines_of(&state, venue_id).await?;
    let body = csv_body(
        &["recipe", "ingredient", "quantity", "unit", "yield"],
        lines
            .into_iter()
            .map(|(recipe, ingredient, q, yield_quantity)| {
                [
                    safe(&recipe),
                    safe(&ingredient.name),
                    quantity(q).to_string(),
                    ingredient.unit,
                    yield_quantity
                        .map(|y| quantity(y).to_string())
                        .unwrap_or_default(),
                ]
            }),
    )?;
    Ok(csv_reply(&venue, "recipes", body))
}

/// What a recipe file's `recipe` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Dish(Uuid),
    Made(Uuid),
}

/// Import recipes from CSV (venue manager; `text/csv` body): `recipe,ingredient,quantity` and `yield`.
/// `recipe` is a menu item's id, PLU or name, or a made ingredient's name (then `yield`, what one batch
/// makes, is required); `ingredient` an ingredient's name or id. Each recipe in the file replaces the
/// stored one; a recipe with a bad line is rejected whole (its other lines say which line), one equal
/// to the stored recipe is unchanged. The recipe export imports as it is.
#[utoipa::path(post, path = "/api/venues/{venue_id}/recipes/import", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    request_body(content = String, content_type = "text/csv",
        example = "recipe,ingredient,quantity,yield\nMargherita,Mozzarella,125,\nMargherita,Tomato sauce,80,\nTomato sauce,Tomatoes,1600,2000\n"),
    responses(
        (status = 200, description = "What each line did", body = Envelope<StockImportReport>),
        (status = 400, description = "Not CSV, or a required column missing", body = ErrorBody),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
    ))]
pub async fn import_recipes(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    body: axum::body::Bytes,
) -> ApiResult<Reply<StockImportReport>> {
    crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Manager).await?;
    let lines = rows(&body, &["recipe", "ingredient", "quantity"])?;
    let mut report = StockImportReport::new(lines.len());
    let known = by_name(&state, venue_id).await?;
    let items = menu_items::Entity::find()
        .filter(menu_items::Column::RestaurantId.eq(venue_id))
        .all(&state.db)
        .await?;
    let find_item = |reference: &str| -> Result<Option<Uuid>, String> {
        if let Ok(id) = Uuid::parse_str(reference) {
            return Ok(items.iter().find(|i| i.id == id).map(|i| i.id));
        }
        if let Some(item) = items.iter().find(|i| i.plu.as_deref() == Some(reference)) {
            return Ok(Some(item.id));
        }
        let named: Vec<&menu_items::Model> = items
            .iter()
            .filter(|i| i.name.eq_ignore_ascii_case(reference.trim()))
            .collect();
        match named.len() {
            0 => Ok(None),
            1 => Ok(Some(named[0].id)),
            n => Err(format!(
                "{n} menu items are called {reference:?}: name it by its PLU or id"
            )),
        }
    };
    // Each recipe's lines, in file order: (line, ingredient, thousandths, yield) or the line's errors.
    type Parsed = Result<(Uuid, i64, Option<i64>), Vec<String>>;
    let mut groups: BTreeMap<Target, Vec<(u64, Parsed)>> = BTreeMap::new();
    let mut order: Vec<Target> = Vec::new();
    for (line, map) in lines {
        if let Some(e) = map.get("__error") {
            report.reject(line, vec![e.clone()]);
            continue;
        }
        let reference = cell(&map, "recipe").unwrap_or_default();
        let target = match find_item(&reference) {
            Ok(Some(item)) => Target::Dish(item),
            Ok(None) => match named(&known, &reference) {
                Some(made) => Target::Made(made.id),
                None => {
                    report.reject(
                        line,
                        vec![format!(
                            "recipe: {reference:?} is neither a menu item nor an ingredient of this venue"
                        )],
                    );
                    continue;
                }
            },
            Err(e) => {
                report.reject(line, vec![format!("recipe: {e}")]);
                continue;
            }
        };
        let mut errors = Vec::new();
        let ingredient = cell(&map, "ingredient").unwrap_or_default();
        let ingredient = match named(&known, &ingredient) {
            Some(i) => Some(i.id),
            None => {
                errors.push(format!(
                    "ingredient: {ingredient:?} is not an ingredient of this venue"
                ));
                None
            }
        };
        let amount = match cell(&map, "quantity").map(|q| Positive::parse(&q)) {
            Some(Ok(q)) => Some(positive(q)),
            Some(Err(e)) => {
                errors.push(format!("quantity: {e}"));
                None
            }
            None => {
                errors.push("quantity: is empty".into());
                None
            }
        };
        let yield_quantity = match (target, cell(&map, "yield")) {
            (Target::Made(_), Some(y)) => match Positive::parse(&y) {
                Ok(y) => Some(positive(y)),
                Err(e) => {
                    errors.push(format!("yield: {e}"));
                    None
                }
            },
            (Target::Dish(_), Some(_)) => {
                errors.push("yield: only a made ingredient has a yield, not a dish".into());
                None
            }
            (_, None) => None,
        };
        let parsed = match (ingredient, amount) {
            (Some(i), Some(q)) if errors.is_empty() => Ok((i, q, yield_quantity)),
            _ => Err(errors),
        };
        if !groups.contains_key(&target) {
            order.push(target);
        }
        groups.entry(target).or_default().push((line, parsed));
    }
    let stored_lines = recipe_lines::Entity::find()
        .filter(recipe_lines::Column::RestaurantId.eq(venue_id))
        .all(&state.db)
        .await?;
    for target in order {
        let group = &groups[&target];
        let mut errors_at: Vec<u64> = group
            .iter()
            .filter(|(_, p)| p.is_err())
            .map(|(line, _)| *line)
            .collect();
        let mut seen = HashSet::new();
        for (line, parsed) in group {
            if let Ok((ingredient, _, _)) = parsed
                && !seen.insert(*ingredient)
            {
                errors_at.push(*line);
            }
        }
        let yields: Vec<i64> = group
            .iter()
            .filter_map(|(_, p)| p.as_ref().ok().and_then(|(_, _, y)| *y))
            .collect();
        let made_yield = yields.first().copied();
        let yield_problem = match target {
            Target::Made(_) if made_yield.is_none() => {
                Some("yield: a made ingredient needs the yield of one batch".to_string())
            }
            Target::Made(_) if yields.iter().any(|y| Some(*y) != made_yield) => {
                Some("yield: the recipe's lines give different yields".to_string())
            }
            _ => None,
        };
        let reject_all = |report: &mut StockImportReport, why: Vec<String>| {
            for (line, parsed) in group {
                let mut errors = match parsed {
                    Err(e) => e.clone(),
                    Ok(_) => Vec::new(),
                };
                errors.extend(why.iter().cloned());
                report.reject(*line, errors);
            }
        };
        if !errors_at.is_empty() || yield_problem.is_some() {
            errors_at.sort();
            let mut why = Vec::new();
            if let Some(p) = yield_problem {
                why.push(p);
            }
            if !errors_at.is_empty() {
                let list: Vec<String> = errors_at.iter().map(u64::to_string).collect();
                why.push(format!(
                    "the recipe is not stored: fix line(s) {} (an ingredient twice, or a bad value)",
                    list.join(", ")
                ));
            }
            reject_all(&mut report, why);
            continue;
        }
        let new: Vec<(Uuid, i64)> = group
            .iter()
            .filter_map(|(_, p)| p.as_ref().ok().map(|(i, q, _)| (*i, *q)))
            .collect();
        let mut old: Vec<(Uuid, i64)> = stored_lines
            .iter()
            .filter(|l| match target {
                Target::Dish(item) => l.menu_item_id == Some(item),
                Target::Made(made) => l.parent_ingredient_id == Some(made),
            })
            .map(|l| (l.ingredient_id, l.quantity))
            .collect();
        let mut sorted_new = new.clone();
        sorted_new.sort();
        old.sort();
        let saved = match target {
            Target::Dish(item) => {
                if sorted_new == old {
                    report.unchanged += group.len();
                    continue;
                }
                recipes::save_dish_recipe(&state, venue_id, item, &new).await
            }
            Target::Made(made) => {
                let Some(made) = known.values().find(|i| i.id == made) else {
                    continue;
                };
                if sorted_new == old && made.yield_quantity == made_yield {
                    report.unchanged += group.len();
                    continue;
                }
                recipes::save_sub_recipe(&state, venue_id, made, made_yield.unwrap_or(MILLI), &new)
                    .await
            }
        };
        match saved {
            Ok(()) => report.stored += group.len(),
            Err(err) if err.status.is_client_error() => {
                reject_all(&mut report, vec![err.message.clone()])
            }
            Err(err) => return Err(err),
        }
    }
    report.rejected.sort_by_key(|r| r.line);
    let message = report.message();
    Ok(ok(report).message(message))
}
