//! Backups of the embedded database: `brigade backup --out FILE` (while serving), a daily copy kept in
//! `<data_dir>/backups` by the `platform.backup` job, and `brigade restore FILE`.
//!
//! A backup is SQLite's own `VACUUM INTO`: one read transaction, so the copy is the database as it was
//! at one instant (every write committed before it began is in it, none half-way), taken while other
//! connections go on writing, and compact. It is written beside the target and renamed into place, so
//! a file of that name is always a whole backup. PostgreSQL installations use PostgreSQL's own tools
//! (`pg_dump`, continuous archiving); these commands say so.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use brigade_platform::jobs::{JobFailure, JobHandler};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend};

use crate::state::AppState;

pub const BACKUP_JOB: &str = "platform.backup";
const PREFIX: &str = "brigade-";
const SUFFIX: &str = ".db";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "backups are for the embedded SQLite database; for PostgreSQL use its own tools (pg_dump, or continuous archiving for point-in-time recovery)"
    )]
    NotEmbedded,
    #[error("{0} exists already; choose another name (a backup never overwrites a file)")]
    Exists(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a Brigade backup: {problem}")]
    NotABackup { path: PathBuf, problem: String },
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone)]
pub struct Backup {
    pub path: PathBuf,
    pub bytes: u64,
    pub taken_at: DateTime<Utc>,
}

/// Copy the live database to `out` (which must not exist).
pub async fn backup_to(state: &AppState, out: &Path) -> Result<Backup, BackupError> {
    if state.db.get_database_backend() != DbBackend::Sqlite {
        return Err(BackupError::NotEmbedded);
    }
    if out.exists() {
        return Err(BackupError::Exists(out.to_path_buf()));
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let partial = out.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let taken_at = Utc::now();
    let target = partial.to_string_lossy().replace('\'', "''");
    state
        .db
        .execute_unprepared(&format!("VACUUM INTO '{target}'"))
        .await?;
    std::fs::rename(&partial, out).map_err(io(out))?;
    let bytes = std::fs::metadata(out).map_err(io(out))?.len();
    Ok(Backup {
        path: out.to_path_buf(),
        bytes,
        taken_at,
    })
}

/// Where the daily copies go.
pub fn daily_dir(state: &AppState) -> PathBuf {
    state.config.data_dir.join("backups")
}

/// Take today's copy into [`daily_dir`] and keep the newest `keep` of them.
pub async fn daily(state: &AppState) -> Result<(Backup, Vec<PathBuf>), BackupError> {
    let dir = daily_dir(state);
    let name = format!("{PREFIX}{}{SUFFIX}", Utc::now().format("%Y%m%d-%H%M%S-%3f"));
    let backup = backup_to(state, &dir.join(name)).await?;
    let removed = prune(&dir, state.config.backup.keep.max(1))?;
    Ok((backup, removed))
}

/// Delete the oldest daily copies beyond `keep` (names sort by time); returns what was deleted.
pub fn prune(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, BackupError> {
    let mut copies: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
        })
        .collect();
    copies.sort();
    let excess = copies.len().saturating_sub(keep);
    let removed: Vec<PathBuf> = copies.into_iter().take(excess).collect();
    for path in &removed {
        std::fs::remove_file(path).map_err(io(path))?;
    }
    Ok(removed)
}

/// The database file a configuration uses, when it is the embedded one.
pub fn embedded_path(config: &brigade_platform::Config) -> Result<PathBuf, BackupError> {
    let url = config.database_url();
    let rest = url
        .strip_prefix("sqlite://")
        .ok_or(BackupError::NotEmbedded)?;
    let path = rest.split('?').next().unwrap_or(rest);
    Ok(PathBuf::from(path))
}

