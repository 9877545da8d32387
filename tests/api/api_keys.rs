//! API keys as a resource over REST: created by a principal and owned by its user, shown
//! once, listed without the key, revoked (and refused within seconds), never above the
//! owner's role, the tier set by admins only, and audited.

use lastmile_core::audit::{self, AuditQuery};
use lastmile_tests::{StatusCode, TestApp, engine_tests, json, send};
use reqwest::Method;
use serde_json::Value;

engine_tests!(
    a_user_creates_lists_and_revokes_their_own_keys,
    a_revoked_key_is_refused_within_three_seconds,
    a_key_cannot_be_created_with_a_role_above_its_owners,
    another_users_key_is_not_found_but_an_admin_may_revoke_it,
    only_admins_set_the_tier,
    key_creation_and_revocation_are_audited_without_the_key,
    the_keys_of_a_deleted_user_stop_working,
    a_key_stops_working_when_its_owners_role_falls_below_it,
    a_key_made_with_an_expiring_key_expires_with_it,
);

const PASSWORD: &str = "Str0ng!pass";

async fn user_token(app: &TestApp, email: &str, role: &str) -> (i64, String) {
    let body = json!({"name": "Staff Member", "email": email, "password": PASSWORD, "role": role});
    let (status, answer) = app.post("/api/v1/users", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let id = answer["data"]["user"]["id"].as_i64().unwrap();
    let body = json!({"email": email, "password": PASSWORD});
    let (status, answer) = send(app.http.post(app.url("/api/v1/auth/login")).json(&body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    (
        id,
        answer["data"]["access_token"].as_str().unwrap().to_owned(),
    )
}

async fn bearer(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app.http.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    send(request).await
}

async fn with_key(app: &TestApp, key: &str, path: &str) -> StatusCode {
    send(app.http.get(app.url(path)).header("X-API-Key", key))
        .await
        .0
}

/// Asserts that `key` is refused once the servers' memories of it are stale: the core
/// re-reads a key after two seconds, the edge after three.
async fn refused_after_three_seconds(app: &TestApp, key: &str) {
    app.clock.advance(chrono::Duration::seconds(3));
    let (status, body) = send(
        app.http
            .get(app.url("/api/v1/customers"))
            .header("X-API-Key", key),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["message"], "Invalid API key", "{body}");
}

async fn a_user_creates_lists_and_revokes_their_own_keys(app: TestApp) {
    let (user_id, token) = user_token(&app, "kim@isp.example", "support").await;
    let body = json!({"name": "billing sync", "description": "nightly job", "role": "support",
        "expires_at": "2099-01-01T00:00:00Z"});
    let (status, answer) = bearer(&app, &token, Method::POST, "/api/v1/api-keys", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let created = &answer["data"]["api_key"];
    let key = created["key"].as_str().unwrap().to_owned();
    assert_eq!(created["prefix"], &key[..11]);
    assert_eq!(created["role"], "support");
    assert_eq!(created["owner_user_id"], user_id);
    assert_eq!(created["expires_at"], "2099-01-01T00:00:00.000000Z");
    assert!(created["created_at"].is_string());
    assert!(created["last_used_at"].is_null());
    let id = created["id"].as_i64().unwrap();

    assert_eq!(
        with_key(&app, &key, "/api/v1/customers").await,
        StatusCode::OK
    );
    let (status, list) = bearer(&app, &token, Method::GET, "/api/v1/api-keys", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let keys = list["data"]["api_keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "only the user's own keys: {list}");
    assert_eq!(keys[0]["id"], id);
    assert!(keys[0].get("key").is_none(), "the key is shown only once");
    // An admin sees every key, the bootstrap key included.
    let (_, all) = app.get("/api/v1/api-keys").await;
    assert!(
        all["data"]["api_keys"].as_array().unwrap().len() >= 2,
        "{all}"
    );

    let path = format!("/api/v1/api-keys/{id}");
    let (status, _) = bearer(&app, &token, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = bearer(&app, &token, Method::GET, "/api/v1/api-keys", None).await;
    assert_eq!(list["data"]["api_keys"], json!([]));
    app.stop().await;
}

async fn a_revoked_key_is_refused_within_three_seconds(app: TestApp) {
    let (status, answer) = app
        .post(
            "/api/v1/api-keys",
            &json!({"name": "integration", "role": "read_only"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let key = answer["data"]["api_key"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = answer["data"]["api_key"]["id"].as_i64().unwrap();
    assert_eq!(
        with_key(&app, &key, "/api/v1/customers").await,
        StatusCode::OK
    );
    let (status, _) = app.delete(&format!("/api/v1/api-keys/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    refused_after_three_seconds(&app, &key).await;
    app.stop().await;
}

async fn a_key_cannot_be_created_with_a_role_above_its_owners(app: TestApp) {
    let (_, token) = user_token(&app, "lee@isp.example", "support").await;
    // Technicians run the network, which support staff only read: above support too.
    for role in ["admin", "manager", "billing", "technician"] {
        let body = Some(json!({"name": "too strong", "role": role}));
        let (status, answer) = bearer(&app, &token, Method::POST, "/api/v1/api-keys", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{role}: {answer}");
        assert_eq!(
            answer["errors"]["role"],
            json!(["The role may not grant more than your own role."])
        );
    }
    // A weaker role is fine, and that key cannot climb back up either.
    let (_, token) = user_token(&app, "kim@isp.example", "manager").await;
    let body = Some(json!({"name": "reader", "role": "technician"}));
    let (status, answer) = bearer(&app, &token, Method::POST, "/api/v1/api-keys", body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let key = answer["data"]["api_key"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, answer) = send(
        app.http
            .post(app.url("/api/v1/api-keys"))
            .header("X-API-Key", &key)
            .json(&json!({"name": "climb", "role": "support"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    // Without a role, a key gets its creator's.
    let (status, answer) = send(
        app.http
            .post(app.url("/api/v1/api-keys"))
            .header("X-API-Key", &key)
            .json(&json!({"name": "same"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["data"]["api_key"]["role"], "technician");
    app.stop().await;
}

async fn another_users_key_is_not_found_but_an_admin_may_revoke_it(app: TestApp) {
    let (_, owner) = user_token(&app, "max@isp.example", "support").await;
    let (_, other) = user_token(&app, "ned@isp.example", "support").await;
    let body = Some(json!({"name": "mine"}));
    let (status, answer) = bearer(&app, &owner, Method::POST, "/api/v1/api-keys", body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let path = format!("/api/v1/api-keys/{}", answer["data"]["api_key"]["id"]);
    let (status, answer) = bearer(&app, &other, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert_eq!(answer["message"], "API key not found");
    let (status, _) = app.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.delete(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn only_admins_set_the_tier(app: TestApp) {
    let (_, token) = user_token(&app, "oli@isp.example", "support").await;
    let body = Some(json!({"name": "fast", "tier": "enterprise"}));
    let (status, answer) = bearer(&app, &token, Method::POST, "/api/v1/api-keys", body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(
        answer["errors"]["tier"],
        json!(["Only administrators may set the tier."])
    );
    let (status, answer) = app
        .post(
            "/api/v1/api-keys",
            &json!({"name": "fast", "tier": "enterprise"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["data"]["api_key"]["tier"], "enterprise");
    let (status, answer) = app
        .post(
            "/api/v1/api-keys",
            &json!({"name": "odd", "tier": "platinum"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    app.stop().await;
}

async fn key_creation_and_revocation_are_audited_without_the_key(app: TestApp) {
    let (status, answer) = app
        .post(
            "/api/v1/api-keys",
            &json!({"name": "audited", "role": "support"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let key = answer["data"]["api_key"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = answer["data"]["api_key"]["id"].as_i64().unwrap();
    let (status, _) = app.delete(&format!("/api/v1/api-keys/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let query = AuditQuery {
        page: 1,
        per_page: 100,
        resource_type: Some("api_key".into()),
        resource_id: Some(id.to_string()),
        ..AuditQuery::default()
    };
    let (entries, _) = audit::list(&mut app.core().db.conn(), &query)
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["api_key.created", "api_key.revoked"]);
    for entry in &entries {
        let text = format!("{:?}{:?}", entry.before_values, entry.after_values);
        assert!(
            !text.contains(&key[11..]),
            "the key's secret part is never stored"
        );
    }
    assert_eq!(entries[1].after().unwrap()["role"], "support");
    app.stop().await;
}

async fn the_keys_of_a_deleted_user_stop_working(app: TestApp) {
    let (user_id, token) = user_token(&app, "pat@isp.example", "support").await;
    let body = Some(json!({"name": "left behind"}));
    let (status, answer) = bearer(&app, &token, Method::POST, "/api/v1/api-keys", body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let key = answer["data"]["api_key"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        with_key(&app, &key, "/api/v1/customers").await,
        StatusCode::OK
    );
    let (status, _) = app.delete(&format!("/api/v1/users/{user_id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    refused_after_three_seconds(&app, &key).await;
    app.stop().await;
}

async fn a_key_stops_working_when_its_owners_role_falls_below_it(app: TestApp) {
    let (user_id, token) = user_token(&app, "quinn@isp.example", "support").await;
    let body = Some(json!({"name": "support work", "role": "support"}));
    let (status, answer) = bearer(&app, &token, Method::POST, "/api/v1/api-keys", body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let key = answer["data"]["api_key"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        with_key(&app, &key, "/api/v1/customers").await,
        StatusCode::OK
    );
    let (status, _) = app
        .patch(
            &format!("/api/v1/users/{user_id}"),
            &json!({"role": "technician"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    refused_after_three_seconds(&app, &key).await;
    app.stop().await;
}

async fn a_key_made_with_an_expiring_key_expires_with_it(app: TestApp) {
    let (_, parent) = app
        .key(
            lastmile_core::identity::Role::Manager,
            None,
            Some(chrono::Duration::hours(1)),
        )
        .await;
    let create = |body: Value| {
        app.http
            .post(app.url("/api/v1/api-keys"))
            .header("X-API-Key", &parent)
            .json(&body)
    };
    let (_, parents) = send(
        app.http
            .get(app.url("/api/v1/api-keys"))
            .header("X-API-Key", &parent),
    )
    .await;
    let parent_expiry = parents["data"]["api_keys"][0]["expires_at"].clone();
    assert!(parent_expiry.is_string(), "{parents}");

    let (status, child) = send(create(json!({"name": "child"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{child}");
    assert_eq!(child["data"]["api_key"]["expires_at"], parent_expiry);

    let later =
        (lastmile_core::clock::Clock::now(&app.clock) + chrono::Duration::hours(2)).to_rfc3339();
    let (status, refused) = send(create(json!({"name": "outliving", "expires_at": later}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(
        refused["errors"]["expires_at"],
        json!(["The expires at may not be later than the expiry of your own credential."])
    );
    app.stop().await;
}
