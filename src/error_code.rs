//! The error codes of the contract: the one place where the `code` strings of the JSON
//! envelope and the `ErrorInfo.reason` of the core's gRPC errors are spelled.

/// An error code of the contract, each with the HTTP status that carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A malformed request: bad JSON, a bad query parameter, a bad sort key.
    BadRequest,
    /// No valid credential.
    Unauthenticated,
    /// A valid credential without the permission.
    Forbidden,
    /// No such resource, or one the caller may not see.
    NotFound,
    /// The resource's state forbids the operation.
    Conflict,
    /// The input broke field rules (the answer names every failing field).
    ValidationError,
    /// Too many requests or attempts.
    RateLimited,
    /// An idempotency key reused with a different request.
    IdempotencyConflict,
    /// An unexpected failure; nothing about it is told to the client.
    Internal,
    /// A dependency (the database, the core) is unavailable for a moment.
    Unavailable,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [ErrorCode; 10] = [
        ErrorCode::BadRequest,
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::ValidationError,
        ErrorCode::RateLimited,
        ErrorCode::IdempotencyConflict,
        ErrorCode::Internal,
        ErrorCode::Unavailable,
    ];

    /// The `code` string of the envelope, and the `ErrorInfo.reason` of the core.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "BAD_REQUEST",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::ValidationError => "VALIDATION_ERROR",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::IdempotencyConflict => "IDEMPOTENCY_CONFLICT",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::Unavailable => "UNAVAILABLE",
        }
    }

    /// The code an `ErrorInfo.reason` names; `None` for a reason that is not ours.
    pub fn from_reason(reason: &str) -> Option<ErrorCode> {
        ErrorCode::ALL
            .into_iter()
            .find(|code| code.as_str() == reason)
    }

    /// The HTTP status that carries this code.
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            // The contract answers a reused idempotency key like a validation failure.
            ErrorCode::ValidationError | ErrorCode::IdempotencyConflict => 422,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
        }
    }

    /// The code for a gRPC status that carries no Lastmile `ErrorInfo` (a transport
    /// failure, or a status made by the gRPC library itself).
    pub fn from_grpc(code: tonic::Code) -> ErrorCode {
        use tonic::Code;
        match code {
            Code::InvalidArgument => ErrorCode::BadRequest,
            Code::Unauthenticated => ErrorCode::Unauthenticated,
            Code::PermissionDenied => ErrorCode::Forbidden,
            Code::NotFound => ErrorCode::NotFound,
            Code::AlreadyExists | Code::FailedPrecondition | Code::Aborted => ErrorCode::Conflict,
            Code::ResourceExhausted => ErrorCode::RateLimited,
            Code::Unavailable | Code::DeadlineExceeded => ErrorCode::Unavailable,
            _ => ErrorCode::Internal,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_from_its_reason() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_reason(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::from_reason("bad_request"), None);
        assert_eq!(ErrorCode::from_reason(""), None);
    }

    #[test]
    fn the_contract_spells_the_codes_and_their_statuses_so() {
        // Written out by hand: this table is the contract's, not derived from the code.
        let expected = [
            ("BAD_REQUEST", 400),
            ("UNAUTHENTICATED", 401),
            ("FORBIDDEN", 403),
            ("NOT_FOUND", 404),
            ("CONFLICT", 409),
            ("VALIDATION_ERROR", 422),
            ("RATE_LIMITED", 429),
            ("IDEMPOTENCY_CONFLICT", 422),
            ("INTERNAL", 500),
            ("UNAVAILABLE", 503),
        ];
        let got: Vec<_> = ErrorCode::ALL
            .iter()
            .map(|c| (c.as_str(), c.http_status()))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn library_statuses_map_to_the_nearest_code() {
        assert_eq!(
            ErrorCode::from_grpc(tonic::Code::DeadlineExceeded),
            ErrorCode::Unavailable
        );
        assert_eq!(
            ErrorCode::from_grpc(tonic::Code::ResourceExhausted),
            ErrorCode::RateLimited
        );
        assert_eq!(
            ErrorCode::from_grpc(tonic::Code::Unknown),
            ErrorCode::Internal
        );
    }
}
