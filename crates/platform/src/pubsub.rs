//! Publish/subscribe for real-time updates. In-process it is a set of broadcast channels; with Redis every
//! process keeps one pattern subscription and fans messages out to its local subscribers, so a message
//! published by any `brigade serve` reaches subscribers on all of them.
//!
//! While Redis is down a message reaches only the subscribers of the process that published it, and
//! [`PubSub::live`] says so (live streams tell their clients, who read the state again when it is back);
//! the subscription reconnects in the background.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::broadcast;

use crate::redis_conn::RedisHandle;

#[derive(Debug, thiserror::Error)]
pub enum PubSubError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

#[async_trait]
pub trait PubSub: Send + Sync + 'static {
    async fn publish(&self, channel: &str, payload: &str) -> Result<(), PubSubError>;
    /// Messages published on `channel` from now on. Slow subscribers skip what they missed.
    fn subscribe(&self, channel: &str) -> BoxStream<'static, String>;
    /// Whether messages from every process arrive (false while the shared bus is unreachable).
    fn live(&self) -> tokio::sync::watch::Receiver<bool>;
    fn backend(&self) -> &'static str;
}

pub type SharedPubSub = Arc<dyn PubSub>;

const CHANNEL_CAPACITY: usize = 256;

#[derive(Default, Clone)]
pub struct LocalPubSub {
    channels: Arc<Mutex<HashMap<String, broadcast::Sender<String>>>>,
}

impl LocalPubSub {
    pub fn new() -> Self {
        Self::default()
    }

    fn deliver(&self, channel: &str, payload: &str) {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        // A send error means nobody listens any more.
        if let Some(sender) = channels.get(channel)
            && sender.send(payload.to_string()).is_err()
        {
            channels.remove(channel);
        }
    }

    fn receiver(&self, channel: &str) -> broadcast::Receiver<String> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        channels
            .entry(channel.to_string())
            .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
            .subscribe()
    }

    fn stream(&self, channel: &str) -> BoxStream<'static, String> {
        let receiver = self.receiver(channel);
        futures::stream::unfold(receiver, |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(message) => return Some((message, receiver)),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .boxed()
    }
}

#[async_trait]
impl PubSub for LocalPubSub {
    async fn publish(&self, channel: &str, payload: &str) -> Result<(), PubSubError> {
        self.deliver(channel, payload);
        Ok(())
    }

    fn subscribe(&self, channel: &str) -> BoxStream<'static, String> {
        self.stream(channel)
    }

    fn live(&self) -> tokio::sync::watch::Receiver<bool> {
        tokio::sync::watch::channel(true).1
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

pub struct RedisPubSub {
    redis: RedisHandle,
    local: LocalPubSub,
    live: tokio::sync::watch::Sender<bool>,
}

impl RedisPubSub {
    /// Subscribes before returning when Redis is there, so nothing published after this call is missed;
    /// otherwise starts not live and subscribes once Redis answers.
    pub async fn start(redis: RedisHandle) -> Result<Arc<RedisPubSub>, PubSubError> {
        let local = LocalPubSub::new();
        let pattern = redis.key("ps:*");
        let prefix_len = pattern.len() - 1;
        let mut first = match redis.pubsub().await {
            Ok(mut pubsub) => pubsub.psubscribe(&pattern).await.ok().map(|()| pubsub),
            Err(_) => None,
        };
        let (live, _) = tokio::sync::watch::channel(first.is_some());
        let fanout = local.clone();
        let handle = redis.clone();
        let status = live.clone();
        tokio::spawn(async move {
            loop {
                if let Some(mut pubsub) = first.take() {
                    status.send_replace(true);
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let channel = message.get_channel_name();
                        if let (Some(name), Ok(payload)) =
                            (channel.get(prefix_len..), message.get_payload::<String>())
                        {
                            fanout.deliver(name, &payload);
                        }
                    }
                    status.send_replace(false);
                    tracing::warn!(
                        "redis pub/sub connection lost; live updates are local to this process until it is back"
                    );
                }
                loop {
                    handle.wait_until_up().await;
                    if let Ok(mut fresh) = handle.pubsub().await
                        && fresh.psubscribe(&pattern).await.is_ok()
                    {
                        first = Some(fresh);
                        break;
                    }
                    tokio::time::sleep(crate::redis_conn::PROBE_EVERY).await;
                }
            }
        });
        Ok(Arc::new(RedisPubSub { redis, local, live }))
    }
}

#[async_trait]
impl PubSub for RedisPubSub {
    async fn publish(&self, channel: &str, payload: &str) -> Result<(), PubSubError> {
        let (name, body) = (
            self.redis.key(&format!("ps:{channel}")),
            payload.to_string(),
        );
        let sent = self
            .redis
            .run(|mut conn| async move {
                redis::cmd("PUBLISH")
                    .arg(name)
                    .arg(body)
                    .query_async::<i64>(&mut conn)
                    .await
            })
            .await;
        match sent {
            Ok(_) => Ok(()),
            // The shared bus is down: this process's own subscribers still hear it.
            Err(_) if self.redis.is_down() => {
                self.local.deliver(channel, payload);
                Ok(())
            }
            Err(err) => Err(err.into()),
        }
    }

    fn subscribe(&self, channel: &str) -> BoxStream<'static, String> {
        self.local.stream(channel)
    }

    fn live(&self) -> tokio::sync::watch::Receiver<bool> {
        self.live.subscribe()
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_subscribers_receive_only_their_channel() {
        let bus = LocalPubSub::new();
        let mut a = bus.subscribe("orders:1");
        let mut b = bus.subscribe("orders:2");
        bus.publish("orders:1", "ready").await.unwrap();
        bus.publish("orders:2", "preparing").await.unwrap();
        assert_eq!(a.next().await.as_deref(), Some("ready"));
        assert_eq!(b.next().await.as_deref(), Some("preparing"));
    }
}
