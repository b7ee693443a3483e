//! The KAM dashboard at size: 100,000 restaurants with a KAM each (100 KAMs), two contacts each, ten
//! million interactions, a million completed orders and score history, then every dashboard page (and the
//! calls API) requested through the whole router in process (session cookie or token, routing, database,
//! template), timed per request. Prints figures; asserts nothing.
//!
//!   cargo bench -p brigade-app --bench crm
//!
//! Environment: `BENCH_DATABASE_URL` (default SQLite in `BENCH_DATA_DIR` or a temporary directory),
//! `RESTAURANTS` (100,000), `INTERACTIONS_PER_RESTAURANT` (100), `KAMS` (100), `RUNS` (200 per page),
//! `SKIP_LOAD=1` (reuse the data already in that database).
//!
//! The data is written by SQL inside the database (recursive CTE on SQLite, generate_series on
//! PostgreSQL) in the layout the application writes; the KAM accounts through the accounts service.

mod common;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, header};
use brigade_app::AppState;
use brigade_app::accounts::Role;
use brigade_app::accounts::service::{self, NewAccount};
use common::{env_or, percentile};
use http_body_util::BodyExt;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter};
use tower::ServiceExt;
use uuid::Uuid;

/// SQL that writes `count` rows of sequence numbers `n` from `from`, per backend.
fn seq(backend: DbBackend, from: u64, count: u64) -> String {
    match backend {
        DbBackend::Postgres => format!(
            "(SELECT n FROM generate_series({from}::bigint, {}::bigint) AS g(n)) AS seq",
            from + count - 1
        ),
        _ => format!(
            "(WITH RECURSIVE s(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM s WHERE n < {}) SELECT n FROM s) AS seq",
            from + count - 1
        ),
    }
}

struct Sql {
    backend: DbBackend,
    now: i64,
}

impl Sql {
    fn id(&self) -> &'static str {
        match self.backend {
            DbBackend::Postgres => "gen_random_uuid()",
            _ => "randomblob(16)",
        }
    }
    /// An instant `offset` seconds (an SQL expression) after now, in the stored form.
    fn at(&self, offset: &str) -> String {
        match self.backend {
            DbBackend::Postgres => format!("to_timestamp({} + ({offset}))", self.now),
            _ => format!(
                "strftime('%Y-%m-%dT%H:%M:%S+00:00', {} + ({offset}), 'unixepoch')",
                self.now
            ),
        }
    }
    fn day(&self, offset: &str) -> String {
        match self.backend {
            DbBackend::Postgres => format!("(to_timestamp({} + ({offset})))::date", self.now),
            _ => format!("date({} + ({offset}), 'unixepoch')", self.now),
        }
    }
    fn int(&self, expr: &str) -> String {
        match self.backend {
            DbBackend::Postgres => format!("CAST({expr} AS BIGINT)"),
            _ => format!("CAST({expr} AS INTEGER)"),
        }
    }
    fn num_of_external(&self) -> String {
        // restaurants.external_id = 'bench-crm-<n>'
        match self.backend {
            DbBackend::Postgres => "CAST(substr(r.external_id, 11) AS BIGINT)".into(),
            _ => "CAST(substr(r.external_id, 11) AS INTEGER)".into(),
        }
    }
    fn truthy(&self, cond: &str) -> String {
        match self.backend {
            DbBackend::Postgres => format!("({cond})"),
            _ => format!("CASE WHEN {cond} THEN 1 ELSE 0 END"),
        }
    }
}

fn api(e: brigade_app::http::error::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{}", e.message)
}

