//! The shared restaurants model: one row per restaurant, used by every part of Brigade (the CRM's lead,
//! the QR-ordering venue, the monitored store, the brand of channel orders).
//!
//! Facade: [`RestaurantStatus`], [`RestaurantView`], [`find`], [`business_hours`], [`create`],
//! [`matching`] (search by name or address).

pub mod hours;
pub mod routes;

use std::collections::HashMap;
use std::str::FromStr;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub use hours::{BusinessHours, HoursInterval};

use crate::entities::{restaurant_hours, restaurants};
use crate::http::error::{ApiError, FieldErrors};
use crate::state::AppState;

/// Lead status in the CRM, and whether the restaurant trades at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RestaurantStatus {
    New,
    Active,
    Inactive,
}

impl RestaurantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RestaurantStatus::New => "new",
            RestaurantStatus::Active => "active",
            RestaurantStatus::Inactive => "inactive",
        }
    }
}

impl FromStr for RestaurantStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "new" => Ok(RestaurantStatus::New),
            "active" => Ok(RestaurantStatus::Active),
            "inactive" => Ok(RestaurantStatus::Inactive),
            other => Err(format!("unknown status {other:?}")),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RestaurantView {
    pub id: Uuid,
    /// Identifier in a source system (store id, channel brand id).
    pub external_id: Option<String>,
    pub name: String,
    pub address: Option<String>,
    pub region: Option<String>,
    /// IANA time zone.
    #[schema(example = "Europe/London")]
    pub timezone: String,
    pub status: RestaurantStatus,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub description: Option<String>,
    /// ISO 4217 currency of its prices.
    #[schema(example = "GBP")]
    pub currency: String,
    /// Whether customers may order to eat in and reserve tables.
    pub enable_eat_in: bool,
    /// Public URL of the venue's logo, if one was uploaded.
    pub logo_url: Option<String>,
    /// Reservations must be made at least this many minutes before they start.
    pub reservation_min_notice_minutes: i32,
    /// Reservations may be made at most this many days ahead.
    pub reservation_max_days_ahead: i32,
    /// Weekly opening hours in local time; empty means open around the clock.
    pub hours: Vec<HoursInterval>,
    pub open_now: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A venue the caller works at with at least role `min` (or administers): 404 for no such venue, 403
/// for the rest.
pub async fn team_venue(
    state: &AppState,
    me: &crate::accounts::Principal,
    venue_id: Uuid,
    min: crate::accounts::MemberRole,
) -> Result<restaurants::Model, ApiError> {
    let venue = find(state, venue_id)
        .await
        .map_err(|_| ApiError::not_found("venue"))?;
    crate::accounts::require_restaurant_role(state, me, venue_id, min).await?;
    Ok(venue)
}

pub fn zone_of(model: &restaurants::Model) -> chrono_tz::Tz {
    model.timezone.parse().unwrap_or(chrono_tz::UTC)
}

fn interval_of(row: &restaurant_hours::Model) -> HoursInterval {
    HoursInterval {
        weekday: row.weekday.clamp(0, 6) as u8,
        opens: row.opens,
        closes: row.closes,
    }
}

pub fn view(
    model: restaurants::Model,
    hours: Vec<HoursInterval>,
    now: chrono::DateTime<chrono::Utc>,
) -> RestaurantView {
    let open_now = BusinessHours::new(zone_of(&model), hours.clone()).is_open_at(now);
    RestaurantView {
        id: model.id,
        external_id: model.external_id,
        name: model.name,
        address: model.address,
        region: model.region,
        timezone: model.timezone,
        status: model.status.parse().unwrap_or(RestaurantStatus::New),
        phone: model.phone,
        email: model.email,
        website: model.website,
        description: model.description,
        currency: model.currency,
        enable_eat_in: model.enable_eat_in,
        logo_url: model.logo_key.as_deref().map(crate::storage::public_url),
        reservation_min_notice_minutes: model.reservation_min_notice_minutes,
        reservation_max_days_ahead: model.reservation_max_days_ahead,
        hours,
        open_now,
        created_at: model.created_at,
        updated_at: model.updated_at,
    }
}

/// Restaurants whose name or address contains `q`, ignoring case, through each database's substring
/// index (migration 000010): on PostgreSQL `lower(..) LIKE` over trigram GIN indexes, on SQLite a `MATCH`
/// in the trigram FTS5 table `restaurant_search`, whose rowids map to restaurants through
/// `restaurant_search_ids` (it answers from three characters up; shorter searches scan with `LIKE`, as
/// would PostgreSQL).
pub fn matching(backend: sea_orm::DbBackend, q: &str) -> sea_orm::Condition {
    use sea_orm::sea_query::Expr;
    // Neither database takes a NUL inside text (FTS5 would cut the query short, PostgreSQL refuses it).
    let q = q.replace('\0', "");
    let q = q.trim();
    if backend == sea_orm::DbBackend::Sqlite && q.chars().count() >= 3 {
        let phrase = format!("\"{}\"", q.replace('"', "\"\""));
        return sea_orm::Condition::all().add(Expr::cust_with_values(
            "\"restaurants\".\"id\" IN (SELECT restaurant_id FROM restaurant_search_ids \
             WHERE rowid IN (SELECT rowid FROM restaurant_search WHERE restaurant_search MATCH ?))",
            [phrase],
        ));
    }
    sea_orm::Condition::any()
        .add(crate::http::envelope::contains_ci_on(
            backend,
            restaurants::Column::Name,
            q,
        ))
        .add(crate::http::envelope::contains_ci_on(
            backend,
            restaurants::Column::Address,
            q,
        ))
}

/// A restaurant and its weekly hours, through the cache (orders read it on every placement). Dropped
/// with the venue's other caches by `menus::invalidate` on every change to the restaurant or its hours.
pub async fn cached_with_hours(
    state: &AppState,
    id: Uuid,
) -> Result<Option<std::sync::Arc<(restaurants::Model, Vec<HoursInterval>)>>, ApiError> {
    let key = context_key(id);
    if let Some(found) = brigade_platform::cache::get_json_shared(state.cache.as_ref(), &key).await
    {
        return Ok(Some(found));
    }
    // Overlapping misses (a burst of orders, or Redis down) share one read.
    state
        .flights
        .venues
        .run(id, || async {
            let Some(model) = restaurants::Entity::find_by_id(id).one(&state.db).await? else {
                return Ok(None);
            };
            let hours = hours_of(&state.db, &[id])
                .await?
                .remove(&id)
                .unwrap_or_default();
            let found = (model, hours);
            brigade_platform::cache::set_json(
                state.cache.as_ref(),
                &key,
                &found,
                std::time::Duration::from_secs(300),
            )
            .await;
            Ok(Some(std::sync::Arc::new(found)))
        })
        .await
}

pub fn context_key(id: Uuid) -> String {
    format!("restaurant:v1:{id}")
}

/// Views of several restaurants, with their hours read in one query.
pub async fn views_of<C: ConnectionTrait>(
    db: &C,
    rows: Vec<restaurants::Model>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<RestaurantView>, ApiError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut hours = hours_of(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let h = hours.remove(&r.id).unwrap_or_default();
            view(r, h, now)
        })
        .collect())
}

