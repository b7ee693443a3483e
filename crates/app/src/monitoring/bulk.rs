//! Full-size fast paths. SeaORM's multi-row INSERTs and its row-by-row results are fine for an API batch,
//! but at the size of a whole export (86,000 business-hour rows, 28,000 poll blocks, 14,000 stores) they
//! cost seconds. Here PostgreSQL inserts whole columns at once (`INSERT ... SELECT FROM UNNEST` of arrays),
//! and reads go straight through sqlx.

use sea_orm::sqlx;
use sea_orm::{DatabaseConnection, DbBackend, DbErr};
use uuid::Uuid;

use crate::entities::store_poll_days;
use crate::restaurants::HoursInterval;

pub(crate) fn db_err(err: sqlx::Error) -> DbErr {
    DbErr::Custom(err.to_string())
}

/// Is this PostgreSQL (where the array paths apply)?
pub fn is_postgres(db: &DatabaseConnection) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}

/// Insert new poll blocks in one statement (PostgreSQL). A block another writer stored first fails the
/// statement as a unique violation, which the caller treats as a conflict and merges again.
pub async fn pg_insert_blocks(
    db: &DatabaseConnection,
    rows: &[store_poll_days::Model],
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    let pool = db.get_postgres_connection_pool();
    let now = rows[0].updated_at;
    sqlx::query(
        "INSERT INTO store_poll_days (restaurant_id, day, polls, poll_count, first_at, last_at, version, updated_at) \
         SELECT u.r, u.d, u.p, u.c, u.f, u.l, u.v, $8 \
         FROM UNNEST($1::uuid[], $2::int4[], $3::bytea[], $4::int4[], $5::int8[], $6::int8[], $7::int4[]) \
           AS u(r, d, p, c, f, l, v)",
    )
    .bind(rows.iter().map(|r| r.restaurant_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.day).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.polls.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.poll_count).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.first_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.last_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.version).collect::<Vec<_>>())
    .bind(now)
    .execute(pool)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.code().as_deref() == Some("23505") => {
            DbErr::RecordNotUpdated
        }
        _ => db_err(e),
    })?;
    Ok(())
}

/// What a full report needs of one store.
pub struct StoreInput {
    pub restaurant_id: Uuid,
    pub external_id: Option<String>,
    pub timezone: String,
    pub hours: Vec<HoursInterval>,
    /// The store's poll blocks in the range, concatenated.
    pub polls: Vec<u8>,
}

/// Every store with polls in the blocks `from_day..=to_day`: one row each, its blocks concatenated by
/// the database, with its zone and hours. (One query of 14,000 rows instead of three totalling 56,000: at
/// full size the rows' trip through the driver, not the database, is what takes the time.)
pub async fn read_report_input(
    db: &DatabaseConnection,
    from_day: i32,
    to_day: i32,
) -> Result<Vec<StoreInput>, DbErr> {
    type Row = (Uuid, Vec<u8>, Option<String>, String, Option<String>);
    let input = |(restaurant_id, polls, external_id, timezone, hours): Row| StoreInput {
        hours: parse_hours(restaurant_id, hours.as_deref().unwrap_or_default()),
        restaurant_id,
        external_id,
        timezone,
        polls,
    };
    let rows: Vec<Row> = if is_postgres(db) {
        // PostgreSQL hands over rows cheaply but aggregates bytea slowly: read the blocks and the stores
        // side by side and put them together here.
        let pool = db.get_postgres_connection_pool();
        let blocks = sqlx::query_as::<_, (Uuid, Vec<u8>)>(
            "SELECT restaurant_id, polls FROM store_poll_days WHERE day BETWEEN $1 AND $2",
        )
        .bind(from_day)
        .bind(to_day)
        .fetch_all(pool);
        let stores = sqlx::query_as::<_, (Uuid, Option<String>, String, Option<String>)>(
            "SELECT r.id, r.external_id, r.timezone, h.list FROM restaurants r \
             JOIN (SELECT DISTINCT restaurant_id FROM store_poll_days WHERE day BETWEEN $1 AND $2) p \
               ON p.restaurant_id = r.id \
             LEFT JOIN (SELECT restaurant_id, \
                 string_agg(weekday::text || ',' || opens::text || ',' || closes::text, ';') AS list \
               FROM restaurant_hours GROUP BY restaurant_id) h ON h.restaurant_id = r.id",
        )
        .bind(from_day)
        .bind(to_day)
        .fetch_all(pool);
        let (blocks, stores) = tokio::try_join!(blocks, stores).map_err(db_err)?;
        let mut polls: std::collections::HashMap<Uuid, Vec<u8>> =
            std::collections::HashMap::with_capacity(stores.len());
        for (id, bytes) in blocks {
            polls.entry(id).or_default().extend_from_slice(&bytes);
        }
        stores
            .into_iter()
            .map(|(id, external, zone, hours)| {
                (
                    id,
                    polls.remove(&id).unwrap_or_default(),
                    external,
                    zone,
                    hours,
                )
            })
            .collect()
    } else {
        // `+p.day` keeps SQLite on the primary key, already in store order: grouping by store then needs
        // no sort of the blocks (0.35 s to 0.2 s at full size; the scan covers every block stored).
        // Each row is taken apart as it arrives, so the driver's copy of it is freed and its memory
        // reused by the next: collected whole first, the rows of 139,740 stores cost 2.3 s, a fifth of
        // it the kernel handing out fresh pages.
        use futures::TryStreamExt;
        return sqlx::query_as::<_, Row>(
            "SELECT p.restaurant_id, CAST(group_concat(p.polls, '') AS BLOB), r.external_id, r.timezone, \
               (SELECT group_concat(h.weekday || ',' || h.opens || ',' || h.closes, ';') \
                FROM restaurant_hours h WHERE h.restaurant_id = p.restaurant_id) \
             FROM store_poll_days p JOIN restaurants r ON r.id = p.restaurant_id \
             WHERE +p.day BETWEEN ?1 AND ?2 GROUP BY p.restaurant_id",
        )
        .bind(from_day)
        .bind(to_day)
        .fetch(db.get_sqlite_connection_pool())
        .map_ok(input)
        .try_collect()
        .await
        .map_err(db_err);
    };
    Ok(rows.into_iter().map(input).collect())
}

/// `weekday,opens,closes` intervals joined by `;`.
fn parse_hours(id: Uuid, list: &str) -> Vec<HoursInterval> {
    let mut hours = Vec::new();
    for interval in list.split(';').filter(|i| !i.is_empty()) {
        let mut parts = interval.split(',');
        let parsed = match (parts.next(), parts.next(), parts.next()) {
            (Some(day), Some(opens), Some(closes)) => day
                .parse::<i64>()
                .map_err(|e| e.to_string())
                .and_then(|d| HoursInterval::parse(d, opens, closes)),
            _ => Err("not weekday,opens,closes".to_string()),
        };
        match parsed {
            Ok(h) => hours.push(h),
            Err(err) => {
                tracing::warn!(restaurant = %id, interval, %err, "unreadable business hours skipped")
            }
        }
    }
    hours
}
