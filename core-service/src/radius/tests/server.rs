//! The configuration the product writes, run by FreeRADIUS over the stock schema: one story
//! on SQLite and on PostgreSQL.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use sqlx::{AssertSqlSafe, PgPool, SqlitePool};

use super::harness::{Running, SQL_MAIN, freeradius};
use crate::radius::{
    Attribute, Client, Code, Packet, ServerConfig, SqlTarget, access_request, kind,
    postgres_conninfo, send, status_server, vendor,
};

/// The operators' test client, with a secret that needs FreeRADIUS quoting.
const SECRET: &str = r#"te"st\ing\\"1'2% 3"#;
const TIMEOUT: Duration = Duration::from_secs(2);

/// The FreeRADIUS tables, on either engine.
enum Tables {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Tables {
    async fn execute(&self, sql: &str) {
        let sql = sqlx::raw_sql(AssertSqlSafe(sql.to_owned()));
        match self {
            Tables::Sqlite(pool) => sql.execute(pool).await.map(drop),
            Tables::Postgres(pool) => sql.execute(pool).await.map(drop),
        }
        .unwrap();
    }

    async fn open_sessions(&self, user: &str) -> i64 {
        let sql = "SELECT COUNT(*) FROM radacct WHERE username = $1 AND acctstoptime IS NULL";
        match self {
            Tables::Sqlite(pool) => sqlx::query_scalar(sql).bind(user).fetch_one(pool).await,
            Tables::Postgres(pool) => sqlx::query_scalar(sql).bind(user).fetch_one(pool).await,
        }
        .unwrap()
    }
}

fn write_config(dir: &Path, database: SqlTarget, auth_port: u16, acct_port: u16) {
    let mut config = ServerConfig::new(dir, database);
    config.listen = Ipv4Addr::LOCALHOST.into();
    config.auth_port = auth_port;
    config.acct_port = acct_port;
    config.threads = 2;
    config.clients = vec![
        Client {
            name: "router in another town".into(),
            address: "192.0.2.0/24".into(),
            secret: "unused".into(),
        },
        Client::localhost(SECRET),
    ];
    config.write().unwrap();
}

fn accounting(status: u32, user: &str, session: &str) -> Packet {
    Packet::new(Code::AccountingRequest, 0)
        .with(Attribute::string(kind::USER_NAME, user))
        .with(Attribute::integer(kind::ACCT_STATUS_TYPE, status))
        .with(Attribute::string(kind::ACCT_SESSION_ID, session))
        .with(Attribute::ipv4(kind::NAS_IP_ADDRESS, Ipv4Addr::LOCALHOST))
        .with(Attribute::ipv4(
            kind::FRAMED_IP_ADDRESS,
            Ipv4Addr::new(100, 64, 0, 11),
        ))
        .with_message_authenticator()
}

/// Accept with the reply attributes, Reject without them, and Simultaneous-Use counted
/// from accounting.
async fn subscribers_are_served(server: &Running, tables: &Tables) {
    let auth = SocketAddr::from((Ipv4Addr::LOCALHOST, server.port));
    let acct = SocketAddr::from((Ipv4Addr::LOCALHOST, server.second_port));
    let secret = SECRET.as_bytes();
    tables
        .execute(
            "INSERT INTO radcheck (username, attribute, op, value) VALUES
               ('alice', 'Cleartext-Password', ':=', 'correct horse'),
               ('bob', 'Cleartext-Password', ':=', 'bobpw'),
               ('bob', 'Simultaneous-Use', ':=', '1');
             INSERT INTO radreply (username, attribute, op, value) VALUES
               ('alice', 'Mikrotik-Rate-Limit', ':=', '10M/20M'),
               ('alice', 'Framed-IP-Address', ':=', '100.64.0.10');",
        )
        .await;

    let status = status_server(auth, secret, TIMEOUT, 0).await.unwrap();
    assert_eq!(status.packet.code, Code::AccessAccept);

    let accept = access_request(auth, secret, "alice", "correct horse", vec![], TIMEOUT, 0)
        .await
        .unwrap()
        .packet;
    assert_eq!(accept.code, Code::AccessAccept, "{}", server.output());
    assert_eq!(
        accept.vendor_string(vendor::MIKROTIK, vendor::MIKROTIK_RATE_LIMIT),
        Some("10M/20M")
    );
    assert_eq!(
        accept.framed_ip_address(),
        Some(Ipv4Addr::new(100, 64, 0, 10))
    );

    let reject = access_request(auth, secret, "alice", "wrong", vec![], TIMEOUT, 0)
        .await
        .unwrap()
        .packet;
    assert_eq!(reject.code, Code::AccessReject);
    assert_eq!(reject.vendor_attributes().count(), 0);
    assert_eq!(reject.framed_ip_address(), None);

    let bob = || access_request(auth, secret, "bob", "bobpw", vec![], TIMEOUT, 0);
    assert_eq!(bob().await.unwrap().packet.code, Code::AccessAccept);
    let started = send(acct, accounting(1, "bob", "b0b00001"), secret, TIMEOUT, 0)
        .await
        .unwrap();
    assert_eq!(started.packet.code, Code::AccountingResponse);
    assert_eq!(tables.open_sessions("bob").await, 1);
    assert_eq!(bob().await.unwrap().packet.code, Code::AccessReject);
    send(acct, accounting(2, "bob", "b0b00001"), secret, TIMEOUT, 0)
        .await
        .unwrap();
    assert_eq!(tables.open_sessions("bob").await, 0);
    assert_eq!(bob().await.unwrap().packet.code, Code::AccessAccept);

    // Another secret is silence, not a reject.
    let other = access_request(
        auth,
        b"other",
        "alice",
        "correct horse",
        vec![],
        Duration::from_millis(200),
        0,
    )
    .await;
    assert!(other.is_err());
}

#[tokio::test]
async fn freeradius_serves_subscribers_from_sqlite_with_the_written_config() {
    let Some(binary) = freeradius() else { return };
    let temp = tempfile::tempdir().unwrap();
    let file = temp.path().join("radius.sqlite");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&file)
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
    let pool = SqlitePool::connect_with(options).await.unwrap();
    let tables = Tables::Sqlite(pool);
    let schema = std::fs::read_to_string(Path::new(SQL_MAIN).join("sqlite/schema.sql")).unwrap();
    tables.execute(&schema).await;

