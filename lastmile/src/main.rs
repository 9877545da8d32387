//! `lastmile`: the ISP management core and its REST edge, and the operator commands.
#![forbid(unsafe_code)]

use lastmile_core::jobs::WorkerSettings;
use lastmile_core::network::NetworkSettings;
use lastmile_core::webhooks::WebhookSettings;
use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use lastmile::telemetry::Traces;
use lastmile::{Role, Settings};
use lastmile_core::identity::{ApiKeys, NewApiKey, Role as KeyRole, Tier};
use lastmile_core::password::{Argon2Settings, HashingSettings};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Lastmile: customers, services, provisioning, billing and SLA for ISPs.
#[derive(Debug, Parser)]
#[command(
    name = "lastmile",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the core and the edge in one process (the default).
    Serve(ServerArgs),
    /// Run the gRPC core alone.
    Core(ServerArgs),
    /// Run the REST edge alone, calling the core at --core-url.
    Edge(ServerArgs),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// FreeRADIUS: the configuration that serves this database's subscribers.
    #[command(subcommand)]
    Radius(RadiusCommand),
}

#[derive(Debug, Subcommand)]
enum RadiusCommand {
    /// Write a complete FreeRADIUS 3.2 configuration directory for the current database
    /// (one client per router); run it with `freeradius -f -d DIR`. Rerun it and restart
    /// FreeRADIUS after routers change: FreeRADIUS reads its clients only at start.
    Config(RadiusConfigArgs),
}

#[derive(Debug, Args)]
struct RadiusConfigArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// The directory to write (created if missing, rewritten in place).
    #[arg(long)]
    dir: std::path::PathBuf,
    /// The address FreeRADIUS listens on.
    #[arg(long, default_value = "0.0.0.0")]
    listen: std::net::IpAddr,
    /// The authentication port.
    #[arg(long, default_value_t = 1812)]
    auth_port: u16,
    /// The accounting port.
    #[arg(long, default_value_t = 1813)]
    acct_port: u16,
    /// Also accept requests from 127.0.0.1 with this secret (for radclient tests on the
    /// server itself).
    #[arg(long)]
    local_secret: Option<String>,
    /// Requests handled at once (and SQL connections FreeRADIUS opens).
    #[arg(long, default_value_t = 4)]
    threads: u32,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create an API key and print it (the key alone, on one line). It is shown only once.
    Create(CreateKeyArgs),
}

#[derive(Debug, Clone, Args)]
struct DatabaseArgs {
    /// Database URL: sqlite://PATH or postgres://…
    #[arg(
        long,
        env = "LASTMILE_DATABASE_URL",
        default_value = "sqlite://lastmile.db"
    )]
    database_url: String,
}

