//! A complete FreeRADIUS 3.2 configuration directory that authenticates and accounts
//! subscribers from the product's database through the stock SQL schema. Run it with
//! `freeradius -f -l stdout -d DIR`.
//!
//! The configuration is the smallest one that does the job: SQL for authorization,
//! accounting and Simultaneous-Use; PAP, CHAP and MS-CHAP against `Cleartext-Password`; no
//! EAP, certificates or flat files. Writing it again (after routers change) replaces every
//! file in place; FreeRADIUS reads it at start-up, so a restart applies it.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

mod database_url;

pub use database_url::{postgres_conninfo, sqlite_path};

/// The stock queries of each dialect, vendored because `/etc/freeradius` is readable only
/// by its own group, and so that the server runs what this code was tested with.
const SQLITE_QUERIES: &str = include_str!("queries/sqlite.conf");
const POSTGRESQL_QUERIES: &str = include_str!("queries/postgresql.conf");

/// Where FreeRADIUS finds the subscribers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlTarget {
    /// A SQLite file that already holds the FreeRADIUS tables (see [`sqlite_path`]).
    Sqlite {
        /// The file.
        path: PathBuf,
    },
    /// A PostgreSQL database, as a libpq `key=value` string (see [`postgres_conninfo`]).
    Postgres {
        /// The connection string.
        conninfo: String,
    },
}

/// A router (NAS) allowed to send requests, with its shared secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// A label; characters outside `[A-Za-z0-9_-]` become `_` in the file.
    pub name: String,
    /// Its source address, or a network in CIDR form (`10.0.0.0/24`).
    pub address: String,
    /// The shared secret.
    pub secret: String,
}

impl Client {
    /// The client operators test with `radclient` from the server's own machine.
    pub fn localhost(secret: impl Into<String>) -> Client {
        Client {
            name: "localhost".into(),
            address: "127.0.0.1".into(),
            secret: secret.into(),
        }
    }
}

/// What to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The configuration directory (`-d`); logs and the pid file go in it too.
    pub dir: PathBuf,
    /// The address to listen on.
    pub listen: IpAddr,
    /// The authentication port (1812).
    pub auth_port: u16,
    /// The accounting port (1813).
    pub acct_port: u16,
    /// The subscribers' database.
    pub database: SqlTarget,
    /// The routers.
    pub clients: Vec<Client>,
    /// The most requests handled at once; the SQL pool gets as many connections, since a
    /// thread without one answers Access-Reject.
    pub threads: u32,
}

/// Why the configuration was not written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value that cannot be written so that FreeRADIUS reads it back unchanged.
    #[error("{0}")]
    Invalid(String),
    /// Writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl ServerConfig {
    /// The standard ports on every address, four threads, no client yet.
    pub fn new(dir: impl Into<PathBuf>, database: SqlTarget) -> ServerConfig {
        ServerConfig {
            dir: dir.into(),
            listen: IpAddr::from([0, 0, 0, 0]),
            auth_port: 1812,
            acct_port: 1813,
            database,
            clients: Vec::new(),
            threads: 4,
        }
    }

    /// Writes (or rewrites) the directory: `radiusd.conf`, `clients.conf` and the SQL
    /// queries, with `log/` and `run/`. Directories are `0750` and files `0640`, since
    /// FreeRADIUS refuses a world-writable directory and the files hold secrets.
    pub fn write(&self) -> Result<(), ConfigError> {
        let dir = path_text(&self.dir)?;
        let clients = self.clients_conf()?;
        let (dialect, queries) = match &self.database {
            SqlTarget::Sqlite { .. } => ("sqlite", SQLITE_QUERIES),
            SqlTarget::Postgres { .. } => ("postgresql", POSTGRESQL_QUERIES),
        };
        let queries_dir = self.dir.join("mods-config/sql/main").join(dialect);
        for path in [
            &self.dir,
            &self.dir.join("mods-config"),
            &self.dir.join("mods-config/sql"),
            &self.dir.join("mods-config/sql/main"),
            &queries_dir,
            &self.dir.join("log"),
            &self.dir.join("run"),
        ] {
            make_dir(path)?;
        }
        write_file(&queries_dir.join("queries.conf"), queries)?;
        write_file(&self.dir.join("clients.conf"), &clients)?;
        write_file(
            &self.dir.join("radiusd.conf"),
            &self.radiusd_conf(dir, dialect)?,
        )
    }

    fn radiusd_conf(&self, dir: &str, dialect: &str) -> Result<String, ConfigError> {
        let (driver, radius_db) = match &self.database {
            SqlTarget::Sqlite { path } => {
                let path = quote(path_text(path)?, "the SQLite path")?;
                // Writers (accounting, the product) hold the lock for a while under load;
                // the stock 200 ms turned into Access-Rejects.
                let driver = format!(
                    "\t\tsqlite {{\n\t\t\tfilename = {path}\n\t\t\tbusy_timeout = 5000\n\t\t}}"
                );
                (driver, path)
            }
            SqlTarget::Postgres { conninfo } => {
                let driver =
                    "\t\tpostgresql {\n\t\t\tsend_application_name = yes\n\t\t}".to_owned();
                (driver, quote(conninfo, "the PostgreSQL connection")?)
            }
        };
        let threads = self.threads.max(1);
        Ok(fill(
            RADIUSD_CONF,
            &[
                ("DIR", dir),
                ("DIALECT", dialect),
                ("DRIVER", &driver),
                ("RADIUS_DB", &radius_db),
                ("THREADS", &threads.to_string()),
                ("START_SERVERS", &threads.min(2).to_string()),
                ("LISTEN", &self.listen.to_string()),
                ("AUTH_PORT", &self.auth_port.to_string()),
                ("ACCT_PORT", &self.acct_port.to_string()),
            ],
        ))
    }

    fn clients_conf(&self) -> Result<String, ConfigError> {
        let mut text = String::from("# Written by Lastmile: one client per router.\n");
        let mut names = std::collections::HashSet::new();
        let mut addresses = std::collections::HashSet::new();
        for client in &self.clients {
            let address = client_address(&client.address)?;
            if !addresses.insert(address.clone()) {
                return Err(ConfigError::Invalid(format!(
                    "Two clients have the address {address}."
                )));
            }
            if client.secret.is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "The client {} needs a secret.",
                    client.name
                )));
            }
            let secret = quote(&client.secret, "a client secret")?;
            let base = section_name(&client.name);
            let mut name = base.clone();
            let mut n = 1;
            while !names.insert(name.clone()) {
                n += 1;
                name = format!("{base}_{n}");
            }
            // Writing to a String cannot fail.
            let _ = write!(
                text,
                "client {name} {{\n\tipaddr = {address}\n\tsecret = {secret}\n\
                 \trequire_message_authenticator = no\n}}\n"
            );
        }
        Ok(text)
    }
}

