//! The database: one pool of either engine, picked once from the URL at start-up.
//!
//! Queries are written once in the portable subset of SQL (`$1` placeholders, `RETURNING`,
//! `ON CONFLICT`, partial indexes) and run on whichever engine is live through [`on_db!`]
//! and [`on_tx!`], which expand the same code once per engine. The few statements that must
//! differ are split visibly where they are used.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

use tracing::Instrument;

use crate::error::Error;

pub mod bulk;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// A connection pool to the live engine.
#[derive(Clone, Debug)]
pub enum Db {
    /// Embedded SQLite (the default).
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

/// A transaction on the live engine. Dropping it without [`Tx::commit`] rolls back.
#[derive(Debug)]
pub struct Tx {
    /// The engine's transaction.
    pub engine: TxEngine,
    /// What to signal in this process once the transaction commits.
    signals: Vec<Signal>,
    /// The trace span from begin to commit or rollback (disabled when traces are off).
    span: tracing::Span,
}

/// The engine's transaction inside a [`Tx`].
#[derive(Debug)]
pub enum TxEngine {
    /// SQLite transaction, begun `IMMEDIATE`.
    Sqlite(Transaction<'static, Sqlite>),
    /// PostgreSQL transaction.
    Postgres(Transaction<'static, Postgres>),
}

/// Something that waiters in this process want to hear about as soon as it is committed
/// (other processes hear of it through PostgreSQL's NOTIFY).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Jobs were enqueued or became due.
    Jobs,
    /// Events were written to the outbox.
    Events,
}

static SIGNALS: std::sync::LazyLock<[tokio::sync::watch::Sender<u64>; 2]> =
    std::sync::LazyLock::new(|| {
        [
            tokio::sync::watch::Sender::new(0),
            tokio::sync::watch::Sender::new(0),
        ]
    });

impl Signal {
    fn sender(self) -> &'static tokio::sync::watch::Sender<u64> {
        &SIGNALS[self as usize]
    }

    /// Tells every waiter in this process.
    pub fn raise(self) {
        self.sender().send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that sees a change each time the signal is raised.
    pub fn subscribe(self) -> tokio::sync::watch::Receiver<u64> {
        self.sender().subscribe()
    }
}

/// Runs the same code on whichever pool is live: `on_db!(db, pool => query.fetch_one(pool).await)`.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$pg` when the connection is PostgreSQL's (`$c` is its executor), `$other`
/// otherwise: for the few statements that must differ by engine (arrays, locking).
#[macro_export]
macro_rules! on_postgres {
    ($conn:expr, $c:ident => $pg:expr, else => $other:expr) => {
        match $conn {
            $crate::db::Conn::Pool($crate::db::Db::Postgres($c)) => $pg,
            $crate::db::Conn::Tx($crate::db::Tx {
                engine: $crate::db::TxEngine::Postgres(tx),
                ..
            }) => {
                let $c = &mut **tx;
                $pg
            }
            _ => $other,
        }
    };
}

/// Where a statement runs: the pool (a read outside any transaction) or an open
/// transaction. Store functions take a `Conn` so one function serves both.
#[derive(Debug)]
pub enum Conn<'a> {
    /// Any pooled connection.
    Pool(&'a Db),
    /// The given transaction.
    Tx(&'a mut Tx),
}

impl Conn<'_> {
    /// Whether the statements run on PostgreSQL (for the few that differ).
    pub fn is_postgres(&self) -> bool {
        matches!(
            self,
            Conn::Pool(Db::Postgres(_))
                | Conn::Tx(Tx {
                    engine: TxEngine::Postgres(_),
                    ..
                })
        )
    }

    /// Raises `signal` once what this connection wrote is committed: at once for a pooled
    /// statement, at [`Tx::commit`] for a transaction (never, if it rolls back).
    pub fn signal_on_commit(&mut self, signal: Signal) {
        match self {
            Conn::Pool(_) => signal.raise(),
            Conn::Tx(tx) => {
                if !tx.signals.contains(&signal) {
                    tx.signals.push(signal);
                }
            }
        }
    }
}

/// Runs the same code on whichever engine and connection is live:
/// `on_conn!(conn, c => query.fetch_one(c).await)` where `conn: &mut Conn`. `c` is an
/// executor that can be used once; write one statement per use.
#[macro_export]
macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::Conn::Pool($crate::db::Db::Sqlite(pool)) => {
                let $c = pool;
                $body
            }
            $crate::db::Conn::Pool($crate::db::Db::Postgres(pool)) => {
                let $c = pool;
                $body
            }
            $crate::db::Conn::Tx($crate::db::Tx {
                engine: $crate::db::TxEngine::Sqlite(tx),
                ..
            }) => {
                let $c = &mut **tx;
                $body
            }
            $crate::db::Conn::Tx($crate::db::Tx {
                engine: $crate::db::TxEngine::Postgres(tx),
                ..
            }) => {
                let $c = &mut **tx;
                $body
            }
        }
    };
}

