//! Status polls in the database: one `store_poll_days` row per store and block of seven UTC days (the
//! `day` column is the block's first day, counted from 1970-01-01 in steps of seven), its polls packed as
//! sorted little-endian i64 values `(Unix microseconds) << 1 | inactive`. A week-long report of every store
//! then reads about two rows a store, and as each value is absolute, blocks can be concatenated by the
//! database (`group_concat` / `string_agg`) into one row per store. Storing merges:
//! a poll already there (same store, instant and status) is not stored twice, so imports and API batches
//! can be repeated safely. Writers update only the row version they read and retry on a conflict, so two
//! processes adding polls to one store and day never lose each other's polls.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect,
};
use uuid::Uuid;

use super::timeline::{DAY, Micros, Poll};
use crate::entities::store_poll_days;
use crate::state::AppState;

/// Days in one stored block of polls.
pub const BLOCK_DAYS: i64 = 7;

/// The first day (since 1970-01-01) of the block holding an instant.
pub fn day_of(at: Micros) -> i32 {
    (at.div_euclid(BLOCK_DAYS * DAY) * BLOCK_DAYS) as i32
}

fn encode_value(poll: Poll) -> i64 {
    (poll.at << 1) | i64::from(poll.inactive)
}

fn decode_value(value: i64) -> Poll {
    Poll::new(value >> 1, value & 1 == 1)
}

fn decode_values(bytes: &[u8]) -> impl Iterator<Item = i64> + '_ {
    bytes
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
}

