//! Static allocation through the core library, on the test's own database, each call in
//! a transaction of its own as the services domain makes them: the next free address in
//! order, requested addresses, the quarantine read from the servers' clock, exhaustion,
//! the usage alert once per crossing, many allocations at once never sharing an address,
//! and a claim lost to another writer moving on.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lastmile_core::clock::Clock;
use lastmile_core::error::Error;
use lastmile_core::network::{allocate, release};
use lastmile_core::on_db;
use lastmile_tests::{TestApp, engine_tests, json, postgres_tests};
use serde_json::Value;

use super::create_pool;

engine_tests!(
    the_next_free_address_skips_network_gateway_and_exclusions_in_order,
    a_requested_address_must_be_a_free_host_of_a_static_pool,
    a_released_address_is_quarantined_for_24_hours_of_the_servers_clock,
    the_usage_alert_is_raised_once_per_crossing_of_90_percent,
    concurrent_allocations_never_share_an_address,
);

postgres_tests!(a_claim_lost_to_a_concurrent_writer_moves_on_to_the_next_address);

/// Allocates in a transaction of its own at the servers' time; the address, or the field
/// and message of the refusal.
async fn try_allocate(
    app: &TestApp,
    pool: i64,
    requested: Option<&str>,
    service: i64,
) -> Result<String, (String, String)> {
    let core = app.core();
    let mut tx = core.db.begin().await.unwrap();
    let requested: Option<Ipv4Addr> = requested.map(|r| r.parse().unwrap());
    let outcome = allocate(
        &mut tx.conn(),
        pool,
        requested,
        service,
        app.clock.now(),
        core.network.settings(),
    )
    .await;
    match outcome {
        Ok(address) => {
            tx.commit().await.unwrap();
            Ok(address.to_string())
        }
        Err(error) => Err(refusal(error)),
    }
}

fn refusal(error: Error) -> (String, String) {
    match error {
        Error::Validation(errors) => {
            let all: Vec<(&str, &str)> = errors.iter().collect();
            assert_eq!(all.len(), 1, "{all:?}");
            (all[0].0.to_owned(), all[0].1.to_owned())
        }
        other => panic!("not a validation error: {other:?}"),
    }
}

fn refused(field: &str, message: &str) -> Result<String, (String, String)> {
    Err((field.to_owned(), message.to_owned()))
}

async fn pool(app: &TestApp, body: Value) -> i64 {
    create_pool(app, body).await["id"].as_i64().unwrap()
}

async fn the_next_free_address_skips_network_gateway_and_exclusions_in_order(app: TestApp) {
    let id = pool(
        &app,
        json!({"name": "Small", "cidr": "10.0.0.0/29", "kind": "static",
               "gateway": "10.0.0.1", "excluded": ["10.0.0.3"]}),
    )
    .await;
    let mut given = Vec::new();
    for service in 1..=4 {
        given.push(try_allocate(&app, id, None, service).await.unwrap());
    }
    assert_eq!(given, ["10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.6"]);
    assert_eq!(
        try_allocate(&app, id, None, 5).await,
        refused("static_ip", "The IP pool is exhausted.")
    );
    // A service asking again gets the address it holds.
    assert_eq!(try_allocate(&app, id, None, 2).await, Ok("10.0.0.4".into()));
    let (_, body) = app.get(&format!("/api/v1/ip-pools/{id}")).await;
    assert_eq!(
        body["data"]["ip_pool"]["usage"],
        json!({"total": 4, "assigned": 4, "quarantined": 0, "free": 0, "percent": 100.0})
    );
    app.stop().await;
}

