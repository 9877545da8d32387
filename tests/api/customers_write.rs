//! `PUT|PATCH /api/v1/customers/{id}`, `DELETE /api/v1/customers/{id}` and
//! `POST /api/v1/customers/{id}/action`: partial updates, clearing with `null`, validation
//! on update, soft delete, and the life cycle active → suspended → terminated.

use lastmile_core::db::Db;
use lastmile_tests::{StatusCode, TestApp, customer_body, engine_tests, json};
use serde_json::Value;

engine_tests!(
    patching_a_customer_changes_only_the_fields_sent,
    putting_a_customer_changes_only_the_fields_sent,
    an_update_by_portal_id_changes_the_same_customer,
    a_null_clears_a_nullable_field,
    flat_city_and_an_address_object_update_their_parts_only,
    updating_a_customer_with_a_short_first_name_reports_the_field,
    updating_a_customer_with_a_phone_taken_by_another_reports_the_field,
    a_customer_may_keep_its_own_phone_and_email,
    updating_a_customer_reports_every_failing_field_at_once,
    updating_an_unknown_or_deleted_customer_is_not_found,
    changing_the_password_works_and_is_never_returned,
    a_weak_new_password_is_refused_with_every_broken_rule,
    deleting_a_customer_answers_204_then_404,
    suspending_a_customer_stores_the_reason,
    activating_a_suspended_customer_makes_it_active,
    terminating_a_customer_is_final,
    illegal_transitions_are_a_409_conflict,
    an_unknown_or_missing_action_is_reported_on_the_field,
    an_action_on_an_unknown_or_deleted_customer_is_not_found,
);

const CUSTOMERS: &str = "/api/v1/customers";

/// Asserts a 422 validation answer whose `errors` map is exactly `errors`.
fn assert_validation(status: StatusCode, body: &Value, errors: Value) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["success"], json!(false), "{body}");
    assert_eq!(body["message"], json!("Validation failed"), "{body}");
    assert_eq!(body["code"], json!("VALIDATION_ERROR"), "{body}");
    assert_eq!(body["errors"], errors, "{body}");
}

/// Asserts the 404 envelope of a customer that cannot be found.
fn assert_not_found(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["success"], json!(false), "{body}");
    assert_eq!(body["code"], json!("NOT_FOUND"), "{body}");
    assert_eq!(body["message"], json!("Customer not found"), "{body}");
    assert!(body.get("errors").is_none(), "{body}");
}

/// Asserts a 409 with the given message.
fn assert_conflict(status: StatusCode, body: &Value, message: &str) {
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["success"], json!(false), "{body}");
    assert_eq!(body["code"], json!("CONFLICT"), "{body}");
    assert_eq!(body["message"], json!(message), "{body}");
    assert!(body.get("errors").is_none(), "{body}");
}

/// Asserts a 200 answer with `message`; returns `data.customer`.
fn assert_ok(status: StatusCode, body: &Value, message: &str) -> Value {
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], json!(true), "{body}");
    assert_eq!(body["message"], json!(message), "{body}");
    body["data"]["customer"].clone()
}

