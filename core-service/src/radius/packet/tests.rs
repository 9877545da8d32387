use std::net::Ipv4Addr;

use super::*;
use crate::radius::vendor;

fn hex(text: &str) -> Vec<u8> {
    hex::decode(text.replace(' ', "")).unwrap()
}

/// RFC 2865 §7.1: "nemo" with password "arctangent", shared secret "xyzzy5461".
const RFC_2865_ACCESS_REQUEST: &str = "01000038 0f403f94 73978057 bd83d5cb 98f4227a \
     01066e65 6d6f0212 0dbe708d 93d413ce 3196e43f 782a0aee 0406c0a8 01100506 00000003";
/// RFC 2865 §7.1: the Access-Accept to it.
const RFC_2865_ACCESS_ACCEPT: &str = "02000026 86fe220e 7624ba2a 1005f6bf 9b55e0b2 \
     06060000 00010f06 00000000 0e06c0a8 0103";

/// Sent by `radclient … disconnect coasecret` (User-Name, Acct-Session-Id,
/// Framed-IP-Address, `Message-Authenticator = 0x00`).
const RADCLIENT_DISCONNECT: &str = "28f9003da4218942581244fd3c703055d3c5aa080107616c6963652c0a3831\
     61303030303108066440000a50127fa682f1acefb1c4cd03b0d07260ae89";
/// Sent by `radclient … auth testing123` (alice / secret, with a Message-Authenticator).
const RADCLIENT_ACCESS_REQUEST: &str = "0137003f6533b4488140a731694e0556f9f6672d0107616c69636502\
     1267ef62f92ed1f17387e4b818f00fb46f50127ce1b4d81ea09b0050c6df7b014d42fd";
/// Sent by `radclient … coa coasecret` (User-Name, Mikrotik-Rate-Limit "20M/40M").
const RADCLIENT_COA: &str =
    "2b46002a4107860bf20979c086f034c3f6194e5a0107616c6963651a0f00003a8c080932304d2f34304d";
/// Sent by `radclient … acct testing123` (a Start, with a Message-Authenticator).
const RADCLIENT_ACCOUNTING_START: &str = "04b50043f7233ae9232cddc67e93108277e404610107616c69636528\
     06000000012c0a383161303030303104060a00000150124185788e61d3bf26a4f7cf229f767ba3";

#[test]
fn the_rfc_2865_access_request_is_encoded_octet_for_octet() {
    let expected = hex(RFC_2865_ACCESS_REQUEST);
    let mut packet = Packet::new(Code::AccessRequest, 0)
        .with(Attribute::string(kind::USER_NAME, "nemo"))
        .with(Attribute::string(kind::USER_PASSWORD, "arctangent"))
        .with(Attribute::ipv4(
            kind::NAS_IP_ADDRESS,
            Ipv4Addr::new(192, 168, 1, 16),
        ))
        .with(Attribute::integer(kind::NAS_PORT, 3));
    packet.authenticator.copy_from_slice(&expected[4..20]);
    let bytes = packet
        .encode_request_with_authenticator(b"xyzzy5461")
        .unwrap();
    assert_eq!(hex::encode(&bytes), hex::encode(&expected));

    let decoded = Packet::decode(&expected).unwrap();
    assert_eq!(decoded.user_password(b"xyzzy5461").unwrap(), b"arctangent");
    assert_ne!(
        decoded.user_password(b"wrong").as_deref(),
        Some(&b"arctangent"[..])
    );
}

#[test]
fn the_rfc_2865_access_accept_verifies_against_its_request() {
    let request = Packet::decode(&hex(RFC_2865_ACCESS_REQUEST)).unwrap();
    let accept = Packet::decode(&hex(RFC_2865_ACCESS_ACCEPT)).unwrap();
    assert_eq!(accept.code, Code::AccessAccept);
    assert_eq!(
        accept.attribute(kind::SERVICE_TYPE).unwrap().as_integer(),
        Some(1)
    );
    assert!(accept.verify_response(&request.authenticator, b"xyzzy5461"));
    assert!(!accept.verify_response(&request.authenticator, b"xyzzy5462"));
    assert!(!accept.verify_response(&[0; 16], b"xyzzy5461"));

    let reencoded = accept
        .encode_response(&request.authenticator, b"xyzzy5461")
        .unwrap();
    assert_eq!(reencoded, hex(RFC_2865_ACCESS_ACCEPT));
}

