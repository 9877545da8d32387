//! The outbox: every change writes its event in the same transaction as the change and
//! its audit entry (through [`crate::audit::record`], so no domain can forget it), and a
//! rolled-back change leaves none. Events are read in commit order by cursor: the gRPC
//! `EventService` lists and streams them, and each one becomes a delivery to every
//! matching webhook in the same transaction.
//!
//! Commit order: SQLite has one writer. On PostgreSQL, ids come from a sequence and two
//! transactions may commit in the other order than they took their ids, which would let a
//! reader that has passed id 11 miss id 10 committing later. So the id is taken under a
//! transaction-level advisory lock held until commit: events commit in id order. The lock
//! is taken last in the transaction (with the audit entry), so it is held only for the
//! commit itself.

pub mod grpc;

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use lastmile_proto::v1 as pb;
use serde_json::{Map, Value};

use crate::db::{Conn, Signal};
use crate::error::{Error, FieldErrors, Result};
use crate::on_conn;
use crate::tenancy::Tenancy;

/// The channel PostgreSQL notifies when events commit.
pub const CHANNEL: &str = "lastmile_events";

/// The advisory lock that orders event ids by commit (an arbitrary constant).
const ORDER_LOCK: i64 = 0x4c4d_4556; // "LMEV"

/// Turns a resource into the JSON the REST contract shows for it.
pub type Renderer = fn(&pb::EventSubject) -> Value;

static RENDERER: OnceLock<Renderer> = OnceLock::new();

/// Sets how resources are shown in events (the REST contract's JSON, which the edge
/// owns). Set once by the composition root; later calls are ignored.
pub fn set_renderer(renderer: Renderer) {
    let _ = RENDERER.set(renderer);
}

/// What a change publishes: the resource as it is after the change (before it, for a
/// deletion) and the partner it belongs to.
#[derive(Debug, Clone)]
pub struct Subject {
    /// The resource.
    pub resource: pb::event_subject::Resource,
    /// The reseller whose resource it is.
    pub partner_id: Option<i64>,
}

impl Subject {
    /// `resource`, belonging to `partner_id`.
    pub fn new(resource: pb::event_subject::Resource, partner_id: Option<i64>) -> Self {
        Self {
            resource,
            partner_id,
        }
    }
}

/// An event to write.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// e.g. "customer.created".
    pub event_type: String,
    /// e.g. "customer".
    pub resource_type: String,
    /// The resource's id.
    pub resource_id: String,
    /// The resource's partner.
    pub partner_id: Option<i64>,
    /// The resource's JSON, as text: rendered once, shared by the events about the same
    /// state (an invoice's `generated` and `finalized`).
    pub data: Arc<str>,
}

impl NewEvent {
    /// The event of `event_type` about `subject` (`fallback` shows it when no renderer
    /// is set).
    pub fn about(
        event_type: String,
        resource_type: &str,
        resource_id: String,
        subject: Subject,
        fallback: Option<&Map<String, Value>>,
    ) -> Self {
        Self::about_with(event_type, resource_type, resource_id, subject, || {
            fallback.cloned().unwrap_or_default()
        })
    }

    /// As [`NewEvent::about`], with the fallback made only when it is shown.
    pub fn about_with(
        event_type: String,
        resource_type: &str,
        resource_id: String,
        subject: Subject,
        fallback: impl FnOnce() -> Map<String, Value>,
    ) -> Self {
        let proto = pb::EventSubject {
            resource: Some(subject.resource),
        };
        let data = match RENDERER.get() {
            Some(render) => render(&proto),
            None => Value::Object(fallback()),
        };
        Self {
            event_type,
            resource_type: resource_type.to_owned(),
            resource_id,
            partner_id: subject.partner_id,
            data: Arc::from(data.to_string()),
        }
    }

    /// The same resource's event of another type.
    pub fn retyped(&self, event_type: &str) -> Self {
        Self {
            event_type: event_type.to_owned(),
            ..self.clone()
        }
    }
}

