//! CSV import of leads and contacts. Every line is checked on its own: good lines are stored, bad ones are
//! reported with their line number and what is wrong, so a file with a few mistakes still loads.
//!
//! Leads: `name,timezone,region,address,phone,email,status,kam_email` (header required; only `name` and
//! `timezone` must have values; `kam_email` is for administrators, a KAM's leads are their own).
//! Contacts: `restaurant,name,phone,email,role,is_lead` where `restaurant` is the restaurant's id or
//! external id.

use std::collections::HashMap;

use axum::extract::State;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ContactRole;
use super::routes::{ContactInput, LeadInput, insert_contact};
use crate::accounts::{AuthUser, Principal, Role};
use crate::csv_lines::upload::{LineError, get, problems, rows};
use crate::entities::{restaurants, users};
use crate::http::envelope::{Envelope, Reply, ok};
use crate::http::error::{ApiResult, ErrorBody};
use crate::restaurants::RestaurantStatus;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    /// Data lines in the file (the header not counted): `imported` + `rejected`.
    pub lines: usize,
    pub imported: usize,
    pub rejected: Vec<LineError>,
    /// Ids of what was created, in file order.
    pub created: Vec<Uuid>,
}

/// Import leads from CSV (see the module notes for the columns).
pub async fn import_leads_csv(
    state: &AppState,
    me: &Principal,
    body: &[u8],
) -> ApiResult<ImportReport> {
    let lines = rows(body, &["name", "timezone"])?;
    let mut report = ImportReport {
        lines: lines.len(),
        imported: 0,
        rejected: Vec::new(),
        created: Vec::new(),
    };
    let mut kams: HashMap<String, Option<Uuid>> = HashMap::new();
    for (line, map) in lines {
        if let Some(e) = map.get("__error") {
            report.rejected.push(LineError {
                line,
                errors: vec![e.clone()],
            });
            continue;
        }
        let mut errors = Vec::new();
        let status = match get(&map, "status") {
            Some(s) => match s.to_lowercase().parse::<RestaurantStatus>() {
                Ok(s) => Some(s),
                Err(e) => {
                    errors.push(format!("status: {e} (new, active or inactive)"));
                    None
                }
            },
            None => None,
        };
        let kam = match (me.role, get(&map, "kam_email")) {
            (Role::Kam, Some(_)) => {
                errors.push("kam_email: a key account manager imports leads for themselves".into());
                None
            }
            (Role::Kam, None) => Some(me.user_id),
            (_, Some(email)) => {
                let email = email.to_lowercase();
                let found = match kams.get(&email) {
                    Some(found) => *found,
                    None => {
                        let found = users::Entity::find()
                            .filter(users::Column::Email.eq(email.as_str()))
                            .filter(users::Column::Role.eq(Role::Kam.as_str()))
                            .one(&state.db)
                            .await?
                            .map(|u| u.id);
                        kams.insert(email.clone(), found);
                        found
                    }
                };
                if found.is_none() {
                    errors.push(format!("kam_email: no key account manager {email}"));
                }
                found
            }
            (_, None) => None,
        };
        if !errors.is_empty() {
            report.rejected.push(LineError { line, errors });
            continue;
        }
        let input = LeadInput {
            name: get(&map, "name").unwrap_or_default(),
            timezone: get(&map, "timezone").unwrap_or_default(),
            region: get(&map, "region"),
            address: get(&map, "address"),
            phone: get(&map, "phone"),
            email: get(&map, "email"),
            hours: None,
            kam_id: None,
        };
        match super::routes::create_lead_for(state, me, &input, kam).await {
            Ok(id) => {
                if let Some(status) = status.filter(|s| *s != RestaurantStatus::New) {
                    let restaurant = crate::restaurants::find(state, id).await?;
                    super::routes::set_status(
                        state,
                        me,
                        restaurant,
                        status,
                        Some("imported".into()),
                    )
                    .await?;
                }
                report.imported += 1;
                report.created.push(id);
            }
            Err(err) if err.status.is_client_error() => report.rejected.push(LineError {
                line,
                errors: problems(&err),
            }),
            Err(err) => return Err(err),
        }
    }
    Ok(report)
}