async fn exec(state: &AppState, label: &str, sql: String) -> anyhow::Result<()> {
    let started = Instant::now();
    let result = state.db.execute_unprepared(&sql).await?;
    println!(
        "  {label}: {} rows in {:.1} s",
        result.rows_affected(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn load(state: &AppState, restaurants: u64, per: u64, kams: &[Uuid]) -> anyhow::Result<()> {
    let backend = state.db.get_database_backend();
    let s = Sql {
        backend,
        now: chrono::Utc::now().timestamp(),
    };
    let id = s.id();
    exec(
        state,
        "bench_kams table",
        "CREATE TABLE IF NOT EXISTS bench_kams (n BIGINT PRIMARY KEY, id UUID NOT NULL)".into(),
    )
    .await
    .ok();
    state
        .db
        .execute_unprepared("DELETE FROM bench_kams")
        .await?;
    for (n, k) in kams.iter().enumerate() {
        let value = match backend {
            DbBackend::Postgres => format!("'{k}'"),
            _ => format!("X'{}'", k.simple()),
        };
        state
            .db
            .execute_unprepared(&format!(
                "INSERT INTO bench_kams (n, id) VALUES ({n}, {value})"
            ))
            .await?;
    }
    let zone = "CASE seq.n % 4 WHEN 0 THEN 'Europe/London' WHEN 1 THEN 'America/New_York' WHEN 2 THEN 'Asia/Kolkata' ELSE 'Asia/Tokyo' END";
    let status = "CASE seq.n % 10 WHEN 0 THEN 'inactive' WHEN 1 THEN 'new' ELSE 'active' END";
    let yes = match backend {
        DbBackend::Postgres => "true",
        _ => "1",
    };
    exec(
        state,
        "restaurants",
        format!(
            "INSERT INTO restaurants (id, external_id, name, address, region, timezone, status, phone, email, website, description, currency, enable_eat_in, logo_key, reservation_min_notice_minutes, reservation_max_days_ahead, created_at, updated_at) \
             SELECT {id}, 'bench-crm-' || seq.n, 'Restaurant ' || seq.n, seq.n || ' High Street', 'Region ' || (seq.n % 20), {zone}, {status}, NULL, NULL, NULL, NULL, 'EUR', {yes}, NULL, 60, 30, {now}, {now} FROM {seq}",
            now = s.at("0"),
            seq = seq(backend, 0, restaurants),
        ),
    )
    .await?;
    // Opening hours for every restaurant: 11:00–23:00 every day.
    let hours_open = match backend {
        DbBackend::Postgres => "'11:00:00'::time, '23:00:00'::time",
        _ => "'11:00:00', '23:00:00'",
    };
    exec(
        state,
        "restaurant hours",
        format!(
            "INSERT INTO restaurant_hours (id, restaurant_id, weekday, opens, closes) \
             SELECT {id}, r.id, seq.n, {hours_open} FROM restaurants r CROSS JOIN {seq} WHERE r.external_id LIKE 'bench-crm-%'",
            seq = seq(backend, 0, 7)
        ),
    )
    .await?;
    let num = s.num_of_external();
    // Next calls spread from three days ago to 27 days ahead; scores 0–100.
    let score = format!("(({num}) * 37) % 101");
    let tier = format!(
        "CASE WHEN {score} > 60 THEN 'excellent' WHEN {score} > 40 THEN 'good' WHEN {score} > 20 THEN 'average' ELSE 'underperforming' END"
    );
    exec(
        state,
        "crm accounts",
        format!(
            "INSERT INTO crm_accounts (restaurant_id, kam_id, call_frequency_days, last_call_at, next_call_at, score, tier, score_breakdown, patterns, scored_at, updated_at) \
             SELECT r.id, k.id, NULL, {last}, {next}, {score}, {tier}, NULL, NULL, {now}, {now} \
             FROM restaurants r JOIN bench_kams k ON k.n = ({num}) % {kams} WHERE r.external_id LIKE 'bench-crm-%'",
            last = s.at(&format!("-86400 * (7 + ({num}) % 20)")),
            next = s.at(&format!("86400 * ((({num}) * 7919) % 30 - 3) + 3600 * (({num}) % 24)")),
            now = s.at("0"),
            kams = kams.len(),
        ),
    )
    .await?;
    exec(
        state,
        "contacts",
        format!(
            "INSERT INTO contacts (id, restaurant_id, name, phone, email, role, is_lead, created_at, updated_at) \
             SELECT {id}, r.id, 'Contact ' || seq.n || ' of ' || r.name, '+44 20 7946 000' || seq.n, NULL, CASE seq.n WHEN 0 THEN 'owner' ELSE 'manager' END, {lead}, {now}, {now} \
             FROM restaurants r CROSS JOIN {seq} WHERE r.external_id LIKE 'bench-crm-%'",
            lead = s.truthy("seq.n = 0"),
            now = s.at("0"),
            seq = seq(backend, 0, 2),
        ),
    )
    .await?;
    // Interactions: `per` per restaurant over the last two years, by its KAM, in chunks of restaurants.
    let chunk = 10_000.min(restaurants);
    let mut from = 0;
    while from < restaurants {
        let to = (from + chunk).min(restaurants);
        exec(
            state,
            &format!("interactions of restaurants {from}..{to}"),
            format!(
                "INSERT INTO interactions (id, restaurant_id, user_id, contact_id, kind, occurred_at, notes, outcome, order_id, follow_up_on, created_at) \
                 SELECT {id}, a.restaurant_id, a.kam_id, NULL, CASE seq.n % 4 WHEN 0 THEN 'call' WHEN 1 THEN 'email' WHEN 2 THEN 'meeting' ELSE 'visit' END, {at}, 'Bench note ' || seq.n, \
                        CASE seq.n % 4 WHEN 0 THEN 'positive' WHEN 1 THEN 'neutral' WHEN 2 THEN 'negative' ELSE 'no_answer' END, NULL, NULL, {at} \
                 FROM crm_accounts a JOIN restaurants r ON r.id = a.restaurant_id CROSS JOIN {seq} \
                 WHERE r.external_id LIKE 'bench-crm-%' AND {num} >= {from} AND {num} < {to}",
                at = s.at(&format!("-(seq.n * 7 * 86400) - 3600 * (({num} + seq.n) % 200)")),
                seq = seq(backend, 0, per),
            ),
        )
        .await?;
        from = to;
    }
    exec(
        state,
        "orders",
        format!(
            "INSERT INTO orders (id, restaurant_id, customer_id, source, order_type, status, status_changed_at, total_minor, currency, payment_status, payment_method, payment_reference, pickup_time, table_label, reservation_id, note, idempotency_key, external_ref, created_at, updated_at) \
             SELECT {id}, r.id, NULL, 'import', 'takeout', 'completed', {at}, 1000 + seq.n * 137, 'EUR', 'paid', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'bench-' || seq.n, {at}, {at} \
             FROM restaurants r CROSS JOIN {seq} WHERE r.external_id LIKE 'bench-crm-%'",
            at = s.at("-(seq.n * 86400 * 3) - 3600 * (seq.n % 12)"),
            seq = seq(backend, 0, 10),
        ),
    )
    .await?;
    exec(
        state,
        "score history",
        format!(
            "INSERT INTO restaurant_scores (restaurant_id, day, score, tier, breakdown) \
             SELECT a.restaurant_id, {day}, {score_h}, a.tier, '{{}}' FROM crm_accounts a JOIN restaurants r ON r.id = a.restaurant_id CROSS JOIN {seq} WHERE r.external_id LIKE 'bench-crm-%'",
            day = s.day("-(seq.n * 86400)"),
            score_h = s.int("a.score"),
            seq = seq(backend, 0, 5),
        ),
    )
    .await?;
    // Fresh statistics for the planner, as a maintained database has.
    exec(state, "analyze", "ANALYZE".into()).await?;
    Ok(())
}

type Service =
    tower::util::MapRequest<axum::Router, fn(axum::extract::Request) -> axum::extract::Request>;

async fn get(app: &Service, path: &str, auth: &(String, String)) -> (u16, usize, f64) {
    let mut request = Request::builder()
        .uri(path)
        .header(auth.0.as_str(), auth.1.as_str())
        .body(Body::empty())
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 1], 9))));
    let started = Instant::now();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        bytes.len(),
        started.elapsed().as_secs_f64() * 1000.0,
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let restaurants = env_or("RESTAURANTS", 100_000);
    let per = env_or("INTERACTIONS_PER_RESTAURANT", 100);
    let kam_count = env_or("KAMS", 100) as usize;
    let runs = env_or("RUNS", 200) as usize;
    let skip = std::env::var("SKIP_LOAD").is_ok_and(|v| v == "1");
    let (state, postgres, _dir) = common::state(|c| c.rate_limit.enabled = false).await?;
    println!(
        "database: {}; {restaurants} restaurants, {} interactions, {kam_count} KAMs",
        if postgres { "PostgreSQL" } else { "SQLite" },
        restaurants * per
    );

    // KAMs (and an admin) through the accounts service.
    let mut kams = Vec::new();
    for i in 0..kam_count {
        let email = format!("bench-kam-{i}@example.com");
        let user = match brigade_app::entities::users::Entity::find()
            .filter(brigade_app::entities::users::Column::Email.eq(email.as_str()))
            .one(&state.db)
            .await?
        {
            Some(u) => u,
            None => {
                let zone = ["Asia/Kolkata", "Europe/London", "America/New_York"][i % 3];
                service::create_user(
                    &state,
                    NewAccount::parse(
                        &email,
                        "bench-password",
                        "Bench",
                        &format!("KAM {i}"),
                        None,
                        Role::Kam,
                        Some(zone),
                    )
                    .map_err(api)?,
                )
                .await
                .map_err(api)?
            }
        };
        kams.push(user.id);
    }
    let admin = match brigade_app::entities::users::Entity::find()
        .filter(brigade_app::entities::users::Column::Email.eq("bench-admin@example.com"))
        .one(&state.db)
        .await?
    {
        Some(u) => u,
        None => service::create_user(
            &state,
            NewAccount::parse(
                "bench-admin@example.com",
                "bench-password",
                "Bench",
                "Admin",
                None,
                Role::Admin,
                Some("Europe/London"),
            )
            .map_err(api)?,
        )
        .await
        .map_err(api)?,
    };
    if !skip {
        let started = Instant::now();
        load(&state, restaurants, per, &kams).await?;
        println!("loaded in {:.0} s", started.elapsed().as_secs_f64());
    }

    // Sessions and a token.
    let session = |user: Uuid| {
        let state = state.clone();
        async move {
            let jar = brigade_app::accounts::sessions::start(
                &state,
                axum_extra::extract::cookie::CookieJar::new(),
                user,
            )
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
            let value = jar
                .get(brigade_app::accounts::sessions::SESSION_COOKIE)
                .map(|c| c.value().to_string())
                .unwrap_or_default();
            Ok::<_, anyhow::Error>((
                header::COOKIE.to_string(),
                format!(
                    "{}={value}",
                    brigade_app::accounts::sessions::SESSION_COOKIE
                ),
            ))
        }
    };
    let kam = kams[0];
    let kam_cookie = session(kam).await?;
    let admin_cookie = session(admin.id).await?;
    let (token, _) = state
        .keys
        .issue(kam, Role::Kam, chrono::Utc::now(), None)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let bearer = (header::AUTHORIZATION.to_string(), format!("Bearer {token}"));
    // The KAM's restaurants, for the detail page.
    let mine: Vec<Uuid> = {
        use sea_orm::QuerySelect;
        brigade_app::entities::crm_accounts::Entity::find()
            .select_only()
            .column(brigade_app::entities::crm_accounts::Column::RestaurantId)
            .filter(brigade_app::entities::crm_accounts::Column::KamId.eq(kam))
            .limit(runs as u64)
            .into_tuple()
            .all(&state.db)
            .await?
    };
    let mine = Arc::new(mine);

    type PathOf = Box<dyn Fn(usize) -> String>;
    let pages: Vec<(&str, PathOf, &(String, String))> = vec![
        (
            "KAM: today's calls and tiers (/crm)",
            Box::new(|_| "/crm".into()),
            &kam_cookie,
        ),
        (
            "KAM: restaurant list",
            Box::new(|_| "/crm/restaurants".into()),
            &kam_cookie,
        ),
        (
            "KAM: list, search + tier filter",
            Box::new(|i| format!("/crm/restaurants?q=Restaurant+{}&tier=good", i % 90 + 10)),
            &kam_cookie,
        ),
        (
            "KAM: restaurant detail",
            {
                let mine = mine.clone();
                Box::new(move |i| format!("/crm/restaurants/{}", mine[i % mine.len()]))
            },
            &kam_cookie,
        ),
        (
            "admin: overview (/crm)",
            Box::new(|_| "/crm".into()),
            &admin_cookie,
        ),
        (
            "admin: all restaurants, page 1",
            Box::new(|_| "/crm/restaurants".into()),
            &admin_cookie,
        ),
        (
            "admin: tier + region filter",
            Box::new(|i| format!("/crm/restaurants?tier=good&region=Region+{}", i % 20)),
            &admin_cookie,
        ),
        (
            "admin: search by name",
            Box::new(|i| format!("/crm/restaurants?q=Restaurant+{}", 1000 + i * 37)),
            &admin_cookie,
        ),
        (
            "admin: deep page (page 500)",
            Box::new(|_| "/crm/restaurants?page=500".into()),
            &admin_cookie,
        ),
        (
            "API: calls today",
            Box::new(|_| "/api/crm/calls/today".into()),
            &bearer,
        ),
    ];
    // One router, as a server builds it once.
    let app = brigade_app::http::service(state.clone());
    println!("| page | p50 ms | p95 ms | p99 ms | size |");
    println!("|---|---|---|---|---|");
    for (label, path, auth) in &pages {
        // Warm up.
        for i in 0..5 {
            let (status, _, _) = get(&app, &path(i), auth).await;
            anyhow::ensure!(status == 200, "{label}: {} answered {status}", path(i));
        }
        let mut times = Vec::with_capacity(runs);
        let mut size = 0;
        for i in 0..runs {
            let (status, bytes, ms) = get(&app, &path(i), auth).await;
            anyhow::ensure!(status == 200, "{label}: {} answered {status}", path(i));
            size = bytes;
            times.push(ms);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "| {label} | {:.1} | {:.1} | {:.1} | {} KB |",
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            percentile(&times, 0.99),
            size / 1024
        );
    }
    Ok(())
}
