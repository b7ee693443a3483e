//! The kitchen: stations and routing, ticket lines queued when an order is confirmed, and the order
//! following its lines through the status machine as staff start, bump, recall and void them.

use axum::http::StatusCode;
use brigade_app::accounts::Role;
use brigade_app::entities::{order_status_events, ticket_events};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::orders::{Shop, shop};

async fn place(app: &TestApp, s: &Shop, customer: &str) -> String {
    let placed = app
        .post(
            "/api/orders",
            json!({"venue_id": s.id, "order_type": "DINE_IN", "table": "T4", "items": [
                {"menu_item_id": s.ramen, "quantity": 2, "special_request": "no egg"},
                {"menu_item_id": s.gyoza, "quantity": 1}
            ]}),
            Some(customer),
        )
        .await;
    placed.assert_status(StatusCode::CREATED);
    placed.data()["id"].as_str().unwrap().to_string()
}

async fn status_of(app: &TestApp, id: &str, token: &str) -> String {
    app.get(&format!("/api/orders/{id}"), Some(token))
        .await
        .data()["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A default Pass station and a Fry station that gyoza is routed to, at `s`.
async fn pass_and_fry_for_gyoza(app: &TestApp, s: &Shop) {
    app.post(
        &format!("/api/venues/{}/stations", s.id),
        json!({"name": "Pass", "kind": "pass", "is_default": true}),
        Some(&s.owner),
    )
    .await
    .assert_status(StatusCode::CREATED);
    let fry = app
        .post(
            &format!("/api/venues/{}/stations", s.id),
            json!({"name": "Fry", "kind": "fry"}),
            Some(&s.owner),
        )
        .await
        .data()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.put(
        &format!("/api/venues/{}/station-routes", s.id),
        json!({"menu_item_id": s.gyoza, "station_id": fry}),
        Some(&s.owner),
    )
    .await
    .assert_status(StatusCode::OK);
}

fn line<'a>(ticket: &'a Value, name: &str) -> &'a Value {
    ticket["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no {name} line in {ticket}"))
}