#[test]
fn a_disconnect_request_matches_radclient_octet_for_octet() {
    let expected = hex(RADCLIENT_DISCONNECT);
    let mut packet = Packet::new(Code::DisconnectRequest, expected[1])
        .with(Attribute::string(kind::USER_NAME, "alice"))
        .with(Attribute::string(kind::ACCT_SESSION_ID, "81a00001"))
        .with(Attribute::ipv4(
            kind::FRAMED_IP_ADDRESS,
            Ipv4Addr::new(100, 64, 0, 10),
        ))
        // radclient puts the tag where the input file has it: last.
        .with(Attribute::new(kind::MESSAGE_AUTHENTICATOR, [0; 16]));
    let bytes = packet.encode_request(b"coasecret").unwrap();
    assert_eq!(hex::encode(&bytes), hex::encode(&expected));
    assert_eq!(packet.authenticator[..], expected[4..20]);
}

#[test]
fn a_coa_with_a_mikrotik_rate_limit_matches_radclient_octet_for_octet() {
    let expected = hex(RADCLIENT_COA);
    let mut packet = Packet::new(Code::CoaRequest, expected[1])
        .with(Attribute::string(kind::USER_NAME, "alice"))
        .with(Attribute::vendor_string(
            vendor::MIKROTIK,
            vendor::MIKROTIK_RATE_LIMIT,
            "20M/40M",
        ));
    assert_eq!(packet.encode_request(b"coasecret").unwrap(), expected);
}

#[test]
fn requests_from_radclient_verify_with_their_secret_only() {
    for (bytes, secret) in [
        (RADCLIENT_DISCONNECT, &b"coasecret"[..]),
        (RADCLIENT_ACCESS_REQUEST, b"testing123"),
        (RADCLIENT_COA, b"coasecret"),
        (RADCLIENT_ACCOUNTING_START, b"testing123"),
    ] {
        let packet = Packet::decode(&hex(bytes)).unwrap();
        assert!(packet.verify_request(secret), "{:?}", packet.code);
        assert!(!packet.verify_request(b"other"), "{:?}", packet.code);
    }
    let access = Packet::decode(&hex(RADCLIENT_ACCESS_REQUEST)).unwrap();
    assert_eq!(access.user_password(b"testing123").unwrap(), b"secret");
    let start = Packet::decode(&hex(RADCLIENT_ACCOUNTING_START)).unwrap();
    assert_eq!(
        start
            .attribute(kind::ACCT_STATUS_TYPE)
            .unwrap()
            .as_integer(),
        Some(1)
    );
}

#[test]
fn a_changed_octet_breaks_the_message_authenticator() {
    let mut bytes = hex(RADCLIENT_ACCESS_REQUEST);
    // The last octet of "alice": an Access-Request has nothing but the tag to protect it.
    bytes[26] ^= 1;
    let packet = Packet::decode(&bytes).unwrap();
    assert!(!packet.verify_request(b"testing123"));
}

#[test]
fn every_request_kind_round_trips_and_verifies() {
    let secret = b"s3cret";
    for code in [
        Code::AccessRequest,
        Code::AccountingRequest,
        Code::CoaRequest,
        Code::DisconnectRequest,
        Code::StatusServer,
    ] {
        let mut packet = Packet::new(code, 7)
            .with(Attribute::string(kind::USER_NAME, "bob"))
            .with(Attribute::vendor_integer(
                vendor::WISPR,
                vendor::WISPR_BANDWIDTH_MAX_DOWN,
                20_000_000,
            ))
            .with_message_authenticator();
        if code == Code::AccessRequest {
            packet.attributes.push(Attribute::string(
                kind::USER_PASSWORD,
                "a password longer than sixteen octets",
            ));
        }
        let bytes = packet.encode_request(secret).unwrap();
        let decoded = Packet::decode(&bytes).unwrap();
        assert_eq!(decoded.code, code);
        assert_eq!(decoded.identifier, 7);
        assert_eq!(decoded.authenticator, packet.authenticator);
        assert_eq!(decoded.attributes[0].kind, kind::MESSAGE_AUTHENTICATOR);
        assert!(decoded.verify_request(secret), "{code:?}");
        assert!(!decoded.verify_request(b"s3creT"), "{code:?}");
        if code == Code::AccessRequest {
            assert_eq!(
                decoded.user_password(secret).unwrap(),
                b"a password longer than sixteen octets"
            );
        }
    }
}

