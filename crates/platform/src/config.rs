//! Layered configuration: built-in defaults, then an optional `brigade.toml`, then environment variables
//! (`DATABASE_URL`, `REDIS_URL`, `BRIGADE_*` with `__` for nesting), then command-line flags. Secrets are
//! `SecretString`s, so they never reach logs or `Debug` output.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Invalid(String),
    #[error("could not read or create the signing secret at {path}: {source}")]
    SecretFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<figment::Error> for ConfigError {
    fn from(err: figment::Error) -> Self {
        ConfigError::Invalid(err.to_string())
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address `serve` listens on.
    pub bind: SocketAddr,
    /// Where the embedded database, the signing secret and uploaded files live.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; defaults to `<data_dir>/brigade.db`.
    pub database_url: Option<SecretString>,
    /// Shared cache, pub/sub and rate limits across processes when set.
    pub redis_url: Option<SecretString>,
    /// Signs access tokens. Generated once into the data directory when not given.
    pub secret_key: Option<SecretString>,
    /// Base URL used in links Brigade sends out (password reset e-mails, QR codes).
    pub public_url: String,
    pub log_format: LogFormat,
    /// A `tracing` filter such as `info` or `brigade=debug,tower_http=info`.
    pub log_level: String,
    /// Origins allowed to call the API from a browser; empty means no CORS headers.
    pub cors_origins: Vec<String>,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// Longest a request may take before it is answered 408 (event streams, once started, are not cut).
    pub request_timeout_secs: u64,
    pub database_max_connections: u32,
    /// Log each SQL statement that takes longer than this many milliseconds, with its text, as a warning
    /// (`sqlx::query`); 0 logs none.
    pub database_slow_statement_ms: u64,
    pub auth: AuthConfig,
    pub rate_limit: RateLimitConfig,
    pub smtp: Option<SmtpConfig>,
    pub worker: WorkerConfig,
    pub payments: PaymentsConfig,
    pub channels: ChannelsConfig,
    pub storage: StorageConfig,
    pub backup: BackupConfig,
    pub forecast: ForecastConfig,
    pub monitoring: MonitoringConfig,
    /// Mark browser cookies `Secure`; defaults to true when `public_url` is https.
    pub cookie_secure: Option<bool>,
    /// Key prefix in Redis, so several installations can share one server.
    pub redis_prefix: String,
    /// With Redis: how many cache entries each process keeps in its own memory in front of Redis (see
    /// `cache::TieredCache`), a value counting once per 4 KiB it holds; 0 reads every entry from Redis.
    pub cache_near_entries: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_days: i64,
    pub password_reset_ttl_secs: i64,
    pub session_ttl_hours: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RateLimitConfig {
    pub enabled: bool,
    /// Requests per minute from one client IP.
    pub per_ip_per_minute: u32,
    /// Requests per minute with one access token or API key.
    pub per_token_per_minute: u32,
    /// Requests per minute from one IP to login, register and password reset.
    pub auth_per_ip_per_minute: u32,
    /// Failed logins from one IP within `failed_login_window_secs` before it is locked out.
    pub failed_logins_per_window: u32,
    pub failed_login_window_secs: u64,
    /// Trust the first address of `X-Forwarded-For` as the client IP (behind a proxy only).
    pub trust_forwarded_for: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub from: String,
    /// `starttls` (default), `tls` or `none` (a local relay).
    #[serde(default)]
    pub security: SmtpSecurity,
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    #[default]
    Starttls,
    Tls,
    None,
}

fn default_smtp_port() -> u16 {
    587
}

/// Orders from delivery channels.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ChannelsConfig {
    /// An order naming an unknown `brandId` creates that restaurant (true) or is refused (false).
    pub create_unknown_restaurants: bool,
}

impl Default for ChannelsConfig {
    fn default() -> Self {
        ChannelsConfig {
            create_unknown_restaurants: true,
        }
    }
}

/// Online payments (see the `signed-webhook` provider); off unless both are set.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct PaymentsConfig {
    /// Shared secret the payment service signs its webhooks with.
    pub webhook_secret: Option<SecretString>,
    /// The payment service's checkout page; Brigade appends reference, order, amount and currency.
    pub checkout_url: Option<String>,
}

