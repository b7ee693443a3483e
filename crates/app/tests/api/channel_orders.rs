//! Channel orders and order analytics through the API: the seed's order JSON in, idempotency, late and
//! duplicate events, bad input, signatures, the three queries against answers worked out by hand, and the
//! rollups equal to a recomputation from the raw events after random, late and duplicate events.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use brigade_app::analytics::rollup;
use hmac::{Hmac, Mac};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::harness::TestApp;

fn order(id: &str, brand: &str, created: &str, phone: &str, history: &[(i64, &str)]) -> Value {
    let history: Vec<Value> = history
        .iter()
        .map(|(code, at)| json!({"status": code, "timestamp": at}))
        .collect();
    json!({
        "_id": id,
        "created": created,
        "account": "acc-1",
        "brandId": brand,
        "channelOrderId": format!("CH-{id}"),
        "customer": {"name": "John Doe", "phoneNumber": phone},
        "deliveryAddress": {"city": "Helsinki", "street": "Huuvatie 1", "postalCode": "00100"},
        "items": [{"name": "Hawaii Burger", "plu": "CAT1-0001", "quantity": 1}],
        "status": history.last().map(|h| h["status"].clone()).unwrap_or(json!(1)),
        "statusHistory": history,
    })
}

/// Let the ingested events settle, then roll them up.
async fn roll_up(app: &TestApp) -> rollup::RollupRun {
    app.clock
        .advance(chrono::Duration::seconds(rollup::SETTLE_SECONDS + 1));
    rollup::catch_up(&app.state).await.expect("rollup")
}

#[tokio::test]
async fn the_seed_order_is_stored_once_however_often_it_is_sent() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let seed = json!({
      "_id": "60f87ea2a52dad8a3fa4860",
      "created": "2021-07-22T20:08:02Z",
      "account": "60bfc6dc4887c9851d5a0246",
      "brandId": "60bfc6dc4887c9851d5a0245",
      "channelOrderId": "TEST1626898082",
      "customer": {"name": "John Doe", "phoneNumber": "+123456789"},
      "deliveryAddress": {"city": "Helsinki", "street": "Huuvatie 1", "postalCode": "00100"},
      "pickupTime": "2021-07-22T20:28:02Z",
      "items": [
        {"name": "Hawaii Burger", "plu": "CAT1-0001", "quantity": 1},
        {"name": "Sushi Set Large", "plu": "CAT2-0001", "quantity": 1}
      ],
      "status": 1,
      "statusHistory": [
        {"status": 4, "timestamp": "2021-07-22T20:08:02Z"},
        {"status": 1, "timestamp": "2021-07-22T20:10:00Z"}
      ]
    });
    let first = app
        .post("/api/channel-orders", seed.clone(), Some(&admin))
        .await;
    first.assert_status(StatusCode::CREATED);
    assert_eq!(first.data()["created"], 1);
    assert_eq!(first.data()["events_stored"], 2);
    assert_eq!(first.data()["restaurants_created"], 1);
    let order_id = first.data()["orders"][0]["order_id"].clone();

    let again = app
        .post("/api/channel-orders", seed.clone(), Some(&admin))
        .await;
    again.assert_status(StatusCode::OK);
    assert_eq!(again.data()["created"], 0);
    assert_eq!(again.data()["updated"], 1);
    assert_eq!(again.data()["events_stored"], 0);
    assert_eq!(again.data()["duplicate_events"], 2);
    assert_eq!(again.data()["orders"][0]["order_id"], order_id);

    // An update in a batch, beside a new order: the update adds its new event only.
    let mut update = seed.clone();
    update["status"] = json!(20);
    update["statusHistory"]
        .as_array_mut()
        .unwrap()
        .push(json!({"status": 20, "timestamp": "2021-07-22T20:12:00Z"}));
    let other = order(
        "second",
        "60bfc6dc4887c9851d5a0245",
        "2021-07-22T21:00:00Z",
        "00358 40 123-4567",
        &[(10, "2021-07-22T21:00:00Z")],
    );
    let batch = app
        .post("/api/channel-orders", json!([update, other]), Some(&admin))
        .await;
    batch.assert_status(StatusCode::CREATED);
    assert_eq!(batch.data()["created"], 1);
    assert_eq!(batch.data()["updated"], 1);
    assert_eq!(batch.data()["events_stored"], 2);
    assert_eq!(batch.data()["duplicate_events"], 2);

    let view = app
        .get("/api/channel-orders/60f87ea2a52dad8a3fa4860", Some(&admin))
        .await;
    view.assert_status(StatusCode::OK);
    let data = view.data();
    assert_eq!(data["order"]["id"], order_id);
    assert_eq!(data["order"]["source"], "channel");
    assert_eq!(data["order"]["status"], "CONFIRMED");
    assert_eq!(data["status_code"], 20);
    assert_eq!(data["status_label"], "accepted");
    assert_eq!(data["customer_phone"], "+123456789");
    assert_eq!(data["delivery_address"]["city"], "Helsinki");
    assert_eq!(data["order"]["items"].as_array().unwrap().len(), 2);
    let codes: Vec<i64> = data["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, vec![4, 1, 20]);
    let second = app.get("/api/channel-orders/second", Some(&admin)).await;
    assert_eq!(second.data()["customer_phone"], "+358401234567");
}

#[tokio::test]
async fn simultaneous_batches_creating_the_same_restaurants_all_succeed() {
    // Each batch names the same 200 unknown brands in its own order, and customers shared between
    // batches; stored at once they must neither deadlock nor create anything twice.
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let mut rng = StdRng::seed_from_u64(7);
    let brands: Vec<String> = (0..200).map(|b| format!("race-brand-{b}")).collect();
    let mut sent = Vec::new();
    for batch in 0..16 {
        let mut order_brands = brands.clone();
        for i in (1..order_brands.len()).rev() {
            order_brands.swap(i, rng.random_range(0..=i));
        }
        let orders: Vec<Value> = order_brands
            .iter()
            .enumerate()
            .map(|(i, brand)| {
                order(
                    &format!("race-{batch}-{i}"),
                    brand,
                    "2026-06-01T10:00:00Z",
                    &format!("+3581234{:03}", (batch * 7 + i) % 20),
                    &[(10, "2026-06-01T10:00:00Z"), (20, "2026-06-01T10:02:00Z")],
                )
            })
            .collect();
        sent.push(Value::Array(orders));
    }
    let answers = futures::future::join_all(
        sent.into_iter()
            .map(|batch| app.post("/api/channel-orders", batch, Some(&admin))),
    )
    .await;
    for answer in &answers {
        assert!(
            answer.status.is_success(),
            "{} {}",
            answer.status,
            answer.body
        );
    }
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let restaurants = brigade_app::entities::restaurants::Entity::find()
        .filter(brigade_app::entities::restaurants::Column::ExternalId.starts_with("race-brand-"))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(restaurants, 200);
    let orders = brigade_app::entities::orders::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(orders, 3_200);
}

#[tokio::test]
async fn text_with_quotes_backslashes_and_other_scripts_is_stored_as_sent() {
    // Ingest writes its rows as one JSON value per statement: what it escapes must come back unchanged.
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let mut o = order(
        "quoted-1",
        "quoted-brand",
        "2021-07-22T20:00:00Z",
        "+358401111111",
        &[(10, "2021-07-22T20:00:00Z")],
    );
    let item = "Pizza \"Quattro\" \\ Ñandú 🍕 O'Brien's";
    let street = "Huuvatie 1 \"B\" \\ \u{7}end";
    o["items"] = json!([{"name": item, "plu": "P-'1'", "quantity": 2}]);
    // A NUL character cannot be stored (PostgreSQL refuses it, SQLite cuts the text): refused, named.
    o["deliveryAddress"] =
        json!({"city": "Tōkyō", "street": "Huuvatie \u{0}1", "postalCode": "00100"});
    let refused = app
        .post("/api/channel-orders", json!([o]), Some(&admin))
        .await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(
        !refused
            .field_errors("[0].deliveryAddress.street")
            .is_empty(),
        "{}",
        refused.text
    );
    o["deliveryAddress"] = json!({"city": "Tōkyō", "street": street, "postalCode": "00100"});
    app.post("/api/channel-orders", json!([o]), Some(&admin))
        .await
        .assert_status(StatusCode::CREATED);
    let view = app.get("/api/channel-orders/quoted-1", Some(&admin)).await;
    view.assert_status(StatusCode::OK);
    let data = view.data();
    assert_eq!(data["order"]["items"][0]["name"], item);
    assert_eq!(data["order"]["items"][0]["quantity"], 2);
    assert_eq!(data["delivery_address"]["street"], street);
    assert_eq!(data["delivery_address"]["city"], "Tōkyō");
}

