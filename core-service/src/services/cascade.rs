//! What a customer's life cycle does to its services, in the transaction of the
//! customer's action: suspension suspends every active service (and remembers which),
//! activation restores exactly those, termination terminates them all.

use chrono::{DateTime, Utc};

use super::service::Actor;
use super::{ServiceAction, ServiceStatus, Services, store};
use crate::db::Tx;
use crate::error::Result;

/// What happened to the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerMove {
    /// Suspended.
    Suspended,
    /// Activated after a suspension.
    Activated,
    /// Terminated.
    Terminated,
}

/// Applies the customer's move to each of its services, with their RADIUS rows, jobs,
/// audit entries and events, inside `tx`.
pub async fn follow_customer(
    services: &Services,
    tx: &mut Tx,
    actor: Actor<'_>,
    customer_id: i64,
    customer_move: CustomerMove,
    reason: Option<&str>,
    _now: DateTime<Utc>,
) -> Result<()> {
    for service in store::of_customer(&mut tx.conn(), customer_id).await? {
        let step = match (customer_move, service.status) {
            (CustomerMove::Suspended, ServiceStatus::Active) => {
                Some((ServiceAction::Suspend, true))
            }
            (CustomerMove::Activated, ServiceStatus::Suspended)
                if service.suspended_with_customer =>
            {
                Some((ServiceAction::Unsuspend, false))
            }
            (CustomerMove::Terminated, _) => Some((ServiceAction::Terminate, false)),
            _ => None,
        };
        if let Some((action, with_customer)) = step {
            services
                .act_as(tx, actor, &service, action, reason, with_customer)
                .await?;
        }
    }
    Ok(())
}
