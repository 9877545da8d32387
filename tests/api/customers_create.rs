//! `POST /api/v1/customers`: the 201 answer with every field of the contract, each field
//! rule with its exact message, every failure reported at once, uniqueness of phone and
//! e-mail among live customers (also under concurrent creates), and malformed bodies.

use lastmile_core::db::Db;
use lastmile_tests::{StatusCode, TestApp, customer_body, engine_tests, json};
use serde_json::Value;

engine_tests!(
    creating_a_customer_answers_201_with_every_field_of_the_contract,
    creating_a_customer_with_only_the_required_fields_applies_the_defaults,
    the_password_never_appears_in_any_answer,
    an_address_object_fills_the_same_fields_as_flat_address_fields,
    creating_a_customer_without_a_first_name_reports_it_as_required,
    creating_a_customer_with_a_short_first_name_reports_the_minimum,
    creating_a_customer_with_an_invalid_email_reports_the_field,
    creating_a_customer_reports_every_broken_password_rule_in_order,
    creating_a_customer_without_a_valid_phone_reports_the_field,
    the_billing_day_must_lie_between_1_and_28,
    suspend_after_days_must_lie_between_0_and_365,
    an_unknown_billing_method_is_invalid,
    unknown_references_are_reported_on_their_fields,
    existing_references_are_accepted_and_organizations_are_named,
    a_mix_of_existing_and_unknown_organizations_is_refused,
    every_failing_field_is_reported_at_once,
    a_taken_phone_is_reported_together_with_the_other_failures,
    creating_a_customer_with_a_taken_phone_reports_the_field,
    a_taken_phone_written_differently_is_still_taken,
    creating_a_customer_with_a_taken_email_reports_the_field_whatever_its_case,
    a_deleted_customers_phone_and_email_can_be_reused,
    wrong_json_types_are_reported_per_field,
    wrong_json_types_are_reported_together_with_the_rule_failures,
    malformed_json_is_a_400_bad_request,
    concurrent_creates_with_one_phone_make_exactly_one_customer,
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

/// Asserts a 201 answer and returns `data.customer`.
fn assert_created(status: StatusCode, body: &Value) -> Value {
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["success"], json!(true), "{body}");
    assert_eq!(
        body["message"],
        json!("Customer created successfully"),
        "{body}"
    );
    body["data"]["customer"].clone()
}

/// `customer_body` with `changes` merged in (a `null` value removes the key).
fn body_with(first_name: &str, phone: &str, changes: Value) -> Value {
    let mut body = customer_body(first_name, phone);
    let object = body.as_object_mut().unwrap();
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            object.remove(key);
        } else {
            object.insert(key.clone(), value.clone());
        }
    }
    body
}

/// Sends a request and returns its status and raw body text.
async fn send_raw(request: reqwest::RequestBuilder) -> (StatusCode, String) {
    let response = request.send().await.expect("HTTP request");
    let status = response.status();
    (status, response.text().await.expect("HTTP body"))
}

/// Asserts the contract's timestamp format `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
fn assert_timestamp(value: &Value) -> chrono::NaiveDateTime {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("timestamp is not a string: {value}"));
    assert_eq!(text.len(), 27, "{text}");
    assert!(text.ends_with('Z'), "{text}");
    assert_eq!(&text[19..20], ".", "{text}");
    assert!(text[20..26].bytes().all(|b| b.is_ascii_digit()), "{text}");
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.6fZ")
        .unwrap_or_else(|e| panic!("{text} is not a contract timestamp: {e}"))
}

/// Inserts a row into a table customers reference (partners, organizations, user_groups),
/// which have no API yet; returns its id.
async fn insert_referenced(app: &TestApp, table: &str, name: &str) -> i64 {
    let db = Db::connect(&app.database.url)
        .await
        .expect("connect to the test database");
    let sql = format!(
        "INSERT INTO {table} (name, created_at, updated_at) VALUES ($1, $2, $2) RETURNING id"
    );
    let now = chrono::Utc::now();
    let id: i64 = lastmile_core::on_db!(&db, pool => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(name)
        .bind(now)
        .fetch_one(pool)
        .await)
    .expect("insert a referenced row");
    db.close().await;
    id
}

