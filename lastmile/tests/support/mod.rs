//! What the tests that run real `lastmile` processes on PostgreSQL share: a fresh database
//! per test, free ports, and child processes that are killed when the test ends.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tonic::transport::{Channel, Endpoint};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_lastmile");

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh database on the configured server, dropped at the end.
pub struct Database {
    admin_url: String,
    name: String,
    /// Its URL.
    pub url: String,
}

impl Database {
    /// A new empty database on `LASTMILE_TEST_POSTGRES_URL`'s server.
    pub async fn create() -> Database {
        let admin_url = std::env::var("LASTMILE_TEST_POSTGRES_URL")
            .expect("LASTMILE_TEST_POSTGRES_URL is set at run time too");
        let name = format!("lastmile_proc_{}", uuid::Uuid::new_v4().simple());
        let admin = PgPool::connect(&admin_url).await.expect("connect");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .expect("create database");
        admin.close().await;
        let base = admin_url.split('?').next().unwrap_or(&admin_url);
        let cut = base
            .rfind('/')
            .filter(|i| *i > "postgres://".len())
            .unwrap_or(base.len());
        let url = format!("{}/{name}", &base[..cut]);
        Database {
            admin_url,
            name,
            url,
        }
    }

    /// A pool on it.
    pub async fn pool(&self) -> PgPool {
        PgPool::connect(&self.url)
            .await
            .expect("connect to the test database")
    }

    /// Drops it (with its connections).
    pub async fn drop_it(self) {
        if let Ok(admin) = PgPool::connect(&self.admin_url).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )))
            .execute(&admin)
            .await;
        }
    }
}

/// A child process, killed when dropped.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running `lastmile core` on a port of its own, killed when dropped (a failed
/// assertion must not leave a core running on a dropped database).
pub struct Core {
    child: Child,
    /// Its gRPC address (`http://127.0.0.1:port`).
    pub grpc: String,
}

impl Core {
    /// Starts a core on `database` with `key` as its bootstrap admin key, a job lease of
    /// `lease_ms`, and `env` beside the defaults; returns once it answers.
    pub async fn start(
        database: &Database,
        key: &str,
        lease_ms: u64,
        env: &[(&str, &str)],
    ) -> Core {
        let port = free_port();
        let grpc = format!("127.0.0.1:{port}");
        let child = Command::new(BIN)
            .arg("core")
            .args(["--database-url", &database.url])
            .args(["--grpc-addr", &grpc])
            .args(["--bootstrap-api-key", key])
            .args(["--job-lease-ms", &lease_ms.to_string()])
            .args(["--job-poll-ms", "100"])
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start lastmile core");
        let core = Core {
            child,
            grpc: format!("http://{grpc}"),
        };
        let started = Instant::now();
        loop {
            if let Ok(channel) = Endpoint::from_shared(core.grpc.clone())
                .unwrap()
                .connect()
                .await
            {
                drop(channel);
                return core;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "core not up after 60 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A new channel to it.
    pub async fn channel(&self) -> Channel {
        Endpoint::from_shared(self.grpc.clone())
            .unwrap()
            .connect()
            .await
            .expect("connect")
    }

    /// `kill -9`, and waits for the process to be gone.
    pub fn kill_9(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", &self.pid().to_string()])
            .status();
        let _ = self.child.wait();
    }

    /// SIGTERM, then `kill -9` if it has not stopped within 20 s.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill_9();
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `message` with `key` in its `x-api-key` metadata.
pub fn authorized<T>(key: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-api-key", key.parse().unwrap());
    request
}

/// Polls `probe` every `every` (up to `limit`) until it answers true.
pub async fn until<F: AsyncFn() -> bool>(limit: Duration, every: Duration, what: &str, probe: F) {
    let started = Instant::now();
    while !probe().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(every).await;
    }
}
