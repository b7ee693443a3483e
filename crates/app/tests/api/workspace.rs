//! The venue workspace's API: guests ordering without an account, "86 until tomorrow", reordering the
//! menu in one call, PLU codes routing channel items, the reservation book's seat / no-show moves and
//! guest names, and station performance (actual against predicted prep times).

use axum::http::StatusCode;
use brigade_app::accounts::Role;
use serde_json::json;

use crate::harness::TestApp;
use crate::orders::shop;

#[tokio::test]
async fn a_guest_orders_with_a_name_and_a_phone_and_follows_the_order_without_an_account() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Guest House", json!({})).await;

    // A name alone is not enough: the venue needs a way to reach the guest.
    let refused = app
        .post("/api/auth/guest", json!({"name": "Maya"}), None)
        .await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        refused.field_errors("phone"),
        vec!["give a phone number or an e-mail"]
    );
    let bad = app
        .post(
            "/api/auth/guest",
            json!({"name": " ", "phone": "call me", "email": "nope"}),
            None,
        )
        .await;
    bad.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["name", "phone", "email"] {
        assert!(!bad.field_errors(field).is_empty(), "{field}: {}", bad.text);
    }

    let guest = app
        .post(
            "/api/auth/guest",
            json!({"name": "Maya", "phone": "+44 7700 900123", "email": "Maya@Example.com"}),
            None,
        )
        .await;
    guest.assert_status(StatusCode::CREATED);
    let user = &guest.data()["user"];
    assert_eq!(user["is_guest"], true);
    assert_eq!(user["role"], "customer");
    assert_eq!(user["first_name"], "Maya");
    assert_eq!(user["contact_email"], "maya@example.com");
    let placeholder = user["email"].as_str().unwrap().to_string();
    assert!(placeholder.ends_with("@guest.invalid"), "{placeholder}");
    let token = guest.data()["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let refresh = guest.data()["tokens"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();

    // The guest orders and reads the order back like any customer.
    let placed = app
        .post(
            "/api/orders",
            json!({"venue_id": s.id, "order_type": "TAKEOUT", "items": [{"menu_item_id": s.ramen, "quantity": 1}]}),
            Some(&token),
        )
        .await;
    placed.assert_status(StatusCode::CREATED);
    let id = placed.data()["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.get(&format!("/api/orders/{id}"), Some(&token))
            .await
            .data()["total_amount"],
        "14.50"
    );
    // Its tokens renew, so a long wait does not lose the order page.
    let renewed = app
        .post(
            "/api/auth/refresh-token",
            json!({"refresh_token": refresh}),
            None,
        )
        .await;
    renewed.assert_status(StatusCode::OK);

    // No one can sign in as the guest: it has no password, and the placeholder address takes none.
    for password in ["", "!guest", "password-123"] {
        app.post(
            "/api/auth/login",
            json!({"email": placeholder, "password": password}),
            None,
        )
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    }
    // Two guests with the same contact are two accounts: one cannot read the other's orders.
    let other = app
        .post(
            "/api/auth/guest",
            json!({"name": "Maya", "phone": "+44 7700 900123"}),
            None,
        )
        .await;
    other.assert_status(StatusCode::CREATED);
    let other_token = other.data()["tokens"]["access_token"].as_str().unwrap();
    app.get(&format!("/api/orders/{id}"), Some(other_token))
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_item_86_until_tomorrow_comes_back_at_the_venues_next_local_day() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    // Now: 2026-06-15 12:00 UTC, 13:00 in London (BST).
    let s = shop(&app, &admin, "Eighty Six", json!({})).await;
    let (_, customer, _) = app.user("hungry@example.com", Role::Customer).await;
    let path = format!("/api/venues/{}/menu/items/{}/eighty-six", s.id, s.ramen);
    app.post(&path, json!({"until_tomorrow": true}), Some(&customer))
        .await
        .assert_status(StatusCode::FORBIDDEN);

    // Staff may 86 an item: off until London's next midnight, 23:00 UTC.
    let off = app
        .post(&path, json!({"until_tomorrow": true}), Some(&s.staff))
        .await;
    off.assert_status(StatusCode::OK);
    assert_eq!(off.data()["is_available"], false);
    assert_eq!(off.data()["unavailable_until"], "2026-06-15T23:00:00Z");
    let order = json!({"venue_id": s.id, "order_type": "TAKEOUT", "items": [{"menu_item_id": s.ramen, "quantity": 1}]});
    app.post("/api/orders", order.clone(), Some(&customer))
        .await
        .assert_status(StatusCode::CONFLICT);
    let menu = app.get(&format!("/api/venues/{}/menu", s.id), None).await;
    let ramen = menu.data()["categories"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == s.ramen.as_str())
        .unwrap()
        .clone();
    assert_eq!(ramen["is_available"], false, "the public menu says so");
    let sold_out = app
        .get(
            &format!("/api/venues/{}/menu/items?available=false", s.id),
            None,
        )
        .await;
    assert!(
        sold_out
            .data()
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == s.ramen.as_str())
    );

    // After midnight in London it is back by itself. The cached menu expires at that instant on the
    // wall clock (`menus::menu_ttl`, tested on its own); the test's clock is a manual one, so the cache
    // is emptied here as its expiry would.
    app.clock.advance(chrono::Duration::hours(11));
    brigade_app::menus::invalidate(&app.state, uuid::Uuid::parse_str(&s.id).unwrap()).await;
    let menu = app.get(&format!("/api/venues/{}/menu", s.id), None).await;
    let ramen = menu.data()["categories"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == s.ramen.as_str())
        .unwrap()
        .clone();
    assert_eq!(ramen["is_available"], true, "{ramen}");
    assert!(ramen["unavailable_until"].is_null());
    let customer = app.token_for("hungry@example.com").await;
    let staff = app.token_for("staff@eighty-six.example").await;
    app.post("/api/orders", order, Some(&customer))
        .await
        .assert_status(StatusCode::CREATED);

    // "Back now" ends an 86 at once, and so does the availability switch.
    app.post(&path, json!({"until_tomorrow": true}), Some(&staff))
        .await
        .assert_status(StatusCode::OK);
    let back = app
        .post(&path, json!({"until_tomorrow": false}), Some(&staff))
        .await;
    assert_eq!(back.data()["is_available"], true);
    assert!(back.data()["unavailable_until"].is_null());
}

