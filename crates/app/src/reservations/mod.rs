//! Reservations and time slots. A venue defines weekly windows (weekday, start, end, interval, maximum
//! reservations and covers per start); a date's bookable starts are generated in the venue's time zone,
//! so windows past midnight and DST days come out right: a start that does not exist on a spring-forward
//! day is skipped, one that happens twice on a fall-back day is offered once (the first).
//!
//! Capacity is a counter per slot start, raised by one conditional UPDATE inside the booking's
//! transaction: whatever the number of simultaneous requests, a start is never overbooked.
//!
//! Facade: [`availability`], [`book`], [`change`], [`check_for_order`].

pub mod routes;

use std::collections::HashMap;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};
use chrono_tz::Tz;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::entities::{reservation_capacity, reservations, restaurants, time_slots, users};
use crate::http::error::{ApiError, FieldErrors};
use crate::notifications::inbox::{self, Kind};
use crate::state::AppState;

pub const MAX_PARTY: i32 = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReservationStatus {
    Pending,
    Confirmed,
    /// The party is at its table (still holds its covers until completed).
    Seated,
    Completed,
    Cancelled,
    /// The party never came.
    NoShow,
}

impl ReservationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationStatus::Pending => "PENDING",
            ReservationStatus::Confirmed => "CONFIRMED",
            ReservationStatus::Seated => "SEATED",
            ReservationStatus::Completed => "COMPLETED",
            ReservationStatus::Cancelled => "CANCELLED",
            ReservationStatus::NoShow => "NO_SHOW",
        }
    }

    pub fn parse(s: &str) -> Option<ReservationStatus> {
        [
            ReservationStatus::Pending,
            ReservationStatus::Confirmed,
            ReservationStatus::Seated,
            ReservationStatus::Completed,
            ReservationStatus::Cancelled,
            ReservationStatus::NoShow,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// Holds capacity.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            ReservationStatus::Pending | ReservationStatus::Confirmed | ReservationStatus::Seated
        )
    }
}

/// Local start times of a window on `date` (times past midnight fall on the next calendar day).
pub fn local_starts(slot: &time_slots::Model, date: NaiveDate) -> Vec<NaiveDateTime> {
    let start = date.and_time(slot.start_time);
    let mut end = date.and_time(slot.end_time);
    if slot.end_time <= slot.start_time {
        end += Duration::days(1);
    }
    let step = Duration::minutes(i64::from(Ord::max(slot.interval_minutes, 5)));
    let mut out = Vec::new();
    let mut t = start;
    while t < end {
        out.push(t);
        t += step;
    }
    out
}

