//! Services: a customer's subscription to a plan, with the PPPoE/hotspot credentials the
//! network checks. A service's RADIUS rows (`radcheck`, `radreply`, `radusergroup`) are
//! written by [`radius::sync`] in the transaction of every change to the service, so
//! FreeRADIUS allows exactly what is billed: no code path changes a service without them.
//!
//! `input` checks what a caller sends, `store` holds the SQL, `radius` the rows a service
//! must have, `service` the operations, `cascade` what a customer's life cycle does to its
//! services, and `grpc` the adapter.

mod address;
mod cascade;
pub mod grpc;
mod input;
mod provision;
mod provision_job;
pub mod radius;
mod service;
mod store;

use chrono::{DateTime, Utc};

use crate::error::Error;
use crate::principal::Role;

pub use cascade::{CustomerMove, follow_customer};
pub use input::{ServiceInput, valid_username};
pub use provision::{PROVISION_KIND, ProvisionRequest, Queued};
pub use provision_job::register_provision;
pub use service::Services;

/// Where a service is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceStatus {
    /// Created; waits for its scheduled activation.
    PendingActivation,
    /// The subscriber may connect.
    Active,
    /// Refused (or walled-garden) until unsuspended.
    Suspended,
    /// Ended; final.
    Terminated,
}

/// A life-cycle move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceAction {
    /// pending_activation → active.
    Activate,
    /// active → suspended.
    Suspend,
    /// suspended → active.
    Unsuspend,
    /// any but terminated → terminated.
    Terminate,
}

impl ServiceStatus {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceStatus::PendingActivation => "pending_activation",
            ServiceStatus::Active => "active",
            ServiceStatus::Suspended => "suspended",
            ServiceStatus::Terminated => "terminated",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending_activation" => Some(ServiceStatus::PendingActivation),
            "active" => Some(ServiceStatus::Active),
            "suspended" => Some(ServiceStatus::Suspended),
            "terminated" => Some(ServiceStatus::Terminated),
            _ => None,
        }
    }

    /// The state after `action`, or why it is not allowed (a 409 naming the state).
    pub fn after(self, action: ServiceAction) -> Result<ServiceStatus, Error> {
        use ServiceAction as A;
        use ServiceStatus as S;
        match (self, action) {
            (S::PendingActivation, A::Activate) => Ok(S::Active),
            (S::Active, A::Suspend) => Ok(S::Suspended),
            (S::Suspended, A::Unsuspend) => Ok(S::Active),
            (S::PendingActivation | S::Active | S::Suspended, A::Terminate) => Ok(S::Terminated),
            (S::Terminated, _) => Err(Error::Conflict(format!(
                "A terminated service cannot be {}.",
                action.past_tense()
            ))),
            (status, action) => Err(Error::Conflict(format!(
                "A service that is {} cannot be {}.",
                status.as_str().replace('_', " "),
                action.past_tense()
            ))),
        }
    }
}

impl ServiceAction {
    /// The verb's past tense, for messages and event names.
    pub fn past_tense(self) -> &'static str {
        match self {
            ServiceAction::Activate => "activated",
            ServiceAction::Suspend => "suspended",
            ServiceAction::Unsuspend => "unsuspended",
            ServiceAction::Terminate => "terminated",
        }
    }
}

/// How a suspended service looks to the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuspendedMode {
    /// `Auth-Type := Reject`: the subscriber cannot connect.
    Reject,
    /// The subscriber connects into the walled-garden group: the NAS puts it in this
    /// address list and/or pool and redirects it to a payment page.
    WalledGarden {
        /// `Mikrotik-Address-List` of the group, if any.
        address_list: Option<String>,
        /// `Framed-Pool` of the group, if any.
        pool: Option<String>,
    },
}

/// How services behave in this deployment.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// What suspension does on the network.
    pub suspended: SuspendedMode,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self {
            suspended: SuspendedMode::Reject,
        }
    }
}

