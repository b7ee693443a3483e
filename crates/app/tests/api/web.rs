//! The web shell: sign-in with sessions and CSRF, landing pages per role, sign-out.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use brigade_app::accounts::Role;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::harness::{TestApp, TestResponse};

fn cookie(response: &TestResponse, name: &str) -> Option<String> {
    response
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            let (pair, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=')?;
            (k == name && !v.is_empty()).then(|| v.to_string())
        })
}

async fn form(app: &TestApp, path: &str, cookies: &str, body: &str) -> TestResponse {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookies)
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(request).await
}

async fn page(app: &TestApp, path: &str, cookies: &str) -> TestResponse {
    app.send(
        Request::builder()
            .uri(path)
            .header(header::COOKIE, cookies)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// Sign in through the form; returns the cookie header for later requests.
async fn sign_in(app: &TestApp, email: &str, password: &str) -> String {
    let login_page = app.get("/login", None).await;
    login_page.assert_status(StatusCode::OK);
    let csrf = cookie(&login_page, "brigade_csrf").expect("csrf cookie");
    assert!(
        login_page.text.contains(&format!("value=\"{csrf}\"")),
        "the form carries the token"
    );
    let cookies = format!("brigade_csrf={csrf}");
    let body = format!(
        "csrf={csrf}&email={}&password={password}",
        email.replace('@', "%40")
    );
    let signed_in = form(app, "/login", &cookies, &body).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.text
    );
    assert_eq!(signed_in.headers[header::LOCATION], "/");
    let session = cookie(&signed_in, "brigade_session").expect("session cookie");
    let set = signed_in.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    format!("brigade_csrf={csrf}; brigade_session={session}")
}

#[tokio::test]
async fn sign_in_show_the_landing_page_and_sign_out() {
    let app = TestApp::spawn().await;
    brigade_app::demo::load(&app.state).await.unwrap();

    let anonymous = app.get("/", None).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(anonymous.headers[header::LOCATION], "/login");

    let cookies = sign_in(&app, "admin@demo.brigade", "brigade-demo").await;
    let home = page(&app, "/", &cookies).await;
    home.assert_status(StatusCode::OK);
    assert!(home.text.contains("Platform overview"));
    assert!(
        home.text.contains("data-testid=\"stat-restaurants\">16<"),
        "admin sees counts"
    );
    assert!(
        home.text.contains("href=\"/admin/users\""),
        "admin navigation"
    );
    assert!(home.text.contains("/static/bootstrap.min.css"));
    // The icon browsers ask for exists (a 404 would be an error in every page's console).
    assert!(home.text.contains("/static/favicon.svg"));
    let (status, kind, icon) = app.raw("/static/favicon.svg", None).await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "image/svg+xml"));
    assert!(String::from_utf8(icon).unwrap().starts_with("<svg"));
    assert!(app.get("/favicon.ico", None).await.status.is_redirection());
    let users = page(&app, "/admin/users", &cookies).await;
    users.assert_status(StatusCode::OK);
    assert!(users.text.contains("kam@demo.brigade"));

    // Sign-out needs the CSRF token too.
    let csrf = cookies
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("brigade_csrf=")
        .to_string();
    let forged = form(&app, "/logout", &cookies, "csrf=forged").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        page(&app, "/", &cookies).await.status,
        StatusCode::OK,
        "still signed in"
    );
    let out = form(&app, "/logout", &cookies, &format!("csrf={csrf}")).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page(&app, "/", &cookies).await.status,
        StatusCode::SEE_OTHER,
        "the session is gone server-side"
    );
}

/// Names as askama writes them into a page.
fn askama_escape(text: &str) -> String {
    text.replace('&', "&#38;").replace('\'', "&#39;")
}

