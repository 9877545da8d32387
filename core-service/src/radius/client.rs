//! An async RADIUS client over UDP: one request, its retransmissions, and the one reply that
//! proves it came from a holder of the secret. On top: Disconnect and CoA to a router
//! (RFC 5176), PAP Access-Requests and Status-Server (RFC 5997).

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::attribute::{Attribute, kind};
use super::code::Code;
use super::packet::{EncodeError, MAX_PACKET_LEN, Packet};

/// A verified reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The decoded reply.
    pub packet: Packet,
    /// How many times the request was sent before this reply came (1 = no retry).
    pub attempts: u32,
}

/// Why no reply came.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The request cannot be encoded (a value too long).
    #[error("the request cannot be encoded: {0}")]
    Encode(#[from] EncodeError),
    /// The local socket failed (no route, no free port, …).
    #[error("the request could not be sent: {0}")]
    Io(#[from] io::Error),
    /// No valid reply came after every attempt: the server is away, dropped the request
    /// (a wrong secret or a missing Message-Authenticator looks the same), or answered with
    /// replies that did not verify.
    #[error("no valid reply")]
    Timeout,
}

/// What a router did with a Disconnect-Request or CoA-Request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done (Disconnect-ACK, CoA-ACK).
    Ack,
    /// Refused (Disconnect-NAK, CoA-NAK), with its Error-Cause when it gave one (see
    /// [`error_cause_name`]).
    Nak {
        /// The RFC 5176 §3.5 Error-Cause.
        error_cause: Option<u32>,
    },
    /// No valid answer: the router is unreachable, ignores CoA, or has another secret.
    Timeout,
}

/// Sends `packet` to `target` and waits for its reply: a fresh random identifier, the
/// Request Authenticator and Message-Authenticator (if asked for) computed with `secret`,
/// up to `1 + retries` transmissions of the same octets, each waiting `timeout`.
///
/// Replies with another identifier, a code that does not answer the request, or an
/// authenticator that does not verify are dropped, as RFC 2865 §3 tells clients to do; the
/// wait goes on for a valid one.
pub async fn send(
    target: SocketAddr,
    mut packet: Packet,
    secret: &[u8],
    timeout: Duration,
    retries: u32,
) -> Result<Reply, SendError> {
    packet.identifier = rand::random();
    let request = packet.encode_request(secret)?;
    let local: SocketAddr = match target {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    // One socket per request: its port alone tells its replies apart, so the 8-bit
    // identifier space is never shared between concurrent requests.
    let socket = UdpSocket::bind(local).await?;
    socket.connect(target).await?;
    let mut buffer = vec![0; MAX_PACKET_LEN];
    for attempt in 1..=retries.saturating_add(1) {
        transmit(&socket, &request).await?;
        let deadline = Instant::now() + timeout;
        while let Ok(received) = tokio::time::timeout_at(deadline, socket.recv(&mut buffer)).await {
            let length = match received {
                Ok(length) => length,
                // An ICMP port-unreachable from an earlier transmission: the server may be
                // starting, so keep waiting for this attempt's answer.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(e.into()),
            };
            let Ok(reply) = Packet::decode(&buffer[..length]) else {
                continue;
            };
            if reply.identifier == packet.identifier
                && reply.code.answers(packet.code)
                && reply.verify_response(&packet.authenticator, secret)
            {
                return Ok(Reply {
                    packet: reply,
                    attempts: attempt,
                });
            }
        }
    }
    Err(SendError::Timeout)
}

/// Sends one datagram; a refusal reported for an earlier one does not stop this one.
async fn transmit(socket: &UdpSocket, request: &[u8]) -> io::Result<()> {
    match socket.send(request).await {
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            socket.send(request).await.map(drop)
        }
        sent => sent.map(drop),
    }
}

