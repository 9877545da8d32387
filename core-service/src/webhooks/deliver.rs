//! The `webhook.deliver` job: one attempt to POST a delivery's body to its endpoint,
//! signed with the endpoint's secret (and the previous one during a rotation). The
//! attempt's result, the endpoint's failure streak and, when it comes to that, the
//! endpoint's disabling and its `webhook.disabled` event are written in the same
//! transaction as the job's completion.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::FutureExt;
use serde_json::json;

use super::store::{self, AttemptRecord, DeliveryRow, EndpointRow};
use super::{Webhook, WebhookSettings, signing, url};
use crate::audit::{self, Change};
use crate::clock::SharedClock;
use crate::db::{Db, Tx};
use crate::error::Result;
use crate::jobs::{Attempt, Backoff, Failure, Finish, NewJob, Outcome, Registry, Transition};

/// The delivery job's kind.
pub const DELIVER_KIND: &str = "webhook.deliver";
/// How much of an answer is kept in the delivery log.
const KEPT_BODY: usize = 1024;
/// How much of an answer is read at most (the rest is not waited for).
const READ_LIMIT: usize = 64 * 1024;

/// The job sending delivery `id`. Its attempts are bounded by the retry schedule, which
/// the handler applies.
pub(super) fn job(delivery_id: i64) -> NewJob {
    NewJob::new(DELIVER_KIND, json!({ "delivery_id": delivery_id })).attempts(1000)
}

struct Deliverer {
    db: Db,
    clock: SharedClock,
    settings: WebhookSettings,
    client: reqwest::Client,
}

/// Registers the delivery job with the schedule's waits as its backoff.
pub fn register(
    registry: &mut Registry,
    db: Db,
    clock: SharedClock,
    settings: WebhookSettings,
) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .dns_resolver(Arc::new(url::PublicResolver {
            allow_private: settings.allow_private_networks,
        }))
        .user_agent(concat!("Lastmile-Webhooks/", env!("CARGO_PKG_VERSION")))
        .pool_max_idle_per_host(32)
        .build()?;
    let waits: Vec<Duration> = settings.retry_schedule.iter().skip(1).copied().collect();
    let backoff = Backoff::Schedule(if waits.is_empty() {
        vec![Duration::ZERO]
    } else {
        waits
    });
    let deliverer = Arc::new(Deliverer {
        db,
        clock,
        settings,
        client,
    });
    registry.register(
        DELIVER_KIND,
        move |attempt: Attempt| {
            let deliverer = deliverer.clone();
            async move { deliverer.run(attempt).await }.boxed()
        },
        backoff,
    );
    Ok(())
}