#[tokio::test]
async fn the_menu_reorders_in_one_call_and_items_move_between_categories() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Reorder Room", json!({})).await;
    let sides = app
        .post(
            &format!("/api/venues/{}/menu/categories", s.id),
            json!({"name": "Sides", "display_order": 5}),
            Some(&s.owner),
        )
        .await
        .data()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let menu = app.get(&format!("/api/venues/{}/menu", s.id), None).await;
    let mains = menu.data()["categories"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/venues/{}/menu/order", s.id);
    // Sides first; gyoza moves to Sides; ramen after the sold-out item in Mains.
    let body = json!({
        "category_ids": [sides, mains],
        "items": [
            {"category_id": sides, "item_ids": [s.gyoza]},
            {"category_id": mains, "item_ids": [s.sold_out, s.ramen]}
        ]
    });
    app.put(&path, body.clone(), Some(&s.staff))
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let saved = app.put(&path, body, Some(&s.owner)).await;
    saved.assert_status(StatusCode::OK);
    let menu = app.get(&format!("/api/venues/{}/menu", s.id), None).await;
    let categories = menu.data()["categories"].as_array().unwrap();
    assert_eq!(categories[0]["id"], sides.as_str());
    let ids = |k: usize| -> Vec<String> {
        categories[k]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(0), vec![s.gyoza.clone()]);
    assert_eq!(ids(1), vec![s.sold_out.clone(), s.ramen.clone()]);

    // An id from elsewhere changes nothing and is named.
    let other = shop(&app, &admin, "Other Room", json!({})).await;
    let refused = app
        .put(
            &path,
            json!({"category_ids": [mains], "items": [{"category_id": mains, "item_ids": [s.ramen, other.ramen]}]}),
            Some(&s.owner),
        )
        .await;
    refused.assert_status(StatusCode::NOT_FOUND);
    assert!(!refused.field_errors("items[0].item_ids[1]").is_empty());
    let menu = app.get(&format!("/api/venues/{}/menu", s.id), None).await;
    assert_eq!(menu.data()["categories"][0]["id"], sides.as_str());
    // More ids than a menu page could hold are refused before anything is looked up.
    let flood = vec![s.ramen.clone(); 201];
    let too_many = app
        .put(
            &path,
            json!({"items": [{"category_id": mains, "item_ids": flood}]}),
            Some(&s.owner),
        )
        .await;
    too_many.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        too_many.field_errors("items[0].item_ids"),
        vec!["at most 200 items"]
    );
}

