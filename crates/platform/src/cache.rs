//! A byte cache with per-entry time to live: in-process (moka) by default, Redis when configured so that
//! every process sees the same entries and one invalidation reaches all of them.
//!
//! With Redis, [`TieredCache`] keeps a near copy of what a process read in its own memory, so hot entries
//! (menus, venues, the signed-in account) cost no round trip. Every write and invalidation goes to Redis
//! and is announced on a pub/sub channel; each process drops its near copy when it hears of a change made
//! by another one (within milliseconds), and at once for its own. Near copies live at most
//! [`NEAR_TTL_MAX`] and never past the Redis entry's own expiry; while the announcement channel is down
//! (or silent: each process hears its own heartbeat on it every few seconds) the near layer is bypassed,
//! and after it comes back it starts empty.
//!
//! A cache failure never fails a request: readers treat an error as a miss and writers log it. While
//! Redis is down every command fails at once (see `redis_conn`), so reads go to the database, and a
//! write that could not be made has Redis's cache keys cleared when it is back.

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
            tracing::debug!(%err, key, "cache read failed; treating as a miss");
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
            tracing::debug!(%err, key, "cache read failed; treating as a miss");
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
        tracing::debug!(%err, key, "cache write failed");
    }
}

pub async fn invalidate(cache: &dyn Cache, key: &str) {
    if let Err(err) = cache.delete(key).await {
        tracing::debug!(%err, key, "cache invalidation failed");
    }
}

/// Loads of one key that overlap share one load: the first caller runs it, callers arriving while it
/// runs wait for its answer, and once it is done the next caller loads afresh (nothing is kept). Cache
/// misses go through it, so a burst of requests for one menu costs one database read, not one each,
/// above all while Redis is down and every read is a miss.
pub struct SingleFlight<K, V> {
    inflight:
        std::sync::Mutex<std::collections::HashMap<K, std::sync::Weak<tokio::sync::OnceCell<V>>>>,
}

