//! Clients written for earlier ISP systems work unchanged: the unversioned login and
//! refresh paths, and customers as "clients" (a UUID each, a company name, a generated
//! password when none is sent, the item itself under `data`). Roles travel as enums over
//! gRPC while REST keeps its lowercase names.

use lastmile_proto::v1::identity_service_client::IdentityServiceClient;
use lastmile_proto::v1::{CreateUserRequest, Role};
use lastmile_tests::{StatusCode, TestApp, engine_tests, json, send, with_key};

engine_tests!(
    the_unversioned_login_and_refresh_paths_answer_as_v1,
    clients_are_customers_with_a_uuid_a_company_and_their_own_envelope,
    a_client_created_without_a_password_gets_one_a_customer_does_not,
    roles_are_enums_over_grpc_and_names_over_rest,
);

const PASSWORD: &str = "Str0ng!pass";

async fn the_unversioned_login_and_refresh_paths_answer_as_v1(app: TestApp) {
    let user = json!({"name": "Old Client", "email": "old@isp.example", "password": PASSWORD,
        "role": "support"});
    let (status, body) = app.post("/api/v1/users", &user).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let login = json!({"email": "old@isp.example", "password": PASSWORD});
    let (status, body) = send(app.http.post(app.url("/api/auth/login")).json(&login)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["token_type"], json!("bearer"));
    let refresh = body["data"]["refresh_token"].as_str().unwrap().to_owned();
    let access = body["data"]["access_token"].as_str().unwrap().to_owned();
    let (status, _) = send(
        app.http
            .get(app.url("/api/v1/customers"))
            .bearer_auth(&access),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = send(
        app.http
            .post(app.url("/api/auth/refresh"))
            .json(&json!({"refresh_token": refresh})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_ne!(body["data"]["refresh_token"], json!(refresh));

    let wrong = json!({"email": "old@isp.example", "password": "Wr0ng!pass"});
    let (status, body) = send(app.http.post(app.url("/api/auth/login")).json(&wrong)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["message"], json!("Invalid credentials"));

    // Both are in the document, each with an operation id of its own.
    let (_, doc) = app.get("/api/v1/openapi.json").await;
    let id = |path: &str| doc["paths"][path]["post"]["operationId"].clone();
    assert!(id("/api/auth/login").is_string());
    assert_ne!(id("/api/auth/login"), id("/api/v1/auth/login"));
    assert_ne!(id("/api/auth/refresh"), id("/api/v1/auth/refresh"));
    app.stop().await;
}

async fn clients_are_customers_with_a_uuid_a_company_and_their_own_envelope(app: TestApp) {
    let body = json!({"first_name": "Acme", "last_name": "Networks", "phone": "+254711000123",
        "company_name": "Acme Networks Ltd", "email": "noc@acme.example"});
    let (status, created) = app.post("/api/v1/clients", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["success"], json!(true));
    assert_eq!(created["message"], json!("Client created"));
    let id = created["data"]["id"].as_i64().expect("data.id");
    let uuid = created["data"]["uuid"]
        .as_str()
        .expect("data.uuid")
        .to_owned();
    assert_eq!(uuid.len(), 36, "{uuid}");
    assert_eq!(&uuid[14..15], "4", "a random (version 4) UUID: {uuid}");

    // The same customer by id or UUID, at either path, in either envelope.
    for path in [
        format!("/api/v1/clients/{id}"),
        format!("/api/v1/clients/{uuid}"),
    ] {
        let (status, got) = app.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {got}");
        assert_eq!(got["data"]["id"], json!(id));
        assert_eq!(got["data"]["uuid"], json!(uuid));
    }
    let upper = uuid.to_uppercase();
    let (status, got) = app.get(&format!("/api/v1/customers/{upper}")).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["data"]["customer"]["id"], json!(id));
    assert_eq!(
        got["data"]["customer"]["company_name"],
        json!("Acme Networks Ltd")
    );

    // Unknown UUIDs and malformed ones are 404s.
    let (status, _) = app
        .get("/api/v1/clients/6f9619ff-8b86-4d01-b42d-00cf4fc964ff")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get("/api/v1/clients/not-a-uuid").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A list has the items themselves under data, with meta.
    let (status, list) = app.get("/api/v1/clients?per_page=10").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["data"][0]["uuid"], json!(uuid));
    assert_eq!(list["meta"]["total"], json!(1));

    // The company name is changed and cleared like any nullable field.
    let (status, got) = app
        .patch(
            &format!("/api/v1/customers/{id}"),
            &json!({"company_name": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["data"]["customer"]["company_name"], json!(null));
    let long = "x".repeat(256);
    let (status, got) = app
        .patch(
            &format!("/api/v1/clients/{id}"),
            &json!({"company_name": long}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{got}");
    assert_eq!(
        got["errors"]["company_name"],
        json!(["The company name may not be greater than 255 characters."])
    );
    app.stop().await;
}

async fn a_client_created_without_a_password_gets_one_a_customer_does_not(app: TestApp) {
    let body = json!({"first_name": "Walk-in", "phone": "+254711000124"});
    let (status, answer) = app.post("/api/v1/customers", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(
        answer["errors"]["password"],
        json!(["The password field is required."])
    );

    let (status, answer) = app.post("/api/v1/clients", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert!(
        answer["data"].get("password").is_none(),
        "never shown: {answer}"
    );
    // A password that is given is still held to the policy.
    let weak = json!({"first_name": "Walk-in", "phone": "+254711000125", "password": "weak"});
    let (status, answer) = app.post("/api/v1/clients", &weak).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer["errors"]["password"].is_array(), "{answer}");
    app.stop().await;
}

async fn roles_are_enums_over_grpc_and_names_over_rest(app: TestApp) {
    let mut identity = IdentityServiceClient::new(app.grpc_channel().await);
    let request = CreateUserRequest {
        name: "Tech Person".into(),
        email: "tech@isp.example".into(),
        password: PASSWORD.into(),
        role: Role::Technician.into(),
        partner_id: None,
        active: None,
    };
    let user = identity
        .create_user(with_key(request, &app.admin_key))
        .await
        .expect("create over gRPC")
        .into_inner()
        .user
        .unwrap();
    assert_eq!(user.role(), Role::Technician);

    let (status, got) = app.get(&format!("/api/v1/users/{}", user.id)).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["data"]["user"]["role"], json!("technician"));

    // A number that is no role, and a name that is none, are the same field error.
    let unknown = CreateUserRequest {
        name: "Nobody".into(),
        email: "nobody@isp.example".into(),
        password: PASSWORD.into(),
        role: 99,
        partner_id: None,
        active: None,
    };
    let status = identity
        .create_user(with_key(unknown, &app.admin_key))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let body = json!({"name": "Nobody", "email": "nobody@isp.example", "password": PASSWORD,
        "role": "superuser"});
    let (status, answer) = app.post("/api/v1/users", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(
        answer["errors"]["role"],
        json!(["The selected role is invalid."])
    );
    app.stop().await;
}
