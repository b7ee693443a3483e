//! Fixed-window rate limits, counted in process or in Redis (so limits hold across `serve` processes).
//! Both backends count the same way: a counter per (limit, key, window) that expires with its window, and
//! `Retry-After` is the time left in the current window.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::Expiry;

use crate::clock::SharedClock;
use crate::redis_conn::RedisHandle;

#[derive(Debug, Clone)]
pub struct Limit {
    pub name: &'static str,
    pub max: u32,
    pub window: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Time until the current window ends and the count starts again.
    pub reset_after: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum RateLimitError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Count one request against `limit` for `key` and decide whether it may go on.
    async fn hit(&self, limit: &Limit, key: &str) -> Result<Decision, RateLimitError>;
    /// Decide without counting (used to refuse logins after too many failures).
    async fn peek(&self, limit: &Limit, key: &str) -> Result<Decision, RateLimitError>;
    fn backend(&self) -> &'static str;
}

pub type SharedRateLimiter = Arc<dyn RateLimiter>;

struct Window {
    key: String,
    reset_after: Duration,
}

fn window(clock: &SharedClock, limit: &Limit, key: &str) -> Window {
    let now_ms = clock.now().timestamp_millis().max(0) as u128;
    let size_ms = limit.window.as_millis().max(1);
    let index = now_ms / size_ms;
    let reset_ms = (index + 1) * size_ms - now_ms;
    Window {
        key: format!("rl:{}:{}:{}", limit.name, key, index),
        reset_after: Duration::from_millis(reset_ms as u64),
    }
}

fn decide(limit: &Limit, count: u32, reset_after: Duration) -> Decision {
    Decision {
        allowed: count <= limit.max,
        limit: limit.max,
        remaining: limit.max.saturating_sub(count),
        reset_after,
    }
}

struct Counter {
    count: AtomicU32,
    ttl: Duration,
}

struct CounterTtl;

impl Expiry<String, Arc<Counter>> for CounterTtl {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &Arc<Counter>,
        _at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

pub struct MemoryRateLimiter {
    clock: SharedClock,
    counters: moka::future::Cache<String, Arc<Counter>>,
}

impl MemoryRateLimiter {
    pub fn new(clock: SharedClock) -> Self {
        MemoryRateLimiter {
            clock,
            counters: moka::future::Cache::builder()
                .max_capacity(1_000_000)
                .expire_after(CounterTtl)
                .build(),
        }
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit(&self, limit: &Limit, key: &str) -> Result<Decision, RateLimitError> {
        let window = window(&self.clock, limit, key);
        let ttl = window.reset_after + Duration::from_secs(1);
        let counter = self
            .counters
            .get_with(window.key, async move {
                Arc::new(Counter {
                    count: AtomicU32::new(0),
                    ttl,
                })
            })
            .await;
        let count = counter
            .count
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1);
        Ok(decide(limit, count, window.reset_after))
    }

    async fn peek(&self, limit: &Limit, key: &str) -> Result<Decision, RateLimitError> {
        let window = window(&self.clock, limit, key);
        let count = self
            .counters
            .get(&window.key)
            .await
            .map(|c| c.count.load(Ordering::Acquire))
            .unwrap_or(0);
        // Peeking asks "may one more go through?".
        Ok(decide(limit, count.saturating_add(1), window.reset_after))
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

pub struct RedisRateLimiter {
    clock: SharedClock,
    redis: RedisHandle,
    script: redis::Script,
}

impl RedisRateLimiter {
    pub fn new(clock: SharedClock, redis: RedisHandle) -> Self {
        let script = redis::Script::new(
            "local c = redis.call('INCR', KEYS[1]) \
             if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end \
             return c",
        );
        RedisRateLimiter {
            clock,
            redis,
            script,
        }
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(&self, limit: &Limit, key: &str) -> Result<Decision, RateLimitError> {
        let window = window(&self.clock, limit, key);
        let ttl_ms = window.reset_after.as_millis() as u64 + 1000;
        let (script, full) = (self.script.clone(), self.redis.key(&window.key));
        let count: u32 =
            self.redis
                .run(|mut conn| async move {
                    script.key(full).arg(ttl_ms).invoke_async(&mut conn).await
                })
                .await?;
        Ok(decide(limit, count, window.reset_after))
    }

    async fn peek(&self, limit: &Limit, key: &str) -> Result<Decision, RateLimitError> {
        let window = window(&self.clock, limit, key);
        let full = self.redis.key(&window.key);
        let count: Option<u32> = self
            .redis
            .run(|mut conn| async move { redis::cmd("GET").arg(full).query_async(&mut conn).await })
            .await?;
        Ok(decide(
            limit,
            count.unwrap_or(0).saturating_add(1),
            window.reset_after,
        ))
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}

/// Redis counting, and in-process counting whenever Redis cannot answer (each process then enforces
/// the limits on its own share of the traffic, rather than not at all or not at once).
pub struct FallbackRateLimiter {
    shared: RedisRateLimiter,
    local: MemoryRateLimiter,
}

impl FallbackRateLimiter {
    pub fn new(clock: SharedClock, redis: RedisHandle) -> Self {
        FallbackRateLimiter {
            shared: RedisRateLimiter::new(clock.clone(), redis),
            local: MemoryRateLimiter::new(clock),
        }
    }
}

#[async_trait]
impl RateLimiter for FallbackRateLimiter {
    async fn hit(&self, limit: &Limit, key: &str) -> Result<Decision, RateLimitError> {
        match self.shared.hit(limit, key).await {
            Ok(decision) => Ok(decision),
            Err(err) => {
                tracing::debug!(%err, "rate limit counted in process");
                self.local.hit(limit, key).await
            }
        }
    }

    async fn peek(&self, limit: &Limit, key: &str) -> Result<Decision, RateLimitError> {
        match self.shared.peek(limit, key).await {
            Ok(decision) => Ok(decision),
            Err(_) => self.local.peek(limit, key).await,
        }
    }

    fn backend(&self) -> &'static str {
        if self.shared.redis.is_down() {
            "memory (redis down)"
        } else {
            "redis"
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::clock::ManualClock;

    #[tokio::test]
    async fn memory_limiter_blocks_after_max_and_resets_with_the_window() {
        let clock = ManualClock::new(chrono::Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 10).unwrap());
        let limiter = MemoryRateLimiter::new(Arc::new(clock.clone()));
        let limit = Limit {
            name: "t",
            max: 3,
            window: Duration::from_secs(60),
        };
        for expected_remaining in [2, 1, 0] {
            let d = limiter.hit(&limit, "ip").await.unwrap();
            assert!(d.allowed);
            assert_eq!(d.remaining, expected_remaining);
        }
        assert!(!limiter.peek(&limit, "ip").await.unwrap().allowed);
        let blocked = limiter.hit(&limit, "ip").await.unwrap();
        assert!(!blocked.allowed);
        assert_eq!(blocked.reset_after, Duration::from_secs(50));
        assert!(limiter.hit(&limit, "other-ip").await.unwrap().allowed);
        clock.advance(chrono::Duration::seconds(50));
        assert!(limiter.hit(&limit, "ip").await.unwrap().allowed);
    }
}
