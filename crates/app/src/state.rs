//! The one application state: cheap to clone, built once per process (or per test) by [`AppState::build`].

use std::ops::Deref;
use std::sync::Arc;

use brigade_platform::cache::{MemoryCache, RedisCache, SharedCache, SingleFlight, TieredCache};
use brigade_platform::clock::{SharedClock, SystemClock};
use brigade_platform::config::Config;
use brigade_platform::jobs::JobQueue;
use brigade_platform::pubsub::{LocalPubSub, RedisPubSub, SharedPubSub};
use brigade_platform::ratelimit::{FallbackRateLimiter, MemoryRateLimiter, SharedRateLimiter};
use brigade_platform::redis_conn::RedisHandle;
use metrics_exporter_prometheus::PrometheusHandle;
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret;

use crate::accounts::tokens::TokenKeys;
use crate::notifications::mail::Mailer;

pub struct Inner {
    pub config: Config,
    pub db: DatabaseConnection,
    /// What forecasting extracts and trains from: the read replica of `forecast.database_url`, or `db`.
    pub forecast_db: DatabaseConnection,
    pub clock: SharedClock,
    pub cache: SharedCache,
    pub pubsub: SharedPubSub,
    pub limiter: SharedRateLimiter,
    pub jobs: JobQueue,
    pub keys: TokenKeys,
    pub mailer: Mailer,
    pub metrics: PrometheusHandle,
    pub redis: Option<RedisHandle>,
    pub storage: crate::storage::Storage,
    /// Turns true when the server begins to stop, so long-lived responses (event streams) end and
    /// graceful shutdown is not held up by them.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// On SQLite (one writer at a time) hot write paths queue here instead of spinning in SQLite's busy
    /// handler; PostgreSQL needs no gate.
    pub write_gate: Option<Arc<tokio::sync::Mutex<()>>>,
    /// The task that stores placed orders in groups (see `orders::store`).
    pub order_writer: crate::orders::store::OrderWriter,
    /// The task that stores single channel orders and status updates in groups (see
    /// `analytics::grouped`); started with the state.
    channel_writer: std::sync::OnceLock<crate::analytics::grouped::ChannelWriter>,
    /// Overlapping cache misses of the hot reads share one database read.
    pub flights: Flights,
}

