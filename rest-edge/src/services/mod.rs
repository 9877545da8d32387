//! `/api/v1/services` (also `/api/v1/subscriptions`): subscribers' internet services,
//! created under their customer (`POST /api/v1/customers/{id}/services/internet`), moved
//! through their life cycle by commands (`…/suspend`, `…/unsuspend`, `…/terminate`,
//! `…/activate`, `…/change-plan`, `…/provision`), and found by login at `/api/v1/subscribers/{username}`.
//! No rule lives here; the core decides.

mod output;
mod provision;

pub(crate) use output::ServiceJson;
pub(crate) use provision::Provision;

use crate::base_url::BaseUrl;
use crate::core_channel::Channel;
use crate::customers::Customers;
use crate::envelope::ApiError;
use crate::resource::query::{id_parameter, invalid, path_id, text_parameter};
use crate::resource::{
    Answer, Body, Changes, Command, Delete, FieldSpec, Get, Kind, List, ListIn, QueryPairs,
    Resource, Rule, Submit, Text, Update, enum_number,
};
use lastmile_proto::RestName;
use lastmile_proto::v1::subscriber_service_client::SubscriberServiceClient;
use lastmile_proto::v1::{
    ChangeServicePlanRequest, CreateServiceRequest, CustomerRef, DeleteServiceRequest,
    GetServiceRequest, InternetService, InternetServiceInput, ListServicesRequest, PageMeta,
    PageRequest, PerformServiceActionRequest, PlanChangeTiming, ServiceAction, ServiceStatus,
    UpdateServiceRequest, get_service_request,
};
use utoipa::openapi::path::Parameter;

fn client(core: Channel) -> SubscriberServiceClient<Channel> {
    SubscriberServiceClient::new(core)
}

/// The services collection.
pub(crate) struct Services;

impl Resource for Services {
    const PATH: &'static str = "/api/v1/services";
    const SINGULAR: &'static str = "service";
    const PLURAL: &'static str = "services";
    const TITLE: &'static str = "Service";
    const ABOUT: &'static str = "Subscribers' internet services and their PPPoE/hotspot logins";
    type Item = InternetService;
    type View = ServiceJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(service: InternetService, base: &BaseUrl) -> ServiceJson {
        ServiceJson::new(service, base)
    }
}

const STATUSES: &[&str] = &["pending_activation", "active", "suspended", "terminated"];

fn filters() -> Vec<Parameter> {
    vec![
        text_parameter("status", "Only services in this state.", STATUSES),
        id_parameter("plan_id", "Only services on this plan."),
        id_parameter("router_id", "Only services through this router."),
        text_parameter(
            "search",
            "Matches the username (case-insensitive substring).",
            &[],
        ),
    ]
}

fn list_request(
    page: PageRequest,
    query: &QueryPairs,
    customer: Option<String>,
) -> Result<ListServicesRequest, ApiError> {
    let status = match query.get("status") {
        None => ServiceStatus::Unspecified,
        Some(name) => ServiceStatus::from_rest_name(name).ok_or_else(|| {
            invalid(&format!(
                "The status parameter must be one of: {}.",
                STATUSES.join(", ")
            ))
        })?,
    };
    Ok(ListServicesRequest {
        page: Some(page),
        customer,
        status: status as i32,
        plan_id: query.id("plan_id")?,
        router_id: query.id("router_id")?,
        search: Some(query.text("search")).filter(|s| !s.is_empty()),
    })
}

async fn list_call(
    core: Channel,
    request: tonic::Request<ListServicesRequest>,
) -> Answer<(Vec<InternetService>, Option<PageMeta>)> {
    let answer = client(core).list_services(request).await?.into_inner();
    Ok((answer.services, answer.meta))
}

impl List for Services {
    type Request = ListServicesRequest;

    fn filters() -> Vec<Parameter> {
        filters()
    }

    fn request(page: PageRequest, query: &QueryPairs) -> Result<ListServicesRequest, ApiError> {
        list_request(page, query, None)
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListServicesRequest>,
    ) -> Answer<(Vec<InternetService>, Option<PageMeta>)> {
        list_call(core, request).await
    }
}

/// One service, by id or by login: the same RPC behind both paths.
async fn get_call(
    core: Channel,
    request: tonic::Request<GetServiceRequest>,
) -> Answer<Option<InternetService>> {
    Ok(client(core)
        .get_service(request)
        .await?
        .into_inner()
        .service)
}

impl Get for Services {
    type Request = GetServiceRequest;

