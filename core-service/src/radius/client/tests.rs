use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use super::*;

const SECRET: &[u8] = b"coasecret";
const SHORT: Duration = Duration::from_millis(150);

/// A UDP server on a free port that answers each request with what `answer` returns for it
/// (its 1-based arrival number and the request): any number of datagrams.
async fn responder<F>(answer: F) -> SocketAddr
where
    F: Fn(u32, &Packet) -> Vec<Vec<u8>> + Send + Sync + 'static,
{
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = socket.local_addr().unwrap();
    let arrivals = Arc::new(AtomicU32::new(0));
    tokio::spawn(async move {
        let mut buffer = vec![0; 4096];
        while let Ok((length, from)) = socket.recv_from(&mut buffer).await {
            let request = Packet::decode(&buffer[..length]).unwrap();
            assert!(request.verify_request(SECRET));
            let n = arrivals.fetch_add(1, Ordering::SeqCst) + 1;
            for datagram in answer(n, &request) {
                socket.send_to(&datagram, from).await.unwrap();
            }
        }
    });
    address
}

fn reply(request: &Packet, code: Code, secret: &[u8]) -> Vec<u8> {
    Packet::new(code, request.identifier)
        .with_message_authenticator()
        .encode_response(&request.authenticator, secret)
        .unwrap()
}

#[tokio::test]
async fn a_lost_request_is_sent_again_with_the_same_octets() {
    let first: Arc<std::sync::Mutex<Option<Packet>>> = Arc::default();
    let seen = first.clone();
    let target = responder(move |n, request| {
        let mut first = seen.lock().unwrap();
        match first.as_ref() {
            None => {
                *first = Some(request.clone());
                vec![]
            }
            Some(earlier) => {
                assert_eq!((n, earlier), (2, request));
                vec![reply(request, Code::DisconnectAck, SECRET)]
            }
        }
    })
    .await;
    let packet = Packet::new(Code::DisconnectRequest, 0).with_message_authenticator();
    let reply = send(target, packet, SECRET, SHORT, 2).await.unwrap();
    assert_eq!(reply.packet.code, Code::DisconnectAck);
    assert_eq!(reply.attempts, 2);
}

#[tokio::test]
async fn replies_that_do_not_verify_are_ignored_until_a_good_one_comes() {
    let target = responder(|_, request| {
        let wrong_id = Packet::new(Code::CoaAck, request.identifier.wrapping_add(1))
            .encode_response(&request.authenticator, SECRET)
            .unwrap();
        vec![
            reply(request, Code::CoaNak, b"not the secret"),
            wrong_id,
            reply(request, Code::AccessAccept, SECRET),
            b"garbage".to_vec(),
            reply(request, Code::CoaAck, SECRET),
        ]
    })
    .await;
    let outcome = coa(target, SECRET, "alice", None, vec![], SHORT, 0)
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Ack);
}

#[tokio::test]
async fn a_nak_carries_its_error_cause() {
    let target = responder(|_, request| {
        let nak = Packet::new(Code::DisconnectNak, request.identifier)
            .with(Attribute::integer(kind::ERROR_CAUSE, 503))
            .encode_response(&request.authenticator, SECRET)
            .unwrap();
        vec![nak]
    })
    .await;
    let outcome = disconnect(target, SECRET, "ghost", Some("s1"), None, SHORT, 0)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Outcome::Nak {
            error_cause: Some(503)
        }
    );
    assert_eq!(error_cause_name(503), "Session Context Not Found");
}

#[tokio::test]
async fn silence_and_a_closed_port_are_timeouts_after_every_attempt() {
    let silent = responder(|_, _| vec![]).await;
    let started = std::time::Instant::now();
    let outcome = disconnect(silent, SECRET, "alice", None, None, SHORT, 1)
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Timeout);
    assert!(started.elapsed() >= SHORT * 2);

    let closed = {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap()
    };
    let result = status_server(closed, SECRET, SHORT, 2).await;
    assert!(matches!(result, Err(SendError::Timeout)), "{result:?}");
}

#[tokio::test]
async fn a_value_too_long_is_an_error_not_a_timeout() {
    let silent = responder(|_, _| vec![]).await;
    let result = disconnect(silent, SECRET, &"x".repeat(300), None, None, SHORT, 0).await;
    assert!(matches!(
        result,
        Err(SendError::Encode(EncodeError::AttributeTooLong(1)))
    ));
}

#[test]
fn every_rfc_5176_error_cause_has_its_name() {
    let named = (201..=508)
        .filter(|n| error_cause_name(*n) != "Unknown Error-Cause")
        .count();
    assert_eq!(named, 17);
    assert_eq!(error_cause_name(404), "Invalid Request");
    assert_eq!(error_cause_name(300), "Unknown Error-Cause");
}