/// Hours of several restaurants in one query.
pub async fn hours_of<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<HoursInterval>>, ApiError> {
    let mut out: HashMap<Uuid, Vec<HoursInterval>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows = restaurant_hours::Entity::find()
        .filter(restaurant_hours::Column::RestaurantId.is_in(ids.iter().copied()))
        .order_by_asc(restaurant_hours::Column::Weekday)
        .order_by_asc(restaurant_hours::Column::Opens)
        .all(db)
        .await?;
    for row in rows {
        out.entry(row.restaurant_id)
            .or_default()
            .push(interval_of(&row));
    }
    Ok(out)
}

pub async fn find(state: &AppState, id: Uuid) -> Result<restaurants::Model, ApiError> {
    restaurants::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("restaurant"))
}

pub async fn find_view(state: &AppState, id: Uuid) -> Result<RestaurantView, ApiError> {
    let model = find(state, id).await?;
    let hours = hours_of(&state.db, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    Ok(view(model, hours, state.now()))
}

pub async fn business_hours(state: &AppState, id: Uuid) -> Result<BusinessHours, ApiError> {
    let model = find(state, id).await?;
    let hours = hours_of(&state.db, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    Ok(BusinessHours::new(zone_of(&model), hours))
}

/// Fields of a restaurant as given by a client, checked. Blank text clears an optional field.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestaurantInput {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(max_length = 100)]
    pub external_id: Option<String>,
    #[schema(max_length = 500)]
    pub address: Option<String>,
    #[schema(max_length = 100)]
    pub region: Option<String>,
    #[schema(value_type = Option<crate::http::openapi::TimeZoneName>, example = "Europe/London")]
    pub timezone: Option<String>,
    pub status: Option<RestaurantStatus>,
    #[schema(
        max_length = 40,
        pattern = r"^\s*$|^\s*\+?[ ().-]*([0-9][ ().-]*){6,15}\s*$"
    )]
    pub phone: Option<String>,
    #[schema(value_type = Option<crate::http::openapi::EmailOrBlank>)]
    pub email: Option<String>,
    #[schema(max_length = 300, pattern = r"^\s*(https?://[\s\S]*)?$")]
    pub website: Option<String>,
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    /// ISO 4217 code (default EUR). Changing it does not convert existing prices.
    #[schema(value_type = Option<crate::http::openapi::CurrencyCode>, example = "GBP")]
    pub currency: Option<String>,
    /// Whether customers may order to eat in and reserve tables (default true).
    pub enable_eat_in: Option<bool>,
    /// Minimum notice for reservations, in minutes (default 60).
    #[schema(minimum = 0, maximum = 10080)]
    pub reservation_min_notice_minutes: Option<i32>,
    /// How many days ahead reservations may be made (default 30).
    #[schema(minimum = 1, maximum = 365)]
    pub reservation_max_days_ahead: Option<i32>,
    /// The weekly opening hours, replacing the old ones (none when creating: open around the clock).
    #[schema(max_items = 70)]
    pub hours: Option<Vec<HoursInterval>>,
}