#[test]
fn a_reply_with_a_message_authenticator_verifies_only_against_its_request() {
    let secret = b"coasecret";
    let mut request = Packet::new(Code::DisconnectRequest, 9)
        .with(Attribute::string(kind::USER_NAME, "ghost"))
        .with_message_authenticator();
    request.encode_request(secret).unwrap();
    let nak = Packet::new(Code::DisconnectNak, 9)
        .with(Attribute::integer(kind::ERROR_CAUSE, 503))
        .with_message_authenticator();
    let bytes = nak.encode_response(&request.authenticator, secret).unwrap();
    let decoded = Packet::decode(&bytes).unwrap();
    assert_eq!(decoded.error_cause(), Some(503));
    assert!(decoded.verify_response(&request.authenticator, secret));
    assert!(!decoded.verify_response(&[1; 16], secret));

    // A right Response Authenticator does not excuse a wrong tag.
    let mut forged = decoded.clone();
    forged.attributes[0].value[0] ^= 1;
    let resigned = md5_of(&[
        &forged
            .serialize(&request.authenticator, Form::Received)
            .unwrap(),
        secret,
    ]);
    forged.authenticator = resigned;
    assert!(!forged.verify_response(&request.authenticator, secret));
}

#[test]
fn replies_are_read_for_the_attributes_a_nas_or_server_sends() {
    let packet = Packet::new(Code::AccessAccept, 1)
        .with(Attribute::string(kind::REPLY_MESSAGE, "Welcome, "))
        .with(Attribute::string(kind::REPLY_MESSAGE, "alice"))
        .with(Attribute::ipv4(
            kind::FRAMED_IP_ADDRESS,
            Ipv4Addr::new(100, 64, 0, 10),
        ))
        .with(Attribute::string(kind::FRAMED_POOL, "cgnat"))
        .with(Attribute::vendor_string(
            vendor::MIKROTIK,
            vendor::MIKROTIK_ADDRESS_LIST,
            "overdue",
        ));
    assert_eq!(packet.reply_message().as_deref(), Some("Welcome, alice"));
    assert_eq!(
        packet.framed_ip_address(),
        Some(Ipv4Addr::new(100, 64, 0, 10))
    );
    assert_eq!(packet.framed_pool(), Some("cgnat"));
    assert_eq!(
        packet.vendor_string(vendor::MIKROTIK, vendor::MIKROTIK_ADDRESS_LIST),
        Some("overdue")
    );
    assert_eq!(
        packet.vendor_string(vendor::MIKROTIK, vendor::MIKROTIK_RATE_LIMIT),
        None
    );
    assert_eq!(packet.error_cause(), None);
}

