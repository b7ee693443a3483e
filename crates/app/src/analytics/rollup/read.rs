//! Reading what one run works on: the events after the watermark, the earlier events of the same
//! orders, and what counting the newly seen orders needs of them. These reads are most of a run's
//! input, so they go past the ORM: SQLite hands each read over as one text with a line per row (built
//! by `group_concat`: a row at a time through the driver costs more than SQLite spends finding it),
//! PostgreSQL streams typed rows in its binary format.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use futures::TryStreamExt;
use sea_orm::sqlx::{self, PgConnection, Row, SqlitePool};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter, QuerySelect,
};
use uuid::Uuid;

use super::compute::{Event, Facts, Input, Names};
use crate::analytics::channel::SOURCE_CHANNEL;
use crate::entities::restaurants;

/// Events per SQLite statement (one text of about 13 MB).
const EVENT_CHUNK: u64 = 100_000;
/// Order ids per statement.
const ID_CHUNK: usize = 50_000;

fn db_err(err: sqlx::Error) -> DbErr {
    DbErr::Custom(err.to_string())
}

fn bad(what: &str, text: &str) -> DbErr {
    DbErr::Custom(format!("unreadable {what}: {text:?}"))
}

/// The first part of one run's input: at most `limit` events after `from`, stopping before the first
/// one recorded after `settled`. `None` when no settled event waits; otherwise the input and the last
/// event id it holds. [`complete`] adds the rest.
pub(super) async fn events(
    db: &DatabaseConnection,
    from: i64,
    limit: u64,
    horizon: super::Horizon,
) -> Result<Option<(Input, i64)>, DbErr> {
    events_between(db, from, limit, horizon.settled_ms, horizon.until).await
}

/// The longest a [`committed_horizon`] waits for transactions that were under way when it was asked.
const HORIZON_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

/// How far a run may read to include every event committed before now, and nothing that could still
/// appear below it later.
///
/// SQLite writes one transaction at a time, so ids commit in order: the highest stored id. PostgreSQL
/// hands out ids before commit, so a transaction under way may still commit a smaller id than one
/// already visible. So: read the highest id handed out so far, then take a snapshot; every transaction
/// that got an id at or below it had started by then and is either visible already or listed as under
/// way in that snapshot. Wait for those to end (commit or roll back); then every event at or below the
/// id that will ever exist is visible. If one is still under way after [`HORIZON_WAIT`] (a session left
/// idle in a transaction), the events younger than the settling time are left for the job, as it does.
pub(super) async fn committed_horizon(db: &DatabaseConnection) -> Result<super::Horizon, DbErr> {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = db.get_database_backend();
    let scalar = |row: Option<sea_orm::QueryResult>| -> Result<i64, DbErr> {
        Ok(match row {
            Some(row) => row.try_get_by_index::<Option<i64>>(0)?.unwrap_or(0),
            None => 0,
        })
    };
    if backend != DbBackend::Postgres {
        let top = db
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT MAX(id) FROM order_status_events",
            ))
            .await?;
        return Ok(super::Horizon {
            settled_ms: i64::MAX,
            until: scalar(top)?,
        });
    }
    let top = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT pg_sequence_last_value(pg_get_serial_sequence('order_status_events', 'id')::regclass)",
        ))
        .await?;
    let until = scalar(top)?;
    let under_way: Vec<String> = match db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COALESCE(array_agg(x::text), '{}') FROM pg_snapshot_xip(pg_current_snapshot()) AS x",
        ))
        .await?
    {
        Some(row) => row.try_get_by_index(0)?,
        None => Vec::new(),
    };
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(2);
    loop {
        let running = db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                "SELECT count(*) FROM unnest($1::text[]) AS t(x) \
                 WHERE pg_xact_status(x::xid8) = 'in progress'",
                [under_way.clone().into()],
            ))
            .await?;
        if scalar(running)? == 0 {
            return Ok(super::Horizon {
                settled_ms: i64::MAX,
                until,
            });
        }
        if started.elapsed() >= HORIZON_WAIT {
            tracing::warn!(
                "transactions started before the rollup are still open after {} s; events younger than {} s are left for the rollup job",
                HORIZON_WAIT.as_secs(),
                super::SETTLE_SECONDS
            );
            let settled = chrono::Utc::now() - chrono::Duration::seconds(super::SETTLE_SECONDS);
            return Ok(super::Horizon {
                settled_ms: settled.timestamp_millis(),
                until,
            });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_millis(100));
    }
}