#[tokio::test]
async fn late_duplicate_and_out_of_order_events_are_stored_once_in_time_order() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.post(
        "/api/channel-orders",
        order(
            "o-1",
            "brand-1",
            "2024-03-01T12:00:00Z",
            "+3584000001",
            &[(10, "2024-03-01T12:00:00Z")],
        ),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::CREATED);
    let status = |code: i64, at: &str| json!({"status": code, "timestamp": at});
    let path = "/api/channel-orders/o-1/status";

    let r = app
        .post(path, status(50, "2024-03-01T12:10:00Z"), Some(&admin))
        .await;
    r.assert_status(StatusCode::OK);
    assert_eq!(r.data()["stored"], true);
    assert_eq!(r.data()["status"], "PREPARING");
    // Late: happened before the one already stored; the order stays PREPARING.
    let r = app
        .post(path, status(20, "2024-03-01T12:02:00Z"), Some(&admin))
        .await;
    assert_eq!(r.data()["stored"], true);
    assert_eq!(r.data()["status"], "PREPARING");
    // Twice.
    let r = app
        .post(path, status(50, "2024-03-01T12:10:00Z"), Some(&admin))
        .await;
    r.assert_status(StatusCode::OK);
    assert_eq!(r.data()["stored"], false);
    // An unknown code is stored, not refused.
    let r = app
        .post(path, status(77, "2024-03-01T12:12:00Z"), Some(&admin))
        .await;
    assert_eq!(r.data()["stored"], true);
    assert_eq!(r.data()["status"], "UNKNOWN");
    // The order status machine does not move an order out of its channel's own state: a clear 409.
    let order_id = app
        .get("/api/channel-orders/o-1", Some(&admin))
        .await
        .data()["order"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let moved = app
        .put(
            &format!("/api/orders/{order_id}/status"),
            json!({"status": "COMPLETED"}),
            Some(&admin),
        )
        .await;
    moved.assert_error(StatusCode::CONFLICT, "invalid_transition");
    assert_eq!(moved.body["data"]["status"], "UNKNOWN");
    let r = app
        .post(path, status(90, "2024-03-01T12:20:00Z"), Some(&admin))
        .await;
    assert_eq!(r.data()["status"], "COMPLETED");
    // After the terminal status, and before the order existed: refused, nothing changes.
    app.post(path, status(50, "2024-03-01T12:25:00Z"), Some(&admin))
        .await
        .assert_error(StatusCode::CONFLICT, "order_conflict");
    let early = app
        .post(path, status(20, "2024-03-01T11:00:00Z"), Some(&admin))
        .await;
    early.assert_error(StatusCode::CONFLICT, "order_conflict");
    assert!(!early.field_errors("timestamp").is_empty());
    app.post(path, status(50, "2024-03-01T12:20:00Z"), Some(&admin))
        .await
        .assert_error(StatusCode::CONFLICT, "order_conflict");
    app.post(
        "/api/channel-orders/nope/status",
        status(50, "2024-03-01T12:20:00Z"),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");

    let view = app.get("/api/channel-orders/o-1", Some(&admin)).await;
    let events: Vec<(i64, String)> = view.data()["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["code"].as_i64().unwrap(),
                e["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        events,
        vec![
            (10, "PENDING".into()),
            (20, "CONFIRMED".into()),
            (50, "PREPARING".into()),
            (77, "UNKNOWN".into()),
            (90, "COMPLETED".into()),
        ]
    );
    assert_eq!(view.data()["order"]["status"], "COMPLETED");

    roll_up(&app).await;
    let codes = app
        .get("/api/channel-orders/status-codes", Some(&admin))
        .await;
    codes.assert_status(StatusCode::OK);
    assert_eq!(codes.data()["version"], 1);
    assert_eq!(codes.data()["codes"].as_array().unwrap().len(), 19);
    assert_eq!(
        codes.data()["unknown_seen"],
        json!([{"code": 77, "events": 1}])
    );

    // A new mapping version knows 77; events from now on use it, stored ones keep their state.
    let v2 = app
        .put(
            "/api/channel-orders/status-codes",
            json!({"codes": [
                {"code": 10, "label": "new", "state": "PENDING"},
                {"code": 77, "label": "courier assigned", "state": "READY"},
                {"code": 90, "label": "finalized", "state": "COMPLETED"}
            ]}),
            Some(&admin),
        )
        .await;
    v2.assert_status(StatusCode::CREATED);
    assert_eq!(v2.data()["version"], 2);
    app.post(
        "/api/channel-orders",
        order(
            "o-2",
            "brand-1",
            "2024-03-01T13:00:00Z",
            "+3584000001",
            &[(10, "2024-03-01T13:00:00Z"), (77, "2024-03-01T13:05:00Z")],
        ),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::CREATED);
    let o2 = app.get("/api/channel-orders/o-2", Some(&admin)).await;
    assert_eq!(o2.data()["order"]["status"], "READY");
    let o1 = app.get("/api/channel-orders/o-1", Some(&admin)).await;
    assert_eq!(o1.data()["events"][3]["status"], "UNKNOWN");
}

#[tokio::test]
async fn bad_orders_are_refused_with_the_field_named_and_nothing_is_stored() {
    let app = TestApp::spawn_with(|c| c.channels.create_unknown_restaurants = false).await;
    let admin = app.admin().await;
    app.restaurant(
        &admin,
        json!({"name": "Known", "external_id": "known", "timezone": "Europe/Helsinki"}),
    )
    .await;
    let good = order(
        "good",
        "known",
        "2024-03-01T12:00:00Z",
        "+3584000001",
        &[(10, "2024-03-01T12:00:00Z")],
    );
    let mut negative = order(
        "neg",
        "known",
        "2024-03-01T12:00:00Z",
        "+3584000002",
        &[(10, "2024-03-01T12:00:00Z")],
    );
    negative["items"][0]["quantity"] = json!(-2);
    let mut no_time = order(
        "no-time",
        "known",
        "2024-03-01T12:00:00Z",
        "+3584000003",
        &[],
    );
    no_time["statusHistory"] = json!([{"status": 10}]);
    no_time["status"] = json!(10);
    let contradicting = order(
        "contra",
        "known",
        "2024-03-01T12:00:00Z",
        "+3584000004",
        &[(10, "2024-03-01T12:00:00Z"), (20, "2024-03-01T12:05:00Z")],
    );
    let mut contradicting = contradicting;
    contradicting["status"] = json!(10);
    let mut no_created = order(
        "no-created",
        "known",
        "2024-03-01T12:00:00Z",
        "+3584000005",
        &[],
    );
    no_created.as_object_mut().unwrap().remove("created");

    let r = app
        .post(
            "/api/channel-orders",
            json!([good, negative, no_time, contradicting, no_created]),
            Some(&admin),
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(!r.field_errors("[1].items[0].quantity").is_empty());
    assert!(!r.field_errors("[2].statusHistory[0].timestamp").is_empty());
    assert!(!r.field_errors("[3].status").is_empty());
    assert!(!r.field_errors("[4].created").is_empty());
    assert!(r.field_errors("[0]._id").is_empty());
    app.get("/api/channel-orders/good", Some(&admin))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");

    // Unknown restaurants are refused when so configured.
    let unknown = order(
        "u",
        "nobody",
        "2024-03-01T12:00:00Z",
        "+3584000001",
        &[(10, "2024-03-01T12:00:00Z")],
    );
    let r = app.post("/api/channel-orders", unknown, Some(&admin)).await;
    assert!(!r.field_errors("brandId").is_empty());

    // Two codes at one instant contradict each other; a bad phone number is named.
    let mut same_instant = order(
        "same",
        "known",
        "2024-03-01T12:00:00Z",
        "+3584000001",
        &[(10, "2024-03-01T12:00:00Z"), (20, "2024-03-01T12:00:00Z")],
    );
    same_instant["status"] = json!(20);
    let r = app
        .post("/api/channel-orders", same_instant, Some(&admin))
        .await;
    assert!(!r.field_errors("statusHistory[1].timestamp").is_empty());
    let mut phone = good_order();
    phone["customer"]["phoneNumber"] = json!("call me");
    let r = app.post("/api/channel-orders", phone, Some(&admin)).await;
    assert!(!r.field_errors("customer.phoneNumber").is_empty());

    // Malformed bodies.
    let raw = app
        .send(
            Request::post("/api/channel-orders")
                .header(header::AUTHORIZATION, format!("Bearer {admin}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{\"_id\": "))
                .unwrap(),
        )
        .await;
    raw.assert_status(StatusCode::BAD_REQUEST);
    app.post("/api/channel-orders", json!(42), Some(&admin))
        .await
        .assert_status(StatusCode::BAD_REQUEST);

    // A stored order cannot be changed by an update that contradicts it.
    app.post("/api/channel-orders", good_order(), Some(&admin))
        .await
        .assert_status(StatusCode::CREATED);
    let mut moved = good_order();
    moved["created"] = json!("2024-03-01T11:00:00Z");
    moved["statusHistory"] = json!([{"status": 90, "timestamp": "2024-03-01T12:30:00Z"}]);
    moved["status"] = json!(90);
    let r = app.post("/api/channel-orders", moved, Some(&admin)).await;
    assert!(!r.field_errors("created").is_empty());
    let view = app.get("/api/channel-orders/good", Some(&admin)).await;
    assert_eq!(view.data()["events"].as_array().unwrap().len(), 1);
    assert_eq!(view.data()["order"]["status"], "PENDING");

    // Customers and KAM-less callers cannot send orders.
    let (_, customer, _) = app
        .user("eater@example.com", brigade_app::accounts::Role::Customer)
        .await;
    app.post("/api/channel-orders", good_order(), Some(&customer))
        .await
        .assert_status(StatusCode::FORBIDDEN);
}

fn good_order() -> Value {
    order(
        "good",
        "known",
        "2024-03-01T12:00:00Z",
        "+3584000001",
        &[(10, "2024-03-01T12:00:00Z")],
    )
}

#[tokio::test]
async fn a_signing_account_needs_a_valid_signature() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let secret = "a-long-shared-secret";
    // Unsigned while the account has no secret (and this process has noted that it has none)...
    let before = order(
        "before",
        "b",
        "2024-03-01T11:00:00Z",
        "+3584000001",
        &[(10, "2024-03-01T11:00:00Z")],
    );
    app.post("/api/channel-orders", before, Some(&admin))
        .await
        .assert_status(StatusCode::CREATED);
    // ...then refused unsigned from the moment a secret is set.
    let set_secret = |secret: Option<&str>| {
        let (app, admin) = (&app, &admin);
        let secret = secret.map(str::to_string);
        async move {
            app.put(
                "/api/channel-accounts/acc-1",
                json!({ "signing_secret": secret }),
                Some(admin),
            )
            .await
            .assert_status(StatusCode::OK);
        }
    };
    set_secret(Some(secret)).await;
    let body = order(
        "signed",
        "b",
        "2024-03-01T12:00:00Z",
        "+3584000001",
        &[(10, "2024-03-01T12:00:00Z")],
    )
    .to_string();
    let send = |signature: Option<String>| {
        let mut request = Request::post("/api/channel-orders")
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(sig) = signature {
            request = request.header("X-Signature", sig);
        }
        request.body(Body::from(body.clone())).unwrap()
    };
    app.send(send(None))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_signature");
    app.send(send(Some("sha256=00ff".into())))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_signature");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    app.send(send(Some(good)))
        .await
        .assert_status(StatusCode::CREATED);
    // Cleared: unsigned requests are taken again at once.
    set_secret(None).await;
    app.send(send(None)).await.assert_status(StatusCode::OK);
}

/// Three orders in Helsinki (UTC+3 in July), worked out by hand:
/// A (customer P1): 10@20:00 20@20:02 50@20:05 70@20:14 90@20:20
/// B (P1):          10@20:10 20@20:11 50@20:15 110@20:16
/// C (P2):          10@21:05 20@21:09
#[tokio::test]
async fn a_half_hour_zone_is_bucketed_by_its_own_hours_and_days() {
    // Asia/Kolkata is UTC+05:30: local midnight falls at 18:30 UTC, in the middle of a UTC hour.
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.restaurant(
        &admin,
        json!({"name": "Bengaluru Dosa", "external_id": "blr", "timezone": "Asia/Kolkata"}),
    )
    .await;
    // Created 23:50 local on the 22nd, confirmed 00:10 local on the 23rd, completed 00:40.
    let a = order(
        "K",
        "blr",
        "2021-07-22T18:20:00Z",
        "+919800000001",
        &[
            (10, "2021-07-22T18:20:00Z"),
            (20, "2021-07-22T18:40:00Z"),
            (90, "2021-07-22T19:10:00Z"),
        ],
    );
    app.post("/api/channel-orders", json!([a]), Some(&admin))
        .await
        .assert_status(StatusCode::CREATED);
    app.clock.advance(chrono::Duration::seconds(10));
    let run = app
        .post("/api/analytics/rollups", json!({}), Some(&admin))
        .await;
    assert_eq!(run.data()["events"], 3);

    let statuses = |day: &str, next: &str| {
        let app = &app;
        let admin = &admin;
        let query = format!("/api/analytics/time-in-status?brand=blr&from={day}&to={next}");
        async move {
            let r = app.get(&query, Some(admin)).await;
            r.assert_status(StatusCode::OK);
            r.data()["statuses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["status"].as_str().unwrap().to_string(),
                        s["entered"].clone(),
                        s["avg_seconds"].clone(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    // The 22nd (local) holds only the order's first 20 minutes, the 23rd the rest.
    assert_eq!(
        statuses("2021-07-22", "2021-07-23").await,
        vec![("PENDING".to_string(), json!(1), json!(1200.0))]
    );
    assert_eq!(
        statuses("2021-07-23", "2021-07-24").await,
        vec![
            ("CONFIRMED".to_string(), json!(1), json!(1800.0)),
            ("COMPLETED".to_string(), json!(1), Value::Null)
        ]
    );
    let hours = app
        .get(
            "/api/analytics/throughput?brand=blr&from=2021-07-22&to=2021-07-24",
            Some(&admin),
        )
        .await;
    assert_eq!(
        hours.data()["buckets"],
        json!([
            {"start": "2021-07-22T23:00:00", "created": 1, "finished": 0},
            {"start": "2021-07-23T00:00:00", "created": 0, "finished": 1}
        ])
    );
    let days = app
        .get(
            "/api/analytics/throughput?brand=blr&from=2021-07-20&to=2021-07-25&interval=day",
            Some(&admin),
        )
        .await;
    assert_eq!(
        days.data()["buckets"],
        json!([
            {"start": "2021-07-22", "created": 1, "finished": 0},
            {"start": "2021-07-23", "created": 0, "finished": 1}
        ])
    );
    // In UTC the restaurant's hours keep their half-hour starts.
    let utc = app
        .get(
            "/api/analytics/throughput?brand=blr&from=2021-07-22&to=2021-07-24&tz=utc",
            Some(&admin),
        )
        .await;
    assert_eq!(
        utc.data()["buckets"],
        json!([
            {"start": "2021-07-22T17:30:00Z", "created": 1, "finished": 0},
            {"start": "2021-07-22T18:30:00Z", "created": 0, "finished": 1}
        ])
    );
}

#[tokio::test]
async fn queries_answer_what_was_worked_out_by_hand() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let restaurant = app
        .restaurant(
            &admin,
            json!({"name": "Helsinki Burgers", "external_id": "hki", "timezone": "Europe/Helsinki"}),
        )
        .await;
    let t = |hm: &str| format!("2021-07-22T{hm}:00Z");
    let a = order(
        "A",
        "hki",
        &t("20:00"),
        "+358401111111",
        &[
            (10, &t("20:00")),
            (20, &t("20:02")),
            (50, &t("20:05")),
            (70, &t("20:14")),
            (90, &t("20:20")),
        ],
    );
    let b = order(
        "B",
        "hki",
        &t("20:10"),
        "+358 40 111 1111",
        &[
            (10, &t("20:10")),
            (20, &t("20:11")),
            (50, &t("20:15")),
            (110, &t("20:16")),
        ],
    );
    let c = order(
        "C",
        "hki",
        &t("21:05"),
        "+358402222222",
        &[(10, &t("21:05")), (20, &t("21:09"))],
    );
    app.post("/api/channel-orders", json!([a, b, c]), Some(&admin))
        .await
        .assert_status(StatusCode::CREATED);
    let run = app
        .post("/api/analytics/rollups", json!({}), Some(&admin))
        .await;
    run.assert_status(StatusCode::OK);
    // An explicit run right after ingest includes everything committed before it (no settling wait).
    assert_eq!(run.data()["events"], 11, "{}", run.text);
    let run = app
        .post("/api/analytics/rollups", json!({}), Some(&admin))
        .await;
    assert_eq!(run.data()["events"], 0, "nothing new");

    let expected = json!([
        {"status": "PENDING", "code": null, "entered": 3, "timed": 3, "avg_seconds": 140.0, "median_seconds": 120.0, "p90_seconds": 240.0},
        {"status": "CONFIRMED", "code": null, "entered": 3, "timed": 2, "avg_seconds": 210.0, "median_seconds": 180.0, "p90_seconds": 240.0},
        {"status": "PREPARING", "code": null, "entered": 2, "timed": 2, "avg_seconds": 300.0, "median_seconds": 60.0, "p90_seconds": 540.0},
        {"status": "READY", "code": null, "entered": 1, "timed": 1, "avg_seconds": 360.0, "median_seconds": 360.0, "p90_seconds": 360.0},
        {"status": "COMPLETED", "code": null, "entered": 1, "timed": 0, "avg_seconds": null, "median_seconds": null, "p90_seconds": null},
        {"status": "CANCELLED", "code": null, "entered": 1, "timed": 0, "avg_seconds": null, "median_seconds": null, "p90_seconds": null}
    ]);
    // From the hourly rollups (instants), and from the daily ones (whole local days).
    for query in [
        format!("restaurant_id={restaurant}&from=2021-07-22T00:00:00Z&to=2021-07-23T12:00:00Z"),
        "brand=hki&from=2021-07-22&to=2021-07-24".to_string(),
        "from=2021-07-22&to=2021-07-24&tz=utc".to_string(),
    ] {
        let r = app
            .get(
                &format!("/api/analytics/time-in-status?{query}"),
                Some(&admin),
            )
            .await;
        r.assert_status(StatusCode::OK);
        assert_eq!(r.data()["statuses"], expected, "{query}");
    }
    // A range holding only C's hour.
    let r = app
        .get(
            "/api/analytics/time-in-status?brand=hki&from=2021-07-22T21:00:00Z&to=2021-07-22T22:00:00Z",
            Some(&admin),
        )
        .await;
    assert_eq!(r.data()["statuses"][0]["entered"], 1);
    assert_eq!(r.data()["statuses"][0]["avg_seconds"], 240.0);
    let by_code = app
        .get(
            "/api/analytics/time-in-status?brand=hki&from=2021-07-22&to=2021-07-24&by=code",
            Some(&admin),
        )
        .await;
    let cancelled = by_code.data()["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == 110)
        .cloned()
        .unwrap();
    assert_eq!(cancelled["status"], "CANCELLED");
    assert_eq!(cancelled["entered"], 1);

    let local = app
        .get(
            "/api/analytics/throughput?brand=hki&from=2021-07-22&to=2021-07-24",
            Some(&admin),
        )
        .await;
    local.assert_status(StatusCode::OK);
    assert_eq!(
        local.data()["buckets"],
        json!([
            {"start": "2021-07-22T23:00:00", "created": 2, "finished": 2},
            {"start": "2021-07-23T00:00:00", "created": 1, "finished": 0}
        ])
    );
    let utc = app
        .get(
            "/api/analytics/throughput?brand=hki&from=2021-07-22&to=2021-07-24&tz=utc",
            Some(&admin),
        )
        .await;
    assert_eq!(
        utc.data()["buckets"],
        json!([
            {"start": "2021-07-22T20:00:00Z", "created": 2, "finished": 2},
            {"start": "2021-07-22T21:00:00Z", "created": 1, "finished": 0}
        ])
    );
    let days = app
        .get(
            "/api/analytics/throughput?brand=hki&from=2021-07-20&to=2021-07-25&interval=day",
            Some(&admin),
        )
        .await;
    assert_eq!(
        days.data()["buckets"],
        json!([
            {"start": "2021-07-22", "created": 2, "finished": 2},
            {"start": "2021-07-23", "created": 1, "finished": 0}
        ])
    );
    let utc_days = app
        .get(
            "/api/analytics/throughput?brand=hki&from=2021-07-20&to=2021-07-25&interval=day&tz=utc",
            Some(&admin),
        )
        .await;
    assert_eq!(
        utc_days.data()["buckets"],
        json!([{"start": "2021-07-22", "created": 3, "finished": 2}])
    );

    let customers = app
        .get(
            &format!("/api/analytics/customers?restaurant_id={restaurant}"),
            Some(&admin),
        )
        .await;
    customers.assert_status(StatusCode::OK);
    let data = customers.data();
    assert_eq!(data["customers"], 2);
    assert_eq!(data["orders"], 3);
    assert_eq!(data["repeat_customers"], 1);
    assert_eq!(data["average_orders"], 1.5);
    assert_eq!(
        data["distribution"],
        json!([{"orders": 1, "customers": 1}, {"orders": 2, "customers": 1}])
    );
    assert_eq!(data["top"][0]["phone"], "+358401111111");
    assert_eq!(data["top"][0]["orders"], 2);
    assert_eq!(data["top"][0]["first_order_at"], "2021-07-22T20:00:00Z");
    assert_eq!(data["top"][0]["last_order_at"], "2021-07-22T20:10:00Z");
    assert_eq!(data["top"][0]["value"], Value::Null);
    // Over all restaurants (grouped per customer) the same.
    let all = app.get("/api/analytics/customers", Some(&admin)).await;
    assert_eq!(all.data()["distribution"], data["distribution"]);
    assert_eq!(all.data()["top"][0]["orders"], 2);
    // A cohort: customers whose first order came after 21:00.
    let cohort = app
        .get(
            "/api/analytics/customers?brand=hki&from=2021-07-22T21:00:00Z&to=2021-07-23T00:00:00Z",
            Some(&admin),
        )
        .await;
    assert_eq!(cohort.data()["customers"], 1);
    assert_eq!(cohort.data()["top"][0]["phone"], "+358402222222");

    // Bad options are named.
    let r = app
        .get(
            "/api/analytics/throughput?brand=hki&interval=week",
            Some(&admin),
        )
        .await;
    assert!(!r.field_errors("interval").is_empty());
    let r = app
        .get("/api/analytics/time-in-status?from=yesterday", Some(&admin))
        .await;
    assert!(!r.field_errors("from").is_empty());
    let r = app
        .get(
            "/api/analytics/time-in-status?from=2021-07-24&to=2021-07-22",
            Some(&admin),
        )
        .await;
    r.assert_status(StatusCode::OK);
    assert_eq!(r.data()["statuses"], json!([]));
    assert!(
        r.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("empty"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn rollups_equal_a_recomputation_after_random_late_and_duplicate_events() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.restaurant(
        &admin,
        json!({"name": "East", "external_id": "east", "timezone": "America/New_York"}),
    )
    .await;
    app.restaurant(
        &admin,
        json!({"name": "West", "external_id": "west", "timezone": "Asia/Kolkata"}),
    )
    .await;
    let mut dice = StdRng::seed_from_u64(20261124);
    // Orders around the autumn DST change in New York (2021-11-07 06:00Z).
    let base = chrono::DateTime::parse_from_rfc3339("2021-11-06T20:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let codes = [10, 20, 40, 50, 60, 70, 80];
    let mut held_back: Vec<(String, i64, String)> = Vec::new();
    for round in 0..4 {
        let mut batch = Vec::new();
        for n in 0..15 {
            let id = format!("r{round}-{n}");
            let created = base + chrono::Duration::minutes(dice.random_range(0..24 * 60) as i64);
            let mut at = created;
            let mut history = Vec::new();
            for code in codes
                .iter()
                .take(1 + dice.random_range(0..codes.len() as u64) as usize)
            {
                history.push((*code, at));
                at += chrono::Duration::seconds(30 + dice.random_range(0..2_400) as i64);
            }
            if dice.random_range(0..3) == 0 {
                history.push((
                    if dice.random_range(0..2) == 0 {
                        90
                    } else {
                        110
                    },
                    at,
                ));
            }
            // Keep some events back to send late, after later ones.
            let mut sent = Vec::new();
            for (i, (code, at)) in history.iter().enumerate() {
                if i > 0 && i + 1 < history.len() && dice.random_range(0..4) == 0 {
                    held_back.push((id.clone(), *code, at.to_rfc3339()));
                } else {
                    sent.push(json!({"status": code, "timestamp": at.to_rfc3339()}));
                }
            }
            let phone = format!("+35840{:07}", dice.random_range(0..12));
            batch.push(json!({
                "_id": id,
                "created": created.to_rfc3339(),
                "account": "acc",
                "brandId": if dice.random_range(0..2) == 0 { "east" } else { "west" },
                "customer": {"phoneNumber": phone},
                "items": [{"plu": "X", "quantity": 1}],
                "status": sent.last().unwrap()["status"].clone(),
                "statusHistory": sent,
            }));
        }
        // Send the batch, and part of it again (duplicates).
        app.post("/api/channel-orders", json!(batch.clone()), Some(&admin))
            .await
            .assert_status(StatusCode::CREATED);
        app.post(
            "/api/channel-orders",
            json!(batch[..5].to_vec()),
            Some(&admin),
        )
        .await
        .assert_status(StatusCode::OK);
        if round % 2 == 1 {
            roll_up(&app).await;
        }
        // Late events of earlier rounds, some twice.
        for (id, code, at) in std::mem::take(&mut held_back) {
            for _ in 0..(1 + dice.random_range(0..2)) {
                app.post(
                    &format!("/api/channel-orders/{id}/status"),
                    json!({"status": code, "timestamp": at}),
                    Some(&admin),
                )
                .await
                .assert_status(StatusCode::OK);
            }
        }
        if round == 2 {
            roll_up(&app).await;
        }
    }
    let run = roll_up(&app).await;
    assert!(run.watermark > 0);
    let stored = rollup::stored(&app.state.db).await.unwrap();
    let recomputed = rollup::recompute(&app.state.db).await.unwrap();
    assert!(!stored.status.is_empty());
    assert!(stored.customers.len() > 1);
    assert_eq!(stored.throughput, recomputed.throughput);
    assert_eq!(stored.customers, recomputed.customers);
    assert_eq!(stored.totals, recomputed.totals);
    assert_eq!(stored.counts, recomputed.counts);
    assert!(stored.counts.keys().any(|orders| *orders > 1));
    assert_eq!(stored.status, recomputed.status);

    // Rebuilding from scratch gives the same rows.
    rollup::rebuild(&app.state).await.unwrap();
    assert_eq!(rollup::stored(&app.state.db).await.unwrap(), recomputed);

    // So does rebuilding in runs of a few events: many runs, their customers gathered over all of
    // them and written beside the last run's status rows.
    rollup::forget(&app.state).await.unwrap();
    let run = rollup::catch_up_in_batches(&app.state, 7).await.unwrap();
    assert!(run.batches > 10, "{} runs", run.batches);
    assert_eq!(rollup::stored(&app.state.db).await.unwrap(), recomputed);

    // A range asked in UTC is read from each zone's whole local days (New York's 25-hour one
    // included, Kolkata's starting at 18:30Z) and the hours around them. It counts what the same range
    // cut into 12-hour pieces counts, which no local day fits in and which are read hour by hour.
    let hour = |h: i64| base + chrono::Duration::hours(h);
    for (from, to) in [
        (hour(-20), hour(60)),
        (hour(-3), hour(37)),
        (hour(4), hour(52)),
    ] {
        let ask = |from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>| {
            let app = &app;
            let admin = admin.clone();
            async move {
                let r = app
                    .get(
                        &format!(
                            "/api/analytics/time-in-status?from={}&to={}&tz=utc",
                            from.format("%Y-%m-%dT%H:%M:%SZ"),
                            to.format("%Y-%m-%dT%H:%M:%SZ")
                        ),
                        Some(&admin),
                    )
                    .await;
                r.assert_status(StatusCode::OK);
                r.data()["statuses"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| {
                        let timed = s["timed"].as_i64().unwrap();
                        let total = s["avg_seconds"].as_f64().unwrap_or(0.0) * timed as f64;
                        (
                            s["status"].as_str().unwrap().to_string(),
                            (s["entered"].as_i64().unwrap(), timed, total),
                        )
                    })
                    .collect::<std::collections::BTreeMap<String, (i64, i64, f64)>>()
            }
        };
        let whole = ask(from, to).await;
        let mut pieces: std::collections::BTreeMap<String, (i64, i64, f64)> = Default::default();
        let mut at = from;
        while at < to {
            let next = Ord::min(at + chrono::Duration::hours(12), to);
            for (status, (entered, timed, total)) in ask(at, next).await {
                let p = pieces.entry(status).or_default();
                p.0 += entered;
                p.1 += timed;
                p.2 += total;
            }
            at = next;
        }
        assert_eq!(
            whole.keys().collect::<Vec<_>>(),
            pieces.keys().collect::<Vec<_>>()
        );
        for (status, (entered, timed, total)) in &whole {
            let (e, t, tt) = pieces[status];
            assert_eq!((*entered, *timed), (e, t), "{status} from {from} to {to}");
            // Averages come rounded to the hundredth of a second.
            assert!(
                (total - tt).abs() <= 0.01 * (*timed as f64 + 1.0) * 2.0,
                "{status}: {total} against {tt}"
            );
        }
        assert!(whole.values().map(|w| w.0).sum::<i64>() > 0);
    }
}

#[tokio::test]
async fn simultaneous_rollup_runs_count_every_event_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let mut dice = StdRng::seed_from_u64(5);
    for round in 0..3 {
        let batch: Vec<Value> = (0..40)
            .map(|n| {
                let minute = dice.random_range(0..600);
                let at = |m: i64| format!("2024-05-01T{:02}:{:02}:00Z", m / 60, m % 60);
                order(
                    &format!("s{round}-{n}"),
                    if n % 2 == 0 { "north" } else { "south" },
                    &at(minute),
                    &format!("+3584000000{}", n % 7),
                    &[
                        (10, &at(minute)),
                        (20, &at(minute + 3)),
                        (90, &at(minute + 40)),
                    ],
                )
            })
            .collect();
        app.post("/api/channel-orders", json!(batch), Some(&admin))
            .await
            .assert_status(StatusCode::CREATED);
        app.clock
            .advance(chrono::Duration::seconds(rollup::SETTLE_SECONDS + 1));
        // Four runs at once over the same new events: each event is counted by exactly one of them.
        let runs = futures::future::join_all((0..4).map(|_| rollup::catch_up(&app.state))).await;
        let events: u64 = runs.into_iter().map(|r| r.expect("rollup").events).sum();
        assert_eq!(events, 120, "round {round}: every new event rolled up once");
    }
    let stored = rollup::stored(&app.state.db).await.unwrap();
    assert_eq!(stored, rollup::recompute(&app.state.db).await.unwrap());
    assert_eq!(
        stored.counts.values().sum::<i64>(),
        7,
        "seven phone numbers"
    );
    assert_eq!(stored.counts.iter().map(|(n, c)| n * c).sum::<i64>(), 120);
}

#[tokio::test]
async fn a_run_stops_at_the_first_event_that_has_not_settled() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let send = |id: &str| {
        order(
            id,
            "brand-s",
            "2024-06-01T08:00:00Z",
            "+358400000123",
            &[(10, "2024-06-01T08:00:00Z"), (20, "2024-06-01T08:05:00Z")],
        )
    };
    app.post("/api/channel-orders", json!([send("early")]), Some(&admin))
        .await
        .assert_status(StatusCode::CREATED);
    app.clock.advance(chrono::Duration::milliseconds(
        rollup::SETTLE_SECONDS * 1000 + 1,
    ));
    app.post("/api/channel-orders", json!([send("late")]), Some(&admin))
        .await
        .assert_status(StatusCode::CREATED);
    let run = rollup::catch_up(&app.state).await.unwrap();
    assert_eq!(run.events, 2, "only the first order's events have settled");
    assert_eq!(
        rollup::stored(&app.state.db).await.unwrap().counts.get(&1),
        Some(&1)
    );
    app.clock
        .advance(chrono::Duration::seconds(rollup::SETTLE_SECONDS));
    let run = rollup::catch_up(&app.state).await.unwrap();
    assert_eq!(run.events, 2);
    let stored = rollup::stored(&app.state.db).await.unwrap();
    assert_eq!(stored, rollup::recompute(&app.state.db).await.unwrap());
    assert_eq!(
        stored.counts.get(&2),
        Some(&1),
        "one customer with two orders"
    );
}

#[tokio::test]
async fn the_distribution_of_orders_per_customer_follows_a_few_new_orders() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let send = |id: String, phone: String| {
        order(
            &id,
            "brand-d",
            "2024-06-01T08:00:00Z",
            &phone,
            &[(10, "2024-06-01T08:00:00Z")],
        )
    };
    let first: Vec<Value> = (0..20)
        .map(|n| send(format!("d{n}"), format!("+3584000020{n:02}")))
        .collect();
    app.post("/api/channel-orders", json!(first), Some(&admin))
        .await
        .assert_status(StatusCode::CREATED);
    roll_up(&app).await;
    assert_eq!(
        rollup::stored(&app.state.db).await.unwrap().counts,
        [(1, 20)].into()
    );
    // Two of the twenty order again: their counts move from 1 to 2, one of them on to 3.
    let again = vec![
        send("d-again-1".into(), "+358400002003".into()),
        send("d-again-2".into(), "+358400002007".into()),
        send("d-again-3".into(), "+358400002007".into()),
    ];
    app.post("/api/channel-orders", json!(again), Some(&admin))
        .await
        .assert_status(StatusCode::CREATED);
    roll_up(&app).await;
    let stored = rollup::stored(&app.state.db).await.unwrap();
    assert_eq!(stored.counts, [(1, 18), (2, 1), (3, 1)].into());
    assert_eq!(stored, rollup::recompute(&app.state.db).await.unwrap());
}

#[tokio::test]
async fn deleting_a_restaurant_takes_its_orders_out_of_the_summaries() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let mut ids = Vec::new();
    for brand in ["stays", "goes"] {
        ids.push(
            app.restaurant(
                &admin,
                json!({"name": brand, "external_id": brand, "timezone": "Europe/Helsinki"}),
            )
            .await,
        );
    }
    let batch: Vec<Value> = (0..6)
        .map(|n| {
            order(
                &format!("x{n}"),
                if n % 3 == 0 { "goes" } else { "stays" },
                "2024-06-01T08:00:00Z",
                // One customer orders at both restaurants.
                if n < 3 {
                    "+358400003001"
                } else {
                    "+358400003002"
                },
                &[(10, "2024-06-01T08:00:00Z"), (90, "2024-06-01T08:30:00Z")],
            )
        })
        .collect();
    app.post("/api/channel-orders", json!(batch), Some(&admin))
        .await
        .assert_status(StatusCode::CREATED);
    roll_up(&app).await;
    assert_eq!(
        rollup::stored(&app.state.db).await.unwrap().counts,
        [(3, 2)].into()
    );
    // Answers are kept until the summaries change (`analytics::answers`): asked twice, the second
    // comes from the cache; the deletion below must still show in the next answer.
    let created = || async {
        let r = app
            .get(
                "/api/analytics/throughput?from=2024-06-01&to=2024-06-02&tz=utc&interval=day",
                Some(&admin),
            )
            .await;
        r.assert_status(StatusCode::OK);
        r.data()["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["created"].as_i64().unwrap())
            .sum::<i64>()
    };
    assert_eq!(created().await, 6);
    assert_eq!(created().await, 6);
    app.delete(&format!("/api/restaurants/{}", ids[1]), Some(&admin))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(
        created().await,
        4,
        "the deleted restaurant's orders are gone"
    );
    // An order stored but not rolled up yet is not in the answer; after the run it is.
    app.post(
        "/api/channel-orders",
        json!([order(
            "x9",
            "stays",
            "2024-06-01T09:00:00Z",
            "+358400003009",
            &[(10, "2024-06-01T09:00:00Z")]
        )]),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::CREATED);
    assert_eq!(created().await, 4);
    roll_up(&app).await;
    assert_eq!(created().await, 5);
    let stored = rollup::stored(&app.state.db).await.unwrap();
    let gone = uuid::Uuid::parse_str(&ids[1]).unwrap();
    assert!(stored.status.keys().all(|k| k.restaurant != gone));
    assert!(stored.customers.keys().all(|(r, _)| *r != gone));
    assert_eq!(
        stored.counts,
        [(1, 1), (2, 2)].into(),
        "each customer lost one order; a new customer ordered once"
    );
    assert_eq!(stored, rollup::recompute(&app.state.db).await.unwrap());
}

#[tokio::test]
async fn customers_a_stopped_run_did_not_write_are_counted_again_from_the_stream() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let batch: Vec<Value> = (0..30)
        .map(|n| {
            let at = |m: i64| format!("2024-06-01T{:02}:{:02}:00Z", 8 + m / 60, m % 60);
            order(
                &format!("c{n}"),
                "brand-c",
                &at(n),
                &format!("+3584000001{}", n % 4),
                &[(10, &at(n)), (90, &at(n + 20))],
            )
        })
        .collect();
    app.post("/api/channel-orders", json!(batch), Some(&admin))
        .await
        .assert_status(StatusCode::CREATED);
    roll_up(&app).await;
    let expected = rollup::recompute(&app.state.db).await.unwrap();
    assert_eq!(rollup::stored(&app.state.db).await.unwrap(), expected);

    // A process that rolled the events up but stopped before writing the customers it gathered.
    use sea_orm::ConnectionTrait;
    for sql in [
        "DELETE FROM customer_order_stats",
        "DELETE FROM customer_order_totals",
        "DELETE FROM customer_order_counts",
        "UPDATE analytics_watermarks SET last_event_id = 0 WHERE name = 'customer_rollups'",
    ] {
        app.state.db.execute_unprepared(sql).await.unwrap();
    }
    let run = rollup::catch_up(&app.state).await.unwrap();
    assert_eq!(
        run.events, 0,
        "the events themselves were rolled up already"
    );
    let stored = rollup::stored(&app.state.db).await.unwrap();
    assert_eq!(stored.customers, expected.customers);
    assert_eq!(stored.totals, expected.totals);
    assert_eq!(stored.counts, expected.counts);
    assert_eq!(
        stored.counts.get(&8),
        Some(&2),
        "two phone numbers with 8 orders"
    );
}

#[tokio::test]
async fn history_logs_import_as_completed_orders_once() {
    use brigade_app::analytics::import::{self, Format};
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let dir = tempfile::tempdir().unwrap();
    let pizza = dir.path().join("pizza");
    std::fs::create_dir(&pizza).unwrap();
    std::fs::write(pizza.join("orders.csv"), "order_id,date,time\r\n1,2015-01-01,11:38:36\r\n2,2015-03-08,02:30:00\r\n3,2015-01-02,bad\r\n").unwrap();
    std::fs::write(pizza.join("order_details.csv"), "order_details_id,order_id,pizza_id,quantity\r\n1,1,hawaiian_m,2\r\n2,1,cali_ckn_l,1\r\n3,2,hawaiian_m,1\r\n").unwrap();
    std::fs::write(pizza.join("pizzas.csv"), "pizza_id,pizza_type_id,size,price\r\nhawaiian_m,hawaiian,M,13.25\r\ncali_ckn_l,cali_ckn,L,20.75\r\n").unwrap();
    // cp1252: 0x91 is an opening quote.
    let mut types = b"pizza_type_id,name,category,ingredients\r\nhawaiian,The Hawaiian Pizza,Classic,\"Ham, Pineapple\"\r\ncali_ckn,The California Chicken Pizza,Chicken,\x91Nduja\r\n".to_vec();
    types.extend_from_slice(b"");
    std::fs::write(pizza.join("pizza_types.csv"), types).unwrap();

    let progress = indicatif::ProgressBar::hidden();
    let options = brigade_app::csv_lines::RejectOptions {
        out: None,
        max: brigade_app::csv_lines::MaxRejects::Count(10),
    };
    let first = import::import(
        &app.state,
        Format::PizzaSales,
        &pizza,
        None,
        &progress,
        &options,
    )
    .await
    .unwrap();
    assert_eq!(first.orders_read, 2);
    assert_eq!(first.stored, 2);
    assert_eq!(first.items, 3);
    assert_eq!(first.rejected.len(), 1);
    assert_eq!(first.rejected[0].line, 4);
    assert!(first.restaurant_created);
    // 2015-03-08 02:30 does not exist in New York (spring forward): it moves to 03:30 EDT = 07:30Z.
    assert_eq!(
        first.last.unwrap().to_rfc3339(),
        "2015-03-08T07:30:00+00:00"
    );
    let again = import::import(
        &app.state,
        Format::PizzaSales,
        &pizza,
        None,
        &progress,
        &options,
    )
    .await
    .unwrap();
    assert_eq!(again.stored, 0);
    assert_eq!(again.already_there, 2);
    // Every line of every file is accounted for: the menu's lines are used, an order's lines go with it.
    let tallies: Vec<String> = first.files.iter().map(|t| t.to_string()).collect();
    assert_eq!(
        tallies,
        vec![
            "pizza_types.csv: 2 line(s) = 2 stored + 0 already there + 0 rejected",
            "pizzas.csv: 2 line(s) = 2 stored + 0 already there + 0 rejected",
            "orders.csv: 3 line(s) = 2 stored + 0 already there + 1 rejected",
            "order_details.csv: 3 line(s) = 3 stored + 0 already there + 0 rejected",
        ]
    );
    assert_eq!(
        again.files[3].to_string(),
        "order_details.csv: 3 line(s) = 0 stored + 3 already there + 0 rejected"
    );

    let orders = app
        .get(
            &format!("/api/orders?venue_id={}", first.restaurant_id),
            Some(&admin),
        )
        .await;
    orders.assert_status(StatusCode::OK);
    let items = orders.data()["items"].as_array().unwrap().clone();
    let first_order = items
        .iter()
        .find(|o| o["created_at"] == "2015-01-01T16:38:36Z")
        .expect("order 1");
    assert_eq!(first_order["status"], "COMPLETED");
    assert_eq!(first_order["source"], "import");
    assert_eq!(first_order["total_amount"], "47.25");
    assert_eq!(first_order["currency"], "USD");

    let bakery = dir.path().join("BreadBasket_DMS.csv");
    std::fs::write(&bakery, "Date,Time,Transaction,Item\n2016-10-30,09:58:11,1,Bread\n2016-10-30,09:58:11,1,Bread\n2016-10-30,09:58:11,1,Coffee\n2016-10-30,10:05:34,2,NONE\n").unwrap();
    let baked = import::import(
        &app.state,
        Format::BreadBasket,
        &bakery,
        None,
        &progress,
        &options,
    )
    .await
    .unwrap();
    assert_eq!(
        baked.stored, 2,
        "a transaction of only NONE is still an order"
    );
    assert_eq!(baked.items, 2, "Bread twice is one line of two");

    let london = dir.path().join("london");
    std::fs::create_dir(&london).unwrap();
    std::fs::write(london.join("restaurant-1-orders.csv"), "OrderNumber,OrderDate,ItemName,Quantity,ProductPrice,TotalProducts\n16118,03/08/2019 20:25,Plain Papadum,2,0.8,3\n16118,03/08/2019 20:25,Plain Papadum,2,0.8,3\n16118,03/08/2019 20:25,King Prawn Balti,1,12.95,3\n16117,03/08/2019 20:17,Curry,1,-1,1").unwrap();
    let takeaway = import::import(
        &app.state,
        Format::LondonTakeaway,
        &london,
        None,
        &progress,
        &options,
    )
    .await
    .unwrap();
    assert_eq!(takeaway.stored, 1);
    assert_eq!(takeaway.items, 3, "duplicate rows are real lines");
    assert_eq!(takeaway.rejected.len(), 1);
    assert!(takeaway.files[0].balances());

    // A stray quote in an order log costs that line only: the order after it is stored whole.
    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(broken.join("restaurant-1-orders.csv"), "OrderNumber,OrderDate,ItemName,Quantity,ProductPrice,TotalProducts\n9001,04/08/2019 12:00,\"Naan,1,2.5,1\n9002,04/08/2019 12:05,Dal,1,4.5,2\n9002,04/08/2019 12:05,\"Rice, plain\",1,2.95,2\n").unwrap();
    let repaired = import::import(
        &app.state,
        Format::LondonTakeaway,
        &broken,
        Some("broken-log"),
        &progress,
        &options,
    )
    .await
    .unwrap();
    assert_eq!(
        repaired.files[0].to_string(),
        "restaurant-1-orders.csv: 3 line(s) = 2 stored + 0 already there + 1 rejected"
    );
    assert_eq!(repaired.rejected[0].line, 2);
    assert_eq!(repaired.stored, 1);
    assert_eq!(
        repaired.items, 2,
        "the quoted field with a comma is one item"
    );

    // The rollups count them: two orders created and finished in the pizza place's days.
    roll_up(&app).await;
    let days = app
        .get(
            &format!(
                "/api/analytics/throughput?restaurant_id={}&from=2015-01-01&to=2015-03-10&interval=day",
                first.restaurant_id
            ),
            Some(&admin),
        )
        .await;
    assert_eq!(
        days.data()["buckets"],
        json!([
            {"start": "2015-01-01", "created": 1, "finished": 1},
            {"start": "2015-03-08", "created": 1, "finished": 1}
        ])
    );
}

/// The Grafana dashboard plots series Brigade really exports, and tables the schema really has.
#[tokio::test]
async fn the_grafana_dashboard_names_real_series_and_tables() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.post(
        "/api/channel-orders",
        order(
            "m-1",
            "metrics",
            "2024-03-01T12:00:00Z",
            "+3584000001",
            &[(10, "2024-03-01T12:00:00Z"), (20, "2024-03-01T12:03:00Z")],
        ),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::CREATED);
    app.clock.advance(chrono::Duration::seconds(10));
    app.state
        .jobs
        .enqueue(brigade_platform::jobs::NewJob::new(
            rollup::ROLLUP_JOB,
            json!({}),
        ))
        .await
        .unwrap();
    for result in brigade_app::jobs::run_inline(&app.state).await {
        result.expect("rollup job");
    }
    let metrics = app.get("/metrics", None).await;
    metrics.assert_status(StatusCode::OK);
    assert!(
        metrics
            .text
            .contains("brigade_order_time_in_status_seconds_bucket{status=\"PENDING\",le=\"300\"}"),
        "time in status is a histogram with the status label"
    );

    let dashboard: Value = serde_json::from_str(include_str!(
        "../../../../deploy/grafana/brigade-orders.json"
    ))
    .unwrap();
    let mut series = 0;
    let mut tables = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            if let Some(expr) = target["expr"].as_str() {
                for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                    if word.starts_with("brigade_") {
                        series += 1;
                        assert!(
                            metrics.text.contains(&format!("{word}{{"))
                                || metrics.text.contains(&format!("{word} ")),
                            "{word} is not exported"
                        );
                    }
                }
            }
            if let Some(sql) = target["rawSql"].as_str() {
                for table in ["order_throughput_rollups", "order_status_rollups"] {
                    if sql.contains(table) {
                        tables += 1;
                    }
                }
                // The SQL runs on the schema (PostgreSQL macros replaced by a fixed range).
                if app.postgres.is_some() {
                    use sea_orm::ConnectionTrait;
                    let sql = sql
                        .replace("$__unixEpochFrom()", "0")
                        .replace("$__unixEpochTo()", "4102444800");
                    app.state.db.execute_unprepared(&sql).await.expect(&sql);
                }
            }
        }
    }
    assert!(
        series >= 5 && tables >= 3,
        "{series} series, {tables} tables"
    );
}

#[tokio::test]
async fn single_orders_and_updates_sent_at_once_each_get_their_own_answer() {
    // Sent at once, single requests are stored in groups (analytics::grouped); each must still get what
    // storing it alone would answer, and one bad request must not fail the others.
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let t0 = "2026-03-02T12:00:00Z";
    for (id, history) in [
        ("g-open", vec![(10, t0)]),
        ("g-done", vec![(10, t0), (90, "2026-03-02T12:30:00Z")]),
    ] {
        app.post(
            "/api/channel-orders",
            order(id, "g-brand", t0, "+3585000000", &history),
            Some(&admin),
        )
        .await
        .assert_status(StatusCode::CREATED);
    }
    let new_ids: Vec<String> = (0..24).map(|i| format!("g-new-{i}")).collect();
    let mut requests: Vec<(String, Value)> = new_ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            (
                "/api/channel-orders".to_string(),
                order(
                    id,
                    if i % 3 == 0 { "g-brand-new" } else { "g-brand" },
                    t0,
                    &format!("+35850000{:02}", i),
                    &[(10, t0), (20, "2026-03-02T12:01:00Z")],
                ),
            )
        })
        .collect();
    // Twelve updates of one order, at distinct instants: the later ones wait for a later group.
    for m in 0..12 {
        requests.push((
            "/api/channel-orders/g-open/status".to_string(),
            json!({"status": if m % 2 == 0 { 20 } else { 50 }, "timestamp": format!("2026-03-02T12:{:02}:00Z", 10 + m)}),
        ));
    }
    // The open order sent again whole: nothing new.
    requests.push((
        "/api/channel-orders".to_string(),
        order("g-open", "g-brand", t0, "+3585000000", &[(10, t0)]),
    ));
    // After the terminal status: refused alone.
    requests.push((
        "/api/channel-orders/g-done/status".to_string(),
        json!({"status": 50, "timestamp": "2026-03-02T12:45:00Z"}),
    ));
    // An unknown code: stored, and reported to its sender only.
    requests.push((
        "/api/channel-orders".to_string(),
        order(
            "g-odd",
            "g-brand",
            t0,
            "+3585000099",
            &[(10, t0), (77, "2026-03-02T12:05:00Z")],
        ),
    ));
    let answers = futures::future::join_all(
        requests
            .iter()
            .map(|(path, body)| app.post(path, body.clone(), Some(&admin))),
    )
    .await;
    let mut brands_created = 0;
    for (i, answer) in answers[..24].iter().enumerate() {
        answer.assert_status(StatusCode::CREATED);
        let data = answer.data();
        assert_eq!(data["received"], 1);
        assert_eq!(data["created"], 1);
        assert_eq!(data["events_stored"], 2);
        assert_eq!(data["duplicate_events"], 0);
        assert_eq!(data["unknown_codes"], json!([]));
        assert_eq!(data["orders"].as_array().unwrap().len(), 1);
        assert_eq!(data["orders"][0]["_id"], new_ids[i]);
        assert_eq!(data["orders"][0]["status"], "CONFIRMED");
        brands_created += data["restaurants_created"].as_u64().unwrap();
    }
    // The new brand was created once, and told to one of its orders.
    assert_eq!(brands_created, 1);
    for answer in &answers[24..36] {
        answer.assert_status(StatusCode::OK);
        assert_eq!(answer.data()["stored"], true, "{}", answer.body);
    }
    let again = &answers[36];
    again.assert_status(StatusCode::OK);
    assert_eq!(again.data()["created"], 0);
    assert_eq!(again.data()["updated"], 1);
    assert_eq!(again.data()["events_stored"], 0);
    assert_eq!(again.data()["duplicate_events"], 1);
    answers[37].assert_error(StatusCode::CONFLICT, "order_conflict");
    assert!(
        answers[37].body["errors"]["timestamp"].is_array(),
        "{}",
        answers[37].body
    );
    let odd = &answers[38];
    odd.assert_status(StatusCode::CREATED);
    assert_eq!(odd.data()["unknown_codes"], json!([77]));
    assert_eq!(odd.data()["orders"][0]["_id"], "g-odd");

    // Every update of the open order is stored once; it follows the latest (12:21, code 50).
    let open = app.get("/api/channel-orders/g-open", Some(&admin)).await;
    assert_eq!(open.data()["events"].as_array().unwrap().len(), 13);
    assert_eq!(open.data()["status_code"], 50);
    let done = app.get("/api/channel-orders/g-done", Some(&admin)).await;
    assert_eq!(done.data()["events"].as_array().unwrap().len(), 2);
    assert_eq!(done.data()["order"]["status"], "COMPLETED");

    // The kitchen queued each new confirmed order once, its station's load counted line after line.
    use brigade_app::entities::{restaurants, ticket_lines};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let brand = restaurants::Entity::find()
        .filter(restaurants::Column::ExternalId.eq("g-brand"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let lines = ticket_lines::Entity::find()
        .filter(ticket_lines::Column::RestaurantId.eq(brand.id))
        .all(&app.state.db)
        .await
        .unwrap();
    // g-brand's 16 new orders, plus g-open (confirmed by its updates, then preparing).
    let mut orders: Vec<uuid::Uuid> = lines.iter().map(|l| l.order_id).collect();
    orders.sort_unstable();
    orders.dedup();
    assert_eq!(lines.len(), 17);
    assert_eq!(orders.len(), 17);
    let mut depths: Vec<i32> = lines.iter().map(|l| l.queue_depth).collect();
    depths.sort_unstable();
    assert_eq!(depths, (0..17).collect::<Vec<i32>>());
}

#[tokio::test]
async fn a_brand_goes_to_whichever_restaurant_has_its_external_id_now() {
    let app = TestApp::spawn_with(|c| c.channels.create_unknown_restaurants = false).await;
    let admin = app.admin().await;
    let first = app
        .restaurant(
            &admin,
            json!({"name": "First", "external_id": "brand-x", "timezone": "Europe/Helsinki"}),
        )
        .await;
    let send = |id: &'static str| {
        let (app, admin) = (&app, &admin);
        async move {
            let history = [(10, "2024-03-01T12:00:00Z")];
            app.post(
                "/api/channel-orders",
                order(
                    id,
                    "brand-x",
                    "2024-03-01T12:00:00Z",
                    "+3584000001",
                    &history,
                ),
                Some(admin),
            )
            .await
        }
    };
    let venue_of = |id: &'static str| {
        let (app, admin) = (&app, &admin);
        async move {
            app.get(&format!("/api/channel-orders/{id}"), Some(admin))
                .await
                .data()["order"]["venue_id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    send("o-1").await.assert_status(StatusCode::CREATED);
    assert_eq!(venue_of("o-1").await, first);
    // The first restaurant gives the brand up and a second one takes it: the brand's next order goes
    // to the second, although this process had just looked the brand up.
    app.put(
        &format!("/api/restaurants/{first}"),
        json!({"external_id": "brand-x-old"}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::OK);
    send("o-2")
        .await
        .assert_error(StatusCode::CONFLICT, "unknown_restaurant");
    let second = app
        .restaurant(
            &admin,
            json!({"name": "Second", "external_id": "brand-x", "timezone": "Europe/Helsinki"}),
        )
        .await;
    send("o-3").await.assert_status(StatusCode::CREATED);
    assert_eq!(venue_of("o-3").await, second);
}
