//! Memory of `lastmile serve` under password-hashing load: how far its resident set grows
//! while customers are created (one argon2id hash each) and staff log in (one argon2id
//! verification each), and how much of it is given back once the load stops. Optionally
//! also under read load on a seeded database. Figures, not a pass/fail test.
//!
//! It runs the real release binary as a child process and talks HTTP to its REST edge:
//!
//! ```sh
//! cargo build --release -p lastmile
//! LASTMILE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!     cargo bench -p lastmile-tests --bench memory
//! ```
//!
//! Every (scenario, concurrency) step runs on a fresh server process, so its peak
//! (`VmHWM` of `/proc/<pid>/status`) is the peak of that step alone (and the core's
//! in-memory login attempt counts start empty). The database is shared by the steps of one
//! run: a fresh PostgreSQL database `lastmile_memory_bench_<random>` (dropped at the end)
//! when `LASTMILE_BENCH_POSTGRES_URL` or `LASTMILE_TEST_POSTGRES_URL` names a server, a
//! SQLite file in a temporary directory otherwise.
//!
//! Per step: `c` client tasks loop for the step's length; on 429 or 503 a task sleeps
//! `Retry-After` seconds (at most 1 s; 1 s when absent) before its next request. `VmRSS` and
//! `Threads` are sampled every 50 ms during the load; "settled" is `VmRSS` 5 s after the
//! last answer. Printed per step: successes/s, the count of each status, p50/p99 latency of
//! the successes, idle RSS (after `/readyz`), peak RSS (`VmHWM`), the most threads seen and
//! the settled RSS and the machine's 1-minute load average (throughput is only comparable
//! at similar load); at the end, each concurrency's throughput as % of the scenario's best.
//!
//! Scenarios:
//! - `creates`: `POST /api/v1/customers` with a unique phone each; success is 201.
//! - `logins`: `POST /api/v1/auth/login`, every other request for one of
//!   `MEMORY_LOGIN_USERS` staff users created beforehand (success 200), the others for an
//!   unknown e-mail, which is checked against the core's dummy hash (success 401). The core
//!   allows 5 attempts a minute per e-mail and per client address, and the edge takes the
//!   client address from the socket peer (never from `X-Forwarded-For`), so by default each
//!   client connection is bound to its own loopback source address (127.0.0.0/8) and
//!   replaced after 5 requests; `MEMORY_LOGIN_SPREAD_ADDRESSES=0` sends everything from
//!   127.0.0.1 instead (and shows the limit: nearly all 429).
//! - `reads`: only with `MEMORY_SEED_CUSTOMERS=N` (N > 0): N customers are inserted by
//!   SQL, then `GET /api/v1/customers/{random id}` and `GET /api/v1/customers?page=N`
//!   alternate at `MEMORY_READ_CONCURRENCY` (default 32).
//!
//! Environment:
//! - `LASTMILE_BIN`: the binary (default `$CARGO_TARGET_DIR/release/lastmile`, else
//!   `target/release/lastmile` of the workspace);
//! - `MEMORY_CONCURRENCY`: comma-separated concurrencies (default `1,4,16,64`);
//! - `MEMORY_SECONDS`: length of a step (default 10);
//! - `MEMORY_SCENARIOS`: which to run (default `creates,logins,reads`);
//! - `MEMORY_LOGIN_USERS` (default 128), `MEMORY_LOGIN_SPREAD_ADDRESSES` (default 1),
//!   `MEMORY_SEED_CUSTOMERS` (default 0), `MEMORY_READ_CONCURRENCY` (default 32).
//!
//! The server inherits the environment, so e.g. `MALLOC_ARENA_MAX=1` or `RUST_LOG` set for
//! the bench apply to the server too.

use std::collections::BTreeMap;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rand::Rng;
use reqwest::StatusCode;
use serde_json::json;

