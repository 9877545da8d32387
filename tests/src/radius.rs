//! A real FreeRADIUS for a test: its configuration written by the same function as
//! `lastmile radius config` (so what operators run is what the tests prove), started on
//! free ports against the test's own database, and stopped when the test ends. Tests
//! speak RADIUS to it with the core's own client, and play a router (NAS) receiving
//! Disconnect and CoA requests with [`TestNas`].

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::time::{Duration, Instant};

use lastmile::{RadiusConfigOptions, write_radius_config};
use lastmile_core::radius::{
    Attribute, Code, Packet, Reply, access_request, kind, send, status_server, vendor,
};
use tokio::net::UdpSocket;
use tokio::process::{Child, Command};

use crate::{TestApp, in_ci};

const FREERADIUS: &str = "/usr/sbin/freeradius";

/// Whether FreeRADIUS is installed. When it is not, a RADIUS test says it is skipped, and
/// fails under CI (where `.ci/run` installs it).
pub fn freeradius_available() -> bool {
    let found = std::path::Path::new(FREERADIUS).exists();
    if !found {
        assert!(
            !in_ci(),
            "FreeRADIUS is not installed ({FREERADIUS}); CI installs it"
        );
        eprintln!("skipped: FreeRADIUS is not installed ({FREERADIUS})");
    }
    found
}

/// A running FreeRADIUS.
#[derive(Debug)]
pub struct FreeRadius {
    /// Its authentication address.
    pub auth: SocketAddr,
    /// Its accounting address.
    pub acct: SocketAddr,
    /// The secret of requests from 127.0.0.1.
    pub secret: String,
    child: Child,
    _dir: tempfile::TempDir,
}

/// Two UDP ports free a moment ago.
fn free_ports() -> (u16, u16) {
    let take = || {
        std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .map(|a| a.port())
            .expect("a free UDP port")
    };
    let first = take();
    let mut second = take();
    while second == first {
        second = take();
    }
    (first, second)
}

impl FreeRadius {
    /// Starts FreeRADIUS on `app`'s database; requests from 127.0.0.1 use `secret` (the
    /// secret of a router at 127.0.0.1, when the test made one).
    pub async fn start(app: &TestApp, secret: &str) -> FreeRadius {
        let mut last = String::new();
        for _ in 0..3 {
            let dir = tempfile::tempdir().expect("temporary directory");
            let raddb = dir.path().join("raddb");
            let (auth_port, acct_port) = free_ports();
            let options = RadiusConfigOptions {
                dir: raddb.clone(),
                listen: Ipv4Addr::LOCALHOST.into(),
                auth_port,
                acct_port,
                local_secret: Some(secret.to_owned()),
                threads: 4,
            };
            write_radius_config(&app.database.url, &options)
                .await
                .expect("lastmile radius config");
            let log = dir.path().join("freeradius.out");
            let out = std::fs::File::create(&log).expect("log file");
            let child = Command::new(FREERADIUS)
                .args(["-f", "-l", "stdout", "-d"])
                .arg(&raddb)
                .stdout(Stdio::from(out.try_clone().expect("log file")))
                .stderr(Stdio::from(out))
                .kill_on_drop(true)
                .spawn()
                .expect("start freeradius");
            let mut server = FreeRadius {
                auth: SocketAddr::from((Ipv4Addr::LOCALHOST, auth_port)),
                acct: SocketAddr::from((Ipv4Addr::LOCALHOST, acct_port)),
                secret: secret.to_owned(),
                child,
                _dir: dir,
            };
            if server.ready().await {
                return server;
            }
            last = std::fs::read_to_string(&log).unwrap_or_default();
            let _ = server.child.kill().await;
            if !last.contains("Address already in use") {
                break;
            }
        }
        panic!("FreeRADIUS did not start:\n{last}");
    }

