//! Support tickets and SLA, declared on the resource layer: `/api/v1/tickets` (and a
//! customer's at `/api/v1/customers/{id}/tickets`), their comments, `/api/v1/sla/policies`,
//! `POST /api/v1/sla/check-breaches` and `GET /api/v1/sla/performance-metrics`. No rule
//! lives here; the core decides.

mod input;
mod output;

pub(crate) use output::{PolicyJson, TicketJson};

use crate::base_url::BaseUrl;
use crate::core_channel::Channel;
use crate::customers::{Customers, reference_text as reference};
use crate::envelope::ApiError;
use crate::resource::query::{id_parameter, invalid, path_id, range_parameter, text_parameter};
use crate::resource::{
    Answer, Body, Changes, Create, Delete, FieldSpec, Get, List, ListIn, NoFields, QueryPairs,
    Report, Resource, Submit, Update,
};
use input::{COMMENT_FIELDS, CUSTOMER_TICKET_FIELDS, POLICY_FIELDS, TICKET_FIELDS};
use lastmile_proto::RestName;
use lastmile_proto::v1::sla_service_client::SlaServiceClient;
use lastmile_proto::v1::ticket_service_client::TicketServiceClient;
use lastmile_proto::v1::{
    AddTicketCommentRequest, CheckBreachesRequest, CheckBreachesResponse, CreateSlaPolicyRequest,
    CreateTicketRequest, CustomerRef, DeleteSlaPolicyRequest, DeleteTicketRequest,
    GetPerformanceMetricsRequest, GetPerformanceMetricsResponse, GetSlaPolicyRequest,
    GetTicketRequest, ListSlaPoliciesRequest, ListTicketCommentsRequest, ListTicketsRequest,
    PageMeta, PageRequest, SlaPolicy, SlaPolicyInput, Ticket, TicketComment, TicketCommentInput,
    TicketInput, TicketPriority, TicketStatus, UpdateSlaPolicyRequest, UpdateTicketRequest,
};
use output::{CheckJson, CommentJson, MetricsJson};
use utoipa::openapi::path::Parameter;

fn tickets(core: Channel) -> TicketServiceClient<Channel> {
    TicketServiceClient::new(core)
}

fn sla(core: Channel) -> SlaServiceClient<Channel> {
    SlaServiceClient::new(core)
}

/// `/api/v1/tickets`.
pub(crate) struct Tickets;

impl Resource for Tickets {
    const PATH: &'static str = "/api/v1/tickets";
    const SINGULAR: &'static str = "ticket";
    const PLURAL: &'static str = "tickets";
    const TITLE: &'static str = "Ticket";
    const ABOUT: &'static str = "Support tickets, each with the due times of its SLA policy";
    type Item = Ticket;
    type View = TicketJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(ticket: Ticket, base: &BaseUrl) -> TicketJson {
        TicketJson::new(ticket, base)
    }
}

fn filters() -> Vec<Parameter> {
    vec![
        text_parameter(
            "status",
            "Only tickets in this status.",
            TicketStatus::NAMES,
        ),
        text_parameter("priority", "Only of this priority.", TicketPriority::NAMES),
        id_parameter("customer_id", "Only this customer's."),
        id_parameter("assignee_id", "Only assigned to this user."),
        id_parameter("team_id", "Only with this team."),
        text_parameter(
            "search",
            "Matches the subject (case-insensitive substring).",
            &[],
        ),
    ]
}

fn list_request(
    page: PageRequest,
    query: &QueryPairs,
    customer: Option<String>,
) -> Result<ListTicketsRequest, ApiError> {
    let status = query
        .choice("status", TicketStatus::NAMES)?
        .map_or(0, TicketStatus::wire_number);
    let priority = query
        .choice("priority", TicketPriority::NAMES)?
        .map_or(0, TicketPriority::wire_number);
    let customer_id = match customer {
        Some(_) => None,
        None => query.id("customer_id")?,
    };
    let search = Some(query.text("search")).filter(|s| !s.is_empty());
    Ok(ListTicketsRequest {
        page: Some(page),
        customer,
        status,
        priority,
        assignee_id: query.id("assignee_id")?,
        team_id: query.id("team_id")?,
        search,
        customer_id,
    })
}

async fn list_call(
    core: Channel,
    request: tonic::Request<ListTicketsRequest>,
) -> Answer<(Vec<Ticket>, Option<PageMeta>)> {
    let answer = tickets(core).list_tickets(request).await?.into_inner();
    Ok((answer.tickets, answer.meta))
}

async fn create_call(
    core: Channel,
    request: tonic::Request<CreateTicketRequest>,
) -> Answer<Option<Ticket>> {
    Ok(tickets(core)
        .create_ticket(request)
        .await?
        .into_inner()
        .ticket)
}

