//! Store monitoring through the API: polls in, reports out, against figures worked out by hand for the
//! cases the rule has to get right (overnight and split hours, 23:59:59 closings, both DST changes in
//! America/New_York, no hours, no zone, one poll, duplicate polls, polls only before the window, windows
//! without business time). Runs on SQLite and PostgreSQL like the rest of the suite.

use std::collections::HashMap;

use axum::http::StatusCode;
use brigade_app::accounts::Role;
use brigade_app::csv_lines::RejectOptions;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::harness::TestApp;

async fn send_polls(app: &TestApp, token: &str, polls: &[(&str, &str, &str)]) -> Value {
    let body: Vec<Value> = polls
        .iter()
        .map(
            |(store, at, status)| json!({"store_id": store, "timestamp_utc": at, "status": status}),
        )
        .collect();
    let response = app
        .post(
            "/api/monitoring/polls",
            json!({ "polls": body }),
            Some(token),
        )
        .await;
    response.assert_status(StatusCode::CREATED);
    response.data().clone()
}

async fn restaurant_of(app: &TestApp, token: &str, store: &str) -> String {
    let response = app
        .get(
            &format!("/api/restaurants?external_id={store}"),
            Some(token),
        )
        .await;
    response.assert_status(StatusCode::OK);
    response.data()["items"][0]["id"]
        .as_str()
        .expect("store exists")
        .to_string()
}

async fn set_store(app: &TestApp, token: &str, store: &str, zone: Option<&str>, hours: Value) {
    let id = restaurant_of(app, token, store).await;
    if let Some(zone) = zone {
        app.put(
            &format!("/api/restaurants/{id}"),
            json!({ "timezone": zone }),
            Some(token),
        )
        .await
        .assert_status(StatusCode::OK);
    }
    app.put(
        &format!("/api/restaurants/{id}/hours"),
        json!({ "hours": hours }),
        Some(token),
    )
    .await
    .assert_status(StatusCode::OK);
}

/// Run a report to completion; returns the CSV rows by store id.
async fn report(app: &TestApp, token: &str, as_of: &str) -> HashMap<String, Vec<String>> {
    let started = app
        .post(
            "/api/monitoring/reports",
            json!({ "as_of": as_of }),
            Some(token),
        )
        .await;
    started.assert_status(StatusCode::ACCEPTED);
    assert_eq!(started.data()["status"], "Running");
    let id = started.data()["report_id"].as_str().unwrap().to_string();
    for result in brigade_app::jobs::run_inline(&app.state).await {
        result.expect("report job");
    }
    let done = app
        .get(&format!("/api/monitoring/reports/{id}"), Some(token))
        .await;
    done.assert_status(StatusCode::OK);
    assert_eq!(done.data()["status"], "Complete", "{}", done.text);
    let csv = done.data()["csv"].as_str().unwrap().to_string();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "store_id,uptime_last_hour,uptime_last_day,uptime_last_week,downtime_last_hour,downtime_last_day,downtime_last_week,orders_at_risk_last_week,value_at_risk_last_week,data_coverage_last_hour,data_coverage_last_day,data_coverage_last_week"
        )
    );
    lines
        .map(|l| {
            let mut cells = l.split(',').map(str::to_string);
            (cells.next().unwrap(), cells.collect())
        })
        .collect()
}

/// The seed's six figures of a store without order history: its orders-at-risk columns are empty.
fn row(figures: [&str; 6]) -> Vec<String> {
    figures
        .iter()
        .chain(["", ""].iter())
        .map(|s| s.to_string())
        .collect()
}

