//! The KAM CRM through its API: call planning across zones and DST, the effect of logged calls and
//! follow-ups, reassignment with history, scores against a hand-computed example (and rescoring when orders
//! arrive), contacts, status history, the CSV import, and the access rules on every endpoint.

use axum::http::{Method, StatusCode};
use brigade_app::accounts::Role;
use brigade_app::entities::{order_status_events, orders};
use chrono::{DateTime, Duration, TimeZone, Utc};
use sea_orm::{ActiveModelTrait, NotSet, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::TestApp;

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn weekdays(opens: &str, closes: &str) -> Value {
    Value::Array(
        (0..5)
            .map(|d| json!({"weekday": d, "opens": opens, "closes": closes}))
            .collect(),
    )
}

/// A KAM account in `zone` with weekday working hours; returns (id, token).
async fn kam(app: &TestApp, email: &str, zone: &str, opens: &str, closes: &str) -> (Uuid, String) {
    let (id, token, _) = app.user(email, Role::Kam).await;
    app.put(
        &format!("/api/crm/kams/{id}"),
        json!({"timezone": zone, "region": "Test", "working_hours": weekdays(opens, closes)}),
        Some(&token),
    )
    .await
    .assert_status(StatusCode::OK);
    (id, token)
}

async fn assign(app: &TestApp, admin: &str, ids: &[&str], to: Uuid, note: &str) -> Value {
    let r = app
        .post(
            "/api/crm/reassignments",
            json!({"restaurant_ids": ids, "to_kam_id": to, "note": note}),
            Some(admin),
        )
        .await;
    r.assert_status(StatusCode::OK);
    r.data().clone()
}

/// A completed order with its creation event, written the way every order source writes them.
async fn completed_order(app: &TestApp, restaurant: &str, at: DateTime<Utc>, total_minor: i64) {
    let id = Uuid::now_v7();
    let restaurant_id = Uuid::parse_str(restaurant).unwrap();
    orders::ActiveModel {
        id: Set(id),
        restaurant_id: Set(restaurant_id),
        customer_id: Set(None),
        source: Set("import".into()),
        order_type: Set("TAKEOUT".into()),
        status: Set("COMPLETED".into()),
        status_changed_at: Set(at),
        total_minor: Set(total_minor),
        currency: Set("EUR".into()),
        payment_status: Set("PAID".into()),
        payment_method: Set(None),
        payment_reference: Set(None),
        pickup_time: Set(None),
        table_label: Set(None),
        reservation_id: Set(None),
        note: Set(None),
        idempotency_key: Set(None),
        idempotency_fingerprint: Set(None),
        external_ref: Set(Some(id.to_string())),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    order_status_events::ActiveModel {
        id: NotSet,
        order_id: Set(id),
        restaurant_id: Set(restaurant_id),
        from_status: Set(None),
        to_status: Set("COMPLETED".into()),
        raw_code: Set(None),
        actor_kind: Set("system".into()),
        actor_id: Set(None),
        note: Set(None),
        occurred_at: Set(at),
        recorded_at: Set(at),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
}

#[tokio::test]
async fn calls_due_today_are_planned_in_both_zones_across_dst() {
    let app = TestApp::spawn().await;
    // Monday 9 March 2026, 09:00 in Kolkata (03:30 UTC): New York moved to summer time the day before.
    app.clock.set(utc(2026, 3, 9, 3, 30));
    let admin = app.admin().await;
    let (kam_id, kam) = kam(&app, "asha@example.com", "Asia/Kolkata", "12:00", "21:00").await;
    let new_york = app
        .restaurant(
            &admin,
            json!({"name": "Hudson Diner", "timezone": "America/New_York", "hours": weekdays("08:00", "22:00")}),
        )
        .await;
    let overdue = app
        .restaurant(
            &admin,
            json!({"name": "Zebra Grill", "timezone": "Europe/London", "hours": weekdays("11:00", "23:00")}),
        )
        .await;
    let weekend = app
        .restaurant(
            &admin,
            json!({"name": "Saturday Market", "timezone": "Asia/Tokyo",
                   "hours": [{"weekday": 5, "opens": "10:00", "closes": "16:00"}]}),
        )
        .await;
    let later = app
        .restaurant(
            &admin,
            json!({"name": "Not Yet", "timezone": "Europe/Paris"}),
        )
        .await;
    assign(
        &app,
        &admin,
        &[&new_york, &overdue, &weekend, &later],
        kam_id,
        "welcome",
    )
    .await;
    // Zebra Grill's call was due five days ago (red); Not Yet's is tomorrow (not listed).
    app.put(
        &format!("/api/crm/restaurants/{overdue}/call-plan"),
        json!({"next_call_at": "2026-03-04T10:00:00Z"}),
        Some(&kam),
    )
    .await
    .assert_status(StatusCode::OK);
    app.put(
        &format!("/api/crm/restaurants/{later}/call-plan"),
        json!({"next_call_at": "2026-03-10T05:00:00Z"}),
        Some(&kam),
    )
    .await
    .assert_status(StatusCode::OK);

    let r = app.get("/api/crm/calls/today", Some(&kam)).await;
    r.assert_status(StatusCode::OK);
    let data = r.data();
    assert_eq!(data["today"], "2026-03-09");
    assert_eq!(data["kam_timezone"], "Asia/Kolkata");
    assert_eq!(data["total"], 3);
    assert_eq!(data["overdue"], 1);
    let items = data["items"].as_array().unwrap();
    let names: Vec<&str> = items
        .iter()
        .map(|i| i["restaurant_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Zebra Grill", "Hudson Diner", "Saturday Market"]);
    assert_eq!(items[0]["urgency"], "red");
    assert_eq!(items[0]["days_overdue"], 5);
    assert_eq!(items[1]["urgency"], "due");

    // New York opens at 08:00 EDT = 12:00 UTC = 17:30 IST, inside the KAM's 12:00–21:00.
    let s = &items[1]["suggested"];
    assert_eq!(s["at"], "2026-03-09T12:00:00Z");
    assert_eq!(s["kam_local"], "Mon 09 Mar 17:30 IST");
    assert_eq!(s["restaurant_local"], "Mon 09 Mar 08:00 EDT");
    assert_eq!(s["until"], "2026-03-09T15:30:00Z");
    // London opens 11:00 GMT = 16:30 IST.
    assert_eq!(items[0]["suggested"]["at"], "2026-03-09T11:00:00Z");
    // A weekend-only restaurant never meets a weekday KAM: said, not invented.
    assert!(items[2]["suggested"].is_null());
    assert!(
        items[2]["no_overlap"]
            .as_str()
            .unwrap()
            .contains("do not overlap")
    );

    // Late in the KAM's day (20:45 IST) nothing shared is left; the next shared time is offered.
    app.clock.set(utc(2026, 3, 9, 15, 15));
    // Access tokens last an hour: sign in again after the clock jumps.
    let kam = app.token_for("asha@example.com").await;
    let admin = app.token_for("root@example.com").await;
    let r = app.get("/api/crm/calls/today", Some(&kam)).await;
    let items = r.data()["items"].as_array().unwrap().clone();
    let hudson = items
        .iter()
        .find(|i| i["restaurant_name"] == "Hudson Diner")
        .unwrap();
    assert_eq!(hudson["suggested"]["at"], "2026-03-09T15:15:00Z");
    app.clock.set(utc(2026, 3, 9, 15, 31));
    let r = app.get("/api/crm/calls/today", Some(&kam)).await;
    let items = r.data()["items"].as_array().unwrap().clone();
    let hudson = items
        .iter()
        .find(|i| i["restaurant_name"] == "Hudson Diner")
        .unwrap();
    assert!(hudson["suggested"].is_null());
    assert!(
        hudson["no_overlap"]
            .as_str()
            .unwrap()
            .contains("no time left today")
    );
    assert_eq!(hudson["next_overlap"]["at"], "2026-03-10T12:00:00Z");

    // An admin asks for a KAM's list by id; without one it is a clear 422.
    let r = app
        .get(
            &format!("/api/crm/calls/today?kam_id={kam_id}"),
            Some(&admin),
        )
        .await;
    r.assert_status(StatusCode::OK);
    assert_eq!(r.data()["total"], 3);
    // An administrator who names no KAM asks for their own calls, and is not a KAM.
    app.get("/api/crm/calls/today", Some(&admin))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");

    // A week earlier New York was still on EST: the same opening is 13:00 UTC = 18:30 IST.
    app.clock.set(utc(2026, 3, 2, 3, 30));
    let kam = app.token_for("asha@example.com").await;
    app.put(
        &format!("/api/crm/restaurants/{new_york}/call-plan"),
        json!({"next_call_at": "2026-03-02T00:00:00Z"}),
        Some(&kam),
    )
    .await
    .assert_status(StatusCode::OK);
    let r = app.get("/api/crm/calls/today", Some(&kam)).await;
    let items = r.data()["items"].as_array().unwrap().clone();
    let hudson = items
        .iter()
        .find(|i| i["restaurant_name"] == "Hudson Diner")
        .unwrap();
    assert_eq!(hudson["suggested"]["at"], "2026-03-02T13:00:00Z");
    assert_eq!(hudson["suggested"]["kam_local"], "Mon 02 Mar 18:30 IST");
    assert_eq!(
        hudson["suggested"]["restaurant_local"],
        "Mon 02 Mar 08:00 EST"
    );
}

#[tokio::test]
async fn a_logged_call_moves_the_plan_and_follow_ups_come_due_in_the_kams_zone() {
    let app = TestApp::spawn().await;
    app.clock.set(utc(2026, 6, 15, 6, 0)); // Monday 11:30 in Kolkata
    let admin = app.admin().await;
    let (kam_id, kam) = kam(&app, "ravi@example.com", "Asia/Kolkata", "09:00", "18:00").await;
    let r = app
        .restaurant(
            &admin,
            json!({"name": "Curry Leaf", "timezone": "Asia/Kolkata"}),
        )
        .await;
    assign(&app, &admin, &[&r], kam_id, "new").await;
    completed_order(&app, &r, utc(2026, 6, 14, 12, 0), 1500).await;
    let order_id: String = {
        let list = app
            .get(&format!("/api/crm/restaurants/{r}/orders"), Some(&kam))
            .await;
        list.assert_status(StatusCode::OK);
        list.data()["items"][0]["id"].as_str().unwrap().to_string()
    };
    let contact = app
        .post(
            &format!("/api/crm/restaurants/{r}/contacts"),
            json!({"name": "Meera", "phone": "+91 98450 12345", "role": "owner"}),
            Some(&kam),
        )
        .await;
    contact.assert_status(StatusCode::CREATED);
    assert_eq!(contact.data()["is_lead"], true);
    let contact_id = contact.data()["id"].as_str().unwrap().to_string();

    // A call that went unanswered is not the planned call.
    app.post(
        &format!("/api/crm/restaurants/{r}/interactions"),
        json!({"kind": "call", "outcome": "no_answer"}),
        Some(&kam),
    )
    .await
    .assert_status(StatusCode::CREATED);
    assert_eq!(
        app.get("/api/crm/calls/today", Some(&kam)).await.data()["total"],
        1
    );

    // The real call, about the order, with a follow-up on Thursday.
    let call = app
        .post(
            &format!("/api/crm/restaurants/{r}/interactions"),
            json!({"kind": "call", "outcome": "positive", "contact_id": contact_id, "order_id": order_id,
                   "notes": "Asked about the late delivery", "follow_up_on": "2026-06-18"}),
            Some(&kam),
        )
        .await;
    call.assert_status(StatusCode::CREATED);
    assert_eq!(call.data()["contact_name"], "Meera");
    assert_eq!(call.data()["user_name"], "Test User");
    let detail = app
        .get(&format!("/api/crm/restaurants/{r}"), Some(&kam))
        .await;
    // Unscored restaurants are called every 7 days.
    assert_eq!(detail.data()["last_call_at"], "2026-06-15T06:00:00Z");
    assert_eq!(detail.data()["next_call_at"], "2026-06-22T06:00:00Z");
    assert_eq!(detail.data()["open_follow_ups"][0]["order_id"], order_id);
    assert_eq!(
        app.get("/api/crm/calls/today", Some(&kam)).await.data()["total"],
        0
    );

    // Thursday 18 June begins at 18:30 UTC on the 17th in Kolkata: the follow-up is due from then.
    app.clock.set(utc(2026, 6, 17, 18, 0));
    let kam = app.token_for("ravi@example.com").await;
    assert_eq!(
        app.get("/api/crm/calls/today", Some(&kam)).await.data()["total"],
        0
    );
    app.clock.set(utc(2026, 6, 17, 18, 45));
    let kam = app.token_for("ravi@example.com").await;
    let today = app.get("/api/crm/calls/today", Some(&kam)).await;
    assert_eq!(today.data()["today"], "2026-06-18");
    assert_eq!(today.data()["total"], 1);
    let item = &today.data()["items"][0];
    assert_eq!(item["follow_ups"][0]["order_id"], order_id);
    assert_eq!(item["lead_contact"]["name"], "Meera");
    // Two days later it is amber.
    app.clock.set(utc(2026, 6, 20, 5, 0));
    let kam = app.token_for("ravi@example.com").await;
    let today = app.get("/api/crm/calls/today", Some(&kam)).await;
    assert_eq!(today.data()["items"][0]["urgency"], "amber");
    assert_eq!(today.data()["items"][0]["days_overdue"], 2);
    // A call closes it.
    app.post(
        &format!("/api/crm/restaurants/{r}/interactions"),
        json!({"kind": "call", "outcome": "neutral"}),
        Some(&kam),
    )
    .await
    .assert_status(StatusCode::CREATED);
    assert_eq!(
        app.get("/api/crm/calls/today", Some(&kam)).await.data()["total"],
        0
    );

    // Bad input is named, and nothing is stored.
    let interactions = format!("/api/crm/restaurants/{r}/interactions");
    let bad = app
        .post(
            &interactions,
            json!({"kind": "call", "outcome": "positive", "occurred_at": "2026-06-19T00:00:00Z",
                   "follow_up_on": "2026-06-01"}),
            Some(&kam),
        )
        .await;
    bad.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(!bad.field_errors("follow_up_on").is_empty(), "{}", bad.text);
    // Well-formed, but not something that can be recorded: the future, someone else's order.
    let future = app
        .post(
            &interactions,
            json!({"kind": "call", "outcome": "positive", "occurred_at": "2026-07-01T00:00:00Z"}),
            Some(&kam),
        )
        .await;
    future.assert_error(StatusCode::CONFLICT, "in_the_future");
    assert!(!future.field_errors("occurred_at").is_empty());
    let unknown = app
        .post(
            &interactions,
            json!({"kind": "call", "outcome": "positive", "order_id": Uuid::now_v7()}),
            Some(&kam),
        )
        .await;
    unknown.assert_error(StatusCode::NOT_FOUND, "not_found");
    assert!(!unknown.field_errors("order_id").is_empty());
    app.post(
        &format!("/api/crm/restaurants/{r}/interactions"),
        json!({"kind": "fax", "outcome": "positive"}),
        Some(&kam),
    )
    .await
    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let timeline = app
        .get(
            &format!("/api/crm/restaurants/{r}/interactions"),
            Some(&kam),
        )
        .await;
    assert_eq!(timeline.data()["pagination"]["total"], 3);
    // Newest first.
    assert_eq!(timeline.data()["items"][0]["outcome"], "neutral");
}

#[tokio::test]
async fn simultaneous_reassignments_of_one_restaurant_all_answer_and_agree() {
    // Each reassignment reads the current KAM, then writes: on SQLite a deferred transaction doing that
    // while another wrote in between failed at once with "database is locked" (a 500).
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (a_id, _) = kam(&app, "a@example.com", "Europe/London", "09:00", "17:00").await;
    let (b_id, _) = kam(&app, "b@example.com", "America/New_York", "09:00", "17:00").await;
    let r = app
        .restaurant(
            &admin,
            json!({"name": "Contested", "timezone": "Europe/London"}),
        )
        .await;
    let answers = futures::future::join_all((0..12).map(|i| {
        let to = if i % 2 == 0 { a_id } else { b_id };
        let (app, admin, r) = (&app, &admin, &r);
        async move {
            app.post(
                "/api/crm/reassignments",
                json!({"restaurant_ids": [r], "to_kam_id": to}),
                Some(admin),
            )
            .await
        }
    }))
    .await;
    for answer in &answers {
        answer.assert_status(StatusCode::OK);
    }
    // The history is a chain: each assignment starts from the KAM the previous one ended with.
    let history = app
        .get(
            &format!("/api/crm/restaurants/{r}/assignments"),
            Some(&admin),
        )
        .await;
    let rows = history.data().as_array().unwrap().clone();
    let made: usize = answers
        .iter()
        .map(|a| a.data().as_array().unwrap().len())
        .sum();
    assert_eq!(rows.len(), made, "{}", history.text);
    assert!(made >= 1);
    for row in &rows {
        assert_ne!(
            row["from_kam"], row["to_kam"],
            "a reassignment to the KAM it already had: {row}"
        );
    }
    // From no KAM, alternating between the two: the moves to each differ by at most one.
    let to_a = rows
        .iter()
        .filter(|row| row["to_kam"] == a_id.to_string())
        .count();
    assert!(to_a.abs_diff(rows.len() - to_a) <= 1, "{}", history.text);
}

#[tokio::test]
async fn reassignment_keeps_history_authorship_and_gives_the_new_kam_everything() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (a_id, a) = kam(&app, "a@example.com", "Europe/London", "09:00", "17:00").await;
    let (b_id, b) = kam(&app, "b@example.com", "America/New_York", "09:00", "17:00").await;
    let r1 = app
        .restaurant(&admin, json!({"name": "One", "timezone": "Europe/London"}))
        .await;
    let r2 = app
        .restaurant(&admin, json!({"name": "Two", "timezone": "Europe/London"}))
        .await;
    assign(&app, &admin, &[&r1, &r2], a_id, "your patch").await;
    app.post(
        &format!("/api/crm/restaurants/{r1}/interactions"),
        json!({"kind": "visit", "outcome": "positive", "notes": "met the chef"}),
        Some(&a),
    )
    .await
    .assert_status(StatusCode::CREATED);
    // B cannot see A's restaurants.
    app.get(&format!("/api/crm/restaurants/{r1}"), Some(&b))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");

    app.clock.advance(Duration::minutes(30));
    let made = assign(
        &app,
        &admin,
        &[&r1, &r2],
        b_id,
        "A moves to enterprise accounts",
    )
    .await;
    assert_eq!(made.as_array().unwrap().len(), 2);
    assert_eq!(made[0]["from_kam"], a_id.to_string());
    assert_eq!(made[0]["to_kam_name"], "Test User");
    // Assigning again to the same KAM changes nothing and records nothing.
    assert_eq!(
        assign(&app, &admin, &[&r1], b_id, "again")
            .await
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // B sees the history, with the visit still A's; A no longer sees the restaurant.
    let timeline = app
        .get(&format!("/api/crm/restaurants/{r1}/interactions"), Some(&b))
        .await;
    timeline.assert_status(StatusCode::OK);
    assert_eq!(timeline.data()["items"][0]["user_id"], a_id.to_string());
    assert_eq!(timeline.data()["items"][0]["notes"], "met the chef");
    let history = app
        .get(&format!("/api/crm/restaurants/{r1}/assignments"), Some(&b))
        .await;
    let rows = history.data().as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["note"], "A moves to enterprise accounts");
    assert_eq!(rows[0]["from_kam"], a_id.to_string());
    assert_eq!(rows[0]["to_kam"], b_id.to_string());
    assert_eq!(rows[1]["from_kam"], Value::Null);
    app.get(&format!("/api/crm/restaurants/{r1}"), Some(&a))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    let list = app.get("/api/crm/restaurants", Some(&b)).await;
    assert_eq!(list.data()["pagination"]["total"], 2);
    assert_eq!(
        app.get("/api/crm/restaurants", Some(&a)).await.data()["pagination"]["total"],
        0
    );
    // B was told, with the note.
    let inbox = app.get("/api/notifications", Some(&b)).await;
    assert!(
        inbox.text.contains("A moves to enterprise accounts"),
        "{}",
        inbox.text
    );

    // Only admins reassign; the target must be an active KAM; unknown restaurants are refused.
    app.post(
        "/api/crm/reassignments",
        json!({"restaurant_ids": [r1], "to_kam_id": a_id}),
        Some(&b),
    )
    .await
    .assert_status(StatusCode::FORBIDDEN);
    let (customer_id, _, _) = app.user("c@example.com", Role::Customer).await;
    let r = app
        .post(
            "/api/crm/reassignments",
            json!({"restaurant_ids": [r1], "to_kam_id": customer_id}),
            Some(&admin),
        )
        .await;
    r.assert_error(StatusCode::CONFLICT, "not_a_kam");
    assert!(!r.field_errors("to_kam_id").is_empty());
    let r = app
        .post(
            "/api/crm/reassignments",
            json!({"restaurant_ids": [r1], "to_kam_id": Uuid::now_v7()}),
            Some(&admin),
        )
        .await;
    r.assert_error(StatusCode::NOT_FOUND, "not_found");
    assert!(!r.field_errors("to_kam_id").is_empty());
    let r = app
        .post(
            "/api/crm/reassignments",
            json!({"restaurant_ids": [Uuid::now_v7()], "to_kam_id": a_id}),
            Some(&admin),
        )
        .await;
    r.assert_error(StatusCode::NOT_FOUND, "not_found");
    assert!(!r.field_errors("restaurant_ids").is_empty(), "{}", r.text);
}

#[tokio::test]
async fn scores_match_the_hand_computed_example_and_follow_new_orders() {
    let app = TestApp::spawn().await;
    let now = utc(2026, 6, 30, 12, 0);
    app.clock.set(now);
    let admin = app.admin().await;
    let (kam_id, kam) = kam(&app, "s@example.com", "UTC", "09:00", "17:00").await;
    let r = app
        .restaurant(&admin, json!({"name": "Scored", "timezone": "UTC"}))
        .await;
    assign(&app, &admin, &[&r], kam_id, "").await;
    // The example of crm::score's unit test: 6 orders of 20.00 in the last 30 days on six days, 4 of
    // 50.00 in the 30 before, 5 of 10.00 in the 90 before the last 90, one too old to count.
    for d in 1..=6 {
        completed_order(&app, &r, now - Duration::days(d), 2000).await;
    }
    for _ in 0..4 {
        completed_order(&app, &r, now - Duration::days(40), 5000).await;
    }
    for _ in 0..5 {
        completed_order(&app, &r, now - Duration::days(100), 1000).await;
    }
    completed_order(&app, &r, now - Duration::days(200), 99_999).await;
    for _ in 0..2 {
        app.post(
            &format!("/api/crm/restaurants/{r}/interactions"),
            json!({"kind": "email", "outcome": "neutral", "occurred_at": "2026-06-20T10:00:00Z"}),
            Some(&kam),
        )
        .await
        .assert_status(StatusCode::CREATED);
    }
    for result in brigade_app::jobs::run_inline(&app.state).await {
        result.expect("score job");
    }
    let p = app
        .get(&format!("/api/crm/restaurants/{r}/performance"), Some(&kam))
        .await;
    p.assert_status(StatusCode::OK);
    let b = &p.data()["breakdown"];
    let points: Vec<f64> = b["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["points"].as_f64().unwrap())
        .collect();
    assert_eq!(points, [15.0, 6.0, 15.0, 15.0, 3.2, 6.0], "{}", p.text);
    assert_eq!(p.data()["score"], 60);
    assert_eq!(p.data()["tier"], "good");
    assert_eq!(p.data()["history"][0]["score"], 60);
    assert_eq!(p.data()["patterns"]["orders_90d"], 10);

    // New orders arrive: the minute job (no payload) rescores from the event stream.
    for _ in 0..2 {
        completed_order(&app, &r, now - Duration::hours(1), 2000).await;
    }
    brigade_app::crm::jobs::score_changed(&app.state)
        .await
        .unwrap();
    let p = app
        .get(&format!("/api/crm/restaurants/{r}/performance"), Some(&kam))
        .await;
    // orders_30d 8 vs 4 → 20; value 160 vs 200 → 8; 90 days 12 vs 5 → 15, 360 vs 50 → 15;
    // 6 active days (today's orders fall on day 0 = the 30th, a seventh day) → 15 × 7 / 28 = 3.75;
    // engagement 6: 67.75 → 68, Excellent.
    assert_eq!(p.data()["score"], 68, "{}", p.text);
    assert_eq!(p.data()["tier"], "excellent");
    // Nothing new: nothing rescored.
    assert_eq!(
        brigade_app::crm::jobs::score_changed(&app.state)
            .await
            .unwrap(),
        0
    );
    // The overview counts it for the KAM and for the admin.
    let o = app.get("/api/crm/performance", Some(&kam)).await;
    assert_eq!(o.data()["tiers"][0]["tier"], "excellent");
    assert_eq!(o.data()["tiers"][0]["restaurants"], 1);
    assert_eq!(o.data()["average_score"], 68.0);
    let o = app.get("/api/crm/performance", Some(&admin)).await;
    assert_eq!(o.data()["restaurants"], 1);
}

#[tokio::test]
async fn contacts_keep_one_lead_and_statuses_keep_their_history() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (kam_id, kam) = kam(&app, "k@example.com", "Europe/Berlin", "09:00", "17:00").await;
    let lead = app
        .post(
            "/api/crm/leads",
            json!({"name": "Brauhaus", "timezone": "Europe/Berlin", "region": "North"}),
            Some(&kam),
        )
        .await;
    lead.assert_status(StatusCode::CREATED);
    assert_eq!(lead.data()["status"], "new");
    assert_eq!(lead.data()["kam"]["id"], kam_id.to_string());
    let r = lead.data()["id"].as_str().unwrap().to_string();

    let first = app
        .post(
            &format!("/api/crm/restaurants/{r}/contacts"),
            json!({"name": "Jonas", "phone": "+49 30 1234567", "role": "manager"}),
            Some(&kam),
        )
        .await;
    assert_eq!(first.data()["is_lead"], true);
    let second = app
        .post(
            &format!("/api/crm/restaurants/{r}/contacts"),
            json!({"name": "Lena", "phone": "+49 30 7654321", "role": "owner", "email": "lena@example.com", "is_lead": true}),
            Some(&kam),
        )
        .await;
    second.assert_status(StatusCode::CREATED);
    let list = app
        .get(&format!("/api/crm/restaurants/{r}/contacts"), Some(&kam))
        .await;
    let leads: Vec<&str> = list
        .data()
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["is_lead"] == true)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(leads, ["Lena"]);
    let bad = app
        .post(
            &format!("/api/crm/restaurants/{r}/contacts"),
            json!({"name": " ", "phone": "call me", "email": "nope", "role": "owner"}),
            Some(&kam),
        )
        .await;
    bad.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    for field in ["name", "phone", "email"] {
        assert!(!bad.field_errors(field).is_empty(), "{field}");
    }
    // Moving the lead back with an update.
    let jonas = first.data()["id"].as_str().unwrap();
    app.put(
        &format!("/api/crm/contacts/{jonas}"),
        json!({"is_lead": true}),
        Some(&kam),
    )
    .await
    .assert_status(StatusCode::OK);
    let detail = app
        .get(&format!("/api/crm/restaurants/{r}"), Some(&kam))
        .await;
    assert_eq!(detail.data()["contacts"][0]["name"], "Jonas");
    assert_eq!(detail.data()["contacts"][0]["is_lead"], true);
    assert_eq!(detail.data()["contacts"][1]["is_lead"], false);

    app.clock.advance(Duration::minutes(20));
    app.put(
        &format!("/api/crm/restaurants/{r}/status"),
        json!({"status": "active", "note": "first order placed"}),
        Some(&kam),
    )
    .await
    .assert_status(StatusCode::OK);
    app.clock.advance(Duration::minutes(20));
    // An admin's change through the restaurants API is history too.
    app.request(
        Method::PUT,
        &format!("/api/restaurants/{r}"),
        Some(json!({"status": "inactive"})),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::OK);
    let h = app
        .get(
            &format!("/api/crm/restaurants/{r}/status-history"),
            Some(&kam),
        )
        .await;
    let steps: Vec<(Value, Value)> = h
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["from_status"].clone(), s["to_status"].clone()))
        .collect();
    assert_eq!(
        steps,
        [
            (json!("active"), json!("inactive")),
            (json!("new"), json!("active")),
            (Value::Null, json!("new")),
        ]
    );
    assert_eq!(h.data()[1]["note"], "first order placed");
    // Filters: status and region.
    let f = app
        .get(
            "/api/crm/restaurants?status=inactive&region=North",
            Some(&kam),
        )
        .await;
    assert_eq!(f.data()["pagination"]["total"], 1);
    let f = app
        .get("/api/crm/restaurants?status=active", Some(&kam))
        .await;
    assert_eq!(f.data()["pagination"]["total"], 0);
    // Search is blind to case, on the KAM's own list and on the admin's.
    for token in [&kam, &admin] {
        let f = app.get("/api/crm/restaurants?q=bRAU", Some(token)).await;
        f.assert_status(StatusCode::OK);
        assert_eq!(f.data()["items"][0]["name"], "Brauhaus", "{}", f.text);
        let f = app
            .get("/api/crm/restaurants?q=brau&tier=good", Some(token))
            .await;
        f.assert_status(StatusCode::OK);
        assert_eq!(f.data()["pagination"]["total"], 0);
    }
}

