//! One Redis connection manager per process, shared by the cache, pub/sub publisher and rate limiter,
//! behind a circuit breaker so that a Redis outage never stalls a request.
//!
//! Every command goes through [`RedisHandle::run`]: it is given [`OP_TIMEOUT`], and a connection failure
//! or a timeout marks Redis down. While it is down, commands fail at once without touching the network
//! (callers fall back: the cache reads the database, rate limits count in process, publishing reaches
//! this process's own subscribers), and a background probe pings Redis every [`PROBE_EVERY`]; the first
//! answer marks it up again. Writes the cache could not make while Redis was away (invalidations, say)
//! would leave stale entries behind, so on recovery the cache's keys are cleared once
//! ([`RedisHandle::note_missed_write`]). [`RedisHandle::status`] is what `/ready` reports.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, RedisResult};

/// The longest one command may take before Redis counts as down (a command normally takes well under
/// a millisecond on the same network).
pub const OP_TIMEOUT: Duration = Duration::from_millis(250);
/// How often a down Redis is pinged.
pub const PROBE_EVERY: Duration = Duration::from_millis(250);
/// Opening a connection (at start, and the manager's reconnects) gives up after this long.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Clone)]
pub struct RedisHandle {
    pub client: redis::Client,
    manager: ConnectionManager,
    /// Every key and channel Brigade uses starts with this, so installations (and tests) can share a server.
    pub prefix: String,
    health: Arc<Health>,
}

#[derive(Default)]
struct Health {
    down: AtomicBool,
    probing: AtomicBool,
    /// Unix milliseconds when the current outage began.
    down_since_ms: AtomicU64,
    reason: std::sync::Mutex<String>,
    /// A cache write or invalidation failed during the outage.
    missed_write: AtomicBool,
    outages: AtomicU64,
}

/// What `/ready` says of Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisStatus {
    Up,
    /// Down since this many milliseconds, for this reason.
    Down {
        for_ms: u64,
        reason: String,
    },
}

impl std::fmt::Debug for RedisHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisHandle")
            .field("prefix", &self.prefix)
            .field("down", &self.is_down())
            .finish_non_exhaustive()
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Whether an error means Redis cannot be reached (as opposed to a command it refused).
fn is_outage(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_timeout()
        || err.is_unrecoverable_error()
}

