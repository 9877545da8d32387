//! Refusals of credentials and sessions that the shared error type has no words for:
//! the login answer that must not tell an unknown email from a wrong password, expired
//! access tokens, spent refresh tokens and the login attempt limit. Each becomes a
//! `tonic::Status` with the same `ErrorInfo` shape as every other error of the core.

use std::collections::HashMap;

use lastmile_proto::{ERROR_DETAIL_KEY, ERROR_DOMAIN};
use tonic::Code;
use tonic_types::{ErrorDetails, StatusExt};

use crate::error::Error;

/// Why a credential, a login or a session renewal was refused.
#[derive(Debug)]
pub enum Refused {
    /// Unknown email, wrong password or inactive user: one answer for all three.
    InvalidCredentials,
    /// An access token that is malformed, badly signed, or whose user is gone or inactive.
    InvalidToken,
    /// An access token past its expiry.
    TokenExpired,
    /// A refresh token that is unknown, spent, revoked or expired.
    InvalidRefreshToken,
    /// Too many login attempts for this email or from this address.
    TooManyAttempts,
    /// Any other outcome.
    Core(Error),
}

impl From<Error> for Refused {
    fn from(err: Error) -> Self {
        Refused::Core(err)
    }
}

fn status(code: Code, reason: &str, message: &str, detail: &str) -> tonic::Status {
    let metadata = HashMap::from([(ERROR_DETAIL_KEY.to_owned(), detail.to_owned())]);
    let details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata);
    tonic::Status::with_error_details(code, message, details)
}

impl From<Refused> for tonic::Status {
    fn from(refused: Refused) -> Self {
        let unauthenticated =
            |message, detail| status(Code::Unauthenticated, "UNAUTHENTICATED", message, detail);
        match refused {
            Refused::InvalidCredentials => {
                unauthenticated("Invalid credentials", "The email or password is incorrect.")
            }
            Refused::InvalidToken => unauthenticated(
                "Invalid access token",
                "The access token is invalid or its user can no longer sign in.",
            ),
            Refused::TokenExpired => unauthenticated(
                "Token has expired",
                "The access token has expired. Renew it with the refresh token.",
            ),
            Refused::InvalidRefreshToken => unauthenticated(
                "Invalid refresh token",
                "The refresh token is invalid, expired, revoked or already used.",
            ),
            Refused::TooManyAttempts => status(
                Code::ResourceExhausted,
                "RATE_LIMITED",
                "Too many login attempts",
                "Too many login attempts. Wait a minute before trying again.",
            ),
            Refused::Core(err) => err.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expired_token_says_so_with_the_unauthenticated_code() {
        let status = tonic::Status::from(Refused::TokenExpired);
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(status.message(), "Token has expired");
        let info = status.get_error_details().error_info().cloned().unwrap();
        assert_eq!(info.reason, "UNAUTHENTICATED");
    }

    #[test]
    fn too_many_attempts_is_rate_limited() {
        let status = tonic::Status::from(Refused::TooManyAttempts);
        assert_eq!(status.code(), Code::ResourceExhausted);
        let info = status.get_error_details().error_info().cloned().unwrap();
        assert_eq!(info.reason, "RATE_LIMITED");
    }
}