/// A stored event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Event {
    /// The cursor.
    pub id: i64,
    /// The consumers' id.
    pub uuid: String,
    /// Type.
    #[sqlx(rename = "type")]
    pub event_type: String,
    /// Resource type.
    pub resource_type: String,
    /// Resource id.
    pub resource_id: String,
    /// Partner.
    pub partner_id: Option<i64>,
    /// The resource's JSON (text).
    pub data: String,
    /// When it committed.
    pub occurred_at: DateTime<Utc>,
}

impl Event {
    /// The resource's JSON.
    pub fn data(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or(Value::Null)
    }

    /// The event as webhooks deliver it: `{id, type, created_at, data}`.
    pub fn envelope(&self) -> Value {
        serde_json::json!({
            "id": self.uuid,
            "type": self.event_type,
            "created_at": self.occurred_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            "data": self.data(),
        })
    }
}

/// Writes `event` inside the caller's transaction, with a delivery to every webhook that
/// wants it; readers hear of it when the transaction commits.
pub async fn publish(conn: &mut Conn<'_>, event: NewEvent, at: DateTime<Utc>) -> Result<Event> {
    order(conn).await?;
    let stored = insert(conn, event, at).await?;
    notify(conn).await?;
    crate::webhooks::fan_out(conn, &stored, at).await?;
    Ok(stored)
}

/// Writes `events` inside the caller's transaction, in order, as [`publish`] writes one:
/// the ordering lock, the notification and the read of the webhook endpoints once for all
/// of them (a report of many events at once, such as a breach check's).
pub async fn publish_all(
    conn: &mut Conn<'_>,
    events: Vec<NewEvent>,
    at: DateTime<Utc>,
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    order(conn).await?;
    let endpoints = crate::webhooks::Endpoints::active(conn).await?;
    let mut events = events.into_iter().peekable();
    while events.peek().is_some() {
        let chunk: Vec<NewEvent> = events.by_ref().take(INSERT_CHUNK).collect();
        for stored in insert_many(conn, chunk, at).await? {
            endpoints.fan_out(conn, &stored, at).await?;
        }
    }
    notify(conn).await
}

/// Events per multi-row insert (7 parameters each, well under either engine's limit).
const INSERT_CHUNK: usize = 1000;

/// Inserts `events` with one statement, in order; returns them as stored, by id. Only
/// the ids travel back: the rest is what was sent.
async fn insert_many(
    conn: &mut Conn<'_>,
    events: Vec<NewEvent>,
    at: DateTime<Utc>,
) -> Result<Vec<Event>> {
    // As PostgreSQL keeps it, so what is returned is what a reader will see.
    let at = chrono::SubsecRound::trunc_subsecs(at, 6);
    let uuids: Vec<String> = events
        .iter()
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    let data: Vec<String> = events.iter().map(|e| String::from(&*e.data)).collect();
    let mut rows = crate::db::bulk::Rows::new("events");
    rows.text("uuid", uuids.iter().cloned())
        .text("type", events.iter().map(|e| e.event_type.clone()))
        .text(
            "resource_type",
            events.iter().map(|e| e.resource_type.clone()),
        )
        .text("resource_id", events.iter().map(|e| e.resource_id.clone()))
        .opt_int("partner_id", events.iter().map(|e| e.partner_id))
        .text("data", data.clone())
        .time("occurred_at", events.iter().map(|_| at));
    let ids: std::collections::HashMap<String, i64> = rows
        .returning::<(i64, String)>(conn, "id, uuid")
        .await?
        .into_iter()
        .map(|(id, uuid)| (uuid, id))
        .collect();
    let mut stored: Vec<Event> = events
        .into_iter()
        .zip(uuids.into_iter().zip(data))
        .map(|(event, (uuid, data))| Event {
            id: ids.get(&uuid).copied().unwrap_or(0),
            uuid,
            event_type: event.event_type,
            resource_type: event.resource_type,
            resource_id: event.resource_id,
            partner_id: event.partner_id,
            data,
            occurred_at: at,
        })
        .collect();
    stored.sort_by_key(|e| e.id);
    Ok(stored)
}

