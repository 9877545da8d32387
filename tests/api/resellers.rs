//! A reseller sees only its own partner's customers: lists are filtered, lookups of
//! another partner's customer are 404 (never 403, never data), creates land in its own
//! partner, and it cannot hand a customer to another partner.

use lastmile_core::identity::Role;
use lastmile_tests::{StatusCode, TestApp, customer_body, engine_tests, json, send};
use serde_json::Value;

engine_tests!(
    a_reseller_lists_only_its_partners_customers,
    a_reseller_cannot_read_change_or_act_on_another_partners_customer,
    a_reseller_cannot_guess_another_partners_customer_by_portal_id,
    a_resellers_create_lands_in_its_own_partner,
    a_reseller_cannot_move_a_customer_to_another_partner,
    a_reseller_without_a_partner_sees_nothing,
);

async fn partner(app: &TestApp, name: &str) -> i64 {
    app.insert_partner(name).await
}

async fn reseller_key(app: &TestApp, partner_id: Option<i64>) -> String {
    app.key(Role::Reseller, partner_id, None).await.1
}

/// A customer of `partner_id`, created by the admin.
async fn customer_of(app: &TestApp, partner_id: i64, name: &str, phone: &str) -> Value {
    let mut body = customer_body(name, phone);
    body["partner_id"] = json!(partner_id);
    let (status, body) = app.post("/api/v1/customers", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"]["customer"].clone()
}

async fn as_key(
    app: &TestApp,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app
        .http
        .request(method, app.url(path))
        .header("X-API-Key", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    send(request).await
}

fn assert_not_found(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], json!("NOT_FOUND"));
    assert_eq!(body["message"], json!("Customer not found"));
    assert!(body.get("data").is_none(), "no data leaks: {body}");
}

async fn a_reseller_lists_only_its_partners_customers(app: TestApp) {
    let (ours, theirs) = (partner(&app, "Ours").await, partner(&app, "Theirs").await);
    customer_of(&app, ours, "Amina", "+254711000101").await;
    customer_of(&app, ours, "Baraka", "+254711000102").await;
    customer_of(&app, theirs, "Chege", "+254711000103").await;
    app.create_customer("Dalia", "+254711000104").await; // no partner
    let key = reseller_key(&app, Some(ours)).await;

    let (status, body) = as_key(&app, &key, reqwest::Method::GET, "/api/v1/customers", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let names: Vec<&str> = body["data"]["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["first_name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"Amina") && names.contains(&"Baraka"));
    assert_eq!(body["meta"]["total"], json!(2));

    // Filtering by another partner or searching for their customer finds nothing.
    let path = format!("/api/v1/customers?partner_id={theirs}");
    let (_, body) = as_key(&app, &key, reqwest::Method::GET, &path, None).await;
    assert_eq!(body["meta"]["total"], json!(0));
    let (_, body) = as_key(
        &app,
        &key,
        reqwest::Method::GET,
        "/api/v1/customers?search=Chege",
        None,
    )
    .await;
    assert_eq!(body["meta"]["total"], json!(0));
    app.stop().await;
}

