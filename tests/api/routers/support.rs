//! What the network tests share: valid routers, the 422 check, and rows of other domains
//! (plans, services) written straight into the test's database, which no API of this
//! branch makes yet.

use chrono::Utc;
use lastmile_core::on_db;
use lastmile_tests::{StatusCode, TestApp, json};
use serde_json::Value;

/// The secret every router of these tests starts with.
pub(crate) const SECRET: &str = "Zq8!-k3Y;radius";

/// A valid create body.
pub(crate) fn router_body(name: &str, ip: &str) -> Value {
    json!({"name": name, "ip_address": ip, "kind": "mikrotik", "secret": SECRET})
}

/// Creates a router; returns its JSON.
pub(crate) async fn create_router(app: &TestApp, name: &str, ip: &str) -> Value {
    let (status, body) = app.post("/api/v1/routers", &router_body(name, ip)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"]["router"].clone()
}

/// The 422 of a validation failure with exactly `errors`.
pub(crate) fn assert_refused(status: StatusCode, body: &Value, errors: Value) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], json!("VALIDATION_ERROR"), "{body}");
    assert_eq!(body["message"], json!("Validation failed"), "{body}");
    assert_eq!(body["errors"], errors, "{body}");
}

/// Runs `sql` with an integer parameter on the test database.
pub(crate) async fn execute(app: &TestApp, sql: &'static str, id: i64) {
    on_db!(&app.core().db, pool => sqlx::query(sql).bind(id).execute(pool).await.map(drop))
        .expect(sql);
}

/// A customer, a plan and a service on `router_id` in `status`; returns the service's id.
pub(crate) async fn insert_service(
    app: &TestApp,
    n: i64,
    column: &str,
    id: i64,
    status: &str,
) -> i64 {
    let customer = app
        .create_customer("Subscriber", &format!("+25472200{n:04}"))
        .await["id"]
        .as_i64()
        .unwrap();
    let now = Utc::now();
    let db = &app.core().db;
    let plan: i64 = on_db!(db, pool => sqlx::query_scalar(
        "INSERT INTO plans (name, download_kbps, upload_kbps, monthly_fee_minor, currency, \
         created_at, updated_at) VALUES ($1, 10000, 5000, 2500, 'USD', $2, $2) RETURNING id")
        .bind(format!("Plan {n}")).bind(now).fetch_one(pool).await)
    .expect("insert plan");
    let sql = format!(
        "INSERT INTO services (customer_id, plan_id, status, username, password, {column}, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, 'pw', $5, $6, $6) RETURNING id"
    );
    on_db!(db, pool => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(customer).bind(plan).bind(status).bind(format!("user{n}")).bind(id).bind(now)
        .fetch_one(pool).await)
    .expect("insert service")
}
