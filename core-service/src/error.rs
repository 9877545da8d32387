//! One domain error type, mapped once to `tonic::Status` with standard details: an
//! `ErrorInfo` whose reason is the contract's error code, and `BadRequest` field violations
//! for validation. Internal error text never leaves the core; it is logged instead.

use std::collections::HashMap;
use std::time::Duration;

use lastmile_proto::{ERROR_DETAIL_KEY, ERROR_DOMAIN, ErrorCode};
use tonic::Code;
use tonic_types::{ErrorDetails, StatusExt};

/// How long a client is asked to wait before retrying a passing failure.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Why a credential, a login or a session renewal was refused: every answer of the
/// contract's 401 family, with its message and its longer explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No credential in the call.
    Missing,
    /// An API key that is unknown, malformed or revoked.
    Invalid,
    /// An API key past its expiry.
    Expired,
    /// Unknown email, wrong password or inactive user: one answer for all three, so a
    /// login never tells which.
    InvalidCredentials,
    /// An access token that is malformed, badly signed, or whose user is gone or inactive.
    InvalidToken,
    /// An access token past its expiry.
    TokenExpired,
    /// A refresh token that is unknown, spent, revoked or expired.
    InvalidRefreshToken,
    /// An API client's id and secret that do not match a live client.
    InvalidClient,
}

impl AuthFailure {
    /// The contract's 401 message.
    pub fn message(self) -> &'static str {
        match self {
            AuthFailure::Missing => "Missing API key",
            AuthFailure::Invalid => "Invalid API key",
            AuthFailure::Expired => "API key has expired",
            AuthFailure::InvalidCredentials => "Invalid credentials",
            AuthFailure::InvalidToken => "Invalid access token",
            AuthFailure::TokenExpired => "Token has expired",
            AuthFailure::InvalidRefreshToken => "Invalid refresh token",
            AuthFailure::InvalidClient => "Invalid client credentials",
        }
    }

    fn detail(self) -> &'static str {
        match self {
            AuthFailure::Missing => "No API key was provided. Send it in the X-API-Key header.",
            AuthFailure::Invalid => "The provided API key is invalid or does not exist.",
            AuthFailure::Expired => "The provided API key has expired.",
            AuthFailure::InvalidCredentials => "The email or password is incorrect.",
            AuthFailure::InvalidToken => {
                "The access token is invalid or its user can no longer sign in."
            }
            AuthFailure::TokenExpired => {
                "The access token has expired. Renew it with the refresh token."
            }
            AuthFailure::InvalidRefreshToken => {
                "The refresh token is invalid, expired, revoked or already used."
            }
            AuthFailure::InvalidClient => {
                "The client id or secret is incorrect, or the client was revoked."
            }
        }
    }
}

/// Validation failures, in order, several per field possible.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    /// No failures yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `field` failed with `message`.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push((field.into(), message.into()));
    }

    /// Whether nothing failed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The failures, in the order they were found.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(f, m)| (f.as_str(), m.as_str()))
    }

    /// The messages recorded for `field`.
    pub fn messages(&self, field: &str) -> Vec<&str> {
        self.iter()
            .filter(|(f, _)| *f == field)
            .map(|(_, m)| m)
            .collect()
    }

    /// `Ok(())` when nothing failed, else the validation error.
    pub fn into_result(self) -> Result<(), Error> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self))
        }
    }
}

