//! The `brigade` command: `serve`, `worker`, `migrate`, `demo`, `users`, `mail` and `jobs`.

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use brigade_app::accounts::Role;
use brigade_app::accounts::service::{self, NewAccount};
use brigade_app::csv_lines::{LinesError, MaxRejects, RejectOptions, Tally};
use brigade_app::entities::mail_outbox;
use brigade_app::server::{Application, run_jobs, shutdown_signal};
use brigade_app::{AppState, StateOptions, database, demo};
use brigade_platform::config::{CliOverrides, Config};
use brigade_platform::telemetry;
use clap::{Args, Parser, Subcommand};
use sea_orm::{EntityTrait, QueryOrder, QuerySelect};

/// mimalloc instead of glibc's allocator: request handling allocates and frees many small buffers
/// from many threads, and glibc's per-thread arenas kept the freed memory resident (and spent up to a
/// third of an analytics read in `malloc_consolidate`; see BENCHMARKS.md, issue 22).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "brigade",
    version,
    about = "Restaurant operations platform",
    propagate_version = true
)]
struct Cli {
    /// Configuration file (default: ./brigade.toml when it exists).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database URL (sqlite:// or postgres://); overrides DATABASE_URL.
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Redis URL; overrides REDIS_URL.
    #[arg(long, global = true, value_name = "URL")]
    redis_url: Option<String>,
    /// Data directory for the embedded database, the signing secret and files (default ./data).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API and web pages (and run background jobs in the same process).
    Serve(ServeArgs),
    /// Run background jobs only (start as many as you like against one PostgreSQL).
    Worker {
        /// Jobs run at once.
        #[arg(long)]
        concurrency: Option<usize>,
    },
    /// Apply pending database migrations.
    Migrate {
        /// List migrations and whether they are applied, without changing anything.
        #[arg(long)]
        status: bool,
    },
    /// Load the demo data (idempotent).
    Demo,
    /// Manage accounts.
    #[command(subcommand)]
    Users(UsersCommand),
    /// E-mail outbox.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Background job queue.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Store monitoring: import polls, hours and zones; uptime/downtime reports.
    #[command(subcommand)]
    Monitoring(MonitoringCommand),
    /// Orders: history imports and the analytics rollups.
    #[command(subcommand)]
    Orders(OrdersCommand),
    /// Forecasting: train demand models, backtest the candidates.
    #[command(subcommand)]
    Forecast(ForecastCommand),
    /// Copy the embedded database to FILE while Brigade runs (a consistent copy; PostgreSQL: use pg_dump).
    Backup {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Put a backup in place as the embedded database (stop every Brigade process using it first; the
    /// database it replaces is kept beside it).
    Restore {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum ForecastCommand {
    /// Train models now (demand: daily and hourly per restaurant; customer: churn and lifetime value),
    /// store them as new versions and promote those whose backtest beats the latest.
    Train {
        /// One restaurant (id or external id); default every restaurant with orders.
        #[arg(long, value_name = "RESTAURANT")]
        restaurant: Option<String>,
        /// What to train: demand, customer or kitchen (prep times).
        #[arg(long, default_value = "demand")]
        kind: String,
        /// Train on the orders before this instant only (RFC 3339), e.g. the end of an imported log.
        #[arg(long, value_name = "INSTANT")]
        as_of: Option<String>,
    },
    /// Write a restaurant's demand series as CSV (`start,value,open`: local step, orders, open by its
    /// hours and closure calendar), e.g. for the Python anchors in benches/forecast.
    Export {
        /// Restaurant id or external id.
        #[arg(long, value_name = "RESTAURANT")]
        restaurant: String,
        /// daily or hourly.
        #[arg(long, default_value = "daily")]
        granularity: String,
        /// The series up to this instant (RFC 3339); default now.
        #[arg(long, value_name = "INSTANT")]
        as_of: Option<String>,
        /// Where to write it (default standard output).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Backtest every candidate on a restaurant's history and print how each did.
    Backtest {
        /// Restaurant id or external id.
        #[arg(long, value_name = "RESTAURANT")]
        restaurant: String,
        /// Backtest windows (each 28 days, or 168 hours).
        #[arg(long, default_value_t = 4)]
        windows: usize,
        /// daily or hourly.
        #[arg(long, default_value = "daily")]
        granularity: String,
        /// Backtest on the orders before this instant only (RFC 3339), e.g. the end of an imported log.
        #[arg(long, value_name = "INSTANT")]
        as_of: Option<String>,
    },
}

#[derive(Subcommand)]
enum OrdersCommand {
    /// Load a real order log as completed orders of one restaurant (idempotent).
    Import {
        /// pizza-sales, london-takeaway or bread-basket.
        #[arg(long, value_name = "FORMAT")]
        format: String,
        /// The log: a directory (pizza-sales) or its CSV file (or the directory holding it).
        #[arg(value_name = "PATH")]
        path: PathBuf,
        /// The restaurant's external id (default: one per format, created when missing).
        #[arg(long, value_name = "EXTERNAL_ID")]
        restaurant: Option<String>,
        #[command(flatten)]
        rejects: RejectArgs,
    },
    /// Bring the analytics summary tables up to date now.
    Rollup {
        /// Forget them and build them again from every stored status event.
        #[arg(long)]
        rebuild: bool,
    },
}

#[derive(Subcommand)]
enum MonitoringCommand {
    /// Load store_status.csv, business_hours.csv (or menu_hours.csv) and timezones.csv from a directory.
    /// Idempotent: importing the same files again stores nothing new.
    Import {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        #[command(flatten)]
        rejects: RejectArgs,
    },
    /// Compute the uptime/downtime report now and write its CSV.
    Report {
        /// Output file ("-" for standard output).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// End the windows at this instant (default: the latest poll), e.g. 2023-01-25T18:00:00Z.
        #[arg(long, value_name = "TIMESTAMP")]
        as_of: Option<String>,
    },
}

/// What an import does with lines it cannot read.
#[derive(Args)]
struct RejectArgs {
    /// Write each rejected line, as it was, to FILE (each file's header line before its first one).
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,
    /// Stop and store nothing when more lines are rejected than this: a number of lines, or a share
    /// of them such as 2%.
    #[arg(long, value_name = "N|P%", default_value = "2%")]
    max_rejects: MaxRejects,
}

impl RejectArgs {
    fn options(&self) -> RejectOptions {
        RejectOptions {
            out: self.rejects.clone(),
            max: self.max_rejects,
        }
    }
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR:PORT")]
    bind: Option<SocketAddr>,
    /// Load the demo data before serving (skipped when it is already there).
    #[arg(long)]
    demo: bool,
    /// Do not run background jobs in this process (when dedicated workers run them).
    #[arg(long)]
    no_worker: bool,
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create an administrator. The password comes from --password, BRIGADE_ADMIN_PASSWORD or standard input.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, env = "BRIGADE_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[arg(long, default_value = "Brigade")]
        first_name: String,
        #[arg(long, default_value = "Admin")]
        last_name: String,
    },
}

#[derive(Subcommand)]
enum MailCommand {
    /// Print the newest messages in the outbox (password resets and other e-mail).
    Outbox {
        #[arg(long, default_value_t = 10)]
        limit: u64,
    },
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Jobs by state.
    Status,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", readable(&err));
            ExitCode::FAILURE
        }
    }
}

/// An error as a person reads it: its causes joined once each (a cause whose text the message
/// already holds is not said again), without the database library's "Custom Error:" label.
fn readable(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        let text = text.strip_prefix("Custom Error: ").unwrap_or(&text);
        if out.contains(text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(text);
    }
    out
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bind = match &cli.command {
        Command::Serve(args) => args.bind,
        _ => None,
    };
    let overrides = CliOverrides {
        bind,
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
        redis_url: cli.redis_url.clone(),
    };
    let mut config = Config::load(cli.config.as_deref(), &overrides)?;
    // Commands other than the long-running ones print their own results: they log warnings only,
    // unless a level is asked for.
    let long_running = matches!(cli.command, Command::Serve(_) | Command::Worker { .. });
    let asked =
        std::env::var_os("BRIGADE_LOG_LEVEL").is_some() || std::env::var_os("RUST_LOG").is_some();
    let level = if long_running || asked {
        config.log_level.clone()
    } else {
        "warn".to_string()
    };
    telemetry::init(config.log_format, &level);
    match cli.command {
        Command::Serve(args) => {
            if args.no_worker {
                config.worker.in_serve = false;
            }
            let bind = config.bind;
            let with_worker = config.worker.in_serve;
            let state = AppState::build(config, StateOptions::default()).await?;
            if args.demo {
                let summary = demo::load(&state)
                    .await
                    .map_err(|e| anyhow::anyhow!(e.message))?;
                tracing::info!(
                    restaurants = summary.restaurants_created,
                    accounts = summary.accounts_created,
                    menu_items = summary.menu_items_created,
                    qr_codes = summary.qr_codes_created,
                    "demo data loaded; try the customer page at {}/q/EMBER-T1",
                    state.config.public_url.trim_end_matches('/')
                );
            }
            let app = Application::build(state, bind, with_worker)
                .await
                .with_context(|| format!("cannot listen on {bind}"))?;
            tracing::info!(address = %app.local_addr(), worker = with_worker, "Brigade is serving on http://{}", app.local_addr());
            app.run_until_stopped(shutdown_signal()).await?;
        }
        Command::Worker { concurrency } => {
            if let Some(n) = concurrency {
                config.worker.concurrency = n;
            }
            let state = AppState::build(config, StateOptions::default()).await?;
            run_jobs(state, shutdown_signal()).await;
        }
        Command::Migrate { status } => {
            let url = config.database_url();
            if status {
                for (name, applied) in database::status(&url).await? {
                    println!("{} {name}", if applied { "applied" } else { "pending" });
                }
            } else {
                database::migrate(&url).await?;
                println!("migrations applied");
            }
        }
        Command::Demo => {
            let state = AppState::build(config, StateOptions::default()).await?;
            let summary = demo::load(&state)
                .await
                .map_err(|e| anyhow::anyhow!(e.message))?;
            println!(
                "demo data: {} restaurant(s), {} account(s), {} menu item(s), {} QR code(s), {} reservation window(s) and {} status poll(s) created; sign in with password {}",
                summary.restaurants_created,
                summary.accounts_created,
                summary.menu_items_created,
                summary.qr_codes_created,
                summary.time_slots_created,
                summary.polls_created,
                demo::PASSWORD
            );
            if summary.forecast_trainings_queued > 0 {
                println!(
                    "{} forecast training job(s) queued: `brigade serve` or `brigade worker` trains them",
                    summary.forecast_trainings_queued
                );
            }
            println!(
                "customer page of table T1 at Ember & Oak: {}/q/EMBER-T1",
                state.config.public_url.trim_end_matches('/')
            );
        }
        Command::Users(UsersCommand::CreateAdmin {
            email,
            password,
            first_name,
            last_name,
        }) => {
            let password = match password {
                Some(p) => p,
                None => read_password()?,
            };
            let state = AppState::build(config, StateOptions::default()).await?;
            let account = NewAccount::parse(
                &email,
                &password,
                &first_name,
                &last_name,
                None,
                Role::Admin,
                None,
            )
            .map_err(describe)?;
            let user = service::create_user(&state, account)
                .await
                .map_err(describe)?;
            println!("administrator {} created (id {})", user.email, user.id);
        }
        Command::Mail(MailCommand::Outbox { limit }) => {
            let state = AppState::build(config, StateOptions::default()).await?;
            let messages = mail_outbox::Entity::find()
                .order_by_desc(mail_outbox::Column::CreatedAt)
                .limit(limit)
                .all(&state.db)
                .await?;
            if messages.is_empty() {
                println!("the outbox is empty");
            }
            for m in messages {
                println!(
                    "--- {} · {} · to {} · {}",
                    m.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    m.status,
                    m.to_address,
                    m.subject
                );
                println!("{}\n", m.body.trim_end());
            }
        }
        Command::Backup { out } => {
            let state = AppState::build(config, StateOptions::default()).await?;
            let started = std::time::Instant::now();
            let backup = brigade_app::backup::backup_to(&state, &out).await?;
            println!(
                "backup of the database as of {} written to {} ({:.1} MB) in {:.2} s",
                backup.taken_at.format("%Y-%m-%d %H:%M:%S UTC"),
                backup.path.display(),
                backup.bytes as f64 / 1e6,
                started.elapsed().as_secs_f64()
            );
        }
        Command::Restore { file } => {
            let target = brigade_app::backup::embedded_path(&config)?;
            let kept = brigade_app::backup::restore(&file, &target).await?;
            println!("restored {} as {}", file.display(), target.display());
            if let Some(kept) = kept {
                println!("the database it replaced is kept as {}", kept.display());
            }
            println!(
                "start Brigade as usual; it brings the schema up to date if the backup is older"
            );
        }
        Command::Monitoring(command) => monitoring(config, command).await?,
        Command::Orders(command) => orders(config, command).await?,
        Command::Forecast(command) => forecast(config, command).await?,
        Command::Jobs(JobsCommand::Status) => {
            let state = AppState::build(config, StateOptions::default()).await?;
            let depth = state.jobs.depth().await?;
            println!(
                "backend {}: {} pending, {} running, {} failed, {} done, {} killed",
                state.jobs.backend(),
                depth.pending,
                depth.running,
                depth.failed,
                depth.done,
                depth.killed
            );
        }
    }
    Ok(())
}

/// Field errors as one readable line.
fn describe(err: brigade_app::http::error::ApiError) -> anyhow::Error {
    match err.errors {
        Some(errors) => anyhow::anyhow!(
            "{}: {}",
            err.message,
            errors
                .iter()
                .map(|(field, problems)| format!("{field} {}", problems.join(", ")))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        None => anyhow::anyhow!(err.message),
    }
}

fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        eprint!("password for the new administrator: ");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        bail!("no password given: use --password, BRIGADE_ADMIN_PASSWORD or standard input");
    }
    Ok(password)
}

/// The first 20 lines an import rejected, and how many more there were, on standard error.
fn print_rejected(rejected: &[brigade_app::csv_lines::Rejected], total: usize) {
    for r in rejected.iter().take(20) {
        eprintln!("rejected {} line {}: {}", r.file, r.line, r.reason);
    }
    if total > 20 {
        eprintln!("... and {} more rejected lines", total - 20);
    }
}

/// Every file's lines, accounted for: `lines = stored + already there + rejected`.
fn print_tallies(files: &[Tally], rejects: Option<&PathBuf>) {
    for tally in files {
        println!("  {tally}");
    }
    let rejected: u64 = files.iter().map(|t| t.rejected).sum();
    if let (Some(path), true) = (rejects, rejected > 0) {
        println!("  the rejected lines are in {}", path.display());
    }
}

/// An import's error, with the first rejected lines when it stopped because of them.
fn import_failed(err: impl Into<anyhow::Error>) -> anyhow::Error {
    let err = err.into();
    if let Some(LinesError::TooManyRejected {
        rejected, first, ..
    }) = err.downcast_ref::<LinesError>()
    {
        print_rejected(first, *rejected as usize);
    }
    err
}

/// A progress bar on standard error that shows itself only once a file has taken more than a second
/// (and never when standard error is not a terminal).
fn progress_bar() -> indicatif::ProgressBar {
    let progress =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::hidden());
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {msg:<24} [{bar:30}] {percent:>3}% {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    if std::io::stderr().is_terminal() {
        let bar = progress.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(1));
            if !bar.is_finished() {
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
        });
    }
    progress
}