async fn a_reseller_cannot_read_change_or_act_on_another_partners_customer(app: TestApp) {
    let (ours, theirs) = (partner(&app, "Ours").await, partner(&app, "Theirs").await);
    let mine = customer_of(&app, ours, "Amina", "+254711000201").await;
    let other = customer_of(&app, theirs, "Chege", "+254711000202").await;
    let key = reseller_key(&app, Some(ours)).await;
    let other_path = format!("/api/v1/customers/{}", other["id"]);

    let (status, body) = as_key(&app, &key, reqwest::Method::GET, &other_path, None).await;
    assert_not_found(status, &body);
    let (status, body) = as_key(
        &app,
        &key,
        reqwest::Method::PATCH,
        &other_path,
        Some(json!({"city": "X"})),
    )
    .await;
    assert_not_found(status, &body);
    let action = format!("{other_path}/action");
    let (status, body) = as_key(
        &app,
        &key,
        reqwest::Method::POST,
        &action,
        Some(json!({"action": "suspend"})),
    )
    .await;
    assert_not_found(status, &body);

    // Nothing changed, as the admin sees it.
    let (_, body) = app.get(&other_path).await;
    assert_eq!(body["data"]["customer"]["status"], json!("active"));
    assert_eq!(body["data"]["customer"]["city"], Value::Null);

    // Its own customer it can read, change and suspend.
    let mine_path = format!("/api/v1/customers/{}", mine["id"]);
    let (status, body) = as_key(&app, &key, reqwest::Method::GET, &mine_path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = as_key(
        &app,
        &key,
        reqwest::Method::PATCH,
        &mine_path,
        Some(json!({"city": "Kisumu"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let action = format!("{mine_path}/action");
    let (status, body) = as_key(
        &app,
        &key,
        reqwest::Method::POST,
        &action,
        Some(json!({"action": "suspend"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Deleting is not a reseller's permission at all.
    let (status, body) = as_key(&app, &key, reqwest::Method::DELETE, &mine_path, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], json!("FORBIDDEN"));
    app.stop().await;
}

async fn a_reseller_cannot_guess_another_partners_customer_by_portal_id(app: TestApp) {
    let (ours, theirs) = (partner(&app, "Ours").await, partner(&app, "Theirs").await);
    let other = customer_of(&app, theirs, "Chege", "+254711000301").await;
    let key = reseller_key(&app, Some(ours)).await;
    let by_portal = format!("/api/v1/customers/{}", other["portal_id"].as_str().unwrap());
    let (status, body) = as_key(&app, &key, reqwest::Method::GET, &by_portal, None).await;
    assert_not_found(status, &body);
    // An id that exists elsewhere answers exactly like an id that exists nowhere.
    let (status_unknown, body_unknown) = as_key(
        &app,
        &key,
        reqwest::Method::GET,
        "/api/v1/customers/999999",
        None,
    )
    .await;
    assert_eq!(
        (status, body["message"].clone()),
        (status_unknown, body_unknown["message"].clone())
    );
    app.stop().await;
}

async fn a_resellers_create_lands_in_its_own_partner(app: TestApp) {
    let (ours, theirs) = (partner(&app, "Ours").await, partner(&app, "Theirs").await);
    let key = reseller_key(&app, Some(ours)).await;
    let mut body = customer_body("Amina", "+254711000401");
    body["partner_id"] = json!(theirs);
    let (status, body) = as_key(
        &app,
        &key,
        reqwest::Method::POST,
        "/api/v1/customers",
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["customer"]["partner_id"], json!(ours));
    let (status, _) = as_key(
        &app,
        &key,
        reqwest::Method::POST,
        "/api/v1/customers",
        Some(customer_body("Baraka", "+254711000402")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, body) = as_key(&app, &key, reqwest::Method::GET, "/api/v1/customers", None).await;
    assert_eq!(body["meta"]["total"], json!(2));
    app.stop().await;
}

async fn a_reseller_cannot_move_a_customer_to_another_partner(app: TestApp) {
    let (ours, theirs) = (partner(&app, "Ours").await, partner(&app, "Theirs").await);
    let mine = customer_of(&app, ours, "Amina", "+254711000501").await;
    let key = reseller_key(&app, Some(ours)).await;
    let path = format!("/api/v1/customers/{}", mine["id"]);
    for partner_id in [json!(theirs), Value::Null] {
        let (status, body) = as_key(
            &app,
            &key,
            reqwest::Method::PATCH,
            &path,
            Some(json!({"partner_id": partner_id})),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(
            body["errors"]["partner_id"],
            json!(["The selected partner id is invalid."])
        );
    }
    let (_, body) = app.get(&path).await;
    assert_eq!(body["data"]["customer"]["partner_id"], json!(ours));
    app.stop().await;
}

async fn a_reseller_without_a_partner_sees_nothing(app: TestApp) {
    let ours = partner(&app, "Ours").await;
    customer_of(&app, ours, "Amina", "+254711000601").await;
    app.create_customer("Baraka", "+254711000602").await;
    let key = reseller_key(&app, None).await;
    let (status, body) = as_key(&app, &key, reqwest::Method::GET, "/api/v1/customers", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["meta"]["total"], json!(0), "{body}");
    app.stop().await;
}