#[tokio::test]
async fn reports_follow_the_rule_across_hours_zones_and_dst() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    send_polls(
        &app,
        &admin,
        &[
            // Overnight hours (UTC): Sunday 22:00 to Monday 02:00.
            ("overnight", "2026-06-14 21:00:00 UTC", "active"),
            ("overnight", "2026-06-15 00:00:00 UTC", "inactive"),
            // Split shift ending 23:59:59, no zone given (America/Chicago, UTC-5 in June).
            ("split", "2026-06-15 14:00:00 UTC", "active"),
            ("split", "2026-06-15 20:00:00.000 UTC", "inactive"),
            ("split", "2026-06-16 02:00:00", "active"),
            // Spring forward in New York: 2026-03-08 02:00 EST becomes 03:00 EDT.
            ("spring", "2026-03-08 07:00:00 UTC", "active"),
            ("spring-gap", "2026-03-08 07:45:00 UTC", "active"),
            // Fall back in New York: 2025-11-02 02:00 EDT becomes 01:00 EST.
            ("fall", "2025-11-02 05:00:00 UTC", "inactive"),
            // No hours (open around the clock), no zone.
            ("always", "2026-06-07 12:00:00 UTC", "active"),
            ("always", "2026-06-10 10:30:00 UTC", "active"),
            ("always", "2026-06-10 11:30:00 UTC", "inactive"),
            ("always", "2026-06-10 12:10:00 UTC", "active"),
            // One poll, ten days before: only before the window.
            ("lonely", "2026-05-31 12:00:00 UTC", "active"),
            // Two polls at one instant: inactive wins; and the same poll twice.
            ("twins", "2026-06-10 11:30:00 UTC", "active"),
            ("twins", "2026-06-10 11:30:00 UTC", "inactive"),
            ("twins", "2026-06-10 11:30:00 UTC", "inactive"),
            // Open only on Wednesdays 10:00-11:00 UTC.
            ("wednesdays", "2026-06-15 11:00:00 UTC", "active"),
            // Polls only after the report's instant: no row.
            ("late", "2026-06-11 00:00:00 UTC", "inactive"),
        ],
    )
    .await;
    let day = |weekday: u8, opens: &str, closes: &str| json!({"weekday": weekday, "opens": opens, "closes": closes});
    set_store(
        &app,
        &admin,
        "overnight",
        Some("UTC"),
        json!([day(6, "22:00", "02:00")]),
    )
    .await;
    set_store(
        &app,
        &admin,
        "split",
        None,
        json!([day(0, "09:00", "12:00"), day(0, "13:00", "23:59:59")]),
    )
    .await;
    set_store(
        &app,
        &admin,
        "spring",
        Some("America/New_York"),
        json!([day(6, "01:00", "04:00")]),
    )
    .await;
    set_store(
        &app,
        &admin,
        "spring-gap",
        Some("America/New_York"),
        json!([day(6, "02:30", "05:00")]),
    )
    .await;
    set_store(
        &app,
        &admin,
        "fall",
        Some("America/New_York"),
        json!([day(6, "00:00", "03:00")]),
    )
    .await;
    set_store(
        &app,
        &admin,
        "wednesdays",
        Some("UTC"),
        json!([day(2, "10:00", "11:00")]),
    )
    .await;

    // Overnight: the week holds 01:00-02:00 of Monday 8 June (the tail of Sunday's shift) and Sunday
    // 14 June 22:00 to 01:00. Active until the midpoint 22:30, inactive after.
    let rows = report(&app, &admin, "2026-06-15T01:00:00Z").await;
    assert_eq!(
        rows["overnight"][..8],
        row(["0.00", "0.50", "1.50", "60.00", "2.50", "2.50"])
    );

    // Split shift in Chicago, Monday 15 June local: 09-12 up, 13-18 down (midpoint of the 15:00 and
    // 21:00 polls is 18:00), 18:00-23:59:59 up. The last hour holds 59 min 59 s of business time.
    let rows = report(&app, &admin, "2026-06-16T05:00:00Z").await;
    assert_eq!(
        rows["split"][..8],
        row(["59.98", "9.00", "9.00", "0.00", "5.00", "5.00"])
    );

    // Spring forward: 01:00 EST to 04:00 EDT is two real hours; a 02:30 opening (in the gap) moves to
    // 03:30 EDT, so 02:30-05:00 is 1.5 hours.
    let rows = report(&app, &admin, "2026-03-08T09:00:00Z").await;
    assert_eq!(
        rows["spring"][..8],
        row(["0.00", "2.00", "2.00", "0.00", "0.00", "0.00"])
    );
    let rows = report(&app, &admin, "2026-03-08T10:00:00Z").await;
    assert_eq!(
        rows["spring-gap"][..8],
        row(["0.00", "1.50", "1.50", "0.00", "0.00", "0.00"])
    );

    // Fall back: 00:00 EDT to 03:00 EST is four real hours, all down.
    let rows = report(&app, &admin, "2025-11-02T08:00:00Z").await;
    assert_eq!(
        rows["fall"][..8],
        row(["0.00", "0.00", "0.00", "60.00", "4.00", "4.00"])
    );
    assert!(
        !rows.contains_key("always"),
        "no polls at or before the instant: no row"
    );

    // Around the clock: inactive from 11:00 (midpoint of 10:30 and 11:30); the 12:10 poll is after the
    // report's instant and ignored. The lonely store's only poll is ten days old and still holds. The
    // twins count their 11:30 poll as inactive. Wednesdays: no business time in the last hour or day.
    let rows = report(&app, &admin, "2026-06-10T12:00:00Z").await;
    assert_eq!(
        rows["always"][..8],
        row(["0.00", "23.00", "167.00", "60.00", "1.00", "1.00"])
    );
    assert_eq!(
        rows["lonely"][..8],
        row(["60.00", "24.00", "168.00", "0.00", "0.00", "0.00"])
    );
    assert_eq!(
        rows["twins"][..8],
        row(["0.00", "0.00", "0.00", "60.00", "24.00", "168.00"])
    );
    assert!(!rows.contains_key("late"));
    // After the seed's columns, how much of each window had data (within an hour of a poll): the
    // always-open store's last hour is covered by its 11:30 poll; of its day only 09:30-12:00; of its
    // week also 11:00-13:00 on the 7th (4.5 of 168 hours). The lonely store's one poll is ten days old.
    assert_eq!(rows["always"][8..], ["100.00", "10.42", "2.68"]);
    assert_eq!(rows["lonely"][8..], ["0.00", "0.00", "0.00"]);
    let rows = report(&app, &admin, "2026-06-15T12:00:00Z").await;
    // No business time in the last hour or day: no coverage to speak of.
    assert_eq!(rows["wednesdays"][8..], ["", "", "0.00"]);
    assert_eq!(
        rows["wednesdays"][..8],
        row(["0.00", "0.00", "1.00", "0.00", "0.00", "0.00"])
    );
}

