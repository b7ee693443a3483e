//! Opening and migrating the application database. On PostgreSQL the migration runs under an advisory
//! lock, so several processes starting at once apply it exactly once.

use brigade_platform::config::Config;
use brigade_platform::db::{self, Backend};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};

const MIGRATION_LOCK: i64 = 0x0062_7269_6761_6465; // "brigade" in ASCII

pub async fn connect_and_migrate(config: &Config) -> Result<DatabaseConnection, DbErr> {
    let url = config.database_url();
    migrate(&url).await?;
    db::connect_with(&url, config.database_max_connections, tuning(config)).await
}

/// The application pools' tuning: slow statements logged as configured, and SQLite's write-ahead log
/// checkpointed by [`run_checkpoints`] rather than by commits.
pub fn tuning(config: &Config) -> db::Tuning {
    db::Tuning {
        slow_statements: (config.database_slow_statement_ms > 0)
            .then(|| std::time::Duration::from_millis(config.database_slow_statement_ms)),
        checkpoint_by_caller: true,
    }
}

/// How often [`run_checkpoints`] copies SQLite's write-ahead log into the database file.
pub const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// Checkpoint SQLite's write-ahead log every [`CHECKPOINT_EVERY`] while the state lives. The pools never
/// checkpoint on commit ([`tuning`]), so a commit does not wait for a checkpoint with the write lock held;
/// without this task the log would grow without end.
pub async fn run_checkpoints(state: crate::state::WeakState) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(state) = state.upgrade() else {
            return;
        };
        if let Err(err) = db::checkpoint(&state.db).await {
            tracing::warn!(%err, "could not checkpoint the write-ahead log");
        }
    }
}

/// Apply pending migrations on a dedicated single connection.
pub async fn migrate(url: &str) -> Result<(), DbErr> {
    let conn = db::connect(url, 1).await?;
    if Backend::of(url) == Backend::Postgres {
        let backend = conn.get_database_backend();
        conn.execute_raw(Statement::from_sql_and_values(
            backend,
            "SELECT pg_advisory_lock($1)",
            [MIGRATION_LOCK.into()],
        ))
        .await?;
        let result = Migrator::up(&conn, None).await;
        conn.execute_raw(Statement::from_sql_and_values(
            backend,
            "SELECT pg_advisory_unlock($1)",
            [MIGRATION_LOCK.into()],
        ))
        .await?;
        result?;
    } else {
        Migrator::up(&conn, None).await?;
    }
    conn.close().await
}

/// Names of applied and pending migrations.
pub async fn status(url: &str) -> Result<Vec<(String, bool)>, DbErr> {
    let conn = db::connect(url, 1).await?;
    let applied: Vec<String> = Migrator::get_applied_migrations(&conn)
        .await?
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    let all = Migrator::get_pending_migrations(&conn).await?;
    let mut out: Vec<(String, bool)> = applied.into_iter().map(|name| (name, true)).collect();
    out.extend(all.iter().map(|m| (m.name().to_string(), false)));
    conn.close().await?;
    Ok(out)
}

/// Begin a transaction that writes. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`), waiting
/// in the busy handler for another writer to finish; a deferred transaction that read first and writes
/// later would instead fail at once with "database is locked" when another connection wrote in between
/// (SQLite cannot upgrade its snapshot). PostgreSQL begins as usual. Clippy refuses a plain `begin()`
/// (clippy.toml), so every write goes through here.
pub async fn begin_write<C: sea_orm::TransactionTrait>(db: &C) -> Result<C::Transaction, DbErr> {
    #[allow(clippy::disallowed_methods)]
    db.begin_with_options(sea_orm::TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// [`begin_write`] for a transaction on SQLite's sqlx pool directly.
pub async fn sqlite_begin_write(
    pool: &sea_orm::sqlx::SqlitePool,
) -> Result<sea_orm::sqlx::Transaction<'static, sea_orm::sqlx::Sqlite>, sea_orm::sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}
