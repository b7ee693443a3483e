//! The durable job queue. Jobs are stored with apalis in the application database (SQLite embedded,
//! PostgreSQL at scale), so they survive restarts and any `brigade serve` / `brigade worker` process on
//! the same database can run them. Every job is one `JobEnvelope` (a stable `kind` name plus a JSON
//! payload) in one queue; handlers are looked up by kind, so an old or unknown payload never stops a
//! worker. Cron schedules are ticks that every process pushes with the idempotency key
//! `cron:<name>:<unix-seconds>`, so each tick becomes exactly one job however many processes run.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apalis::layers::retry::RetryPolicy;
use apalis::prelude::*;
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use tower::retry::backoff::{ExponentialBackoffMaker, MakeBackoff};
use tower::util::rng::HasherRng;

/// The queue every Brigade job goes through.
pub const QUEUE: &str = "brigade";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobEnvelope {
    pub kind: String,
    pub payload: serde_json::Value,
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: serde_json::Value,
    /// At most one job per key is ever stored (per queue); include a time bucket for periodic work.
    pub dedup_key: Option<String>,
    pub run_at: Option<DateTime<Utc>>,
    pub max_attempts: usize,
    /// Higher runs first.
    pub priority: usize,
}

impl NewJob {
    pub fn new(kind: impl Into<String>, payload: serde_json::Value) -> Self {
        NewJob {
            kind: kind.into(),
            payload,
            dedup_key: None,
            run_at: None,
            max_attempts: 5,
            priority: 0,
        }
    }

    pub fn dedup_key(mut self, key: impl Into<String>) -> Self {
        self.dedup_key = Some(key.into());
        self
    }

    pub fn run_at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = Some(at);
        self
    }

    pub fn max_attempts(mut self, attempts: usize) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    pub fn priority(mut self, priority: usize) -> Self {
        self.priority = priority;
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JobQueueError {
    #[error("job storage: {0}")]
    Storage(String),
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
}

/// How a handler fails: `Retry` is tried again with backoff until attempts run out; `Fatal` never is.
#[derive(Debug, thiserror::Error)]
pub enum JobFailure {
    #[error("{0}")]
    Retry(String),
    #[error("{0}")]
    Fatal(String),
}

#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    async fn run(&self, payload: serde_json::Value) -> Result<(), JobFailure>;
}

/// A recurring job: a six-field cron expression (seconds first) in UTC.
#[derive(Clone)]
pub struct CronJob {
    pub name: &'static str,
    pub schedule: cron::Schedule,
    pub kind: &'static str,
    pub payload: serde_json::Value,
}

impl CronJob {
    pub fn new(
        name: &'static str,
        expression: &str,
        kind: &'static str,
    ) -> Result<Self, cron::error::Error> {
        Ok(CronJob {
            name,
            schedule: cron::Schedule::from_str(expression)?,
            kind,
            payload: serde_json::Value::Null,
        })
    }
}

/// Handlers by kind, and the schedules that feed them.
#[derive(Default, Clone)]
pub struct JobRegistry {
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
    schedules: Vec<CronJob>,
}

impl JobRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn register(&mut self, kind: &'static str, handler: Arc<dyn JobHandler>) {
        self.handlers.insert(kind, handler);
    }

    pub fn schedule(&mut self, job: CronJob) {
        self.schedules.push(job);
    }

    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<_> = self.handlers.keys().copied().collect();
        kinds.sort_unstable();
        kinds
    }

    pub fn schedules(&self) -> &[CronJob] {
        &self.schedules
    }

    /// Run one envelope's handler. Unknown kinds are fatal (they would never succeed).
    pub async fn dispatch(&self, envelope: &JobEnvelope) -> Result<(), JobFailure> {
        let started = std::time::Instant::now();
        let result = match self.handlers.get(envelope.kind.as_str()) {
            Some(handler) => handler.run(envelope.payload.clone()).await,
            None => Err(JobFailure::Fatal(format!(
                "no handler for job kind {:?}",
                envelope.kind
            ))),
        };
        let outcome = match &result {
            Ok(()) => "ok",
            Err(JobFailure::Retry(_)) => "retry",
            Err(JobFailure::Fatal(_)) => "fatal",
        };
        metrics::counter!("brigade_jobs_total", "kind" => envelope.kind.clone(), "outcome" => outcome).increment(1);
        metrics::histogram!("brigade_job_duration_seconds", "kind" => envelope.kind.clone())
            .record(started.elapsed().as_secs_f64());
        if let Err(err) = &result {
            tracing::warn!(kind = %envelope.kind, %err, outcome, "job failed");
        }
        result
    }
}