/// How often `/proc/<pid>/status` is read during a step.
const SAMPLE_EVERY: Duration = Duration::from_millis(50);
/// How long after the load stops the "settled" RSS is read.
const SETTLE: Duration = Duration::from_secs(5);
/// Login attempts the core allows per client address and per e-mail within a minute.
const LOGIN_ATTEMPTS_PER_ADDRESS: u32 = 5;
/// The longest a client waits on `Retry-After`.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(1);
const PASSWORD: &str = "Str0ng!pass";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn env_text(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    Creates,
    Logins,
    Reads,
}

impl Scenario {
    fn label(self) -> &'static str {
        match self {
            Scenario::Creates => "creates",
            Scenario::Logins => "logins",
            Scenario::Reads => "reads",
        }
    }
}

struct Config {
    bin: PathBuf,
    concurrency: Vec<usize>,
    length: Duration,
    scenarios: Vec<Scenario>,
    login_users: u64,
    spread_addresses: bool,
    seed_customers: u64,
    read_concurrency: usize,
}

impl Config {
    fn from_env() -> anyhow::Result<Config> {
        let bin = match env_text("LASTMILE_BIN") {
            Some(bin) => PathBuf::from(bin),
            None => {
                let target = env_text("CARGO_TARGET_DIR").map_or_else(
                    || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
                    PathBuf::from,
                );
                target.join("release/lastmile")
            }
        };
        if !bin.is_file() {
            bail!(
                "no lastmile binary at {} (build it with `cargo build --release -p lastmile` \
                 or set LASTMILE_BIN)",
                bin.display()
            );
        }
        let concurrency = env_text("MEMORY_CONCURRENCY")
            .unwrap_or_else(|| "1,4,16,64".into())
            .split(',')
            .map(|c| c.trim().parse::<usize>())
            .collect::<Result<Vec<_>, _>>()
            .context("MEMORY_CONCURRENCY: comma-separated numbers")?;
        let scenarios = env_text("MEMORY_SCENARIOS")
            .unwrap_or_else(|| "creates,logins,reads".into())
            .split(',')
            .map(|s| match s.trim() {
                "creates" => Ok(Scenario::Creates),
                "logins" => Ok(Scenario::Logins),
                "reads" => Ok(Scenario::Reads),
                other => Err(anyhow::anyhow!(
                    "MEMORY_SCENARIOS: unknown scenario {other}"
                )),
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Config {
            bin,
            concurrency: concurrency.into_iter().filter(|&c| c > 0).collect(),
            length: Duration::from_secs(env_number("MEMORY_SECONDS", 10).max(1)),
            scenarios,
            login_users: env_number("MEMORY_LOGIN_USERS", 128).max(1),
            spread_addresses: env_number("MEMORY_LOGIN_SPREAD_ADDRESSES", 1) != 0,
            seed_customers: env_number("MEMORY_SEED_CUSTOMERS", 0),
            read_concurrency: env_number("MEMORY_READ_CONCURRENCY", 32).max(1) as usize,
        })
    }
}

// ---------------------------------------------------------------------------------------
// The database of one run.

enum Database {
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
}

impl Database {
    async fn create() -> anyhow::Result<Database> {
        let admin_url = env_text("LASTMILE_BENCH_POSTGRES_URL")
            .or_else(|| env_text("LASTMILE_TEST_POSTGRES_URL"));
        match admin_url {
            Some(admin_url) => {
                let name = format!("lastmile_memory_bench_{}", uuid::Uuid::new_v4().simple());
                let admin = sqlx::PgPool::connect(&admin_url)
                    .await
                    .context("connect to the PostgreSQL admin URL")?;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&admin)
                    .await
                    .context("create the bench database")?;
                admin.close().await;
                let url = with_database(&admin_url, &name);
                Ok(Database::Postgres {
                    admin_url,
                    name,
                    url,
                })
            }
            None => {
                let dir = tempfile::tempdir()?;
                let url = format!("sqlite://{}", dir.path().join("lastmile.db").display());
                Ok(Database::Sqlite { _dir: dir, url })
            }
        }
    }

