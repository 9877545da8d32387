//! A webhook's deliveries: `GET /api/v1/webhooks/{id}/deliveries`, and the operations that
//! queue one (`…/test`, `…/deliveries/{delivery_id}/redeliver`).

use super::{Webhooks, client};
use crate::base_url::BaseUrl;
use crate::core_channel::Channel;
use crate::envelope::ApiError;
use crate::resource::query::{path_id, text_parameter};
use crate::resource::{Answer, Command, ListIn, QueryPairs, Resource};
use crate::webhooks::DeliveryJson;
use lastmile_proto::RestName;
use lastmile_proto::v1::{
    ListWebhookDeliveriesRequest, PageMeta, PageRequest, RedeliverWebhookRequest,
    TestWebhookRequest, WebhookDelivery, WebhookDeliveryStatus,
};
use utoipa::openapi::path::Parameter;

/// The deliveries of one webhook.
pub(crate) struct Deliveries;

impl Resource for Deliveries {
    const PATH: &'static str = "/api/v1/webhooks/{id}/deliveries";
    const SINGULAR: &'static str = "delivery";
    const PLURAL: &'static str = "deliveries";
    const TITLE: &'static str = "Webhook delivery";
    const ABOUT: &'static str = "One event's delivery to one webhook";
    type Item = WebhookDelivery;
    type View = DeliveryJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(delivery: WebhookDelivery, _: &BaseUrl) -> DeliveryJson {
        delivery.into()
    }
}

impl ListIn for Deliveries {
    type In = Webhooks;
    const SEGMENT: &'static str = "deliveries";
    type Request = ListWebhookDeliveriesRequest;

    fn filters() -> Vec<Parameter> {
        vec![text_parameter(
            "status",
            "Only deliveries in this status; any other value is a 400.",
            WebhookDeliveryStatus::NAMES,
        )]
    }

    fn request(
        webhook_id: i64,
        page: PageRequest,
        query: &QueryPairs,
    ) -> Result<ListWebhookDeliveriesRequest, ApiError> {
        let status = query.choice("status", WebhookDeliveryStatus::NAMES)?;
        Ok(ListWebhookDeliveriesRequest {
            webhook_id,
            page: Some(page),
            status: status.map_or(0, WebhookDeliveryStatus::wire_number),
        })
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListWebhookDeliveriesRequest>,
    ) -> Answer<(Vec<WebhookDelivery>, Option<PageMeta>)> {
        let answer = client(core)
            .list_webhook_deliveries(request)
            .await?
            .into_inner();
        Ok((answer.deliveries, answer.meta))
    }
}

/// `POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver`.
pub(crate) struct Redeliver;

impl Command for Redeliver {
    type On = Webhooks;
    type Out = Deliveries;
    const PATH: &'static str = "deliveries/{delivery_id}/redeliver";
    const OPERATION: &'static str = "redeliver_webhook_delivery";
    const SUMMARY: &'static str = "Sends a delivery again, with the same event and `webhook-id`.";
    const MESSAGE: &'static str = "Webhook delivery queued again";
    const ERRORS: &'static [(u16, &'static str)] =
        &[(409, "The delivery is still being attempted")];
    type Request = RedeliverWebhookRequest;

    fn request(webhook_id: i64, ids: &[i64]) -> RedeliverWebhookRequest {
        RedeliverWebhookRequest {
            webhook_id,
            // The path names exactly one delivery id; 0 names none (a 404 from the core).
            delivery_id: ids.first().copied().unwrap_or_default(),
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<RedeliverWebhookRequest>,
    ) -> Answer<Option<WebhookDelivery>> {
        let answer = client(core).redeliver_webhook(request).await?.into_inner();
        Ok(answer.delivery)
    }
}

/// `POST /api/v1/webhooks/{id}/test`.
pub(crate) struct TestWebhook;

impl Command for TestWebhook {
    type On = Webhooks;
    type Out = Deliveries;
    const PATH: &'static str = "test";
    const OPERATION: &'static str = "test_webhook";
    const SUMMARY: &'static str = "Sends a `webhook.test` event to the webhook.";
    const MESSAGE: &'static str = "Test event queued";
    type Request = TestWebhookRequest;

    fn request(id: i64, _: &[i64]) -> TestWebhookRequest {
        TestWebhookRequest { id }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<TestWebhookRequest>,
    ) -> Answer<Option<WebhookDelivery>> {
        let answer = client(core).test_webhook(request).await?.into_inner();
        Ok(answer.delivery)
    }
}
