//! The gRPC core as a client sees it: reflection (v1 and v1alpha), authentication from
//! metadata, the customer life cycle, standard error details, and health that follows the
//! database.

use std::time::Duration;

use chrono::Utc;
use lastmile_core::identity::{NewApiKey, Role, Tier};
use lastmile_proto::v1::customer_service_client::CustomerServiceClient;
use lastmile_proto::v1::identity_service_client::IdentityServiceClient;
use lastmile_proto::v1::{
    Address, CreateCustomerRequest, Customer, CustomerAction, CustomerInput, CustomerRef,
    CustomerStatus, DeleteCustomerRequest, GetCurrentPrincipalRequest, GetCustomerRequest,
    GetSecuritySettingsRequest, ListCustomersRequest, PageRequest, PerformCustomerActionRequest,
    RateLimitTier, UpdateCustomerRequest, customer_ref,
};
use lastmile_tests::{StatusCode, TestApp, engine_tests, json, send, with_key};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

engine_tests!(
    reflection_v1_lists_the_services,
    reflection_v1alpha_lists_the_services,
    reflection_describes_the_customer_service,
    a_call_without_a_credential_is_unauthenticated_missing_api_key,
    a_call_with_an_unknown_or_malformed_key_is_unauthenticated_invalid_api_key,
    a_call_with_an_expired_key_is_unauthenticated_api_key_has_expired,
    get_security_settings_needs_no_credential,
    the_current_principal_is_the_caller,
    the_customer_life_cycle_with_an_x_api_key_entry,
    the_customer_life_cycle_with_an_authorization_bearer_entry,
    validation_errors_are_invalid_argument_with_field_violations,
    an_update_mask_naming_an_unknown_field_is_invalid_argument,
    an_unknown_customer_is_not_found_with_error_info,
    an_impossible_action_is_refused_with_error_info_conflict,
    health_reports_serving_for_the_server_and_the_customer_service,
    health_turns_not_serving_when_the_database_goes_away,
);

/// How a call carries its credential.
#[derive(Clone, Copy, Debug)]
enum Auth {
    ApiKey,
    Bearer,
}

fn authed<T>(message: T, key: &str, auth: Auth) -> tonic::Request<T> {
    match auth {
        Auth::ApiKey => with_key(message, key),
        Auth::Bearer => {
            let mut request = tonic::Request::new(message);
            request.metadata_mut().insert(
                "authorization",
                format!("Bearer {key}").parse().expect("ASCII key"),
            );
            request
        }
    }
}

async fn customers(app: &TestApp) -> CustomerServiceClient<Channel> {
    CustomerServiceClient::new(app.grpc_channel().await)
}

fn input(first_name: &str, phone: &str) -> CustomerInput {
    CustomerInput {
        first_name: first_name.into(),
        last_name: Some("Tester".into()),
        password: "Str0ng!pass".into(),
        phone: phone.into(),
        ..Default::default()
    }
}

fn by_id(id: i64) -> Option<CustomerRef> {
    Some(CustomerRef {
        key: Some(customer_ref::Key::Id(id)),
    })
}

fn by_portal_id(portal_id: &str) -> Option<CustomerRef> {
    Some(CustomerRef {
        key: Some(customer_ref::Key::PortalId(portal_id.into())),
    })
}

fn by_reference(reference: &str) -> Option<CustomerRef> {
    Some(CustomerRef {
        key: Some(customer_ref::Key::Reference(reference.into())),
    })
}

/// Asserts an error status with the code, message and `ErrorInfo` reason of the contract.
fn assert_status(status: &tonic::Status, code: Code, reason: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    let info = status.get_error_details().error_info().cloned();
    let info = info.unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    assert_eq!(info.reason, reason, "{status:?}");
    assert_eq!(info.domain, "lastmile.v1", "{status:?}");
}

fn assert_unauthenticated(status: &tonic::Status, message: &str) {
    assert_status(status, Code::Unauthenticated, "UNAUTHENTICATED");
    assert_eq!(status.message(), message, "{status:?}");
}

// ---- reflection ----

