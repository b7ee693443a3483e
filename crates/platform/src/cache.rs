//! A byte cache with per-entry time to live: in-process (moka) by default, Redis when configured so that
//! every process sees the same entries and one invalidation reaches all of them.
//!
//! A cache failure never fails a request: readers treat an error as a miss and writers log it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::Expiry;
use redis::AsyncCommands;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::redis_conn::RedisHandle;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

#[async_trait]
pub trait Cache: Send + Sync + 'static {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;
    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError>;
    async fn delete(&self, key: &str) -> Result<(), CacheError>;
    fn backend(&self) -> &'static str;
}

pub type SharedCache = Arc<dyn Cache>;

/// Typed access on top of the byte cache (JSON encoded).
pub async fn get_json<T: DeserializeOwned>(cache: &dyn Cache, key: &str) -> Option<T> {
    match cache.get(key).await {
        Ok(Some(bytes)) => serde_json::from_slice(&bytes).ok(),
        Ok(None) => None,
        Err(err) => {
            tracing::warn!(%err, key, "cache read failed; treating as a miss");
            None
        }
    }
}

/// What [`get_json_shared`] parsed last for a key, with the bytes it parsed.
struct Parsed {
    bytes: Arc<[u8]>,
    value: Arc<dyn std::any::Any + Send + Sync>,
}

/// At most this many parsed values are kept (the memo is emptied when it is full).
const PARSED_MAX: usize = 10_000;

static PARSED: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, Parsed>>> =
    std::sync::LazyLock::new(Default::default);

/// Like [`get_json`] for values read on hot paths, shared instead of copied: the bytes still come from
/// the cache on every call (so invalidation works exactly as for `get_json`), but when they are the bytes
/// this process parsed last time for the key, the value parsed then is returned instead of parsing again.
pub async fn get_json_shared<T: DeserializeOwned + Send + Sync + 'static>(
    cache: &dyn Cache,
    key: &str,
) -> Option<Arc<T>> {
    let bytes = match cache.get(key).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return None,
        Err(err) => {
            tracing::warn!(%err, key, "cache read failed; treating as a miss");
            return None;
        }
    };
    {
        let memo = PARSED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(parsed) = memo.get(key)
            && *parsed.bytes == *bytes
            && let Ok(value) = parsed.value.clone().downcast::<T>()
        {
            return Some(value);
        }
    }
    let value: Arc<T> = Arc::new(serde_json::from_slice(&bytes).ok()?);
    let mut memo = PARSED.lock().unwrap_or_else(|p| p.into_inner());
    if memo.len() >= PARSED_MAX {
        memo.clear();
    }
    memo.insert(
        key.to_string(),
        Parsed {
            bytes: bytes.into(),
            value: value.clone(),
        },
    );
    Some(value)
}

pub async fn set_json<T: Serialize>(cache: &dyn Cache, key: &str, value: &T, ttl: Duration) {
    let Ok(bytes) = serde_json::to_vec(value) else {
        return;
    };
    if let Err(err) = cache.set(key, bytes, ttl).await {
        tracing::warn!(%err, key, "cache write failed");
    }
}

pub async fn invalidate(cache: &dyn Cache, key: &str) {
    if let Err(err) = cache.delete(key).await {
        tracing::warn!(%err, key, "cache invalidation failed");
    }
}

#[derive(Clone)]
struct Entry {
    bytes: Arc<[u8]>,
    ttl: Duration,
}

struct PerEntryTtl;

impl Expiry<String, Entry> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &Entry,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }

    fn expire_after_update(
        &self,
        _key: &String,
        value: &Entry,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// The in-process cache: one per process, bounded in entries.
pub struct MemoryCache {
    inner: moka::future::Cache<String, Entry>,
}

impl MemoryCache {
    pub fn new(max_entries: u64) -> Self {
        MemoryCache {
            inner: moka::future::Cache::builder()
                .max_capacity(max_entries)
                .expire_after(PerEntryTtl)
                .build(),
        }
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        Ok(self.inner.get(key).await.map(|entry| entry.bytes.to_vec()))
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
        self.inner
            .insert(
                key.to_string(),
                Entry {
                    bytes: value.into(),
                    ttl,
                },
            )
            .await;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.inner.invalidate(key).await;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

pub struct RedisCache {
    redis: RedisHandle,
}

impl RedisCache {
    pub fn new(redis: RedisHandle) -> Self {
        RedisCache { redis }
    }

    fn key(&self, key: &str) -> String {
        self.redis.key(&format!("cache:{key}"))
    }
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let mut conn = self.redis.manager.clone();
        Ok(conn.get(self.key(key)).await?)
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
        let mut conn = self.redis.manager.clone();
        let millis = ttl.as_millis().max(1) as u64;
        let _: () = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(millis)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let mut conn = self.redis.manager.clone();
        let _: () = conn.del(self.key(key)).await?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_cache_round_trips_and_expires() {
        let cache = MemoryCache::new(100);
        set_json(&cache, "a", &vec![1, 2, 3], Duration::from_millis(80)).await;
        assert_eq!(get_json::<Vec<i32>>(&cache, "a").await, Some(vec![1, 2, 3]));
        invalidate(&cache, "a").await;
        assert_eq!(get_json::<Vec<i32>>(&cache, "a").await, None);
        set_json(&cache, "b", &"x", Duration::from_millis(30)).await;
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(get_json::<String>(&cache, "b").await, None);
    }

    #[tokio::test]
    async fn shared_values_follow_the_cached_bytes() {
        let cache = MemoryCache::new(100);
        let key = "shared-test";
        set_json(&cache, key, &vec![1, 2], Duration::from_secs(60)).await;
        let first = get_json_shared::<Vec<i32>>(&cache, key).await.unwrap();
        let again = get_json_shared::<Vec<i32>>(&cache, key).await.unwrap();
        assert_eq!(*first, vec![1, 2]);
        assert!(
            Arc::ptr_eq(&first, &again),
            "unchanged bytes are not parsed again"
        );
        // A new value in the cache is parsed, never the memo's old one.
        set_json(&cache, key, &vec![3], Duration::from_secs(60)).await;
        assert_eq!(
            *get_json_shared::<Vec<i32>>(&cache, key).await.unwrap(),
            vec![3]
        );
        // Another type under the same bytes is parsed as that type.
        assert_eq!(
            get_json_shared::<Vec<i64>>(&cache, key).await.as_deref(),
            Some(&vec![3i64])
        );
        invalidate(&cache, key).await;
        assert!(get_json_shared::<Vec<i32>>(&cache, key).await.is_none());
    }
}
