use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use brigade_app::accounts::Role;
use brigade_app::entities::{order_status_events, orders};
use brigade_app::orders::payments::SignedWebhookProvider;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::harness::TestApp;

pub struct Shop {
    pub id: String,
    pub owner: String,
    pub staff: String,
    pub ramen: String,
    pub gyoza: String,
    pub sold_out: String,
}

/// A GBP venue open around the clock (unless `hours` is given), with an owner, a staff member and a small
/// menu: ramen 14.50, gyoza 6.50 and a sold-out item.
pub async fn shop(app: &TestApp, admin: &str, name: &str, extra: Value) -> Shop {
    let mut body =
        json!({"name": name, "timezone": "Europe/London", "currency": "GBP", "status": "active"});
    if let (Some(target), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            target.insert(k.clone(), v.clone());
        }
    }
    let id = app.restaurant(admin, body).await;
    let slug = name.to_lowercase().replace(' ', "-");
    let owner_email = format!("owner@{slug}.example");
    let staff_email = format!("staff@{slug}.example");
    let (_, owner, _) = app.user(&owner_email, Role::Customer).await;
    let (_, staff, _) = app.user(&staff_email, Role::Customer).await;
    for (email, role) in [(&owner_email, "owner"), (&staff_email, "staff")] {
        app.post(
            &format!("/api/restaurants/{id}/members"),
            json!({"email": email, "role": role}),
            Some(admin),
        )
        .await
        .assert_status(StatusCode::CREATED);
    }
    let base = format!("/api/venues/{id}/menu");
    let category = app
        .post(
            &format!("{base}/categories"),
            json!({"name": "Mains"}),
            Some(&owner),
        )
        .await
        .data()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let item = |name: &'static str, price: &'static str| {
        let (app, base, owner, category) = (&app, &base, &owner, &category);
        async move {
            let r = app
                .post(
                    &format!("{base}/items"),
                    json!({"category_id": category, "name": name, "price": price}),
                    Some(owner),
                )
                .await;
            r.assert_status(StatusCode::CREATED);
            r.data()["id"].as_str().unwrap().to_string()
        }
    };
    let ramen = item("Ramen", "14.50").await;
    let gyoza = item("Gyoza", "6.50").await;
    let sold_out = item("Katsu", "12.00").await;
    app.put(
        &format!("{base}/items/{sold_out}"),
        json!({"is_available": false}),
        Some(&owner),
    )
    .await
    .assert_status(StatusCode::OK);
    Shop {
        id,
        owner,
        staff,
        ramen,
        gyoza,
        sold_out,
    }
}

pub async fn order_count(app: &TestApp) -> u64 {
    orders::Entity::find().count(&app.state.db).await.unwrap()
}

