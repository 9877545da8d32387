//! The jobs that tell a router (NAS) about a session: an RFC 5176 Disconnect-Request, or a
//! CoA-Request with the session's new `Mikrotik-Rate-Limit`. Each is signed with the
//! router's secret and a Message-Authenticator; a timeout or a NAK is retried with backoff,
//! and what the router answered (ACK, or NAK with its Error-Cause) is kept on the job.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use serde::Deserialize;

use super::{COA_KIND, DISCONNECT_KIND};
use crate::audit::{self, Change};
use crate::db::{Db, Tx};
use crate::jobs::{self, Attempt, Backoff, Completion, Failure, Outcome, Registry, Transition};
use crate::on_conn;
use crate::radius::{self as client, Attribute, Outcome as NasOutcome, error_cause_name};

/// MikroTik's vendor id and its `Mikrotik-Rate-Limit` attribute.
const MIKROTIK: u32 = 14988;
const MIKROTIK_RATE_LIMIT: u8 = 8;
/// RFC 5176 Error-Cause 503: the NAS has no such session (it ended meanwhile).
const SESSION_CONTEXT_NOT_FOUND: u32 = 503;

/// How the jobs talk to routers.
#[derive(Debug, Clone)]
pub struct NasSettings {
    /// How long one transmission waits for an answer.
    pub timeout: Duration,
    /// Retransmissions within one attempt.
    pub retransmits: u32,
    /// The wait between attempts.
    pub backoff: Backoff,
}

impl Default for NasSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(3),
            retransmits: 2,
            backoff: Backoff::Exponential {
                base: Duration::from_secs(10),
                cap: Duration::from_secs(600),
            },
        }
    }
}

#[derive(Debug, Deserialize)]
struct Payload {
    service_id: Option<i64>,
    username: String,
    session_id: String,
    nas_ip: String,
    framed_ip: Option<String>,
    rate_limit: Option<String>,
}

/// The router a session's NAS address names.
#[derive(Debug, sqlx::FromRow)]
struct Router {
    secret: String,
    coa_port: i32,
    kind: String,
}

async fn router(db: &Db, ip: &str) -> crate::error::Result<Option<Router>> {
    Ok(on_conn!(&mut db.conn(), c => sqlx::query_as(
        "SELECT secret, coa_port, kind FROM routers WHERE ip_address = $1")
        .bind(ip)
        .fetch_optional(c)
        .await)?)
}

/// Registers the Disconnect and CoA jobs.
pub fn register(registry: &mut Registry, db: Db, settings: NasSettings) {
    let settings = Arc::new(settings);
    for kind in [DISCONNECT_KIND, COA_KIND] {
        let (db, settings) = (db.clone(), settings.clone());
        let backoff = settings.backoff.clone();
        registry.register(
            kind,
            move |attempt: Attempt| {
                let (db, settings) = (db.clone(), settings.clone());
                async move { run(&db, &settings, attempt).await }.boxed()
            },
            backoff,
        );
    }
}

