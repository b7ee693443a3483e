//! Running Brigade: the HTTP server (with the job worker in the same process unless turned off) and the
//! stand-alone worker.

use std::net::SocketAddr;
use std::sync::Arc;

use brigade_platform::jobs::{WorkerOptions, run_worker};
use tokio::net::TcpListener;

use crate::state::AppState;

pub struct Application {
    listener: TcpListener,
    state: AppState,
    with_worker: bool,
}

impl Application {
    /// Bind the configured address (port 0 picks a free one).
    pub async fn build(
        state: AppState,
        bind: SocketAddr,
        with_worker: bool,
    ) -> std::io::Result<Application> {
        let listener = TcpListener::bind(bind).await?;
        Ok(Application {
            listener,
            state,
            with_worker,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// Serve until `shutdown` resolves, then finish in-flight requests and jobs.
    pub async fn run_until_stopped<F>(self, shutdown: F) -> std::io::Result<()>
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let (stop_tx, _) = tokio::sync::broadcast::channel::<()>(1);
        let worker = if self.with_worker {
            let mut stop = stop_tx.subscribe();
            Some(tokio::spawn(run_jobs(self.state.clone(), async move {
                let _ = stop.recv().await;
            })))
        } else {
            None
        };
        let service = crate::http::service(self.state.clone());
        let mut stop = stop_tx.subscribe();
        let state = self.state.clone();
        let server = axum::serve(
            self.listener,
            axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                SocketAddr,
            >(service),
        )
        .with_graceful_shutdown(async move {
            let _ = stop.recv().await;
            // End the event streams, or open browser tabs would keep the server from stopping.
            state.stopping.send_replace(true);
        });
        let mut deadline = stop_tx.subscribe();
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(());
        });
        let finish = async move {
            let result = server.await;
            if let Some(worker) = worker {
                let _ = worker.await;
            }
            result
        };
        // A request or job that does not finish within the grace period does not keep the process
        // alive: jobs are durable (their lease runs out and another worker retries them), and a client
        // whose request is cut off was never sent an answer it could rely on.
        tokio::select! {
            result = finish => result,
            () = async move {
                let _ = deadline.recv().await;
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } => {
                tracing::warn!(grace = ?SHUTDOWN_GRACE, "stopping with requests or jobs still running after the grace period");
                Ok(())
            }
        }
    }
}

/// How long a stopping `serve` waits for in-flight requests and jobs.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

/// The job worker and cron ticker, until `shutdown` resolves.
pub async fn run_jobs<F>(state: AppState, shutdown: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let registry = Arc::new(crate::jobs::registry(&state));
    let options = WorkerOptions::new(state.config.worker.concurrency);
    tracing::info!(worker = %options.name, backend = state.jobs.backend(), kinds = ?registry.kinds(), "job worker started");
    if let Err(err) = run_worker(state.jobs.clone(), registry, options, shutdown).await {
        tracing::error!(%err, "job worker stopped with an error");
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