#[tokio::test]
async fn the_venue_moves_an_order_through_its_states_while_the_customer_watches() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Noodle Bar", json!({})).await;
    let (customer_id, customer, _) = app.user("eater@example.com", Role::Customer).await;
    let mut inbox = app.sse("/api/notifications/stream", Some(&customer)).await;

    let placed = app
        .post(
            "/api/orders",
            json!({"venue_id": s.id, "order_type": "TAKEOUT", "items": [
                {"menu_item_id": s.ramen, "quantity": 2, "special_request": "extra egg"},
                {"menu_item_id": s.gyoza, "quantity": 1}
            ]}),
            Some(&customer),
        )
        .await;
    placed.assert_status(StatusCode::CREATED);
    let order = placed.data().clone();
    assert_eq!(order["total_amount"], "35.50");
    assert_eq!(order["currency"], "GBP");
    assert_eq!(order["status"], "PENDING");
    assert_eq!(order["payment_status"], "PENDING");
    assert_eq!(order["payment_method"], "CASH");
    assert_eq!(order["customer_id"], customer_id.to_string());
    assert_eq!(order["items"].as_array().unwrap().len(), 2);
    let id = order["id"].as_str().unwrap().to_string();
    assert_eq!(inbox.next_of("notification").await["reference_id"], id);

    let mut live = app
        .sse(&format!("/api/orders/{id}/stream"), Some(&customer))
        .await;
    for (step, status) in ["CONFIRMED", "PREPARING", "READY", "COMPLETED"]
        .iter()
        .enumerate()
    {
        app.clock
            .advance(chrono::Duration::minutes(3 + step as i64));
        let moved = app
            .put(
                &format!("/api/orders/{id}/status"),
                json!({"status": status}),
                Some(&s.staff),
            )
            .await;
        moved.assert_status(StatusCode::OK);
        assert_eq!(moved.data()["status"], *status);
        let update = live.next_of("order").await;
        assert_eq!(update["status"], *status, "live update {step}");
        let note = inbox.next_of("notification").await;
        assert_eq!(note["type"], "ORDER_STATUS");
        assert!(
            note["message"]
                .as_str()
                .unwrap()
                .contains(&status.to_lowercase()),
            "{note}"
        );
    }

    // Terminal: nothing more is allowed, and the answer says so.
    let refused = app
        .put(
            &format!("/api/orders/{id}/status"),
            json!({"status": "CANCELLED"}),
            Some(&s.owner),
        )
        .await;
    refused.assert_error(StatusCode::CONFLICT, "invalid_transition");
    assert_eq!(refused.data()["allowed_transitions"], json!([]));

    // The status history is the event stream, with actors and instants.
    let events = app
        .get(&format!("/api/orders/{id}/events"), Some(&customer))
        .await;
    let events = events.data().as_array().unwrap().clone();
    let path: Vec<(Value, Value)> = events
        .iter()
        .map(|e| (e["from"].clone(), e["to"].clone()))
        .collect();
    assert_eq!(
        path,
        vec![
            (Value::Null, json!("PENDING")),
            (json!("PENDING"), json!("CONFIRMED")),
            (json!("CONFIRMED"), json!("PREPARING")),
            (json!("PREPARING"), json!("READY")),
            (json!("READY"), json!("COMPLETED")),
        ]
    );
    assert_eq!(events[0]["actor_kind"], "customer");
    assert_eq!(events[1]["actor_kind"], "venue");
    let stored = order_status_events::Entity::find()
        .filter(order_status_events::Column::OrderId.eq(id.parse::<uuid::Uuid>().unwrap()))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(stored, 5);

    // The notifications stay afterwards.
    let notes = app.get("/api/notifications", Some(&customer)).await;
    assert_eq!(notes.data()["pagination"]["total"], 5);
    let first = notes.data()["items"][0]["id"].as_str().unwrap().to_string();
    app.put(
        &format!("/api/notifications/{first}/read"),
        json!({}),
        Some(&customer),
    )
    .await
    .assert_status(StatusCode::OK);
    assert_eq!(
        app.get("/api/notifications?status=UNREAD", Some(&customer))
            .await
            .data()["pagination"]["total"],
        4
    );
    assert_eq!(
        app.put("/api/notifications/read-all", json!({}), Some(&customer))
            .await
            .data()["updated"],
        4
    );
    app.delete(&format!("/api/notifications/{first}"), Some(&customer))
        .await
        .assert_status(StatusCode::OK);
    app.delete(&format!("/api/notifications/{first}"), Some(&customer))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn orders_are_checked_against_the_menu_and_the_opening_hours() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    // The test clock is Monday 2026-06-15 12:00 UTC = 13:00 in London: closed until 17:00.
    let s = shop(
        &app,
        &admin,
        "Evening Place",
        json!({"enable_eat_in": false, "hours": [
            {"weekday": 0, "opens": "17:00", "closes": "01:00"},
            {"weekday": 1, "opens": "17:00", "closes": "23:00"}
        ]}),
    )
    .await;
    let (_, customer, _) = app.user("eater@example.com", Role::Customer).await;
    let order = |body: Value| {
        let (app, customer) = (&app, &customer);
        async move { app.post("/api/orders", body, Some(customer)).await }
    };

    let closed = order(json!({"venue_id": s.id, "order_type": "TAKEOUT", "items": [{"menu_item_id": s.ramen, "quantity": 1}]})).await;
    closed.assert_error(StatusCode::CONFLICT, "order_not_possible");
    assert!(closed.field_errors("pickup_time")[0].contains("closed now"));

    let bad = order(
        json!({"venue_id": s.id, "order_type": "DINE_IN", "table": "T4", "items": [
            {"menu_item_id": s.sold_out, "quantity": 1},
            {"menu_item_id": uuid::Uuid::new_v4(), "quantity": 1},
            {"menu_item_id": s.ramen, "quantity": 0}
        ]}),
    )
    .await;
    // A malformed line is the request's fault (422) and is reported before what the venue can do.
    bad.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(
        !bad.field_errors("items[2].quantity").is_empty(),
        "{}",
        bad.text
    );
    let impossible = order(
        json!({"venue_id": s.id, "order_type": "DINE_IN", "table": "T4", "items": [
            {"menu_item_id": s.sold_out, "quantity": 1},
            {"menu_item_id": uuid::Uuid::new_v4(), "quantity": 1}
        ]}),
    )
    .await;
    impossible.assert_error(StatusCode::CONFLICT, "order_not_possible");
    assert!(impossible.field_errors("items[0].menu_item_id")[0].contains("sold out"));
    assert!(!impossible.field_errors("items[1].menu_item_id").is_empty());
    assert!(
        !impossible.field_errors("order_type").is_empty(),
        "{}",
        impossible.text
    );

    // 16:30 London is before opening; Tuesday 00:30 London is inside Monday's late shift.
    let early = order(json!({"venue_id": s.id, "order_type": "TAKEOUT", "pickup_time": "2026-06-15T15:30:00Z", "items": [{"menu_item_id": s.ramen, "quantity": 1}]})).await;
    assert!(early.field_errors("pickup_time")[0].contains("closed at that time"));
    let past = order(json!({"venue_id": s.id, "order_type": "TAKEOUT", "pickup_time": "2026-06-15T11:00:00Z", "items": [{"menu_item_id": s.ramen, "quantity": 1}]})).await;
    assert!(!past.field_errors("pickup_time").is_empty());
    let empty = order(json!({"venue_id": s.id, "order_type": "TAKEOUT", "pickup_time": "2026-06-15T23:30:00Z", "items": []})).await;
    assert!(!empty.field_errors("items").is_empty());
    let unknown_venue = order(json!({"venue_id": uuid::Uuid::new_v4(), "order_type": "TAKEOUT", "items": [{"menu_item_id": s.ramen, "quantity": 1}]})).await;
    unknown_venue.assert_error(StatusCode::NOT_FOUND, "not_found");
    assert!(!unknown_venue.field_errors("venue_id").is_empty());
    order(json!({"venue_id": s.id, "order_type": "TAKEAWAY", "items": []}))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(order_count(&app).await, 0, "nothing was stored");

    let late = order(json!({"venue_id": s.id, "order_type": "TAKEOUT", "pickup_time": "2026-06-15T23:30:00Z", "items": [{"menu_item_id": s.ramen, "quantity": 3}]})).await;
    late.assert_status(StatusCode::CREATED);
    assert_eq!(late.data()["total_amount"], "43.50");
    assert_eq!(late.data()["pickup_time"], "2026-06-15T23:30:00Z");

    // Sold out takes effect at once for new orders.
    app.put(
        &format!("/api/venues/{}/menu/items/{}", s.id, s.ramen),
        json!({"is_available": false}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::OK);
    let gone = order(json!({"venue_id": s.id, "order_type": "TAKEOUT", "pickup_time": "2026-06-15T23:30:00Z", "items": [{"menu_item_id": s.ramen, "quantity": 1}]})).await;
    assert!(gone.field_errors("items[0].menu_item_id")[0].contains("sold out"));
    assert_eq!(order_count(&app).await, 1);
}

