//! Online sessions and what a service change does to them. FreeRADIUS reads the tables on
//! every request, so a change reaches new logins at once; a subscriber already online
//! keeps the session the NAS granted until the NAS is told: a Disconnect-Request (the
//! subscriber reconnects and gets what the tables now say) or a CoA-Request with the new
//! rate. Those are durable jobs enqueued in the transaction of the change, so a change
//! that commits always reaches the network, and one that rolls back never does.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{COA_KIND, DISCONNECT_KIND};
use crate::catalog::radius::speed_limit;
use crate::db::Conn;
use crate::error::Result;
use crate::jobs::{self, NewJob};
use crate::on_conn;
use crate::services::{Service, ServiceStatus};

/// An accounting session without a stop time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSession {
    /// `Acct-Session-Id`.
    pub session_id: String,
    /// The NAS's address.
    pub nas_ip: String,
    /// The subscriber's address, when the NAS reported one.
    pub framed_ip: Option<String>,
}

/// PostgreSQL shows an `inet` as `10.0.0.1/32`; SQLite stores what FreeRADIUS wrote.
fn address(text: String) -> Option<String> {
    let bare = text.split('/').next().unwrap_or_default().trim().to_owned();
    (!bare.is_empty()).then_some(bare)
}

/// The open sessions of `username`.
pub async fn open_sessions(conn: &mut Conn<'_>, username: &str) -> Result<Vec<OpenSession>> {
    let rows: Vec<(String, Option<String>, Option<String>)> = on_conn!(conn, c => sqlx::query_as(
        "SELECT acctsessionid, CAST(nasipaddress AS TEXT), CAST(framedipaddress AS TEXT) \
         FROM radacct WHERE username = $1 AND acctstoptime IS NULL ORDER BY radacctid")
        .bind(username)
        .fetch_all(c)
        .await)?;
    Ok(rows
        .into_iter()
        .filter_map(|(session_id, nas, framed)| {
            Some(OpenSession {
                session_id,
                nas_ip: address(nas?)?,
                framed_ip: framed.and_then(address),
            })
        })
        .collect())
}

/// What the network must be told after a change from `before` to `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Nothing: online sessions already have what they should.
    None,
    /// New rates for online sessions (`Mikrotik-Rate-Limit`), where the NAS takes CoA.
    Rate(String),
    /// End online sessions: the subscriber must log in again under the new rows.
    Disconnect,
}

/// The effect of a change on online sessions.
pub fn effect(before: &Service, after: &Service) -> Effect {
    let online_before =
        before.status == ServiceStatus::Active || before.status == ServiceStatus::Suspended;
    if !online_before {
        return Effect::None;
    }
    let relogin = before.status != after.status
        || before.username != after.username
        || before.password != after.password
        || before.mac != after.mac
        || before.ip_address != after.ip_address
        || before.expiration != after.expiration;
    if relogin {
        return Effect::Disconnect;
    }
    let rate_changed = before.plan_id != after.plan_id
        || before.download() != after.download()
        || before.upload() != after.upload();
    if rate_changed && after.status == ServiceStatus::Active {
        return Effect::Rate(speed_limit(after.download(), after.upload()));
    }
    Effect::None
}

/// Enqueues, inside the caller's transaction, what the change from `before` to `after`
/// needs on the network for each open session of the service.
pub async fn after_change(
    conn: &mut Conn<'_>,
    before: &Service,
    after: &Service,
    now: DateTime<Utc>,
) -> Result<()> {
    let effect = effect(before, after);
    if effect == Effect::None {
        return Ok(());
    }
    for session in open_sessions(conn, &before.username).await? {
        let (kind, rate) = match &effect {
            Effect::Rate(rate) => (COA_KIND, Some(rate.clone())),
            _ => (DISCONNECT_KIND, None),
        };
        enqueue(conn, kind, before, &session, rate, now).await?;
    }
    Ok(())
}

/// After plan `plan_id`'s rate changed: a CoA job with the new rate for every open session
/// of its active services (a service's own speed, where it has one, stays), inside the
/// plan's transaction. Answers how many were enqueued.
pub async fn plan_rate_changed(
    conn: &mut Conn<'_>,
    plan_id: i64,
    plan_rate: &str,
    (download_kbps, upload_kbps): (i64, i64),
    now: DateTime<Utc>,
) -> Result<usize> {
    type Row = (
        i64,
        String,
        Option<i64>,
        Option<i64>,
        String,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = on_conn!(conn, c => sqlx::query_as(
        "SELECT s.id, s.username, s.download_kbps, s.upload_kbps, r.acctsessionid, \
         CAST(r.nasipaddress AS TEXT), CAST(r.framedipaddress AS TEXT) \
         FROM services s JOIN radacct r ON r.username = s.username AND r.acctstoptime IS NULL \
         WHERE s.plan_id = $1 AND s.status = 'active' AND s.deleted_at IS NULL \
         ORDER BY r.radacctid")
        .bind(plan_id)
        .fetch_all(c)
        .await)?;
    let mut enqueued = 0;
    for (service_id, username, down, up, session_id, nas, framed) in rows {
        let Some(nas_ip) = nas.and_then(address) else {
            continue;
        };
        let session = OpenSession {
            session_id,
            nas_ip,
            framed_ip: framed.and_then(address),
        };
        let rate = if down.is_none() && up.is_none() {
            plan_rate.to_owned()
        } else {
            speed_limit(down.unwrap_or(download_kbps), up.unwrap_or(upload_kbps))
        };
        enqueue_for(
            conn,
            COA_KIND,
            service_id,
            &username,
            &session,
            Some(rate),
            now,
        )
        .await?;
        enqueued += 1;
    }
    Ok(enqueued)
}

/// Enqueues one CoA or Disconnect job for `session`. Jobs of one login run in order, so a
/// rate change never overtakes the disconnect that preceded it.
pub async fn enqueue(
    conn: &mut Conn<'_>,
    kind: &'static str,
    service: &Service,
    session: &OpenSession,
    rate: Option<String>,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    enqueue_for(
        conn,
        kind,
        service.id,
        &service.username,
        session,
        rate,
        now,
    )
    .await
}

async fn enqueue_for(
    conn: &mut Conn<'_>,
    kind: &'static str,
    service_id: i64,
    username: &str,
    session: &OpenSession,
    rate: Option<String>,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let payload = json!({
        "service_id": service_id,
        "username": username,
        "session_id": session.session_id,
        "nas_ip": session.nas_ip,
        "framed_ip": session.framed_ip,
        "rate_limit": rate,
    });
    let job = NewJob::new(kind, payload)
        .ordered_by(format!("radius:{username}"))
        .attempts(super::NAS_ATTEMPTS);
    jobs::enqueue(conn, job, now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_text_loses_its_prefix_length() {
        assert_eq!(address("10.0.0.1/32".into()).as_deref(), Some("10.0.0.1"));
        assert_eq!(address("10.0.0.1".into()).as_deref(), Some("10.0.0.1"));
        assert_eq!(address(String::new()), None);
    }
}
