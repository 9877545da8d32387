use super::*;
use axum::http::HeaderValue;

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

fn found(value: &str) -> Presented {
    Presented::Credential(Credential::new(value))
}

#[test]
fn a_credential_is_read_from_any_of_the_three_headers() {
    assert_eq!(presented(&headers(&[("x-api-key", "k1")])), found("k1"));
    assert_eq!(
        presented(&headers(&[("authorization", "Bearer k2")])),
        found("k2")
    );
    assert_eq!(presented(&headers(&[("x-auth-token", "k3")])), found("k3"));
}

#[test]
fn the_bearer_scheme_is_case_insensitive() {
    for value in ["bearer k", "BEARER k", "BeArEr   k"] {
        assert_eq!(
            presented(&headers(&[("authorization", value)])),
            found("k"),
            "{value}"
        );
    }
}

#[test]
fn other_authorization_schemes_are_not_credentials() {
    assert_eq!(
        presented(&headers(&[("authorization", "Basic dXNlcjpwdw==")])),
        Presented::Nothing
    );
    assert_eq!(
        presented(&headers(&[("authorization", "Bearerk")])),
        Presented::Nothing
    );
}

#[test]
fn empty_values_count_as_missing() {
    assert_eq!(presented(&HeaderMap::new()), Presented::Nothing);
    assert_eq!(
        presented(&headers(&[
            ("x-api-key", ""),
            ("authorization", "Bearer "),
            ("x-auth-token", "  ")
        ])),
        Presented::Nothing
    );
}

#[test]
fn an_empty_header_does_not_hide_a_credential_in_another() {
    assert_eq!(
        presented(&headers(&[("x-api-key", ""), ("x-auth-token", "k3")])),
        found("k3")
    );
}

#[test]
fn x_api_key_wins_when_several_headers_carry_credentials() {
    assert_eq!(
        presented(&headers(&[
            ("x-auth-token", "k3"),
            ("authorization", "Bearer k2"),
            ("x-api-key", "k1")
        ])),
        found("k1")
    );
}

#[test]
fn a_non_ascii_credential_is_unusable() {
    let mut map = HeaderMap::new();
    map.insert("x-api-key", HeaderValue::from_bytes(b"k\xe9y").unwrap());
    assert_eq!(presented(&map), Presented::Unusable);
}

#[test]
fn the_credential_travels_as_bearer_authorization_metadata() {
    let caller = Caller {
        credential: Some(Credential::new("secret")),
        request_id: Some("req-1".to_owned()),
        idempotency_key: Some("idem-1".to_owned()),
    };
    let request = caller.request(()).unwrap();
    let metadata = request.metadata();
    assert_eq!(metadata.get("authorization").unwrap(), "Bearer secret");
    assert_eq!(metadata.get(REQUEST_ID_METADATA).unwrap(), "req-1");
    assert_eq!(metadata.get(IDEMPOTENCY_KEY_METADATA).unwrap(), "idem-1");
    let anonymous = caller.anonymous_request(());
    assert!(anonymous.metadata().get("authorization").is_none());
    assert_eq!(
        anonymous.metadata().get(REQUEST_ID_METADATA).unwrap(),
        "req-1"
    );
}

#[test]
fn the_debug_form_of_a_credential_hides_it() {
    assert!(!format!("{:?}", Credential::new("secret")).contains("secret"));
}

#[test]
fn idempotency_keys_are_read_on_posts_only_and_checked() {
    let ok = headers(&[("idempotency-key", "abc")]);
    assert_eq!(
        idempotency_key(&Method::POST, &ok).unwrap().as_deref(),
        Some("abc")
    );
    assert_eq!(idempotency_key(&Method::PUT, &ok).unwrap(), None);
    assert_eq!(
        idempotency_key(&Method::POST, &HeaderMap::new()).unwrap(),
        None
    );
    let empty = headers(&[("idempotency-key", "")]);
    assert_eq!(
        idempotency_key(&Method::POST, &empty).unwrap_err().status,
        axum::http::StatusCode::BAD_REQUEST
    );
    let long = "k".repeat(256);
    let too_long = headers(&[("idempotency-key", &long)]);
    assert!(idempotency_key(&Method::POST, &too_long).is_err());
    let longest = "k".repeat(255);
    let fits = headers(&[("idempotency-key", &longest)]);
    assert!(idempotency_key(&Method::POST, &fits).is_ok());
}