#[tokio::test]
async fn csv_import_stores_good_lines_and_reports_bad_ones() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (kam_id, kam) = kam(&app, "imp@example.com", "Asia/Kolkata", "09:00", "17:00").await;
    let csv = "name,timezone,region,address,phone,email,status,kam_email\n\
               Tandoor House,Asia/Kolkata,West,1 MG Road,,,active,imp@example.com\n\
               ,Asia/Kolkata,West,,,,,\n\
               Moon Cafe,Mars/Olympus,,,,,,\n\
               Dosa Point,Asia/Kolkata,South,,,,,nobody@example.com\n\
               Idli Corner,Asia/Kolkata,South,,,,sleeping,\n\
               \"Stray Quote,Asia/Kolkata,South,,,,,\n\
               \n\
               \"Vada, Pav\",Asia/Kolkata,South,,,,,\n";
    let r = app
        .send(
            axum::http::Request::builder()
                .method(Method::POST)
                .uri("/api/crm/import/leads")
                .header("authorization", format!("Bearer {admin}"))
                .header("content-type", "text/csv")
                .body(axum::body::Body::from(csv))
                .unwrap(),
        )
        .await;
    r.assert_status(StatusCode::OK);
    assert_eq!(r.data()["imported"], 2, "{}", r.text);
    let lines: Vec<i64> = r.data()["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line"].as_i64().unwrap())
        .collect();
    // A stray quote costs its own line (7), not the lines after it; a blank line is accounted for too.
    assert_eq!(lines, [3, 4, 5, 6, 7, 8], "{}", r.text);
    assert_eq!(
        r.data()["lines"],
        8,
        "every data line is imported or rejected"
    );
    assert!(r.text.contains("unbalanced quote"), "{}", r.text);
    assert!(r.text.contains("timezone"), "{}", r.text);
    assert!(r.text.contains("nobody@example.com"), "{}", r.text);
    let list = app.get("/api/crm/restaurants?q=Tandoor", Some(&kam)).await;
    assert_eq!(list.data()["items"][0]["name"], "Tandoor House");
    assert_eq!(list.data()["items"][0]["status"], "active");
    assert_eq!(list.data()["items"][0]["kam"]["id"], kam_id.to_string());
    let restaurant = list.data()["items"][0]["id"].as_str().unwrap().to_string();

    let contacts = format!(
        "restaurant,name,phone,email,role,is_lead\n\
         {restaurant},Arjun,+91 98450 00001,arjun@example.com,Owner,yes\n\
         {restaurant},Kiran,+91 98450 00002,,chef,\n\
         {},Ghost,+91 98450 00003,,staff,\n",
        Uuid::now_v7()
    );
    let r = app
        .send(
            axum::http::Request::builder()
                .method(Method::POST)
                .uri("/api/crm/import/contacts")
                .header("authorization", format!("Bearer {kam}"))
                .header("content-type", "text/csv")
                .body(axum::body::Body::from(contacts))
                .unwrap(),
        )
        .await;
    r.assert_status(StatusCode::OK);
    assert_eq!(r.data()["imported"], 1, "{}", r.text);
    assert_eq!(r.data()["rejected"][0]["line"], 3);
    assert_eq!(r.data()["rejected"][1]["line"], 4);
    // A missing column fails the whole file with a readable message.
    let r = app
        .send(
            axum::http::Request::builder()
                .method(Method::POST)
                .uri("/api/crm/import/leads")
                .header("authorization", format!("Bearer {kam}"))
                .header("content-type", "text/csv")
                .body(axum::body::Body::from("name,region\nX,Y\n"))
                .unwrap(),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_csv");
    assert!(r.text.contains("timezone"));
}

