//! `GET /api/v1/roles`: the core's permission table, role by role, readable by every role
//! and by nobody without a credential.

use lastmile_core::authz;
use lastmile_core::identity::{NewApiKey, Role, Tier};
use lastmile_tests::{StatusCode, TestApp, engine_tests, json, send};
use serde_json::{Map, Value};

engine_tests!(
    the_roles_are_listed_with_the_permissions_of_the_table,
    admin_support_reseller_and_read_only_have_exactly_their_grants,
    every_role_may_read_the_roles,
    the_roles_need_a_credential,
    the_roles_are_read_only,
    discovery_links_the_roles_and_the_audit_log,
);

const ROLES: &str = "/api/v1/roles";

/// `data.roles` as admin, by name.
async fn roles(app: &TestApp) -> Map<String, Value> {
    let (status, body) = app.get(ROLES).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], json!(true), "{body}");
    assert_eq!(body["message"], json!("OK"), "{body}");
    let list = body["data"]["roles"]
        .as_array()
        .unwrap_or_else(|| panic!("data.roles is a list: {body}"));
    let mut by_name = Map::new();
    for role in list {
        let name = role["name"].as_str().expect("a role has a name").to_owned();
        assert!(role["permissions"].is_object(), "{role}");
        assert!(
            by_name
                .insert(name.clone(), role["permissions"].clone())
                .is_none(),
            "{name} is listed twice"
        );
    }
    by_name
}

/// A key with this role, made directly in the core.
async fn key_with_role(app: &TestApp, role: Role) -> String {
    let (_, key) = app
        .core()
        .api_keys
        .create(NewApiKey {
            name: format!("{role:?} key"),
            description: None,
            role,
            tier: Tier::Standard,
            expires_at: None,
            partner_id: None,
        })
        .await
        .expect("create API key");
    key
}

async fn the_roles_are_listed_with_the_permissions_of_the_table(app: TestApp) {
    let listed = roles(&app).await;
    let names: Vec<&str> = listed.keys().map(String::as_str).collect();
    let mut expected: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    expected.sort_unstable();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, expected);
    assert_eq!(listed.len(), 7);
    for role in Role::ALL {
        let mut table = Map::new();
        for (resource, operations) in authz::grants(role) {
            let operations: Vec<&str> = operations.iter().map(|o| o.as_str()).collect();
            table.insert(resource.as_str().to_owned(), json!(operations));
        }
        assert_eq!(
            listed[role.as_str()],
            Value::Object(table),
            "{}",
            role.as_str()
        );
    }
    app.stop().await;
}

