//! The JSON of webhook endpoints and their deliveries.

use crate::format::timestamp;
use lastmile_proto::RestName;
use lastmile_proto::v1::{Webhook, WebhookDelivery, WebhookDeliveryStatus};
use serde::Serialize;
use utoipa::ToSchema;

/// A webhook endpoint; `secret` only in the answers that make one (create, rotate-secret).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WebhookJson {
    /// Endpoint id.
    pub id: i64,
    /// Where events are POSTed.
    pub url: String,
    /// Event types it receives: `*` for all, `customer.*` for a family, or exact types.
    pub events: Vec<String>,
    /// Free text.
    pub description: Option<String>,
    /// Whether events are delivered to it.
    pub active: bool,
    /// The reseller it belongs to; it receives only that partner's events.
    pub partner_id: Option<i64>,
    /// Why the system disabled it (410 Gone, failing too long).
    pub disabled_reason: Option<String>,
    /// Since when deliveries have failed without a success in between.
    #[schema(example = "2024-01-15T10:30:00.000000Z")]
    pub failing_since: Option<String>,
    /// Until when the previous secret still signs too (after a rotation).
    #[schema(example = "2024-01-15T10:30:00.000000Z")]
    pub previous_secret_expires_at: Option<String>,
    /// RFC 3339 UTC with microseconds.
    #[schema(value_type = String, example = "2024-01-15T10:30:00.000000Z")]
    pub created_at: Option<String>,
    /// RFC 3339 UTC with microseconds.
    #[schema(value_type = String, example = "2024-01-15T10:30:00.000000Z")]
    pub updated_at: Option<String>,
    /// The signing secret (`whsec_…`): shown once, in the answer that made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl WebhookJson {
    /// The JSON of an endpoint; `secret` only when just made.
    pub(crate) fn new(w: Webhook, secret: Option<String>) -> Self {
        Self {
            id: w.id,
            url: w.url,
            events: w.events,
            description: w.description,
            active: w.active,
            partner_id: w.partner_id,
            disabled_reason: w.disabled_reason,
            failing_since: timestamp(w.failing_since),
            previous_secret_expires_at: timestamp(w.previous_secret_expires_at),
            created_at: timestamp(w.created_at),
            updated_at: timestamp(w.updated_at),
            secret,
        }
    }
}

/// One event's delivery to one endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeliveryJson {
    /// Delivery id.
    pub id: i64,
    /// The endpoint.
    pub webhook_id: i64,
    /// The event's id (the `webhook-id` header).
    pub event_id: String,
    /// The event's type, e.g. `customer.created`.
    pub event_type: String,
    /// `pending`, `delivered`, `failed` (retrying), `dead` (gave up) or `cancelled`.
    #[schema(example = "delivered")]
    pub status: &'static str,
    /// Attempts made.
    pub attempts: i32,
    /// The last answer's status code; null when no answer came.
    pub response_status: Option<i32>,
    /// The first 1 KiB of the last answer.
    pub response_body: Option<String>,
    /// How long the last attempt took, in milliseconds.
    pub duration_ms: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the next attempt is due.
    #[schema(example = "2024-01-15T10:30:00.000000Z")]
    pub next_attempt_at: Option<String>,
    /// When it was delivered.
    #[schema(example = "2024-01-15T10:30:00.000000Z")]
    pub delivered_at: Option<String>,
    /// RFC 3339 UTC with microseconds.
    #[schema(value_type = String, example = "2024-01-15T10:30:00.000000Z")]
    pub created_at: Option<String>,
    /// RFC 3339 UTC with microseconds.
    #[schema(value_type = String, example = "2024-01-15T10:30:00.000000Z")]
    pub updated_at: Option<String>,
}

impl From<WebhookDelivery> for DeliveryJson {
    fn from(d: WebhookDelivery) -> Self {
        Self {
            id: d.id,
            webhook_id: d.webhook_id,
            event_id: d.event_id,
            event_type: d.event_type,
            status: WebhookDeliveryStatus::rest_name_of(d.status),
            attempts: d.attempts,
            response_status: d.response_status,
            response_body: d.response_body,
            duration_ms: d.duration_ms,
            last_error: d.last_error,
            next_attempt_at: timestamp(d.next_attempt_at),
            delivered_at: timestamp(d.delivered_at),
            created_at: timestamp(d.created_at),
            updated_at: timestamp(d.updated_at),
        }
    }
}