async fn a_requested_address_must_be_a_free_host_of_a_static_pool(app: TestApp) {
    let id = pool(
        &app,
        json!({"name": "Small", "cidr": "10.0.0.0/29", "kind": "static",
               "gateway": "10.0.0.1"}),
    )
    .await;
    assert_eq!(
        try_allocate(&app, id, Some("10.0.0.5"), 1).await,
        Ok("10.0.0.5".into())
    );
    assert_eq!(
        try_allocate(&app, id, Some("10.0.0.5"), 2).await,
        refused("static_ip", "The address 10.0.0.5 is already assigned.")
    );
    assert_eq!(
        try_allocate(&app, id, Some("10.0.1.5"), 2).await,
        refused("static_ip", "The address is outside the pool 10.0.0.0/29.")
    );
    for reserved in ["10.0.0.0", "10.0.0.1", "10.0.0.7"] {
        let message = format!(
            "The address {reserved} is reserved in the pool 10.0.0.0/29 (network, broadcast, \
             gateway or excluded)."
        );
        assert_eq!(
            try_allocate(&app, id, Some(reserved), 2).await,
            refused("static_ip", &message)
        );
    }
    assert_eq!(
        try_allocate(&app, id, Some("10.0.0.6"), 1).await,
        refused(
            "static_ip",
            "The service already holds the address 10.0.0.5; release it first."
        )
    );
    let dynamic = pool(
        &app,
        json!({"name": "pppoe", "cidr": "100.64.0.0/16", "kind": "dynamic"}),
    )
    .await;
    assert_eq!(
        try_allocate(&app, dynamic, None, 3).await,
        refused(
            "static_ip",
            "The IP pool is dynamic; static addresses come from static pools."
        )
    );
    assert_eq!(
        try_allocate(&app, 9999, None, 3).await,
        refused("ip_pool_id", "The selected ip pool id is invalid.")
    );
    app.stop().await;
}

