//! Writing one run: a short transaction that claims the watermark row, checks that it has not moved
//! since the run's reads, merges the run's changes into the stored rows and moves the watermark.
//!
//! Rows travel column by column: every statement reads them from `WITH k(...) AS (...)`, which is
//! `UNNEST` of one array per column on PostgreSQL (one statement, however many rows) and a multi-row
//! `VALUES` list of bound values on SQLite (as many rows as its bind limit allows). Counts that only
//! grow (throughput, customers) are added in SQL; status rows are read first, since their histograms
//! are merged here.

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap as HashMap;
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::sqlite::SqliteRow;
use sea_orm::sqlx::{self, AssertSqlSafe, FromRow, Postgres, QueryBuilder, Sqlite, Transaction};
use sea_orm::{DatabaseConnection, DbBackend, DbErr};
use uuid::Uuid;

use super::compute::{CellKey, Customers, Names, SpanKey, Tally};
use super::{CUSTOMER_WATERMARK, DAY, HOUR, StatusCell, Throughput, WATERMARK};
use crate::analytics::histogram::Histogram;
use crate::state::AppState;

fn db_err(err: sqlx::Error) -> DbErr {
    DbErr::Custom(err.to_string())
}

/// One column of rows to write.
enum Column<'a> {
    Text(Vec<&'a str>),
    Owned(Vec<String>),
    Uuid(Vec<Uuid>),
    Int(Vec<i64>),
    Int4(Vec<i32>),
}

impl Column<'_> {
    fn len(&self) -> usize {
        match self {
            Column::Text(v) => v.len(),
            Column::Owned(v) => v.len(),
            Column::Uuid(v) => v.len(),
            Column::Int(v) => v.len(),
            Column::Int4(v) => v.len(),
        }
    }

    fn pg_array(&self) -> &'static str {
        match self {
            Column::Text(_) | Column::Owned(_) => "text[]",
            Column::Uuid(_) => "uuid[]",
            Column::Int(_) => "int8[]",
            Column::Int4(_) => "int4[]",
        }
    }
}

/// Rows given column by column, named as the statement's `k(...)` names them.
struct Rows<'a> {
    names: &'static [&'static str],
    columns: Vec<Column<'a>>,
}

impl Rows<'_> {
    fn len(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }
}

/// The start of a statement, for trace logs.
fn head(statement: &str) -> &str {
    statement
        .char_indices()
        .nth(60)
        .map_or(statement, |(i, _)| &statement[..i])
}

/// Rows per PostgreSQL statement (arrays of this length per column).
const PG_CHUNK: usize = 50_000;
/// SQLite binds at most 32,766 values per statement.
const SQLITE_BINDS: usize = 32_000;

