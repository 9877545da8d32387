//! The request id: kept from the client when it is a sane token, otherwise a new UUID v7;
//! echoed on every answer, put on the log span and forwarded to the core.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

/// The header (and gRPC metadata key) that carries the request id.
pub(crate) const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest request id taken from a client.
const MAX_LEN: usize = 128;

/// Whether a client's request id can be kept: 1 to 128 characters of letters, digits and
/// `-_.:`, so it is safe in logs, headers and gRPC metadata alike.
pub(crate) fn is_acceptable(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= MAX_LEN
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn generate() -> HeaderValue {
    // A hyphenated UUID is always a valid header value.
    HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// Middleware: settles the request id before anything else runs and stamps it on the answer.
pub(crate) async fn assign(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .filter(|v| is_acceptable(v.as_bytes()))
        .cloned()
        .unwrap_or_else(generate);
    request.headers_mut().insert(REQUEST_ID_HEADER, id.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID_HEADER, id);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_client_ids_are_kept_and_others_replaced() {
        assert!(is_acceptable(b"0190c8a4-6c2e-7b7a-9f1e-0a1b2c3d4e5f"));
        assert!(is_acceptable(b"req_42.a:b"));
        assert!(!is_acceptable(b""));
        assert!(!is_acceptable(b"has space"));
        assert!(!is_acceptable(b"new\nline"));
        assert!(!is_acceptable(&[b'a'; 129]));
    }

    #[test]
    fn generated_ids_are_uuid_v7() {
        let id = generate();
        let uuid = uuid::Uuid::parse_str(id.to_str().unwrap()).unwrap();
        assert_eq!(uuid.get_version_num(), 7);
    }
}