/// A customer with every optional field set; returns `data.customer`.
async fn create_full(app: &TestApp, first_name: &str, phone: &str, email: &str) -> Value {
    let mut body = customer_body(first_name, phone);
    let extra = json!({
        "email": email,
        "address": {
            "street": "12 Moi Avenue", "city": "Nairobi", "state": "Nairobi County",
            "zip": "00100", "country": "KE"
        },
        "billing_address": {
            "street": "PO Box 4410", "city": "Kisumu", "state": "Kisumu County",
            "zip": "40100", "country": "KE"
        },
        "billing_method": "cycle",
        "billing_day": 5,
        "auto_suspension": false,
        "suspend_after_days": 30,
    });
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    let (status, answer) = app.post(CUSTOMERS, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer["data"]["customer"].clone()
}

fn path_of(customer: &Value) -> String {
    format!("{CUSTOMERS}/{}", customer["id"].as_i64().unwrap())
}

/// `customer` without the given keys, for comparing what must not have changed.
fn without(customer: &Value, keys: &[&str]) -> Value {
    let mut customer = customer.clone();
    let object = customer.as_object_mut().unwrap();
    for key in keys {
        object.remove(*key);
    }
    customer
}

/// The stored password hash of a customer (it has no API, by design).
async fn password_hash(app: &TestApp, id: i64) -> String {
    let db = Db::connect(&app.database.url)
        .await
        .expect("connect to the test database");
    let hash: String = lastmile_core::on_db!(&db, pool => sqlx::query_scalar(
        "SELECT portal_password_hash FROM customers WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await)
    .expect("read the password hash");
    db.close().await;
    hash
}

/// Sends a request and returns its status and raw body text.
async fn send_raw(request: reqwest::RequestBuilder) -> (StatusCode, String) {
    let response = request.send().await.expect("HTTP request");
    let status = response.status();
    (status, response.text().await.expect("HTTP body"))
}

/// Moves the servers' clock on, so that a change gets a later `updated_at`.
fn tick(app: &TestApp) {
    app.clock.advance(chrono::Duration::seconds(1));
}

/// Checks a partial update done with `method`.
async fn only_the_fields_sent_change(app: TestApp, method: reqwest::Method) {
    let before = create_full(&app, "Amina", "+254712345678", "amina@example.com").await;
    let other = app.create_customer("Baraka", "+254712345679").await;
    tick(&app);
    let path = path_of(&before);
    let changes = json!({"last_name": "Otieno", "billing_day": 12, "auto_suspension": true});
    let (status, body) = lastmile_tests::send(app.request(method, &path).json(&changes)).await;
    let after = assert_ok(status, &body, "Customer updated successfully");

    assert_eq!(after["last_name"], json!("Otieno"));
    assert_eq!(after["full_name"], json!("Amina Otieno"));
    assert_eq!(after["billing_day"], json!(12));
    assert_eq!(after["auto_suspension"], json!(true));
    let changed = [
        "last_name",
        "full_name",
        "billing_day",
        "auto_suspension",
        "updated_at",
    ];
    assert_eq!(without(&after, &changed), without(&before, &changed));
    let (old, new) = (
        before["updated_at"].as_str().unwrap(),
        after["updated_at"].as_str().unwrap(),
    );
    assert!(new > old, "updated_at did not move forward: {old} → {new}");
    assert_eq!(new.len(), old.len(), "{new}");

    // The change is stored, and no other customer was touched.
    let (status, read) = app.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["data"]["customer"], after);
    let (status, read) = app.get(&path_of(&other)).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["data"]["customer"], other);
    app.stop().await;
}

async fn patching_a_customer_changes_only_the_fields_sent(app: TestApp) {
    only_the_fields_sent_change(app, reqwest::Method::PATCH).await;
}

async fn putting_a_customer_changes_only_the_fields_sent(app: TestApp) {
    only_the_fields_sent_change(app, reqwest::Method::PUT).await;
}

async fn an_update_by_portal_id_changes_the_same_customer(app: TestApp) {
    let before = app.create_customer("Amina", "+254712345678").await;
    let portal_id = before["portal_id"].as_str().unwrap();
    let (status, body) = app
        .patch(
            &format!("{CUSTOMERS}/{portal_id}"),
            &json!({"first_name": "Aminah"}),
        )
        .await;
    let after = assert_ok(status, &body, "Customer updated successfully");
    assert_eq!(after["id"], before["id"]);
    assert_eq!(after["first_name"], json!("Aminah"));
    app.stop().await;
}

async fn a_null_clears_a_nullable_field(app: TestApp) {
    let before = create_full(&app, "Amina", "+254712345678", "amina@example.com").await;
    let path = path_of(&before);
    let (status, body) = app
        .patch(
            &path,
            &json!({"email": null, "last_name": null, "billing_day": null, "billing_address": null}),
        )
        .await;
    let after = assert_ok(status, &body, "Customer updated successfully");
    assert_eq!(after["email"], json!(null), "{after}");
    assert_eq!(after["last_name"], json!(null), "{after}");
    assert_eq!(after["full_name"], json!("Amina"), "{after}");
    assert_eq!(after["billing_day"], json!(null), "{after}");
    assert_eq!(after["billing_address"], json!(null), "{after}");
    assert_eq!(after["city"], json!("Nairobi"), "{after}");
    assert_eq!(after["billing_method"], json!("cycle"), "{after}");

    let (status, read) = app.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["data"]["customer"], after);

    // The cleared e-mail is free for another customer.
    let mut body = customer_body("Baraka", "+254712345679");
    body["email"] = json!("amina@example.com");
    let (status, answer) = app.post(CUSTOMERS, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    app.stop().await;
}

async fn flat_city_and_an_address_object_update_their_parts_only(app: TestApp) {
    let before = create_full(&app, "Amina", "+254712345678", "amina@example.com").await;
    let path = path_of(&before);

    let (status, body) = app.patch(&path, &json!({"city": "Mombasa"})).await;
    let after = assert_ok(status, &body, "Customer updated successfully");
    assert_eq!(after["city"], json!("Mombasa"));
    for key in [
        "address",
        "state",
        "country",
        "postal_code",
        "billing_address",
    ] {
        assert_eq!(after[key], before[key], "`{key}` of {after}");
    }

    let (status, body) = app
        .patch(
            &path,
            &json!({"address": {"street": "7 Nyali Road", "zip": "80100"}}),
        )
        .await;
    let after = assert_ok(status, &body, "Customer updated successfully");
    assert_eq!(after["address"], json!("7 Nyali Road"));
    assert_eq!(after["postal_code"], json!("80100"));
    assert_eq!(after["city"], json!("Mombasa"), "{after}");
    assert_eq!(after["state"], json!("Nairobi County"), "{after}");
    assert_eq!(after["country"], json!("KE"), "{after}");

    let (status, body) = app
        .patch(&path, &json!({"billing_address": {"city": "Eldoret"}}))
        .await;
    let after = assert_ok(status, &body, "Customer updated successfully");
    assert_eq!(
        after["billing_address"],
        json!({
            "street": "PO Box 4410", "city": "Eldoret", "state": "Kisumu County",
            "zip": "40100", "country": "KE"
        })
    );
    assert_eq!(after["city"], json!("Mombasa"), "{after}");
    app.stop().await;
}

async fn updating_a_customer_with_a_short_first_name_reports_the_field(app: TestApp) {
    let before = app.create_customer("Amina", "+254712345678").await;
    let path = path_of(&before);
    let (status, body) = app.patch(&path, &json!({"first_name": "Al"})).await;
    assert_validation(
        status,
        &body,
        json!({"first_name": ["The first name must be at least 3 characters."]}),
    );
    let (status, body) = app.put(&path, &json!({"first_name": null})).await;
    assert_validation(
        status,
        &body,
        json!({"first_name": ["The first name field is required."]}),
    );
    let (status, body) = app.patch(&path, &json!({"phone": ""})).await;
    assert_validation(
        status,
        &body,
        json!({"phone": ["The phone field is required."]}),
    );

    let (status, read) = app.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(
        read["data"]["customer"], before,
        "a refused update changed the customer"
    );
    app.stop().await;
}

async fn updating_a_customer_with_a_phone_taken_by_another_reports_the_field(app: TestApp) {
    app.create_customer("Amina", "+254712345678").await;
    let baraka = create_full(&app, "Baraka", "+254712345679", "baraka@example.com").await;
    let path = path_of(&baraka);
    for phone in ["+254712345678", "+254 712-345-678"] {
        let (status, body) = app.patch(&path, &json!({"phone": phone})).await;
        assert_validation(
            status,
            &body,
            json!({"phone": ["A customer with this phone number already exists."]}),
        );
    }
    let mut chege = customer_body("Chege", "+254712345670");
    chege["email"] = json!("chege@example.com");
    let (status, body) = app.post(CUSTOMERS, &chege).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app.put(&path, &json!({"email": "CHEGE@example.com"})).await;
    assert_validation(
        status,
        &body,
        json!({"email": ["A customer with this email address already exists."]}),
    );

    let (status, read) = app.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["data"]["customer"], baraka);
    app.stop().await;
}

