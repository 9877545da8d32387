//! The access matrix: every protected endpoint × {no credential, invalid, expired, revoked,
//! each role, a reseller of another partner}, with the expected answer taken from the
//! permission table written below ([`PERMISSIONS`]) — reviewed by a person, not read back
//! from the server, so a wrong grant in the core fails here. The test fails when the
//! OpenAPI document lists a protected endpoint that the matrix does not cover, and when
//! `GET /api/v1/roles` shows a table other than this one.
//!
//! Bodies are well-typed but break a rule, so an allowed write proves that authorization
//! passed (422 or 404) without changing anything; deletes get a fresh target each time.
//! Jobs are made by the core, so the job to aim at is written into its table.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, Utc};
use lastmile_core::db::Db;
use lastmile_core::identity::Role;
use lastmile_tests::{StatusCode, TestApp, customer_body, engine_tests, json, send};
use serde_json::Value;

mod billing;
mod network;
mod permissions;
mod support;
use permissions::{NOT_OVER_REST, PERMISSIONS, ROLES, WITHOUT_ENDPOINT, allowed};

engine_tests!(every_endpoint_answers_every_principal_as_the_table_says);

/// A protected endpoint: method, OpenAPI path, and the permission it needs.
struct Endpoint {
    method: &'static str,
    path: &'static str,
    resource: &'static str,
    operation: &'static str,
    body: Option<Value>,
}

fn endpoints() -> Vec<Endpoint> {
    let e = |method, path, resource, operation, body: Option<Value>| Endpoint {
        method,
        path,
        resource,
        operation,
        body,
    };
    vec![
        e("GET", "/api/v1/customers", "customers", "read", None),
        e(
            "POST",
            "/api/v1/customers",
            "customers",
            "create",
            Some(json!({"first_name": "X"})),
        ),
        e("GET", "/api/v1/customers/{id}", "customers", "read", None),
        e(
            "PUT",
            "/api/v1/customers/{id}",
            "customers",
            "update",
            Some(json!({"first_name": "X"})),
        ),
        e(
            "PATCH",
            "/api/v1/customers/{id}",
            "customers",
            "update",
            Some(json!({"first_name": "X"})),
        ),
        e(
            "DELETE",
            "/api/v1/customers/{id}",
            "customers",
            "delete",
            None,
        ),
        e("GET", "/api/v1/roles", "roles", "read", None),
        e("GET", "/api/v1/audit-log", "audit_log", "read", None),
        e(
            "POST",
            "/api/v1/customers/{id}/action",
            "customers",
            "act",
            Some(json!({"action": "explode"})),
        ),
    ]
    .into_iter()
    .chain([
        // Too short or malformed on purpose: an allowed write is a 422 and changes nothing.
        e("GET", "/api/v1/users", "users", "read", None),
        e(
            "POST",
            "/api/v1/users",
            "users",
            "create",
            Some(json!({"name": "", "email": "bad"})),
        ),
        e("GET", "/api/v1/users/{id}", "users", "read", None),
        e(
            "PUT",
            "/api/v1/users/{id}",
            "users",
            "update",
            Some(json!({"email": "bad"})),
        ),
        e(
            "PATCH",
            "/api/v1/users/{id}",
            "users",
            "update",
            Some(json!({"email": "bad"})),
        ),
        e("DELETE", "/api/v1/users/{id}", "users", "delete", None),
        e("GET", "/api/v1/api-keys", "api_keys", "read", None),
        e(
            "POST",
            "/api/v1/api-keys",
            "api_keys",
            "create",
            Some(json!({"name": ""})),
        ),
        e(
            "DELETE",
            "/api/v1/api-keys/{id}",
            "api_keys",
            "delete",
            None,
        ),
        e("GET", "/api/v1/api-clients", "api_clients", "read", None),
        e(
            "POST",
            "/api/v1/api-clients",
            "api_clients",
            "create",
            Some(json!({"name": ""})),
        ),
        e(
            "DELETE",
            "/api/v1/api-clients/{id}",
            "api_clients",
            "delete",
            None,
        ),
    ])
    .chain(durable_work_endpoints())
    .chain(service_endpoints())
    .chain(network::endpoints())
    .chain(support::endpoints())
    .chain(billing::endpoints())
    .chain(catalog_endpoints())
    // The customers again at the clients alias: the same permissions.
    .chain(CUSTOMER_ALIAS.iter().map(|&(method, path, operation)| {
        let body = (method != "GET" && method != "DELETE").then(|| json!({"first_name": "X"}));
        e(method, path, "customers", operation, body)
    }))
    .chain(DIRECTORY.iter().flat_map(|&(collection, item, resource)| {
        // "X" is too short a name: an allowed write is a 422 and changes nothing.
        let body = || Some(json!({"name": "X"}));
        [
            e("GET", collection, resource, "read", None),
            e("POST", collection, resource, "create", body()),
            e("GET", item, resource, "read", None),
            e("PUT", item, resource, "update", body()),
            e("PATCH", item, resource, "update", body()),
            e("DELETE", item, resource, "delete", None),
        ]
    }))
    .collect()
}