/// Takes the lock that makes event ids follow commit order (PostgreSQL).
async fn order(conn: &mut Conn<'_>) -> Result<()> {
    if conn.is_postgres() {
        on_conn!(conn, c => sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(ORDER_LOCK)
            .execute(c).await.map(|d| d.rows_affected()))?;
    }
    Ok(())
}

/// Tells readers, at commit, that events were written.
async fn notify(conn: &mut Conn<'_>) -> Result<()> {
    if conn.is_postgres() {
        on_conn!(conn, c => sqlx::query("SELECT pg_notify($1, '')")
            .bind(CHANNEL)
            .execute(c).await.map(|d| d.rows_affected()))?;
    }
    conn.signal_on_commit(Signal::Events);
    Ok(())
}

async fn insert(conn: &mut Conn<'_>, event: NewEvent, at: DateTime<Utc>) -> Result<Event> {
    insert_many(conn, vec![event], at)
        .await?
        .pop()
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("an inserted event was not returned")))
}

pub use lastmile_proto::EVENT_TYPES;

/// Whether `pattern` is something an endpoint may subscribe to: `*`, a family of known
/// types (`customer.*`), or a known type.
pub fn is_known_pattern(pattern: &str) -> bool {
    lastmile_proto::EVENT_SUBSCRIPTIONS.contains(&pattern)
}

/// Which events a reader wants.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Exact types, or families ("customer.*"); empty: all.
    pub types: Vec<String>,
    /// The reader's partner restriction.
    pub tenancy: Option<i64>,
}

impl EventFilter {
    /// Checks `types` (each `*`, `family.*` or a type name) for a reader with `tenancy`.
    pub fn new(types: Vec<String>, tenancy: Tenancy) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let mut clean = Vec::new();
        for t in types {
            let t = t.trim().to_owned();
            if t == "*" {
                clean.clear();
                return Ok(Self {
                    types: clean,
                    tenancy: tenancy.partner(),
                });
            }
            if !is_type_pattern(&t) {
                errors.add(
                    "types",
                    format!("'{t}' is not an event type (e.g. customer.created or customer.*)."),
                );
            }
            clean.push(t);
        }
        errors.into_result()?;
        Ok(Self {
            types: clean,
            tenancy: tenancy.partner(),
        })
    }

    /// Whether `event_type` passes the type filter.
    pub fn wants(&self, event_type: &str) -> bool {
        type_matches(&self.types, event_type)
    }
}

/// Whether `text` is a type name or a family pattern: dot-separated lower-case words,
/// optionally ending in `.*`.
pub fn is_type_pattern(text: &str) -> bool {
    let name = text.strip_suffix(".*").unwrap_or(text);
    !name.is_empty()
        && name.len() <= 100
        && name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}

/// Whether `event_type` matches any of `patterns` (empty or `*` match all).
pub fn type_matches(patterns: &[String], event_type: &str) -> bool {
    patterns.is_empty()
        || patterns.iter().any(|p| {
            p == "*"
                || p == event_type
                || p.strip_suffix(".*").is_some_and(|family| {
                    event_type
                        .strip_prefix(family)
                        .is_some_and(|rest| rest.starts_with('.'))
                })
        })
}

