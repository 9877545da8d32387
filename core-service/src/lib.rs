//! The Lastmile core: every rule and every byte of state of the ISP. It serves the
//! `lastmile.v1` gRPC services (with reflection and health) over SQLite or PostgreSQL.
#![forbid(unsafe_code)]

pub mod audit;
pub mod auth;
pub mod authz;
pub mod billing;
pub mod catalog;
pub mod clock;
pub mod customers;
pub mod db;
pub mod directory;
pub mod domains;
pub mod error;
pub mod events;
pub mod fields;
pub mod housekeeping;
pub mod idempotency;
pub mod identity;
pub mod jobs;
pub mod metrics;
pub mod network;
pub mod paging;
pub mod password;
pub mod principal;
pub mod provisioning;
pub mod radius;
pub mod radius_rows;
pub mod revocations;
mod server;
pub mod services;
pub mod sla;
pub mod telemetry;
pub mod tenancy;
pub mod webhooks;
pub mod write;

use std::sync::Arc;

pub use server::{HEALTH_CHECK_INTERVAL, serve};

use crate::auth::Authenticator;
use crate::catalog::Plans;
use crate::clock::{SharedClock, SystemClock};
use crate::customers::{CustomerSettings, Customers};
use crate::db::Db;
use crate::identity::{ApiKeys, TokenSettings};
use crate::jobs::{Registry, WorkerSettings};
use crate::network::{Network, NetworkSettings};
use crate::password::{HashingSettings, PasswordPolicy, Passwords};
use crate::services::{ServiceSettings, Services};
use crate::webhooks::{WebhookSettings, Webhooks};

/// How to run the core.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// An admin key that must exist (for compose files and CI).
    pub bootstrap_api_key: Option<String>,
    /// Customer rules that depend on the deployment.
    pub customers: CustomerSettings,
    /// The password policy.
    pub password_policy: PasswordPolicy,
    /// The clock.
    pub clock: SharedClock,
    /// Access and refresh token settings.
    pub tokens: TokenSettings,
    /// The password hashing pool and the argon2id parameters of new hashes.
    pub password_hashing: HashingSettings,
    /// This process's job workers.
    pub workers: WorkerSettings,
    /// Webhook retries and outbound rules.
    pub webhooks: WebhookSettings,
    /// The IP address quarantine.
    pub network: NetworkSettings,
    /// The time zone of daily scheduled tasks.
    pub time_zone: chrono_tz::Tz,
    /// Where principal changes are announced to the edges (Redis), when set.
    pub revocations: Option<revocations::RevocationConfig>,
    /// How services look to the network.
    pub services: ServiceSettings,
    /// How CoA and Disconnect requests reach routers.
    pub nas: provisioning::NasSettings,
    /// Ticket rules (the reopen window).
    pub tickets: sla::TicketSettings,
    /// The local time of the daily billing run; none: no scheduled runs.
    pub billing_run_at: Option<chrono::NaiveTime>,
}

impl CoreConfig {
    /// Defaults for a database URL.
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            bootstrap_api_key: None,
            customers: CustomerSettings::default(),
            password_policy: PasswordPolicy::default(),
            clock: Arc::new(SystemClock),
            tokens: TokenSettings::default(),
            password_hashing: HashingSettings::default(),
            workers: WorkerSettings::default(),
            webhooks: WebhookSettings::default(),
            network: NetworkSettings::default(),
            time_zone: chrono_tz::Tz::UTC,
            revocations: None,
            services: ServiceSettings::default(),
            nas: provisioning::NasSettings::default(),
            tickets: sla::TicketSettings::default(),
            billing_run_at: None,
        }
    }
}