/// One attempt: find the router, send, and keep its answer on the job.
async fn run(db: &Db, settings: &NasSettings, attempt: Attempt) -> Outcome {
    let job_id = attempt.job.id;
    let payload: Payload = match serde_json::from_value(attempt.job.payload.clone()) {
        Ok(payload) => payload,
        Err(err) => return permanent(format!("unreadable payload: {err}")),
    };
    let router = match router(db, &payload.nas_ip).await {
        Ok(Some(router)) => router,
        Ok(None) => {
            let message = format!(
                "No router with IP address {} is registered.",
                payload.nas_ip
            );
            return permanent(message.clone()).with_finish(finish(
                job_id,
                payload.service_id,
                message,
            ));
        }
        Err(err) => return Outcome::retry(err.to_string()),
    };
    let Ok(ip) = payload.nas_ip.parse::<IpAddr>() else {
        return permanent(format!("{} is not an IP address", payload.nas_ip));
    };
    let port = u16::try_from(router.coa_port).unwrap_or(3799);
    let target = SocketAddr::new(ip, port);
    let secret = router.secret.as_bytes();
    let framed_ip = payload
        .framed_ip
        .as_deref()
        .and_then(|ip| ip.parse::<Ipv4Addr>().ok());
    // Only MikroTik reads Mikrotik-Rate-Limit; other routers are disconnected instead, so
    // the subscriber reconnects with the new rate from the tables.
    let coa_rate = payload
        .rate_limit
        .as_deref()
        .filter(|_| attempt.job.kind == COA_KIND && router.kind == "mikrotik");
    let (request, sent) = match coa_rate {
        Some(rate) => (
            "CoA",
            client::coa(
                target,
                secret,
                &payload.username,
                Some(&payload.session_id),
                vec![Attribute::vendor_string(
                    MIKROTIK,
                    MIKROTIK_RATE_LIMIT,
                    rate,
                )],
                settings.timeout,
                settings.retransmits,
            )
            .await,
        ),
        None => (
            "Disconnect",
            client::disconnect(
                target,
                secret,
                &payload.username,
                Some(&payload.session_id),
                framed_ip,
                settings.timeout,
                settings.retransmits,
            )
            .await,
        ),
    };
    let (result, outcome) = match sent {
        Ok(NasOutcome::Ack) => (format!("{request}-ACK from {target}"), Outcome::done()),
        Ok(NasOutcome::Nak {
            error_cause: Some(SESSION_CONTEXT_NOT_FOUND),
        }) => (
            format!("{request}-NAK from {target}: the session had already ended (503)"),
            Outcome::done(),
        ),
        Ok(NasOutcome::Nak { error_cause }) => {
            let cause = error_cause.map_or_else(
                || "no Error-Cause".to_owned(),
                |c| format!("Error-Cause {c} {}", error_cause_name(c)),
            );
            let text = format!("{request}-NAK from {target}: {cause}");
            (text.clone(), Outcome::retry(text))
        }
        Ok(NasOutcome::Timeout) => {
            let text = format!("no answer from {target} to the {request}-Request");
            (text.clone(), Outcome::retry(text))
        }
        Err(err) => {
            let text = format!("the {request}-Request could not be sent to {target}: {err}");
            (text.clone(), Outcome::retry(text))
        }
    };
    outcome.with_finish(finish(job_id, payload.service_id, result))
}

/// Keeps `result` on the job and, when the job is given up, says so as an event.
fn finish(job_id: i64, service_id: Option<i64>, result: String) -> jobs::Finish {
    Box::new(move |tx: &mut Tx, completion: Completion| {
        async move {
            jobs::set_result(&mut tx.conn(), job_id, &result).await?;
            if completion.transition == Transition::Dead {
                failed(tx, job_id, service_id, &result, completion).await?;
            }
            Ok(())
        }
        .boxed()
    })
}

/// `provisioning.failed`: the router was never told, after every attempt. Operators (and
/// webhooks) learn it; the job stays dead until retried.
async fn failed(
    tx: &mut Tx,
    job_id: i64,
    service_id: Option<i64>,
    result: &str,
    completion: Completion,
) -> crate::error::Result<()> {
    let Some(service_id) = service_id else {
        return Ok(());
    };
    let Some(subject) = crate::services::subject_of(&mut tx.conn(), service_id).await? else {
        return Ok(());
    };
    let details = serde_json::json!({"provisioning_job_id": job_id, "result": result});
    let change = Change::updated(
        "provisioning.failed".into(),
        "service",
        service_id,
        &serde_json::Map::new(),
        details
            .as_object()
            .cloned()
            .as_ref()
            .unwrap_or(&serde_json::Map::new()),
    )
    .publish(subject);
    audit::record_system(&mut tx.conn(), change, completion.now).await
}

fn permanent(message: String) -> Outcome {
    Outcome {
        result: Err(Failure::Permanent(message)),
        finish: None,
    }
}
