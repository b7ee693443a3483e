//! Publish/subscribe for real-time updates. In-process it is a set of broadcast channels; with Redis every
//! process keeps one pattern subscription and fans messages out to its local subscribers, so a message
//! published by any `brigade serve` reaches subscribers on all of them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

    fn backend(&self) -> &'static str {
        "memory"
    }
}

pub struct RedisPubSub {
    redis: RedisHandle,
    local: LocalPubSub,
}

impl RedisPubSub {
    /// Subscribes before returning, so nothing published after this call is missed.
    pub async fn start(redis: RedisHandle) -> Result<Arc<RedisPubSub>, PubSubError> {
        let local = LocalPubSub::new();
        let pattern = redis.key("ps:*");
        let prefix_len = pattern.len() - 1;
        let mut pubsub = redis.client.get_async_pubsub().await?;
        pubsub.psubscribe(&pattern).await?;
        let fanout = local.clone();
        let client = redis.client.clone();
        tokio::spawn(async move {
            let mut pubsub = pubsub;
            loop {
                {
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let channel = message.get_channel_name();
                        if let (Some(name), Ok(payload)) =
                            (channel.get(prefix_len..), message.get_payload::<String>())
                        {
                            fanout.deliver(name, &payload);
                        }
                    }
                }
                tracing::warn!("redis pub/sub connection lost; reconnecting");
                pubsub = loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    match client.get_async_pubsub().await {
                        Ok(mut fresh) => {
                            if fresh.psubscribe(&pattern).await.is_ok() {
                                break fresh;
                            }
                        }
                        Err(err) => tracing::warn!(%err, "redis pub/sub reconnect failed"),
                    }
                };
            }
        });
        Ok(Arc::new(RedisPubSub { redis, local }))
    }
}

#[async_trait]
impl PubSub for RedisPubSub {
    async fn publish(&self, channel: &str, payload: &str) -> Result<(), PubSubError> {
        let mut conn = self.redis.manager.clone();
        let _: i64 = redis::cmd("PUBLISH")
            .arg(self.redis.key(&format!("ps:{channel}")))
            .arg(payload)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    fn subscribe(&self, channel: &str) -> BoxStream<'static, String> {
        self.local.stream(channel)
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