fn optional_text(
    value: &Option<String>,
    max: usize,
    field: &str,
    errors: &mut FieldErrors,
) -> Option<Option<String>> {
    value
        .as_ref()
        .map(|v| match crate::http::text::optional_text(v, max) {
            Ok(text) => text,
            Err(problem) => {
                errors.add(field, problem);
                None
            }
        })
}

pub fn check_hours(hours: &[HoursInterval], errors: &mut FieldErrors) {
    if hours.len() > 70 {
        errors.add("hours", "at most 70 intervals a week");
    }
    for (i, interval) in hours.iter().enumerate() {
        if interval.weekday > 6 {
            errors.add(
                &format!("hours[{i}].weekday"),
                "must be 0 (Monday) to 6 (Sunday)",
            );
        }
    }
}

/// Apply `input` to an active model; `creating` requires name and time zone.
pub fn apply(
    input: &RestaurantInput,
    active: &mut restaurants::ActiveModel,
    creating: bool,
) -> Result<(), ApiError> {
    let mut errors = FieldErrors::new();
    match input.name.as_deref() {
        Some(name) => {
            if let Some(name) = errors.check("name", crate::http::text::required_text(name, 200)) {
                active.name = Set(name);
            }
        }
        None if creating => errors.add("name", "is required"),
        None => {}
    }
    match input.timezone.as_deref() {
        Some(tz) => {
            if let Some(tz) = errors.check("timezone", crate::accounts::service::parse_timezone(tz))
            {
                active.timezone = Set(tz);
            }
        }
        None if creating => errors.add(
            "timezone",
            "is required (an IANA zone such as Europe/London)",
        ),
        None => {}
    }
    if let Some(status) = input.status {
        active.status = Set(status.as_str().to_string());
    } else if creating {
        active.status = Set(RestaurantStatus::New.as_str().to_string());
    }
    if let Some(v) = optional_text(&input.external_id, 100, "external_id", &mut errors) {
        active.external_id = Set(v);
    }
    if let Some(v) = optional_text(&input.address, 500, "address", &mut errors) {
        active.address = Set(v);
    }
    if let Some(v) = optional_text(&input.region, 100, "region", &mut errors) {
        active.region = Set(v);
    }
    if let Some(v) = optional_text(&input.description, 4000, "description", &mut errors) {
        active.description = Set(v);
    }
    if let Some(v) = optional_text(&input.website, 300, "website", &mut errors) {
        if let Some(url) = &v
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            errors.add("website", "must start with http:// or https://");
        }
        active.website = Set(v);
    }
    if let Some(v) = optional_text(&input.phone, 40, "phone", &mut errors) {
        if let Some(phone) = &v {
            errors.check("phone", crate::accounts::service::parse_phone(phone));
        }
        active.phone = Set(v);
    }
    if let Some(v) = optional_text(&input.email, 254, "email", &mut errors) {
        let v = v.and_then(|e| errors.check("email", crate::accounts::service::parse_email(&e)));
        active.email = Set(v);
    }
    match input.currency.as_deref() {
        Some(code) => {
            if let Some(currency) =
                errors.check("currency", crate::money::Currency::parse_exact(code))
            {
                active.currency = Set(currency.code.to_string());
            }
        }
        None if creating => active.currency = Set("EUR".to_string()),
        None => {}
    }
    match input.enable_eat_in {
        Some(v) => active.enable_eat_in = Set(v),
        None if creating => active.enable_eat_in = Set(true),
        None => {}
    }
    match input.reservation_min_notice_minutes {
        Some(v) if !(0..=10_080).contains(&v) => errors.add(
            "reservation_min_notice_minutes",
            "must be between 0 and 10080 (a week)",
        ),
        Some(v) => active.reservation_min_notice_minutes = Set(v),
        None if creating => active.reservation_min_notice_minutes = Set(60),
        None => {}
    }
    match input.reservation_max_days_ahead {
        Some(v) if !(1..=365).contains(&v) => {
            errors.add("reservation_max_days_ahead", "must be between 1 and 365")
        }
        Some(v) => active.reservation_max_days_ahead = Set(v),
        None if creating => active.reservation_max_days_ahead = Set(30),
        None => {}
    }
    if let Some(hours) = &input.hours {
        check_hours(hours, &mut errors);
    }
    errors.into_result()
}