#[tokio::test]
async fn a_confirmed_order_becomes_lines_at_their_stations_and_follows_them_to_ready() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Kitchen Bar", json!({})).await;
    let (_, customer, _) = app.user("diner@example.com", Role::Customer).await;

    // The manager sets up a grill for the whole menu and a fry station for the gyoza alone.
    let grill = app
        .post(
            &format!("/api/venues/{}/stations", s.id),
            json!({"name": "Grill", "kind": "grill", "target_minutes": 9, "is_default": true}),
            Some(&s.owner),
        )
        .await;
    grill.assert_status(StatusCode::CREATED);
    let grill = grill.data()["id"].as_str().unwrap().to_string();
    let fry = app
        .post(
            &format!("/api/venues/{}/stations", s.id),
            json!({"name": "Fry", "kind": "fry"}),
            Some(&s.owner),
        )
        .await
        .data()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Staff may not change stations; names are unique; kinds are checked.
    app.post(
        &format!("/api/venues/{}/stations", s.id),
        json!({"name": "Bar"}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::FORBIDDEN);
    app.post(
        &format!("/api/venues/{}/stations", s.id),
        json!({"name": "Grill"}),
        Some(&s.owner),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "station_exists");
    let bad = app
        .post(
            &format!("/api/venues/{}/stations", s.id),
            json!({"name": "Oven", "kind": "volcano"}),
            Some(&s.owner),
        )
        .await;
    bad.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!bad.field_errors("kind").is_empty());

    let categories = app
        .get(&format!("/api/venues/{}/menu/categories", s.id), None)
        .await;
    let mains = categories.data()[0]["id"].as_str().unwrap().to_string();
    let routes = format!("/api/venues/{}/station-routes", s.id);
    app.put(
        &routes,
        json!({"category_id": mains, "station_id": grill}),
        Some(&s.owner),
    )
    .await
    .assert_status(StatusCode::OK);
    let routed = app
        .put(
            &routes,
            json!({"menu_item_id": s.gyoza, "station_id": fry}),
            Some(&s.owner),
        )
        .await;
    routed.assert_status(StatusCode::OK);
    assert_eq!(routed.data().as_array().unwrap().len(), 2);
    let both = app
        .put(
            &routes,
            json!({"menu_item_id": s.gyoza, "category_id": mains, "station_id": fry}),
            Some(&s.owner),
        )
        .await;
    both.assert_status(StatusCode::UNPROCESSABLE_ENTITY);

    // Placed: nothing in the kitchen yet. Confirmed: one line per item at its station.
    let id = place(&app, &s, &customer).await;
    let tickets = format!("/api/venues/{}/kitchen/tickets", s.id);
    assert!(
        app.get(&tickets, Some(&s.staff))
            .await
            .data()
            .as_array()
            .unwrap()
            .is_empty()
    );
    let mut kitchen = app
        .sse(
            &format!("/api/venues/{}/kitchen/stream", s.id),
            Some(&s.staff),
        )
        .await;
    app.put(
        &format!("/api/orders/{id}/status"),
        json!({"status": "CONFIRMED"}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::OK);
    let queued = kitchen.next_of("kitchen").await;
    assert_eq!(queued["kind"], "queued");
    // The customer sees when it should be ready: no prep-time model yet, so the slower station's target
    // (the fry station's default 12 minutes) from now.
    let seen = app.get(&format!("/api/orders/{id}"), Some(&customer)).await;
    let eta: chrono::DateTime<chrono::Utc> = seen.data()["estimated_ready_at"]
        .as_str()
        .expect("an estimated ready time")
        .parse()
        .unwrap();
    assert_eq!(eta, app.state.now() + chrono::Duration::minutes(12));
    assert_eq!(queued["line_ids"].as_array().unwrap().len(), 2);

    let at_grill = app
        .get(&format!("{tickets}?station_id={grill}"), Some(&s.staff))
        .await;
    at_grill.assert_status(StatusCode::OK);
    let card = &at_grill.data()[0];
    assert_eq!(card["order_id"], id);
    assert_eq!(card["table_label"], "T4");
    assert_eq!(card["target_minutes"], 9);
    assert_eq!(card["lines"].as_array().unwrap().len(), 1);
    let ramen = line(card, "Ramen");
    assert_eq!(ramen["quantity"], 2);
    assert_eq!(ramen["note"], "no egg");
    assert_eq!(ramen["state"], "queued");
    assert_eq!(ramen["station_name"], "Grill");
    let ramen_id = ramen["id"].as_str().unwrap().to_string();
    let expo = app.get(&tickets, Some(&s.staff)).await;
    let gyoza = line(&expo.data()[0], "Gyoza");
    assert_eq!(gyoza["station_name"], "Fry");
    let gyoza_id = gyoza["id"].as_str().unwrap().to_string();

    // Starting the first line moves the order to PREPARING; bumping both makes it READY.
    app.clock.advance(chrono::Duration::minutes(2));
    let started = app
        .post(
            &format!("/api/kitchen/lines/{ramen_id}/start"),
            json!({}),
            Some(&s.staff),
        )
        .await;
    started.assert_status(StatusCode::OK);
    assert_eq!(started.data()["state"], "started");
    assert_eq!(status_of(&app, &id, &s.staff).await, "PREPARING");
    app.post(
        &format!("/api/kitchen/lines/{ramen_id}/start"),
        json!({}),
        Some(&s.staff),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "invalid_line_action");
    app.clock.advance(chrono::Duration::minutes(5));
    app.post(
        &format!("/api/kitchen/lines/{ramen_id}/bump"),
        json!({}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::OK);
    assert_eq!(
        status_of(&app, &id, &s.staff).await,
        "PREPARING",
        "the gyoza is not ready"
    );
    // The grill's display drops the card once its lines are all ready.
    let grill_now = app
        .get(&format!("{tickets}?station_id={grill}"), Some(&s.staff))
        .await;
    assert!(grill_now.data().as_array().unwrap().is_empty());
    let bumped = app
        .post(
            &format!("/api/kitchen/lines/{gyoza_id}/bump"),
            json!({}),
            Some(&s.staff),
        )
        .await;
    bumped.assert_status(StatusCode::OK);
    assert!(bumped.data()["ready_at"].is_string());
    assert_eq!(status_of(&app, &id, &s.staff).await, "READY");
    let ready = app.get(&format!("/api/orders/{id}"), Some(&customer)).await;
    assert!(
        ready.data().get("estimated_ready_at").is_none(),
        "{}",
        ready.data()
    );

    // The fryer recalls its last bump: the line is being made again and the order goes back.
    let recalled = app
        .post(
            &format!("/api/venues/{}/stations/{fry}/recall-last", s.id),
            json!({}),
            Some(&s.staff),
        )
        .await;
    recalled.assert_status(StatusCode::OK);
    assert_eq!(recalled.data()["id"], gyoza_id);
    assert_eq!(recalled.data()["state"], "started");
    assert_eq!(recalled.data()["recalls"], 1);
    assert_eq!(status_of(&app, &id, &s.staff).await, "PREPARING");
    app.post(
        &format!("/api/kitchen/lines/{gyoza_id}/bump"),
        json!({}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::OK);
    assert_eq!(status_of(&app, &id, &s.staff).await, "READY");

    // Every move went through the status machine and is in the order's history; every line action is
    // an event of its own.
    let events = order_status_events::Entity::find()
        .filter(order_status_events::Column::OrderId.eq(uuid::Uuid::parse_str(&id).unwrap()))
        .order_by_asc(order_status_events::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap();
    let moves: Vec<&str> = events.iter().map(|e| e.to_status.as_str()).collect();
    assert_eq!(
        moves,
        [
            "PENDING",
            "CONFIRMED",
            "PREPARING",
            "READY",
            "PREPARING",
            "READY"
        ]
    );
    assert_eq!(events[5].note.as_deref(), Some("every line is ready"));
    let line_events: Vec<String> = ticket_events::Entity::find()
        .filter(ticket_events::Column::LineId.eq(uuid::Uuid::parse_str(&gyoza_id).unwrap()))
        .order_by_asc(ticket_events::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(line_events, ["queued", "ready", "recalled", "ready"]);

    // A collected order's lines can no longer be recalled; another venue's staff cannot see them.
    app.put(
        &format!("/api/orders/{id}/status"),
        json!({"status": "COMPLETED"}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::OK);
    app.post(
        &format!("/api/kitchen/lines/{gyoza_id}/recall"),
        json!({}),
        Some(&s.staff),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "order_closed");
    let other = shop(&app, &admin, "Other Place", json!({})).await;
    app.post(
        &format!("/api/kitchen/lines/{gyoza_id}/recall"),
        json!({}),
        Some(&other.staff),
    )
    .await
    .assert_status(StatusCode::NOT_FOUND);
    app.get(&tickets, Some(&other.staff))
        .await
        .assert_status(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_venue_without_stations_gets_a_kitchen_and_cancelling_or_voiding_is_recorded() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Plain Cafe", json!({})).await;
    let (_, customer, _) = app.user("guest@example.com", Role::Customer).await;

    let first = place(&app, &s, &customer).await;
    app.put(
        &format!("/api/orders/{first}/status"),
        json!({"status": "CONFIRMED"}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::OK);
    let stations = app
        .get(&format!("/api/venues/{}/stations", s.id), Some(&s.staff))
        .await;
    let list = stations.data().as_array().unwrap().clone();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "Kitchen");
    assert_eq!(list[0]["is_default"], true);
    assert_eq!(list[0]["open_lines"], 2);
    // A station with open lines stays.
    app.delete(
        &format!(
            "/api/venues/{}/stations/{}",
            s.id,
            list[0]["id"].as_str().unwrap()
        ),
        Some(&s.owner),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "station_busy");

    // Voiding needs a reason; a voided line no longer holds the order back.
    let tickets = format!("/api/venues/{}/kitchen/tickets", s.id);
    let card = app.get(&tickets, Some(&s.staff)).await.data()[0].clone();
    let ramen = line(&card, "Ramen")["id"].as_str().unwrap().to_string();
    let gyoza = line(&card, "Gyoza")["id"].as_str().unwrap().to_string();
    let no_reason = app
        .post(
            &format!("/api/kitchen/lines/{gyoza}/void"),
            json!({}),
            Some(&s.staff),
        )
        .await;
    no_reason.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!no_reason.field_errors("reason").is_empty());
    let voided = app
        .post(
            &format!("/api/kitchen/lines/{gyoza}/void"),
            json!({"reason": "dropped"}),
            Some(&s.staff),
        )
        .await;
    voided.assert_status(StatusCode::OK);
    assert_eq!(voided.data()["state"], "voided");
    assert_eq!(voided.data()["void_reason"], "dropped");
    app.post(
        &format!("/api/kitchen/lines/{ramen}/bump"),
        json!({}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::OK);
    assert_eq!(status_of(&app, &first, &s.staff).await, "READY");

    // A cancelled order's open lines are voided, not deleted.
    let second = place(&app, &s, &customer).await;
    app.put(
        &format!("/api/orders/{second}/status"),
        json!({"status": "CONFIRMED"}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::OK);
    app.delete(&format!("/api/orders/{second}"), Some(&s.staff))
        .await
        .assert_status(StatusCode::OK);
    let cards = app.get(&tickets, Some(&s.staff)).await;
    assert!(
        cards
            .data()
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["order_id"] != second),
        "{}",
        cards.data()
    );
    let voided: Vec<_> = brigade_app::entities::ticket_lines::Entity::find()
        .filter(
            brigade_app::entities::ticket_lines::Column::OrderId
                .eq(uuid::Uuid::parse_str(&second).unwrap()),
        )
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(voided.len(), 2);
    assert!(
        voided
            .iter()
            .all(|l| l.state == "voided" && l.void_reason.as_deref() == Some("order cancelled"))
    );
}

#[tokio::test]
async fn channel_orders_reach_the_kitchen_matched_by_name_and_their_channel_closes_them() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(
        &app,
        &admin,
        "Brand Kitchen",
        json!({"external_id": "brand-k"}),
    )
    .await;
    pass_and_fry_for_gyoza(&app, &s).await;
    let order = |history: Value| {
        json!({
            "_id": "ch-kitchen-1",
            "created": "2026-06-15T11:50:00Z",
            "account": "acc-1",
            "brandId": "brand-k",
            "customer": {"name": "Ann", "phoneNumber": "+441234"},
            "items": [
                {"name": "  gyoza ", "plu": "G-1", "quantity": 2},
                {"name": "Mystery box", "quantity": 1}
            ],
            "status": history.as_array().unwrap().last().unwrap()["status"].clone(),
            "statusHistory": history,
        })
    };
    // New (10): not in the kitchen yet. Accepted (20): its lines are queued.
    app.post(
        "/api/channel-orders",
        order(json!([{"status": 10, "timestamp": "2026-06-15T11:50:00Z"}])),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::CREATED);
    let tickets = format!("/api/venues/{}/kitchen/tickets", s.id);
    assert!(
        app.get(&tickets, Some(&s.staff))
            .await
            .data()
            .as_array()
            .unwrap()
            .is_empty()
    );
    app.post(
        "/api/channel-orders/ch-kitchen-1/status",
        json!({"status": 20, "timestamp": "2026-06-15T11:52:00Z"}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::OK);
    let cards = app.get(&tickets, Some(&s.staff)).await;
    assert_eq!(
        cards.data().as_array().unwrap().len(),
        1,
        "{}",
        cards.data()
    );
    let card = cards.data()[0].clone();
    let gyoza = line(&card, "gyoza");
    assert_eq!(
        gyoza["station_name"], "Fry",
        "matched to the menu's Gyoza by name"
    );
    assert_eq!(gyoza["menu_item_id"], s.gyoza);
    assert_eq!(gyoza["quantity"], 2);
    let mystery = line(&card, "Mystery box");
    assert_eq!(
        mystery["station_name"], "Pass",
        "unmatched items go to the default station"
    );
    assert!(mystery["menu_item_id"].is_null());
    // Sending the same status again queues nothing twice.
    app.post(
        "/api/channel-orders/ch-kitchen-1/status",
        json!({"status": 20, "timestamp": "2026-06-15T11:52:00Z"}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::OK);
    let again = app.get(&tickets, Some(&s.staff)).await;
    assert_eq!(again.data()[0]["lines"].as_array().unwrap().len(), 2);

    // Bumping a line of a channel order leaves its status to the channel.
    let gyoza_id = gyoza["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/kitchen/lines/{gyoza_id}/bump"),
        json!({}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::OK);
    let stored = app
        .get("/api/channel-orders/ch-kitchen-1", Some(&admin))
        .await;
    assert_eq!(
        stored.data()["order"]["status"],
        "CONFIRMED",
        "{}",
        stored.data()
    );

    // The channel says it is ready (60): the open line closes, nothing is left on the display.
    app.post(
        "/api/channel-orders/ch-kitchen-1/status",
        json!({"status": 60, "timestamp": "2026-06-15T11:58:00Z"}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::OK);
    assert!(
        app.get(&tickets, Some(&s.staff))
            .await
            .data()
            .as_array()
            .unwrap()
            .is_empty()
    );
    let lines = brigade_app::entities::ticket_lines::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l.state == "ready"), "{lines:?}");
}

#[tokio::test]
async fn a_batch_of_channel_orders_across_venues_queues_each_at_its_own_stations_and_closes_them_together()
 {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let one = shop(&app, &admin, "Batch One", json!({"external_id": "batch-1"})).await;
    let two = shop(&app, &admin, "Batch Two", json!({"external_id": "batch-2"})).await;
    // Venue one: a default Pass and a Fry that takes gyoza. Venue two: no stations at all.
    pass_and_fry_for_gyoza(&app, &one).await;
    let order = |id: &str, brand: &str, items: Value, history: Value| {
        json!({
            "_id": id,
            "created": "2026-06-15T11:50:00Z",
            "account": "acc-1",
            "brandId": brand,
            "items": items,
            "status": history.as_array().unwrap().last().unwrap()["status"].clone(),
            "statusHistory": history,
        })
    };
    let accepted = json!([{"status": 20, "timestamp": "2026-06-15T11:52:00Z"}]);
    let batch = app
        .post(
            "/api/channel-orders",
            json!([
                order("bk-1", "batch-1", json!([{"name": "Gyoza", "quantity": 2}, {"name": "Mystery box", "quantity": 1}]), accepted.clone()),
                order("bk-2", "batch-1", json!([{"name": "Ramen", "quantity": 1}]), accepted.clone()),
                order("bk-3", "batch-2", json!([{"name": "Gyoza", "quantity": 1}, {"name": "Ramen", "quantity": 3}]), accepted.clone()),
            ]),
            Some(&admin),
        )
        .await;
    batch.assert_status(StatusCode::CREATED);
    let lines_of = |ext: &'static str| {
        let app = &app;
        async move {
            let order_id = brigade_app::entities::channel_orders::Entity::find()
                .filter(brigade_app::entities::channel_orders::Column::ExternalId.eq(ext))
                .one(&app.state.db)
                .await
                .unwrap()
                .unwrap()
                .order_id;
            let mut lines = brigade_app::entities::ticket_lines::Entity::find()
                .filter(brigade_app::entities::ticket_lines::Column::OrderId.eq(order_id))
                .all(&app.state.db)
                .await
                .unwrap();
            lines.sort_by(|a, b| a.name.cmp(&b.name));
            lines
        }
    };
    let stations = |lines: &[brigade_app::entities::ticket_lines::Model]| {
        lines
            .iter()
            .map(|l| (l.name.clone(), l.station_name.clone(), l.state.clone()))
            .collect::<Vec<_>>()
    };
    let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        stations(&lines_of("bk-1").await),
        [
            s("Gyoza", "Fry", "queued"),
            s("Mystery box", "Pass", "queued")
        ],
        "venue one's route and default station"
    );
    assert_eq!(
        stations(&lines_of("bk-2").await),
        [s("Ramen", "Pass", "queued")]
    );
    assert_eq!(
        stations(&lines_of("bk-3").await),
        [
            s("Gyoza", "Kitchen", "queued"),
            s("Ramen", "Kitchen", "queued")
        ],
        "venue two has no stations: its lines go to a default station made for it, not to venue one's"
    );
    assert!(
        lines_of("bk-3")
            .await
            .iter()
            .all(|l| l.restaurant_id.to_string() == two.id),
        "venue two's lines are venue two's"
    );
    // The Pass's second line counts the first as ahead of it.
    let pass_depths: Vec<i32> = lines_of("bk-1")
        .await
        .into_iter()
        .chain(lines_of("bk-2").await)
        .filter(|l| l.station_name == "Pass")
        .map(|l| l.queue_depth)
        .collect();
    assert_eq!(pass_depths, [0, 1]);

    // One batch: bk-1 is ready (60), bk-3 cancelled (110), bk-2 unchanged.
    app.post(
        "/api/channel-orders",
        json!([
            order(
                "bk-1",
                "batch-1",
                json!([]),
                json!([{"status": 60, "timestamp": "2026-06-15T11:58:00Z"}])
            ),
            order(
                "bk-3",
                "batch-2",
                json!([]),
                json!([{"status": 110, "timestamp": "2026-06-15T11:59:00Z"}])
            ),
        ]),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::OK);
    assert_eq!(
        stations(&lines_of("bk-1").await),
        [
            s("Gyoza", "Fry", "ready"),
            s("Mystery box", "Pass", "ready")
        ]
    );
    assert_eq!(
        stations(&lines_of("bk-2").await),
        [s("Ramen", "Pass", "queued")]
    );
    let cancelled = lines_of("bk-3").await;
    assert!(
        cancelled
            .iter()
            .all(|l| l.state == "voided" && l.void_reason.as_deref() == Some("order cancelled")),
        "{cancelled:?}"
    );
    for (ext, kind, note) in [
        ("bk-1", "ready", "order ready"),
        ("bk-3", "voided", "order cancelled"),
    ] {
        for line in lines_of(ext).await {
            let events = ticket_events::Entity::find()
                .filter(ticket_events::Column::LineId.eq(line.id))
                .order_by_asc(ticket_events::Column::Id)
                .all(&app.state.db)
                .await
                .unwrap();
            let kinds: Vec<(&str, Option<&str>)> = events
                .iter()
                .map(|e| (e.kind.as_str(), e.note.as_deref()))
                .collect();
            assert_eq!(kinds, [("queued", None), (kind, Some(note))], "{ext}");
        }
    }
}

#[tokio::test]
async fn prep_times_are_predicted_from_the_kitchen_history_with_load_and_fall_back_to_the_median() {
    use brigade_app::entities::ticket_lines;
    use sea_orm::{ActiveModelTrait, Set};
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Prep Place", json!({})).await;
    let grill = app
        .post(
            &format!("/api/venues/{}/stations", s.id),
            json!({"name": "Grill", "kind": "grill", "target_minutes": 15, "is_default": true}),
            Some(&s.owner),
        )
        .await
        .data()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let predict = |item: Option<&str>| {
        let mut body = json!({"station_id": grill});
        if let Some(item) = item {
            body["menu_item_id"] = json!(item);
        }
        body
    };
    // No history: the station's target answers.
    let first = app
        .post(
            "/api/predictions/kitchen/prep-time",
            predict(Some(&s.ramen)),
            Some(&s.staff),
        )
        .await;
    first.assert_status(StatusCode::OK);
    assert_eq!(first.data()["fallback_level"], "average");
    assert_eq!(first.data()["seconds"], 900.0);

    // Three weeks of finished lines: ramen 10 minutes, gyoza 4, each open line adds 10%.
    let venue = uuid::Uuid::parse_str(&s.id).unwrap();
    let station = uuid::Uuid::parse_str(&grill).unwrap();
    let order = uuid::Uuid::parse_str(
        &place(
            &app,
            &s,
            &app.user("h@example.com", brigade_app::accounts::Role::Customer)
                .await
                .1,
        )
        .await,
    )
    .unwrap();
    let start = app.state.now() - chrono::Duration::days(21);
    for i in 0..300i64 {
        let (item, name, base) = if i % 2 == 0 {
            (&s.ramen, "Ramen", 600.0)
        } else {
            (&s.gyoza, "Gyoza", 240.0)
        };
        let depth = (i % 5) as i32;
        let wobble = 1.0 + 0.1 * (((i * 7) % 5) as f64 - 2.0) / 2.0;
        let seconds = base * (1.0 + 0.1 * depth as f64) * wobble;
        let queued = start + chrono::Duration::minutes(i * 97);
        ticket_lines::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            restaurant_id: Set(venue),
            order_id: Set(order),
            station_id: Set(Some(station)),
            station_name: Set("Grill".into()),
            menu_item_id: Set(Some(uuid::Uuid::parse_str(item).unwrap())),
            order_item_id: Set(None),
            name: Set(name.into()),
            quantity: Set(1),
            note: Set(None),
            state: Set("ready".into()),
            queued_at: Set(queued),
            started_at: Set(None),
            ready_at: Set(Some(
                queued + chrono::Duration::milliseconds((seconds * 1000.0) as i64),
            )),
            bumped_by: Set(None),
            recalls: Set(0),
            voided_at: Set(None),
            void_reason: Set(None),
            queue_depth: Set(depth),
        }
        .insert(&app.state.db)
        .await
        .unwrap();
    }
    // Before any training: the item's recent median.
    let rule = app
        .post(
            "/api/predictions/kitchen/prep-time",
            predict(Some(&s.gyoza)),
            Some(&s.staff),
        )
        .await;
    assert_eq!(rule.data()["fallback_level"], "rule_based");
    let median = rule.data()["seconds"].as_f64().unwrap();
    assert!((median - 240.0 * 1.2).abs() < 40.0, "{median}");

    // Trained: a version with its backtest against the item-median rule, answering with load.
    let trained = brigade_app::forecasting::jobs::train_kind(&app.state, venue, "kitchen", None)
        .await
        .unwrap();
    assert_eq!(trained[0].version, Some(1), "{trained:?}");
    let models = app.get("/api/models?kind=kitchen", Some(&admin)).await;
    let metrics = &models.data()["items"][0]["metrics"]["backtest"];
    assert!(
        metrics["model_mae"].as_f64().unwrap() < metrics["rule_mae"].as_f64().unwrap(),
        "{metrics}"
    );
    let quiet = app
        .post(
            "/api/predictions/kitchen/prep-time",
            predict(Some(&s.ramen)),
            Some(&s.staff),
        )
        .await;
    quiet.assert_status(StatusCode::OK);
    assert_eq!(quiet.data()["fallback_level"], "latest");
    assert_eq!(quiet.data()["model_version"], 1);
    let seconds = quiet.data()["seconds"].as_f64().unwrap();
    assert!((seconds - 600.0).abs() < 90.0, "{}", quiet.data());
    assert!(quiet.data()["lower_seconds"].as_f64().unwrap() < seconds);
    assert!(quiet.data()["upper_seconds"].as_f64().unwrap() > seconds);

    // Three lines open at the grill now: the ramen is predicted slower.
    let customer = app
        .user("busy@example.com", brigade_app::accounts::Role::Customer)
        .await
        .1;
    for _ in 0..2 {
        let id = place(&app, &s, &customer).await;
        app.put(
            &format!("/api/orders/{id}/status"),
            json!({"status": "CONFIRMED"}),
            Some(&s.staff),
        )
        .await
        .assert_status(StatusCode::OK);
    }
    let busy = app
        .post(
            "/api/predictions/kitchen/prep-time",
            predict(Some(&s.ramen)),
            Some(&s.staff),
        )
        .await;
    assert_eq!(busy.data()["queue_depth"], 4);
    assert!(
        busy.data()["seconds"].as_f64().unwrap() > 1.25 * seconds,
        "{}",
        busy.data()
    );
    // The kitchen display's tickets are due by the predicted time, not the target.
    let cards = app
        .get(
            &format!("/api/venues/{}/kitchen/tickets", s.id),
            Some(&s.staff),
        )
        .await;
    assert_eq!(cards.data()[0]["due_from"], "model");

    // Bottlenecks: every station and hour, from the demand forecast.
    let hours = app
        .get(
            &format!(
                "/api/predictions/kitchen/bottlenecks?restaurant_id={}&hours=3",
                s.id
            ),
            Some(&s.staff),
        )
        .await;
    hours.assert_status(StatusCode::OK);
    assert_eq!(hours.data().as_array().unwrap().len(), 3);
    assert_eq!(hours.data()[0]["station_name"], "Grill");
    let bad = app
        .get(
            &format!(
                "/api/predictions/kitchen/bottlenecks?restaurant_id={}&hours=99",
                s.id
            ),
            Some(&s.staff),
        )
        .await;
    bad.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    // Another venue's item is refused; to another venue's staff the station is not there.
    let other = shop(&app, &admin, "Far Away", json!({})).await;
    app.post(
        "/api/predictions/kitchen/prep-time",
        predict(Some(&other.ramen)),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::NOT_FOUND);
    app.post(
        "/api/predictions/kitchen/prep-time",
        predict(None),
        Some(&other.staff),
    )
    .await
    .assert_status(StatusCode::NOT_FOUND);

    // Station performance: per local hour, the finished lines' actual times against the model's.
    let perf = app
        .get(
            &format!(
                "/api/predictions/kitchen/performance?restaurant_id={}&days=30",
                s.id
            ),
            Some(&s.staff),
        )
        .await;
    perf.assert_status(StatusCode::OK);
    let rows = perf.data().as_array().unwrap();
    let total: u64 = rows.iter().map(|r| r["lines"].as_u64().unwrap()).sum();
    assert_eq!(total, 300, "every finished line counted once");
    assert!(rows.iter().all(|r| r["station_name"] == "Grill"));
    let mut hours: Vec<u64> = rows.iter().map(|r| r["hour"].as_u64().unwrap()).collect();
    hours.dedup();
    assert_eq!(hours.len(), rows.len(), "one row per station and hour");
    for row in rows.iter().filter(|r| r["lines"].as_u64().unwrap() >= 10) {
        let actual = row["actual_p50_minutes"].as_f64().unwrap();
        let predicted = row["predicted_p50_minutes"].as_f64().unwrap();
        assert!(row["actual_p90_minutes"].as_f64().unwrap() >= actual);
        assert!((actual - predicted).abs() < 3.0, "{row}");
    }
    app.get(
        &format!(
            "/api/predictions/kitchen/performance?restaurant_id={}&days=0",
            s.id
        ),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    app.get(
        &format!(
            "/api/predictions/kitchen/performance?restaurant_id={}",
            s.id
        ),
        Some(&other.staff),
    )
    .await
    .assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_station_backlog_is_counted_up_to_a_bound_for_queue_depth() {
    use brigade_app::entities::ticket_lines;
    use brigade_app::kitchen::DEPTH_COUNTED_UP_TO;
    use sea_orm::{ActiveValue::Set, QuerySelect};
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Unbumped Cafe", json!({})).await;
    let (_, customer, _) = app.user("guest@example.com", Role::Customer).await;
    let confirm = |id: String| {
        let (app, staff) = (&app, &s.staff);
        async move {
            app.put(
                &format!("/api/orders/{id}/status"),
                json!({"status": "CONFIRMED"}),
                Some(staff),
            )
            .await
            .assert_status(StatusCode::OK);
            id
        }
    };
    let depths = |id: String| {
        let app = &app;
        async move {
            let mut depths: Vec<i32> = ticket_lines::Entity::find()
                .select_only()
                .column(ticket_lines::Column::QueueDepth)
                .filter(ticket_lines::Column::OrderId.eq(uuid::Uuid::parse_str(&id).unwrap()))
                .into_tuple()
                .all(&app.state.db)
                .await
                .unwrap();
            depths.sort_unstable();
            depths
        }
    };
    // The first order makes the venue its Kitchen; its lines are the first two in the queue.
    let first = confirm(place(&app, &s, &customer).await).await;
    assert_eq!(depths(first.clone()).await, [0, 1]);
    let kitchen: ticket_lines::Model = ticket_lines::Entity::find()
        .filter(ticket_lines::Column::OrderId.eq(uuid::Uuid::parse_str(&first).unwrap()))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    // A backlog the venue never bumps, far past the bound: queued and started lines count, ready ones
    // do not.
    let backlog = DEPTH_COUNTED_UP_TO as usize + 150;
    let lines: Vec<ticket_lines::ActiveModel> = (0..backlog + 40)
        .map(|i| {
            let mut line: ticket_lines::ActiveModel = kitchen.clone().into();
            line.id = Set(uuid::Uuid::now_v7());
            line.order_item_id = Set(None);
            line.state = Set(match i % 3 {
                _ if i >= backlog => "ready",
                0 => "started",
                _ => "queued",
            }
            .into());
            line
        })
        .collect();
    for chunk in lines.chunks(50) {
        ticket_lines::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&app.state.db)
            .await
            .unwrap();
    }
    // The next order's lines say "at least the bound" (each line after the first one more), and so
    // does the prediction's load.
    let next = confirm(place(&app, &s, &customer).await).await;
    let bound = DEPTH_COUNTED_UP_TO as i32;
    assert_eq!(depths(next).await, [bound, bound + 1]);
    let predicted = app
        .post(
            "/api/predictions/kitchen/prep-time",
            json!({"station_id": kitchen.station_id}),
            Some(&s.staff),
        )
        .await;
    predicted.assert_status(StatusCode::OK);
    assert_eq!(predicted.data()["queue_depth"], DEPTH_COUNTED_UP_TO);
}