async fn orders(config: Config, command: OrdersCommand) -> anyhow::Result<()> {
    use brigade_app::analytics::{import, rollup};
    let state = AppState::build(config, StateOptions::default()).await?;
    match command {
        OrdersCommand::Import {
            format,
            path,
            restaurant,
            rejects,
        } => {
            let format: import::Format = format.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            let progress = progress_bar();
            let started = std::time::Instant::now();
            let summary = import::import(
                &state,
                format,
                &path,
                restaurant.as_deref(),
                &progress,
                &rejects.options(),
            )
            .await
            .map_err(|err| match err {
                import::ImportError::Lines(lines) => import_failed(lines),
                other => other.into(),
            })?;
            print_rejected(&summary.rejected, summary.rejected.len());
            println!(
                "imported in {:.2} s: {} orders read, {} stored ({} items), {} already there, {} line(s) rejected; restaurant {}{}",
                started.elapsed().as_secs_f64(),
                summary.orders_read,
                summary.stored,
                summary.items,
                summary.already_there,
                summary.rejected.len(),
                summary.restaurant_id,
                if summary.restaurant_created {
                    " (created)"
                } else {
                    ""
                },
            );
            print_tallies(&summary.files, rejects.rejects.as_ref());
            if summary.consumed > 0 {
                println!(
                    "{} order(s) took their recipes from the restaurant's stock",
                    summary.consumed
                );
            }
            if let (Some(first), Some(last)) = (summary.first, summary.last) {
                println!(
                    "orders from {first} to {last}; the rollup job adds them to the analytics within a minute (or run `brigade orders rollup`)"
                );
            }
        }
        OrdersCommand::Rollup { rebuild } => {
            // Everything committed before this command, at once.
            let started = std::time::Instant::now();
            let run = if rebuild {
                rollup::rebuild(&state).await?
            } else {
                rollup::catch_up_now(&state).await?
            };
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "rolled up {} events of {} orders in {:.2} s ({:.0} events/s), {} run(s); watermark {}",
                run.events,
                run.orders,
                seconds,
                run.events as f64 / seconds.max(1e-9),
                run.batches,
                run.watermark
            );
        }
    }
    Ok(())
}

