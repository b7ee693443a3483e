//! The durable job queue on the real database: jobs run once, failures retry with backoff, fatal ones
//! stop, dedup keys hold, cron ticks become one job however many processes schedule them, and a job
//! enqueued before a restart runs after it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use brigade_app::{AppState, StateOptions};
use brigade_platform::jobs::{
    CronJob, JobFailure, JobHandler, JobQueue, JobRegistry, NewJob, WorkerOptions, run_worker,
};
use serde_json::json;

use crate::harness::TestApp;

#[derive(Default, Clone)]
struct Recorder {
    calls: Arc<Mutex<Vec<serde_json::Value>>>,
    /// Fail this many times before succeeding.
    failures: Arc<Mutex<usize>>,
    fatal: bool,
}

impl Recorder {
    fn count(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
}

#[async_trait]
impl JobHandler for Recorder {
    async fn run(&self, payload: serde_json::Value) -> Result<(), JobFailure> {
        self.calls.lock().unwrap().push(payload);
        if self.fatal {
            return Err(JobFailure::Fatal("cannot ever work".into()));
        }
        let mut failures = self.failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return Err(JobFailure::Retry("not yet".into()));
        }
        Ok(())
    }
}

/// An app whose queue lives in its database (SQLite file or PostgreSQL), not inline.
async fn durable_app() -> (TestApp, AppState) {
    let app = TestApp::spawn().await;
    let state = AppState::build(app.state.config.clone(), StateOptions::default())
        .await
        .expect("durable state");
    (app, state)
}

fn fast_options() -> WorkerOptions {
    let mut options = WorkerOptions::new(2);
    options.poll_interval = Duration::from_millis(50);
    options.backoff_base = Duration::from_millis(10);
    options.backoff_max = Duration::from_millis(40);
    options
}

async fn wait_for_depth(
    queue: &JobQueue,
    what: &str,
    check: impl Fn(&brigade_platform::jobs::QueueDepth) -> bool,
) {
    for _ in 0..300 {
        let depth = queue.depth().await.unwrap();
        if check(&depth) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "timed out waiting for {what}: {:?}",
        queue.depth().await.unwrap()
    );
}

fn worker(
    queue: JobQueue,
    registry: JobRegistry,
) -> (
    tokio::task::JoinHandle<()>,
    tokio::sync::oneshot::Sender<()>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        run_worker(queue, Arc::new(registry), fast_options(), async move {
            let _ = stopped.await;
        })
        .await
        .expect("worker ran");
    });
    (handle, stop)
}