/// Import contacts from CSV (see the module notes for the columns).
pub async fn import_contacts_csv(
    state: &AppState,
    me: &Principal,
    body: &[u8],
) -> ApiResult<ImportReport> {
    let lines = rows(body, &["restaurant", "name", "phone", "role"])?;
    let mut report = ImportReport {
        lines: lines.len(),
        imported: 0,
        rejected: Vec::new(),
        created: Vec::new(),
    };
    for (line, map) in lines {
        if let Some(e) = map.get("__error") {
            report.rejected.push(LineError {
                line,
                errors: vec![e.clone()],
            });
            continue;
        }
        let mut errors = Vec::new();
        let reference = get(&map, "restaurant").unwrap_or_default();
        let restaurant = match Uuid::parse_str(&reference) {
            Ok(id) => Some(id),
            Err(_) => restaurants::Entity::find()
                .filter(restaurants::Column::ExternalId.eq(reference.as_str()))
                .one(&state.db)
                .await?
                .map(|r| r.id),
        };
        let restaurant = match restaurant {
            Some(id) => match super::account_for(state, me, id).await {
                Ok(_) => Some(id),
                Err(_) => {
                    errors.push(format!("restaurant: {reference:?} is not one of yours"));
                    None
                }
            },
            None => {
                errors.push(format!("restaurant: no restaurant {reference:?}"));
                None
            }
        };
        let role = get(&map, "role").and_then(|r| {
            let parsed = ContactRole::parse(&r);
            if parsed.is_none() {
                errors.push(format!(
                    "role: {r:?} is not one of owner, manager, staff, other"
                ));
            }
            parsed
        });
        let is_lead = match get(&map, "is_lead").map(|v| v.to_lowercase()) {
            None => None,
            Some(v) if ["true", "yes", "1", "y"].contains(&v.as_str()) => Some(true),
            Some(v) if ["false", "no", "0", "n"].contains(&v.as_str()) => Some(false),
            Some(v) => {
                errors.push(format!("is_lead: {v:?} is not yes or no"));
                None
            }
        };
        let Some(restaurant) = restaurant.filter(|_| errors.is_empty()) else {
            report.rejected.push(LineError { line, errors });
            continue;
        };
        let input = ContactInput {
            name: Some(get(&map, "name").unwrap_or_default()),
            phone: Some(get(&map, "phone").unwrap_or_default()),
            email: get(&map, "email"),
            role,
            is_lead,
        };
        let txn = crate::database::begin_write(&state.db).await?;
        match insert_contact(&txn, restaurant, &input, state.now()).await {
            Ok(contact) => {
                txn.commit().await?;
                report.imported += 1;
                report.created.push(contact.id);
            }
            Err(err) if err.status.is_client_error() => {
                txn.rollback().await?;
                report.rejected.push(LineError {
                    line,
                    errors: problems(&err),
                });
            }
            Err(err) => return Err(err),
        }
    }
    Ok(report)
}

fn importer(me: &Principal) -> ApiResult<()> {
    me.require_role(&[Role::Admin, Role::Kam])?;
    Ok(())
}

/// Import leads from CSV (`text/csv` body): `name,timezone,region,address,phone,email,status,kam_email`.
/// Good lines are stored; bad ones come back with their line number and problems.
#[utoipa::path(post, path = "/api/crm/import/leads", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:write"])),
    request_body(content = String, content_type = "text/csv",
        example = "name,timezone,region,address,phone,email,status,kam_email\nTandoor House,Asia/Kolkata,West,,,,,kam@demo.brigade\n"),
    responses(
        (status = 200, description = "What was imported and the rejected lines", body = Envelope<ImportReport>),
        (status = 400, description = "Not CSV, or a required column missing", body = ErrorBody),
    ))]
pub async fn import_leads(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    body: axum::body::Bytes,
) -> ApiResult<Reply<ImportReport>> {
    importer(&me)?;
    Ok(ok(import_leads_csv(&state, &me, &body).await?))
}

/// Import contacts from CSV (`text/csv` body): `restaurant,name,phone,email,role,is_lead`, where
/// `restaurant` is an id or external id of one of your restaurants.
#[utoipa::path(post, path = "/api/crm/import/contacts", tag = "crm", security(("bearer" = []), ("api_key" = ["crm:write"])),
    request_body(content = String, content_type = "text/csv",
        example = "restaurant,name,phone,email,role,is_lead\nDEMO-EMBER,Priya Shah,+44 20 7946 0011,priya@example.com,owner,yes\n"),
    responses(
        (status = 200, description = "What was imported and the rejected lines", body = Envelope<ImportReport>),
        (status = 400, description = "Not CSV, or a required column missing", body = ErrorBody),
    ))]
pub async fn import_contacts(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    body: axum::body::Bytes,
) -> ApiResult<Reply<ImportReport>> {
    importer(&me)?;
    Ok(ok(import_contacts_csv(&state, &me, &body).await?))
}
