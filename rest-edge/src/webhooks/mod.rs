//! `/api/v1/webhooks`: endpoints that receive events over HTTP, signed with a secret shown
//! once (at creation and at each rotation), and their deliveries. The edge checks the
//! body's JSON types; the core decides the rest (URL scheme, private addresses, known
//! event names) and reports it on the fields.

mod deliveries;
mod output;

pub(crate) use deliveries::{Deliveries, Redeliver, TestWebhook};
pub(crate) use output::{DeliveryJson, WebhookJson};

use crate::base_url::BaseUrl;
use crate::core_channel::Channel;
use crate::envelope::ApiError;
use crate::format::text;
use crate::resource::query::path_id;
use crate::resource::{
    Answer, Body, Changes, Command, Create, Delete, FieldSpec, Get, Kind, List, QueryPairs,
    Resource, Rule, Text, Update,
};
use lastmile_proto::v1::webhook_service_client::WebhookServiceClient;
use lastmile_proto::v1::{
    CreateWebhookRequest, DeleteWebhookRequest, GetWebhookRequest, ListWebhooksRequest, PageMeta,
    PageRequest, RotateWebhookSecretRequest, UpdateWebhookRequest, Webhook, WebhookInput,
};
use utoipa::openapi::path::Parameter;

/// The webhooks collection.
pub(crate) struct Webhooks;

fn client(core: Channel) -> WebhookServiceClient<Channel> {
    WebhookServiceClient::new(core)
}

/// An endpoint, and its signing secret in the answer that made the secret (shown this
/// once: the core keeps an idempotent replay's answer without it, and an empty secret is
/// left out).
pub(crate) struct Shown {
    webhook: Webhook,
    secret: Option<String>,
}

impl Shown {
    fn stored(webhook: Webhook) -> Self {
        Self {
            webhook,
            secret: None,
        }
    }

    fn made(webhook: Option<Webhook>, secret: String) -> Option<Self> {
        Some(Self {
            webhook: webhook?,
            secret: text(secret),
        })
    }
}

impl Resource for Webhooks {
    const PATH: &'static str = "/api/v1/webhooks";
    const SINGULAR: &'static str = "webhook";
    const PLURAL: &'static str = "webhooks";
    const TITLE: &'static str = "Webhook";
    const ABOUT: &'static str = "Endpoints that receive events over HTTP, and their deliveries";
    type Item = Shown;
    type View = WebhookJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(shown: Shown, _: &BaseUrl) -> WebhookJson {
        WebhookJson::new(shown.webhook, shown.secret)
    }
}

impl Body for Webhooks {
    type Input = WebhookInput;
    const FIELDS: &'static [FieldSpec<WebhookInput>] = &[
        FieldSpec {
            name: "url",
            kind: Kind::Text(|w, v| w.url = v.unwrap_or_default()),
            nullable: false,
            required: true,
            rule: Rule::text(Text::WebhookUrl),
            description: "Where events are POSTed: an http or https URL of a host name or IPv4 \
                          address. Unless the deployment allows private networks, a host that \
                          resolves to a loopback, private, link-local or other non-public \
                          address is refused (422 on `url`).",
        },
        FieldSpec {
            name: "events",
            kind: Kind::Texts(|w, v| w.events = v.unwrap_or_default()),
            nullable: false,
            required: true,
            rule: Rule::one_of_each(
                lastmile_proto::EVENT_SUBSCRIPTIONS,
                1,
                lastmile_proto::MAX_SUBSCRIPTIONS,
            ),
            description: "Event types to receive: `*` for all, `customer.*` for a family, or \
                          exact types such as `customer.created`; at least one.",
        },
        FieldSpec {
            name: "description",
            kind: Kind::Text(|w, v| w.description = v.filter(|v| !v.is_empty())),
            nullable: true,
            required: false,
            rule: Rule::length(0, 500),
            description: "Free text; null or empty clears it.",
        },
        FieldSpec {
            name: "active",
            kind: Kind::Boolean(|w, v| w.active = v),
            nullable: false,
            required: false,
            rule: Rule::NONE,
            description: "Whether events are delivered to it. Default true.",
        },
    ];
}

impl List for Webhooks {
    type Request = ListWebhooksRequest;

    fn filters() -> Vec<Parameter> {
        Vec::new()
    }

    fn request(page: PageRequest, _: &QueryPairs) -> Result<ListWebhooksRequest, ApiError> {
        Ok(ListWebhooksRequest { page: Some(page) })
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListWebhooksRequest>,
    ) -> Answer<(Vec<Shown>, Option<PageMeta>)> {
        let answer = client(core).list_webhooks(request).await?.into_inner();
        let webhooks = answer.webhooks.into_iter().map(Shown::stored).collect();
        Ok((webhooks, answer.meta))
    }
}

impl Get for Webhooks {
    type Request = GetWebhookRequest;

    fn request(id: i64) -> GetWebhookRequest {
        GetWebhookRequest { id }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<GetWebhookRequest>,
    ) -> Answer<Option<Shown>> {
        let answer = client(core).get_webhook(request).await?.into_inner();
        Ok(answer.webhook.map(Shown::stored))
    }
}

impl Create for Webhooks {
    type Request = CreateWebhookRequest;

    fn request(changes: Changes<WebhookInput>, validate_only: bool) -> CreateWebhookRequest {
        CreateWebhookRequest {
            webhook: Some(changes.input),
            validate_only,
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<CreateWebhookRequest>,
    ) -> Answer<Option<Shown>> {
        let answer = client(core).create_webhook(request).await?.into_inner();
        Ok(Shown::made(answer.webhook, answer.secret))
    }
}

impl Update for Webhooks {
    type Request = UpdateWebhookRequest;

    fn request(
        id: i64,
        changes: Changes<WebhookInput>,
        validate_only: bool,
    ) -> UpdateWebhookRequest {
        UpdateWebhookRequest {
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
        request: tonic::Request<UpdateWebhookRequest>,
    ) -> Answer<Option<Shown>> {
        let answer = client(core).update_webhook(request).await?.into_inner();
        Ok(answer.webhook.map(Shown::stored))
    }
}

impl Delete for Webhooks {
    type Request = DeleteWebhookRequest;

    /// Removes the endpoint; its pending deliveries are dropped.
    fn request(id: i64) -> DeleteWebhookRequest {
        DeleteWebhookRequest { id }
    }

    async fn call(core: Channel, request: tonic::Request<DeleteWebhookRequest>) -> Answer<()> {
        client(core).delete_webhook(request).await?;
        Ok(())
    }
}

/// `POST /api/v1/webhooks/{id}/rotate-secret`.
pub(crate) struct RotateSecret;

impl Command for RotateSecret {
    type On = Webhooks;
    type Out = Webhooks;
    const PATH: &'static str = "rotate-secret";
    const OPERATION: &'static str = "rotate_webhook_secret";
    const SUMMARY: &'static str = "Gives the webhook a new signing secret, shown only in this \
                                   answer; the old one keeps signing too for 24 hours.";
    const MESSAGE: &'static str = "Webhook secret rotated successfully";
    type Request = RotateWebhookSecretRequest;

    fn request(id: i64, _: &[i64]) -> RotateWebhookSecretRequest {
        RotateWebhookSecretRequest { id }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<RotateWebhookSecretRequest>,
    ) -> Answer<Option<Shown>> {
        let answer = client(core)
            .rotate_webhook_secret(request)
            .await?
            .into_inner();
        Ok(Shown::made(answer.webhook, answer.secret))
    }
}

#[cfg(test)]
mod tests;
