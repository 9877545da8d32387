//! Tickets and SLA in the matrix. Bodies break a rule (a one-letter subject or name, an
//! empty comment), so an allowed write is a 422 and changes nothing; the breach check and
//! the metrics are reads and runs that change nothing the matrix looks at.

use lastmile_tests::{StatusCode, TestApp, json};

use super::Endpoint;

/// Every route of tickets, their comments, SLA policies, the breach check and the metrics.
pub(super) fn endpoints() -> Vec<Endpoint> {
    let e = |method, path, resource, operation, body: Option<serde_json::Value>| Endpoint {
        method,
        path,
        resource,
        operation,
        body,
    };
    let ticket = || Some(json!({"subject": "X"}));
    let policy = || Some(json!({"name": "X"}));
    vec![
        e("GET", "/api/v1/tickets", "tickets", "read", None),
        e("POST", "/api/v1/tickets", "tickets", "create", ticket()),
        e("GET", "/api/v1/tickets/{id}", "tickets", "read", None),
        e("PUT", "/api/v1/tickets/{id}", "tickets", "update", ticket()),
        e(
            "PATCH",
            "/api/v1/tickets/{id}",
            "tickets",
            "update",
            ticket(),
        ),
        e("DELETE", "/api/v1/tickets/{id}", "tickets", "delete", None),
        e(
            "GET",
            "/api/v1/tickets/{id}/comments",
            "tickets",
            "read",
            None,
        ),
        e(
            "POST",
            "/api/v1/tickets/{id}/comments",
            "tickets",
            "update",
            Some(json!({"body": ""})),
        ),
        e(
            "GET",
            "/api/v1/customers/{id}/tickets",
            "tickets",
            "read",
            None,
        ),
        e(
            "POST",
            "/api/v1/customers/{id}/tickets",
            "tickets",
            "create",
            ticket(),
        ),
        e("GET", "/api/v1/sla/policies", "sla", "read", None),
        e("POST", "/api/v1/sla/policies", "sla", "create", policy()),
        e("GET", "/api/v1/sla/policies/{id}", "sla", "read", None),
        e(
            "PUT",
            "/api/v1/sla/policies/{id}",
            "sla",
            "update",
            policy(),
        ),
        e(
            "PATCH",
            "/api/v1/sla/policies/{id}",
            "sla",
            "update",
            policy(),
        ),
        e("DELETE", "/api/v1/sla/policies/{id}", "sla", "delete", None),
        e("POST", "/api/v1/sla/check-breaches", "sla", "act", None),
        e(
            "GET",
            "/api/v1/sla/performance-metrics",
            "sla",
            "read",
            None,
        ),
    ]
}

/// Opens a ticket of customer `customer` as the admin; returns its id.
pub(super) async fn create_ticket(app: &TestApp, customer: i64) -> i64 {
    let body = json!({"customer_id": customer, "subject": "Matrix ticket"});
    let (status, created) = app.post("/api/v1/tickets", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["data"]["ticket"]["id"].as_i64().unwrap()
}

/// Creates SLA policy number `n` as the admin (each for its own group-less priority slot
/// would clash, so each names its own plan-less, group-less low priority once and the
/// rest a fresh user group); returns its id.
pub(super) async fn create_policy(app: &TestApp, n: u32) -> i64 {
    let (status, group) = app
        .post(
            "/api/v1/user-groups",
            &json!({"name": format!("Matrix SLA group {n}")}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let body = json!({"name": format!("Matrix policy {n}"), "priority": "low",
                      "user_group_id": group["data"]["user_group"]["id"],
                      "first_response_minutes": 60, "resolution_minutes": 480});
    let (status, created) = app.post("/api/v1/sla/policies", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["data"]["sla_policy"]["id"].as_i64().unwrap()
}