    fn request(id: i64) -> GetServiceRequest {
        GetServiceRequest {
            key: Some(get_service_request::Key::Id(id)),
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<GetServiceRequest>,
    ) -> Answer<Option<InternetService>> {
        get_call(core, request).await
    }
}

const FIELDS: &[FieldSpec<InternetServiceInput>] = &[
    FieldSpec {
        name: "plan_id",
        kind: Kind::Integer(|s, v| s.plan_id = v),
        nullable: false,
        required: true,
        rule: Rule::range(1, i64::MAX),
        description: "The plan (an active one). Set at creation; change it with \
                      `POST /api/v1/services/{id}/change-plan`.",
    },
    FieldSpec {
        name: "speed_download_mbps",
        kind: Kind::Decimal(|s, v| s.speed_download_mbps = v),
        nullable: true,
        required: false,
        rule: Rule::above(0, 100_000).places(3),
        description: "This service's own download speed in Mbit/s (up to 3 decimals); null \
                      goes back to the plan's.",
    },
    FieldSpec {
        name: "speed_upload_mbps",
        kind: Kind::Decimal(|s, v| s.speed_upload_mbps = v),
        nullable: true,
        required: false,
        rule: Rule::above(0, 100_000).places(3),
        description: "This service's own upload speed in Mbit/s (up to 3 decimals); null \
                      goes back to the plan's.",
    },
    FieldSpec {
        name: "data_limit_gb",
        kind: Kind::Decimal(|s, v| s.data_limit_gb = v),
        nullable: true,
        required: false,
        rule: Rule::above(0, 1_000_000).places(3),
        description: "This service's own data cap in GB; null goes back to the plan's.",
    },
    FieldSpec {
        name: "installation_address",
        kind: Kind::Text(|s, v| s.installation_address = v),
        nullable: true,
        required: false,
        rule: Rule::length(0, 500),
        description: "Where the service is installed.",
    },
    FieldSpec {
        name: "scheduled_activation",
        kind: Kind::DateTime(|s, v| s.scheduled_activation = v),
        nullable: true,
        required: false,
        rule: Rule::NONE,
        description: "A future time at which the service becomes active; until then it is \
                      `pending_activation` and its login is refused.",
    },
    FieldSpec {
        name: "notes",
        kind: Kind::Text(|s, v| s.notes = v),
        nullable: true,
        required: false,
        rule: Rule::length(0, 2000),
        description: "Free text.",
    },
    FieldSpec {
        name: "username",
        kind: Kind::Text(|s, v| s.username = v),
        nullable: false,
        required: false,
        rule: Rule::text(Text::RadiusUsername),
        description: "The PPPoE/hotspot login: letters, digits and `@ . - _ :`, at most 64, \
                      unique. Generated from the customer's portal id when absent.",
    },
    FieldSpec {
        name: "password",
        kind: Kind::Text(|s, v| s.password = v),
        nullable: false,
        required: false,
        rule: Rule::text(Text::RadiusPassword),
        description: "The login's password (4 to 128 printable characters without spaces); \
                      generated when absent.",
    },
    FieldSpec {
        name: "mac",
        kind: Kind::Text(|s, v| s.mac = v),
        nullable: true,
        required: false,
        rule: Rule::text(Text::Mac),
        description: "Binds the login to this MAC address (Calling-Station-Id); any common \
                      notation.",
    },
    FieldSpec {
        name: "expiration",
        kind: Kind::DateTime(|s, v| s.expiration = v),
        nullable: true,
        required: false,
        rule: Rule::NONE,
        description: "When the login stops working.",
    },
    FieldSpec {
        name: "router_id",
        kind: Kind::Integer(|s, v| s.router_id = v),
        nullable: true,
        required: false,
        rule: Rule::range(1, i64::MAX),
        description: "The router (NAS) the subscriber connects through.",
    },
    FieldSpec {
        name: "vlan_id",
        kind: Kind::Integer(|s, v| s.vlan_id = v.and_then(|v| i32::try_from(v).ok().or(Some(0)))),
        nullable: true,
        required: false,
        rule: Rule::range(1, 4094),
        description: "The VLAN, 1 to 4094.",
    },
    FieldSpec {
        name: "ip_pool_id",
        kind: Kind::Integer(|s, v| s.ip_pool_id = v),
        nullable: true,
        required: false,
        rule: Rule::range(1, i64::MAX),
        description: "A static IP pool: the service gets `static_ip`, or the pool's next free \
                      address.",
    },
    FieldSpec {
        name: "static_ip",
        kind: Kind::Text(|s, v| s.static_ip = v),
        nullable: true,
        required: false,
        rule: Rule::text(Text::Ipv4 { optional: true }),
        description: "A static IPv4 address (Framed-IP-Address) from a static pool.",
    },
];

impl Body for Services {
    type Input = InternetServiceInput;
    const FIELDS: &'static [FieldSpec<InternetServiceInput>] = FIELDS;
}

impl Update for Services {
    type Request = UpdateServiceRequest;

