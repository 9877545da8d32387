//! The gRPC adapter of `WebhookService`.

use lastmile_proto::v1 as pb;
use lastmile_proto::{RestName, timestamp};
use pb::webhook_service_server::{WebhookService, WebhookServiceServer};
use prost::Message;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::{Request, Response, Status};

use super::{Delivery, Webhook, WebhookInput, Webhooks};
use crate::Core;
use crate::auth::{RequestContext, context};
use crate::authz::{Operation, Resource, ServiceAccess, rule};
use crate::db::Tx;
use crate::domains::Domain;
use crate::paging::PageQuery;
use crate::write::{Step, Writes};

/// The webhooks domain as the server registers it.
pub const DOMAIN: Domain = Domain {
    access: ServiceAccess {
        service: <WebhookServiceServer<WebhookGrpc> as NamedService>::NAME,
        methods: &[
            rule("CreateWebhook", Resource::Webhooks, Operation::Create),
            rule("GetWebhook", Resource::Webhooks, Operation::Read),
            rule("ListWebhooks", Resource::Webhooks, Operation::Read),
            rule("UpdateWebhook", Resource::Webhooks, Operation::Update),
            rule("DeleteWebhook", Resource::Webhooks, Operation::Delete),
            rule("RotateWebhookSecret", Resource::Webhooks, Operation::Act),
            rule("ListWebhookDeliveries", Resource::Webhooks, Operation::Read),
            rule("RedeliverWebhook", Resource::Webhooks, Operation::Act),
            rule("TestWebhook", Resource::Webhooks, Operation::Act),
        ],
    },
    serve,
};

fn serve(core: &Core, routes: &mut RoutesBuilder) {
    let grpc = WebhookGrpc {
        webhooks: core.webhooks.clone(),
        writes: Writes::new(core.db.clone(), core.clock.clone()),
    };
    routes.add_service(WebhookServiceServer::new(grpc));
}

/// `lastmile.v1.WebhookService`.
#[derive(Debug, Clone)]
pub struct WebhookGrpc {
    webhooks: Webhooks,
    writes: Writes,
}

impl From<Webhook> for pb::Webhook {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id,
            url: w.url,
            events: w.events,
            description: w.description,
            active: w.active,
            partner_id: w.partner_id,
            disabled_reason: w.disabled_reason,
            failing_since: w.failing_since.map(timestamp),
            previous_secret_expires_at: w.previous_secret_expires_at.map(timestamp),
            created_at: Some(timestamp(w.created_at)),
            updated_at: Some(timestamp(w.updated_at)),
        }
    }
}

impl From<Delivery> for pb::WebhookDelivery {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            webhook_id: d.webhook_id,
            event_id: d.event_id,
            event_type: d.event_type,
            status: pb::WebhookDeliveryStatus::wire_number(&d.status),
            attempts: d.attempts,
            response_status: d.response_status,
            response_body: d.response_body,
            duration_ms: d.duration_ms,
            last_error: d.last_error,
            next_attempt_at: d.next_attempt_at.map(timestamp),
            delivered_at: d.delivered_at.map(timestamp),
            created_at: Some(timestamp(d.created_at)),
            updated_at: Some(timestamp(d.updated_at)),
        }
    }
}

impl From<pb::WebhookInput> for WebhookInput {
    fn from(i: pb::WebhookInput) -> Self {
        Self {
            url: i.url,
            events: i.events,
            description: i.description,
            active: i.active,
        }
    }
}

/// An answer carrying a secret is kept for replays without it: it is shown once.
fn without_secret<R: Message + Clone>(clear: impl Fn(&mut R)) -> impl FnOnce(&R) -> Vec<u8> {
    move |answer: &R| {
        let mut kept = answer.clone();
        clear(&mut kept);
        kept.encode_to_vec()
    }
}

#[tonic::async_trait]
impl WebhookService for WebhookGrpc {
    async fn create_webhook(
        &self,
        request: Request<pb::CreateWebhookRequest>,
    ) -> Result<Response<pb::CreateWebhookResponse>, Status> {
        let read = async |r: pb::CreateWebhookRequest| {
            let input: WebhookInput = r.webhook.map(Into::into).unwrap_or_default();
            if r.validate_only {
                self.webhooks.validate_create(&input).await?;
                return Ok(Step::Answer(pb::CreateWebhookResponse::default()));
            }
            Ok(Step::Commit(input))
        };
        let change = async |tx: &mut Tx, context: &RequestContext, input: WebhookInput| {
            let (webhook, secret) = self.webhooks.create(tx, context, &input).await?;
            Ok(pb::CreateWebhookResponse {
                webhook: Some(webhook.into()),
                secret,
            })
        };
        let stored = without_secret(|r: &mut pb::CreateWebhookResponse| r.secret.clear());
        self.writes.run_storing(request, stored, read, change).await
    }

    async fn get_webhook(
        &self,
        request: Request<pb::GetWebhookRequest>,
    ) -> Result<Response<pb::GetWebhookResponse>, Status> {
        let webhook = self
            .webhooks
            .get(context(&request)?, request.get_ref().id)
            .await?;
        Ok(Response::new(pb::GetWebhookResponse {
            webhook: Some(webhook.into()),
        }))
    }