#[tokio::test]
async fn each_role_lands_on_its_own_page() {
    let app = TestApp::spawn().await;
    brigade_app::demo::load(&app.state).await.unwrap();
    let kam = sign_in(&app, "kam@demo.brigade", "brigade-demo").await;
    let kam_home = page(&app, "/", &kam).await;
    assert!(
        kam_home
            .text
            .contains("Your restaurants and their local time")
    );
    assert!(kam_home.text.contains("Asia/Tokyo"));
    // Her home lists the restaurants the CRM gives her, not everyone's: the count is the number of
    // active-or-new CRM accounts naming her, and another KAM's restaurant is not on it.
    let kam_id = brigade_app::entities::users::Entity::find()
        .filter(brigade_app::entities::users::Column::Email.eq("kam@demo.brigade"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let accounts = brigade_app::entities::crm_accounts::Entity::find()
        .filter(brigade_app::entities::crm_accounts::Column::KamId.eq(kam_id))
        .all(&app.state.db)
        .await
        .unwrap();
    let mut hers = 0;
    for account in &accounts {
        let restaurant =
            brigade_app::entities::restaurants::Entity::find_by_id(account.restaurant_id)
                .one(&app.state.db)
                .await
                .unwrap()
                .unwrap();
        if restaurant.status != "inactive" {
            hers += 1;
            assert!(
                kam_home
                    .text
                    .contains(&format!("<td>{}</td>", askama_escape(&restaurant.name))),
                "{} is hers",
                restaurant.name
            );
        }
    }
    assert!(hers >= 3, "the demo gives her restaurants ({hers})");
    assert!(
        kam_home
            .text
            .contains(&format!("data-testid=\"stat-restaurants\">{hers}<")),
        "{}",
        kam_home.text
    );
    assert!(
        !kam_home.text.contains("Ember &#38; Oak"),
        "another KAM's restaurant is not on her home"
    );
    assert!(!kam_home.text.contains("href=\"/admin/users\""));
    // Error pages keep the signed-in user's navigation: never a dead end.
    let refused = page(&app, "/admin/users", &kam).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    for refused in [refused, page(&app, "/no-such-page", &kam).await] {
        assert!(
            refused.text.contains("data-testid=\"signed-in-as\""),
            "{}",
            refused.text
        );
        assert!(refused.text.contains("href=\"/crm\""), "{}", refused.text);
    }
    let anonymous = app.get("/no-such-page", None).await;
    assert_eq!(anonymous.status, StatusCode::NOT_FOUND);
    assert!(!anonymous.text.contains("signed-in-as"));
    assert_eq!(
        page(&app, "/restaurants?q=sakura", &kam).await.status,
        StatusCode::OK
    );

    let manager = sign_in(&app, "manager@demo.brigade", "brigade-demo").await;
    let venues = page(&app, "/", &manager).await;
    assert!(venues.text.contains("Your venues"));
    assert!(
        venues.text.contains("Ember &#38; Oak") && venues.text.contains("owner"),
        "{}",
        venues.text
    );
    assert!(!venues.text.contains("Sakura Kitchen"), "only their venues");
    assert_eq!(
        page(&app, "/restaurants", &manager).await.status,
        StatusCode::FORBIDDEN
    );

    let customer = sign_in(&app, "customer@demo.brigade", "brigade-demo").await;
    let mine = page(&app, "/", &customer).await;
    assert!(mine.text.contains("Your Brigade account"));
}

#[tokio::test]
async fn sign_in_refuses_missing_csrf_and_wrong_passwords() {
    let app = TestApp::spawn().await;
    app.user("web@example.com", Role::Customer).await;
    let no_token = form(
        &app,
        "/login",
        "",
        "csrf=&email=web%40example.com&password=password-123",
    )
    .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let login_page = app.get("/login", None).await;
    let csrf = cookie(&login_page, "brigade_csrf").unwrap();
    let wrong = form(
        &app,
        "/login",
        &format!("brigade_csrf={csrf}"),
        &format!("csrf={csrf}&email=web%40example.com&password=nope"),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.text.contains("Wrong e-mail address or password"));
    assert!(cookie(&wrong, "brigade_session").is_none());
}

#[tokio::test]
async fn monitoring_pages_start_a_report_and_chart_a_store() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.post(
        "/api/monitoring/polls",
        serde_json::json!({"polls": [
            {"store_id": "web-store", "timestamp_utc": "2026-06-14 10:00:00 UTC", "status": "active"},
            {"store_id": "web-store", "timestamp_utc": "2026-06-15 10:00:00 UTC", "status": "inactive"}
        ]}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::CREATED);
    let cookies = sign_in(&app, "root@example.com", "password-123").await;

    let index = page(&app, "/monitoring?q=WEB-ST", &cookies).await;
    index.assert_status(StatusCode::OK);
    assert!(index.text.contains("No reports yet."));
    let csrf = cookies
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("brigade_csrf=")
        .to_string();
    let store_link = index
        .text
        .split("href=\"/monitoring/stores/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the search finds the store")
        .to_string();

    let started = form(
        &app,
        "/monitoring/reports",
        &cookies,
        &format!("csrf={csrf}&as_of="),
    )
    .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER);
    brigade_app::jobs::run_inline(&app.state).await;
    let index = page(&app, "/monitoring", &cookies).await;
    assert!(index.text.contains("Complete"), "{}", index.text);
    let csv_link = index
        .text
        .split("href=\"/monitoring/reports/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSV link")
        .to_string();
    let csv = page(&app, &format!("/monitoring/reports/{csv_link}"), &cookies).await;
    csv.assert_status(StatusCode::OK);
    assert!(csv.text.starts_with("store_id,uptime_last_hour"));
    assert!(csv.text.contains("web-store,"));

    let store = page(&app, &format!("/monitoring/stores/{store_link}"), &cookies).await;
    store.assert_status(StatusCode::OK);
    assert!(store.text.contains("data-testid=\"uptime-chart\""));
    // Twenty-one days of bars. On the 14th (Chicago) only the hour either side of the 10:00 UTC poll
    // has data (up); the rest of that day, and every day before the first poll, is no data rather than
    // 100% up.
    let after = store
        .text
        .split("<script type=\"application/json\" id=\"uptime-chart-data\">")
        .nth(1)
        .unwrap();
    let chart: serde_json::Value =
        serde_json::from_str(&after[..after.find("</script>").unwrap()]).unwrap();
    let labels = chart["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 21);
    let day = labels.iter().position(|l| l == "2026-06-14").unwrap();
    assert_eq!(chart["datasets"][0]["data"][day], 100.0);
    let no_data = chart["datasets"][1]["data"].as_array().unwrap();
    assert_eq!(
        no_data.iter().filter(|v| !v.is_null()).count(),
        19,
        "{chart}"
    );
    assert!(no_data[day].is_null());
    // The table says the same in words.
    assert!(
        store
            .text
            .contains("<td data-label=\"Date\">2026-06-14</td><td data-label=\"Open (h)\">24</td><td data-label=\"Up (h)\">2</td><td data-label=\"Down (h)\">0</td><td data-label=\"No data (h)\">22</td>"),
        "{}",
        store.text
    );
    assert!(store.text.contains("no data</span>"));
    assert!(store.text.contains("ongoing"));

    // Customers have no monitoring pages.
    app.user("diner@example.com", Role::Customer).await;
    let diner = sign_in(&app, "diner@example.com", "password-123").await;
    page(&app, "/monitoring", &diner)
        .await
        .assert_status(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_analytics_page_charts_time_in_status_and_orders_per_hour() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let history = |pairs: &[(i64, &str)]| -> Vec<serde_json::Value> {
        pairs
            .iter()
            .map(|(s, t)| serde_json::json!({"status": s, "timestamp": t}))
            .collect()
    };
    app.post(
        "/api/channel-orders",
        serde_json::json!([
            {"_id": "w-1", "created": "2026-06-14T10:00:00Z", "account": "a", "brandId": "web-brand", "status": 90,
             "statusHistory": history(&[(10, "2026-06-14T10:00:00Z"), (20, "2026-06-14T10:04:00Z"), (90, "2026-06-14T10:30:00Z")])},
            {"_id": "w-2", "created": "2026-06-14T12:00:00Z", "account": "a", "brandId": "web-brand", "status": 20,
             "statusHistory": history(&[(10, "2026-06-14T12:00:00Z"), (20, "2026-06-14T12:02:00Z")])}
        ]),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::CREATED);
    app.clock.advance(chrono::Duration::seconds(10));
    brigade_app::analytics::rollup::catch_up(&app.state)
        .await
        .unwrap();
    let cookies = sign_in(&app, "root@example.com", "password-123").await;
    let analytics = page(&app, "/analytics", &cookies).await;
    analytics.assert_status(StatusCode::OK);
    assert!(analytics.text.contains("data-testid=\"status-chart\""));
    assert!(analytics.text.contains("data-testid=\"throughput-chart\""));
    assert!(
        analytics.text.contains("Store web-brand"),
        "the restaurant is offered"
    );
    // PENDING: 240 s and 120 s → average 180; CONFIRMED: 1560 s (one timed).
    assert!(
        analytics
            .text
            .contains("<tr><td data-label=\"Status\">PENDING</td><td data-label=\"Entered\">2</td><td data-label=\"Timed\">2</td>\n              <td data-label=\"Average\">180 s</td>"),
        "{}",
        analytics.text
    );
    assert!(
        analytics.text.contains("2 created, 1 finished"),
        "{}",
        analytics.text
    );
    // The charts are data for the charting library: minutes per status, orders per local hour.
    let chart = |id: &str| -> serde_json::Value {
        let after = analytics
            .text
            .split(&format!("<script type=\"application/json\" id=\"{id}\">"))
            .nth(1)
            .unwrap();
        serde_json::from_str(&after[..after.find("</script>").unwrap()]).unwrap()
    };
    let status = chart("status-chart-data");
    assert_eq!(status["labels"][0], "PENDING");
    assert_eq!(status["datasets"][0]["label"], "Average");
    assert_eq!(status["datasets"][0]["data"][0], 3.0, "180 s is 3 minutes");
    assert_eq!(status["horizontal"], true);
    let flow = chart("throughput-chart-data");
    assert_eq!(
        flow["labels"].as_array().unwrap().len(),
        2,
        "two hours with orders"
    );
    assert_eq!(flow["value_title"], "orders per hour");
    assert_eq!(flow["zoom"], true);
    assert!(
        analytics
            .text
            .contains("/static/chartjs-plugin-zoom.min.js")
    );
    // Quick ranges, and every table as CSV with the page's filters.
    assert!(analytics.text.contains(">Last 30 days</a>"));
    let export = analytics
        .text
        .split("data-testid=\"export-status\"")
        .next()
        .and_then(|before| before.rsplit("href=\"").next())
        .map(|href| {
            href.trim_end_matches("\" ")
                .replace("&amp;", "&")
                .replace("&#38;", "&")
        })
        .unwrap();
    let csv = page(&app, &export, &cookies).await;
    csv.assert_status(StatusCode::OK);
    assert!(
        csv.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let mut lines = csv.text.lines();
    assert_eq!(
        lines.next(),
        Some("status,entered,timed,average_seconds,median_seconds,p90_seconds")
    );
    assert!(
        lines.next().unwrap().starts_with("PENDING,2,2,180.00,"),
        "{}",
        csv.text
    );
    let flow_csv = page(
        &app,
        &export.replace("export=status", "export=throughput"),
        &cookies,
    )
    .await;
    assert_eq!(
        flow_csv.text.lines().count(),
        3,
        "a header and two hours: {}",
        flow_csv.text
    );
    assert_eq!(
        page(
            &app,
            &export.replace("export=status", "export=nonsense"),
            &cookies
        )
        .await
        .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let bad = page(&app, "/analytics?from=2026-06-20&to=2026-06-10", &cookies).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.text.contains("2026-06-20 to 2026-06-10 is not a range"),
        "{}",
        bad.text
    );
    assert!(
        bad.text.contains("data-testid=\"status-chart\""),
        "the default week is still shown"
    );
    // A filter that cannot be read says so beside its field rather than silently showing another week.
    let garbage = page(&app, "/analytics?from=garbage&restaurant_id=nope", &cookies).await;
    assert_eq!(garbage.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(garbage.text.contains("data-testid=\"filter-problems\""));
    assert!(
        garbage
            .text
            .contains("id=\"from-problem\">&#8220;garbage&#8221; is not a date")
            || garbage
                .text
                .contains("id=\"from-problem\">“garbage” is not a date"),
        "{}",
        garbage.text
    );
    assert!(garbage.text.contains("id=\"restaurant_id-problem\""));
    assert_eq!(
        page(&app, "/analytics?from=&to=", &cookies).await.status,
        StatusCode::OK,
        "empty fields are the defaults, not mistakes"
    );

    app.user("diner2@example.com", Role::Customer).await;
    let diner = sign_in(&app, "diner2@example.com", "password-123").await;
    let refused = page(&app, "/analytics", &diner).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_kam_dashboard_shows_calls_logs_interactions_and_keeps_to_the_kams_restaurants() {
    let app = TestApp::spawn().await;
    brigade_app::demo::load(&app.state).await.unwrap();
    let kiran = sign_in(&app, "kam@demo.brigade", "brigade-demo").await;
    let csrf = kiran
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("brigade_csrf=")
        .to_string();
    let today = page(&app, "/crm", &kiran).await;
    today.assert_status(StatusCode::OK);
    assert!(today.text.contains("(Asia/Kolkata)"), "{}", today.text);
    assert!(today.text.contains("data-testid=\"tier-chart\""));

    // Kiran's list holds only Kiran's restaurants: Ember & Oak is Olivia's.
    let list = page(&app, "/crm/restaurants", &kiran).await;
    list.assert_status(StatusCode::OK);
    assert!(list.text.contains("Midnight Noodle Bar"));
    assert!(!list.text.contains("Ember &amp; Oak"), "{}", list.text);
    let noodle = brigade_app::demo::restaurant_id_of(&app.state, "demo-midnight-noodle")
        .await
        .unwrap();
    let ember = brigade_app::demo::restaurant_id_of(&app.state, "demo-ember-oak")
        .await
        .unwrap();
    page(&app, &format!("/crm/restaurants/{ember}"), &kiran)
        .await
        .assert_status(StatusCode::NOT_FOUND);
    let detail = page(&app, &format!("/crm/restaurants/{noodle}"), &kiran).await;
    detail.assert_status(StatusCode::OK);
    assert!(
        detail.text.contains("data-testid=\"breakdown\""),
        "scored at load"
    );
    // The score's parts in words, not code names; contacts can be called and written to from the page.
    assert!(
        detail
            .text
            .contains("<td>Orders in the last 30 days, against the 30 before</td>")
    );
    assert!(!detail.text.contains("<td>orders_30d</td>"));
    assert!(detail.text.contains("href=\"tel:"), "{}", detail.text);

    // Logging with the plain form redirects back; a forged token is refused and stores nothing.
    let forged = form(
        &app,
        &format!("/crm/restaurants/{noodle}/interactions"),
        &kiran,
        "csrf=forged&kind=call&outcome=positive&notes=forged",
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let logged = form(
        &app,
        &format!("/crm/restaurants/{noodle}/interactions"),
        &kiran,
        &format!("csrf={csrf}&kind=meeting&outcome=positive&notes=Tasting+menu+agreed&occurred_at=&follow_up_on="),
    )
    .await;
    assert_eq!(logged.status, StatusCode::SEE_OTHER, "{}", logged.text);
    let detail = page(&app, &format!("/crm/restaurants/{noodle}"), &kiran).await;
    assert!(detail.text.contains("Tasting menu agreed"));
    assert!(!detail.text.contains("forged"));
    // In place (htmx), the answer is the page as it now is: the timeline's count, the call plan and a
    // fresh form, which htmx swaps in.
    let timeline_total = |html: &str| -> u64 {
        let after = html
            .split("data-testid=\"timeline-total\">Timeline (")
            .nth(1)
            .unwrap();
        after[..after.find(')').unwrap()].parse().unwrap()
    };
    let before = timeline_total(&detail.text);
    let in_place = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri(format!("/crm/restaurants/{noodle}/interactions"))
                .header("hx-request", "true")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, &kiran)
                .body(Body::from(format!(
                    "csrf={csrf}&kind=call&outcome=positive&notes=Called+in+place&occurred_at=&follow_up_on="
                )))
                .unwrap(),
        )
        .await;
    in_place.assert_status(StatusCode::OK);
    assert_eq!(timeline_total(&in_place.text), before + 1);
    assert!(in_place.text.contains("Called in place"));
    assert!(
        in_place.text.contains("rows=\"2\"></textarea>"),
        "a fresh form"
    );
    let plan = in_place
        .text
        .split("data-testid=\"call-plan\"")
        .nth(1)
        .unwrap();
    let plan = &plan[..plan.find("Contacts").unwrap()];
    let today_in_kolkata = app
        .state
        .now()
        .with_timezone(&chrono_tz::Asia::Kolkata)
        .format("%Y-%m-%d")
        .to_string();
    assert!(
        plan.contains(&format!("Last call: {today_in_kolkata}")),
        "{plan}"
    );
    // Times are entered and shown in the viewer's zone (Kiran: Asia/Kolkata, UTC+05:30).
    let earlier = form(
        &app,
        &format!("/crm/restaurants/{noodle}/interactions"),
        &kiran,
        &format!("csrf={csrf}&kind=call&outcome=neutral&notes=Morning+check&occurred_at=2026-06-12T09%3A30&follow_up_on="),
    )
    .await;
    assert_eq!(earlier.status, StatusCode::SEE_OTHER, "{}", earlier.text);
    let detail = page(&app, &format!("/crm/restaurants/{noodle}"), &kiran).await;
    assert!(
        detail.text.contains("2026-06-12 09:30 IST"),
        "{}",
        detail.text
    );
    assert!(!detail.text.contains(" UTC<"), "{}", detail.text);

    // Settings: a split day in the KAM's zone; nonsense is refused with the line named.
    let saved = form(
        &app,
        "/crm/settings",
        &kiran,
        &format!("csrf={csrf}&first_name=Kiran&last_name=Mehta&phone=&region=West&timezone=Asia%2FKolkata&working_hours=Mon+10%3A00-13%3A00%0AMon+14%3A00-18%3A00"),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let settings = page(&app, "/crm/settings", &kiran).await;
    assert!(
        settings.text.contains("Mon 10:00-13:00\nMon 14:00-18:00"),
        "{}",
        settings.text
    );
    let bad = form(
        &app,
        "/crm/settings",
        &kiran,
        &format!("csrf={csrf}&first_name=Kiran&last_name=Mehta&phone=&region=&timezone=Asia%2FKolkata&working_hours=Funday+9-5"),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text.contains("line 1"), "{}", bad.text);
    // The form comes back with what was typed and every problem beside its field, in words; nothing
    // is saved.
    let bad = form(
        &app,
        "/crm/settings",
        &kiran,
        &format!("csrf={csrf}&first_name=Kiran&last_name=Mehta&phone=12&region=East&timezone=Mars%2FOlympus&working_hours=Mon+10%3A00-13%3A00%0AFunday+9-5%0ATue+25%3A00-26%3A00"),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.text.contains("data-testid=\"settings-form\""),
        "the form itself, not a dead end"
    );
    assert!(bad.text.contains("Nothing was saved yet"));
    let hours_problem = bad
        .text
        .split("data-testid=\"working-hours-problem\">")
        .nth(1)
        .expect("the hours' problem beside the field");
    assert!(
        hours_problem.contains("line 2") && hours_problem.contains("line 3"),
        "{hours_problem}"
    );
    assert!(
        hours_problem.starts_with("Working hours"),
        "in words, not working_hours: {hours_problem}"
    );
    assert!(
        bad.text.contains("id=\"phone-problem\">Phone"),
        "{}",
        bad.text
    );
    assert!(
        bad.text.contains("id=\"timezone-problem\">Time zone"),
        "{}",
        bad.text
    );
    assert!(
        bad.text.contains("value=\"East\""),
        "the region typed is kept"
    );
    assert!(bad.text.contains("Funday 9-5"), "the hours typed are kept");
    assert!(!bad.text.contains("working_hours:"), "{}", bad.text);
    let unchanged = page(&app, "/crm/settings", &kiran).await;
    assert!(
        unchanged.text.contains("value=\"West\""),
        "nothing was saved"
    );
    assert!(unchanged.text.contains("Mon 10:00-13:00\nMon 14:00-18:00"));

    // A contact with a bad phone and e-mail comes back beside its fields, its name kept.
    let bad_contact = form(
        &app,
        &format!("/crm/restaurants/{noodle}/contacts"),
        &kiran,
        &format!("csrf={csrf}&name=Priya+Nair&phone=abc&email=not-an-address&role=manager"),
    )
    .await;
    assert_eq!(bad_contact.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_contact.text.contains("value=\"Priya Nair\""),
        "the name is kept"
    );
    assert!(
        bad_contact
            .text
            .contains("data-testid=\"contact-phone-problem\">Phone")
    );
    assert!(
        bad_contact
            .text
            .contains("data-testid=\"contact-email-problem\">E-mail address")
    );
    assert!(
        bad_contact
            .text
            .contains("<option selected>manager</option>")
    );
    // The interaction form names a bad time in words and keeps the note.
    let bad_log = form(
        &app,
        &format!("/crm/restaurants/{noodle}/interactions"),
        &kiran,
        &format!("csrf={csrf}&kind=call&outcome=positive&notes=Keep+this+note&occurred_at=yesterday&follow_up_on=soon"),
    )
    .await;
    assert_eq!(bad_log.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_log.text.contains(">Keep this note</textarea>"),
        "{}",
        bad_log.text
    );
    assert!(bad_log.text.contains(
        "id=\"occurred_at-problem\">The time of the interaction is not a date and time."
    ));
    assert!(
        bad_log
            .text
            .contains("id=\"follow_up_on-problem\">The follow-up date is not a date.")
    );

    // A customer is turned away; the admin reassigns through the form.
    let chloe = sign_in(&app, "customer@demo.brigade", "brigade-demo").await;
    page(&app, "/crm", &chloe)
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let ada = sign_in(&app, "admin@demo.brigade", "brigade-demo").await;
    let ada_csrf = ada
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("brigade_csrf=")
        .to_string();
    let olivia = brigade_app::entities::users::Entity::find()
        .filter(brigade_app::entities::users::Column::Email.eq("kam.london@demo.brigade"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let moved = form(
        &app,
        "/crm/reassign",
        &ada,
        &format!(
            "csrf={ada_csrf}&restaurant_id={noodle}&to_kam_id={}&note=cover+for+leave",
            olivia.id
        ),
    )
    .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.text);
    let location = moved.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        location,
        format!("/crm/reassign?done=1&asked=1&to={}", olivia.id)
    );
    let said = page(&app, &location, &ada).await;
    assert!(
        said.text
            .contains("1 restaurant reassigned to Olivia Hart."),
        "{}",
        said.text
    );
    // Reassigning to the KAM it already has changes nothing, and says so (not in green).
    let again = form(
        &app,
        "/crm/reassign",
        &ada,
        &format!(
            "csrf={ada_csrf}&restaurant_id={noodle}&to_kam_id={}&note=again",
            olivia.id
        ),
    )
    .await;
    let location = again.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    let said = page(&app, &location, &ada).await;
    assert!(
        said.text
            .contains("Nothing changed: the restaurant you ticked already belongs to Olivia Hart."),
        "{}",
        said.text
    );
    assert!(said.text.contains("alert alert-info"));
    page(&app, &format!("/crm/restaurants/{noodle}"), &kiran)
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_venue_team_prints_qr_codes_runs_the_queue_and_the_kitchen_from_the_browser() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = crate::orders::shop(&app, &admin, "Web Team", serde_json::json!({})).await;
    let owner = sign_in(&app, "owner@web-team.example", "password-123").await;
    let staff = sign_in(&app, "staff@web-team.example", "password-123").await;
    let csrf_of = |cookies: &str| {
        cookies
            .split("; ")
            .find_map(|c| c.strip_prefix("brigade_csrf="))
            .unwrap()
            .to_string()
    };

    // The team's navigation leads to its screens.
    let home = page(&app, "/", &staff).await;
    for link in ["/orders", "/kitchen", "/qr"] {
        assert!(
            home.text.contains(&format!("href=\"{link}\"")),
            "{link} missing"
        );
    }

    // QR sheet: the owner adds tables, each drawn as SVG; staff may look but not revoke.
    let sheet = format!("/venues/{}/qr", s.id);
    for table in ["T10", "T2"] {
        let added = form(
            &app,
            &sheet,
            &owner,
            &format!("csrf={}&table={table}", csrf_of(&owner)),
        )
        .await;
        assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text);
    }
    let shown = page(&app, &sheet, &staff).await;
    shown.assert_status(StatusCode::OK);
    assert_eq!(shown.text.matches("data-testid=\"qr-card\"").count(), 2);
    assert!(
        shown.text.find("Table T2").unwrap() < shown.text.find("Table T10").unwrap(),
        "natural order"
    );
    assert!(shown.text.contains("<svg"), "codes are drawn inline");
    assert!(!shown.text.contains("Revoke"), "staff do not manage codes");
    let codes = app
        .get(&format!("/api/venues/{}/qr-codes", s.id), Some(&s.owner))
        .await;
    let first = codes.data()[0]["id"].as_str().unwrap().to_string();
    let png = page(&app, &format!("{sheet}/{first}/image?format=png"), &staff).await;
    png.assert_status(StatusCode::OK);
    assert_eq!(png.headers[header::CONTENT_TYPE], "image/png");
    assert!(
        png.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let refused = form(
        &app,
        &format!("{sheet}/{first}/revoke"),
        &staff,
        &format!("csrf={}", csrf_of(&staff)),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let regenerated = form(
        &app,
        &format!("{sheet}/{first}/regenerate"),
        &owner,
        &format!("csrf={}", csrf_of(&owner)),
    )
    .await;
    assert_eq!(regenerated.status, StatusCode::SEE_OTHER);
    let after = app
        .get(
            &format!("/api/venues/{}/qr-codes?include_revoked=true", s.id),
            Some(&s.owner),
        )
        .await;
    assert_eq!(
        after.data().as_array().unwrap().len(),
        3,
        "the old code is kept, revoked"
    );

    // The queue: today's order with its next move; accepting needs the page's token.
    let (_, customer, _) = app.user("hungry@example.com", Role::Customer).await;
    let placed = app
        .post(
            "/api/orders",
            serde_json::json!({"venue_id": s.id, "order_type": "TAKEOUT", "items": [{"menu_item_id": s.ramen, "quantity": 1}]}),
            Some(&customer),
        )
        .await;
    let order = placed.data()["id"].as_str().unwrap().to_string();
    let list = page(
        &app,
        &format!("/venues/{}/orders/today?status=open", s.id),
        &staff,
    )
    .await;
    list.assert_status(StatusCode::OK);
    let body: serde_json::Value = serde_json::from_str(&list.text).unwrap();
    assert_eq!(body["pending"], 1);
    assert_eq!(body["orders"][0]["id"], order);
    assert_eq!(body["orders"][0]["next"], serde_json::json!(["CONFIRMED"]));
    assert_eq!(body["orders"][0]["can_mark_paid"], true);
    let bad = page(
        &app,
        &format!("/venues/{}/orders/today?status=COOKING", s.id),
        &staff,
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let json_post = |path: String, cookies: String, token: Option<String>, body: &'static str| {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::COOKIE, cookies);
        if let Some(token) = token {
            request = request.header("x-csrf-token", token);
        }
        request.body(Body::from(body)).unwrap()
    };
    let status_path = format!("/venues/{}/orders/{order}/status", s.id);
    let forged = app
        .send(json_post(
            status_path.clone(),
            staff.clone(),
            None,
            r#"{"status":"CONFIRMED"}"#,
        ))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let no_reason = app
        .send(json_post(
            status_path.clone(),
            staff.clone(),
            Some(csrf_of(&staff)),
            r#"{"status":"CANCELLED"}"#,
        ))
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let accepted = app
        .send(json_post(
            status_path,
            staff.clone(),
            Some(csrf_of(&staff)),
            r#"{"status":"CONFIRMED"}"#,
        ))
        .await;
    accepted.assert_status(StatusCode::OK);
    let paid = app
        .send(json_post(
            format!("/venues/{}/orders/{order}/paid", s.id),
            staff.clone(),
            Some(csrf_of(&staff)),
            "{}",
        ))
        .await;
    paid.assert_status(StatusCode::OK);

    // The kitchen display's data: the ticket, then bumped from the page.
    let tickets = page(&app, &format!("/venues/{}/kitchen/tickets", s.id), &staff).await;
    let body: serde_json::Value = serde_json::from_str(&tickets.text).unwrap();
    let line = body["tickets"][0]["lines"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bumped = app
        .send(json_post(
            format!("/venues/{}/kitchen/lines/{line}/bump", s.id),
            staff.clone(),
            Some(csrf_of(&staff)),
            "{}",
        ))
        .await;
    bumped.assert_status(StatusCode::OK);
    let now = app
        .get(&format!("/api/orders/{order}"), Some(&s.staff))
        .await;
    assert_eq!(now.data()["status"], "READY");
    assert_eq!(now.data()["payment_status"], "PAID");

    // The venue's analytics: for its owner and managers, scoped to their venues; not for its staff.
    let analytics = page(&app, "/analytics", &owner).await;
    analytics.assert_status(StatusCode::OK);
    assert!(analytics.text.contains("Order analytics"));
    assert_eq!(
        page(&app, "/analytics", &staff).await.status,
        StatusCode::FORBIDDEN
    );
    let home = page(&app, "/", &owner).await;
    assert!(
        home.text
            .contains(&format!("/analytics?restaurant_id={}", s.id))
    );

    // Another venue's team sees none of it.
    let other = crate::orders::shop(&app, &admin, "Other Team", serde_json::json!({})).await;
    let _ = other;
    let stranger = sign_in(&app, "staff@other-team.example", "password-123").await;
    assert_eq!(
        page(&app, &sheet, &stranger).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        page(
            &app,
            &format!("/venues/{}/kitchen/tickets", s.id),
            &stranger
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let other_owner = sign_in(&app, "owner@other-team.example", "password-123").await;
    assert_eq!(
        page(
            &app,
            &format!("/analytics?restaurant_id={}", s.id),
            &other_owner
        )
        .await
        .status,
        StatusCode::FORBIDDEN,
        "another venue's analytics"
    );
}

#[tokio::test]
async fn a_closed_venues_page_shows_when_it_opens_and_takes_orders_ahead_for_pickup() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    // The test clock is Monday 2026-06-15 12:00 UTC (13:00 in London); the venue opens Tuesday evening.
    let s = crate::orders::shop(
        &app,
        &admin,
        "Evening Only",
        serde_json::json!({"hours": [{"weekday": 1, "opens": "18:00", "closes": "22:00"}]}),
    )
    .await;
    let qr = app
        .post(
            &format!("/api/venues/{}/generate-qr", s.id),
            serde_json::json!({"table": "T3"}),
            Some(&s.owner),
        )
        .await;
    let code = qr.data()["code"].as_str().unwrap().to_string();
    let shown = app.get(&format!("/q/{code}"), None).await;
    shown.assert_status(StatusCode::OK);
    assert!(shown.text.contains("Closed now"));
    assert!(
        shown
            .text
            .contains("data-testid=\"next-opening\">Tue 18:00<"),
        "{}",
        shown.text
    );
    assert!(shown.text.contains("Tue 18:00-22:00") && shown.text.contains("Mon closed"));
    assert!(shown.text.contains("Order for pickup"));
    // The first slot offered is a quarter past opening, as a UTC instant the API takes.
    assert!(
        shown
            .text
            .contains("<option value=\"2026-06-16T17:15:00Z\">Tue 18:15</option>"),
        "{}",
        shown.text
    );
    assert!(
        !shown.text.contains("2026-06-16T20:15:00Z"),
        "two hours of slots at most"
    );
    let (_, customer, _) = app.user("early@example.com", Role::Customer).await;
    let ahead = app
        .post(
            "/api/orders",
            serde_json::json!({"venue_id": s.id, "order_type": "TAKEOUT", "pickup_time": "2026-06-16T17:15:00Z",
                "items": [{"menu_item_id": s.ramen, "quantity": 1}]}),
            Some(&customer),
        )
        .await;
    ahead.assert_status(StatusCode::CREATED);
    // Ordering for now is refused while closed.
    app.post(
        "/api/orders",
        serde_json::json!({"venue_id": s.id, "order_type": "TAKEOUT", "items": [{"menu_item_id": s.ramen, "quantity": 1}]}),
        Some(&customer),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "order_not_possible");
}

#[tokio::test]
async fn the_menu_editor_and_the_reservation_book_call_the_api_with_the_session() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = crate::orders::shop(&app, &admin, "Web Book", serde_json::json!({})).await;
    let staff = sign_in(&app, "staff@web-book.example", "password-123").await;
    let csrf = staff
        .split("; ")
        .find_map(|c| c.strip_prefix("brigade_csrf="))
        .unwrap()
        .to_string();

    // The team's navigation and both pages.
    let home = page(&app, "/", &staff).await;
    for link in ["/menu", "/reservations", "/inventory"] {
        assert!(
            home.text.contains(&format!("href=\"{link}\"")),
            "{link} missing"
        );
    }
    let start = page(&app, "/menu", &staff).await;
    assert_eq!(
        start.headers[header::LOCATION],
        format!("/venues/{}/menu", s.id).as_str()
    );
    let editor = page(&app, &format!("/venues/{}/menu", s.id), &staff).await;
    editor.assert_status(StatusCode::OK);
    assert!(editor.text.contains("data-testid=\"menu-editor\""));
    assert!(
        editor.text.contains("data-manage=\"false\""),
        "staff do not rename or reprice"
    );
    assert!(editor.text.contains("/static/sortable.min.js"));
    let stock = page(&app, &format!("/venues/{}/inventory", s.id), &staff).await;
    stock.assert_status(StatusCode::OK);
    assert!(stock.text.contains("data-testid=\"stock\""));
    assert!(stock.text.contains("/static/inventory.js"));
    assert!(
        !stock.text.contains("add-ingredient"),
        "staff receive, count and log waste; managers add ingredients"
    );
    let book = page(&app, &format!("/venues/{}/reservations", s.id), &staff).await;
    book.assert_status(StatusCode::OK);
    assert!(book.text.contains("data-testid=\"book\""));
    assert!(book.text.contains("Times in Europe/London"));
    // Its live feed is the team's (the stream itself is followed in the browser check).
    let mut request = Request::builder()
        .uri(format!("/venues/{}/reservations/events", s.id))
        .header(header::COOKIE, staff.clone())
        .body(Body::empty())
        .unwrap();
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(app.client));
    let events = tower::ServiceExt::oneshot(brigade_app::http::service(app.state.clone()), request)
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    assert_eq!(events.headers()[header::CONTENT_TYPE], "text/event-stream");
    drop(events);
    let sortable = app.get("/static/sortable.min.js", None).await;
    sortable.assert_status(StatusCode::OK);
    assert!(sortable.text.contains("Sortable"));

    // An outsider's session sees neither.
    app.user("outsider@web-book.example", Role::Customer).await;
    let outsider = sign_in(&app, "outsider@web-book.example", "password-123").await;
    for path in ["menu", "reservations", "reservations/events", "inventory"] {
        assert_eq!(
            page(&app, &format!("/venues/{}/{path}", s.id), &outsider)
                .await
                .status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }

    // The pages' API calls: the session with the page's CSRF token is the staff member...
    let api_call = |token: Option<String>| {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(format!(
                "/api/venues/{}/menu/items/{}/eighty-six",
                s.id, s.ramen
            ))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::COOKIE, staff.clone());
        if let Some(token) = token {
            request = request.header("x-csrf-token", token);
        }
        request
            .body(Body::from(r#"{"until_tomorrow": true}"#))
            .unwrap()
    };
    let done = app.send(api_call(Some(csrf.clone()))).await;
    done.assert_status(StatusCode::OK);
    assert_eq!(done.data()["is_available"], false);
    // ...and without it, or with another token, the cookie alone authenticates nothing (a form on
    // another site could send the cookie, never the token).
    app.send(api_call(None))
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    app.send(api_call(Some("x".repeat(csrf.len()))))
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    // A session that has ended says so, for the page to ask to sign in again.
    let signed_out = form(&app, "/logout", &staff, &format!("csrf={csrf}")).await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    let ended = app.send(api_call(Some(csrf))).await;
    ended.assert_error(StatusCode::UNAUTHORIZED, "session_expired");
}

#[tokio::test]
async fn analytics_names_each_state_once_across_qr_channel_and_imported_orders() {
    let app = TestApp::spawn().await;
    brigade_app::demo::load(&app.state).await.unwrap();
    app.clock.advance(chrono::Duration::seconds(10));
    brigade_app::analytics::rollup::catch_up(&app.state)
        .await
        .unwrap();
    let cookies = sign_in(&app, "admin@demo.brigade", "brigade-demo").await;
    let today = app.state.now().date_naive();
    let analytics = page(
        &app,
        &format!(
            "/analytics?from={}&to={}",
            today - chrono::Duration::days(120),
            today + chrono::Duration::days(1)
        ),
        &cookies,
    )
    .await;
    analytics.assert_status(StatusCode::OK);
    let table = analytics
        .text
        .split("data-testid=\"status-table\"")
        .nth(1)
        .expect("a status table");
    assert_eq!(
        table
            .matches("<td data-label=\"Status\">COMPLETED</td>")
            .count(),
        1,
        "{table}"
    );
    assert!(
        !table.contains(">completed</td>"),
        "channel, QR and imported orders share the state names: {table}"
    );
}

/// Signs in through the form with a `next` field; returns where the answer sends the browser.
async fn sign_in_to(app: &TestApp, email: &str, next: &str) -> String {
    let login_page = app.get("/login", None).await;
    let csrf = cookie(&login_page, "brigade_csrf").expect("csrf cookie");
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", &csrf)
        .append_pair("email", email)
        .append_pair("password", "brigade-demo")
        .append_pair("next", next)
        .finish();
    let answer = form(app, "/login", &format!("brigade_csrf={csrf}"), &body).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text);
    answer.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn signing_in_from_a_deep_link_returns_to_it_and_only_to_this_site() {
    let app = TestApp::spawn().await;
    brigade_app::demo::load(&app.state).await.unwrap();
    let asked = app.get("/crm/restaurants?q=sakura", None).await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER);
    assert_eq!(
        asked.headers[header::LOCATION],
        "/login?next=%2Fcrm%2Frestaurants%3Fq%3Dsakura"
    );
    let form_page = app
        .get("/login?next=%2Fcrm%2Frestaurants%3Fq%3Dsakura", None)
        .await;
    assert!(
        form_page
            .text
            .contains("name=\"next\" value=\"/crm/restaurants?q=sakura\""),
        "{}",
        form_page.text
    );
    assert_eq!(
        sign_in_to(&app, "kam@demo.brigade", "/crm/restaurants?q=sakura").await,
        "/crm/restaurants?q=sakura"
    );
    // Only paths on this site: anything else lands on home.
    for elsewhere in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "",
    ] {
        assert_eq!(
            sign_in_to(&app, "kam@demo.brigade", elsewhere).await,
            "/",
            "{elsewhere}"
        );
    }
    // An in-place request without a session is told to sign in again, not sent the sign-in page.
    let in_place = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/crm/restaurants/00000000-0000-0000-0000-000000000000/interactions")
                .header("hx-request", "true")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("csrf=x&kind=call&outcome=positive&notes=kept"))
                .unwrap(),
        )
        .await;
    assert_eq!(in_place.status, StatusCode::UNAUTHORIZED);
    assert!(in_place.text.contains("Sign in again"), "{}", in_place.text);
    assert!(!in_place.text.contains("<form"));
}

#[tokio::test]
async fn the_fleet_lists_a_down_store_first_and_alerts_its_kam_once_then_on_recovery() {
    use brigade_app::entities::mail_outbox;
    use chrono::TimeZone;
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.clock
        .set(chrono::Utc.with_ymd_and_hms(2026, 6, 10, 12, 0, 0).unwrap());
    // Three stores open around the clock: one down since 11:15 (the midpoint of its last active and
    // first inactive polls), one up, one whose last poll is three hours old.
    app.post(
        "/api/monitoring/polls",
        serde_json::json!({"polls": [
            {"store_id": "fleet-down", "timestamp_utc": "2026-06-10 11:00:00 UTC", "status": "active"},
            {"store_id": "fleet-down", "timestamp_utc": "2026-06-10 11:30:00 UTC", "status": "inactive"},
            {"store_id": "fleet-down", "timestamp_utc": "2026-06-10 11:55:00 UTC", "status": "inactive"},
            {"store_id": "fleet-up", "timestamp_utc": "2026-06-10 11:50:00 UTC", "status": "active"},
            {"store_id": "fleet-quiet", "timestamp_utc": "2026-06-10 09:00:00 UTC", "status": "active"},
            // Down only since 11:47:30: under the 15 minutes that raise an alert.
            {"store_id": "fleet-brief", "timestamp_utc": "2026-06-10 11:40:00 UTC", "status": "active"},
            {"store_id": "fleet-brief", "timestamp_utc": "2026-06-10 11:55:00 UTC", "status": "inactive"}
        ]}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::CREATED);
    let id_of = |store: &'static str| {
        let app = &app;
        let admin = admin.clone();
        async move {
            app.get(
                &format!("/api/restaurants?external_id={store}"),
                Some(&admin),
            )
            .await
            .data()["items"][0]["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let down = id_of("fleet-down").await;
    // The down store's KAM, and a manager of the venue.
    let (kam_id, kam, _) = app.user("fleet.kam@example.com", Role::Kam).await;
    app.post(
        "/api/crm/reassignments",
        serde_json::json!({"restaurant_ids": [down], "to_kam_id": kam_id}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::OK);

    let done = brigade_app::monitoring::fleet::refresh(&app.state)
        .await
        .unwrap();
    assert_eq!((done.stores, done.alerted, done.recovered), (4, 1, 0));
    // Worst first: down, then no data, then up.
    let cookies = sign_in(&app, "root@example.com", "password-123").await;
    let overview = page(&app, "/monitoring", &cookies).await;
    overview.assert_status(StatusCode::OK);
    let states: Vec<&str> = overview
        .text
        .split("data-testid=\"fleet-row\" data-state=\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert_eq!(
        states,
        ["down", "down", "no_data", "up"],
        "{}",
        overview.text
    );
    let alerts = overview
        .text
        .split("data-testid=\"open-alerts\"")
        .nth(1)
        .unwrap();
    let alerts = &alerts[..alerts.find("</div>").unwrap()];
    assert!(
        alerts.contains("fleet-down") && !alerts.contains("fleet-brief"),
        "{alerts}"
    );
    assert!(overview.text.contains("for 45 min"), "down since 11:15");
    assert!(overview.text.contains("data-testid=\"open-alerts\""));
    // Filtered by KAM: only her store.
    let hers = page(&app, &format!("/monitoring?kam={kam_id}"), &cookies).await;
    assert_eq!(hers.text.matches("data-testid=\"fleet-row\"").count(), 1);
    assert!(hers.text.contains("fleet-down"));
    let by_state = page(&app, "/monitoring?state=no_data", &cookies).await;
    assert_eq!(
        by_state.text.matches("data-testid=\"fleet-row\"").count(),
        1
    );
    assert!(by_state.text.contains("fleet-quiet"));

    // The KAM was told in the app and by e-mail, once.
    let inbox = app.get("/api/notifications", Some(&kam)).await;
    assert_eq!(inbox.text.matches("is down").count(), 1, "{}", inbox.text);
    let mails = || async {
        mail_outbox::Entity::find()
            .filter(mail_outbox::Column::ToAddress.eq("fleet.kam@example.com"))
            .all(&app.state.db)
            .await
            .unwrap()
    };
    assert_eq!(mails().await.len(), 1);
    app.clock.advance(chrono::Duration::minutes(1));
    let again = brigade_app::monitoring::fleet::refresh(&app.state)
        .await
        .unwrap();
    assert_eq!(again.alerted, 0, "one alert per outage");
    assert_eq!(mails().await.len(), 1);

    // Back up: the alert closes and the KAM hears so.
    app.post(
        "/api/monitoring/polls",
        serde_json::json!({"polls": [
            {"store_id": "fleet-down", "timestamp_utc": "2026-06-10 12:01:00 UTC", "status": "active"}
        ]}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::CREATED);
    app.clock.advance(chrono::Duration::minutes(1));
    let back = brigade_app::monitoring::fleet::refresh(&app.state)
        .await
        .unwrap();
    assert_eq!((back.alerted, back.recovered), (0, 1));
    let inbox = app.get("/api/notifications", Some(&kam)).await;
    assert!(inbox.text.contains("is back up"), "{}", inbox.text);
    // Her inbox page shows both, the alert linking to the store's uptime.
    let kam_cookies = sign_in(&app, "fleet.kam@example.com", "password-123").await;
    let inbox_page = page(&app, "/notifications", &kam_cookies).await;
    inbox_page.assert_status(StatusCode::OK);
    // The handover, the alert and the recovery.
    assert_eq!(
        inbox_page
            .text
            .matches("data-testid=\"notification\"")
            .count(),
        3
    );
    assert!(inbox_page.text.contains("Restaurants assigned to you"));
    assert!(
        inbox_page
            .text
            .contains(&format!("href=\"/monitoring/stores/{down}\""))
    );
    assert!(inbox_page.text.contains("3 new"));
    assert_eq!(mails().await.len(), 2);
    let overview = page(&app, "/monitoring", &cookies).await;
    assert!(!overview.text.contains("data-testid=\"open-alerts\""));
}