#[test]
fn oversized_values_are_refused_when_encoding() {
    let long = "x".repeat(254);
    let mut packet =
        Packet::new(Code::CoaRequest, 1).with(Attribute::string(kind::USER_NAME, &long));
    assert_eq!(
        packet.encode_request(b"s"),
        Err(EncodeError::AttributeTooLong(kind::USER_NAME))
    );
    let mut packet = Packet::new(Code::CoaRequest, 1).with(Attribute::vendor_string(
        vendor::MIKROTIK,
        vendor::MIKROTIK_RATE_LIMIT,
        &long,
    ));
    assert_eq!(
        packet.encode_request(b"s"),
        Err(EncodeError::AttributeTooLong(kind::VENDOR_SPECIFIC))
    );
    let mut packet = Packet::new(Code::AccessRequest, 1)
        .with(Attribute::string(kind::USER_PASSWORD, &"p".repeat(129)));
    assert_eq!(
        packet.encode_request(b"s"),
        Err(EncodeError::PasswordTooLong)
    );
    let mut packet = Packet::new(Code::AccountingRequest, 1);
    for _ in 0..20 {
        packet
            .attributes
            .push(Attribute::string(kind::CLASS, &"c".repeat(253)));
    }
    assert_eq!(packet.encode_request(b"s"), Err(EncodeError::PacketTooLong));
    let mut reply = Packet::new(Code::CoaAck, 1);
    assert_eq!(
        reply.encode_request(b"s"),
        Err(EncodeError::WrongDirection(Code::CoaAck))
    );
    assert_eq!(
        Packet::new(Code::CoaRequest, 1).encode_response(&[0; 16], b"s"),
        Err(EncodeError::WrongDirection(Code::CoaRequest))
    );
}

#[test]
fn malformed_packets_are_errors() {
    let good = hex(RFC_2865_ACCESS_ACCEPT);
    assert_eq!(Packet::decode(&good[..19]), Err(DecodeError::Truncated));
    assert_eq!(
        Packet::decode(&good[..good.len() - 1]),
        Err(DecodeError::Truncated)
    );
    let mut short_length = good.clone();
    short_length[3] = 19;
    assert_eq!(
        Packet::decode(&short_length),
        Err(DecodeError::BadLength(19))
    );
    let mut unknown = good.clone();
    unknown[0] = 99;
    assert_eq!(Packet::decode(&unknown), Err(DecodeError::UnknownCode(99)));
    let mut zero_attribute = good.clone();
    zero_attribute[21] = 0;
    assert_eq!(
        Packet::decode(&zero_attribute),
        Err(DecodeError::BadAttribute(20))
    );
    let mut overrun = good.clone();
    overrun[21] = 30;
    assert!(matches!(
        Packet::decode(&overrun),
        Err(DecodeError::BadAttribute(20))
    ));
    // Octets past the length field are padding.
    let mut padded = good.clone();
    padded.extend_from_slice(&[0xff; 7]);
    assert_eq!(Packet::decode(&padded), Packet::decode(&good));
}

#[test]
fn random_octets_never_panic_the_decoder_or_the_checks() {
    use rand::{Rng, RngCore};
    let mut rng = rand::rng();
    let codes = [1u8, 2, 3, 4, 5, 11, 12, 40, 41, 42, 43, 44, 45];
    for round in 0..20_000 {
        let len = rng.random_range(0..200);
        let mut bytes = vec![0; len];
        rng.fill_bytes(&mut bytes);
        // Half the rounds get a plausible header so the attribute walk is exercised too.
        if round % 2 == 0 && len >= HEADER_LEN {
            bytes[0] = codes[rng.random_range(0..codes.len())];
            let declared = rng.random_range(HEADER_LEN..=len) as u16;
            bytes[2..4].copy_from_slice(&declared.to_be_bytes());
        }
        if let Ok(packet) = Packet::decode(&bytes) {
            let _ = packet.verify_request(b"secret");
            let _ = packet.verify_response(&[0; 16], b"secret");
            let _ = packet.user_password(b"secret");
            let _ = packet.reply_message();
            let _ = packet.vendor_attributes().count();
            let _ = packet.error_cause();
        }
    }
}

#[test]
fn codes_round_trip_and_pair_with_their_replies() {
    for octet in 0..=255u8 {
        if let Some(code) = Code::from_u8(octet) {
            assert_eq!(code.as_u8(), octet);
        }
    }
    assert!(Code::DisconnectNak.answers(Code::DisconnectRequest));
    assert!(!Code::CoaAck.answers(Code::DisconnectRequest));
    assert!(Code::AccountingResponse.answers(Code::StatusServer));
    assert!(!Code::AccessAccept.answers(Code::AccountingRequest));
}
