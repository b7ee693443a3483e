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
            rows.push(orders::ActiveModel {
                id: Set(Uuid::now_v7()),
                restaurant_id: Set(id),
                customer_id: Set(None),
                source: Set("import".into()),
                order_type: Set("TAKEOUT".into()),
                status: Set("COMPLETED".into()),
                status_changed_at: Set(at),
                total_minor: Set(1500),
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
            });
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
