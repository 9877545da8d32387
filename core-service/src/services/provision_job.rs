//! The provisioning job: in a transaction of its own, as the system, it puts the service
//! on the router and VLAN it was given, assigns its address, moves it to the plan and
//! activates it when pending. Each step changes only what differs, so a second run
//! changes nothing more. What a request would have refused (an exhausted pool, a plan
//! archived meanwhile, a terminated service) kills the job with the reason kept on it; a
//! database failure is retried.

use futures::FutureExt;
use serde::Deserialize;

use super::provision::{Assignment, PROVISION_KIND};
use super::service::{Actor, check_plan, customer_suspended, found};
use super::{Service, ServiceAction, ServiceInput, ServiceStatus, Services};
use crate::db::{Conn, Tx};
use crate::error::{Error, FieldErrors, Result};
use crate::jobs::{self, Attempt, Completion, Failure, Outcome, Registry};
use crate::on_conn;

#[derive(Debug, Deserialize)]
struct Payload {
    service_id: i64,
    router_id: Option<i64>,
    vlan_id: Option<i32>,
    ip_assignment: Option<String>,
    plan_id: Option<i64>,
}

/// Registers the provisioning job.
pub fn register_provision(registry: &mut Registry, services: Services) {
    registry.register(
        PROVISION_KIND,
        move |attempt: Attempt| {
            let services = services.clone();
            async move { services.run_provision(attempt).await }.boxed()
        },
        jobs::default_backoff(),
    );
}

impl Services {
    /// One attempt of a provisioning job.
    async fn run_provision(&self, attempt: Attempt) -> Outcome {
        let job_id = attempt.job.id;
        let payload: Payload = match serde_json::from_value(attempt.job.payload) {
            Ok(payload) => payload,
            Err(err) => {
                let message = format!("unreadable payload: {err}");
                return Outcome {
                    result: Err(Failure::Permanent(message.clone())),
                    finish: Some(finish(job_id, message)),
                };
            }
        };
        let mut tx = match self.db().begin().await {
            Ok(tx) => tx,
            Err(err) => return Outcome::retry(err.to_string()),
        };
        match self.provision_now(&mut tx, &payload).await {
            Ok(result) => match tx.commit().await {
                Ok(()) => Outcome::done_with(finish(job_id, result)),
                Err(err) => Outcome::retry(err.to_string()),
            },
            Err(err) => {
                drop(tx);
                match refusal(&err) {
                    Some(message) => Outcome {
                        result: Err(Failure::Permanent(message.clone())),
                        finish: Some(finish(job_id, message)),
                    },
                    None => Outcome::retry(err.to_string()),
                }
            }
        }
    }

    /// Applies what `payload` asks to its service; answers what the service now is.
    async fn provision_now(&self, tx: &mut Tx, payload: &Payload) -> Result<String> {
        let id = payload.service_id;
        let current = found(&mut tx.conn(), id).await?;
        if current.status == ServiceStatus::Terminated {
            return Err(Error::Conflict(format!(
                "Service {id} is terminated; it was not provisioned."
            )));
        }
        let (input, paths) = changes(&mut tx.conn(), &current, payload).await?;
        if !paths.is_empty() {
            self.update_as(tx, Actor::System, id, &input, &paths)
                .await?;
        }
        if let Some(plan_id) = payload.plan_id {
            let mut errors = FieldErrors::new();
            check_plan(&mut tx.conn(), Some(plan_id), &mut errors).await?;
            errors.into_result()?;
            let current = found(&mut tx.conn(), id).await?;
            if plan_id != current.plan_id || current.pending_plan_id.is_some() {
                let now = self.now();
                self.apply_plan(tx, Actor::System, &current, plan_id, None, now)
                    .await?;
            }
        }
        let current = found(&mut tx.conn(), id).await?;
        if current.status == ServiceStatus::PendingActivation {
            if customer_suspended(tx, current.customer_id).await? {
                self.suspend_pending(tx, &current).await?;
            } else {
                self.act_as(
                    tx,
                    Actor::System,
                    &current,
                    ServiceAction::Activate,
                    None,
                    false,
                )
                .await?;
            }
        }
        let done = found(&mut tx.conn(), id).await?;
        Ok(summary(&done))
    }
}