#[tokio::test]
async fn channel_items_find_their_station_by_plu_before_name() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(
        &app,
        &admin,
        "Plu Kitchen",
        json!({"external_id": "brand-plu"}),
    )
    .await;
    for (name, kind, default) in [("Pass", "pass", true), ("Fry", "fry", false)] {
        app.post(
            &format!("/api/venues/{}/stations", s.id),
            json!({"name": name, "kind": kind, "is_default": default}),
            Some(&s.owner),
        )
        .await
        .assert_status(StatusCode::CREATED);
    }
    let stations = app
        .get(&format!("/api/venues/{}/stations", s.id), Some(&s.owner))
        .await;
    let fry = stations
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["name"] == "Fry")
        .unwrap()["id"]
        .clone();
    app.put(
        &format!("/api/venues/{}/station-routes", s.id),
        json!({"menu_item_id": s.gyoza, "station_id": fry}),
        Some(&s.owner),
    )
    .await
    .assert_status(StatusCode::OK);
    let item = format!("/api/venues/{}/menu/items/{}", s.id, s.gyoza);
    let coded = app.put(&item, json!({"plu": "G-1"}), Some(&s.owner)).await;
    coded.assert_status(StatusCode::OK);
    assert_eq!(coded.data()["plu"], "G-1");
    // A PLU names one item of the menu.
    let taken = app
        .put(
            &format!("/api/venues/{}/menu/items/{}", s.id, s.ramen),
            json!({"plu": "G-1"}),
            Some(&s.owner),
        )
        .await;
    taken.assert_error(StatusCode::CONFLICT, "plu_taken");

    // The channel calls it "Dumplings (6)" with code g-1: the PLU finds the gyoza and its station.
    app.post(
        "/api/channel-orders",
        json!({
            "_id": "ch-plu-1", "created": "2026-06-15T11:50:00Z", "account": "acc-1", "brandId": "brand-plu",
            "customer": {"name": "Ann", "phoneNumber": "+441234"},
            "items": [{"name": "Dumplings (6)", "plu": "g-1", "quantity": 1}],
            "status": 20,
            "statusHistory": [{"status": 10, "timestamp": "2026-06-15T11:50:00Z"}, {"status": 20, "timestamp": "2026-06-15T11:51:00Z"}]
        }),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::CREATED);
    let tickets = app
        .get(
            &format!("/api/venues/{}/kitchen/tickets", s.id),
            Some(&s.staff),
        )
        .await;
    let line = &tickets.data()[0]["lines"][0];
    assert_eq!(line["station_name"], "Fry", "{}", tickets.data());
    assert_eq!(line["menu_item_id"], s.gyoza.as_str());
}