    /// Waits (up to 15 s) until the server answers Status-Server.
    async fn ready(&mut self) -> bool {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            let answer = status_server(
                self.auth,
                self.secret.as_bytes(),
                Duration::from_millis(100),
                0,
            )
            .await;
            if answer.is_ok() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// A PAP Access-Request for `user` with `password` and `extra` attributes.
    pub async fn auth(&self, user: &str, password: &str, extra: Vec<Attribute>) -> Reply {
        access_request(
            self.auth,
            self.secret.as_bytes(),
            user,
            password,
            extra,
            Duration::from_secs(2),
            2,
        )
        .await
        .expect("FreeRADIUS answers")
    }

    /// Whether `user` with `password` is accepted; with its rate limit and address.
    pub async fn login(&self, user: &str, password: &str) -> Login {
        Login::of(&self.auth(user, password, Vec::new()).await)
    }

    /// An Accounting-Request Start for `user` from NAS 127.0.0.1: an open session.
    pub async fn start_session(&self, user: &str, session_id: &str, framed_ip: Option<Ipv4Addr>) {
        let mut packet = Packet::new(Code::AccountingRequest, 0)
            .with(Attribute::string(kind::USER_NAME, user))
            .with(Attribute::integer(kind::ACCT_STATUS_TYPE, 1))
            .with(Attribute::string(kind::ACCT_SESSION_ID, session_id))
            .with(Attribute::ipv4(kind::NAS_IP_ADDRESS, Ipv4Addr::LOCALHOST));
        if let Some(ip) = framed_ip {
            packet = packet.with(Attribute::ipv4(kind::FRAMED_IP_ADDRESS, ip));
        }
        let reply = send(
            self.acct,
            packet,
            self.secret.as_bytes(),
            Duration::from_secs(2),
            2,
        )
        .await
        .expect("FreeRADIUS answers accounting");
        assert_eq!(reply.packet.code, Code::AccountingResponse);
    }
}

/// What an Access-Request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// Access-Accept, with `Mikrotik-Rate-Limit` and `Framed-IP-Address` when sent.
    Accepted {
        /// The rate limit.
        rate: Option<String>,
        /// The address.
        ip: Option<Ipv4Addr>,
    },
    /// Access-Reject.
    Rejected,
}

impl Login {
    /// The outcome of `reply`.
    pub fn of(reply: &Reply) -> Login {
        match reply.packet.code {
            Code::AccessAccept => Login::Accepted {
                rate: reply
                    .packet
                    .vendor_string(vendor::MIKROTIK, vendor::MIKROTIK_RATE_LIMIT)
                    .map(str::to_owned),
                ip: reply.packet.framed_ip_address(),
            },
            _ => Login::Rejected,
        }
    }
}

/// A router that receives Disconnect and CoA requests on 127.0.0.1.
#[derive(Debug)]
pub struct TestNas {
    socket: UdpSocket,
    secret: String,
}

impl TestNas {
    /// A NAS with `secret` on a free port.
    pub async fn bind(secret: &str) -> TestNas {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind NAS");
        TestNas {
            socket,
            secret: secret.to_owned(),
        }
    }

    /// Its port (the router's `coa_port`).
    pub fn port(&self) -> u16 {
        self.socket.local_addr().expect("address").port()
    }

    /// The next request (within `wait`), verified with the secret; `answer` picks the
    /// reply's code (None: stay silent). Returns the request.
    pub async fn receive(&self, wait: Duration, answer: Option<Code>) -> Option<Packet> {
        let mut buffer = vec![0; 4096];
        let (length, from) = tokio::time::timeout(wait, self.socket.recv_from(&mut buffer))
            .await
            .ok()?
            .expect("receive");
        let request = Packet::decode(&buffer[..length]).expect("a RADIUS packet");
        assert!(
            request.verify_request(self.secret.as_bytes()),
            "the request's authenticators do not verify with the router's secret"
        );
        if let Some(code) = answer {
            let reply = Packet::new(code, request.identifier);
            let bytes = reply
                .encode_response(&request.authenticator, self.secret.as_bytes())
                .expect("encode reply");
            self.socket.send_to(&bytes, from).await.expect("reply");
        }
        Some(request)
    }
}
