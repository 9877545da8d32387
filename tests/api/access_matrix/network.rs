//! The network's endpoints in the matrix: routers (also at the servers alias) and IP
//! pools. A one-letter name breaks the core's rule, so an allowed write is a 422 and
//! changes nothing; deletes get a fresh target each time.

use lastmile_tests::{StatusCode, TestApp, json};

use super::Endpoint;

/// Routers, the same at their servers alias, and IP pools: collection, item, resource.
const COLLECTIONS: [(&str, &str, &str); 3] = [
    ("/api/v1/routers", "/api/v1/routers/{id}", "routers"),
    ("/api/v1/servers", "/api/v1/servers/{id}", "routers"),
    ("/api/v1/ip-pools", "/api/v1/ip-pools/{id}", "ip_pools"),
];

/// Every route of routers, servers and IP pools with the permission it needs.
pub(super) fn endpoints() -> Vec<Endpoint> {
    COLLECTIONS
        .into_iter()
        .flat_map(|(collection, item, resource)| {
            let e = |method, path, operation, with_body: bool| Endpoint {
                method,
                path,
                resource,
                operation,
                body: with_body.then(|| json!({"name": "X"})),
            };
            [
                e("GET", collection, "read", false),
                e("POST", collection, "create", true),
                e("GET", item, "read", false),
                e("PUT", item, "update", true),
                e("PATCH", item, "update", true),
                e("DELETE", item, "delete", false),
            ]
        })
        .collect()
}

/// Creates router number `n` as the admin; returns its id.
pub(super) async fn create_router(app: &TestApp, n: u32) -> i64 {
    let body = json!({"name": format!("Matrix router {n}"), "kind": "other",
                      "ip_address": format!("10.{}.{}.1", n / 256, n % 256),
                      "secret": "matrix-secret"});
    let (status, created) = app.post("/api/v1/routers", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["data"]["router"]["id"].as_i64().unwrap()
}

/// Creates pool number `n` as the admin; returns its id.
pub(super) async fn create_pool(app: &TestApp, n: u32) -> i64 {
    let body = json!({"name": format!("Matrix pool {n}"), "cidr": "10.0.0.0/24",
                      "kind": "static"});
    let (status, created) = app.post("/api/v1/ip-pools", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["data"]["ip_pool"]["id"].as_i64().unwrap()
}
