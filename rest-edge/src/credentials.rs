//! Who is calling and how to tell the core: the credential from the request headers, the
//! request id, the idempotency key, the reason for a change (`X-Reason`) and the client's
//! address, carried to every gRPC call as metadata.

use crate::envelope::ApiError;
use crate::request_id::REQUEST_ID_HEADER;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use lastmile_proto::{
    CLIENT_ADDRESS_METADATA, IDEMPOTENCY_KEY_METADATA, REASON_METADATA, REQUEST_ID_METADATA,
};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use tonic::metadata::MetadataValue;

/// Longest accepted `Idempotency-Key`, in characters.
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// An API key or access token as the client sent it. Its `Debug` never prints the secret.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credential(String);

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credential(<redacted>)")
    }
}

impl Credential {
    /// SHA-256 of the credential: the only form in which it is kept beyond one request.
    pub(crate) fn fingerprint(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    /// The value of the `authorization` metadata entry that carries it to the core.
    fn authorization(&self) -> Result<MetadataValue<tonic::metadata::Ascii>, ApiError> {
        MetadataValue::try_from(format!("Bearer {}", self.0))
            .map_err(|_| ApiError::invalid_credential())
    }

    #[cfg(test)]
    pub(crate) fn new(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// What the credential headers of a request hold.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Presented {
    /// No credential in any header (or only empty ones).
    Nothing,
    /// A credential that cannot be a key: not printable ASCII.
    Unusable,
    /// A credential to forward.
    Credential(Credential),
}

/// Finds the credential in `X-API-Key`, `Authorization: Bearer …` or `X-Auth-Token`, in
/// that order of preference. Empty values count as absent.
pub(crate) fn presented(headers: &HeaderMap) -> Presented {
    let mut unusable = false;
    let mut candidates = [
        headers.get("x-api-key").map(|v| (v, false)),
        headers
            .get(axum::http::header::AUTHORIZATION)
            .map(|v| (v, true)),
        headers.get("x-auth-token").map(|v| (v, false)),
    ]
    .into_iter()
    .flatten();
    let found = candidates.find_map(|(value, bearer)| {
        let Ok(text) = value.to_str() else {
            // An unreadable `Authorization` value is a credential only under the Bearer scheme.
            unusable |= !bearer || starts_with_bearer(value.as_bytes());
            return None;
        };
        let text = if bearer { strip_bearer(text)? } else { text };
        let text = text.trim();
        (!text.is_empty()).then(|| Credential(text.to_owned()))
    });
    match found {
        Some(credential) => Presented::Credential(credential),
        None if unusable => Presented::Unusable,
        None => Presented::Nothing,
    }
}

fn starts_with_bearer(value: &[u8]) -> bool {
    value
        .get(..7)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(b"bearer "))
}

/// The token of an `Authorization: Bearer <token>` value; the scheme name is
/// case-insensitive. Other schemes are not credentials of this API.
fn strip_bearer(value: &str) -> Option<&str> {
    let value = value.trim_start();
    let (scheme, rest) = value.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    Some(rest)
}

/// The caller of one REST request as the core must see it.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    credential: Option<Credential>,
    request_id: Option<String>,
    idempotency_key: Option<String>,
    /// Why the client makes the change (`X-Reason`), when it said so usably.
    reason: Option<String>,
    /// The IP address of the connection's peer (never a forwarding header).
    client_address: Option<String>,
}

impl Caller {
    /// Builds a gRPC request carrying the credential, the request id, (on POSTs) the
    /// idempotency key, and for the audit log the reason (`x-reason`) and the client's
    /// address (`x-client-address`).
    pub(crate) fn request<T>(&self, message: T) -> Result<tonic::Request<T>, ApiError> {
        let mut request = self.anonymous_request(message);
        let metadata = request.metadata_mut();
        if let Some(credential) = &self.credential {
            metadata.insert("authorization", credential.authorization()?);
        }
        if let Some(key) = &self.idempotency_key {
            let value =
                MetadataValue::try_from(key.as_str()).map_err(|_| invalid_idempotency_key())?;
            metadata.insert(IDEMPOTENCY_KEY_METADATA, value);
        }
        Ok(request)
    }

    /// Builds a gRPC request without the credential, for calls that need none: it carries
    /// the request id, the reason and the client's address (login limits and the audit log
    /// of a login need them too).
    pub(crate) fn anonymous_request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        let metadata = request.metadata_mut();
        // Each was checked when read; a value that still does not fit is left out.
        let entries = [
            (REQUEST_ID_METADATA, &self.request_id),
            (REASON_METADATA, &self.reason),
            (CLIENT_ADDRESS_METADATA, &self.client_address),
        ];
        for (key, value) in entries {
            if let Some(value) = value
                .as_deref()
                .and_then(|v| MetadataValue::try_from(v).ok())
            {
                metadata.insert(key, value);
            }
        }
        request
    }
}

/// Builds the gRPC request that asks the core who is behind a credential.
pub(crate) fn principal_request<T>(
    credential: &Credential,
    headers: &HeaderMap,
    message: T,
) -> Result<tonic::Request<T>, ApiError> {
    let caller = Caller {
        credential: Some(credential.clone()),
        request_id: request_id(headers),
        idempotency_key: None,
        reason: None,
        client_address: None,
    };
    caller.request(message)
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The `X-Reason` header, trimmed, when it is non-empty printable ASCII; anything else is
/// not forwarded (the change itself is not refused for it).
fn reason(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("x-reason")?.to_str().ok()?.trim();
    let printable = value.bytes().all(|b| (b' '..=b'~').contains(&b));
    (!value.is_empty() && printable).then(|| value.to_owned())
}

/// The IP address of the connection's peer, as the server saw it. Forwarding headers
/// (`X-Forwarded-For`, …) are client-controlled and not trusted.
fn client_address(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_canonical().to_string())
}

fn invalid_idempotency_key() -> ApiError {
    ApiError::bad_request(
        "Invalid Idempotency-Key header",
        "The Idempotency-Key header must be 1 to 255 printable ASCII characters.",
    )
}

/// The `Idempotency-Key` of a POST, checked: 1 to 255 printable ASCII characters.
fn idempotency_key(method: &Method, headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    if method != Method::POST {
        return Ok(None);
    }
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| invalid_idempotency_key())?
        .trim();
    if key.is_empty() || key.chars().count() > MAX_IDEMPOTENCY_KEY_LEN {
        return Err(invalid_idempotency_key());
    }
    Ok(Some(key.to_owned()))
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let credential = match presented(&parts.headers) {
            Presented::Credential(credential) => Some(credential),
            Presented::Unusable | Presented::Nothing => None,
        };
        Ok(Self {
            credential,
            request_id: request_id(&parts.headers),
            idempotency_key: idempotency_key(&parts.method, &parts.headers)?,
            reason: reason(&parts.headers),
            client_address: client_address(parts),
        })
    }
}

#[cfg(test)]
#[path = "credentials_tests.rs"]
mod tests;
