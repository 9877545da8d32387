//! `/api/v1/jobs`: the durable work queue, read by operators, who retry what failed. Jobs
//! are made by the core (provisioning, billing runs, webhook deliveries, housekeeping);
//! no REST call creates, changes or deletes one.

use crate::base_url::BaseUrl;
use crate::core_channel::Channel;
use crate::envelope::ApiError;
use crate::format::timestamp;
use crate::resource::query::{path_id, text_parameter};
use crate::resource::{Answer, Command, Get, List, QueryPairs, Resource};
use lastmile_proto::v1::job_service_client::JobServiceClient;
use lastmile_proto::v1::{
    GetJobRequest, Job, JobStatus, ListJobsRequest, PageMeta, PageRequest, RetryJobRequest,
};
use lastmile_proto::{RestName, struct_to_json};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa::openapi::path::Parameter;

/// The jobs collection.
pub(crate) struct Jobs;

fn client(core: Channel) -> JobServiceClient<Channel> {
    JobServiceClient::new(core)
}

/// A job as the REST API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct JobJson {
    /// Job id.
    pub id: i64,
    /// What runs it, e.g. `webhook.deliver`.
    pub kind: String,
    /// Its input.
    #[schema(value_type = Object)]
    pub payload: Map<String, Value>,
    /// Higher runs first among due jobs.
    pub priority: i32,
    /// `queued`, `running`, `succeeded`, `failed` or `dead`.
    #[schema(example = "queued")]
    pub status: &'static str,
    /// Attempts made so far.
    pub attempts: i32,
    /// Attempts allowed before the job is dead.
    pub max_attempts: i32,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// What the last attempt came to (e.g. a NAS's `Disconnect-ACK`, or a NAK with its
    /// Error-Cause).
    pub result: Option<String>,
    /// When it may run next (or ran last); RFC 3339 UTC with microseconds.
    #[schema(value_type = String, example = "2024-01-15T10:30:00.000000Z")]
    pub run_at: Option<String>,
    /// The worker holding it while running.
    pub lease_owner: Option<String>,
    /// When that worker's lease runs out.
    #[schema(example = "2024-01-15T10:30:00.000000Z")]
    pub lease_expires_at: Option<String>,
    /// A key no two live jobs share.
    pub dedupe_key: Option<String>,
    /// Jobs with the same ordering key run one at a time, in id order.
    pub ordering_key: Option<String>,
    /// RFC 3339 UTC with microseconds.
    #[schema(value_type = String, example = "2024-01-15T10:30:00.000000Z")]
    pub created_at: Option<String>,
    /// RFC 3339 UTC with microseconds.
    #[schema(value_type = String, example = "2024-01-15T10:30:00.000000Z")]
    pub updated_at: Option<String>,
    /// When it finished (succeeded or dead).
    #[schema(example = "2024-01-15T10:30:00.000000Z")]
    pub finished_at: Option<String>,
}

impl From<Job> for JobJson {
    fn from(j: Job) -> Self {
        Self {
            id: j.id,
            kind: j.kind,
            payload: j.payload.map(struct_to_json).unwrap_or_default(),
            priority: j.priority,
            status: JobStatus::rest_name_of(j.status),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            last_error: j.last_error,
            result: j.result,
            run_at: timestamp(j.run_at),
            lease_owner: j.lease_owner,
            lease_expires_at: timestamp(j.lease_expires_at),
            dedupe_key: j.dedupe_key,
            ordering_key: j.ordering_key,
            created_at: timestamp(j.created_at),
            updated_at: timestamp(j.updated_at),
            finished_at: timestamp(j.finished_at),
        }
    }
}

impl Resource for Jobs {
    const PATH: &'static str = "/api/v1/jobs";
    const SINGULAR: &'static str = "job";
    const PLURAL: &'static str = "jobs";
    const TITLE: &'static str = "Job";
    const ABOUT: &'static str = "The background work queue: what ran, what failed, and retries";
    type Item = Job;
    type View = JobJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(job: Job, _: &BaseUrl) -> JobJson {
        job.into()
    }
}

impl List for Jobs {
    type Request = ListJobsRequest;

