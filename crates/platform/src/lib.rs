//! Platform pieces every Brigade domain stands on and none of them owns: configuration, telemetry,
//! the database connection, the clock, the cache, pub/sub, rate limits and the job queue. Each part that
//! talks to the outside is a trait object chosen at start-up (in-process by default, Redis or PostgreSQL
//! when configured), so tests and single-process installs need nothing else running.

pub mod cache;
pub mod clock;
pub mod config;
pub mod db;
pub mod jobs;
pub mod pubsub;
pub mod ratelimit;
pub mod redis_conn;
pub mod telemetry;

pub use config::Config;