impl List for Tickets {
    type Request = ListTicketsRequest;

    fn filters() -> Vec<Parameter> {
        filters()
    }

    fn request(page: PageRequest, query: &QueryPairs) -> Result<ListTicketsRequest, ApiError> {
        list_request(page, query, None)
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListTicketsRequest>,
    ) -> Answer<(Vec<Ticket>, Option<PageMeta>)> {
        list_call(core, request).await
    }
}

impl Get for Tickets {
    type Request = GetTicketRequest;

    fn request(id: i64) -> GetTicketRequest {
        GetTicketRequest { id }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<GetTicketRequest>,
    ) -> Answer<Option<Ticket>> {
        Ok(tickets(core).get_ticket(request).await?.into_inner().ticket)
    }
}

impl Body for Tickets {
    type Input = TicketInput;
    const FIELDS: &'static [FieldSpec<TicketInput>] = TICKET_FIELDS;
}

impl Create for Tickets {
    type Request = CreateTicketRequest;

    fn request(changes: Changes<TicketInput>, validate_only: bool) -> CreateTicketRequest {
        CreateTicketRequest {
            ticket: Some(changes.input),
            validate_only,
            customer: String::new(),
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<CreateTicketRequest>,
    ) -> Answer<Option<Ticket>> {
        create_call(core, request).await
    }
}

impl Update for Tickets {
    type Request = UpdateTicketRequest;

    fn request(id: i64, changes: Changes<TicketInput>, validate_only: bool) -> UpdateTicketRequest {
        UpdateTicketRequest {
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
        request: tonic::Request<UpdateTicketRequest>,
    ) -> Answer<Option<Ticket>> {
        Ok(tickets(core)
            .update_ticket(request)
            .await?
            .into_inner()
            .ticket)
    }
}

impl Delete for Tickets {
    type Request = DeleteTicketRequest;

    fn request(id: i64) -> DeleteTicketRequest {
        DeleteTicketRequest { id }
    }

    async fn call(core: Channel, request: tonic::Request<DeleteTicketRequest>) -> Answer<()> {
        tickets(core).delete_ticket(request).await?;
        Ok(())
    }
}

/// `GET /api/v1/customers/{id}/tickets`.
pub(crate) struct CustomerTickets;

impl Resource for CustomerTickets {
    const PATH: &'static str = Tickets::PATH;
    const SINGULAR: &'static str = Tickets::SINGULAR;
    const PLURAL: &'static str = Tickets::PLURAL;
    const STEM: &'static str = "customer_ticket";
    const TITLE: &'static str = Tickets::TITLE;
    const ABOUT: &'static str = Tickets::ABOUT;
    type Item = Ticket;
    type View = TicketJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(ticket: Ticket, base: &BaseUrl) -> TicketJson {
        TicketJson::new(ticket, base)
    }
}

impl ListIn for CustomerTickets {
    type In = Customers;
    const SEGMENT: &'static str = "tickets";
    type Request = ListTicketsRequest;

    fn filters() -> Vec<Parameter> {
        filters()
            .into_iter()
            .filter(|p| p.name != "customer_id")
            .collect()
    }

    fn request(
        customer: CustomerRef,
        page: PageRequest,
        query: &QueryPairs,
    ) -> Result<ListTicketsRequest, ApiError> {
        list_request(page, query, Some(reference(customer)))
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListTicketsRequest>,
    ) -> Answer<(Vec<Ticket>, Option<PageMeta>)> {
        list_call(core, request).await
    }
}

/// `POST /api/v1/customers/{id}/tickets`: a ticket of the customer.
pub(crate) struct OpenCustomerTicket;

impl Submit for OpenCustomerTicket {
    type On = Customers;
    type Out = Tickets;
    type Input = TicketInput;
    const PATH: &'static str = "tickets";
    const OPERATION: &'static str = "create_customer_ticket";
    const SUMMARY: &'static str = "Opens a ticket for the customer, with the due times of the \
                                   SLA policy of its priority.";
    const MESSAGE: &'static str = "Ticket created successfully";
    const STATUS: u16 = 201;
    const FIELDS: &'static [FieldSpec<TicketInput>] = CUSTOMER_TICKET_FIELDS;
    type Request = CreateTicketRequest;

