//! Two Brigade processes on the same backends behave as one: what one caches, publishes or counts, the
//! other sees. With BRIGADE_TEST_REDIS_URL set these are two independent Redis clients (as two processes
//! would have); without it, the in-process backends of a single process.

use std::sync::Arc;
use std::time::Duration;

use brigade_platform::cache::{self, Cache, MemoryCache, RedisCache, TieredCache};
use brigade_platform::clock::{SharedClock, SystemClock};
use brigade_platform::pubsub::{LocalPubSub, PubSub, RedisPubSub};
use brigade_platform::ratelimit::{Limit, MemoryRateLimiter, RateLimiter, RedisRateLimiter};
use brigade_platform::redis_conn::RedisHandle;
use futures::StreamExt;

use crate::harness::redis_url;

async fn redis_pair() -> Option<(RedisHandle, RedisHandle)> {
    let url = redis_url()?;
    let prefix = format!("brigade-test-{}", uuid::Uuid::new_v4().simple());
    Some((
        RedisHandle::connect(&url, &prefix).await.unwrap(),
        RedisHandle::connect(&url, &prefix).await.unwrap(),
    ))
}

/// Reads `key` from `cache` until it gives `expected` (another process's change is heard within
/// milliseconds, not at once), failing after five seconds, far less than a near copy's lifetime.
async fn eventually<T>(cache: &dyn Cache, key: &str, expected: Option<T>)
where
    T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let got = cache::get_json::<T>(cache, key).await;
        if got == expected {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{key}: still {got:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn cache_entries_and_invalidations_are_shared() {
    let pair = redis_pair().await;
    let (a, b): (Arc<dyn Cache>, Arc<dyn Cache>) = match &pair {
        Some((x, y)) => (
            TieredCache::start(x.clone(), 100).await.unwrap(),
            TieredCache::start(y.clone(), 100).await.unwrap(),
        ),
        None => {
            let shared: Arc<dyn Cache> = Arc::new(MemoryCache::new(100));
            (shared.clone(), shared)
        }
    };
    cache::set_json(
        a.as_ref(),
        "menu:1",
        &vec!["ramen", "gyoza"],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(
        cache::get_json::<Vec<String>>(b.as_ref(), "menu:1").await,
        Some(vec!["ramen".to_string(), "gyoza".to_string()])
    );
    // A process's own change is seen by that process at once...
    cache::set_json(b.as_ref(), "menu:1", &vec!["udon"], Duration::from_secs(60)).await;
    assert_eq!(
        cache::get_json::<Vec<String>>(b.as_ref(), "menu:1").await,
        Some(vec!["udon".to_string()])
    );
    // ...and by the others as soon as they hear of it.
    eventually(a.as_ref(), "menu:1", Some(vec!["udon".to_string()])).await;
    cache::invalidate(b.as_ref(), "menu:1").await;
    assert_eq!(
        cache::get_json::<Vec<String>>(b.as_ref(), "menu:1").await,
        None
    );
    eventually::<Vec<String>>(a.as_ref(), "menu:1", None).await;
    cache::set_json(a.as_ref(), "short", &1, Duration::from_millis(50)).await;
    assert_eq!(cache::get_json::<i32>(b.as_ref(), "short").await, Some(1));
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        cache::get_json::<i32>(b.as_ref(), "short").await,
        None,
        "entries expire, near copies with them"
    );

    if let Some((x, _)) = &pair {
        // Reads are served from the process's near copy: a value written into Redis behind Brigade's back
        // (no announcement) is not seen while the copy lives... (The first value is written behind its
        // back too, so no announcement of it can arrive after b's read and drop the copy.)
        let behind = RedisCache::new(x.clone());
        cache::set_json(&behind, "venue:7", &"open", Duration::from_secs(60)).await;
        assert_eq!(
            cache::get_json::<String>(b.as_ref(), "venue:7")
                .await
                .as_deref(),
            Some("open")
        );
        cache::set_json(
            &behind,
            "venue:7",
            &"changed behind its back",
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(
            cache::get_json::<String>(b.as_ref(), "venue:7")
                .await
                .as_deref(),
            Some("open"),
            "served from the near copy"
        );
        // ...while a change made through the cache reaches it.
        cache::set_json(a.as_ref(), "venue:7", &"closed", Duration::from_secs(60)).await;
        eventually(b.as_ref(), "venue:7", Some("closed".to_string())).await;
    }
}

#[tokio::test]
async fn messages_published_by_one_process_reach_subscribers_of_another() {
    let (publisher, subscriber): (Arc<dyn PubSub>, Arc<dyn PubSub>) = match redis_pair().await {
        Some((x, y)) => (
            RedisPubSub::start(x).await.unwrap(),
            RedisPubSub::start(y).await.unwrap(),
        ),
        None => {
            let shared: Arc<dyn PubSub> = Arc::new(LocalPubSub::new());
            (shared.clone(), shared)
        }
    };
    let mut order_1 = subscriber.subscribe("order:1");
    let mut order_2 = subscriber.subscribe("order:2");
    publisher.publish("order:2", "preparing").await.unwrap();
    publisher.publish("order:1", "ready").await.unwrap();
    let got_1 = tokio::time::timeout(Duration::from_secs(5), order_1.next())
        .await
        .expect("delivered in time");
    let got_2 = tokio::time::timeout(Duration::from_secs(5), order_2.next())
        .await
        .expect("delivered in time");
    assert_eq!(got_1.as_deref(), Some("ready"));
    assert_eq!(got_2.as_deref(), Some("preparing"));
}

#[tokio::test]
async fn rate_limits_are_counted_across_processes() {
    let clock: SharedClock = Arc::new(SystemClock);
    let (a, b): (Arc<dyn RateLimiter>, Arc<dyn RateLimiter>) = match redis_pair().await {
        Some((x, y)) => (
            Arc::new(RedisRateLimiter::new(clock.clone(), x)),
            Arc::new(RedisRateLimiter::new(clock, y)),
        ),
        None => {
            let shared: Arc<dyn RateLimiter> = Arc::new(MemoryRateLimiter::new(clock));
            (shared.clone(), shared)
        }
    };
    let limit = Limit {
        name: "shared",
        max: 4,
        window: Duration::from_secs(3600),
    };
    let mut allowed = 0;
    for i in 0..6 {
        let limiter = if i % 2 == 0 { &a } else { &b };
        if limiter.hit(&limit, "203.0.113.9").await.unwrap().allowed {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 4, "the limit holds for both processes together");
    assert!(!a.peek(&limit, "203.0.113.9").await.unwrap().allowed);
    assert!(b.peek(&limit, "198.51.100.2").await.unwrap().allowed);
}