impl RedisHandle {
    /// A handle for `url`. When Redis cannot be reached now, the handle starts down (a warning is
    /// logged) and comes up once the probe reaches it; a URL that cannot be parsed is an error.
    pub async fn connect(url: &str, prefix: &str) -> RedisResult<RedisHandle> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(OP_TIMEOUT * 4))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        let handle = RedisHandle {
            client,
            manager,
            prefix: prefix.to_string(),
            health: Arc::new(Health::default()),
        };
        if let Err(err) = handle.ping().await {
            tracing::warn!(%err, "Redis is not reachable at start; running degraded until it is");
        }
        Ok(handle)
    }

    pub fn key(&self, parts: &str) -> String {
        format!("{}:{}", self.prefix, parts)
    }

    pub fn is_down(&self) -> bool {
        self.health.down.load(Ordering::SeqCst)
    }

    /// How many outages this process has seen.
    pub fn outages(&self) -> u64 {
        self.health.outages.load(Ordering::SeqCst)
    }

    pub fn status(&self) -> RedisStatus {
        if !self.is_down() {
            return RedisStatus::Up;
        }
        let since = self.health.down_since_ms.load(Ordering::SeqCst);
        RedisStatus::Down {
            for_ms: now_ms().saturating_sub(since),
            reason: self
                .health
                .reason
                .lock()
                .map(|r| r.clone())
                .unwrap_or_default(),
        }
    }

    /// Run one command (or pipeline) on the shared connection, within [`OP_TIMEOUT`]; fails at once
    /// while Redis is down.
    pub async fn run<T, F, Fut>(&self, command: F) -> RedisResult<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        if self.is_down() {
            return Err(self.unavailable());
        }
        match tokio::time::timeout(OP_TIMEOUT, command(self.manager.clone())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => {
                if is_outage(&err) {
                    self.trip(err.to_string());
                }
                Err(err)
            }
            Err(_) => {
                let reason = format!("no answer within {} ms", OP_TIMEOUT.as_millis());
                self.trip(reason.clone());
                Err(RedisError::from((
                    ErrorKind::Io,
                    "redis command timed out",
                    reason,
                )))
            }
        }
    }

    /// A new connection for a subscription, within the connect timeout.
    pub async fn pubsub(&self) -> RedisResult<redis::aio::PubSub> {
        if self.is_down() {
            return Err(self.unavailable());
        }
        match tokio::time::timeout(CONNECT_TIMEOUT, self.client.get_async_pubsub()).await {
            Ok(Ok(pubsub)) => Ok(pubsub),
            Ok(Err(err)) => {
                self.trip(err.to_string());
                Err(err)
            }
            Err(_) => {
                let reason = "subscription connection timed out".to_string();
                self.trip(reason.clone());
                Err(RedisError::from((
                    ErrorKind::Io,
                    "redis unavailable",
                    reason,
                )))
            }
        }
    }

    pub async fn ping(&self) -> RedisResult<()> {
        self.run(|mut conn| async move {
            redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .map(|_| ())
        })
        .await
    }

    /// A cache write could not reach Redis: clear the cache's keys once it is back.
    pub fn note_missed_write(&self) {
        self.health.missed_write.store(true, Ordering::SeqCst);
    }

    /// Resolves once Redis is up (at once if it is).
    pub async fn wait_until_up(&self) {
        while self.is_down() {
            tokio::time::sleep(PROBE_EVERY).await;
        }
    }

    fn unavailable(&self) -> RedisError {
        let reason = self
            .health
            .reason
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default();
        RedisError::from((ErrorKind::Io, "redis unavailable", reason))
    }

    /// Mark Redis down and start the probe (once).
    fn trip(&self, reason: String) {
        if !self.health.down.swap(true, Ordering::SeqCst) {
            self.health.down_since_ms.store(now_ms(), Ordering::SeqCst);
            self.health.outages.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut r) = self.health.reason.lock() {
                *r = reason.clone();
            }
            metrics::counter!("brigade_redis_outages_total").increment(1);
            metrics::gauge!("brigade_redis_up").set(0.0);
            tracing::warn!(
                %reason,
                "Redis unavailable: cache bypassed, rate limits counted in process, live updates local to each process until it is back"
            );
        }
        if !self.health.probing.swap(true, Ordering::SeqCst) {
            let handle = self.clone();
            tokio::spawn(async move { handle.probe().await });
        }
    }

    async fn probe(self) {
        loop {
            tokio::time::sleep(PROBE_EVERY).await;
            let answer = tokio::time::timeout(OP_TIMEOUT, async {
                let mut conn = self.manager.clone();
                redis::cmd("PING").query_async::<String>(&mut conn).await
            })
            .await;
            if matches!(answer, Ok(Ok(_))) {
                break;
            }
        }
        if self.health.missed_write.swap(false, Ordering::SeqCst) {
            self.clear_cache().await;
        }
        let since = self.health.down_since_ms.load(Ordering::SeqCst);
        self.health.down.store(false, Ordering::SeqCst);
        self.health.probing.store(false, Ordering::SeqCst);
        metrics::gauge!("brigade_redis_up").set(1.0);
        tracing::info!(
            after_ms = now_ms().saturating_sub(since),
            "Redis is back: shared cache, rate limits and live updates resume"
        );
    }

    /// Delete every cache entry (keys `<prefix>:cache:*`): some change made during the outage was not
    /// written to them.
    async fn clear_cache(&self) {
        let pattern = self.key("cache:*");
        let mut conn = self.manager.clone();
        let mut cursor: u64 = 0;
        let mut cleared = 0usize;
        loop {
            let step: RedisResult<(u64, Vec<String>)> = tokio::time::timeout(
                OP_TIMEOUT * 4,
                redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut conn),
            )
            .await
            .unwrap_or_else(|_| Err(RedisError::from((ErrorKind::Io, "scan timed out"))));
            let Ok((next, keys)) = step else {
                tracing::warn!(
                    "could not clear the shared cache after the outage; entries expire on their own"
                );
                return;
            };
            if !keys.is_empty() {
                cleared += keys.len();
                let _: RedisResult<i64> =
                    redis::cmd("UNLINK").arg(&keys).query_async(&mut conn).await;
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        tracing::info!(
            cleared,
            "shared cache cleared after the outage (changes made meanwhile were not written to it)"
        );
    }
}
