//! What the benchmarks share: their settings from the environment, percentiles, and an application state
//! on the database they name.

use brigade_app::{AppState, StateOptions};
use brigade_platform::config::Config;
use secrecy::SecretString;

/// A numeric setting from the environment (underscores allowed: `100_000`).
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// The application on `BENCH_DATABASE_URL` (PostgreSQL), or SQLite in `BENCH_DATA_DIR` (or a temporary
/// directory, kept alive by the returned guard); jobs run inline. Returns whether it is PostgreSQL.
pub async fn state(
    configure: impl FnOnce(&mut Config),
) -> anyhow::Result<(AppState, bool, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let data_dir = std::env::var("BENCH_DATA_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| dir.path().to_path_buf());
    let mut config = Config {
        data_dir,
        secret_key: Some(SecretString::from("bench-secret-".repeat(4))),
        ..Config::default()
    };
    let url = std::env::var("BENCH_DATABASE_URL").ok();
    if let Some(url) = &url {
        config.database_url = Some(SecretString::from(url.clone()));
    }
    configure(&mut config);
    let state = AppState::build(
        config,
        StateOptions {
            clock: None,
            inline_jobs: true,
        },
    )
    .await?;
    Ok((state, url.is_some(), dir))
}
