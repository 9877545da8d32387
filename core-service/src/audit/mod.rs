//! The audit log: who changed what, when, from where and why. Every mutation records one
//! entry through [`record`] inside the transaction of the change, so a change that rolls
//! back leaves no entry and a committed change always has one. Entries are never changed
//! or deleted (the database refuses it too).
//!
//! Recording a change also writes its event to the outbox ([`crate::events`]) in the same
//! transaction: a change says what it publishes ([`Change::publish`]) or that it publishes
//! nothing ([`Change::unpublished`], for sign-ins and the like); a change that says
//! neither is refused, so no domain can forget its event.

pub mod grpc;
mod store;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::auth::RequestContext;
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::events::{self, NewEvent, Subject};

pub use store::AuditRow;

/// Written in place of a secret's value, so that the entry shows it changed.
pub const REDACTED: &str = "[redacted]";

/// One change to record.
#[derive(Debug, Clone)]
pub struct Change {
    /// e.g. "customer.created".
    pub action: String,
    /// e.g. "customer".
    pub resource_type: &'static str,
    /// The resource's id.
    pub resource_id: String,
    /// The changed fields as they were.
    pub before: Option<Map<String, Value>>,
    /// The changed fields as they became.
    pub after: Option<Map<String, Value>>,
    /// A reason given in the body (wins over the `x-reason` header).
    pub reason: Option<String>,
    /// The resource the change's event shows.
    pub subject: Option<Subject>,
    /// The change publishes no event (sign-ins, token renewals).
    pub unpublished: bool,
}

impl Change {
    /// A resource appeared with these fields.
    pub fn created(
        resource_type: &'static str,
        id: impl ToString,
        after: Map<String, Value>,
    ) -> Self {
        Self::new(
            format!("{resource_type}.created"),
            resource_type,
            id,
            None,
            Some(after),
        )
    }

    /// A resource went away; these were its fields.
    pub fn deleted(
        resource_type: &'static str,
        id: impl ToString,
        before: Map<String, Value>,
    ) -> Self {
        Self::new(
            format!("{resource_type}.deleted"),
            resource_type,
            id,
            Some(before),
            None,
        )
    }

    /// A resource changed from `before` to `after`; only the fields that differ are kept.
    pub fn updated(
        action: String,
        resource_type: &'static str,
        id: impl ToString,
        before: &Map<String, Value>,
        after: &Map<String, Value>,
    ) -> Self {
        let (before, after) = diff(before, after);
        Self::new(action, resource_type, id, Some(before), Some(after))
    }

    fn new(
        action: String,
        resource_type: &'static str,
        id: impl ToString,
        before: Option<Map<String, Value>>,
        after: Option<Map<String, Value>>,
    ) -> Self {
        Self {
            action,
            resource_type,
            resource_id: id.to_string(),
            before,
            after,
            reason: None,
            subject: None,
            unpublished: false,
        }
    }

    /// Publishes the change's event, showing `subject`.
    pub fn publish(mut self, subject: Subject) -> Self {
        self.subject = Some(subject);
        self
    }

    /// Publishes no event: the change is not one of a resource's.
    pub fn unpublished(mut self) -> Self {
        self.unpublished = true;
        self
    }

    /// With a reason from the request body.
    pub fn because(mut self, reason: Option<&str>) -> Self {
        self.reason = reason
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned);
        self
    }
}