async fn a_customer_may_keep_its_own_phone_and_email(app: TestApp) {
    let before = create_full(&app, "Amina", "+254712345678", "amina@example.com").await;
    let path = path_of(&before);
    for phone in ["+254712345678", "+254 712 345 678"] {
        let changes = json!({"phone": phone, "email": "Amina@Example.com", "first_name": "Amina"});
        let (status, body) = app.patch(&path, &changes).await;
        let after = assert_ok(status, &body, "Customer updated successfully");
        assert_eq!(after["phone"], json!("+254712345678"));
        assert_eq!(after["email"], json!("amina@example.com"));
    }
    app.stop().await;
}

async fn updating_a_customer_reports_every_failing_field_at_once(app: TestApp) {
    app.create_customer("Amina", "+254712345678").await;
    let baraka = app.create_customer("Baraka", "+254712345679").await;
    let changes = json!({
        "first_name": "Al",
        "email": "bad@",
        "phone": "+254712345678",
        "billing_day": 29,
        "suspend_after_days": 366,
        "billing_method": "weekly",
        "partner_id": 999,
    });
    let (status, body) = app.patch(&path_of(&baraka), &changes).await;
    assert_validation(
        status,
        &body,
        json!({
            "first_name": ["The first name must be at least 3 characters."],
            "email": ["The email must be a valid email address."],
            "phone": ["A customer with this phone number already exists."],
            "billing_day": ["The billing day must be between 1 and 28."],
            "suspend_after_days": ["The suspend after days must be between 0 and 365."],
            "billing_method": ["The selected billing method is invalid."],
            "partner_id": ["The selected partner id is invalid."],
        }),
    );
    app.stop().await;
}

