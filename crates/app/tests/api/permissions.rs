//! Every endpoint of the API, called by every role: anonymous, a stranger (a customer with no relation to
//! anything), the guest who owns the orders, reservations, saved venues and notifications, the venue's
//! staff, the venue's owner, a KAM and an admin. Roles an endpoint allows must get through (2xx, or a 409
//! about the resource's state); every other role must be refused (401 anonymous, else 403 or 404) and
//! nobody may ever see a 5xx. The walk fails if the API gains an endpoint this table does not list.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use brigade_app::accounts::Role;
use secrecy::SecretString;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::harness::TestApp;
use crate::orders::shop;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum R {
    Anon,
    Stranger,
    Guest,
    Staff,
    Owner,
    Kam,
    Admin,
}

const ROLES: [R; 7] = [
    R::Anon,
    R::Stranger,
    R::Guest,
    R::Staff,
    R::Owner,
    R::Kam,
    R::Admin,
];
const SIGNED: &[R] = &[R::Stranger, R::Guest, R::Staff, R::Owner, R::Kam, R::Admin];
const VENUE_READERS: &[R] = &[R::Guest, R::Staff, R::Owner, R::Admin];
const VENUE_STAFF: &[R] = &[R::Staff, R::Owner, R::Admin];
const VENUE_MANAGERS: &[R] = &[R::Owner, R::Admin];
const ADMIN: &[R] = &[R::Admin];
const GUEST: &[R] = &[R::Guest];

enum Expect {
    /// These roles get through; all others are refused.
    Allow(&'static [R]),
    /// Anonymous is refused; signed-in callers get an answer about their input (not an auth refusal).
    Signed,
    /// Open to all: never an auth refusal.
    Public,
    /// Token-carrying public endpoints (refresh, logout, reset confirm, webhooks): whatever the input
    /// deserves, but never a 5xx.
    Any,
}

enum Payload {
    None,
    Json(Value),
    Png,
    Csv(&'static str),
}

struct Op {
    method: Method,
    spec: &'static str,
    path: String,
    payload: Payload,
    expect: Expect,
    /// Destroys its target: only the first allowed role runs it (after every refused role tried).
    once: bool,
    /// A Server-Sent-Events stream: only the status is read.
    stream: bool,
}

fn op(method: Method, spec: &'static str, path: String, expect: Expect) -> Op {
    Op {
        method,
        spec,
        path,
        payload: Payload::None,
        expect,
        once: false,
        stream: false,
    }
}

impl Op {
    fn json(mut self, body: Value) -> Op {
        self.payload = Payload::Json(body);
        self
    }
    fn csv(mut self, body: &'static str) -> Op {
        self.payload = Payload::Csv(body);
        self
    }
    fn once(mut self) -> Op {
        self.once = true;
        self
    }
    fn stream(mut self) -> Op {
        self.stream = true;
        self
    }
}

async fn call(app: &TestApp, op: &Op, token: Option<&str>) -> (StatusCode, String) {
    let mut builder = Request::builder().method(op.method.clone()).uri(&op.path);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match &op.payload {
        Payload::None => Body::empty(),
        Payload::Json(v) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        Payload::Csv(text) => {
            builder = builder.header(header::CONTENT_TYPE, "text/csv");
            Body::from(*text)
        }
        Payload::Png => {
            let boundary = "walk-boundary";
            builder = builder.header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            );
            let mut bytes = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"l.png\"\r\n\r\n").into_bytes();
            bytes.extend(brigade_app::venues::qr_png("logo", 64).unwrap());
            bytes.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
            Body::from(bytes)
        }
    };
    if op.stream {
        let mut request = builder.body(body).unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(app.client));
        let response = app.service.clone().oneshot(request).await.unwrap();
        return (response.status(), String::new());
    }
    let response = app.send(builder.body(body).unwrap()).await;
    (response.status, response.text)
}