async fn reflection_v1_lists_the_services(app: TestApp) {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let mut client = ServerReflectionClient::new(app.grpc_channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = client
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .expect("reflection v1")
        .into_inner();
    let response = stream
        .message()
        .await
        .expect("reflection answer")
        .expect("one answer");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("not a service list: {response:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "lastmile.v1.CustomerService",
        "lastmile.v1.IdentityService",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    app.stop().await;
}

async fn reflection_v1alpha_lists_the_services(app: TestApp) {
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;

    let mut client = ServerReflectionClient::new(app.grpc_channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = client
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .expect("reflection v1alpha")
        .into_inner();
    let response = stream
        .message()
        .await
        .expect("reflection answer")
        .expect("one answer");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("not a service list: {response:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "lastmile.v1.CustomerService",
        "lastmile.v1.IdentityService",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    app.stop().await;
}

async fn reflection_describes_the_customer_service(app: TestApp) {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let mut client = ServerReflectionClient::new(app.grpc_channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(
            "lastmile.v1.CustomerService".into(),
        )),
    };
    let mut stream = client
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .expect("reflection")
        .into_inner();
    let response = stream
        .message()
        .await
        .expect("reflection answer")
        .expect("one answer");
    let Some(MessageResponse::FileDescriptorResponse(files)) = response.message_response else {
        panic!("not a file descriptor answer: {response:?}");
    };
    let has = |needle: &[u8]| {
        files
            .file_descriptor_proto
            .iter()
            .any(|f| f.windows(needle.len()).any(|w| w == needle))
    };
    assert!(
        has(b"lastmile/v1/customer.proto"),
        "the customer file is served"
    );
    assert!(has(b"CreateCustomer"), "its methods are described");
    app.stop().await;
}

// ---- authentication ----

async fn a_call_without_a_credential_is_unauthenticated_missing_api_key(app: TestApp) {
    let mut client = customers(&app).await;
    let status = client
        .list_customers(ListCustomersRequest::default())
        .await
        .expect_err("no credential");
    assert_unauthenticated(&status, "Missing API key");
    let status = client
        .create_customer(CreateCustomerRequest {
            validate_only: false,
            generate_password: false,
            customer: Some(input("Amina", "+254712345678")),
        })
        .await
        .expect_err("no credential");
    assert_unauthenticated(&status, "Missing API key");
    let mut identity = IdentityServiceClient::new(app.grpc_channel().await);
    let status = identity
        .get_current_principal(GetCurrentPrincipalRequest {})
        .await
        .expect_err("no credential");
    assert_unauthenticated(&status, "Missing API key");
    // Nothing was created.
    let list = client
        .list_customers(with_key(ListCustomersRequest::default(), &app.admin_key))
        .await
        .unwrap();
    assert_eq!(list.into_inner().meta.unwrap().total, 0);
    app.stop().await;
}

async fn a_call_with_an_unknown_or_malformed_key_is_unauthenticated_invalid_api_key(app: TestApp) {
    let mut client = customers(&app).await;
    for key in [
        "lm_Zz9Yy8Xx_0123456789abcdefghijABCDEFGHIJ",
        "short",
        "lm_with spaces_in_the_key_value",
    ] {
        for auth in [Auth::ApiKey, Auth::Bearer] {
            let status = client
                .list_customers(authed(ListCustomersRequest::default(), key, auth))
                .await
                .expect_err("a bad key");
            assert_unauthenticated(&status, "Invalid API key");
            let info = status.get_error_details().error_info().cloned().unwrap();
            assert_eq!(
                info.metadata.get("detail").map(String::as_str),
                Some("The provided API key is invalid or does not exist."),
                "{key} via {auth:?}"
            );
        }
    }
    app.stop().await;
}

async fn a_call_with_an_expired_key_is_unauthenticated_api_key_has_expired(app: TestApp) {
    let new = NewApiKey {
        name: "expired".into(),
        description: None,
        role: Role::Admin,
        tier: Tier::Standard,
        expires_at: Some(Utc::now() - chrono::Duration::minutes(5)),
        partner_id: None,
    };
    let (_, key) = app
        .core()
        .api_keys
        .create(new)
        .await
        .expect("create API key");
    let mut client = customers(&app).await;
    for auth in [Auth::ApiKey, Auth::Bearer] {
        let status = client
            .list_customers(authed(ListCustomersRequest::default(), &key, auth))
            .await
            .expect_err("expired");
        assert_unauthenticated(&status, "API key has expired");
    }
    app.stop().await;
}

async fn get_security_settings_needs_no_credential(app: TestApp) {
    let mut client = customers(&app).await;
    let response = client
        .get_security_settings(GetSecuritySettingsRequest {})
        .await
        .expect("public RPC")
        .into_inner();
    let policy = response.password_policy.expect("password policy");
    assert_eq!(policy.min_length, 8);
    assert!(policy.max_length >= policy.min_length, "{policy:?}");
    assert!(
        policy.require_uppercase
            && policy.require_lowercase
            && policy.require_number
            && policy.require_special,
        "{policy:?}"
    );
    app.stop().await;
}

async fn the_current_principal_is_the_caller(app: TestApp) {
    let new = NewApiKey {
        name: "big".into(),
        description: None,
        role: Role::Admin,
        tier: Tier::Enterprise,
        expires_at: None,
        partner_id: None,
    };
    let (id, key) = app
        .core()
        .api_keys
        .create(new)
        .await
        .expect("create API key");
    let mut identity = IdentityServiceClient::new(app.grpc_channel().await);
    for auth in [Auth::ApiKey, Auth::Bearer] {
        let principal = identity
            .get_current_principal(authed(GetCurrentPrincipalRequest {}, &key, auth))
            .await
            .expect("principal");
        let principal = principal.into_inner().principal.expect("a principal");
        assert_eq!(principal.api_key_id, id);
        assert_eq!(principal.name, "big");
        assert_eq!(principal.tier(), RateLimitTier::Enterprise);
    }
    app.stop().await;
}

// ---- customers ----

async fn customer_life_cycle(app: TestApp, auth: Auth) {
    let key = app.admin_key.clone();
    let mut client = customers(&app).await;

    // Create.
    let mut new = input("Amina", "+254712345678");
    new.email = Some("Amina@Example.com".into());
    new.address = Some(Address {
        street: "1 Moi Avenue".into(),
        city: "Mombasa".into(),
        ..Default::default()
    });
    let created = client
        .create_customer(authed(
            CreateCustomerRequest {
                validate_only: false,
                generate_password: false,
                customer: Some(new),
            },
            &key,
            auth,
        ))
        .await
        .expect("create")
        .into_inner()
        .customer
        .expect("the created customer");
    assert!(created.id > 0);
    assert_eq!(created.portal_id.len(), 8, "{created:?}");
    assert!(
        created.portal_id.bytes().all(|b| b.is_ascii_digit()),
        "{created:?}"
    );
    assert_eq!(created.first_name, "Amina");
    assert_eq!(created.full_name, "Amina Tester");
    assert_eq!(created.email.as_deref(), Some("amina@example.com"));
    assert_eq!(created.phone, "+254712345678");
    assert_eq!(created.status(), CustomerStatus::Active);
    assert_eq!(
        created.address.as_ref().map(|a| a.city.as_str()),
        Some("Mombasa")
    );
    assert!(created.created_at.is_some() && created.updated_at.is_some());

    // Get by id, by portal id, and by a reference of either kind.
    let get = |client: &mut CustomerServiceClient<Channel>, customer: Option<CustomerRef>| {
        let request = authed(GetCustomerRequest { customer }, &key, auth);
        let mut client = client.clone();
        async move {
            client
                .get_customer(request)
                .await
                .map(|r| r.into_inner().customer.expect("customer"))
        }
    };
    for reference in [
        by_id(created.id),
        by_portal_id(&created.portal_id),
        by_reference(&created.portal_id),
        by_reference(&created.id.to_string()),
    ] {
        let found = get(&mut client, reference.clone())
            .await
            .unwrap_or_else(|s| panic!("{reference:?}: {s:?}"));
        assert_eq!(found, created, "{reference:?}");
    }

    // List.
    let other = client
        .create_customer(authed(
            CreateCustomerRequest {
                validate_only: false,
                generate_password: false,
                customer: Some(input("Baraka", "+254722000111")),
            },
            &key,
            auth,
        ))
        .await
        .expect("create another")
        .into_inner()
        .customer
        .unwrap();
    let list = client
        .list_customers(authed(ListCustomersRequest::default(), &key, auth))
        .await
        .expect("list")
        .into_inner();
    let meta = list.meta.expect("meta");
    assert_eq!(
        (meta.total, meta.current_page, meta.last_page),
        (2, 1, 1),
        "{meta:?}"
    );
    let mut ids: Vec<i64> = list.customers.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, [created.id.min(other.id), created.id.max(other.id)]);
    let searched = client
        .list_customers(authed(
            ListCustomersRequest {
                search: "baraka".into(),
                page: Some(PageRequest {
                    page: 1,
                    per_page: 10,
                }),
                ..Default::default()
            },
            &key,
            auth,
        ))
        .await
        .expect("search")
        .into_inner();
    assert_eq!(
        searched.customers.iter().map(|c| c.id).collect::<Vec<_>>(),
        [other.id]
    );

    // Update: only the masked fields change, whatever else the message holds.
    let changes = CustomerInput {
        first_name: "Changed".into(),
        last_name: Some("Changed".into()),
        email: Some("amina.new@example.com".into()),
        phone: "+254799999999".into(),
        address: Some(Address {
            street: "Elsewhere".into(),
            city: "Nairobi".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let update = UpdateCustomerRequest {
        validate_only: false,
        customer: by_id(created.id),
        changes: Some(changes),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["email".into(), "address.city".into()],
        }),
    };
    let updated = client
        .update_customer(authed(update, &key, auth))
        .await
        .expect("update")
        .into_inner()
        .customer
        .expect("the updated customer");
    assert_eq!(updated.email.as_deref(), Some("amina.new@example.com"));
    let address = updated.address.clone().expect("address");
    assert_eq!(address.city, "Nairobi");
    assert_eq!(
        address.street, "1 Moi Avenue",
        "the street was not in the mask"
    );
    assert_eq!(updated.first_name, "Amina");
    assert_eq!(updated.last_name.as_deref(), Some("Tester"));
    assert_eq!(updated.phone, "+254712345678");
    assert_eq!(updated.portal_id, created.portal_id);
    assert_eq!(updated.created_at, created.created_at);
    let fetched = get(&mut client, by_id(created.id))
        .await
        .expect("get after update");
    assert_eq!(fetched, updated, "the change is stored");

    // A masked field with an empty value is cleared.
    let clear = UpdateCustomerRequest {
        validate_only: false,
        customer: by_portal_id(&created.portal_id),
        changes: Some(CustomerInput::default()),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["email".into()],
        }),
    };
    let cleared = client
        .update_customer(authed(clear, &key, auth))
        .await
        .expect("clear")
        .into_inner()
        .customer
        .unwrap();
    assert_eq!(cleared.email, None);
    assert_eq!(cleared.first_name, "Amina");

    // Action.
    let action = PerformCustomerActionRequest {
        customer: by_id(created.id),
        action: CustomerAction::Suspend.into(),
        reason: "Unpaid invoice".into(),
    };
    let suspended = client
        .perform_customer_action(authed(action, &key, auth))
        .await
        .expect("suspend")
        .into_inner()
        .customer
        .unwrap();
    assert_eq!(suspended.status(), CustomerStatus::Suspended);
    assert_eq!(suspended.status_reason.as_deref(), Some("Unpaid invoice"));
    let fetched = get(&mut client, by_id(created.id))
        .await
        .expect("get after suspend");
    assert_eq!(fetched.status(), CustomerStatus::Suspended);

    // Delete, then the customer is gone from lookups and lists.
    client
        .delete_customer(authed(
            DeleteCustomerRequest {
                customer: by_id(created.id),
            },
            &key,
            auth,
        ))
        .await
        .expect("delete");
    for reference in [by_id(created.id), by_portal_id(&created.portal_id)] {
        let status = get(&mut client, reference).await.expect_err("deleted");
        assert_status(&status, Code::NotFound, "NOT_FOUND");
    }
    let status = client
        .delete_customer(authed(
            DeleteCustomerRequest {
                customer: by_id(created.id),
            },
            &key,
            auth,
        ))
        .await
        .expect_err("deleted twice");
    assert_status(&status, Code::NotFound, "NOT_FOUND");
    let list = client
        .list_customers(authed(ListCustomersRequest::default(), &key, auth))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(list.meta.unwrap().total, 1);
    assert_eq!(
        list.customers.iter().map(|c| c.id).collect::<Vec<_>>(),
        [other.id]
    );

    // The REST edge shows the same state.
    let (status, body) = app.get(&format!("/api/v1/customers/{}", created.id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], json!("NOT_FOUND"), "{body}");
    app.stop().await;
}

async fn the_customer_life_cycle_with_an_x_api_key_entry(app: TestApp) {
    customer_life_cycle(app, Auth::ApiKey).await;
}

async fn the_customer_life_cycle_with_an_authorization_bearer_entry(app: TestApp) {
    customer_life_cycle(app, Auth::Bearer).await;
}

async fn validation_errors_are_invalid_argument_with_field_violations(app: TestApp) {
    let mut client = customers(&app).await;
    let bad = CustomerInput {
        first_name: "Al".into(),
        email: Some("not-an-email".into()),
        password: "abc".into(),
        phone: String::new(),
        ..Default::default()
    };
    let status = client
        .create_customer(with_key(
            CreateCustomerRequest {
                validate_only: false,
                generate_password: false,
                customer: Some(bad),
            },
            &app.admin_key,
        ))
        .await
        .expect_err("invalid input");
    assert_status(&status, Code::InvalidArgument, "VALIDATION_ERROR");
    assert_eq!(status.message(), "Validation failed");
    let details = status.get_error_details();
    let violations = &details
        .bad_request()
        .expect("BadRequest detail")
        .field_violations;
    let mut got: Vec<(&str, &str)> = violations
        .iter()
        .map(|v| (v.field.as_str(), v.description.as_str()))
        .collect();
    got.sort_unstable();
    let mut expected = vec![
        ("email", "The email must be a valid email address."),
        (
            "first_name",
            "The first name must be at least 3 characters.",
        ),
        ("password", "The password must be at least 8 characters."),
        ("password", "The password must contain at least one number."),
        (
            "password",
            "The password must contain at least one special character.",
        ),
        (
            "password",
            "The password must contain at least one uppercase letter.",
        ),
        ("phone", "The phone field is required."),
    ];
    expected.sort_unstable();
    assert_eq!(got, expected, "every failing field with every message");

    // A taken phone is a field violation too.
    client
        .create_customer(with_key(
            CreateCustomerRequest {
                validate_only: false,
                generate_password: false,
                customer: Some(input("Amina", "+254712345678")),
            },
            &app.admin_key,
        ))
        .await
        .expect("create");
    let status = client
        .create_customer(with_key(
            CreateCustomerRequest {
                validate_only: false,
                generate_password: false,
                customer: Some(input("Baraka", "+254712345678")),
            },
            &app.admin_key,
        ))
        .await
        .expect_err("phone taken");
    assert_status(&status, Code::InvalidArgument, "VALIDATION_ERROR");
    let details = status.get_error_details();
    let violations = &details
        .bad_request()
        .expect("BadRequest detail")
        .field_violations;
    let got: Vec<(&str, &str)> = violations
        .iter()
        .map(|v| (v.field.as_str(), v.description.as_str()))
        .collect();
    assert_eq!(
        got,
        [("phone", "A customer with this phone number already exists.")]
    );
    app.stop().await;
}

async fn an_update_mask_naming_an_unknown_field_is_invalid_argument(app: TestApp) {
    let customer = app.create_customer("Amina", "+254712345678").await;
    let id = customer["id"].as_i64().unwrap();
    let mut client = customers(&app).await;
    let update = UpdateCustomerRequest {
        validate_only: false,
        customer: by_id(id),
        changes: Some(CustomerInput::default()),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["status".into()],
        }),
    };
    let status = client
        .update_customer(with_key(update, &app.admin_key))
        .await
        .expect_err("status is not writable");
    assert_status(&status, Code::InvalidArgument, "VALIDATION_ERROR");
    let details = status.get_error_details();
    let violations = &details
        .bad_request()
        .expect("BadRequest detail")
        .field_violations;
    assert!(
        violations.iter().any(|v| v.field == "update_mask"),
        "{violations:?}"
    );
    let (_, body) = app.get(&format!("/api/v1/customers/{id}")).await;
    assert_eq!(
        body["data"]["customer"]["status"],
        json!("active"),
        "{body}"
    );
    app.stop().await;
}