    fn request(
        id: i64,
        changes: Changes<InternetServiceInput>,
        validate_only: bool,
    ) -> UpdateServiceRequest {
        UpdateServiceRequest {
            id,
            changes: Some(changes.input),
            update_mask: Some(prost_types::FieldMask {
                paths: changes.mask,
            }),
            validate_only,
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<UpdateServiceRequest>,
    ) -> Answer<Option<InternetService>> {
        Ok(client(core)
            .update_service(request)
            .await?
            .into_inner()
            .service)
    }
}

impl Delete for Services {
    type Request = DeleteServiceRequest;

    /// Terminates the service (its login stops at once) and takes it out of lists.
    fn request(id: i64) -> DeleteServiceRequest {
        DeleteServiceRequest { id }
    }

    async fn call(core: Channel, request: tonic::Request<DeleteServiceRequest>) -> Answer<()> {
        client(core).delete_service(request).await?;
        Ok(())
    }
}

/// `POST /api/v1/customers/{id}/services/internet`: a new service for the customer.
pub(crate) struct CreateInternet;

impl Submit for CreateInternet {
    type On = Customers;
    type Out = Services;
    type Input = InternetServiceInput;
    const PATH: &'static str = "services/internet";
    const OPERATION: &'static str = "create_internet_service";
    const SUMMARY: &'static str = "Creates an internet service for the customer: active at \
                                   once (its RADIUS login works on the next request), pending \
                                   until `scheduled_activation`, or suspended with a suspended \
                                   customer.";
    const MESSAGE: &'static str = "Service created successfully";
    const STATUS: u16 = 201;
    const FIELDS: &'static [FieldSpec<InternetServiceInput>] = FIELDS;
    const ERRORS: &'static [(u16, &'static str)] = &[(409, "The customer is terminated")];
    type Request = CreateServiceRequest;

    fn request(customer: CustomerRef, changes: Changes<InternetServiceInput>) -> Self::Request {
        CreateServiceRequest {
            customer: crate::customers::reference_text(customer),
            service: Some(changes.input),
            validate_only: false,
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<CreateServiceRequest>,
    ) -> Answer<Option<InternetService>> {
        Ok(client(core)
            .create_service(request)
            .await?
            .into_inner()
            .service)
    }
}

/// The body of a plan change.
#[derive(Debug, Default)]
pub(crate) struct PlanChange {
    plan_id: i64,
    timing: i32,
}

/// `POST /api/v1/services/{id}/change-plan {"plan_id", "timing": "now" | "next_period"}`.
pub(crate) struct ChangePlan;

impl Submit for ChangePlan {
    type On = Services;
    type Out = Services;
    type Input = PlanChange;
    const PATH: &'static str = "change-plan";
    const OPERATION: &'static str = "change_service_plan";
    const SUMMARY: &'static str = "Moves the service to another plan, now (online sessions \
                                   get the new rate by CoA) or at the start of its next \
                                   billing period.";
    const MESSAGE: &'static str = "Service plan changed successfully";
    const FIELDS: &'static [FieldSpec<PlanChange>] = &[
        FieldSpec {
            name: "plan_id",
            kind: Kind::Integer(|c, v| c.plan_id = v.unwrap_or_default()),
            nullable: false,
            required: true,
            rule: Rule::range(1, i64::MAX),
            description: "The new plan (an active one).",
        },
        FieldSpec {
            name: "timing",
            kind: Kind::OneOf(PlanChangeTiming::NAMES_OR_EMPTY, |c, v| {
                c.timing = v.map_or(0, |name| enum_number::<PlanChangeTiming>(&name))
            }),
            nullable: false,
            required: false,
            rule: Rule::NONE,
            description: "`now` (default) or `next_period`.",
        },
    ];
    const ERRORS: &'static [(u16, &'static str)] = &[(409, "The service is terminated")];
    type Request = ChangeServicePlanRequest;

    fn request(id: i64, changes: Changes<PlanChange>) -> ChangeServicePlanRequest {
        ChangeServicePlanRequest {
            id,
            plan_id: changes.input.plan_id,
            timing: changes.input.timing,
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ChangeServicePlanRequest>,
    ) -> Answer<Option<InternetService>> {
        Ok(client(core)
            .change_service_plan(request)
            .await?
            .into_inner()
            .service)
    }
}

