//! The gRPC adapter of `JobService`: the operators' view of the queue.

use lastmile_proto::v1 as pb;
use lastmile_proto::{json_to_struct, timestamp};
use pb::job_service_server::{JobService, JobServiceServer};
use serde_json::json;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::{Request, Response, Status};

use super::{Job, JobQuery, JobStatus, NOOP_KIND, NewJob, PROBE_KIND};
use crate::Core;
use crate::audit::{self, Change};
use crate::auth::RequestContext;
use crate::authz::{Operation, Resource, ServiceAccess, rule};
use crate::clock::SharedClock;
use crate::db::{Db, Tx};
use crate::domains::Domain;
use crate::error::{Error, FieldErrors};
use crate::paging::PageQuery;
use crate::write::{Step, Writes};

/// The jobs domain as the server registers it.
pub const DOMAIN: Domain = Domain {
    access: ServiceAccess {
        service: <JobServiceServer<JobGrpc> as NamedService>::NAME,
        methods: &[
            rule("ListJobs", Resource::Jobs, Operation::Read),
            rule("GetJob", Resource::Jobs, Operation::Read),
            rule("RetryJob", Resource::Jobs, Operation::Act),
            rule("EnqueueProbes", Resource::Jobs, Operation::Act),
        ],
    },
    serve,
};

fn serve(core: &Core, routes: &mut RoutesBuilder) {
    let grpc = JobGrpc {
        db: core.db.clone(),
        clock: core.clock.clone(),
        writes: Writes::new(core.db.clone(), core.clock.clone()),
    };
    routes.add_service(JobServiceServer::new(grpc));
}

/// `lastmile.v1.JobService`.
#[derive(Debug, Clone)]
pub struct JobGrpc {
    db: Db,
    clock: SharedClock,
    writes: Writes,
}

impl From<JobStatus> for pb::JobStatus {
    fn from(status: JobStatus) -> Self {
        match status {
            JobStatus::Queued => pb::JobStatus::Queued,
            JobStatus::Running => pb::JobStatus::Running,
            JobStatus::Succeeded => pb::JobStatus::Succeeded,
            JobStatus::Failed => pb::JobStatus::Failed,
            JobStatus::Dead => pb::JobStatus::Dead,
        }
    }
}

impl From<Job> for pb::Job {
    fn from(j: Job) -> Self {
        Self {
            id: j.id,
            kind: j.kind,
            payload: match j.payload {
                serde_json::Value::Object(map) => Some(json_to_struct(map)),
                _ => None,
            },
            priority: j.priority,
            status: pb::JobStatus::from(j.status).into(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            last_error: j.last_error,
            result: j.result,
            run_at: Some(timestamp(j.run_at)),
            lease_owner: j.lease_owner,
            lease_expires_at: j.lease_expires_at.map(timestamp),
            dedupe_key: j.dedupe_key,
            ordering_key: j.ordering_key,
            created_at: Some(timestamp(j.created_at)),
            updated_at: Some(timestamp(j.updated_at)),
            finished_at: j.finished_at.map(timestamp),
        }
    }
}

pub(crate) fn status_filter(number: i32) -> Result<Option<JobStatus>, Error> {
    match pb::JobStatus::try_from(number) {
        Ok(pb::JobStatus::Unspecified) => Ok(None),
        Ok(wanted) => Ok(JobStatus::ALL
            .into_iter()
            .find(|s| pb::JobStatus::from(*s) == wanted)),
        Err(_) => Err(Error::BadRequest(
            "The status must be one of queued, running, succeeded, failed, dead.".into(),
        )),
    }
}

#[tonic::async_trait]
impl JobService for JobGrpc {
    async fn list_jobs(
        &self,
        request: Request<pb::ListJobsRequest>,
    ) -> Result<Response<pb::ListJobsResponse>, Status> {
        let r = request.into_inner();
        let query = JobQuery {
            page: PageQuery::from_request(r.page)?,
            kind: Some(r.kind.trim().to_owned()).filter(|k| !k.is_empty()),
            kind_prefix: None,
            kinds: Vec::new(),
            status: status_filter(r.status)?,
        };
        let (jobs, total) = super::list(&mut self.db.conn(), &query).await?;
        Ok(Response::new(pb::ListJobsResponse {
            jobs: jobs.into_iter().map(Into::into).collect(),
            meta: Some(query.page.meta(total)),
        }))
    }

    async fn get_job(
        &self,
        request: Request<pb::GetJobRequest>,
    ) -> Result<Response<pb::GetJobResponse>, Status> {
        let job = super::get(&mut self.db.conn(), request.get_ref().id).await?;
        Ok(Response::new(pb::GetJobResponse {
            job: Some(job.into()),
        }))
    }

    async fn retry_job(
        &self,
        request: Request<pb::RetryJobRequest>,
    ) -> Result<Response<pb::RetryJobResponse>, Status> {
        let read = async |r: pb::RetryJobRequest| Ok(Step::Commit(r.id));
        let change = async |tx: &mut Tx, context: &RequestContext, id: i64| {
            let now = self.clock.now();
            let before = super::get(&mut tx.conn(), id).await?;
            let job = super::retry(&mut tx.conn(), id, now).await?;
            let change = Change::updated(
                "job.retried".into(),
                "job",
                id,
                &json!({"status": before.status.as_str(), "attempts": before.attempts})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                &json!({"status": job.status.as_str(), "attempts": job.attempts})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            )
            .unpublished();
            audit::record(&mut tx.conn(), context, change, now).await?;
            Ok(pb::RetryJobResponse {
                job: Some(job.into()),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn enqueue_probes(
        &self,
        request: Request<pb::EnqueueProbesRequest>,
    ) -> Result<Response<pb::EnqueueProbesResponse>, Status> {
        let read = async |r: pb::EnqueueProbesRequest| {
            let mut errors = FieldErrors::new();
            if !(1..=10_000).contains(&r.count) {
                errors.add("count", "The count must be between 1 and 10000.");
            }
            if !(0..=60_000).contains(&r.hold_ms) {
                errors.add("hold_ms", "The hold_ms must be between 0 and 60000.");
            }
            if !(0..=20).contains(&r.fail_attempts) {
                errors.add(
                    "fail_attempts",
                    "The fail_attempts must be between 0 and 20.",
                );
            }
            if r.label.chars().count() > 100 {
                errors.add("label", "The label may not be greater than 100 characters.");
            }
            errors.into_result()?;
            Ok(Step::Commit(r))
        };
        let change = async |tx: &mut Tx, context: &RequestContext, r: pb::EnqueueProbesRequest| {
            let now = self.clock.now();
            let mut job_ids = Vec::with_capacity(usize::try_from(r.count).unwrap_or(0));
            for _ in 0..r.count {
                let payload = json!({
                    "label": r.label,
                    "hold_ms": r.hold_ms,
                    "fail_attempts": r.fail_attempts,
                });
                if let Some(id) = super::enqueue(
                    &mut tx.conn(),
                    NewJob::new(if r.noop { NOOP_KIND } else { PROBE_KIND }, payload),
                    now,
                )
                .await?
                {
                    job_ids.push(id);
                }
            }
            let change = Change::created(
                "job",
                job_ids.first().copied().unwrap_or_default(),
                json!({"kind": if r.noop { NOOP_KIND } else { PROBE_KIND }, "count": r.count, "label": r.label})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            )
            .unpublished();
            audit::record(&mut tx.conn(), context, change, now).await?;
            Ok(pb::EnqueueProbesResponse { job_ids })
        };
        self.writes.run(request, read, change).await
    }
}