/// The write transaction on either database.
enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    async fn begin(db: &DatabaseConnection) -> Result<Tx, DbErr> {
        Ok(match db.get_database_backend() {
            DbBackend::Postgres => Tx::Postgres(super::pg_begin(db, false, &[]).await?),
            _ => Tx::Sqlite(
                crate::database::sqlite_begin_write(db.get_sqlite_connection_pool())
                    .await
                    .map_err(db_err)?,
            ),
        })
    }

    async fn commit(self) -> Result<(), DbErr> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
        .map_err(db_err)
    }

    async fn rollback(self) -> Result<(), DbErr> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await,
            Tx::Postgres(tx) => tx.rollback().await,
        }
        .map_err(db_err)
    }

    async fn execute(&mut self, sql: &str) -> Result<u64, DbErr> {
        Ok(match self {
            Tx::Sqlite(tx) => sqlx::query(AssertSqlSafe(sql.to_owned()))
                .execute(&mut **tx)
                .await
                .map_err(db_err)?
                .rows_affected(),
            Tx::Postgres(tx) => sqlx::query(AssertSqlSafe(sql.to_owned()))
                .execute(&mut **tx)
                .await
                .map_err(db_err)?
                .rows_affected(),
        })
    }

    /// One number from a query of no arguments.
    async fn number(&mut self, sql: &str) -> Result<i64, DbErr> {
        let sql = AssertSqlSafe(sql.to_owned());
        match self {
            Tx::Sqlite(tx) => sqlx::query_scalar(sql).fetch_one(&mut **tx).await,
            Tx::Postgres(tx) => sqlx::query_scalar(sql).fetch_one(&mut **tx).await,
        }
        .map_err(db_err)
    }

    /// Take the watermark row (other runs wait for this transaction) and say where it stands, creating
    /// it the first time.
    async fn claim(&mut self, name: &str, now: DateTime<Utc>) -> Result<i64, DbErr> {
        for _ in 0..2 {
            let claimed: Option<i64> = match self {
                Tx::Sqlite(tx) => sqlx::query_scalar(
                    "UPDATE analytics_watermarks SET updated_at = ?1 WHERE name = ?2 RETURNING last_event_id",
                )
                .bind(now)
                .bind(name)
                .fetch_optional(&mut **tx)
                .await,
                Tx::Postgres(tx) => sqlx::query_scalar(
                    "UPDATE analytics_watermarks SET updated_at = $1 WHERE name = $2 RETURNING last_event_id",
                )
                .bind(now)
                .bind(name)
                .fetch_optional(&mut **tx)
                .await,
            }
            .map_err(db_err)?;
            if let Some(at) = claimed {
                return Ok(at);
            }
            match self {
                Tx::Sqlite(tx) => sqlx::query(
                    "INSERT INTO analytics_watermarks (name, last_event_id, updated_at) VALUES (?1, 0, ?2) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(now)
                .execute(&mut **tx)
                .await
                .map(|_| ()),
                Tx::Postgres(tx) => sqlx::query(
                    "INSERT INTO analytics_watermarks (name, last_event_id, updated_at) VALUES ($1, 0, $2) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(now)
                .execute(&mut **tx)
                .await
                .map(|_| ()),
            }
            .map_err(db_err)?;
        }
        Err(DbErr::Custom(
            "the rollup watermark row could not be claimed".into(),
        ))
    }

    async fn set_watermark(&mut self, name: &str, to: i64) -> Result<(), DbErr> {
        match self {
            Tx::Sqlite(tx) => {
                sqlx::query("UPDATE analytics_watermarks SET last_event_id = ?1 WHERE name = ?2")
                    .bind(to)
                    .bind(name)
                    .execute(&mut **tx)
                    .await
                    .map(|_| ())
            }
            Tx::Postgres(tx) => {
                sqlx::query("UPDATE analytics_watermarks SET last_event_id = $1 WHERE name = $2")
                    .bind(to)
                    .bind(name)
                    .execute(&mut **tx)
                    .await
                    .map(|_| ())
            }
        }
        .map_err(db_err)?;
        Ok(())
    }

    /// `WITH k(<names>) AS (VALUES (...), ...) <statement>` for rows `from..to`, every value bound.
    fn sqlite_rows(
        rows: &Rows<'_>,
        from: usize,
        to: usize,
        statement: &str,
    ) -> QueryBuilder<Sqlite> {
        let mut qb = QueryBuilder::new(format!("WITH k({}) AS (", rows.names.join(", ")));
        qb.push_values(from..to, |mut b, i| {
            for column in &rows.columns {
                match column {
                    Column::Text(v) => b.push_bind(v[i]),
                    Column::Owned(v) => b.push_bind(v[i].as_str()),
                    Column::Uuid(v) => b.push_bind(v[i]),
                    Column::Int(v) => b.push_bind(v[i]),
                    Column::Int4(v) => b.push_bind(v[i]),
                };
            }
        });
        qb.push(") ");
        qb.push(statement);
        qb
    }

    /// `WITH k(<names>) AS (SELECT * FROM UNNEST(<one array per column>)) <statement>` for rows
    /// `from..to`.
    fn postgres_rows(
        rows: &Rows<'_>,
        from: usize,
        to: usize,
        statement: &str,
    ) -> QueryBuilder<Postgres> {
        let mut qb = QueryBuilder::new(format!(
            "WITH k({}) AS (SELECT * FROM UNNEST(",
            rows.names.join(", ")
        ));
        let mut sep = qb.separated(", ");
        for column in &rows.columns {
            match column {
                Column::Text(v) => sep.push_bind(&v[from..to]),
                Column::Owned(v) => sep.push_bind(&v[from..to]),
                Column::Uuid(v) => sep.push_bind(&v[from..to]),
                Column::Int(v) => sep.push_bind(&v[from..to]),
                Column::Int4(v) => sep.push_bind(&v[from..to]),
            };
            sep.push_unseparated("::");
            sep.push_unseparated(column.pg_array());
        }
        qb.push(")) ");
        qb.push(statement);
        qb
    }

    fn chunk(&self, rows: &Rows) -> usize {
        match self {
            Tx::Sqlite(_) => (SQLITE_BINDS / rows.columns.len().max(1)).max(1),
            Tx::Postgres(_) => PG_CHUNK,
        }
    }

    /// Run `statement` (which reads `k`) for all `rows`, a chunk at a time.
    async fn run(&mut self, rows: &Rows<'_>, statement: &str) -> Result<u64, DbErr> {
        let started = std::time::Instant::now();
        let chunk = self.chunk(rows);
        let mut affected = 0;
        let mut from = 0;
        while from < rows.len() {
            let to = (from + chunk).min(rows.len());
            affected += match self {
                Tx::Sqlite(tx) => Self::sqlite_rows(rows, from, to, statement)
                    .build()
                    .execute(&mut **tx)
                    .await
                    .map_err(db_err)?
                    .rows_affected(),
                Tx::Postgres(tx) => Self::postgres_rows(rows, from, to, statement)
                    .build()
                    .execute(&mut **tx)
                    .await
                    .map_err(db_err)?
                    .rows_affected(),
            };
            from = to;
        }
        tracing::trace!(
            rows = rows.len(),
            ms = started.elapsed().as_millis() as u64,
            statement = head(statement),
            "rollup statement"
        );
        Ok(affected)
    }

    /// Query `statement` (which reads `k`) for all `rows`, a chunk at a time.
    async fn fetch<T>(&mut self, rows: &Rows<'_>, statement: &str) -> Result<Vec<T>, DbErr>
    where
        T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let started = std::time::Instant::now();
        let chunk = self.chunk(rows);
        let mut out = Vec::new();
        let mut from = 0;
        while from < rows.len() {
            let to = (from + chunk).min(rows.len());
            match self {
                Tx::Sqlite(tx) => out.extend(
                    Self::sqlite_rows(rows, from, to, statement)
                        .build_query_as::<T>()
                        .fetch_all(&mut **tx)
                        .await
                        .map_err(db_err)?,
                ),
                Tx::Postgres(tx) => out.extend(
                    Self::postgres_rows(rows, from, to, statement)
                        .build_query_as::<T>()
                        .fetch_all(&mut **tx)
                        .await
                        .map_err(db_err)?,
                ),
            }
            from = to;
        }
        tracing::trace!(
            rows = rows.len(),
            ms = started.elapsed().as_millis() as u64,
            statement = head(statement),
            "rollup query"
        );
        Ok(out)
    }

    /// Insert `rows` (known not to be there) into `table`, whose columns they name: on PostgreSQL through
    /// binary `COPY ... FROM STDIN`, its fastest way in; on SQLite as bound `VALUES`.
    async fn insert(&mut self, table: &str, rows: &Rows<'_>) -> Result<(), DbErr> {
        if rows.len() == 0 {
            return Ok(());
        }
        let columns = rows.names.join(", ");
        match self {
            Tx::Sqlite(_) => {
                self.run(
                    rows,
                    &format!("INSERT INTO {table} ({columns}) SELECT * FROM k"),
                )
                .await?;
            }
            Tx::Postgres(tx) => {
                let t = std::time::Instant::now();
                let mut copy = tx
                    .copy_in_raw(&format!(
                        "COPY {table} ({columns}) FROM STDIN (FORMAT binary)"
                    ))
                    .await
                    .map_err(db_err)?;
                let mut buf = Vec::with_capacity(1 << 20);
                buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
                buf.extend_from_slice(&0i32.to_be_bytes());
                buf.extend_from_slice(&0i32.to_be_bytes());
                for i in 0..rows.len() {
                    buf.extend_from_slice(&(rows.columns.len() as i16).to_be_bytes());
                    for column in &rows.columns {
                        let bytes: &[u8] = match column {
                            Column::Text(v) => v[i].as_bytes(),
                            Column::Owned(v) => v[i].as_bytes(),
                            Column::Uuid(v) => v[i].as_bytes(),
                            Column::Int(v) => {
                                buf.extend_from_slice(&8i32.to_be_bytes());
                                buf.extend_from_slice(&v[i].to_be_bytes());
                                continue;
                            }
                            Column::Int4(v) => {
                                buf.extend_from_slice(&4i32.to_be_bytes());
                                buf.extend_from_slice(&v[i].to_be_bytes());
                                continue;
                            }
                        };
                        buf.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                        buf.extend_from_slice(bytes);
                    }
                    if buf.len() >= 1 << 20 {
                        copy.send(std::mem::take(&mut buf)).await.map_err(db_err)?;
                        buf.reserve(1 << 20);
                    }
                }
                buf.extend_from_slice(&(-1i16).to_be_bytes());
                copy.send(buf).await.map_err(db_err)?;
                copy.finish().await.map_err(db_err)?;
                tracing::trace!(
                    rows = rows.len(),
                    ms = t.elapsed().as_millis() as u64,
                    table,
                    "rollup copy"
                );
            }
        }
        Ok(())
    }

    fn least_greatest(&self) -> (&'static str, &'static str) {
        match self {
            Tx::Postgres(_) => ("LEAST", "GREATEST"),
            Tx::Sqlite(_) => ("min", "max"),
        }
    }
}

fn granularity(day: bool) -> &'static str {
    if day { DAY } else { HOUR }
}

