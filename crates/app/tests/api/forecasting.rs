//! Demand forecasts through the API: each fallback level forced in turn (no history, three days, no
//! model, a corrupt artifact, a promoted version), training as jobs, the registry's promotion and
//! rollback, closures and the cache.

use axum::http::StatusCode;
use brigade_app::entities::{forecast_models, orders};
use chrono::{Duration, TimeZone, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::TestApp;

/// A completed order of a restaurant at `at` (15.00 EUR unless told), as imported history or a
/// customer's order.
pub fn completed_order(
    restaurant: Uuid,
    at: chrono::DateTime<Utc>,
    customer: Option<Uuid>,
    source: &str,
    total_minor: i64,
) -> orders::ActiveModel {
    orders::ActiveModel {
        id: Set(Uuid::now_v7()),
        restaurant_id: Set(restaurant),
        customer_id: Set(customer),
        source: Set(source.into()),
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
        external_ref: Set(Some(format!("test:{}", Uuid::new_v4()))),
        created_at: Set(at),
        updated_at: Set(at),
    }
}

/// `days` days of completed orders before the test clock's day: a weekly pattern, none on Mondays.
async fn history(app: &TestApp, restaurant: &str, days: i64) {
    let id: Uuid = restaurant.parse().unwrap();
    let today = app.state.now().date_naive();
    let mut rows = Vec::new();
    for back in 1..=days {
        let day = today - Duration::days(back);
        let weekday = chrono::Datelike::weekday(&day).num_days_from_monday() as usize;
        let count = [0, 6, 7, 8, 10, 14, 12][weekday] + (back % 3) as usize;
        for k in 0..count {
            let at = Utc.from_utc_datetime(
                &day.and_hms_opt(11 + (k % 10) as u32, (k * 7 % 60) as u32, 0)
                    .unwrap(),
            );
            rows.push(completed_order(id, at, None, "import", 1500));
        }
    }
    for chunk in rows.chunks(500) {
        orders::Entity::insert_many(chunk.to_vec())
            .exec(&app.state.db)
            .await
            .unwrap();
    }
}

async fn predict(app: &TestApp, token: &str, restaurant: &str, body: Value) -> Value {
    let mut request = json!({"restaurant_id": restaurant, "granularity": "daily", "horizon": 14});
    for (k, v) in body.as_object().unwrap() {
        request[k] = v.clone();
    }
    let response = app
        .post("/api/predictions/demand", request, Some(token))
        .await;
    response.assert_status(StatusCode::OK);
    response.data().clone()
}

fn assert_sane(answer: &Value) {
    for p in answer["points"].as_array().unwrap() {
        let f = |k: &str| p[k].as_f64().unwrap();
        assert!(f("lower_95") >= 0.0, "{p}");
        assert!(
            f("lower_95") <= f("lower_80") && f("lower_80") <= f("predicted"),
            "{p}"
        );
        assert!(
            f("predicted") <= f("upper_80") && f("upper_80") <= f("upper_95"),
            "{p}"
        );
        if p["open"] == false {
            assert_eq!(f("upper_95"), 0.0, "closed steps forecast nothing: {p}");
        }
    }
}

#[tokio::test]
async fn each_fallback_level_answers_in_turn_and_says_so() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let none = app
        .restaurant(
            &admin,
            json!({"name": "Nothing Yet", "timezone": "Europe/Berlin"}),
        )
        .await;
    let young = app
        .restaurant(
            &admin,
            json!({"name": "Three Days Old", "timezone": "Europe/Berlin"}),
        )
        .await;
    let old = app
        .restaurant(
            &admin,
            json!({"name": "Old Hand", "timezone": "Europe/Berlin"}),
        )
        .await;
    history(&app, &young, 3).await;
    history(&app, &old, 200).await;

    // No history at all: the average of nothing.
    let answer = predict(&app, &admin, &none, json!({})).await;
    assert_eq!(answer["fallback_level"], "average");
    assert_eq!(answer["points"].as_array().unwrap().len(), 14);
    assert!(
        answer["points"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["predicted"] == 0.0)
    );
    // Three days: too little for the weekday rule, so the average of those days.
    let answer = predict(&app, &admin, &young, json!({})).await;
    assert_eq!(answer["fallback_level"], "average");
    assert!(
        answer["points"][0]["predicted"].as_f64().unwrap() > 5.0,
        "{answer}"
    );
    // Months of history but no trained model: the rule.
    let answer = predict(&app, &admin, &old, json!({})).await;
    assert_eq!(answer["fallback_level"], "rule_based");
    assert_eq!(answer["model_version"], Value::Null);
    assert_sane(&answer);

    // Training runs as jobs: one per restaurant, daily and hourly models each.
    let queued = app
        .post(
            "/api/models/train",
            json!({"restaurant_id": old}),
            Some(&admin),
        )
        .await;
    queued.assert_status(StatusCode::ACCEPTED);
    assert_eq!(queued.data()["queued"], 1);
    for result in brigade_app::jobs::run_inline(&app.state).await {
        result.unwrap();
    }
    let models = app
        .get(&format!("/api/models?restaurant_id={old}"), Some(&admin))
        .await;
    let items = models.data()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(
        items
            .iter()
            .all(|m| m["status"] == "latest" && m["version"] == 1)
    );
    let daily = items.iter().find(|m| m["series"] == "daily").unwrap();
    let metrics = &daily["metrics"];
    assert_eq!(metrics["windows"], 4);
    assert!(
        metrics["candidates"].as_array().unwrap().len() >= 4,
        "{metrics}"
    );
    let v1 = daily["id"].as_str().unwrap().to_string();

    // The latest version answers, then the cache.
    let answer = predict(&app, &admin, &old, json!({})).await;
    assert_eq!(answer["fallback_level"], "latest");
    assert_eq!(answer["model_version"], 1);
    assert_eq!(answer["cached"], false);
    assert_sane(&answer);
    // Mondays are closed in the history, and forecast near zero; other days near their pattern.
    let again = predict(&app, &admin, &old, json!({})).await;
    assert_eq!(again["cached"], true);
    assert_eq!(again["points"], answer["points"]);

    // A closure: that day forecasts zero, and the cached answers are dropped.
    let day = (app.state.now() + Duration::days(2)).date_naive();
    let closed = app
        .post(
            &format!("/api/restaurants/{old}/closures"),
            json!({"day": day, "kind": "holiday", "note": "Feast"}),
            Some(&admin),
        )
        .await;
    closed.assert_status(StatusCode::CREATED);
    app.post(
        &format!("/api/restaurants/{old}/closures"),
        json!({"day": day, "kind": "closure"}),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "already_closed");
    let answer = predict(&app, &admin, &old, json!({})).await;
    assert_eq!(answer["cached"], false);
    let point = answer["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["local"] == day.to_string())
        .unwrap();
    assert_eq!(point["open"], false);
    assert_eq!(point["predicted"], 0.0);

    // A second version on the same data does not beat the first: a candidate. Promote it by hand.
    brigade_app::forecasting::train_demand(
        &app.state,
        old.parse().unwrap(),
        brigade_forecast::Granularity::Daily,
        4,
        None,
    )
    .await
    .unwrap();
    let v2 = forecast_models::Entity::find()
        .filter(forecast_models::Column::Version.eq(2))
        .filter(forecast_models::Column::Series.eq("daily"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v2.status, "candidate");
    let promoted = app
        .post(
            &format!("/api/models/{}/promote", v2.id),
            json!({}),
            Some(&admin),
        )
        .await;
    promoted.assert_status(StatusCode::OK);
    assert_eq!(promoted.data()["status"], "latest");
    let answer = predict(&app, &admin, &old, json!({})).await;
    assert_eq!(
        (
            answer["fallback_level"].as_str(),
            answer["model_version"].as_i64()
        ),
        (Some("latest"), Some(2))
    );

    // A corrupt artifact: the previous version answers.
    forecast_models::Entity::update_many()
        .col_expr(
            forecast_models::Column::Artifact,
            Expr::value("{not a model"),
        )
        .filter(forecast_models::Column::Id.eq(v2.id))
        .exec(&app.state.db)
        .await
        .unwrap();
    let answer = predict(&app, &admin, &old, json!({"horizon": 13})).await;
    assert_eq!(answer["fallback_level"], "previous");
    assert_eq!(answer["model_version"], 1);
    let metrics = app.state.metrics.render();
    assert!(
        metrics.contains("brigade_forecast_fallbacks_total"),
        "failed levels are counted"
    );

    // Roll back: version 1 is the latest again.
    let back = app
        .post(
            &format!("/api/models/{}/rollback", v2.id),
            json!({}),
            Some(&admin),
        )
        .await;
    back.assert_status(StatusCode::OK);
    assert_eq!(back.data()["id"], v1.as_str());
    assert_eq!(back.data()["status"], "latest");
    app.post(
        &format!("/api/models/{}/rollback", v2.id),
        json!({}),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "not_latest");
    let answer = predict(&app, &admin, &old, json!({"horizon": 12})).await;
    assert_eq!(
        (
            answer["fallback_level"].as_str(),
            answer["model_version"].as_i64()
        ),
        (Some("latest"), Some(1))
    );

    // as_of: chosen and fitted on data before it only, reproducibly.
    let as_of = app.state.now() - Duration::days(30);
    let past = predict(&app, &admin, &old, json!({"as_of": as_of})).await;
    assert_eq!(past["fallback_level"], "as_of");
    // The first step is the local day containing `as_of` (Berlin, two hours ahead of UTC in May).
    assert_eq!(
        past["points"][0]["local"],
        (as_of + Duration::hours(2)).date_naive().to_string()
    );
    let again = predict(&app, &admin, &old, json!({"as_of": as_of})).await;
    assert_eq!(
        again["points"], past["points"],
        "the same data gives the same forecast"
    );
}

#[tokio::test]
async fn bad_requests_are_refused_and_strangers_see_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let r = app
        .restaurant(
            &admin,
            json!({"name": "Strict", "timezone": "Europe/Berlin"}),
        )
        .await;
    let refused = app
        .post(
            "/api/predictions/demand",
            json!({"restaurant_id": r, "granularity": "daily", "horizon": 29}),
            Some(&admin),
        )
        .await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(!refused.field_errors("horizon").is_empty());
    let hourly = app
        .post(
            "/api/predictions/demand",
            json!({"restaurant_id": r, "granularity": "hourly", "horizon": 168}),
            Some(&admin),
        )
        .await;
    hourly.assert_status(StatusCode::OK);
    assert_eq!(hourly.data()["points"].as_array().unwrap().len(), 168);
    let future = app
        .post(
            "/api/predictions/demand",
            json!({"restaurant_id": r, "granularity": "daily", "horizon": 3, "as_of": app.state.now() + Duration::days(1)}),
            Some(&admin),
        )
        .await;
    future.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let (_, stranger, _) = app
        .user("stranger@example.com", brigade_app::accounts::Role::Kam)
        .await;
    app.post(
        "/api/predictions/demand",
        json!({"restaurant_id": r, "granularity": "daily", "horizon": 3}),
        Some(&stranger),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    let listed = app.get("/api/models", Some(&stranger)).await;
    listed.assert_status(StatusCode::OK);
    assert_eq!(listed.data()["items"], json!([]));
    // The seed's X-API-Key header carries API keys.
    let key = app
        .post(
            "/api/auth/api-keys",
            json!({"name": "forecasts", "scopes": ["forecasts:read"]}),
            Some(&admin),
        )
        .await;
    key.assert_status(StatusCode::CREATED);
    let secret = key.data()["secret"].as_str().unwrap().to_string();
    let response = app
        .send(
            axum::http::Request::post("/api/predictions/demand/peak-hours")
                .header("x-api-key", &secret)
                .header("content-type", "application/json")
                .body(axum::body::Body::from(
                    json!({"restaurant_id": r}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    response.assert_status(StatusCode::OK);
    assert_eq!(response.data()["fallback_level"], "average");
}

/// An order of a customer `days_ago` days before the test clock: a QR account's, or (with `phone`) a
/// delivery-channel customer's, whose value may be unknown.
async fn customer_order(
    app: &TestApp,
    restaurant: Uuid,
    account: Option<Uuid>,
    phone: Option<(Uuid, bool)>,
    days_ago: i64,
    total_minor: i64,
) {
    use brigade_app::entities::channel_orders;
    let at = app.state.now() - Duration::days(days_ago) - Duration::hours(3);
    let row = completed_order(
        restaurant,
        at,
        account,
        if phone.is_some() { "channel" } else { "qr" },
        total_minor,
    );
    let id = *row.id.as_ref();
    orders::Entity::insert(row)
        .exec(&app.state.db)
        .await
        .unwrap();
    if let Some((customer, value_known)) = phone {
        channel_orders::Entity::insert(channel_orders::ActiveModel {
            order_id: Set(id),
            external_id: Set(format!("c-{id}")),
            account: Set("test".into()),
            brand_id: Set("customers-test".into()),
            channel_order_id: Set(None),
            customer_id: Set(Some(customer)),
            delivery_address: Set(None),
            status_code: Set(90),
            mapping_version: Set(1),
            value_known: Set(value_known),
        })
        .exec(&app.state.db)
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn customer_predictions_learn_who_is_slipping_away_from_accounts_and_phones() {
    use brigade_app::entities::{customers, users};
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let r = app
        .restaurant(
            &admin,
            json!({"name": "Regulars", "timezone": "Europe/Berlin", "currency": "EUR"}),
        )
        .await;
    let restaurant: Uuid = r.parse().unwrap();
    let now = app.state.now();
    // 60 QR accounts ordering every 5 to 23 days for the last 300 days; every fourth stopped 100
    // days ago.
    let mut accounts = Vec::new();
    for j in 0..60i64 {
        let id = Uuid::now_v7();
        users::Entity::insert(users::ActiveModel {
            id: Set(id),
            email: Set(format!("regular{j}@example.com")),
            password_hash: Set("not a hash".into()),
            first_name: Set(format!("Regular{j}")),
            last_name: Set("Guest".into()),
            phone: Set(None),
            role: Set("customer".into()),
            timezone: Set(None),
            is_active: Set(true),
            is_guest: Set(false),
            contact_email: Set(None),
            last_login_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec(&app.state.db)
        .await
        .unwrap();
        accounts.push(id);
        let every = 5 + (j % 7) * 3;
        let stop = if j % 4 == 0 { 100 } else { 1 };
        let mut back = 300 - (j * 3) % 100;
        while back >= stop {
            customer_order(&app, restaurant, Some(id), None, back, 1000 + j * 50).await;
            back -= every;
        }
    }
    // 15 delivery-channel customers known by phone, some orders without a known value.
    let mut phones = Vec::new();
    for j in 0..15i64 {
        let id = Uuid::now_v7();
        customers::Entity::insert(customers::ActiveModel {
            id: Set(id),
            phone: Set(format!("+3584000{j:04}")),
            name: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec(&app.state.db)
        .await
        .unwrap();
        phones.push(id);
        for k in 0..(3 + j % 4) {
            customer_order(
                &app,
                restaurant,
                None,
                Some((id, k % 3 != 2)),
                10 + k * 20 + j,
                2500,
            )
            .await;
        }
    }
    let list = |segment: &'static str| {
        let app = &app;
        let admin = admin.clone();
        let r = r.clone();
        async move {
            let response = app
                .get(
                    &format!(
                        "/api/predictions/customers?restaurant_id={r}&segment={segment}&limit=500"
                    ),
                    Some(&admin),
                )
                .await;
            response.assert_status(StatusCode::OK);
            response.data().clone()
        }
    };

    // No model yet: churn is the restaurant's base rate, and the answer says so.
    let all = list("all").await;
    assert_eq!(all["fallback_level"], "average");
    assert_eq!(all["model_version"], Value::Null);
    assert_eq!(all["restaurant_customers"], 75);
    assert_eq!(all["cached"], false);
    let base_rate = all["base_rate"].as_f64().unwrap();
    assert!(base_rate > 0.1 && base_rate < 0.5, "{base_rate}");
    assert_eq!(list("all").await["cached"], true);

    // Trained as a job; its holdout beats the base rate, so the churn probabilities mean something.
    app.post(
        "/api/models/train",
        json!({"restaurant_id": r, "kind": "customer"}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::ACCEPTED);
    for result in brigade_app::jobs::run_inline(&app.state).await {
        result.unwrap();
    }
    let models = app
        .get(
            &format!("/api/models?restaurant_id={r}&kind=customer"),
            Some(&admin),
        )
        .await;
    let model = &models.data()["items"][0];
    assert_eq!(model["kind"], "customer", "{}", models.data());
    assert_eq!(model["status"], "latest");
    let holdout = &model["metrics"]["holdout"];
    assert!(
        holdout["brier"].as_f64().unwrap() < holdout["base_rate_brier"].as_f64().unwrap(),
        "{holdout}"
    );
    assert_eq!(model["score"], holdout["brier"]);

    // At risk: the frequent regulars who stopped coming, biggest spenders first; no one who ordered
    // this week.
    let at_risk = list("at_risk").await;
    assert_eq!(at_risk["fallback_level"], "latest");
    assert_eq!(at_risk["model_version"], 1);
    assert_eq!(at_risk["cached"], false, "a new version is a new answer");
    let listed: Vec<&Value> = at_risk["customers"].as_array().unwrap().iter().collect();
    let ids: Vec<&str> = listed
        .iter()
        .map(|c| c["customer_id"].as_str().unwrap())
        .collect();
    for j in [0usize, 4, 8, 12] {
        assert!(
            ids.contains(&accounts[j].to_string().as_str()),
            "regular {j} stopped 100 days ago: {at_risk}"
        );
    }
    for j in [1usize, 2, 5] {
        assert!(
            !ids.contains(&accounts[j].to_string().as_str()),
            "regular {j} still comes: {at_risk}"
        );
    }
    for c in &listed {
        assert!(
            c["churn_probability"].as_f64().unwrap() >= 0.5 || c["segment"] == "at_risk",
            "{c}"
        );
    }
    let spent: Vec<f64> = listed
        .iter()
        .map(|c| c["total_spent"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(spent.windows(2).all(|w| w[0] >= w[1]), "{spent:?}");

    // High value: the fifth with the most expected value within a year.
    let high = list("high_value").await;
    let high: Vec<&Value> = high["customers"].as_array().unwrap().iter().collect();
    assert_eq!(high.len(), 15);
    let values: Vec<f64> = high
        .iter()
        .map(|c| c["expected_value_365d"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(values.windows(2).all(|w| w[0] >= w[1]), "{values:?}");
    assert!(values[0] > 100.0, "{values:?}");

    // One customer: a phone customer's number is masked, their unknown-value orders still count.
    let one = app
        .post(
            "/api/predictions/customer",
            json!({"customer_id": phones[14]}),
            Some(&admin),
        )
        .await;
    one.assert_status(StatusCode::OK);
    let at = &one.data()["restaurants"][0];
    assert_eq!(at["restaurant_id"], r);
    assert_eq!(at["fallback_level"], "latest");
    assert_eq!(at["prediction"]["customer_kind"], "phone");
    assert_eq!(at["prediction"]["label"], "phone ...0014");
    assert_eq!(at["prediction"]["orders"], 5);
    assert_eq!(at["prediction"]["total_spent"], "100.00");
    let regular = app
        .post(
            "/api/predictions/customer",
            json!({"customer_id": accounts[1], "restaurant_id": r}),
            Some(&admin),
        )
        .await;
    regular.assert_status(StatusCode::OK);
    let p = &regular.data()["restaurants"][0]["prediction"];
    assert_eq!(p["customer_kind"], "account");
    assert_eq!(p["label"], "Regular1 Guest");
    assert!(p["churn_probability"].as_f64().unwrap() < 0.5, "{p}");
    assert!(p["p_alive"].as_f64().unwrap() > 0.5, "{p}");

    // Nobody and strangers: 404; a made-up segment or limit: 422.
    app.post(
        "/api/predictions/customer",
        json!({"customer_id": Uuid::now_v7()}),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    let (_, stranger, _) = app
        .user("nosy@example.com", brigade_app::accounts::Role::Kam)
        .await;
    app.post(
        "/api/predictions/customer",
        json!({"customer_id": accounts[1]}),
        Some(&stranger),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.get(
        &format!("/api/predictions/customers?restaurant_id={r}"),
        Some(&stranger),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    for bad in ["segment=vip", "limit=0", "limit=501"] {
        let refused = app
            .get(
                &format!("/api/predictions/customers?restaurant_id={r}&{bad}"),
                Some(&admin),
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

#[tokio::test]
async fn items_and_categories_split_the_restaurant_forecast_by_their_weekday_shares() {
    use brigade_app::entities::order_items;
    use sea_orm::QuerySelect;
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let r = app
        .restaurant(&admin, json!({"name": "Trattoria", "timezone": "UTC"}))
        .await;
    history(&app, &r, 70).await;
    let placed: Vec<(Uuid, chrono::DateTime<Utc>)> = orders::Entity::find()
        .select_only()
        .columns([orders::Column::Id, orders::Column::CreatedAt])
        .filter(orders::Column::RestaurantId.eq(r.parse::<Uuid>().unwrap()))
        .into_tuple()
        .all(&app.state.db)
        .await
        .unwrap();
    // One pizza in every order; two tiramisu with every Friday order.
    let mut lines = Vec::new();
    for (order, at) in placed {
        let friday = chrono::Datelike::weekday(&at) == chrono::Weekday::Fri;
        for (name, quantity) in [("Margherita", 1), ("Tiramisu", 2)] {
            if name == "Tiramisu" && !friday {
                continue;
            }
            lines.push(order_items::ActiveModel {
                id: Set(Uuid::now_v7()),
                order_id: Set(order),
                menu_item_id: Set(None),
                name: Set(name.into()),
                plu: Set(None),
                unit_price_minor: Set(900),
                quantity: Set(quantity),
                subtotal_minor: Set(900 * i64::from(quantity)),
                special_request: Set(None),
            });
        }
    }
    for chunk in lines.chunks(500) {
        order_items::Entity::insert_many(chunk.to_vec())
            .exec(&app.state.db)
            .await
            .unwrap();
    }
    let items = predict(&app, &admin, &r, json!({"horizon": 7, "level": "item"})).await;
    let breakdown = items["breakdown"].as_array().unwrap();
    assert_eq!(breakdown.len(), 2, "{items}");
    let by_name = |name: &str| {
        breakdown
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {items}"))
    };
    let (pizza, tiramisu) = (by_name("Margherita"), by_name("Tiramisu"));
    for (k, point) in items["points"].as_array().unwrap().iter().enumerate() {
        let orders = point["predicted"].as_f64().unwrap();
        let start: chrono::DateTime<Utc> = point["start"].as_str().unwrap().parse().unwrap();
        let friday = chrono::Datelike::weekday(&start) == chrono::Weekday::Fri;
        let p = pizza["points"][k]["predicted"].as_f64().unwrap();
        let t = tiramisu["points"][k]["predicted"].as_f64().unwrap();
        assert!(
            (p - orders).abs() < 0.02,
            "a pizza per order: {p} vs {orders}"
        );
        let expected = if friday { 2.0 * orders } else { 0.0 };
        assert!((t - expected).abs() < 0.03, "{start}: {t} vs {expected}");
    }
    // Categories: the order lines name no menu item, so one "Uncategorised" with all of it.
    let categories = predict(&app, &admin, &r, json!({"horizon": 7, "level": "category"})).await;
    let only = &categories["breakdown"].as_array().unwrap()[..];
    assert_eq!(only.len(), 1, "{categories}");
    assert_eq!(only[0]["name"], "Uncategorised");
    let total = |s: &Value| s["total_predicted"].as_f64().unwrap();
    assert!((total(&only[0]) - total(pizza) - total(tiramisu)).abs() < 0.1);
    // The restaurant level has no breakdown.
    assert!(
        predict(&app, &admin, &r, json!({"horizon": 7}))
            .await
            .get("breakdown")
            .is_none()
    );
}

#[tokio::test]
async fn an_outage_puts_at_risk_the_orders_the_forecast_expected_during_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let r = app
        .restaurant(
            &admin,
            json!({"name": "Down Again", "timezone": "UTC", "currency": "EUR"}),
        )
        .await;
    let id: Uuid = r.parse().unwrap();
    history(&app, &r, 120).await;
    let today = app.state.now().date_naive();
    let day = |back: i64, hour: u32| {
        Utc.from_utc_datetime(
            &(today - Duration::days(back))
                .and_hms_opt(hour, 0, 0)
                .unwrap(),
        )
    };
    // A whole business day down 7 days ago (orders come 11:00-21:00), and a night hour (none come).
    let outages = [(day(7, 10), day(7, 22)), (day(7, 3), day(7, 4))];
    let risk = brigade_app::forecasting::at_risk::expected_during(&app.state, id, &outages)
        .await
        .unwrap();
    let weekday = chrono::Datelike::weekday(&(today - Duration::days(7))).num_days_from_monday();
    let typical = [0.0, 7.0, 8.0, 9.0, 11.0, 15.0, 13.0][weekday as usize];
    let day_risk = risk.expected_orders[0];
    assert!(
        (day_risk - typical).abs() <= 3.0,
        "{day_risk} expected on a day that usually has about {typical}: {risk:?}"
    );
    assert!(risk.expected_orders[1] < 0.5, "{risk:?}");
    // Valued at the average order (15.00 EUR here).
    let value = risk.values[0].unwrap();
    let expected = rust_decimal::Decimal::try_from(day_risk * 15.0)
        .unwrap()
        .round_dp(2);
    assert!(
        (value - expected).abs() <= rust_decimal::Decimal::new(1, 1),
        "{value} vs {expected}"
    );
    assert_eq!(risk.currency, "EUR");
    // No outages, nothing at risk; asked again, the same answer (cached).
    let none = brigade_app::forecasting::at_risk::expected_during(&app.state, id, &[])
        .await
        .unwrap();
    assert!(none.expected_orders.is_empty());
    let again = brigade_app::forecasting::at_risk::expected_during(&app.state, id, &outages)
        .await
        .unwrap();
    assert_eq!(again.expected_orders, risk.expected_orders);
}
