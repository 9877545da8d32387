//! GET one customer, three ways, at the same concurrency, on PostgreSQL seeded with
//! 100,000 customers:
//!
//! 1. directly over gRPC to the core;
//! 2. through the REST edge with authentication and rate limiting (the normal edge);
//! 3. through a REST edge whose rate limits live in Redis (shared by every edge of a
//!    deployment; `BENCH_REDIS_URL`, default redis://127.0.0.1:6379);
//! 4. through a REST edge without them (credential still forwarded; the core still
//!    authenticates), to price the edge's own auth and limits.
//!
//! The machine is shared, and its load drifts over a run, so the scenarios are interleaved
//! round by round, in alternating order (1 2 3, 3 2 1, …), after a warm-up of each: drift
//! and whatever one scenario leaves behind for the next then touch every scenario alike. Each ratio is computed within a round and then summarised, and every
//! figure is given as the median over the rounds with its spread (min–max). Process CPU
//! time per request (client, edge and core all run in this process) is printed beside the
//! throughput: it hardly depends on the load of the rest of the machine, and the difference
//! between the two edges is what the edge's auth and limits cost. The Redis server's CPU
//! time per request (from its `INFO cpu`) is printed too: the shared edge's limits cost
//! that process as well, on the same CPUs, and so are the budget scripts it ran per request
//! (below one: batches and leases). The load average is
//! printed at the start, per round and at the end. Figures, not a pass/fail test.
//!
//! ```sh
//! LASTMILE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!     cargo bench -p lastmile-tests --bench edge_vs_grpc
//! ```
//!
//! Environment:
//! - `LASTMILE_BENCH_POSTGRES_URL` (or `LASTMILE_TEST_POSTGRES_URL`): the server;
//! - `BENCH_ROUNDS` (default 5): measured rounds; fewer than 5 gives a spread of little use;
//! - `BENCH_SECONDS` (default 8): length of one scenario's run in a round;
//! - `BENCH_WARMUP_SECONDS` (default 3): unmeasured run of each scenario before round 1;
//! - `BENCH_CONCURRENCY` (default 32): requests in flight;
//! - `BENCH_SCENARIOS` (default `grpc,limited,shared,open`): which to run, e.g. `limited` alone
//!   under a profiler.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lastmile::{Role, Settings};
use lastmile_proto::v1::customer_service_client::CustomerServiceClient;
use lastmile_proto::v1::{CustomerRef, GetCustomerRequest, customer_ref::Key};
use lastmile_tests::{Engine, TestDatabase};
use rand::Rng;
use tonic::transport::{Channel, Endpoint};

const CUSTOMERS: i64 = 100_000;

/// Rounds below which the spread is not worth much.
const FEWEST_USEFUL_ROUNDS: u64 = 5;

/// Clock ticks per second of `/proc/<pid>/stat` (`USER_HZ`, 100 on Linux).
const USER_HZ: f64 = 100.0;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    Grpc,
    EdgeWithAuthAndLimits,
    EdgeWithSharedLimits,
    EdgeWithoutThem,
}

impl Scenario {
    const ALL: [Scenario; 4] = [
        Scenario::Grpc,
        Scenario::EdgeWithAuthAndLimits,
        Scenario::EdgeWithSharedLimits,
        Scenario::EdgeWithoutThem,
    ];

    fn label(self) -> &'static str {
        match self {
            Scenario::Grpc => "gRPC direct (GetCustomer)",
            Scenario::EdgeWithAuthAndLimits => "REST edge, auth + rate limits",
            Scenario::EdgeWithSharedLimits => "REST edge, limits shared in Redis",
            Scenario::EdgeWithoutThem => "REST edge, no edge auth/limits",
        }
    }

    /// The name `BENCH_SCENARIOS` uses.
    fn name(self) -> &'static str {
        match self {
            Scenario::Grpc => "grpc",
            Scenario::EdgeWithAuthAndLimits => "limited",
            Scenario::EdgeWithSharedLimits => "shared",
            Scenario::EdgeWithoutThem => "open",
        }
    }
}

/// The scenarios named in `BENCH_SCENARIOS`, in the fixed order of `Scenario::ALL`.
fn chosen_scenarios() -> anyhow::Result<Vec<Scenario>> {
    let Ok(list) = std::env::var("BENCH_SCENARIOS") else {
        return Ok(Scenario::ALL.to_vec());
    };
    let names: Vec<&str> = list.split(',').map(str::trim).collect();
    if let Some(unknown) = names
        .iter()
        .find(|n| !Scenario::ALL.iter().any(|s| s.name() == **n))
    {
        anyhow::bail!(
            "BENCH_SCENARIOS: unknown scenario {unknown:?} (grpc, limited, shared, open)"
        );
    }
    Ok(Scenario::ALL
        .into_iter()
        .filter(|s| names.contains(&s.name()))
        .collect())
}