type StoredStatus = (String, Uuid, i64, String, i32, i64, i64, i64, String);

/// Write one run's status and throughput changes. `false` when the watermark is no longer at `from`
/// (another run wrote first): nothing is written and the run must be read again.
pub(super) async fn apply(
    state: &AppState,
    from: i64,
    to: i64,
    mut names: Names,
    status: HashMap<CellKey, StatusCell>,
    throughput: HashMap<SpanKey, Throughput>,
) -> Result<bool, DbErr> {
    let _turn = state.write_turn().await;
    let mut tx = Tx::begin(&state.db).await?;
    if tx.claim(WATERMARK, state.now()).await? != from {
        tx.rollback().await?;
        return Ok(false);
    }
    let (mut status, mut throughput) = (status, throughput);
    let gone = deleted_restaurants(&mut tx, &names.restaurants).await?;
    if !gone.is_empty() {
        let gone: Vec<u32> = gone.iter().filter_map(|r| names.restaurant_of(r)).collect();
        status.retain(|k, _| !gone.contains(&k.restaurant));
        throughput.retain(|k, _| !gone.contains(&k.restaurant));
    }
    let started = std::time::Instant::now();
    let rows = (status.len(), throughput.len());
    write_status(&mut tx, &mut names, status).await?;
    let status_ms = started.elapsed().as_millis() as u64;
    write_throughput(&mut tx, &names, throughput).await?;
    let throughput_ms = started.elapsed().as_millis() as u64 - status_ms;
    tx.set_watermark(WATERMARK, to).await?;
    tx.commit().await?;
    tracing::debug!(
        status_rows = rows.0,
        status_ms,
        throughput_rows = rows.1,
        throughput_ms,
        commit_ms = started.elapsed().as_millis() as u64 - status_ms - throughput_ms,
        "rollup writes"
    );
    Ok(true)
}