/// The instant of a local start: `None` in a spring-forward gap, the first of two in a fall-back fold.
pub fn start_instant(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => Some(at.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SlotAvailability {
    pub time_slot_id: Uuid,
    /// The window's local date (what to send back when booking).
    #[schema(value_type = String, example = "2026-06-20")]
    pub date: NaiveDate,
    /// Local start time (what to send back when booking).
    #[schema(value_type = String, example = "19:30:00")]
    pub time: NaiveTime,
    /// Local start with its UTC offset.
    #[schema(example = "2026-06-20T19:30:00+01:00")]
    pub local_start: String,
    pub starts_at: DateTime<Utc>,
    pub reservations_left: i32,
    /// Guests that still fit (absent when covers are unlimited).
    pub covers_left: Option<i32>,
}

fn zone(venue: &restaurants::Model) -> Tz {
    crate::restaurants::zone_of(venue)
}

/// Problems with booking for `date` at all (past, or too far ahead).
pub fn check_date(
    venue: &restaurants::Model,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let today = now.with_timezone(&zone(venue)).date_naive();
    // A window of yesterday may still run past midnight into today.
    if date < today - Duration::days(1) {
        return Err("is in the past".into());
    }
    if date > today + Duration::days(i64::from(venue.reservation_max_days_ahead)) {
        return Err(format!(
            "is more than {} days ahead",
            venue.reservation_max_days_ahead
        ));
    }
    Ok(())
}

async fn slots_for<C: ConnectionTrait>(
    db: &C,
    venue: Uuid,
    weekday: u32,
) -> Result<Vec<time_slots::Model>, ApiError> {
    Ok(time_slots::Entity::find()
        .filter(time_slots::Column::RestaurantId.eq(venue))
        .filter(time_slots::Column::Weekday.eq(weekday as i16))
        .order_by_asc(time_slots::Column::StartTime)
        .all(db)
        .await?)
}

/// Free starts of `date` for a party of `party_size`, in start order.
pub async fn availability(
    state: &AppState,
    venue: &restaurants::Model,
    date: NaiveDate,
    party_size: i32,
) -> Result<Vec<SlotAvailability>, ApiError> {
    let now = state.now();
    if !(1..=MAX_PARTY).contains(&party_size) {
        return Err(ApiError::field(
            "party_size",
            format!("must be between 1 and {MAX_PARTY}"),
        ));
    }
    // A date outside the booking window has no free starts.
    if check_date(venue, date, now).is_err() {
        return Ok(Vec::new());
    }
    let tz = zone(venue);
    let earliest = now + Duration::minutes(i64::from(venue.reservation_min_notice_minutes));
    let slots = slots_for(&state.db, venue.id, date.weekday().num_days_from_monday()).await?;
    let mut candidates = Vec::new();
    for slot in &slots {
        for local in local_starts(slot, date) {
            if let Some(at) = start_instant(tz, local)
                && at >= earliest
            {
                candidates.push((slot, local, at));
            }
        }
    }
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let taken: HashMap<(Uuid, DateTime<Utc>), (i32, i32)> = reservation_capacity::Entity::find()
        .filter(reservation_capacity::Column::TimeSlotId.is_in(slots.iter().map(|s| s.id)))
        .filter(reservation_capacity::Column::StartsAt.gte(candidates[0].2 - Duration::days(1)))
        .filter(
            reservation_capacity::Column::StartsAt
                .lte(candidates.iter().map(|c| c.2).max().unwrap_or(now) + Duration::days(1)),
        )
        .all(&state.db)
        .await?
        .into_iter()
        .map(|c| ((c.time_slot_id, c.starts_at), (c.reservations, c.covers)))
        .collect();
    let mut out: Vec<SlotAvailability> = candidates
        .into_iter()
        .filter_map(|(slot, local, at)| {
            let (count, covers) = taken.get(&(slot.id, at)).copied().unwrap_or((0, 0));
            let reservations_left = slot.max_reservations - count;
            let covers_left = slot.max_covers.map(|max| max - covers);
            if reservations_left < 1 || covers_left.is_some_and(|left| left < party_size) {
                return None;
            }
            Some(SlotAvailability {
                time_slot_id: slot.id,
                date,
                time: local.time(),
                local_start: at.with_timezone(&tz).to_rfc3339(),
                starts_at: at,
                reservations_left,
                covers_left,
            })
        })
        .collect();
    out.sort_by_key(|s| s.starts_at);
    out.dedup_by_key(|s| (s.time_slot_id, s.starts_at));
    Ok(out)
}

/// The slot and instant a (date, time) request names, or the problem with it.
async fn resolve<C: ConnectionTrait>(
    db: &C,
    venue: &restaurants::Model,
    date: NaiveDate,
    time: NaiveTime,
) -> Result<Result<(time_slots::Model, DateTime<Utc>), String>, ApiError> {
    let tz = zone(venue);
    for slot in slots_for(db, venue.id, date.weekday().num_days_from_monday()).await? {
        for local in local_starts(&slot, date) {
            if local.time() == time {
                return Ok(match start_instant(tz, local) {
                    Some(at) => Ok((slot, at)),
                    None => Err("does not exist on that date (the clocks change)".into()),
                });
            }
        }
    }
    Ok(Err(
        "is not a reservation time of this venue on that date".into()
    ))
}

/// Take one reservation and `party` covers at a slot start; false when it is full.
async fn claim(
    txn: &DatabaseTransaction,
    slot: &time_slots::Model,
    at: DateTime<Utc>,
    party: i32,
) -> Result<bool, ApiError> {
    reservation_capacity::Entity::insert(reservation_capacity::ActiveModel {
        id: Set(Uuid::now_v7()),
        time_slot_id: Set(slot.id),
        starts_at: Set(at),
        reservations: Set(0),
        covers: Set(0),
    })
    .on_conflict(
        OnConflict::columns([
            reservation_capacity::Column::TimeSlotId,
            reservation_capacity::Column::StartsAt,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    let mut update = reservation_capacity::Entity::update_many()
        .col_expr(
            reservation_capacity::Column::Reservations,
            Expr::col(reservation_capacity::Column::Reservations).add(1),
        )
        .col_expr(
            reservation_capacity::Column::Covers,
            Expr::col(reservation_capacity::Column::Covers).add(party),
        )
        .filter(reservation_capacity::Column::TimeSlotId.eq(slot.id))
        .filter(reservation_capacity::Column::StartsAt.eq(at))
        .filter(
            Expr::col(reservation_capacity::Column::Reservations)
                .add(1)
                .lte(slot.max_reservations),
        );
    if let Some(max) = slot.max_covers {
        update = update.filter(
            Expr::col(reservation_capacity::Column::Covers)
                .add(party)
                .lte(max),
        );
    }
    Ok(update.exec(txn).await?.rows_affected == 1)
}

/// Give back what a live reservation held.
async fn release(txn: &DatabaseTransaction, r: &reservations::Model) -> Result<(), ApiError> {
    let Some(slot) = r.time_slot_id else {
        return Ok(());
    };
    reservation_capacity::Entity::update_many()
        .col_expr(
            reservation_capacity::Column::Reservations,
            Expr::col(reservation_capacity::Column::Reservations).sub(1),
        )
        .col_expr(
            reservation_capacity::Column::Covers,
            Expr::col(reservation_capacity::Column::Covers).sub(r.party_size),
        )
        .filter(reservation_capacity::Column::TimeSlotId.eq(slot))
        .filter(reservation_capacity::Column::StartsAt.eq(r.starts_at))
        .exec(txn)
        .await?;
    Ok(())
}

fn full() -> ApiError {
    ApiError::conflict(
        "slot_full",
        "that time is fully booked; pick another from the availability list",
    )
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReservationInput {
    /// A local date at the venue, within its booking window (409 otherwise).
    #[schema(value_type = String, format = Date, example = "2026-06-20")]
    pub date: NaiveDate,
    /// One of the venue's reservation start times that day (409 otherwise).
    #[schema(value_type = crate::http::openapi::TimeOfDay, example = "19:30")]
    #[serde(deserialize_with = "de_time")]
    pub time: NaiveTime,
    #[schema(example = 4, minimum = 1, maximum = 50)]
    pub party_size: i32,
    #[schema(max_length = 200)]
    pub table_preference: Option<String>,
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

fn de_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
    let raw = String::deserialize(d)?;
    crate::restaurants::hours::parse_time(&raw).map_err(serde::de::Error::custom)
}

fn clean(
    text: &Option<String>,
    max: usize,
    field: &str,
    errors: &mut FieldErrors,
) -> Option<String> {
    match crate::http::text::optional_text(text.as_deref()?, max) {
        Ok(text) => text,
        Err(problem) => {
            errors.add(field, problem);
            None
        }
    }
}

/// Check a requested time against the venue's rules; returns its slot and instant. (Reads happen
/// before the booking transaction, whose first statement is then a write: on SQLite a transaction that
/// read first could not take the write lock once another booking committed.)
async fn checked_slot(
    state: &AppState,
    venue: &restaurants::Model,
    input: &ReservationInput,
    errors: &mut FieldErrors,
    conflicts: &mut FieldErrors,
) -> Result<Option<(time_slots::Model, DateTime<Utc>)>, ApiError> {
    let now = state.now();
    if !venue.enable_eat_in || venue.status == "inactive" {
        conflicts.add("venue_id", "this venue does not take reservations");
    }
    if !(1..=MAX_PARTY).contains(&input.party_size) {
        errors.add("party_size", format!("must be between 1 and {MAX_PARTY}"));
    }
    if let Err(problem) = check_date(venue, input.date, now) {
        conflicts.add("date", problem);
        return Ok(None);
    }
    match resolve(&state.db, venue, input.date, input.time).await? {
        Err(problem) => {
            conflicts.add("time", problem);
            Ok(None)
        }
        Ok((slot, at)) => {
            let earliest = now + Duration::minutes(i64::from(venue.reservation_min_notice_minutes));
            if at < earliest {
                conflicts.add(
                    "time",
                    format!(
                        "must be at least {} minutes from now",
                        venue.reservation_min_notice_minutes
                    ),
                );
            }
            if let Some(max) = slot.max_covers
                && input.party_size > max
            {
                conflicts.add("party_size", format!("at most {max} guests at this time"));
            }
            Ok(Some((slot, at)))
        }
    }
}

/// Refused because of the venue's reservation rules and what is free (409), not the request's form.
fn not_bookable(conflicts: FieldErrors) -> Result<(), ApiError> {
    conflicts.into_conflict(
        "not_bookable",
        "the venue does not take this reservation as it stands",
    )
}

/// Book a table for `user` (confirmed at once when there is room).
pub async fn book(
    state: &AppState,
    venue: &restaurants::Model,
    user: Uuid,
    input: &ReservationInput,
) -> Result<reservations::Model, ApiError> {
    let mut errors = FieldErrors::new();
    let table_preference = clean(
        &input.table_preference,
        200,
        "table_preference",
        &mut errors,
    );
    let note = clean(&input.note, 1000, "note", &mut errors);
    let mut conflicts = FieldErrors::new();
    let found = checked_slot(state, venue, input, &mut errors, &mut conflicts).await?;
    errors.into_result()?;
    not_bookable(conflicts)?;
    let Some((slot, at)) = found else {
        return Err(ApiError::conflict(
            "not_bookable",
            "that time is not available",
        ));
    };
    let txn = crate::database::begin_write(&state.db).await?;
    if !claim(&txn, &slot, at, input.party_size).await? {
        return Err(full());
    }
    let now = state.now();
    let model = reservations::ActiveModel {
        id: Set(Uuid::now_v7()),
        restaurant_id: Set(venue.id),
        user_id: Set(user),
        time_slot_id: Set(Some(slot.id)),
        date: Set(input.date),
        slot_time: Set(input.time),
        starts_at: Set(at),
        party_size: Set(input.party_size),
        status: Set(ReservationStatus::Confirmed.as_str().to_string()),
        table_preference: Set(table_preference),
        note: Set(note),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    metrics::counter!("brigade_reservations_total", "event" => "booked").increment(1);
    tell(state, venue, &model, "Reservation confirmed", true).await;
    Ok(model)
}

/// What a change asks for.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReservationChange {
    #[schema(value_type = Option<String>, format = Date, example = "2026-06-21")]
    pub date: Option<NaiveDate>,
    #[schema(value_type = Option<crate::http::openapi::TimeOfDay>, example = "20:00")]
    #[serde(default, deserialize_with = "de_opt_time")]
    pub time: Option<NaiveTime>,
    #[schema(minimum = 1, maximum = 50)]
    pub party_size: Option<i32>,
    #[schema(max_length = 200)]
    pub table_preference: Option<String>,
    #[schema(max_length = 1000)]
    pub note: Option<String>,
    /// Venue people only (403 for the guest).
    #[schema(example = "COMPLETED")]
    pub status: Option<ReservationStatus>,
}

fn de_opt_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<NaiveTime>, D::Error> {
    let raw = Option::<String>::deserialize(d)?;
    raw.map(|r| crate::restaurants::hours::parse_time(&r).map_err(serde::de::Error::custom))
        .transpose()
}

/// Change a reservation: a new time or party size moves its capacity in one transaction (refused, and
/// nothing changed, when the new time is full); a status change by the venue.
pub async fn change(
    state: &AppState,
    existing: reservations::Model,
    change: &ReservationChange,
    by_venue: bool,
) -> Result<reservations::Model, ApiError> {
    let venue = crate::restaurants::find(state, existing.restaurant_id).await?;
    let current = ReservationStatus::parse(&existing.status).unwrap_or(ReservationStatus::Pending);
    if !current.is_live() {
        return Err(ApiError::conflict(
            "reservation_closed",
            format!("the reservation is {}; it cannot change", current.as_str()),
        ));
    }
    if change.status.is_some() && !by_venue {
        return Err(
            ApiError::forbidden("only the venue changes the status; cancel with DELETE")
                .with_field("status", "is the venue's to change"),
        );
    }
    let mut errors = FieldErrors::new();
    let moves = change.date.is_some() || change.time.is_some() || change.party_size.is_some();
    let new_status = change.status.unwrap_or(current);
    // A seated party can only finish (or leave): it cannot go back to waiting or be a no-show.
    if current == ReservationStatus::Seated
        && matches!(
            new_status,
            ReservationStatus::Pending | ReservationStatus::Confirmed | ReservationStatus::NoShow
        )
    {
        return Err(ApiError::conflict(
            "reservation_seated",
            "the party is seated: complete or cancel the reservation",
        )
        .with_field("status", "cannot follow SEATED"));
    }
    let table_preference = change.table_preference.as_ref().map(|_| {
        clean(
            &change.table_preference,
            200,
            "table_preference",
            &mut errors,
        )
    });
    let note = change
        .note
        .as_ref()
        .map(|_| clean(&change.note, 1000, "note", &mut errors));
    let mut active: reservations::ActiveModel = existing.clone().into();
    // What a move needs, checked before anything is written.
    let target = if moves && new_status.is_live() {
        let input = ReservationInput {
            date: change.date.unwrap_or(existing.date),
            time: change.time.unwrap_or(existing.slot_time),
            party_size: change.party_size.unwrap_or(existing.party_size),
            table_preference: None,
            note: None,
        };
        let mut conflicts = FieldErrors::new();
        let found = checked_slot(state, &venue, &input, &mut errors, &mut conflicts).await?;
        errors.into_result()?;
        not_bookable(conflicts)?;
        let Some((slot, at)) = found else {
            return Err(ApiError::conflict(
                "not_bookable",
                "that time is not available",
            ));
        };
        active.time_slot_id = Set(Some(slot.id));
        active.date = Set(input.date);
        active.slot_time = Set(input.time);
        active.starts_at = Set(at);
        active.party_size = Set(input.party_size);
        Some((slot, at, input.party_size))
    } else {
        errors.into_result()?;
        None
    };
    if let Some(v) = table_preference {
        active.table_preference = Set(v);
    }
    if let Some(v) = note {
        active.note = Set(v);
    }
    active.status = Set(new_status.as_str().to_string());
    active.updated_at = Set(state.now());
    let txn = crate::database::begin_write(&state.db).await?;
    // One conditional write claims the change: it applies only while the row still holds the status,
    // slot, start and party it was read with. Of simultaneous changes (two cancels of one reservation)
    // exactly one gets the row, and only that one gives back or takes capacity below.
    let claimed = reservations::Entity::update_many()
        .set(active)
        .filter(reservations::Column::Id.eq(existing.id))
        .filter(reservations::Column::Status.eq(existing.status.as_str()))
        .filter(match existing.time_slot_id {
            Some(slot) => reservations::Column::TimeSlotId.eq(slot),
            None => reservations::Column::TimeSlotId.is_null(),
        })
        .filter(reservations::Column::StartsAt.eq(existing.starts_at))
        .filter(reservations::Column::PartySize.eq(existing.party_size))
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        txn.rollback().await?;
        return Err(ApiError::conflict(
            "reservation_changed",
            "the reservation was changed by another request meanwhile; read it again",
        ));
    }
    if !new_status.is_live() || target.is_some() {
        release(&txn, &existing).await?;
    }
    if let Some((slot, at, party)) = &target
        && !claim(&txn, slot, *at, *party).await?
    {
        txn.rollback().await?;
        return Err(full());
    }
    let model = reservations::Entity::find_by_id(existing.id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("reservation"))?;
    txn.commit().await?;
    let title = match new_status {
        ReservationStatus::Cancelled => "Reservation cancelled",
        ReservationStatus::Completed => "Thanks for visiting",
        ReservationStatus::NoShow => "Reservation marked as a no-show",
        ReservationStatus::Seated => "Welcome: you are seated",
        _ => "Reservation updated",
    };
    metrics::counter!("brigade_reservations_total", "event" => new_status.as_str()).increment(1);
    tell(state, &venue, &model, title, moves).await;
    Ok(model)
}

/// Notify the guest in the app (and by e-mail when `email`); failures are logged, never undo the booking.
/// The pub/sub channel the venue's reservation book listens on.
pub fn book_channel(venue_id: Uuid) -> String {
    format!("venue:{venue_id}:reservations")
}

async fn tell(
    state: &AppState,
    venue: &restaurants::Model,
    r: &reservations::Model,
    title: &str,
    email: bool,
) {
    // The venue's book, in every process, redraws.
    let change = serde_json::json!({"reservation_id": r.id, "status": r.status, "date": r.date});
    if let Err(err) = state
        .pubsub
        .publish(&book_channel(venue.id), &change.to_string())
        .await
    {
        tracing::warn!(%err, "could not publish a reservation change");
    }
    let local = r.starts_at.with_timezone(&zone(venue));
    let message = format!(
        "{}: table for {} on {} at {} ({}).",
        venue.name,
        r.party_size,
        local.format("%A %-d %B %Y"),
        local.format("%H:%M"),
        r.status.to_lowercase()
    );
    if let Err(err) = inbox::notify(
        state,
        r.user_id,
        Kind::Reservation,
        title,
        &message,
        Some((r.id, "reservation")),
    )
    .await
    {
        tracing::warn!(error = %err.message, "could not store a reservation notification");
    }
    if !email {
        return;
    }
    let user = users::Entity::find_by_id(r.user_id).one(&state.db).await;
    if let Ok(Some(user)) = user
        && let Some(address) = crate::accounts::mail_address(&user)
    {
        let body = format!(
            "Hello {},\n\n{message}\n\nReservation {}. To change or cancel it, open Brigade.\n",
            user.first_name, r.id
        );
        if let Err(err) = crate::notifications::mail::send(state, &address, title, &body).await {
            tracing::warn!(error = %err.message, "could not queue a reservation e-mail");
        }
    }
}

/// Whether `reservation` is the customer's live reservation at this venue (for dine-in orders).
pub async fn check_for_order(
    state: &AppState,
    reservation: Uuid,
    customer: Uuid,
    venue: Uuid,
) -> Result<Result<(), String>, ApiError> {
    let found = reservations::Entity::find_by_id(reservation)
        .one(&state.db)
        .await?;
    Ok(match found {
        Some(r) if r.user_id == customer && r.restaurant_id == venue => {
            if ReservationStatus::parse(&r.status).is_some_and(ReservationStatus::is_live) {
                Ok(())
            } else {
                Err(format!("the reservation is {}", r.status.to_lowercase()))
            }
        }
        _ => Err("no such reservation of yours at this venue".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(start: &str, end: &str, every: i32) -> time_slots::Model {
        let now = Utc::now();
        time_slots::Model {
            id: Uuid::nil(),
            restaurant_id: Uuid::nil(),
            weekday: 5,
            start_time: crate::restaurants::hours::parse_time(start).unwrap(),
            end_time: crate::restaurants::hours::parse_time(end).unwrap(),
            interval_minutes: every,
            max_reservations: 4,
            max_covers: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn windows_past_midnight_continue_on_the_next_day() {
        let date = NaiveDate::from_ymd_opt(2026, 6, 20).unwrap();
        let starts = local_starts(&slot("22:00", "01:00", 60), date);
        let shown: Vec<String> = starts
            .iter()
            .map(|t| t.format("%d %H:%M").to_string())
            .collect();
        assert_eq!(shown, vec!["20 22:00", "20 23:00", "21 00:00"]);
        assert_eq!(local_starts(&slot("18:00", "20:00", 30), date).len(), 4);
    }

    #[test]
    fn dst_gaps_are_skipped_and_folds_offered_once() {
        let tz: Tz = "America/New_York".parse().unwrap();
        // 2026-03-08: 02:00 -> 03:00.
        let spring = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        let starts: Vec<_> = local_starts(&slot("01:00", "04:00", 30), spring)
            .into_iter()
            .filter_map(|l| start_instant(tz, l))
            .collect();
        assert_eq!(starts.len(), 4, "02:00 and 02:30 do not exist");
        assert_eq!(starts[1] - starts[0], Duration::minutes(30));
        assert_eq!(
            starts[2] - starts[1],
            Duration::minutes(30),
            "01:30 EST -> 03:00 EDT"
        );
        // 2026-11-01: 02:00 -> 01:00; 01:30 happens twice, offered as the first.
        let fall = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let first = start_instant(tz, fall.and_hms_opt(1, 30, 0).unwrap()).unwrap();
        assert_eq!(first.to_rfc3339(), "2026-11-01T05:30:00+00:00");
    }
}
