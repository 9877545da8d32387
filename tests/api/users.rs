//! Staff users over REST: an admin creates a support user and a reseller user, each logs
//! in and sees what its role allows; the field rules; admin-only management; nobody changes
//! their own role; every change is audited without the password.

use lastmile_core::audit::{self, AuditQuery, AuditRow};
use lastmile_tests::{StatusCode, TestApp, engine_tests, json, send};
use reqwest::Method;
use serde_json::Value;

engine_tests!(
    an_admin_creates_a_support_and_a_reseller_user_and_each_sees_what_its_role_allows,
    users_can_be_read_changed_and_deleted_by_an_admin,
    user_fields_are_checked_and_every_failure_reported,
    emails_are_unique_ignoring_case,
    only_admins_manage_users,
    nobody_changes_their_own_role,
    user_changes_are_audited_without_the_password,
);

const PASSWORD: &str = "Str0ng!pass";

async fn create_user(app: &TestApp, body: Value) -> Value {
    let (status, answer) = app.post("/api/v1/users", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer["data"]["user"].clone()
}

fn staff(email: &str, role: &str) -> Value {
    json!({"name": "Staff Member", "email": email, "password": PASSWORD, "role": role})
}

async fn access_token(app: &TestApp, email: &str) -> String {
    let body = json!({"email": email, "password": PASSWORD});
    let (status, answer) = send(app.http.post(app.url("/api/v1/auth/login")).json(&body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["data"]["access_token"].as_str().unwrap().to_owned()
}

async fn as_user(
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

async fn audit_entries(app: &TestApp, resource_id: i64) -> Vec<AuditRow> {
    let query = AuditQuery {
        page: 1,
        per_page: 100,
        resource_type: Some("user".into()),
        resource_id: Some(resource_id.to_string()),
        ..AuditQuery::default()
    };
    let (mut rows, _) = audit::list(&mut app.core().db.conn(), &query)
        .await
        .expect("audit log");
    rows.retain(|r| r.action.starts_with("user."));
    rows
}

async fn an_admin_creates_a_support_and_a_reseller_user_and_each_sees_what_its_role_allows(
    app: TestApp,
) {
    let (status, partner) = app
        .post("/api/v1/partners", &json!({"name": "Fibre Resellers Ltd"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{partner}");
    let partner_id = partner["data"]["partner"]["id"].as_i64().unwrap();
    let support = create_user(&app, staff("sue@isp.example", "support")).await;
    assert_eq!(support["role"], "support");
    assert_eq!(support["active"], true);
    assert!(support.get("password").is_none() && support.get("password_hash").is_none());
    let mut body = staff("rex@reseller.example", "reseller");
    body["partner_id"] = json!(partner_id);
    let reseller = create_user(&app, body).await;
    assert_eq!(reseller["partner_id"], partner_id);
    let customer = app.create_customer("Ada", "+254700000001").await;
    let customer_path = format!("/api/v1/customers/{}", customer["id"]);

    // Support works with every customer but manages no users and deletes no customers.
    let token = access_token(&app, "sue@isp.example").await;
    let (status, list) = as_user(&app, &token, Method::GET, "/api/v1/customers", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["meta"]["total"], 1);
    let (status, _) = as_user(&app, &token, Method::GET, &customer_path, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = as_user(&app, &token, Method::DELETE, &customer_path, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = as_user(&app, &token, Method::GET, "/api/v1/users", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The reseller sees only its partner's customers: not this one.
    let token = access_token(&app, "rex@reseller.example").await;
    let (status, list) = as_user(&app, &token, Method::GET, "/api/v1/customers", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["meta"]["total"], 0, "{list}");
    let (status, _) = as_user(&app, &token, Method::GET, &customer_path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = as_user(&app, &token, Method::GET, "/api/v1/users", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await;
}

async fn users_can_be_read_changed_and_deleted_by_an_admin(app: TestApp) {
    let user = create_user(&app, staff("tom@isp.example", "technician")).await;
    let path = format!("/api/v1/users/{}", user["id"]);
    let (status, body) = app.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["user"]["email"], "tom@isp.example");
    let (status, body) = app.get("/api/v1/users?per_page=10").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["meta"]["total"], 1);
    assert_eq!(body["data"]["users"][0]["id"], user["id"]);

    let change = json!({"name": "Tom Tech", "role": "support"});
    let (status, body) = app.patch(&path, &change).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["user"]["name"], "Tom Tech");
    assert_eq!(body["data"]["user"]["role"], "support");

    let (status, body) = app.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = app.get(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["message"], "User not found");
    // The email is free again.
    create_user(&app, staff("tom@isp.example", "support")).await;
    app.stop().await;
}

async fn user_fields_are_checked_and_every_failure_reported(app: TestApp) {
    let body = json!({"name": "", "email": "not-an-email", "password": "abc", "role": "boss"});
    let (status, answer) = app.post("/api/v1/users", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let errors = &answer["errors"];
    assert_eq!(errors["name"], json!(["The name field is required."]));
    assert_eq!(
        errors["email"],
        json!(["The email must be a valid email address."])
    );
    assert_eq!(errors["role"], json!(["The selected role is invalid."]));
    assert!(
        errors["password"].as_array().unwrap().len() >= 3,
        "{answer}"
    );

    let (status, answer) = app
        .post("/api/v1/users", &staff("res@isp.example", "reseller"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(
        answer["errors"]["partner_id"],
        json!(["The partner id field is required when role is reseller."])
    );
    let mut body = staff("res@isp.example", "reseller");
    body["partner_id"] = json!(999_999);
    let (status, answer) = app.post("/api/v1/users", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(
        answer["errors"]["partner_id"],
        json!(["The selected partner id is invalid."])
    );
    app.stop().await;
}

async fn emails_are_unique_ignoring_case(app: TestApp) {
    create_user(&app, staff("Uma@ISP.example", "billing")).await;
    let (status, answer) = app
        .post("/api/v1/users", &staff("uma@isp.EXAMPLE", "support"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(
        answer["errors"]["email"],
        json!(["The email has already been taken."])
    );
    app.stop().await;
}

async fn only_admins_manage_users(app: TestApp) {
    create_user(&app, staff("mia@isp.example", "manager")).await;
    let token = access_token(&app, "mia@isp.example").await;
    // Managers may read users, not create them.
    let (status, _) = as_user(&app, &token, Method::GET, "/api/v1/users", None).await;
    assert_eq!(status, StatusCode::OK);
    let body = Some(staff("new@isp.example", "admin"));
    let (status, answer) = as_user(&app, &token, Method::POST, "/api/v1/users", body).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(answer["message"], "Forbidden");
    let (status, _) = send(app.http.get(app.url("/api/v1/users"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

async fn nobody_changes_their_own_role(app: TestApp) {
    let admin = create_user(&app, staff("ann@isp.example", "admin")).await;
    let token = access_token(&app, "ann@isp.example").await;
    let path = format!("/api/v1/users/{}", admin["id"]);
    let change = Some(json!({"role": "read_only"}));
    let (status, answer) = as_user(&app, &token, Method::PATCH, &path, change).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(
        answer["errors"]["role"],
        json!(["You cannot change your own role."])
    );
    // Other fields of one's own account may change.
    let change = Some(json!({"name": "Ann Admin"}));
    let (status, answer) = as_user(&app, &token, Method::PATCH, &path, change).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    app.stop().await;
}

async fn user_changes_are_audited_without_the_password(app: TestApp) {
    let user = create_user(&app, staff("vic@isp.example", "support")).await;
    let id = user["id"].as_i64().unwrap();
    let path = format!("/api/v1/users/{id}");
    let (status, _) = app.patch(&path, &json!({"password": "N3w!password"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.patch(&path, &json!({"role": "billing"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let entries = audit_entries(&app, id).await;
    let actions: Vec<&str> = entries.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "user.created",
            "user.updated",
            "user.role_changed",
            "user.deleted"
        ]
    );
    let role_change = entries
        .iter()
        .find(|e| e.action == "user.role_changed")
        .unwrap();
    assert_eq!(role_change.before().unwrap()["role"], "support");
    assert_eq!(role_change.after().unwrap()["role"], "billing");
    let password_change = entries.iter().find(|e| e.action == "user.updated").unwrap();
    assert_eq!(password_change.after().unwrap()["password"], "[redacted]");
    for entry in &entries {
        let text = format!("{:?}{:?}", entry.before_values, entry.after_values);
        assert!(!text.contains("N3w!") && !text.contains(PASSWORD) && !text.contains("argon2"));
        assert!(entry.actor_api_key_id.is_some(), "the admin key acted");
    }
    app.stop().await;
}