/// Add the customers of the orders first seen in the events `(from, to]`. `false` when the customer
/// watermark is not at `from` (those orders, or some of them, were counted by another run, or events
/// before `from` were not yet): nothing is written.
pub(super) async fn flush_customers(
    state: &AppState,
    from: i64,
    to: i64,
    customers: Customers,
) -> Result<bool, DbErr> {
    let _turn = state.write_turn().await;
    let mut tx = Tx::begin(&state.db).await?;
    if tx.claim(CUSTOMER_WATERMARK, state.now()).await? != from {
        tx.rollback().await?;
        return Ok(false);
    }
    let mut customers = customers;
    let mut restaurants: Vec<Uuid> = customers.per_restaurant.keys().map(|k| k.0).collect();
    restaurants.sort_unstable();
    restaurants.dedup();
    let gone = deleted_restaurants(&mut tx, &restaurants).await?;
    if !gone.is_empty() {
        customers.per_restaurant.retain(|k, _| !gone.contains(&k.0));
    }
    let started = std::time::Instant::now();
    // Totals are summed after the deleted restaurants' rows are gone, so none of their orders count.
    let totals = customers.totals();
    let rows = (customers.per_restaurant.len(), totals.len());
    write_customers(&mut tx, customers, totals).await?;
    tx.set_watermark(CUSTOMER_WATERMARK, to).await?;
    tx.commit().await?;
    tracing::debug!(
        per_restaurant = rows.0,
        totals = rows.1,
        ms = started.elapsed().as_millis() as u64,
        "rollup customers written"
    );
    Ok(true)
}

/// Which of `restaurants` no longer exist (deleted since the run read their events: their rows must not
/// be written, see [`forget_restaurant`]).
async fn deleted_restaurants(tx: &mut Tx, restaurants: &[Uuid]) -> Result<Vec<Uuid>, DbErr> {
    let rows = Rows {
        names: &["restaurant_id"],
        columns: vec![Column::Uuid(restaurants.to_vec())],
    };
    let found: Vec<(Uuid,)> = tx
        .fetch(
            &rows,
            "SELECT r.id FROM k JOIN restaurants r ON r.id = k.restaurant_id",
        )
        .await?;
    let found: std::collections::HashSet<Uuid> = found.into_iter().map(|(id,)| id).collect();
    Ok(restaurants
        .iter()
        .filter(|r| !found.contains(r))
        .copied()
        .collect())
}