#[derive(Debug, Clone, Args)]
struct ServerArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// REST edge listen address.
    #[arg(long, env = "LASTMILE_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    http_addr: SocketAddr,
    /// gRPC core listen address.
    #[arg(long, env = "LASTMILE_GRPC_ADDR", default_value = "127.0.0.1:50051")]
    grpc_addr: SocketAddr,
    /// Serve Prometheus `/metrics` on a listener of its own (e.g. for `lastmile core`,
    /// which has no edge to serve it).
    #[arg(long, env = "LASTMILE_METRICS_ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// Where `lastmile edge` finds the core.
    #[arg(
        long,
        env = "LASTMILE_CORE_URL",
        default_value = "http://127.0.0.1:50051"
    )]
    core_url: String,
    /// An admin API key that must exist (for compose files and CI).
    #[arg(long, env = "LASTMILE_BOOTSTRAP_API_KEY", hide_env_values = true)]
    bootstrap_api_key: Option<String>,
    /// Default requests per minute per API key (or per client address without a key).
    #[arg(long, env = "LASTMILE_RATE_LIMIT_PER_MINUTE", default_value_t = 60)]
    rate_limit_per_minute: u32,
    /// Turn the edge's rate limiting off (e.g. behind a gateway that limits).
    #[arg(long, env = "LASTMILE_RATE_LIMIT_DISABLED")]
    rate_limit_disabled: bool,
    /// ISO 4217 currency of balances.
    #[arg(long, env = "LASTMILE_CURRENCY", default_value = "USD")]
    currency: String,
    /// Billing is enabled: every customer needs a billing method.
    #[arg(long, env = "LASTMILE_BILLING_ENABLED")]
    billing_enabled: bool,
    /// Secret for signing access tokens (at least 32 bytes). Unset: one is generated at the
    /// first start and kept in the database.
    #[arg(long, env = "LASTMILE_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// How long an access token works, in seconds.
    #[arg(long, env = "LASTMILE_ACCESS_TOKEN_TTL_SECONDS", default_value_t = 900)]
    access_token_ttl_seconds: u64,
    /// Log format: text or json.
    #[arg(long, env = "LASTMILE_LOG_FORMAT", default_value = "text")]
    log_format: String,
    /// Password hashes that run at once (each holds --argon2-memory-kib); 0: one per CPU.
    #[arg(long, env = "LASTMILE_PASSWORD_HASH_WORKERS", default_value_t = 0)]
    password_hash_workers: usize,
    /// Password checks that may wait for a worker; more get 503. 0: sixteen per worker.
    #[arg(long, env = "LASTMILE_PASSWORD_HASH_QUEUE", default_value_t = 0)]
    password_hash_queue: usize,
    /// How long a password check may wait for a worker before it gets 503, in milliseconds.
    #[arg(
        long,
        env = "LASTMILE_PASSWORD_HASH_MAX_WAIT_MS",
        default_value_t = 2000
    )]
    password_hash_max_wait_ms: u64,
    /// How long an idle password worker keeps its argon2 memory before giving it back to
    /// the system, in milliseconds.
    #[arg(
        long,
        env = "LASTMILE_PASSWORD_HASH_KEEP_MEMORY_MS",
        default_value_t = 2000
    )]
    password_hash_keep_memory_ms: u64,
    /// argon2id memory of new password hashes, in KiB (OWASP minimum: 19456 = 19 MiB).
    #[arg(long, env = "LASTMILE_ARGON2_MEMORY_KIB", default_value_t = 19456)]
    argon2_memory_kib: u32,
    /// argon2id passes over the memory of new password hashes.
    #[arg(long, env = "LASTMILE_ARGON2_ITERATIONS", default_value_t = 2)]
    argon2_iterations: u32,
    /// argon2id lanes of new password hashes.
    #[arg(long, env = "LASTMILE_ARGON2_PARALLELISM", default_value_t = 1)]
    argon2_parallelism: u32,
    /// Background jobs this core process runs at once (0: none; other cores run them).
    #[arg(long, env = "LASTMILE_JOB_WORKERS", default_value_t = 16)]
    job_workers: usize,
    /// How long a claimed job is held without a heartbeat before another core takes it
    /// over, in milliseconds.
    #[arg(long, env = "LASTMILE_JOB_LEASE_MS", default_value_t = 60_000)]
    job_lease_ms: u64,
    /// How often idle workers look for due jobs when no wake-up comes, in milliseconds.
    #[arg(long, env = "LASTMILE_JOB_POLL_MS", default_value_t = 1000)]
    job_poll_ms: u64,
    /// The deployment's time zone (an IANA name such as Africa/Nairobi): daily scheduled
    /// tasks, and billing's days (issue and due dates, overdue, statements).
    #[arg(long, env = "LASTMILE_TIME_ZONE", default_value = "UTC")]
    time_zone: String,
    /// The local time (HH:MM, in the time zone) of the daily billing run, which issues the
    /// invoices of every service period that has begun; `off`: no scheduled runs.
    #[arg(long, env = "LASTMILE_BILLING_RUN_AT", default_value = "02:00")]
    billing_run_at: String,
    /// Webhook retry schedule: seconds before each attempt, separated by commas; the
    /// first attempt is immediate (0).
    #[arg(
        long,
        env = "LASTMILE_WEBHOOK_RETRY_SCHEDULE",
        default_value = "0,5,300,1800,7200,18000,36000,36000"
    )]
    webhook_retry_schedule: String,
    /// Allow webhook endpoints on loopback, private and link-local addresses (on-premise
    /// receivers).
    #[arg(long, env = "LASTMILE_WEBHOOKS_ALLOW_PRIVATE_NETWORKS")]
    webhooks_allow_private_networks: bool,
    /// An endpoint whose deliveries fail this many hours without a success is disabled.
    #[arg(
        long,
        env = "LASTMILE_WEBHOOK_DISABLE_AFTER_HOURS",
        default_value_t = 120
    )]
    webhook_disable_after_hours: u64,
    /// Redis shared by the deployment's processes: rate limits and instant revocation
    /// across edges (e.g. redis://127.0.0.1:6379). Unset: each process limits on its own.
    #[arg(long, env = "LASTMILE_REDIS_URL")]
    redis_url: Option<String>,
    /// The prefix of the deployment's Redis keys and channels (one per deployment sharing
    /// a Redis).
    #[arg(long, env = "LASTMILE_REDIS_PREFIX", default_value = "lastmile")]
    redis_prefix: String,
    /// How long a webhook delivery attempt may take, in seconds.
    #[arg(long, env = "LASTMILE_WEBHOOK_TIMEOUT_SECONDS", default_value_t = 15)]
    webhook_timeout_seconds: u64,
    /// How long a released static IP address waits before it is handed out again, in
    /// hours (0: at once).
    #[arg(long, env = "LASTMILE_IP_QUARANTINE_HOURS", default_value_t = 24)]
    ip_quarantine_hours: u64,
    /// How long after its resolution a ticket may be reopened, in days (0: never).
    #[arg(long, env = "LASTMILE_TICKET_REOPEN_DAYS", default_value_t = 7)]
    ticket_reopen_days: u64,
    /// What a suspended service gets from RADIUS: `reject` (Auth-Type := Reject), or
    /// `walled-garden` (the login works, into the group `walled-garden`, which sets the
    /// address list and/or pool below, for the NAS to redirect to a payment page).
    #[arg(long, env = "LASTMILE_SUSPENDED_MODE", default_value = "reject", value_parser = ["reject", "walled-garden"])]
    suspended_mode: String,
    /// The walled garden's `Mikrotik-Address-List`.
    #[arg(long, env = "LASTMILE_WALLED_GARDEN_ADDRESS_LIST")]
    walled_garden_address_list: Option<String>,
    /// The walled garden's `Framed-Pool`.
    #[arg(long, env = "LASTMILE_WALLED_GARDEN_POOL")]
    walled_garden_pool: Option<String>,
    /// How long a Disconnect or CoA request waits for a router's answer, in milliseconds
    /// (each attempt retransmits twice before the job backs off).
    #[arg(long, env = "LASTMILE_NAS_TIMEOUT_MS", default_value_t = 3000)]
    nas_timeout_ms: u64,
}

