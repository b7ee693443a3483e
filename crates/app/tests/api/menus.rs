use std::sync::Arc;

use axum::http::StatusCode;
use brigade_app::accounts::Role;
use brigade_app::entities::menu_items;
use brigade_app::{AppState, StateOptions};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::harness::{TestApp, redis_url};

struct Venue {
    id: String,
    owner: String,
    staff: String,
}

async fn venue(app: &TestApp, admin: &str, currency: &str) -> Venue {
    let id = app.restaurant(admin, json!({"name": format!("Venue {currency}"), "timezone": "Europe/London", "currency": currency, "status": "active"})).await;
    let owner_email = format!("owner-{currency}@example.com");
    let staff_email = format!("staff-{currency}@example.com");
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
    Venue { id, owner, staff }
}

#[tokio::test]
async fn managers_build_menus_that_everyone_can_read() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let v = venue(&app, &admin, "GBP").await;
    let base = format!("/api/venues/{}/menu", v.id);

    let mains = app
        .post(
            &format!("{base}/categories"),
            json!({"name": "Mains", "display_order": 2}),
            Some(&v.owner),
        )
        .await;
    mains.assert_status(StatusCode::CREATED);
    let mains = mains.data()["id"].as_str().unwrap().to_string();
    let starters = app
        .post(
            &format!("{base}/categories/"),
            json!({"name": "Starters", "display_order": 1}),
            Some(&v.owner),
        )
        .await;
    let starters = starters.data()["id"].as_str().unwrap().to_string();

    let ramen = app
        .post(&format!("{base}/items"), json!({"category_id": mains, "name": "Ramen", "price": "14.50", "preparation_minutes": 12}), Some(&v.owner))
        .await;
    ramen.assert_status(StatusCode::CREATED);
    assert_eq!(ramen.data()["price"], "14.50");
    assert_eq!(ramen.data()["currency"], "GBP");
    app.post(
        &format!("{base}/items"),
        json!({"category_id": starters, "name": "Gyoza", "price": "6.50"}),
        Some(&v.owner),
    )
    .await
    .assert_status(StatusCode::CREATED);
    // Money is a string: a JSON number would already have been rounded by whoever wrote it.
    let number = app
        .post(
            &format!("{base}/items"),
            json!({"category_id": starters, "name": "Edamame", "price": 4.5}),
            Some(&v.owner),
        )
        .await;
    number.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    let bad = app
        .post(&format!("{base}/items"), json!({"category_id": uuid::Uuid::new_v4(), "name": "", "price": "3.999", "preparation_minutes": 9000}), Some(&v.owner))
        .await;
    bad.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    for field in ["name", "preparation_minutes"] {
        assert!(!bad.field_errors(field).is_empty(), "{field}: {}", bad.text);
    }
    let shapeless = app
        .post(
            &format!("{base}/items"),
            json!({"category_id": starters, "name": "Miso", "price": "3.9999"}),
            Some(&v.owner),
        )
        .await;
    shapeless.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(
        !shapeless.field_errors("price").is_empty(),
        "{}",
        shapeless.text
    );
    // Well formed, but naming a category the venue does not have.
    let unknown = app
        .post(
            &format!("{base}/items"),
            json!({"category_id": uuid::Uuid::new_v4(), "name": "Udon", "price": "9.00"}),
            Some(&v.owner),
        )
        .await;
    unknown.assert_error(StatusCode::NOT_FOUND, "not_found");
    assert!(!unknown.field_errors("category_id").is_empty());
    app.post(
        &format!("{base}/items"),
        json!({"category_id": mains, "name": "Refund", "price": "-1.00"}),
        Some(&v.owner),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    // Anyone may read the menu, in display order.
    let menu = app.get(&base, None).await;
    menu.assert_status(StatusCode::OK);
    let sections = menu.data()["categories"].as_array().unwrap();
    assert_eq!(
        sections
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec!["Starters", "Mains"]
    );
    assert_eq!(sections[0]["items"][0]["name"], "Gyoza");
    assert_eq!(sections[0]["items"][0]["price"], "6.50");
    assert_eq!(menu.data()["currency"], "GBP");

    // Writes need the venue's manager.
    app.post(&format!("{base}/categories"), json!({"name": "X"}), None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    app.post(
        &format!("{base}/categories"),
        json!({"name": "X"}),
        Some(&v.staff),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");
    let (_, stranger, _) = app.user("stranger@example.com", Role::Customer).await;
    app.post(
        &format!("{base}/categories"),
        json!({"name": "X"}),
        Some(&stranger),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn sold_out_shows_at_once_and_staff_may_only_toggle_availability() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let v = venue(&app, &admin, "USD").await;
    let base = format!("/api/venues/{}/menu", v.id);
    let cat = app
        .post(
            &format!("{base}/categories"),
            json!({"name": "Bowls"}),
            Some(&v.owner),
        )
        .await
        .data()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let item = app
        .post(
            &format!("{base}/items"),
            json!({"category_id": cat, "name": "Poke", "price": "12"}),
            Some(&v.owner),
        )
        .await;
    let item = item.data()["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.get(&base, None).await.data()["categories"][0]["items"][0]["is_available"],
        true,
        "cached now"
    );

    app.put(
        &format!("{base}/items/{item}"),
        json!({"price": "1.00"}),
        Some(&v.staff),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");
    let sold_out = app
        .put(
            &format!("{base}/items/{item}"),
            json!({"is_available": false}),
            Some(&v.staff),
        )
        .await;
    sold_out.assert_status(StatusCode::OK);
    assert_eq!(sold_out.data()["price"], "12.00");
    assert_eq!(
        app.get(&base, None).await.data()["categories"][0]["items"][0]["is_available"],
        false,
        "the cached menu was refreshed"
    );
    assert_eq!(
        app.get(&format!("{base}/items?available=false"), None)
            .await
            .data()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.get(&format!("{base}/items?available=true"), None)
            .await
            .data()
            .as_array()
            .unwrap()
            .len(),
        0
    );

    app.delete(&format!("{base}/categories/{cat}"), Some(&v.owner))
        .await
        .assert_status(StatusCode::OK);
    app.get(&format!("{base}/items/{item}"), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.get(&base, None).await.data()["categories"], json!([]));
}

#[tokio::test]
async fn prices_follow_the_currency_and_menus_are_cached() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let v = venue(&app, &admin, "JPY").await;
    let base = format!("/api/venues/{}/menu", v.id);
    let cat = app
        .post(
            &format!("{base}/categories"),
            json!({"name": "Sets"}),
            Some(&v.owner),
        )
        .await
        .data()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        &format!("{base}/items"),
        json!({"category_id": cat, "name": "Katsu", "price": "1200.5"}),
        Some(&v.owner),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "currency_precision");
    let item = app
        .post(
            &format!("{base}/items"),
            json!({"category_id": cat, "name": "Katsu", "price": "1200"}),
            Some(&v.owner),
        )
        .await;
    assert_eq!(item.data()["price"], "1200");

    // A change written behind the API's back is not seen while the menu is cached...
    assert_eq!(
        app.get(&base, None).await.data()["categories"][0]["items"][0]["name"],
        "Katsu"
    );
    menu_items::Entity::update_many()
        .col_expr(
            menu_items::Column::Name,
            Expr::value("Renamed in the database"),
        )
        .filter(menu_items::Column::Name.eq("Katsu"))
        .exec(&app.state.db)
        .await
        .unwrap();
    assert_eq!(
        app.get(&base, None).await.data()["categories"][0]["items"][0]["name"],
        "Katsu",
        "served from the cache"
    );

    // ...and a change through the API invalidates it, in every process sharing the cache.
    let other = AppState::build(
        app.state.config.clone(),
        StateOptions {
            clock: Some(Arc::new(app.clock.clone())),
            inline_jobs: true,
        },
    )
    .await
    .unwrap();
    let writer = if redis_url().is_some() {
        &other
    } else {
        &app.state
    };
    brigade_app::menus::invalidate(writer, v.id.parse().unwrap()).await;
    // Another process's change is heard within milliseconds (its own at once); a near copy would
    // otherwise live for NEAR_TTL_MAX, far past this deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let name = app.get(&base, None).await.data()["categories"][0]["items"][0]["name"].clone();
        if name == "Renamed in the database" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {name}");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn inactive_venues_hide_their_menu_from_the_public() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let v = venue(&app, &admin, "EUR").await;
    app.put(
        &format!("/api/restaurants/{}", v.id),
        json!({"status": "inactive"}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::OK);
    app.get(&format!("/api/venues/{}/menu", v.id), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.get(&format!("/api/venues/{}/menu", v.id), Some(&v.staff))
        .await
        .assert_status(StatusCode::OK);
    app.get(&format!("/api/venues/{}/menu", uuid::Uuid::new_v4()), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
}