#[derive(Default)]
struct InlineJobs {
    waiting: Vec<JobEnvelope>,
    keys: std::collections::HashSet<String>,
}

#[derive(Clone)]
enum Store {
    Sqlite(SqliteStorage<JobEnvelope>),
    Postgres(PostgresStorage<JobEnvelope>),
    /// Tests: jobs are kept in memory and run when the test says so.
    Inline(Arc<Mutex<InlineJobs>>),
}

/// Counts of jobs by state, for `/metrics` and `/ready`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QueueDepth {
    pub pending: i64,
    pub running: i64,
    pub failed: i64,
    pub done: i64,
    pub killed: i64,
}

#[derive(Clone)]
pub struct JobQueue {
    store: Store,
    db: Option<DatabaseConnection>,
}

impl std::fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobQueue")
            .field("backend", &self.backend())
            .finish()
    }
}

fn storage_err(err: impl std::fmt::Display) -> JobQueueError {
    JobQueueError::Storage(err.to_string())
}

impl JobQueue {
    /// Open the queue in the application database, creating its tables on first use.
    pub async fn open(db: &DatabaseConnection) -> Result<JobQueue, JobQueueError> {
        let store = match db.get_database_backend() {
            DbBackend::Sqlite => {
                let pool = db.get_sqlite_connection_pool();
                // Run apalis' migrations ourselves: its `setup` would also switch SQLite to synchronous=OFF.
                SqliteStorage::<()>::migrations()
                    .run(pool)
                    .await
                    .map_err(storage_err)?;
                Store::Sqlite(
                    SqliteStorage::new(pool)
                        .with_config(apalis_sqlite::Config::default().queue(QUEUE)),
                )
            }
            DbBackend::Postgres => {
                let pool = db.get_postgres_connection_pool();
                PostgresStorage::setup(pool).await.map_err(storage_err)?;
                Store::Postgres(
                    PostgresStorage::new(pool)
                        .with_config(apalis_postgres::Config::default().queue(QUEUE)),
                )
            }
            other => {
                return Err(JobQueueError::Storage(format!(
                    "unsupported database backend {other:?}"
                )));
            }
        };
        Ok(JobQueue {
            store,
            db: Some(db.clone()),
        })
    }

    /// A queue that only collects jobs; tests run them with [`JobQueue::take_inline`].
    pub fn inline() -> JobQueue {
        JobQueue {
            store: Store::Inline(Arc::default()),
            db: None,
        }
    }