    fn url(&self) -> &str {
        match self {
            Database::Postgres { url, .. } | Database::Sqlite { url, .. } => url,
        }
    }

    fn engine(&self) -> &'static str {
        match self {
            Database::Postgres { .. } => "PostgreSQL",
            Database::Sqlite { .. } => "SQLite",
        }
    }

    async fn drop_database(&self) {
        if let Database::Postgres {
            admin_url, name, ..
        } = self
            && let Ok(admin) = sqlx::PgPool::connect(admin_url).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&admin)
            .await;
            admin.close().await;
        }
    }

    /// Inserts `count` customers in one statement (skipping a portal id the earlier steps
    /// happened to take); returns the live customers' id range and count.
    async fn seed_customers(&self, count: u64) -> anyhow::Result<(i64, i64, i64)> {
        // Customers with a fixed (valid, never matching) argon2id PHC string: no hashing.
        const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA";
        let range = "SELECT min(id), max(id), count(*) FROM customers WHERE deleted_at IS NULL";
        match self {
            Database::Postgres { url, .. } => {
                let pool = sqlx::PgPool::connect(url).await?;
                sqlx::query(
                    "INSERT INTO customers (portal_id, first_name, last_name, email, phone, \
                     portal_password_hash, street, city, country, auto_suspension, \
                     suspend_after_days, status, currency, created_at, updated_at, uuid) \
                     SELECT (90000000 - g)::text, 'Customer' || g, 'Seeded', \
                     'seeded' || g || '@example.com', '+1555' || lpad(g::text, 7, '0'), $2, \
                     'Main Street ' || g, 'Nairobi', 'KE', true, 14, 'active', 'USD', now(), now(), \
                     gen_random_uuid()::text \
                     FROM generate_series(1, $1) AS g ON CONFLICT DO NOTHING",
                )
                .bind(count as i64)
                .bind(HASH)
                .execute(&pool)
                .await?;
                sqlx::query("ANALYZE customers").execute(&pool).await?;
                let row: (i64, i64, i64) = sqlx::query_as(range).fetch_one(&pool).await?;
                pool.close().await;
                Ok(row)
            }
            Database::Sqlite { url, .. } => {
                let pool = sqlx::SqlitePool::connect(url).await?;
                sqlx::query(
                    "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?1) \
                     INSERT OR IGNORE INTO customers (portal_id, first_name, last_name, email, \
                     phone, portal_password_hash, street, city, country, auto_suspension, \
                     suspend_after_days, status, currency, created_at, updated_at, uuid) \
                     SELECT CAST(90000000 - n AS TEXT), 'Customer' || n, 'Seeded', \
                     'seeded' || n || '@example.com', '+1555' || substr('0000000' || n, -7), ?2, \
                     'Main Street ' || n, 'Nairobi', 'KE', 1, 14, 'active', 'USD', \
                     strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), \
                     strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), \
                     lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || \
                     substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' || \
                     hex(randomblob(6))) FROM g",
                )
                .bind(count as i64)
                .bind(HASH)
                .execute(&pool)
                .await?;
                sqlx::query("ANALYZE").execute(&pool).await?;
                let row: (i64, i64, i64) = sqlx::query_as(range).fetch_one(&pool).await?;
                pool.close().await;
                Ok(row)
            }
        }
    }
}

/// `url` with its database name replaced by `name` (query parameters kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{name}{query}", &base[..path_start])
}

// ---------------------------------------------------------------------------------------
// The server process and its memory.

/// Figures of `/proc/<pid>/status`, in kB.
#[derive(Clone, Copy, Debug, Default)]
struct ProcStatus {
    rss_kb: u64,
    hwm_kb: u64,
    threads: u64,
}

