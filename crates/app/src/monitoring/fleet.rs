//! The fleet: every monitored store's state now (up, down, closed or no data) with its uptime over the
//! last day and week, kept in `store_states` by the `monitoring.fleet` job (every minute) for the
//! overview page; and down alerts: a store down for `monitoring.alert_after_minutes` of its business
//! hours tells its KAM and the venue's managers once per outage (in the app and by e-mail), and again
//! when it is back up.
//!
//! "Now" is the clock while polls are arriving; for a historical import whose latest poll is long past
//! it is that latest poll, so the page describes the data rather than calling every store silent.
//! Uptime here counts only business time with data (within an hour of a poll); the reports keep the
//! seed's rule.

use std::collections::HashMap;

use async_trait::async_trait;
use brigade_platform::jobs::{JobFailure, JobHandler};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::report::{self, business_micros, instant_of, micros_of};
use super::timeline::{self, DAY, KNOWN_AROUND_A_POLL, MINUTE, Micros, Poll};
use crate::entities::{
    crm_accounts, restaurant_members, restaurants, store_alerts, store_states, users,
};
use crate::restaurants::BusinessHours;
use crate::state::AppState;

pub const FLEET_JOB: &str = "monitoring.fleet";

/// A store's state at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Down,
    NoData,
    Up,
    Closed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Down => "down",
            State::NoData => "no_data",
            State::Up => "up",
            State::Closed => "closed",
        }
    }

    /// Worst first: the overview sorts by it.
    pub fn rank(self) -> i16 {
        match self {
            State::Down => 0,
            State::NoData => 1,
            State::Up => 2,
            State::Closed => 3,
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        [State::Down, State::NoData, State::Up, State::Closed]
            .into_iter()
            .find(|state| state.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            State::Down => "down",
            State::NoData => "no data",
            State::Up => "up",
            State::Closed => "closed",
        }
    }
}

/// What the fleet knows of one store at `now`.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub state: State,
    /// Down: when the outage began (it may run across closed hours). No data: the last poll.
    pub since: Option<Micros>,
    pub last_poll: Option<Micros>,
    /// Business minutes down in the current outage (0 unless down).
    pub down_minutes: f64,
    /// Percent up of the business time with data, over the last day and week.
    pub uptime_day: Option<f64>,
    pub uptime_week: Option<f64>,
    /// Percent of business time with data, over the last day and week.
    pub data_day: Option<f64>,
    pub data_week: Option<f64>,
}

/// A store's status at `now` from its normalised polls (those after `now` are ignored).
pub fn status(polls: &[Poll], hours: &BusinessHours, now: Micros) -> Status {
    let end = polls.partition_point(|p| p.at <= now);
    let polls = &polls[..end];
    let business = business_micros(hours, now - 7 * DAY, now);
    let last_poll = polls.last().map(|p| p.at);
    let window = |from: Micros| {
        let part = timeline::clip(&business, from, now);
        let total = timeline::total(&part);
        let known = timeline::covered(polls, &part);
        let known_total = timeline::total(&known);
        let up = timeline::uptime(polls, &known);
        (
            (known_total > 0).then(|| round2(100.0 * up as f64 / known_total as f64)),
            (total > 0).then(|| round2(100.0 * known_total as f64 / total as f64)),
        )
    };
    let (uptime_day, data_day) = window(now - DAY);
    let (uptime_week, data_week) = window(now - 7 * DAY);
    let mut status = Status {
        state: State::Closed,
        since: None,
        last_poll,
        down_minutes: 0.0,
        uptime_day,
        uptime_week,
        data_day,
        data_week,
    };
    if !hours.is_open_at(instant_of(now)) {
        return status;
    }
    match polls.last() {
        Some(last) if now - last.at <= KNOWN_AROUND_A_POLL => {
            if last.inactive {
                status.state = State::Down;
                // The ongoing outage is the last one, reaching to now.
                if let Some(outage) = timeline::outages(polls, &business)
                    .last()
                    .filter(|o| o.end >= now)
                {
                    status.since = Some(outage.start);
                    status.down_minutes = round2(outage.downtime as f64 / MINUTE as f64);
                }
            } else {
                status.state = State::Up;
            }
        }
        _ => {
            status.state = State::NoData;
            status.since = last_poll;
        }
    }
    status
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The instant the fleet describes: the clock while polls arrive, else the latest poll.
pub fn fleet_now(clock: DateTime<Utc>, latest_poll: Micros) -> Micros {
    let clock = micros_of(clock);
    if clock - latest_poll > 2 * timeline::HOUR {
        latest_poll
    } else {
        clock
    }
}

/// What one run of the fleet job did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Refreshed {
    pub stores: usize,
    pub alerted: usize,
    pub recovered: usize,
}

