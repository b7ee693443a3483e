//! The demo's stock: Ember & Oak gets three suppliers, the ingredients of its dishes with recipes, and
//! deliveries received a few days ago, some running low, so the stock page, the reorder suggestions and
//! purchasing have something to show at once. Added once (a venue with ingredients is left alone).

use chrono::Duration;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use uuid::Uuid;

use super::{Context, Incoming, MovementKind};
use crate::entities::{ingredients, menu_items, recipe_lines, suppliers};
use crate::http::error::ApiError;
use crate::state::AppState;

/// (name, e-mail, lead time in days, minimum order in minor units).
const SUPPLIERS: [(&str, Option<&str>, i32, i64); 3] = [
    (
        "Borough Dairy",
        Some("orders@borough-dairy.example"),
        2,
        4000,
    ),
    (
        "Smithfield & Sons",
        Some("orders@smithfield.example"),
        1,
        6000,
    ),
    ("Market Greens", None, 1, 0),
];

/// (name, unit, unit cost in millionths, shelf life, supplier index, purchase unit and its size in
/// thousandths, on hand in thousandths received 2 days ago).
type Ingredient = (
    &'static str,
    &'static str,
    i64,
    i32,
    usize,
    Option<(&'static str, i64)>,
    i64,
);
const INGREDIENTS: [Ingredient; 7] = [
    ("Onglet", "g", 28_000, 5, 1, None, 2_500_000),
    ("Sea bream", "each", 4_800_000, 3, 1, None, 6_000),
    (
        "Burrata",
        "each",
        2_100_000,
        5,
        0,
        Some(("tray of 6", 6_000)),
        12_000,
    ),
    (
        "Butter",
        "g",
        12_000,
        30,
        0,
        Some(("block", 250_000)),
        4_000_000,
    ),
    ("Leeks", "g", 4_000, 7, 2, None, 1_500_000),
    ("Hispi cabbage", "each", 1_200_000, 7, 2, None, 8_000),
    (
        "Potatoes",
        "g",
        1_500,
        21,
        2,
        Some(("sack", 25_000_000)),
        6_000_000,
    ),
];

/// (dish, [(ingredient, thousandths per portion)]).
const RECIPES: [(&str, &[(&str, i64)]); 5] = [
    (
        "Charred leeks, romesco",
        &[("Leeks", 200_000), ("Butter", 10_000)],
    ),
    ("Smoked burrata", &[("Burrata", 1_000)]),
    (
        "Onglet steak, chips",
        &[
            ("Onglet", 220_000),
            ("Potatoes", 300_000),
            ("Butter", 15_000),
        ],
    ),
    (
        "Whole sea bream",
        &[("Sea bream", 1_000), ("Butter", 10_000)],
    ),
    (
        "Hispi cabbage",
        &[("Hispi cabbage", 500), ("Butter", 20_000)],
    ),
];

/// Give the venue its demo stock; returns how many ingredients were added.
pub async fn ensure(state: &AppState, venue_id: Uuid) -> Result<usize, ApiError> {
    let existing = ingredients::Entity::find()
        .filter(ingredients::Column::RestaurantId.eq(venue_id))
        .count(&state.db)
        .await?;
    if existing > 0 {
        return Ok(0);
    }
    let venue = crate::restaurants::find(state, venue_id).await?;
    let now = state.now();
    let received = now - Duration::days(2);
    let txn = crate::database::begin_write(&state.db).await?;
    let mut supplier_ids = Vec::new();
    for (name, email, lead, min) in SUPPLIERS {
        let row = suppliers::ActiveModel {
            id: Set(Uuid::now_v7()),
            restaurant_id: Set(venue_id),
            name: Set(name.into()),
            email: Set(email.map(str::to_string)),
            phone: Set(None),
            lead_time_days: Set(lead),
            min_order_minor: Set(min),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        supplier_ids.push(row.id);
    }
    let mut ids = std::collections::HashMap::new();
    for (name, unit, cost, shelf, supplier, pack, on_hand) in INGREDIENTS {
        let row = ingredients::ActiveModel {
            id: Set(Uuid::now_v7()),
            restaurant_id: Set(venue_id),
            name: Set(name.into()),
            unit: Set(unit.into()),
            category: Set(None),
            unit_cost_micros: Set(cost),
            par_level: Set(None),
            shelf_life_days: Set(Some(shelf)),
            supplier_id: Set(Some(supplier_ids[supplier])),
            purchase_unit: Set(pack.map(|p| p.0.to_string())),
            purchase_factor: Set(pack.map_or(super::fifo::MILLI, |p| p.1)),
            yield_quantity: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        ids.insert(name, row.id);
        let ctx = Context {
            kind: MovementKind::Receipt,
            order_id: None,
            reference_id: Some(Uuid::now_v7()),
            reason: None,
            actor_id: None,
            at: received,
            today: super::local_today(&venue, received),
        };
        super::put(
            &txn,
            row.id,
            &Incoming {
                quantity: on_hand,
                unit_cost_micros: cost,
                supplier_id: Some(supplier_ids[supplier]),
                lot: Some("DEMO-1".into()),
                expires_on: None,
            },
            &ctx,
        )
        .await?;
    }
    let menu = menu_items::Entity::find()
        .filter(menu_items::Column::RestaurantId.eq(venue_id))
        .all(&txn)
        .await?;
    for (dish, lines) in RECIPES {
        let Some(item) = menu.iter().find(|m| m.name == dish) else {
            continue;
        };
        for (ingredient, quantity) in lines {
            recipe_lines::ActiveModel {
                id: Set(Uuid::now_v7()),
                restaurant_id: Set(venue_id),
                menu_item_id: Set(Some(item.id)),
                parent_ingredient_id: Set(None),
                ingredient_id: Set(ids[ingredient]),
                quantity: Set(*quantity),
                created_at: Set(now),
            }
            .insert(&txn)
            .await?;
        }
    }
    txn.commit().await?;
    Ok(INGREDIENTS.len())
}
