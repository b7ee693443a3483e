//! Opening the database chosen by URL: embedded SQLite (WAL, foreign keys, busy timeout) or PostgreSQL.

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(url: &str) -> Backend {
        if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }
}

/// What a pool does beyond Brigade's defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tuning {
    /// Log every statement slower than this as a warning, with its SQL text.
    pub slow_statements: Option<Duration>,
    /// SQLite: commits never copy the write-ahead log into the database file (`wal_autocheckpoint=0`);
    /// the caller runs [`checkpoint`] itself, off the commit path. Left at SQLite's default, the commit
    /// that fills the log past 1,000 pages does it, with the write lock held (up to 30 ms under load).
    pub checkpoint_by_caller: bool,
}

/// Connect with Brigade's pool settings. For SQLite the parent directory of the file is created.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, max_connections, Tuning::default()).await
}

/// Copy what the write-ahead log holds into the SQLite database file, without waiting for readers or
/// writers (`PASSIVE`); does nothing on PostgreSQL.
pub async fn checkpoint(db: &DatabaseConnection) -> Result<(), DbErr> {
    use sea_orm::ConnectionTrait;
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
            .await?;
    }
    Ok(())
}

/// [`connect`] with [`Tuning`].
pub async fn connect_with(
    url: &str,
    max_connections: u32,
    tuning: Tuning,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_string());
    options
        .max_connections(max_connections.max(1))
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if let Some(slow) = tuning.slow_statements {
        options
            .sqlx_logging(true)
            .sqlx_logging_level(log::LevelFilter::Off)
            .sqlx_slow_statements_logging_settings(log::LevelFilter::Warn, slow);
    }
    if Backend::of(url) == Backend::Postgres {
        // A connection is pinged before it is handed out only once it has been idle for a while (the
        // server, a proxy or a firewall may have dropped it): a ping on every checkout was one more
        // round trip per query outside a transaction.
        options.test_before_acquire_if_idle_for(Duration::from_secs(10));
    } else {
        // No ping before a pooled connection is handed out: an SQLite connection is a file handle in
        // this process and cannot be dropped by anyone else, and each ping was a round trip through
        // the connection's worker thread.
        options.test_before_acquire(false);
        let parent = sqlite_path(url)
            .and_then(|p| std::path::Path::new(&p).parent().map(|d| d.to_path_buf()));
        if let Some(parent) = parent.filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(&parent)
                .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", parent.display())))?;
        }
        options.map_sqlx_sqlite_opts(move |opts| {
            opts.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // Rows travel from SQLite's thread to the caller through this buffer; sqlx's 50 made
                // reading 28,000 rows a ping-pong of thread wake-ups (370 ms, 30 ms in SQLite itself).
                .row_buffer_size(4096)
                // A 16 MiB page cache per connection, and no memory map. Each pooled connection keeps
                // its own cache and its own map of the file, and a page mapped by ten connections counts
                // ten times in the process's resident memory: 64 MiB caches and 256 MiB maps held the
                // server at about 1 GB under analytics reads (BENCHMARKS.md, issue 22). Pages the
                // caches do not hold come from the kernel's page cache, which is shared.
                .pragma("cache_size", "-16384")
                .pragma("temp_store", "memory")
                .pragma(
                    "wal_autocheckpoint",
                    if tuning.checkpoint_by_caller {
                        "0"
                    } else {
                        "1000"
                    },
                )
        });
    }
    Database::connect(options).await
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(path.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            sqlite_path("sqlite://./data/brigade.db?mode=rwc").as_deref(),
            Some("./data/brigade.db")
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(Backend::of("postgres://x"), Backend::Postgres);
    }
}