/// Delete the summary rows of a deleted restaurant. Both watermarks are held meanwhile, so a run that
/// read the restaurant's events before it was deleted either wrote them before this (and they are
/// deleted here) or writes after this and finds the restaurant gone.
pub(super) async fn forget_restaurant(state: &AppState, restaurant: Uuid) -> Result<(), DbErr> {
    let _turn = state.write_turn().await;
    let mut tx = Tx::begin(&state.db).await?;
    tx.claim(WATERMARK, state.now()).await?;
    tx.claim(CUSTOMER_WATERMARK, state.now()).await?;
    let rows = Rows {
        names: &["restaurant_id"],
        columns: vec![Column::Uuid(vec![restaurant])],
    };
    // Its customers' totals over all restaurants are summed again from their other restaurants.
    tx.run(
        &rows,
        "DELETE FROM customer_order_totals WHERE customer_id IN (SELECT s.customer_id FROM k \
         JOIN customer_order_stats s ON s.restaurant_id = k.restaurant_id)",
    )
    .await?;
    tx.run(
        &rows,
        "INSERT INTO customer_order_totals (customer_id, orders, valued_orders, value_minor, currency, \
         first_ms, last_ms) SELECT s.customer_id, sum(s.orders), sum(s.valued_orders), \
         sum(s.value_minor), max(s.currency), min(s.first_ms), max(s.last_ms) \
         FROM customer_order_stats s WHERE s.restaurant_id NOT IN (SELECT restaurant_id FROM k) \
         AND s.customer_id IN (SELECT c.customer_id FROM k \
           JOIN customer_order_stats c ON c.restaurant_id = k.restaurant_id) \
         GROUP BY s.customer_id",
    )
    .await?;
    for table in [
        "order_status_rollups",
        "order_throughput_rollups",
        "customer_order_stats",
    ] {
        tx.run(
            &rows,
            &format!("DELETE FROM {table} WHERE restaurant_id IN (SELECT restaurant_id FROM k)"),
        )
        .await?;
    }
    recount_distribution(&mut tx).await?;
    tx.execute(BUMP_REVISION).await?;
    tx.commit().await
}

/// Count the distribution of orders per customer again from `customer_order_totals`.
async fn recount_distribution(tx: &mut Tx) -> Result<(), DbErr> {
    tx.execute("DELETE FROM customer_order_counts").await?;
    tx.execute(
        "INSERT INTO customer_order_counts (orders, customers) \
         SELECT orders, count(*) FROM customer_order_totals GROUP BY orders",
    )
    .await?;
    Ok(())
}

/// Status rows: the stored rows of every bucket the run touches are read, the changes merged into them
/// (histograms too), and the results written back; rows left empty are deleted.
async fn write_status(
    tx: &mut Tx,
    names: &mut Names,
    delta: HashMap<CellKey, StatusCell>,
) -> Result<(), DbErr> {
    let mut buckets: Vec<SpanKey> = delta
        .keys()
        .map(|k| SpanKey {
            day: k.day,
            restaurant: k.restaurant,
            bucket: k.bucket,
        })
        .collect();
    buckets.sort_unstable_by_key(|k| (k.day, k.restaurant, k.bucket));
    buckets.dedup();
    let keys = span_rows(names, &buckets);
    let stored: Vec<StoredStatus> = tx
        .fetch(
            &keys,
            "SELECT t.granularity, t.restaurant_id, t.bucket_start, t.status, t.code, t.entered, \
             t.timed, t.duration_ms, t.histogram FROM k JOIN order_status_rollups t \
             ON t.granularity = k.granularity AND t.restaurant_id = k.restaurant_id \
             AND t.bucket_start = k.bucket_start",
        )
        .await?;
    drop(keys);
    let mut cells: HashMap<CellKey, StatusCell> = HashMap::default();
    for (g, restaurant, bucket, status, code, entered, timed, duration_ms, histogram) in stored {
        let Some(restaurant) = names.restaurant_of(&restaurant) else {
            continue;
        };
        let key = CellKey {
            day: g == DAY,
            restaurant,
            bucket,
            status: names.status(&status),
            code,
        };
        cells.insert(
            key,
            StatusCell {
                entered,
                timed,
                duration_ms,
                histogram: Histogram::parse(&histogram),
            },
        );
    }
    // Every row of the touched buckets was read above (and no other run writes while the watermark is
    // claimed), so each change is known to be a new row, a changed row or a row left empty.
    let mut fresh: Vec<(CellKey, StatusCell)> = Vec::with_capacity(delta.len());
    let mut changed: Vec<(CellKey, StatusCell)> = Vec::new();
    let mut empty: Vec<(CellKey, StatusCell)> = Vec::new();
    for (key, change) in delta {
        match cells.remove(&key) {
            None => fresh.push((key, change)),
            Some(mut cell) => {
                cell.add(&change);
                if cell.is_empty() {
                    empty.push((key, cell));
                } else {
                    changed.push((key, cell));
                }
            }
        }
    }
    let names = &*names;
    // In key order: the database then adds to the end of its indexes instead of all over them.
    fresh.sort_by_cached_key(|(k, _)| {
        (
            k.day,
            names.restaurants[k.restaurant as usize],
            k.bucket,
            names.statuses[k.status as usize].clone(),
            k.code,
        )
    });
    tx.insert("order_status_rollups", &status_rows(names, &fresh))
        .await?;
    let rows = status_rows(names, &changed);
    tx.run(
        &rows,
        "UPDATE order_status_rollups SET entered = k.entered, timed = k.timed, \
         duration_ms = k.duration_ms, histogram = k.histogram FROM k \
         WHERE order_status_rollups.granularity = k.granularity \
         AND order_status_rollups.restaurant_id = k.restaurant_id \
         AND order_status_rollups.bucket_start = k.bucket_start \
         AND order_status_rollups.status = k.status AND order_status_rollups.code = k.code",
    )
    .await?;
    let rows = status_rows(names, &empty);
    tx.run(
        &rows,
        "DELETE FROM order_status_rollups WHERE (granularity, restaurant_id, bucket_start, status, \
         code) IN (SELECT granularity, restaurant_id, bucket_start, status, code FROM k)",
    )
    .await?;
    Ok(())
}