#[tokio::test]
async fn the_book_seats_completes_and_marks_no_shows_with_the_guests_names() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    // Now: Monday 2026-06-15, 13:00 in London.
    let s = shop(&app, &admin, "Book Keepers", json!({})).await;
    app.post(
        &format!("/api/venues/{}/time-slots", s.id),
        json!({"weekday": "TUE", "start_time": "18:00", "end_time": "21:00", "interval_minutes": 60, "max_reservations": 4, "max_covers": 10}),
        Some(&s.owner),
    )
    .await
    .assert_status(StatusCode::CREATED);
    let guest = app
        .post(
            "/api/auth/guest",
            json!({"name": "Ola", "email": "ola@example.com"}),
            None,
        )
        .await;
    let ola = guest.data()["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, ben, _) = app.user("ben@example.com", Role::Customer).await;
    // The book listens on the venue's reservation channel (in every process, with Redis).
    let venue_id = uuid::Uuid::parse_str(&s.id).unwrap();
    let mut book_feed = app
        .state
        .pubsub
        .subscribe(&brigade_app::reservations::book_channel(venue_id));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut ids = Vec::new();
    for (token, party) in [(&ola, 4), (&ben, 2)] {
        let r = app
            .post(
                &format!("/api/venues/{}/reservations", s.id),
                json!({"date": "2026-06-16", "time": "19:00", "party_size": party}),
                Some(token),
            )
            .await;
        r.assert_status(StatusCode::CREATED);
        ids.push(r.data()["id"].as_str().unwrap().to_string());
    }
    let announced = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        futures::StreamExt::next(&mut book_feed),
    )
    .await
    .expect("a booking is announced to the book")
    .unwrap();
    assert!(announced.contains(&ids[0]), "{announced}");
    // The venue's book names each guest; a guest's own list does not carry the others'.
    let book = app
        .get(
            &format!("/api/venues/{}/reservations?date=2026-06-16", s.id),
            Some(&s.staff),
        )
        .await;
    let items = book.data()["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let names: Vec<&str> = items
        .iter()
        .map(|r| r["guest"]["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Ola"), "{names:?}");
    let ola_row = items.iter().find(|r| r["guest"]["name"] == "Ola").unwrap();
    assert_eq!(ola_row["guest"]["email"], "ola@example.com");
    let own = app
        .get(&format!("/api/venues/{}/reservations", s.id), Some(&ola))
        .await;
    assert_eq!(own.data()["items"].as_array().unwrap().len(), 1);
    assert!(own.data()["items"][0]["guest"].is_null());

    // Seat Ola's party, then complete it; a seated party cannot become a no-show.
    let first = format!("/api/reservations/{}", ids[0]);
    let seated = app
        .put(&first, json!({"status": "SEATED"}), Some(&s.staff))
        .await;
    seated.assert_status(StatusCode::OK);
    assert_eq!(seated.data()["status"], "SEATED");
    app.put(&first, json!({"status": "NO_SHOW"}), Some(&s.staff))
        .await
        .assert_error(StatusCode::CONFLICT, "reservation_seated");
    app.put(&first, json!({"status": "COMPLETED"}), Some(&s.staff))
        .await
        .assert_status(StatusCode::OK);
    // Ben never came: the no-show gives his places back.
    let second = format!("/api/reservations/{}", ids[1]);
    let gone = app
        .put(&second, json!({"status": "NO_SHOW"}), Some(&s.staff))
        .await;
    gone.assert_status(StatusCode::OK);
    assert_eq!(gone.data()["status"], "NO_SHOW");
    app.put(&second, json!({"status": "SEATED"}), Some(&s.staff))
        .await
        .assert_error(StatusCode::CONFLICT, "reservation_closed");
    let free = app
        .get(
            &format!("/api/venues/{}/time-slots?date=2026-06-16", s.id),
            None,
        )
        .await;
    let seven = free
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|slot| slot["time"].as_str().unwrap().starts_with("19:00"))
        .unwrap()
        .clone();
    assert_eq!(seven["reservations_left"], 4, "{seven}");
    assert_eq!(seven["covers_left"], 10);
    // A guest cannot seat themselves.
    let again = app
        .post(
            &format!("/api/venues/{}/reservations", s.id),
            json!({"date": "2026-06-16", "time": "20:00", "party_size": 2}),
            Some(&ola),
        )
        .await;
    again.assert_status(StatusCode::CREATED);
    app.put(
        &format!("/api/reservations/{}", again.data()["id"].as_str().unwrap()),
        json!({"status": "SEATED"}),
        Some(&ola),
    )
    .await
    .assert_status(StatusCode::FORBIDDEN);
}
