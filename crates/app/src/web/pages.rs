//! Page handlers.

use super::form::Form;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde::Deserialize;

use super::{Layout, error_page};
use crate::accounts::sessions::{self, WebUser};
use crate::accounts::{Role, memberships_of, service};
use crate::entities::{crm_accounts, restaurants, users};
use crate::http::middleware::ClientIp;
use crate::restaurants::{hours_of, view as restaurant_view};
use crate::state::AppState;

pub(super) fn render<T: Template>(page: &T) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => {
            tracing::error!(%err, "template failed to render");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The page could not be shown.",
            )
        }
    }
}

pub(super) fn server_error(err: impl std::fmt::Display) -> Response {
    tracing::error!(%err, "page failed");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The page could not be shown; try again.",
    )
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    error: Option<String>,
    email: String,
    /// The page to go to after signing in (a path on this site), or empty for home.
    next: String,
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    next: Option<String>,
}

/// Where to go after signing in: `next` when it is a path on this site, else home.
fn after_login(next: Option<&str>) -> String {
    next.and_then(sessions::safe_next)
        .unwrap_or("/")
        .to_string()
}

pub async fn login_form(
    State(state): State<AppState>,
    jar: CookieJar,
    user: Option<WebUser>,
    Query(query): Query<LoginQuery>,
) -> Response {
    let next = after_login(query.next.as_deref());
    if user.is_some() {
        return Redirect::to(&next).into_response();
    }
    let (jar, csrf) = sessions::csrf_token(&state, jar);
    (
        jar,
        render(&LoginPage {
            layout: Layout::anonymous("Sign in", csrf),
            error: None,
            email: String::new(),
            next: if next == "/" { String::new() } else { next },
        }),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    csrf: String,
    email: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    ClientIp(ip): ClientIp,
    Form(form): Form<LoginForm>,
) -> Response {
    if sessions::check_csrf(&jar, &form.csrf).is_err() {
        return error_page(
            StatusCode::FORBIDDEN,
            "Form expired",
            "The sign-in form expired; go back, reload and try again.",
        );
    }
    match service::check_credentials(&state, &form.email, &form.password, ip).await {
        Ok(user) => {
            let user = match service::record_login(&state, user).await {
                Ok(user) => user,
                Err(err) => return server_error(err.message),
            };
            match sessions::start(&state, jar, user.id).await {
                Ok(jar) => (jar, Redirect::to(&after_login(form.next.as_deref()))).into_response(),
                Err(err) => server_error(err.message),
            }
        }
        Err(err) => {
            let status = err.status;
            let message = if status == StatusCode::TOO_MANY_REQUESTS {
                format!(
                    "Too many failed sign-ins from your address. Try again in {} seconds.",
                    err.retry_after.map(|d| d.as_secs().max(1)).unwrap_or(60)
                )
            } else {
                "Wrong e-mail address or password.".to_string()
            };
            let (jar, csrf) = sessions::csrf_token(&state, jar);
            let page = LoginPage {
                layout: Layout::anonymous("Sign in", csrf),
                error: Some(message),
                email: form.email,
                next: form
                    .next
                    .as_deref()
                    .and_then(sessions::safe_next)
                    .unwrap_or_default()
                    .to_string(),
            };
            (status, jar, render(&page)).into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Response {
    if sessions::check_csrf(&jar, &form.csrf).is_err() {
        return error_page(
            StatusCode::FORBIDDEN,
            "Form expired",
            "Reload the page and sign out again.",
        );
    }
    match sessions::end(&state, jar).await {
        Ok(jar) => (jar, Redirect::to("/login")).into_response(),
        Err(err) => server_error(err.message),
    }
}

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetPage {
    layout: Layout,
    token: String,
    error: Option<String>,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct ResetQuery {
    token: Option<String>,
}

pub async fn reset_form(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<ResetQuery>,
) -> Response {
    let (jar, csrf) = sessions::csrf_token(&state, jar);
    let page = ResetPage {
        layout: Layout::anonymous("Reset password", csrf),
        token: query.token.unwrap_or_default(),
        error: None,
        notice: None,
    };
    (jar, render(&page)).into_response()
}

#[derive(Deserialize)]
pub struct ResetForm {
    csrf: String,
    step: String,
    email: Option<String>,
    token: Option<String>,
    new_password: Option<String>,
}

pub async fn reset(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<ResetForm>,
) -> Response {
    if sessions::check_csrf(&jar, &form.csrf).is_err() {
        return error_page(
            StatusCode::FORBIDDEN,
            "Form expired",
            "Reload the page and try again.",
        );
    }
    let (jar, csrf) = sessions::csrf_token(&state, jar);
    let mut page = ResetPage {
        layout: Layout::anonymous("Reset password", csrf),
        token: String::new(),
        error: None,
        notice: None,
    };
    if form.step == "confirm" {
        let token = form.token.unwrap_or_default();
        match service::confirm_password_reset(
            &state,
            &token,
            &form.new_password.unwrap_or_default(),
        )
        .await
        {
            Ok(()) => {
                page.notice =
                    Some("Your password has been changed. Sign in with the new one.".into())
            }
            Err(err) => {
                page.token = token;
                page.error = Some(match err.errors {
                    Some(errors) => errors
                        .values()
                        .flatten()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("; "),
                    None => err.message,
                });
            }
        }
    } else {
        match service::request_password_reset(&state, &form.email.unwrap_or_default()).await {
            Ok(()) => {
                page.notice = Some(
                    "If an account exists for this address, a reset e-mail is on its way.".into(),
                )
            }
            Err(err) => return server_error(err.message),
        }
    }
    (jar, render(&page)).into_response()
}

pub struct Stat {
    pub key: &'static str,
    pub label: &'static str,
    pub value: String,
}

pub struct RestaurantRow {
    pub name: String,
    pub region: String,
    pub timezone: String,
    pub local_time: String,
    pub status: String,
    pub open_now: bool,
    pub member_role: String,
    /// The venue's screens for its team (empty for other readers).
    pub links: Vec<(String, &'static str)>,
}

pub struct Profile {
    pub email: String,
    pub role: String,
    pub timezone: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    heading: String,
    subheading: String,
    stats: Vec<Stat>,
    restaurants_title: String,
    restaurants: Vec<RestaurantRow>,
    show_roles: bool,
    profile: Profile,
}

fn local_time(timezone: &str) -> String {
    let tz: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
    Utc::now().with_timezone(&tz).format("%a %H:%M").to_string()
}

async fn restaurant_rows(
    state: &AppState,
    models: Vec<restaurants::Model>,
    roles: &[(uuid::Uuid, String)],
) -> Result<Vec<RestaurantRow>, sea_orm::DbErr> {
    let ids: Vec<uuid::Uuid> = models.iter().map(|m| m.id).collect();
    let mut hours = hours_of(&state.db, &ids)
        .await
        .map_err(|e| sea_orm::DbErr::Custom(e.message))?;
    let now = state.now();
    Ok(models
        .into_iter()
        .map(|m| {
            let role = roles
                .iter()
                .find(|(id, _)| *id == m.id)
                .map(|(_, r)| r.clone())
                .unwrap_or_default();
            let id = m.id;
            let mut links = Vec::new();
            if !role.is_empty() {
                links.push((format!("/venues/{id}/orders"), "Orders"));
                links.push((format!("/venues/{id}/kitchen"), "Kitchen"));
                links.push((format!("/venues/{id}/qr"), "QR codes"));
                if role == "manager" || role == "owner" {
                    links.push((format!("/analytics?restaurant_id={id}"), "Analytics"));
                }
            }
            let view = restaurant_view(m, hours.remove(&id).unwrap_or_default(), now);
            RestaurantRow {
                local_time: local_time(&view.timezone),
                name: view.name,
                region: view.region.unwrap_or_default(),
                timezone: view.timezone,
                status: view.status.as_str().to_string(),
                open_now: view.open_now,
                member_role: role,
                links,
            }
        })
        .collect())
}

pub async fn home(State(state): State<AppState>, jar: CookieJar, user: WebUser) -> Response {
    match build_home(&state, &user).await {
        Ok(mut page) => {
            let memberships = !page.restaurants.is_empty() && page.show_roles;
            let (jar, csrf) = sessions::csrf_token(&state, jar);
            page.layout = Layout::for_user("Home", "/", &user, memberships, csrf);
            (jar, render(&page)).into_response()
        }
        Err(err) => server_error(err),
    }
}

/// How many of a KAM's restaurants her home page lists (the CRM list has them all).
const KAM_HOME_ROWS: u64 = 50;

async fn build_home(state: &AppState, user: &WebUser) -> Result<HomePage, sea_orm::DbErr> {
    let role = user.principal.role;
    let profile = Profile {
        email: user.user.email.clone(),
        role: role.as_str().to_string(),
        timezone: user
            .user
            .timezone
            .clone()
            .unwrap_or_else(|| "not set".into()),
    };
    let mut page = HomePage {
        layout: Layout::anonymous("Home", String::new()),
        heading: format!("Welcome, {}", user.user.first_name),
        subheading: String::new(),
        stats: Vec::new(),
        restaurants_title: String::new(),
        restaurants: Vec::new(),
        show_roles: false,
        profile,
    };
    match role {
        Role::Admin => {
            page.subheading = "Platform overview".into();
            let count_role = |r: Role| {
                users::Entity::find()
                    .filter(users::Column::Role.eq(r.as_str()))
                    .count(&state.db)
            };
            let restaurants_total = restaurants::Entity::find().count(&state.db).await?;
            let active = restaurants::Entity::find()
                .filter(restaurants::Column::Status.eq("active"))
                .count(&state.db)
                .await?;
            let depth = state.jobs.depth().await.unwrap_or_default();
            page.stats = vec![
                Stat {
                    key: "restaurants",
                    label: "Restaurants",
                    value: restaurants_total.to_string(),
                },
                Stat {
                    key: "active-restaurants",
                    label: "Active restaurants",
                    value: active.to_string(),
                },
                Stat {
                    key: "kams",
                    label: "Key account managers",
                    value: count_role(Role::Kam).await?.to_string(),
                },
                Stat {
                    key: "customers",
                    label: "Customer accounts",
                    value: count_role(Role::Customer).await?.to_string(),
                },
                Stat {
                    key: "jobs-pending",
                    label: "Jobs waiting",
                    value: depth.pending.to_string(),
                },
                Stat {
                    key: "jobs-failed",
                    label: "Jobs failed",
                    value: depth.failed.to_string(),
                },
            ];
            let recent = restaurants::Entity::find()
                .order_by_desc(restaurants::Column::CreatedAt)
                .paginate(&state.db, 10)
                .fetch_page(0)
                .await?;
            page.restaurants_title = "Newest restaurants".into();
            page.restaurants = restaurant_rows(state, recent, &[]).await?;
        }
        Role::Kam => {
            // Her restaurants are the ones whose CRM account names her as their KAM; the count is
            // all of them, the list the first page (the CRM list pages through the rest).
            let mine = || {
                restaurants::Entity::find()
                    .filter(restaurants::Column::Status.ne("inactive"))
                    .filter(
                        restaurants::Column::Id.in_subquery(
                            sea_orm::sea_query::Query::select()
                                .column(crm_accounts::Column::RestaurantId)
                                .from(crm_accounts::Entity)
                                .and_where(crm_accounts::Column::KamId.eq(user.user.id))
                                .to_owned(),
                        ),
                    )
            };
            let total = mine().count(&state.db).await?;
            let shown = mine()
                .order_by_asc(restaurants::Column::Region)
                .order_by_asc(restaurants::Column::Name)
                .paginate(&state.db, KAM_HOME_ROWS)
                .fetch_page(0)
                .await?;
            page.subheading = match total {
                0 => "No restaurants are assigned to you yet".into(),
                1 => "Your 1 restaurant".into(),
                n => format!("Your {n} restaurants across time zones"),
            };
            page.stats = vec![Stat {
                key: "restaurants",
                label: "Your restaurants",
                value: total.to_string(),
            }];
            page.restaurants_title = if total > KAM_HOME_ROWS {
                format!("{KAM_HOME_ROWS} of your {total} restaurants and their local time")
            } else {
                "Your restaurants and their local time".into()
            };
            page.restaurants = restaurant_rows(state, shown, &[]).await?;
        }
        Role::Customer => {
            let memberships = memberships_of(state, user.user.id)
                .await
                .map_err(|e| sea_orm::DbErr::Custom(e.message))?;
            if memberships.is_empty() {
                page.subheading = "Your Brigade account".into();
            } else {
                page.subheading = "The venues you work at".into();
                let ids: Vec<uuid::Uuid> = memberships.iter().map(|m| m.restaurant_id).collect();
                let roles: Vec<(uuid::Uuid, String)> = memberships
                    .iter()
                    .map(|m| (m.restaurant_id, m.role.as_str().to_string()))
                    .collect();
                let venues = restaurants::Entity::find()
                    .filter(restaurants::Column::Id.is_in(ids))
                    .order_by_asc(restaurants::Column::Name)
                    .all(&state.db)
                    .await?;
                page.restaurants_title = "Your venues".into();
                page.restaurants = restaurant_rows(state, venues, &roles).await?;
                page.show_roles = true;
            }
        }
    }
    Ok(page)
}

#[derive(Template)]
#[template(path = "restaurants.html")]
struct RestaurantsPage {
    layout: Layout,
    q: String,
    status: String,
    statuses: Vec<(&'static str, bool)>,
    restaurants: Vec<RestaurantRow>,
    total: u64,
    page: u64,
    has_next: bool,
}

#[derive(Deserialize)]
pub struct RestaurantsQuery {
    q: Option<String>,
    status: Option<String>,
    page: Option<crate::http::envelope::PageNumber>,
}

pub async fn restaurants(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Query(query): Query<RestaurantsQuery>,
) -> Response {
    if !matches!(user.principal.role, Role::Admin | Role::Kam) {
        return error_page(
            StatusCode::FORBIDDEN,
            "Not for your role",
            "Only administrators and key account managers see all restaurants.",
        );
    }
    let q = query.q.unwrap_or_default();
    let status = query.status.unwrap_or_default().to_lowercase();
    let page = query.page.map_or(1, |p| p.get());
    let mut select = restaurants::Entity::find().order_by_asc(restaurants::Column::Name);
    if !q.trim().is_empty() {
        let backend = sea_orm::ConnectionTrait::get_database_backend(&state.db);
        select = select.filter(crate::restaurants::matching(backend, &q));
    }
    if ["new", "active", "inactive"].contains(&status.as_str()) {
        select = select.filter(restaurants::Column::Status.eq(status.clone()));
    }
    let paginator = select.paginate(&state.db, 50);
    let result = async {
        let total = paginator.num_items().await?;
        let models = paginator.fetch_page(page - 1).await?;
        let rows = restaurant_rows(&state, models, &[]).await?;
        Ok::<_, sea_orm::DbErr>((total, rows))
    }
    .await;
    match result {
        Ok((total, rows)) => {
            let (jar, csrf) = sessions::csrf_token(&state, jar);
            let statuses = ["new", "active", "inactive"]
                .into_iter()
                .map(|s| (s, s == status))
                .collect();
            let page = RestaurantsPage {
                layout: Layout::for_user("Restaurants", "/restaurants", &user, false, csrf),
                q,
                status,
                statuses,
                restaurants: rows,
                total,
                page,
                has_next: page * 50 < total,
            };
            (jar, render(&page)).into_response()
        }
        Err(err) => server_error(err),
    }
}

pub struct UserRow {
    pub name: String,
    pub email: String,
    pub role: String,
    pub timezone: String,
    pub active: bool,
    pub last_login: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserRow>,
    total: u64,
}

pub async fn users(State(state): State<AppState>, jar: CookieJar, user: WebUser) -> Response {
    if user.principal.role != Role::Admin {
        return error_page(
            StatusCode::FORBIDDEN,
            "Administrators only",
            "Only administrators manage users.",
        );
    }
    let result = async {
        let paginator = users::Entity::find()
            .order_by_asc(users::Column::Email)
            .paginate(&state.db, 200);
        let total = paginator.num_items().await?;
        let rows = paginator.fetch_page(0).await?;
        Ok::<_, sea_orm::DbErr>((total, rows))
    }
    .await;
    match result {
        Ok((total, rows)) => {
            let users = rows
                .into_iter()
                .map(|u| UserRow {
                    name: format!("{} {}", u.first_name, u.last_name),
                    email: u.email,
                    role: u.role,
                    timezone: u.timezone.unwrap_or_default(),
                    active: u.is_active,
                    last_login: u
                        .last_login_at
                        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                        .unwrap_or_else(|| "never".into()),
                })
                .collect();
            let (jar, csrf) = sessions::csrf_token(&state, jar);
            let page = UsersPage {
                layout: Layout::for_user("Users", "/admin/users", &user, false, csrf),
                users,
                total,
            };
            (jar, render(&page)).into_response()
        }
        Err(err) => server_error(err),
    }
}

#[derive(Template)]
#[template(path = "order_page.html")]
struct OrderPage {
    venue_id: uuid::Uuid,
    venue_name: String,
    code: String,
    table: Option<String>,
    currency: String,
    eat_in: bool,
    open_now: bool,
    /// When it opens next, in the venue's words ("Tue 12:00"), while it is closed.
    next_opening: Option<String>,
    /// The week's opening hours, a line per day ("Mon 12:00-15:00, 18:00-23:00").
    hours: Vec<String>,
    /// While closed: pickup times that can be ordered now (UTC instant, local label), every 15 minutes
    /// through the first two hours of the next opening.
    pickup_slots: Vec<(String, String)>,
}

/// The week's hours a line per day, when it next opens, and pickup slots in that opening.
fn opening_times(
    view: &crate::restaurants::RestaurantView,
    now: chrono::DateTime<Utc>,
) -> (Option<String>, Vec<String>, Vec<(String, String)>) {
    use crate::restaurants::hours::BusinessHours;
    use chrono::Datelike;
    let Ok(tz) = view.timezone.parse::<chrono_tz::Tz>() else {
        return (None, Vec::new(), Vec::new());
    };
    if view.hours.is_empty() {
        return (None, vec!["Open around the clock".to_string()], Vec::new());
    }
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let hours: Vec<String> = (0..7u8)
        .map(|d| {
            let mut spans: Vec<_> = view.hours.iter().filter(|h| h.weekday == d).collect();
            spans.sort_by_key(|h| h.opens);
            let text = if spans.is_empty() {
                "closed".to_string()
            } else {
                spans
                    .iter()
                    .map(|h| format!("{}-{}", h.opens.format("%H:%M"), h.closes.format("%H:%M")))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            format!("{} {text}", DAYS[d as usize])
        })
        .collect();
    if view.open_now {
        return (None, hours, Vec::new());
    }
    let business = BusinessHours::new(tz, view.hours.clone());
    let Some((start, end)) = business
        .intervals_utc(now, now + chrono::Duration::days(8))
        .into_iter()
        .find(|(start, _)| *start > now)
    else {
        return (None, hours, Vec::new());
    };
    let local = start.with_timezone(&tz);
    let next = format!(
        "{} {}",
        DAYS[local.weekday().num_days_from_monday() as usize],
        local.format("%H:%M")
    );
    let mut slots = Vec::new();
    let mut at = start + chrono::Duration::minutes(15);
    while at < end && at <= start + chrono::Duration::hours(2) {
        let label = at.with_timezone(&tz);
        slots.push((
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            format!(
                "{} {}",
                DAYS[label.weekday().num_days_from_monday() as usize],
                label.format("%H:%M")
            ),
        ));
        at += chrono::Duration::minutes(15);
    }
    (Some(next), hours, slots)
}

/// The customer page a QR code opens: the menu, ordering and the order's live status.
pub async fn order_page(
    State(state): State<AppState>,
    axum::extract::Path(code): axum::extract::Path<String>,
) -> Response {
    let (qr, venue) = match crate::venues::resolve_code(&state, &code).await {
        Ok(found) => found,
        Err(err) if err.status == StatusCode::GONE => {
            return error_page(
                StatusCode::GONE,
                "This code was replaced",
                "Ask the venue for its new QR code.",
            );
        }
        Err(err) if err.status == StatusCode::NOT_FOUND => return super::not_found_page(),
        Err(err) => return server_error(err.message),
    };
    let view = match crate::restaurants::find_view(&state, venue.id).await {
        Ok(view) => view,
        Err(err) => return server_error(err.message),
    };
    let (next_opening, hours, pickup_slots) = opening_times(&view, state.now());
    render(&OrderPage {
        venue_id: venue.id,
        venue_name: venue.name,
        code: qr.code,
        table: qr.table_label,
        currency: venue.currency,
        eat_in: venue.enable_eat_in,
        open_now: view.open_now,
        next_opening,
        hours,
        pickup_slots,
    })
}