/// Replace a restaurant's weekly hours.
pub async fn replace_hours<C: ConnectionTrait>(
    db: &C,
    restaurant_id: Uuid,
    hours: &[HoursInterval],
) -> Result<(), ApiError> {
    restaurant_hours::Entity::delete_many()
        .filter(restaurant_hours::Column::RestaurantId.eq(restaurant_id))
        .exec(db)
        .await?;
    if hours.is_empty() {
        return Ok(());
    }
    let rows = hours.iter().map(|h| restaurant_hours::ActiveModel {
        id: Set(Uuid::now_v7()),
        restaurant_id: Set(restaurant_id),
        weekday: Set(i16::from(h.weekday)),
        opens: Set(h.opens),
        closes: Set(h.closes),
    });
    restaurant_hours::Entity::insert_many(rows).exec(db).await?;
    Ok(())
}

/// Create a restaurant with its hours in one transaction.
pub async fn create(state: &AppState, input: &RestaurantInput) -> Result<RestaurantView, ApiError> {
    let now = state.now();
    let id = Uuid::now_v7();
    let mut active = restaurants::ActiveModel {
        id: Set(id),
        created_at: Set(now),
        updated_at: Set(now),
        external_id: Set(None),
        address: Set(None),
        region: Set(None),
        phone: Set(None),
        email: Set(None),
        website: Set(None),
        description: Set(None),
        logo_key: Set(None),
        ..Default::default()
    };
    apply(input, &mut active, true)?;
    let txn = crate::database::begin_write(&state.db).await?;
    let model = active.insert(&txn).await.map_err(external_id_conflict)?;
    let hours = input.hours.clone().unwrap_or_default();
    replace_hours(&txn, id, &hours).await?;
    txn.commit().await?;
    Ok(view(model, hours, now))
}