impl<K, V> Default for SingleFlight<K, V> {
    fn default() -> Self {
        SingleFlight {
            inflight: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone, V: Clone> SingleFlight<K, V> {
    pub fn new() -> Self {
        Self::default()
    }

    /// `load`'s answer, or the answer of the load of `key` already under way.
    pub async fn run<E, F, Fut>(&self, key: K, load: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<V, E>>,
    {
        let cell = {
            let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
            match inflight.get(&key).and_then(std::sync::Weak::upgrade) {
                Some(cell) => cell,
                None => {
                    let cell = Arc::new(tokio::sync::OnceCell::new());
                    inflight.insert(key.clone(), Arc::downgrade(&cell));
                    cell
                }
            }
        };
        let answer = cell.get_or_try_init(load).await.cloned();
        let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if inflight
            .get(&key)
            .is_some_and(|weak| std::ptr::eq(weak.as_ptr(), Arc::as_ptr(&cell)))
        {
            inflight.remove(&key);
        }
        answer
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
    /// At most `max_entries` entries, a large value counting once per 4 KiB it holds (the near layer
    /// of [`TieredCache`]: small hot values count one each, and large ones cannot take more than 4 KiB
    /// a unit).
    pub fn new(max_entries: u64) -> Self {
        Self::weighed(max_entries, |_key, entry| 1 + entry.bytes.len() / 4096)
    }

    /// At most about `max_bytes` of keys and values: the cache of a process without Redis, which also
    /// keeps large values (an analytics answer of 720 hourly buckets is 40 KB), so a count of entries
    /// would not bound its memory.
    pub fn with_bytes(max_bytes: u64) -> Self {
        Self::weighed(max_bytes, |key, entry| key.len() + entry.bytes.len() + 64)
    }

    fn weighed(capacity: u64, weight: fn(&String, &Entry) -> usize) -> Self {
        MemoryCache {
            inner: moka::future::Cache::builder()
                .weigher(move |key: &String, entry: &Entry| {
                    u32::try_from(weight(key, entry)).unwrap_or(u32::MAX)
                })
                .max_capacity(capacity)
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
        let key = self.key(key);
        Ok(self
            .redis
            .run(|mut conn| async move { conn.get(key).await })
            .await?)
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
        let key = self.key(key);
        let millis = ttl.as_millis().max(1) as u64;
        let written = self
            .redis
            .run(|mut conn| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("PX")
                    .arg(millis)
                    .query_async::<()>(&mut conn)
                    .await
            })
            .await;
        if written.is_err() {
            self.redis.note_missed_write();
        }
        Ok(written?)
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let key = self.key(key);
        let deleted = self
            .redis
            .run(|mut conn| async move { conn.del::<_, ()>(key).await })
            .await;
        if deleted.is_err() {
            self.redis.note_missed_write();
        }
        Ok(deleted?)
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}

/// The longest a near copy is served without Redis, a bound on staleness should an announcement be lost.
pub const NEAR_TTL_MAX: Duration = Duration::from_secs(30);
/// Each process announces a heartbeat on the channel when it has been quiet this long and hears its
/// own; a subscription that hears nothing at all for [`SILENCE_LIMIT`] (a half-open connection, say)
/// is treated as lost.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);
const SILENCE_LIMIT: Duration = Duration::from_secs(15);
const HEARTBEAT: &str = "\u{1}heartbeat";
/// Change counters, one per slot of keys (by hash): a change to one key does not stop reads of keys in
/// other slots from keeping what they read.
const SLOTS: usize = 256;

/// Redis with a near copy of the entries this process reads (see the module documentation).
pub struct TieredCache {
    redis: RedisCache,
    near: MemoryCache,
    shared: Arc<NearState>,
    channel: String,
    /// Announcements this process makes start with this, so it can skip its own.
    origin: String,
}

struct NearState {
    /// Bumped for a key's slot on every change heard or made: a read that saw Redis before a change
    /// must not keep its (maybe old) value as a near copy.
    slots: Vec<std::sync::atomic::AtomicU64>,
    /// Bumped when the subscription comes back (changes made meanwhile were not heard).
    epoch: std::sync::atomic::AtomicU64,
    /// Whether the announcement channel is subscribed; the near layer is used only while it is.
    listening: std::sync::atomic::AtomicBool,
    near: moka::future::Cache<String, Entry>,
}

impl NearState {
    fn slot(&self, key: &str) -> &std::sync::atomic::AtomicU64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        &self.slots[hasher.finish() as usize % SLOTS]
    }

    /// Grows whenever a change to `key` is heard or made, or the subscription is renewed (both
    /// counters only grow, so their sum does too).
    fn stamp(&self, key: &str) -> u64 {
        use std::sync::atomic::Ordering;
        self.epoch.load(Ordering::SeqCst) + self.slot(key).load(Ordering::SeqCst)
    }

    async fn changed(&self, key: &str) {
        self.slot(key)
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.near.invalidate(key).await;
    }
}

impl TieredCache {
    /// Subscribes to the announcement channel before returning, so no change announced after this call is
    /// missed.
    pub async fn start(
        redis: RedisHandle,
        near_entries: u64,
    ) -> Result<Arc<TieredCache>, CacheError> {
        use std::sync::atomic::Ordering;
        let channel = redis.key("cache-changes");
        let near = MemoryCache::new(near_entries);
        let shared = Arc::new(NearState {
            slots: (0..SLOTS).map(|_| Default::default()).collect(),
            epoch: Default::default(),
            listening: Default::default(),
            near: near.inner.clone(),
        });
        let origin = format!("{}:", uuid::Uuid::new_v4().simple());
        // Subscribed before returning when Redis is there; otherwise the near layer stays off until the
        // subscription is made.
        let mut first = match redis.pubsub().await {
            Ok(mut pubsub) => pubsub.subscribe(&channel).await.ok().map(|()| pubsub),
            Err(_) => None,
        };
        shared.listening.store(first.is_some(), Ordering::SeqCst);
        let listener = shared.clone();
        let handle = redis.clone();
        let own = origin.clone();
        let subscribed = channel.clone();
        tokio::spawn(async move {
            use futures::StreamExt;
            loop {
                if let Some(mut pubsub) = first.take() {
                    let mut messages = pubsub.on_message();
                    let mut heard = tokio::time::Instant::now();
                    loop {
                        let message =
                            match tokio::time::timeout(HEARTBEAT_EVERY, messages.next()).await {
                                Ok(Some(message)) => message,
                                Ok(None) => break,
                                Err(_) => {
                                    if heard.elapsed() > SILENCE_LIMIT {
                                        break;
                                    }
                                    let beat = format!("{own}{HEARTBEAT}");
                                    let channel = subscribed.clone();
                                    let sent = handle
                                        .run(|mut conn| async move {
                                            redis::cmd("PUBLISH")
                                                .arg(channel)
                                                .arg(beat)
                                                .query_async::<i64>(&mut conn)
                                                .await
                                        })
                                        .await;
                                    if let Err(err) = sent {
                                        tracing::debug!(%err, "redis cache heartbeat failed");
                                    }
                                    continue;
                                }
                            };
                        // Any message proves the subscription delivers. Under load the channel is
                        // never quiet for a heartbeat's interval, so no heartbeat is sent: counting
                        // only our own made a busy minute look like a lost subscription the moment
                        // it ended (BENCHMARKS.md, issue 22).
                        heard = tokio::time::Instant::now();
                        let Ok(payload) = message.get_payload::<String>() else {
                            continue;
                        };
                        if payload.strip_prefix(&own).is_some() {
                            continue;
                        }
                        match payload.split_once(':') {
                            Some((_, HEARTBEAT)) => {}
                            Some((_, key)) => listener.changed(key).await,
                            None => {}
                        }
                    }
                    listener.listening.store(false, Ordering::SeqCst);
                    tracing::warn!(
                        "redis cache announcements lost; near cache bypassed until reconnected"
                    );
                }
                // Reconnect once Redis answers again.
                loop {
                    handle.wait_until_up().await;
                    if let Ok(mut fresh) = handle.pubsub().await
                        && fresh.subscribe(&subscribed).await.is_ok()
                    {
                        first = Some(fresh);
                        break;
                    }
                    tokio::time::sleep(crate::redis_conn::PROBE_EVERY).await;
                }
                // Changes made while away were not heard: start empty.
                listener.epoch.fetch_add(1, Ordering::SeqCst);
                listener.near.invalidate_all();
                listener.listening.store(true, Ordering::SeqCst);
            }
        });
        Ok(Arc::new(TieredCache {
            redis: RedisCache::new(redis),
            near,
            shared,
            channel,
            origin,
        }))
    }

    fn near_enabled(&self) -> bool {
        self.shared
            .listening
            .load(std::sync::atomic::Ordering::SeqCst)
            && !self.redis.redis.is_down()
    }

    /// Drops this process's near copy after its own change, and keeps reads that saw Redis before the
    /// change from storing what they read.
    async fn forget(&self, key: &str) {
        self.shared.changed(key).await;
    }

    /// Tells the other processes; tried three times, since a lost announcement leaves their copies
    /// stale until [`NEAR_TTL_MAX`].
    async fn announce(&self, key: &str) -> Result<(), CacheError> {
        let payload = format!("{}{key}", self.origin);
        let mut attempt = 0;
        loop {
            let (channel, payload) = (self.channel.clone(), payload.clone());
            let sent = self
                .redis
                .redis
                .run(|mut conn| async move {
                    redis::cmd("PUBLISH")
                        .arg(channel)
                        .arg(payload)
                        .query_async::<i64>(&mut conn)
                        .await
                })
                .await;
            match sent {
                Ok(_) => return Ok(()),
                Err(err) if attempt >= 2 || self.redis.redis.is_down() => {
                    // Other processes keep their copy until they notice the outage (their near layer
                    // is off while Redis is down) or for at most NEAR_TTL_MAX.
                    self.redis.redis.note_missed_write();
                    return Err(err.into());
                }
                Err(_) => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
                }
            }
        }
    }
}

#[async_trait]
impl Cache for TieredCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        if !self.near_enabled() {
            return self.redis.get(key).await;
        }
        if let Some(entry) = self.near.inner.get(key).await {
            return Ok(Some(entry.bytes.to_vec()));
        }
        let before = self.shared.stamp(key);
        let full = self.redis.key(key);
        let (bytes, pttl): (Option<Vec<u8>>, i64) = self
            .redis
            .redis
            .run(|mut conn| async move {
                redis::pipe()
                    .get(&full)
                    .pttl(&full)
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        if let Some(bytes) = &bytes
            && pttl > 0
            && self.shared.stamp(key) == before
        {
            let ttl = Duration::from_millis(pttl as u64).min(NEAR_TTL_MAX);
            self.near.set(key, bytes.clone(), ttl).await?;
            // A change heard while the copy was being stored may have been dropped before the copy landed.
            if self.shared.stamp(key) != before {
                self.near.delete(key).await?;
            }
        }
        Ok(bytes)
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
        // This process's own copy goes first, whatever happens to Redis.
        self.forget(key).await;
        self.redis.set(key, value, ttl).await?;
        self.forget(key).await;
        self.announce(key).await
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.forget(key).await;
        self.redis.delete(key).await?;
        self.forget(key).await;
        self.announce(key).await
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn overlapping_loads_share_one_and_later_ones_load_again() {
        let flights: Arc<SingleFlight<u32, u64>> = Arc::new(SingleFlight::new());
        let loads = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let mut waiting = Vec::new();
        for _ in 0..8 {
            let (flights, loads, gate) = (flights.clone(), loads.clone(), gate.clone());
            waiting.push(tokio::spawn(async move {
                flights
                    .run(7, || async move {
                        let n = loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                        gate.notified().await;
                        Ok::<_, ()>(n * 100)
                    })
                    .await
            }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        gate.notify_waiters();
        for task in waiting {
            assert_eq!(task.await.unwrap(), Ok(100));
        }
        assert_eq!(loads.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Done: the next caller loads again, and errors are not shared with later callers.
        let again = flights.run(7, || async { Ok::<_, ()>(5) }).await;
        assert_eq!(again, Ok(5));
        let failed = flights.run(8, || async { Err::<u64, _>("no") }).await;
        assert_eq!(failed, Err("no"));
        assert_eq!(flights.run(8, || async { Ok::<_, &str>(9) }).await, Ok(9));
    }

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
    async fn a_byte_bounded_cache_keeps_its_budget() {
        let cache = MemoryCache::with_bytes(4 << 20);
        for k in 0..12 {
            cache
                .set(
                    &format!("big-{k}"),
                    vec![7u8; 1 << 20],
                    Duration::from_secs(60),
                )
                .await
                .unwrap();
        }
        cache.inner.run_pending_tasks().await;
        assert!(
            cache.inner.weighted_size() <= 4 << 20,
            "{} bytes kept",
            cache.inner.weighted_size()
        );
        let kept = (0..12)
            .filter(|k| cache.inner.contains_key(&format!("big-{k}")))
            .count();
        assert!((1..=4).contains(&kept), "{kept} of 12 kept");
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
