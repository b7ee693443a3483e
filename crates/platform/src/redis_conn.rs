//! One Redis connection manager per process, shared by the cache, pub/sub publisher and rate limiter.

use redis::aio::ConnectionManager;

#[derive(Clone)]
pub struct RedisHandle {
    pub client: redis::Client,
    pub manager: ConnectionManager,
    /// Every key and channel Brigade uses starts with this, so installations (and tests) can share a server.
    pub prefix: String,
}

impl std::fmt::Debug for RedisHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisHandle")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisHandle {
    pub async fn connect(url: &str, prefix: &str) -> redis::RedisResult<RedisHandle> {
        let client = redis::Client::open(url)?;
        let manager = client.get_connection_manager().await?;
        Ok(RedisHandle {
            client,
            manager,
            prefix: prefix.to_string(),
        })
    }

    pub fn key(&self, parts: &str) -> String {
        format!("{}:{}", self.prefix, parts)
    }

    pub async fn ping(&self) -> redis::RedisResult<()> {
        let mut conn = self.manager.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(|_| ())
    }
}