/// Jobs and webhooks. A webhook body with an `ftp` URL breaks the core's rule, so an
/// allowed write is a 422 and changes nothing.
fn durable_work_endpoints() -> Vec<Endpoint> {
    let e = |method, path, resource, operation, body: Option<Value>| Endpoint {
        method,
        path,
        resource,
        operation,
        body,
    };
    let webhook = || Some(json!({"url": "ftp://matrix.example/hook", "events": ["*"]}));
    vec![
        e("GET", "/api/v1/jobs", "jobs", "read", None),
        e("GET", "/api/v1/jobs/{id}", "jobs", "read", None),
        e("POST", "/api/v1/jobs/{id}/retry", "jobs", "act", None),
        e("GET", "/api/v1/webhooks", "webhooks", "read", None),
        e("POST", "/api/v1/webhooks", "webhooks", "create", webhook()),
        e("GET", "/api/v1/webhooks/{id}", "webhooks", "read", None),
        e(
            "PUT",
            "/api/v1/webhooks/{id}",
            "webhooks",
            "update",
            webhook(),
        ),
        e(
            "PATCH",
            "/api/v1/webhooks/{id}",
            "webhooks",
            "update",
            webhook(),
        ),
        e(
            "DELETE",
            "/api/v1/webhooks/{id}",
            "webhooks",
            "delete",
            None,
        ),
        e(
            "POST",
            "/api/v1/webhooks/{id}/rotate-secret",
            "webhooks",
            "act",
            None,
        ),
        e(
            "POST",
            "/api/v1/webhooks/{id}/test",
            "webhooks",
            "act",
            None,
        ),
        e(
            "GET",
            "/api/v1/webhooks/{id}/deliveries",
            "webhooks",
            "read",
            None,
        ),
        e(
            "POST",
            "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            "webhooks",
            "act",
            None,
        ),
    ]
}