fn parse_granularity(raw: &str) -> anyhow::Result<brigade_forecast::Granularity> {
    match raw {
        "daily" => Ok(brigade_forecast::Granularity::Daily),
        "hourly" => Ok(brigade_forecast::Granularity::Hourly),
        other => anyhow::bail!("--granularity {other:?}: daily or hourly"),
    }
}

fn parse_as_of_arg(raw: Option<&str>) -> anyhow::Result<Option<chrono::DateTime<chrono::Utc>>> {
    raw.map(|raw| {
        chrono::DateTime::parse_from_rfc3339(raw)
            .map(|at| at.with_timezone(&chrono::Utc))
            .map_err(|_| {
                anyhow::anyhow!("--as-of {raw:?} is not an instant like 2016-01-01T00:00:00Z")
            })
    })
    .transpose()
}

async fn forecast(config: Config, command: ForecastCommand) -> anyhow::Result<()> {
    use brigade_app::forecasting;
    let state = AppState::build(config, StateOptions::default()).await?;
    match command {
        ForecastCommand::Train {
            restaurant,
            kind,
            as_of,
        } => {
            let as_of = parse_as_of_arg(as_of.as_deref())?;
            let kind = match kind.as_str() {
                "demand" => forecasting::DEMAND,
                "customer" | "customers" => forecasting::customers::CUSTOMER,
                "kitchen" => brigade_app::kitchen::prep::KITCHEN,
                other => anyhow::bail!("--kind {other:?}: demand, customer or kitchen"),
            };
            let ids = match restaurant {
                Some(name) => vec![
                    forecasting::resolve_restaurant(&state, &name)
                        .await
                        .map_err(describe)?,
                ],
                None => forecasting::jobs::trainable(&state, kind)
                    .await
                    .map_err(describe)?,
            };
            if ids.is_empty() {
                anyhow::bail!(
                    "no restaurant has orders yet: import some with `brigade orders import`"
                );
            }
            let progress = progress_bar();
            progress.set_length(ids.len() as u64);
            progress.set_message("training");
            let started = std::time::Instant::now();
            let mut trained = 0;
            for id in &ids {
                let outcomes = forecasting::jobs::train_kind(&state, *id, kind, as_of)
                    .await
                    .map_err(describe)?;
                progress.inc(1);
                for o in outcomes {
                    match o.version {
                        Some(v) => {
                            trained += 1;
                            progress.println(format!(
                                "{id} {:<6} version {v}: {} ({} {}) {}",
                                o.series,
                                o.method.unwrap_or_default(),
                                if kind == forecasting::DEMAND {
                                    "MASE"
                                } else if kind == brigade_app::kitchen::prep::KITCHEN {
                                    "MAE s"
                                } else {
                                    "holdout Brier"
                                },
                                o.score
                                    .map(|s| format!("{s:.3}"))
                                    .unwrap_or_else(|| "-".into()),
                                if o.promoted {
                                    "-> latest"
                                } else {
                                    "(candidate)"
                                },
                            ));
                            progress.println(format!("  {}", o.outcome));
                        }
                        None => progress
                            .println(format!("{id} {:<6} not trained: {}", o.series, o.outcome)),
                    }
                }
            }
            progress.finish_and_clear();
            println!(
                "{trained} model(s) trained for {} restaurant(s) in {:.2} s",
                ids.len(),
                started.elapsed().as_secs_f64()
            );
        }
        ForecastCommand::Export {
            restaurant,
            granularity,
            as_of,
            out,
        } => {
            let g = parse_granularity(&granularity)?;
            let at = parse_as_of_arg(as_of.as_deref())?.unwrap_or_else(|| state.now());
            let id = forecasting::resolve_restaurant(&state, &restaurant)
                .await
                .map_err(describe)?;
            let ex = forecasting::series::extract(&state, id, g, at, 0)
                .await
                .map_err(describe)?;
            let mut csv = String::from("start,value,open\n");
            for (i, v) in ex.values.iter().enumerate() {
                csv.push_str(&format!(
                    "{},{v},{}\n",
                    ex.label(i),
                    u8::from(ex.steps[i].open)
                ));
            }
            match out {
                Some(path) => {
                    std::fs::write(&path, csv)
                        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                    eprintln!("{} steps written to {}", ex.values.len(), path.display());
                }
                None => print!("{csv}"),
            }
        }
        ForecastCommand::Backtest {
            restaurant,
            windows,
            granularity,
            as_of,
        } => {
            let as_of = parse_as_of_arg(as_of.as_deref())?;
            let g = parse_granularity(&granularity)?;
            if windows == 0 || windows > 52 {
                anyhow::bail!("--windows {windows}: 1 to 52");
            }
            let id = forecasting::resolve_restaurant(&state, &restaurant)
                .await
                .map_err(describe)?;
            let (backtest, ex) = forecasting::backtest(&state, id, g, windows, as_of)
                .await
                .map_err(describe)?;
            println!(
                "restaurant {id} ({}), {} history: {} steps, {} orders; {} window(s) of {} steps",
                ex.tz.name(),
                granularity,
                ex.values.len(),
                ex.orders,
                backtest.windows,
                backtest.horizon
            );
            println!(
                "{:<16} {:>8} {:>8} {:>9} {:>9} {:>10}",
                "candidate", "MASE", "sMAPE%", "cover80%", "cover95%", "fit ms"
            );
            for c in &backtest.candidates {
                println!(
                    "{:<16} {:>8.3} {:>8.1} {:>9.1} {:>9.1} {:>10.2}{}",
                    c.method.name(),
                    c.mase,
                    c.smape,
                    c.coverage_80 * 100.0,
                    c.coverage_95 * 100.0,
                    c.fit_ms,
                    if c.method == backtest.chosen {
                        "  <- chosen"
                    } else {
                        ""
                    }
                );
            }
            if let Some(naive) = backtest.score(brigade_forecast::Method::SeasonalNaive) {
                let chosen = backtest.chosen_score();
                println!(
                    "chosen: {} ({:.1}% better than seasonal naive by MASE)",
                    chosen.method.name(),
                    (1.0 - chosen.mase / naive.mase) * 100.0
                );
            }
        }
    }
    Ok(())
}

