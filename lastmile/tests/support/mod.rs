//! What the tests that run real `lastmile` processes on PostgreSQL share: a fresh database
//! per test, free ports, and child processes that are killed when the test ends.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::Child;

use sqlx::PgPool;

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
