//! The composition root of Lastmile: starts the core, the edge, or both in one process.
//! `main.rs` turns the command line into [`Settings`]; the end-to-end tests and the
//! benchmark start the same servers through [`start`].
#![forbid(unsafe_code)]

mod radius;
pub mod telemetry;

pub use radius::{
    RadiusConfigOptions, RadiusConfigWritten, freeradius_command, write_radius_config,
};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lastmile_core::clock::{SharedClock, SystemClock};
use lastmile_core::customers::CustomerSettings;
use lastmile_core::identity::TokenSettings;
use lastmile_core::jobs::WorkerSettings;
use lastmile_core::network::NetworkSettings;
use lastmile_core::password::HashingSettings;
use lastmile_core::webhooks::WebhookSettings;
use lastmile_core::{Core, CoreConfig};
use lastmile_edge::{EdgeConfig, RateLimits};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Endpoint;

/// Which servers to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Core and edge in one process.
    Serve,
    /// The gRPC core alone.
    Core,
    /// The REST edge alone, calling a core at `core_url`.
    Edge,
}

/// Everything a Lastmile process is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// REST edge listen address.
    pub http_addr: SocketAddr,
    /// gRPC core listen address.
    pub grpc_addr: SocketAddr,
    /// Where `lastmile edge` finds the core.
    pub core_url: String,
    /// An admin key that must exist.
    pub bootstrap_api_key: Option<String>,
    /// Default per-minute request limit per key (or per client address) at the edge.
    pub rate_limit_per_minute: u32,
    /// Whether the edge limits requests at all.
    pub rate_limits_enabled: bool,
    /// Currency of balances.
    pub currency: String,
    /// Whether billing is enabled (customers then need a billing method).
    pub billing_enabled: bool,
    /// The clock of the servers this process runs: the core's, and the edge's budgets and
    /// memory of principals (one clock when both run here).
    pub clock: SharedClock,
    /// The secret access tokens are signed with; `None`: generated once and kept in the
    /// database.
    pub jwt_secret: Option<String>,
    /// How long an access token works.
    pub access_token_ttl: Duration,
    /// The password hashing pool and the argon2id parameters of new hashes.
    pub password_hashing: HashingSettings,
    /// This process's job workers (a core's).
    pub workers: WorkerSettings,
    /// Webhook retries and outbound rules.
    pub webhooks: WebhookSettings,
    /// How long released static IP addresses are quarantined.
    pub network: NetworkSettings,
    /// What suspension does on the network (reject, or a walled garden).
    pub services: lastmile_core::services::ServiceSettings,
    /// How Disconnect and CoA requests reach routers.
    pub nas: lastmile_core::provisioning::NasSettings,
    /// Ticket rules (how long a resolved ticket may be reopened).
    pub tickets: lastmile_core::sla::TicketSettings,
    /// The time zone of daily scheduled tasks.
    pub time_zone: chrono_tz::Tz,
    /// The local time of the daily billing run; none: no scheduled runs (the command line
    /// sets 02:00 unless told `off`).
    pub billing_run_at: Option<chrono::NaiveTime>,
    /// Redis shared by the deployment's processes (rate limits, revocations), when set.
    pub redis_url: Option<String>,
    /// The prefix of the deployment's Redis keys and channels.
    pub redis_prefix: String,
    /// A listener of its own for Prometheus `/metrics` (the edge serves it too).
    pub metrics_addr: Option<SocketAddr>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: "sqlite://lastmile.db".into(),
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            core_url: "http://127.0.0.1:50051".into(),
            bootstrap_api_key: None,
            rate_limit_per_minute: 60,
            rate_limits_enabled: true,
            currency: "USD".into(),
            billing_enabled: false,
            clock: Arc::new(SystemClock),
            jwt_secret: None,
            access_token_ttl: TokenSettings::default().access_ttl,
            password_hashing: HashingSettings::default(),
            workers: WorkerSettings::default(),
            webhooks: WebhookSettings::default(),
            network: NetworkSettings::default(),
            services: Default::default(),
            nas: Default::default(),
            tickets: Default::default(),
            time_zone: chrono_tz::Tz::UTC,
            billing_run_at: None,
            redis_url: None,
            redis_prefix: "lastmile".into(),
            metrics_addr: None,
        }
    }
}

/// Running servers.
#[derive(Debug)]
pub struct Running {
    /// Where the edge listens, if it runs.
    pub http_addr: Option<SocketAddr>,
    /// Where the core listens, if it runs.
    pub grpc_addr: Option<SocketAddr>,
    /// Where `/metrics` is served on a listener of its own, if it is.
    pub metrics_addr: Option<SocketAddr>,
    /// The admin key created at the first start of an empty database.
    pub first_admin_key: Option<String>,
    /// The core, if it runs in this process.
    pub core: Option<Core>,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    /// A token that stops the servers when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Waits until the servers stop (after the shutdown token is cancelled, or when one
    /// of them fails, which stops the others too).
    pub async fn wait(self) -> anyhow::Result<()> {
        let mut result = Ok(());
        let mut tasks = self.tasks;
        while !tasks.is_empty() {
            let (finished, _, rest) = futures::future::select_all(tasks).await;
            tasks = rest;
            self.shutdown.cancel();
            let outcome = finished.context("server task panicked").and_then(|r| r);
            if result.is_ok() {
                result = outcome;
            }
        }
        if let Some(core) = &self.core {
            core.db.close().await;
        }
        result
    }