/// The fields whose values differ, as (before, after).
pub fn diff(
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> (Map<String, Value>, Map<String, Value>) {
    let mut old = Map::new();
    let mut new = Map::new();
    for key in before.keys().chain(after.keys()) {
        let (b, a) = (before.get(key), after.get(key));
        if b != a && !old.contains_key(key) && !new.contains_key(key) {
            old.insert(key.clone(), b.cloned().unwrap_or(Value::Null));
            new.insert(key.clone(), a.cloned().unwrap_or(Value::Null));
        }
    }
    (old, new)
}

/// Writes the entry for `change`, made by the caller of `context`, inside the caller's
/// transaction.
pub async fn record(
    conn: &mut Conn<'_>,
    context: &RequestContext,
    change: Change,
    at: DateTime<Utc>,
) -> Result<()> {
    let reason = change.reason.clone().or_else(|| context.reason.clone());
    store::insert(conn, context, &change, reason.as_deref(), at).await?;
    publish(conn, change, at).await
}

/// Writes the event of `change`, or refuses a change that says nothing about its event.
async fn publish(conn: &mut Conn<'_>, change: Change, at: DateTime<Utc>) -> Result<()> {
    let Some(subject) = change.subject else {
        if change.unpublished {
            return Ok(());
        }
        return Err(Error::Internal(anyhow::anyhow!(
            "the change {} of {} {} names no event",
            change.action,
            change.resource_type,
            change.resource_id
        )));
    };
    let fallback = change.after.as_ref().or(change.before.as_ref());
    let event = NewEvent::about(
        change.action,
        change.resource_type,
        change.resource_id,
        subject,
        fallback,
    );
    events::publish(conn, event, at).await.map(drop)
}

/// Writes the entry for an attempt by nobody the core knows (a login with an unknown
/// email), inside the caller's transaction. The actor's role is recorded as "anonymous".
pub async fn record_unattributed(
    conn: &mut Conn<'_>,
    request_id: &str,
    client_address: &str,
    change: Change,
    at: DateTime<Utc>,
) -> Result<()> {
    let actor = store::Actor {
        user_id: None,
        api_key_id: None,
        role: "anonymous",
        request_id,
        client_address,
    };
    store::insert_as(conn, &actor, &change, change.reason.as_deref(), at).await?;
    publish(conn, change, at).await
}

/// Writes the entry (and event) of a change the core made on its own, not for a caller
/// (e.g. disabling a webhook endpoint that keeps failing), inside the caller's
/// transaction. The actor's role is recorded as "system".
pub async fn record_system(conn: &mut Conn<'_>, change: Change, at: DateTime<Utc>) -> Result<()> {
    let actor = store::Actor {
        user_id: None,
        api_key_id: None,
        role: "system",
        request_id: "",
        client_address: "",
    };
    store::insert_as(conn, &actor, &change, change.reason.as_deref(), at).await?;
    publish(conn, change, at).await
}

/// Who acts: a caller, or the core itself (scheduled activations, plan changes, dunning).
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A request.
    Caller(&'a RequestContext),
    /// The scheduler.
    System,
}

impl Actor<'_> {
    /// What the actor may see.
    pub fn tenancy(self) -> crate::tenancy::Tenancy {
        match self {
            Actor::Caller(context) => crate::tenancy::Tenancy::of(&context.principal),
            Actor::System => crate::tenancy::Tenancy::unrestricted(),
        }
    }

    /// Writes the entry (and event) of `change`, attributed to the actor.
    pub async fn record(
        self,
        conn: &mut Conn<'_>,
        change: Change,
        at: DateTime<Utc>,
    ) -> Result<()> {
        match self {
            Actor::Caller(context) => record(conn, context, change, at).await,
            Actor::System => record_system(conn, change, at).await,
        }
    }
}

/// Filters for listing entries.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Page, from 1 (0 means 1; the rules of [`crate::paging::PageQuery`]).
    pub page: i32,
    /// Page size, 1–100 (0 means 25; more is capped).
    pub per_page: i32,
    /// Only this user.
    pub actor_user_id: Option<i64>,
    /// Only this API key.
    pub actor_api_key_id: Option<i64>,
    /// Exact action.
    pub action: Option<String>,
    /// Exact resource type.
    pub resource_type: Option<String>,
    /// Exact resource id.
    pub resource_id: Option<String>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// At or before.
    pub to: Option<DateTime<Utc>>,
}

impl AuditQuery {
    /// Reads an actor filter: `user:<id>`, `key:<id>` or a bare user id.
    pub fn with_actor(mut self, actor: &str) -> Result<Self> {
        let actor = actor.trim();
        if actor.is_empty() {
            return Ok(self);
        }
        let bad = || {
            Error::BadRequest(
                "The actor_id parameter must be a user id, user:<id> or key:<id>.".into(),
            )
        };
        let (kind, id) = actor.split_once(':').unwrap_or(("user", actor));
        let id: i64 = id.parse().ok().filter(|id| *id > 0).ok_or_else(bad)?;
        match kind {
            "user" => self.actor_user_id = Some(id),
            "key" => self.actor_api_key_id = Some(id),
            _ => return Err(bad()),
        }
        Ok(self)
    }
}

/// Entries matching `query`, newest first, and how many match in all.
pub async fn list(conn: &mut Conn<'_>, query: &AuditQuery) -> Result<(Vec<AuditRow>, i64)> {
    store::list(conn, query).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_diff_keeps_only_changed_fields() {
        let before = map(json!({"city": "Nairobi", "email": "a@b.co", "phone": "1"}));
        let after =
            map(json!({"city": "Mombasa", "email": "a@b.co", "phone": "1", "state": "Coast"}));
        let (old, new) = diff(&before, &after);
        assert_eq!(
            Value::Object(old),
            json!({"city": "Nairobi", "state": null})
        );
        assert_eq!(
            Value::Object(new),
            json!({"city": "Mombasa", "state": "Coast"})
        );
    }

    #[test]
    fn actor_filters_name_users_or_keys() {
        let q = AuditQuery::default().with_actor("key:7").unwrap();
        assert_eq!((q.actor_user_id, q.actor_api_key_id), (None, Some(7)));
        let q = AuditQuery::default().with_actor("12").unwrap();
        assert_eq!(q.actor_user_id, Some(12));
        assert!(AuditQuery::default().with_actor("robot:1").is_err());
        assert!(AuditQuery::default().with_actor("user:x").is_err());
    }
}