#[tokio::test]
async fn every_crm_endpoint_keeps_kams_to_their_own_restaurants() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (a_id, a) = kam(&app, "own@example.com", "Europe/London", "09:00", "17:00").await;
    let (b_id, b) = kam(&app, "other@example.com", "Europe/London", "09:00", "17:00").await;
    let (_, customer, _) = app.user("cust@example.com", Role::Customer).await;
    let r = app
        .restaurant(&admin, json!({"name": "Mine", "timezone": "Europe/London"}))
        .await;
    assign(&app, &admin, &[&r], a_id, "").await;
    let contact = app
        .post(
            &format!("/api/crm/restaurants/{r}/contacts"),
            json!({"name": "Sam", "phone": "+44 20 7946 0000", "role": "staff"}),
            Some(&a),
        )
        .await;
    let contact = contact.data()["id"].as_str().unwrap().to_string();

    let per_restaurant: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/crm/restaurants/{r}"), None),
        (
            Method::PUT,
            format!("/api/crm/restaurants/{r}/status"),
            Some(json!({"status": "active"})),
        ),
        (
            Method::GET,
            format!("/api/crm/restaurants/{r}/status-history"),
            None,
        ),
        (
            Method::PUT,
            format!("/api/crm/restaurants/{r}/call-plan"),
            Some(json!({"call_frequency_days": 3})),
        ),
        (
            Method::GET,
            format!("/api/crm/restaurants/{r}/contacts"),
            None,
        ),
        (
            Method::POST,
            format!("/api/crm/restaurants/{r}/contacts"),
            Some(json!({"name": "X", "phone": "+44 20 7946 0001", "role": "staff"})),
        ),
        (
            Method::PUT,
            format!("/api/crm/contacts/{contact}"),
            Some(json!({"name": "Y"})),
        ),
        (Method::DELETE, format!("/api/crm/contacts/{contact}"), None),
        (
            Method::GET,
            format!("/api/crm/restaurants/{r}/interactions"),
            None,
        ),
        (
            Method::POST,
            format!("/api/crm/restaurants/{r}/interactions"),
            Some(json!({"kind": "call", "outcome": "positive"})),
        ),
        (
            Method::GET,
            format!("/api/crm/restaurants/{r}/assignments"),
            None,
        ),
        (
            Method::GET,
            format!("/api/crm/restaurants/{r}/performance"),
            None,
        ),
        (
            Method::GET,
            format!("/api/crm/restaurants/{r}/orders"),
            None,
        ),
    ];
    for (method, path, body) in &per_restaurant {
        // Another KAM: as if it did not exist.
        let resp = app
            .request(method.clone(), path, body.clone(), Some(&b))
            .await;
        resp.assert_error(StatusCode::NOT_FOUND, "not_found");
        // A customer: forbidden.
        let resp = app
            .request(method.clone(), path, body.clone(), Some(&customer))
            .await;
        resp.assert_status(StatusCode::FORBIDDEN);
        // Nobody: unauthorised.
        let resp = app.request(method.clone(), path, body.clone(), None).await;
        resp.assert_status(StatusCode::UNAUTHORIZED);
    }
    // The owner and an admin may (in this order, so the contact is deleted last).
    for (method, path, body) in &per_restaurant {
        for token in [&admin, &a] {
            if *method == Method::DELETE && token == &admin {
                continue;
            }
            let resp = app
                .request(method.clone(), path, body.clone(), Some(token))
                .await;
            assert!(
                resp.status.is_success(),
                "{method} {path}: {} {}",
                resp.status,
                resp.text
            );
        }
    }
    // Lists, calls, overview, profiles, reassignment and import.
    let global: Vec<(Method, String, Option<Value>, StatusCode)> = vec![
        (
            Method::GET,
            format!("/api/crm/restaurants?kam_id={a_id}"),
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            Method::GET,
            format!("/api/crm/calls/today?kam_id={a_id}"),
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            Method::GET,
            format!("/api/crm/performance?kam_id={a_id}"),
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            Method::GET,
            format!("/api/crm/kams/{a_id}"),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::PUT,
            format!("/api/crm/kams/{a_id}"),
            Some(json!({"region": "Elsewhere"})),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            "/api/crm/kams".into(),
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            Method::POST,
            "/api/crm/reassignments".into(),
            Some(json!({"restaurant_ids": [r], "to_kam_id": b_id})),
            StatusCode::FORBIDDEN,
        ),
    ];
    for (method, path, body, status) in &global {
        let resp = app
            .request(method.clone(), path, body.clone(), Some(&b))
            .await;
        resp.assert_status(*status);
        let resp = app
            .request(method.clone(), path, body.clone(), Some(&customer))
            .await;
        assert!(
            resp.status == StatusCode::FORBIDDEN || resp.status == StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            resp.status
        );
    }
    // B's own views show nothing of A's.
    assert_eq!(
        app.get("/api/crm/restaurants", Some(&b)).await.data()["pagination"]["total"],
        0
    );
    assert_eq!(
        app.get("/api/crm/calls/today", Some(&b)).await.data()["total"],
        0
    );
    assert_eq!(
        app.get("/api/crm/performance", Some(&b)).await.data()["restaurants"],
        0
    );
    let me = app.get("/api/crm/me", Some(&b)).await;
    assert_eq!(me.data()["id"], b_id.to_string());
    app.get("/api/crm/me", Some(&customer))
        .await
        .assert_status(StatusCode::FORBIDDEN);
    // Admin sees all KAMs with their counts.
    let kams = app.get("/api/crm/kams", Some(&admin)).await;
    let a_row = kams
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == a_id.to_string())
        .unwrap()
        .clone();
    assert_eq!(a_row["restaurants"], 1);
    assert_eq!(a_row["working_days"], json!([0, 1, 2, 3, 4]));
}
