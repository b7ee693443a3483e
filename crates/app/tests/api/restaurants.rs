use axum::http::StatusCode;
use brigade_app::accounts::Role;
use brigade_app::entities::restaurant_hours;
use chrono::TimeZone;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

use crate::harness::TestApp;

fn noodle_bar() -> serde_json::Value {
    json!({
        "name": "Midnight Noodle Bar", "timezone": "America/New_York", "region": "US East", "status": "active",
        "external_id": "store-42", "address": "88 Orchard St", "website": "https://noodles.example",
        "hours": [
            {"weekday": 0, "opens": "11:30", "closes": "14:30"},
            {"weekday": 0, "opens": "18:00", "closes": "02:00"},
            {"weekday": 6, "opens": "00:00", "closes": "00:00"}
        ]
    })
}

#[tokio::test]
async fn admins_create_restaurants_with_split_and_overnight_hours() {
    let app = TestApp::spawn().await;
    // Monday 2026-06-15 23:30 in New York = Tuesday 03:30 UTC: inside the overnight dinner shift.
    app.clock
        .set(chrono::Utc.with_ymd_and_hms(2026, 6, 16, 3, 30, 0).unwrap());
    let admin = app.admin().await;
    let created = app
        .post("/api/restaurants", noodle_bar(), Some(&admin))
        .await;
    created.assert_status(StatusCode::CREATED);
    let data = created.data();
    assert_eq!(data["timezone"], "America/New_York");
    assert_eq!(data["hours"].as_array().unwrap().len(), 3);
    assert_eq!(data["open_now"], true);
    let id = data["id"].as_str().unwrap();

    // Tuesday 07:00 UTC = 03:00 local: the shift ended at 02:00.
    app.clock
        .set(chrono::Utc.with_ymd_and_hms(2026, 6, 16, 7, 0, 0).unwrap());
    let admin = app.token_for("root@example.com").await;
    let fetched = app
        .get(&format!("/api/restaurants/{id}"), Some(&admin))
        .await;
    assert_eq!(fetched.data()["open_now"], false);
    assert_eq!(
        fetched.data()["hours"][1],
        json!({"weekday": 0, "opens": "18:00:00", "closes": "02:00:00"})
    );

    let dup = app
        .post(
            "/api/restaurants",
            json!({"name": "Copy", "timezone": "UTC", "external_id": "store-42"}),
            Some(&admin),
        )
        .await;
    dup.assert_error(StatusCode::CONFLICT, "external_id_taken");

    let invalid = app
        .post("/api/restaurants", json!({"name": "", "timezone": "Europe/Atlantis", "website": "noodles", "hours": [{"weekday": 9, "opens": "10:00", "closes": "11:00"}]}), Some(&admin))
        .await;
    invalid.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    for field in ["name", "timezone", "website", "hours[0].weekday"] {
        assert!(
            !invalid.field_errors(field).is_empty(),
            "{field}: {}",
            invalid.text
        );
    }
}