    pub fn backend(&self) -> &'static str {
        match self.store {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
            Store::Inline(_) => "inline",
        }
    }

    pub async fn enqueue(&self, job: NewJob) -> Result<(), JobQueueError> {
        let envelope = JobEnvelope {
            kind: job.kind.clone(),
            payload: job.payload.clone(),
        };
        let build = || {
            let mut builder = TaskBuilder::new(envelope.clone())
                .max_attempts(job.max_attempts)
                .priority(job.priority);
            if let Some(key) = &job.dedup_key {
                builder = builder.idempotency_key(key);
            }
            if let Some(at) = job.run_at {
                builder = builder.run_at_timestamp(at.timestamp().max(0) as u64);
            }
            builder.build()
        };
        match &self.store {
            Store::Sqlite(storage) => {
                // Duplicate idempotency keys are ignored by the SQLite storage itself.
                storage
                    .clone()
                    .push_task(build())
                    .await
                    .map_err(storage_err)?;
            }
            Store::Postgres(storage) => {
                if let Err(err) = storage.clone().push_task(build()).await {
                    let duplicate = matches!(&err, TaskSinkError::PushError(apalis_postgres::Error::Database(
                        sea_orm::sqlx::Error::Database(db_err))) if db_err.code().as_deref() == Some("23505"));
                    if !duplicate {
                        return Err(storage_err(err));
                    }
                }
            }
            Store::Inline(jobs) => {
                let mut jobs = jobs.lock().unwrap_or_else(|p| p.into_inner());
                let fresh = match &job.dedup_key {
                    Some(key) => jobs.keys.insert(key.clone()),
                    None => true,
                };
                if fresh {
                    jobs.waiting.push(envelope);
                }
            }
        }
        metrics::counter!("brigade_jobs_enqueued_total", "kind" => job.kind).increment(1);
        Ok(())
    }

    /// Jobs collected by an inline queue, removed from it.
    pub fn take_inline(&self) -> Vec<JobEnvelope> {
        match &self.store {
            Store::Inline(jobs) => {
                std::mem::take(&mut jobs.lock().unwrap_or_else(|p| p.into_inner()).waiting)
            }
            _ => Vec::new(),
        }
    }

    /// Jobs by state, read straight from the storage tables.
    pub async fn depth(&self) -> Result<QueueDepth, JobQueueError> {
        let (db, sql) = match (&self.store, &self.db) {
            (Store::Sqlite(_), Some(db)) => (
                db,
                "SELECT status, COUNT(*) AS n FROM Jobs WHERE job_type = $1 GROUP BY status",
            ),
            (Store::Postgres(_), Some(db)) => (
                db,
                "SELECT status, COUNT(*) AS n FROM apalis.jobs WHERE job_type = $1 GROUP BY status",
            ),
            (Store::Inline(jobs), _) => {
                let pending = jobs.lock().unwrap_or_else(|p| p.into_inner()).waiting.len() as i64;
                return Ok(QueueDepth {
                    pending,
                    ..QueueDepth::default()
                });
            }
            _ => return Ok(QueueDepth::default()),
        };
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                sql,
                [QUEUE.into()],
            ))
            .await?;
        let mut depth = QueueDepth::default();
        for row in rows {
            let status: String = row.try_get("", "status")?;
            let n: i64 = row.try_get("", "n")?;
            match status.as_str() {
                "Pending" | "Queued" => depth.pending += n,
                "Running" => depth.running += n,
                "Failed" => depth.failed += n,
                "Done" => depth.done += n,
                "Killed" => depth.killed += n,
                _ => {}
            }
        }
        Ok(depth)
    }

    /// Delete jobs that finished (done or killed) before `cutoff`; their idempotency keys become free.
    pub async fn prune_finished(&self, cutoff: DateTime<Utc>) -> Result<u64, JobQueueError> {
        let Some(db) = &self.db else { return Ok(0) };
        let cutoff = cutoff.timestamp();
        let (sql, value): (&str, sea_orm::Value) = match self.store {
            Store::Sqlite(_) => (
                "DELETE FROM Jobs WHERE job_type = $1 AND status IN ('Done', 'Killed') AND done_at < $2",
                cutoff.into(),
            ),
            Store::Postgres(_) => (
                "DELETE FROM apalis.jobs WHERE job_type = $1 AND status IN ('Done', 'Killed') \
                 AND done_at < to_timestamp($2)",
                (cutoff as f64).into(),
            ),
            Store::Inline(_) => return Ok(0),
        };
        let result = db
            .execute_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                sql,
                [QUEUE.into(), value],
            ))
            .await?;
        Ok(result.rows_affected())
    }
}

/// Worker tuning.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Unique per process (apalis refuses a second live worker with the same name).
    pub name: String,
    pub concurrency: usize,
    /// How often an idle worker looks for due jobs.
    pub poll_interval: Duration,
    /// In-process retries of a failed job, with exponential backoff from `backoff_base`.
    pub retries: usize,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl WorkerOptions {
    pub fn new(concurrency: usize) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
        WorkerOptions {
            name: format!(
                "brigade-{host}-{}-{}",
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            ),
            concurrency: concurrency.max(1),
            poll_interval: Duration::from_millis(500),
            retries: 3,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
        }
    }
}