/// A whole input for the events after `from` up to the id `until` (all settled already).
pub(super) async fn input_until(
    db: &DatabaseConnection,
    from: i64,
    limit: u64,
    until: i64,
) -> Result<Option<(Input, i64)>, DbErr> {
    let Some((mut input, to)) = events_between(db, from, limit, i64::MAX, until).await? else {
        return Ok(None);
    };
    complete(db, &mut input, from, to).await?;
    Ok(Some((input, to)))
}

async fn events_between(
    db: &DatabaseConnection,
    from: i64,
    limit: u64,
    settled_ms: i64,
    until: i64,
) -> Result<Option<(Input, i64)>, DbErr> {
    let started = std::time::Instant::now();
    let mut input = Input::default();
    let to = match db.get_database_backend() {
        DbBackend::Postgres => {
            // The next `limit` events walk the primary key in order. Without statistics (a table
            // never analysed, as after a bulk load with autovacuum off) the planner would otherwise
            // bitmap-scan every event after `from` and sort them all to keep the first `limit`:
            // each run of a large backlog then read the whole rest of the table.
            let no_scan_and_sort = [
                "SET LOCAL enable_bitmapscan = off",
                "SET LOCAL enable_sort = off",
            ];
            let mut tx = super::pg_begin(db, true, &no_scan_and_sort).await?;
            let to = postgres::events(&mut tx, from, until, limit, settled_ms, &mut input).await?;
            tx.commit().await.map_err(db_err)?;
            to
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            sqlite::events(pool, from, until, limit, settled_ms, &mut input).await?
        }
    };
    tracing::debug!(
        events = input.events.len(),
        ms = started.elapsed().as_millis() as u64,
        "rollup events read"
    );
    Ok(to.map(|to| (input, to)))
}

/// The rest of a run's input: the earlier events of its orders, the facts of the orders first seen in
/// it, and its restaurants' zones.
pub(super) async fn complete(
    db: &DatabaseConnection,
    input: &mut Input,
    from: i64,
    to: i64,
) -> Result<(), DbErr> {
    let started = std::time::Instant::now();
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let mut tx = super::pg_begin(db, true, &[]).await?;
            if from > 0 {
                postgres::earlier(&mut tx, from, input).await?;
            }
            postgres::facts(&mut tx, input).await?;
            tx.commit().await.map_err(db_err)?;
        }
        _ => {
            sqlite::earlier_and_facts(db.get_sqlite_connection_pool(), from, to, input).await?;
        }
    }
    input.zones = zones(db, &input.names.restaurants).await?;
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        "rollup earlier events and orders read"
    );
    Ok(())
}

/// The orders of the run's events with no events before it (their creation and customer are counted
/// now).
fn new_orders(input: &Input) -> Vec<u32> {
    let mut seen = vec![false; input.names.orders.len()];
    for e in &input.events {
        seen[e.order as usize] = true;
    }
    for e in &input.old {
        seen[e.order as usize] = false;
    }
    (0..input.names.orders.len() as u32)
        .filter(|o| seen[*o as usize])
        .collect()
}

/// Keep the events up to the first one recorded after `settled_ms` (by id); the last id kept.
fn settle(rows: &mut Vec<(Event, i64)>, settled_ms: i64) -> Option<i64> {
    rows.sort_unstable_by_key(|(e, _)| e.id);
    let keep = rows
        .iter()
        .position(|(_, recorded)| *recorded > settled_ms)
        .unwrap_or(rows.len());
    rows.truncate(keep);
    rows.last().map(|(e, _)| e.id)
}

