//! The end-to-end harness: each test starts the real core and edge on port 0 against its
//! own database (a temporary SQLite file, or a fresh PostgreSQL database when
//! `LASTMILE_TEST_POSTGRES_URL` is set) and talks to them over HTTP and gRPC like a client.
//!
//! Write a test once as `async fn name(app: TestApp)` and list it in [`engine_tests!`]:
//! it then runs on SQLite always and on PostgreSQL when configured (reported as ignored when
//! not). The servers read the time from [`TestApp::clock`], which a test moves forward
//! instead of sleeping.
#![forbid(unsafe_code)]

mod clock;
mod macros;
pub mod radius;

pub use clock::TestClock;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lastmile::{Role, Running, Settings};
use lastmile_core::Core;
use serde_json::Value;
use tonic::transport::{Channel, Endpoint};

pub use reqwest::StatusCode;
pub use serde_json::json;

/// Environment variable naming a PostgreSQL server for the PostgreSQL half of the suite.
pub const POSTGRES_URL_VAR: &str = "LASTMILE_TEST_POSTGRES_URL";

/// Settings left as the harness makes them.
pub fn unchanged(_: &mut Settings) {}

/// Fails a PostgreSQL test that was compiled in but finds no server named at run time.
pub fn postgres_url_missing() -> TestApp {
    panic!("{POSTGRES_URL_VAR} was set when the tests were built but is not set now")
}

/// Whether this run is a CI run (`CI` set to anything but empty, `0` or `false`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// The database engine under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh database on the server named by `LASTMILE_TEST_POSTGRES_URL`.
    Postgres,
}

/// A database of one test; dropped (PostgreSQL) or deleted (SQLite) when the test ends.
#[derive(Debug)]
pub struct TestDatabase {
    /// The URL the servers use.
    pub url: String,
    engine: Engine,
    sqlite_dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// A new empty database, or `None` for PostgreSQL when no server is configured.
    pub async fn create(engine: Engine) -> Option<TestDatabase> {
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("lastmile.db").display());
                Some(TestDatabase {
                    url,
                    engine,
                    sqlite_dir: Some(dir),
                    postgres: None,
                })
            }
            Engine::Postgres => {
                let admin_url = std::env::var(POSTGRES_URL_VAR)
                    .ok()
                    .filter(|u| !u.is_empty())?;
                let name = format!("lastmile_test_{}", uuid::Uuid::new_v4().simple());
                let admin = sqlx::PgPool::connect(&admin_url)
                    .await
                    .expect("connect to LASTMILE_TEST_POSTGRES_URL");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&admin)
                    .await
                    .expect("create test database");
                admin.close().await;
                let url = with_database(&admin_url, &name);
                Some(TestDatabase {
                    url,
                    engine,
                    sqlite_dir: None,
                    postgres: Some((admin_url, name)),
                })
            }
        }
    }

    /// The engine.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Takes the database away from under the servers: the SQLite file is deleted, the
    /// PostgreSQL database dropped with its connections.
    pub async fn make_unavailable(&self) {
        if let Some(dir) = &self.sqlite_dir {
            for suffix in ["", "-wal", "-shm"] {
                let path: PathBuf = dir.path().join(format!("lastmile.db{suffix}"));
                let _ = std::fs::remove_file(path);
            }
        }
        if let Some((admin_url, name)) = &self.postgres {
            drop_postgres(admin_url, name).await;
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.postgres.take() {
            // Drop runs outside any runtime's async context, so use a small one of its own.
            let _ = std::thread::spawn(move || {
                if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    runtime.block_on(drop_postgres(&admin_url, &name));
                }
            })
            .join();
        }
    }
}

async fn drop_postgres(admin_url: &str, name: &str) {
    if let Ok(admin) = sqlx::PgPool::connect(admin_url).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&admin)
        .await;
        admin.close().await;
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

/// A running core and edge with an admin key, and clients for both.
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The core's address.
    pub grpc_addr: SocketAddr,
    /// An admin API key.
    pub admin_key: String,
    /// An HTTP client.
    pub http: reqwest::Client,
    /// The database.
    pub database: TestDatabase,
    /// The servers' clock, unless an adjuster installed another.
    pub clock: TestClock,
    running: Option<Running>,
}

impl TestApp {
    /// Starts core and edge on a new database with generous rate limits; `None` for
    /// PostgreSQL when no server is configured.
    pub async fn spawn(engine: Engine) -> Option<TestApp> {
        Self::spawn_with(engine, |_| {}).await
    }