/// Services and provisioning. Updates come before the life-cycle commands, which may end
/// the target's life (a later refusal for its state is a 409, authorized first); bodies
/// break a rule, so an allowed write is a 422 and changes nothing.
fn service_endpoints() -> Vec<Endpoint> {
    let e = |method, path, resource, operation, body: Option<Value>| Endpoint {
        method,
        path,
        resource,
        operation,
        body,
    };
    let bad = || Some(json!({"vlan_id": 99999}));
    let mut list = vec![
        e(
            "POST",
            "/api/v1/customers/{id}/services/internet",
            "services",
            "create",
            Some(json!({"vlan_id": 99999})),
        ),
        e(
            "GET",
            "/api/v1/customers/{id}/services",
            "services",
            "read",
            None,
        ),
        e(
            "GET",
            "/api/v1/customers/{id}/subscriptions",
            "services",
            "read",
            None,
        ),
        e(
            "GET",
            "/api/v1/subscribers/{username}",
            "services",
            "read",
            None,
        ),
    ];
    for (collection, item) in [
        ("/api/v1/services", "/api/v1/services/{id}"),
        ("/api/v1/subscriptions", "/api/v1/subscriptions/{id}"),
    ] {
        list.extend([
            e("GET", collection, "services", "read", None),
            e("GET", item, "services", "read", None),
            e("PUT", item, "services", "update", bad()),
            e("PATCH", item, "services", "update", bad()),
            e("DELETE", item, "services", "delete", None),
        ]);
    }
    list.extend([
        e(
            "POST",
            "/api/v1/services/{id}/change-plan",
            "services",
            "act",
            Some(json!({"plan_id": 0})),
        ),
        e(
            "POST",
            "/api/v1/services/{id}/suspend",
            "services",
            "act",
            None,
        ),
        e(
            "POST",
            "/api/v1/services/{id}/unsuspend",
            "services",
            "act",
            None,
        ),
        e(
            "POST",
            "/api/v1/services/{id}/activate",
            "services",
            "act",
            None,
        ),
        e(
            "POST",
            "/api/v1/services/{id}/provision",
            "services",
            "act",
            Some(json!({"priority": "never"})),
        ),
        e(
            "POST",
            "/api/v1/services/{id}/terminate",
            "services",
            "act",
            None,
        ),
        e(
            "GET",
            "/api/v1/provisioning-jobs",
            "provisioning",
            "read",
            None,
        ),
        e(
            "GET",
            "/api/v1/provisioning-jobs/{id}",
            "provisioning",
            "read",
            None,
        ),
        e(
            "GET",
            "/api/v1/provisioning/drift",
            "provisioning",
            "read",
            None,
        ),
        e(
            "POST",
            "/api/v1/provisioning/reconcile",
            "provisioning",
            "act",
            None,
        ),
    ]);
    list
}