fn set_facts(input: &mut Input, order: u32, facts: Facts) {
    let slot = order as usize;
    if input.facts.len() <= slot {
        input
            .facts
            .resize(input.names.orders.len().max(slot + 1), None);
    }
    input.facts[slot] = Some(facts);
}

/// An order as read for counting it.
struct OrderRow<'a> {
    created_ms: i64,
    customer: Option<Uuid>,
    channel_customer: Option<Uuid>,
    total_minor: i64,
    /// Channel orders only.
    value_known: Option<bool>,
    source: &'a str,
    currency: &'a str,
}

impl OrderRow<'_> {
    /// The value of a channel order is known when the channel said so; any other order's is its total.
    fn facts(self, names: &mut Names) -> Facts {
        Facts {
            created_ms: self.created_ms,
            customer: self.customer.or(self.channel_customer),
            total_minor: self.total_minor,
            currency: names.currency(self.currency),
            value_known: self.value_known.unwrap_or(self.source != SOURCE_CHANNEL),
        }
    }
}

async fn zones(db: &DatabaseConnection, ids: &[Uuid]) -> Result<Vec<Tz>, DbErr> {
    let mut by_id = rustc_hash::FxHashMap::default();
    for part in ids.chunks(ID_CHUNK) {
        let rows: Vec<(Uuid, String)> = restaurants::Entity::find()
            .select_only()
            .columns([restaurants::Column::Id, restaurants::Column::Timezone])
            .filter(restaurants::Column::Id.is_in(part.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        by_id.extend(rows);
    }
    Ok(ids
        .iter()
        .map(|id| {
            by_id
                .get(id)
                .and_then(|zone| zone.parse().ok())
                .unwrap_or(Tz::UTC)
        })
        .collect())
}

mod postgres {
    use super::*;

    /// The events come through `COPY ... TO STDOUT (FORMAT binary)`: one stream of bytes instead of a
    /// message, a row object and a type check per event.
    pub async fn events(
        conn: &mut PgConnection,
        from: i64,
        until: i64,
        limit: u64,
        settled_ms: i64,
        input: &mut Input,
    ) -> Result<Option<i64>, DbErr> {
        // COPY takes no bind values; these are numbers.
        let sql = format!(
            "COPY (SELECT id, order_id, raw_code, occurred_at, recorded_at, to_status \
             FROM order_status_events WHERE id > {from} AND id <= {until} ORDER BY id LIMIT {limit}) \
             TO STDOUT (FORMAT binary)"
        );
        let mut rows: Vec<(Event, i64)> = Vec::new();
        let mut copy = CopyTuples::default();
        let mut stream = conn.copy_out_raw(&sql).await.map_err(db_err)?;
        // The whole stream is read (a COPY cannot be left half read); young events are cut after.
        while let Some(chunk) = stream.try_next().await.map_err(db_err)? {
            copy.extend(&chunk);
            while let Some(f) = copy.next_tuple()? {
                let [id, order, code, at, recorded, status] = f[..] else {
                    return Err(bad("copied event", &format!("{} fields", f.len())));
                };
                let order = input.names.order(copy_uuid(order)?);
                rows.push((
                    Event {
                        id: copy_i64(id)?,
                        order,
                        at_ms: copy_instant_ms(at)?,
                        status: input.names.status(copy_text(status)?),
                        code: code.map_or(Ok(-1), |c| copy_i32(Some(c)))?,
                    },
                    copy_instant_ms(recorded)?,
                ));
            }
        }
        drop(stream);
        copy.finish()?;
        let to = settle(&mut rows, settled_ms);
        input.events = rows.into_iter().map(|(e, _)| e).collect();
        Ok(to)
    }

    pub async fn earlier(
        conn: &mut PgConnection,
        from: i64,
        input: &mut Input,
    ) -> Result<(), DbErr> {
        let ids = input.names.orders.clone();
        for part in ids.chunks(ID_CHUNK) {
            let mut stream = sqlx::query(
                "SELECT e.id, e.order_id, e.raw_code, e.occurred_at, e.to_status, e.restaurant_id \
                 FROM UNNEST($1::uuid[]) AS k(order_id) \
                 JOIN order_status_events e ON e.order_id = k.order_id WHERE e.id <= $2",
            )
            .bind(part)
            .bind(from)
            .fetch(&mut *conn);
            while let Some(row) = stream.try_next().await.map_err(db_err)? {
                let order_id: Uuid = row.try_get(1).map_err(db_err)?;
                let Some(order) = input.names.order_of(&order_id) else {
                    continue;
                };
                input.names.place(order, row.try_get(5).map_err(db_err)?);
                let at_ms = row_instant_ms(&row, 3)?;
                let status: &str = row.try_get(4).map_err(db_err)?;
                input.old.push(Event {
                    id: row.try_get(0).map_err(db_err)?,
                    order,
                    at_ms,
                    status: input.names.status(status),
                    code: row
                        .try_get::<Option<i32>, _>(2)
                        .map_err(db_err)?
                        .unwrap_or(-1),
                });
            }
        }
        Ok(())
    }

    pub async fn facts(conn: &mut PgConnection, input: &mut Input) -> Result<(), DbErr> {
        let ids: Vec<Uuid> = new_orders(input)
            .into_iter()
            .map(|o| input.names.orders[o as usize])
            .collect();
        for part in ids.chunks(ID_CHUNK) {
            let mut stream = sqlx::query(
                "SELECT o.id, o.created_at, o.customer_id, c.customer_id, o.total_minor, \
                 c.value_known, o.source, o.currency, o.restaurant_id \
                 FROM UNNEST($1::uuid[]) AS k(id) JOIN orders o ON o.id = k.id \
                 LEFT JOIN channel_orders c ON c.order_id = o.id",
            )
            .bind(part)
            .fetch(&mut *conn);
            while let Some(row) = stream.try_next().await.map_err(db_err)? {
                let id: Uuid = row.try_get(0).map_err(db_err)?;
                let Some(order) = input.names.order_of(&id) else {
                    continue;
                };
                input.names.place(order, row.try_get(8).map_err(db_err)?);
                let created_ms = row_instant_ms(&row, 1)?;
                let facts = OrderRow {
                    created_ms,
                    customer: row.try_get(2).map_err(db_err)?,
                    channel_customer: row.try_get(3).map_err(db_err)?,
                    total_minor: row.try_get(4).map_err(db_err)?,
                    value_known: row.try_get(5).map_err(db_err)?,
                    source: row.try_get(6).map_err(db_err)?,
                    currency: row.try_get(7).map_err(db_err)?,
                }
                .facts(&mut input.names);
                set_facts(input, order, facts);
            }
        }
        Ok(())
    }
}

/// Unix milliseconds of 2000-01-01, where PostgreSQL's binary timestamps count from (in microseconds).
const PG_EPOCH_MS: i64 = 946_684_800_000;

fn pg_micros_to_ms(micros: i64) -> i64 {
    micros.div_euclid(1000) + PG_EPOCH_MS
}

/// An instant column of a row in PostgreSQL's binary format, without building a calendar date.
fn row_instant_ms(row: &sqlx::postgres::PgRow, i: usize) -> Result<i64, DbErr> {
    let raw = row.try_get_raw(i).map_err(db_err)?;
    match raw
        .as_bytes()
        .ok()
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
    {
        Some(bytes) if raw.format() == sqlx::postgres::PgValueFormat::Binary => {
            Ok(pg_micros_to_ms(i64::from_be_bytes(bytes)))
        }
        _ => Ok(row
            .try_get::<DateTime<Utc>, _>(i)
            .map_err(db_err)?
            .timestamp_millis()),
    }
}

/// Tuples of a binary `COPY ... TO STDOUT`, parsed as its chunks arrive.
#[derive(Default)]
struct CopyTuples {
    buf: Vec<u8>,
    pos: usize,
    header: bool,
    ended: bool,
    fields: Vec<Option<(usize, usize)>>,
}

const COPY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

impl CopyTuples {
    fn extend(&mut self, chunk: &[u8]) {
        if self.pos > 0 && self.pos * 2 >= self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    fn take(&self, at: usize, n: usize) -> Option<&[u8]> {
        self.buf.get(at..at.checked_add(n)?)
    }

    /// The next whole tuple's fields (`None` until more bytes arrive, or after the end marker).
    fn next_tuple(&mut self) -> Result<Option<Vec<Option<&[u8]>>>, DbErr> {
        let malformed = || DbErr::Custom("malformed COPY data from PostgreSQL".into());
        if !self.header {
            let Some(head) = self.take(self.pos, COPY_SIGNATURE.len() + 8) else {
                return Ok(None);
            };
            if &head[..COPY_SIGNATURE.len()] != COPY_SIGNATURE {
                return Err(malformed());
            }
            let extension = i32::from_be_bytes(head[15..19].try_into().map_err(|_| malformed())?);
            let skip =
                COPY_SIGNATURE.len() + 8 + usize::try_from(extension).map_err(|_| malformed())?;
            if self.buf.len() < self.pos + skip {
                return Ok(None);
            }
            self.pos += skip;
            self.header = true;
        }
        if self.ended {
            return Ok(None);
        }
        let mut at = self.pos;
        let Some(count) = self.take(at, 2) else {
            return Ok(None);
        };
        let count = i16::from_be_bytes([count[0], count[1]]);
        at += 2;
        if count == -1 {
            self.ended = true;
            self.pos = at;
            return Ok(None);
        }
        self.fields.clear();
        for _ in 0..count.max(0) {
            let Some(len) = self.take(at, 4) else {
                return Ok(None);
            };
            let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
            at += 4;
            if len < 0 {
                self.fields.push(None);
                continue;
            }
            let len = len as usize;
            if self.buf.len() < at + len {
                return Ok(None);
            }
            self.fields.push(Some((at, len)));
            at += len;
        }
        self.pos = at;
        let buf = &self.buf;
        Ok(Some(
            self.fields
                .iter()
                .map(|f| f.map(|(at, len)| &buf[at..at + len]))
                .collect(),
        ))
    }

    /// Fails when the stream stopped before its end marker.
    fn finish(&self) -> Result<(), DbErr> {
        if self.ended {
            Ok(())
        } else {
            Err(DbErr::Custom(
                "COPY data from PostgreSQL ended early".into(),
            ))
        }
    }
}

fn copy_field(field: Option<&[u8]>) -> Result<&[u8], DbErr> {
    field.ok_or_else(|| bad("copied value", "NULL"))
}

fn copy_i64(field: Option<&[u8]>) -> Result<i64, DbErr> {
    let bytes = copy_field(field)?;
    Ok(i64::from_be_bytes(
        bytes.try_into().map_err(|_| bad("copied bigint", ""))?,
    ))
}

fn copy_i32(field: Option<&[u8]>) -> Result<i32, DbErr> {
    let bytes = copy_field(field)?;
    Ok(i32::from_be_bytes(
        bytes.try_into().map_err(|_| bad("copied integer", ""))?,
    ))
}

fn copy_instant_ms(field: Option<&[u8]>) -> Result<i64, DbErr> {
    copy_i64(field).map(pg_micros_to_ms)
}

fn copy_uuid(field: Option<&[u8]>) -> Result<Uuid, DbErr> {
    Uuid::from_slice(copy_field(field)?).map_err(|_| bad("copied uuid", ""))
}

fn copy_text(field: Option<&[u8]>) -> Result<&str, DbErr> {
    std::str::from_utf8(copy_field(field)?).map_err(|_| bad("copied text", ""))
}

mod sqlite {
    use super::*;

    enum Arg {
        Int(i64),
        Text(String),
    }

    /// One statement's `group_concat` (`None` when it matched no rows).
    async fn text(
        pool: &SqlitePool,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> Result<Option<String>, DbErr> {
        let mut query = sqlx::query_scalar::<sqlx::Sqlite, Option<String>>(sql);
        for arg in args {
            query = match arg {
                Arg::Int(v) => query.bind(v),
                Arg::Text(v) => query.bind(v),
            };
        }
        query.fetch_one(pool).await.map_err(db_err)
    }

    fn uuid(text: &str) -> Result<Uuid, DbErr> {
        Uuid::try_parse(text).map_err(|_| bad("id", text))
    }

    /// `hex()` of NULL is the empty string.
    fn maybe_uuid(text: &str) -> Result<Option<Uuid>, DbErr> {
        match text {
            "" | "-" => Ok(None),
            _ => uuid(text).map(Some),
        }
    }

    fn int<T: std::str::FromStr>(text: &str) -> Result<T, DbErr> {
        text.parse().map_err(|_| bad("number", text))
    }

    fn code(text: &str) -> Result<i32, DbErr> {
        if text == "-" { Ok(-1) } else { int(text) }
    }

    pub async fn events(
        pool: &SqlitePool,
        from: i64,
        until: i64,
        limit: u64,
        settled_ms: i64,
        input: &mut Input,
    ) -> Result<Option<i64>, DbErr> {
        // A text per column (cheaper for SQLite than a line per event): ids, orders (32 hex digits
        // each, no separator), codes, instants, whether each is younger than `settled` (a digit
        // each), statuses. Stored instants are RFC 3339 text in UTC, so text order is time order.
        const SQL: &str = "SELECT group_concat(id), group_concat(hex(order_id), ''), \
             group_concat(ifnull(raw_code, -1)), group_concat(occurred_at, char(10)), \
             group_concat(recorded_at > ?4, ''), group_concat(to_status, char(10)) \
             FROM (SELECT id, order_id, raw_code, occurred_at, recorded_at, to_status \
             FROM order_status_events WHERE id > ?1 AND id <= ?3 ORDER BY id LIMIT ?2)";
        type Columns = (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let settled = match DateTime::from_timestamp_millis(settled_ms) {
            Some(at) if settled_ms < i64::MAX => crate::analytics::bulk::time(&at),
            // Every stored instant sorts before this.
            _ => "A".to_owned(),
        };
        let mut rows: Vec<(Event, i64)> = Vec::new();
        let mut after = from;
        while (rows.len() as u64) < limit {
            let n = (limit - rows.len() as u64).min(EVENT_CHUNK);
            let columns: Columns = sqlx::query_as(SQL)
                .bind(after)
                .bind(n as i64)
                .bind(until)
                .bind(settled.as_str())
                .fetch_one(pool)
                .await
                .map_err(db_err)?;
            let (Some(ids), Some(orders), Some(codes), Some(ats), Some(young), Some(statuses)) =
                columns
            else {
                break;
            };
            let before = rows.len();
            let mut orders = orders.as_bytes().chunks(32);
            let mut codes = codes.split(',');
            let mut ats = ats.split('\n');
            let mut young = young.bytes();
            let mut statuses = statuses.split('\n');
            let mut any_young = false;
            for id in ids.split(',') {
                let broken = || bad("event columns", id);
                let order = orders.next().ok_or_else(broken)?;
                let order = std::str::from_utf8(order).map_err(|_| broken())?;
                let is_young = young.next().ok_or_else(broken)? == b'1';
                any_young |= is_young;
                let order = input.names.order(uuid(order)?);
                rows.push((
                    Event {
                        id: int(id)?,
                        order,
                        at_ms: instant_ms(ats.next().ok_or_else(broken)?)?,
                        status: input.names.status(statuses.next().ok_or_else(broken)?),
                        code: int(codes.next().ok_or_else(broken)?)?,
                    },
                    if is_young { i64::MAX } else { i64::MIN },
                ));
            }
            let read = (rows.len() - before) as u64;
            after = rows[before..]
                .iter()
                .map(|(e, _)| e.id)
                .max()
                .unwrap_or(after);
            if any_young || read < n {
                break;
            }
        }
        // Young events were flagged with an instant after any `settled`.
        let to = settle(&mut rows, i64::MAX - 1);
        input.events = rows.into_iter().map(|(e, _)| e).collect();
        Ok(to)
    }

    /// The earlier events of the run's orders and the facts of those first seen in it. Both are read
    /// at once, on two connections (facts for every order of the run; those of orders seen before are
    /// dropped), since each costs SQLite more than the parsing costs here.
    pub async fn earlier_and_facts(
        pool: &SqlitePool,
        from: i64,
        to: i64,
        input: &mut Input,
    ) -> Result<(), DbErr> {
        const EARLIER: &str = "SELECT group_concat(id || ' ' || hex(order_id) || ' ' || \
             hex(restaurant_id) || ' ' || ifnull(raw_code, '-') || ' ' || occurred_at || ' ' || \
             to_status, char(10)) \
             FROM order_status_events WHERE id <= ?1 AND order_id IN \
             (SELECT order_id FROM order_status_events WHERE id > ?1 AND id <= ?2)";
        const FACTS: &str = "SELECT group_concat(hex(o.id) || ' ' || hex(o.restaurant_id) || ' ' || \
             o.created_at || ' ' || \
             hex(o.customer_id) || ' ' || hex(c.customer_id) || ' ' || o.total_minor || ' ' || \
             ifnull(c.value_known, '-') || ' ' || o.source || ' ' || o.currency, char(10)) \
             FROM orders o LEFT JOIN channel_orders c ON c.order_id = o.id \
             WHERE o.id IN (SELECT unhex(value) FROM json_each(?1))";
        let mut in_run = vec![false; input.names.orders.len()];
        for e in &input.events {
            in_run[e.order as usize] = true;
        }
        let orders: Vec<&Uuid> = input
            .names
            .orders
            .iter()
            .zip(&in_run)
            .filter(|(_, in_run)| **in_run)
            .map(|(id, _)| id)
            .collect();
        let lists: Vec<String> = orders
            .chunks(ID_CHUNK)
            .map(|part| {
                let mut json = String::with_capacity(part.len() * 35 + 2);
                json.push('[');
                for (i, id) in part.iter().enumerate() {
                    if i > 0 {
                        json.push(',');
                    }
                    json.push('"');
                    json.push_str(id.simple().encode_lower(&mut Uuid::encode_buffer()));
                    json.push('"');
                }
                json.push(']');
                json
            })
            .collect();
        let earlier = async {
            if from > 0 {
                text(pool, EARLIER, vec![Arg::Int(from), Arg::Int(to)]).await
            } else {
                Ok(None)
            }
        };
        let facts = async {
            let mut texts = Vec::with_capacity(lists.len());
            for json in &lists {
                texts.push(text(pool, FACTS, vec![Arg::Text(json.clone())]).await?);
            }
            Ok::<_, DbErr>(texts)
        };
        let (earlier, facts) = tokio::try_join!(earlier, facts)?;

        for line in earlier.as_deref().unwrap_or_default().split('\n') {
            if line.is_empty() {
                continue;
            }
            let f: Vec<&str> = line.splitn(6, ' ').collect();
            let [id, order, restaurant, raw_code, at, status] = f[..] else {
                return Err(bad("event", line));
            };
            let Some(order) = input.names.order_of(&uuid(order)?) else {
                continue;
            };
            input.names.place(order, uuid(restaurant)?);
            input.old.push(Event {
                id: int(id)?,
                order,
                at_ms: instant_ms(at)?,
                status: input.names.status(status),
                code: code(raw_code)?,
            });
        }
        let new = new_orders(input);
        let mut is_new = vec![false; input.names.orders.len()];
        for o in new {
            is_new[o as usize] = true;
        }
        for text in facts.iter().flatten() {
            for line in text.split('\n') {
                let f: Vec<&str> = line.splitn(9, ' ').collect();
                let [
                    id,
                    restaurant,
                    created,
                    customer,
                    channel_customer,
                    total,
                    known,
                    source,
                    currency,
                ] = f[..]
                else {
                    return Err(bad("order", line));
                };
                let Some(order) = input.names.order_of(&uuid(id)?) else {
                    continue;
                };
                input.names.place(order, uuid(restaurant)?);
                if !is_new[order as usize] {
                    continue;
                }
                let known = match known {
                    "-" => None,
                    other => Some(int::<i64>(other)? != 0),
                };
                let facts = OrderRow {
                    created_ms: instant_ms(created)?,
                    customer: maybe_uuid(customer)?,
                    channel_customer: maybe_uuid(channel_customer)?,
                    total_minor: int(total)?,
                    value_known: known,
                    source,
                    currency,
                }
                .facts(&mut input.names);
                set_facts(input, order, facts);
            }
        }
        Ok(())
    }
}

/// Unix milliseconds of an instant as SQLite holds it (the RFC 3339 text sqlx writes), read without
/// the general parser for the usual `YYYY-MM-DDTHH:MM:SS[.fff]±HH:MM` shape.
fn instant_ms(text: &str) -> Result<i64, DbErr> {
    if let Some(ms) = usual_instant_ms(text.as_bytes()) {
        return Ok(ms);
    }
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z"))
        .map(|at| at.timestamp_millis())
        .map_err(|_| bad("instant", text))
}

fn usual_instant_ms(b: &[u8]) -> Option<i64> {
    let digits = |from: usize, to: usize| -> Option<u32> {
        b.get(from..to)?.iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(digits(0, 4)? as i32, digits(5, 7)?, digits(8, 10)?)?;
    let (hour, minute, second) = (digits(11, 13)?, digits(14, 16)?, digits(17, 19)?);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        for k in 0..3 {
            millis = millis * 10
                + b.get(start + k)
                    .filter(|_| start + k < i)
                    .map_or(0, |c| i64::from(c - b'0'));
        }
    }
    let offset_ms = match b.get(i)? {
        b'Z' if b.len() == i + 1 => 0,
        sign @ (b'+' | b'-') if b.len() == i + 6 && b[i + 3] == b':' => {
            let minutes = i64::from(digits(i + 1, i + 3)? * 60 + digits(i + 4, i + 6)?);
            if *sign == b'+' {
                minutes * 60_000
            } else {
                -minutes * 60_000
            }
        }
        _ => return None,
    };
    // 1970-01-01 is day 719,163 counted from 0001-01-01.
    let days = i64::from(chrono::Datelike::num_days_from_ce(&date)) - 719_163;
    let seconds = i64::from(hour * 3600 + minute * 60 + second);
    Some(days * 86_400_000 + seconds * 1000 + millis - offset_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_read_fast_agree_with_chrono() {
        for text in [
            "2025-01-01T00:00:00+00:00",
            "2025-03-30T01:59:59.999+00:00",
            "2024-02-29T23:10:05.5+05:30",
            "2021-11-07T06:00:00.123456789-04:00",
            "1969-12-31T23:59:59.9995+00:00",
            "2030-06-15T12:00:00Z",
        ] {
            let expected = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .timestamp_millis();
            assert_eq!(usual_instant_ms(text.as_bytes()), Some(expected), "{text}");
        }
        // Other shapes fall back to the general parser.
        assert_eq!(usual_instant_ms(b"2025-02-30T00:00:00+00:00"), None);
        assert_eq!(
            instant_ms("2025-01-01 00:00:00+00:00").unwrap(),
            1_735_689_600_000
        );
        assert!(instant_ms("yesterday").is_err());
    }
}