/// The `total` of the unfiltered customer list.
async fn live_customer_count(app: &TestApp) -> i64 {
    let (status, body) = app.get(CUSTOMERS).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["meta"]["total"].as_i64().unwrap()
}

async fn creating_a_customer_answers_201_with_every_field_of_the_contract(app: TestApp) {
    let before = chrono::Utc::now().naive_utc();
    let body = json!({
        "first_name": "Amina",
        "last_name": "Wanjiru",
        "email": "Amina.Wanjiru@Example.COM",
        "password": "Str0ng!pass",
        "phone": "+254 712-345-678",
        "address": "12 Moi Avenue",
        "city": "Nairobi",
        "state": "Nairobi County",
        "country": "KE",
        "postal_code": "00100",
        "billing_address": {
            "street": "PO Box 4410", "city": "Kisumu", "state": "Kisumu County",
            "zip": "40100", "country": "KE"
        },
        "billing_method": "prorata",
        "billing_day": 5,
        "auto_suspension": false,
        "suspend_after_days": 30,
    });
    let (status, raw) = send_raw(app.request(reqwest::Method::POST, CUSTOMERS).json(&body)).await;
    let answer: Value = serde_json::from_str(&raw).unwrap();
    let customer = assert_created(status, &answer);

    let id = customer["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("id is not an integer: {customer}"));
    assert!(id > 0, "{customer}");
    let portal_id = customer["portal_id"].as_str().unwrap();
    assert_eq!(portal_id.len(), 8, "{portal_id}");
    assert!(portal_id.bytes().all(|b| b.is_ascii_digit()), "{portal_id}");
    assert_ne!(&portal_id[..1], "0", "{portal_id}");

    let expected = json!({
        "first_name": "Amina",
        "last_name": "Wanjiru",
        "full_name": "Amina Wanjiru",
        "email": "amina.wanjiru@example.com",
        "phone": "+254712345678",
        "address": "12 Moi Avenue",
        "city": "Nairobi",
        "state": "Nairobi County",
        "country": "KE",
        "postal_code": "00100",
        "billing_address": {
            "street": "PO Box 4410", "city": "Kisumu", "state": "Kisumu County",
            "zip": "40100", "country": "KE"
        },
        "user_group_id": null,
        "partner_id": null,
        "billing_method": "prorata",
        "billing_day": 5,
        "auto_suspension": false,
        "suspend_after_days": 30,
        "status": "active",
        "currency": "USD",
        "organizations": [],
    });
    for (key, value) in expected.as_object().unwrap() {
        let got = customer
            .get(key)
            .unwrap_or_else(|| panic!("`{key}` is missing: {customer}"));
        assert_eq!(got, value, "`{key}` of {customer}");
    }

    // The balance is a JSON number with the currency's two minor digits.
    assert!(customer["balance"].is_number(), "{customer}");
    assert_eq!(customer["balance"].as_f64(), Some(0.0), "{customer}");
    assert!(raw.contains(r#""balance":0.00"#), "{raw}");

    let created_at = assert_timestamp(&customer["created_at"]);
    let updated_at = assert_timestamp(&customer["updated_at"]);
    assert_eq!(created_at, updated_at, "{customer}");
    let after = chrono::Utc::now().naive_utc();
    let slack = chrono::Duration::seconds(5);
    assert!(
        created_at >= before - slack && created_at <= after + slack,
        "{customer}"
    );

    assert_eq!(
        customer["links"]["self"],
        json!(app.url(&format!("/api/v1/customers/{id}"))),
        "{customer}"
    );

    // What was created is what is stored.
    let (status, read) = app.get(&format!("{CUSTOMERS}/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["data"]["customer"], customer);
    app.stop().await;
}

async fn creating_a_customer_with_only_the_required_fields_applies_the_defaults(app: TestApp) {
    let body = json!({"first_name": "Baraka", "password": "Str0ng!pass", "phone": "0712 345 678"});
    let (status, answer) = app.post(CUSTOMERS, &body).await;
    let customer = assert_created(status, &answer);
    let expected = json!({
        "first_name": "Baraka",
        "last_name": null,
        "full_name": "Baraka",
        "email": null,
        "phone": "0712345678",
        "address": null,
        "city": null,
        "country": null,
        "postal_code": null,
        "billing_address": null,
        "user_group_id": null,
        "partner_id": null,
        "billing_method": null,
        "billing_day": null,
        "auto_suspension": true,
        "suspend_after_days": 14,
        "status": "active",
        "balance": 0.0,
        "currency": "USD",
        "organizations": [],
    });
    for (key, value) in expected.as_object().unwrap() {
        let got = customer
            .get(key)
            .unwrap_or_else(|| panic!("`{key}` is missing: {customer}"));
        assert_eq!(got, value, "`{key}` of {customer}");
    }
    app.stop().await;
}

async fn the_password_never_appears_in_any_answer(app: TestApp) {
    let password = "Zq9!Unique-Secret";
    let body = body_with("Chege", "+254722000111", json!({"password": password}));
    let (status, created) =
        send_raw(app.request(reqwest::Method::POST, CUSTOMERS).json(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = serde_json::from_str::<Value>(&created).unwrap()["data"]["customer"]["id"]
        .as_i64()
        .unwrap();
    let path = format!("{CUSTOMERS}/{id}");

    let mut answers = vec![created];
    answers.push(send_raw(app.request(reqwest::Method::GET, &path)).await.1);
    answers.push(
        send_raw(app.request(reqwest::Method::GET, CUSTOMERS))
            .await
            .1,
    );
    let new_password = "Yx8#Another-Secret";
    let patch = json!({"password": new_password, "last_name": "Kamau"});
    let (status, patched) = send_raw(app.request(reqwest::Method::PATCH, &path).json(&patch)).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    answers.push(patched);
    let action = json!({"action": "suspend", "reason": "check"});
    answers.push(
        send_raw(
            app.request(reqwest::Method::POST, &format!("{path}/action"))
                .json(&action),
        )
        .await
        .1,
    );
    // A refused create must not echo the password either.
    let refused = body_with("Al", "+254722000111", json!({"password": password}));
    let (status, refused) =
        send_raw(app.request(reqwest::Method::POST, CUSTOMERS).json(&refused)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    answers.push(refused);

    for answer in &answers {
        assert!(!answer.contains(password), "{answer}");
        assert!(!answer.contains(new_password), "{answer}");
        assert!(!answer.contains("argon2"), "{answer}");
        assert!(!answer.contains("password_hash"), "{answer}");
    }
    for answer in &answers[..5] {
        let value: Value = serde_json::from_str(answer).unwrap();
        let customers = match value["data"].get("customers") {
            Some(list) => list.as_array().unwrap().clone(),
            None => vec![value["data"]["customer"].clone()],
        };
        for customer in customers {
            assert!(customer.get("password").is_none(), "{customer}");
        }
    }
    app.stop().await;
}

async fn an_address_object_fills_the_same_fields_as_flat_address_fields(app: TestApp) {
    let object = body_with(
        "Wanjiku",
        "+254700000001",
        json!({"address": {
            "street": "4 Kenyatta Road", "city": "Nakuru", "state": "Nakuru County",
            "zip": "20100", "country": "KE"
        }}),
    );
    let flat = body_with(
        "Odhiambo",
        "+254700000002",
        json!({
            "address": "4 Kenyatta Road", "city": "Nakuru", "state": "Nakuru County",
            "postal_code": "20100", "country": "KE"
        }),
    );
    let (status, body) = app.post(CUSTOMERS, &object).await;
    let from_object = assert_created(status, &body);
    let (status, body) = app.post(CUSTOMERS, &flat).await;
    let from_flat = assert_created(status, &body);
    let expected = json!({
        "address": "4 Kenyatta Road", "city": "Nakuru", "state": "Nakuru County",
        "postal_code": "20100", "country": "KE"
    });
    for customer in [&from_object, &from_flat] {
        for (key, value) in expected.as_object().unwrap() {
            assert_eq!(&customer[key], value, "`{key}` of {customer}");
        }
        assert_eq!(customer["billing_address"], json!(null), "{customer}");
    }
    app.stop().await;
}

async fn creating_a_customer_without_a_first_name_reports_it_as_required(app: TestApp) {
    for first_name in [None, Some(""), Some("   ")] {
        let body = match first_name {
            None => body_with("unused", "+254711000001", json!({"first_name": null})),
            Some(name) => customer_body(name, "+254711000001"),
        };
        let (status, answer) = app.post(CUSTOMERS, &body).await;
        assert_validation(
            status,
            &answer,
            json!({"first_name": ["The first name field is required."]}),
        );
    }
    assert_eq!(live_customer_count(&app).await, 0);
    app.stop().await;
}

async fn creating_a_customer_with_a_short_first_name_reports_the_minimum(app: TestApp) {
    for short in ["Al", "  Al  ", "A"] {
        let (status, answer) = app
            .post(CUSTOMERS, &customer_body(short, "+254711000002"))
            .await;
        assert_validation(
            status,
            &answer,
            json!({"first_name": ["The first name must be at least 3 characters."]}),
        );
    }
    let (status, answer) = app
        .post(CUSTOMERS, &customer_body("Ali", "+254711000002"))
        .await;
    assert_eq!(assert_created(status, &answer)["first_name"], json!("Ali"));
    app.stop().await;
}

async fn creating_a_customer_with_an_invalid_email_reports_the_field(app: TestApp) {
    for bad in [
        "not-an-email",
        "amina@",
        "@example.com",
        "amina@example",
        "a b@example.com",
    ] {
        let body = body_with("Amina", "+254711000003", json!({"email": bad}));
        let (status, answer) = app.post(CUSTOMERS, &body).await;
        assert_validation(
            status,
            &answer,
            json!({"email": ["The email must be a valid email address."]}),
        );
    }
    assert_eq!(live_customer_count(&app).await, 0);
    app.stop().await;
}

async fn creating_a_customer_reports_every_broken_password_rule_in_order(app: TestApp) {
    let cases = [
        (
            json!("abc"),
            json!([
                "The password must be at least 8 characters.",
                "The password must contain at least one uppercase letter.",
                "The password must contain at least one number.",
                "The password must contain at least one special character.",
            ]),
        ),
        (
            json!("Ab1!"),
            json!(["The password must be at least 8 characters."]),
        ),
        (
            json!("ABCDEFGH1!"),
            json!(["The password must contain at least one lowercase letter."]),
        ),
        (
            json!("abcdefgh1!"),
            json!(["The password must contain at least one uppercase letter."]),
        ),
        (
            json!("Abcdefgh!"),
            json!(["The password must contain at least one number."]),
        ),
        (
            json!("Abcdefgh1"),
            json!(["The password must contain at least one special character."]),
        ),
        (json!(""), json!(["The password field is required."])),
        (json!(null), json!(["The password field is required."])),
    ];
    for (password, messages) in cases {
        let body = body_with("Amina", "+254711000004", json!({"password": password}));
        let (status, answer) = app.post(CUSTOMERS, &body).await;
        assert_validation(status, &answer, json!({"password": messages}));
    }
    assert_eq!(live_customer_count(&app).await, 0);
    app.stop().await;
}

async fn creating_a_customer_without_a_valid_phone_reports_the_field(app: TestApp) {
    let required = json!({"phone": ["The phone field is required."]});
    let invalid = json!({"phone": ["The phone must be a valid phone number."]});
    let cases = [
        (json!(null), &required),
        (json!(""), &required),
        (json!("12345"), &invalid),
        (json!("phone"), &invalid),
        (json!("+1+5550100199"), &invalid),
        (json!("0712345678x"), &invalid),
    ];
    for (phone, errors) in cases {
        // `null` leaves the key out.
        let body = body_with("Amina", "unused", json!({"phone": phone}));
        let (status, answer) = app.post(CUSTOMERS, &body).await;
        assert_validation(status, &answer, errors.clone());
    }
    assert_eq!(live_customer_count(&app).await, 0);
    app.stop().await;
}

async fn the_billing_day_must_lie_between_1_and_28(app: TestApp) {
    for day in [0, 29, -1, 31] {
        let body = body_with("Amina", "+254711000005", json!({"billing_day": day}));
        let (status, answer) = app.post(CUSTOMERS, &body).await;
        assert_validation(
            status,
            &answer,
            json!({"billing_day": ["The billing day must be between 1 and 28."]}),
        );
    }
    for (day, phone) in [(1, "+254711000006"), (28, "+254711000007")] {
        let body = body_with("Amina", phone, json!({"billing_day": day}));
        let (status, answer) = app.post(CUSTOMERS, &body).await;
        assert_eq!(assert_created(status, &answer)["billing_day"], json!(day));
    }
    app.stop().await;
}

async fn suspend_after_days_must_lie_between_0_and_365(app: TestApp) {
    for days in [-1, 366] {
        let body = body_with(
            "Amina",
            "+254711000008",
            json!({"suspend_after_days": days}),
        );
        let (status, answer) = app.post(CUSTOMERS, &body).await;
        assert_validation(
            status,
            &answer,
            json!({"suspend_after_days": ["The suspend after days must be between 0 and 365."]}),
        );
    }
    for (days, phone) in [(0, "+254711000009"), (365, "+254711000010")] {
        let body = body_with("Amina", phone, json!({"suspend_after_days": days}));
        let (status, answer) = app.post(CUSTOMERS, &body).await;
        assert_eq!(
            assert_created(status, &answer)["suspend_after_days"],
            json!(days)
        );
    }
    app.stop().await;
}

async fn an_unknown_billing_method_is_invalid(app: TestApp) {
    for method in ["weekly", "monthly"] {
        let body = body_with("Amina", "+254711000011", json!({"billing_method": method}));
        let (status, answer) = app.post(CUSTOMERS, &body).await;
        assert_validation(
            status,
            &answer,
            json!({"billing_method": ["The selected billing method is invalid."]}),
        );
    }
    for (method, phone) in [("cycle", "+254711000012"), ("prorata", "+254711000013")] {
        let body = body_with("Amina", phone, json!({"billing_method": method}));
        let (status, answer) = app.post(CUSTOMERS, &body).await;
        assert_eq!(
            assert_created(status, &answer)["billing_method"],
            json!(method)
        );
    }
    app.stop().await;
}

async fn unknown_references_are_reported_on_their_fields(app: TestApp) {
    let cases = [
        (
            json!({"partner_id": 999}),
            json!({"partner_id": ["The selected partner id is invalid."]}),
        ),
        (
            json!({"partner_id": -1}),
            json!({"partner_id": ["The selected partner id is invalid."]}),
        ),
        (
            json!({"user_group_id": 999}),
            json!({"user_group_id": ["The selected user group id is invalid."]}),
        ),
        (
            json!({"user_group_id": 0}),
            json!({"user_group_id": ["The selected user group id is invalid."]}),
        ),
        (
            json!({"organization_ids": [999]}),
            json!({"organization_ids": ["The selected organization ids is invalid."]}),
        ),
        (
            json!({"organization_ids": [0]}),
            json!({"organization_ids": ["The selected organization ids is invalid."]}),
        ),
        (
            json!({"partner_id": 998, "user_group_id": 997, "organization_ids": [996, 995]}),
            json!({
                "partner_id": ["The selected partner id is invalid."],
                "user_group_id": ["The selected user group id is invalid."],
                "organization_ids": ["The selected organization ids is invalid."],
            }),
        ),
    ];
    for (references, errors) in cases {
        let body = body_with("Amina", "+254711000014", references);
        let (status, answer) = app.post(CUSTOMERS, &body).await;
        assert_validation(status, &answer, errors);
    }
    assert_eq!(live_customer_count(&app).await, 0);
    app.stop().await;
}

async fn existing_references_are_accepted_and_organizations_are_named(app: TestApp) {
    let partner = insert_referenced(&app, "partners", "Fibre Resellers Ltd").await;
    let group = insert_referenced(&app, "user_groups", "Residential").await;
    let north = insert_referenced(&app, "organizations", "North Branch").await;
    let south = insert_referenced(&app, "organizations", "South Branch").await;
    let body = body_with(
        "Amina",
        "+254711000015",
        json!({
            "partner_id": partner,
            "user_group_id": group,
            "organization_ids": [south, north, south],
        }),
    );
    let (status, answer) = app.post(CUSTOMERS, &body).await;
    let customer = assert_created(status, &answer);
    assert_eq!(customer["partner_id"], json!(partner), "{customer}");
    assert_eq!(customer["user_group_id"], json!(group), "{customer}");
    assert_eq!(
        customer["organizations"],
        json!([{"id": north, "name": "North Branch"}, {"id": south, "name": "South Branch"}]),
        "{customer}"
    );
    let id = customer["id"].as_i64().unwrap();
    let (status, read) = app.get(&format!("{CUSTOMERS}/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(
        read["data"]["customer"]["organizations"],
        customer["organizations"]
    );
    app.stop().await;
}

async fn a_mix_of_existing_and_unknown_organizations_is_refused(app: TestApp) {
    let known = insert_referenced(&app, "organizations", "Head Office").await;
    let body = body_with(
        "Amina",
        "+254711000016",
        json!({"organization_ids": [known, known + 100]}),
    );
    let (status, answer) = app.post(CUSTOMERS, &body).await;
    assert_validation(
        status,
        &answer,
        json!({"organization_ids": ["The selected organization ids is invalid."]}),
    );
    assert_eq!(live_customer_count(&app).await, 0);
    app.stop().await;
}

async fn every_failing_field_is_reported_at_once(app: TestApp) {
    let body = json!({
        "first_name": "Al",
        "email": "not-an-email",
        "password": "abc",
        "phone": "12",
        "billing_method": "weekly",
        "billing_day": 31,
        "suspend_after_days": 400,
        "partner_id": 999,
        "user_group_id": 999,
        "organization_ids": [999],
    });
    let (status, answer) = app.post(CUSTOMERS, &body).await;
    assert_validation(
        status,
        &answer,
        json!({
            "first_name": ["The first name must be at least 3 characters."],
            "email": ["The email must be a valid email address."],
            "password": [
                "The password must be at least 8 characters.",
                "The password must contain at least one uppercase letter.",
                "The password must contain at least one number.",
                "The password must contain at least one special character.",
            ],
            "phone": ["The phone must be a valid phone number."],
            "billing_method": ["The selected billing method is invalid."],
            "billing_day": ["The billing day must be between 1 and 28."],
            "suspend_after_days": ["The suspend after days must be between 0 and 365."],
            "partner_id": ["The selected partner id is invalid."],
            "user_group_id": ["The selected user group id is invalid."],
            "organization_ids": ["The selected organization ids is invalid."],
        }),
    );

    // An empty body names every required field.
    let (status, answer) = app.post(CUSTOMERS, &json!({})).await;
    assert_validation(
        status,
        &answer,
        json!({
            "first_name": ["The first name field is required."],
            "password": ["The password field is required."],
            "phone": ["The phone field is required."],
        }),
    );
    assert_eq!(live_customer_count(&app).await, 0);
    app.stop().await;
}

async fn a_taken_phone_is_reported_together_with_the_other_failures(app: TestApp) {
    app.create_customer("Amina", "+254712345678").await;
    let body = body_with(
        "Al",
        "+254712345678",
        json!({"email": "bad@", "billing_day": 0}),
    );
    let (status, answer) = app.post(CUSTOMERS, &body).await;
    assert_validation(
        status,
        &answer,
        json!({
            "first_name": ["The first name must be at least 3 characters."],
            "email": ["The email must be a valid email address."],
            "phone": ["A customer with this phone number already exists."],
            "billing_day": ["The billing day must be between 1 and 28."],
        }),
    );
    app.stop().await;
}

async fn creating_a_customer_with_a_taken_phone_reports_the_field(app: TestApp) {
    app.create_customer("Amina", "+254712345678").await;
    let (status, answer) = app
        .post(CUSTOMERS, &customer_body("Baraka", "+254712345678"))
        .await;
    assert_validation(
        status,
        &answer,
        json!({"phone": ["A customer with this phone number already exists."]}),
    );
    assert_eq!(live_customer_count(&app).await, 1);
    app.stop().await;
}

async fn a_taken_phone_written_differently_is_still_taken(app: TestApp) {
    app.create_customer("Amina", "+254712345678").await;
    for variant in ["+254 712-345-678", "+254 (712) 345.678", " +254712345678 "] {
        let (status, answer) = app.post(CUSTOMERS, &customer_body("Baraka", variant)).await;
        assert_validation(
            status,
            &answer,
            json!({"phone": ["A customer with this phone number already exists."]}),
        );
    }
    // The other way round: stored with separators, sent without.
    app.create_customer("Chege", "0733 111-222").await;
    let (status, answer) = app
        .post(CUSTOMERS, &customer_body("Baraka", "0733111222"))
        .await;
    assert_validation(
        status,
        &answer,
        json!({"phone": ["A customer with this phone number already exists."]}),
    );
    assert_eq!(live_customer_count(&app).await, 2);
    app.stop().await;
}

async fn creating_a_customer_with_a_taken_email_reports_the_field_whatever_its_case(app: TestApp) {
    let first = body_with(
        "Amina",
        "+254711000017",
        json!({"email": "Amina@Example.com"}),
    );
    let (status, answer) = app.post(CUSTOMERS, &first).await;
    assert_eq!(
        assert_created(status, &answer)["email"],
        json!("amina@example.com")
    );
    for variant in [
        "amina@example.com",
        "AMINA@EXAMPLE.COM",
        " amina@Example.COM ",
    ] {
        let body = body_with("Baraka", "+254711000018", json!({"email": variant}));
        let (status, answer) = app.post(CUSTOMERS, &body).await;
        assert_validation(
            status,
            &answer,
            json!({"email": ["A customer with this email address already exists."]}),
        );
    }
    assert_eq!(live_customer_count(&app).await, 1);
    app.stop().await;
}

async fn a_deleted_customers_phone_and_email_can_be_reused(app: TestApp) {
    let body = body_with(
        "Amina",
        "+254712345678",
        json!({"email": "amina@example.com"}),
    );
    let (status, answer) = app.post(CUSTOMERS, &body).await;
    let old = assert_created(status, &answer);
    let old_id = old["id"].as_i64().unwrap();
    let (status, answer) = app.delete(&format!("{CUSTOMERS}/{old_id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");

    let body = body_with(
        "Baraka",
        "+254 712 345 678",
        json!({"email": "AMINA@example.com"}),
    );
    let (status, answer) = app.post(CUSTOMERS, &body).await;
    let new = assert_created(status, &answer);
    assert_ne!(new["id"], old["id"]);
    assert_ne!(new["portal_id"], old["portal_id"]);
    assert_eq!(new["phone"], json!("+254712345678"));
    assert_eq!(new["email"], json!("amina@example.com"));

    // The new owner now holds the number.
    let (status, answer) = app
        .post(CUSTOMERS, &customer_body("Chege", "+254712345678"))
        .await;
    assert_validation(
        status,
        &answer,
        json!({"phone": ["A customer with this phone number already exists."]}),
    );
    app.stop().await;
}

async fn wrong_json_types_are_reported_per_field(app: TestApp) {
    let body = json!({
        "first_name": 12,
        "last_name": ["x"],
        "email": true,
        "password": 12345678,
        "phone": 254712345678u64,
        "city": false,
        "billing_address": "PO Box 9",
        "user_group_id": {"id": 1},
        "organization_ids": [1, "two"],
        "partner_id": "7",
        "billing_method": 1,
        "billing_day": "15",
        "auto_suspension": "yes",
        "suspend_after_days": 1.5,
    });
    let (status, answer) = app.post(CUSTOMERS, &body).await;
    assert_validation(
        status,
        &answer,
        json!({
            "first_name": ["The first name must be a string."],
            "last_name": ["The last name must be a string."],
            "email": ["The email must be a string."],
            "password": ["The password must be a string."],
            "phone": ["The phone must be a string."],
            "city": ["The city must be a string."],
            "billing_address": ["The billing address must be an object."],
            "user_group_id": ["The user group id must be an integer."],
            "organization_ids": ["The organization ids must be an array of integers."],
            "partner_id": ["The partner id must be an integer."],
            "billing_method": ["The billing method must be a string."],
            "billing_day": ["The billing day must be an integer."],
            "auto_suspension": ["The auto suspension field must be true or false."],
            "suspend_after_days": ["The suspend after days must be an integer."],
        }),
    );

    // An address that is neither a string nor an object, and nested parts of the wrong type.
    let body = body_with("Amina", "+254711000019", json!({"address": 5}));
    let (status, answer) = app.post(CUSTOMERS, &body).await;
    assert_validation(
        status,
        &answer,
        json!({"address": ["The address must be a string or an object."]}),
    );
    let body = body_with(
        "Amina",
        "+254711000019",
        json!({"address": {"city": 1}, "billing_address": {"zip": []}}),
    );
    let (status, answer) = app.post(CUSTOMERS, &body).await;
    assert_validation(
        status,
        &answer,
        json!({
            "address.city": ["The address city must be a string."],
            "billing_address.zip": ["The billing address zip must be a string."],
        }),
    );
    assert_eq!(live_customer_count(&app).await, 0);
    app.stop().await;
}

async fn wrong_json_types_are_reported_together_with_the_rule_failures(app: TestApp) {
    // One round trip shows everything to fix: a field of the wrong type does not hide the
    // rules the other fields break.
    let body = json!({
        "first_name": "Al",
        "password": "Str0ng!pass",
        "phone": "+254711000020",
        "billing_day": "15",
    });
    let (status, answer) = app.post(CUSTOMERS, &body).await;
    assert_validation(
        status,
        &answer,
        json!({
            "first_name": ["The first name must be at least 3 characters."],
            "billing_day": ["The billing day must be an integer."],
        }),
    );
    app.stop().await;
}

async fn malformed_json_is_a_400_bad_request(app: TestApp) {
    for raw in [
        r#"{"first_name": "Amina", "#,
        "not json",
        r#"{"first_name": "Amina",}"#,
        "[1, 2]",
    ] {
        let request = app
            .request(reqwest::Method::POST, CUSTOMERS)
            .header("Content-Type", "application/json")
            .body(raw);
        let (status, body) = lastmile_tests::send(request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{raw}: {body}");
        assert_eq!(body["success"], json!(false), "{body}");
        assert_eq!(body["code"], json!("BAD_REQUEST"), "{body}");
        assert_eq!(body["message"], json!("Malformed JSON"), "{body}");
        assert!(body.get("errors").is_none(), "{body}");
    }
    assert_eq!(live_customer_count(&app).await, 0);
    app.stop().await;
}

async fn concurrent_creates_with_one_phone_make_exactly_one_customer(app: TestApp) {
    let bodies: Vec<Value> = (0..8)
        .map(|i| {
            let phone = if i % 2 == 0 {
                "+254712345678"
            } else {
                "+254 712 345 678"
            };
            customer_body(&format!("Racer{i}"), phone)
        })
        .collect();
    let answers =
        futures::future::join_all(bodies.iter().map(|body| app.post(CUSTOMERS, body))).await;
    let mut created = Vec::new();
    let mut refused = 0;
    for (status, body) in &answers {
        match *status {
            StatusCode::CREATED => created.push(body["data"]["customer"].clone()),
            StatusCode::UNPROCESSABLE_ENTITY => {
                assert_validation(
                    *status,
                    body,
                    json!({"phone": ["A customer with this phone number already exists."]}),
                );
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created.len(), 1, "{answers:?}");
    assert_eq!(refused, 7, "{answers:?}");
    assert_eq!(created[0]["phone"], json!("+254712345678"));

    let (status, list) = app.get(CUSTOMERS).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["meta"]["total"], json!(1), "{list}");
    assert_eq!(
        list["data"]["customers"][0]["id"], created[0]["id"],
        "{list}"
    );
    app.stop().await;
}