/// Delete a restaurant with everything that is only its (menus, orders, slots, codes... by cascade), its
/// stored logo, and every cached copy of it. Both `/api/restaurants/{id}` and `/api/venues/{id}` use this.
pub async fn delete(state: &AppState, id: Uuid) -> Result<(), ApiError> {
    let model = find(state, id).await?;
    restaurants::Entity::delete_by_id(id)
        .exec(&state.db)
        .await?;
    // Its orders and their events went with it; the summary tables hold no foreign key (derived data).
    crate::analytics::rollup::forget_restaurant(state, id).await?;
    crate::menus::invalidate(state, id).await;
    if let Some(key) = model.logo_key {
        state.storage.delete(&key).await?;
    }
    Ok(())
}

pub fn external_id_conflict(err: sea_orm::DbErr) -> ApiError {
    if matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    ) {
        ApiError::conflict(
            "external_id_taken",
            "another restaurant has this external id",
        )
        .with_field("external_id", "is already used by another restaurant")
    } else {
        err.into()
    }
}

/// A restaurant known by its external id (a monitored store, a channel brand).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalRestaurant {
    pub id: Uuid,
    pub timezone: String,
    pub created: bool,
}

/// The zone a store without one is in (store monitoring's rule).
pub const DEFAULT_STORE_ZONE: &str = "America/Chicago";