fn proc_status(pid: u32) -> Option<ProcStatus> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let mut status = ProcStatus::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let number = || {
            value
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        match key {
            "VmRSS" => status.rss_kb = number(),
            "VmHWM" => status.hwm_kb = number(),
            "Threads" => status.threads = number(),
            _ => {}
        }
    }
    Some(status)
}

/// The 1-minute load average: the bench shares the machine with the server (and maybe
/// others), so throughput is only comparable between runs at similar load.
fn loadavg() -> f64 {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

struct Server {
    child: Child,
    pid: u32,
    base_url: String,
    log: PathBuf,
}

impl Server {
    async fn start(
        bin: &Path,
        database_url: &str,
        key: &str,
        log: PathBuf,
    ) -> anyhow::Result<Server> {
        let http = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let grpc = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let log_file = fs::File::create(&log)?;
        let child = Command::new(bin)
            .arg("serve")
            .args(["--database-url", database_url])
            .args(["--http-addr", &http.to_string()])
            .args(["--grpc-addr", &grpc.to_string()])
            .arg("--rate-limit-disabled")
            .args(["--bootstrap-api-key", key])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        let mut server = Server {
            pid: child.id(),
            child,
            base_url: format!("http://{http}"),
            log,
        };
        let client = reqwest::Client::builder().no_proxy().build()?;
        let started = Instant::now();
        loop {
            if let Some(exit) = server.child.try_wait()? {
                bail!("lastmile exited with {exit}:\n{}", server.log_tail());
            }
            if let Ok(response) = client.get(server.url("/readyz")).send().await
                && response.status() == StatusCode::OK
            {
                return Ok(server);
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!("lastmile not ready after 60 s:\n{}", server.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// SIGTERM (graceful), then SIGKILL after 15 s.
    async fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------
// Load.

/// What the client tasks share during a step.
struct Load {
    base_url: String,
    key: String,
    scenario: Scenario,
    deadline: Instant,
    /// Makes phone numbers and unknown e-mails unique over the whole run.
    sequence: Arc<AtomicU64>,
    /// The next loopback source address (offset in 127.0.0.0/8).
    next_address: Arc<AtomicU32>,
    spread_addresses: bool,
    login_users: u64,
    /// (first id, last id, live count) of customers, for reads.
    customers: (i64, i64, i64),
}

#[derive(Default)]
struct Tally {
    statuses: BTreeMap<u16, u64>,
    transport_errors: u64,
    successes: u64,
    latencies: Vec<Duration>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        for (status, count) in other.statuses {
            *self.statuses.entry(status).or_default() += count;
        }
        self.transport_errors += other.transport_errors;
        self.successes += other.successes;
        self.latencies.extend(other.latencies);
    }

    fn count(&self, status: u16) -> u64 {
        self.statuses.get(&status).copied().unwrap_or(0)
    }

    fn other(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|(s, _)| ![200, 201, 401, 429, 503].contains(*s))
            .map(|(_, c)| c)
            .sum::<u64>()
            + self.transport_errors
    }
}

fn client(local: Option<IpAddr>, idle: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(idle)
        .local_address(local)
        .build()
        .expect("HTTP client")
}

fn loopback(offset: u32) -> IpAddr {
    // 127.0.0.2 onwards; the whole of 127.0.0.0/8 is the loopback interface on Linux.
    let base = u32::from(Ipv4Addr::new(127, 0, 0, 2));
    IpAddr::V4(Ipv4Addr::from(base + offset % 0x00ff_fff0))
}

/// One client task: requests until the deadline.
async fn worker(load: Arc<Load>, shared: reqwest::Client) -> Tally {
    let mut tally = Tally {
        latencies: Vec::with_capacity(1024),
        ..Tally::default()
    };
    let spread = load.scenario == Scenario::Logins && load.spread_addresses;
    let mut http = shared;
    let mut sent_on_address = 0u32;
    while Instant::now() < load.deadline {
        if spread && sent_on_address.is_multiple_of(LOGIN_ATTEMPTS_PER_ADDRESS) {
            let offset = load.next_address.fetch_add(1, Ordering::Relaxed);
            http = client(Some(loopback(offset)), 1);
        }
        sent_on_address += 1;
        let n = load.sequence.fetch_add(1, Ordering::Relaxed);
        let (request, expected) = match load.scenario {
            Scenario::Creates => (
                http.post(format!("{}/api/v1/customers", load.base_url))
                    .header("X-API-Key", &load.key)
                    .json(&json!({
                        "first_name": "Amina",
                        "last_name": "Otieno",
                        "password": PASSWORD,
                        "phone": format!("+2547{:08}", n % 100_000_000),
                    })),
                StatusCode::CREATED,
            ),
            Scenario::Logins => {
                let (email, expected) = if n.is_multiple_of(2) {
                    (
                        format!("bench{}@example.com", (n / 2) % load.login_users),
                        StatusCode::OK,
                    )
                } else {
                    (format!("nobody{n}@example.com"), StatusCode::UNAUTHORIZED)
                };
                (
                    http.post(format!("{}/api/v1/auth/login", load.base_url))
                        .json(&json!({"email": email, "password": PASSWORD})),
                    expected,
                )
            }
            Scenario::Reads => {
                let (first, last, count) = load.customers;
                let mut rng = rand::rng();
                let path = if n.is_multiple_of(2) {
                    format!("/api/v1/customers/{}", rng.random_range(first..=last))
                } else {
                    let pages = (count / 25).max(1);
                    format!("/api/v1/customers?page={}", rng.random_range(1..=pages))
                };
                (
                    http.get(format!("{}{path}", load.base_url))
                        .header("X-API-Key", &load.key),
                    StatusCode::OK,
                )
            }
        };
        let sent = Instant::now();
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                let body = response.bytes().await;
                *tally.statuses.entry(status.as_u16()).or_default() += 1;
                if status == expected && body.is_ok() {
                    tally.successes += 1;
                    tally.latencies.push(sent.elapsed());
                }
                if status == StatusCode::TOO_MANY_REQUESTS
                    || status == StatusCode::SERVICE_UNAVAILABLE
                {
                    let wait = retry_after.map_or(RETRY_AFTER_CAP, Duration::from_secs);
                    tokio::time::sleep(wait.min(RETRY_AFTER_CAP)).await;
                }
            }
            Err(_) => {
                tally.transport_errors += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    tally
}

struct Step {
    scenario: Scenario,
    concurrency: usize,
    elapsed: Duration,
    tally: Tally,
    idle: ProcStatus,
    peak_hwm_kb: u64,
    max_sampled_rss_kb: u64,
    max_threads: u64,
    settled: ProcStatus,
    /// The machine's 1-minute load average when the load stopped.
    loadavg: f64,
}

impl Step {
    fn per_second(&self) -> f64 {
        self.tally.successes as f64 / self.elapsed.as_secs_f64()
    }

    fn quantile(&self, q: f64) -> f64 {
        let l = &self.tally.latencies;
        l.get(((l.len() as f64 * q) as usize).min(l.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    }
}

fn header() -> String {
    format!(
        "{:<8} {:>5} {:>8} {:>6} {:>6} {:>6} {:>6} {:>5} {:>6} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8} {:>9} {:>5}",
        "scenario",
        "conc",
        "ok/s",
        "200",
        "201",
        "401",
        "429",
        "503",
        "other",
        "p50 ms",
        "p99 ms",
        "idle MB",
        "peak MB",
        "max MB",
        "threads",
        "settled MB",
        "load"
    )
}

fn row(step: &Step) -> String {
    let t = &step.tally;
    format!(
        "{:<8} {:>5} {:>8.1} {:>6} {:>6} {:>6} {:>6} {:>5} {:>6} {:>8.1} {:>8.1} {:>8.1} {:>9.1} {:>8.1} {:>8} {:>9.1} {:>5.1}",
        step.scenario.label(),
        step.concurrency,
        step.per_second(),
        t.count(200),
        t.count(201),
        t.count(401),
        t.count(429),
        t.count(503),
        t.other(),
        step.quantile(0.50),
        step.quantile(0.99),
        mb(step.idle.rss_kb),
        mb(step.peak_hwm_kb),
        mb(step.max_sampled_rss_kb),
        step.max_threads,
        mb(step.settled.rss_kb),
        step.loadavg,
    )
}

/// Runs one step against `server`: load for `length`, then 5 s of rest.
async fn run_step(
    server: &Server,
    base: &Load,
    scenario: Scenario,
    concurrency: usize,
    length: Duration,
) -> Step {
    let pid = server.pid;
    let idle = proc_status(pid).unwrap_or_default();
    let load = Arc::new(Load {
        base_url: server.base_url.clone(),
        key: base.key.clone(),
        scenario,
        deadline: Instant::now() + length,
        sequence: base.sequence.clone(),
        next_address: base.next_address.clone(),
        spread_addresses: base.spread_addresses,
        login_users: base.login_users,
        customers: base.customers,
    });
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let (mut max_rss, mut max_threads) = (0, 0);
            let mut ticker = tokio::time::interval(SAMPLE_EVERY);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            while sampling.load(Ordering::Relaxed) {
                ticker.tick().await;
                if let Some(status) = proc_status(pid) {
                    max_rss = max_rss.max(status.rss_kb);
                    max_threads = max_threads.max(status.threads);
                }
            }
            (max_rss, max_threads)
        })
    };
    let shared = client(None, concurrency);
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| tokio::spawn(worker(load.clone(), shared.clone())))
        .collect();
    let mut tally = Tally::default();
    for w in workers {
        tally.merge(w.await.expect("client task"));
    }
    let elapsed = started.elapsed();
    let load_average = loadavg();
    sampling.store(false, Ordering::Relaxed);
    let (max_sampled_rss_kb, max_threads) = sampler.await.expect("sampler");
    drop(shared);
    tokio::time::sleep(SETTLE).await;
    let settled = proc_status(pid).unwrap_or_default();
    tally.latencies.sort_unstable();
    Step {
        scenario,
        concurrency,
        elapsed,
        tally,
        idle,
        peak_hwm_kb: settled.hwm_kb,
        max_sampled_rss_kb,
        max_threads,
        settled,
        loadavg: load_average,
    }
}

/// Creates the login scenario's staff users (on a server of its own).
async fn create_users(server: &Server, key: &str, count: u64) -> anyhow::Result<()> {
    let http = client(None, 4);
    let next = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (http, next, url, key) = (
                http.clone(),
                next.clone(),
                server.url("/api/v1/users"),
                key.to_owned(),
            );
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return Ok(());
                    }
                    let response = http
                        .post(&url)
                        .header("X-API-Key", &key)
                        .json(&json!({
                            "name": format!("Bench User {i}"),
                            "email": format!("bench{i}@example.com"),
                            "password": PASSWORD,
                            "role": "support",
                        }))
                        .send()
                        .await?;
                    let status = response.status();
                    if status != StatusCode::CREATED {
                        let body = response.text().await.unwrap_or_default();
                        bail!("creating user {i}: {status} {body}");
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(())
}

async fn run(config: &Config, database: &Database, logs: &Path) -> anyhow::Result<Vec<Step>> {
    let key = format!("lm_membench_{}", uuid::Uuid::new_v4().simple());
    let mut base = Load {
        base_url: String::new(),
        key: key.clone(),
        scenario: Scenario::Creates,
        deadline: Instant::now(),
        sequence: Arc::new(AtomicU64::new(0)),
        next_address: Arc::new(AtomicU32::new(0)),
        spread_addresses: config.spread_addresses,
        login_users: config.login_users,
        customers: (1, 1, 1),
    };
    let mut steps = Vec::new();
    let mut server_number = 0;
    let mut next_log = || {
        server_number += 1;
        logs.join(format!("server-{server_number}.log"))
    };
    println!("\n{}", header());
    for &scenario in &config.scenarios {
        let concurrencies = match scenario {
            Scenario::Creates | Scenario::Logins => config.concurrency.clone(),
            Scenario::Reads if config.seed_customers == 0 => {
                println!("reads: skipped (set MEMORY_SEED_CUSTOMERS to run)");
                continue;
            }
            Scenario::Reads => vec![config.read_concurrency],
        };
        match scenario {
            Scenario::Logins => {
                let started = Instant::now();
                let server = Server::start(&config.bin, database.url(), &key, next_log()).await?;
                create_users(&server, &key, config.login_users).await?;
                server.stop().await;
                println!(
                    "logins: created {} staff users in {:.1} s (on a separate server process)",
                    config.login_users,
                    started.elapsed().as_secs_f64()
                );
            }
            Scenario::Reads => {
                let status = Command::new(&config.bin)
                    .args(["migrate", "--database-url", database.url()])
                    .stdout(Stdio::null())
                    .status()?;
                anyhow::ensure!(status.success(), "lastmile migrate failed");
                let started = Instant::now();
                base.customers = database.seed_customers(config.seed_customers).await?;
                println!(
                    "reads: seeded {} customers in {:.1} s ({} live, ids {}..={})",
                    config.seed_customers,
                    started.elapsed().as_secs_f64(),
                    base.customers.2,
                    base.customers.0,
                    base.customers.1
                );
            }
            Scenario::Creates => {}
        }
        for concurrency in concurrencies {
            let server = Server::start(&config.bin, database.url(), &key, next_log()).await?;
            let step = run_step(&server, &base, scenario, concurrency, config.length).await;
            server.stop().await;
            println!("{}", row(&step));
            steps.push(step);
        }
    }
    Ok(steps)
}

fn summary(config: &Config, steps: &[Step]) {
    println!("\nSummary (ok/s = expected answers per second; peak = VmHWM of the step's process)");
    println!("{}", header());
    for step in steps {
        println!("{}", row(step));
    }
    println!("\nThroughput as % of the best concurrency of its scenario:");
    for scenario in &config.scenarios {
        let of: Vec<&Step> = steps.iter().filter(|s| s.scenario == *scenario).collect();
        let best = of.iter().map(|s| s.per_second()).fold(0.0, f64::max);
        if of.is_empty() || best <= 0.0 {
            continue;
        }
        let cells: Vec<String> = of
            .iter()
            .map(|s| format!("c={}: {:.0}%", s.concurrency, 100.0 * s.per_second() / best))
            .collect();
        println!(
            "{:<8} {}  (best {:.1}/s)",
            scenario.label(),
            cells.join("  "),
            best
        );
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = Config::from_env()?;
    let database = Database::create().await?;
    let logs = tempfile::tempdir()?;
    println!(
        "lastmile memory bench: {} on {}; {} s per step, concurrency {:?}, {} CPUs; \
         a fresh server process per step; RSS sampled every {} ms, settled = {} s after the load",
        config.bin.display(),
        database.engine(),
        config.length.as_secs(),
        config.concurrency,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        SAMPLE_EVERY.as_millis(),
        SETTLE.as_secs(),
    );
    let malloc: Vec<String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("MALLOC_") || k.starts_with("GLIBC_TUNABLES"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !malloc.is_empty() {
        println!("allocator environment: {}", malloc.join(" "));
    }
    if config.scenarios.contains(&Scenario::Logins) {
        println!(
            "logins: {} users; half the requests for an unknown e-mail; {}",
            config.login_users,
            if config.spread_addresses {
                "each connection from its own loopback address, replaced after 5 requests"
            } else {
                "all from 127.0.0.1"
            }
        );
    }
    let result = run(&config, &database, logs.path()).await;
    database.drop_database().await;
    let steps = result?;
    summary(&config, &steps);
    Ok(())
}