async fn an_unknown_customer_is_not_found_with_error_info(app: TestApp) {
    let mut client = customers(&app).await;
    for reference in [
        by_id(987_654),
        by_portal_id("99999999"),
        by_reference("12345"),
    ] {
        let status = client
            .get_customer(with_key(
                GetCustomerRequest {
                    customer: reference.clone(),
                },
                &app.admin_key,
            ))
            .await
            .expect_err("no such customer");
        assert_status(&status, Code::NotFound, "NOT_FOUND");
    }
    app.stop().await;
}

async fn an_impossible_action_is_refused_with_error_info_conflict(app: TestApp) {
    let mut client = customers(&app).await;
    let created: Customer = client
        .create_customer(with_key(
            CreateCustomerRequest {
                validate_only: false,
                generate_password: false,
                customer: Some(input("Amina", "+254712345678")),
            },
            &app.admin_key,
        ))
        .await
        .expect("create")
        .into_inner()
        .customer
        .unwrap();
    let activate = PerformCustomerActionRequest {
        customer: by_id(created.id),
        action: CustomerAction::Activate.into(),
        reason: String::new(),
    };
    let status = client
        .perform_customer_action(with_key(activate, &app.admin_key))
        .await
        .expect_err("already active");
    let info = status
        .get_error_details()
        .error_info()
        .cloned()
        .expect("ErrorInfo");
    assert_eq!(info.reason, "CONFLICT", "{status:?}");
    assert_ne!(status.code(), Code::Ok);
    app.stop().await;
}

