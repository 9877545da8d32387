//! The gRPC adapters: `TicketService` and `SlaService`. No rule and no SQL here.

use lastmile_proto::timestamp;
use lastmile_proto::v1 as pb;
use pb::sla_service_server::{SlaService, SlaServiceServer};
use pb::ticket_service_server::{TicketService, TicketServiceServer};
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::{Request, Response, Status};

use super::check::{self, Report};
use super::ticket_store::TicketFilter;
use super::tickets::{NewTicket, into_proto};
use super::{Comment, Policies, Tickets, metrics};
use crate::Core;
use crate::auth::{RequestContext, context};
use crate::authz::{Operation, Resource, ServiceAccess, rule};
use crate::clock::SharedClock;
use crate::db::{Db, Tx};
use crate::domains::Domain;
use crate::error::Error;
use crate::paging::PageQuery;
use crate::tenancy::Tenancy;
use crate::write::{Step, Writes};

/// The tickets as the server registers them.
pub const TICKETS: Domain = Domain {
    access: ServiceAccess {
        service: <TicketServiceServer<TicketGrpc> as NamedService>::NAME,
        methods: &[
            rule("CreateTicket", Resource::Tickets, Operation::Create),
            rule("GetTicket", Resource::Tickets, Operation::Read),
            rule("ListTickets", Resource::Tickets, Operation::Read),
            rule("UpdateTicket", Resource::Tickets, Operation::Update),
            rule("DeleteTicket", Resource::Tickets, Operation::Delete),
            rule("AddTicketComment", Resource::Tickets, Operation::Update),
            rule("ListTicketComments", Resource::Tickets, Operation::Read),
        ],
    },
    serve: serve_tickets,
};

/// The SLA service as the server registers it.
pub const SLA: Domain = Domain {
    access: ServiceAccess {
        service: <SlaServiceServer<SlaGrpc> as NamedService>::NAME,
        methods: &[
            rule("CreateSlaPolicy", Resource::Sla, Operation::Create),
            rule("GetSlaPolicy", Resource::Sla, Operation::Read),
            rule("ListSlaPolicies", Resource::Sla, Operation::Read),
            rule("UpdateSlaPolicy", Resource::Sla, Operation::Update),
            rule("DeleteSlaPolicy", Resource::Sla, Operation::Delete),
            rule("CheckBreaches", Resource::Sla, Operation::Act),
            rule("GetPerformanceMetrics", Resource::Sla, Operation::Read),
        ],
    },
    serve: serve_sla,
};

fn serve_tickets(core: &Core, routes: &mut RoutesBuilder) {
    routes.add_service(TicketServiceServer::new(TicketGrpc {
        tickets: core.tickets.clone(),
        clock: core.clock.clone(),
        writes: Writes::new(core.db.clone(), core.clock.clone()),
    }));
}

fn serve_sla(core: &Core, routes: &mut RoutesBuilder) {
    routes.add_service(SlaServiceServer::new(SlaGrpc {
        policies: Policies::new(core.db.clone(), core.clock.clone()),
        db: core.db.clone(),
        clock: core.clock.clone(),
        writes: Writes::new(core.db.clone(), core.clock.clone()),
    }));
}

/// `lastmile.v1.TicketService`.
#[derive(Debug, Clone)]
pub struct TicketGrpc {
    tickets: Tickets,
    clock: SharedClock,
    writes: Writes,
}

/// `lastmile.v1.SlaService`.
#[derive(Debug, Clone)]
pub struct SlaGrpc {
    policies: Policies,
    db: Db,
    clock: SharedClock,
    writes: Writes,
}

impl From<Comment> for pb::TicketComment {
    fn from(c: Comment) -> Self {
        pb::TicketComment {
            id: c.id,
            ticket_id: c.ticket_id,
            body: c.body,
            public: c.public,
            from_customer: c.from_customer,
            author: c.author,
            created_at: Some(timestamp(c.created_at)),
        }
    }
}

/// A wire enum filter: 0 is none, a stranger a bad request.
fn filter<E: lastmile_proto::RestName + TryFrom<i32>>(
    value: i32,
    label: &str,
) -> Result<Option<E>, Status> {
    if value == 0 {
        return Ok(None);
    }
    E::try_from(value)
        .ok()
        .filter(|e| !e.rest_name().is_empty())
        .map(Some)
        .ok_or_else(|| {
            Error::BadRequest(format!(
                "The {label} must be one of: {}.",
                E::NAMES.join(", ")
            ))
            .into()
        })
}

