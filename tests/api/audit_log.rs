//! `GET /api/v1/audit-log`: every customer mutation made over REST writes exactly one entry
//! saying who, what (the changed fields before and after), when, from where and why; a
//! change that fails writes none; secrets never appear; the list filters, pages and puts
//! the newest first; and the log is append-only in the database itself.

use lastmile_core::db::Db;
use lastmile_core::identity::{NewApiKey, Role, Tier};
use lastmile_proto::v1::GetCurrentPrincipalRequest;
use lastmile_proto::v1::identity_service_client::IdentityServiceClient;
use lastmile_tests::{StatusCode, TestApp, customer_body, engine_tests, json, with_key};
use serde_json::Value;

engine_tests!(
    creating_a_customer_writes_one_entry_with_who_what_where_and_why,
    updating_a_customer_records_only_the_changed_fields,
    an_unset_field_shows_as_null_as_in_the_customer,
    deleting_a_customer_records_its_fields_as_they_were,
    each_action_writes_one_entry_and_a_body_reason_wins_over_the_header,
    a_change_that_fails_writes_no_entry,
    a_password_change_shows_redacted_and_never_the_password_or_its_hash,
    the_log_filters_by_action_resource_and_actor,
    the_log_filters_by_time,
    the_log_is_paginated_newest_first,
    bad_query_parameters_are_a_400,
    the_log_is_append_only_in_the_database,
    the_log_is_read_only_over_rest,
    a_role_without_audit_log_read_is_forbidden,
    the_log_needs_a_credential,
);

const CUSTOMERS: &str = "/api/v1/customers";
const AUDIT_LOG: &str = "/api/v1/audit-log";

/// Sends a request; returns status, the `x-request-id` of the answer and the JSON body.
async fn fetch(request: reqwest::RequestBuilder) -> (StatusCode, String, Value) {
    let response = request.send().await.expect("HTTP request");
    let status = response.status();
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("every answer carries x-request-id")
        .to_owned();
    let bytes = response.bytes().await.expect("HTTP body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("JSON body")
    };
    (status, request_id, body)
}

/// The id of the API key `key`, as the core knows it.
async fn key_id(app: &TestApp, key: &str) -> i64 {
    let mut identity = IdentityServiceClient::new(app.grpc_channel().await);
    identity
        .get_current_principal(with_key(GetCurrentPrincipalRequest {}, key))
        .await
        .expect("the key is valid")
        .into_inner()
        .principal
        .expect("a principal")
        .api_key_id
}

/// A key with this role, made directly in the core.
async fn key_with_role(app: &TestApp, role: Role) -> (i64, String) {
    app.core()
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
        .expect("create API key")
}