    /// Like [`TestApp::spawn`], with settings adjusted by `adjust`.
    pub async fn spawn_with(engine: Engine, adjust: impl FnOnce(&mut Settings)) -> Option<TestApp> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let database = TestDatabase::create(engine).await?;
        let admin_key = format!("lm_testadmin_{}", uuid::Uuid::new_v4().simple());
        let clock = TestClock::default();
        let mut settings = Settings {
            database_url: database.url.clone(),
            http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            bootstrap_api_key: Some(admin_key.clone()),
            rate_limit_per_minute: 1_000_000,
            clock: Arc::new(clock.clone()),
            // Tests run beside other builds on small machines: a hash may wait long for a
            // worker, and that is not what they test (the overload tests set their own).
            password_hashing: lastmile_core::password::HashingSettings {
                max_wait: Duration::from_secs(60),
                ..Default::default()
            },
            // Receivers in tests listen on 127.0.0.1; idle workers look often, so a job
            // made due by moving the test clock runs at once.
            webhooks: lastmile_core::webhooks::WebhookSettings {
                allow_private_networks: true,
                ..Default::default()
            },
            workers: lastmile_core::jobs::WorkerSettings {
                poll: Duration::from_millis(50),
                ..Default::default()
            },
            ..Settings::default()
        };
        adjust(&mut settings);
        let running = lastmile::start(Role::Serve, settings)
            .await
            .expect("start core and edge");
        let base_url = format!("http://{}", running.http_addr.expect("edge address"));
        let grpc_addr = running.grpc_addr.expect("core address");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        Some(TestApp {
            base_url,
            grpc_addr,
            admin_key,
            http,
            database,
            clock,
            running: Some(running),
        })
    }

    /// The core running in this process (for test set-up that has no API yet).
    pub fn core(&self) -> &Core {
        self.running
            .as_ref()
            .and_then(|r| r.core.as_ref())
            .expect("core runs in process")
    }

    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A request with the admin key in `X-API-Key`.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("X-API-Key", &self.admin_key)
    }

    /// GET as admin; returns status and JSON body (Null when empty).
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        send(self.request(reqwest::Method::GET, path)).await
    }

    /// POST JSON as admin.
    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        send(self.request(reqwest::Method::POST, path).json(body)).await
    }

    /// PATCH JSON as admin.
    pub async fn patch(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        send(self.request(reqwest::Method::PATCH, path).json(body)).await
    }

    /// PUT JSON as admin.
    pub async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        send(self.request(reqwest::Method::PUT, path).json(body)).await
    }

    /// DELETE as admin.
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        send(self.request(reqwest::Method::DELETE, path)).await
    }

    /// Creates a valid customer with this phone; returns its JSON (`data.customer`).
    pub async fn create_customer(&self, first_name: &str, phone: &str) -> Value {
        let (status, body) = self
            .post("/api/v1/customers", &customer_body(first_name, phone))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["data"]["customer"].clone()
    }

    /// Inserts a partner directly (for tests that need one before any API makes them).
    pub async fn insert_partner(&self, name: &str) -> i64 {
        let db = lastmile_core::db::Db::connect(&self.database.url)
            .await
            .expect("connect");
        let sql =
            "INSERT INTO partners (name, created_at, updated_at) VALUES ($1, $2, $2) RETURNING id";
        let now = chrono::Utc::now();
        let id = lastmile_core::on_db!(&db, pool => sqlx::query_scalar(sql).bind(name).bind(now).fetch_one(pool).await)
            .expect("insert partner");
        db.close().await;
        id
    }

    /// Creates an API key with `role` (acting for `partner_id`) expiring `expires_in` after
    /// the servers' now; returns its id and the key.
    pub async fn key(
        &self,
        role: lastmile_core::identity::Role,
        partner_id: Option<i64>,
        expires_in: Option<chrono::Duration>,
    ) -> (i64, String) {
        let new = lastmile_core::identity::NewApiKey {
            name: format!("{role:?}"),
            description: None,
            role,
            tier: lastmile_core::identity::Tier::Standard,
            expires_at: expires_in.map(|d| lastmile_core::clock::Clock::now(&self.clock) + d),
            partner_id,
        };
        self.core().api_keys.create(new).await.expect("create key")
    }

    /// A gRPC channel to the core.
    pub async fn grpc_channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.grpc_addr))
            .expect("core URL")
            .connect()
            .await
            .expect("connect to the core")
    }

    /// Stops the servers gracefully.
    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await.expect("clean shutdown");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(running) = &self.running {
            running.shutdown_token().cancel();
        }
    }
}

/// A valid create body.
pub fn customer_body(first_name: &str, phone: &str) -> Value {
    json!({
        "first_name": first_name,
        "last_name": "Tester",
        "password": "Str0ng!pass",
        "phone": phone,
    })
}

/// Sends a request; returns status and JSON body (Null when empty).
pub async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let (status, _, body) = fetch(request).await;
    (status, body)
}

/// Sends a request; returns status, headers and JSON body (`Null` when empty).
pub async fn fetch(
    request: reqwest::RequestBuilder,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let response = request.send().await.expect("HTTP request");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("HTTP body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    (status, headers, body)
}

/// Adds a credential to a gRPC request as metadata `x-api-key`.
pub fn with_key<T>(message: T, key: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-api-key", key.parse().expect("ASCII key"));
    request
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_names_are_replaced_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "t1"),
            "postgres://u@h/t1?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "t1"), "postgres://u@h/t1");
    }
}
