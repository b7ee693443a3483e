//! What taking an order's recipes from stock adds to completing it: the demo's Ember & Oak with a recipe of
//! four ingredients on every dish and several batches of each, then `inventory::consume` for an order of
//! three dishes (four ingredient takes, FIFO over the batches), timed inside the write transaction it
//! runs in when an order completes, against the same transaction without it. Prints figures; asserts
//! nothing.
//!
//!   cargo bench -p brigade-app --bench inventory
//!
//! Environment: `BENCH_DATABASE_URL` (default SQLite in a temporary directory), `RUNS` (1,000).

mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use brigade_app::entities::{ingredients, menu_items, recipe_lines};
use brigade_app::inventory::{self, Context, Incoming, MovementKind};
use common::{env_or, percentile};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

fn summary(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    println!(
        "{name:<44} p50 {:.3} ms   p95 {:.3} ms   p99 {:.3} ms   ({} runs)",
        percentile(&ms, 0.50),
        percentile(&ms, 0.95),
        percentile(&ms, 0.99),
        ms.len()
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (state, postgres, _dir) = common::state(|_| {}).await?;
    brigade_app::demo::load(&state)
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    let venue_id = brigade_app::demo::restaurant_id_of(&state, "demo-ember-oak")
        .await
        .ok_or_else(|| anyhow::anyhow!("no demo venue"))?;
    let venue = brigade_app::restaurants::find(&state, venue_id)
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    let now = state.now();
    let today = inventory::local_today(&venue, now);
    // Four ingredients, each with eight batches.
    let mut stock = Vec::new();
    for (k, name) in ["Beef", "Flour", "Butter", "Salt"].iter().enumerate() {
        let id = Uuid::now_v7();
        ingredients::ActiveModel {
            id: Set(id),
            restaurant_id: Set(venue_id),
            // Unique per run: a PostgreSQL bench database keeps earlier runs' rows.
            name: Set(format!("Bench {name} {}", Uuid::now_v7().simple())),
            unit: Set("g".into()),
            category: Set(None),
            unit_cost_micros: Set(1_000 * (k as i64 + 1)),
            par_level: Set(None),
            shelf_life_days: Set(None),
            supplier_id: Set(None),
            purchase_unit: Set(None),
            purchase_factor: Set(1_000),
            yield_quantity: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&state.db)
        .await?;
        for b in 0..8 {
            let ctx = Context {
                kind: MovementKind::Receipt,
                order_id: None,
                reference_id: None,
                reason: None,
                actor_id: None,
                at: now + chrono::Duration::seconds(b),
                today,
            };
            inventory::put(
                &state.db,
                id,
                &Incoming {
                    quantity: 1_000_000_000,
                    unit_cost_micros: 1_000 + b,
                    supplier_id: None,
                    lot: None,
                    expires_on: None,
                },
                &ctx,
            )
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
        }
        stock.push(id);
    }
    let dishes: Vec<Uuid> = menu_items::Entity::find()
        .filter(menu_items::Column::RestaurantId.eq(venue_id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    for dish in &dishes {
        for (k, ingredient) in stock.iter().enumerate() {
            recipe_lines::ActiveModel {
                id: Set(Uuid::now_v7()),
                restaurant_id: Set(venue_id),
                menu_item_id: Set(Some(*dish)),
                parent_ingredient_id: Set(None),
                ingredient_id: Set(*ingredient),
                quantity: Set(10_000 * (k as i64 + 1)),
                created_at: Set(now),
            }
            .insert(&state.db)
            .await?;
        }
    }
    let portions: BTreeMap<Uuid, i64> = dishes.iter().take(3).map(|d| (*d, 2)).collect();
    let runs = env_or("RUNS", 1_000) as usize;
    let (mut with, mut without, mut consume_only) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        // The transaction a completion runs in, empty: the baseline.
        let started = Instant::now();
        let txn = brigade_app::database::begin_write(&state.db).await?;
        txn.commit().await?;
        without.push(started.elapsed().as_secs_f64() * 1000.0);
        // The same with the order's consumption in it.
        let started = Instant::now();
        let txn = brigade_app::database::begin_write(&state.db).await?;
        let inner = Instant::now();
        inventory::consume(&txn, Uuid::now_v7(), venue_id, &portions, now, today)
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
        consume_only.push(inner.elapsed().as_secs_f64() * 1000.0);
        txn.commit().await?;
        with.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "inventory consumption on {} ({} dishes x 4 ingredients x 8 batches each)",
        if postgres { "PostgreSQL" } else { "SQLite" },
        dishes.len()
    );
    summary("write transaction alone", without);
    summary("write transaction with consume (3 dishes)", with);
    summary("consume itself (4 ingredient takes)", consume_only);
    Ok(())
}