async fn updating_an_unknown_or_deleted_customer_is_not_found(app: TestApp) {
    let gone = app.create_customer("Amina", "+254712345678").await;
    let path = path_of(&gone);
    let (status, body) = app.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let unknown = format!("{CUSTOMERS}/{}", gone["id"].as_i64().unwrap() + 1000);
    let portal = format!("{CUSTOMERS}/{}", gone["portal_id"].as_str().unwrap());
    for target in [&path, &unknown, &portal, &format!("{CUSTOMERS}/abc")] {
        let (status, body) = app.patch(target, &json!({"first_name": "Aminah"})).await;
        assert_not_found(status, &body);
        let (status, body) = app.put(target, &json!({"first_name": "Aminah"})).await;
        assert_not_found(status, &body);
    }
    app.stop().await;
}

async fn changing_the_password_works_and_is_never_returned(app: TestApp) {
    let before = app.create_customer("Amina", "+254712345678").await;
    let id = before["id"].as_i64().unwrap();
    let path = path_of(&before);
    let old_hash = password_hash(&app, id).await;
    assert!(old_hash.starts_with("$argon2id$"), "{old_hash}");

    let new_password = "N3w!Secret-Pass";
    let (status, raw) = send_raw(
        app.request(reqwest::Method::PATCH, &path)
            .json(&json!({"password": new_password})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{raw}");
    assert!(!raw.contains(new_password), "{raw}");
    assert!(!raw.contains("password"), "{raw}");
    assert!(!raw.contains("argon2"), "{raw}");
    let after: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(after["message"], json!("Customer updated successfully"));

    let new_hash = password_hash(&app, id).await;
    assert!(new_hash.starts_with("$argon2id$"), "{new_hash}");
    assert_ne!(new_hash, old_hash, "the password was not changed");
    assert!(!new_hash.contains(new_password));

    // An update without a password keeps it.
    let (status, body) = app.patch(&path, &json!({"last_name": "Otieno"})).await;
    assert_ok(status, &body, "Customer updated successfully");
    assert_eq!(password_hash(&app, id).await, new_hash);
    app.stop().await;
}

async fn a_weak_new_password_is_refused_with_every_broken_rule(app: TestApp) {
    let before = app.create_customer("Amina", "+254712345678").await;
    let id = before["id"].as_i64().unwrap();
    let old_hash = password_hash(&app, id).await;
    let (status, body) = app
        .patch(&path_of(&before), &json!({"password": "abc"}))
        .await;
    assert_validation(
        status,
        &body,
        json!({"password": [
            "The password must be at least 8 characters.",
            "The password must contain at least one uppercase letter.",
            "The password must contain at least one number.",
            "The password must contain at least one special character.",
        ]}),
    );
    let (status, body) = app
        .patch(&path_of(&before), &json!({"password": null}))
        .await;
    assert_validation(
        status,
        &body,
        json!({"password": ["The password field is required."]}),
    );
    assert_eq!(password_hash(&app, id).await, old_hash);
    app.stop().await;
}

async fn deleting_a_customer_answers_204_then_404(app: TestApp) {
    let customer = app.create_customer("Amina", "+254712345678").await;
    let kept = app.create_customer("Baraka", "+254712345679").await;
    let path = path_of(&customer);
    let response = app
        .request(reqwest::Method::DELETE, &path)
        .send()
        .await
        .expect("HTTP request");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let bytes = response.bytes().await.expect("HTTP body");
    assert!(bytes.is_empty(), "{}", String::from_utf8_lossy(&bytes));

    let (status, body) = app.get(&path).await;
    assert_not_found(status, &body);
    let (status, body) = app.delete(&path).await;
    assert_not_found(status, &body);
    let (status, body) = app
        .delete(&format!(
            "{CUSTOMERS}/{}",
            kept["id"].as_i64().unwrap() + 1000
        ))
        .await;
    assert_not_found(status, &body);

    let (status, body) = app.get(&path_of(&kept)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.stop().await;
}

async fn suspending_a_customer_stores_the_reason(app: TestApp) {
    let before = app.create_customer("Amina", "+254712345678").await;
    tick(&app);
    let path = path_of(&before);
    let (status, body) = app
        .post(
            &format!("{path}/action"),
            &json!({"action": "suspend", "reason": "Unpaid invoice"}),
        )
        .await;
    let after = assert_ok(status, &body, "Customer suspended successfully");
    assert_eq!(after["status"], json!("suspended"));
    assert_eq!(after["status_reason"], json!("Unpaid invoice"));
    assert!(after["updated_at"].as_str().unwrap() > before["updated_at"].as_str().unwrap());
    let unchanged = ["status", "status_reason", "updated_at"];
    assert_eq!(without(&after, &unchanged), without(&before, &unchanged));

    let (status, read) = app.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["data"]["customer"], after);
    app.stop().await;
}

async fn activating_a_suspended_customer_makes_it_active(app: TestApp) {
    let customer = app.create_customer("Amina", "+254712345678").await;
    let action = format!("{}/action", path_of(&customer));
    let (status, body) = app
        .post(&action, &json!({"action": "suspend", "reason": "Unpaid"}))
        .await;
    assert_ok(status, &body, "Customer suspended successfully");
    let (status, body) = app
        .post(
            &action,
            &json!({"action": "activate", "reason": "Paid in full"}),
        )
        .await;
    let after = assert_ok(status, &body, "Customer activated successfully");
    assert_eq!(after["status"], json!("active"));
    assert_eq!(after["status_reason"], json!("Paid in full"));
    app.stop().await;
}

async fn terminating_a_customer_is_final(app: TestApp) {
    let active = app.create_customer("Amina", "+254712345678").await;
    let (status, body) = app
        .post(
            &format!("{}/action", path_of(&active)),
            &json!({"action": "terminate", "reason": "Moved away"}),
        )
        .await;
    let after = assert_ok(status, &body, "Customer terminated successfully");
    assert_eq!(after["status"], json!("terminated"));
    assert_eq!(after["status_reason"], json!("Moved away"));

    let suspended = app.create_customer("Baraka", "+254712345679").await;
    let action = format!("{}/action", path_of(&suspended));
    let (status, body) = app.post(&action, &json!({"action": "suspend"})).await;
    assert_ok(status, &body, "Customer suspended successfully");
    let (status, body) = app.post(&action, &json!({"action": "terminate"})).await;
    let after = assert_ok(status, &body, "Customer terminated successfully");
    assert_eq!(after["status"], json!("terminated"));

    // A terminated customer is still a customer: it can be read and listed.
    let (status, body) = app.get(&path_of(&active)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["customer"]["status"], json!("terminated"));
    app.stop().await;
}

async fn illegal_transitions_are_a_409_conflict(app: TestApp) {
    let customer = app.create_customer("Amina", "+254712345678").await;
    let path = path_of(&customer);
    let action = format!("{path}/action");

    let (status, body) = app.post(&action, &json!({"action": "activate"})).await;
    assert_conflict(status, &body, "The customer is already active.");

    let (status, body) = app.post(&action, &json!({"action": "suspend"})).await;
    assert_ok(status, &body, "Customer suspended successfully");
    let (status, body) = app.post(&action, &json!({"action": "suspend"})).await;
    assert_conflict(status, &body, "The customer is already suspended.");

    let (status, body) = app.post(&action, &json!({"action": "terminate"})).await;
    assert_ok(status, &body, "Customer terminated successfully");
    for (name, message) in [
        ("activate", "A terminated customer cannot be activated."),
        ("suspend", "A terminated customer cannot be suspended."),
        ("terminate", "A terminated customer cannot be terminated."),
    ] {
        let (status, body) = app.post(&action, &json!({"action": name})).await;
        assert_conflict(status, &body, message);
    }

    let (status, read) = app.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["data"]["customer"]["status"], json!("terminated"));
    app.stop().await;
}

async fn an_unknown_or_missing_action_is_reported_on_the_field(app: TestApp) {
    let customer = app.create_customer("Amina", "+254712345678").await;
    let action = format!("{}/action", path_of(&customer));
    let cases = [
        (
            json!({"action": "explode"}),
            json!({"action": ["The selected action is invalid."]}),
        ),
        (
            json!({"action": "Suspend"}),
            json!({"action": ["The selected action is invalid."]}),
        ),
        (
            json!({}),
            json!({"action": ["The action field is required."]}),
        ),
        (
            json!({"reason": "why"}),
            json!({"action": ["The action field is required."]}),
        ),
        (
            json!({"action": null}),
            json!({"action": ["The action field is required."]}),
        ),
        (
            json!({"action": 1}),
            json!({"action": ["The action must be a string."]}),
        ),
    ];
    for (request, errors) in cases {
        let (status, body) = app.post(&action, &request).await;
        assert_validation(status, &body, errors);
    }
    let (status, body) = app
        .post(
            &action,
            &json!({"action": "suspend", "reason": "x".repeat(501)}),
        )
        .await;
    assert_validation(
        status,
        &body,
        json!({"reason": ["The reason may not be greater than 500 characters."]}),
    );

    let (status, read) = app.get(&path_of(&customer)).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["data"]["customer"]["status"], json!("active"));
    app.stop().await;
}

async fn an_action_on_an_unknown_or_deleted_customer_is_not_found(app: TestApp) {
    let gone = app.create_customer("Amina", "+254712345678").await;
    let path = path_of(&gone);
    let (status, body) = app.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let unknown = format!("{CUSTOMERS}/{}", gone["id"].as_i64().unwrap() + 1000);
    for target in [path, unknown, format!("{CUSTOMERS}/abc")] {
        let (status, body) = app
            .post(&format!("{target}/action"), &json!({"action": "suspend"}))
            .await;
        assert_not_found(status, &body);
    }
    app.stop().await;
}