impl Deliverer {
    async fn run(&self, attempt: Attempt) -> Outcome {
        let Some(delivery_id) = attempt
            .job
            .payload
            .get("delivery_id")
            .and_then(|v| v.as_i64())
        else {
            return permanent("the job names no delivery_id");
        };
        let loaded = async {
            let mut conn = self.db.conn();
            let delivery = store::find_delivery(&mut conn, delivery_id).await?;
            let endpoint = match &delivery {
                Some(d) => store::find_endpoint(&mut conn, d.webhook_id, None).await?,
                None => None,
            };
            Ok::<_, crate::error::Error>((delivery, endpoint))
        };
        let (delivery, endpoint) = match loaded.await {
            Ok(found) => found,
            Err(err) => return Outcome::retry(format!("cannot read the delivery: {err}")),
        };
        // The endpoint (and with it the delivery) was deleted: nothing to send.
        let Some(delivery) = delivery else {
            return Outcome::done();
        };
        if delivery.status == "delivered" {
            return Outcome::done();
        }
        let endpoint = match endpoint {
            Some(endpoint) if endpoint.active => endpoint,
            _ => {
                return Outcome::done_with(finish(move |tx, _, now| {
                    async move {
                        store::set_delivery_status(
                            &mut tx.conn(),
                            delivery_id,
                            "cancelled",
                            None,
                            now,
                        )
                        .await
                    }
                    .boxed()
                }));
            }
        };
        let last_attempt = usize::try_from(attempt.job.attempts).unwrap_or(usize::MAX)
            >= self.settings.retry_schedule.len();
        let sent = self.send(&endpoint, &delivery).await;
        metrics::counter!("lastmile_webhook_attempts_total", "result" => sent.label()).increment(1);
        let record = sent.record();
        let webhook_id = endpoint.id;
        let was_failing = endpoint.failing_since.is_some();
        let disable_after = chrono::Duration::from_std(self.settings.disable_after)
            .unwrap_or(chrono::Duration::days(5));
        match sent.result {
            Sent::Delivered => Outcome::done_with(finish(move |tx, _, now| {
                async move {
                    store::record_attempt(&mut tx.conn(), delivery_id, &record, now).await?;
                    // A success ends a failure streak; with none running there is nothing
                    // to write.
                    if was_failing {
                        store::mark_health(&mut tx.conn(), webhook_id, false, now).await?;
                    }
                    Ok(())
                }
                .boxed()
            })),
            Sent::Gone => {
                let outcome = permanent("the endpoint answered 410 Gone; it is disabled");
                outcome.with_finish(finish(move |tx, _, now| {
                    async move {
                        let mut record = record;
                        record.status = "dead";
                        store::record_attempt(&mut tx.conn(), delivery_id, &record, now).await?;
                        disable(tx, webhook_id, "The endpoint answered 410 Gone.", now).await
                    }
                    .boxed()
                }))
            }
            Sent::Failed { error } => {
                let outcome = if last_attempt {
                    permanent(error)
                } else {
                    Outcome::retry(error)
                };
                outcome.with_finish(finish(move |tx, transition, now| {
                    async move {
                        let mut record = record;
                        match transition {
                            Transition::Retrying(at) => {
                                record.status = "failed";
                                record.next_attempt_at = Some(at);
                            }
                            _ => record.status = "dead",
                        }
                        store::record_attempt(&mut tx.conn(), delivery_id, &record, now).await?;
                        let since =
                            store::mark_health(&mut tx.conn(), webhook_id, true, now).await?;
                        if since.is_some_and(|since| now - since >= disable_after) {
                            let reason = format!(
                                "Deliveries failed for {} without a success.",
                                spoken(disable_after)
                            );
                            disable(tx, webhook_id, &reason, now).await?;
                        }
                        Ok(())
                    }
                    .boxed()
                }))
            }
        }
    }

    async fn send(&self, endpoint: &EndpointRow, delivery: &DeliveryRow) -> Attempted {
        let started = Instant::now();
        let now = self.clock.now();
        let timestamp = now.timestamp();
        let body = delivery.payload.as_bytes();
        let mut signatures = vec![signing::standard_signature(
            &endpoint.secret,
            &delivery.event_id,
            timestamp,
            body,
        )];
        if let (Some(previous), Some(until)) = (
            &endpoint.previous_secret,
            endpoint.previous_secret_expires_at,
        ) && until > now
        {
            signatures.push(signing::standard_signature(
                previous,
                &delivery.event_id,
                timestamp,
                body,
            ));
        }
        let hex = signing::body_signature(&endpoint.secret, body);
        let target = match url::parse(&endpoint.url) {
            Ok(target) => target,
            Err(refused) => return Attempted::failed(started, refused.0),
        };
        // A literal address never reaches the resolver: check it here.
        if !self.settings.allow_private_networks
            && let Some(host) = target.host_str()
            && let Ok(ip) = host.trim_matches(['[', ']']).parse::<std::net::IpAddr>()
            && !url::is_public(ip)
        {
            return Attempted::failed(
                started,
                format!("{ip} is not a public address; private networks are not allowed"),
            );
        }
        let request = self
            .client
            .post(target)
            .header("content-type", "application/json")
            .header("webhook-id", &delivery.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures.join(" "))
            .header("x-isp-event", &delivery.event_type)
            .header("x-isp-signature", format!("sha256={hex}"))
            .header("x-signature", &hex)
            .body(delivery.payload.clone());
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(err) => {
                let error = if err.is_timeout() {
                    format!("no answer within {} s", self.settings.timeout.as_secs())
                } else {
                    format!("could not connect: {}", error_chain(&err))
                };
                return Attempted::failed(started, error);
            }
        };
        let status = response.status();
        let mut kept = Vec::new();
        let mut read = 0;
        while read < READ_LIMIT {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    read += chunk.len();
                    let room = KEPT_BODY.saturating_sub(kept.len());
                    kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                _ => break,
            }
        }
        let body = String::from_utf8_lossy(&kept).into_owned();
        let code = i32::from(status.as_u16());
        let result = if status.is_success() {
            Sent::Delivered
        } else if status == reqwest::StatusCode::GONE {
            Sent::Gone
        } else {
            Sent::Failed {
                error: format!("the endpoint answered {code}"),
            }
        };
        Attempted {
            result,
            response_status: Some(code),
            response_body: Some(body),
            duration: started.elapsed(),
        }
    }
}

