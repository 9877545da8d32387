//! The JSON envelope of every answer, and the one place where a `tonic::Status` from the
//! core becomes an HTTP status and an error body.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lastmile_proto::{ERROR_DETAIL_KEY, ERROR_DOMAIN};
use serde::Serialize;
use serde::ser::SerializeMap;
use tonic_types::StatusExt;
use utoipa::ToSchema;

pub(crate) use lastmile_proto::ErrorCode;

/// The HTTP side of the contract's error codes (the codes themselves are spelled once, in
/// `lastmile_proto::ErrorCode`).
pub(crate) trait ErrorCodeHttp {
    /// The HTTP status that carries this code.
    fn status(self) -> StatusCode;
    /// The message used when the status itself offers none fit for a client.
    fn default_message(self) -> &'static str;
}

impl ErrorCodeHttp for ErrorCode {
    fn status(self) -> StatusCode {
        StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn default_message(self) -> &'static str {
        match self {
            Self::BadRequest => "Bad request",
            Self::Unauthenticated => "Invalid API key",
            Self::Forbidden => "Forbidden",
            Self::NotFound => "Not found",
            Self::Conflict => "Conflict",
            Self::ValidationError => "Validation failed",
            Self::RateLimited => "Too many requests",
            Self::IdempotencyConflict => "Idempotency conflict",
            Self::Internal => "Internal server error",
            Self::Unavailable => "Service unavailable",
        }
    }
}

/// Per-field messages in the order they were reported: field order of first appearance,
/// and every message of a field in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FieldErrors(Vec<(String, Vec<String>)>);

impl FieldErrors {
    /// Adds one message to a field.
    pub(crate) fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        let field = field.into();
        match self.0.iter_mut().find(|(f, _)| *f == field) {
            Some((_, messages)) => messages.push(message.into()),
            None => self.0.push((field, vec![message.into()])),
        }
    }

    /// Adds `other`'s failures after dropping this list's failures of the same fields
    /// (or of their parts, `billing_address.city` under `billing_address`).
    pub(crate) fn merge_shadowing(&mut self, other: FieldErrors) {
        self.0.retain(|(field, _)| {
            !other.0.iter().any(|(shadow, _)| {
                field == shadow
                    || field
                        .strip_prefix(shadow.as_str())
                        .is_some_and(|rest| rest.starts_with('.'))
            })
        });
        for (field, messages) in other.0 {
            for message in messages {
                self.add(field.clone(), message);
            }
        }
    }

    /// Whether `field` already failed.
    pub(crate) fn has(&self, field: &str) -> bool {
        self.0.iter().any(|(f, _)| f == field)
    }

    /// Whether no field failed.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The messages of one field.
    #[cfg(test)]
    pub(crate) fn get(&self, field: &str) -> Option<&[String]> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_slice())
    }

    /// The failing fields, in order.
    #[cfg(test)]
    pub(crate) fn fields(&self) -> Vec<&str> {
        self.0.iter().map(|(f, _)| f.as_str()).collect()
    }
}

impl Serialize for FieldErrors {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (field, messages) in &self.0 {
            map.serialize_entry(field, messages)?;
        }
        map.end()
    }
}

/// The body of every error answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"success": false, "message": "Invalid API key",
    "error": "The provided API key is invalid or does not exist.", "code": "UNAUTHENTICATED"}))]
pub(crate) struct ErrorBody {
    /// Always false.
    pub success: bool,
    /// A short, stable description of what went wrong.
    pub message: String,
    /// One of BAD_REQUEST, UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, CONFLICT, VALIDATION_ERROR,
    /// RATE_LIMITED, IDEMPOTENCY_CONFLICT, INTERNAL, UNAVAILABLE.
    pub code: &'static str,
    /// A longer explanation, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// On 422 validation errors: every failing field with every message.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<std::collections::HashMap<String, Vec<String>>>)]
    pub errors: Option<FieldErrors>,
}