#[derive(Debug, Args)]
struct CreateKeyArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// The key's name.
    #[arg(long)]
    name: String,
    /// Create an admin key (same as --role admin).
    #[arg(long, conflicts_with = "role")]
    admin: bool,
    /// Role: admin, manager, billing, support, technician, reseller, read_only.
    #[arg(long)]
    role: Option<String>,
    /// Rate-limit tier: standard, free, professional, enterprise.
    #[arg(long, default_value = "standard")]
    tier: String,
    /// Free-text description.
    #[arg(long)]
    description: Option<String>,
    /// Expiry, RFC 3339 (e.g. 2027-01-01T00:00:00Z).
    #[arg(long)]
    expires_at: Option<DateTime<Utc>>,
    /// The partner a reseller key acts for (required with --role reseller).
    #[arg(long)]
    partner_id: Option<i64>,
}

impl ServerArgs {
    /// What suspension does on the network.
    fn service_settings(&self) -> anyhow::Result<lastmile_core::services::ServiceSettings> {
        use lastmile_core::services::{ServiceSettings, SuspendedMode};
        let text = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let suspended = match self.suspended_mode.as_str() {
            "walled-garden" => {
                let address_list = text(&self.walled_garden_address_list);
                let pool = text(&self.walled_garden_pool);
                anyhow::ensure!(
                    address_list.is_some() || pool.is_some(),
                    "--suspended-mode walled-garden needs --walled-garden-address-list or \
                     --walled-garden-pool (what tells the NAS to redirect the subscriber)"
                );
                SuspendedMode::WalledGarden { address_list, pool }
            }
            _ => SuspendedMode::Reject,
        };
        anyhow::ensure!(
            (10..=60_000).contains(&self.nas_timeout_ms),
            "--nas-timeout-ms must be between 10 and 60000"
        );
        Ok(ServiceSettings { suspended })
    }