async fn run_envelope(
    envelope: JobEnvelope,
    registry: Data<Arc<JobRegistry>>,
) -> Result<(), BoxDynError> {
    match registry.dispatch(&envelope).await {
        Ok(()) => Ok(()),
        Err(JobFailure::Retry(message)) => Err(message.into()),
        Err(JobFailure::Fatal(message)) => Err(Box::new(AbortError::new(message))),
    }
}

/// Run the worker and the cron ticker until `shutdown` resolves. Restarts the worker if its storage
/// connection fails.
pub async fn run_worker<F>(
    queue: JobQueue,
    registry: Arc<JobRegistry>,
    options: WorkerOptions,
    shutdown: F,
) -> Result<(), JobQueueError>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let ticker = tokio::spawn(run_cron(queue.clone(), registry.schedules().to_vec()));
    let shutdown_signal = async move {
        shutdown.await;
        Ok::<(), std::io::Error>(())
    };
    let backoff = ExponentialBackoffMaker::new(
        options.backoff_base,
        options.backoff_max.max(options.backoff_base),
        0.2,
        HasherRng::default(),
    )
    .map_err(storage_err)?;
    let monitor = Monitor::new().should_restart(|ctx, err| {
        tracing::warn!(worker = ctx.name(), ?err, "job worker stopped; restarting");
        true
    });
    let result = match &queue.store {
        Store::Sqlite(storage) => {
            let storage = storage.clone();
            monitor
                .register(move |run| {
                    WorkerBuilder::new(format!("{}-{run}", options.name))
                        .backend(storage.clone().poll_with_interval(options.poll_interval))
                        .data(registry.clone())
                        .concurrency(options.concurrency)
                        .retry(
                            RetryPolicy::retries(options.retries)
                                .with_backoff(backoff.clone().make_backoff()),
                        )
                        .catch_panic()
                        .parallelize(tokio::spawn)
                        .build(run_envelope)
                })
                .run_with_signal(shutdown_signal)
                .await
        }
        Store::Postgres(storage) => {
            let storage = storage.clone();
            monitor
                .register(move |run| {
                    WorkerBuilder::new(format!("{}-{run}", options.name))
                        .backend(storage.clone().poll_with_interval(options.poll_interval))
                        .data(registry.clone())
                        .concurrency(options.concurrency)
                        .retry(
                            RetryPolicy::retries(options.retries)
                                .with_backoff(backoff.clone().make_backoff()),
                        )
                        .catch_panic()
                        .parallelize(tokio::spawn)
                        .build(run_envelope)
                })
                .run_with_signal(shutdown_signal)
                .await
        }
        Store::Inline(_) => {
            shutdown_signal.await.ok();
            Ok(())
        }
    };
    ticker.abort();
    result.map_err(storage_err)
}

/// Push one job per cron tick. Every process runs this; the idempotency key keeps one job per tick.
/// The schedules run as futures of this one task, so stopping the task stops all of them.
async fn run_cron(queue: JobQueue, schedules: Vec<CronJob>) {
    let loops = schedules.into_iter().map(|job| {
        let queue = queue.clone();
        async move {
            loop {
                let mut ticks =
                    Box::pin(apalis_cron::CronScheduler::new(job.schedule.clone()).into_stream());
                while let Some(tick) = ticks.next().await {
                    let Ok(tick) = tick else { break };
                    let at = tick.get_timestamp();
                    let new_job = NewJob::new(job.kind, job.payload.clone())
                        .dedup_key(format!("cron:{}:{at}", job.name))
                        .max_attempts(3);
                    if let Err(err) = queue.enqueue(new_job).await {
                        tracing::warn!(schedule = job.name, %err, "could not enqueue a cron tick");
                    }
                }
                // A missed tick ends the stream; start again from now.
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    });
    futures::future::join_all(loops).await;
}