/// An error answer: HTTP status plus envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
    /// `Retry-After`, in seconds: on every 503 (the core's `RetryInfo`, else one second).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a code, its status, a message and an optional detail.
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>, detail: Option<String>) -> Self {
        let status = code.status();
        Self {
            retry_after: (status == StatusCode::SERVICE_UNAVAILABLE).then_some(1),
            status,
            body: ErrorBody {
                success: false,
                message: message.into(),
                code: code.as_str(),
                error: detail,
                errors: None,
            },
        }
    }

    /// A 400 with a message and a detail.
    pub(crate) fn bad_request(message: &str, detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message, Some(detail.into()))
    }

    /// A 404 with the given message.
    pub(crate) fn not_found(message: &str) -> Self {
        Self::new(ErrorCode::NotFound, message, None)
    }

    /// A 422 listing every failing field.
    pub(crate) fn validation(errors: FieldErrors) -> Self {
        let mut error = Self::new(ErrorCode::ValidationError, "Validation failed", None);
        error.body.errors = Some(errors);
        error
    }

    /// The 401 for a request that carries no credential at all.
    pub(crate) fn missing_credential() -> Self {
        Self::new(
            ErrorCode::Unauthenticated,
            "Missing API key",
            Some("No API key was provided. Send it in the X-API-Key header.".to_owned()),
        )
    }

    /// The 401 for a credential that cannot be a valid key (e.g. not printable ASCII).
    pub(crate) fn invalid_credential() -> Self {
        Self::new(
            ErrorCode::Unauthenticated,
            "Invalid API key",
            Some("The provided API key is invalid or does not exist.".to_owned()),
        )
    }

    /// A 500 that says nothing about its cause.
    pub(crate) fn internal() -> Self {
        Self::new(ErrorCode::Internal, "Internal server error", None)
    }

    /// Maps an error answer of the core. The core's `ErrorInfo` decides the code; without
    /// one the gRPC code does, and server-side text is logged instead of returned.
    pub(crate) fn from_status(status: &tonic::Status) -> Self {
        let details = status.get_error_details();
        let info = details
            .error_info()
            .filter(|info| info.domain == ERROR_DOMAIN)
            .and_then(|info| ErrorCode::from_reason(&info.reason).map(|code| (code, info)));
        let Some((code, info)) = info else {
            return Self::from_bare_status(status);
        };
        match code {
            ErrorCode::Internal => {
                tracing::error!(grpc_code = ?status.code(), message = status.message(), "core call failed")
            }
            // Passing (a database restart, a saturated hashing pool): the client retries.
            ErrorCode::Unavailable => {
                tracing::warn!(grpc_code = ?status.code(), message = status.message(), "core unavailable")
            }
            _ => {}
        }
        let message = if status.message().is_empty() {
            code.default_message().to_owned()
        } else {
            status.message().to_owned()
        };
        let detail = info.metadata.get(ERROR_DETAIL_KEY).cloned();
        let mut error = Self::new(code, message, detail);
        if let Some(delay) = details.retry_info().and_then(|info| info.retry_delay) {
            error.retry_after = Some(delay.as_secs_f64().ceil().max(1.0) as u64);
        }
        if code == ErrorCode::ValidationError {
            let mut errors = FieldErrors::default();
            if let Some(bad_request) = details.bad_request() {
                for violation in &bad_request.field_violations {
                    errors.add(violation.field.as_str(), violation.description.as_str());
                }
            }
            error.body.errors = Some(errors);
        }
        error
    }

    fn from_bare_status(status: &tonic::Status) -> Self {
        let code = ErrorCode::from_grpc(status.code());
        let status_code = code.status();
        // Server-side and transport failures carry text meant for operators, not clients.
        let message = if status_code.is_server_error() || status.message().is_empty() {
            tracing::error!(grpc_code = ?status.code(), message = status.message(), "core call failed");
            code.default_message().to_owned()
        } else {
            status.message().to_owned()
        };
        Self::new(code, message, None)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<tonic::Status> for ApiError {
    fn from(status: tonic::Status) -> Self {
        Self::from_status(&status)
    }
}

/// A successful answer holding one resource or a plain payload under `data`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Success<T> {
    /// Always true.
    pub success: bool,
    /// What happened, e.g. "Customer created successfully".
    pub message: String,
    /// The payload.
    pub data: T,
}

impl<T: Serialize> Success<T> {
    /// Wraps a payload.
    pub(crate) fn new(message: &str, data: T) -> Self {
        Self {
            success: true,
            message: message.to_owned(),
            data,
        }
    }
}

/// Pagination facts of a list answer.
#[derive(Debug, Serialize, ToSchema, PartialEq, Eq)]
pub(crate) struct PageMetaJson {
    /// The page returned, from 1.
    pub current_page: i64,
    /// The page size applied (at most 100).
    pub per_page: i32,
    /// Items in the whole list.
    pub total: i64,
    /// The last page number; at least 1.
    pub last_page: i32,
}

impl From<lastmile_proto::v1::PageMeta> for PageMetaJson {
    fn from(meta: lastmile_proto::v1::PageMeta) -> Self {
        Self {
            current_page: i64::from(meta.current_page),
            per_page: meta.per_page,
            total: meta.total,
            last_page: meta.last_page,
        }
    }
}

#[cfg(test)]
#[path = "envelope_tests.rs"]
mod tests;