    fn filters() -> Vec<Parameter> {
        vec![
            text_parameter(
                "kind",
                "Only jobs of this kind, e.g. `webhook.deliver`.",
                &[],
            ),
            text_parameter(
                "status",
                "Only jobs in this status; any other value is a 400.",
                JobStatus::NAMES,
            ),
        ]
    }

    fn request(page: PageRequest, query: &QueryPairs) -> Result<ListJobsRequest, ApiError> {
        let status = query.choice("status", JobStatus::NAMES)?;
        Ok(ListJobsRequest {
            page: Some(page),
            kind: query.text("kind"),
            status: status.map_or(0, JobStatus::wire_number),
        })
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListJobsRequest>,
    ) -> Answer<(Vec<Job>, Option<PageMeta>)> {
        let answer = client(core).list_jobs(request).await?.into_inner();
        Ok((answer.jobs, answer.meta))
    }
}

impl Get for Jobs {
    type Request = GetJobRequest;

    fn request(id: i64) -> GetJobRequest {
        GetJobRequest { id }
    }

    async fn call(core: Channel, request: tonic::Request<GetJobRequest>) -> Answer<Option<Job>> {
        Ok(client(core).get_job(request).await?.into_inner().job)
    }
}

/// `POST /api/v1/jobs/{id}/retry`.
pub(crate) struct RetryJob;

impl Command for RetryJob {
    type On = Jobs;
    type Out = Jobs;
    const PATH: &'static str = "retry";
    const OPERATION: &'static str = "retry_job";
    const SUMMARY: &'static str =
        "Queues a failed or dead job to run again now, with a fresh attempt budget.";
    const MESSAGE: &'static str = "Job queued for retry";
    const ERRORS: &'static [(u16, &'static str)] = &[(409, "The job is not failed or dead")];
    type Request = RetryJobRequest;

    fn request(id: i64, _: &[i64]) -> RetryJobRequest {
        RetryJobRequest { id }
    }

    async fn call(core: Channel, request: tonic::Request<RetryJobRequest>) -> Answer<Option<Job>> {
        Ok(client(core).retry_job(request).await?.into_inner().job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> QueryPairs {
        QueryPairs(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn the_status_filter_takes_the_five_statuses_and_nothing_else() {
        let page = PageRequest {
            page: 1,
            per_page: 25,
        };
        let request = <Jobs as List>::request(page, &query(&[("status", "dead")])).unwrap();
        assert_eq!(request.status, JobStatus::Dead as i32);
        let request = <Jobs as List>::request(page, &query(&[("kind", " webhook.deliver ")]));
        let request = request.unwrap();
        assert_eq!(
            (request.kind.as_str(), request.status),
            ("webhook.deliver", 0)
        );
        for bad in ["DEAD", "unspecified", "done"] {
            let error = <Jobs as List>::request(page, &query(&[("status", bad)])).unwrap_err();
            assert_eq!(error.status.as_u16(), 400, "{bad}");
            assert_eq!(
                error.body.error.as_deref(),
                Some(
                    "The status parameter must be one of: queued, running, succeeded, failed, dead."
                )
            );
        }
    }

    #[test]
    fn a_job_shows_its_payload_as_an_object_and_absent_times_as_null() {
        let mut payload = Map::new();
        payload.insert("webhook_id".into(), Value::from(7));
        let job = Job {
            id: 3,
            kind: "webhook.deliver".into(),
            payload: Some(lastmile_proto::json_to_struct(payload)),
            status: JobStatus::Failed as i32,
            attempts: 2,
            max_attempts: 10,
            last_error: Some("timeout".into()),
            run_at: Some(prost_types::Timestamp {
                seconds: 1_705_314_600,
                nanos: 0,
            }),
            ..Job::default()
        };
        let json = serde_json::to_value(JobJson::from(job)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": 3, "kind": "webhook.deliver", "payload": {"webhook_id": 7},
                "priority": 0, "status": "failed", "attempts": 2, "max_attempts": 10,
                "last_error": "timeout", "result": null, "run_at": "2024-01-15T10:30:00.000000Z",
                "lease_owner": null, "lease_expires_at": null, "dedupe_key": null,
                "ordering_key": null, "created_at": null, "updated_at": null,
                "finished_at": null})
        );
    }
}