/// A service as stored, with its plan's name and speeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    /// Id.
    pub id: i64,
    /// The customer.
    pub customer_id: i64,
    /// The customer's reseller.
    pub partner_id: Option<i64>,
    /// The plan.
    pub plan_id: i64,
    /// The plan's name.
    pub plan_name: String,
    /// The plan's download speed, kbit/s.
    pub plan_download_kbps: i64,
    /// The plan's upload speed, kbit/s.
    pub plan_upload_kbps: i64,
    /// Life-cycle state.
    pub status: ServiceStatus,
    /// Why, when given.
    pub status_reason: Option<String>,
    /// Suspended by its customer's suspension.
    pub suspended_with_customer: bool,
    /// Download override, kbit/s.
    pub download_kbps: Option<i64>,
    /// Upload override, kbit/s.
    pub upload_kbps: Option<i64>,
    /// Data cap override, MB.
    pub data_limit_mb: Option<i64>,
    /// Installation address.
    pub installation_address: Option<String>,
    /// Scheduled activation.
    pub scheduled_activation: Option<DateTime<Utc>>,
    /// Free text.
    pub notes: Option<String>,
    /// RADIUS User-Name.
    pub username: String,
    /// RADIUS password (cleartext: CHAP and MS-CHAP need it).
    pub password: String,
    /// MAC binding, `AA:BB:CC:DD:EE:FF`.
    pub mac: Option<String>,
    /// Login expiry.
    pub expiration: Option<DateTime<Utc>>,
    /// Router.
    pub router_id: Option<i64>,
    /// VLAN.
    pub vlan_id: Option<i32>,
    /// Static pool.
    pub ip_pool_id: Option<i64>,
    /// Static address.
    pub ip_address: Option<String>,
    /// Plan from the next period.
    pub pending_plan_id: Option<i64>,
    /// Activated.
    pub activated_at: Option<DateTime<Utc>>,
    /// Terminated.
    pub terminated_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Changed.
    pub updated_at: DateTime<Utc>,
}

impl Service {
    /// The download speed in force, kbit/s.
    pub fn download(&self) -> i64 {
        self.download_kbps.unwrap_or(self.plan_download_kbps)
    }

    /// The upload speed in force, kbit/s.
    pub fn upload(&self) -> i64 {
        self.upload_kbps.unwrap_or(self.plan_upload_kbps)
    }
}

/// The scheduler's job that activates pending services on time and applies the plan
/// changes due at a period start.
pub const DUE_KIND: &str = "services.due";

/// The periodic tasks of services: every minute, so an activation is at most a minute late.
pub fn tasks() -> Vec<crate::jobs::scheduler::Task> {
    vec![crate::jobs::scheduler::Task {
        kind: DUE_KIND,
        every: crate::jobs::scheduler::Every::Interval(std::time::Duration::from_secs(60)),
    }]
}

/// Registers the services' jobs.
pub fn register(registry: &mut crate::jobs::Registry, services: Services) {
    use futures::FutureExt;
    registry.register(
        DUE_KIND,
        move |_attempt: crate::jobs::Attempt| {
            let services = services.clone();
            async move {
                match services.run_due().await {
                    Ok(_) => crate::jobs::Outcome::done(),
                    Err(err) => crate::jobs::Outcome::retry(err.to_string()),
                }
            }
            .boxed()
        },
        crate::jobs::default_backoff(),
    );
}

/// Every live service after `after_id` in id order, `limit` at a time (for the drift
/// report, which reads them all).
pub async fn batch(
    conn: &mut crate::db::Conn<'_>,
    after_id: i64,
    limit: i64,
) -> crate::error::Result<Vec<Service>> {
    store::batch_after(conn, after_id, limit).await
}

/// The live service `id`, read on `conn` without tenancy (the core's own work).
pub async fn by_id(
    conn: &mut crate::db::Conn<'_>,
    id: i64,
) -> crate::error::Result<Option<Service>> {
    store::find(conn, id, None).await
}

/// What the events about service `id` show (the service without its password), if it
/// exists.
pub async fn subject_of(
    conn: &mut crate::db::Conn<'_>,
    id: i64,
) -> crate::error::Result<Option<crate::events::Subject>> {
    Ok(store::find(conn, id, None)
        .await?
        .map(|service| service::subject(&service)))
}

/// Whether `role` sees the RADIUS password of services in answers (support staff read it
/// out to subscribers configuring a router; read-only and billing staff do not need it).
pub fn sees_credentials(role: Role) -> bool {
    !matches!(role, Role::ReadOnly | Role::Billing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_life_cycle_is_a_table() {
        use ServiceAction as A;
        use ServiceStatus as S;
        let allowed = [
            (S::PendingActivation, A::Activate, S::Active),
            (S::Active, A::Suspend, S::Suspended),
            (S::Suspended, A::Unsuspend, S::Active),
            (S::PendingActivation, A::Terminate, S::Terminated),
            (S::Active, A::Terminate, S::Terminated),
            (S::Suspended, A::Terminate, S::Terminated),
        ];
        for from in [S::PendingActivation, S::Active, S::Suspended, S::Terminated] {
            for action in [A::Activate, A::Suspend, A::Unsuspend, A::Terminate] {
                let expected = allowed
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(.., to)| *to);
                match (from.after(action), expected) {
                    (Ok(to), Some(expected)) => assert_eq!(to, expected),
                    (Err(Error::Conflict(_)), None) => {}
                    (got, expected) => panic!("{from:?} {action:?}: {got:?} vs {expected:?}"),
                }
            }
        }
    }
}