/// Every way a core operation can fail, as outcomes a client can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input broke field rules.
    #[error("Validation failed")]
    Validation(FieldErrors),
    /// A malformed request outside the body's fields (a bad sort key, a bad query value).
    #[error("{0}")]
    BadRequest(String),
    /// No such resource, or one the caller may not see.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The resource's state forbids the operation.
    #[error("{0}")]
    Conflict(String),
    /// The idempotency key was used before with a different request.
    #[error("Idempotency key reused with a different request")]
    IdempotencyConflict,
    /// No valid credential.
    #[error("{}", .0.message())]
    Unauthenticated(AuthFailure),
    /// A valid credential without the permission.
    #[error("Forbidden")]
    Forbidden,
    /// Too many login attempts for one email or from one address; the next is admitted
    /// after the given wait.
    #[error("Too many login attempts")]
    TooManyAttempts(Duration),
    /// The database is unreachable (down, restarting, or the connection was cut).
    #[error("Service unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Too much work of one kind is waiting (e.g. password hashing); the caller should
    /// retry shortly.
    #[error("Service unavailable")]
    Overloaded(&'static str),
    /// Anything else; details go to the log only.
    #[error("Internal server error")]
    Internal(#[source] anyhow::Error),
}

impl Error {
    /// The contract's error code for this outcome.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Validation(_) => ErrorCode::ValidationError,
            Error::BadRequest(_) => ErrorCode::BadRequest,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::IdempotencyConflict => ErrorCode::IdempotencyConflict,
            Error::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Error::Forbidden => ErrorCode::Forbidden,
            Error::TooManyAttempts(_) => ErrorCode::RateLimited,
            Error::Unavailable(_) | Error::Overloaded(_) => ErrorCode::Unavailable,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }

    fn grpc_code(&self) -> Code {
        match self {
            Error::Validation(_) | Error::BadRequest(_) => Code::InvalidArgument,
            Error::NotFound(_) => Code::NotFound,
            Error::Conflict(_) => Code::FailedPrecondition,
            Error::IdempotencyConflict => Code::AlreadyExists,
            Error::Unauthenticated(_) => Code::Unauthenticated,
            Error::Forbidden => Code::PermissionDenied,
            Error::TooManyAttempts(_) => Code::ResourceExhausted,
            Error::Unavailable(_) | Error::Overloaded(_) => Code::Unavailable,
            Error::Internal(_) => Code::Internal,
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            Error::Unauthenticated(failure) => Some(failure.detail().to_owned()),
            Error::BadRequest(message) => Some(message.clone()),
            Error::IdempotencyConflict => Some(
                "This Idempotency-Key was already used with a different request body.".to_owned(),
            ),
            Error::Forbidden => Some("You are not allowed to perform this action.".to_owned()),
            Error::TooManyAttempts(_) => {
                Some("Too many login attempts. Wait a minute before trying again.".to_owned())
            }
            Error::Overloaded(detail) => Some((*detail).to_owned()),
            Error::Unavailable(_) => {
                Some("The database is unavailable; retry in a moment.".to_owned())
            }
            _ => None,
        }
    }

    /// When a retry may succeed, for the outcomes that are passing.
    fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Unavailable(_) | Error::Overloaded(_) => Some(RETRY_AFTER),
            Error::TooManyAttempts(wait) => Some(*wait),
            _ => None,
        }
    }

    fn message(&self) -> String {
        match self {
            Error::BadRequest(_) => "Invalid request".to_owned(),
            other => other.to_string(),
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(err: Error) -> Self {
        match &err {
            Error::Internal(source) => tracing::error!(error = ?source, "internal error"),
            Error::Unavailable(source) => tracing::warn!(error = %source, "database unavailable"),
            _ => {}
        }
        let mut details = ErrorDetails::new();
        let metadata: HashMap<String, String> = err
            .detail()
            .map(|d| HashMap::from([(ERROR_DETAIL_KEY.to_owned(), d)]))
            .unwrap_or_default();
        details.set_error_info(err.code().as_str(), ERROR_DOMAIN, metadata);
        if let Some(delay) = err.retry_after() {
            details.set_retry_info(Some(delay));
        }
        if let Error::Validation(fields) = &err {
            for (field, message) in fields.iter() {
                details.add_bad_request_violation(field, message);
            }
        }
        tonic::Status::with_error_details(err.grpc_code(), err.message(), details)
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        if is_connection_failure(&err) {
            Error::Unavailable(err.into())
        } else {
            Error::Internal(err.into())
        }
    }
}

/// Whether `err` says the database (or our connection to it) is gone rather than that the
/// statement was wrong: such a failure is passing, and the caller is told to retry (503),
/// not that the server is broken (500). The transaction it happened in was rolled back.
pub fn is_connection_failure(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                postgres_unavailable(pg.code())
            } else if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                db.code().is_some_and(|code| sqlite_unavailable(&code))
            } else {
                false
            }
        }
        _ => false,
    }
}

/// SQLSTATE class 08 (connection exception), 57P01 admin shutdown, 57P02 crash shutdown,
/// 57P03 cannot connect now (starting up or shutting down), 53300 too many connections.
fn postgres_unavailable(sqlstate: &str) -> bool {
    sqlstate.starts_with("08") || matches!(sqlstate, "57P01" | "57P02" | "57P03" | "53300")
}