    fn settings(&self) -> anyhow::Result<Settings> {
        let currency = self.currency.trim().to_ascii_uppercase();
        anyhow::ensure!(
            currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_alphabetic()),
            "--currency must be an ISO 4217 code such as USD"
        );
        anyhow::ensure!(
            self.rate_limit_per_minute > 0,
            "--rate-limit-per-minute must be at least 1"
        );
        let jwt_secret = self.jwt_secret.clone().filter(|s| !s.is_empty());
        anyhow::ensure!(
            jwt_secret
                .as_ref()
                .is_none_or(|s| s.len() >= lastmile_core::identity::MIN_SECRET_LEN),
            "--jwt-secret must be at least {} bytes",
            lastmile_core::identity::MIN_SECRET_LEN
        );
        anyhow::ensure!(
            self.access_token_ttl_seconds > 0,
            "--access-token-ttl-seconds must be at least 1"
        );
        let defaults = HashingSettings::default();
        let workers = match self.password_hash_workers {
            0 => defaults.workers,
            n => n,
        };
        let password_hashing = HashingSettings {
            workers,
            queue: match self.password_hash_queue {
                0 => 16 * workers,
                n => n,
            },
            max_wait: std::time::Duration::from_millis(self.password_hash_max_wait_ms),
            keep_memory: std::time::Duration::from_millis(self.password_hash_keep_memory_ms),
            argon2: Argon2Settings {
                memory_kib: self.argon2_memory_kib,
                iterations: self.argon2_iterations,
                parallelism: self.argon2_parallelism,
            },
        };
        password_hashing
            .argon2
            .check()
            .context("--argon2-memory-kib, --argon2-iterations, --argon2-parallelism")?;
        let retry_schedule = lastmile_core::webhooks::parse_schedule(&self.webhook_retry_schedule)
            .map_err(|e| anyhow::anyhow!("--webhook-retry-schedule: {e}"))?;
        anyhow::ensure!(
            retry_schedule.first() == Some(&std::time::Duration::ZERO),
            "--webhook-retry-schedule: the first attempt is immediate, so the first entry must be 0"
        );
        anyhow::ensure!(
            self.webhook_timeout_seconds > 0 && self.webhook_timeout_seconds <= 300,
            "--webhook-timeout-seconds must be between 1 and 300"
        );
        anyhow::ensure!(
            self.job_lease_ms >= 1000,
            "--job-lease-ms must be at least 1000"
        );
        anyhow::ensure!(self.job_poll_ms >= 10, "--job-poll-ms must be at least 10");
        anyhow::ensure!(
            self.ip_quarantine_hours <= 8760,
            "--ip-quarantine-hours must be between 0 and 8760 (a year)"
        );
        anyhow::ensure!(
            self.ticket_reopen_days <= 365,
            "--ticket-reopen-days must be between 0 and 365"
        );
        if let Some(url) = self.redis_url.as_deref().filter(|u| !u.trim().is_empty()) {
            anyhow::ensure!(
                ["redis://", "rediss://", "unix://", "redis+unix://"]
                    .iter()
                    .any(|scheme| url.starts_with(scheme)),
                "--redis-url must be a redis:// URL, such as redis://127.0.0.1:6379"
            );
        }
        let time_zone: chrono_tz::Tz = self.time_zone.trim().parse().map_err(|_| {
            anyhow::anyhow!(
                "--time-zone: '{}' is not an IANA time zone such as Europe/Berlin",
                self.time_zone
            )
        })?;
        let billing_run_at = match self.billing_run_at.trim() {
            "off" => None,
            text => Some(chrono::NaiveTime::parse_from_str(text, "%H:%M").map_err(|_| {
                anyhow::anyhow!(
                    "--billing-run-at: '{text}' is not a time of day (HH:MM, such as 02:00) or off"
                )
            })?),
        };
        Ok(Settings {
            billing_run_at,
            workers: WorkerSettings {
                concurrency: self.job_workers,
                lease: std::time::Duration::from_millis(self.job_lease_ms),
                poll: std::time::Duration::from_millis(self.job_poll_ms),
                ..WorkerSettings::default()
            },
            webhooks: WebhookSettings {
                retry_schedule,
                allow_private_networks: self.webhooks_allow_private_networks,
                disable_after: std::time::Duration::from_secs(
                    self.webhook_disable_after_hours * 3600,
                ),
                timeout: std::time::Duration::from_secs(self.webhook_timeout_seconds),
            },
            network: NetworkSettings {
                ip_quarantine: std::time::Duration::from_secs(self.ip_quarantine_hours * 3600),
            },
            services: self.service_settings()?,
            nas: lastmile_core::provisioning::NasSettings {
                timeout: std::time::Duration::from_millis(self.nas_timeout_ms),
                ..Default::default()
            },
            tickets: lastmile_core::sla::TicketSettings {
                reopen_window: chrono::Duration::days(self.ticket_reopen_days as i64),
            },
            time_zone,
            redis_url: self.redis_url.clone().filter(|u| !u.trim().is_empty()),
            redis_prefix: self.redis_prefix.clone(),
            password_hashing,
            jwt_secret,
            access_token_ttl: std::time::Duration::from_secs(self.access_token_ttl_seconds),
            database_url: self.database.database_url.clone(),
            http_addr: self.http_addr,
            grpc_addr: self.grpc_addr,
            core_url: self.core_url.clone(),
            bootstrap_api_key: self.bootstrap_api_key.clone().filter(|k| !k.is_empty()),
            rate_limit_per_minute: self.rate_limit_per_minute,
            rate_limits_enabled: !self.rate_limit_disabled,
            currency,
            billing_enabled: self.billing_enabled,
            metrics_addr: self.metrics_addr,
            ..Settings::default()
        })
    }
}

