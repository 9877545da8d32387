//! Webhooks: endpoints that receive events over HTTP, signed as the Standard Webhooks
//! specification says (plus the `X-ISP-Signature` / `X-Signature` headers older receivers
//! check), retried on a schedule, in event order per resource.
//!
//! Each event that matches an active endpoint becomes a delivery row and a
//! `webhook.deliver` job in the transaction that writes the event ([`fan_out`]), so no
//! committed event is ever missed. Deliveries of one resource's events to one endpoint
//! share an ordering key: a later one waits while an earlier one is still being retried.
//! A delivery's body is fixed when it is created, so every attempt and every redelivery
//! sends the same bytes under the same `webhook-id`.
//!
//! `url` holds the outbound safety rules, `signing` the signatures, `store` the SQL,
//! `service` the operations, `deliver` the job, and `grpc` the adapter.

mod deliver;
pub mod grpc;
mod service;
pub mod signing;
mod store;
pub mod url;

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::db::Conn;
use crate::error::Result;
use crate::events::{Event, type_matches};
use crate::jobs::{self, NewJob};

pub use deliver::{DELIVER_KIND, register};
pub use service::{Delivery, Webhook, WebhookInput, Webhooks};

/// How webhooks behave in this deployment.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// The wait before each attempt: the first is normally 0 (at once).
    pub retry_schedule: Vec<Duration>,
    /// Allow endpoints on loopback, private, link-local and metadata addresses.
    pub allow_private_networks: bool,
    /// An endpoint failing without a success for this long is disabled.
    pub disable_after: Duration,
    /// How long an attempt may take.
    pub timeout: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            retry_schedule: default_schedule(),
            allow_private_networks: false,
            disable_after: Duration::from_secs(5 * 24 * 3600),
            timeout: Duration::from_secs(15),
        }
    }
}

/// At once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h later.
pub fn default_schedule() -> Vec<Duration> {
    [0, 5, 300, 1800, 7200, 18_000, 36_000, 36_000]
        .into_iter()
        .map(Duration::from_secs)
        .collect()
}

/// Reads a retry schedule: seconds separated by commas, e.g. `0,5,300`.
pub fn parse_schedule(text: &str) -> std::result::Result<Vec<Duration>, String> {
    let waits: std::result::Result<Vec<Duration>, String> = text
        .split(',')
        .map(|part| {
            part.trim()
                .parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| format!("'{}' is not a whole number of seconds", part.trim()))
        })
        .collect();
    let waits = waits?;
    if waits.is_empty() || waits.len() > 50 {
        return Err("the schedule needs 1 to 50 entries".into());
    }
    Ok(waits)
}

/// The delivery job's ordering key: one resource's events to one endpoint go in order.
fn ordering_key(webhook_id: i64, event: &Event) -> String {
    format!(
        "webhook:{webhook_id}:{}:{}",
        event.resource_type, event.resource_id
    )
}

/// Creates a delivery (and its job) of `event` for every active endpoint that wants it,
/// inside the transaction writing the event.
pub async fn fan_out(conn: &mut Conn<'_>, event: &Event, at: DateTime<Utc>) -> Result<()> {
    let endpoints = Endpoints::active(conn).await?;
    endpoints.fan_out(conn, event, at).await
}

/// The active endpoints, read once for the events of one transaction.
#[derive(Debug)]
pub struct Endpoints(Vec<store::Target>);

impl Endpoints {
    /// The endpoints active now.
    pub async fn active(conn: &mut Conn<'_>) -> Result<Self> {
        Ok(Self(store::active_endpoints(conn).await?))
    }

    /// A delivery of `event` to each of them that wants it, as [`fan_out`] makes.
    pub async fn fan_out(
        &self,
        conn: &mut Conn<'_>,
        event: &Event,
        at: DateTime<Utc>,
    ) -> Result<()> {
        deliver_to(conn, &self.0, event, at).await
    }
}

async fn deliver_to(
    conn: &mut Conn<'_>,
    endpoints: &[store::Target],
    event: &Event,
    at: DateTime<Utc>,
) -> Result<()> {
    if endpoints.is_empty() {
        return Ok(());
    }
    let body = event.envelope().to_string();
    for endpoint in endpoints {
        let wanted = type_matches(&endpoint.events, &event.event_type)
            && endpoint
                .partner_id
                .is_none_or(|partner| event.partner_id == Some(partner));
        if !wanted {
            continue;
        }
        let delivery =
            store::insert_delivery(conn, endpoint.id, &event.uuid, &event.event_type, &body, at)
                .await?;
        let job = deliver::job(delivery).ordered_by(ordering_key(endpoint.id, event));
        jobs::enqueue(conn, job, at).await?;
    }
    Ok(())
}

/// The job that sends delivery `id` (used for redeliveries and tests, without ordering).
fn delivery_job(id: i64) -> NewJob {
    deliver::job(id)
}