/// Find restaurants by external id, creating the missing ones (named after the id, trading, in `zone_of`
/// the id or America/Chicago). Safe to run from several processes at once: a restaurant another process
/// created first is found, not duplicated.
pub async fn ensure_external(
    state: &AppState,
    external_ids: &[&str],
    zone_for: &(dyn Fn(&str) -> Option<chrono_tz::Tz> + Sync),
) -> Result<HashMap<String, ExternalRestaurant>, sea_orm::DbErr> {
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::OnConflict;

    let wanted: std::collections::HashSet<&str> = external_ids.iter().copied().collect();
    let lookup =
        async |ids: &[&str]| -> Result<Vec<(Uuid, Option<String>, String)>, sea_orm::DbErr> {
            let mut rows = Vec::new();
            if ids.len() > 2_000 {
                // Many ids (an import): one scan beats thousands of parameters.
                let all: Vec<(Uuid, Option<String>, String)> = restaurants::Entity::find()
                    .select_only()
                    .columns([
                        restaurants::Column::Id,
                        restaurants::Column::ExternalId,
                        restaurants::Column::Timezone,
                    ])
                    .filter(restaurants::Column::ExternalId.is_not_null())
                    .into_tuple()
                    .all(&state.db)
                    .await?;
                rows.extend(all);
            } else {
                for chunk in ids.chunks(500) {
                    let some: Vec<(Uuid, Option<String>, String)> = restaurants::Entity::find()
                        .select_only()
                        .columns([
                            restaurants::Column::Id,
                            restaurants::Column::ExternalId,
                            restaurants::Column::Timezone,
                        ])
                        .filter(restaurants::Column::ExternalId.is_in(chunk.iter().copied()))
                        .into_tuple()
                        .all(&state.db)
                        .await?;
                    rows.extend(some);
                }
            }
            Ok(rows)
        };
    let ids: Vec<&str> = wanted.iter().copied().collect();
    let mut found: HashMap<String, ExternalRestaurant> = HashMap::new();
    for (id, external, timezone) in lookup(&ids).await? {
        if let Some(external) = external.filter(|e| wanted.contains(e.as_str())) {
            found.insert(
                external,
                ExternalRestaurant {
                    id,
                    timezone,
                    created: false,
                },
            );
        }
    }
    let mut missing: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| !found.contains_key(*id))
        .collect();
    if missing.is_empty() {
        return Ok(found);
    }
    // In one order everywhere: two requests creating the same restaurants at once otherwise wait on each
    // other's uncommitted rows in opposite orders (a deadlock PostgreSQL breaks by failing one of them).
    missing.sort_unstable();
    let now = state.now();
    let mut created: HashMap<Uuid, String> = HashMap::new();
    let rows: Vec<restaurants::ActiveModel> = missing
        .iter()
        .map(|external| {
            let id = Uuid::now_v7();
            let zone = zone_for(external)
                .map(|z| z.name().to_string())
                .unwrap_or_else(|| DEFAULT_STORE_ZONE.to_string());
            created.insert(id, zone.clone());
            restaurants::ActiveModel {
                id: Set(id),
                external_id: Set(Some(external.to_string())),
                name: Set(format!("Store {external}")),
                address: Set(None),
                region: Set(None),
                timezone: Set(zone),
                status: Set(RestaurantStatus::Active.as_str().to_string()),
                phone: Set(None),
                email: Set(None),
                website: Set(None),
                description: Set(None),
                currency: Set("USD".to_string()),
                enable_eat_in: Set(false),
                logo_key: Set(None),
                reservation_min_notice_minutes: Set(60),
                reservation_max_days_ahead: Set(30),
                created_at: Set(now),
                updated_at: Set(now),
            }
        })
        .collect();
    if crate::monitoring::bulk::is_postgres(&state.db) {
        let stores: Vec<NewStore> = rows
            .iter()
            .map(|r| {
                (
                    r.id.clone().unwrap(),
                    r.external_id.clone().unwrap().unwrap_or_default(),
                    r.name.clone().unwrap(),
                    r.timezone.clone().unwrap(),
                )
            })
            .collect();
        pg_insert_stores(&state.db, &stores, now).await?;
    } else {
        let _turn = state.write_turn().await;
        let txn = crate::database::begin_write(&state.db).await?;
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            // 18 columns a row; SQLite allows 32,766 parameters a statement.
            let batch: Vec<_> = rows.by_ref().take(1_500).collect();
            restaurants::Entity::insert_many(batch)
                .on_conflict(
                    OnConflict::column(restaurants::Column::ExternalId)
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
    }
    for (id, external, timezone) in lookup(&missing).await? {
        if let Some(external) = external.filter(|e| wanted.contains(e.as_str())) {
            let was_created = created.contains_key(&id);
            found.insert(
                external,
                ExternalRestaurant {
                    id,
                    timezone,
                    created: was_created,
                },
            );
        }
    }
    Ok(found)
}

