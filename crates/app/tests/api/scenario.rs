//! The QR-ordering story end to end, as people use it: a manager sets up a venue, a customer scans a
//! table's code, saves the venue, orders and reserves, and watches the kitchen move the order live.

use axum::http::StatusCode;
use brigade_app::accounts::Role;
use serde_json::json;

use crate::harness::TestApp;

#[tokio::test]
async fn from_a_new_venue_to_a_completed_order_watched_live() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (_, manager, _) = app.user("manager@omochi.example", Role::Customer).await;
    let venue = app
        .post(
            "/api/venues",
            json!({"name": "Omochi", "timezone": "Europe/Paris", "currency": "EUR", "status": "active"}),
            Some(&admin),
        )
        .await;
    let venue = venue.data()["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/restaurants/{venue}/members"),
        json!({"email": "manager@omochi.example", "role": "manager"}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::CREATED);

    // The manager: hours, menu, reservation slots and a table's QR code.
    app.put(
        &format!("/api/venues/{venue}"),
        json!({"hours": [{"weekday": 0, "opens": "11:00", "closes": "15:00"}, {"weekday": 0, "opens": "18:00", "closes": "23:00"},
                         {"weekday": 1, "opens": "11:00", "closes": "23:00"}]}),
        Some(&manager),
    )
    .await
    .assert_status(StatusCode::OK);
    let category = app
        .post(
            &format!("/api/venues/{venue}/menu/categories"),
            json!({"name": "Donburi"}),
            Some(&manager),
        )
        .await;
    let category = category.data()["id"].as_str().unwrap().to_string();
    let katsudon = app
        .post(
            &format!("/api/venues/{venue}/menu/items"),
            json!({"category_id": category, "name": "Katsudon", "price": "13.90", "preparation_minutes": 12}),
            Some(&manager),
        )
        .await;
    let katsudon = katsudon.data()["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/venues/{venue}/time-slots"),
        json!({"weekday": "TUE", "start_time": "19:00", "end_time": "22:00", "interval_minutes": 30, "max_reservations": 3, "max_covers": 10}),
        Some(&manager),
    )
    .await
    .assert_status(StatusCode::CREATED);
    let qr = app
        .post(
            &format!("/api/venues/{venue}/generate-qr"),
            json!({"table": "12"}),
            Some(&manager),
        )
        .await;
    let code = qr.data()["code"].as_str().unwrap().to_string();

    // The customer scans it (Monday 14:00 in Paris: open).
    let (_, customer, _) = app.user("guest@example.com", Role::Customer).await;
    let resolved = app.get(&format!("/api/venues/qr/{code}"), None).await;
    assert_eq!(resolved.data()["table"], "12");
    let menu = app
        .get(resolved.data()["menu_url"].as_str().unwrap(), None)
        .await;
    assert_eq!(menu.data()["categories"][0]["items"][0]["name"], "Katsudon");
    app.post(
        "/api/stocked-venues",
        json!({"venue_id": venue, "is_favorite": true}),
        Some(&customer),
    )
    .await
    .assert_status(StatusCode::CREATED);
    let mut inbox = app.sse("/api/notifications/stream", Some(&customer)).await;
    let order = app
        .post(
            "/api/orders",
            json!({"venue_id": venue, "order_type": "DINE_IN", "table": "12", "items": [{"menu_item_id": katsudon, "quantity": 2}]}),
            Some(&customer),
        )
        .await;
    order.assert_status(StatusCode::CREATED);
    assert_eq!(order.data()["total_amount"], "27.80");
    let order = order.data()["id"].as_str().unwrap().to_string();
    let reservation = app
        .post(
            &format!("/api/venues/{venue}/reservations"),
            json!({"date": "2026-06-16", "time": "20:00", "party_size": 4}),
            Some(&customer),
        )
        .await;
    reservation.assert_status(StatusCode::CREATED);

    // The manager works the order; the customer's streams see every step.
    let mut live = app
        .sse(&format!("/api/orders/{order}/stream"), Some(&customer))
        .await;
    assert_eq!(
        inbox.next_of("notification").await["title"],
        "Order received"
    );
    assert_eq!(
        inbox.next_of("notification").await["title"],
        "Reservation confirmed"
    );
    for status in ["CONFIRMED", "PREPARING", "READY", "COMPLETED"] {
        app.put(
            &format!("/api/orders/{order}/status"),
            json!({"status": status}),
            Some(&manager),
        )
        .await
        .assert_status(StatusCode::OK);
        assert_eq!(live.next_of("order").await["status"], status);
        assert_eq!(
            inbox.next_of("notification").await["reference_id"],
            order.as_str()
        );
    }

    // Afterwards the notifications are all there.
    let notes = app
        .get("/api/notifications?per_page=50", Some(&customer))
        .await;
    let titles: Vec<&str> = notes.data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 6, "{titles:?}");
    assert!(titles.contains(&"Order completed") && titles.contains(&"Reservation confirmed"));
    assert_eq!(
        app.get(&format!("/api/orders/{order}"), Some(&customer))
            .await
            .data()["status"],
        "COMPLETED"
    );
}