// ---- health ----

async fn check(
    health: &mut HealthClient<Channel>,
    service: &str,
) -> Result<ServingStatus, tonic::Status> {
    let response = health
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await?;
    Ok(response.into_inner().status())
}

async fn health_reports_serving_for_the_server_and_the_customer_service(app: TestApp) {
    let mut health = HealthClient::new(app.grpc_channel().await);
    for service in ["", "lastmile.v1.CustomerService"] {
        assert_eq!(
            check(&mut health, service).await.expect("health check"),
            ServingStatus::Serving,
            "{service:?}"
        );
    }
    let status = check(&mut health, "no.such.Service")
        .await
        .expect_err("an unknown service");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    app.stop().await;
}

async fn health_turns_not_serving_when_the_database_goes_away(app: TestApp) {
    let mut health = HealthClient::new(app.grpc_channel().await);
    assert_eq!(
        check(&mut health, "").await.expect("health check"),
        ServingStatus::Serving
    );
    let (status, body) = send(app.http.get(app.url("/readyz"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    app.database.make_unavailable().await;

    for service in ["", "lastmile.v1.CustomerService"] {
        let mut last = None;
        for _ in 0..100 {
            let now = check(&mut health, service).await;
            if matches!(now, Ok(ServingStatus::NotServing)) {
                last = Some(ServingStatus::NotServing);
                break;
            }
            last = now.ok();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            last,
            Some(ServingStatus::NotServing),
            "{service:?} within 10 s of losing the database"
        );
    }
    let (status, body) = send(app.http.get(app.url("/readyz"))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], json!("unavailable"), "{body}");
    // Liveness is about the process, not its dependencies.
    let (status, body) = send(app.http.get(app.url("/healthz"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.stop().await;
}