/// Status rows as columns for `k`.
fn status_rows<'a>(names: &'a Names, cells: &[(CellKey, StatusCell)]) -> Rows<'a> {
    Rows {
        names: &[
            "granularity",
            "restaurant_id",
            "bucket_start",
            "status",
            "code",
            "entered",
            "timed",
            "duration_ms",
            "histogram",
        ],
        columns: vec![
            Column::Text(cells.iter().map(|(k, _)| granularity(k.day)).collect()),
            Column::Uuid(
                cells
                    .iter()
                    .map(|(k, _)| names.restaurants[k.restaurant as usize])
                    .collect(),
            ),
            Column::Int(cells.iter().map(|(k, _)| k.bucket).collect()),
            Column::Text(
                cells
                    .iter()
                    .map(|(k, _)| &*names.statuses[k.status as usize])
                    .collect(),
            ),
            Column::Int4(cells.iter().map(|(k, _)| k.code).collect()),
            Column::Int(cells.iter().map(|(_, c)| c.entered).collect()),
            Column::Int(cells.iter().map(|(_, c)| c.timed).collect()),
            Column::Int(cells.iter().map(|(_, c)| c.duration_ms).collect()),
            Column::Owned(cells.iter().map(|(_, c)| c.histogram.to_text()).collect()),
        ],
    }
}

/// Throughput rows: the stored rows of the touched buckets are read (as for status rows), so each change
/// is a new row, a changed row or a row left empty.
async fn write_throughput(
    tx: &mut Tx,
    names: &Names,
    delta: HashMap<SpanKey, Throughput>,
) -> Result<(), DbErr> {
    let mut spans: Vec<SpanKey> = delta.keys().copied().collect();
    spans.sort_unstable_by_key(|k| (k.day, names.restaurants[k.restaurant as usize], k.bucket));
    let keys = span_rows(names, &spans);
    let stored: Vec<(String, Uuid, i64, i64, i64)> = tx
        .fetch(
            &keys,
            "SELECT t.granularity, t.restaurant_id, t.bucket_start, t.created, t.finished \
             FROM k JOIN order_throughput_rollups t ON t.granularity = k.granularity \
             AND t.restaurant_id = k.restaurant_id AND t.bucket_start = k.bucket_start",
        )
        .await?;
    let mut current: HashMap<SpanKey, Throughput> = HashMap::default();
    for (g, restaurant, bucket, created, finished) in stored {
        if let Some(restaurant) = names.restaurant_of(&restaurant) {
            current.insert(
                SpanKey {
                    day: g == DAY,
                    restaurant,
                    bucket,
                },
                Throughput { created, finished },
            );
        }
    }
    let (mut fresh, mut changed, mut empty) = (Vec::new(), Vec::new(), Vec::new());
    for key in &spans {
        let change = delta[key];
        match current.get(key) {
            None => fresh.push((*key, change)),
            Some(now) => {
                let sum = Throughput {
                    created: now.created + change.created,
                    finished: now.finished + change.finished,
                };
                if sum.created == 0 && sum.finished == 0 {
                    empty.push(*key);
                } else {
                    changed.push((*key, sum));
                }
            }
        }
    }
    tx.insert("order_throughput_rollups", &throughput_rows(names, &fresh))
        .await?;
    tx.run(
        &throughput_rows(names, &changed),
        "UPDATE order_throughput_rollups SET created = k.created, finished = k.finished FROM k \
         WHERE order_throughput_rollups.granularity = k.granularity \
         AND order_throughput_rollups.restaurant_id = k.restaurant_id \
         AND order_throughput_rollups.bucket_start = k.bucket_start",
    )
    .await?;
    tx.run(
        &span_rows(names, &empty),
        "DELETE FROM order_throughput_rollups WHERE (granularity, restaurant_id, bucket_start) IN \
         (SELECT granularity, restaurant_id, bucket_start FROM k)",
    )
    .await?;
    Ok(())
}

/// Bucket keys as columns for `k`.
fn span_rows<'a>(names: &'a Names, spans: &[SpanKey]) -> Rows<'a> {
    Rows {
        names: &["granularity", "restaurant_id", "bucket_start"],
        columns: vec![
            Column::Text(spans.iter().map(|k| granularity(k.day)).collect()),
            Column::Uuid(
                spans
                    .iter()
                    .map(|k| names.restaurants[k.restaurant as usize])
                    .collect(),
            ),
            Column::Int(spans.iter().map(|k| k.bucket).collect()),
        ],
    }
}