/// Daily copies of the embedded database (SQLite only; PostgreSQL has its own tools).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct BackupConfig {
    /// Take one every day (job `platform.backup`, 02:30 UTC) into `<data_dir>/backups`.
    pub daily: bool,
    /// How many daily copies to keep (the oldest beyond that are deleted).
    pub keep: usize,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            daily: true,
            keep: 7,
        }
    }
}

/// Forecasting (`BRIGADE_FORECAST__DATABASE_URL`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct ForecastConfig {
    /// A read replica that data extraction and training read through; without it they read the main
    /// database (read-only: forecasting writes only its registry, through the main connection).
    pub database_url: Option<SecretString>,
}

/// Store monitoring (`BRIGADE_MONITORING__ALERT_AFTER_MINUTES`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct MonitoringConfig {
    /// A store down this many minutes of its business hours alerts its KAM and managers.
    pub alert_after_minutes: u32,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        MonitoringConfig {
            alert_after_minutes: 15,
        }
    }
}

/// Where uploaded files (venue logos, menu images) go: `<data_dir>/media` unless an S3-compatible
/// bucket is configured.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct StorageConfig {
    pub s3: Option<S3Config>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct S3Config {
    pub bucket: String,
    /// For S3-compatible services (MinIO, R2, ...); AWS when absent.
    pub endpoint: Option<String>,
    #[serde(default = "default_s3_region")]
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<SecretString>,
    /// Allow plain-HTTP endpoints (a local MinIO).
    #[serde(default)]
    pub allow_http: bool,
}

fn default_s3_region() -> String {
    "us-east-1".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct WorkerConfig {
    /// Run the job worker inside `serve` as well (turn off when dedicated workers run elsewhere).
    pub in_serve: bool,
    pub concurrency: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            redis_url: None,
            secret_key: None,
            public_url: "http://127.0.0.1:8080".into(),
            log_format: LogFormat::Text,
            log_level: "info".into(),
            cors_origins: Vec::new(),
            body_limit_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            database_max_connections: 10,
            database_slow_statement_ms: 0,
            auth: AuthConfig::default(),
            rate_limit: RateLimitConfig::default(),
            smtp: None,
            worker: WorkerConfig::default(),
            payments: PaymentsConfig::default(),
            channels: ChannelsConfig::default(),
            storage: StorageConfig::default(),
            backup: BackupConfig::default(),
            forecast: ForecastConfig::default(),
            monitoring: MonitoringConfig::default(),
            cookie_secure: None,
            redis_prefix: "brigade".into(),
            cache_near_entries: 10_000,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            access_token_ttl_secs: 3600,
            refresh_token_ttl_days: 30,
            password_reset_ttl_secs: 3600,
            session_ttl_hours: 12,
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            per_ip_per_minute: 6000,
            per_token_per_minute: 6000,
            auth_per_ip_per_minute: 30,
            failed_logins_per_window: 5,
            failed_login_window_secs: 900,
            trust_forwarded_for: false,
        }
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            in_serve: true,
            concurrency: 4,
        }
    }
}

/// Values given on the command line; `None` leaves the lower layers in charge.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct CliOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_url: Option<String>,
}

