use axum::http::StatusCode;
use brigade_app::accounts::Role;
use brigade_app::entities::{mail_outbox, reservation_capacity, reservations};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::orders::shop;

async fn slot(app: &TestApp, venue: &str, token: &str, body: Value) -> String {
    let r = app
        .post(
            &format!("/api/venues/{venue}/time-slots"),
            body,
            Some(token),
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    r.data()["id"].as_str().unwrap().to_string()
}

fn times(response: &Value) -> Vec<String> {
    response
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["time"].as_str().unwrap()[..5].to_string())
        .collect()
}

#[tokio::test]
async fn availability_follows_the_zone_the_notice_and_the_capacity() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    // Now: Monday 2026-06-15 12:00 UTC = 13:00 in London.
    let s = shop(&app, &admin, "Table House", json!({})).await;
    slot(&app, &s.id, &s.owner, json!({"weekday": "MON", "start_time": "12:00", "end_time": "15:00", "interval_minutes": 60, "max_reservations": 2, "max_covers": 6})).await;
    slot(&app, &s.id, &s.owner, json!({"weekday": 5, "start_time": "22:00", "end_time": "01:00", "interval_minutes": 60, "max_reservations": 4})).await;
    let base = format!("/api/venues/{}/time-slots", s.id);

    // 12:00 is past, 13:00 is inside the hour of notice; 14:00 local is bookable.
    let today = app.get(&format!("{base}?date=2026-06-15"), None).await;
    today.assert_status(StatusCode::OK);
    assert_eq!(times(today.data()), vec!["14:00"]);
    assert_eq!(today.data()[0]["starts_at"], "2026-06-15T13:00:00Z");
    assert_eq!(today.data()[0]["local_start"], "2026-06-15T14:00:00+01:00");

    // Saturday's window runs past midnight into Sunday.
    let saturday = app.get(&format!("{base}?date=2026-06-20"), None).await;
    assert_eq!(times(saturday.data()), vec!["22:00", "23:00", "00:00"]);
    assert_eq!(saturday.data()[2]["starts_at"], "2026-06-20T23:00:00Z");

    let (_, ana, _) = app.user("ana@example.com", Role::Customer).await;
    let (_, ben, _) = app.user("ben@example.com", Role::Customer).await;
    let (_, cy, _) = app.user("cy@example.com", Role::Customer).await;
    let reserve = |token: &str, body: Value| {
        let (app, id, token) = (&app, s.id.clone(), token.to_string());
        async move {
            app.post(
                &format!("/api/venues/{id}/reservations"),
                body,
                Some(&token),
            )
            .await
        }
    };
    let first = reserve(
        &ana,
        json!({"date": "2026-06-15", "time": "14:00", "party_size": 4, "table_preference": "window"}),
    )
    .await;
    first.assert_status(StatusCode::CREATED);
    assert_eq!(first.data()["status"], "CONFIRMED");
    assert_eq!(first.data()["starts_at"], "2026-06-15T13:00:00Z");

    // Two covers are left at 14:00: a party of three no longer sees it, a party of two does.
    assert!(
        times(
            app.get(&format!("{base}?date=2026-06-15&party_size=3"), None)
                .await
                .data()
        )
        .is_empty()
    );
    let two = app
        .get(&format!("{base}?date=2026-06-15&party_size=2"), None)
        .await;
    assert_eq!(two.data()[0]["reservations_left"], 1);
    assert_eq!(two.data()[0]["covers_left"], 2);
    reserve(
        &ben,
        json!({"date": "2026-06-15", "time": "14:00", "party_size": 3}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "slot_full");
    reserve(
        &ben,
        json!({"date": "2026-06-15", "time": "14:00", "party_size": 2}),
    )
    .await
    .assert_status(StatusCode::CREATED);
    reserve(
        &cy,
        json!({"date": "2026-06-15", "time": "14:00", "party_size": 1}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "slot_full");

    // Cancelling frees the place at once.
    let id = first.data()["id"].as_str().unwrap();
    app.delete(&format!("/api/reservations/{id}"), Some(&ana))
        .await
        .assert_status(StatusCode::OK);
    reserve(
        &cy,
        json!({"date": "2026-06-15", "time": "14:00", "party_size": 4}),
    )
    .await
    .assert_status(StatusCode::CREATED);

    // Bad requests name their field.
    let bad = reserve(
        &cy,
        json!({"date": "2026-06-15", "time": "14:30", "party_size": 0}),
    )
    .await;
    bad.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(!bad.field_errors("party_size").is_empty());
    // Well formed, but not a start the venue offers: a conflict with its rules, not a bad request.
    let off_slot = reserve(
        &cy,
        json!({"date": "2026-06-15", "time": "14:30", "party_size": 2}),
    )
    .await;
    off_slot.assert_error(StatusCode::CONFLICT, "not_bookable");
    assert!(!off_slot.field_errors("time").is_empty());
    let early = reserve(
        &cy,
        json!({"date": "2026-06-15", "time": "13:00", "party_size": 2}),
    )
    .await;
    early.assert_error(StatusCode::CONFLICT, "not_bookable");
    assert!(early.field_errors("time")[0].contains("60 minutes"));
    // Outside the booking window there is nothing free, and the answer says why.
    let far = app.get(&format!("{base}?date=2026-08-01"), None).await;
    far.assert_status(StatusCode::OK);
    assert_eq!(far.data(), &json!([]));
    assert!(
        far.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("30 days"),
        "{}",
        far.text
    );
    let past = app.get(&format!("{base}?date=2026-06-01"), None).await;
    assert_eq!(past.data(), &json!([]));
    assert!(
        past.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("past"),
        "{}",
        past.text
    );
    let far_booking = reserve(
        &cy,
        json!({"date": "2026-08-01", "time": "14:00", "party_size": 2}),
    )
    .await;
    far_booking.assert_error(StatusCode::CONFLICT, "not_bookable");
    assert!(far_booking.field_errors("date")[0].contains("30 days"));
    let words = app.get(&format!("{base}?date=tomorrow"), None).await;
    words.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(!words.field_errors("date").is_empty());
}

#[tokio::test]
async fn dst_days_offer_each_real_start_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(
        &app,
        &admin,
        "Late Diner",
        json!({"timezone": "America/New_York", "currency": "USD", "reservation_max_days_ahead": 365}),
    )
    .await;
    slot(&app, &s.id, &s.owner, json!({"weekday": "SUN", "start_time": "01:00", "end_time": "04:00", "interval_minutes": 30, "max_reservations": 3})).await;
    let base = format!("/api/venues/{}/time-slots", s.id);
    let fall = app.get(&format!("{base}?date=2026-11-01"), None).await;
    assert_eq!(
        times(fall.data()),
        vec!["01:00", "01:30", "02:00", "02:30", "03:00", "03:30"]
    );
    assert_eq!(
        fall.data()[1]["starts_at"],
        "2026-11-01T05:30:00Z",
        "the first 01:30"
    );
    let spring = app.get(&format!("{base}?date=2027-03-14"), None).await;
    assert_eq!(
        times(spring.data()),
        vec!["01:00", "01:30", "03:00", "03:30"]
    );
    let (_, guest, _) = app.user("guest@example.com", Role::Customer).await;
    let gap = app
        .post(
            &format!("/api/venues/{}/reservations", s.id),
            json!({"date": "2027-03-14", "time": "02:30", "party_size": 2}),
            Some(&guest),
        )
        .await;
    assert!(gap.field_errors("time")[0].contains("clocks change"));
}

