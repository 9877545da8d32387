//! `lastmile radius config`: a complete FreeRADIUS 3.2 configuration directory for the
//! current database, so that `freeradius -f -d DIR` serves Lastmile's subscribers with no
//! other step. FreeRADIUS reads its clients only at start: rerun it (and restart the
//! server) after routers change. The test harness writes its servers' configuration with
//! this same function.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use anyhow::Context;
use lastmile_core::db::Db;
use lastmile_core::network;
use lastmile_core::radius::{Client, ServerConfig, SqlTarget, postgres_conninfo, sqlite_path};

/// What to write, besides the database's routers.
#[derive(Debug, Clone)]
pub struct RadiusConfigOptions {
    /// The configuration directory (`freeradius -d DIR`).
    pub dir: PathBuf,
    /// The address FreeRADIUS listens on.
    pub listen: IpAddr,
    /// Its authentication port.
    pub auth_port: u16,
    /// Its accounting port.
    pub acct_port: u16,
    /// A client on 127.0.0.1 with this secret, for `radclient` tests on the server's own
    /// machine (unless a router already has that address).
    pub local_secret: Option<String>,
    /// Requests handled at once (and SQL connections).
    pub threads: u32,
}

impl RadiusConfigOptions {
    /// The standard ports on every address, four threads, no local client.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            listen: IpAddr::from([0, 0, 0, 0]),
            auth_port: 1812,
            acct_port: 1813,
            local_secret: None,
            threads: 4,
        }
    }
}

/// What was written.
#[derive(Debug, Clone)]
pub struct RadiusConfigWritten {
    /// The directory.
    pub dir: PathBuf,
    /// How many routers became clients.
    pub routers: usize,
    /// Whether the 127.0.0.1 client was added.
    pub local_client: bool,
}

/// Where FreeRADIUS finds the database `database_url` names: a SQLite file (its path made
/// absolute, since FreeRADIUS does not run from our directory) or PostgreSQL's
/// `key=value` form.
fn sql_target(database_url: &str) -> anyhow::Result<SqlTarget> {
    if database_url.starts_with("sqlite:") {
        let path = sqlite_path(database_url).map_err(anyhow::Error::msg)?;
        let path = std::path::absolute(&path)
            .with_context(|| format!("the SQLite file {}", path.display()))?;
        return Ok(SqlTarget::Sqlite { path });
    }
    let conninfo = postgres_conninfo(database_url).map_err(anyhow::Error::msg)?;
    Ok(SqlTarget::Postgres { conninfo })
}

/// Writes the directory for the database at `database_url` (migrated first, so that the
/// tables FreeRADIUS reads exist): one client per router, plus the local one if asked.
pub async fn write_radius_config(
    database_url: &str,
    options: &RadiusConfigOptions,
) -> anyhow::Result<RadiusConfigWritten> {
    let database = sql_target(database_url)?;
    let db = Db::connect(database_url).await?;
    db.migrate().await?;
    let routers = network::all_routers_with_secrets(&mut db.conn()).await;
    db.close().await;
    let routers = routers.map_err(|e| anyhow::anyhow!("reading the routers: {e}"))?;
    let mut config = ServerConfig::new(&options.dir, database);
    config.listen = options.listen;
    config.auth_port = options.auth_port;
    config.acct_port = options.acct_port;
    config.threads = options.threads;
    config.clients = routers
        .iter()
        .map(|router| Client {
            name: format!("router-{}-{}", router.id, router.name),
            address: router.ip.to_string(),
            secret: router.secret.clone(),
        })
        .collect();
    let local_taken = routers.iter().any(|r| r.ip == Ipv4Addr::LOCALHOST);
    let local_client = match &options.local_secret {
        Some(secret) if !local_taken => {
            config.clients.push(Client::localhost(secret.clone()));
            true
        }
        _ => false,
    };
    config
        .write()
        .with_context(|| format!("writing {}", options.dir.display()))?;
    Ok(RadiusConfigWritten {
        dir: options.dir.clone(),
        routers: routers.len(),
        local_client,
    })
}

/// The command that runs the server on the written directory.
pub fn freeradius_command(dir: &Path) -> String {
    format!("freeradius -f -l stdout -d {}", dir.display())
}