#[tokio::test]
async fn polls_are_validated_whole_and_stored_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let bad = app
        .post(
            "/api/monitoring/polls",
            json!({"polls": [
                {"store_id": "s1", "timestamp_utc": "2026-06-10 10:00:00 UTC", "status": "active"},
                {"store_id": "s1", "timestamp_utc": "2026-06-10 10:00:00 UTC", "status": "open"},
                {"store_id": "s1", "timestamp_utc": "yesterday", "status": "active"},
                {"timestamp_utc": "2026-06-10 10:00:00 UTC", "status": "active"}
            ]}),
            Some(&admin),
        )
        .await;
    bad.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(!bad.field_errors("polls[1].status").is_empty());
    assert!(!bad.field_errors("polls[2].timestamp_utc").is_empty());
    assert!(!bad.field_errors("polls[3].store_id").is_empty());
    let nul = app
        .post(
            "/api/monitoring/polls",
            json!({"polls": [
                {"store_id": "s1", "timestamp_utc": "2026-06-10 10:00:00 UTC", "status": "active"},
                {"store_id": "s\u{0}x", "timestamp_utc": "2026-06-10 10:00:00 UTC", "status": "active"}
            ]}),
            Some(&admin),
        )
        .await;
    nul.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(
        !nul.field_errors("polls[1].store_id").is_empty(),
        "{}",
        nul.text
    );
    // Nothing of the rejected batch was kept, not even the store.
    let none = app
        .get("/api/restaurants?external_id=s1", Some(&admin))
        .await;
    assert_eq!(none.data()["items"].as_array().unwrap().len(), 0);

    let batch = [
        ("s1", "2026-06-10 10:00:00 UTC", "active"),
        ("s1", "2026-06-10 11:00:00.25 UTC", "inactive"),
        ("s2", "2026-06-11 23:59:59.999999 UTC", "active"),
        ("s1", "2026-06-10 10:00:00 UTC", "active"),
    ];
    let first = send_polls(&app, &admin, &batch).await;
    assert_eq!(first["received"], 4);
    assert_eq!(first["stored"], 3);
    assert_eq!(first["duplicates"], 1);
    assert_eq!(first["stores_created"], 2);
    let again = send_polls(&app, &admin, &batch).await;
    assert_eq!(again["stored"], 0);
    assert_eq!(again["duplicates"], 4);
    assert_eq!(again["stores_created"], 0);
    // A new poll on a day that already has polls is merged in.
    let more = send_polls(&app, &admin, &[("s1", "2026-06-10 12:00:00 UTC", "active")]).await;
    assert_eq!(more["stored"], 1);
    // Unknown stores start in America/Chicago.
    let id = restaurant_of(&app, &admin, "s2").await;
    let store = app
        .get(&format!("/api/restaurants/{id}"), Some(&admin))
        .await;
    assert_eq!(store.data()["timezone"], "America/Chicago");

    // Customers may not send polls.
    let (_, customer, _) = app.user("diner@example.com", Role::Customer).await;
    app.post(
        "/api/monitoring/polls",
        json!({"polls": [{"store_id": "s1", "timestamp_utc": "2026-06-10 10:00:00 UTC", "status": "active"}]}),
        Some(&customer),
    )
    .await
    .assert_status(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn seed_contract_reports_running_then_the_csv_and_failures_say_why() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    // No polls at all: the report fails with the reason.
    let trigger = app.get("/trigger_report", Some(&admin)).await;
    trigger.assert_status(StatusCode::OK);
    let empty_id = trigger.body["report_id"].as_str().unwrap().to_string();
    let running = app
        .get(&format!("/get_report?report_id={empty_id}"), Some(&admin))
        .await;
    assert_eq!(running.body, json!({"status": "Running"}));
    brigade_app::jobs::run_inline(&app.state).await;
    let failed = app
        .get(&format!("/get_report?report_id={empty_id}"), Some(&admin))
        .await;
    assert_eq!(failed.body["status"], "Failed");
    assert!(failed.body["reason"].as_str().unwrap().contains("no polls"));

    send_polls(
        &app,
        &admin,
        &[
            ("a", "2026-06-10 10:00:00 UTC", "active"),
            ("b", "2026-06-10 11:00:00 UTC", "inactive"),
        ],
    )
    .await;
    let trigger = app.get("/trigger_report", Some(&admin)).await;
    let id = trigger.body["report_id"].as_str().unwrap().to_string();
    brigade_app::jobs::run_inline(&app.state).await;
    let done = app
        .get(&format!("/get_report?report_id={id}"), Some(&admin))
        .await;
    done.assert_status(StatusCode::OK);
    assert_eq!(done.headers["x-report-status"], "Complete");
    assert!(
        done.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    // "Now" is the latest poll (11:00); both stores are open around the clock. a's only poll is active,
    // so it is up all week; b's only poll is inactive, so it is down all week.
    let lines: Vec<&str> = done.text.lines().collect();
    assert_eq!(lines.len(), 3);
    // Neither store has orders, so nothing is at risk that a forecast could say.
    // After them, the share of each window with data: a's 10:00 poll covers 09:00-11:00 (two hours
    // of the day and week ending at 11:00); b's 11:00 poll the hour before it.
    assert_eq!(
        lines[1],
        "a,60.00,24.00,168.00,0.00,0.00,0.00,,,100.00,8.33,1.19"
    );
    assert_eq!(
        lines[2],
        "b,0.00,0.00,0.00,60.00,24.00,168.00,,,100.00,4.17,0.60"
    );

    // Kept and listed, newest first, with the instant they were computed for.
    let list = app.get("/api/monitoring/reports", Some(&admin)).await;
    let items = list.data()["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["report_id"], id.as_str());
    assert_eq!(items[0]["status"], "Complete");
    assert_eq!(items[0]["store_count"], 2);
    assert_eq!(items[0]["computed_for"], "2026-06-10T11:00:00Z");
    assert_eq!(items[1]["status"], "Failed");
    let (status, kind, bytes) = app
        .raw(&format!("/api/monitoring/reports/{id}/csv"), Some(&admin))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/csv"));
    assert_eq!(String::from_utf8(bytes).unwrap(), done.text);
    app.get(
        &format!("/api/monitoring/reports/{empty_id}/csv"),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "report_failed");

    // Bad input is named.
    app.post(
        "/api/monitoring/reports",
        json!({"as_of": "soon"}),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    app.get("/get_report?report_id=nope", Some(&admin))
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    app.get(
        &format!("/get_report?report_id={}", uuid::Uuid::now_v7()),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::NOT_FOUND);
    // Customers see no reports.
    let (_, customer, _) = app.user("diner@example.com", Role::Customer).await;
    app.get("/trigger_report", Some(&customer))
        .await
        .assert_status(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn incidents_and_daily_uptime_of_a_store() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    // UTC store open 09:00-17:00 every day. Monday 8 June: inactive polls at 12:00 and 14:00, active at
    // 16:00 (outage 11:00 to 15:00). Tuesday: inactive at 16:30 and still at 09:30 on Wednesday, active at
    // 11:30 (one outage across the closed night: 16:15-17:00 and 09:00-10:30).
    send_polls(
        &app,
        &admin,
        &[
            ("inc", "2026-06-08 10:00:00 UTC", "active"),
            ("inc", "2026-06-08 12:00:00 UTC", "inactive"),
            ("inc", "2026-06-08 14:00:00 UTC", "inactive"),
            ("inc", "2026-06-08 16:00:00 UTC", "active"),
            ("inc", "2026-06-09 16:00:00 UTC", "active"),
            ("inc", "2026-06-09 16:30:00 UTC", "inactive"),
            ("inc", "2026-06-10 09:30:00 UTC", "inactive"),
            ("inc", "2026-06-10 11:30:00 UTC", "active"),
        ],
    )
    .await;
    let hours: Vec<Value> = (0..7)
        .map(|d| json!({"weekday": d, "opens": "09:00", "closes": "17:00"}))
        .collect();
    set_store(&app, &admin, "inc", Some("UTC"), json!(hours)).await;
    let id = restaurant_of(&app, &admin, "inc").await;

    let list = app
        .get(
            &format!("/api/monitoring/stores/{id}/incidents?from=2026-06-08T00:00:00Z&to=2026-06-10T17:00:00Z"),
            Some(&admin),
        )
        .await;
    list.assert_status(StatusCode::OK);
    let incidents = list.data()["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 2, "{}", list.text);
    assert_eq!(incidents[0]["started_at"], "2026-06-08T11:00:00Z");
    assert_eq!(incidents[0]["ended_at"], "2026-06-08T15:00:00Z");
    assert_eq!(incidents[0]["downtime_minutes"], 240.0);
    assert_eq!(incidents[0]["inactive_polls"], 2);
    assert_eq!(incidents[1]["started_at"], "2026-06-09T16:15:00Z");
    assert_eq!(incidents[1]["ended_at"], "2026-06-10T10:30:00Z");
    assert_eq!(incidents[1]["downtime_minutes"], 45.0 + 90.0);
    assert_eq!(incidents[1]["ongoing"], false);

    // Per day (default end: the latest poll, Wednesday 11:30).
    let days = app
        .get(
            &format!("/api/monitoring/stores/{id}/uptime?days=3"),
            Some(&admin),
        )
        .await;
    days.assert_status(StatusCode::OK);
    let days = days.data().as_array().unwrap().clone();
    assert_eq!(days.len(), 3);
    assert_eq!(days[0]["date"], "2026-06-08");
    assert_eq!(days[0]["business_hours"], 8.0);
    assert_eq!(days[0]["uptime_hours"], 4.0);
    assert_eq!(days[0]["uptime_percent"], 50.0);
    assert_eq!(days[1]["downtime_hours"], 0.75);
    // Tuesday's only polls are at 16:00 and 16:30: 15:00-17:00 has data (up until 16:15), the six
    // hours before it have none and count as neither up nor down.
    assert_eq!(days[1]["uptime_hours"], 1.25);
    assert_eq!(days[1]["no_data_hours"], 6.0);
    assert_eq!(days[1]["uptime_percent"], 62.5);
    assert_eq!(days[1]["data_percent"], 25.0);
    assert_eq!(days[0]["no_data_hours"], 0.0);
    assert_eq!(days[0]["data_percent"], 100.0);
    // Wednesday so far: 09:00-11:30 open, down until 10:30.
    assert_eq!(days[2]["business_hours"], 2.5);
    assert_eq!(days[2]["uptime_hours"], 1.0);
    assert_eq!(days[2]["uptime_percent"], 40.0);

    // Instants far outside any calendar in use are refused, not computed.
    for path in [
        format!("/api/monitoring/stores/{id}/uptime?at=%2B262142-12-31T23:00:00Z"),
        format!("/api/monitoring/stores/{id}/incidents?to=%2B262142-12-31T23:00:00Z"),
        format!(
            "/api/monitoring/stores/{id}/incidents?from=-262000-01-01T00:00:00Z&to=2026-06-10T00:00:00Z"
        ),
    ] {
        let refused = app.get(&path, Some(&admin)).await;
        assert!(
            refused.status.is_client_error(),
            "{path}: {}",
            refused.status
        );
    }
    app.post(
        "/api/monitoring/reports",
        json!({"as_of": "9999-12-31T23:59:59Z"}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::ACCEPTED);
    app.post(
        "/api/monitoring/reports",
        json!({"as_of": "+20000-01-01T00:00:00Z"}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    brigade_app::jobs::run_inline(&app.state).await;

    // A restaurant never polled has business time but no status: neither up nor down.
    let quiet = app
        .restaurant(
            &admin,
            json!({"name": "Quiet", "timezone": "UTC", "hours": hours}),
        )
        .await;
    let days = app
        .get(
            &format!("/api/monitoring/stores/{quiet}/uptime?days=2"),
            Some(&admin),
        )
        .await;
    days.assert_status(StatusCode::OK);
    assert_eq!(days.data()[0]["business_hours"], 8.0);
    assert_eq!(days.data()[0]["downtime_hours"], 0.0);
    assert_eq!(days.data()[0]["uptime_percent"], Value::Null);
    assert_eq!(days.data()[0]["no_data_hours"], 8.0);
    assert_eq!(days.data()[0]["data_percent"], 0.0);

    app.get(
        &format!("/api/monitoring/stores/{id}/uptime?days=0"),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // A customer is no manager of this store.
    let (_, customer, _) = app.user("diner@example.com", Role::Customer).await;
    app.get(
        &format!("/api/monitoring/stores/{id}/incidents"),
        Some(&customer),
    )
    .await
    .assert_status(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn import_reads_the_export_reports_bad_lines_and_is_idempotent() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("store_status.csv"),
        "store_id,status,timestamp_utc\n\
         100,active,2023-01-22 12:09:39.388884 UTC\n\
         100,inactive,2023-01-22 13:09:39 UTC\n\
         200,active,2023-01-24 09:06:42.605777\n\
         200,sleepy,2023-01-24 10:00:00 UTC\n\
         300,active,not a time\n\
         100,active,2023-01-22 12:09:39.388884 UTC\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("menu_hours.csv"),
        "store_id,dayOfWeek,start_time_local,end_time_local\n\
         100,0,09:00:00,17:00:00\n\
         100,6,22:00:00,02:00:00\n\
         200,9,09:00:00,17:00:00\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("timezones.csv"),
        "store_id,timezone_str\n100,Asia/Kolkata\n200,Mars/Olympus\n",
    )
    .unwrap();
    let progress = indicatif::ProgressBar::hidden();
    // A small file with many mistakes: allow them (the default share would stop it).
    let options = RejectOptions {
        out: None,
        max: brigade_app::csv_lines::MaxRejects::Count(10),
    };
    let summary =
        brigade_app::monitoring::import::import_dir(&app.state, dir.path(), &progress, &options)
            .await
            .expect("import");
    assert_eq!(summary.polls.received, 4);
    assert_eq!(summary.polls.stored, 3);
    assert_eq!(summary.polls.duplicates, 1);
    assert_eq!(summary.stores_created, 2);
    let rejected: Vec<(String, u64)> = summary
        .rejected
        .iter()
        .map(|r| (r.file.clone(), r.line))
        .collect();
    assert_eq!(
        rejected,
        vec![
            ("timezones.csv".to_string(), 3),
            ("menu_hours.csv".to_string(), 4),
            ("store_status.csv".to_string(), 5),
            ("store_status.csv".to_string(), 6),
        ]
    );
    assert!(summary.rejected[0].reason.contains("Mars/Olympus"));
    // Every line is accounted for.
    let tallies: Vec<String> = summary.files.iter().map(|t| t.to_string()).collect();
    assert_eq!(
        tallies,
        vec![
            "timezones.csv: 2 line(s) = 1 stored + 0 already there + 1 rejected",
            "menu_hours.csv: 3 line(s) = 2 stored + 0 already there + 1 rejected",
            "store_status.csv: 6 line(s) = 3 stored + 1 already there + 2 rejected",
        ]
    );

    let admin = app.admin().await;
    let id = restaurant_of(&app, &admin, "100").await;
    let store = app
        .get(&format!("/api/restaurants/{id}"), Some(&admin))
        .await;
    assert_eq!(store.data()["timezone"], "Asia/Kolkata");
    assert_eq!(store.data()["hours"].as_array().unwrap().len(), 2);
    let other = restaurant_of(&app, &admin, "200").await;
    let store = app
        .get(&format!("/api/restaurants/{other}"), Some(&admin))
        .await;
    assert_eq!(store.data()["timezone"], "America/Chicago");

    let again =
        brigade_app::monitoring::import::import_dir(&app.state, dir.path(), &progress, &options)
            .await
            .expect("second import");
    assert_eq!(again.polls.stored, 0);
    let tallies: Vec<String> = again.files.iter().map(|t| t.to_string()).collect();
    assert_eq!(
        tallies,
        vec![
            "timezones.csv: 2 line(s) = 0 stored + 1 already there + 1 rejected",
            "menu_hours.csv: 3 line(s) = 0 stored + 2 already there + 1 rejected",
            "store_status.csv: 6 line(s) = 0 stored + 4 already there + 2 rejected",
        ]
    );
    assert_eq!(again.stores_created, 0);
    assert_eq!(again.hours_changed, 0);
    assert_eq!(again.zones_changed, 0);

    let computed = brigade_app::monitoring::report::compute(&app.state.db, None)
        .await
        .expect("report");
    let stores: Vec<&str> = computed.rows.iter().map(|r| r.store_id.as_str()).collect();
    assert_eq!(stores, vec!["100", "200"]);
    assert_eq!(
        computed.now.to_rfc3339(),
        "2023-01-24T09:06:42.605777+00:00"
    );
}

/// A poll file with broken lines spread through it, as the audit made: every line is accounted for,
/// each broken line is rejected alone (with its number), and the lines after a stray quote are stored.
#[tokio::test]
async fn every_poll_line_is_accounted_for_and_a_stray_quote_costs_one_line() {
    use brigade_app::csv_lines::{LinesError, MaxRejects};
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("store_id,status,timestamp_utc\n");
    let mut broken = Vec::new();
    for i in 0..2_000u32 {
        let line = i + 2;
        match i % 97 {
            13 => {
                text.push_str(&format!(
                    "s{},\"active,2023-01-22 10:{:02}:00 UTC\n",
                    i % 7,
                    i % 60
                ));
                broken.push(line);
            }
            41 => {
                text.push('\n');
                broken.push(line);
            }
            77 => {
                text.push_str(&format!(
                    "s{},active,2023-01-22 10:{:02}:00 UT\"C\n",
                    i % 7,
                    i % 60
                ));
                broken.push(line);
            }
            _ => text.push_str(&format!(
                "s{},{},2023-01-{:02} {:02}:{:02}:00 UTC\n",
                i % 7,
                if i % 5 == 0 { "inactive" } else { "active" },
                10 + i / 1440,
                (i / 60) % 24,
                i % 60
            )),
        }
    }
    std::fs::write(dir.path().join("store_status.csv"), &text).unwrap();
    let progress = indicatif::ProgressBar::hidden();
    let out = dir.path().join("rejects.csv");
    let options = RejectOptions {
        out: Some(out.clone()),
        max: MaxRejects::Share(0.05),
    };
    let summary =
        brigade_app::monitoring::import::import_dir(&app.state, dir.path(), &progress, &options)
            .await
            .expect("import");
    let tally = &summary.files[0];
    assert_eq!(tally.lines, 2_000);
    assert!(tally.balances(), "{tally}");
    assert_eq!(tally.rejected as usize, broken.len());
    assert_eq!(tally.stored + tally.duplicates, summary.polls.received);
    let lines: Vec<u64> = summary.rejected.iter().map(|r| r.line).collect();
    assert_eq!(
        lines,
        broken.iter().map(|l| u64::from(*l)).collect::<Vec<_>>()
    );
    assert!(
        summary.rejected[0].reason.contains("unbalanced quote"),
        "{:?}",
        summary.rejected[0]
    );
    // The rejected lines, as they were, after the header.
    let written = std::fs::read_to_string(&out).unwrap();
    let physical: Vec<&str> = text.lines().collect();
    let mut expected = vec![physical[0]];
    expected.extend(broken.iter().map(|l| physical[*l as usize - 1]));
    assert_eq!(written.lines().collect::<Vec<_>>(), expected);

    // Over the limit: nothing stored, and it says why.
    let fresh = TestApp::spawn().await;
    let strict = RejectOptions {
        out: None,
        max: MaxRejects::Count(10),
    };
    let err =
        brigade_app::monitoring::import::import_dir(&fresh.state, dir.path(), &progress, &strict)
            .await
            .unwrap_err();
    match err {
        brigade_app::monitoring::import::ImportError::Lines(LinesError::TooManyRejected {
            rejected,
            ..
        }) => {
            assert_eq!(rejected, 11)
        }
        other => panic!("{other}"),
    }
    let computed = brigade_app::monitoring::report::compute(&fresh.state.db, None).await;
    assert!(
        computed.is_err(),
        "nothing was stored, so no poll to report on"
    );
    let stores = brigade_app::entities::restaurants::Entity::find()
        .count(&fresh.state.db)
        .await
        .unwrap();
    assert_eq!(stores, 0, "not even a store");
}

#[tokio::test]
async fn demo_data_has_a_week_of_polls_to_report_on() {
    let app = TestApp::spawn().await;
    let first = brigade_app::demo::load(&app.state).await.unwrap();
    assert_eq!(first.polls_created, 4 * 7 * 24);
    let again = brigade_app::demo::load(&app.state).await.unwrap();
    assert_eq!(
        again.polls_created, 0,
        "loading the demo twice adds no polls"
    );
    let computed = brigade_app::monitoring::report::compute(&app.state.db, None)
        .await
        .expect("report");
    assert_eq!(computed.rows.len(), 4);
    // Some demo store had an outage in the week, and none was down all week.
    assert!(computed.rows.iter().any(|r| r.figures.downtime_week > 0));
    assert!(computed.rows.iter().all(|r| r.figures.uptime_week > 0));
}

#[tokio::test]
async fn a_store_polled_only_in_year_zero_gets_windows_that_start_in_1970() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    send_polls(
        &app,
        &admin,
        &[("ancient-store", "0000-01-01 00:00:00 UTC", "inactive")],
    )
    .await;
    let id = restaurant_of(&app, &admin, "ancient-store").await;
    let incidents = app
        .get(
            &format!("/api/monitoring/stores/{id}/incidents"),
            Some(&admin),
        )
        .await;
    incidents.assert_status(StatusCode::OK);
    let from = incidents.data()["from"].as_str().unwrap().to_string();
    assert!(from.starts_with("1970-"), "{from}");
    let days = app
        .get(&format!("/api/monitoring/stores/{id}/uptime"), Some(&admin))
        .await;
    days.assert_status(StatusCode::OK);
    assert!(!days.text.contains("\"-0"), "{}", days.text);
}
