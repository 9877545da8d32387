//! The resource an event is about, as the REST API shows it: the core writes this JSON as
//! the event's `data`, so that event consumers and webhook receivers read the same shape
//! as REST clients. Each case is rendered by the resource's own view, without `links`:
//! links depend on how a client reached the API, and an event has no such client.

use crate::base_url::BaseUrl;
use crate::billing::{InvoiceJson, PaymentJson};
use crate::catalog::PlanJson;
use crate::customers::CustomerJson;
use crate::directory::{organizations::Organizations, partners::Partners, user_groups::UserGroups};
use crate::identity::{ApiClientJson, ApiKeyJson, UserJson};
use crate::network::{IpPools, Routers};
use crate::resource::Resource;
use crate::services::ServiceJson;
use crate::sla::{PolicyJson, TicketJson};
use crate::webhooks::WebhookJson;
use lastmile_proto::v1::EventSubject;
use lastmile_proto::v1::event_subject::Resource as Subject;
use serde::Serialize;
use serde_json::Value;

/// The REST JSON of an event's subject, without `links` and without any secret (an API
/// key's key, an API client's secret, a webhook's signing secret, a router's RADIUS
/// secret, which its JSON never carries). An API key that is an
/// API client (it has a `client_id`) is shown as `/api/v1/api-clients` shows it. A subject
/// without a resource is `null`.
pub fn render_event_subject(subject: &EventSubject) -> Value {
    let Some(resource) = subject.resource.clone() else {
        return Value::Null;
    };
    let base = BaseUrl::unlinked();
    match resource {
        Subject::Customer(c) => json(CustomerJson::new(c, &base)),
        Subject::Partner(p) => json(Partners::view(p, &base)),
        Subject::Organization(o) => json(Organizations::view(o, &base)),
        Subject::UserGroup(g) => json(UserGroups::view(g, &base)),
        Subject::User(u) => json(UserJson::from(u)),
        Subject::ApiKey(k) if !k.client_id.is_empty() => json(ApiClientJson::new(k, None)),
        Subject::ApiKey(k) => json(ApiKeyJson::new(k, None)),
        Subject::Webhook(w) => json(WebhookJson::new(w, None)),
        Subject::Plan(p) => json(PlanJson::new(p, &base)),
        Subject::Router(r) => json(Routers::view(r, &base)),
        Subject::IpPool(p) => json(IpPools::view(p, &base)),
        Subject::Service(s) => json(ServiceJson::new(s, &base)),
        Subject::Ticket(t) => json(TicketJson::new(t, &base)),
        Subject::SlaPolicy(p) => json(PolicyJson::new(p, &base)),
        Subject::Invoice(i) => json(InvoiceJson::new(i, &base)),
        Subject::Payment(p) => json(PaymentJson::new(p, &base)),
    }
}

fn json(view: impl Serialize) -> Value {
    // The views are plain structs of strings, numbers and options: serializing cannot fail.
    serde_json::to_value(view).unwrap_or(Value::Null)
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
