//! A webhook receiver for the tests: an HTTP server on 127.0.0.1 that records every
//! request (headers, raw body, arrival order) and answers the statuses a test scripts,
//! then a default.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// How long a test waits for deliveries before it fails.
pub const PATIENCE: Duration = Duration::from_secs(30);
/// How often a waiting test looks again.
pub const POLL: Duration = Duration::from_millis(20);

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    /// 0 for the first request this receiver saw, then 1, 2, …
    pub order: usize,
    /// The request's path.
    pub path: String,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body, byte for byte.
    pub body: Bytes,
}

impl Received {
    /// The header `name` as text; fails the test when it is missing.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
            .to_str()
            .unwrap_or_else(|_| panic!("the {name} header is not text"))
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

#[derive(Debug)]
struct Log {
    requests: Vec<Received>,
    script: VecDeque<u16>,
    default: u16,
}

/// A running receiver; it stops when dropped.
#[derive(Debug)]
pub struct Receiver {
    addr: SocketAddr,
    log: Arc<Mutex<Log>>,
    stop: CancellationToken,
}

impl Receiver {
    /// A receiver on a free port that answers 200 to everything.
    pub async fn start() -> Self {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// A receiver on `addr` that answers 200 to everything.
    pub async fn start_on(addr: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .unwrap_or_else(|e| panic!("bind the receiver to {addr}: {e}"));
        let addr = listener.local_addr().expect("receiver address");
        let log = Arc::new(Mutex::new(Log {
            requests: Vec::new(),
            script: VecDeque::new(),
            default: 200,
        }));
        let stop = CancellationToken::new();
        let app = Router::new().fallback(record).with_state(log.clone());
        let stopped = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stopped.cancelled_owned())
                .await;
        });
        Self { addr, log, stop }
    }

    /// Answers `statuses` to the next requests in order, then `default`.
    pub fn answering(self, statuses: &[u16], default: u16) -> Self {
        {
            let mut log = self.log.lock().unwrap();
            log.script = statuses.iter().copied().collect();
            log.default = default;
        }
        self
    }

    /// The URL to register.
    pub fn url(&self) -> String {
        format!("http://{}/hooks", self.addr)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Received> {
        self.log.lock().unwrap().requests.clone()
    }

    /// Waits (at most [`PATIENCE`]) until `count` requests have arrived; answers them all.
    pub async fn wait_for(&self, count: usize, what: &str) -> Vec<Received> {
        self.wait_for_within(count, PATIENCE, what).await
    }

    /// Waits at most `within` until `count` requests have arrived; answers them all.
    pub async fn wait_for_within(
        &self,
        count: usize,
        within: Duration,
        what: &str,
    ) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let requests = self.requests();
            if requests.len() >= count {
                return requests;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: {} of {count} requests arrived within {within:?}",
                requests.len()
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn record(
    State(log): State<Arc<Mutex<Log>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut log = log.lock().unwrap();
    let order = log.requests.len();
    log.requests.push(Received {
        order,
        path: uri.path().to_owned(),
        headers,
        body,
    });
    let status = log.script.pop_front().unwrap_or(log.default);
    StatusCode::from_u16(status).expect("a valid status")
}

/// An address nothing listens on: a port bound, then released.
pub fn unused_address() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address")
}

/// Waits (at most `within`) until `check` answers something; fails naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not seen within {within:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}