    async fn list_webhooks(
        &self,
        request: Request<pb::ListWebhooksRequest>,
    ) -> Result<Response<pb::ListWebhooksResponse>, Status> {
        let page = PageQuery::from_request(request.get_ref().page)?;
        let list = self.webhooks.list(context(&request)?, page).await?;
        Ok(Response::new(pb::ListWebhooksResponse {
            meta: Some(list.meta()),
            webhooks: list.items.into_iter().map(Into::into).collect(),
        }))
    }

    async fn update_webhook(
        &self,
        request: Request<pb::UpdateWebhookRequest>,
    ) -> Result<Response<pb::UpdateWebhookResponse>, Status> {
        let read = async |r: pb::UpdateWebhookRequest| {
            let input: WebhookInput = r.changes.map(Into::into).unwrap_or_default();
            let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
            Ok(Step::of((r.id, input, paths), r.validate_only))
        };
        let change =
            async |tx: &mut Tx,
                   context: &RequestContext,
                   (id, input, paths): (i64, WebhookInput, Vec<String>)| {
                let webhook = self
                    .webhooks
                    .update(tx, context, id, &input, &paths)
                    .await?;
                Ok(pb::UpdateWebhookResponse {
                    webhook: Some(webhook.into()),
                })
            };
        self.writes.run(request, read, change).await
    }

    async fn delete_webhook(
        &self,
        request: Request<pb::DeleteWebhookRequest>,
    ) -> Result<Response<pb::DeleteWebhookResponse>, Status> {
        let read = async |r: pb::DeleteWebhookRequest| Ok(Step::Commit(r.id));
        let change = async |tx: &mut Tx, context: &RequestContext, id: i64| {
            self.webhooks.delete(tx, context, id).await?;
            Ok(pb::DeleteWebhookResponse {})
        };
        self.writes.run(request, read, change).await
    }

    async fn rotate_webhook_secret(
        &self,
        request: Request<pb::RotateWebhookSecretRequest>,
    ) -> Result<Response<pb::RotateWebhookSecretResponse>, Status> {
        let read = async |r: pb::RotateWebhookSecretRequest| Ok(Step::Commit(r.id));
        let change = async |tx: &mut Tx, context: &RequestContext, id: i64| {
            let (webhook, secret) = self.webhooks.rotate_secret(tx, context, id).await?;
            Ok(pb::RotateWebhookSecretResponse {
                webhook: Some(webhook.into()),
                secret,
            })
        };
        let stored = without_secret(|r: &mut pb::RotateWebhookSecretResponse| r.secret.clear());
        self.writes.run_storing(request, stored, read, change).await
    }

    async fn list_webhook_deliveries(
        &self,
        request: Request<pb::ListWebhookDeliveriesRequest>,
    ) -> Result<Response<pb::ListWebhookDeliveriesResponse>, Status> {
        let r = request.get_ref();
        let page = PageQuery::from_request(r.page)?;
        let status = match pb::WebhookDeliveryStatus::try_from(r.status) {
            Ok(pb::WebhookDeliveryStatus::Unspecified) => None,
            Ok(status) => Some(status.rest_name()),
            Err(_) => {
                return Err(crate::error::Error::BadRequest(format!(
                    "The status must be one of: {}.",
                    pb::WebhookDeliveryStatus::NAMES.join(", ")
                ))
                .into());
            }
        };
        let list = self
            .webhooks
            .deliveries(context(&request)?, r.webhook_id, status, page)
            .await?;
        Ok(Response::new(pb::ListWebhookDeliveriesResponse {
            meta: Some(list.meta()),
            deliveries: list.items.into_iter().map(Into::into).collect(),
        }))
    }

    async fn redeliver_webhook(
        &self,
        request: Request<pb::RedeliverWebhookRequest>,
    ) -> Result<Response<pb::RedeliverWebhookResponse>, Status> {
        let read =
            async |r: pb::RedeliverWebhookRequest| Ok(Step::Commit((r.webhook_id, r.delivery_id)));
        let change =
            async |tx: &mut Tx, context: &RequestContext, (webhook, delivery): (i64, i64)| {
                let delivery = self
                    .webhooks
                    .redeliver(tx, context, webhook, delivery)
                    .await?;
                Ok(pb::RedeliverWebhookResponse {
                    delivery: Some(delivery.into()),
                })
            };
        self.writes.run(request, read, change).await
    }

    async fn test_webhook(
        &self,
        request: Request<pb::TestWebhookRequest>,
    ) -> Result<Response<pb::TestWebhookResponse>, Status> {
        let read = async |r: pb::TestWebhookRequest| Ok(Step::Commit(r.id));
        let change = async |tx: &mut Tx, context: &RequestContext, id: i64| {
            let delivery = self.webhooks.test(tx, context, id).await?;
            Ok(pb::TestWebhookResponse {
                delivery: Some(delivery.into()),
            })
        };
        self.writes.run(request, read, change).await
    }
}
