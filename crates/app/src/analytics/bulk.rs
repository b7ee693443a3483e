//! Many rows in one statement, the same way on both databases, inside any SeaORM transaction: the rows
//! travel as one bind value, a JSON array of arrays, and the database unpacks them (`json_each` on SQLite,
//! `jsonb_array_elements` on PostgreSQL). Building a SeaORM multi-row INSERT costs more than the database
//! spends storing its rows; this costs one `serde_json` serialisation.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, ExecResult, QueryResult, Statement, Value};
use serde::Serialize;

/// How one JSON array element becomes a column value.
#[derive(Debug, Clone, Copy)]
pub enum Col {
    Text,
    /// A UUID written as a string (stored as 16 bytes on SQLite, `uuid` on PostgreSQL).
    Uuid,
    /// A 32-bit integer.
    Int4,
    /// An instant written by [`time`].
    Time,
}

/// An instant as text, the way sqlx stores one on SQLite (so text comparisons keep their order there).
pub fn time(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
}

/// `SELECT <one expression per column> FROM <the rows of the first bind value>`, for rows written as JSON
/// objects (a struct deriving `Serialize`): each column is read from the key of its name and named so.
pub fn select_named(backend: DbBackend, cols: &[(&str, Col)]) -> String {
    let named: Vec<(String, String, Col)> = cols
        .iter()
        .map(|(name, col)| (format!("'{name}'"), name.to_string(), *col))
        .collect();
    build(backend, &named)
}

fn build(backend: DbBackend, cols: &[(String, String, Col)]) -> String {
    let mut sql = String::from("SELECT ");
    for (i, (key, alias, col)) in cols.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let expr = match (backend, col) {
            (DbBackend::Postgres, Col::Text) => format!("e ->> {key}"),
            (DbBackend::Postgres, Col::Uuid) => format!("(e ->> {key})::uuid"),
            (DbBackend::Postgres, Col::Int4) => format!("(e ->> {key})::int4"),
            (DbBackend::Postgres, Col::Time) => format!("(e ->> {key})::timestamptz"),
            (_, Col::Uuid) => format!("unhex(value ->> {key}, '-')"),
            (_, _) => format!("value ->> {key}"),
        };
        sql.push_str(&expr);
        sql.push_str(" AS ");
        sql.push_str(alias);
    }
    sql.push_str(match backend {
        DbBackend::Postgres => " FROM jsonb_array_elements($1::jsonb) AS e WHERE true",
        // `WHERE true`: SQLite needs one before an upsert's ON CONFLICT to parse an INSERT ... SELECT.
        _ => " FROM json_each(?1) WHERE true",
    });
    sql
}

/// The placeholder of the `n`th bind value, counting the rows as the first.
pub fn param(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    }
}

fn statement<R: Serialize>(
    backend: DbBackend,
    sql: String,
    rows: &[R],
    extra: &[Value],
) -> Result<Statement, DbErr> {
    let json = serde_json::to_string(rows).map_err(|e| DbErr::Custom(e.to_string()))?;
    let mut values = Vec::with_capacity(1 + extra.len());
    values.push(Value::String(Some(json)));
    values.extend_from_slice(extra);
    Ok(Statement::from_sql_and_values(backend, sql, values))
}

/// Run `sql` (which reads its rows through [`select`]) for `rows`, `chunk` rows at a time.
pub async fn execute<C: ConnectionTrait, R: Serialize>(
    db: &C,
    sql: &str,
    rows: &[R],
    chunk: usize,
) -> Result<u64, DbErr> {
    execute_with(db, sql, rows, chunk, &[]).await
}

/// [`execute`] with more bind values after the rows (placeholders from [`param`], from 2 on).
pub async fn execute_with<C: ConnectionTrait, R: Serialize>(
    db: &C,
    sql: &str,
    rows: &[R],
    chunk: usize,
    extra: &[Value],
) -> Result<u64, DbErr> {
    let mut affected = 0;
    for part in rows.chunks(chunk.max(1)) {
        let result: ExecResult = db
            .execute_raw(statement(
                db.get_database_backend(),
                sql.to_owned(),
                part,
                extra,
            )?)
            .await?;
        affected += result.rows_affected();
    }
    Ok(affected)
}

/// Query with `rows` as the first bind value, `chunk` rows at a time.
pub async fn query<C: ConnectionTrait, R: Serialize>(
    db: &C,
    sql: &str,
    rows: &[R],
    chunk: usize,
) -> Result<Vec<QueryResult>, DbErr> {
    query_with(db, sql, rows, chunk, &[]).await
}

/// [`query`] with more bind values after the rows (placeholders from [`param`], from 2 on).
pub async fn query_with<C: ConnectionTrait, R: Serialize>(
    db: &C,
    sql: &str,
    rows: &[R],
    chunk: usize,
    extra: &[Value],
) -> Result<Vec<QueryResult>, DbErr> {
    let mut out = Vec::new();
    for part in rows.chunks(chunk.max(1)) {
        out.extend(
            db.query_all_raw(statement(
                db.get_database_backend(),
                sql.to_owned(),
                part,
                extra,
            )?)
            .await?,
        );
    }
    Ok(out)
}