/// Throughput rows as columns for `k`.
fn throughput_rows<'a>(names: &'a Names, rows: &[(SpanKey, Throughput)]) -> Rows<'a> {
    let keys: Vec<SpanKey> = rows.iter().map(|(k, _)| *k).collect();
    let mut out = span_rows(names, &keys);
    out.names = &[
        "granularity",
        "restaurant_id",
        "bucket_start",
        "created",
        "finished",
    ];
    out.columns
        .push(Column::Int(rows.iter().map(|(_, t)| t.created).collect()));
    out.columns
        .push(Column::Int(rows.iter().map(|(_, t)| t.finished).collect()));
    out
}

const TALLY_NAMES: [&str; 6] = [
    "orders",
    "valued_orders",
    "value_minor",
    "currency",
    "first_ms",
    "last_ms",
];

fn tally_columns<'a>(tallies: &[&'a Tally]) -> Vec<Column<'a>> {
    vec![
        Column::Int(tallies.iter().map(|t| t.orders).collect()),
        Column::Int(tallies.iter().map(|t| t.valued_orders).collect()),
        Column::Int(tallies.iter().map(|t| t.value_minor).collect()),
        Column::Text(tallies.iter().map(|t| &*t.currency).collect()),
        Column::Int(tallies.iter().map(|t| t.first_ms).collect()),
        Column::Int(tallies.iter().map(|t| t.last_ms).collect()),
    ]
}

/// `INSERT ... ON CONFLICT` adding to a customer table (keyed by `keys`).
fn add_tallies_sql(tx: &Tx, table: &str, keys: &str) -> String {
    let (least, greatest) = tx.least_greatest();
    format!(
        "INSERT INTO {table} ({keys}, {tally}) SELECT * FROM k WHERE true ON CONFLICT ({keys}) DO UPDATE \
         SET orders = {table}.orders + excluded.orders, \
         valued_orders = {table}.valued_orders + excluded.valued_orders, \
         value_minor = {table}.value_minor + excluded.value_minor, \
         first_ms = {least}({table}.first_ms, excluded.first_ms), \
         last_ms = {greatest}({table}.last_ms, excluded.last_ms)",
        tally = TALLY_NAMES.join(", ")
    )
}

