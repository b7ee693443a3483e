//! The venue's QR codes on one printable sheet: every live code (the venue's own and each table's) drawn
//! as SVG with its table and address, PNG and SVG downloads, and for its managers adding a table,
//! revoking and regenerating codes. The print stylesheet leaves only the codes.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;
use uuid::Uuid;

use super::form::Form;
use super::kitchen::{first_venue, team_venue};
use super::pages::{render, server_error as failed};
use super::{Layout, error_page};
use crate::accounts::sessions::{self, WebUser};
use crate::accounts::{MemberRole, require_restaurant_role};
use crate::entities::qr_codes;
use crate::state::AppState;
use crate::venues::routes::{QrInput, find_qr, generate, regenerate, revoke, table_label};
use crate::venues::{qr_png, qr_svg, qr_url};

pub struct QrCard {
    pub id: Uuid,
    pub label: String,
    pub url: String,
    pub svg: String,
}

#[derive(Template)]
#[template(path = "qr_sheet.html")]
struct QrSheet {
    layout: Layout,
    venue_id: Uuid,
    venue_name: String,
    codes: Vec<QrCard>,
    can_manage: bool,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SheetQuery {
    pub done: Option<String>,
}

/// `/qr`: the sheet of the caller's first venue.
pub async fn start(State(state): State<AppState>, user: WebUser) -> Response {
    first_venue(&state, &user, "qr").await
}

pub async fn sheet(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Path(id): Path<Uuid>,
    Query(query): Query<SheetQuery>,
) -> Response {
    let venue = match team_venue(&state, &user, id, "its QR codes").await {
        Ok(venue) => venue,
        Err(refused) => return refused,
    };
    let can_manage = require_restaurant_role(&state, &user.principal, id, MemberRole::Manager)
        .await
        .is_ok();
    let rows = match qr_codes::Entity::find()
        .filter(qr_codes::Column::RestaurantId.eq(id))
        .filter(qr_codes::Column::RevokedAt.is_null())
        .order_by_asc(qr_codes::Column::TableLabel)
        .order_by_asc(qr_codes::Column::CreatedAt)
        .all(&state.db)
        .await
    {
        Ok(rows) => rows,
        Err(err) => return failed(err),
    };
    let mut codes = Vec::with_capacity(rows.len());
    for qr in rows {
        let url = qr_url(&state, &qr.code);
        let svg = match qr_svg(&url, 200) {
            Ok(svg) => svg,
            Err(err) => return failed(err.message),
        };
        codes.push(QrCard {
            id: qr.id,
            label: qr
                .table_label
                .map(|t| format!("Table {t}"))
                .unwrap_or_else(|| "Takeout (the venue's own code)".into()),
            url,
            svg,
        });
    }
    // Tables sort as people read them: T2 before T10.
    codes.sort_by_key(|c| natural_key(&c.label));
    let message = match query.done.as_deref() {
        Some("added") => Some("The code was added.".to_string()),
        Some("revoked") => Some("The code was revoked: it no longer opens the menu.".to_string()),
        Some("regenerated") => Some(
            "A new code replaces the old one, which no longer opens the menu: print it again."
                .to_string(),
        ),
        _ => None,
    };
    let (jar, csrf) = sessions::csrf_token(&state, jar);
    let page = QrSheet {
        layout: Layout::for_user(
            &format!("QR codes · {}", venue.name),
            "/qr",
            &user,
            !user.principal.is_admin(),
            csrf,
        ),
        venue_id: id,
        venue_name: venue.name,
        codes,
        can_manage,
        message,
    };
    (jar, render(&page)).into_response()
}

fn natural_key(label: &str) -> (String, u64, String) {
    let digits: String = label.chars().filter(|c| c.is_ascii_digit()).collect();
    let prefix: String = label.chars().take_while(|c| !c.is_ascii_digit()).collect();
    (prefix, digits.parse().unwrap_or(0), label.to_string())
}

#[derive(Debug, Deserialize)]
pub struct ImageQuery {
    pub format: Option<String>,
}

/// One code as a PNG or SVG download.
pub async fn image(
    State(state): State<AppState>,
    user: WebUser,
    Path((id, qr)): Path<(Uuid, Uuid)>,
    Query(query): Query<ImageQuery>,
) -> Response {
    if require_restaurant_role(&state, &user.principal, id, MemberRole::Staff)
        .await
        .is_err()
    {
        return error_page(
            StatusCode::FORBIDDEN,
            "Not your venue",
            "Only the venue's team downloads its codes.",
        );
    }
    let qr = match find_qr(&state, id, qr).await {
        Ok(qr) => qr,
        Err(_) => {
            return error_page(
                StatusCode::NOT_FOUND,
                "No such code",
                "This venue has no such QR code.",
            );
        }
    };
    let url = qr_url(&state, &qr.code);
    let name = format!(
        "qr-{}",
        qr.table_label
            .as_deref()
            .map(|t| t.replace(|c: char| !c.is_ascii_alphanumeric(), "_"))
            .unwrap_or_else(|| "venue".into())
    );
    let attachment = |ext: &str| format!("attachment; filename=\"{name}.{ext}\"");
    match query.format.as_deref() {
        Some("svg") => match qr_svg(&url, 1024) {
            Ok(svg) => (
                [
                    (header::CONTENT_TYPE, "image/svg+xml".to_string()),
                    (header::CONTENT_DISPOSITION, attachment("svg")),
                ],
                svg,
            )
                .into_response(),
            Err(err) => failed(err.message),
        },
        None | Some("png") => match qr_png(&url, 1024) {
            Ok(png) => (
                [
                    (header::CONTENT_TYPE, "image/png".to_string()),
                    (header::CONTENT_DISPOSITION, attachment("png")),
                ],
                png,
            )
                .into_response(),
            Err(err) => failed(err.message),
        },
        Some(_) => error_page(
            StatusCode::NOT_FOUND,
            "No such format",
            "Codes download as png or svg.",
        ),
    }
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    pub csrf: String,
    pub table: Option<String>,
}

async fn managing(
    state: &AppState,
    user: &WebUser,
    id: Uuid,
    jar: &CookieJar,
    csrf: &str,
) -> Option<Response> {
    if sessions::check_csrf(jar, csrf).is_err() {
        return Some(error_page(
            StatusCode::FORBIDDEN,
            "The form expired",
            "The page was open too long or in another session; go back, reload it and try again.",
        ));
    }
    if require_restaurant_role(state, &user.principal, id, MemberRole::Manager)
        .await
        .is_err()
    {
        return Some(error_page(
            StatusCode::FORBIDDEN,
            "Managers only",
            "Only the venue's managers add, revoke and regenerate its codes.",
        ));
    }
    None
}

/// Add a table's code (or the venue's own, with no table).
pub async fn add(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Path(id): Path<Uuid>,
    Form(form): Form<CodeForm>,
) -> Response {
    if let Some(refused) = managing(&state, &user, id, &jar, &form.csrf).await {
        return refused;
    }
    let table = match table_label(&QrInput {
        table: form.table.clone(),
    }) {
        Ok(table) => table,
        Err(err) => {
            return error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Please check the table",
                &format!(
                    "The table label {}.",
                    err.errors
                        .and_then(|e| e.get("table").and_then(|v| v.first().cloned()))
                        .unwrap_or_else(|| err.message.clone())
                ),
            );
        }
    };
    match generate(&state, id, table, Some(user.user.id)).await {
        Ok(_) => Redirect::to(&format!("/venues/{id}/qr?done=added")).into_response(),
        Err(err) => failed(err.message),
    }
}

pub async fn revoke_code(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Path((id, qr)): Path<(Uuid, Uuid)>,
    Form(form): Form<CodeForm>,
) -> Response {
    if let Some(refused) = managing(&state, &user, id, &jar, &form.csrf).await {
        return refused;
    }
    match revoke(&state, id, qr).await {
        Ok(_) => Redirect::to(&format!("/venues/{id}/qr?done=revoked")).into_response(),
        Err(_) => error_page(
            StatusCode::NOT_FOUND,
            "No such code",
            "This venue has no such QR code.",
        ),
    }
}

pub async fn regenerate_code(
    State(state): State<AppState>,
    jar: CookieJar,
    user: WebUser,
    Path((id, qr)): Path<(Uuid, Uuid)>,
    Form(form): Form<CodeForm>,
) -> Response {
    if let Some(refused) = managing(&state, &user, id, &jar, &form.csrf).await {
        return refused;
    }
    match regenerate(&state, id, qr, Some(user.user.id)).await {
        Ok(_) => Redirect::to(&format!("/venues/{id}/qr?done=regenerated")).into_response(),
        Err(_) => error_page(
            StatusCode::NOT_FOUND,
            "No such code",
            "This venue has no such QR code.",
        ),
    }
}
