//! Under overload and faults the server refuses cleanly instead of failing: a flood of
//! password work beyond the hashing pool gets `503` with `Retry-After` (never unbounded
//! memory, never a 500), and a database connection cut in the middle of a write is a `503`
//! that leaves nothing half-written.

use std::time::Duration;

use lastmile::Settings;
use lastmile_core::password::{Argon2Settings, HashingSettings};
use lastmile_tests::{
    StatusCode, TestApp, customer_body, engine_tests, json, postgres_tests, send,
};

/// One hash at a time, one waiting, and hashes slow enough (64 MiB, 3 passes) that a
/// burst of requests overlaps them.
fn one_hash_at_a_time(settings: &mut Settings) {
    settings.password_hashing = HashingSettings {
        workers: 1,
        queue: 1,
        max_wait: Duration::from_secs(30),
        keep_memory: Duration::from_secs(2),
        argon2: Argon2Settings {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        },
    };
}

engine_tests!(with = one_hash_at_a_time;
    a_flood_of_sign_ups_beyond_the_hashing_pool_gets_503_with_retry_after,
    a_flood_of_logins_beyond_the_hashing_pool_gets_503_with_retry_after,
);
// Cutting one backend's connection mid-transaction needs PostgreSQL's pg_terminate_backend.
postgres_tests!(a_connection_killed_mid_write_is_a_503_and_nothing_is_half_written);

async fn a_flood_of_sign_ups_beyond_the_hashing_pool_gets_503_with_retry_after(app: TestApp) {
    const FLOOD: usize = 24;
    let requests = (0..FLOOD).map(|n| {
        let request = app
            .request(reqwest::Method::POST, "/api/v1/customers")
            .json(&customer_body("Flood", &format!("+2547110{n:05}")));
        async move {
            let response = request.send().await.expect("HTTP request");
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let status = response.status();
            let body: serde_json::Value = response.json().await.expect("JSON body");
            (status, retry_after, body)
        }
    });
    let answers = futures::future::join_all(requests).await;

    let mut created = 0;
    let mut refused = 0;
    for (status, retry_after, body) in &answers {
        match *status {
            StatusCode::CREATED => created += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                refused += 1;
                assert_eq!(retry_after.as_deref(), Some("1"), "{body}");
                assert_eq!(body["success"], json!(false));
                assert_eq!(body["code"], json!("UNAVAILABLE"), "{body}");
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(created >= 1, "the pool still works under a flood");
    assert!(
        refused >= 1,
        "with one worker and one queue slot, {FLOOD} at once overflow"
    );

    // Exactly the acknowledged customers exist, each with its audit entry.
    let (status, list) = app.get("/api/v1/customers?per_page=100").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["meta"]["total"], json!(created), "{list}");
    let (_, audit) = app
        .get("/api/v1/audit-log?resource_type=customer&per_page=100")
        .await;
    let entries = audit["data"]["audit_entries"].as_array().cloned();
    let created_entries = entries
        .unwrap_or_default()
        .iter()
        .filter(|e| e["action"] == json!("customer.created"))
        .count();
    assert_eq!(created_entries, created, "{audit}");

    // The pool's state is visible to operators.
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "lastmile_password_hash_queue_depth",
        "lastmile_password_hash_rejected_total",
        "process_resident_memory_bytes",
    ] {
        assert!(metrics.contains(name), "{name} missing from {metrics}");
    }
    app.stop().await;
}

/// Logins cost an argon2 check each, for unknown e-mails too, so a flood of them is bounded
/// the same way: the pool's excess gets 503, the login limit's excess 429, never a 500.
async fn a_flood_of_logins_beyond_the_hashing_pool_gets_503_with_retry_after(app: TestApp) {
    const FLOOD: usize = 24;
    let requests = (0..FLOOD).map(|n| {
        let request = app
            .http
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": format!("nobody{n}@isp.example"), "password": "Str0ng!pass"}));
        async move {
            let response = request.send().await.expect("HTTP request");
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let status = response.status();
            let body: serde_json::Value = response.json().await.expect("JSON body");
            (status, retry_after, body)
        }
    });
    let answers = futures::future::join_all(requests).await;

    let (mut checked, mut refused, mut limited) = (0, 0, 0);
    for (status, retry_after, body) in &answers {
        assert_eq!(body["success"], json!(false), "{body}");
        match *status {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                refused += 1;
                assert_eq!(retry_after.as_deref(), Some("1"), "{body}");
                assert_eq!(body["code"], json!("UNAVAILABLE"), "{body}");
            }
            StatusCode::TOO_MANY_REQUESTS => {
                limited += 1;
                assert!(retry_after.is_some(), "{body}");
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(
        checked >= 1,
        "the pool still checks passwords under a flood"
    );
    assert!(
        refused >= 1,
        "with one worker and one queue slot, the admitted attempts overflow"
    );
    assert_eq!(checked + refused + limited, FLOOD);
    app.stop().await;
}

/// The core's connection is terminated by the server (as a restart or an operator does)
/// while the create waits inside its transaction: the client gets 503, the partial work is
/// rolled back, and a retry with the same Idempotency-Key then succeeds once.
async fn a_connection_killed_mid_write_is_a_503_and_nothing_is_half_written(app: TestApp) {
    let admin = sqlx::PgPool::connect(&app.database.url).await.unwrap();

    // Hold a lock that lets the create read and insert its customer row but not write its
    // audit entry, so that it waits in the middle of its transaction.
    let mut blocker = admin.begin().await.unwrap();
    sqlx::query("LOCK TABLE audit_log IN EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap();

    let body = customer_body("Halfway", "+254711777001");
    let request = app
        .request(reqwest::Method::POST, "/api/v1/customers")
        .header("Idempotency-Key", "cut-connection-1")
        .json(&body);
    let pending = tokio::spawn(async move {
        let response = request.send().await.expect("HTTP request");
        let retry_after = response.headers().get("retry-after").cloned();
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap();
        (status, retry_after, body)
    });

    // Wait for the core's backend to block on the lock, then terminate it. The create hashes
    // a password first, which waits for a hashing worker when the suite runs beside other
    // builds: give it up to 60 s of real time to get there.
    let mut terminated = false;
    for _ in 0..6000 {
        let killed: Option<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND wait_event_type = 'Lock' LIMIT 1",
        )
        .fetch_optional(&mut *blocker)
        .await
        .unwrap();
        if killed == Some(true) {
            terminated = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(terminated, "the create never waited on the lock");
    blocker.rollback().await.unwrap();

    let (status, retry_after, answer) = pending.await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert_eq!(answer["code"], json!("UNAVAILABLE"), "{answer}");
    assert!(retry_after.is_some(), "503 carries Retry-After");

    // Nothing of the cut transaction remains: no customer, no audit entry, no idempotency
    // record that would replay the failure.
    let customers: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(customers, 0);
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'customer.created'")
            .fetch_one(&admin)
            .await
            .unwrap();
    assert_eq!(audited, 0);

    // The retry works, once.
    let retry = || {
        app.request(reqwest::Method::POST, "/api/v1/customers")
            .header("Idempotency-Key", "cut-connection-1")
            .json(&body)
    };
    let (status, first) = send(retry()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = send(retry()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again, first, "the retry replays the first answer");
    let customers: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(customers, 1);
    admin.close().await;
    app.stop().await;
}
