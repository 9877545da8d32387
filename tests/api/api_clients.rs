//! API clients and the client-credentials flow: an admin creates a client (its secret shown
//! once), the client exchanges id and secret for a `v2_` token at `/api/v2/auth/token`,
//! uses it as a bearer credential, and revokes it at `/api/v2/auth/revoke`; the token
//! expires after 30 minutes of the servers' clock, and revoking the client ends its tokens.

use lastmile_core::identity::Role;
use lastmile_proto::v1::IssueClientTokenRequest;
use lastmile_proto::v1::identity_service_client::IdentityServiceClient;
use lastmile_tests::{StatusCode, TestApp, engine_tests, json, send};
use serde_json::Value;

engine_tests!(
    an_admin_creates_a_client_whose_secret_buys_a_token_that_works_until_revoked,
    a_wrong_secret_an_unknown_client_and_the_secret_as_a_key_are_refused,
    a_client_token_expires_after_thirty_minutes,
    revoking_the_client_ends_its_tokens,
    only_admins_manage_clients,
    a_client_token_cannot_make_or_revoke_credentials,
);

async fn create_client(app: &TestApp, name: &str) -> (i64, String, String) {
    let (status, answer) = app
        .post(
            "/api/v1/api-clients",
            &json!({"name": name, "role": "read_only"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let client = &answer["data"]["api_client"];
    (
        client["id"].as_i64().unwrap(),
        client["client_id"].as_str().unwrap().to_owned(),
        client["client_secret"].as_str().unwrap().to_owned(),
    )
}

async fn token(app: &TestApp, client_id: &str, secret: &str) -> (StatusCode, Value) {
    let body = json!({"client_id": client_id, "client_secret": secret});
    send(app.http.post(app.url("/api/v2/auth/token")).json(&body)).await
}

async fn customers_with(app: &TestApp, token: &str) -> (StatusCode, Value) {
    send(
        app.http
            .get(app.url("/api/v1/customers"))
            .bearer_auth(token),
    )
    .await
}

async fn an_admin_creates_a_client_whose_secret_buys_a_token_that_works_until_revoked(
    app: TestApp,
) {
    let (id, client_id, secret) = create_client(&app, "billing-export").await;
    assert_eq!(client_id.len(), 36, "{client_id}");

    // Listed without the secret, and not among the API keys.
    let (status, list) = app.get("/api/v1/api-clients").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let clients = list["data"]["api_clients"].as_array().unwrap();
    assert_eq!(clients.len(), 1, "{list}");
    assert_eq!(clients[0]["id"], json!(id));
    assert_eq!(clients[0]["client_id"], json!(client_id));
    assert_eq!(clients[0]["role"], json!("read_only"));
    assert!(clients[0].get("client_secret").is_none(), "{list}");
    let (_, keys) = app.get("/api/v1/api-keys?per_page=100").await;
    let listed = keys["data"]["api_keys"].as_array().unwrap();
    assert!(listed.iter().all(|k| k["id"] != json!(id)), "{keys}");

    let (status, answer) = token(&app, &client_id, &secret).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let access = answer["access_token"].as_str().unwrap().to_owned();
    assert!(access.starts_with("v2_"), "{answer}");
    assert_eq!(answer["token_type"], json!("bearer"));
    assert_eq!(answer["expires_in"], json!(1800));

    // The token acts with the client's role: reads pass, writes are forbidden.
    let (status, body) = customers_with(&app, &access).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = send(
        app.http
            .post(app.url("/api/v1/partners"))
            .bearer_auth(&access)
            .json(&json!({"name": "Nope"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Each exchange is a new token; revoking one leaves the other working.
    let (_, second) = token(&app, &client_id, &secret).await;
    let second = second["access_token"].as_str().unwrap().to_owned();
    assert_ne!(second, access);
    let revoke = |t: &str| {
        app.http
            .post(app.url("/api/v2/auth/revoke"))
            .bearer_auth(t.to_owned())
            .send()
    };
    let response = revoke(&access).await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.text().await.unwrap().is_empty());
    let (status, body) = customers_with(&app, &access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        revoke(&access).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = customers_with(&app, &second).await;
    assert_eq!(status, StatusCode::OK);

    // The client's use is recorded (in the background, to the minute), like a key's.
    // The write happens beside the answer, not before it: wait (at most 5 s) to see it.
    let mut last_used = Value::Null;
    for _ in 0..250 {
        let (_, list) = app.get("/api/v1/api-clients").await;
        last_used = list["data"]["api_clients"][0]["last_used_at"].clone();
        if !last_used.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(last_used.is_string(), "last_used_at never set");
    app.stop().await;
}

async fn a_wrong_secret_an_unknown_client_and_the_secret_as_a_key_are_refused(app: TestApp) {
    let (_, client_id, secret) = create_client(&app, "crm").await;
    for (id, secret) in [
        (
            client_id.as_str(),
            "lm_wrongsec_0000000000000000000000000000000",
        ),
        ("6f9619ff-8b86-4d01-b42d-00cf4fc964ff", secret.as_str()),
        ("not-a-uuid", secret.as_str()),
    ] {
        let (status, body) = token(&app, id, secret).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["message"], json!("Invalid client credentials"));
    }
    let (status, body) = token(&app, "", "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["errors"]["client_id"],
        json!(["The client id field is required."])
    );
    // The secret only buys tokens: as a key it is unknown.
    let (status, _) = send(
        app.http
            .get(app.url("/api/v1/customers"))
            .header("X-API-Key", &secret),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = customers_with(&app, "v2_made-up-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Over gRPC the core itself names the missing fields, and a wrong secret is refused.
    let mut identity = IdentityServiceClient::new(app.grpc_channel().await);
    let empty = IssueClientTokenRequest {
        client_id: " ".into(),
        client_secret: String::new(),
    };
    let status = identity.issue_client_token(empty).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let wrong = IssueClientTokenRequest {
        client_id,
        client_secret: "lm_wrongsec_0000000000000000000000000000000".into(),
    };
    let status = identity.issue_client_token(wrong).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    app.stop().await;
}

async fn a_client_token_expires_after_thirty_minutes(app: TestApp) {
    let (_, client_id, secret) = create_client(&app, "reports").await;
    let (_, answer) = token(&app, &client_id, &secret).await;
    let access = answer["access_token"].as_str().unwrap().to_owned();
    app.clock.advance(chrono::Duration::minutes(29));
    let (status, _) = customers_with(&app, &access).await;
    assert_eq!(status, StatusCode::OK);
    app.clock.advance(chrono::Duration::seconds(61));
    let (status, body) = customers_with(&app, &access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["message"], json!("Token has expired"));
    app.stop().await;
}

async fn revoking_the_client_ends_its_tokens(app: TestApp) {
    let (id, client_id, secret) = create_client(&app, "old-integration").await;
    let (_, answer) = token(&app, &client_id, &secret).await;
    let access = answer["access_token"].as_str().unwrap().to_owned();
    let (status, _) = app.delete(&format!("/api/v1/api-clients/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = customers_with(&app, &access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = token(&app, &client_id, &secret).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = app.delete(&format!("/api/v1/api-clients/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Both are audited, with the client_id and never the secret.
    let (status, audit) = app
        .get("/api/v1/audit-log?resource_type=api_client&per_page=100")
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let actions: Vec<_> = audit["data"]["audit_entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        actions.contains(&"api_client.created".to_owned()),
        "{audit}"
    );
    assert!(
        actions.contains(&"api_client.revoked".to_owned()),
        "{audit}"
    );
    let text = audit.to_string();
    assert!(text.contains(&client_id), "{audit}");
    assert!(!text.contains(&secret), "the secret is never audited");
    // An API key's id is no client.
    let (key_id, _) = app.key(Role::Support, None, None).await;
    let (status, _) = app.delete(&format!("/api/v1/api-clients/{key_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn only_admins_manage_clients(app: TestApp) {
    let (_, manager) = app.key(Role::Manager, None, None).await;
    let as_manager = |request: reqwest::RequestBuilder| request.header("X-API-Key", &manager);
    let (status, _) = send(as_manager(app.http.get(app.url("/api/v1/api-clients")))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(as_manager(
        app.http
            .post(app.url("/api/v1/api-clients"))
            .json(&json!({"name": "mine"})),
    ))
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await;
}

async fn a_client_token_cannot_make_or_revoke_credentials(app: TestApp) {
    // Even a client with the admin role: a 30-minute token must not mint lasting keys or
    // clients, nor disable other integrations.
    let (status, answer) = app
        .post(
            "/api/v1/api-clients",
            &json!({"name": "powerful", "role": "admin"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let client = &answer["data"]["api_client"];
    let (client_id, secret) = (
        client["client_id"].as_str().unwrap().to_owned(),
        client["client_secret"].as_str().unwrap().to_owned(),
    );
    let (other, _, _) = create_client(&app, "other").await;
    let (_, answer) = token(&app, &client_id, &secret).await;
    let access = answer["access_token"].as_str().unwrap().to_owned();
    let as_client = |request: reqwest::RequestBuilder| request.bearer_auth(&access);
    for (request, what) in [
        (
            as_client(app.http.post(app.url("/api/v1/api-keys"))).json(&json!({"name": "lasting"})),
            "a key",
        ),
        (
            as_client(app.http.post(app.url("/api/v1/api-clients")))
                .json(&json!({"name": "lasting"})),
            "a client",
        ),
        (
            as_client(
                app.http
                    .delete(app.url(&format!("/api/v1/api-clients/{other}"))),
            ),
            "a revocation",
        ),
    ] {
        let (status, body) = send(request).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
    }
    // It may still do what its role allows with the API.
    let (status, _) = customers_with(&app, &access).await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}