#[tokio::test]
async fn jobs_survive_a_restart_retry_with_backoff_and_dedupe() {
    let (_app, state) = durable_app().await;
    let queue = state.jobs.clone();
    let expected = if std::env::var("BRIGADE_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(queue.backend(), expected);

    // Enqueued while no worker runs ("before a restart").
    queue
        .enqueue(NewJob::new("test.ok", json!({"n": 1})))
        .await
        .unwrap();
    queue
        .enqueue(NewJob::new("test.flaky", json!({"n": 2})).max_attempts(5))
        .await
        .unwrap();
    queue
        .enqueue(NewJob::new("test.fatal", json!({"n": 3})).max_attempts(5))
        .await
        .unwrap();
    for _ in 0..3 {
        queue
            .enqueue(NewJob::new("test.ok", json!({"n": 4})).dedup_key("only-once"))
            .await
            .unwrap();
    }
    assert_eq!(queue.depth().await.unwrap().pending, 4);

    // A new process opens the same database and runs them.
    let reopened = JobQueue::open(&state.db).await.unwrap();
    let ok = Recorder::default();
    let flaky = Recorder {
        failures: Arc::new(Mutex::new(2)),
        ..Recorder::default()
    };
    let fatal = Recorder {
        fatal: true,
        ..Recorder::default()
    };
    let mut registry = JobRegistry::new();
    registry.register("test.ok", Arc::new(ok.clone()));
    registry.register("test.flaky", Arc::new(flaky.clone()));
    registry.register("test.fatal", Arc::new(fatal.clone()));
    let (handle, stop) = worker(reopened.clone(), registry);

    wait_for_depth(&reopened, "all jobs finished", |d| {
        d.done == 3 && d.killed == 1
    })
    .await;
    assert_eq!(
        ok.count(),
        2,
        "the deduplicated job ran once: {:?}",
        ok.calls.lock().unwrap()
    );
    assert_eq!(flaky.count(), 3, "failed twice, then succeeded");
    assert_eq!(fatal.count(), 1, "fatal failures are not retried");
    let depth = reopened.depth().await.unwrap();
    assert_eq!((depth.pending, depth.running, depth.failed), (0, 0, 0));
    let _ = stop.send(());
    handle.await.unwrap();

    // Pruning finished jobs frees their de-duplication keys.
    assert_eq!(
        reopened
            .prune_finished(chrono::Utc::now() - chrono::Duration::hours(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        reopened
            .prune_finished(chrono::Utc::now() + chrono::Duration::hours(1))
            .await
            .unwrap(),
        4
    );
    assert_eq!(reopened.depth().await.unwrap(), Default::default());
    reopened
        .enqueue(NewJob::new("test.ok", json!({"n": 5})).dedup_key("only-once"))
        .await
        .unwrap();
    assert_eq!(reopened.depth().await.unwrap().pending, 1);
}

#[tokio::test]
async fn unknown_job_kinds_are_killed_without_stopping_the_worker() {
    let (_app, state) = durable_app().await;
    let ok = Recorder::default();
    let mut registry = JobRegistry::new();
    registry.register("test.ok", Arc::new(ok.clone()));
    state
        .jobs
        .enqueue(NewJob::new("test.renamed-long-ago", json!({})))
        .await
        .unwrap();
    state
        .jobs
        .enqueue(NewJob::new("test.ok", json!({"after": true})))
        .await
        .unwrap();
    let (handle, stop) = worker(state.jobs.clone(), registry);
    wait_for_depth(&state.jobs, "both settled", |d| {
        d.done == 1 && d.killed == 1
    })
    .await;
    assert_eq!(ok.count(), 1);
    let _ = stop.send(());
    handle.await.unwrap();
}

#[tokio::test]
async fn cron_ticks_become_one_job_each_across_processes() {
    let (_app, state) = durable_app().await;
    let ticks = Recorder::default();
    let make_registry = || {
        let mut registry = JobRegistry::new();
        registry.register("test.tick", Arc::new(ticks.clone()));
        registry.schedule(CronJob::new("every-second", "* * * * * *", "test.tick").unwrap());
        registry
    };
    // Two "processes" with the same schedule on one database, for a little over three seconds.
    let second = JobQueue::open(&state.db).await.unwrap();
    let (a, stop_a) = worker(state.jobs.clone(), make_registry());
    let (b, stop_b) = worker(second, make_registry());
    tokio::time::sleep(Duration::from_millis(3300)).await;
    let _ = stop_a.send(());
    let _ = stop_b.send(());
    a.await.unwrap();
    b.await.unwrap();
    let depth = state.jobs.depth().await.unwrap();
    let stored = depth.done + depth.pending + depth.running + depth.failed;
    // Three or four ticks fit in the window; two schedulers without de-duplication would store six or more.
    assert!(
        (2..=4).contains(&stored),
        "one job per tick expected: {depth:?}"
    );
    assert_eq!(
        ticks.count() as i64,
        depth.done,
        "every finished tick ran exactly once"
    );
}

#[tokio::test]
async fn inline_queues_collect_jobs_for_tests() {
    let app = TestApp::spawn().await;
    assert_eq!(app.state.jobs.backend(), "inline");
    for _ in 0..2 {
        app.state
            .jobs
            .enqueue(NewJob::new("test.x", json!({"a": 1})).dedup_key("k"))
            .await
            .unwrap();
    }
    app.state
        .jobs
        .enqueue(NewJob::new("test.x", json!({"a": 1})))
        .await
        .unwrap();
    assert_eq!(
        app.state.jobs.take_inline().len(),
        2,
        "one per key, and unkeyed jobs always"
    );
    app.state
        .jobs
        .enqueue(NewJob::new(brigade_app::jobs::HOUSEKEEPING, json!(null)))
        .await
        .unwrap();
    let results = brigade_app::jobs::run_inline(&app.state).await;
    assert_eq!(results.len(), 1);
    assert!(results[0].is_ok(), "{:?}", results[0]);
    assert!(app.state.jobs.take_inline().is_empty());
}
