use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use brigade_app::accounts::Role;
use serde_json::json;

use crate::harness::TestApp;
use crate::orders::shop;

#[tokio::test]
async fn venues_are_the_shared_restaurants_managed_by_admins_and_managers() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let created = app
        .post(
            "/api/venues",
            json!({"name": "Omochi Ramen", "timezone": "Asia/Tokyo", "currency": "JPY", "status": "active", "region": "Kanto",
                   "hours": [{"weekday": 0, "opens": "17:30", "closes": "01:00"}]}),
            Some(&admin),
        )
        .await;
    created.assert_status(StatusCode::CREATED);
    let id = created.data()["id"].as_str().unwrap().to_string();
    assert_eq!(created.data()["enable_eat_in"], true);
    // The same record is the restaurant.
    assert_eq!(
        app.get(&format!("/api/restaurants/{id}"), Some(&admin))
            .await
            .data()["name"],
        "Omochi Ramen"
    );
    let (_, customer, _) = app.user("eater@example.com", Role::Customer).await;
    app.post(
        "/api/venues",
        json!({"name": "Mine", "timezone": "UTC"}),
        Some(&customer),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");

    // Public reading, with filters.
    let listed = app.get("/api/venues?q=omochi&region=Kanto", None).await;
    assert_eq!(listed.data()["pagination"]["total"], 1);
    assert_eq!(
        app.get("/api/venues?eat_in=false", None).await.data()["pagination"]["total"],
        0
    );
    app.get(&format!("/api/venues/{id}"), None)
        .await
        .assert_status(StatusCode::OK);

    // A manager updates their own venue but not its status; a stranger does nothing.
    let (_, manager, _) = app.user("manager@example.com", Role::Customer).await;
    app.post(
        &format!("/api/restaurants/{id}/members"),
        json!({"email": "manager@example.com", "role": "manager"}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::CREATED);
    let updated = app
        .put(
            &format!("/api/venues/{id}"),
            json!({"enable_eat_in": false, "description": "Late-night ramen"}),
            Some(&manager),
        )
        .await;
    updated.assert_status(StatusCode::OK);
    assert_eq!(updated.data()["enable_eat_in"], false);
    app.put(
        &format!("/api/venues/{id}"),
        json!({"status": "inactive"}),
        Some(&manager),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");
    app.put(
        &format!("/api/venues/{id}"),
        json!({"description": "x"}),
        Some(&customer),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "forbidden");
    app.delete(&format!("/api/venues/{id}"), Some(&manager))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");

    // Logo upload goes through storage and is served back.
    let png = brigade_app::venues::qr_png("logo", 64).unwrap();
    let boundary = "brigade-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"logo.png\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&png);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let upload = |body: Vec<u8>, token: &str| {
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/venues/{id}/logo"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap();
        app.send(request)
    };
    let uploaded = upload(body.clone(), &manager).await;
    uploaded.assert_status(StatusCode::OK);
    let logo = uploaded.data()["logo_url"].as_str().unwrap().to_string();
    assert!(logo.starts_with(&format!("/media/venues/{id}/logo-")));
    let (status, kind, bytes) = app.raw(&logo, None).await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "image/png"));
    assert_eq!(bytes, png);
    let text = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.txt\"\r\n\r\nhello\r\n--{boundary}--\r\n"
    );
    let refused = upload(text.into_bytes(), &manager).await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(!refused.field_errors("file").is_empty());
    // A field the upload does not have is named, not dropped.
    let mut extra = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"caption\"\r\n\r\nhello\r\n"
    )
    .into_bytes();
    extra.extend_from_slice(&body);
    let refused = upload(extra, &manager).await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(
        !refused.field_errors("caption").is_empty(),
        "{}",
        refused.text
    );
    upload(body, &customer)
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");

    app.delete(&format!("/api/venues/{id}"), Some(&admin))
        .await
        .assert_status(StatusCode::OK);
    app.get(&format!("/api/venues/{id}"), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.raw(&logo, None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn qr_codes_resolve_render_and_can_be_revoked_and_regenerated() {
    let app = TestApp::spawn_with(|c| c.public_url = "https://brigade.example".into()).await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Code Kitchen", serde_json::json!({})).await;
    let base = format!("/api/venues/{}", s.id);
    let made = app
        .post(
            &format!("{base}/generate-qr"),
            json!({"table": "T4"}),
            Some(&s.owner),
        )
        .await;
    made.assert_status(StatusCode::CREATED);
    let code = made.data()["code"].as_str().unwrap().to_string();
    let qr_id = made.data()["id"].as_str().unwrap().to_string();
    assert_eq!(
        made.data()["url"],
        format!("https://brigade.example/q/{code}")
    );
    // Asking again for the same table gives the same live code.
    let again = app
        .post(
            &format!("{base}/generate-qr"),
            json!({"table": "T4"}),
            Some(&s.owner),
        )
        .await;
    again.assert_status(StatusCode::OK);
    assert_eq!(again.data()["code"], code.as_str());
    app.post(&format!("{base}/generate-qr"), json!({}), Some(&s.staff))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");

    let resolved = app.get(&format!("/api/venues/qr/{code}"), None).await;
    resolved.assert_status(StatusCode::OK);
    assert_eq!(resolved.data()["venue"]["id"], s.id.as_str());
    assert_eq!(resolved.data()["table"], "T4");
    let lower = app
        .get(&format!("/api/venues/qr/{}", code.to_lowercase()), None)
        .await;
    lower.assert_status(StatusCode::OK);

    let (status, kind, png) = app
        .raw(
            &format!("{base}/qr-codes/{qr_id}/image?size=300"),
            Some(&s.staff),
        )
        .await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "image/png"));
    assert!(png.starts_with(b"\x89PNG"));
    let (_, kind, svg) = app
        .raw(
            &format!("{base}/qr-codes/{qr_id}/image?format=svg"),
            Some(&s.staff),
        )
        .await;
    assert_eq!(kind, "image/svg+xml");
    assert!(String::from_utf8(svg).unwrap().contains("<svg"));
    app.get(
        &format!("{base}/qr-codes/{qr_id}/image?format=gif"),
        Some(&s.staff),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let huge = app
        .get(
            &format!("{base}/qr-codes/{qr_id}/image?size=445055"),
            Some(&s.staff),
        )
        .await;
    huge.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(!huge.field_errors("size").is_empty());

    // The customer page the code opens.
    let (status, kind, page) = app.raw(&format!("/q/{code}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/html"));
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("Code Kitchen") && page.contains("data-table=\"T4\""));

    // Regenerating revokes the old code.
    let fresh = app
        .post(
            &format!("{base}/qr-codes/{qr_id}/regenerate"),
            json!({}),
            Some(&s.owner),
        )
        .await;
    fresh.assert_status(StatusCode::CREATED);
    assert_ne!(fresh.data()["code"], code.as_str());
    assert_eq!(fresh.data()["table"], "T4");
    app.get(&format!("/api/venues/qr/{code}"), None)
        .await
        .assert_error(StatusCode::GONE, "qr_revoked");
    assert_eq!(
        app.raw(&format!("/q/{code}"), None).await.0,
        StatusCode::GONE
    );
    let fresh_id = fresh.data()["id"].as_str().unwrap();
    app.post(
        &format!("{base}/qr-codes/{fresh_id}/revoke"),
        json!({}),
        Some(&s.owner),
    )
    .await
    .assert_status(StatusCode::OK);
    assert_eq!(
        app.get(&format!("{base}/qr-codes"), Some(&s.staff))
            .await
            .data()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        app.get(
            &format!("{base}/qr-codes?include_revoked=true"),
            Some(&s.staff)
        )
        .await
        .data()
        .as_array()
        .unwrap()
        .len(),
        2
    );
    app.get("/api/venues/qr/NOSUCHCODE", None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");

    // Share links use the venue's own (takeout) code, and only the venue's people make them: a
    // customer cannot mint a live code (it would undo a manager's revoke).
    let (_, customer, _) = app.user("eater@example.com", Role::Customer).await;
    app.post(&format!("{base}/share-qr"), json!({}), Some(&customer))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    let share = app
        .post(&format!("{base}/share-qr"), json!({}), Some(&s.staff))
        .await;
    share.assert_status(StatusCode::OK);
    assert!(
        share.data()["text"]
            .as_str()
            .unwrap()
            .contains("Code Kitchen")
    );
    assert_eq!(share.data()["qr"]["table"], serde_json::Value::Null);
    let again = app
        .post(&format!("{base}/share-qr"), json!({}), Some(&s.staff))
        .await;
    assert_eq!(again.data()["url"], share.data()["url"]);
}

#[tokio::test]
async fn customers_keep_their_own_stocked_venues() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let a = shop(&app, &admin, "Alpha Cafe", json!({})).await;
    let b = shop(&app, &admin, "Beta Bar", json!({})).await;
    let (_, customer, _) = app.user("eater@example.com", Role::Customer).await;
    let (_, other, _) = app.user("other@example.com", Role::Customer).await;
    let saved = app
        .post(
            "/api/stocked-venues",
            json!({"venue_id": a.id}),
            Some(&customer),
        )
        .await;
    saved.assert_status(StatusCode::CREATED);
    assert_eq!(saved.data()["venue"]["name"], "Alpha Cafe");
    let again = app
        .post(
            "/api/stocked-venues",
            json!({"venue_id": a.id}),
            Some(&customer),
        )
        .await;
    again.assert_status(StatusCode::OK);
    assert_eq!(again.data()["id"], saved.data()["id"]);
    app.post(
        "/api/stocked-venues",
        json!({"venue_id": b.id, "is_favorite": true}),
        Some(&customer),
    )
    .await
    .assert_status(StatusCode::CREATED);
    let bad = app
        .post(
            "/api/stocked-venues",
            json!({"venue_id": uuid::Uuid::new_v4()}),
            Some(&customer),
        )
        .await;
    assert!(!bad.field_errors("venue_id").is_empty());

    let list = app.get("/api/stocked-venues", Some(&customer)).await;
    assert_eq!(list.data()["pagination"]["total"], 2);
    assert_eq!(
        list.data()["items"][0]["venue"]["name"],
        "Beta Bar",
        "favourites first"
    );
    assert_eq!(
        app.get("/api/stocked-venues?favorite=true", Some(&customer))
            .await
            .data()["pagination"]["total"],
        1
    );
    assert_eq!(
        app.get("/api/stocked-venues?q=alpha", Some(&customer))
            .await
            .data()["pagination"]["total"],
        1
    );
    let id = saved.data()["id"].as_str().unwrap();
    let toggled = app
        .put(
            &format!("/api/stocked-venues/{id}/favorite"),
            json!({}),
            Some(&customer),
        )
        .await;
    assert_eq!(toggled.data()["is_favorite"], true);
    app.put(
        &format!("/api/stocked-venues/{id}/favorite"),
        json!({}),
        Some(&other),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.delete(&format!("/api/stocked-venues/{id}"), Some(&other))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        app.get("/api/stocked-venues", Some(&other)).await.data()["pagination"]["total"],
        0
    );
    app.delete(&format!("/api/stocked-venues/{id}"), Some(&customer))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(
        app.get("/api/stocked-venues", Some(&customer)).await.data()["pagination"]["total"],
        1
    );
}