async fn a_released_address_is_quarantined_for_24_hours_of_the_servers_clock(app: TestApp) {
    let id = pool(
        &app,
        json!({"name": "Tiny", "cidr": "10.0.0.0/30", "kind": "static"}),
    )
    .await;
    assert_eq!(try_allocate(&app, id, None, 1).await, Ok("10.0.0.1".into()));
    assert_eq!(try_allocate(&app, id, None, 2).await, Ok("10.0.0.2".into()));
    let released_at = app.clock.now();
    let mut conn = app.core().db.conn();
    let released = release(&mut conn, 1, released_at).await.unwrap();
    assert_eq!(released, Some(Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!(release(&mut conn, 1, released_at).await.unwrap(), None);
    let exhausted = refused("static_ip", "The IP pool is exhausted.");
    assert_eq!(try_allocate(&app, id, None, 3).await, exhausted);
    let (_, message) = try_allocate(&app, id, Some("10.0.0.1"), 3)
        .await
        .unwrap_err();
    let until = (released_at + chrono::Duration::hours(24)).format("%Y-%m-%dT%H:%M:%S%.6fZ");
    assert_eq!(
        message,
        format!("The address 10.0.0.1 was released recently and is quarantined until {until}.")
    );
    let (_, body) = app.get(&format!("/api/v1/ip-pools/{id}")).await;
    assert_eq!(
        body["data"]["ip_pool"]["usage"],
        json!({"total": 2, "assigned": 1, "quarantined": 1, "free": 0, "percent": 100.0})
    );
    app.clock.advance(chrono::Duration::hours(23));
    assert_eq!(try_allocate(&app, id, None, 3).await, exhausted);
    app.clock.advance(chrono::Duration::hours(1));
    assert_eq!(try_allocate(&app, id, None, 3).await, Ok("10.0.0.1".into()));
    app.stop().await;
}

/// Waits until every alert job ran; answers the `ip_pool.usage_high` events' data.
async fn alerts(app: &TestApp) -> Vec<Value> {
    let db = &app.core().db;
    let started = Instant::now();
    loop {
        let waiting: i64 = on_db!(db, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'network.usage_alert' AND status <> 'succeeded'")
            .fetch_one(pool).await)
        .unwrap();
        if waiting == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "alert jobs never ran"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let data: Vec<String> = on_db!(db, pool => sqlx::query_scalar(
        "SELECT data FROM events WHERE type = 'ip_pool.usage_high' ORDER BY id")
        .fetch_all(pool).await)
    .unwrap();
    data.iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

async fn the_usage_alert_is_raised_once_per_crossing_of_90_percent(app: TestApp) {
    // 14 hosts: 12 is 85.71 %, 13 is 92.85 %.
    let id = pool(
        &app,
        json!({"name": "Alerting", "cidr": "10.0.0.0/28", "kind": "static"}),
    )
    .await;
    for service in 1..=12 {
        try_allocate(&app, id, None, service).await.unwrap();
    }
    assert_eq!(alerts(&app).await, Vec::<Value>::new());
    try_allocate(&app, id, None, 13).await.unwrap();
    let raised = alerts(&app).await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0]["id"], json!(id));
    assert_eq!(
        raised[0]["usage"],
        json!({"total": 14, "assigned": 13, "quarantined": 0, "free": 1, "percent": 92.85})
    );
    try_allocate(&app, id, None, 14).await.unwrap();
    assert_eq!(alerts(&app).await.len(), 1, "still above: no second alert");

    // Three released and out of quarantine: 11 of 14 used, below the mark.
    let mut conn = app.core().db.conn();
    for service in 12..=14 {
        release(&mut conn, service, app.clock.now()).await.unwrap();
    }
    app.clock.advance(chrono::Duration::hours(25));
    try_allocate(&app, id, None, 15).await.unwrap();
    assert_eq!(alerts(&app).await.len(), 1, "85.71 % does not alert");
    try_allocate(&app, id, None, 16).await.unwrap();
    assert_eq!(alerts(&app).await.len(), 2, "crossing again alerts again");
    app.stop().await;
}

async fn concurrent_allocations_never_share_an_address(app: TestApp) {
    // 126 hosts, 130 services asking at once, each in a transaction of its own.
    let id = pool(
        &app,
        json!({"name": "Crowded", "cidr": "10.0.0.0/25", "kind": "static"}),
    )
    .await;
    let tasks = 130;
    let start = Arc::new(tokio::sync::Barrier::new(tasks));
    let mut handles = Vec::new();
    for service in 1..=i64::try_from(tasks).unwrap() {
        let db = app.core().db.clone();
        let settings = app.core().network.settings().clone();
        let clock = app.clock.clone();
        let start = start.clone();
        handles.push(tokio::spawn(async move {
            start.wait().await;
            let mut tx = db.begin().await?;
            let address =
                allocate(&mut tx.conn(), id, None, service, clock.now(), &settings).await?;
            tx.commit().await?;
            Ok::<Ipv4Addr, Error>(address)
        }));
    }
    let mut addresses = Vec::new();
    let mut refusals = Vec::new();
    for handle in handles {
        match handle.await.unwrap() {
            Ok(address) => addresses.push(address),
            Err(error) => refusals.push(refusal(error)),
        }
    }
    let distinct: BTreeSet<Ipv4Addr> = addresses.iter().copied().collect();
    assert_eq!(addresses.len(), 126, "{refusals:?}");
    assert_eq!(distinct.len(), 126, "an address was handed out twice");
    let exhausted = (
        "static_ip".to_owned(),
        "The IP pool is exhausted.".to_owned(),
    );
    assert_eq!(refusals, vec![exhausted; 4]);
    let (rows, held): (i64, i64) = on_db!(&app.core().db, pool => sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT address) FROM ip_assignments WHERE pool_id = $1")
        .bind(id).fetch_one(pool).await)
    .unwrap();
    assert_eq!((rows, held), (126, 126));
    app.stop().await;
}

async fn a_claim_lost_to_a_concurrent_writer_moves_on_to_the_next_address(app: TestApp) {
    let id = pool(
        &app,
        json!({"name": "Raced", "cidr": "10.0.0.0/29", "kind": "static"}),
    )
    .await;
    // Another writer, one that does not queue on the pool, holds 10.0.0.1 uncommitted.
    let other = sqlx::PgPool::connect(&app.database.url).await.unwrap();
    let mut writer = other.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO ip_assignments (pool_id, address, service_id, assigned_at) \
         VALUES ($1, '10.0.0.1', 900, now())",
    )
    .bind(id)
    .execute(&mut *writer)
    .await
    .unwrap();
    let db = app.core().db.clone();
    let settings = app.core().network.settings().clone();
    let now = app.clock.now();
    let allocating = tokio::spawn(async move {
        let mut tx = db.begin().await?;
        let address = allocate(&mut tx.conn(), id, None, 1, now, &settings).await?;
        tx.commit().await?;
        Ok::<Ipv4Addr, Error>(address)
    });
    // The allocation picked 10.0.0.1 (it cannot see the uncommitted row) and now waits on
    // the writer's key.
    let started = Instant::now();
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND wait_event_type = 'Lock'",
        )
        .fetch_one(&other)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "never waited");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    writer.commit().await.unwrap();
    let address = allocating.await.unwrap().expect("the next address");
    assert_eq!(address, Ipv4Addr::new(10, 0, 0, 2));
    other.close().await;
    app.stop().await;
}