    /// Stops the servers gracefully and waits for them.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }
}

fn core_config(settings: &Settings) -> CoreConfig {
    let mut config = CoreConfig::new(settings.database_url.clone());
    config.bootstrap_api_key = settings.bootstrap_api_key.clone();
    config.customers = CustomerSettings {
        currency: settings.currency.clone(),
        billing_enabled: settings.billing_enabled,
        ..CustomerSettings::default()
    };
    config.clock = settings.clock.clone();
    config.password_hashing = settings.password_hashing;
    config.workers = settings.workers.clone();
    config.webhooks = settings.webhooks.clone();
    config.network = settings.network.clone();
    config.services = settings.services.clone();
    config.nas = settings.nas.clone();
    config.tickets = settings.tickets;
    config.time_zone = settings.time_zone;
    config.billing_run_at = settings.billing_run_at;
    config.revocations =
        settings
            .redis_url
            .clone()
            .map(|url| lastmile_core::revocations::RevocationConfig {
                url,
                prefix: settings.redis_prefix.clone(),
            });
    config.tokens = TokenSettings {
        secret: settings.jwt_secret.clone(),
        access_ttl: settings.access_token_ttl,
        ..TokenSettings::default()
    };
    config
}

fn edge_config(settings: &Settings) -> EdgeConfig {
    EdgeConfig {
        rate_limits: settings.rate_limits_enabled.then(|| RateLimits {
            default_per_minute: settings.rate_limit_per_minute,
            clock: Arc::new(EdgeTime(settings.clock.clone())),
            shared: settings
                .redis_url
                .clone()
                .map(|url| lastmile_edge::SharedConfig {
                    url,
                    prefix: settings.redis_prefix.clone(),
                }),
        }),
    }
}

/// The core's clock as the edge reads it.
#[derive(Debug)]
struct EdgeTime(SharedClock);

impl lastmile_edge::clock::Clock for EdgeTime {
    fn instant(&self) -> std::time::Instant {
        self.0.instant()
    }

    fn wall(&self) -> std::time::SystemTime {
        self.0.now().into()
    }
}

/// Events show resources as the REST contract does; the edge owns that JSON.
pub fn install_event_renderer() {
    lastmile_core::events::set_renderer(lastmile_edge::render_event_subject);
}

/// Starts the servers of `role`; the listen addresses may use port 0.
pub async fn start(role: Role, settings: Settings) -> anyhow::Result<Running> {
    // One recorder per process, so that core and edge metrics land in one /metrics.
    lastmile_edge::metrics::install();
    install_event_renderer();
    let shutdown = CancellationToken::new();
    let mut tasks = Vec::new();
    let mut running = Running {
        http_addr: None,
        grpc_addr: None,
        metrics_addr: None,
        first_admin_key: None,
        core: None,
        shutdown: shutdown.clone(),
        tasks: Vec::new(),
    };
    let mut core_url = settings.core_url.clone();
    if matches!(role, Role::Serve | Role::Core) {
        let core = Core::open(core_config(&settings))
            .await
            .context("opening the database")?;
        let listener = TcpListener::bind(settings.grpc_addr)
            .await
            .with_context(|| format!("binding the gRPC address {}", settings.grpc_addr))?;
        let addr = listener.local_addr()?;
        let local = if addr.ip().is_unspecified() {
            SocketAddr::from(([127, 0, 0, 1], addr.port()))
        } else {
            addr
        };
        core_url = format!("http://{local}");
        running.grpc_addr = Some(addr);
        running.first_admin_key = core.first_admin_key.clone();
        running.core = Some(core.clone());
        tasks.push(tokio::spawn(lastmile_core::serve(
            core,
            listener,
            shutdown.clone(),
        )));
    }
    if matches!(role, Role::Serve | Role::Edge) {
        let channel = Endpoint::from_shared(core_url.clone())
            .with_context(|| format!("core URL {core_url}"))?
            .tcp_nodelay(true)
            .connect_lazy();
        let listener = TcpListener::bind(settings.http_addr)
            .await
            .with_context(|| format!("binding the HTTP address {}", settings.http_addr))?;
        running.http_addr = Some(listener.local_addr()?);
        let router = lastmile_edge::router(edge_config(&settings), channel);
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            lastmile_edge::serve(listener, router, async move { stop.cancelled().await }).await?;
            Ok(())
        }));
    }
    if let Some(addr) = settings.metrics_addr {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the metrics address {addr}"))?;
        running.metrics_addr = Some(listener.local_addr()?);
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            let router = lastmile_edge::metrics::router();
            lastmile_edge::serve(listener, router, async move { stop.cancelled().await }).await?;
            Ok(())
        }));
    }
    running.tasks = tasks;
    Ok(running)
}

/// Applies pending migrations and exits.
pub async fn migrate(database_url: &str) -> anyhow::Result<()> {
    let db = lastmile_core::db::Db::connect(database_url).await?;
    db.migrate().await?;
    db.close().await;
    Ok(())
}
