//! Idempotency keys: a POST retried with the same `Idempotency-Key` and body gets the first
//! answer back without the work being done again; the same key with another request is a
//! 422 `IDEMPOTENCY_CONFLICT`; keys belong to one credential; over gRPC the
//! `idempotency-key` metadata entry does the same.

use lastmile_core::identity::{NewApiKey, Role, Tier};
use lastmile_proto::v1::customer_service_client::CustomerServiceClient;
use lastmile_proto::v1::{CreateCustomerRequest, CustomerInput, ListCustomersRequest};
use lastmile_tests::{StatusCode, TestApp, customer_body, engine_tests, json, send, with_key};
use serde_json::Value;
use tonic_types::StatusExt;

engine_tests!(
    a_retry_with_the_same_key_and_body_returns_the_first_answer,
    the_same_key_with_a_different_body_is_422_idempotency_conflict,
    different_keys_do_the_work_once_each,
    a_retry_replays_even_though_the_phone_is_now_taken,
    idempotency_keys_belong_to_one_credential,
    a_key_reused_on_another_endpoint_is_422_idempotency_conflict,
    the_action_endpoint_honours_idempotency_keys,
    an_idempotency_key_of_up_to_255_characters_is_accepted,
    an_idempotency_key_longer_than_255_characters_is_400,
    concurrent_identical_requests_with_one_key_create_one_customer,
    create_customer_over_grpc_honours_the_idempotency_key_metadata,
);

/// POST /api/v1/customers with an admin key and an `Idempotency-Key`.
async fn create_with(
    app: &TestApp,
    api_key: &str,
    idempotency_key: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let request = app
        .http
        .post(app.url("/api/v1/customers"))
        .header("X-API-Key", api_key)
        .header("Idempotency-Key", idempotency_key)
        .json(body);
    send(request).await
}

async fn customer_total(app: &TestApp) -> i64 {
    let (status, body) = app.get("/api/v1/customers").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["meta"]["total"].as_i64().expect("meta.total")
}

async fn second_admin_key(app: &TestApp) -> String {
    let new = NewApiKey {
        name: "second".into(),
        description: None,
        role: Role::Admin,
        tier: Tier::Standard,
        expires_at: None,
        partner_id: None,
    };
    app.core()
        .api_keys
        .create(new)
        .await
        .expect("create API key")
        .1
}