#[tokio::test]
async fn a_retried_order_with_the_same_idempotency_key_is_placed_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Retry Cafe", json!({})).await;
    let (_, customer, _) = app.user("eater@example.com", Role::Customer).await;
    let body = json!({"venue_id": s.id, "order_type": "TAKEOUT", "items": [{"menu_item_id": s.gyoza, "quantity": 2}]});
    let send = |key: &'static str| {
        let (app, customer, body) = (&app, &customer, body.clone());
        async move {
            let request = Request::builder()
                .method(Method::POST)
                .uri("/api/orders")
                .header(header::AUTHORIZATION, format!("Bearer {customer}"))
                .header(header::CONTENT_TYPE, "application/json")
                .header("Idempotency-Key", key)
                .body(Body::from(body.to_string()))
                .unwrap();
            app.send(request).await
        }
    };
    let first = send("checkout-1").await;
    first.assert_status(StatusCode::CREATED);
    let again = send("checkout-1").await;
    again.assert_status(StatusCode::OK);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.data()["id"], first.data()["id"]);
    assert_eq!(order_count(&app).await, 1);

    // Many simultaneous retries of a new key still make one order.
    let results = futures::future::join_all((0..6).map(|_| send("checkout-2"))).await;
    let ids: std::collections::HashSet<String> = results
        .iter()
        .map(|r| {
            assert!(r.status.is_success(), "{}", r.text);
            r.data()["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(order_count(&app).await, 2);
    // Without a key, each request is a new order.
    app.post("/api/orders", body.clone(), Some(&customer))
        .await
        .assert_status(StatusCode::CREATED);
    assert_eq!(order_count(&app).await, 3);

    // Retries and new orders arriving together (they share a write): each retry gets the first order,
    // each new key one new order.
    let keys = [
        "checkout-1",
        "checkout-4",
        "checkout-2",
        "checkout-5",
        "checkout-4",
    ];
    let results = futures::future::join_all(keys.iter().map(|k| send(k))).await;
    assert_eq!(results[0].data()["id"], first.data()["id"]);
    assert_eq!(results[0].status, StatusCode::OK);
    assert_eq!(results[2].headers["idempotent-replayed"], "true");
    assert_eq!(results[1].data()["id"], results[4].data()["id"]);
    assert_ne!(results[1].data()["id"], results[3].data()["id"]);
    assert_eq!(order_count(&app).await, 5);

    // The same key with a different body is a mistake, not a retry: refused, nothing stored. The same
    // body written with other spacing and key order is the same request.
    let send_body = |key: &'static str, text: String| {
        let (app, customer) = (&app, &customer);
        async move {
            let request = Request::builder()
                .method(Method::POST)
                .uri("/api/orders")
                .header(header::AUTHORIZATION, format!("Bearer {customer}"))
                .header(header::CONTENT_TYPE, "application/json")
                .header("Idempotency-Key", key)
                .body(Body::from(text))
                .unwrap();
            app.send(request).await
        }
    };
    let other = json!({"venue_id": s.id, "order_type": "TAKEOUT", "items": [{"menu_item_id": s.gyoza, "quantity": 3}]});
    let reused = send_body("checkout-1", other.to_string()).await;
    reused.assert_error(StatusCode::CONFLICT, "idempotency_key_reused");
    assert_eq!(reused.data()["order_id"], first.data()["id"]);
    assert_eq!(order_count(&app).await, 5);
    let respaced = format!(
        "{{ \"items\": [ {{\"quantity\": 2, \"menu_item_id\": \"{}\"}} ],\n \"order_type\": \"TAKEOUT\", \"venue_id\": \"{}\" }}",
        s.gyoza, s.id
    );
    let same = send_body("checkout-1", respaced).await;
    same.assert_status(StatusCode::OK);
    assert_eq!(same.data()["id"], first.data()["id"]);

    // Once the item is sold out a new order is refused, but a retry still gets the order it placed.
    app.put(
        &format!("/api/venues/{}/menu/items/{}", s.id, s.gyoza),
        json!({"is_available": false}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::OK);
    let retry = send("checkout-1").await;
    retry.assert_status(StatusCode::OK);
    assert_eq!(retry.data()["id"], first.data()["id"]);
    let refused = send("checkout-6").await;
    refused.assert_error(StatusCode::CONFLICT, "order_not_possible");
    assert!(refused.field_errors("items[0].menu_item_id")[0].contains("sold out"));
    assert_eq!(order_count(&app).await, 5);
}

#[tokio::test]
async fn customers_cancel_early_and_see_only_their_own_orders() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Corner Deli", json!({})).await;
    let other = shop(&app, &admin, "Other Deli", json!({})).await;
    let (_, customer, _) = app.user("eater@example.com", Role::Customer).await;
    let (_, nosy, _) = app.user("nosy@example.com", Role::Customer).await;
    let place = || {
        let (app, customer, s) = (&app, &customer, &s);
        async move {
            let r = app
                .post(
                    "/api/orders",
                    json!({"venue_id": s.id, "order_type": "DINE_IN", "table": "T7", "items": [{"menu_item_id": s.ramen, "quantity": 1}]}),
                    Some(customer),
                )
                .await;
            r.assert_status(StatusCode::CREATED);
            r.data()["id"].as_str().unwrap().to_string()
        }
    };
    let early = place().await;
    let cancelled = app
        .delete(&format!("/api/orders/{early}"), Some(&customer))
        .await;
    cancelled.assert_status(StatusCode::OK);
    assert_eq!(cancelled.data()["status"], "CANCELLED");

    let cooking = place().await;
    for status in ["CONFIRMED", "PREPARING"] {
        app.put(
            &format!("/api/orders/{cooking}/status"),
            json!({"status": status}),
            Some(&s.staff),
        )
        .await
        .assert_status(StatusCode::OK);
    }
    let late = app
        .delete(&format!("/api/orders/{cooking}"), Some(&customer))
        .await;
    late.assert_error(StatusCode::CONFLICT, "invalid_transition");
    let skip = app
        .put(
            &format!("/api/orders/{cooking}/status"),
            json!({"status": "COMPLETED"}),
            Some(&s.staff),
        )
        .await;
    skip.assert_error(StatusCode::CONFLICT, "invalid_transition");
    assert_eq!(
        skip.data()["allowed_transitions"],
        json!(["READY", "CANCELLED"])
    );
    app.put(
        &format!("/api/orders/{cooking}/status"),
        json!({"status": "SERVED"}),
        Some(&s.staff),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    // Visibility.
    app.get(&format!("/api/orders/{cooking}"), Some(&nosy))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.put(
        &format!("/api/orders/{cooking}/status"),
        json!({"status": "READY"}),
        Some(&other.owner),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        app.get("/api/orders", Some(&nosy)).await.data()["pagination"]["total"],
        0
    );
    assert_eq!(
        app.get("/api/orders", Some(&customer)).await.data()["pagination"]["total"],
        2
    );
    assert_eq!(
        app.get(&format!("/api/orders?venue_id={}", s.id), Some(&s.staff))
            .await
            .data()["pagination"]["total"],
        2
    );
    assert_eq!(
        app.get("/api/orders?status=CANCELLED", Some(&admin))
            .await
            .data()["pagination"]["total"],
        1
    );
    app.get(
        &format!("/api/orders?venue_id={}", s.id),
        Some(&other.staff),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");
    app.get(&format!("/api/orders/{cooking}/stream"), Some(&nosy))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.get(&format!("/api/orders/{cooking}/stream"), None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn cash_is_marked_paid_by_staff_and_online_payments_need_a_signed_webhook() {
    let app = TestApp::spawn_with(|c| {
        c.payments.webhook_secret = Some(SecretString::from("whsec-brigade"));
        c.payments.checkout_url = Some("https://pay.example/checkout".into());
    })
    .await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Pay Place", json!({})).await;
    let (_, customer, _) = app.user("eater@example.com", Role::Customer).await;
    let cash = app
        .post(
            "/api/orders",
            json!({"venue_id": s.id, "order_type": "TAKEOUT", "items": [{"menu_item_id": s.gyoza, "quantity": 1}]}),
            Some(&customer),
        )
        .await;
    let cash = cash.data()["id"].as_str().unwrap().to_string();
    app.put(
        &format!("/api/orders/{cash}/payment"),
        json!({"status": "PAID"}),
        Some(&customer),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");
    let paid = app
        .put(
            &format!("/api/orders/{cash}/payment"),
            json!({"status": "PAID"}),
            Some(&s.staff),
        )
        .await;
    paid.assert_status(StatusCode::OK);
    assert_eq!(paid.data()["payment_status"], "PAID");
    app.put(
        &format!("/api/orders/{cash}/payment"),
        json!({"status": "PAID"}),
        Some(&s.staff),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "already_paid");

    let online = app
        .post(
            "/api/orders",
            json!({"venue_id": s.id, "order_type": "TAKEOUT", "payment_method": "ONLINE", "items": [{"menu_item_id": s.ramen, "quantity": 2}]}),
            Some(&customer),
        )
        .await;
    let online = online.data()["id"].as_str().unwrap().to_string();
    app.put(
        &format!("/api/orders/{online}/payment"),
        json!({"status": "PAID"}),
        Some(&s.staff),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "not_a_cash_order");
    let session = app
        .post(
            &format!("/api/orders/{online}/pay"),
            json!({}),
            Some(&customer),
        )
        .await;
    session.assert_status(StatusCode::OK);
    let reference = session.data()["reference"].as_str().unwrap().to_string();
    assert!(
        session.data()["checkout_url"]
            .as_str()
            .unwrap()
            .starts_with("https://pay.example/checkout?reference=pay_")
    );

    let webhook = |body: Value, secret: &'static str| {
        let app = &app;
        async move {
            let body = body.to_string();
            let signature =
                SignedWebhookProvider::sign(secret, app.state.now().timestamp(), body.as_bytes());
            let request = Request::builder()
                .method(Method::POST)
                .uri("/api/payments/webhook")
                .header(header::CONTENT_TYPE, "application/json")
                .header("Brigade-Signature", signature)
                .body(Body::from(body))
                .unwrap();
            app.send(request).await
        }
    };
    let good = json!({"reference": reference, "status": "succeeded", "amount": "29.00", "currency": "GBP"});
    webhook(good.clone(), "forged")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_signature");
    webhook(
        json!({"reference": reference, "status": "succeeded", "amount": "1.00", "currency": "GBP"}),
        "whsec-brigade",
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let applied = webhook(good, "whsec-brigade").await;
    applied.assert_status(StatusCode::OK);
    assert_eq!(applied.data()["payment_status"], "PAID");
    assert_eq!(
        app.get(&format!("/api/orders/{online}"), Some(&customer))
            .await
            .data()["payment_status"],
        "PAID"
    );
}

#[tokio::test]
async fn live_updates_reach_streams_served_by_another_process() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Two Process Cafe", json!({})).await;
    let (_, customer, _) = app.user("eater@example.com", Role::Customer).await;
    let order = app
        .post(
            "/api/orders",
            json!({"venue_id": s.id, "order_type": "TAKEOUT", "items": [{"menu_item_id": s.gyoza, "quantity": 1}]}),
            Some(&customer),
        )
        .await;
    let id: uuid::Uuid = order.data()["id"].as_str().unwrap().parse().unwrap();
    let mut live = app
        .sse(&format!("/api/orders/{id}/stream"), Some(&customer))
        .await;
    let mut inbox = app.sse("/api/notifications/stream", Some(&customer)).await;

    // A second Brigade process on the same database (and Redis, when the suite has one) makes the change.
    let other = brigade_app::AppState::build(
        app.state.config.clone(),
        brigade_app::StateOptions {
            clock: Some(std::sync::Arc::new(app.clock.clone())),
            inline_jobs: true,
        },
    )
    .await
    .unwrap();
    let writer = if crate::harness::redis_url().is_some() {
        &other
    } else {
        // Without Redis, pub/sub is in-process: processes cannot share it, so the same one writes.
        &app.state
    };
    brigade_app::orders::transition(
        writer,
        id,
        brigade_app::orders::OrderStatus::Confirmed,
        brigade_app::orders::Actor {
            kind: brigade_app::orders::ActorKind::Venue,
            user_id: None,
        },
        Some("seen by the kitchen".into()),
    )
    .await
    .unwrap();
    assert_eq!(live.next_of("order").await["status"], "CONFIRMED");
    assert_eq!(
        inbox.next_of("notification").await["title"],
        "Order confirmed"
    );
}

#[tokio::test]
async fn event_streams_end_when_the_server_stops() {
    let app = TestApp::spawn().await;
    let (_, customer, _) = app.user("eater@example.com", Role::Customer).await;
    let mut inbox = app.sse("/api/notifications/stream", Some(&customer)).await;
    inbox.next_of("ready").await;
    app.state.stopping.send_replace(true);
    assert!(
        inbox.ends().await,
        "the stream should close so shutdown can finish"
    );
}

#[tokio::test]
async fn simultaneous_orders_are_all_stored_and_each_answered() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Rush Hour", json!({})).await;
    let (_, customer, _) = app.user("eater@example.com", Role::Customer).await;
    let results = futures::future::join_all((0..40).map(|i| {
        app.post(
            "/api/orders",
            json!({"venue_id": s.id, "order_type": "TAKEOUT", "items": [
                {"menu_item_id": s.ramen, "quantity": 1 + i % 3}, {"menu_item_id": s.gyoza, "quantity": 1}]}),
            Some(&customer),
        )
    }))
    .await;
    for r in &results {
        r.assert_status(StatusCode::CREATED);
    }
    let ids: std::collections::HashSet<&str> = results
        .iter()
        .map(|r| r.data()["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 40);
    assert_eq!(order_count(&app).await, 40);
    let events = order_status_events::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(events, 40, "one first status event per order");
    assert_eq!(
        brigade_app::entities::order_items::Entity::find()
            .count(&app.state.db)
            .await
            .unwrap(),
        80
    );
    assert_eq!(
        app.get("/api/notifications", Some(&customer)).await.data()["pagination"]["total"],
        40
    );
}