#[tokio::test]
async fn venue_people_manage_their_own_restaurant_only() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let mine = app.restaurant(&admin, noodle_bar()).await;
    let other = app
        .restaurant(
            &admin,
            json!({"name": "Elsewhere", "timezone": "Asia/Tokyo"}),
        )
        .await;
    let (_, owner, _) = app.user("owner@example.com", Role::Customer).await;
    let (_, staff, _) = app.user("staff@example.com", Role::Customer).await;
    let (_, stranger, _) = app.user("stranger@example.com", Role::Customer).await;
    let (_, kam, _) = app.user("kam@example.com", Role::Kam).await;

    app.post(
        &format!("/api/restaurants/{mine}/members"),
        json!({"email": "owner@example.com", "role": "owner"}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::CREATED);
    app.post(
        &format!("/api/restaurants/{mine}/members"),
        json!({"email": "staff@example.com", "role": "staff"}),
        Some(&owner),
    )
    .await
    .assert_status(StatusCode::CREATED);
    app.post(
        &format!("/api/restaurants/{mine}/members"),
        json!({"email": "ghost@example.com", "role": "staff"}),
        Some(&owner),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.post(
        &format!("/api/restaurants/{mine}/members"),
        json!({"email": "stranger@example.com", "role": "owner"}),
        Some(&staff),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");

    // The owner edits hours and details, but not the CRM status; staff only read.
    let hours = json!({"hours": [{"weekday": 2, "opens": "17:00", "closes": "23:00"}]});
    let put = app
        .put(
            &format!("/api/restaurants/{mine}/hours/"),
            hours.clone(),
            Some(&owner),
        )
        .await;
    put.assert_status(StatusCode::OK);
    assert_eq!(put.data()["hours"].as_array().unwrap().len(), 1);
    app.put(
        &format!("/api/restaurants/{mine}/hours"),
        hours.clone(),
        Some(&staff),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");
    app.put(
        &format!("/api/restaurants/{mine}"),
        json!({"description": "Ramen until late"}),
        Some(&owner),
    )
    .await
    .assert_status(StatusCode::OK);
    app.put(
        &format!("/api/restaurants/{mine}"),
        json!({"status": "inactive"}),
        Some(&owner),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");
    app.get(&format!("/api/restaurants/{mine}"), Some(&staff))
        .await
        .assert_status(StatusCode::OK);
    app.get(&format!("/api/restaurants/{other}"), Some(&owner))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    app.put(
        &format!("/api/restaurants/{other}/hours"),
        hours,
        Some(&owner),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");

    // Lists show each caller what they may see.
    let listed = |token: String| {
        let app = &app;
        async move {
            app.get("/api/restaurants", Some(&token)).await.data()["pagination"]["total"]
                .as_u64()
                .unwrap()
        }
    };
    assert_eq!(listed(owner.clone()).await, 1);
    assert_eq!(listed(stranger.clone()).await, 0);
    assert_eq!(listed(kam.clone()).await, 2);
    assert_eq!(listed(admin.clone()).await, 2);

    // Only admins create or delete.
    app.post(
        "/api/restaurants",
        json!({"name": "Mine too", "timezone": "UTC"}),
        Some(&owner),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");
    app.delete(&format!("/api/restaurants/{mine}"), Some(&owner))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");

    let members = app
        .get(&format!("/api/restaurants/{mine}/members"), Some(&staff))
        .await;
    assert_eq!(members.data().as_array().unwrap().len(), 2);
    let staff_id = app.get("/api/auth/me", Some(&staff)).await.data()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.delete(
        &format!("/api/restaurants/{mine}/members/{staff_id}"),
        Some(&owner),
    )
    .await
    .assert_status(StatusCode::OK);
    app.get(&format!("/api/restaurants/{mine}"), Some(&staff))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn filters_search_and_delete() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let noodle = app.restaurant(&admin, noodle_bar()).await;
    app.restaurant(&admin, json!({"name": "Sakura Kitchen", "timezone": "Asia/Tokyo", "region": "APAC", "status": "new"})).await;
    app.restaurant(&admin, json!({"name": "Closed Café", "timezone": "Europe/Paris", "status": "inactive", "address": "1 Rue de la Paix"})).await;

    let total = |path: &str| {
        let app = &app;
        let admin = admin.clone();
        let path = path.to_string();
        async move {
            app.get(&path, Some(&admin)).await.data()["pagination"]["total"]
                .as_u64()
                .unwrap()
        }
    };
    assert_eq!(total("/api/restaurants?status=active").await, 1);
    assert_eq!(total("/api/restaurants?region=APAC").await, 1);
    assert_eq!(total("/api/restaurants?q=noodle").await, 1);
    assert_eq!(total("/api/restaurants?q=rue%20de").await, 1);
    assert_eq!(
        total("/api/restaurants?q=%25").await,
        0,
        "a literal % matches nothing"
    );
    assert_eq!(total("/api/restaurants?external_id=store-42").await, 1);
    // Substring search through the database's index: any case, any part of the name or address, short
    // searches too, quotes and FTS syntax taken literally.
    assert_eq!(total("/api/restaurants?q=KURA%20KIT").await, 1);
    assert_eq!(total("/api/restaurants?q=a%20Pa").await, 1);
    assert_eq!(total("/api/restaurants?q=ak").await, 1);
    assert_eq!(total("/api/restaurants?q=%22Sakura%22").await, 0);
    assert_eq!(total("/api/restaurants?q=Sakura%20OR%20Noodle").await, 0);
    assert_eq!(total("/api/restaurants?q=kitchen%20*").await, 0);
    // A NUL is refused and named, never dropped or cut at (on SQLite it used to cut the search short and
    // match everything).
    for query in ["q=Sak%00ura", "q=%00zzz", "region=%00", "q=ok&status=%00"] {
        let refused = app
            .get(&format!("/api/restaurants?{query}"), Some(&admin))
            .await;
        refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let field = query.rsplit('&').next().unwrap().split('=').next().unwrap();
        assert!(!refused.field_errors(field).is_empty(), "{}", refused.text);
    }
    app.get("/api/users?q=%00zzz", Some(&admin))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let login = app
        .post(
            "/api/auth/login",
            json!({"email": "root\u{0}@example.com", "password": "x"}),
            None,
        )
        .await;
    login.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(!login.field_errors("email").is_empty());
    let sakura = app
        .get("/api/restaurants?q=sakura", Some(&admin))
        .await
        .data()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.put(
        &format!("/api/restaurants/{sakura}"),
        json!({"name": "Hanami House", "address": "3 Chome Ginza"}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::OK);
    assert_eq!(total("/api/restaurants?q=sakura").await, 0, "renamed");
    assert_eq!(total("/api/restaurants?q=hanami").await, 1);
    assert_eq!(total("/api/restaurants?q=ginza").await, 1);
    app.delete(&format!("/api/restaurants/{sakura}"), Some(&admin))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(total("/api/restaurants?q=hanami").await, 0, "deleted");
    // A VACUUM (which may renumber SQLite's implicit rowids) leaves the search right and writable.
    sea_orm::ConnectionTrait::execute_unprepared(&app.state.db, "VACUUM")
        .await
        .unwrap();
    app.restaurant(
        &admin,
        json!({"name": "Hanami Garden", "timezone": "Asia/Tokyo"}),
    )
    .await;
    assert_eq!(total("/api/restaurants?q=hanami").await, 1);
    assert_eq!(total("/api/restaurants?q=noodle").await, 1);
    assert_eq!(total("/api/restaurants?q=de%20la%20paix").await, 1);

    assert!(
        restaurant_hours::Entity::find()
            .count(&app.state.db)
            .await
            .unwrap()
            >= 3
    );
    app.delete(&format!("/api/restaurants/{noodle}"), Some(&admin))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(
        restaurant_hours::Entity::find()
            .count(&app.state.db)
            .await
            .unwrap(),
        0,
        "hours go with their restaurant"
    );
    app.get(&format!("/api/restaurants/{noodle}"), Some(&admin))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn demo_data_loads_once_with_an_account_per_role() {
    let app = TestApp::spawn().await;
    let first = brigade_app::demo::load(&app.state).await.unwrap();
    assert_eq!((first.restaurants_created, first.accounts_created), (4, 6));
    // The CRM's demo: the four venues and twelve leads, each with a KAM.
    assert_eq!(first.crm_restaurants_assigned, 16);
    assert!(first.menu_items_created >= 16, "{first:?}");
    assert_eq!(
        first.qr_codes_created, 20,
        "a takeout and four table codes per venue"
    );
    assert_eq!(first.time_slots_created, 7 * 2 + 7 + 7 * 2);
    assert_eq!(
        first.channel_orders_created,
        4 * 7 * 14,
        "a week of channel orders per venue"
    );
    // Every demo restaurant with orders gets its demand and customer models trained by the workers.
    // Demand and customers for the 16 restaurants with orders, and the 4 demo kitchens' prep times.
    assert_eq!(first.forecast_trainings_queued, 2 * 16 + 4, "{first:?}");
    assert!(first.ticket_lines_created > 1000, "{first:?}");
    // The README's link works: the code resolves to its venue and table.
    let resolved = app.get("/api/venues/qr/EMBER-T1", None).await;
    assert_eq!(resolved.data()["table"], "T1");
    assert_eq!(resolved.data()["venue"]["external_id"], "demo-ember-oak");
    let again = brigade_app::demo::load(&app.state).await.unwrap();
    assert_eq!(
        (
            again.restaurants_created,
            again.accounts_created + again.crm_restaurants_assigned,
            again.menu_items_created,
            again.qr_codes_created
                + again.time_slots_created
                + again.channel_orders_created
                + again.ticket_lines_created
        ),
        (0, 0, 0, 0)
    );
    // Trained once, the demo's models are not queued again.
    for result in brigade_app::jobs::run_inline(&app.state).await {
        result.unwrap();
    }
    assert_eq!(
        brigade_app::demo::load(&app.state)
            .await
            .unwrap()
            .forecast_trainings_queued,
        0
    );
    for (email, role) in [
        ("admin@demo.brigade", "admin"),
        ("kam@demo.brigade", "kam"),
        ("manager@demo.brigade", "customer"),
        ("customer@demo.brigade", "customer"),
        ("kam.london@demo.brigade", "kam"),
        ("kam.ny@demo.brigade", "kam"),
    ] {
        let login = app
            .post(
                "/api/auth/login",
                json!({"email": email, "password": "brigade-demo"}),
                None,
            )
            .await;
        login.assert_status(StatusCode::OK);
        assert_eq!(login.data()["user"]["role"], role);
    }
    let manager = app
        .post(
            "/api/auth/login",
            json!({"email": "manager@demo.brigade", "password": "brigade-demo"}),
            None,
        )
        .await;
    let memberships = manager.data()["user"]["memberships"].as_array().unwrap();
    assert_eq!(memberships.len(), 2);
    let admin = app
        .post(
            "/api/auth/login",
            json!({"email": "admin@demo.brigade", "password": "brigade-demo"}),
            None,
        )
        .await;
    let token = admin.data()["tokens"]["access_token"].as_str().unwrap();
    let zones: Vec<String> = app.get("/api/restaurants", Some(token)).await.data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["timezone"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(zones.len(), 16, "four venues and twelve CRM leads");
    for zone in [
        "Europe/London",
        "America/New_York",
        "Asia/Tokyo",
        "Asia/Kolkata",
    ] {
        assert!(
            zones.iter().any(|z| z == zone),
            "{zone} missing from {zones:?}"
        );
    }
}