/// Add `tallies` to a customer table whose columns are `names`: first the keys (`key_columns`, one
/// per key name), then [`TALLY_NAMES`]. On PostgreSQL the keys already stored are looked up first
/// (unless the table is empty, as on a first run or a rebuild): their rows are added to in place and
/// the others go in through `COPY`, several times faster than `INSERT ... ON CONFLICT` for new rows.
/// SQLite adds with `INSERT ... ON CONFLICT` at once.
async fn add_tallies(
    tx: &mut Tx,
    table: &str,
    names: &'static [&'static str],
    key_columns: Vec<Vec<Uuid>>,
    tallies: Vec<&Tally>,
) -> Result<(), DbErr> {
    let keys = &names[..key_columns.len()];
    debug_assert_eq!(names[keys.len()..], TALLY_NAMES);
    let sql = add_tallies_sql(tx, table, &keys.join(", "));
    let rows_of = |keep: &dyn Fn(usize) -> bool| {
        let picked: Vec<usize> = (0..tallies.len()).filter(|&i| keep(i)).collect();
        let mut columns: Vec<Column> = key_columns
            .iter()
            .map(|c| Column::Uuid(picked.iter().map(|&i| c[i]).collect()))
            .collect();
        let picked_tallies: Vec<&Tally> = picked.iter().map(|&i| tallies[i]).collect();
        columns.extend(tally_columns(&picked_tallies));
        Rows { names, columns }
    };
    if matches!(tx, Tx::Sqlite(_)) {
        return tx.run(&rows_of(&|_| true), &sql).await.map(|_| ());
    }
    // A key is its first and last column (the same one for a single key).
    let (first, last) = (&key_columns[0], &key_columns[key_columns.len() - 1]);
    let stored: std::collections::HashSet<(Uuid, Uuid)> = if tx
        .number(&format!(
            "SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1) x"
        ))
        .await?
        == 0
    {
        Default::default()
    } else {
        let key_rows = Rows {
            names: keys,
            columns: key_columns
                .iter()
                .map(|c| Column::Uuid(c.clone()))
                .collect(),
        };
        let on = keys
            .iter()
            .map(|k| format!("t.{k} = k.{k}"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let (a, b) = (keys[0], keys[keys.len() - 1]);
        let sql = format!("SELECT k.{a}, k.{b} FROM k JOIN {table} t ON {on}");
        let found: Vec<(Uuid, Uuid)> = tx.fetch(&key_rows, &sql).await?;
        found.into_iter().collect()
    };
    let is_stored = |i: usize| stored.contains(&(first[i], last[i]));
    if !stored.is_empty() {
        tx.run(&rows_of(&|i| is_stored(i)), &sql).await?;
    }
    tx.insert(table, &rows_of(&|i| !is_stored(i))).await
}

/// Customers: only ever added to, per restaurant and over all restaurants; the distribution of orders
/// per customer follows each customer's total from its old count to its new one.
async fn write_customers(
    tx: &mut Tx,
    customers: Customers,
    totals: HashMap<Uuid, Tally>,
) -> Result<(), DbErr> {
    let mut per_restaurant: Vec<((Uuid, Uuid), Tally)> =
        customers.per_restaurant.into_iter().collect();
    per_restaurant.sort_unstable_by_key(|(k, _)| *k);
    add_tallies(
        tx,
        "customer_order_stats",
        &[
            "restaurant_id",
            "customer_id",
            "orders",
            "valued_orders",
            "value_minor",
            "currency",
            "first_ms",
            "last_ms",
        ],
        vec![
            per_restaurant.iter().map(|(k, _)| k.0).collect(),
            per_restaurant.iter().map(|(k, _)| k.1).collect(),
        ],
        per_restaurant.iter().map(|(_, t)| t).collect(),
    )
    .await?;

    let mut totals: Vec<(Uuid, Tally)> = totals.into_iter().collect();
    totals.sort_unstable_by_key(|(c, _)| *c);
    add_tallies(
        tx,
        "customer_order_totals",
        &[
            "customer_id",
            "orders",
            "valued_orders",
            "value_minor",
            "currency",
            "first_ms",
            "last_ms",
        ],
        vec![totals.iter().map(|(c, _)| *c).collect()],
        totals.iter().map(|(_, t)| t).collect(),
    )
    .await?;

    // The distribution: counted again from the totals when many customers changed (one pass over
    // an index), otherwise moved for each changed customer from the count before to the count now.
    let counted = tx
        .number("SELECT CAST(coalesce(sum(customers), 0) AS BIGINT) FROM customer_order_counts")
        .await?;
    if totals.len() as i64 * 4 >= counted {
        return recount_distribution(tx).await;
    }
    let rows = Rows {
        names: &["customer_id", "added"],
        columns: vec![
            Column::Uuid(totals.iter().map(|(c, _)| *c).collect()),
            Column::Int(totals.iter().map(|(_, t)| t.orders).collect()),
        ],
    };
    tx.run(
        &rows,
        "INSERT INTO customer_order_counts (orders, customers) \
         SELECT n, sum(d) FROM (\
           SELECT t.orders AS n, 1 AS d FROM k \
             JOIN customer_order_totals t ON t.customer_id = k.customer_id \
           UNION ALL \
           SELECT t.orders - k.added AS n, -1 AS d FROM k \
             JOIN customer_order_totals t ON t.customer_id = k.customer_id WHERE t.orders > k.added\
         ) x WHERE true GROUP BY n \
         ON CONFLICT (orders) DO UPDATE SET customers = customer_order_counts.customers + excluded.customers",
    )
    .await?;
    tx.execute("DELETE FROM customer_order_counts WHERE customers = 0")
        .await?;
    Ok(())
}

/// Empty the summary tables and set the watermark back to the start of the stream.
pub(super) async fn forget(state: &AppState) -> Result<(), DbErr> {
    let _turn = state.write_turn().await;
    let mut tx = Tx::begin(&state.db).await?;
    tx.claim(WATERMARK, state.now()).await?;
    tx.claim(CUSTOMER_WATERMARK, state.now()).await?;
    for table in [
        "order_status_rollups",
        "order_throughput_rollups",
        "customer_order_stats",
        "customer_order_totals",
        "customer_order_counts",
    ] {
        // PostgreSQL's TRUNCATE leaves no dead rows behind (it is transactional there); SQLite empties
        // a table on a DELETE without WHERE the same way.
        let sql = match tx {
            Tx::Postgres(_) => format!("TRUNCATE {table}"),
            Tx::Sqlite(_) => format!("DELETE FROM {table}"),
        };
        tx.execute(&sql).await?;
    }
    tx.set_watermark(WATERMARK, 0).await?;
    tx.set_watermark(CUSTOMER_WATERMARK, 0).await?;
    tx.execute(BUMP_REVISION).await?;
    tx.commit().await
}

/// Count a change to the summary tables that moves no watermark (a restaurant's rows deleted, the
/// tables emptied): cached answers are keyed by the watermarks and this revision
/// (`analytics::answers`).
const BUMP_REVISION: &str = "INSERT INTO analytics_watermarks (name, last_event_id, updated_at) \
     VALUES ('revision', 1, CURRENT_TIMESTAMP) \
     ON CONFLICT (name) DO UPDATE SET last_event_id = analytics_watermarks.last_event_id + 1";