#[tokio::test]
async fn every_endpoint_admits_exactly_the_roles_it_should() {
    let app = TestApp::spawn_with(|c| {
        c.rate_limit.enabled = false;
        c.payments.webhook_secret = Some(SecretString::from("walk-secret"));
        c.payments.checkout_url = Some("https://pay.example/checkout".into());
    })
    .await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Walk Inn", json!({})).await;
    let spare_venue = shop(&app, &admin, "Spare One", json!({})).await;
    let doomed_venue = shop(&app, &admin, "Doomed Two", json!({})).await;
    let (guest_id, guest, _) = app.user("guest@example.com", Role::Customer).await;
    // The walk signs out a second sign-in of the guest's (logging out ends that sign-in's access tokens).
    let guest_refresh = app
        .post(
            "/api/auth/login",
            json!({"email": "guest@example.com", "password": "password-123"}),
            None,
        )
        .await
        .data()["tokens"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, stranger, _) = app.user("stranger@example.com", Role::Customer).await;
    let (kam_id, kam, _) = app.user("kam@example.com", Role::Kam).await;
    app.user("spare@example.com", Role::Customer).await;
    let spare_id = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        brigade_app::entities::users::Entity::find()
            .filter(brigade_app::entities::users::Column::Email.eq("spare@example.com"))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
            .id
    };
    let token = |role: R| -> Option<String> {
        match role {
            R::Anon => None,
            R::Stranger => Some(stranger.clone()),
            R::Guest => Some(guest.clone()),
            R::Staff => Some(s.staff.clone()),
            R::Owner => Some(s.owner.clone()),
            R::Kam => Some(kam.clone()),
            R::Admin => Some(admin.clone()),
        }
    };
    let id_of = |r: &crate::harness::TestResponse| -> String {
        r.assert_status(if r.status == StatusCode::OK {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        });
        r.data()["id"].as_str().unwrap().to_string()
    };

    // The guest's things, and spare targets for the destructive calls.
    let v = s.id.clone();
    let menu = format!("/api/venues/{v}/menu");
    let category = id_of(
        &app.post(
            &format!("{menu}/categories"),
            json!({"name": "Extra"}),
            Some(&s.owner),
        )
        .await,
    );
    let doomed_category = id_of(
        &app.post(
            &format!("{menu}/categories"),
            json!({"name": "Doomed"}),
            Some(&s.owner),
        )
        .await,
    );
    let doomed_item = id_of(
        &app.post(
            &format!("{menu}/items"),
            json!({"category_id": category, "name": "Doomed", "price": "1.00"}),
            Some(&s.owner),
        )
        .await,
    );
    let order_body = json!({"venue_id": v, "order_type": "TAKEOUT", "items": [{"menu_item_id": s.gyoza, "quantity": 1}]});
    let order = id_of(
        &app.post("/api/orders", order_body.clone(), Some(&guest))
            .await,
    );
    let doomed_order = id_of(
        &app.post("/api/orders", order_body.clone(), Some(&guest))
            .await,
    );
    // The kitchen: a station to change, one to delete, and a confirmed order's ticket line.
    let flour = id_of(
        &app.post(
            &format!("/api/venues/{v}/ingredients"),
            json!({"name": "Walk Flour", "unit": "g", "unit_cost": "0.001"}),
            Some(&s.owner),
        )
        .await,
    );
    // A transfer's destination: a venue Walk Inn's owner manages too, with the same ingredient.
    app.post(
        &format!("/api/restaurants/{}/members", spare_venue.id),
        json!({"email": "owner@walk-inn.example", "role": "manager"}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::CREATED);
    app.post(
        &format!("/api/venues/{}/ingredients", spare_venue.id),
        json!({"name": "Walk Flour", "unit": "g"}),
        Some(&spare_venue.owner),
    )
    .await
    .assert_status(StatusCode::CREATED);
    // Purchasing: a supplier, one to delete, a draft to change and send, a sent order to receive.
    let supplier = id_of(
        &app.post(
            &format!("/api/venues/{v}/suppliers"),
            json!({"name": "Walk Mill", "email": "mill@walk.example"}),
            Some(&s.owner),
        )
        .await,
    );
    let doomed_supplier = id_of(
        &app.post(
            &format!("/api/venues/{v}/suppliers"),
            json!({"name": "Doomed Mill"}),
            Some(&s.owner),
        )
        .await,
    );
    let po_body = json!({"supplier_id": supplier, "lines": [{"ingredient_id": flour, "quantity": "1000000"}]});
    let po = id_of(
        &app.post(
            &format!("/api/venues/{v}/purchase-orders"),
            po_body.clone(),
            Some(&s.owner),
        )
        .await,
    );
    let po_sent = id_of(
        &app.post(
            &format!("/api/venues/{v}/purchase-orders"),
            po_body.clone(),
            Some(&s.owner),
        )
        .await,
    );
    let po_sent_view = app
        .post(
            &format!("/api/venues/{v}/purchase-orders/{po_sent}/send"),
            json!({}),
            Some(&s.owner),
        )
        .await;
    let po_line = po_sent_view.data()["lines"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let station = id_of(
        &app.post(
            &format!("/api/venues/{v}/stations"),
            json!({"name": "Walk Grill", "is_default": true}),
            Some(&s.owner),
        )
        .await,
    );
    let doomed_station = id_of(
        &app.post(
            &format!("/api/venues/{v}/stations"),
            json!({"name": "Doomed Fry"}),
            Some(&s.owner),
        )
        .await,
    );
    let kitchen_order = id_of(
        &app.post("/api/orders", order_body.clone(), Some(&guest))
            .await,
    );
    app.put(
        &format!("/api/orders/{kitchen_order}/status"),
        json!({"status": "CONFIRMED"}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::OK);
    let ticket_line = app
        .get(&format!("/api/venues/{v}/kitchen/tickets"), Some(&s.staff))
        .await
        .data()[0]["lines"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let slot_body = json!({"weekday": "TUE", "start_time": "19:00", "end_time": "22:00", "interval_minutes": 30, "max_reservations": 50});
    let slot = id_of(
        &app.post(
            &format!("/api/venues/{v}/time-slots"),
            slot_body.clone(),
            Some(&s.owner),
        )
        .await,
    );
    let doomed_slot = id_of(
        &app.post(
            &format!("/api/venues/{v}/time-slots"),
            json!({"weekday": "WED", "start_time": "12:00", "end_time": "14:00", "max_reservations": 5}),
            Some(&s.owner),
        )
        .await,
    );
    let booking = json!({"date": "2026-06-16", "time": "19:00", "party_size": 2});
    let reservation = id_of(
        &app.post(
            &format!("/api/venues/{v}/reservations"),
            booking.clone(),
            Some(&guest),
        )
        .await,
    );
    let doomed_reservation = id_of(
        &app.post(
            &format!("/api/venues/{v}/reservations"),
            booking.clone(),
            Some(&guest),
        )
        .await,
    );
    let stocked = id_of(
        &app.post("/api/stocked-venues", json!({"venue_id": v}), Some(&guest))
            .await,
    );
    let doomed_stocked = id_of(
        &app.post(
            "/api/stocked-venues",
            json!({"venue_id": spare_venue.id}),
            Some(&guest),
        )
        .await,
    );
    let qr = app
        .post(
            &format!("/api/venues/{v}/generate-qr"),
            json!({"table": "T1"}),
            Some(&s.owner),
        )
        .await;
    let code = qr.data()["code"].as_str().unwrap().to_string();
    let qr = id_of(&qr);
    let doomed_qr = id_of(
        &app.post(
            &format!("/api/venues/{v}/generate-qr"),
            json!({"table": "T2"}),
            Some(&s.owner),
        )
        .await,
    );
    let key = app
        .post(
            "/api/auth/api-keys",
            json!({"name": "walk", "scopes": ["orders:read"]}),
            Some(&guest),
        )
        .await;
    let key = key.data()["key"]["id"].as_str().unwrap().to_string();
    let notes = app.get("/api/notifications", Some(&guest)).await;
    let note = notes.data()["items"][0]["id"].as_str().unwrap().to_string();
    let doomed_note = notes.data()["items"][1]["id"].as_str().unwrap().to_string();

    let report = app
        .post("/api/monitoring/reports", json!({}), Some(&admin))
        .await;
    let report = report.data()["report_id"].as_str().unwrap().to_string();
    const OPERATIONS: &[R] = &[R::Kam, R::Admin];
    // Forecasting: two stored versions of the venue's daily model (the second a candidate) and a closure.
    const FORECAST_READERS: &[R] = &[R::Staff, R::Owner, R::Kam, R::Admin];
    const FORECAST_TRAINERS: &[R] = &[R::Owner, R::Kam, R::Admin];
    let mut versions = Vec::new();
    for _ in 0..2 {
        let stored = brigade_app::forecasting::registry::store(
            &app.state,
            brigade_app::forecasting::registry::NewVersion {
                kind: brigade_app::forecasting::DEMAND,
                restaurant_id: Some(v.parse().unwrap()),
                series: "daily".into(),
                method: "weekday_mean".into(),
                training_from: None,
                training_to: app.state.now(),
                data_fingerprint: "walk".into(),
                features: json!({}),
                parameters: json!({}),
                metrics: json!({}),
                score: None,
                artifact: serde_json::to_string(&brigade_forecast::Model::rule_based(
                    brigade_forecast::Granularity::Daily,
                ))
                .unwrap(),
                training_ms: 0,
            },
        )
        .await
        .unwrap();
        versions.push(stored.model.id);
    }
    let (model_latest, model_candidate) = (versions[0], versions[1]);
    let doomed_closure = id_of(
        &app.post(
            &format!("/api/restaurants/{v}/closures"),
            json!({"day": "2026-07-01", "kind": "closure"}),
            Some(&admin),
        )
        .await,
    );
    const STORE_READERS: &[R] = &[R::Owner, R::Kam, R::Admin];

    // The CRM: the venue is the KAM's, with two contacts (one to delete).
    app.post(
        "/api/crm/reassignments",
        json!({"restaurant_ids": [v], "to_kam_id": kam_id}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::OK);
    let contact_body =
        json!({"name": "Walk Lead Contact", "phone": "+44 20 7946 0990", "role": "owner"});
    let crm_contact = id_of(
        &app.post(
            &format!("/api/crm/restaurants/{v}/contacts"),
            contact_body.clone(),
            Some(&admin),
        )
        .await,
    );
    let doomed_contact = id_of(
        &app.post(
            &format!("/api/crm/restaurants/{v}/contacts"),
            contact_body,
            Some(&admin),
        )
        .await,
    );

    // A channel order at the venue.
    app.put(
        &format!("/api/restaurants/{v}"),
        json!({"external_id": "walk-brand"}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::OK);
    let channel_order = json!({
        "_id": "walk-order", "created": "2026-06-10T10:00:00Z", "account": "walk-account",
        "brandId": "walk-brand", "status": 10,
        "statusHistory": [{"status": 10, "timestamp": "2026-06-10T10:00:00Z"}]
    });
    app.post("/api/channel-orders", channel_order.clone(), Some(&admin))
        .await
        .assert_status(StatusCode::CREATED);
    const CHANNEL_READERS: &[R] = &[R::Staff, R::Owner, R::Kam, R::Admin];

    use Expect::*;
    use Method as M;
    let ops = vec![
        // Accounts.
        op(M::GET, "/api/auth/api-keys", "/api/auth/api-keys".into(), Allow(SIGNED)),
        op(M::POST, "/api/auth/api-keys", "/api/auth/api-keys".into(), Allow(SIGNED))
            .json(json!({"name": "walk", "scopes": ["orders:read"]})),
        op(M::DELETE, "/api/auth/api-keys/{id}", format!("/api/auth/api-keys/{key}"), Allow(&[R::Guest, R::Admin])).once(),
        op(M::POST, "/api/auth/login", "/api/auth/login".into(), Public)
            .json(json!({"email": "guest@example.com", "password": "password-123"})),
        op(M::POST, "/api/auth/logout", "/api/auth/logout".into(), Any)
            .json(json!({"refresh_token": guest_refresh})),
        op(M::GET, "/api/auth/me", "/api/auth/me".into(), Allow(SIGNED)),
        op(M::PUT, "/api/auth/me", "/api/auth/me".into(), Allow(SIGNED)).json(json!({"first_name": "Walker"})),
        op(M::PUT, "/api/auth/me/password", "/api/auth/me/password".into(), Signed)
            // A new password too short to take: every signed-in role gets past access to the check.
            .json(json!({"current_password": "password-123", "new_password": "short"})),
        op(M::POST, "/api/auth/password-reset", "/api/auth/password-reset".into(), Public)
            .json(json!({"email": "guest@example.com"})),
        op(M::POST, "/api/auth/password-reset/confirm", "/api/auth/password-reset/confirm".into(), Any)
            .json(json!({"token": "not-a-token", "new_password": "another-password-1"})),
        op(M::POST, "/api/auth/refresh-token", "/api/auth/refresh-token".into(), Any)
            .json(json!({"refresh_token": "not-a-token"})),
        op(M::POST, "/api/auth/guest", "/api/auth/guest".into(), Public)
            .json(json!({"name": "Walk-in", "phone": "+44 7700 900999"})),
        op(M::POST, "/api/auth/register", "/api/auth/register".into(), Public)
            .json(json!({"email": "walk.new@example.com", "password": "password-123", "first_name": "W", "last_name": "N"})),
        op(M::GET, "/api/users", "/api/users".into(), Allow(ADMIN)),
        op(M::POST, "/api/users", "/api/users".into(), Allow(ADMIN))
            .json(json!({"email": "made.kam@example.com", "password": "password-123", "first_name": "M", "last_name": "K", "role": "kam"})),
        op(M::GET, "/api/users/{id}", format!("/api/users/{guest_id}"), Allow(&[R::Guest, R::Admin])),
        op(M::PUT, "/api/users/{id}", format!("/api/users/{guest_id}"), Allow(ADMIN)).json(json!({"first_name": "Guest"})),
        // Restaurants.
        op(M::GET, "/api/restaurants", "/api/restaurants".into(), Allow(SIGNED)),
        op(M::POST, "/api/restaurants", "/api/restaurants".into(), Allow(ADMIN))
            .json(json!({"name": "Walk-made", "timezone": "UTC"})),
        op(M::GET, "/api/restaurants/{id}", format!("/api/restaurants/{v}"), Allow(&[R::Staff, R::Owner, R::Kam, R::Admin])),
        op(M::PUT, "/api/restaurants/{id}", format!("/api/restaurants/{v}"), Allow(VENUE_MANAGERS))
            .json(json!({"description": "walked"})),
        op(M::GET, "/api/restaurants/{id}/hours", format!("/api/restaurants/{v}/hours"), Allow(&[R::Staff, R::Owner, R::Kam, R::Admin])),
        op(M::PUT, "/api/restaurants/{id}/hours", format!("/api/restaurants/{v}/hours"), Allow(VENUE_MANAGERS))
            .json(json!({"hours": []})),
        op(M::GET, "/api/restaurants/{id}/members", format!("/api/restaurants/{v}/members"), Allow(&[R::Staff, R::Owner, R::Kam, R::Admin])),
        op(M::POST, "/api/restaurants/{id}/members", format!("/api/restaurants/{v}/members"), Allow(VENUE_MANAGERS))
            .json(json!({"email": "spare@example.com", "role": "staff"})),
        op(M::DELETE, "/api/restaurants/{id}/members/{user_id}", format!("/api/restaurants/{v}/members/{spare_id}"), Allow(VENUE_MANAGERS)).once(),
        // Venues, logos, QR codes, saved venues.
        op(M::GET, "/api/venues", "/api/venues".into(), Public),
        op(M::POST, "/api/venues", "/api/venues".into(), Allow(ADMIN)).json(json!({"name": "Walk Venue", "timezone": "UTC"})),
        op(M::GET, "/api/venues/{id}", format!("/api/venues/{v}"), Public),
        op(M::PUT, "/api/venues/{id}", format!("/api/venues/{v}"), Allow(VENUE_MANAGERS)).json(json!({"description": "walked"})),
        Op { payload: Payload::Png, ..op(M::POST, "/api/venues/{id}/logo", format!("/api/venues/{v}/logo"), Allow(VENUE_MANAGERS)) },
        op(M::GET, "/api/venues/qr/{code}", format!("/api/venues/qr/{code}"), Public),
        op(M::POST, "/api/venues/{venue_id}/generate-qr", format!("/api/venues/{v}/generate-qr"), Allow(VENUE_MANAGERS))
            .json(json!({"table": "W9"})),
        op(M::GET, "/api/venues/{venue_id}/qr-codes", format!("/api/venues/{v}/qr-codes"), Allow(VENUE_STAFF)),
        op(M::GET, "/api/venues/{venue_id}/qr-codes/{id}/image", format!("/api/venues/{v}/qr-codes/{qr}/image?format=svg"), Allow(VENUE_STAFF)),
        op(M::POST, "/api/venues/{venue_id}/qr-codes/{id}/revoke", format!("/api/venues/{v}/qr-codes/{doomed_qr}/revoke"), Allow(VENUE_MANAGERS)),
        op(M::POST, "/api/venues/{venue_id}/qr-codes/{id}/regenerate", format!("/api/venues/{v}/qr-codes/{doomed_qr}/regenerate"), Allow(VENUE_MANAGERS)),
        op(M::POST, "/api/venues/{venue_id}/share-qr", format!("/api/venues/{v}/share-qr"), Allow(VENUE_STAFF)),
        op(M::GET, "/api/stocked-venues", "/api/stocked-venues".into(), Allow(SIGNED)),
        op(M::POST, "/api/stocked-venues", "/api/stocked-venues".into(), Allow(SIGNED)).json(json!({"venue_id": v})),
        op(M::PUT, "/api/stocked-venues/{id}/favorite", format!("/api/stocked-venues/{stocked}/favorite"), Allow(GUEST)),
        op(M::DELETE, "/api/stocked-venues/{id}", format!("/api/stocked-venues/{doomed_stocked}"), Allow(GUEST)).once(),
        // Menus.
        op(M::GET, "/api/venues/{venue_id}/menu", menu.clone(), Public),
        op(M::GET, "/api/venues/{venue_id}/menu/categories", format!("{menu}/categories"), Public),
        op(M::POST, "/api/venues/{venue_id}/menu/categories", format!("{menu}/categories"), Allow(VENUE_MANAGERS))
            .json(json!({"name": "Walked"})),
        op(M::GET, "/api/venues/{venue_id}/menu/categories/{id}", format!("{menu}/categories/{category}"), Public),
        op(M::PUT, "/api/venues/{venue_id}/menu/categories/{id}", format!("{menu}/categories/{category}"), Allow(VENUE_MANAGERS))
            .json(json!({"display_order": 3})),
        op(M::DELETE, "/api/venues/{venue_id}/menu/categories/{id}", format!("{menu}/categories/{doomed_category}"), Allow(VENUE_MANAGERS)).once(),
        op(M::GET, "/api/venues/{venue_id}/menu/items", format!("{menu}/items"), Public),
        op(M::POST, "/api/venues/{venue_id}/menu/items", format!("{menu}/items"), Allow(VENUE_MANAGERS))
            .json(json!({"category_id": category, "name": "Walked", "price": "2.00"})),
        op(M::GET, "/api/venues/{venue_id}/menu/items/{id}", format!("{menu}/items/{}", s.ramen), Public),
        op(M::PUT, "/api/venues/{venue_id}/menu/items/{id}", format!("{menu}/items/{}", s.ramen), Allow(VENUE_STAFF))
            .json(json!({"is_available": true})),
        op(M::POST, "/api/venues/{venue_id}/menu/items/{id}/eighty-six", format!("{menu}/items/{}/eighty-six", s.ramen), Allow(VENUE_STAFF))
            .json(json!({"until_tomorrow": false})),
        op(M::PUT, "/api/venues/{venue_id}/menu/order", format!("{menu}/order"), Allow(VENUE_MANAGERS))
            .json(json!({"category_ids": [category]})),
        Op { payload: Payload::Png, ..op(M::POST, "/api/venues/{venue_id}/menu/items/{id}/image", format!("{menu}/items/{}/image", s.gyoza), Allow(VENUE_MANAGERS)) },
        op(M::DELETE, "/api/venues/{venue_id}/menu/items/{id}", format!("{menu}/items/{doomed_item}"), Allow(VENUE_MANAGERS)).once(),
        // Orders and payments.
        op(M::GET, "/api/orders", "/api/orders".into(), Allow(SIGNED)),
        op(M::POST, "/api/orders", "/api/orders".into(), Allow(SIGNED)).json(order_body.clone()),
        op(M::GET, "/api/orders/{id}", format!("/api/orders/{order}"), Allow(VENUE_READERS)),
        op(M::GET, "/api/orders/{id}/events", format!("/api/orders/{order}/events"), Allow(VENUE_READERS)),
        op(M::GET, "/api/orders/{id}/stream", format!("/api/orders/{order}/stream"), Allow(VENUE_READERS)).stream(),
        op(M::POST, "/api/orders/{id}/pay", format!("/api/orders/{order}/pay"), Allow(VENUE_READERS)),
        op(M::PUT, "/api/orders/{id}/payment", format!("/api/orders/{order}/payment"), Allow(VENUE_STAFF))
            .json(json!({"status": "PAID"})),
        op(M::PUT, "/api/orders/{id}/status", format!("/api/orders/{order}/status"), Allow(VENUE_READERS))
            .json(json!({"status": "CONFIRMED"})),
        op(M::DELETE, "/api/orders/{id}", format!("/api/orders/{doomed_order}"), Allow(VENUE_READERS)).once(),
        // The kitchen.
        op(M::GET, "/api/venues/{venue_id}/stations", format!("/api/venues/{v}/stations"), Allow(VENUE_STAFF)),
        op(M::POST, "/api/venues/{venue_id}/stations", format!("/api/venues/{v}/stations"), Allow(VENUE_MANAGERS))
            .json(json!({"name": "Walked", "kind": "bar"})),
        op(M::PUT, "/api/venues/{venue_id}/stations/{id}", format!("/api/venues/{v}/stations/{station}"), Allow(VENUE_MANAGERS))
            .json(json!({"target_minutes": 10})),
        op(M::DELETE, "/api/venues/{venue_id}/stations/{id}", format!("/api/venues/{v}/stations/{doomed_station}"), Allow(VENUE_MANAGERS)).once(),
        op(M::GET, "/api/venues/{venue_id}/station-routes", format!("/api/venues/{v}/station-routes"), Allow(VENUE_STAFF)),
        op(M::PUT, "/api/venues/{venue_id}/station-routes", format!("/api/venues/{v}/station-routes"), Allow(VENUE_MANAGERS))
            .json(json!({"menu_item_id": s.gyoza, "station_id": station})),
        op(M::GET, "/api/venues/{venue_id}/kitchen/tickets", format!("/api/venues/{v}/kitchen/tickets"), Allow(VENUE_STAFF)),
        op(M::GET, "/api/venues/{venue_id}/kitchen/stream", format!("/api/venues/{v}/kitchen/stream"), Allow(VENUE_STAFF)).stream(),
        op(M::POST, "/api/kitchen/lines/{id}/start", format!("/api/kitchen/lines/{ticket_line}/start"), Allow(VENUE_STAFF)),
        op(M::POST, "/api/kitchen/lines/{id}/bump", format!("/api/kitchen/lines/{ticket_line}/bump"), Allow(VENUE_STAFF)),
        op(M::POST, "/api/venues/{venue_id}/stations/{id}/recall-last", format!("/api/venues/{v}/stations/{station}/recall-last"), Allow(VENUE_STAFF)).once(),
        op(M::POST, "/api/kitchen/lines/{id}/recall", format!("/api/kitchen/lines/{ticket_line}/recall"), Allow(VENUE_STAFF)),
        op(M::POST, "/api/kitchen/lines/{id}/void", format!("/api/kitchen/lines/{ticket_line}/void"), Allow(VENUE_STAFF))
            .json(json!({"reason": "walked"})),
        op(M::POST, "/api/payments/webhook", "/api/payments/webhook".into(), Any)
            .json(json!({"reference": "pay_x", "status": "succeeded", "amount": "1.00", "currency": "GBP"})),
        // Reservations.
        op(M::GET, "/api/venues/{venue_id}/time-slots", format!("/api/venues/{v}/time-slots?date=2026-06-16"), Public),
        op(M::GET, "/api/venues/{venue_id}/time-slots/weekly", format!("/api/venues/{v}/time-slots/weekly"), Public),
        op(M::POST, "/api/venues/{venue_id}/time-slots", format!("/api/venues/{v}/time-slots"), Allow(VENUE_MANAGERS))
            .json(slot_body.clone()),
        op(M::PUT, "/api/venues/{venue_id}/time-slots/{id}", format!("/api/venues/{v}/time-slots/{slot}"), Allow(VENUE_MANAGERS))
            .json(json!({"max_reservations": 60})),
        op(M::DELETE, "/api/venues/{venue_id}/time-slots/{id}", format!("/api/venues/{v}/time-slots/{doomed_slot}"), Allow(VENUE_MANAGERS)).once(),
        op(M::GET, "/api/venues/{venue_id}/reservations", format!("/api/venues/{v}/reservations"), Allow(SIGNED)),
        op(M::POST, "/api/venues/{venue_id}/reservations", format!("/api/venues/{v}/reservations"), Allow(SIGNED))
            .json(booking.clone()),
        op(M::GET, "/api/reservations", "/api/reservations".into(), Allow(SIGNED)),
        op(M::GET, "/api/reservations/{id}", format!("/api/reservations/{reservation}"), Allow(VENUE_READERS)),
        op(M::PUT, "/api/reservations/{id}", format!("/api/reservations/{reservation}"), Allow(VENUE_READERS))
            .json(json!({"note": "walked"})),
        op(M::DELETE, "/api/reservations/{id}", format!("/api/reservations/{doomed_reservation}"), Allow(VENUE_READERS)).once(),
        // Notifications.
        op(M::GET, "/api/notifications", "/api/notifications".into(), Allow(SIGNED)),
        op(M::GET, "/api/notifications/stream", "/api/notifications/stream".into(), Allow(SIGNED)).stream(),
        op(M::PUT, "/api/notifications/{id}/read", format!("/api/notifications/{note}/read"), Allow(GUEST)).json(json!({})),
        op(M::PUT, "/api/notifications/read-all", "/api/notifications/read-all".into(), Allow(SIGNED)).json(json!({})),
        op(M::DELETE, "/api/notifications/{id}", format!("/api/notifications/{doomed_note}"), Allow(GUEST)).once(),
        // Store monitoring.
        op(M::POST, "/api/monitoring/polls", "/api/monitoring/polls".into(), Allow(OPERATIONS))
            .json(json!({"polls": [{"store_id": "walk-store", "timestamp_utc": "2026-06-10 10:00:00 UTC", "status": "active"}]})),
        op(M::GET, "/api/monitoring/reports", "/api/monitoring/reports".into(), Allow(OPERATIONS)),
        op(M::POST, "/api/monitoring/reports", "/api/monitoring/reports".into(), Allow(OPERATIONS)).json(json!({})),
        op(M::GET, "/api/monitoring/reports/{id}", format!("/api/monitoring/reports/{report}"), Allow(OPERATIONS)),
        op(M::GET, "/api/monitoring/reports/{id}/csv", format!("/api/monitoring/reports/{report}/csv"), Allow(OPERATIONS)),
        op(M::GET, "/trigger_report", "/trigger_report".into(), Allow(OPERATIONS)),
        op(M::GET, "/get_report", format!("/get_report?report_id={report}"), Allow(OPERATIONS)),
        op(M::GET, "/api/monitoring/stores/{restaurant_id}/incidents", format!("/api/monitoring/stores/{v}/incidents"), Allow(STORE_READERS)),
        op(M::GET, "/api/monitoring/stores/{restaurant_id}/uptime", format!("/api/monitoring/stores/{v}/uptime"), Allow(STORE_READERS)),
        // Channel orders and analytics.
        op(M::POST, "/api/channel-orders", "/api/channel-orders".into(), Allow(OPERATIONS)).json(channel_order),
        op(M::GET, "/api/channel-orders/status-codes", "/api/channel-orders/status-codes".into(), Allow(OPERATIONS)),
        op(M::PUT, "/api/channel-orders/status-codes", "/api/channel-orders/status-codes".into(), Allow(ADMIN))
            .json(json!({"codes": [{"code": 10, "label": "new", "state": "PENDING"}, {"code": 20, "label": "accepted", "state": "CONFIRMED"}]})),
        op(M::GET, "/api/channel-orders/{id}", "/api/channel-orders/walk-order".into(), Allow(CHANNEL_READERS)),
        op(M::POST, "/api/channel-orders/{id}/status", "/api/channel-orders/walk-order/status".into(), Allow(OPERATIONS))
            .json(json!({"status": 20, "timestamp": "2026-06-10T10:05:00Z"})),
        op(M::PUT, "/api/channel-accounts/{account}", "/api/channel-accounts/walk-account".into(), Allow(ADMIN))
            .json(json!({"signing_secret": null})),
        op(M::GET, "/api/analytics/time-in-status", format!("/api/analytics/time-in-status?restaurant_id={v}"), Allow(STORE_READERS)),
        op(M::GET, "/api/analytics/throughput", format!("/api/analytics/throughput?restaurant_id={v}"), Allow(STORE_READERS)),
        op(M::GET, "/api/analytics/customers", format!("/api/analytics/customers?restaurant_id={v}"), Allow(STORE_READERS)),
        op(M::POST, "/api/analytics/rollups", "/api/analytics/rollups".into(), Allow(OPERATIONS)).json(json!({})),
        // The CRM: the walk's venue is the KAM's restaurant.
        op(M::GET, "/api/crm/kams", "/api/crm/kams".into(), Allow(ADMIN)),
        op(M::GET, "/api/crm/me", "/api/crm/me".into(), Allow(&[R::Kam])),
        op(M::GET, "/api/crm/kams/{id}", format!("/api/crm/kams/{kam_id}"), Allow(OPERATIONS)),
        op(M::PUT, "/api/crm/kams/{id}", format!("/api/crm/kams/{kam_id}"), Allow(OPERATIONS)).json(json!({"region": "Walk"})),
        op(M::GET, "/api/crm/restaurants", "/api/crm/restaurants".into(), Allow(OPERATIONS)),
        op(M::POST, "/api/crm/leads", "/api/crm/leads".into(), Allow(OPERATIONS)).json(json!({"name": "Walk Lead", "timezone": "UTC"})),
        op(M::GET, "/api/crm/restaurants/{id}", format!("/api/crm/restaurants/{v}"), Allow(OPERATIONS)),
        op(M::PUT, "/api/crm/restaurants/{id}/status", format!("/api/crm/restaurants/{v}/status"), Allow(OPERATIONS)).json(json!({"status": "active"})),
        op(M::GET, "/api/crm/restaurants/{id}/status-history", format!("/api/crm/restaurants/{v}/status-history"), Allow(OPERATIONS)),
        op(M::PUT, "/api/crm/restaurants/{id}/call-plan", format!("/api/crm/restaurants/{v}/call-plan"), Allow(OPERATIONS)).json(json!({"call_frequency_days": 5})),
        op(M::GET, "/api/crm/restaurants/{id}/contacts", format!("/api/crm/restaurants/{v}/contacts"), Allow(OPERATIONS)),
        op(M::POST, "/api/crm/restaurants/{id}/contacts", format!("/api/crm/restaurants/{v}/contacts"), Allow(OPERATIONS))
            .json(json!({"name": "Walk Contact", "phone": "+44 20 7946 0999", "role": "staff"})),
        op(M::PUT, "/api/crm/contacts/{id}", format!("/api/crm/contacts/{crm_contact}"), Allow(OPERATIONS)).json(json!({"role": "manager"})),
        op(M::DELETE, "/api/crm/contacts/{id}", format!("/api/crm/contacts/{doomed_contact}"), Allow(OPERATIONS)).once(),
        op(M::GET, "/api/crm/restaurants/{id}/interactions", format!("/api/crm/restaurants/{v}/interactions"), Allow(OPERATIONS)),
        op(M::POST, "/api/crm/restaurants/{id}/interactions", format!("/api/crm/restaurants/{v}/interactions"), Allow(OPERATIONS))
            .json(json!({"kind": "call", "outcome": "positive"})),
        op(M::GET, "/api/crm/restaurants/{id}/assignments", format!("/api/crm/restaurants/{v}/assignments"), Allow(OPERATIONS)),
        op(M::GET, "/api/crm/restaurants/{id}/performance", format!("/api/crm/restaurants/{v}/performance"), Allow(OPERATIONS)),
        op(M::GET, "/api/crm/restaurants/{id}/orders", format!("/api/crm/restaurants/{v}/orders"), Allow(OPERATIONS)),
        op(M::POST, "/api/crm/reassignments", "/api/crm/reassignments".into(), Allow(ADMIN))
            .json(json!({"restaurant_ids": [v], "to_kam_id": kam_id, "note": "walk"})),
        op(M::GET, "/api/crm/calls/today", format!("/api/crm/calls/today?kam_id={kam_id}"), Allow(OPERATIONS)),
        op(M::GET, "/api/crm/performance", "/api/crm/performance".into(), Allow(OPERATIONS)),
        op(M::POST, "/api/crm/import/leads", "/api/crm/import/leads".into(), Allow(OPERATIONS))
            .csv("name,timezone\nWalk Import,UTC\n"),
        op(M::POST, "/api/crm/import/contacts", "/api/crm/import/contacts".into(), Allow(OPERATIONS))
            .csv("restaurant,name,phone,role\nwalk-brand,Walk Import,+44 20 7946 0998,staff\n"),
        // Forecasting.
        op(M::POST, "/api/predictions/demand", "/api/predictions/demand".into(), Allow(FORECAST_READERS))
            .json(json!({"restaurant_id": v, "granularity": "daily", "horizon": 3})),
        op(M::POST, "/api/predictions/demand/peak-hours", "/api/predictions/demand/peak-hours".into(), Allow(FORECAST_READERS))
            .json(json!({"restaurant_id": v})),
        op(M::POST, "/api/predictions/customer", "/api/predictions/customer".into(), Allow(FORECAST_READERS))
            .json(json!({"customer_id": guest_id})),
        op(M::GET, "/api/predictions/customers", format!("/api/predictions/customers?restaurant_id={v}&segment=at_risk"), Allow(FORECAST_READERS)),
        op(M::POST, "/api/predictions/kitchen/prep-time", "/api/predictions/kitchen/prep-time".into(), Allow(FORECAST_READERS))
            .json(json!({"station_id": station, "menu_item_id": s.gyoza})),
        op(M::GET, "/api/predictions/kitchen/bottlenecks", format!("/api/predictions/kitchen/bottlenecks?restaurant_id={v}&hours=3"), Allow(FORECAST_READERS)),
        // Inventory.
        op(M::GET, "/api/venues/{venue_id}/ingredients", format!("/api/venues/{v}/ingredients"), Allow(VENUE_STAFF)),
        op(M::POST, "/api/venues/{venue_id}/ingredients", format!("/api/venues/{v}/ingredients"), Allow(VENUE_MANAGERS))
            .json(json!({"name": "Walk Salt", "unit": "g"})),
        op(M::GET, "/api/venues/{venue_id}/ingredients/{id}", format!("/api/venues/{v}/ingredients/{flour}"), Allow(VENUE_STAFF)),
        op(M::PUT, "/api/venues/{venue_id}/ingredients/{id}", format!("/api/venues/{v}/ingredients/{flour}"), Allow(VENUE_MANAGERS))
            .json(json!({"par_level": "500"})),
        op(M::POST, "/api/venues/{venue_id}/ingredients/{id}/receipts", format!("/api/venues/{v}/ingredients/{flour}/receipts"), Allow(VENUE_STAFF))
            .json(json!({"quantity": "1000", "unit_cost": "0.001"})),
        op(M::POST, "/api/venues/{venue_id}/ingredients/{id}/counts", format!("/api/venues/{v}/ingredients/{flour}/counts"), Allow(VENUE_STAFF))
            .json(json!({"counted": "900"})),
        op(M::POST, "/api/venues/{venue_id}/ingredients/{id}/waste", format!("/api/venues/{v}/ingredients/{flour}/waste"), Allow(VENUE_STAFF))
            .json(json!({"quantity": "10", "reason": "dropped"})),
        op(M::GET, "/api/venues/{venue_id}/ingredients/{id}/movements", format!("/api/venues/{v}/ingredients/{flour}/movements"), Allow(VENUE_STAFF)),
        op(M::GET, "/api/venues/{venue_id}/menu/items/{id}/recipe", format!("/api/venues/{v}/menu/items/{}/recipe", s.gyoza), Allow(VENUE_STAFF)),
        op(M::PUT, "/api/venues/{venue_id}/menu/items/{id}/recipe", format!("/api/venues/{v}/menu/items/{}/recipe", s.gyoza), Allow(VENUE_MANAGERS))
            .json(json!({"lines": [{"ingredient_id": flour, "quantity": "50"}]})),
        op(M::POST, "/api/venues/{venue_id}/ingredients/{id}/transfers", format!("/api/venues/{v}/ingredients/{flour}/transfers"), Allow(VENUE_MANAGERS))
            .json(json!({"to_venue_id": spare_venue.id, "quantity": "1"})),
        op(M::GET, "/api/venues/{venue_id}/ingredients/export", format!("/api/venues/{v}/ingredients/export"), Allow(VENUE_STAFF)),
        op(M::GET, "/api/venues/{venue_id}/ingredients/{id}/usage", format!("/api/venues/{v}/ingredients/{flour}/usage"), Allow(VENUE_STAFF)),
        op(M::POST, "/api/venues/{venue_id}/ingredients/import", format!("/api/venues/{v}/ingredients/import"), Allow(VENUE_MANAGERS))
            .csv("name,unit\nWalk Pepper,g\n"),
        op(M::GET, "/api/venues/{venue_id}/recipes/export", format!("/api/venues/{v}/recipes/export"), Allow(VENUE_STAFF)),
        op(M::POST, "/api/venues/{venue_id}/recipes/import", format!("/api/venues/{v}/recipes/import"), Allow(VENUE_MANAGERS))
            .csv("recipe,ingredient,quantity\nGyoza,Walk Flour,50\n"),
        op(M::GET, "/api/venues/{venue_id}/counts/sheet", format!("/api/venues/{v}/counts/sheet"), Allow(VENUE_STAFF)),
        op(M::POST, "/api/venues/{venue_id}/counts/import", format!("/api/venues/{v}/counts/import"), Allow(VENUE_STAFF))
            .csv("ingredient,counted\nWalk Flour,900\n"),
        op(M::POST, "/api/venues/{venue_id}/stocktakes", format!("/api/venues/{v}/stocktakes"), Allow(VENUE_STAFF))
            .json(json!({"lines": [{"ingredient_id": flour, "counted": "900"}]})),
        op(M::GET, "/api/venues/{venue_id}/movements", format!("/api/venues/{v}/movements?kind=waste"), Allow(VENUE_STAFF)),
        op(M::GET, "/api/venues/{venue_id}/waste/summary", format!("/api/venues/{v}/waste/summary"), Allow(VENUE_STAFF)),
        op(M::GET, "/api/venues/{venue_id}/stock-settings", format!("/api/venues/{v}/stock-settings"), Allow(VENUE_STAFF)),
        op(M::PUT, "/api/venues/{venue_id}/stock-settings", format!("/api/venues/{v}/stock-settings"), Allow(VENUE_MANAGERS))
            .json(json!({"waste_cancelled_cooking": false})),
        op(M::GET, "/api/venues/{venue_id}/ingredients/{id}/recipe", format!("/api/venues/{v}/ingredients/{flour}/recipe"), Allow(VENUE_STAFF)),
        op(M::PUT, "/api/venues/{venue_id}/ingredients/{id}/recipe", format!("/api/venues/{v}/ingredients/{flour}/recipe"), Allow(VENUE_MANAGERS))
            .json(json!({"yield_quantity": "100", "lines": []})),
        op(M::POST, "/api/venues/{venue_id}/ingredients/{id}/production", format!("/api/venues/{v}/ingredients/{flour}/production"), Allow(VENUE_STAFF))
            .json(json!({})),
        op(M::GET, "/api/venues/{venue_id}/suppliers", format!("/api/venues/{v}/suppliers"), Allow(VENUE_STAFF)),
        op(M::POST, "/api/venues/{venue_id}/suppliers", format!("/api/venues/{v}/suppliers"), Allow(VENUE_MANAGERS))
            .json(json!({"name": "Walk Dairy"})),
        op(M::GET, "/api/venues/{venue_id}/suppliers/{id}", format!("/api/venues/{v}/suppliers/{supplier}"), Allow(VENUE_STAFF)),
        op(M::PUT, "/api/venues/{venue_id}/suppliers/{id}", format!("/api/venues/{v}/suppliers/{supplier}"), Allow(VENUE_MANAGERS))
            .json(json!({"lead_time_days": 3})),
        op(M::DELETE, "/api/venues/{venue_id}/suppliers/{id}", format!("/api/venues/{v}/suppliers/{doomed_supplier}"), Allow(VENUE_MANAGERS)).once(),
        op(M::GET, "/api/venues/{venue_id}/purchase-orders", format!("/api/venues/{v}/purchase-orders"), Allow(VENUE_STAFF)),
        op(M::POST, "/api/venues/{venue_id}/purchase-orders", format!("/api/venues/{v}/purchase-orders"), Allow(VENUE_MANAGERS))
            .json(po_body.clone()),
        op(M::GET, "/api/venues/{venue_id}/purchase-orders/{id}", format!("/api/venues/{v}/purchase-orders/{po}"), Allow(VENUE_STAFF)),
        op(M::PUT, "/api/venues/{venue_id}/purchase-orders/{id}", format!("/api/venues/{v}/purchase-orders/{po}"), Allow(VENUE_MANAGERS))
            .json(json!({"note": "walked"})),
        op(M::POST, "/api/venues/{venue_id}/purchase-orders/{id}/send", format!("/api/venues/{v}/purchase-orders/{po}/send"), Allow(VENUE_MANAGERS))
            .json(json!({})),
        op(M::POST, "/api/venues/{venue_id}/purchase-orders/{id}/receipts", format!("/api/venues/{v}/purchase-orders/{po_sent}/receipts"), Allow(VENUE_STAFF))
            .json(json!({"lines": [{"line_id": po_line, "quantity": "1"}]})),
        op(M::POST, "/api/venues/{venue_id}/purchase-orders/{id}/cancel", format!("/api/venues/{v}/purchase-orders/{po}/cancel"), Allow(VENUE_MANAGERS))
            .json(json!({})),
        op(M::POST, "/api/predictions/inventory", "/api/predictions/inventory".into(), Allow(FORECAST_READERS))
            .json(json!({"restaurant_id": v})),
        op(M::GET, "/api/predictions/inventory/reorder", format!("/api/predictions/inventory/reorder?restaurant_id={v}"), Allow(FORECAST_READERS)),
        op(M::POST, "/api/predictions/inventory/draft-orders", "/api/predictions/inventory/draft-orders".into(), Allow(VENUE_MANAGERS))
            .json(json!({"restaurant_id": v})),
        op(M::GET, "/api/predictions/kitchen/performance", format!("/api/predictions/kitchen/performance?restaurant_id={v}"), Allow(FORECAST_READERS)),
        op(M::GET, "/api/models", "/api/models".into(), Signed),
        op(M::GET, "/api/models/{id}", format!("/api/models/{model_latest}"), Allow(FORECAST_READERS)),
        op(M::POST, "/api/models/train", "/api/models/train".into(), Allow(FORECAST_TRAINERS))
            .json(json!({"restaurant_id": v})),
        op(M::POST, "/api/models/{id}/promote", format!("/api/models/{model_candidate}/promote"), Allow(FORECAST_TRAINERS)),
        op(M::POST, "/api/models/{id}/rollback", format!("/api/models/{model_latest}/rollback"), Allow(FORECAST_TRAINERS)),
        op(M::GET, "/api/restaurants/{id}/closures", format!("/api/restaurants/{v}/closures"), Allow(FORECAST_READERS)),
        op(M::POST, "/api/restaurants/{id}/closures", format!("/api/restaurants/{v}/closures"), Allow(FORECAST_TRAINERS))
            .json(json!({"day": "2026-12-25", "kind": "holiday"})),
        op(M::DELETE, "/api/restaurants/{id}/closures/{closure_id}", format!("/api/restaurants/{v}/closures/{doomed_closure}"), Allow(FORECAST_TRAINERS)).once(),
        // Deleting whole venues last.
        op(M::DELETE, "/api/venues/{id}", format!("/api/venues/{}", doomed_venue.id), Allow(ADMIN)).once(),
        op(M::DELETE, "/api/restaurants/{id}", format!("/api/restaurants/{}", spare_venue.id), Allow(ADMIN)).once(),
    ];

    // Every operation of the spec is walked.
    let (_, spec) = brigade_app::http::api();
    let mut in_spec = BTreeSet::new();
    for (path, item) in &spec.paths.paths {
        for (method, operation) in [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("DELETE", &item.delete),
            ("PATCH", &item.patch),
        ] {
            if operation.is_some() {
                in_spec.insert(format!("{method} {path}"));
            }
        }
    }
    let walked: BTreeSet<String> = ops
        .iter()
        .map(|o| format!("{} {}", o.method, o.spec))
        .collect();
    let missing: Vec<_> = in_spec.difference(&walked).collect();
    assert!(
        missing.is_empty(),
        "endpoints the walk does not cover: {missing:?}"
    );
    let unknown: Vec<_> = walked.difference(&in_spec).collect();
    assert!(
        unknown.is_empty(),
        "walked paths not in the spec: {unknown:?}"
    );

    let mut failures = Vec::new();
    for o in &ops {
        let (allowed, refused): (Vec<R>, Vec<R>) = match &o.expect {
            Allow(roles) => ROLES.iter().partition(|r| roles.contains(r)),
            Signed => ROLES.iter().partition(|r| **r != R::Anon),
            Public | Any => (ROLES.to_vec(), Vec::new()),
        };
        // Refused roles first, while every target still exists.
        let mut plan: Vec<(R, bool)> = refused.iter().map(|r| (*r, false)).collect();
        let runs = if o.once { 1 } else { allowed.len() };
        plan.extend(allowed.iter().take(runs).map(|r| (*r, true)));
        for (role, allow) in plan {
            let (status, text) = call(&app, o, token(role).as_deref()).await;
            let label = format!("{} {} as {role:?}", o.method, o.path);
            if status.is_server_error() {
                failures.push(format!("{label}: {status} {text}"));
                continue;
            }
            let refusal = matches!(
                status,
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
            );
            let ok = match (&o.expect, allow) {
                (Any, _) => true,
                (Public, _) => !matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
                (Signed, true) => {
                    !matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
                }
                (Allow(_), true) => status.is_success() || status == StatusCode::CONFLICT,
                (_, false) if role == R::Anon => status == StatusCode::UNAUTHORIZED,
                (_, false) => refusal && status != StatusCode::UNAUTHORIZED,
            };
            if !ok {
                failures.push(format!(
                    "{label}: expected {}, got {status} {}",
                    if allow { "access" } else { "a refusal" },
                    text.chars().take(200).collect::<String>()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of the calls went wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