/// A plan and a service of customer `customer` to aim at; answers (service id, login).
async fn create_service(app: &TestApp, customer: i64, plan: i64) -> (i64, String) {
    let path = format!("/api/v1/customers/{customer}/services/internet");
    let (status, created) = app.post(&path, &json!({"plan_id": plan})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let service = &created["data"]["service"];
    (
        service["id"].as_i64().unwrap(),
        service["username"].as_str().unwrap().to_owned(),
    )
}

/// The plans at each of their paths, and the price list. A plan body with a speed of 0
/// breaks the core's rule, so an allowed write is a 422 and changes nothing.
fn catalog_endpoints() -> Vec<Endpoint> {
    let body = || Some(json!({"name": "Matrix plan", "speed_download_mbps": 0}));
    let mut endpoints = vec![Endpoint {
        method: "GET",
        path: "/api/v1/products/pricing",
        resource: "plans",
        operation: "read",
        body: None,
    }];
    for (collection, item) in CATALOG {
        let e = |method, path, operation, body: Option<Value>| Endpoint {
            method,
            path,
            resource: "plans",
            operation,
            body,
        };
        endpoints.extend([
            e("GET", collection, "read", None),
            e("POST", collection, "create", body()),
            e("GET", item, "read", None),
            e("PUT", item, "update", body()),
            e("PATCH", item, "update", body()),
            e("DELETE", item, "delete", None),
        ]);
    }
    endpoints
}

/// The plans' paths: collection and item.
const CATALOG: [(&str, &str); 3] = [
    ("/api/v1/plans", "/api/v1/plans/{id}"),
    ("/api/v1/packages", "/api/v1/packages/{id}"),
    ("/api/v1/products", "/api/v1/products/{id}"),
];

/// Creates a plan as the admin; returns its id.
async fn create_plan(app: &TestApp, name: &str) -> i64 {
    let body = json!({"name": name, "speed_download_mbps": 10, "speed_upload_mbps": 2,
                      "monthly_fee": 20});
    let (status, created) = app.post("/api/v1/plans", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["data"]["plan"]["id"].as_i64().unwrap()
}

/// Inserts a finished provisioning job directly; returns its id.
async fn insert_provisioning_job(app: &TestApp) -> i64 {
    let db = Db::connect(&app.database.url).await.unwrap();
    let sql = "INSERT INTO jobs (kind, status, attempts, max_attempts, run_at, created_at, \
               updated_at, finished_at, result) \
               VALUES ('radius.disconnect', 'succeeded', 1, 6, $1, $1, $1, $1, 'Disconnect-ACK') \
               RETURNING id";
    let now = Utc::now();
    let id =
        lastmile_core::on_db!(&db, pool => sqlx::query_scalar(sql).bind(now).fetch_one(pool).await)
            .expect("insert job");
    db.close().await;
    id
}

/// Inserts a dead job directly (no REST call makes jobs); returns its id. Only an admin
/// may retry it, once: the matrix makes exactly one allowed retry.
async fn insert_dead_job(app: &TestApp) -> i64 {
    let db = Db::connect(&app.database.url).await.unwrap();
    let sql = "INSERT INTO jobs (kind, status, attempts, max_attempts, last_error, run_at, \
               created_at, updated_at, finished_at) \
               VALUES ('matrix.target', 'dead', 3, 3, 'gave up', $1, $1, $1, $1) RETURNING id";
    let now = Utc::now();
    let id =
        lastmile_core::on_db!(&db, pool => sqlx::query_scalar(sql).bind(now).fetch_one(pool).await)
            .expect("insert job");
    db.close().await;
    id
}

/// Creates a webhook of the reseller whose key is `key`; returns its id.
async fn create_webhook(app: &TestApp, key: &str) -> i64 {
    let body = json!({"url": "http://127.0.0.1:9/lastmile-matrix", "events": ["customer.*"]});
    let request = app
        .http
        .post(app.url("/api/v1/webhooks"))
        .header("X-API-Key", key)
        .json(&body);
    let (status, created) = send(request).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["data"]["webhook"]["id"].as_i64().unwrap()
}

/// Queues a test delivery of a webhook as the admin; returns the delivery's id.
async fn test_delivery(app: &TestApp, webhook_id: i64) -> i64 {
    let path = format!("/api/v1/webhooks/{webhook_id}/test");
    let (status, answer) = app.post(&path, &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["data"]["delivery"]["id"].as_i64().unwrap()
}

/// The clients alias of the customers: method, path, operation.
const CUSTOMER_ALIAS: [(&str, &str, &str); 6] = [
    ("GET", "/api/v1/clients", "read"),
    ("POST", "/api/v1/clients", "create"),
    ("GET", "/api/v1/clients/{id}", "read"),
    ("PUT", "/api/v1/clients/{id}", "update"),
    ("PATCH", "/api/v1/clients/{id}", "update"),
    ("DELETE", "/api/v1/clients/{id}", "delete"),
];

/// The directory resources: collection path, item path, resource.
const DIRECTORY: [(&str, &str, &str); 3] = [
    ("/api/v1/partners", "/api/v1/partners/{id}", "partners"),
    (
        "/api/v1/organizations",
        "/api/v1/organizations/{id}",
        "organizations",
    ),
    (
        "/api/v1/user-groups",
        "/api/v1/user-groups/{id}",
        "user_groups",
    ),
];

/// Creates a directory entry of `resource` as the admin; returns its id.
async fn create_entry(app: &TestApp, resource: &str, name: &str) -> i64 {
    let (collection, _, _) = DIRECTORY.iter().find(|d| d.2 == resource).unwrap();
    let (status, created) = app.post(collection, &json!({"name": name})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let singular = resource.trim_end_matches('s');
    created["data"][singular]["id"].as_i64().unwrap()
}

/// Creates a support user as the admin; returns its id.
async fn create_user(app: &TestApp, n: usize) -> i64 {
    let body = json!({"name": "Matrix User", "email": format!("matrix-{n}@example.com"),
                      "password": "Str0ng!pass", "role": "support"});
    let (status, created) = app.post("/api/v1/users", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["data"]["user"]["id"].as_i64().unwrap()
}

/// Who calls.
#[derive(Debug, Clone)]
enum Caller {
    Nobody,
    InvalidKey,
    Expired(String),
    Revoked(String),
    Role(Role, String),
    OtherPartnersReseller(String),
}

/// What the caller must get.
#[derive(Debug, PartialEq)]
enum Expected {
    Unauthenticated(&'static str),
    Forbidden,
    NotFound,
    Allowed,
}

async fn revoke(app: &TestApp, key_id: i64) {
    let db = Db::connect(&app.database.url).await.unwrap();
    let sql = "UPDATE api_keys SET revoked_at = $2 WHERE id = $1";
    let now = Utc::now();
    lastmile_core::on_db!(&db, pool => sqlx::query(sql).bind(key_id).bind(now).execute(pool).await.map(drop)).unwrap();
    db.close().await;
}

/// `GET /api/v1/roles` shows the seven roles with exactly the grants of the table.
async fn the_roles_endpoint_shows_the_table(app: &TestApp) {
    let (status, body) = app.get("/api/v1/roles").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let shown: BTreeMap<String, Value> = body["data"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["permissions"].clone(),
            )
        })
        .collect();
    let names: BTreeSet<&str> = shown.keys().map(String::as_str).collect();
    assert_eq!(names, ROLES.into_iter().collect(), "{body}");
    for (resource, operation, columns) in PERMISSIONS {
        for (role, expected) in ROLES.iter().zip(columns) {
            let listed = shown[*role][resource]
                .as_array()
                .is_some_and(|ops| ops.contains(&json!(operation)));
            assert_eq!(
                listed, *expected,
                "GET /api/v1/roles: {role} {operation} {resource}"
            );
        }
    }
}

async fn every_endpoint_answers_every_principal_as_the_table_says(app: TestApp) {
    let (ours, theirs) = (
        app.insert_partner("Ours").await,
        app.insert_partner("Theirs").await,
    );
    the_roles_endpoint_shows_the_table(&app).await;
    // Every role of the core has a column (a new role needs a reviewed column).
    let core_roles: BTreeSet<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(core_roles, ROLES.into_iter().collect());

    // Coverage: every protected operation of the OpenAPI document is in the matrix.
    let (_, doc) = send(app.http.get(app.url("/api/v1/openapi.json"))).await;
    let covered: BTreeSet<(String, String)> = endpoints()
        .iter()
        .map(|e| (e.method.to_owned(), e.path.to_owned()))
        .collect();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let protected = operation
                .get("security")
                .and_then(Value::as_array)
                .is_some_and(|s| !s.is_empty());
            // Ending one's own client token needs a credential but no permission.
            let own_token = path == "/api/v2/auth/revoke";
            if protected && !own_token {
                let key = (method.to_uppercase(), path.clone());
                assert!(
                    covered.contains(&key),
                    "{key:?} is not covered by the access matrix"
                );
            }
        }
    }

    // And every row of the table is exercised by some endpoint.
    for (resource, operation, _) in PERMISSIONS {
        if NOT_OVER_REST.iter().any(|(r, _)| r == resource)
            || WITHOUT_ENDPOINT
                .iter()
                .any(|(r, o, _)| r == resource && o == operation)
        {
            continue;
        }
        assert!(
            endpoints()
                .iter()
                .any(|e| e.resource == *resource && e.operation == *operation),
            "no endpoint checks ({resource}, {operation})"
        );
    }

    let (_, expired) = app
        .key(Role::Admin, None, Some(Duration::seconds(-1)))
        .await;
    let (revoked_id, revoked) = app.key(Role::Admin, None, None).await;
    revoke(&app, revoked_id).await;
    let mut callers = vec![
        Caller::Nobody,
        Caller::InvalidKey,
        Caller::Expired(expired),
        Caller::Revoked(revoked),
        Caller::OtherPartnersReseller(app.key(Role::Reseller, Some(theirs), None).await.1),
    ];
    for name in ROLES {
        let role = Role::parse(name).unwrap_or_else(|| panic!("the core has no role {name}"));
        let partner = (role == Role::Reseller).then_some(ours);
        callers.push(Caller::Role(role, app.key(role, partner, None).await.1));
    }

    // A customer of `ours` to aim at; deletes that may succeed get a fresh one each.
    let mut phones = 10_000_000..;
    let mut target = || {
        let mut body = customer_body("Target", &format!("+2547{:08}", phones.next().unwrap()));
        body["partner_id"] = json!(ours);
        body
    };
    let shared = create(&app, target()).await;
    let mut shared_entries = BTreeMap::new();
    for (_, _, resource) in DIRECTORY {
        shared_entries.insert(
            resource,
            create_entry(&app, resource, "Matrix target").await,
        );
    }
    let mut fresh_names = (1..).map(|n| format!("Matrix target {n}"));
    let mut fresh_users = 1..;
    shared_entries.insert("users", create_user(&app, 0).await);
    // A key nobody in the matrix owns: only an admin may revoke it; for the others it is
    // someone else's key, which does not exist for them.
    shared_entries.insert("api_keys", app.key(Role::Support, None, None).await.0);
    shared_entries.insert("api_clients", create_api_client(&app).await);
    shared_entries.insert("plans", create_plan(&app, "Matrix plan target").await);
    shared_entries.insert("jobs", insert_dead_job(&app).await);
    shared_entries.insert("routers", network::create_router(&app, 0).await);
    shared_entries.insert("ip_pools", network::create_pool(&app, 0).await);
    let mut fresh_network = 1..;
    // Webhooks are a partner's, like customers: the reseller of `ours` owns the target.
    let ours_reseller = app.key(Role::Reseller, Some(ours), None).await.1;
    let webhook = create_webhook(&app, &ours_reseller).await;
    shared_entries.insert("webhooks", webhook);
    let delivery = test_delivery(&app, webhook).await;
    let plan = shared_entries["plans"];
    let (service, login) = create_service(&app, shared, plan).await;
    shared_entries.insert("services", service);
    shared_entries.insert("provisioning", insert_provisioning_job(&app).await);
    shared_entries.insert("tickets", support::create_ticket(&app, shared).await);
    shared_entries.insert("sla", support::create_policy(&app, 0).await);
    let mut fresh_policies = 1..;
    let billing_targets = billing::Targets::create(&app, shared).await;
    let mut fresh_rates = 1..;
    let mut checked = 0;
    for endpoint in endpoints() {
        for caller in &callers {
            let expected = expect(&endpoint, caller);
            let fresh = endpoint.method == "DELETE" && expected == Expected::Allowed;
            let under_customer = endpoint.path.starts_with("/api/v1/customers/{id}/");
            let id = match (endpoint.resource, fresh) {
                _ if under_customer => shared,
                ("services", true) => create_service(&app, shared, plan).await.0,
                ("customers", true) => create(&app, target()).await,
                ("customers", false) => shared,
                ("users", true) => create_user(&app, fresh_users.next().unwrap()).await,
                ("api_keys", true) => app.key(Role::Support, None, None).await.0,
                ("api_clients", true) => create_api_client(&app).await,
                ("webhooks", true) => create_webhook(&app, &ours_reseller).await,
                ("routers", true) => {
                    network::create_router(&app, fresh_network.next().unwrap()).await
                }
                ("ip_pools", true) => {
                    network::create_pool(&app, fresh_network.next().unwrap()).await
                }
                ("plans", true) => create_plan(&app, &fresh_names.next().unwrap()).await,
                ("tickets", true) => support::create_ticket(&app, shared).await,
                ("sla", true) => support::create_policy(&app, fresh_policies.next().unwrap()).await,
                ("invoices", true) => billing::create_invoice(&app, shared, true).await,
                ("tax_rates", true) => {
                    billing::create_tax_rate(&app, fresh_rates.next().unwrap()).await
                }
                (resource, true) => {
                    create_entry(&app, resource, &fresh_names.next().unwrap()).await
                }
                // Paths without an {id} (roles, audit log) need no target.
                (resource, false) => billing_targets
                    .id(endpoint.path, resource)
                    .or_else(|| shared_entries.get(resource).copied())
                    .unwrap_or(shared),
            };
            let path = endpoint
                .path
                .replace("{id}", &id.to_string())
                .replace("{delivery_id}", &delivery.to_string());
            // A subscriber is found by login, not by id.
            let path = if endpoint.path.starts_with("/api/v1/subscribers/") {
                format!("/api/v1/subscribers/{login}")
            } else {
                path
            };
            let method = reqwest::Method::from_bytes(endpoint.method.as_bytes()).unwrap();
            let mut request = app.http.request(method, app.url(&path));
            request = match caller {
                Caller::Nobody => request,
                Caller::InvalidKey => {
                    request.header("X-API-Key", "lm_notakey_0000000000000000000000000000")
                }
                Caller::Expired(key)
                | Caller::Revoked(key)
                | Caller::Role(_, key)
                | Caller::OtherPartnersReseller(key) => request.header("X-API-Key", key),
            };
            if let Some(body) = &endpoint.body {
                request = request.json(body);
            }
            let (status, answer) = send_any(request).await;
            let context = format!(
                "{} {} as {caller:?}: {status} {answer}",
                endpoint.method, endpoint.path
            );
            match expected {
                Expected::Unauthenticated(message) => {
                    assert_eq!(status, StatusCode::UNAUTHORIZED, "{context}");
                    assert_eq!(answer["message"], json!(message), "{context}");
                    assert_eq!(answer["code"], json!("UNAUTHENTICATED"), "{context}");
                }
                Expected::Forbidden => {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{context}");
                    assert_eq!(
                        (answer["message"].clone(), answer["code"].clone()),
                        (json!("Forbidden"), json!("FORBIDDEN")),
                        "{context}"
                    );
                }
                Expected::NotFound => {
                    assert_eq!(status, StatusCode::NOT_FOUND, "{context}");
                    assert!(answer.get("data").is_none(), "{context}");
                }
                Expected::Allowed => {
                    // A key is its owner's: another's key is "not found", like any other
                    // resource the caller may not see.
                    let owner_scoped =
                        endpoint.resource == "api_keys" && endpoint.path.contains("{id}");
                    // An action refused in the target's present state (a delivery still
                    // pending) was authorized first, as a 422 was.
                    let refused_for_state =
                        endpoint.operation == "act" && status == StatusCode::CONFLICT;
                    assert!(
                        status.is_success()
                            || status == StatusCode::UNPROCESSABLE_ENTITY
                            || (owner_scoped && status == StatusCode::NOT_FOUND)
                            || refused_for_state,
                        "{context}"
                    );
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, endpoints().len() * callers.len());
    app.stop().await;
}

/// Sends a request; returns status and JSON body, `Null` for a body that is not JSON (an
/// invoice's PDF) or is empty.
async fn send_any(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("HTTP request");
    let status = response.status();
    let bytes = response.bytes().await.expect("HTTP body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn create_api_client(app: &TestApp) -> i64 {
    let body = json!({"name": "Matrix client", "role": "read_only"});
    let (status, created) = app.post("/api/v1/api-clients", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["data"]["api_client"]["id"].as_i64().unwrap()
}

async fn create(app: &TestApp, body: Value) -> i64 {
    let (status, created) = app.post("/api/v1/customers", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["data"]["customer"]["id"].as_i64().unwrap()
}

fn expect(endpoint: &Endpoint, caller: &Caller) -> Expected {
    let may = |role: Role| allowed(role.as_str(), endpoint.resource, endpoint.operation);
    match caller {
        Caller::Nobody => Expected::Unauthenticated("Missing API key"),
        Caller::InvalidKey | Caller::Revoked(_) => Expected::Unauthenticated("Invalid API key"),
        Caller::Expired(_) => Expected::Unauthenticated("API key has expired"),
        Caller::Role(role, _) if may(*role) => Expected::Allowed,
        Caller::Role(..) => Expected::Forbidden,
        Caller::OtherPartnersReseller(_) if !may(Role::Reseller) => Expected::Forbidden,
        // The resource belongs to another partner: it does not exist for this caller.
        Caller::OtherPartnersReseller(_)
            if (endpoint.path.contains("{id}") || endpoint.path.contains("{username}"))
                && matches!(
                    endpoint.resource,
                    "customers" | "webhooks" | "services" | "tickets" | "invoices" | "payments"
                ) =>
        {
            Expected::NotFound
        }
        Caller::OtherPartnersReseller(_) => Expected::Allowed,
    }
}