fn assert_idempotency_conflict(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["success"], json!(false), "{body}");
    assert_eq!(body["code"], json!("IDEMPOTENCY_CONFLICT"), "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

async fn a_retry_with_the_same_key_and_body_returns_the_first_answer(app: TestApp) {
    let body = customer_body("Amina", "+254712345678");
    let (first_status, first) = create_with(&app, &app.admin_key, "create-amina-1", &body).await;
    assert_eq!(first_status, StatusCode::CREATED, "{first}");
    assert_eq!(
        first["data"]["customer"]["phone"],
        json!("+254712345678"),
        "{first}"
    );
    let (second_status, second) = create_with(&app, &app.admin_key, "create-amina-1", &body).await;
    assert_eq!(second_status, StatusCode::CREATED, "{second}");
    assert_eq!(second, first, "the retry gets the first answer");
    assert_eq!(customer_total(&app).await, 1);
    app.stop().await;
}

async fn the_same_key_with_a_different_body_is_422_idempotency_conflict(app: TestApp) {
    let (status, first) = create_with(
        &app,
        &app.admin_key,
        "shared-key",
        &customer_body("Amina", "+254712345678"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, body) = create_with(
        &app,
        &app.admin_key,
        "shared-key",
        &customer_body("Baraka", "+254722000111"),
    )
    .await;
    assert_idempotency_conflict(status, &body);
    assert_eq!(customer_total(&app).await, 1);
    let (_, list) = app.get("/api/v1/customers?search=Baraka").await;
    assert_eq!(
        list["meta"]["total"],
        json!(0),
        "the conflicting request did nothing: {list}"
    );
    // A change in one field is a different body too.
    let mut changed = customer_body("Amina", "+254712345678");
    changed["last_name"] = json!("Otieno");
    let (status, body) = create_with(&app, &app.admin_key, "shared-key", &changed).await;
    assert_idempotency_conflict(status, &body);
    app.stop().await;
}

async fn different_keys_do_the_work_once_each(app: TestApp) {
    let (status, first) = create_with(
        &app,
        &app.admin_key,
        "key-one",
        &customer_body("Amina", "+254712345678"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, second) = create_with(
        &app,
        &app.admin_key,
        "key-two",
        &customer_body("Baraka", "+254722000111"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_ne!(
        first["data"]["customer"]["id"],
        second["data"]["customer"]["id"]
    );
    assert_eq!(customer_total(&app).await, 2);
    // A new key with a body that was already used is new work: here it fails validation.
    let (status, third) = create_with(
        &app,
        &app.admin_key,
        "key-three",
        &customer_body("Amina", "+254712345678"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{third}");
    assert_eq!(third["code"], json!("VALIDATION_ERROR"), "{third}");
    assert_eq!(
        third["errors"]["phone"],
        json!(["A customer with this phone number already exists."]),
        "{third}"
    );
    assert_eq!(customer_total(&app).await, 2);
    app.stop().await;
}

async fn a_retry_replays_even_though_the_phone_is_now_taken(app: TestApp) {
    let body = customer_body("Amina", "+254712345678");
    let (status, first) = create_with(&app, &app.admin_key, "amina", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    // Without the key the same body is refused: the phone is taken now.
    let (status, fresh) = app.post("/api/v1/customers", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{fresh}");
    assert_eq!(
        fresh["errors"]["phone"],
        json!(["A customer with this phone number already exists."]),
        "{fresh}"
    );
    // With it, the first answer comes back.
    let (status, replay) = create_with(&app, &app.admin_key, "amina", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{replay}");
    assert_eq!(replay, first);
    assert_eq!(customer_total(&app).await, 1);
    app.stop().await;
}

async fn idempotency_keys_belong_to_one_credential(app: TestApp) {
    let other = second_admin_key(&app).await;
    let (status, mine) = create_with(
        &app,
        &app.admin_key,
        "same-key",
        &customer_body("Amina", "+254712345678"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{mine}");
    // Another credential with the same key and another body does its own work: no
    // conflict, and no replay of the first credential's answer.
    let (status, theirs) = create_with(
        &app,
        &other,
        "same-key",
        &customer_body("Baraka", "+254722000111"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{theirs}");
    assert_eq!(
        theirs["data"]["customer"]["first_name"],
        json!("Baraka"),
        "{theirs}"
    );
    assert_ne!(
        theirs["data"]["customer"]["id"],
        mine["data"]["customer"]["id"]
    );
    assert_eq!(customer_total(&app).await, 2);
    // Each credential's key is bound to its own first request.
    let (status, replay) = create_with(
        &app,
        &other,
        "same-key",
        &customer_body("Baraka", "+254722000111"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{replay}");
    assert_eq!(replay, theirs);
    let (status, body) = create_with(
        &app,
        &other,
        "same-key",
        &customer_body("Amina", "+254712345678"),
    )
    .await;
    assert_idempotency_conflict(status, &body);
    let (status, replay) = create_with(
        &app,
        &app.admin_key,
        "same-key",
        &customer_body("Amina", "+254712345678"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{replay}");
    assert_eq!(replay, mine);
    assert_eq!(customer_total(&app).await, 2);
    app.stop().await;
}

async fn a_key_reused_on_another_endpoint_is_422_idempotency_conflict(app: TestApp) {
    let (status, created) = create_with(
        &app,
        &app.admin_key,
        "one-key",
        &customer_body("Amina", "+254712345678"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["data"]["customer"]["id"].as_i64().unwrap();
    let request = app
        .http
        .post(app.url(&format!("/api/v1/customers/{id}/action")))
        .header("X-API-Key", &app.admin_key)
        .header("Idempotency-Key", "one-key")
        .json(&json!({"action": "suspend"}));
    let (status, body) = send(request).await;
    assert_idempotency_conflict(status, &body);
    let (_, customer) = app.get(&format!("/api/v1/customers/{id}")).await;
    assert_eq!(
        customer["data"]["customer"]["status"],
        json!("active"),
        "{customer}"
    );
    app.stop().await;
}

async fn the_action_endpoint_honours_idempotency_keys(app: TestApp) {
    let customer = app.create_customer("Amina", "+254712345678").await;
    let id = customer["id"].as_i64().unwrap();
    let path = format!("/api/v1/customers/{id}/action");
    let suspend = || {
        app.http
            .post(app.url(&path))
            .header("X-API-Key", &app.admin_key)
            .header("Idempotency-Key", "suspend-amina")
            .json(&json!({"action": "suspend", "reason": "unpaid"}))
    };
    let (status, first) = send(suspend()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        first["data"]["customer"]["status"],
        json!("suspended"),
        "{first}"
    );
    let (status, second) = send(suspend()).await;
    assert_eq!(status, StatusCode::OK, "the retry is not a 409: {second}");
    assert_eq!(second, first);
    // Without the key, suspending again is a state conflict: the retry really was replayed.
    let (status, conflict) = app
        .post(&path, &json!({"action": "suspend", "reason": "unpaid"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");
    assert_eq!(conflict["code"], json!("CONFLICT"), "{conflict}");
    app.stop().await;
}

async fn an_idempotency_key_of_up_to_255_characters_is_accepted(app: TestApp) {
    let key = "k".repeat(255);
    let body = customer_body("Amina", "+254712345678");
    let (status, first) = create_with(&app, &app.admin_key, &key, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, second) = create_with(&app, &app.admin_key, &key, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second, first);
    assert_eq!(customer_total(&app).await, 1);
    app.stop().await;
}

async fn an_idempotency_key_longer_than_255_characters_is_400(app: TestApp) {
    let key = "k".repeat(256);
    let (status, body) = create_with(
        &app,
        &app.admin_key,
        &key,
        &customer_body("Amina", "+254712345678"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["success"], json!(false), "{body}");
    assert_eq!(body["code"], json!("BAD_REQUEST"), "{body}");
    assert_eq!(
        customer_total(&app).await,
        0,
        "a refused request does nothing"
    );
    app.stop().await;
}

async fn concurrent_identical_requests_with_one_key_create_one_customer(app: TestApp) {
    let body = customer_body("Amina", "+254712345678");
    let requests = (0..5).map(|_| create_with(&app, &app.admin_key, "parallel", &body));
    let answers = futures::future::join_all(requests).await;
    let (first_status, first) = &answers[0];
    assert_eq!(*first_status, StatusCode::CREATED, "{first}");
    for (status, body) in &answers {
        assert_eq!(*status, StatusCode::CREATED, "{body}");
        assert_eq!(body, first, "every request gets the one answer");
    }
    assert_eq!(customer_total(&app).await, 1);
    app.stop().await;
}

async fn create_customer_over_grpc_honours_the_idempotency_key_metadata(app: TestApp) {
    let mut client = CustomerServiceClient::new(app.grpc_channel().await);
    let create = |first_name: &str, phone: &str| {
        let message = CreateCustomerRequest {
            validate_only: false,
            generate_password: false,
            customer: Some(CustomerInput {
                first_name: first_name.into(),
                last_name: Some("Tester".into()),
                password: "Str0ng!pass".into(),
                phone: phone.into(),
                ..Default::default()
            }),
        };
        let mut request = with_key(message, &app.admin_key);
        request
            .metadata_mut()
            .insert("idempotency-key", "grpc-create-1".parse().unwrap());
        request
    };
    let first = client
        .create_customer(create("Amina", "+254712345678"))
        .await
        .expect("first create")
        .into_inner();
    let second = client
        .create_customer(create("Amina", "+254712345678"))
        .await
        .expect("retried create")
        .into_inner();
    assert_eq!(second, first, "the retry gets the first answer");
    let list = client
        .list_customers(with_key(ListCustomersRequest::default(), &app.admin_key))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(list.meta.expect("meta").total, 1);

    let status = client
        .create_customer(create("Baraka", "+254722000111"))
        .await
        .expect_err("a different request");
    let info = status
        .get_error_details()
        .error_info()
        .cloned()
        .expect("ErrorInfo detail");
    assert_eq!(info.reason, "IDEMPOTENCY_CONFLICT", "{status:?}");
    assert_eq!(customer_total(&app).await, 1);
    app.stop().await;
}

engine_tests!(
    creating_a_user_twice_with_one_key_creates_one_user,
    an_api_key_create_replays_its_record_but_never_the_key,
);

async fn creating_a_user_twice_with_one_key_creates_one_user(app: TestApp) {
    let body = json!({"name": "Wanjiru", "email": "wanjiru@isp.example", "password": "Str0ng!pass", "role": "support"});
    let post = || {
        app.request(reqwest::Method::POST, "/api/v1/users")
            .header("Idempotency-Key", "hire-wanjiru")
            .json(&body)
    };
    let (first_status, first) = send(post()).await;
    assert_eq!(first_status, StatusCode::CREATED, "{first}");
    let (second_status, second) = send(post()).await;
    assert_eq!((second_status, &second), (StatusCode::CREATED, &first));
    let (_, users) = app.get("/api/v1/users").await;
    let named: Vec<_> = users["data"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["email"] == json!("wanjiru@isp.example"))
        .collect();
    assert_eq!(named.len(), 1, "{users}");
    app.stop().await;
}

async fn an_api_key_create_replays_its_record_but_never_the_key(app: TestApp) {
    let post = || {
        app.request(reqwest::Method::POST, "/api/v1/api-keys")
            .header("Idempotency-Key", "ci-key")
            .json(&json!({"name": "ci", "role": "read_only"}))
    };
    let (status, first) = send(post()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let key = first["data"]["api_key"]["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("lm_"), "{first}");

    let (status, replay) = send(post()).await;
    assert_eq!(status, StatusCode::CREATED, "{replay}");
    assert_eq!(
        replay["data"]["api_key"]["id"],
        first["data"]["api_key"]["id"]
    );
    let replay_text = replay.to_string();
    assert!(
        !replay_text.contains(&key),
        "the secret is shown once only: {replay_text}"
    );

    // Nowhere in the database either.
    let db = lastmile_core::db::Db::connect(&app.database.url)
        .await
        .unwrap();
    let stored: Vec<Vec<u8>> = lastmile_core::on_db!(&db, pool => sqlx::query_scalar("SELECT response FROM idempotency_records")
        .fetch_all(pool).await).unwrap();
    assert!(!stored.is_empty());
    assert!(
        stored
            .iter()
            .all(|bytes| !String::from_utf8_lossy(bytes).contains(&key))
    );
    db.close().await;
    app.stop().await;
}