fn encode_values(values: &[i64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 8);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Append the polls packed in `bytes` (one block, or several concatenated) to `into`.
pub fn decode(bytes: &[u8], into: &mut Vec<Poll>) {
    into.extend(decode_values(bytes).map(decode_value));
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct StoreStats {
    /// Polls received.
    pub received: u64,
    /// Polls newly stored.
    pub stored: u64,
    /// Polls that were already stored (same store, instant and status).
    pub duplicates: u64,
}

struct Existing {
    values: Vec<i64>,
    version: i32,
}

/// Rows written per statement (8 columns each; SQLite allows 32,766 parameters).
const INSERT_BATCH: usize = 2_000;
const ATTEMPTS: usize = 5;

/// Store polls, merging them into what is there. `on_progress` is told how many days were written.
pub async fn store(
    state: &AppState,
    polls: &[(Uuid, Poll)],
    on_progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<StoreStats, DbErr> {
    let mut days: HashMap<(Uuid, i32), Vec<i64>> = HashMap::new();
    for &(restaurant, poll) in polls {
        let day = day_of(poll.at);
        days.entry((restaurant, day))
            .or_default()
            .push(encode_value(poll));
    }
    for values in days.values_mut() {
        values.sort_unstable();
        values.dedup();
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        match store_once(state, &days, polls.len() as u64, on_progress).await {
            Err(err) if attempt < ATTEMPTS && is_conflict(&err) => {
                tracing::debug!(attempt, "poll days changed under us; merging again");
            }
            other => return other,
        }
    }
}

fn is_conflict(err: &DbErr) -> bool {
    matches!(err, DbErr::RecordNotUpdated)
        || matches!(
            err.sql_err(),
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
        )
}

async fn store_once(
    state: &AppState,
    days: &HashMap<(Uuid, i32), Vec<i64>>,
    received: u64,
    on_progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<StoreStats, DbErr> {
    let existing = load_existing(&state.db, days.keys().copied()).await?;
    let now = Utc::now();
    let mut stats = StoreStats {
        received,
        ..Default::default()
    };
    let mut inserts: Vec<store_poll_days::Model> = Vec::new();
    let mut updates = Vec::new();
    for (&(restaurant_id, day), new) in days {
        match existing.get(&(restaurant_id, day)) {
            None => {
                stats.stored += new.len() as u64;
                inserts.push(row(restaurant_id, day, new, 0, now));
            }
            Some(old) => {
                let merged = merge(&old.values, new);
                let added = (merged.len() - old.values.len()) as u64;
                stats.stored += added;
                if added > 0 {
                    updates.push((
                        old.version,
                        row(restaurant_id, day, &merged, old.version + 1, now),
                    ));
                }
            }
        }
    }
    stats.duplicates = received - stats.stored;
    let total = (inserts.len() + updates.len()) as u64;
    if total == 0 {
        return Ok(stats);
    }
    let _turn = state.write_turn().await;
    let mut done = 0u64;
    if super::bulk::is_postgres(&state.db) {
        // Whole columns a statement. Not in the transaction below: should the updates then conflict, the
        // merge runs again and finds these blocks stored, which changes nothing.
        for batch in inserts.chunks(10_000) {
            super::bulk::pg_insert_blocks(&state.db, batch).await?;
            done += batch.len() as u64;
            on_progress(done, total);
        }
        inserts.clear();
    }
    let txn = crate::database::begin_write(&state.db).await?;
    let mut inserts = inserts
        .into_iter()
        .map(IntoActiveModel::into_active_model)
        .peekable();
    while inserts.peek().is_some() {
        let batch: Vec<_> = inserts.by_ref().take(INSERT_BATCH).collect();
        let n = batch.len() as u64;
        store_poll_days::Entity::insert_many(batch)
            .exec_without_returning(&txn)
            .await?;
        done += n;
        on_progress(done, total);
    }
    for (version, update) in updates {
        let result = store_poll_days::Entity::update_many()
            .col_expr(store_poll_days::Column::Polls, Expr::value(update.polls))
            .col_expr(
                store_poll_days::Column::PollCount,
                Expr::value(update.poll_count),
            )
            .col_expr(
                store_poll_days::Column::FirstAt,
                Expr::value(update.first_at),
            )
            .col_expr(store_poll_days::Column::LastAt, Expr::value(update.last_at))
            .col_expr(store_poll_days::Column::Version, Expr::value(version + 1))
            .col_expr(store_poll_days::Column::UpdatedAt, Expr::value(now))
            .filter(store_poll_days::Column::RestaurantId.eq(update.restaurant_id))
            .filter(store_poll_days::Column::Day.eq(update.day))
            .filter(store_poll_days::Column::Version.eq(version))
            .exec(&txn)
            .await?;
        if result.rows_affected != 1 {
            return Err(DbErr::RecordNotUpdated);
        }
        done += 1;
        if done.is_multiple_of(1_000) {
            on_progress(done, total);
        }
    }
    txn.commit().await?;
    on_progress(total, total);
    Ok(stats)
}

fn row(
    restaurant_id: Uuid,
    day: i32,
    values: &[i64],
    version: i32,
    now: chrono::DateTime<Utc>,
) -> store_poll_days::Model {
    store_poll_days::Model {
        restaurant_id,
        day,
        poll_count: values.len() as i32,
        polls: encode_values(values),
        first_at: decode_value(values[0]).at,
        last_at: decode_value(values[values.len() - 1]).at,
        version,
        updated_at: now,
    }
}

/// Sorted union of two sorted, duplicate-free lists.
fn merge(old: &[i64], new: &[i64]) -> Vec<i64> {
    let mut out = Vec::with_capacity(old.len() + new.len());
    let (mut i, mut j) = (0, 0);
    while i < old.len() && j < new.len() {
        match old[i].cmp(&new[j]) {
            std::cmp::Ordering::Less => {
                out.push(old[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(new[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(old[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&old[i..]);
    out.extend_from_slice(&new[j..]);
    out
}

/// The stored days among `keys`.
async fn load_existing<C: ConnectionTrait>(
    db: &C,
    keys: impl Iterator<Item = (Uuid, i32)>,
) -> Result<HashMap<(Uuid, i32), Existing>, DbErr> {
    let keys: HashSet<(Uuid, i32)> = keys.collect();
    let Some(min_day) = keys.iter().map(|k| k.1).min() else {
        return Ok(HashMap::new());
    };
    let max_day = keys.iter().map(|k| k.1).max().unwrap_or(min_day);
    let restaurants: HashSet<Uuid> = keys.iter().map(|k| k.0).collect();
    let mut query = store_poll_days::Entity::find()
        .select_only()
        .columns([
            store_poll_days::Column::RestaurantId,
            store_poll_days::Column::Day,
            store_poll_days::Column::Polls,
            store_poll_days::Column::Version,
        ])
        .filter(store_poll_days::Column::Day.between(min_day, max_day));
    // A few stores: ask for them; many (an import): read the days and pick.
    if restaurants.len() <= 500 {
        query = query.filter(store_poll_days::Column::RestaurantId.is_in(restaurants));
    }
    let rows: Vec<(Uuid, i32, Vec<u8>, i32)> = query.into_tuple().all(db).await?;
    Ok(rows
        .into_iter()
        .filter(|(r, d, _, _)| keys.contains(&(*r, *d)))
        .map(|(r, d, bytes, version)| {
            (
                (r, d),
                Existing {
                    values: decode_values(&bytes).collect(),
                    version,
                },
            )
        })
        .collect())
}

/// The given stores' polls of the blocks `from_day..=to_day`, plus each store's latest earlier block, so
/// the status before the range is known.
pub async fn load(
    db: &sea_orm::DatabaseConnection,
    from_day: i32,
    to_day: i32,
    only: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Poll>>, DbErr> {
    let rows: Vec<(Uuid, Vec<u8>)> = store_poll_days::Entity::find()
        .select_only()
        .columns([
            store_poll_days::Column::RestaurantId,
            store_poll_days::Column::Polls,
        ])
        .filter(store_poll_days::Column::Day.between(from_day, to_day))
        .filter(store_poll_days::Column::RestaurantId.is_in(only.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    let mut out = earlier(db, from_day, Some(only)).await?;
    for (restaurant, bytes) in rows {
        decode(&bytes, out.entry(restaurant).or_default());
    }
    Ok(out)
}

/// Each store's latest block before `from_day` (of all stores, or the given ones).
pub async fn earlier(
    db: &sea_orm::DatabaseConnection,
    from_day: i32,
    only: Option<&[Uuid]>,
) -> Result<HashMap<Uuid, Vec<Poll>>, DbErr> {
    let mut latest = store_poll_days::Entity::find()
        .select_only()
        .column(store_poll_days::Column::RestaurantId)
        .column_as(store_poll_days::Column::Day.max(), "day")
        .filter(store_poll_days::Column::Day.lt(from_day))
        .group_by(store_poll_days::Column::RestaurantId);
    if let Some(ids) = only {
        latest = latest.filter(store_poll_days::Column::RestaurantId.is_in(ids.iter().copied()));
    }
    let latest: Vec<(Uuid, i32)> = latest.into_tuple().all(db).await?;
    let mut by_day: HashMap<i32, Vec<Uuid>> = HashMap::new();
    for (restaurant, day) in latest {
        by_day.entry(day).or_default().push(restaurant);
    }
    let mut out: HashMap<Uuid, Vec<Poll>> = HashMap::new();
    for (day, restaurants) in by_day {
        for ids in restaurants.chunks(500) {
            let rows: Vec<(Uuid, Vec<u8>)> = store_poll_days::Entity::find()
                .select_only()
                .columns([
                    store_poll_days::Column::RestaurantId,
                    store_poll_days::Column::Polls,
                ])
                .filter(store_poll_days::Column::Day.eq(day))
                .filter(store_poll_days::Column::RestaurantId.is_in(ids.iter().copied()))
                .into_tuple()
                .all(db)
                .await?;
            for (restaurant, bytes) in rows {
                decode(&bytes, out.entry(restaurant).or_default());
            }
        }
    }
    Ok(out)
}

/// The latest poll stored (of one store, or of all), if any.
pub async fn latest<C: ConnectionTrait>(db: &C, of: Option<Uuid>) -> Result<Option<Micros>, DbErr> {
    let mut query = store_poll_days::Entity::find()
        .select_only()
        .column_as(store_poll_days::Column::LastAt.max(), "latest");
    if let Some(id) = of {
        query = query.filter(store_poll_days::Column::RestaurantId.eq(id));
    }
    let latest: Option<Option<i64>> = query.into_tuple().one(db).await?;
    Ok(latest.flatten())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_round_trips_and_sorts_by_time_then_status() {
        let day = 19_383; // a multiple of seven
        let base = i64::from(day) * DAY;
        let polls = [
            Poll::new(base + 5, true),
            Poll::new(base, false),
            Poll::new(base + 7 * DAY - 1, false),
            Poll::new(-3, true),
        ];
        let mut values: Vec<i64> = polls.iter().map(|p| encode_value(*p)).collect();
        values.sort_unstable();
        let mut back = Vec::new();
        decode(&encode_values(&values), &mut back);
        assert_eq!(
            back,
            vec![
                Poll::new(-3, true),
                Poll::new(base, false),
                Poll::new(base + 5, true),
                Poll::new(base + 7 * DAY - 1, false)
            ]
        );
        assert_eq!(day_of(base), day);
        assert_eq!(day_of(base + 7 * DAY - 1), day);
        assert_eq!(day_of(base - 1), day - 7);
    }

    #[test]
    fn merge_is_a_sorted_union() {
        assert_eq!(merge(&[1, 4, 9], &[2, 4, 10]), vec![1, 2, 4, 9, 10]);
        assert_eq!(merge(&[], &[3]), vec![3]);
    }
}