    fn request(customer: CustomerRef, changes: Changes<TicketInput>) -> CreateTicketRequest {
        CreateTicketRequest {
            ticket: Some(changes.input),
            validate_only: false,
            customer: reference(customer),
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<CreateTicketRequest>,
    ) -> Answer<Option<Ticket>> {
        create_call(core, request).await
    }
}

/// `GET /api/v1/tickets/{id}/comments`.
pub(crate) struct TicketComments;

impl Resource for TicketComments {
    const PATH: &'static str = "/api/v1/tickets";
    const SINGULAR: &'static str = "comment";
    const PLURAL: &'static str = "comments";
    const TITLE: &'static str = "Comment";
    const ABOUT: &'static str = "Replies and internal notes of a ticket";
    type Item = TicketComment;
    type View = CommentJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(comment: TicketComment, _: &BaseUrl) -> CommentJson {
        comment.into()
    }
}

impl ListIn for TicketComments {
    type In = Tickets;
    const SEGMENT: &'static str = "comments";
    type Request = ListTicketCommentsRequest;

    fn filters() -> Vec<Parameter> {
        Vec::new()
    }

    fn request(
        ticket_id: i64,
        page: PageRequest,
        _: &QueryPairs,
    ) -> Result<ListTicketCommentsRequest, ApiError> {
        Ok(ListTicketCommentsRequest {
            ticket_id,
            page: Some(page),
        })
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListTicketCommentsRequest>,
    ) -> Answer<(Vec<TicketComment>, Option<PageMeta>)> {
        let answer = tickets(core)
            .list_ticket_comments(request)
            .await?
            .into_inner();
        Ok((answer.comments, answer.meta))
    }
}

/// `POST /api/v1/tickets/{id}/comments`.
pub(crate) struct AddComment;

impl Submit for AddComment {
    type On = Tickets;
    type Out = TicketComments;
    type Input = TicketCommentInput;
    const PATH: &'static str = "comments";
    const OPERATION: &'static str = "add_ticket_comment";
    const SUMMARY: &'static str = "Adds a public reply or an internal note. The first public \
                                   reply by staff meets the first-response target.";
    const MESSAGE: &'static str = "Comment added successfully";
    const STATUS: u16 = 201;
    const FIELDS: &'static [FieldSpec<TicketCommentInput>] = COMMENT_FIELDS;
    const ERRORS: &'static [(u16, &'static str)] = &[(409, "The ticket is closed")];
    type Request = AddTicketCommentRequest;

    fn request(ticket_id: i64, changes: Changes<TicketCommentInput>) -> AddTicketCommentRequest {
        AddTicketCommentRequest {
            ticket_id,
            comment: Some(changes.input),
            validate_only: false,
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<AddTicketCommentRequest>,
    ) -> Answer<Option<TicketComment>> {
        Ok(tickets(core)
            .add_ticket_comment(request)
            .await?
            .into_inner()
            .comment)
    }
}

/// `/api/v1/sla/policies`.
pub(crate) struct SlaPolicies;

impl Resource for SlaPolicies {
    const PATH: &'static str = "/api/v1/sla/policies";
    const SINGULAR: &'static str = "sla_policy";
    const PLURAL: &'static str = "sla_policies";
    const TITLE: &'static str = "SLA policy";
    const ABOUT: &'static str = "Response and resolution targets per priority, in business hours";
    type Item = SlaPolicy;
    type View = PolicyJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(policy: SlaPolicy, base: &BaseUrl) -> PolicyJson {
        PolicyJson::new(policy, base)
    }
}

impl List for SlaPolicies {
    type Request = ListSlaPoliciesRequest;

    fn filters() -> Vec<Parameter> {
        vec![text_parameter(
            "priority",
            "Only policies of this priority.",
            TicketPriority::NAMES,
        )]
    }

    fn request(page: PageRequest, query: &QueryPairs) -> Result<ListSlaPoliciesRequest, ApiError> {
        let priority = query
            .choice("priority", TicketPriority::NAMES)?
            .map_or(0, TicketPriority::wire_number);
        Ok(ListSlaPoliciesRequest {
            page: Some(page),
            priority,
        })
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListSlaPoliciesRequest>,
    ) -> Answer<(Vec<SlaPolicy>, Option<PageMeta>)> {
        let answer = sla(core).list_sla_policies(request).await?.into_inner();
        Ok((answer.policies, answer.meta))
    }
}

impl Get for SlaPolicies {
    type Request = GetSlaPolicyRequest;

    fn request(id: i64) -> GetSlaPolicyRequest {
        GetSlaPolicyRequest { id }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<GetSlaPolicyRequest>,
    ) -> Answer<Option<SlaPolicy>> {
        Ok(sla(core).get_sla_policy(request).await?.into_inner().policy)
    }
}

impl Body for SlaPolicies {
    type Input = SlaPolicyInput;
    const FIELDS: &'static [FieldSpec<SlaPolicyInput>] = POLICY_FIELDS;
}

impl Create for SlaPolicies {
    type Request = CreateSlaPolicyRequest;

