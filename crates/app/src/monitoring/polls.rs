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
use futures::TryStreamExt;
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

/// Rows written per statement (8 columns each; SQLite allows 32,766 parameters).
const INSERT_BATCH: usize = 2_000;
const ATTEMPTS: usize = 5;

/// Polls gathered by store (`K`) and block, packed (8 bytes a poll), in any order and with repeats until
/// stored. An import of millions of polls holds only this: the polls as they will be stored.
pub struct Blocks<K> {
    blocks: rustc_hash::FxHashMap<(K, i32), Vec<i64>>,
    received: u64,
}

impl<K: std::hash::Hash + Eq + Copy> Blocks<K> {
    pub fn new() -> Blocks<K> {
        Blocks {
            blocks: rustc_hash::FxHashMap::default(),
            received: 0,
        }
    }

    pub fn add(&mut self, store: K, poll: Poll) {
        self.received += 1;
        self.blocks
            .entry((store, day_of(poll.at)))
            .or_default()
            .push(encode_value(poll));
    }

    pub fn is_empty(&self) -> bool {
        self.received == 0
    }

    /// The same polls under other store keys (each key must map to a distinct store).
    pub fn rekey<T: std::hash::Hash + Eq + Copy>(self, to: impl Fn(K) -> T) -> Blocks<T> {
        Blocks {
            blocks: self
                .blocks
                .into_iter()
                .map(|((store, day), values)| ((to(store), day), values))
                .collect(),
            received: self.received,
        }
    }
}

impl<K: std::hash::Hash + Eq + Copy> Default for Blocks<K> {
    fn default() -> Self {
        Self::new()
    }
}

/// Store polls, merging them into what is there. `on_progress` is told how many days were written.
pub async fn store(
    state: &AppState,
    polls: &[(Uuid, Poll)],
    on_progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<StoreStats, DbErr> {
    let mut blocks = Blocks::new();
    for &(restaurant, poll) in polls {
        blocks.add(restaurant, poll);
    }
    store_blocks(state, blocks, on_progress).await
}

/// [`store`] for polls already gathered into blocks.
pub async fn store_blocks(
    state: &AppState,
    blocks: Blocks<Uuid>,
    on_progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<StoreStats, DbErr> {
    let received = blocks.received;
    if blocks.is_empty() {
        return Ok(StoreStats::default());
    }
    let mut days = blocks.blocks;
    for values in days.values_mut() {
        values.sort_unstable();
        values.dedup();
        values.shrink_to_fit();
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        match store_once(state, &days, received, on_progress).await {
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
    days: &rustc_hash::FxHashMap<(Uuid, i32), Vec<i64>>,
    received: u64,
    on_progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<StoreStats, DbErr> {
    let now = Utc::now();
    let mut stats = StoreStats {
        received,
        ..Default::default()
    };
    // The stored blocks are compared as they are read; only those gaining polls are kept, so importing
    // the same file again does not hold every stored poll in memory.
    let mut there: rustc_hash::FxHashSet<(Uuid, i32)> = Default::default();
    let mut updates = Vec::new();
    {
        let mut stored = std::pin::pin!(existing(&state.db, days).await?);
        while let Some((restaurant_id, day, bytes, version)) = stored.try_next().await? {
            let Some(new) = days.get(&(restaurant_id, day)) else {
                continue;
            };
            there.insert((restaurant_id, day));
            let old: Vec<i64> = decode_values(&bytes).collect();
            let merged = merge(&old, new);
            let added = (merged.len() - old.len()) as u64;
            stats.stored += added;
            if added > 0 {
                updates.push((version, row(restaurant_id, day, &merged, version + 1, now)));
            }
        }
    }
    let mut inserts: Vec<(Uuid, i32)> = Vec::new();
    for (key, new) in days {
        if !there.contains(key) {
            stats.stored += new.len() as u64;
            inserts.push(*key);
        }
    }
    // In primary key order, each new block lands beside the last. In hash order they land all over the
    // table: at ten times the full size, storing took 16 times as long as at full size.
    inserts.sort_unstable();
    stats.duplicates = received - stats.stored;
    let total = (inserts.len() + updates.len()) as u64;
    if total == 0 {
        return Ok(stats);
    }
    // New blocks are packed a statement's worth at a time, so their bytes are not all held twice.
    let rows = |keys: &[(Uuid, i32)]| -> Vec<store_poll_days::Model> {
        keys.iter()
            .map(|&(restaurant_id, day)| {
                row(restaurant_id, day, &days[&(restaurant_id, day)], 0, now)
            })
            .collect()
    };
    let _turn = state.write_turn().await;
    let mut done = 0u64;
    if super::bulk::is_postgres(&state.db) {
        // Whole columns a statement. Not in the transaction below: should the updates then conflict, the
        // merge runs again and finds these blocks stored, which changes nothing.
        for keys in inserts.chunks(10_000) {
            super::bulk::pg_insert_blocks(&state.db, &rows(keys)).await?;
            done += keys.len() as u64;
            on_progress(done, total);
        }
        inserts.clear();
    }
    let txn = crate::database::begin_write(&state.db).await?;
    for keys in inserts.chunks(INSERT_BATCH) {
        let batch = rows(keys)
            .into_iter()
            .map(IntoActiveModel::into_active_model);
        store_poll_days::Entity::insert_many(batch)
            .exec_without_returning(&txn)
            .await?;
        done += keys.len() as u64;
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

/// The stored blocks that may be among `days` (restaurant, day, packed polls, version), as a stream:
/// a few stores are asked for, many (an import) read every block of the days and are picked by the caller.
async fn existing<'a>(
    db: &'a sea_orm::DatabaseConnection,
    days: &rustc_hash::FxHashMap<(Uuid, i32), Vec<i64>>,
) -> Result<impl futures::Stream<Item = Result<(Uuid, i32, Vec<u8>, i32), DbErr>> + Send + 'a, DbErr>
{
    let min_day = days.keys().map(|k| k.1).min().unwrap_or_default();
    let max_day = days.keys().map(|k| k.1).max().unwrap_or_default();
    let restaurants: HashSet<Uuid> = days.keys().map(|k| k.0).collect();
    let mut query = store_poll_days::Entity::find()
        .select_only()
        .columns([
            store_poll_days::Column::RestaurantId,
            store_poll_days::Column::Day,
            store_poll_days::Column::Polls,
            store_poll_days::Column::Version,
        ])
        .filter(store_poll_days::Column::Day.between(min_day, max_day));
    if restaurants.len() <= 500 {
        query = query.filter(store_poll_days::Column::RestaurantId.is_in(restaurants));
    }
    query.into_tuple().stream(db).await
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