/// One scenario's run.
#[derive(Clone, Copy, Default)]
struct Figures {
    requests_per_second: f64,
    p50: Duration,
    p99: Duration,
    /// Process CPU time (user + system) per answered request, in microseconds.
    cpu_us_per_request: f64,
    /// The Redis server's CPU time per answered request, in microseconds (it is another
    /// process, so not in the figure above).
    redis_us_per_request: f64,
    /// Budget scripts Redis ran per answered request.
    redis_calls_per_request: f64,
    errors: u64,
}

/// The clients, made once so that every run (warm-up included) reuses their connections.
struct Target {
    grpc: CustomerServiceClient<Channel>,
    http: reqwest::Client,
    /// The base URL of each edge, parsed once: parsing a whole URL (host included) per
    /// request would cost the load generator, on the same CPUs, more than some of what
    /// is measured.
    limited_edge: reqwest::Url,
    shared_edge: reqwest::Url,
    open_edge: reqwest::Url,
    key: String,
    /// `host:port` of the Redis the shared edge uses.
    redis: String,
}

/// The 1-, 5- and 15-minute load averages as `/proc/loadavg` gives them.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// This process's CPU time so far (user + system, all threads), from `/proc/self/stat`.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at field 3, the state;
    // utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(ticks as f64 / USER_HZ))
}

/// A section of `INFO` from the Redis server at `addr`.
fn redis_info(addr: &str, section: &str) -> Option<String> {
    use std::io::{BufRead, BufReader, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(format!("INFO {section}\r\n").as_bytes())
        .ok()?;
    let mut reader = BufReader::new(stream);
    let mut header = String::new();
    reader.read_line(&mut header).ok()?;
    let length: usize = header.trim().strip_prefix('$')?.parse().ok()?;
    let mut body = vec![0; length];
    std::io::Read::read_exact(&mut reader, &mut body).ok()?;
    String::from_utf8(body).ok()
}

/// What the Redis server at `addr` has done so far: its CPU time (user + system) and the
/// scripts it has run.
#[derive(Clone, Copy)]
struct RedisWork {
    cpu: Duration,
    scripts: u64,
}

fn redis_work(addr: &str) -> Option<RedisWork> {
    let cpu = redis_info(addr, "cpu")?;
    let field = |name: &str| -> Option<f64> {
        cpu.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))?
            .trim()
            .parse()
            .ok()
    };
    let cpu = Duration::from_secs_f64(field("used_cpu_user")? + field("used_cpu_sys")?);
    // cmdstat_evalsha:calls=N,usec=…; absent before the first script.
    let stats = redis_info(addr, "commandstats")?;
    let scripts = stats
        .lines()
        .find_map(|l| l.strip_prefix("cmdstat_evalsha:calls="))
        .and_then(|rest| rest.split(',').next()?.parse().ok())
        .unwrap_or(0);
    Some(RedisWork { cpu, scripts })
}

