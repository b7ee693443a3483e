//! Inventory: ingredients and recipes, deliveries as batches, completed orders taking their recipes
//! from stock FIFO exactly once (also under 32 simultaneous completions and replays), counts, waste, and
//! stock at any past instant equal to the running balance.

use axum::http::StatusCode;
use brigade_app::accounts::Role;
use brigade_app::entities::{batches, stock_movements};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::orders::{Shop, shop};

pub async fn ingredient(app: &TestApp, s: &Shop, body: Value) -> String {
    let made = app
        .post(
            &format!("/api/venues/{}/ingredients", s.id),
            body,
            Some(&s.owner),
        )
        .await;
    made.assert_status(StatusCode::CREATED);
    made.data()["id"].as_str().unwrap().to_string()
}

pub async fn stock(app: &TestApp, s: &Shop, id: &str) -> Value {
    let found = app
        .get(
            &format!("/api/venues/{}/ingredients/{id}", s.id),
            Some(&s.staff),
        )
        .await;
    found.assert_status(StatusCode::OK);
    found.data().clone()
}

/// An order of `portions` ramen, moved to READY.
pub async fn ready_order(app: &TestApp, s: &Shop, customer: &str, portions: i64) -> String {
    let placed = app
        .post(
            "/api/orders",
            json!({"venue_id": s.id, "order_type": "TAKEOUT", "items": [{"menu_item_id": s.ramen, "quantity": portions}]}),
            Some(customer),
        )
        .await;
    placed.assert_status(StatusCode::CREATED);
    let id = placed.data()["id"].as_str().unwrap().to_string();
    for status in ["CONFIRMED", "PREPARING", "READY"] {
        app.put(
            &format!("/api/orders/{id}/status"),
            json!({"status": status}),
            Some(&s.staff),
        )
        .await
        .assert_status(StatusCode::OK);
    }
    id
}