/// The input and mask that bring `current` to what `payload` asks (nothing when it is
/// there already).
async fn changes(
    conn: &mut Conn<'_>,
    current: &Service,
    payload: &Payload,
) -> Result<(ServiceInput, Vec<String>)> {
    let mut input = ServiceInput::default();
    let mut paths = Vec::new();
    if let Some(router) = payload.router_id {
        input.router_id = Some(router);
        paths.push("router_id".to_owned());
    }
    if let Some(vlan) = payload.vlan_id {
        input.vlan_id = Some(vlan);
        paths.push("vlan_id".to_owned());
    }
    let assignment = match payload.ip_assignment.as_deref() {
        None => return Ok((input, paths)),
        Some(text) => Assignment::parse(text)
            .ok_or_else(|| refused(&format!("{text} is not an IP assignment.")))?,
    };
    match assignment {
        Assignment::Dynamic => {
            paths.push("ip_pool_id".to_owned());
            paths.push("static_ip".to_owned());
        }
        Assignment::Static => {
            let router = payload.router_id.or(current.router_id);
            let pool = match router {
                Some(router) => static_pool(conn, router).await?,
                None => None,
            }
            .or(current.ip_pool_id)
            .ok_or_else(|| refused("The service's router has no static IP pool."))?;
            if current.ip_pool_id != Some(pool) || current.ip_address.is_none() {
                input.ip_pool_id = Some(pool);
                paths.push("ip_pool_id".to_owned());
            }
        }
        Assignment::Address(address) => {
            let address = address.to_string();
            if current.ip_address.as_deref() != Some(address.as_str()) {
                input.static_ip = Some(address);
                paths.push("ip_pool_id".to_owned());
                paths.push("static_ip".to_owned());
            }
        }
    }
    Ok((input, paths))
}

/// The first static pool of `router`.
async fn static_pool(conn: &mut Conn<'_>, router: i64) -> Result<Option<i64>> {
    Ok(on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM ip_pools WHERE router_id = $1 AND kind = 'static' ORDER BY id LIMIT 1")
        .bind(router)
        .fetch_optional(c)
        .await)?)
}

fn refused(message: &str) -> Error {
    let mut errors = FieldErrors::new();
    errors.add("ip_assignment", message);
    Error::Validation(errors)
}

/// What a request would have been refused for, as the job keeps it; `None` for a failure
/// worth retrying.
fn refusal(err: &Error) -> Option<String> {
    match err {
        Error::Validation(errors) => Some(
            errors
                .iter()
                .map(|(_, message)| message)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Error::Conflict(message) | Error::BadRequest(message) => Some(message.clone()),
        Error::NotFound(what) => Some(format!("{what} not found.")),
        _ => None,
    }
}

/// "Service 12 provisioned: active, router 3, VLAN 120, static 100.64.0.10".
fn summary(service: &Service) -> String {
    let mut parts = vec![service.status.as_str().to_owned()];
    if let Some(router) = service.router_id {
        parts.push(format!("router {router}"));
    }
    if let Some(vlan) = service.vlan_id {
        parts.push(format!("VLAN {vlan}"));
    }
    parts.push(match &service.ip_address {
        Some(address) => format!("static {address}"),
        None => "dynamic".to_owned(),
    });
    parts.push(format!("plan {}", service.plan_id));
    format!("Service {} provisioned: {}", service.id, parts.join(", "))
}

/// Keeps `result` on the job, with its completion.
fn finish(job_id: i64, result: String) -> jobs::Finish {
    Box::new(move |tx: &mut Tx, _: Completion| {
        async move { jobs::set_result(&mut tx.conn(), job_id, &result).await }.boxed()
    })
}