/// Asks a router to end a subscriber's session (RFC 5176 Disconnect-Request), identified by
/// its User-Name and, when known, its Acct-Session-Id and Framed-IP-Address. Signed with a
/// Message-Authenticator, which routers hardened against Blast-RADIUS require.
///
/// `Err` means the request could not be sent at all (a value too long, a local socket
/// failure); a router that does not answer is `Ok(Outcome::Timeout)`.
pub async fn disconnect(
    target: SocketAddr,
    secret: &[u8],
    user_name: &str,
    acct_session_id: Option<&str>,
    framed_ip: Option<Ipv4Addr>,
    timeout: Duration,
    retries: u32,
) -> Result<Outcome, SendError> {
    let mut packet = session_packet(Code::DisconnectRequest, user_name, acct_session_id);
    if let Some(ip) = framed_ip {
        packet = packet.with(Attribute::ipv4(kind::FRAMED_IP_ADDRESS, ip));
    }
    outcome(send(target, packet, secret, timeout, retries).await)
}

/// Changes a live session's authorization (RFC 5176 CoA-Request), e.g. a new
/// `Mikrotik-Rate-Limit` after a plan change, with a Message-Authenticator. `Err` and
/// [`Outcome::Timeout`] mean what they mean for [`disconnect`].
pub async fn coa(
    target: SocketAddr,
    secret: &[u8],
    user_name: &str,
    acct_session_id: Option<&str>,
    attributes: Vec<Attribute>,
    timeout: Duration,
    retries: u32,
) -> Result<Outcome, SendError> {
    let mut packet = session_packet(Code::CoaRequest, user_name, acct_session_id);
    packet.attributes.extend(attributes);
    outcome(send(target, packet, secret, timeout, retries).await)
}

/// Authenticates with PAP (User-Name, hidden User-Password, `extra` attributes and a
/// Message-Authenticator); the reply is an Access-Accept, Access-Reject or
/// Access-Challenge.
pub async fn access_request(
    target: SocketAddr,
    secret: &[u8],
    user_name: &str,
    password: &str,
    extra: Vec<Attribute>,
    timeout: Duration,
    retries: u32,
) -> Result<Reply, SendError> {
    let mut packet = Packet::new(Code::AccessRequest, 0)
        .with(Attribute::string(kind::USER_NAME, user_name))
        .with(Attribute::string(kind::USER_PASSWORD, password))
        .with_message_authenticator();
    packet.attributes.extend(extra);
    send(target, packet, secret, timeout, retries).await
}

/// Asks a server whether it is up (RFC 5997 Status-Server, which must carry a
/// Message-Authenticator); it answers on its authentication and accounting ports.
pub async fn status_server(
    target: SocketAddr,
    secret: &[u8],
    timeout: Duration,
    retries: u32,
) -> Result<Reply, SendError> {
    let packet = Packet::new(Code::StatusServer, 0).with_message_authenticator();
    send(target, packet, secret, timeout, retries).await
}

/// RFC 5176 §3.5's name of an Error-Cause value.
pub fn error_cause_name(error_cause: u32) -> &'static str {
    match error_cause {
        201 => "Residual Session Context Removed",
        202 => "Invalid EAP Packet (Ignored)",
        401 => "Unsupported Attribute",
        402 => "Missing Attribute",
        403 => "NAS Identification Mismatch",
        404 => "Invalid Request",
        405 => "Unsupported Service",
        406 => "Unsupported Extension",
        407 => "Invalid Attribute Value",
        501 => "Administratively Prohibited",
        502 => "Request Not Routable (Proxy)",
        503 => "Session Context Not Found",
        504 => "Session Context Not Removable",
        505 => "Other Proxy Processing Error",
        506 => "Resources Unavailable",
        507 => "Request Initiated",
        508 => "Multiple Session Selection Unsupported",
        _ => "Unknown Error-Cause",
    }
}

fn session_packet(code: Code, user_name: &str, acct_session_id: Option<&str>) -> Packet {
    let mut packet = Packet::new(code, 0)
        .with(Attribute::string(kind::USER_NAME, user_name))
        .with_message_authenticator();
    if let Some(id) = acct_session_id {
        packet = packet.with(Attribute::string(kind::ACCT_SESSION_ID, id));
    }
    packet
}

fn outcome(sent: Result<Reply, SendError>) -> Result<Outcome, SendError> {
    match sent {
        Ok(reply) => Ok(match reply.packet.code {
            Code::DisconnectAck | Code::CoaAck => Outcome::Ack,
            _ => Outcome::Nak {
                error_cause: reply.packet.error_cause(),
            },
        }),
        Err(SendError::Timeout) => Ok(Outcome::Timeout),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests;