/// The hot reads whose cache misses are shared (`cache::SingleFlight`): order placement reads the account,
/// its sign-in, the venue and its menu on every request, and while Redis is down every read is a miss.
#[derive(Default)]
pub struct Flights {
    pub menus: SingleFlight<uuid::Uuid, Arc<crate::menus::MenuView>>,
    #[allow(clippy::type_complexity)]
    pub venues: SingleFlight<
        uuid::Uuid,
        Option<
            Arc<(
                crate::entities::restaurants::Model,
                Vec<crate::restaurants::HoursInterval>,
            )>,
        >,
    >,
    pub accounts: SingleFlight<uuid::Uuid, crate::accounts::auth::AccountAccess>,
    pub sign_ins: SingleFlight<uuid::Uuid, bool>,
    /// Analytics answers by cache key, encoded (`analytics::answers`).
    pub answers: SingleFlight<String, Arc<Vec<u8>>>,
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// An [`AppState`] that does not keep it alive.
pub struct WeakState(std::sync::Weak<Inner>);

impl WeakState {
    pub fn upgrade(&self) -> Option<AppState> {
        self.0.upgrade().map(AppState)
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Choices a caller can make beyond the configuration (tests swap the clock and run jobs inline).
#[derive(Default)]
pub struct StateOptions {
    pub clock: Option<SharedClock>,
    pub inline_jobs: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Config(#[from] brigade_platform::config::ConfigError),
    #[error("cannot open the database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("cannot connect to Redis: {0}")]
    Redis(String),
    #[error("cannot open the job queue: {0}")]
    Jobs(#[from] brigade_platform::jobs::JobQueueError),
    #[error("{0}")]
    Other(String),
}

impl AppState {
    /// Connect to everything the configuration names and migrate the database.
    pub async fn build(config: Config, options: StateOptions) -> Result<AppState, StartupError> {
        let db = crate::database::connect_and_migrate(&config).await?;
        let forecast_db = match &config.forecast.database_url {
            Some(url) => brigade_platform::db::connect(url.expose_secret(), 4).await?,
            None => db.clone(),
        };
        let clock: SharedClock = options.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let redis = match &config.redis_url {
            Some(url) => Some(
                RedisHandle::connect(url.expose_secret(), &config.redis_prefix)
                    .await
                    .map_err(|e| StartupError::Redis(e.to_string()))?,
            ),
            None => None,
        };
        let (cache, pubsub, limiter): (SharedCache, SharedPubSub, SharedRateLimiter) = match &redis
        {
            Some(redis) => (
                if config.cache_near_entries == 0 {
                    Arc::new(RedisCache::new(redis.clone()))
                } else {
                    TieredCache::start(redis.clone(), config.cache_near_entries)
                        .await
                        .map_err(|e| StartupError::Redis(e.to_string()))?
                },
                RedisPubSub::start(redis.clone())
                    .await
                    .map_err(|e| StartupError::Redis(e.to_string()))?,
                Arc::new(FallbackRateLimiter::new(clock.clone(), redis.clone())),
            ),
            None => (
                Arc::new(MemoryCache::with_bytes(64 << 20)),
                Arc::new(LocalPubSub::new()),
                Arc::new(MemoryRateLimiter::new(clock.clone())),
            ),
        };
        let jobs = if options.inline_jobs {
            JobQueue::inline()
        } else {
            JobQueue::open(&db).await?
        };
        let secret = config.signing_secret()?;
        let keys = TokenKeys::new(
            &secret,
            chrono::Duration::seconds(config.auth.access_token_ttl_secs),
        );
        let mailer = Mailer::from_config(config.smtp.as_ref()).map_err(StartupError::Other)?;
        let metrics = crate::http::ops::metrics_handle();
        let storage = crate::storage::Storage::from_config(&config).map_err(StartupError::Other)?;
        let sqlite =
            sea_orm::ConnectionTrait::get_database_backend(&db) == sea_orm::DbBackend::Sqlite;
        let write_gate = sqlite.then(|| Arc::new(tokio::sync::Mutex::new(())));
        let order_writer = if sqlite {
            let own = brigade_platform::db::connect_with(
                &config.database_url(),
                1,
                crate::database::tuning(&config),
            )
            .await?;
            crate::orders::store::OrderWriter::start(own, write_gate.clone(), 1)
        } else {
            crate::orders::store::OrderWriter::start(
                db.clone(),
                None,
                crate::orders::store::POSTGRES_LANES,
            )
        };
        let state = AppState(Arc::new(Inner {
            config,
            db,
            forecast_db,
            clock,
            cache,
            pubsub,
            limiter,
            jobs,
            keys,
            mailer,
            metrics,
            redis,
            storage,
            stopping: tokio::sync::watch::Sender::new(false),
            write_gate,
            order_writer,
            channel_writer: std::sync::OnceLock::new(),
            flights: Flights::default(),
        }));
        let writer = crate::analytics::grouped::ChannelWriter::start(state.downgrade());
        let _ = state.channel_writer.set(writer);
        if sqlite {
            // Ends when the state is dropped.
            tokio::spawn(crate::database::run_checkpoints(state.downgrade()));
        }
        Ok(state)
    }

    /// The channel order writer (see `analytics::grouped`).
    pub fn channel_writer(&self) -> &crate::analytics::grouped::ChannelWriter {
        self.channel_writer
            .get_or_init(|| crate::analytics::grouped::ChannelWriter::start(self.downgrade()))
    }

    /// A handle that does not keep the state alive (for the state's own tasks).
    pub fn downgrade(&self) -> WeakState {
        WeakState(Arc::downgrade(&self.0))
    }

    /// Hold this while a hot write transaction runs (see `write_gate`).
    pub async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.write_gate {
            Some(gate) => Some(gate.lock().await),
            None => None,
        }
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}