/// Recompute every store's state, store it, and raise or close alerts.
pub async fn refresh(state: &AppState) -> Result<Refreshed, DbErr> {
    let Some(latest) = super::polls::latest(&state.db, None).await? else {
        return Ok(Refreshed::default());
    };
    let now = fleet_now(state.now(), latest);
    let stores = report::load_week(&state.db, now).await?;
    let statuses: Vec<(Uuid, Status)> = tokio::task::spawn_blocking(move || {
        stores
            .into_iter()
            .map(|(mut polls, info, id)| {
                timeline::normalise(&mut polls);
                (id, status(&polls, &info.hours, now))
            })
            .collect()
    })
    .await
    .map_err(|e| DbErr::Custom(format!("the fleet computation stopped: {e}")))?;
    let computed_at = state.now();
    let as_of = instant_of(now);
    let at = |m: Option<Micros>| m.map(instant_of);
    for chunk in statuses.chunks(500) {
        let rows = chunk.iter().map(|(id, s)| store_states::ActiveModel {
            restaurant_id: Set(*id),
            state: Set(s.state.as_str().to_string()),
            rank: Set(s.state.rank()),
            since: Set(at(s.since)),
            last_poll_at: Set(at(s.last_poll)),
            uptime_day: Set(s.uptime_day),
            uptime_week: Set(s.uptime_week),
            data_day: Set(s.data_day),
            data_week: Set(s.data_week),
            as_of: Set(as_of),
            computed_at: Set(computed_at),
        });
        store_states::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(store_states::Column::RestaurantId)
                    .update_columns([
                        store_states::Column::State,
                        store_states::Column::Rank,
                        store_states::Column::Since,
                        store_states::Column::LastPollAt,
                        store_states::Column::UptimeDay,
                        store_states::Column::UptimeWeek,
                        store_states::Column::DataDay,
                        store_states::Column::DataWeek,
                        store_states::Column::AsOf,
                        store_states::Column::ComputedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&state.db)
            .await?;
    }
    let (alerted, recovered) = alerts(state, &statuses, now).await?;
    Ok(Refreshed {
        stores: statuses.len(),
        alerted,
        recovered,
    })
}

/// Raise an alert for each store down long enough (once per outage: the unique row decides which
/// process tells), and close the open alerts of stores that are up again.
async fn alerts(
    state: &AppState,
    statuses: &[(Uuid, Status)],
    now: Micros,
) -> Result<(usize, usize), DbErr> {
    let threshold = f64::from(state.config.monitoring.alert_after_minutes);
    let mut alerted = 0;
    for (id, s) in statuses {
        let Some(since) = s.since.filter(|_| s.state == State::Down) else {
            continue;
        };
        if s.down_minutes < threshold {
            continue;
        }
        let inserted = store_alerts::Entity::insert(store_alerts::ActiveModel {
            id: Set(Uuid::now_v7()),
            restaurant_id: Set(*id),
            outage_started_at: Set(instant_of(since)),
            alerted_at: Set(state.now()),
            downtime_minutes: Set(s.down_minutes),
            recovered_at: Set(None),
        })
        .on_conflict(
            OnConflict::columns([
                store_alerts::Column::RestaurantId,
                store_alerts::Column::OutageStartedAt,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&state.db)
        .await?;
        if inserted == 1 {
            alerted += 1;
            tell(
                state,
                *id,
                Told::Down {
                    since,
                    minutes: s.down_minutes,
                },
            )
            .await;
        }
    }
    let open = store_alerts::Entity::find()
        .filter(store_alerts::Column::RecoveredAt.is_null())
        .all(&state.db)
        .await?;
    let by_store: HashMap<Uuid, &Status> = statuses.iter().map(|(id, s)| (*id, s)).collect();
    let mut recovered = 0;
    for alert in open {
        let up = by_store
            .get(&alert.restaurant_id)
            .is_some_and(|s| s.state == State::Up);
        if !up {
            continue;
        }
        let closed = store_alerts::Entity::update_many()
            .col_expr(
                store_alerts::Column::RecoveredAt,
                sea_orm::sea_query::Expr::value(instant_of(now)),
            )
            .filter(store_alerts::Column::Id.eq(alert.id))
            .filter(store_alerts::Column::RecoveredAt.is_null())
            .exec(&state.db)
            .await?;
        if closed.rows_affected == 1 {
            recovered += 1;
            let since = micros_of(alert.outage_started_at);
            tell(state, alert.restaurant_id, Told::Recovered { since, now }).await;
        }
    }
    Ok((alerted, recovered))
}

enum Told {
    Down { since: Micros, minutes: f64 },
    Recovered { since: Micros, now: Micros },
}

/// The store's KAM and its venue's managers and owners, in the app and by e-mail. Failures are
/// logged: the alert row stands, and the page shows the store down either way.
async fn tell(state: &AppState, restaurant_id: Uuid, what: Told) {
    if let Err(err) = try_tell(state, restaurant_id, what).await {
        tracing::warn!(restaurant = %restaurant_id, error = %err, "could not send a store alert");
    }
}

async fn try_tell(state: &AppState, restaurant_id: Uuid, what: Told) -> Result<(), DbErr> {
    let Some(restaurant) = restaurants::Entity::find_by_id(restaurant_id)
        .one(&state.db)
        .await?
    else {
        return Ok(());
    };
    let tz = crate::restaurants::zone_of(&restaurant);
    let local = |m: Micros| {
        instant_of(m)
            .with_timezone(&tz)
            .format("%a %d %b %H:%M %Z")
            .to_string()
    };
    let (title, message) = match what {
        Told::Down { since, minutes } => (
            format!("{} is down", restaurant.name),
            format!(
                "{} has been down since {} ({:.0} minutes of its business hours). Polls say it is not taking orders.",
                restaurant.name,
                local(since),
                minutes
            ),
        ),
        Told::Recovered { since, now } => (
            format!("{} is back up", restaurant.name),
            format!(
                "{} is up again at {}, after an outage that began {}.",
                restaurant.name,
                local(now),
                local(since)
            ),
        ),
    };
    let mut recipients: Vec<Uuid> = restaurant_members::Entity::find()
        .filter(restaurant_members::Column::RestaurantId.eq(restaurant_id))
        .filter(restaurant_members::Column::Role.is_in(["manager", "owner"]))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    if let Some(kam) = crm_accounts::Entity::find_by_id(restaurant_id)
        .one(&state.db)
        .await?
        .and_then(|a| a.kam_id)
    {
        recipients.push(kam);
    }
    recipients.sort();
    recipients.dedup();
    let people = users::Entity::find()
        .filter(users::Column::Id.is_in(recipients))
        .filter(users::Column::IsActive.eq(true))
        .all(&state.db)
        .await?;
    let link = format!(
        "{}/monitoring/stores/{restaurant_id}",
        state.config.public_url.trim_end_matches('/')
    );
    for person in people {
        if let Err(err) = crate::notifications::inbox::notify(
            state,
            person.id,
            crate::notifications::inbox::Kind::System,
            &title,
            &message,
            Some((restaurant_id, "store")),
        )
        .await
        {
            tracing::warn!(error = %err.message, "could not store a store alert");
        }
        let body = format!("{message}\n\nThe store's uptime: {link}\n");
        if let Err(err) =
            crate::notifications::mail::send(state, &person.email, &title, &body).await
        {
            tracing::warn!(error = %err.message, "could not e-mail a store alert");
        }
    }
    Ok(())
}

/// The `monitoring.fleet` job (every minute).
pub struct FleetJob(pub AppState);

#[async_trait]
impl JobHandler for FleetJob {
    async fn run(&self, _payload: serde_json::Value) -> Result<(), JobFailure> {
        let done = refresh(&self.0)
            .await
            .map_err(|e| JobFailure::Retry(e.to_string()))?;
        if done.alerted + done.recovered > 0 {
            tracing::info!(
                stores = done.stores,
                alerted = done.alerted,
                recovered = done.recovered,
                "store states refreshed"
            );
        }
        Ok(())
    }
}

/// How long ago, in words ("12 min", "3 h 5 min", "2 days").
pub fn ago(from: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let minutes = (now - from).num_minutes().max(0);
    if minutes < 60 {
        format!("{minutes} min")
    } else if minutes < 48 * 60 {
        format!("{} h {} min", minutes / 60, minutes % 60)
    } else {
        format!("{} days", minutes / (24 * 60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restaurants::HoursInterval;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> Micros {
        micros_of(Utc.with_ymd_and_hms(2026, 6, 10, h, m, 0).unwrap())
    }

    fn nine_to_five() -> BusinessHours {
        BusinessHours::new(
            chrono_tz::UTC,
            (0..7)
                .map(|d| HoursInterval::parse(d, "09:00", "17:00").unwrap())
                .collect(),
        )
    }

    #[test]
    fn a_store_is_down_up_closed_or_without_data() {
        let hours = nine_to_five();
        let polls = [
            Poll::new(at(10, 0), false),
            Poll::new(at(12, 0), true),
            Poll::new(at(12, 40), true),
        ];
        // 12:50: the 12:40 poll is inactive; down since 11:00 (midpoint of 10:00 and 12:00).
        let s = status(&polls, &hours, at(12, 50));
        assert_eq!(s.state, State::Down);
        assert_eq!(s.since, Some(at(11, 0)));
        assert_eq!(s.down_minutes, 110.0);
        // 14:00: more than an hour since the last poll: no data, since that poll.
        let s = status(&polls, &hours, at(14, 0));
        assert_eq!(s.state, State::NoData);
        assert_eq!(s.since, Some(at(12, 40)));
        // 18:00: closed, whatever the polls say.
        assert_eq!(status(&polls, &hours, at(18, 0)).state, State::Closed);
        // 10:30: only the 10:00 poll counts (later ones are the future): up.
        let s = status(&polls, &hours, at(10, 30));
        assert_eq!(s.state, State::Up);
        assert_eq!(s.since, None);
        // The day's uptime counts only time with data: 09:00-11:00 up, 11:00-13:40 down at 14:00.
        let s = status(&polls, &hours, at(14, 0));
        assert_eq!(s.uptime_day, Some(round2(100.0 * 120.0 / 280.0)));
        // The window also holds 14:00-17:00 of the day before, without data.
        assert_eq!(s.data_day, Some(round2(100.0 * 280.0 / 480.0)));
        // A store never polled in the window.
        let s = status(&[], &hours, at(12, 0));
        assert_eq!(s.state, State::NoData);
        assert_eq!(s.uptime_week, None);
    }

    #[test]
    fn an_outage_across_the_night_keeps_its_start() {
        let hours = nine_to_five();
        let evening = micros_of(Utc.with_ymd_and_hms(2026, 6, 9, 16, 0, 0).unwrap());
        let polls = [
            Poll::new(evening - 60 * MINUTE, false),
            Poll::new(evening, true),
            Poll::new(at(9, 10), true),
        ];
        let s = status(&polls, &hours, at(9, 20));
        assert_eq!(s.state, State::Down);
        assert_eq!(s.since, Some(evening - 30 * MINUTE));
        // 30 + 60 minutes the evening before, 20 this morning.
        assert_eq!(s.down_minutes, 110.0);
    }

    #[test]
    fn now_is_the_clock_while_polls_arrive_and_the_latest_poll_after() {
        let clock = Utc.with_ymd_and_hms(2026, 6, 10, 12, 0, 0).unwrap();
        assert_eq!(fleet_now(clock, at(11, 30)), micros_of(clock));
        let old = micros_of(Utc.with_ymd_and_hms(2023, 1, 25, 18, 0, 0).unwrap());
        assert_eq!(fleet_now(clock, old), old);
    }

    #[test]
    fn states_read_back_and_sort_worst_first() {
        for s in [State::Down, State::NoData, State::Up, State::Closed] {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        assert!(State::Down.rank() < State::NoData.rank());
        assert!(State::NoData.rank() < State::Up.rank());
        assert_eq!(
            ago(
                Utc.timestamp_opt(0, 0).unwrap(),
                Utc.timestamp_opt(3900, 0).unwrap()
            ),
            "1 h 5 min"
        );
    }
}
