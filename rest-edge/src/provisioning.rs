//! Provisioning: `/api/v1/provisioning-jobs` (the Disconnect and CoA requests sent to
//! routers and the provisioning of services, with their answers), `/api/v1/provisioning/drift` (every row where the RADIUS
//! tables differ from what services and plans say) and `POST /api/v1/provisioning/reconcile`
//! (writes the expected rows back).

use crate::base_url::BaseUrl;
use crate::core_channel::Channel;
use crate::envelope::ApiError;
use crate::jobs::JobJson;
use crate::resource::query::{path_id, text_parameter};
use crate::resource::{
    Answer, Body, Changes, Create, FieldSpec, Get, List, NoFields, QueryPairs, Resource,
};
use lastmile_proto::RestName;
use lastmile_proto::v1::provisioning_service_client::ProvisioningServiceClient;
use lastmile_proto::v1::{
    DriftRow, GetDriftRequest, GetProvisioningJobRequest, Job, JobStatus,
    ListProvisioningJobsRequest, PageMeta, PageRequest, ReconcileRequest, ReconcileResponse,
};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::path::Parameter;

fn client(core: Channel) -> ProvisioningServiceClient<Channel> {
    ProvisioningServiceClient::new(core)
}

/// The provisioning jobs.
pub(crate) struct ProvisioningJobs;

impl Resource for ProvisioningJobs {
    const PATH: &'static str = "/api/v1/provisioning-jobs";
    const SINGULAR: &'static str = "provisioning_job";
    const PLURAL: &'static str = "provisioning_jobs";
    const TITLE: &'static str = "Provisioning job";
    const ABOUT: &'static str = "Disconnect and CoA requests to routers, and services being provisioned, with their answers";
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

impl List for ProvisioningJobs {
    type Request = ListProvisioningJobsRequest;

    fn filters() -> Vec<Parameter> {
        vec![text_parameter(
            "status",
            "Only jobs in this status; any other value is a 400.",
            JobStatus::NAMES,
        )]
    }

    fn request(
        page: PageRequest,
        query: &QueryPairs,
    ) -> Result<ListProvisioningJobsRequest, ApiError> {
        let status = query.choice("status", JobStatus::NAMES)?;
        Ok(ListProvisioningJobsRequest {
            page: Some(page),
            status: status.map_or(0, JobStatus::wire_number),
        })
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListProvisioningJobsRequest>,
    ) -> Answer<(Vec<Job>, Option<PageMeta>)> {
        let answer = client(core)
            .list_provisioning_jobs(request)
            .await?
            .into_inner();
        Ok((answer.jobs, answer.meta))
    }
}

impl Get for ProvisioningJobs {
    type Request = GetProvisioningJobRequest;

    fn request(id: i64) -> GetProvisioningJobRequest {
        GetProvisioningJobRequest { id }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<GetProvisioningJobRequest>,
    ) -> Answer<Option<Job>> {
        Ok(client(core)
            .get_provisioning_job(request)
            .await?
            .into_inner()
            .job)
    }
}

/// One row where the RADIUS tables differ from what Lastmile expects.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DriftRowJson {
    /// `radcheck`, `radreply`, `radusergroup` or `radgroupreply`.
    pub table: String,
    /// The username (in `radgroupreply`, the group).
    pub name: String,
    /// The service the username belongs to, if any.
    pub service_id: Option<i64>,
    /// `missing` (expected, absent) or `unexpected` (present, not expected).
    #[schema(example = "unexpected")]
    pub kind: String,
    /// The attribute (in `radusergroup`, the group).
    pub attribute: String,
    /// The operator.
    pub op: String,
    /// The value (in `radusergroup`, the priority).
    pub value: String,
}

impl From<DriftRow> for DriftRowJson {
    fn from(d: DriftRow) -> Self {
        Self {
            table: d.table,
            name: d.name,
            service_id: d.service_id,
            kind: d.kind,
            attribute: d.attribute,
            op: d.op,
            value: d.value,
        }
    }
}

/// The drift report.
pub(crate) struct Drift;

impl Resource for Drift {
    const PATH: &'static str = "/api/v1/provisioning/drift";
    const SINGULAR: &'static str = "drift_row";
    const PLURAL: &'static str = "drift";
    const TITLE: &'static str = "Drift";
    const ABOUT: &'static str =
        "Rows where FreeRADIUS's tables differ from what services and plans say";
    type Item = DriftRow;
    type View = DriftRowJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(row: DriftRow, _: &BaseUrl) -> DriftRowJson {
        row.into()
    }
}

impl List for Drift {
    type Request = GetDriftRequest;

    fn filters() -> Vec<Parameter> {
        Vec::new()
    }

    fn request(page: PageRequest, _: &QueryPairs) -> Result<GetDriftRequest, ApiError> {
        Ok(GetDriftRequest { page: Some(page) })
    }

    async fn call(
        core: Channel,
        request: tonic::Request<GetDriftRequest>,
    ) -> Answer<(Vec<DriftRow>, Option<PageMeta>)> {
        let answer = client(core).get_drift(request).await?.into_inner();
        Ok((answer.rows, answer.meta))
    }
}

/// What a repair did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReconciliationJson {
    /// The rows that differed and were written back.
    pub repaired: Vec<DriftRowJson>,
    /// What still differs (nothing, unless the tables changed meanwhile).
    pub remaining: Vec<DriftRowJson>,
}

/// `POST /api/v1/provisioning/reconcile`: writes the expected rows back.
pub(crate) struct Reconcile;

impl Resource for Reconcile {
    const PATH: &'static str = "/api/v1/provisioning/reconcile";
    const SINGULAR: &'static str = "reconciliation";
    const PLURAL: &'static str = "reconciliations";
    const TITLE: &'static str = "Reconciliation";
    const ABOUT: &'static str = "Repairs of the RADIUS tables";
    type Item = ReconcileResponse;
    type View = ReconciliationJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(answer: ReconcileResponse, _: &BaseUrl) -> ReconciliationJson {
        ReconciliationJson {
            repaired: answer.repaired.into_iter().map(Into::into).collect(),
            remaining: answer.remaining.into_iter().map(Into::into).collect(),
        }
    }
}

impl Body for Reconcile {
    type Input = NoFields;
    const FIELDS: &'static [FieldSpec<NoFields>] = &[];
    const VALIDATES: bool = false;
}

impl Create for Reconcile {
    type Request = ReconcileRequest;

    fn request(_: Changes<NoFields>, _: bool) -> ReconcileRequest {
        ReconcileRequest {}
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ReconcileRequest>,
    ) -> Answer<Option<ReconcileResponse>> {
        Ok(Some(client(core).reconcile(request).await?.into_inner()))
    }
}