/// SQLite's primary result codes (the low byte of extended codes): BUSY and LOCKED after
/// the busy timeout, IOERR (the file went away), CANTOPEN.
fn sqlite_unavailable(code: &str) -> bool {
    code.parse::<i32>()
        .is_ok_and(|code| matches!(code & 0xff, 5 | 6 | 10 | 14))
}

impl From<anyhow::Error> for Error {
    fn from(err: anyhow::Error) -> Self {
        Error::Internal(err)
    }
}

/// Result of a core operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_carry_every_field_violation_in_order() {
        let mut fields = FieldErrors::new();
        fields.add("password", "The password must be at least 8 characters.");
        fields.add("password", "The password must contain at least one number.");
        fields.add("phone", "The phone field is required.");
        let status = tonic::Status::from(Error::Validation(fields));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "Validation failed");
        let details = status.get_error_details();
        assert_eq!(details.error_info().unwrap().reason, "VALIDATION_ERROR");
        let violations = &details.bad_request().unwrap().field_violations;
        let got: Vec<_> = violations
            .iter()
            .map(|v| (v.field.as_str(), v.description.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("password", "The password must be at least 8 characters."),
                ("password", "The password must contain at least one number."),
                ("phone", "The phone field is required."),
            ]
        );
    }

    #[test]
    fn passing_failures_are_unavailable_with_a_retry_delay() {
        for err in [
            Error::Unavailable(anyhow::anyhow!("connection reset")),
            Error::Overloaded("busy"),
        ] {
            let status = tonic::Status::from(err);
            assert_eq!(status.code(), Code::Unavailable);
            let details = status.get_error_details();
            assert_eq!(details.error_info().unwrap().reason, "UNAVAILABLE");
            assert_eq!(
                details.retry_info().unwrap().retry_delay,
                Some(Duration::from_secs(1))
            );
        }
    }

    #[test]
    fn connection_failures_are_told_apart_from_broken_statements() {
        for sqlstate in [
            "08000", "08003", "08006", "57P01", "57P02", "57P03", "53300",
        ] {
            assert!(postgres_unavailable(sqlstate), "{sqlstate}");
        }
        for sqlstate in ["23505", "42P01", "40001", "22001"] {
            assert!(!postgres_unavailable(sqlstate), "{sqlstate}");
        }
        // SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT (517), SQLITE_IOERR_READ (266), SQLITE_CANTOPEN.
        for code in ["5", "517", "266", "14"] {
            assert!(sqlite_unavailable(code), "{code}");
        }
        // SQLITE_CONSTRAINT_UNIQUE (2067), SQLITE_ERROR.
        for code in ["2067", "1"] {
            assert!(!sqlite_unavailable(code), "{code}");
        }
        assert!(is_connection_failure(&sqlx::Error::PoolTimedOut));
        assert!(!is_connection_failure(&sqlx::Error::RowNotFound));
    }

    #[test]
    fn internal_errors_do_not_leak_their_text() {
        let status = tonic::Status::from(Error::Internal(anyhow::anyhow!(
            "relation \"x\" does not exist"
        )));
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "Internal server error");
        assert!(!format!("{:?}", status.details()).contains("relation"));
    }

    #[test]
    fn too_many_attempts_is_rate_limited() {
        let wait = Duration::from_millis(41_500);
        let status = tonic::Status::from(Error::TooManyAttempts(wait));
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(status.message(), "Too many login attempts");
        let details = status.get_error_details();
        assert_eq!(details.error_info().unwrap().reason, "RATE_LIMITED");
        assert_eq!(details.retry_info().unwrap().retry_delay, Some(wait));
    }

    #[test]
    fn unauthenticated_errors_use_the_contract_messages() {
        for (failure, message) in [
            (AuthFailure::Missing, "Missing API key"),
            (AuthFailure::Invalid, "Invalid API key"),
            (AuthFailure::Expired, "API key has expired"),
            (AuthFailure::InvalidCredentials, "Invalid credentials"),
            (AuthFailure::InvalidToken, "Invalid access token"),
            (AuthFailure::TokenExpired, "Token has expired"),
            (AuthFailure::InvalidRefreshToken, "Invalid refresh token"),
        ] {
            let status = tonic::Status::from(Error::Unauthenticated(failure));
            assert_eq!(status.code(), Code::Unauthenticated);
            assert_eq!(status.message(), message);
            let info = status.get_error_details().error_info().cloned().unwrap();
            assert_eq!(info.reason, "UNAUTHENTICATED");
            assert!(info.metadata.contains_key(ERROR_DETAIL_KEY));
        }
    }
}
