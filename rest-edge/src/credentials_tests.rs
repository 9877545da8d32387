use super::*;
use axum::http::HeaderValue;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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
        reason: None,
        client_address: None,
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

/// The caller of a request with these headers, arriving from `peer` when given.
async fn caller_of(pairs: &[(&'static str, &str)], peer: Option<SocketAddr>) -> Caller {
    let mut builder = axum::http::Request::builder()
        .method(Method::PATCH)
        .uri("/x");
    for (name, value) in pairs {
        builder = builder.header(*name, *value);
    }
    if let Some(peer) = peer {
        builder = builder.extension(ConnectInfo(peer));
    }
    let (mut parts, ()) = builder.body(()).unwrap().into_parts();
    Caller::from_request_parts(&mut parts, &()).await.unwrap()
}

fn peer(ip: IpAddr) -> Option<SocketAddr> {
    Some(SocketAddr::new(ip, 40_000))
}

fn forwarded(caller: &Caller, key: &str) -> Option<String> {
    let request = caller.request(()).unwrap();
    request
        .metadata()
        .get(key)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn the_reason_and_the_client_address_travel_on_every_call() {
    let caller = caller_of(
        &[
            ("x-api-key", "k1"),
            ("x-reason", "  Customer asked by phone  "),
        ],
        peer(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))),
    )
    .await;
    let request = caller.request(()).unwrap();
    let metadata = request.metadata();
    assert_eq!(
        metadata.get(REASON_METADATA).unwrap(),
        "Customer asked by phone"
    );
    assert_eq!(metadata.get(CLIENT_ADDRESS_METADATA).unwrap(), "192.0.2.7");
    assert_eq!(metadata.get("authorization").unwrap(), "Bearer k1");
}

#[tokio::test]
async fn the_client_address_is_the_socket_peer_not_a_forwarding_header() {
    let caller = caller_of(
        &[
            ("x-forwarded-for", "203.0.113.9"),
            ("x-real-ip", "203.0.113.10"),
            ("forwarded", "for=203.0.113.11"),
            ("x-client-address", "203.0.113.12"),
        ],
        peer(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    )
    .await;
    assert_eq!(
        forwarded(&caller, CLIENT_ADDRESS_METADATA).as_deref(),
        Some("127.0.0.1")
    );
    let no_peer = caller_of(&[("x-forwarded-for", "203.0.113.9")], None).await;
    assert_eq!(forwarded(&no_peer, CLIENT_ADDRESS_METADATA), None);
}

#[tokio::test]
async fn ipv6_peers_are_forwarded_without_port_and_mapped_ipv4_as_ipv4() {
    let v6 = caller_of(&[], peer(IpAddr::V6(Ipv6Addr::LOCALHOST))).await;
    assert_eq!(
        forwarded(&v6, CLIENT_ADDRESS_METADATA).as_deref(),
        Some("::1")
    );
    let mapped = caller_of(
        &[],
        peer(IpAddr::V6(Ipv4Addr::new(198, 51, 100, 4).to_ipv6_mapped())),
    )
    .await;
    assert_eq!(
        forwarded(&mapped, CLIENT_ADDRESS_METADATA).as_deref(),
        Some("198.51.100.4")
    );
}

#[tokio::test]
async fn an_empty_or_unprintable_reason_is_not_forwarded() {
    for value in ["", "   ", "tab\there"] {
        let caller = caller_of(&[("x-reason", value)], None).await;
        assert_eq!(forwarded(&caller, REASON_METADATA), None, "{value:?}");
    }
    let mut parts = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/x")
        .body(())
        .unwrap()
        .into_parts()
        .0;
    parts.headers.insert(
        "x-reason",
        HeaderValue::from_bytes(b"caf\xc3\xa9 closed").unwrap(),
    );
    let caller = Caller::from_request_parts(&mut parts, &()).await.unwrap();
    assert_eq!(forwarded(&caller, REASON_METADATA), None);
    let missing = caller_of(&[], None).await;
    assert_eq!(forwarded(&missing, REASON_METADATA), None);
}

#[tokio::test]
async fn calls_without_a_credential_carry_the_reason_and_client_address_too() {
    let caller = caller_of(
        &[("x-api-key", "k1"), ("x-reason", "audit")],
        peer(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    )
    .await;
    let anonymous = caller.anonymous_request(());
    let metadata = anonymous.metadata();
    assert!(metadata.get("authorization").is_none());
    assert_eq!(metadata.get(REASON_METADATA).unwrap(), "audit");
    assert_eq!(metadata.get(CLIENT_ADDRESS_METADATA).unwrap(), "127.0.0.1");
}