/// Put a backup in place as the database file `target`: checked first (a SQLite file that passes its
/// integrity check and holds Brigade's schema), and the database it replaces is kept beside it as
/// `<name>.before-restore-<time>`. Run with no Brigade process using it; the next start migrates the
/// restored database if it is older than the program.
pub async fn restore(backup: &Path, target: &Path) -> Result<Option<PathBuf>, BackupError> {
    check(backup).await?;
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "brigade.db".into());
    let mut kept = None;
    if target.exists() {
        let aside = dir.join(format!(
            "{name}.before-restore-{}",
            Utc::now().format("%Y%m%d-%H%M%S")
        ));
        std::fs::rename(target, &aside).map_err(io(target))?;
        kept = Some(aside);
    }
    // The old database's write-ahead log belongs to it, not to the restored one: it moves with the kept
    // copy (SQLite reads `<file>-wal` beside `<file>`), so nothing committed to it is lost.
    for side in ["-wal", "-shm"] {
        let path = dir.join(format!("{name}{side}"));
        if path.exists() {
            match &kept {
                Some(aside) => {
                    let moved = PathBuf::from(format!("{}{side}", aside.display()));
                    std::fs::rename(&path, &moved).map_err(io(&path))?;
                }
                None => std::fs::remove_file(&path).map_err(io(&path))?,
            }
        }
    }
    let partial = dir.join(format!("{name}.restoring"));
    std::fs::copy(backup, &partial).map_err(io(backup))?;
    std::fs::rename(&partial, target).map_err(io(target))?;
    Ok(kept)
}

/// Whether a file is a whole SQLite database with Brigade's schema.
pub async fn check(path: &Path) -> Result<(), BackupError> {
    let not = |problem: &str| BackupError::NotABackup {
        path: path.to_path_buf(),
        problem: problem.to_string(),
    };
    if !path.is_file() {
        return Err(not("there is no such file"));
    }
    let mut options = sea_orm::ConnectOptions::new(format!("sqlite://{}?mode=ro", path.display()));
    options.max_connections(1).sqlx_logging(false);
    let db = sea_orm::Database::connect(options)
        .await
        .map_err(|e| not(&format!("it cannot be opened as SQLite ({e})")))?;
    let verdict = async {
        let ok = db
            .query_one_raw(sea_orm::Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA quick_check",
            ))
            .await
            .map_err(|e| not(&format!("it is not a SQLite database ({e})")))?
            .and_then(|row| row.try_get_by_index::<String>(0).ok());
        if ok.as_deref() != Some("ok") {
            return Err(not(&format!(
                "its integrity check says {}",
                ok.unwrap_or_default()
            )));
        }
        let tables = db
            .query_one_raw(sea_orm::Statement::from_string(
                DbBackend::Sqlite,
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('seaql_migrations', 'restaurants', 'orders')",
            ))
            .await?
            .and_then(|row| row.try_get_by_index::<i64>(0).ok())
            .unwrap_or(0);
        if tables != 3 {
            return Err(not("it holds no Brigade schema"));
        }
        Ok(())
    }
    .await;
    db.close().await.ok();
    verdict
}

/// The daily backup job (scheduled on the embedded database only).
pub struct BackupJob(pub AppState);

#[async_trait]
impl JobHandler for BackupJob {
    async fn run(&self, _payload: serde_json::Value) -> Result<(), JobFailure> {
        match daily(&self.0).await {
            Ok((backup, removed)) => {
                tracing::info!(
                    path = %backup.path.display(),
                    bytes = backup.bytes,
                    removed = removed.len(),
                    "daily backup taken"
                );
                Ok(())
            }
            Err(BackupError::NotEmbedded) => Ok(()),
            Err(err) => Err(JobFailure::Retry(err.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_keeps_the_newest_daily_copies_only() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "brigade-20261201-023000.db",
            "brigade-20261203-023000.db",
            "brigade-20261202-023000.db",
            "notes.txt",
            "brigade-20261204-023000.db",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let removed = prune(dir.path(), 2).unwrap();
        let names: Vec<String> = removed
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["brigade-20261201-023000.db", "brigade-20261202-023000.db"]
        );
        assert!(dir.path().join("notes.txt").exists());
        assert!(dir.path().join("brigade-20261204-023000.db").exists());
    }
}