#[tokio::test]
async fn menu_item_photos_are_stored_and_shown_on_the_menu() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Photo Diner", json!({})).await;
    let png = brigade_app::venues::qr_png("photo", 64).unwrap();
    let boundary = "item-photo";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.png\"\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&png);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let upload = |token: &str| {
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/venues/{}/menu/items/{}/image", s.id, s.ramen))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body.clone()))
            .unwrap();
        app.send(request)
    };
    upload(&s.staff)
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    let first = upload(&s.owner).await;
    first.assert_status(StatusCode::OK);
    let url = first.data()["image_url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("/media/venues/{}/items/", s.id)));
    assert_eq!(app.raw(&url, None).await.2, png);
    let menu = app.get(&format!("/api/venues/{}/menu", s.id), None).await;
    let shown = menu.data()["categories"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["id"] == s.ramen.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        shown["image_url"],
        url.as_str(),
        "the cached menu was refreshed"
    );
    // A new photo replaces the old file.
    let second = upload(&s.owner).await;
    let new_url = second.data()["image_url"].as_str().unwrap();
    assert_ne!(new_url, url);
    assert_eq!(app.raw(&url, None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deleting_a_restaurant_drops_its_cached_menu_whichever_api_deletes_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Short Lived", json!({})).await;
    let menu = format!("/api/venues/{}/menu", s.id);
    app.get(&menu, None).await.assert_status(StatusCode::OK);
    app.get(&menu, None).await.assert_status(StatusCode::OK); // now served from the cache
    app.delete(&format!("/api/restaurants/{}", s.id), Some(&admin))
        .await
        .assert_status(StatusCode::OK);
    app.get(&menu, None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn uploads_live_in_the_configured_storage_and_are_served_from_it() {
    use brigade_app::storage::Storage;
    let app = TestApp::spawn().await;
    let expected = if crate::harness::s3_endpoint().is_some() {
        "s3"
    } else {
        "local"
    };
    assert_eq!(app.state.storage.backend, expected);
    let key = format!("tests/{}/probe.png", uuid::Uuid::now_v7());
    let png = brigade_app::venues::qr_png("probe", 64).unwrap();
    app.state
        .storage
        .put(&key, bytes::Bytes::from(png.clone()))
        .await
        .expect("upload");
    // Another client of the same storage (another process) reads what was written: it is really there.
    let other = Storage::from_config(&app.state.config).unwrap();
    assert_eq!(other.get(&key).await.unwrap().as_deref(), Some(&png[..]));
    // Served at its public URL.
    let url = brigade_app::storage::public_url(&key);
    let (status, kind, bytes) = app.raw(&url, None).await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "image/png"));
    assert_eq!(bytes, png);
    other.delete(&key).await.expect("delete");
    assert_eq!(app.state.storage.get(&key).await.unwrap(), None);
    assert_eq!(app.raw(&url, None).await.0, StatusCode::NOT_FOUND);
    // Deleting what is not there is fine.
    app.state.storage.delete(&key).await.expect("delete again");
}