    let database = SqlTarget::Sqlite { path: file };
    let server = Running::start(&binary, &temp.path().join("raddb"), |dir, auth, acct| {
        write_config(dir, database.clone(), auth, acct)
    })
    .await;
    subscribers_are_served(&server, &tables).await;
}

#[tokio::test]
async fn freeradius_serves_subscribers_from_postgresql_with_the_written_config() {
    let Ok(admin_url) = std::env::var("LASTMILE_TEST_POSTGRES_URL") else {
        eprintln!("skipped: LASTMILE_TEST_POSTGRES_URL is not set");
        return;
    };
    let Some(binary) = freeradius() else { return };
    let name = format!("radius_cfg_{}", uuid::Uuid::new_v4().simple());
    let admin = PgPool::connect(&admin_url).await.unwrap();
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();

    let (base, query) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let cut = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    let url = format!("{}/{name}", &base[..cut]);
    // A parameter with a quote, a space and a backslash: libpq must read it back through
    // FreeRADIUS's quoting, or FreeRADIUS cannot connect.
    let quoted = "fallback_application_name=it's%20a%5Ctest";
    let conninfo = postgres_conninfo(&format!("{url}?{query}&{quoted}")).unwrap();

    // In a task, so that the database is dropped whatever happens to the story.
    let outcome = tokio::spawn(async move {
        let pool = PgPool::connect(&url).await.unwrap();
        let tables = Tables::Postgres(pool);
        let schema =
            std::fs::read_to_string(Path::new(SQL_MAIN).join("postgresql/schema.sql")).unwrap();
        tables.execute(&schema).await;
        let temp = tempfile::tempdir().unwrap();
        let database = SqlTarget::Postgres { conninfo };
        let server = Running::start(&binary, &temp.path().join("raddb"), |dir, auth, acct| {
            write_config(dir, database.clone(), auth, acct)
        })
        .await;
        subscribers_are_served(&server, &tables).await;
        drop(server);
        if let Tables::Postgres(pool) = tables {
            pool.close().await;
        }
    })
    .await;
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await
    .unwrap();
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}