impl Config {
    /// Load defaults <- `config_file` (if it exists) <- environment <- flags.
    pub fn load(config_file: Option<&Path>, cli: &CliOverrides) -> Result<Config, ConfigError> {
        let path = config_file
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("brigade.toml"));
        if config_file.is_some() && !path.exists() {
            return Err(ConfigError::Invalid(format!(
                "config file {} does not exist",
                path.display()
            )));
        }
        let mut figment = Figment::new();
        // Only this exact file: a brigade.toml in some parent directory is never picked up by surprise.
        if path.exists() {
            figment = figment.merge(Toml::file_exact(&path));
        }
        let figment = figment
            .merge(Env::raw().only(&["DATABASE_URL", "REDIS_URL"]))
            .merge(Env::prefixed("BRIGADE_").split("__"))
            .merge(Serialized::defaults(cli));
        let config: Config = figment.extract()?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.database_url {
            let url = url.expose_secret();
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
            {
                return Err(ConfigError::Invalid(
                    "DATABASE_URL must start with sqlite:, postgres:// or postgresql://".into(),
                ));
            }
        }
        if let Some(url) = &self.redis_url {
            let url = url.expose_secret();
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(ConfigError::Invalid(
                    "REDIS_URL must start with redis:// or rediss://".into(),
                ));
            }
        }
        if self.auth.access_token_ttl_secs <= 0 || self.auth.refresh_token_ttl_days <= 0 {
            return Err(ConfigError::Invalid(
                "token lifetimes must be positive".into(),
            ));
        }
        if !self.public_url.starts_with("http://") && !self.public_url.starts_with("https://") {
            return Err(ConfigError::Invalid(
                "public_url must be an http:// or https:// URL".into(),
            ));
        }
        Ok(())
    }

    /// The database URL in force: the configured one, or the embedded SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose_secret().to_string(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("brigade.db").display()
            ),
        }
    }

    pub fn is_embedded(&self) -> bool {
        self.database_url().starts_with("sqlite:")
    }

    pub fn cookie_secure(&self) -> bool {
        self.cookie_secure
            .unwrap_or_else(|| self.public_url.starts_with("https://"))
    }

    /// The token-signing secret: configured, or read from (first created in) `<data_dir>/secret.key`.
    /// Creation uses `create_new`, so processes starting together on one data directory agree on one key.
    pub fn signing_secret(&self) -> Result<SecretString, ConfigError> {
        if let Some(secret) = &self.secret_key {
            if secret.expose_secret().len() < 32 {
                return Err(ConfigError::Invalid(
                    "secret_key must be at least 32 characters".into(),
                ));
            }
            return Ok(secret.clone());
        }
        let path = self.data_dir.join("secret.key");
        let io = |source| ConfigError::SecretFile {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.data_dir).map_err(io)?;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                use std::io::Write;
                let secret = random_secret();
                file.write_all(secret.as_bytes()).map_err(io)?;
                file.sync_all().map_err(io)?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                        .map_err(io)?;
                }
                Ok(SecretString::from(secret))
            }
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                // Another process may be writing it right now: wait for a complete key.
                for _ in 0..50 {
                    let text = std::fs::read_to_string(&path).map_err(io)?;
                    if text.trim().len() >= 32 {
                        return Ok(SecretString::from(text.trim().to_string()));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(ConfigError::Invalid(format!(
                    "{} is shorter than 32 characters",
                    path.display()
                )))
            }
            Err(err) => Err(io(err)),
        }
    }
}

fn random_secret() -> String {
    // 48 random bytes from the OS, hex encoded.
    let mut bytes = [0u8; 48];
    getrandom::fill(&mut bytes).expect("the operating system's random source is unavailable");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
// figment's Jail closures return its large error type; fine in tests.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let config = Config {
            database_url: Some(SecretString::from("postgres://u:hunter2@db/x")),
            secret_key: Some(SecretString::from("s".repeat(40))),
            ..Config::default()
        };
        let text = format!("{config:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("ssssssss"), "{text}");
    }

    #[test]
    fn signing_secret_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let first = config.signing_secret().unwrap();
        let second = config.signing_secret().unwrap();
        assert_eq!(first.expose_secret(), second.expose_secret());
        assert!(first.expose_secret().len() >= 64);
    }

    #[test]
    fn layers_apply_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("brigade.toml", "log_level = \"debug\"\nbind = \"127.0.0.1:9000\"\n[rate_limit]\nper_ip_per_minute = 7\n")?;
            jail.set_env("BRIGADE_LOG_LEVEL", "warn");
            jail.set_env("BRIGADE_RATE_LIMIT__AUTH_PER_IP_PER_MINUTE", "3");
            jail.set_env("DATABASE_URL", "postgres://localhost/brigade");
            jail.set_env("BRIGADE_MONITORING__ALERT_AFTER_MINUTES", "30");
            let cli = CliOverrides {
                bind: Some("127.0.0.1:9100".parse().unwrap()),
                ..Default::default()
            };
            let config = Config::load(None, &cli).map_err(|e| e.to_string())?;
            assert_eq!(config.log_level, "warn");
            assert_eq!(config.bind.port(), 9100);
            assert_eq!(config.rate_limit.per_ip_per_minute, 7);
            assert_eq!(config.rate_limit.auth_per_ip_per_minute, 3);
            assert_eq!(config.monitoring.alert_after_minutes, 30);
            assert_eq!(config.database_url(), "postgres://localhost/brigade");
            assert!(!config.is_embedded());
            Ok(())
        });
    }

    #[test]
    fn bad_database_url_is_a_clear_error() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("DATABASE_URL", "mysql://nope");
            let err = Config::load(None, &CliOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("DATABASE_URL"), "{err}");
            Ok(())
        });
    }
}