/// Replace the hours of many restaurants at once (an import): one transaction; on PostgreSQL whole
/// columns in one statement.
pub async fn replace_hours_many(
    state: &AppState,
    hours: &[(Uuid, Vec<HoursInterval>)],
) -> Result<(), sea_orm::DbErr> {
    if hours.is_empty() {
        return Ok(());
    }
    if crate::monitoring::bulk::is_postgres(&state.db) {
        return pg_replace_hours(&state.db, hours).await;
    }
    use sea_orm::IntoActiveModel;
    let _turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    for chunk in hours.chunks(500) {
        restaurant_hours::Entity::delete_many()
            .filter(restaurant_hours::Column::RestaurantId.is_in(chunk.iter().map(|(id, _)| *id)))
            .exec(&txn)
            .await?;
    }
    let mut rows = hours
        .iter()
        .flat_map(|(id, list)| {
            list.iter().map(move |h| {
                restaurant_hours::Model {
                    id: Uuid::now_v7(),
                    restaurant_id: *id,
                    weekday: i16::from(h.weekday),
                    opens: h.opens,
                    closes: h.closes,
                }
                .into_active_model()
            })
        })
        .peekable();
    while rows.peek().is_some() {
        // 5 columns a row; SQLite allows 32,766 parameters a statement.
        let batch: Vec<_> = rows.by_ref().take(5_000).collect();
        restaurant_hours::Entity::insert_many(batch)
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await
}

use crate::monitoring::bulk::db_err;
use sea_orm::sqlx;

/// Replace the hours of `restaurants` with `hours` in one transaction (PostgreSQL).
async fn pg_replace_hours(
    db: &sea_orm::DatabaseConnection,
    hours: &[(Uuid, Vec<HoursInterval>)],
) -> Result<(), sea_orm::DbErr> {
    let pool = db.get_postgres_connection_pool();
    let mut txn = pool.begin().await.map_err(db_err)?;
    let ids: Vec<Uuid> = hours.iter().map(|(id, _)| *id).collect();
    sqlx::query("DELETE FROM restaurant_hours WHERE restaurant_id = ANY($1)")
        .bind(&ids)
        .execute(&mut *txn)
        .await
        .map_err(db_err)?;
    let rows: Vec<(Uuid, &HoursInterval)> = hours
        .iter()
        .flat_map(|(id, list)| list.iter().map(move |h| (*id, h)))
        .collect();
    sqlx::query(
        "INSERT INTO restaurant_hours (id, restaurant_id, weekday, opens, closes) \
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::int2[], $4::time[], $5::time[])",
    )
    .bind(rows.iter().map(|_| Uuid::now_v7()).collect::<Vec<_>>())
    .bind(rows.iter().map(|(id, _)| *id).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|(_, h)| i16::from(h.weekday))
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|(_, h)| h.opens)
            .collect::<Vec<chrono::NaiveTime>>(),
    )
    .bind(
        rows.iter()
            .map(|(_, h)| h.closes)
            .collect::<Vec<chrono::NaiveTime>>(),
    )
    .execute(&mut *txn)
    .await
    .map_err(db_err)?;
    txn.commit().await.map_err(db_err)
}

/// A store to create: (id, external id, name, zone).
type NewStore = (Uuid, String, String, String);

/// Create stores that do not exist yet (by external id), in one statement (PostgreSQL).
async fn pg_insert_stores(
    db: &sea_orm::DatabaseConnection,
    stores: &[NewStore],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), sea_orm::DbErr> {
    let pool = db.get_postgres_connection_pool();
    sqlx::query(
        "INSERT INTO restaurants (id, external_id, name, timezone, status, currency, enable_eat_in, \
           reservation_min_notice_minutes, reservation_max_days_ahead, created_at, updated_at) \
         SELECT u.id, u.ext, u.name, u.tz, 'active', 'USD', false, 60, 30, $5, $5 \
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[]) AS u(id, ext, name, tz) \
         ON CONFLICT (external_id) DO NOTHING",
    )
    .bind(stores.iter().map(|s| s.0).collect::<Vec<_>>())
    .bind(stores.iter().map(|s| s.1.clone()).collect::<Vec<_>>())
    .bind(stores.iter().map(|s| s.2.clone()).collect::<Vec<_>>())
    .bind(stores.iter().map(|s| s.3.clone()).collect::<Vec<_>>())
    .bind(now)
    .execute(pool)
    .await
    .map_err(db_err)?;
    Ok(())
}
