//! Provisioning a service as a durable job: the request is checked and the job queued in
//! the caller's transaction (so the job exists exactly when the request succeeded); the
//! job (`provision_job`) later applies the router, VLAN, address and plan and activates
//! a pending service.

use std::net::Ipv4Addr;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, json};

use super::service::{Actor, check_plan};
use super::{ServiceStatus, Services, store};
use crate::audit::{self, Change};
use crate::auth::RequestContext;
use crate::db::{Conn, Tx};
use crate::error::{Error, FieldErrors, Result};
use crate::jobs::{self, NewJob};
use crate::on_conn;

/// The job that provisions one service.
pub const PROVISION_KIND: &str = "provisioning.activate";

/// How long a job due now is expected to take.
const EXPECTED_SECONDS: i64 = 5;

/// The priorities a caller may ask for, with the job priority of each.
const PRIORITIES: [(&str, i32); 4] = [("low", 0), ("normal", 5), ("high", 10), ("urgent", 20)];

/// What a provisioning request asks for; every field optional.
#[derive(Debug, Clone, Default)]
pub struct ProvisionRequest {
    /// The router the service connects through.
    pub router_id: Option<i64>,
    /// The VLAN.
    pub vlan_id: Option<i32>,
    /// `dynamic`, `static` or an IPv4 address.
    pub ip_assignment: Option<String>,
    /// A plan, by name or id.
    pub bandwidth_profile: Option<String>,
    /// `low`, `normal`, `high` or `urgent`; empty is `normal`.
    pub priority: String,
    /// When to run (in the future); now when absent.
    pub scheduled_time: Option<DateTime<Utc>>,
}

/// A queued provisioning job, as the request answers it.
#[derive(Debug, Clone)]
pub struct Queued {
    /// The job.
    pub job_id: i64,
    /// The service.
    pub service_id: i64,
    /// The priority's name.
    pub priority: String,
    /// When it should be done.
    pub estimated_completion: DateTime<Utc>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

/// How the address is to be assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Assignment {
    /// No static address.
    Dynamic,
    /// The next free address of the router's static pool.
    Static,
    /// This address.
    Address(Ipv4Addr),
}

impl Assignment {
    /// The assignment `text` names.
    pub(super) fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "dynamic" => Some(Assignment::Dynamic),
            "static" => Some(Assignment::Static),
            other => other
                .parse::<Ipv4Addr>()
                .ok()
                .filter(|ip| !ip.is_unspecified() && !ip.is_broadcast())
                .map(Assignment::Address),
        }
    }

    /// As the job's payload keeps it.
    fn name(self) -> String {
        match self {
            Assignment::Dynamic => "dynamic".into(),
            Assignment::Static => "static".into(),
            Assignment::Address(ip) => ip.to_string(),
        }
    }
}