async fn monitoring(config: Config, command: MonitoringCommand) -> anyhow::Result<()> {
    use brigade_app::monitoring::{import, report};
    let state = AppState::build(config, StateOptions::default()).await?;
    match command {
        MonitoringCommand::Import { dir, rejects } => {
            let progress = progress_bar();
            let started = std::time::Instant::now();
            let summary = import::import_dir(&state, &dir, &progress, &rejects.options())
                .await
                .map_err(|err| match err {
                    import::ImportError::Lines(lines) => import_failed(lines),
                    other => other.into(),
                })?;
            print_rejected(&summary.rejected, summary.rejected.len());
            println!(
                "imported in {:.2} s: {} polls read, {} stored, {} already there; {} store(s) created, {} zone(s) and {} store hours changed; {} line(s) rejected",
                started.elapsed().as_secs_f64(),
                summary.polls.received,
                summary.polls.stored,
                summary.polls.duplicates,
                summary.stores_created,
                summary.zones_changed,
                summary.hours_changed,
                summary.rejected.len()
            );
            print_tallies(&summary.files, rejects.rejects.as_ref());
        }
        MonitoringCommand::Report { out, as_of } => {
            let as_of = as_of
                .map(|raw| brigade_app::monitoring::parse_instant(&raw))
                .transpose()
                .map_err(|problem| anyhow::anyhow!("--as-of: {problem}"))?;
            let started = std::time::Instant::now();
            let mut computed = report::compute(&state.db, as_of).await?;
            report::add_orders_at_risk(&state, &mut computed.rows).await;
            let csv = computed.to_csv();
            if out.as_os_str() == "-" {
                print!("{csv}");
            } else {
                std::fs::write(&out, csv)
                    .with_context(|| format!("cannot write {}", out.display()))?;
                eprintln!(
                    "report of {} store(s) up to {} written to {} in {:.3} s",
                    computed.rows.len(),
                    computed.now.format("%Y-%m-%d %H:%M:%S%.f UTC"),
                    out.display(),
                    started.elapsed().as_secs_f64()
                );
            }
        }
    }
    Ok(())
}