/// One page of the log as admin, with this query string; returns (entries, meta).
async fn log(app: &TestApp, query: &str) -> (Vec<Value>, Value) {
    let (status, body) = app.get(&format!("{AUDIT_LOG}{query}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], json!(true), "{body}");
    assert_eq!(body["message"], json!("OK"), "{body}");
    let entries = body["data"]["audit_entries"]
        .as_array()
        .unwrap_or_else(|| panic!("data.audit_entries is a list: {body}"))
        .clone();
    (entries, body["meta"].clone())
}

/// Every entry about one customer, newest first.
async fn entries_of(app: &TestApp, customer_id: &Value) -> Vec<Value> {
    log(
        app,
        &format!("?resource_type=customer&resource_id={customer_id}&per_page=100"),
    )
    .await
    .0
}

/// How many customer entries exist.
async fn customer_entry_count(app: &TestApp) -> i64 {
    log(app, "?resource_type=customer").await.1["total"]
        .as_i64()
        .expect("meta.total")
}

/// `2024-01-15T10:30:00.000000Z`: UTC with exactly six fractional digits.
fn assert_timestamp(value: &Value) {
    let text = value.as_str().unwrap_or_else(|| panic!("{value} is text"));
    assert_eq!(text.len(), 27, "{text}");
    assert!(text.ends_with('Z'), "{text}");
    assert_eq!(&text[19..20], ".", "{text}");
    assert!(text[20..26].bytes().all(|b| b.is_ascii_digit()), "{text}");
    chrono::DateTime::parse_from_rfc3339(text).expect("RFC 3339");
}

/// Asserts that the entry was made by the admin key of `app` from 127.0.0.1.
fn assert_made_by_admin(entry: &Value, admin_key_id: i64) {
    assert_eq!(
        entry["actor"],
        json!({"user_id": null, "api_key_id": admin_key_id, "role": "admin"}),
        "{entry}"
    );
    assert_eq!(entry["client_address"], json!("127.0.0.1"), "{entry}");
}

async fn creating_a_customer_writes_one_entry_with_who_what_where_and_why(app: TestApp) {
    let admin_key_id = key_id(&app, &app.admin_key).await;
    let (status, request_id, body) = fetch(
        app.request(reqwest::Method::POST, CUSTOMERS)
            .header("X-Reason", "  Signed up at the shop  ")
            .header("X-Forwarded-For", "203.0.113.9")
            .json(&customer_body("Ada", "+254700000001")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let customer = &body["data"]["customer"];
    let entries = entries_of(&app, &customer["id"]).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert!(entry["id"].as_i64().is_some_and(|id| id > 0), "{entry}");
    assert_timestamp(&entry["occurred_at"]);
    assert_eq!(entry["action"], json!("customer.created"));
    assert_eq!(entry["resource_type"], json!("customer"));
    assert_eq!(entry["resource_id"], json!(customer["id"].to_string()));
    assert_made_by_admin(entry, admin_key_id);
    assert_eq!(entry["request_id"], json!(request_id));
    assert_eq!(entry["reason"], json!("Signed up at the shop"));
    assert_eq!(entry["before"], Value::Null, "{entry}");
    let after = &entry["after"];
    assert_eq!(after["first_name"], json!("Ada"), "{entry}");
    assert_eq!(after["last_name"], json!("Tester"), "{entry}");
    assert_eq!(after["phone"], customer["phone"], "{entry}");
    assert_eq!(after["portal_id"], customer["portal_id"], "{entry}");
    assert_eq!(after["status"], json!("active"), "{entry}");
    assert!(after.get("password").is_none(), "{entry}");
    app.stop().await;
}

async fn updating_a_customer_records_only_the_changed_fields(app: TestApp) {
    let admin_key_id = key_id(&app, &app.admin_key).await;
    let customer = app.create_customer("Ada", "+254700000002").await;
    let path = format!("{CUSTOMERS}/{}", customer["id"]);
    let (status, request_id, body) = fetch(app.request(reqwest::Method::PATCH, &path).json(
        &json!({"first_name": "Adaline", "last_name": "Lovelace", "phone": customer["phone"]}),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entries = entries_of(&app, &customer["id"]).await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(entry["action"], json!("customer.updated"));
    assert_eq!(entry["resource_id"], json!(customer["id"].to_string()));
    assert_eq!(
        entry["before"],
        json!({"first_name": "Ada", "last_name": "Tester"}),
        "{entry}"
    );
    assert_eq!(
        entry["after"],
        json!({"first_name": "Adaline", "last_name": "Lovelace"}),
        "{entry}"
    );
    assert_made_by_admin(entry, admin_key_id);
    assert_eq!(entry["request_id"], json!(request_id));
    assert_eq!(entry["reason"], Value::Null, "no reason was given: {entry}");
    assert_eq!(entries[1]["action"], json!("customer.created"));

    // PUT is an update too, here with the header's reason.
    let (status, _, body) = fetch(
        app.request(reqwest::Method::PUT, &path)
            .header("X-Reason", "Married")
            .json(&json!({"last_name": "King"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entries = entries_of(&app, &customer["id"]).await;
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert_eq!(entries[0]["action"], json!("customer.updated"));
    assert_eq!(entries[0]["before"], json!({"last_name": "Lovelace"}));
    assert_eq!(entries[0]["after"], json!({"last_name": "King"}));
    assert_eq!(entries[0]["reason"], json!("Married"));
    app.stop().await;
}

async fn an_unset_field_shows_as_null_as_in_the_customer(app: TestApp) {
    let customer = app.create_customer("Ada", "+254700000009").await;
    assert_eq!(customer["city"], Value::Null, "{customer}");
    let path = format!("{CUSTOMERS}/{}", customer["id"]);
    let (status, body) = app.patch(&path, &json!({"city": "Mombasa"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.patch(&path, &json!({"city": null})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["customer"]["city"], Value::Null, "{body}");
    let entries = entries_of(&app, &customer["id"]).await;
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert_eq!(
        entries[1]["before"],
        json!({"city": null}),
        "{}",
        entries[1]
    );
    assert_eq!(entries[1]["after"], json!({"city": "Mombasa"}));
    assert_eq!(entries[0]["before"], json!({"city": "Mombasa"}));
    assert_eq!(entries[0]["after"], json!({"city": null}), "{}", entries[0]);
    app.stop().await;
}

async fn deleting_a_customer_records_its_fields_as_they_were(app: TestApp) {
    let admin_key_id = key_id(&app, &app.admin_key).await;
    let customer = app.create_customer("Grace", "+254700000003").await;
    let (status, request_id, body) = fetch(
        app.request(
            reqwest::Method::DELETE,
            &format!("{CUSTOMERS}/{}", customer["id"]),
        )
        .header("X-Reason", "Duplicate account"),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let entries = entries_of(&app, &customer["id"]).await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(entry["action"], json!("customer.deleted"));
    assert_eq!(entry["after"], Value::Null, "{entry}");
    let before = &entry["before"];
    assert_eq!(before["first_name"], json!("Grace"), "{entry}");
    assert_eq!(before["phone"], customer["phone"], "{entry}");
    assert_eq!(before["status"], json!("active"), "{entry}");
    assert!(before.get("password").is_none(), "{entry}");
    assert_made_by_admin(entry, admin_key_id);
    assert_eq!(entry["request_id"], json!(request_id));
    assert_eq!(entry["reason"], json!("Duplicate account"));
    app.stop().await;
}

async fn each_action_writes_one_entry_and_a_body_reason_wins_over_the_header(app: TestApp) {
    let admin_key_id = key_id(&app, &app.admin_key).await;
    let customer = app.create_customer("Linus", "+254700000004").await;
    let path = format!("{CUSTOMERS}/{}/action", customer["id"]);
    let act = |body: Value, reason: Option<&'static str>| {
        let mut request = app.request(reqwest::Method::POST, &path).json(&body);
        if let Some(reason) = reason {
            request = request.header("X-Reason", reason);
        }
        fetch(request)
    };

    let (status, suspend_id, body) = act(
        json!({"action": "suspend", "reason": "Unpaid invoice"}),
        Some("Header reason"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, activate_id, body) =
        act(json!({"action": "activate"}), Some("Paid at the counter")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, terminate_id, body) = act(json!({"action": "terminate"}), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let entries = entries_of(&app, &customer["id"]).await;
    let actions: Vec<&Value> = entries.iter().map(|e| &e["action"]).collect();
    assert_eq!(
        actions,
        [
            "customer.terminated",
            "customer.activated",
            "customer.suspended",
            "customer.created"
        ],
        "{entries:?}"
    );
    let (terminated, activated, suspended) = (&entries[0], &entries[1], &entries[2]);

    assert_eq!(
        suspended["before"],
        json!({"status": "active", "status_reason": null})
    );
    assert_eq!(
        suspended["after"],
        json!({"status": "suspended", "status_reason": "Unpaid invoice"})
    );
    assert_eq!(
        suspended["reason"],
        json!("Unpaid invoice"),
        "the body wins"
    );
    assert_eq!(suspended["request_id"], json!(suspend_id));

    assert_eq!(activated["before"]["status"], json!("suspended"));
    assert_eq!(activated["after"]["status"], json!("active"));
    assert_eq!(activated["reason"], json!("Paid at the counter"));
    assert_eq!(activated["request_id"], json!(activate_id));

    assert_eq!(terminated["before"]["status"], json!("active"));
    assert_eq!(terminated["after"]["status"], json!("terminated"));
    assert_eq!(terminated["reason"], Value::Null);
    assert_eq!(terminated["request_id"], json!(terminate_id));

    for entry in [terminated, activated, suspended] {
        assert_made_by_admin(entry, admin_key_id);
        assert_eq!(entry["resource_type"], json!("customer"));
        assert_eq!(entry["resource_id"], json!(customer["id"].to_string()));
    }
    app.stop().await;
}

async fn a_change_that_fails_writes_no_entry(app: TestApp) {
    let customer = app.create_customer("Ada", "+254700000005").await;
    let other = app.create_customer("Grace", "+254700000006").await;
    let path = format!("{CUSTOMERS}/{}", customer["id"]);
    let action = format!("{path}/action");
    let count = customer_entry_count(&app).await;
    assert_eq!(count, 2);

    // 422: invalid create, invalid update, a phone taken by another customer.
    let (status, body) = app
        .post(CUSTOMERS, &customer_body("Al", "+254700000007"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app.patch(&path, &json!({"first_name": "Al"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app.put(&path, &json!({"phone": other["phone"]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app.patch(&path, &json!({"password": "weak"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app.post(&action, &json!({"action": "explode"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // 404: unknown customers.
    let (status, body) = app
        .patch(&format!("{CUSTOMERS}/999999"), &json!({"city": "Nowhere"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = app.delete(&format!("{CUSTOMERS}/999999")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = app
        .post(
            &format!("{CUSTOMERS}/999999/action"),
            &json!({"action": "suspend"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // 409: illegal transitions.
    let (status, body) = app.post(&action, &json!({"action": "activate"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(customer_entry_count(&app).await, 2);

    let (status, body) = app.post(&action, &json!({"action": "terminate"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(customer_entry_count(&app).await, 3);
    for next in ["suspend", "activate", "terminate"] {
        let (status, body) = app.post(&action, &json!({"action": next})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{next}: {body}");
    }
    // A deleted customer can be neither deleted again nor changed.
    let (status, _) = app.delete(&format!("{CUSTOMERS}/{}", other["id"])).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app.delete(&format!("{CUSTOMERS}/{}", other["id"])).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = app
        .patch(
            &format!("{CUSTOMERS}/{}", other["id"]),
            &json!({"city": "Nowhere"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    assert_eq!(customer_entry_count(&app).await, 4);
    let (entries, _) = log(&app, "?resource_type=customer").await;
    let actions: Vec<&Value> = entries.iter().map(|e| &e["action"]).collect();
    assert_eq!(
        actions,
        [
            "customer.deleted",
            "customer.terminated",
            "customer.created",
            "customer.created"
        ]
    );
    app.stop().await;
}

async fn a_password_change_shows_redacted_and_never_the_password_or_its_hash(app: TestApp) {
    let customer = app.create_customer("Ada", "+254700000008").await;
    let path = format!("{CUSTOMERS}/{}", customer["id"]);
    let new_password = "N3w!Passw0rd-xyz";
    let (status, body) = app
        .patch(
            &path,
            &json!({"password": new_password, "first_name": "Adaline"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let entries = entries_of(&app, &customer["id"]).await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(entry["action"], json!("customer.updated"));
    assert_eq!(entry["before"]["password"], json!("[redacted]"), "{entry}");
    let after = entry["after"]["password"]
        .as_str()
        .unwrap_or_else(|| panic!("the entry shows that the password changed: {entry}"));
    assert!(after.starts_with("[redacted]"), "{entry}");
    assert_eq!(entry["before"]["first_name"], json!("Ada"), "{entry}");
    assert_eq!(entry["after"]["first_name"], json!("Adaline"), "{entry}");
    assert_eq!(entry["before"].as_object().unwrap().len(), 2, "{entry}");

    // Nowhere in the answer, nor in the stored rows.
    let raw = app
        .request(reqwest::Method::GET, &format!("{AUDIT_LOG}?per_page=100"))
        .send()
        .await
        .expect("HTTP request")
        .text()
        .await
        .expect("HTTP body");
    let db = Db::connect(&app.database.url)
        .await
        .expect("connect to the test database");
    let query = "SELECT COALESCE(before_values, '') || COALESCE(after_values, '') FROM audit_log";
    let rows: Vec<String> = match &db {
        Db::Sqlite(pool) => sqlx::query_scalar(query).fetch_all(pool).await,
        Db::Postgres(pool) => {
            sqlx::query_scalar(
                "SELECT COALESCE(before_values::text, '') || COALESCE(after_values::text, '') \
                 FROM audit_log",
            )
            .fetch_all(pool)
            .await
        }
    }
    .expect("read the audit rows");
    db.close().await;
    for text in std::iter::once(&raw).chain(&rows) {
        for secret in [new_password, "Str0ng!pass", "$argon2", "argon2id"] {
            assert!(!text.contains(secret), "{secret} appears in {text}");
        }
    }
    assert!(raw.contains("[redacted]"));
    app.stop().await;
}

async fn the_log_filters_by_action_resource_and_actor(app: TestApp) {
    let admin_key_id = key_id(&app, &app.admin_key).await;
    let (other_key_id, other_key) = key_with_role(&app, Role::Manager).await;
    let ada = app.create_customer("Ada", "+254700000011").await;
    let grace = app.create_customer("Grace", "+254700000012").await;
    let (status, body) = app
        .patch(
            &format!("{CUSTOMERS}/{}", ada["id"]),
            &json!({"city": "Eldoret"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = lastmile_tests::send(
        app.http
            .post(app.url(&format!("{CUSTOMERS}/{}/action", grace["id"])))
            .header("X-API-Key", &other_key)
            .json(&json!({"action": "suspend"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (entries, meta) = log(&app, "?action=customer.created").await;
    assert_eq!(meta["total"], json!(2), "{meta}");
    assert!(entries.iter().all(|e| e["action"] == "customer.created"));

    let (entries, _) = log(&app, "?action=customer.updated").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["resource_id"], json!(ada["id"].to_string()));

    let (entries, _) = log(&app, "?resource_type=customer").await;
    assert_eq!(entries.len(), 4);
    let (entries, meta) = log(&app, "?resource_type=invoice").await;
    assert!(entries.is_empty());
    assert_eq!(meta["total"], json!(0));
    assert_eq!(meta["last_page"], json!(1));

    let (entries, _) = log(
        &app,
        &format!("?resource_type=customer&resource_id={}", grace["id"]),
    )
    .await;
    let actions: Vec<&Value> = entries.iter().map(|e| &e["action"]).collect();
    assert_eq!(actions, ["customer.suspended", "customer.created"]);

    let (entries, _) = log(&app, &format!("?actor_id=key:{other_key_id}")).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["action"], json!("customer.suspended"));
    assert_eq!(
        entries[0]["actor"],
        json!({"user_id": null, "api_key_id": other_key_id, "role": "manager"})
    );

    let (entries, _) = log(
        &app,
        &format!("?actor_id=key:{admin_key_id}&resource_type=customer"),
    )
    .await;
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert!(
        entries
            .iter()
            .all(|e| e["actor"]["api_key_id"] == json!(admin_key_id))
    );

    // Filters combine.
    let (entries, _) = log(
        &app,
        &format!("?actor_id=key:{admin_key_id}&action=customer.suspended"),
    )
    .await;
    assert!(entries.is_empty(), "{entries:?}");

    // No user acted.
    let (entries, _) = log(&app, "?actor_id=user:999").await;
    assert!(entries.is_empty());
    let (entries, _) = log(&app, "?actor_id=999").await;
    assert!(entries.is_empty());
    app.stop().await;
}

async fn the_log_filters_by_time(app: TestApp) {
    let first = app.create_customer("Ada", "+254700000021").await;
    let first_at = created_at(&app, &first).await;
    app.clock.advance(chrono::Duration::seconds(1));
    let second = app.create_customer("Grace", "+254700000022").await;
    let second_at = created_at(&app, &second).await;
    assert!(first_at < second_at, "{first_at} < {second_at}");

    let ids = |entries: Vec<Value>| -> Vec<Value> {
        entries
            .into_iter()
            .map(|e| e["resource_id"].clone())
            .collect()
    };
    let encode = |t: &str| t.replace('+', "%2B");
    let all = ids(log(&app, "?resource_type=customer").await.0);
    assert_eq!(all.len(), 2);

    let from_second = ids(log(
        &app,
        &format!("?resource_type=customer&from={}", encode(&second_at)),
    )
    .await
    .0);
    assert_eq!(from_second, [json!(second["id"].to_string())]);

    let to_first = ids(log(
        &app,
        &format!("?resource_type=customer&to={}", encode(&first_at)),
    )
    .await
    .0);
    assert_eq!(to_first, [json!(first["id"].to_string())]);

    // Both bounds are inclusive.
    let both = ids(log(
        &app,
        &format!(
            "?resource_type=customer&from={}&to={}",
            encode(&first_at),
            encode(&second_at)
        ),
    )
    .await
    .0);
    assert_eq!(both.len(), 2);

    // Any offset is accepted.
    let future = (chrono::Utc::now() + chrono::Duration::days(1))
        .with_timezone(&chrono::FixedOffset::east_opt(3 * 3600).unwrap())
        .to_rfc3339();
    let (entries, meta) = log(&app, &format!("?from={}", encode(&future))).await;
    assert!(entries.is_empty(), "{entries:?}");
    assert_eq!(meta["total"], json!(0));
    let (entries, _) = log(&app, "?to=2000-01-01T00:00:00Z").await;
    assert!(entries.is_empty(), "{entries:?}");
    app.stop().await;
}

/// The `occurred_at` of the only entry of a customer (its creation).
async fn created_at(app: &TestApp, customer: &Value) -> String {
    let entries = entries_of(app, &customer["id"]).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries[0]["occurred_at"].as_str().unwrap().to_owned()
}

async fn the_log_is_paginated_newest_first(app: TestApp) {
    for i in 0..5 {
        app.create_customer(&format!("Customer{i}"), &format!("+25470000003{i}"))
            .await;
    }
    let (page1, meta) = log(&app, "?resource_type=customer&per_page=2").await;
    assert_eq!(
        meta,
        json!({"current_page": 1, "per_page": 2, "total": 5, "last_page": 3})
    );
    let (page2, meta2) = log(&app, "?resource_type=customer&per_page=2&page=2").await;
    assert_eq!(meta2["current_page"], json!(2));
    let (page3, _) = log(&app, "?resource_type=customer&per_page=2&page=3").await;
    let (page4, meta4) = log(&app, "?resource_type=customer&per_page=2&page=4").await;
    assert_eq!((page1.len(), page2.len(), page3.len()), (2, 2, 1));
    assert!(page4.is_empty());
    assert_eq!(meta4["total"], json!(5));

    let all: Vec<Value> = page1.into_iter().chain(page2).chain(page3).collect();
    let names: Vec<&Value> = all.iter().map(|e| &e["after"]["first_name"]).collect();
    assert_eq!(
        names,
        [
            "Customer4",
            "Customer3",
            "Customer2",
            "Customer1",
            "Customer0"
        ]
    );
    for pair in all.windows(2) {
        assert!(pair[0]["id"].as_i64() > pair[1]["id"].as_i64(), "{pair:?}");
        assert!(
            pair[0]["occurred_at"].as_str() >= pair[1]["occurred_at"].as_str(),
            "{pair:?}"
        );
    }

    let (_, meta) = log(&app, "").await;
    assert_eq!(meta["current_page"], json!(1));
    assert_eq!(meta["per_page"], json!(25));
    let (_, meta) = log(&app, "?per_page=500").await;
    assert_eq!(meta["per_page"], json!(100), "per_page is capped at 100");
    app.stop().await;
}

async fn bad_query_parameters_are_a_400(app: TestApp) {
    for query in [
        "from=yesterday",
        "to=2024-13-01T00:00:00Z",
        "from=2024-01-15",
        "page=0",
        "per_page=abc",
        "actor_id=robot:1",
        "actor_id=key:x",
    ] {
        let (status, body) = app.get(&format!("{AUDIT_LOG}?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["success"], json!(false), "{query}: {body}");
        assert_eq!(body["code"], json!("BAD_REQUEST"), "{query}: {body}");
        assert!(body["message"].is_string(), "{query}: {body}");
        assert!(body.get("errors").is_none(), "{query}: {body}");
    }
    // A range that ends before it starts is no error: it holds nothing.
    let range = "from=2024-01-02T00:00:00Z&to=2024-01-01T00:00:00Z";
    let (status, body) = app.get(&format!("{AUDIT_LOG}?{range}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["meta"]["total"], json!(0), "{body}");
    app.stop().await;
}

async fn the_log_is_append_only_in_the_database(app: TestApp) {
    let customer = app.create_customer("Ada", "+254700000041").await;
    let before = entries_of(&app, &customer["id"]).await;
    assert_eq!(before.len(), 1);
    let db = Db::connect(&app.database.url)
        .await
        .expect("connect to the test database");
    let update = "UPDATE audit_log SET action = 'customer.forged', reason = 'tampered'";
    let delete = "DELETE FROM audit_log";
    for statement in [update, delete] {
        let result = match &db {
            Db::Sqlite(pool) => sqlx::query(statement).execute(pool).await.map(drop),
            Db::Postgres(pool) => sqlx::query(statement).execute(pool).await.map(drop),
        };
        assert!(result.is_err(), "{statement} must fail");
    }
    db.close().await;
    let after = entries_of(&app, &customer["id"]).await;
    assert_eq!(after, before);
    app.stop().await;
}

async fn the_log_is_read_only_over_rest(app: TestApp) {
    app.create_customer("Ada", "+254700000051").await;
    let (entries, _) = log(&app, "?resource_type=customer").await;
    let id = &entries[0]["id"];
    for method in [
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
    ] {
        let (status, body) = lastmile_tests::send(
            app.request(method.clone(), AUDIT_LOG)
                .json(&json!({"action": "x"})),
        )
        .await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}: {body}");
        let (status, body) = lastmile_tests::send(
            app.request(method.clone(), &format!("{AUDIT_LOG}/{id}"))
                .json(&json!({"action": "x"})),
        )
        .await;
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED,
            "{method} {id}: {status} {body}"
        );
    }
    let (after, _) = log(&app, "?resource_type=customer").await;
    assert_eq!(after, entries);
    app.stop().await;
}

async fn a_role_without_audit_log_read_is_forbidden(app: TestApp) {
    for role in [
        Role::Support,
        Role::Billing,
        Role::Technician,
        Role::ReadOnly,
    ] {
        let (_, key) = key_with_role(&app, role).await;
        let (status, body) =
            lastmile_tests::send(app.http.get(app.url(AUDIT_LOG)).header("X-API-Key", &key)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}: {body}");
        assert_eq!(body["success"], json!(false), "{body}");
        assert_eq!(body["message"], json!("Forbidden"), "{body}");
        assert_eq!(body["code"], json!("FORBIDDEN"), "{body}");
        assert!(body.get("data").is_none(), "{body}");
    }
    let (_, manager) = key_with_role(&app, Role::Manager).await;
    let (status, body) = lastmile_tests::send(
        app.http
            .get(app.url(AUDIT_LOG))
            .header("X-API-Key", &manager),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "a manager reads the log: {body}");
    app.stop().await;
}

async fn the_log_needs_a_credential(app: TestApp) {
    let (status, body) = lastmile_tests::send(app.http.get(app.url(AUDIT_LOG))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["message"], json!("Missing API key"), "{body}");
    let (status, body) = lastmile_tests::send(
        app.http
            .get(app.url(AUDIT_LOG))
            .header("X-API-Key", "lm_not_a_real_key_at_all_0000"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["message"], json!("Invalid API key"), "{body}");
    app.stop().await;
}
