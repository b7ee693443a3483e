//! Suppliers and purchase orders (draft, sent with an e-mail through the outbox, received in parts from
//! a retried phone submission exactly once), and the reorder predictions: usage forecast from the
//! demand forecast times recipes, reorder point, suggested order in whole cases, expiry risk and the
//! drafts made from the suggestions.

use axum::http::StatusCode;
use brigade_app::entities::{batches, mail_outbox, order_items, orders, stock_movements};
use chrono::{Duration, TimeZone, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::TestApp;
use crate::inventory::ingredient;
use crate::orders::{Shop, shop};

pub async fn supplier(app: &TestApp, s: &Shop, body: Value) -> String {
    let made = app
        .post(
            &format!("/api/venues/{}/suppliers", s.id),
            body,
            Some(&s.owner),
        )
        .await;
    made.assert_status(StatusCode::CREATED);
    made.data()["id"].as_str().unwrap().to_string()
}

async fn on_hand(app: &TestApp, s: &Shop, id: &str) -> String {
    let found = app
        .get(
            &format!("/api/venues/{}/ingredients/{id}", s.id),
            Some(&s.staff),
        )
        .await;
    found.assert_status(StatusCode::OK);
    found.data()["on_hand"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_purchase_order_is_drafted_sent_by_email_and_received_in_parts_exactly_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Dock Door", json!({})).await;
    let dairy = supplier(
        &app,
        &s,
        json!({"name": "Fresh Dairy", "email": "Orders@FreshDairy.example", "lead_time_days": 3, "min_order": "50"}),
    )
    .await;
    // Staff read suppliers but do not add them; names are unique per venue; bad fields are named.
    let base = format!("/api/venues/{}/suppliers", s.id);
    app.post(&base, json!({"name": "Other"}), Some(&s.staff))
        .await
        .assert_status(StatusCode::FORBIDDEN);
    app.post(&base, json!({"name": "Fresh Dairy"}), Some(&s.owner))
        .await
        .assert_error(StatusCode::CONFLICT, "supplier_exists");
    let bad = app
        .post(
            &base,
            json!({"name": "X", "email": "nope", "lead_time_days": 400, "phone": " ".repeat(41)}),
            Some(&s.owner),
        )
        .await;
    bad.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!bad.field_errors("email").is_empty());
    assert!(!bad.field_errors("lead_time_days").is_empty());
    assert!(!bad.field_errors("phone").is_empty());
    let listed = app.get(&base, Some(&s.staff)).await;
    listed.assert_status(StatusCode::OK);
    assert_eq!(listed.data()[0]["email"], "orders@freshdairy.example");
    assert_eq!(listed.data()[0]["min_order"], "50.00");

    // Milk comes in cases of 12 litres.
    let milk = ingredient(
        &app,
        &s,
        json!({"name": "Milk", "unit": "ml", "unit_cost": "0.0012", "supplier_id": dairy, "purchase_unit": "case", "purchase_factor": "12000"}),
    )
    .await;
    let butter = ingredient(
        &app,
        &s,
        json!({"name": "Butter", "unit": "g", "unit_cost": "0.01", "supplier_id": dairy}),
    )
    .await;
    let orders_path = format!("/api/venues/{}/purchase-orders", s.id);
    let draft = json!({"supplier_id": dairy, "lines": [
        {"ingredient_id": milk, "quantity": "24000"},
        {"ingredient_id": butter, "quantity": "2000", "unit_cost": "0.0095"}]});
    app.post(&orders_path, draft.clone(), Some(&s.staff))
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let made = app.post(&orders_path, draft, Some(&s.owner)).await;
    made.assert_status(StatusCode::CREATED);
    let po = made.data().clone();
    let id = po["id"].as_str().unwrap().to_string();
    assert_eq!(po["status"], "draft");
    // 24 l at 0.0012 = 28.80, 2 kg at 0.0095 = 19.00.
    assert_eq!(po["total"], "47.80");
    assert_eq!(po["below_minimum"], true);
    assert_eq!(po["lines"][0]["purchase_units"], "2");
    assert_eq!(po["lines"][0]["purchase_unit"], "case");
    // An ingredient twice, or another venue's, is refused by field.
    let twice = app
        .post(
            &orders_path,
            json!({"supplier_id": dairy, "lines": [{"ingredient_id": milk, "quantity": "1"}, {"ingredient_id": milk, "quantity": "2"}]}),
            Some(&s.owner),
        )
        .await;
    twice.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!twice.field_errors("lines[1].ingredient_id").is_empty());
    let stranger = app
        .post(
            &orders_path,
            json!({"supplier_id": dairy, "lines": [{"ingredient_id": Uuid::now_v7(), "quantity": "1"}]}),
            Some(&s.owner),
        )
        .await;
    stranger.assert_status(StatusCode::NOT_FOUND);

    // The draft changes: more butter clears the minimum.
    let path = format!("{orders_path}/{id}");
    let changed = app
        .put(
            &path,
            json!({"lines": [{"ingredient_id": milk, "quantity": "24000"}, {"ingredient_id": butter, "quantity": "4000", "unit_cost": "0.0095"}], "note": "Back door"}),
            Some(&s.owner),
        )
        .await;
    changed.assert_status(StatusCode::OK);
    assert_eq!(changed.data()["total"], "66.80");
    assert_eq!(changed.data()["below_minimum"], false);
    let lines = changed.data()["lines"].as_array().unwrap().clone();
    let (milk_line, butter_line) = (
        lines[0]["id"].as_str().unwrap().to_string(),
        lines[1]["id"].as_str().unwrap().to_string(),
    );

    // A draft cannot be received.
    let receipts = format!("{path}/receipts");
    app.post(
        &receipts,
        json!({"lines": [{"line_id": milk_line, "quantity": "1000"}]}),
        Some(&s.staff),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "purchase_order_state");

    // Sending: status, expected day (today + 3 days' lead time), and the e-mail in the outbox.
    let sent = app
        .post(&format!("{path}/send"), json!({}), Some(&s.owner))
        .await;
    sent.assert_status(StatusCode::OK);
    assert_eq!(sent.data()["status"], "sent");
    let today = app
        .state
        .now()
        .with_timezone(&chrono_tz::Europe::London)
        .date_naive();
    assert_eq!(
        sent.data()["expected_on"],
        (today + Duration::days(3)).to_string()
    );
    let mail = mail_outbox::Entity::find()
        .filter(mail_outbox::Column::ToAddress.eq("orders@freshdairy.example"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(mail.len(), 1);
    assert!(
        mail[0].body.contains("Milk: 2 case (24000 ml)"),
        "{}",
        mail[0].body
    );
    assert!(
        mail[0].body.contains("Total: 66.80 GBP"),
        "{}",
        mail[0].body
    );
    assert!(mail[0].body.contains("Back door"));
    app.post(&format!("{path}/send"), json!({}), Some(&s.owner))
        .await
        .assert_error(StatusCode::CONFLICT, "purchase_order_state");
    app.put(&path, json!({"note": "late change"}), Some(&s.owner))
        .await
        .assert_error(StatusCode::CONFLICT, "purchase_order_state");

    // The first delivery: all the milk, half the butter, sent twice by a phone on a bad connection.
    let receipt = Uuid::now_v7();
    let delivery = json!({"receipt_id": receipt, "lines": [
        {"line_id": milk_line, "quantity": "24000", "expires_on": (today + Duration::days(6)).to_string(), "lot": "M-1"},
        {"line_id": butter_line, "quantity": "2000"}]});
    let first = app.post(&receipts, delivery.clone(), Some(&s.staff)).await;
    first.assert_status(StatusCode::CREATED);
    assert_eq!(first.data()["status"], "partly_received");
    assert_eq!(first.data()["lines"][1]["outstanding"], "2000");
    let again = app.post(&receipts, delivery, Some(&s.staff)).await;
    again.assert_status(StatusCode::OK);
    assert_eq!(again.data()["status"], "partly_received");
    assert_eq!(on_hand(&app, &s, &milk).await, "24000");
    assert_eq!(on_hand(&app, &s, &butter).await, "2000");
    // The batches name the supplier and the receipt; the butter at the order's price.
    let milk_batches = batches::Entity::find()
        .filter(batches::Column::IngredientId.eq(milk.parse::<Uuid>().unwrap()))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(milk_batches.len(), 1);
    assert_eq!(milk_batches[0].supplier_id, Some(dairy.parse().unwrap()));
    assert_eq!(milk_batches[0].lot.as_deref(), Some("M-1"));
    let by_receipt = stock_movements::Entity::find()
        .filter(stock_movements::Column::ReferenceId.eq(receipt))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(by_receipt, 2);
    let butter_cost = app
        .get(
            &format!("/api/venues/{}/ingredients/{butter}", s.id),
            Some(&s.staff),
        )
        .await;
    assert_eq!(butter_cost.data()["unit_cost"], "0.0095");
    // A line of another order, or a line twice, is refused and receives nothing.
    let wrong = app
        .post(
            &receipts,
            json!({"lines": [{"line_id": Uuid::now_v7(), "quantity": "5"}]}),
            Some(&s.staff),
        )
        .await;
    wrong.assert_status(StatusCode::NOT_FOUND);
    assert!(!wrong.field_errors("lines[0].line_id").is_empty());

    // The rest of the butter: received in full.
    let rest = app
        .post(
            &receipts,
            json!({"lines": [{"line_id": butter_line, "quantity": "2000"}]}),
            Some(&s.staff),
        )
        .await;
    rest.assert_status(StatusCode::CREATED);
    assert_eq!(rest.data()["status"], "received");
    assert!(rest.data()["received_at"].is_string());
    assert_eq!(on_hand(&app, &s, &butter).await, "4000");
    app.post(
        &receipts,
        json!({"lines": [{"line_id": butter_line, "quantity": "1"}]}),
        Some(&s.staff),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "purchase_order_state");
    app.post(&format!("{path}/cancel"), json!({}), Some(&s.owner))
        .await
        .assert_error(StatusCode::CONFLICT, "purchase_order_state");

    // A supplier with orders stays; one without goes, and its ingredients keep their stock.
    app.delete(&format!("{base}/{dairy}"), Some(&s.owner))
        .await
        .assert_error(StatusCode::CONFLICT, "supplier_has_orders");
    let spare = supplier(&app, &s, json!({"name": "Spare Dairy"})).await;
    app.put(
        &format!("/api/venues/{}/ingredients/{butter}", s.id),
        json!({"supplier_id": spare}),
        Some(&s.owner),
    )
    .await
    .assert_status(StatusCode::OK);
    app.delete(&format!("{base}/{spare}"), Some(&s.owner))
        .await
        .assert_status(StatusCode::OK);
    let after = app
        .get(
            &format!("/api/venues/{}/ingredients/{butter}", s.id),
            Some(&s.staff),
        )
        .await;
    assert_eq!(after.data()["supplier_id"], Value::Null);
    assert_eq!(after.data()["on_hand"], "4000");

    // The stock list as CSV, by name, with the supplier's name; a formula-like name is defused.
    ingredient(&app, &s, json!({"name": "=cmd()", "unit": "each"})).await;
    let export = app
        .get(
            &format!("/api/venues/{}/ingredients/export", s.id),
            Some(&s.staff),
        )
        .await;
    export.assert_status(StatusCode::OK);
    assert!(
        export.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let lines: Vec<&str> = export.text.lines().collect();
    assert_eq!(
        lines[0],
        "name,unit,category,on_hand,value,unit_cost,par_level,shelf_life_days,supplier,purchase_unit,purchase_factor"
    );
    assert_eq!(lines.len(), 4, "{}", export.text);
    assert!(lines[1].starts_with("'=cmd(),each,"), "{}", lines[1]);
    assert_eq!(lines[2], "Butter,g,,4000,38,0.0095,,,,,1");
    assert_eq!(
        lines[3],
        "Milk,ml,,24000,28.8,0.0012,,,Fresh Dairy,case,12000"
    );

    // The list filters by status; a cancelled draft stays listed as cancelled.
    let other = app
        .post(
            &orders_path,
            json!({"supplier_id": dairy, "lines": [{"ingredient_id": milk, "quantity": "12000"}]}),
            Some(&s.owner),
        )
        .await
        .data()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        &format!("{orders_path}/{other}/cancel"),
        json!({}),
        Some(&s.owner),
    )
    .await
    .assert_status(StatusCode::OK);
    let received = app
        .get(&format!("{orders_path}?status=received"), Some(&s.staff))
        .await;
    assert_eq!(received.data()["items"].as_array().unwrap().len(), 1);
    let cancelled = app
        .get(&format!("{orders_path}?status=cancelled"), Some(&s.staff))
        .await;
    assert_eq!(cancelled.data()["items"][0]["id"], other);
}

/// `days` days of completed orders before today, one a day, each with `portions(weekday)` ramen and
/// 1 to 5 gyoza (a mix that moves from day to day whatever the weekday).
async fn ramen_history(app: &TestApp, s: &Shop, days: i64, portions: impl Fn(usize) -> i32) {
    let venue: Uuid = s.id.parse().unwrap();
    let ramen: Uuid = s.ramen.parse().unwrap();
    let today = app.state.now().date_naive();
    let (mut placed, mut lines) = (Vec::new(), Vec::new());
    for back in 1..=days {
        let day = today - Duration::days(back);
        let weekday = chrono::Datelike::weekday(&day).num_days_from_monday() as usize;
        let at = Utc.from_utc_datetime(&day.and_hms_opt(12, 0, 0).unwrap());
        let order = crate::forecasting::completed_order(venue, at, None, "import", 1450);
        let order_id = match &order.id {
            Set(id) => *id,
            _ => unreachable!(),
        };
        placed.push(order);
        lines.push(order_items::ActiveModel {
            id: Set(Uuid::now_v7()),
            order_id: Set(order_id),
            menu_item_id: Set(Some(ramen)),
            name: Set("Ramen".into()),
            plu: Set(None),
            unit_price_minor: Set(1450),
            quantity: Set(portions(weekday)),
            subtotal_minor: Set(1450 * i64::from(portions(weekday))),
            special_request: Set(None),
        });
        let gyoza = 1 + (back % 5) as i32;
        lines.push(order_items::ActiveModel {
            id: Set(Uuid::now_v7()),
            order_id: Set(order_id),
            menu_item_id: Set(Some(s.gyoza.parse().unwrap())),
            name: Set("Gyoza".into()),
            plu: Set(None),
            unit_price_minor: Set(650),
            quantity: Set(gyoza),
            subtotal_minor: Set(650 * i64::from(gyoza)),
            special_request: Set(None),
        });
    }
    orders::Entity::insert_many(placed)
        .exec(&app.state.db)
        .await
        .unwrap();
    order_items::Entity::insert_many(lines)
        .exec(&app.state.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn reorder_predictions_follow_the_demand_forecast_through_recipes() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Noodle Bar", json!({})).await;
    // Ten ramen a day, every day, for eight weeks: 150 g noodles each, 1.5 kg a day.
    ramen_history(&app, &s, 56, |_| 10).await;
    let mill = supplier(
        &app,
        &s,
        json!({"name": "Noodle Mill", "lead_time_days": 2}),
    )
    .await;
    let noodles = ingredient(
        &app,
        &s,
        json!({"name": "Noodles", "unit": "g", "unit_cost": "0.004", "supplier_id": mill, "purchase_unit": "box", "purchase_factor": "5000", "shelf_life_days": 30, "par_level": "2000"}),
    )
    .await;
    let nori = ingredient(&app, &s, json!({"name": "Nori", "unit": "each"})).await;
    let wrappers = ingredient(&app, &s, json!({"name": "Wrappers", "unit": "each"})).await;
    app.put(
        &format!("/api/venues/{}/menu/items/{}/recipe", s.id, s.gyoza),
        json!({"lines": [{"ingredient_id": wrappers, "quantity": "5"}]}),
        Some(&s.owner),
    )
    .await
    .assert_status(StatusCode::OK);
    app.put(
        &format!("/api/venues/{}/menu/items/{}/recipe", s.id, s.ramen),
        json!({"lines": [{"ingredient_id": noodles, "quantity": "150"}]}),
        Some(&s.owner),
    )
    .await
    .assert_status(StatusCode::OK);
    // 3 kg on hand: two days of cover, below the reorder point (three days' use and safety stock).
    // FIFO takes the older 1 kg (good until tomorrow) first, then 0.5 kg of the 2 kg that must go
    // today: 1.5 kg of that batch is expected to expire.
    let today = app
        .state
        .now()
        .with_timezone(&chrono_tz::Europe::London)
        .date_naive();
    let receipts = format!("/api/venues/{}/ingredients/{noodles}/receipts", s.id);
    for (quantity, expires) in [("1000", today + Duration::days(1)), ("2000", today)] {
        app.post(
            &receipts,
            json!({"quantity": quantity, "unit_cost": "0.004", "expires_on": expires.to_string()}),
            Some(&s.staff),
        )
        .await
        .assert_status(StatusCode::CREATED);
    }
    let answer = app
        .post(
            "/api/predictions/inventory",
            json!({"restaurant_id": s.id}),
            Some(&s.staff),
        )
        .await;
    answer.assert_status(StatusCode::OK);
    let all = answer.data()["ingredients"].as_array().unwrap().clone();
    assert_eq!(all.len(), 3);
    // What runs out first comes first: the wrappers (none in stock), then the noodles.
    assert_eq!(all[0]["name"], "Wrappers");
    let p = &all[1];
    assert_eq!(p["name"], "Noodles");
    let daily = p["daily_usage"].as_f64().unwrap();
    assert!((daily - 1500.0).abs() < 150.0, "{p}");
    let cover = p["days_of_cover"].as_f64().unwrap();
    assert!((cover - 2.0).abs() < 0.3, "{p}");
    assert!(p["days_of_cover_earliest"].as_f64().unwrap() <= cover);
    // The latest may lie beyond the horizon (null).
    assert!(
        p["days_of_cover_latest"]
            .as_f64()
            .is_none_or(|d| d >= cover),
        "{p}"
    );
    let reorder_point: f64 = p["reorder_point"].as_str().unwrap().parse().unwrap();
    let lead: f64 = p["lead_time_demand"].as_str().unwrap().parse().unwrap();
    let safety: f64 = p["safety_stock"].as_str().unwrap().parse().unwrap();
    assert!((lead - 3.0 * daily).abs() < 1.0, "{p}");
    assert!((reorder_point - lead - safety).abs() < 0.01);
    assert!(reorder_point > p["par_level"].as_str().unwrap().parse::<f64>().unwrap());
    assert_eq!(p["reorder_now"], true);
    let suggested: f64 = p["suggested_quantity"].as_str().unwrap().parse().unwrap();
    assert!(
        suggested > 0.0 && suggested % 5000.0 == 0.0,
        "whole boxes: {p}"
    );
    assert_eq!(
        p["suggested_purchase_units"].as_str().unwrap(),
        (suggested / 5000.0).to_string()
    );
    let risk = p["expiry_risk"].as_array().unwrap();
    assert_eq!(risk.len(), 1, "{p}");
    assert_eq!(risk[0]["expires_on"], today.to_string());
    let waste: f64 = risk[0]["expected_waste"].as_str().unwrap().parse().unwrap();
    assert!((waste - 1500.0).abs() < 150.0, "{p}");
    // Nori is in no recipe: nothing expected, nothing to order.
    let by_id = |id: &str| {
        all.iter()
            .find(|i| i["ingredient_id"] == id)
            .unwrap()
            .clone()
    };
    let nori = by_id(&nori);
    assert_eq!(nori["daily_usage"], 0.0);
    assert_eq!(nori["reorder_now"], false);
    // Wrappers follow the gyoza, whose number per order moves from day to day (1 to 5, 3 on
    // average): that mix is in their safety stock, relative to use, and not in the noodles'.
    let wrappers = by_id(&wrappers);
    let ratio = |p: &Value| {
        let f = |k: &str| p[k].as_str().unwrap().parse::<f64>().unwrap();
        f("safety_stock") / f("lead_time_demand")
    };
    assert!(
        (wrappers["daily_usage"].as_f64().unwrap() - 15.0).abs() < 2.0,
        "{wrappers}"
    );
    assert!(ratio(&wrappers) > 1.1 * ratio(p), "{wrappers} against {p}");
    // Counted in pieces: ordered in whole pieces.
    let pieces: f64 = wrappers["suggested_quantity"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(pieces > 0.0 && pieces.fract() == 0.0, "{wrappers}");

    // One ingredient, a stricter service level: more safety stock.
    let strict = app
        .post(
            "/api/predictions/inventory",
            json!({"restaurant_id": s.id, "ingredient_id": noodles, "service_level": 0.99}),
            Some(&s.staff),
        )
        .await;
    strict.assert_status(StatusCode::OK);
    let strict_safety: f64 = strict.data()["ingredients"][0]["safety_stock"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(strict_safety >= safety, "{strict_safety} vs {safety}");
    app.post(
        "/api/predictions/inventory",
        json!({"restaurant_id": s.id, "service_level": 0.2}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);

    // The reorder summary: by supplier, with the expiring batch.
    let summary = app
        .get(
            &format!("/api/predictions/inventory/reorder?restaurant_id={}", s.id),
            Some(&s.staff),
        )
        .await;
    summary.assert_status(StatusCode::OK);
    let groups = summary.data()["suppliers"].as_array().unwrap().clone();
    // The wrappers have no supplier: their own group, to order by hand.
    assert_eq!(groups.len(), 2, "{}", summary.data());
    let mill_group = groups
        .iter()
        .find(|g| g["supplier_name"] == "Noodle Mill")
        .unwrap();
    assert_eq!(mill_group["lines"][0]["ingredient_id"], noodles);
    let loose = groups.iter().find(|g| g["supplier_id"].is_null()).unwrap();
    assert_eq!(
        loose["lines"][0]["ingredient_id"],
        wrappers["ingredient_id"]
    );
    // Both run out within the two days' lead time.
    assert_eq!(
        summary.data()["at_risk_of_stockout"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(summary.data()["expiring"].as_array().unwrap().len(), 1);

    // Drafts from the suggestions: managers only, once.
    app.post(
        "/api/predictions/inventory/draft-orders",
        json!({"restaurant_id": s.id}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::FORBIDDEN);
    let drafted = app
        .post(
            "/api/predictions/inventory/draft-orders",
            json!({"restaurant_id": s.id}),
            Some(&s.owner),
        )
        .await;
    drafted.assert_status(StatusCode::CREATED);
    let made = drafted.data()["purchase_orders"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(made.len(), 1);
    assert_eq!(
        drafted.data()["without_supplier"],
        json!([wrappers["ingredient_id"]])
    );
    let po = app
        .get(
            &format!(
                "/api/venues/{}/purchase-orders/{}",
                s.id,
                made[0].as_str().unwrap()
            ),
            Some(&s.staff),
        )
        .await;
    assert_eq!(po.data()["status"], "draft");
    assert_eq!(po.data()["lines"][0]["ingredient_id"], noodles);
    assert_eq!(
        po.data()["lines"][0]["quantity"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap(),
        suggested
    );
    let again = app
        .post(
            "/api/predictions/inventory/draft-orders",
            json!({"restaurant_id": s.id}),
            Some(&s.owner),
        )
        .await;
    again.assert_status(StatusCode::CREATED);
    assert_eq!(again.data()["purchase_orders"].as_array().unwrap().len(), 0);

    // A stranger's restaurant is not found.
    let (_, stranger, _) = app
        .user("nosy@example.com", brigade_app::accounts::Role::Customer)
        .await;
    app.post(
        "/api/predictions/inventory",
        json!({"restaurant_id": s.id}),
        Some(&stranger),
    )
    .await
    .assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn stock_moves_between_two_venues_of_one_manager_batch_by_batch() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let a = shop(&app, &admin, "Group North", json!({})).await;
    let b = shop(&app, &admin, "Group South", json!({})).await;
    let elsewhere = shop(&app, &admin, "Group Euro", json!({"currency": "EUR"})).await;
    // North's owner manages South and the euro venue too.
    for venue in [&b.id, &elsewhere.id] {
        app.post(
            &format!("/api/restaurants/{venue}/members"),
            json!({"email": "owner@group-north.example", "role": "manager"}),
            Some(&admin),
        )
        .await
        .assert_status(StatusCode::CREATED);
    }
    let flour = ingredient(
        &app,
        &a,
        json!({"name": "Flour", "unit": "g", "unit_cost": "0.001"}),
    )
    .await;
    let south_flour = ingredient(
        &app,
        &b,
        json!({"name": "Flour", "unit": "g", "unit_cost": "0.002"}),
    )
    .await;
    ingredient(&app, &b, json!({"name": "Milk", "unit": "ml"})).await;
    let receipts = format!("/api/venues/{}/ingredients/{flour}/receipts", a.id);
    for (quantity, cost, expires) in [
        ("600", "0.001", "2026-06-20"),
        ("1000", "0.002", "2026-06-30"),
    ] {
        app.post(
            &receipts,
            json!({"quantity": quantity, "unit_cost": cost, "expires_on": expires}),
            Some(&a.staff),
        )
        .await
        .assert_status(StatusCode::CREATED);
        app.clock.advance(Duration::minutes(1));
    }
    let path = format!("/api/venues/{}/ingredients/{flour}/transfers", a.id);
    // Staff do not move stock between venues; more than is on hand moves nothing.
    app.post(
        &path,
        json!({"to_venue_id": b.id, "quantity": "100"}),
        Some(&a.staff),
    )
    .await
    .assert_status(StatusCode::FORBIDDEN);
    app.post(
        &path,
        json!({"to_venue_id": b.id, "quantity": "5000"}),
        Some(&a.owner),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "insufficient_stock");
    app.post(
        &path,
        json!({"to_venue_id": elsewhere.id, "quantity": "100"}),
        Some(&a.owner),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "currency_mismatch");
    let milk = app
        .get(&format!("/api/venues/{}/ingredients", b.id), Some(&b.staff))
        .await
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "Milk")
        .unwrap()["id"]
        .clone();
    app.post(
        &path,
        json!({"to_venue_id": b.id, "to_ingredient_id": milk, "quantity": "100"}),
        Some(&a.owner),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "unit_mismatch");

    // 800 g: all of the older batch (600 at 0.001) and 200 of the newer (at 0.002), found by name.
    let moved = app
        .post(
            &path,
            json!({"to_venue_id": b.id, "quantity": "800"}),
            Some(&a.owner),
        )
        .await;
    moved.assert_status(StatusCode::CREATED);
    assert_eq!(moved.data()["from"]["on_hand"], "800");
    assert_eq!(moved.data()["to"]["on_hand"], "800");
    assert_eq!(moved.data()["to"]["id"], south_flour);
    assert_eq!(moved.data()["value"], "1");
    // South's batches keep the costs and use-by days; South's standard cost is not a delivery's.
    let south = app
        .get(
            &format!("/api/venues/{}/ingredients/{south_flour}", b.id),
            Some(&b.staff),
        )
        .await;
    let lots: Vec<(String, String, String)> = south.data()["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["remaining"].as_str().unwrap().to_string(),
                l["unit_cost"].as_str().unwrap().to_string(),
                l["expires_on"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        lots,
        vec![
            ("600".into(), "0.001".into(), "2026-06-20".into()),
            ("200".into(), "0.002".into(), "2026-06-30".into())
        ]
    );
    assert_eq!(south.data()["unit_cost"], "0.002");
    // Both sides are transfer movements under one reference.
    let reference: Uuid = moved.data()["transfer_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let sides = stock_movements::Entity::find()
        .filter(stock_movements::Column::ReferenceId.eq(reference))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(sides.len(), 4);
    assert!(sides.iter().all(|m| m.kind == "transfer"));
    assert_eq!(sides.iter().map(|m| m.quantity).sum::<i64>(), 0);
    // South's day: 800 g in, nothing used; North's usage counts no transfer out as use.
    let usage = app
        .get(
            &format!(
                "/api/venues/{}/ingredients/{south_flour}/usage?days=7",
                b.id
            ),
            Some(&b.staff),
        )
        .await;
    usage.assert_status(StatusCode::OK);
    let days = usage.data().as_array().unwrap();
    assert_eq!(days.len(), 7);
    assert_eq!(days[6]["received"], "800");
    assert_eq!(days[6]["consumed"], "0");
    app.get(
        &format!(
            "/api/venues/{}/ingredients/{south_flour}/usage?days=3",
            b.id
        ),
        Some(&b.staff),
    )
    .await
    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn managers_hear_once_a_day_of_low_stock_and_batches_about_to_expire() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Alert Kitchen", json!({})).await;
    let basil = ingredient(
        &app,
        &s,
        json!({"name": "Basil", "unit": "g", "unit_cost": "0.02", "par_level": "500"}),
    )
    .await;
    let oil = ingredient(
        &app,
        &s,
        json!({"name": "Oil", "unit": "ml", "par_level": "100"}),
    )
    .await;
    let today = app
        .state
        .now()
        .with_timezone(&chrono_tz::Europe::London)
        .date_naive();
    // Basil: 300 g (below its par of 500), and the batch must go by tomorrow; oil: plenty, keeps.
    app.post(
        &format!("/api/venues/{}/ingredients/{basil}/receipts", s.id),
        json!({"quantity": "300", "unit_cost": "0.02", "expires_on": (today + Duration::days(1)).to_string(), "lot": "B-9"}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::CREATED);
    app.post(
        &format!("/api/venues/{}/ingredients/{oil}/receipts", s.id),
        json!({"quantity": "5000", "unit_cost": "0.003"}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::CREATED);
    let venue: Uuid = s.id.parse().unwrap();
    let sent = brigade_app::inventory::alerts::check_venue(&app.state, venue)
        .await
        .unwrap();
    assert_eq!(sent, 2, "the owner hears of the low basil and its batch");
    let inbox = app.get("/api/notifications", Some(&s.owner)).await;
    let titles: Vec<String> = inbox.data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_string())
        .collect();
    assert!(titles.contains(&"Basil is low".to_string()), "{titles:?}");
    assert!(
        titles.contains(&"Basil must be used by tomorrow".to_string()),
        "{titles:?}"
    );
    // Staff are not told; an hour later nothing is repeated.
    let staff_inbox = app.get("/api/notifications", Some(&s.staff)).await;
    assert_eq!(staff_inbox.data()["items"].as_array().unwrap().len(), 0);
    app.clock.advance(Duration::hours(1));
    assert_eq!(
        brigade_app::inventory::alerts::check_venue(&app.state, venue)
            .await
            .unwrap(),
        0
    );
    // A day later, still low: told again, and the batch is now due today.
    app.clock.advance(Duration::days(1));
    brigade_app::inventory::alerts::check_all(&app.state)
        .await
        .unwrap();
    // (The owner's access token has expired by now: a fresh one.)
    let owner = app.token_for("owner@alert-kitchen.example").await;
    let again = app.get("/api/notifications", Some(&owner)).await;
    let titles: Vec<String> = again.data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(titles.len(), 4, "{titles:?}");
    assert!(
        titles.contains(&"Basil must be used today".to_string()),
        "{titles:?}"
    );
}
