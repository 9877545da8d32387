//! The provisioning operations: the jobs' view, the drift report and its repair.

use std::collections::BTreeMap;

use serde_json::{Map, json};

use super::drift::{self, Difference};
use crate::audit::{self, Change};
use crate::auth::RequestContext;
use crate::clock::SharedClock;
use crate::db::{Conn, Db, Tx};
use crate::error::{Error, Result};
use crate::jobs::{self, Job, JobQuery, JobStatus};
use crate::paging::{Page, PageQuery};
use crate::radius_rows::RadiusRow;
use crate::services::ServiceSettings;

/// The kinds of job this domain shows: every request to a router, and the provisioning of
/// a service ([`ACTIVATE_KIND`]).
pub const JOB_PREFIX: &str = "radius.";

/// The job that puts a service on its router, VLAN, address and plan, and activates it.
pub const ACTIVATE_KIND: &str = crate::services::PROVISION_KIND;

/// Whether this domain shows jobs of `kind`.
fn shown(kind: &str) -> bool {
    kind.starts_with(JOB_PREFIX) || kind == ACTIVATE_KIND
}

/// The provisioning operations.
#[derive(Debug, Clone)]
pub struct Provisioning {
    db: Db,
    clock: SharedClock,
    settings: ServiceSettings,
}

impl Provisioning {
    /// The operations over `db`.
    pub fn new(db: Db, clock: SharedClock, settings: ServiceSettings) -> Self {
        Self {
            db,
            clock,
            settings,
        }
    }

    /// A page of provisioning jobs, newest first.
    pub async fn jobs(&self, page: PageQuery, status: Option<JobStatus>) -> Result<Page<Job>> {
        let query = JobQuery {
            page,
            kind: None,
            kind_prefix: Some(JOB_PREFIX.to_owned()),
            kinds: vec![ACTIVATE_KIND.to_owned()],
            status,
        };
        let (items, total) = jobs::list(&mut self.db.conn(), &query).await?;
        Ok(Page {
            items,
            total,
            query: page,
        })
    }

    /// One provisioning job.
    pub async fn job(&self, id: i64) -> Result<Job> {
        let job = jobs::get(&mut self.db.conn(), id).await?;
        if !shown(&job.kind) {
            return Err(Error::NotFound("Provisioning job"));
        }
        Ok(job)
    }

    /// Every row that differs, read in one transaction so the report is one moment's.
    pub async fn drift(&self) -> Result<Vec<Difference>> {
        let mut tx = self.db.begin().await?;
        let report = self.report(&mut tx.conn()).await;
        drop(tx);
        let report = report?;
        crate::metrics::radius_drift_rows(report.len());
        Ok(report)
    }

    async fn report(&self, conn: &mut Conn<'_>) -> Result<Vec<Difference>> {
        let groups = expected_groups(conn).await?;
        drift::report(conn, &self.settings, groups).await
    }

    /// Writes the expected rows back wherever they differ, with an audit entry listing
    /// what was repaired; answers the repaired rows and what still differs.
    pub async fn reconcile(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
    ) -> Result<(Vec<Difference>, Vec<Difference>)> {
        let groups = expected_groups(&mut tx.conn()).await?;
        let before = drift::report(&mut tx.conn(), &self.settings, groups.clone()).await?;
        if before.is_empty() {
            return Ok((before, Vec::new()));
        }
        drift::repair(&mut tx.conn(), &self.settings, &groups, &before).await?;
        let after = drift::report(&mut tx.conn(), &self.settings, groups).await?;
        let repaired: Vec<_> = before.iter().map(row_json).collect();
        let change = Change::updated(
            "provisioning.reconciled".into(),
            "radius",
            0,
            &Map::new(),
            &json!({"repaired": repaired, "remaining": after.len()})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        )
        .unpublished();
        audit::record(&mut tx.conn(), context, change, self.clock.now()).await?;
        crate::metrics::radius_drift_rows(after.len());
        Ok((before, after))
    }
}

fn row_json(d: &Difference) -> serde_json::Value {
    json!({"table": d.table, "name": d.name, "service_id": d.service_id, "kind": d.kind,
        "attribute": d.attribute, "op": d.op, "value": d.value})
}

/// The reply rows every plan's group must have.
async fn expected_groups(conn: &mut Conn<'_>) -> Result<BTreeMap<String, Vec<RadiusRow>>> {
    crate::catalog::expected_groups(conn).await
}