#[tokio::test]
async fn capacity_is_never_exceeded_by_simultaneous_requests() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Tiny Bistro", json!({})).await;
    slot(&app, &s.id, &s.owner, json!({"weekday": "TUE", "start_time": "19:00", "end_time": "20:00", "interval_minutes": 60, "max_reservations": 5})).await;
    let mut tokens = Vec::new();
    for i in 0..16 {
        tokens.push(
            app.user(&format!("guest{i}@example.com"), Role::Customer)
                .await
                .1,
        );
    }
    let path = format!("/api/venues/{}/reservations", s.id);
    let results = futures::future::join_all(tokens.iter().map(|token| {
        app.post(
            &path,
            json!({"date": "2026-06-16", "time": "19:00", "party_size": 2}),
            Some(token),
        )
    }))
    .await;
    let won = results
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    for r in &results {
        assert!(
            r.status == StatusCode::CREATED || r.code() == "slot_full",
            "{}",
            r.text
        );
    }
    assert_eq!(won, 5);
    let stored = reservations::Entity::find()
        .filter(reservations::Column::Status.eq("CONFIRMED"))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(stored, 5);
    assert!(
        app.get(
            &format!("/api/venues/{}/time-slots?date=2026-06-16", s.id),
            None
        )
        .await
        .data()
        .as_array()
        .unwrap()
        .is_empty()
    );
}