#[tonic::async_trait]
impl TicketService for TicketGrpc {
    async fn create_ticket(
        &self,
        request: Request<pb::CreateTicketRequest>,
    ) -> Result<Response<pb::CreateTicketResponse>, Status> {
        let checking = context(&request)?.clone();
        let read = async |r: pb::CreateTicketRequest| {
            let path_customer = Some(r.customer.trim().to_owned()).filter(|c| !c.is_empty());
            let new = NewTicket {
                input: r.ticket.unwrap_or_default(),
                path_customer,
            };
            if r.validate_only {
                self.tickets.validate_create(&checking, &new).await?;
                return Ok(Step::Answer(pb::CreateTicketResponse::default()));
            }
            Ok(Step::Commit(new))
        };
        let change = async |tx: &mut Tx, context: &RequestContext, new: NewTicket| {
            let ticket = self.tickets.create(tx, context, &new).await?;
            Ok(pb::CreateTicketResponse {
                ticket: Some(into_proto(ticket, self.clock.now())),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn get_ticket(
        &self,
        request: Request<pb::GetTicketRequest>,
    ) -> Result<Response<pb::GetTicketResponse>, Status> {
        let context = context(&request)?;
        let ticket = self.tickets.get(context, request.get_ref().id).await?;
        Ok(Response::new(pb::GetTicketResponse {
            ticket: Some(into_proto(ticket, self.clock.now())),
        }))
    }

    async fn list_tickets(
        &self,
        request: Request<pb::ListTicketsRequest>,
    ) -> Result<Response<pb::ListTicketsResponse>, Status> {
        let context = context(&request)?;
        let r = request.get_ref();
        let query = TicketFilter {
            status: filter(r.status, "status")?,
            priority: filter(r.priority, "priority")?,
            assignee_id: r.assignee_id,
            team_id: r.team_id,
            customer_id: r.customer_id,
            search: r.search.clone().unwrap_or_default().trim().to_owned(),
            ..TicketFilter::default()
        };
        let page = PageQuery::from_request(r.page)?;
        let customer = r
            .customer
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        let page = self.tickets.list(context, customer, query, page).await?;
        let meta = page.meta();
        let now = self.clock.now();
        Ok(Response::new(pb::ListTicketsResponse {
            tickets: page.items.into_iter().map(|t| into_proto(t, now)).collect(),
            meta: Some(meta),
        }))
    }

    async fn update_ticket(
        &self,
        request: Request<pb::UpdateTicketRequest>,
    ) -> Result<Response<pb::UpdateTicketResponse>, Status> {
        let read = async |r: pb::UpdateTicketRequest| {
            let input = r.changes.unwrap_or_default();
            let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
            Ok(Step::of((r.id, input, paths), r.validate_only))
        };
        let change =
            async |tx: &mut Tx,
                   context: &RequestContext,
                   (id, input, paths): (i64, pb::TicketInput, Vec<String>)| {
                let ticket = self.tickets.update(tx, context, id, &input, &paths).await?;
                Ok(pb::UpdateTicketResponse {
                    ticket: Some(into_proto(ticket, self.clock.now())),
                })
            };
        self.writes.run(request, read, change).await
    }

    async fn delete_ticket(
        &self,
        request: Request<pb::DeleteTicketRequest>,
    ) -> Result<Response<pb::DeleteTicketResponse>, Status> {
        let read = async |r: pb::DeleteTicketRequest| Ok(Step::Commit(r.id));
        let change = async |tx: &mut Tx, context: &RequestContext, id: i64| {
            self.tickets.delete(tx, context, id).await?;
            Ok(pb::DeleteTicketResponse {})
        };
        self.writes.run(request, read, change).await
    }

    async fn add_ticket_comment(
        &self,
        request: Request<pb::AddTicketCommentRequest>,
    ) -> Result<Response<pb::AddTicketCommentResponse>, Status> {
        let checking = context(&request)?.clone();
        let read = async |r: pb::AddTicketCommentRequest| {
            let input = r.comment.unwrap_or_default();
            if r.validate_only {
                self.tickets
                    .validate_comment(&checking, r.ticket_id, &input)
                    .await?;
                return Ok(Step::Answer(pb::AddTicketCommentResponse::default()));
            }
            Ok(Step::Commit((r.ticket_id, input)))
        };
        let change = async |tx: &mut Tx,
                            context: &RequestContext,
                            (id, input): (i64, pb::TicketCommentInput)| {
            let comment = self.tickets.comment(tx, context, id, &input).await?;
            Ok(pb::AddTicketCommentResponse {
                comment: Some(comment.into()),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn list_ticket_comments(
        &self,
        request: Request<pb::ListTicketCommentsRequest>,
    ) -> Result<Response<pb::ListTicketCommentsResponse>, Status> {
        let context = context(&request)?;
        let r = request.get_ref();
        let page = PageQuery::from_request(r.page)?;
        let page = self.tickets.comments(context, r.ticket_id, page).await?;
        let meta = page.meta();
        Ok(Response::new(pb::ListTicketCommentsResponse {
            comments: page.items.into_iter().map(Into::into).collect(),
            meta: Some(meta),
        }))
    }
}

fn report(r: Report) -> pb::CheckBreachesResponse {
    pb::CheckBreachesResponse {
        breached_tickets: r
            .breaches
            .into_iter()
            .map(|b| pb::SlaBreach {
                ticket_id: b.ticket_id,
                customer_id: b.customer_id,
                target: b.target.as_str().into(),
                breach_time: Some(timestamp(b.breach_time)),
                overdue_minutes: b.overdue_minutes,
            })
            .collect(),
        warnings_issued: r
            .warnings
            .into_iter()
            .map(|w| pb::SlaWarning {
                ticket_id: w.ticket_id,
                customer_id: w.customer_id,
                target: w.target.as_str().into(),
                time_remaining_minutes: w.time_remaining_minutes,
            })
            .collect(),
        total_checked: r.total_checked,
        check_time: Some(timestamp(r.check_time)),
    }
}

#[tonic::async_trait]
impl SlaService for SlaGrpc {
    async fn create_sla_policy(
        &self,
        request: Request<pb::CreateSlaPolicyRequest>,
    ) -> Result<Response<pb::CreateSlaPolicyResponse>, Status> {
        let read = async |r: pb::CreateSlaPolicyRequest| {
            let input = r.policy.unwrap_or_default();
            if r.validate_only {
                self.policies.validate_create(&input).await?;
                return Ok(Step::Answer(pb::CreateSlaPolicyResponse::default()));
            }
            Ok(Step::Commit(input))
        };
        let change = async |tx: &mut Tx, context: &RequestContext, input: pb::SlaPolicyInput| {
            let policy = self.policies.create(tx, context, &input).await?;
            Ok(pb::CreateSlaPolicyResponse {
                policy: Some(policy.into()),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn get_sla_policy(
        &self,
        request: Request<pb::GetSlaPolicyRequest>,
    ) -> Result<Response<pb::GetSlaPolicyResponse>, Status> {
        let policy = self.policies.get(request.get_ref().id).await?;
        Ok(Response::new(pb::GetSlaPolicyResponse {
            policy: Some(policy.into()),
        }))
    }

    async fn list_sla_policies(
        &self,
        request: Request<pb::ListSlaPoliciesRequest>,
    ) -> Result<Response<pb::ListSlaPoliciesResponse>, Status> {
        let r = request.get_ref();
        let page = PageQuery::from_request(r.page)?;
        let priority = filter(r.priority, "priority")?;
        let page = self.policies.list(page, priority).await?;
        let meta = page.meta();
        Ok(Response::new(pb::ListSlaPoliciesResponse {
            policies: page.items.into_iter().map(Into::into).collect(),
            meta: Some(meta),
        }))
    }

    async fn update_sla_policy(
        &self,
        request: Request<pb::UpdateSlaPolicyRequest>,
    ) -> Result<Response<pb::UpdateSlaPolicyResponse>, Status> {
        let read = async |r: pb::UpdateSlaPolicyRequest| {
            let input = r.changes.unwrap_or_default();
            let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
            Ok(Step::of((r.id, input, paths), r.validate_only))
        };
        let change =
            async |tx: &mut Tx,
                   context: &RequestContext,
                   (id, input, paths): (i64, pb::SlaPolicyInput, Vec<String>)| {
                let policy = self
                    .policies
                    .update(tx, context, id, &input, &paths)
                    .await?;
                Ok(pb::UpdateSlaPolicyResponse {
                    policy: Some(policy.into()),
                })
            };
        self.writes.run(request, read, change).await
    }

    async fn delete_sla_policy(
        &self,
        request: Request<pb::DeleteSlaPolicyRequest>,
    ) -> Result<Response<pb::DeleteSlaPolicyResponse>, Status> {
        let read = async |r: pb::DeleteSlaPolicyRequest| Ok(Step::Commit(r.id));
        let change = async |tx: &mut Tx, context: &RequestContext, id: i64| {
            self.policies.delete(tx, context, id).await?;
            Ok(pb::DeleteSlaPolicyResponse {})
        };
        self.writes.run(request, read, change).await
    }

    async fn check_breaches(
        &self,
        _request: Request<pb::CheckBreachesRequest>,
    ) -> Result<Response<pb::CheckBreachesResponse>, Status> {
        let found = check::run(&self.db, &self.clock).await?;
        Ok(Response::new(report(found)))
    }

    async fn get_performance_metrics(
        &self,
        request: Request<pb::GetPerformanceMetricsRequest>,
    ) -> Result<Response<pb::GetPerformanceMetricsResponse>, Status> {
        let context = context(&request)?;
        let partner = Tenancy::of(&context.principal).partner();
        let answer = metrics::compute(
            &mut self.db.conn(),
            partner,
            self.clock.now(),
            request.get_ref().period_days,
        )
        .await?;
        Ok(Response::new(answer))
    }
}