/// How an attempt went.
enum Sent {
    Delivered,
    Gone,
    Failed { error: String },
}

struct Attempted {
    result: Sent,
    response_status: Option<i32>,
    response_body: Option<String>,
    duration: Duration,
}

impl Attempted {
    fn failed(started: Instant, error: String) -> Self {
        Self {
            result: Sent::Failed { error },
            response_status: None,
            response_body: None,
            duration: started.elapsed(),
        }
    }

    fn label(&self) -> &'static str {
        match self.result {
            Sent::Delivered => "delivered",
            Sent::Gone => "gone",
            Sent::Failed { .. } => "failed",
        }
    }

    fn record(&self) -> AttemptRecord {
        AttemptRecord {
            status: "delivered",
            response_status: self.response_status,
            response_body: self.response_body.clone(),
            duration_ms: i64::try_from(self.duration.as_millis()).unwrap_or(i64::MAX),
            error: match &self.result {
                Sent::Failed { error } => Some(error.clone()),
                Sent::Gone => Some("410 Gone".into()),
                Sent::Delivered => None,
            },
            next_attempt_at: None,
        }
    }
}

fn permanent(message: impl Into<String>) -> Outcome {
    Outcome {
        result: Err(Failure::Permanent(message.into())),
        finish: None,
    }
}

/// A finish step that is also told the time.
fn finish<F>(f: F) -> Finish
where
    F: for<'t> FnOnce(
            &'t mut Tx,
            Transition,
            DateTime<Utc>,
        ) -> futures::future::BoxFuture<'t, Result<()>>
        + Send
        + 'static,
{
    Box::new(move |tx, completion| f(tx, completion.transition, completion.now))
}

/// Turns the endpoint off and publishes `webhook.disabled`, as the system.
async fn disable(tx: &mut Tx, webhook_id: i64, reason: &str, now: DateTime<Utc>) -> Result<()> {
    let Some(before) = store::find_endpoint(&mut tx.conn(), webhook_id, None).await? else {
        return Ok(());
    };
    if !store::disable_endpoint(&mut tx.conn(), webhook_id, reason, now).await? {
        return Ok(());
    }
    let Some(after) = store::find_endpoint(&mut tx.conn(), webhook_id, None).await? else {
        return Ok(());
    };
    let (before, after) = (Webhook::from(before), Webhook::from(after));
    let old = serde_json::Map::from_iter([("active".to_owned(), json!(true))]);
    let new = serde_json::Map::from_iter([
        ("active".to_owned(), json!(false)),
        ("disabled_reason".to_owned(), json!(reason)),
    ]);
    let change = Change::updated("webhook.disabled".into(), "webhook", before.id, &old, &new)
        .because(Some(reason))
        .publish(after.subject());
    audit::record_system(&mut tx.conn(), change, now).await
}

/// A period as an operator reads it: "5 days", "1 hour", "90 minutes", in the largest
/// unit that shows it whole.
fn spoken(period: chrono::Duration) -> String {
    let seconds = period.num_seconds().max(0);
    let (count, unit) = [(86_400, "day"), (3600, "hour"), (60, "minute")]
        .into_iter()
        .find(|(size, _)| seconds >= *size && seconds % size == 0)
        .map_or((seconds, "second"), |(size, unit)| (seconds / size, unit));
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural}")
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::spoken;
    use chrono::Duration;

    #[test]
    fn periods_are_spoken_in_their_largest_whole_unit() {
        assert_eq!(spoken(Duration::days(5)), "5 days");
        assert_eq!(spoken(Duration::days(1)), "1 day");
        assert_eq!(spoken(Duration::hours(1)), "1 hour");
        assert_eq!(spoken(Duration::hours(36)), "36 hours");
        assert_eq!(spoken(Duration::minutes(90)), "90 minutes");
        assert_eq!(spoken(Duration::seconds(45)), "45 seconds");
    }
}