/// The log on standard error and, when the `OTEL_*` variables ask for it, trace export.
/// `RUST_LOG` filters the log only; traces keep their own level.
fn init_logging(format: &str, role: Role) -> anyhow::Result<Option<Traces>> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let log = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let log = if format == "json" {
        log.json().with_filter(filter).boxed()
    } else {
        log.with_filter(filter).boxed()
    };
    let service = match role {
        Role::Serve => "lastmile",
        Role::Core => "lastmile-core",
        Role::Edge => "lastmile-edge",
    };
    let traces = Traces::from_env(service).context("OTEL_* settings")?;
    tracing_subscriber::registry()
        .with(log)
        .with(traces.as_ref().map(Traces::layer))
        .init();
    if let Some(traces) = &traces {
        traces.enable_spans();
    }
    Ok(traces)
}

#[tokio::main]
async fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let result = match cli.command {
        None => run(Role::Serve, &cli.server).await,
        Some(Command::Serve(args)) => run(Role::Serve, &args).await,
        Some(Command::Core(args)) => run(Role::Core, &args).await,
        Some(Command::Edge(args)) => run(Role::Edge, &args).await,
        Some(Command::Migrate(args)) => lastmile::migrate(&args.database_url).await,
        Some(Command::Keys(KeysCommand::Create(args))) => create_key(args).await,
        Some(Command::Radius(RadiusCommand::Config(args))) => radius_config(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("lastmile: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(role: Role, args: &ServerArgs) -> anyhow::Result<()> {
    let traces = init_logging(&args.log_format, role)?;
    let result = serve(role, args).await;
    if let Some(traces) = traces {
        traces.shutdown().await;
    }
    result
}

async fn serve(role: Role, args: &ServerArgs) -> anyhow::Result<()> {
    let running = lastmile::start(role, args.settings()?).await?;
    if let Some(key) = &running.first_admin_key {
        // Printed on stdout, once, so that it can be captured; it is never shown again.
        println!("First admin API key (shown once, store it now): {key}");
        tracing::warn!("created the first admin API key; it was printed on standard output");
    }
    if let Some(addr) = running.grpc_addr {
        tracing::info!(%addr, "gRPC core listening");
    }
    if let Some(addr) = running.http_addr {
        tracing::info!(%addr, "REST edge listening");
    }
    if let Some(addr) = running.metrics_addr {
        tracing::info!(%addr, "metrics listening");
    }
    let shutdown = running.shutdown_token();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down; finishing in-flight requests");
        shutdown.cancel();
    });
    running.wait().await
}