async fn admin_support_reseller_and_read_only_have_exactly_their_grants(app: TestApp) {
    let listed = roles(&app).await;
    let all = json!(["read", "create", "update", "delete", "act"]);
    let manage = json!(["read", "create", "update", "delete"]);
    let own_keys = json!(["read", "create", "delete"]);
    assert_eq!(
        listed["admin"],
        json!({
            "customers": all,
            "partners": manage,
            "organizations": manage,
            "user_groups": manage,
            "users": manage,
            "api_keys": own_keys,
            "api_clients": own_keys,
            "audit_log": ["read"],
            "roles": ["read"],
            "jobs": ["read", "act"],
            "events": ["read"],
            "webhooks": all,
            "routers": manage,
            "ip_pools": manage,
            "plans": manage,
            "services": all,
            "provisioning": ["read", "act"],
            "tickets": manage,
            "sla": all,
            "invoices": all,
            "payments": all,
            "tax_rates": manage,
            "billing_settings": ["read", "update"],
            "billing_runs": ["read", "create"],
        })
    );
    assert_eq!(
        listed["support"],
        json!({
            "customers": ["read", "create", "update", "act"],
            "organizations": ["read"],
            "user_groups": ["read"],
            "api_keys": own_keys,
            "roles": ["read"],
            "routers": ["read"],
            "ip_pools": ["read"],
            "plans": ["read"],
            "services": ["read", "create", "update", "act"],
            "provisioning": ["read"],
            "tickets": ["read", "create", "update"],
            "sla": ["read"],
            "invoices": ["read"],
            "payments": ["read"],
            "tax_rates": ["read"],
            "billing_runs": ["read"],
        })
    );
    assert_eq!(
        listed["reseller"],
        json!({
            "customers": ["read", "create", "update", "act"],
            "api_keys": own_keys,
            "roles": ["read"],
            "events": ["read"],
            "webhooks": all,
            "plans": ["read"],
            "services": ["read", "create", "update", "act"],
            "tickets": ["read", "create", "update"],
            "sla": ["read"],
            "invoices": ["read"],
            "payments": ["read", "create"],
        })
    );
    assert_eq!(
        listed["read_only"],
        json!({
            "customers": ["read"],
            "partners": ["read"],
            "organizations": ["read"],
            "user_groups": ["read"],
            "api_keys": ["read"],
            "roles": ["read"],
            "routers": ["read"],
            "ip_pools": ["read"],
            "plans": ["read"],
            "services": ["read"],
            "provisioning": ["read"],
            "tickets": ["read"],
            "sla": ["read"],
            "invoices": ["read"],
            "payments": ["read"],
            "tax_rates": ["read"],
            "billing_settings": ["read"],
            "billing_runs": ["read"],
        })
    );
    // Only admin and manager read the audit log.
    for (name, permissions) in &listed {
        let reads_log = permissions.get("audit_log").is_some();
        assert_eq!(reads_log, name == "admin" || name == "manager", "{name}");
    }
    app.stop().await;
}

async fn every_role_may_read_the_roles(app: TestApp) {
    let expected = roles(&app).await;
    for role in Role::ALL {
        let key = key_with_role(&app, role).await;
        for header in ["X-API-Key", "X-Auth-Token"] {
            let (status, body) =
                send(app.http.get(app.url(ROLES)).header(header, key.as_str())).await;
            assert_eq!(status, StatusCode::OK, "{role:?} via {header}: {body}");
            assert_eq!(body["data"]["roles"].as_array().map(Vec::len), Some(7));
        }
        let (status, body) = send(app.http.get(app.url(ROLES)).bearer_auth(&key)).await;
        assert_eq!(status, StatusCode::OK, "{role:?}: {body}");
        let seen: Map<String, Value> = body["data"]["roles"]
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
        assert_eq!(seen, expected, "{role:?} sees the same table");
    }
    app.stop().await;
}

async fn the_roles_need_a_credential(app: TestApp) {
    let (status, body) = send(app.http.get(app.url(ROLES))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["success"], json!(false), "{body}");
    assert_eq!(body["message"], json!("Missing API key"), "{body}");
    assert_eq!(body["code"], json!("UNAUTHENTICATED"), "{body}");
    let (status, body) = send(
        app.http
            .get(app.url(ROLES))
            .header("X-API-Key", "lm_not_a_real_key_at_all_0000"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["message"], json!("Invalid API key"), "{body}");
    app.stop().await;
}

async fn the_roles_are_read_only(app: TestApp) {
    for method in [
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
    ] {
        let (status, body) = send(
            app.request(method.clone(), ROLES)
                .json(&json!({"name": "root"})),
        )
        .await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}: {body}");
    }
    assert_eq!(roles(&app).await.len(), 7);
    app.stop().await;
}

async fn discovery_links_the_roles_and_the_audit_log(app: TestApp) {
    let (status, body) = send(app.http.get(app.url("/api/v1"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let links = &body["data"]["links"];
    assert_eq!(links["roles"], json!(app.url(ROLES)), "{body}");
    assert_eq!(
        links["audit_log"],
        json!(app.url("/api/v1/audit-log")),
        "{body}"
    );
    // The OpenAPI document describes both.
    let (status, doc) = send(app.http.get(app.url("/api/v1/openapi.json"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["paths"][ROLES]["get"].is_object());
    assert!(doc["paths"]["/api/v1/audit-log"]["get"].is_object());
    app.stop().await;
}