#[tokio::test]
async fn a_completed_order_takes_its_recipe_from_the_oldest_batch_and_costs_the_dish() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Stock Pot", json!({})).await;
    let (_, customer, _) = app.user("slurp@example.com", Role::Customer).await;
    let noodles = ingredient(
        &app,
        &s,
        json!({"name": "Noodles", "unit": "g", "unit_cost": "0.004", "par_level": "1000"}),
    )
    .await;
    let broth = ingredient(
        &app,
        &s,
        json!({"name": "Broth", "unit": "ml", "unit_cost": "0.002"}),
    )
    .await;
    // Same name twice: refused.
    app.post(
        &format!("/api/venues/{}/ingredients", s.id),
        json!({"name": "Noodles", "unit": "g"}),
        Some(&s.owner),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "ingredient_exists");

    // The ramen: 150 g noodles and 400 ml broth; 0.60 + 0.80 = 1.40 against a price of 14.50.
    let recipe = format!("/api/venues/{}/menu/items/{}/recipe", s.id, s.ramen);
    let body = json!({"lines": [{"ingredient_id": noodles, "quantity": "150"}, {"ingredient_id": broth, "quantity": "400"}]});
    app.put(&recipe, body.clone(), Some(&s.staff))
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let saved = app.put(&recipe, body, Some(&s.owner)).await;
    saved.assert_status(StatusCode::OK);
    assert_eq!(saved.data()["cost"], "1.4");
    assert_eq!(saved.data()["margin"], "13.1");
    assert_eq!(saved.data()["cost_share"], "0.0966");
    let twice = app
        .put(
            &recipe,
            json!({"lines": [{"ingredient_id": noodles, "quantity": "1"}, {"ingredient_id": noodles, "quantity": "2"}]}),
            Some(&s.owner),
        )
        .await;
    twice.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!twice.field_errors("lines[1].ingredient_id").is_empty());

    // Two deliveries of noodles: 200 g at 0.004 (older, expiring later), then 1 kg at 0.005.
    let receipts = format!("/api/venues/{}/ingredients/{noodles}/receipts", s.id);
    app.post(
        &receipts,
        json!({"quantity": "200", "unit_cost": "0.004", "expires_on": "2026-07-01"}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::CREATED);
    app.clock.advance(chrono::Duration::minutes(5));
    app.post(
        &receipts,
        json!({"quantity": "1000", "unit_cost": "0.005", "lot": "L-7"}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::CREATED);
    app.post(
        &format!("/api/venues/{}/ingredients/{broth}/receipts", s.id),
        json!({"quantity": "10000", "unit_cost": "0.002"}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::CREATED);
    app.clock.advance(chrono::Duration::minutes(5));
    let before = stock(&app, &s, &noodles).await;
    assert_eq!(before["on_hand"], "1200");
    assert_eq!(before["value"], "5.8");
    assert_eq!(before["unit_cost"], "0.005", "the latest receipt sets it");

    // Two portions complete: 300 g noodles, the 200 g batch first, then 100 g of the second.
    let order = ready_order(&app, &s, &customer, 2).await;
    app.put(
        &format!("/api/orders/{order}/status"),
        json!({"status": "COMPLETED"}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::OK);
    let after = stock(&app, &s, &noodles).await;
    assert_eq!(after["on_hand"], "900");
    assert_eq!(after["value"], "4.5", "900 g at 0.005");
    let batches = after["batches"].as_array().unwrap();
    assert_eq!(batches.len(), 1, "the first batch is used up: {after}");
    assert_eq!(batches[0]["lot"], "L-7");
    assert_eq!(stock(&app, &s, &broth).await["on_hand"], "9200");
    let movements = stock_movements::Entity::find()
        .filter(stock_movements::Column::OrderId.eq(uuid::Uuid::parse_str(&order).unwrap()))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(movements.len(), 3, "{movements:?}");
    assert!(movements.iter().all(|m| m.kind == "consumption"));

    // A replay takes nothing twice: the claim is there.
    let stored =
        brigade_app::entities::orders::Entity::find_by_id(uuid::Uuid::parse_str(&order).unwrap())
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
    let items = brigade_app::entities::order_items::Entity::find()
        .filter(brigade_app::entities::order_items::Column::OrderId.eq(stored.id))
        .all(&app.state.db)
        .await
        .unwrap();
    let now = app.state.now();
    let moved = brigade_app::inventory::consume_order(
        &app.state.db,
        &stored,
        &items,
        now,
        now.date_naive(),
    )
    .await
    .unwrap();
    assert_eq!(moved, 0);
    assert_eq!(stock(&app, &s, &noodles).await["on_hand"], "900");

    // The stock list puts what is below par first.
    app.post(
        &format!("/api/venues/{}/ingredients/{noodles}/waste", s.id),
        json!({"quantity": "150", "reason": "spoiled"}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::CREATED);
    let list = app
        .get(&format!("/api/venues/{}/ingredients", s.id), Some(&s.staff))
        .await;
    assert_eq!(list.data()[0]["name"], "Noodles");
    assert_eq!(list.data()[0]["below_par"], true);
    assert_eq!(list.data()[0]["on_hand"], "750");

    // A count finds 700: a variance of -50, kept as a movement.
    let counted = app
        .post(
            &format!("/api/venues/{}/ingredients/{noodles}/counts", s.id),
            json!({"counted": "700"}),
            Some(&s.staff),
        )
        .await;
    counted.assert_status(StatusCode::CREATED);
    assert_eq!(counted.data()["variance"], "-50");
    assert_eq!(counted.data()["ingredient"]["on_hand"], "700");
    let page = app
        .get(
            &format!("/api/venues/{}/ingredients/{noodles}/movements", s.id),
            Some(&s.staff),
        )
        .await;
    let kinds: Vec<&str> = page.data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "count",
            "waste",
            "consumption",
            "consumption",
            "receipt",
            "receipt"
        ]
    );
    // Stock at an instant before the order: the two receipts only.
    let then = app
        .get(
            &format!(
                "/api/venues/{}/ingredients/{noodles}/movements?at=2026-06-15T12:05:00Z",
                s.id
            ),
            Some(&s.staff),
        )
        .await;
    assert_eq!(then.body["message"], "stock then g: 1200");
    // Another venue's staff see nothing of it.
    let other = shop(&app, &admin, "Other Pot", json!({})).await;
    app.get(
        &format!("/api/venues/{}/ingredients", s.id),
        Some(&other.staff),
    )
    .await
    .assert_status(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn stock_goes_below_zero_and_the_next_delivery_settles_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Short Stock", json!({})).await;
    let (_, customer, _) = app.user("short@example.com", Role::Customer).await;
    let eggs = ingredient(
        &app,
        &s,
        json!({"name": "Eggs", "unit": "each", "unit_cost": "0.25"}),
    )
    .await;
    app.put(
        &format!("/api/venues/{}/menu/items/{}/recipe", s.id, s.ramen),
        json!({"lines": [{"ingredient_id": eggs, "quantity": "1"}]}),
        Some(&s.owner),
    )
    .await
    .assert_status(StatusCode::OK);
    let order = ready_order(&app, &s, &customer, 3).await;
    app.put(
        &format!("/api/orders/{order}/status"),
        json!({"status": "COMPLETED"}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::OK);
    // No eggs were recorded, the kitchen used three: -3, not clamped.
    assert_eq!(stock(&app, &s, &eggs).await["on_hand"], "-3");
    app.post(
        &format!("/api/venues/{}/ingredients/{eggs}/receipts", s.id),
        json!({"quantity": "12", "unit_cost": "0.30"}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::CREATED);
    let now = stock(&app, &s, &eggs).await;
    assert_eq!(now["on_hand"], "9");
    assert_eq!(
        now["batches"][0]["remaining"], "9",
        "the deficit came out of the delivery"
    );
    assert_eq!(now["batches"][0]["received_quantity"], "12");
}

#[tokio::test]
async fn thirty_two_simultaneous_completions_and_their_replays_consume_exactly_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Rush Hour", json!({})).await;
    let (_, customer, _) = app.user("rush@example.com", Role::Customer).await;
    let rice = ingredient(
        &app,
        &s,
        json!({"name": "Rice", "unit": "g", "unit_cost": "0.002"}),
    )
    .await;
    app.put(
        &format!("/api/venues/{}/menu/items/{}/recipe", s.id, s.ramen),
        json!({"lines": [{"ingredient_id": rice, "quantity": "100"}]}),
        Some(&s.owner),
    )
    .await
    .assert_status(StatusCode::OK);
    // Four batches of 1 kg.
    for _ in 0..4 {
        app.post(
            &format!("/api/venues/{}/ingredients/{rice}/receipts", s.id),
            json!({"quantity": "1000", "unit_cost": "0.002"}),
            Some(&s.staff),
        )
        .await
        .assert_status(StatusCode::CREATED);
    }
    let mut orders = Vec::new();
    for _ in 0..32 {
        orders.push(ready_order(&app, &s, &customer, 1).await);
    }
    // Every order completed twice at once: 64 requests, 32 succeed, 32 find it already moved.
    let attempts = orders.iter().chain(orders.iter()).map(|id| {
        let app = &app;
        let staff = s.staff.clone();
        async move {
            app.put(
                &format!("/api/orders/{id}/status"),
                json!({"status": "COMPLETED"}),
                Some(&staff),
            )
            .await
            .status
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    let done = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(done, 32, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
    // 32 portions of 100 g: 3.2 kg gone, 800 g left, in the newest batch only: a completion that
    // waited for another's lock saw what that one took (none planned from a batch already emptied).
    let now = stock(&app, &s, &rice).await;
    assert_eq!(now["on_hand"], "800");
    let mut held = batches::Entity::find()
        .filter(batches::Column::IngredientId.eq(uuid::Uuid::parse_str(&rice).unwrap()))
        .all(&app.state.db)
        .await
        .unwrap();
    held.sort_by_key(|b| (b.received_at, b.id));
    let left: Vec<i64> = held.iter().map(|b| b.remaining).collect();
    assert_eq!(
        left,
        vec![0, 0, 0, 800_000],
        "batches hold exactly the stock"
    );
    let consumed = stock_movements::Entity::find()
        .filter(stock_movements::Column::Kind.eq("consumption"))
        .all(&app.state.db)
        .await
        .unwrap();
    let total: i64 = consumed.iter().map(|m| m.quantity).sum();
    assert_eq!(total, -3_200_000);
    let per_order: std::collections::HashSet<_> =
        consumed.iter().filter_map(|m| m.order_id).collect();
    assert_eq!(per_order.len(), 32);
}

#[tokio::test]
async fn stock_at_any_past_instant_is_the_running_balance_after_random_operations() {
    use brigade_app::inventory::{Context, Incoming, MovementKind};
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Random Store", json!({})).await;
    let flour = ingredient(
        &app,
        &s,
        json!({"name": "Flour", "unit": "g", "unit_cost": "0.001"}),
    )
    .await;
    let flour = uuid::Uuid::parse_str(&flour).unwrap();
    // A fixed pseudo-random sequence of receipts, uses, waste and counts, one a minute.
    let mut seed: u64 = 0x5eed;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut balance = 0i64;
    let mut history = Vec::new();
    for step in 0..120 {
        let at = app.state.now() + chrono::Duration::minutes(step);
        let kind = match next() % 4 {
            0 => MovementKind::Receipt,
            1 => MovementKind::Consumption,
            2 => MovementKind::Waste,
            _ => MovementKind::Count,
        };
        let amount = (next() % 5_000 + 1) as i64 * 100;
        let ctx = Context {
            kind,
            order_id: None,
            reference_id: None,
            reason: None,
            actor_id: None,
            at,
            today: at.date_naive(),
        };
        match kind {
            MovementKind::Receipt => {
                brigade_app::inventory::put(
                    &app.state.db,
                    flour,
                    &Incoming {
                        quantity: amount,
                        unit_cost_micros: (next() % 3_000 + 1) as i64,
                        supplier_id: None,
                        lot: None,
                        expires_on: None,
                    },
                    &ctx,
                )
                .await
                .unwrap();
                balance += amount;
            }
            MovementKind::Consumption | MovementKind::Waste => {
                brigade_app::inventory::take(&app.state.db, flour, amount, &ctx)
                    .await
                    .unwrap();
                balance -= amount;
            }
            MovementKind::Count => {
                let counted = (next() % 20_000) as i64 * 100;
                let variance = brigade_app::inventory::count(&app.state.db, flour, counted, &ctx)
                    .await
                    .unwrap();
                assert_eq!(variance, counted - balance);
                balance = counted;
            }
            MovementKind::Transfer | MovementKind::Production => {
                unreachable!("this walk makes no transfers and makes nothing")
            }
        }
        history.push((at, balance));
        // Batches hold exactly the stock when it is positive, nothing when it is not.
        let held: i64 = batches::Entity::find()
            .filter(batches::Column::IngredientId.eq(flour))
            .all(&app.state.db)
            .await
            .unwrap()
            .iter()
            .map(|b| b.remaining)
            .sum();
        assert_eq!(held, balance.max(0), "step {step}");
    }
    for (at, expected) in history {
        assert_eq!(
            brigade_app::inventory::on_hand(&app.state.db, flour, Some(at))
                .await
                .unwrap(),
            expected,
            "stock at {at}"
        );
    }
}

#[tokio::test]
async fn a_channel_order_finalized_takes_stock_by_plu_once_whatever_is_replayed() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(
        &app,
        &admin,
        "Channel Stock",
        json!({"external_id": "brand-stock"}),
    )
    .await;
    let wrappers = ingredient(
        &app,
        &s,
        json!({"name": "Wrappers", "unit": "each", "unit_cost": "0.05"}),
    )
    .await;
    app.put(
        &format!("/api/venues/{}/menu/items/{}", s.id, s.gyoza),
        json!({"plu": "G-1"}),
        Some(&s.owner),
    )
    .await
    .assert_status(StatusCode::OK);
    app.put(
        &format!("/api/venues/{}/menu/items/{}/recipe", s.id, s.gyoza),
        json!({"lines": [{"ingredient_id": wrappers, "quantity": "6"}]}),
        Some(&s.owner),
    )
    .await
    .assert_status(StatusCode::OK);
    app.post(
        &format!("/api/venues/{}/ingredients/{wrappers}/receipts", s.id),
        json!({"quantity": "100", "unit_cost": "0.05"}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::CREATED);
    // The channel names the item by its code only; accepted, then finalized (90).
    let order = |status: i64, history: Value| {
        json!({
            "_id": "ch-stock-1", "created": "2026-06-15T11:00:00Z", "account": "acc-1", "brandId": "brand-stock",
            "items": [{"name": "Dumplings x6", "plu": "g-1", "quantity": 2}],
            "status": status, "statusHistory": history,
        })
    };
    let accepted = json!([{"status": 10, "timestamp": "2026-06-15T11:00:00Z"}, {"status": 20, "timestamp": "2026-06-15T11:01:00Z"}]);
    app.post("/api/channel-orders", order(20, accepted), Some(&admin))
        .await
        .assert_status(StatusCode::CREATED);
    assert_eq!(
        stock(&app, &s, &wrappers).await["on_hand"],
        "100",
        "not taken before it completes"
    );
    let finalized = json!({"status": 90, "timestamp": "2026-06-15T11:30:00Z"});
    for _ in 0..3 {
        // The same event three times (a channel retrying): taken once.
        app.post(
            "/api/channel-orders/ch-stock-1/status",
            finalized.clone(),
            Some(&admin),
        )
        .await
        .assert_status(StatusCode::OK);
    }
    assert_eq!(stock(&app, &s, &wrappers).await["on_hand"], "88");
    // Another completion after it (an auto-finalize, 95) is refused, and takes nothing.
    app.post(
        "/api/channel-orders/ch-stock-1/status",
        json!({"status": 95, "timestamp": "2026-06-15T11:45:00Z"}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::CONFLICT);
    // The whole order sent again, history and all (a channel replaying its feed): nothing twice.
    let full = json!([
        {"status": 10, "timestamp": "2026-06-15T11:00:00Z"},
        {"status": 20, "timestamp": "2026-06-15T11:01:00Z"},
        {"status": 90, "timestamp": "2026-06-15T11:30:00Z"}
    ]);
    let replayed = app
        .post("/api/channel-orders", order(90, full), Some(&admin))
        .await;
    assert!(replayed.status.is_success(), "{}", replayed.text);
    assert_eq!(stock(&app, &s, &wrappers).await["on_hand"], "88");
    let moved = stock_movements::Entity::find()
        .filter(stock_movements::Column::Kind.eq("consumption"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(
        moved[0].occurred_at.to_rfc3339(),
        "2026-06-15T11:30:00+00:00"
    );
}

#[tokio::test]
async fn fifo_on_the_database_takes_what_plan_use_plans() {
    // PostgreSQL plans FIFO in SQL and SQLite in Rust: both must take what `fifo::plan_use` plans, batch
    // by batch and in order, from random shelves (expired and unexpired, same-instant receipts) and
    // random uses (some beyond the stock).
    use brigade_app::inventory::{Context, Incoming, MovementKind, fifo};
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Shelf Store", json!({})).await;
    let mut seed: u64 = 0xf1f0;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let start = app.state.now();
    let today = start.date_naive();
    for round in 0..12 {
        let id = ingredient(
            &app,
            &s,
            json!({"name": format!("Shelf {round}"), "unit": "g", "unit_cost": "0.004"}),
        )
        .await;
        let id = uuid::Uuid::parse_str(&id).unwrap();
        for _ in 0..(next() % 7) {
            // Receipts at one of a few instants (ties broken by id), expiring before, on or after today.
            let at = start - chrono::Duration::hours((next() % 4) as i64);
            let expires_on = match next() % 4 {
                0 => None,
                k => Some(today + chrono::Duration::days(k as i64 - 2)),
            };
            let ctx = Context {
                kind: MovementKind::Receipt,
                order_id: None,
                reference_id: None,
                reason: None,
                actor_id: None,
                at,
                today,
            };
            let incoming = Incoming {
                quantity: (next() % 3_000 + 1) as i64 * 10,
                unit_cost_micros: (next() % 9_000 + 1) as i64,
                supplier_id: None,
                lot: None,
                expires_on,
            };
            brigade_app::inventory::put(&app.state.db, id, &incoming, &ctx)
                .await
                .unwrap();
        }
        let before = batches::Entity::find()
            .filter(batches::Column::IngredientId.eq(id))
            .all(&app.state.db)
            .await
            .unwrap();
        let lots: Vec<fifo::Lot> = before.iter().map(fifo::Lot::from).collect();
        let wanted = (next() % 40_000 + 1) as i64;
        let plan = fifo::plan_use(&lots, wanted, today);
        let ctx = Context {
            kind: MovementKind::Waste,
            order_id: None,
            reference_id: Some(uuid::Uuid::now_v7()),
            reason: Some("spoiled"),
            actor_id: None,
            at: start,
            today,
        };
        let txn = brigade_app::database::begin_write(&app.state.db)
            .await
            .unwrap();
        brigade_app::inventory::take(&txn, id, wanted, &ctx)
            .await
            .unwrap();
        txn.commit().await.unwrap();
        let mut moved = stock_movements::Entity::find()
            .filter(stock_movements::Column::IngredientId.eq(id))
            .filter(stock_movements::Column::Kind.eq("waste"))
            .all(&app.state.db)
            .await
            .unwrap();
        moved.sort_by_key(|m| m.id);
        let mut expected: Vec<(Option<uuid::Uuid>, i64, i64)> = plan
            .takes
            .iter()
            .map(|t| (Some(t.lot), -t.quantity, t.unit_cost_micros))
            .collect();
        if plan.shortfall > 0 {
            // At the standard cost, which a receipt sets to its own.
            let standard = brigade_app::entities::ingredients::Entity::find_by_id(id)
                .one(&app.state.db)
                .await
                .unwrap()
                .unwrap()
                .unit_cost_micros;
            expected.push((None, -plan.shortfall, standard));
        }
        let got: Vec<(Option<uuid::Uuid>, i64, i64)> = moved
            .iter()
            .map(|m| (m.batch_id, m.quantity, m.unit_cost_micros))
            .collect();
        assert_eq!(got, expected, "round {round}: {wanted} from {lots:?}");
        let after = batches::Entity::find()
            .filter(batches::Column::IngredientId.eq(id))
            .all(&app.state.db)
            .await
            .unwrap();
        let planned = fifo::apply(&lots, &plan);
        for batch in &after {
            let lot = planned.iter().find(|l| l.id == batch.id).unwrap();
            assert_eq!(batch.remaining, lot.remaining, "round {round}");
        }
    }
}