/// The template with each `@NAME@` replaced in one pass, so that a value which happens to
/// contain a placeholder (a password) is never substituted again.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find('@') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let value = after.find('@').and_then(|end| {
            let name = &after[..end];
            let value = values.iter().find(|(key, _)| *key == name)?.1;
            Some((value, end))
        });
        match value {
            Some((value, end)) => {
                out.push_str(value);
                rest = &after[end + 1..];
            }
            None => {
                out.push('@');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A client address in the form FreeRADIUS reads: an IP, or an IP and prefix length.
fn client_address(address: &str) -> Result<String, ConfigError> {
    let invalid = || {
        ConfigError::Invalid(format!(
            "{address:?} is not an IP address or a network such as 10.0.0.0/24."
        ))
    };
    let address = address.trim();
    match address.split_once('/') {
        None => Ok(address
            .parse::<IpAddr>()
            .map_err(|_| invalid())?
            .to_string()),
        Some((ip, length)) => {
            let ip = ip.parse::<IpAddr>().map_err(|_| invalid())?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let length = length
                .parse::<u8>()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(invalid)?;
            Ok(format!("{ip}/{length}"))
        }
    }
}

/// A client section name FreeRADIUS accepts: `[A-Za-z0-9_-]`, never empty.
fn section_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        "client".into()
    } else {
        clean
    }
}

/// A FreeRADIUS double-quoted string. FreeRADIUS 3.2's configuration reader takes a
/// backslash and the character after it together: `\"` reads as `"`, anything else as
/// itself, backslash included (`\\` stays two characters). So `"` is escaped and
/// backslashes are not; a value whose backslash would pair with a `"` or with nothing has
/// no spelling and is refused, as are `${` (expanded as a configuration reference inside
/// double quotes) and control characters (they end the line).
fn quote(value: &str, what: &str) -> Result<String, ConfigError> {
    let refused = || {
        ConfigError::Invalid(format!(
            "{what} cannot contain control characters or '${{', nor a backslash at the end or before a quote."
        ))
    };
    if value.chars().any(char::is_control) || value.contains("${") {
        return Err(refused());
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => match chars.next() {
                Some(next) if next != '"' => {
                    quoted.push('\\');
                    quoted.push(next);
                }
                _ => return Err(refused()),
            },
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    Ok(quoted)
}

/// A path as text that goes into the configuration unquoted-safe: the template puts it
/// inside double quotes next to `${…}` references, so it must not need escaping.
fn path_text(path: &Path) -> Result<&str, ConfigError> {
    path.to_str()
        .filter(|p| !p.chars().any(|c| c.is_control() || "$\"\\'".contains(c)))
        .ok_or_else(|| {
            ConfigError::Invalid(format!(
                "{} cannot hold a FreeRADIUS configuration (non-UTF-8, or $, quotes or \\).",
                path.display()
            ))
        })
}

fn make_dir(path: &Path) -> Result<(), ConfigError> {
    let io = |source| ConfigError::Io {
        path: path.to_owned(),
        source,
    };
    std::fs::create_dir_all(path).map_err(io)?;
    set_mode(path, 0o750).map_err(io)
}

/// Writes beside the target and renames, so that a server starting meanwhile reads the old
/// file or the new one, never half of one.
fn write_file(path: &Path, contents: &str) -> Result<(), ConfigError> {
    let io = |source| ConfigError::Io {
        path: path.to_owned(),
        source,
    };
    let mut partial = path.as_os_str().to_owned();
    partial.push(".new");
    let partial = PathBuf::from(partial);
    let mut file = std::fs::File::create(&partial).map_err(io)?;
    set_mode(&partial, 0o640).map_err(io)?;
    file.write_all(contents.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&partial, path).map_err(io)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> std::io::Result<()> {
    Ok(())
}

/// radiusd.conf, with `@NAME@` placeholders. No `user`/`group`: the server runs as whoever
/// starts it. `reject_delay = 0` because the default delays every Access-Reject by a
/// second; no post-auth `sql`, which would store clear passwords in radpostauth.
const RADIUSD_CONF: &str = include_str!("config/radiusd.conf");

#[cfg(test)]
mod tests;
