use super::*;
use std::collections::HashMap;
use tonic::Code;
use tonic_types::ErrorDetails;

fn core_error(code: Code, reason: &str, message: &str, detail: Option<&str>) -> tonic::Status {
    let mut metadata = HashMap::new();
    if let Some(detail) = detail {
        metadata.insert(ERROR_DETAIL_KEY.to_owned(), detail.to_owned());
    }
    let details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata);
    tonic::Status::with_error_details(code, message, details)
}

fn body_json(error: &ApiError) -> serde_json::Value {
    serde_json::to_value(&error.body).unwrap()
}

#[test]
fn an_unauthenticated_core_answer_is_the_contract_401() {
    let status = core_error(
        Code::Unauthenticated,
        "UNAUTHENTICATED",
        "Invalid API key",
        Some("The provided API key is invalid or does not exist."),
    );
    let error = ApiError::from_status(&status);
    assert_eq!(error.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body_json(&error),
        serde_json::json!({"success": false, "message": "Invalid API key",
            "error": "The provided API key is invalid or does not exist.",
            "code": "UNAUTHENTICATED"})
    );
}

#[test]
fn every_error_code_of_the_core_has_its_http_status() {
    let cases = [
        ("BAD_REQUEST", 400),
        ("UNAUTHENTICATED", 401),
        ("FORBIDDEN", 403),
        ("NOT_FOUND", 404),
        ("CONFLICT", 409),
        ("VALIDATION_ERROR", 422),
        ("IDEMPOTENCY_CONFLICT", 422),
        ("RATE_LIMITED", 429),
        ("INTERNAL", 500),
        ("UNAVAILABLE", 503),
    ];
    for (reason, http) in cases {
        let error = ApiError::from_status(&core_error(Code::Unknown, reason, "m", None));
        assert_eq!(error.status.as_u16(), http, "{reason}");
        assert_eq!(error.body.code, reason);
        assert_eq!(error.body.message, "m");
        assert!(body_json(&error).get("error").is_none());
    }
}

#[test]
fn validation_errors_keep_field_and_message_order() {
    let mut details =
        ErrorDetails::with_error_info("VALIDATION_ERROR", ERROR_DOMAIN, HashMap::new());
    details
        .add_bad_request_violation("phone", "A customer with this phone number already exists.")
        .add_bad_request_violation("password", "The password must be at least 8 characters.")
        .add_bad_request_violation("email", "The email must be a valid email address.")
        .add_bad_request_violation(
            "password",
            "The password must contain at least one uppercase letter.",
        );
    let status =
        tonic::Status::with_error_details(Code::InvalidArgument, "Validation failed", details);
    let error = ApiError::from_status(&status);
    assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = serde_json::to_string(&error.body).unwrap();
    assert_eq!(
        text,
        r#"{"success":false,"message":"Validation failed","code":"VALIDATION_ERROR","errors":{"phone":["A customer with this phone number already exists."],"password":["The password must be at least 8 characters.","The password must contain at least one uppercase letter."],"email":["The email must be a valid email address."]}}"#
    );
}

#[test]
fn an_idempotency_conflict_is_a_422_without_field_errors() {
    let status = core_error(
        Code::Aborted,
        "IDEMPOTENCY_CONFLICT",
        "Idempotency conflict",
        None,
    );
    let error = ApiError::from_status(&status);
    assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error.body.errors.is_none());
}

#[test]
fn an_unknown_reason_falls_back_to_the_grpc_code() {
    let status = core_error(Code::NotFound, "SOMETHING_NEW", "Customer not found", None);
    let error = ApiError::from_status(&status);
    assert_eq!(error.status, StatusCode::NOT_FOUND);
    assert_eq!(error.body.code, "NOT_FOUND");
    assert_eq!(error.body.message, "Customer not found");
}

#[test]
fn an_error_info_of_another_domain_is_not_trusted() {
    let details = ErrorDetails::with_error_info("NOT_FOUND", "example.com", HashMap::new());
    let status = tonic::Status::with_error_details(Code::Internal, "db exploded", details);
    let error = ApiError::from_status(&status);
    assert_eq!(error.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(error.body.message, "Internal server error");
}

#[test]
fn bare_grpc_codes_map_to_http_statuses() {
    let cases = [
        (Code::InvalidArgument, 400, "BAD_REQUEST"),
        (Code::Unauthenticated, 401, "UNAUTHENTICATED"),
        (Code::PermissionDenied, 403, "FORBIDDEN"),
        (Code::NotFound, 404, "NOT_FOUND"),
        (Code::AlreadyExists, 409, "CONFLICT"),
        (Code::FailedPrecondition, 409, "CONFLICT"),
        (Code::Aborted, 409, "CONFLICT"),
        (Code::ResourceExhausted, 429, "RATE_LIMITED"),
        (Code::Unavailable, 503, "UNAVAILABLE"),
        (Code::DeadlineExceeded, 503, "UNAVAILABLE"),
        (Code::Internal, 500, "INTERNAL"),
        (Code::Unknown, 500, "INTERNAL"),
        (Code::Unimplemented, 500, "INTERNAL"),
        (Code::DataLoss, 500, "INTERNAL"),
    ];
    for (code, http, envelope_code) in cases {
        let error = ApiError::from_status(&tonic::Status::new(code, "x"));
        assert_eq!(error.status.as_u16(), http, "{code:?}");
        assert_eq!(error.body.code, envelope_code, "{code:?}");
    }
}

#[test]
fn internal_text_of_a_transport_failure_never_reaches_the_client() {
    let error = ApiError::from_status(&tonic::Status::unavailable(
        "tcp connect error: Connection refused (os error 111)",
    ));
    assert_eq!(error.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body_json(&error),
        serde_json::json!({"success": false, "message": "Service unavailable", "code": "UNAVAILABLE"})
    );
    let error = ApiError::from_status(&tonic::Status::internal("panicked at src/db.rs:12"));
    assert_eq!(error.body.message, "Internal server error");
    assert!(error.body.error.is_none());
}

#[test]
fn the_missing_credential_401_tells_where_to_send_the_key() {
    assert_eq!(
        body_json(&ApiError::missing_credential()),
        serde_json::json!({"success": false, "message": "Missing API key",
            "error": "No API key was provided. Send it in the X-API-Key header.",
            "code": "UNAUTHENTICATED"})
    );
}