/// An opened core: a migrated database and the domain services over it.
#[derive(Debug, Clone)]
pub struct Core {
    /// The database.
    pub db: Db,
    /// The clock.
    pub clock: SharedClock,
    /// Credential checks.
    pub authenticator: Arc<Authenticator>,
    /// Customer operations.
    pub customers: Customers,
    /// The catalog's plans.
    pub plans: Plans,
    /// Service operations.
    pub services: Services,
    /// Provisioning jobs and drift.
    pub provisioning: provisioning::Provisioning,
    /// Support tickets.
    pub tickets: sla::Tickets,
    /// API key administration.
    pub api_keys: ApiKeys,
    /// The admin key created at the first start of an empty database (shown once).
    pub first_admin_key: Option<String>,
    /// Password hashing, shared by every domain that keeps passwords.
    pub passwords: Passwords,
    /// Webhook endpoints and deliveries.
    pub webhooks: Webhooks,
    /// Routers and IP pools (and the settings static addresses are allocated with).
    pub network: Network,
    /// Every job kind this core runs.
    pub jobs: Registry,
    /// How this process's workers run.
    pub workers: WorkerSettings,
    /// The time zone of daily scheduled tasks.
    pub time_zone: chrono_tz::Tz,
    /// Where principal changes are announced, when set.
    pub revocations: Option<revocations::RevocationConfig>,
    /// The deployment's currency (ISO 4217).
    pub currency: String,
    /// The local time of the daily billing run, if any.
    pub billing_run_at: Option<chrono::NaiveTime>,
}

impl Core {
    /// Connects, applies pending migrations, makes sure the bootstrap key exists and, on
    /// an empty database, creates the first admin key.
    pub async fn open(config: CoreConfig) -> anyhow::Result<Core> {
        billing::set_time_zone(config.time_zone);
        let db = Db::connect(&config.database_url).await?;
        db.migrate().await?;
        let clock = config.clock.clone();
        let api_keys = ApiKeys::new(db.clone(), clock.clone());
        if let Some(key) = &config.bootstrap_api_key {
            api_keys
                .ensure_bootstrap_key(key)
                .await
                .map_err(|e| anyhow::anyhow!("bootstrap API key: {e}"))?;
        }
        let passwords = Passwords::start(config.password_hashing)?;
        let first_admin_key = api_keys
            .create_first_admin_key()
            .await
            .map_err(|e| anyhow::anyhow!("first admin key: {e}"))?;
        let authenticator = Arc::new(Authenticator::with_tokens(
            db.clone(),
            clock.clone(),
            config.tokens,
            passwords.clone(),
        ));
        if let Some(config) = &config.revocations {
            let shared = revocations::SharedAttempts::new(config)
                .map_err(|e| anyhow::anyhow!("LASTMILE_REDIS_URL: {e}"))?;
            authenticator.identity().share_login_attempts(shared);
        }
        let mut jobs = Registry::new();
        jobs::register_builtin(&mut jobs);
        housekeeping::register(&mut jobs, db.clone(), clock.clone(), authenticator.clone());
        webhooks::register(
            &mut jobs,
            db.clone(),
            clock.clone(),
            config.webhooks.clone(),
        )?;
        network::register(&mut jobs, config.network.clone());
        let provisioning =
            provisioning::Provisioning::new(db.clone(), clock.clone(), config.services.clone());
        provisioning::register(&mut jobs, provisioning.clone());
        let services = Services::new(
            db.clone(),
            clock.clone(),
            config.services,
            config.network.clone(),
        );
        services::register(&mut jobs, services.clone());
        provisioning::nas::register(&mut jobs, db.clone(), config.nas);
        services::register_provision(&mut jobs, services.clone());
        sla::check::register(&mut jobs, db.clone(), clock.clone());
        let customers = Customers::new(
            db.clone(),
            clock.clone(),
            config.customers.clone(),
            config.password_policy,
            passwords.clone(),
            services.clone(),
        );
        billing::dunning::register(&mut jobs, db.clone(), clock.clone(), customers.clone());
        billing::runs::register(
            &mut jobs,
            db.clone(),
            clock.clone(),
            config.customers.currency.clone(),
        );
        Ok(Core {
            authenticator,
            network: Network::new(db.clone(), clock.clone(), config.network),
            webhooks: Webhooks::new(db.clone(), clock.clone(), config.webhooks),
            jobs,
            workers: config.workers,
            time_zone: config.time_zone,
            billing_run_at: config.billing_run_at,
            revocations: config.revocations,
            currency: config.customers.currency.clone(),
            plans: Plans::new(db.clone(), clock.clone(), config.customers.currency.clone()),
            customers,
            services,
            provisioning,
            tickets: sla::Tickets::new(db.clone(), clock.clone(), config.tickets),
            passwords,
            api_keys,
            first_admin_key,
            db,
            clock,
        })
    }
}
