//! The signed-in user's notifications as a page: what the API's inbox holds (store alerts, restaurants
//! handed over, order and reservation news), newest first, with links to what each is about.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;

use super::Layout;
use super::form::Form;
use super::pages::{render, server_error as failed};
use crate::accounts::sessions::{self, WebUser};
use crate::entities::notifications;
use crate::state::AppState;

pub struct Item {
    pub title: String,
    pub message: String,
    pub at: String,
    pub unread: bool,
    /// Where the notification leads, if anywhere.
    pub link: Option<String>,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    layout: Layout,
    items: Vec<Item>,
    unread: usize,
}

fn link(kind: Option<&str>, id: Option<uuid::Uuid>) -> Option<String> {
    let id = id?;
    match kind? {
        "store" => Some(format!("/monitoring/stores/{id}")),
        _ => None,
    }
}

pub async fn page(State(state): State<AppState>, jar: CookieJar, user: WebUser) -> Response {
    let rows = match notifications::Entity::find()
        .filter(notifications::Column::UserId.eq(user.user.id))
        .order_by_desc(notifications::Column::CreatedAt)
        .order_by_desc(notifications::Column::Id)
        .limit(100)
        .all(&state.db)
        .await
    {
        Ok(rows) => rows,
        Err(err) => return failed(err),
    };
    let zone = user
        .user
        .timezone
        .as_deref()
        .and_then(|z| z.parse::<chrono_tz::Tz>().ok())
        .unwrap_or(chrono_tz::UTC);
    let when = |t: DateTime<Utc>| {
        t.with_timezone(&zone)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    };
    let items: Vec<Item> = rows
        .into_iter()
        .map(|n| Item {
            link: link(n.reference_type.as_deref(), n.reference_id),
            unread: n.status.eq_ignore_ascii_case("unread"),
            at: when(n.created_at),
            title: n.title,
            message: n.message,
        })
        .collect();
    let unread = items.iter().filter(|i| i.unread).count();
    let is_venue = super::works_at_a_venue(&state, &user).await;
    let (jar, csrf) = sessions::csrf_token(&state, jar);
    let page = InboxPage {
        layout: Layout::for_user("Notifications", "/notifications", &user, is_venue, csrf),
        items,
        unread,
    };
    (jar, render(&page)).into_response()
}

#[derive(Deserialize)]
pub struct ReadForm {
    csrf: String,
}

/// Mark every notification read.
pub async fn read_all(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Form(form): Form<ReadForm>,
) -> Response {
    if sessions::check_csrf(&jar, &form.csrf).is_err() {
        return super::error_page(
            axum::http::StatusCode::FORBIDDEN,
            "Form expired",
            "Reload the page and try again.",
        );
    }
    let result = notifications::Entity::update_many()
        .col_expr(notifications::Column::Status, Expr::value("READ"))
        .col_expr(notifications::Column::ReadAt, Expr::value(state.now()))
        .filter(notifications::Column::UserId.eq(user.user.id))
        .filter(notifications::Column::Status.ne("READ"))
        .exec(&state.db)
        .await;
    match result {
        Ok(_) => Redirect::to("/notifications").into_response(),
        Err(err) => failed(err),
    }
}