async fn shutdown_signal() {
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
        () = ctrl_c => {}
        () = terminate => {}
    }
}

async fn create_key(args: CreateKeyArgs) -> anyhow::Result<()> {
    lastmile::install_event_renderer();
    let role = match (args.admin, args.role.as_deref()) {
        (true, _) => KeyRole::Admin,
        (false, Some(name)) => {
            KeyRole::parse(name).with_context(|| format!("unknown role {name:?}"))?
        }
        (false, None) => anyhow::bail!("say --admin or --role ROLE"),
    };
    let tier = Tier::parse(&args.tier).with_context(|| format!("unknown tier {:?}", args.tier))?;
    let name = args.name.trim();
    anyhow::ensure!(!name.is_empty(), "--name must not be empty");
    anyhow::ensure!(
        role != KeyRole::Reseller || args.partner_id.is_some(),
        "a reseller key acts for a partner: give --partner-id"
    );
    let db = lastmile_core::db::Db::connect(&args.database.database_url).await?;
    db.migrate().await?;
    if let Some(partner_id) = args.partner_id {
        let sql = "SELECT id FROM partners WHERE id = $1 AND deleted_at IS NULL";
        let found: Option<i64> = lastmile_core::on_db!(&db, pool => sqlx::query_scalar(sql)
            .bind(partner_id).fetch_optional(pool).await)?;
        anyhow::ensure!(found.is_some(), "no partner with id {partner_id}");
    }
    let keys = ApiKeys::new(
        db.clone(),
        std::sync::Arc::new(lastmile_core::clock::SystemClock),
    );
    let new = NewApiKey {
        name: name.to_owned(),
        description: args.description,
        role,
        tier,
        expires_at: args.expires_at,
        partner_id: args.partner_id,
    };
    let (_, key) = keys.create(new).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    db.close().await;
    println!("{key}");
    Ok(())
}

async fn radius_config(args: RadiusConfigArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=64).contains(&args.threads),
        "--threads must be between 1 and 64"
    );
    let options = lastmile::RadiusConfigOptions {
        dir: args.dir,
        listen: args.listen,
        auth_port: args.auth_port,
        acct_port: args.acct_port,
        local_secret: args.local_secret.filter(|s| !s.is_empty()),
        threads: args.threads,
    };
    let written = lastmile::write_radius_config(&args.database.database_url, &options).await?;
    println!(
        "Wrote {} ({} router client{}{}). Run: {}",
        written.dir.display(),
        written.routers,
        if written.routers == 1 { "" } else { "s" },
        if written.local_client {
            ", plus 127.0.0.1"
        } else {
            ""
        },
        lastmile::freeradius_command(&written.dir)
    );
    Ok(())
}