/// Up to `limit` events after `cursor` that `filter` lets through, oldest first.
pub async fn after(
    conn: &mut Conn<'_>,
    cursor: i64,
    filter: &EventFilter,
    limit: i64,
) -> Result<Vec<Event>> {
    let mut sql = String::from(
        "SELECT id, uuid, type, resource_type, resource_id, partner_id, data, occurred_at \
         FROM events WHERE id > $1",
    );
    let mut binds: Vec<String> = Vec::new();
    if filter.tenancy.is_some() {
        sql.push_str(" AND partner_id = $2");
    }
    let first = if filter.tenancy.is_some() { 3 } else { 2 };
    if !filter.types.is_empty() {
        let mut parts = Vec::new();
        for t in &filter.types {
            let n = first + binds.len();
            match t.strip_suffix(".*") {
                Some(family) => {
                    parts.push(format!("type LIKE ${n} ESCAPE '!'"));
                    let escaped = family
                        .replace('!', "!!")
                        .replace('_', "!_")
                        .replace('%', "!%");
                    binds.push(format!("{escaped}.%"));
                }
                None => {
                    parts.push(format!("type = ${n}"));
                    binds.push(t.clone());
                }
            }
        }
        sql.push_str(&format!(" AND ({})", parts.join(" OR ")));
    }
    sql.push_str(&format!(" ORDER BY id LIMIT ${}", first + binds.len()));
    let rows: Vec<Event> = on_conn!(conn, c => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(cursor);
        if let Some(partner) = filter.tenancy {
            q = q.bind(partner);
        }
        for b in &binds {
            q = q.bind(b.clone());
        }
        q.bind(limit).fetch_all(c).await
    })?;
    Ok(rows)
}

/// The events matching `filter` after `cursor`, and the cursor a follower resumes from.
///
/// Events commit in id order (see the module's note), so every id up to the highest one
/// committed before the read is settled: when fewer than `limit` events match, the
/// follower moves past the others too, and the next read scans only what committed
/// since, however few of the events match.
pub async fn follow(
    conn: &mut Conn<'_>,
    cursor: i64,
    filter: &EventFilter,
    limit: i64,
) -> Result<(Vec<Event>, i64)> {
    let settled: Option<i64> =
        on_conn!(conn, c => sqlx::query_scalar("SELECT MAX(id) FROM events").fetch_one(c).await)?;
    let events = after(conn, cursor, filter, limit).await?;
    let last = events.last().map_or(cursor, |e| e.id);
    let full = i64::try_from(events.len()).is_ok_and(|n| n >= limit);
    let next = if full {
        last
    } else {
        last.max(settled.unwrap_or(0))
    };
    Ok((events, next))
}

/// The event with consumer id `uuid`.
pub async fn by_uuid(conn: &mut Conn<'_>, uuid: &str) -> Result<Event> {
    on_conn!(conn, c => sqlx::query_as(
        "SELECT id, uuid, type, resource_type, resource_id, partner_id, data, occurred_at \
         FROM events WHERE uuid = $1")
        .bind(uuid)
        .fetch_optional(c)
        .await)?
    .ok_or(Error::NotFound("Event"))
}

/// Deletes events that occurred before `before`; answers how many.
pub async fn purge(conn: &mut Conn<'_>, before: DateTime<Utc>) -> Result<u64> {
    let done = on_conn!(conn, c => sqlx::query("DELETE FROM events WHERE occurred_at < $1")
        .bind(before)
        .execute(c).await.map(|d| d.rows_affected()))?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_match_their_members_only() {
        let patterns = vec!["customer.*".to_owned(), "api_key.revoked".to_owned()];
        assert!(type_matches(&patterns, "customer.created"));
        assert!(type_matches(&patterns, "api_key.revoked"));
        assert!(!type_matches(&patterns, "api_key.created"));
        assert!(!type_matches(&patterns, "customers.created"));
        assert!(type_matches(&[], "anything.at_all"));
        assert!(type_matches(&["*".to_owned()], "user.updated"));
    }

    #[test]
    fn type_patterns_are_dotted_words() {
        for good in [
            "customer.created",
            "customer.*",
            "sla.breached",
            "api_key.revoked",
        ] {
            assert!(is_type_pattern(good), "{good}");
        }
        for bad in [
            "",
            ".*",
            "Customer.created",
            "customer..created",
            "customer.%",
            "a b",
        ] {
            assert!(!is_type_pattern(bad), "{bad}");
        }
    }
}
