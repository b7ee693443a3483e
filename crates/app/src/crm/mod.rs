//! The KAM CRM: key account managers and the restaurants they look after. A lead is a shared
//! `restaurants` row; its CRM side (`crm_accounts`) holds the assigned KAM, the call plan and the cached
//! performance score. Contacts, interactions, order follow-ups, status and assignment history hang off the
//! restaurant.
//!
//! Access: administrators see and change everything; a KAM only the restaurants assigned to them (others
//! answer 404, as if they did not exist); every other role gets 403.
//!
//! Facade: [`account_for`], [`calls_today`], [`reassign`], [`record_status_change`], [`kam_hours`].

pub mod import;
pub mod jobs;
pub mod planning;
pub mod routes;
pub mod score;

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accounts::{Principal, Role};
use crate::entities::{
    call_follow_ups, contacts, crm_accounts, kam_assignments, kam_profiles, kam_working_hours,
    restaurant_status_changes, restaurants, users,
};
use crate::http::error::{ApiError, ApiResult};
use crate::restaurants::{BusinessHours, HoursInterval};
use crate::state::AppState;
use planning::{Suggestion, Urgency};
use score::Tier;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactRole {
    Owner,
    Manager,
    Staff,
    Other,
}

impl ContactRole {
    pub const ALL: [ContactRole; 4] = [
        ContactRole::Owner,
        ContactRole::Manager,
        ContactRole::Staff,
        ContactRole::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactRole::Owner => "owner",
            ContactRole::Manager => "manager",
            ContactRole::Staff => "staff",
            ContactRole::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<ContactRole> {
        let s = s.trim().to_lowercase();
        ContactRole::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InteractionKind {
    Call,
    Email,
    Meeting,
    Visit,
}

impl InteractionKind {
    pub const ALL: [InteractionKind; 4] = [
        InteractionKind::Call,
        InteractionKind::Email,
        InteractionKind::Meeting,
        InteractionKind::Visit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InteractionKind::Call => "call",
            InteractionKind::Email => "email",
            InteractionKind::Meeting => "meeting",
            InteractionKind::Visit => "visit",
        }
    }

    pub fn parse(s: &str) -> Option<InteractionKind> {
        InteractionKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How an interaction went. A call with no answer does not count as the planned call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Positive,
    Neutral,
    Negative,
    NoAnswer,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Positive,
        Outcome::Neutral,
        Outcome::Negative,
        Outcome::NoAnswer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Positive => "positive",
            Outcome::Neutral => "neutral",
            Outcome::Negative => "negative",
            Outcome::NoAnswer => "no_answer",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// A KAM's or admin's right to a restaurant in the CRM: the restaurant and its CRM row (if any).
pub async fn account_for(
    state: &AppState,
    me: &Principal,
    restaurant_id: Uuid,
) -> ApiResult<(restaurants::Model, Option<crm_accounts::Model>)> {
    me.require_role(&[Role::Admin, Role::Kam])?;
    let restaurant = crate::restaurants::find(state, restaurant_id).await?;
    let account = crm_accounts::Entity::find_by_id(restaurant_id)
        .one(&state.db)
        .await?;
    if me.role == Role::Kam && account.as_ref().and_then(|a| a.kam_id) != Some(me.user_id) {
        return Err(ApiError::not_found("restaurant"));
    }
    Ok((restaurant, account))
}

/// The CRM row of a restaurant, created empty when missing.
pub async fn ensure_account<C: ConnectionTrait>(
    db: &C,
    restaurant_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<crm_accounts::Model> {
    crm_accounts::Entity::insert(empty_account(restaurant_id, now))
        .on_conflict_do_nothing_on([crm_accounts::Column::RestaurantId])
        .exec(db)
        .await?;
    // Every caller writes the account from what it reads here, inside its transaction: on PostgreSQL
    // the row is locked (`FOR UPDATE`) so two of them cannot both start from the same state (two
    // simultaneous reassignments each recorded a move from the same KAM). SQLite's write transactions
    // are already one at a time.
    crm_accounts::Entity::find_by_id(restaurant_id)
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("restaurant"))
}

pub fn empty_account(restaurant_id: Uuid, now: DateTime<Utc>) -> crm_accounts::ActiveModel {
    crm_accounts::ActiveModel {
        restaurant_id: Set(restaurant_id),
        kam_id: Set(None),
        call_frequency_days: Set(None),
        last_call_at: Set(None),
        next_call_at: Set(None),
        score: Set(None),
        tier: Set(None),
        score_breakdown: Set(None),
        patterns: Set(None),
        scored_at: Set(None),
        updated_at: Set(now),
    }
}

/// Days between calls for an account: its own, or its tier's default.
pub fn call_days(account: &crm_accounts::Model) -> i32 {
    account
        .call_frequency_days
        .unwrap_or_else(|| Tier::default_call_days(account.tier.as_deref().and_then(Tier::parse)))
}

/// Record a lead status change (no row when the status stays the same).
pub async fn record_status_change<C: ConnectionTrait>(
    db: &C,
    restaurant_id: Uuid,
    from: Option<&str>,
    to: &str,
    by: Option<Uuid>,
    note: Option<String>,
    at: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    if from == Some(to) {
        return Ok(());
    }
    restaurant_status_changes::ActiveModel {
        id: Set(Uuid::now_v7()),
        restaurant_id: Set(restaurant_id),
        from_status: Set(from.map(str::to_string)),
        to_status: Set(to.to_string()),
        changed_by: Set(by),
        note: Set(note),
        changed_at: Set(at),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// A KAM's zone (their account's; UTC when unset).
pub fn kam_zone(user: &users::Model) -> Tz {
    user.timezone
        .as_deref()
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::UTC)
}

/// A KAM's working hours in their zone (Monday to Friday 09:00–17:00 until they set their own).
pub async fn kam_hours<C: ConnectionTrait>(
    db: &C,
    user: &users::Model,
) -> ApiResult<BusinessHours> {
    let rows = kam_working_hours::Entity::find()
        .filter(kam_working_hours::Column::UserId.eq(user.id))
        .order_by_asc(kam_working_hours::Column::Weekday)
        .order_by_asc(kam_working_hours::Column::Opens)
        .all(db)
        .await?;
    let intervals = if rows.is_empty() {
        planning::default_working_hours()
    } else {
        rows.iter()
            .map(|r| HoursInterval {
                weekday: r.weekday as u8,
                opens: r.opens,
                closes: r.closes,
            })
            .collect()
    };
    Ok(BusinessHours::new(kam_zone(user), intervals))
}

/// A user who is an active KAM, or a 422 on `field`.
pub async fn active_kam<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    field: &str,
) -> ApiResult<users::Model> {
    let user = users::Entity::find_by_id(id).one(db).await?;
    match user {
        Some(u) if u.role == Role::Kam.as_str() && u.is_active => Ok(u),
        // Someone, but not someone restaurants can be given to now.
        Some(_) => Err(ApiError::conflict(
            "not_a_kam",
            "that account is not an active key account manager",
        )
        .with_field(field, "is not an active key account manager")),
        None => Err(ApiError::not_found("key account manager").with_field(field, "no such user")),
    }
}

pub async fn kam_region<C: ConnectionTrait>(db: &C, id: Uuid) -> ApiResult<Option<String>> {
    Ok(kam_profiles::Entity::find_by_id(id)
        .one(db)
        .await?
        .and_then(|p| p.region))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LocalTime {
    /// The instant (UTC).
    pub at: DateTime<Utc>,
    /// In the KAM's zone, e.g. `Mon 09 Mar 17:30 IST`.
    pub kam_local: String,
    /// In the restaurant's zone.
    pub restaurant_local: String,
    /// The shared stretch ends at this instant.
    pub until: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FollowUpView {
    pub id: Uuid,
    pub due_on: NaiveDate,
    pub order_id: Option<Uuid>,
    pub interaction_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DueCall {
    pub restaurant_id: Uuid,
    pub restaurant_name: String,
    pub restaurant_timezone: String,
    pub region: Option<String>,
    pub tier: Option<Tier>,
    pub score: Option<i32>,
    /// The earliest due date, in the KAM's zone.
    pub due_on: NaiveDate,
    pub days_overdue: i64,
    /// `due` (today), `amber` (1–3 days overdue) or `red` (more).
    pub urgency: Urgency,
    pub next_call_at: Option<DateTime<Utc>>,
    pub last_call_at: Option<DateTime<Utc>>,
    /// Open follow-ups due by today (the seed's next-call/order pairs).
    pub follow_ups: Vec<FollowUpView>,
    pub lead_contact: Option<ContactBrief>,
    /// A time today inside both the KAM's working hours and the restaurant's business hours.
    pub suggested: Option<LocalTime>,
    /// Why there is no suggestion today, when there is none.
    pub no_overlap: Option<String>,
    /// The first shared time in the next seven days when none is left today.
    pub next_overlap: Option<LocalTime>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContactBrief {
    pub id: Uuid,
    pub name: String,
    pub phone: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallsToday {
    pub kam_id: Uuid,
    pub kam_timezone: String,
    /// The KAM's local date.
    pub today: NaiveDate,
    pub now: DateTime<Utc>,
    /// Due restaurants in all (the list may be cut to `limit`).
    pub total: usize,
    pub overdue: usize,
    pub items: Vec<DueCall>,
}

fn local_time(kam: Tz, restaurant: Tz, (at, until): (DateTime<Utc>, DateTime<Utc>)) -> LocalTime {
    LocalTime {
        at,
        kam_local: planning::local_label(kam, at),
        restaurant_local: planning::local_label(restaurant, at),
        until,
    }
}

/// The calls a KAM should make today, ranked, each with a suggested time.
pub async fn calls_today(
    state: &AppState,
    kam: &users::Model,
    limit: usize,
) -> ApiResult<CallsToday> {
    let now = state.now();
    let db = &state.db;
    let hours = kam_hours(db, kam).await?;
    let tz = hours.tz;
    let today = planning::local_date(tz, now);
    let (_, day_end) = planning::day_bounds(tz, today);

    let scheduled = crm_accounts::Entity::find()
        .filter(crm_accounts::Column::KamId.eq(kam.id))
        .filter(crm_accounts::Column::NextCallAt.lt(day_end))
        .all(db)
        .await?;
    let follow_rows = call_follow_ups::Entity::find()
        .filter(call_follow_ups::Column::DoneAt.is_null())
        .filter(call_follow_ups::Column::DueOn.lte(today))
        .filter(
            call_follow_ups::Column::RestaurantId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(crm_accounts::Column::RestaurantId)
                    .from(crm_accounts::Entity)
                    .and_where(sea_orm::sea_query::ExprTrait::eq(
                        Expr::col(crm_accounts::Column::KamId),
                        kam.id,
                    ))
                    .to_owned(),
            ),
        )
        .order_by_asc(call_follow_ups::Column::DueOn)
        .all(db)
        .await?;
    let mut follow_ups: HashMap<Uuid, Vec<call_follow_ups::Model>> = HashMap::new();
    for f in follow_rows {
        follow_ups.entry(f.restaurant_id).or_default().push(f);
    }
    let mut accounts: HashMap<Uuid, crm_accounts::Model> = scheduled
        .into_iter()
        .map(|a| (a.restaurant_id, a))
        .collect();
    let missing: Vec<Uuid> = follow_ups
        .keys()
        .filter(|id| !accounts.contains_key(id))
        .copied()
        .collect();
    if !missing.is_empty() {
        for a in crm_accounts::Entity::find()
            .filter(crm_accounts::Column::RestaurantId.is_in(missing))
            .all(db)
            .await?
        {
            accounts.insert(a.restaurant_id, a);
        }
    }
    let ids: Vec<Uuid> = accounts.keys().copied().collect();
    let mut restaurants_by_id: HashMap<Uuid, restaurants::Model> = HashMap::new();
    for chunk in ids.chunks(500) {
        for r in restaurants::Entity::find()
            .filter(restaurants::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            restaurants_by_id.insert(r.id, r);
        }
    }

    struct Candidate {
        key: planning::RankKey,
        account: crm_accounts::Model,
        due_on: NaiveDate,
        follow: Vec<call_follow_ups::Model>,
    }
    let mut candidates = Vec::new();
    for (id, account) in accounts {
        let follow = follow_ups.remove(&id).unwrap_or_default();
        let dates: Vec<NaiveDate> = follow.iter().map(|f| f.due_on).collect();
        let Some(due_on) = planning::due_date(tz, today, account.next_call_at, &dates) else {
            continue;
        };
        let Some(restaurant) = restaurants_by_id.get(&id) else {
            continue;
        };
        candidates.push(Candidate {
            key: planning::RankKey {
                days_overdue: (today - due_on).num_days().max(0),
                has_order_follow_up: follow.iter().any(|f| f.order_id.is_some()),
                score: account.score,
                name: restaurant.name.clone(),
            },
            account,
            due_on,
            follow,
        });
    }
    candidates.sort_by(|a, b| planning::rank_cmp(&a.key, &b.key));
    let total = candidates.len();
    let overdue = candidates.iter().filter(|c| c.key.days_overdue > 0).count();
    candidates.truncate(limit);

    let shown: Vec<Uuid> = candidates.iter().map(|c| c.account.restaurant_id).collect();
    let mut hours_by_id = crate::restaurants::hours_of(db, &shown).await?;
    let mut leads: HashMap<Uuid, contacts::Model> = HashMap::new();
    if !shown.is_empty() {
        for c in contacts::Entity::find()
            .filter(contacts::Column::RestaurantId.is_in(shown.iter().copied()))
            .filter(contacts::Column::IsLead.eq(true))
            .all(db)
            .await?
        {
            leads.insert(c.restaurant_id, c);
        }
    }
    let items = candidates
        .into_iter()
        .map(|c| {
            let id = c.account.restaurant_id;
            let restaurant = &restaurants_by_id[&id];
            let rtz = crate::restaurants::zone_of(restaurant);
            let rhours = BusinessHours::new(rtz, hours_by_id.remove(&id).unwrap_or_default());
            let (suggested, no_overlap, next_overlap) =
                match planning::suggest(&hours, &rhours, now) {
                    Suggestion::Today { at, until } => {
                        (Some(local_time(tz, rtz, (at, until))), None, None)
                    }
                    Suggestion::NoneToday { next } => (
                        None,
                        Some(match next {
                            Some(_) => "no time left today inside both your working hours and the restaurant's opening hours".to_string(),
                            None => "your working hours and the restaurant's opening hours do not overlap in the next seven days".to_string(),
                        }),
                        next.map(|n| local_time(tz, rtz, n)),
                    ),
                };
            DueCall {
                restaurant_id: id,
                restaurant_name: restaurant.name.clone(),
                restaurant_timezone: restaurant.timezone.clone(),
                region: restaurant.region.clone(),
                tier: c.account.tier.as_deref().and_then(Tier::parse),
                score: c.account.score,
                due_on: c.due_on,
                days_overdue: c.key.days_overdue,
                urgency: Urgency::of(c.key.days_overdue),
                next_call_at: c.account.next_call_at,
                last_call_at: c.account.last_call_at,
                follow_ups: c
                    .follow
                    .iter()
                    .map(|f| FollowUpView {
                        id: f.id,
                        due_on: f.due_on,
                        order_id: f.order_id,
                        interaction_id: f.interaction_id,
                    })
                    .collect(),
                lead_contact: leads.get(&id).map(|l| ContactBrief {
                    id: l.id,
                    name: l.name.clone(),
                    phone: l.phone.clone(),
                }),
                suggested,
                no_overlap,
                next_overlap,
            }
        })
        .collect();
    Ok(CallsToday {
        kam_id: kam.id,
        kam_timezone: tz.name().to_string(),
        today,
        now,
        total,
        overdue,
        items,
    })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssignmentView {
    pub id: Uuid,
    pub restaurant_id: Uuid,
    pub from_kam: Option<Uuid>,
    pub from_kam_name: Option<String>,
    pub to_kam: Option<Uuid>,
    pub to_kam_name: Option<String>,
    pub assigned_by: Option<Uuid>,
    pub assigned_by_name: Option<String>,
    pub note: Option<String>,
    pub assigned_at: DateTime<Utc>,
}

/// Names of users by id ("First Last").
pub async fn user_names<C: ConnectionTrait>(
    db: &C,
    mut ids: Vec<Uuid>,
) -> ApiResult<HashMap<Uuid, String>> {
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .column(users::Column::FirstName)
        .column(users::Column::LastName)
        .filter(users::Column::Id.is_in(ids))
        .into_tuple::<(Uuid, String, String)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, f, l)| (id, format!("{f} {l}")))
        .collect())
}

pub async fn assignment_views<C: ConnectionTrait>(
    db: &C,
    rows: Vec<kam_assignments::Model>,
) -> ApiResult<Vec<AssignmentView>> {
    let ids: Vec<Uuid> = rows
        .iter()
        .flat_map(|r| [r.from_kam, r.to_kam, r.assigned_by])
        .flatten()
        .collect();
    let names = user_names(db, ids).await?;
    let name = |id: Option<Uuid>| id.and_then(|id| names.get(&id).cloned());
    Ok(rows
        .into_iter()
        .map(|r| AssignmentView {
            id: r.id,
            restaurant_id: r.restaurant_id,
            from_kam_name: name(r.from_kam),
            from_kam: r.from_kam,
            to_kam_name: name(r.to_kam),
            to_kam: r.to_kam,
            assigned_by_name: name(r.assigned_by),
            assigned_by: r.assigned_by,
            note: r.note,
            assigned_at: r.assigned_at,
        })
        .collect())
}

/// Move restaurants to `to` (an active KAM) with a handover note, in one transaction. Restaurants
/// already with `to` are left as they are (no history row). A restaurant never called is due at once
/// for its new KAM. Returns the assignments made.
pub async fn reassign(
    state: &AppState,
    by: Uuid,
    restaurant_ids: &[Uuid],
    to: Uuid,
    note: Option<String>,
) -> ApiResult<Vec<AssignmentView>> {
    let now = state.now();
    let txn = crate::database::begin_write(&state.db).await?;
    let kam = active_kam(&txn, to, "to_kam_id").await?;
    let mut ids = restaurant_ids.to_vec();
    ids.sort();
    ids.dedup();
    let mut found = 0;
    for chunk in ids.chunks(500) {
        found += restaurants::Entity::find()
            .filter(restaurants::Column::Id.is_in(chunk.iter().copied()))
            .count(&txn)
            .await?;
    }
    if found != ids.len() as u64 {
        return Err(ApiError::not_found("restaurant")
            .with_field("restaurant_ids", "names a restaurant that does not exist"));
    }
    let mut made = Vec::new();
    for id in ids {
        let account = ensure_account(&txn, id, now).await?;
        if account.kam_id == Some(to) {
            continue;
        }
        let from = account.kam_id;
        let mut active: crm_accounts::ActiveModel = account.clone().into();
        active.kam_id = Set(Some(to));
        if account.next_call_at.is_none() {
            active.next_call_at = Set(Some(now));
        }
        active.updated_at = Set(now);
        active.update(&txn).await?;
        let row = kam_assignments::ActiveModel {
            id: Set(Uuid::now_v7()),
            restaurant_id: Set(id),
            from_kam: Set(from),
            to_kam: Set(Some(to)),
            assigned_by: Set(Some(by)),
            note: Set(note.clone()),
            assigned_at: Set(now),
        }
        .insert(&txn)
        .await?;
        made.push(row);
    }
    let views = assignment_views(&txn, made).await?;
    txn.commit().await?;
    if !views.is_empty() {
        let message = match &note {
            Some(n) => format!(
                "{} restaurant(s) were handed over to you. Note: {n}",
                views.len()
            ),
            None => format!("{} restaurant(s) were handed over to you.", views.len()),
        };
        if let Err(err) = crate::notifications::inbox::notify(
            state,
            kam.id,
            crate::notifications::inbox::Kind::System,
            "Restaurants assigned to you",
            &message,
            None,
        )
        .await
        {
            tracing::warn!(error = %err.message, "could not notify the new KAM");
        }
    }
    Ok(views)
}

/// After an interaction: a call that reached someone is the planned call (last call moves to it, the
/// next one is a frequency later) and closes the follow-ups due by its day; a follow-up date opens a
/// follow-up.
pub async fn after_interaction<C: ConnectionTrait>(
    db: &C,
    interaction: &crate::entities::interactions::Model,
    kam_zone: Tz,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let account = ensure_account(db, interaction.restaurant_id, now).await?;
    if interaction.kind == InteractionKind::Call.as_str()
        && interaction.outcome != Outcome::NoAnswer.as_str()
    {
        let last = account
            .last_call_at
            .map_or(interaction.occurred_at, |l| l.max(interaction.occurred_at));
        let mut active: crm_accounts::ActiveModel = account.clone().into();
        active.last_call_at = Set(Some(last));
        active.next_call_at = Set(Some(last + Duration::days(i64::from(call_days(&account)))));
        active.updated_at = Set(now);
        active.update(db).await?;
        let day = planning::local_date(kam_zone, interaction.occurred_at);
        call_follow_ups::Entity::update_many()
            .col_expr(call_follow_ups::Column::DoneAt, Expr::value(now))
            .filter(call_follow_ups::Column::RestaurantId.eq(interaction.restaurant_id))
            .filter(call_follow_ups::Column::DoneAt.is_null())
            .filter(call_follow_ups::Column::DueOn.lte(day))
            .exec(db)
            .await?;
    }
    if let Some(due_on) = interaction.follow_up_on {
        call_follow_ups::ActiveModel {
            id: Set(Uuid::now_v7()),
            restaurant_id: Set(interaction.restaurant_id),
            order_id: Set(interaction.order_id),
            interaction_id: Set(Some(interaction.id)),
            due_on: Set(due_on),
            done_at: Set(None),
            created_at: Set(now),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}