/// Declares a life-cycle command: `POST /api/v1/services/{id}/<path>`.
macro_rules! life_cycle {
    ($name:ident, $path:literal, $operation:literal, $action:ident, $summary:literal, $message:literal) => {
        #[doc = concat!("`POST /api/v1/services/{id}/", $path, "`.")]
        pub(crate) struct $name;

        impl Command for $name {
            type On = Services;
            type Out = Services;
            const PATH: &'static str = $path;
            const OPERATION: &'static str = $operation;
            const SUMMARY: &'static str = $summary;
            const MESSAGE: &'static str = $message;
            const ERRORS: &'static [(u16, &'static str)] =
                &[(409, "Not possible in the service's state")];
            type Request = PerformServiceActionRequest;

            fn request(id: i64, _: &[i64]) -> PerformServiceActionRequest {
                PerformServiceActionRequest {
                    id,
                    action: ServiceAction::$action as i32,
                    reason: String::new(),
                }
            }

            async fn call(
                core: Channel,
                request: tonic::Request<PerformServiceActionRequest>,
            ) -> Answer<Option<InternetService>> {
                Ok(client(core)
                    .perform_service_action(request)
                    .await?
                    .into_inner()
                    .service)
            }
        }
    };
}

life_cycle!(
    Activate,
    "activate",
    "activate_service",
    Activate,
    "Activates a pending service now (its login works on the next request). `X-Reason` is kept.",
    "Service activated successfully"
);
life_cycle!(
    Suspend,
    "suspend",
    "suspend_service",
    Suspend,
    "Suspends the service: its login is refused (or walled) on the next request and open \
     sessions are disconnected. `X-Reason` is kept.",
    "Service suspended successfully"
);
life_cycle!(
    Unsuspend,
    "unsuspend",
    "unsuspend_service",
    Unsuspend,
    "Restores a suspended service. `X-Reason` is kept.",
    "Service unsuspended successfully"
);
life_cycle!(
    Terminate,
    "terminate",
    "terminate_service",
    Terminate,
    "Ends the service: its RADIUS rows go, open sessions are disconnected, a static \
     address returns to its pool. `X-Reason` is kept.",
    "Service terminated successfully"
);

/// `GET /api/v1/customers/{id}/services` (and `…/subscriptions`): one customer's services.
pub(crate) struct CustomerServices<const SUBSCRIPTIONS: bool>;

impl<const SUBSCRIPTIONS: bool> Resource for CustomerServices<SUBSCRIPTIONS> {
    const PATH: &'static str = "/api/v1/services";
    const SINGULAR: &'static str = "service";
    const PLURAL: &'static str = "services";
    const TITLE: &'static str = "Service";
    const ABOUT: &'static str = Services::ABOUT;
    type Item = InternetService;
    type View = ServiceJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(service: InternetService, base: &BaseUrl) -> ServiceJson {
        ServiceJson::new(service, base)
    }
}

impl<const SUBSCRIPTIONS: bool> ListIn for CustomerServices<SUBSCRIPTIONS> {
    type In = Customers;
    const SEGMENT: &'static str = if SUBSCRIPTIONS {
        "subscriptions"
    } else {
        "services"
    };
    type Request = ListServicesRequest;

    fn filters() -> Vec<Parameter> {
        filters()
    }

    fn request(
        customer: CustomerRef,
        page: PageRequest,
        query: &QueryPairs,
    ) -> Result<ListServicesRequest, ApiError> {
        list_request(
            page,
            query,
            Some(crate::customers::reference_text(customer)),
        )
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListServicesRequest>,
    ) -> Answer<(Vec<InternetService>, Option<PageMeta>)> {
        list_call(core, request).await
    }
}

/// `GET /api/v1/subscribers/{username}`: a service found by its RADIUS login.
pub(crate) struct Subscribers;

impl Resource for Subscribers {
    const PATH: &'static str = "/api/v1/subscribers";
    const SINGULAR: &'static str = "service";
    const PLURAL: &'static str = "subscribers";
    const TITLE: &'static str = "Subscriber";
    const STEM: &'static str = "subscriber";
    const ABOUT: &'static str = "Services found by their PPPoE/hotspot login";
    const ID: &'static str = "The login (RADIUS User-Name): letters, digits and `@ . - _ :`, \
                              at most 64; anything else is a 404.";
    const INTEGER_ID: bool = false;
    const ID_NAME: &'static str = "username";
    const ID_PATTERN: &'static str = "^[A-Za-z0-9@.:_-]{1,64}$";
    type Item = InternetService;
    type View = ServiceJson;
    type Key = String;

    fn key(segment: &str) -> Option<String> {
        lastmile_proto::valid_radius_username(segment).then(|| segment.to_owned())
    }

    fn view(service: InternetService, base: &BaseUrl) -> ServiceJson {
        ServiceJson::new(service, base)
    }
}

impl Get for Subscribers {
    type Request = GetServiceRequest;

    fn request(username: String) -> GetServiceRequest {
        GetServiceRequest {
            key: Some(get_service_request::Key::Username(username)),
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<GetServiceRequest>,
    ) -> Answer<Option<InternetService>> {
        get_call(core, request).await
    }
}