/// `host:port` of a `redis://host:port[/db]` URL.
fn redis_address(url: &str) -> String {
    let rest = url.strip_prefix("redis://").unwrap_or(url);
    let rest = rest.rsplit('@').next().unwrap_or(rest);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

/// Median, least and greatest of some figures.
#[derive(Clone, Copy)]
struct Summary {
    median: f64,
    min: f64,
    max: f64,
}

impl Summary {
    fn of(values: impl IntoIterator<Item = f64>) -> Summary {
        let mut v: Vec<f64> = values.into_iter().collect();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = match n {
            0 => f64::NAN,
            _ if n % 2 == 1 => v[n / 2],
            _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        };
        Summary {
            median,
            min: v.first().copied().unwrap_or(f64::NAN),
            max: v.last().copied().unwrap_or(f64::NAN),
        }
    }

    /// The width of the range as a percentage of the median.
    fn spread_percent(&self) -> f64 {
        100.0 * (self.max - self.min) / self.median
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let url = std::env::var("LASTMILE_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var(lastmile_tests::POSTGRES_URL_VAR))
        .ok()
        .filter(|u| !u.is_empty());
    let Some(url) = url else {
        eprintln!(
            "edge_vs_grpc: set LASTMILE_BENCH_POSTGRES_URL (or LASTMILE_TEST_POSTGRES_URL) to run"
        );
        return Ok(());
    };
    let scenarios = chosen_scenarios()?;
    let seconds = env_number("BENCH_SECONDS", 8);
    let warm_up = env_number("BENCH_WARMUP_SECONDS", 3);
    let concurrency = env_number("BENCH_CONCURRENCY", 32).max(1) as usize;
    let rounds = env_number("BENCH_ROUNDS", FEWEST_USEFUL_ROUNDS).max(1);
    let database = create_database(&url).await?;

    let key = format!("lm_benchkey_{}", uuid::Uuid::new_v4().simple());
    let stack = lastmile::start(
        Role::Serve,
        Settings {
            database_url: database.url.clone(),
            http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            bootstrap_api_key: Some(key.clone()),
            // High enough never to refuse, so the limiter does its full work on every call.
            rate_limit_per_minute: 1_000_000_000,
            ..Settings::default()
        },
    )
    .await?;
    let grpc_addr = stack.grpc_addr.expect("core address");
    let open = lastmile::start(
        Role::Edge,
        Settings {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            core_url: format!("http://{grpc_addr}"),
            rate_limits_enabled: false,
            ..Settings::default()
        },
    )
    .await?;
    // An edge whose budgets live in Redis (BENCH_REDIS_URL, default the machine's).
    let redis_url =
        std::env::var("BENCH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let shared = lastmile::start(
        Role::Edge,
        Settings {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            core_url: format!("http://{grpc_addr}"),
            rate_limit_per_minute: 1_000_000_000,
            redis_url: Some(redis_url.clone()),
            redis_prefix: format!("lmbench{}", uuid::Uuid::new_v4().simple()),
            ..Settings::default()
        },
    )
    .await?;
    seed(stack.core.as_ref().expect("core in process")).await?;
    let channel = Endpoint::from_shared(format!("http://{grpc_addr}"))?
        .tcp_nodelay(true)
        .connect()
        .await?;
    let target = Arc::new(Target {
        grpc: CustomerServiceClient::new(channel),
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency)
            .build()?,
        limited_edge: edge_url(stack.http_addr)?,
        shared_edge: edge_url(shared.http_addr)?,
        open_edge: edge_url(open.http_addr)?,
        key,
        redis: redis_address(&redis_url),
    });

    println!(
        "GET one of {CUSTOMERS} customers on PostgreSQL; concurrency {concurrency}; {rounds} rounds \
         of {seconds} s per scenario, interleaved ({}), after a {warm_up} s warm-up of each; {} CPUs",
        scenarios
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(" "),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    if rounds < FEWEST_USEFUL_ROUNDS {
        println!("(fewer than {FEWEST_USEFUL_ROUNDS} rounds: take the spread with salt)");
    }
    println!("load average (1, 5, 15 min) at start: {}", load_average());
    if warm_up > 0 {
        for scenario in &scenarios {
            run(
                &target,
                *scenario,
                concurrency,
                Duration::from_secs(warm_up),
            )
            .await;
        }
    }

    // measured[round][i]: scenario i's figures in that round.
    let mut measured: Vec<Vec<Figures>> = Vec::new();
    println!(
        "\n{:<6} {:<32} {:>9} {:>8} {:>8} {:>11} {:>12} {:>11} {:>7}",
        "round",
        "scenario",
        "req/s",
        "p50 ms",
        "p99 ms",
        "CPU us/req",
        "Redis us/req",
        "Redis calls",
        "errors"
    );
    for round in 1..=rounds {
        // Every other round runs the scenarios in the reverse order, so that none is always
        // the one that runs after another (the load one leaves behind: vacuum, checkpoints,
        // connection pools) and an order effect cancels out over the rounds.
        let mut order: Vec<usize> = (0..scenarios.len()).collect();
        if round % 2 == 0 {
            order.reverse();
        }
        let mut this_round: Vec<Option<Figures>> = vec![None; scenarios.len()];
        for i in order {
            let scenario = &scenarios[i];
            let f = run(
                &target,
                *scenario,
                concurrency,
                Duration::from_secs(seconds),
            )
            .await;
            println!(
                "{:<6} {:<32} {:>9.0} {:>8.2} {:>8.2} {:>11.1} {:>12.1} {:>11.3} {:>7}",
                round,
                scenario.label(),
                f.requests_per_second,
                f.p50.as_secs_f64() * 1e3,
                f.p99.as_secs_f64() * 1e3,
                f.cpu_us_per_request,
                f.redis_us_per_request,
                f.redis_calls_per_request,
                f.errors
            );
            this_round[i] = Some(f);
        }
        println!("{:<6} load average: {}", "", load_average());
        measured.push(this_round.into_iter().flatten().collect());
    }

    report(&scenarios, &measured);
    println!("\nload average (1, 5, 15 min) at end: {}", load_average());

    open.stop().await?;
    stack.stop().await?;
    drop(database);
    Ok(())
}

/// The medians and spreads of every scenario, and the two ratios taken round by round.
fn report(scenarios: &[Scenario], measured: &[Vec<Figures>]) {
    let column =
        |i: usize, pick: fn(&Figures) -> f64| Summary::of(measured.iter().map(|r| pick(&r[i])));
    println!(
        "\nmedian [min – max] over {} rounds:\n{:<32} {:>24} {:>7} {:>8} {:>8} {:>20} {:>12} {:>11} {:>7}",
        measured.len(),
        "scenario",
        "req/s",
        "spread",
        "p50 ms",
        "p99 ms",
        "CPU us/req",
        "Redis us/req",
        "Redis calls",
        "errors"
    );
    for (i, scenario) in scenarios.iter().enumerate() {
        let rps = column(i, |f| f.requests_per_second);
        let cpu = column(i, |f| f.cpu_us_per_request);
        let redis = column(i, |f| f.redis_us_per_request);
        let errors: u64 = measured.iter().map(|r| r[i].errors).sum();
        println!(
            "{:<32} {:>7.0} [{:>6.0} – {:>6.0}] {:>6.1}% {:>8.2} {:>8.2} {:>6.1} [{:>5.1} – {:>5.1}] {:>12.1} {:>11.3} {:>7}",
            scenario.label(),
            rps.median,
            rps.min,
            rps.max,
            rps.spread_percent(),
            column(i, |f| f.p50.as_secs_f64() * 1e3).median,
            column(i, |f| f.p99.as_secs_f64() * 1e3).median,
            cpu.median,
            cpu.min,
            cpu.max,
            redis.median,
            column(i, |f| f.redis_calls_per_request).median,
            errors
        );
    }
    let index = |s: Scenario| scenarios.iter().position(|x| *x == s);
    let per_round = |f: &dyn Fn(&[Figures]) -> f64| Summary::of(measured.iter().map(|r| f(r)));
    let (grpc, limited, open) = (
        index(Scenario::Grpc),
        index(Scenario::EdgeWithAuthAndLimits),
        index(Scenario::EdgeWithoutThem),
    );
    println!("\nratios, each taken within a round, then median [min – max]:");
    if let (Some(g), Some(l)) = (grpc, limited) {
        let s = per_round(&|r| 100.0 * r[l].requests_per_second / r[g].requests_per_second);
        println!(
            "edge (auth + limits) / direct gRPC throughput: {:>5.1}% [{:.1} – {:.1}]   (target >= 75%)",
            s.median, s.min, s.max
        );
    }
    if let (Some(l), Some(s)) = (limited, index(Scenario::EdgeWithSharedLimits)) {
        let cost =
            per_round(&|r| 100.0 * (1.0 - r[s].requests_per_second / r[l].requests_per_second));
        println!(
            "cost of sharing the limits in Redis:            {:>5.1}% [{:.1} – {:.1}]   (target <= 5%)",
            cost.median, cost.min, cost.max
        );
    }
    if let (Some(l), Some(o)) = (limited, open) {
        let s = per_round(&|r| 100.0 * (1.0 - r[l].requests_per_second / r[o].requests_per_second));
        println!(
            "cost of the edge's auth + rate limits:          {:>5.1}% [{:.1} – {:.1}]   (target <= 3%)",
            s.median, s.min, s.max
        );
        let us = per_round(&|r| r[l].cpu_us_per_request - r[o].cpu_us_per_request);
        let share =
            per_round(&|r| 100.0 * (r[l].cpu_us_per_request / r[o].cpu_us_per_request - 1.0));
        println!(
            "CPU of the edge's auth + rate limits:           {:>5.1} us/req [{:.1} – {:.1}], \
             {:.1}% [{:.1} – {:.1}] over the open edge's",
            us.median, us.min, us.max, share.median, share.min, share.max
        );
    }
}

fn edge_url(addr: Option<SocketAddr>) -> anyhow::Result<reqwest::Url> {
    let addr = addr.ok_or_else(|| anyhow::anyhow!("the edge has no address"))?;
    Ok(reqwest::Url::parse(&format!("http://{addr}/"))?)
}

async fn create_database(url: &str) -> anyhow::Result<TestDatabase> {
    // The harness creates a fresh database on the server named by this variable.
    if std::env::var(lastmile_tests::POSTGRES_URL_VAR).is_err() {
        anyhow::bail!(
            "set {} as well (the bench database is created there)",
            lastmile_tests::POSTGRES_URL_VAR
        );
    }
    let _ = url;
    TestDatabase::create(Engine::Postgres)
        .await
        .ok_or_else(|| anyhow::anyhow!("no PostgreSQL"))
}

async fn seed(core: &lastmile_core::Core) -> anyhow::Result<()> {
    let started = Instant::now();
    let lastmile_core::db::Db::Postgres(pool) = &core.db else {
        anyhow::bail!("the benchmark runs on PostgreSQL");
    };
    sqlx::query(
        "INSERT INTO customers (portal_id, first_name, last_name, email, phone, portal_password_hash, \
         street, city, country, auto_suspension, suspend_after_days, status, currency, created_at, updated_at, uuid) \
         SELECT (10000000 + g)::text, 'Customer' || g, 'Bench', 'customer' || g || '@example.com', \
         '+1555' || lpad(g::text, 7, '0'), '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA', \
         'Main Street ' || g, 'Nairobi', 'KE', true, 14, 'active', 'USD', now(), now(), gen_random_uuid()::text \
         FROM generate_series(1, $1) AS g",
    )
    .bind(CUSTOMERS)
    .execute(pool)
    .await?;
    sqlx::query("ANALYZE customers").execute(pool).await?;
    println!(
        "seeded {CUSTOMERS} customers in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn run(
    target: &Arc<Target>,
    scenario: Scenario,
    concurrency: usize,
    length: Duration,
) -> Figures {
    let cpu_before = process_cpu();
    let redis_before = redis_work(&target.redis);
    let started = Instant::now();
    let deadline = started + length;
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let target = target.clone();
        workers.push(tokio::spawn(async move {
            let mut grpc = target.grpc.clone();
            let mut latencies = Vec::with_capacity(4096);
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let id = rand::rng().random_range(1..=CUSTOMERS);
                let sent = Instant::now();
                let ok = match scenario {
                    Scenario::Grpc => {
                        let request = lastmile_tests::with_key(
                            GetCustomerRequest {
                                customer: Some(CustomerRef {
                                    key: Some(Key::Id(id)),
                                }),
                            },
                            &target.key,
                        );
                        grpc.get_customer(request).await.is_ok()
                    }
                    Scenario::EdgeWithAuthAndLimits
                    | Scenario::EdgeWithSharedLimits
                    | Scenario::EdgeWithoutThem => {
                        let mut url = match scenario {
                            Scenario::EdgeWithAuthAndLimits => target.limited_edge.clone(),
                            Scenario::EdgeWithSharedLimits => target.shared_edge.clone(),
                            _ => target.open_edge.clone(),
                        };
                        url.set_path(&format!("/api/v1/customers/{id}"));
                        match target
                            .http
                            .get(url)
                            .header("X-API-Key", &target.key)
                            .send()
                            .await
                        {
                            Ok(response) => {
                                response.status().is_success() && response.bytes().await.is_ok()
                            }
                            Err(_) => false,
                        }
                    }
                };
                latencies.push(sent.elapsed());
                if !ok {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (mut l, e) = worker.await.expect("worker");
        latencies.append(&mut l);
        errors += e;
    }
    let elapsed = started.elapsed();
    let cpu = match (cpu_before, process_cpu()) {
        (Some(before), Some(after)) => after.saturating_sub(before),
        _ => Duration::ZERO,
    };
    let (redis, scripts) = match (redis_before, redis_work(&target.redis)) {
        (Some(before), Some(after)) => (
            after.cpu.saturating_sub(before.cpu),
            after.scripts.saturating_sub(before.scripts),
        ),
        _ => (Duration::ZERO, 0),
    };
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Figures {
        requests_per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        cpu_us_per_request: cpu.as_secs_f64() * 1e6 / latencies.len().max(1) as f64,
        redis_us_per_request: redis.as_secs_f64() * 1e6 / latencies.len().max(1) as f64,
        redis_calls_per_request: scripts as f64 / latencies.len().max(1) as f64,
        errors,
    }
}