#[tokio::test]
async fn simultaneous_cancels_of_one_reservation_release_its_places_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Twice Bistro", json!({})).await;
    slot(&app, &s.id, &s.owner, json!({"weekday": "TUE", "start_time": "19:00", "end_time": "21:00", "interval_minutes": 60, "max_reservations": 3})).await;
    let path = format!("/api/venues/{}/reservations", s.id);
    let mut guests = Vec::new();
    for i in 0..3 {
        let token = app
            .user(&format!("twice{i}@example.com"), Role::Customer)
            .await
            .1;
        let booked = app
            .post(
                &path,
                json!({"date": "2026-06-16", "time": "19:00", "party_size": 2}),
                Some(&token),
            )
            .await;
        booked.assert_status(StatusCode::CREATED);
        guests.push((token, booked.data()["id"].as_str().unwrap().to_string()));
    }
    let capacity = |app: &TestApp| {
        let db = app.state.db.clone();
        async move {
            reservation_capacity::Entity::find()
                .all(&db)
                .await
                .unwrap()
                .into_iter()
                .map(|row| (row.reservations, row.covers))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(capacity(&app).await, vec![(3, 6)]);

    // Twelve cancels of one reservation at once: one cancels, the others are refused.
    let (guest, id) = &guests[0];
    let one = format!("/api/reservations/{id}");
    let results = futures::future::join_all((0..12).map(|_| app.delete(&one, Some(guest)))).await;
    let cancelled = results
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    for r in &results {
        assert!(
            r.status == StatusCode::OK
                || ["reservation_changed", "reservation_closed"].contains(&r.code()),
            "{}",
            r.text
        );
    }
    assert_eq!(cancelled, 1);
    assert_eq!(capacity(&app).await, vec![(2, 4)], "places released once");

    // Moves of one reservation racing each other: each either moves it (a request that read it after
    // the first move moves it from 20:00 to 20:00) or is refused, and the places follow it exactly.
    let (guest, id) = &guests[1];
    let one = format!("/api/reservations/{id}");
    let results = futures::future::join_all((0..8).map(|_| {
        app.put(
            &one,
            json!({"date": "2026-06-16", "time": "20:00"}),
            Some(guest),
        )
    }))
    .await;
    for r in &results {
        assert!(
            r.status == StatusCode::OK || r.code() == "reservation_changed",
            "{}",
            r.text
        );
    }
    assert!(results.iter().any(|r| r.status == StatusCode::OK));
    let mut rows = capacity(&app).await;
    rows.sort();
    assert_eq!(rows, vec![(1, 2), (1, 2)]);

    // The freed place is there exactly once.
    let mut tokens = Vec::new();
    for i in 0..6 {
        tokens.push(
            app.user(&format!("late{i}@example.com"), Role::Customer)
                .await
                .1,
        );
    }
    let results = futures::future::join_all(tokens.iter().map(|token| {
        app.post(
            &path,
            json!({"date": "2026-06-16", "time": "19:00", "party_size": 2}),
            Some(token),
        )
    }))
    .await;
    assert_eq!(
        results
            .iter()
            .filter(|r| r.status == StatusCode::CREATED)
            .count(),
        2
    );
}

#[tokio::test]
async fn guests_move_their_reservation_and_the_venue_closes_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Brasserie", json!({})).await;
    slot(&app, &s.id, &s.owner, json!({"weekday": "WED", "start_time": "18:00", "end_time": "21:00", "interval_minutes": 60, "max_reservations": 1})).await;
    let (_, ana, _) = app.user("ana@example.com", Role::Customer).await;
    let (_, ben, _) = app.user("ben@example.com", Role::Customer).await;
    let path = format!("/api/venues/{}/reservations", s.id);
    let mine = app
        .post(
            &path,
            json!({"date": "2026-06-17", "time": "18:00", "party_size": 2}),
            Some(&ana),
        )
        .await;
    let mine = mine.data()["id"].as_str().unwrap().to_string();
    app.post(
        &path,
        json!({"date": "2026-06-17", "time": "19:00", "party_size": 2}),
        Some(&ben),
    )
    .await
    .assert_status(StatusCode::CREATED);

    // Moving to a full time is refused and changes nothing; to a free one it moves the capacity.
    app.put(
        &format!("/api/reservations/{mine}"),
        json!({"time": "19:00"}),
        Some(&ana),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "slot_full");
    assert_eq!(
        app.get(&format!("/api/reservations/{mine}"), Some(&ana))
            .await
            .data()["time_slot"],
        "18:00:00"
    );
    let moved = app
        .put(
            &format!("/api/reservations/{mine}"),
            json!({"time": "20:00", "party_size": 3}),
            Some(&ana),
        )
        .await;
    moved.assert_status(StatusCode::OK);
    assert_eq!(moved.data()["starts_at"], "2026-06-17T19:00:00Z");
    let free = app
        .get(
            &format!("/api/venues/{}/time-slots?date=2026-06-17", s.id),
            None,
        )
        .await;
    assert_eq!(times(free.data()), vec!["18:00"]);

    // Guests do not set statuses; the venue does.
    app.put(
        &format!("/api/reservations/{mine}"),
        json!({"status": "COMPLETED"}),
        Some(&ana),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");
    app.get(&format!("/api/reservations/{mine}"), Some(&ben))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        app.get(&path, Some(&s.staff)).await.data()["pagination"]["total"],
        2
    );
    assert_eq!(
        app.get(&path, Some(&ben)).await.data()["pagination"]["total"],
        1
    );

    // A dine-in order may name the guest's own live reservation, not someone else's.
    let order = |token: &str, reservation: &str| {
        let (app, s, token, reservation) = (&app, &s, token.to_string(), reservation.to_string());
        async move {
            app.post(
                "/api/orders",
                json!({"venue_id": s.id, "order_type": "DINE_IN", "reservation_id": reservation, "items": [{"menu_item_id": s.gyoza, "quantity": 1}]}),
                Some(&token),
            )
            .await
        }
    };
    let with = order(&ana, &mine).await;
    with.assert_status(StatusCode::CREATED);
    assert_eq!(with.data()["reservation_id"], mine.as_str());
    assert!(
        !order(&ben, &mine)
            .await
            .field_errors("reservation_id")
            .is_empty()
    );

    let done = app
        .put(
            &format!("/api/reservations/{mine}"),
            json!({"status": "COMPLETED"}),
            Some(&s.staff),
        )
        .await;
    done.assert_status(StatusCode::OK);
    assert_eq!(done.data()["status"], "COMPLETED");
    app.delete(&format!("/api/reservations/{mine}"), Some(&ana))
        .await
        .assert_error(StatusCode::CONFLICT, "reservation_closed");
    assert_eq!(
        app.get("/api/reservations", Some(&ana)).await.data()["pagination"]["total"],
        1
    );

    // The guest was told in the app and by e-mail.
    let notes = app
        .get("/api/notifications?type=RESERVATION", Some(&ana))
        .await;
    assert_eq!(notes.data()["pagination"]["total"], 3, "{}", notes.text);
    let mails = mail_outbox::Entity::find()
        .filter(mail_outbox::Column::ToAddress.eq("ana@example.com"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(
        mails
            .iter()
            .any(|m| m.subject == "Reservation confirmed" && m.body.contains("Brasserie"))
    );
}
