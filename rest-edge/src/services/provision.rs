//! `POST /api/v1/services/{id}/provision`: queues a durable job that puts the service on
//! its router, VLAN, address and plan and activates it; answered 202 with the queued job
//! (followed at `/api/v1/provisioning-jobs/{id}`). No rule lives here; the core decides.

use super::Services;
use crate::base_url::BaseUrl;
use crate::core_channel::Channel;
use crate::envelope::FieldErrors;
use crate::format::timestamp;
use crate::json_input::{Field, Fields, label, saturate_i32};
use crate::resource::query::path_id;
use crate::resource::{Answer, Changes, FieldSpec, Kind, Resource, Rule, Submit, enum_number};
use lastmile_proto::RestName;
use lastmile_proto::v1::provisioning_service_client::ProvisioningServiceClient;
use lastmile_proto::v1::{ProvisionServiceRequest, ProvisioningPriority, QueuedProvisioning};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};

/// A queued provisioning job, as the request answers it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProvisionJson {
    /// The job; follow it at `/api/v1/provisioning-jobs/{id}`.
    pub provisioning_job_id: i64,
    /// The service it provisions.
    pub service_id: i64,
    /// `queued`.
    #[schema(example = "queued")]
    pub status: String,
    /// `low`, `normal`, `high` or `urgent`.
    #[schema(example = "normal")]
    pub priority: String,
    /// When it should be done: the scheduled time, or a few seconds from now.
    pub estimated_completion: Option<String>,
    /// When it was queued.
    pub created_at: Option<String>,
    /// The job's kind, `provisioning.activate`.
    #[schema(example = "provisioning.activate")]
    pub kind: String,
}

/// The answer of a provisioning request: one queued job.
pub(crate) struct QueuedProvisionings;

impl Resource for QueuedProvisionings {
    const PATH: &'static str = "/api/v1/provisioning-jobs";
    const SINGULAR: &'static str = "provisioning_job";
    const PLURAL: &'static str = "provisioning_jobs";
    const STEM: &'static str = "queued_provisioning_job";
    const TITLE: &'static str = "Provisioning job";
    const ABOUT: &'static str = "Queued provisioning of a service";
    type Item = QueuedProvisioning;
    type View = ProvisionJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(q: QueuedProvisioning, _: &BaseUrl) -> ProvisionJson {
        ProvisionJson {
            provisioning_job_id: q.provisioning_job_id,
            service_id: q.service_id,
            status: q.status,
            priority: ProvisioningPriority::rest_name_of(q.priority).to_owned(),
            estimated_completion: timestamp(q.estimated_completion),
            created_at: timestamp(q.created_at),
            kind: q.kind,
        }
    }
}

/// `POST /api/v1/services/{id}/provision`.
pub(crate) struct Provision;

impl Submit for Provision {
    type On = Services;
    type Out = QueuedProvisionings;
    type Input = ProvisionServiceRequest;
    const PATH: &'static str = "provision";
    const OPERATION: &'static str = "provision_service";
    const SUMMARY: &'static str = "Queues a durable job that puts the service on a router, \
                                   VLAN, address and plan, and activates it when pending.";
    const MESSAGE: &'static str = "Provisioning queued";
    const STATUS: u16 = 202;
    const FIELDS: &'static [FieldSpec<ProvisionServiceRequest>] = &[
        FieldSpec {
            name: "provisioning_data",
            kind: Kind::Custom {
                read: read_data,
                schema: data_schema,
            },
            nullable: true,
            required: false,
            rule: Rule::NONE,
            description: "What to apply; every member optional.",
        },
        FieldSpec {
            name: "priority",
            kind: Kind::OneOf(ProvisioningPriority::NAMES_OR_EMPTY, |r, v| {
                r.priority = v.map_or(0, |name| enum_number::<ProvisioningPriority>(&name))
            }),
            nullable: false,
            required: false,
            rule: Rule::NONE,
            description: "`low`, `normal` (the default), `high` or `urgent`.",
        },
        FieldSpec {
            name: "scheduled_time",
            kind: Kind::DateTime(|r, v| r.scheduled_time = v),
            nullable: true,
            required: false,
            rule: Rule::NONE,
            description: "When to run it (RFC 3339, in the future); now when absent.",
        },
    ];
    const ERRORS: &'static [(u16, &'static str)] = &[(409, "The service is terminated")];
    type Request = ProvisionServiceRequest;

    fn request(id: i64, changes: Changes<ProvisionServiceRequest>) -> ProvisionServiceRequest {
        ProvisionServiceRequest {
            id,
            ..changes.input
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ProvisionServiceRequest>,
    ) -> Answer<Option<QueuedProvisioning>> {
        Ok(ProvisioningServiceClient::new(core)
            .provision_service(request)
            .await?
            .into_inner()
            .provisioning_job)
    }
}

/// `provisioning_data`: an object (or null, as if absent).
fn read_data(
    fields: &Fields<'_>,
    out: &mut Changes<ProvisionServiceRequest>,
    errors: &mut FieldErrors,
) {
    let Field::Value(object) = fields.object("provisioning_data", errors) else {
        return;
    };
    out.touch("provisioning_data");
    let data = Fields::nested(object, "provisioning_data");
    let input = &mut out.input;
    input.router_id = data.integer("router_id", errors).value();
    input.vlan_id = data
        .integer("vlan_id", errors)
        .value()
        .map(|v| if v < 0 { 0 } else { saturate_i32(v) });
    input.ip_assignment = data.string("ip_assignment", errors).value();
    input.bandwidth_profile = match object.get("bandwidth_profile") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name.clone()),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Some(_) => {
            let path = data.path("bandwidth_profile");
            errors.add(
                path.as_str(),
                format!("The {} must be a plan name or id.", label(&path)),
            );
            None
        }
    };
}

fn data_schema() -> RefOr<Schema> {
    let either: SchemaType = [Type::String, Type::Integer].into_iter().collect();
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .property(
            "router_id",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .description(Some("The router the service connects through.")),
        )
        .property(
            "vlan_id",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(4094))
                .description(Some("The VLAN, 1-4094.")),
        )
        .property(
            "ip_assignment",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(
                    "`dynamic`, `static` (the next free address of the router's static pool) \
                 or an IPv4 address.",
                )),
        )
        .property(
            "bandwidth_profile",
            ObjectBuilder::new()
                .schema_type(either)
                .description(Some("The plan, by name or id; it must be for sale.")),
        )
        .description(Some("What to apply to the service; every member optional."))
        .into()
}