    fn request(changes: Changes<SlaPolicyInput>, validate_only: bool) -> CreateSlaPolicyRequest {
        CreateSlaPolicyRequest {
            policy: Some(changes.input),
            validate_only,
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<CreateSlaPolicyRequest>,
    ) -> Answer<Option<SlaPolicy>> {
        Ok(sla(core)
            .create_sla_policy(request)
            .await?
            .into_inner()
            .policy)
    }
}

impl Update for SlaPolicies {
    type Request = UpdateSlaPolicyRequest;

    fn request(
        id: i64,
        changes: Changes<SlaPolicyInput>,
        validate_only: bool,
    ) -> UpdateSlaPolicyRequest {
        UpdateSlaPolicyRequest {
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
        request: tonic::Request<UpdateSlaPolicyRequest>,
    ) -> Answer<Option<SlaPolicy>> {
        Ok(sla(core)
            .update_sla_policy(request)
            .await?
            .into_inner()
            .policy)
    }
}

impl Delete for SlaPolicies {
    type Request = DeleteSlaPolicyRequest;

    fn request(id: i64) -> DeleteSlaPolicyRequest {
        DeleteSlaPolicyRequest { id }
    }

    async fn call(core: Channel, request: tonic::Request<DeleteSlaPolicyRequest>) -> Answer<()> {
        sla(core).delete_sla_policy(request).await?;
        Ok(())
    }
}

/// `POST /api/v1/sla/check-breaches`.
pub(crate) struct CheckBreaches;

impl Resource for CheckBreaches {
    const PATH: &'static str = "/api/v1/sla/check-breaches";
    const SINGULAR: &'static str = "sla_check";
    const PLURAL: &'static str = "sla_checks";
    const LINK: &'static str = "sla_check_breaches";
    const TITLE: &'static str = "SLA check";
    const ABOUT: &'static str = "Reports and escalates every SLA breach and warning not reported \
                                 before (the scheduler runs it every minute)";
    type Item = CheckBreachesResponse;
    type View = CheckJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(answer: CheckBreachesResponse, _: &BaseUrl) -> CheckJson {
        answer.into()
    }
}

impl Body for CheckBreaches {
    type Input = NoFields;
    const FIELDS: &'static [FieldSpec<NoFields>] = &[];
    const VALIDATES: bool = false;
}

impl Create for CheckBreaches {
    const STATUS: u16 = 200;
    const MESSAGE: Option<&'static str> = Some("SLA check completed");
    type Request = CheckBreachesRequest;

    fn request(_: Changes<NoFields>, _: bool) -> CheckBreachesRequest {
        CheckBreachesRequest {}
    }

    async fn call(
        core: Channel,
        request: tonic::Request<CheckBreachesRequest>,
    ) -> Answer<Option<CheckBreachesResponse>> {
        Ok(Some(sla(core).check_breaches(request).await?.into_inner()))
    }
}

/// `GET /api/v1/sla/performance-metrics`.
pub(crate) struct PerformanceMetrics;

impl Resource for PerformanceMetrics {
    const PATH: &'static str = "/api/v1/sla/performance-metrics";
    const SINGULAR: &'static str = "performance_metrics";
    const PLURAL: &'static str = "performance_metrics";
    const LINK: &'static str = "sla_performance_metrics";
    const TITLE: &'static str = "Performance metrics";
    const ABOUT: &'static str = "SLA compliance of the tickets opened in the last days";
    type Item = GetPerformanceMetricsResponse;
    type View = MetricsJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(answer: GetPerformanceMetricsResponse, _: &BaseUrl) -> MetricsJson {
        answer.into()
    }
}

impl Report for PerformanceMetrics {
    type Request = GetPerformanceMetricsRequest;

    fn parameters() -> Vec<Parameter> {
        vec![range_parameter(
            "period_days",
            "The period, days back from now (default 30).",
            1,
            365,
        )]
    }

    fn request(query: &QueryPairs) -> Result<GetPerformanceMetricsRequest, ApiError> {
        let given = query
            .get("period_days")
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let period_days = match given {
            None => None,
            Some(text) => Some(
                crate::resource::query::whole_number(text)
                    .map(|n| i32::try_from(n).unwrap_or(if n < 0 { i32::MIN } else { i32::MAX }))
                    .ok_or_else(|| invalid("The period_days parameter must be an integer."))?,
            ),
        };
        Ok(GetPerformanceMetricsRequest { period_days })
    }

    async fn call(
        core: Channel,
        request: tonic::Request<GetPerformanceMetricsRequest>,
    ) -> Answer<Option<GetPerformanceMetricsResponse>> {
        Ok(Some(
            sla(core)
                .get_performance_metrics(request)
                .await?
                .into_inner(),
        ))
    }
}