impl Db {
    /// Connects to `url` (`sqlite://path` or `postgres://…`). A SQLite file is created if
    /// missing and opened in WAL mode with a busy timeout and foreign keys on.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Db::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(32)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(options)
                .await?;
            Ok(Db::Postgres(pool))
        } else {
            anyhow::bail!("unsupported database URL (expected sqlite:// or postgres://): {url}")
        }
    }

    /// Applies the migrations of the live engine that are not applied yet.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// Begins a write transaction. On SQLite it is `BEGIN IMMEDIATE`: the write lock is
    /// taken up front, so a transaction that reads and then writes never fails with
    /// SQLITE_BUSY halfway (a deferred one cannot be upgraded once another writer won);
    /// waiting for the lock is bounded by the busy timeout.
    pub async fn begin(&self) -> Result<Tx, Error> {
        let span = crate::telemetry::transaction_span(match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgresql",
        });
        let engine = match self {
            Db::Sqlite(pool) => TxEngine::Sqlite(
                pool.begin_with("BEGIN IMMEDIATE")
                    .instrument(span.clone())
                    .await?,
            ),
            Db::Postgres(pool) => TxEngine::Postgres(pool.begin().instrument(span.clone()).await?),
        };
        Ok(Tx {
            engine,
            signals: Vec::new(),
            span,
        })
    }

    /// The pool as a [`Conn`].
    pub fn conn(&self) -> Conn<'_> {
        Conn::Pool(self)
    }

    /// Whether the database answers. For SQLite this also checks that the file is still
    /// there: writes to an unlinked database file would be lost.
    pub async fn ping(&self) -> bool {
        let query =
            async { on_db!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ())) };
        let answered = matches!(
            tokio::time::timeout(Duration::from_secs(3), query).await,
            Ok(Ok(()))
        );
        answered && self.sqlite_file_present()
    }

    fn sqlite_file_present(&self) -> bool {
        match self {
            Db::Sqlite(pool) => {
                let filename = pool.connect_options().get_filename().to_path_buf();
                let in_memory =
                    filename.as_os_str().is_empty() || filename == std::path::Path::new(":memory:");
                in_memory || filename.exists()
            }
            Db::Postgres(_) => true,
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }
}

impl Tx {
    /// The transaction as a [`Conn`].
    pub fn conn(&mut self) -> Conn<'_> {
        Conn::Tx(self)
    }

    /// Makes the transaction's changes durable, then raises the signals its writes asked
    /// for.
    pub async fn commit(self) -> Result<(), Error> {
        match self.engine {
            TxEngine::Sqlite(tx) => tx.commit().instrument(self.span).await?,
            TxEngine::Postgres(tx) => tx.commit().instrument(self.span).await?,
        }
        for signal in self.signals {
            signal.raise();
        }
        Ok(())
    }

    /// Whether the transaction runs on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.engine, TxEngine::Postgres(_))
    }
}

/// The name of the unique index or constraint a database error violated, if it is a
/// unique violation. PostgreSQL names the index; SQLite names the columns
/// ("UNIQUE constraint failed: customers.phone"), so callers match on either.
pub fn unique_violation(err: &sqlx::Error) -> Option<String> {
    let db_err = err.as_database_error()?;
    if !db_err.is_unique_violation() {
        return None;
    }
    Some(
        db_err
            .constraint()
            .map(str::to_owned)
            .unwrap_or_else(|| db_err.message().to_owned()),
    )
}