impl Services {
    /// Checks `request` and queues the job that provisions service `id`, in the caller's
    /// transaction, with an (unpublished) audit entry.
    pub async fn provision(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        id: i64,
        request: &ProvisionRequest,
    ) -> Result<Queued> {
        let current = self.find(tx, Actor::Caller(context), id).await?;
        let now = self.now();
        let mut errors = FieldErrors::new();
        let priority = match request.priority.trim() {
            "" => Some(("normal", 5)),
            name => PRIORITIES.iter().copied().find(|(n, _)| *n == name),
        };
        if priority.is_none() {
            errors.add(
                "priority",
                "The priority must be one of: low, normal, high, urgent.",
            );
        }
        if let Some(router) = request.router_id
            && (router < 1 || !store::router_exists(&mut tx.conn(), router).await?)
        {
            errors.add(
                "provisioning_data.router_id",
                "The selected router id is invalid.",
            );
        }
        if request.vlan_id.is_some_and(|v| !(1..=4094).contains(&v)) {
            errors.add(
                "provisioning_data.vlan_id",
                "The vlan id must be between 1 and 4094.",
            );
        }
        let assignment = request.ip_assignment.as_deref().map(Assignment::parse);
        if assignment == Some(None) {
            errors.add(
                "provisioning_data.ip_assignment",
                "The ip assignment must be dynamic, static or an IPv4 address.",
            );
        }
        let plan_id = match &request.bandwidth_profile {
            Some(profile) => plan_for_sale(&mut tx.conn(), profile, &mut errors).await?,
            None => None,
        };
        if request.scheduled_time.is_some_and(|at| at <= now) {
            errors.add(
                "scheduled_time",
                "The scheduled time must be in the future.",
            );
        }
        errors.into_result()?;
        if current.status == ServiceStatus::Terminated {
            return Err(Error::Conflict(
                "A terminated service cannot be provisioned.".into(),
            ));
        }
        let (priority_name, priority) = priority.unwrap_or(("normal", 5));
        let payload = json!({
            "service_id": id,
            "router_id": request.router_id,
            "vlan_id": request.vlan_id,
            "ip_assignment": assignment.flatten().map(Assignment::name),
            "plan_id": plan_id,
        });
        let mut job = NewJob::new(PROVISION_KIND, payload.clone())
            .ordered_by(format!("radius:{}", current.username));
        job.priority = priority;
        if let Some(at) = request.scheduled_time {
            job = job.at(at);
        }
        let job_id = jobs::enqueue(&mut tx.conn(), job, now)
            .await?
            .ok_or_else(|| {
                anyhow::anyhow!("a provisioning job without a dedupe key was dropped")
            })?;
        let mut details = payload.as_object().cloned().unwrap_or_default();
        details.insert("provisioning_job_id".into(), json!(job_id));
        details.insert("priority".into(), json!(priority_name));
        let change = Change::updated(
            "service.provisioning_queued".into(),
            "service",
            id,
            &Map::new(),
            &details,
        )
        .unpublished();
        audit::record(&mut tx.conn(), context, change, now).await?;
        let estimated_completion = request
            .scheduled_time
            .unwrap_or(now + Duration::seconds(EXPECTED_SECONDS));
        Ok(Queued {
            job_id,
            service_id: id,
            priority: priority_name.to_owned(),
            estimated_completion,
            created_at: now,
        })
    }
}

/// The plan `profile` names (an id, or a name ignoring case), when it is for sale; else
/// the failure is on the field.
async fn plan_for_sale(
    conn: &mut Conn<'_>,
    profile: &str,
    errors: &mut FieldErrors,
) -> Result<Option<i64>> {
    const FIELD: &str = "provisioning_data.bandwidth_profile";
    let profile = profile.trim();
    let id = match profile.parse::<i64>() {
        Ok(id) if id > 0 => Some(id),
        Ok(_) => None,
        // PostgreSQL text cannot hold NUL: no plan has such a name.
        Err(_) if profile.is_empty() || profile.contains('\0') => None,
        Err(_) => on_conn!(conn, c => sqlx::query_scalar(
            "SELECT id FROM plans WHERE LOWER(name) = LOWER($1) AND deleted_at IS NULL \
             ORDER BY id LIMIT 1")
            .bind(profile)
            .fetch_optional(c)
            .await)?,
    };
    let Some(id) = id else {
        errors.add(FIELD, "The selected bandwidth profile is invalid.");
        return Ok(None);
    };
    let mut found = FieldErrors::new();
    check_plan(conn, Some(id), &mut found).await?;
    for (_, message) in found.iter() {
        errors.add(FIELD, message.replace("plan id", "bandwidth profile"));
    }
    Ok(found.is_empty().then_some(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_are_dynamic_static_or_an_address() {
        assert_eq!(Assignment::parse("dynamic"), Some(Assignment::Dynamic));
        assert_eq!(Assignment::parse(" static "), Some(Assignment::Static));
        assert_eq!(
            Assignment::parse("100.64.0.10"),
            Some(Assignment::Address(Ipv4Addr::new(100, 64, 0, 10)))
        );
        for bad in ["", "Static", "10.0.0", "::1", "0.0.0.0", "255.255.255.255"] {
            assert_eq!(Assignment::parse(bad), None, "{bad}");
        }
    }
}
