//! The operations on webhook endpoints and their deliveries. Each write runs inside a
//! transaction its caller owns, with its audit entry and event.

use chrono::{DateTime, Utc};
use lastmile_proto::v1::event_subject::Resource;
use serde_json::{Map, Value, json};

use super::store::{self, DeliveryRow, EndpointRow, EndpointValues};
use super::{WebhookSettings, delivery_job, signing, url};
use crate::audit::{self, Change};
use crate::auth::RequestContext;
use crate::clock::SharedClock;
use crate::db::{Db, Tx};
use crate::error::{Error, FieldErrors, Result};
use crate::events::{Subject, is_known_pattern};
use crate::jobs;
use crate::paging::{Page, PageQuery};
use crate::tenancy::Tenancy;

/// How long the previous secret still signs after a rotation.
const PREVIOUS_SECRET_GRACE: chrono::Duration = chrono::Duration::hours(24);
const DESCRIPTION_MAX: usize = 500;
const EVENTS_MAX: usize = lastmile_proto::MAX_SUBSCRIPTIONS;

/// An endpoint (its secrets stay inside the core).
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// Id.
    pub id: i64,
    /// Target.
    pub url: String,
    /// Subscribed types.
    pub events: Vec<String>,
    /// Free text.
    pub description: Option<String>,
    /// Delivering.
    pub active: bool,
    /// The reseller it belongs to.
    pub partner_id: Option<i64>,
    /// Why the system disabled it.
    pub disabled_reason: Option<String>,
    /// Failing since.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the previous secret signs too.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Changed.
    pub updated_at: DateTime<Utc>,
}

impl From<EndpointRow> for Webhook {
    fn from(r: EndpointRow) -> Self {
        Self {
            id: r.id,
            url: r.url,
            events: store::events_list(&r.events),
            description: r.description,
            active: r.active,
            partner_id: r.partner_id,
            disabled_reason: r.disabled_reason,
            failing_since: r.failing_since,
            previous_secret_expires_at: r.previous_secret_expires_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl Webhook {
    fn audit_view(&self) -> Map<String, Value> {
        let value = json!({
            "url": self.url,
            "events": self.events,
            "description": self.description,
            "active": self.active,
            "partner_id": self.partner_id,
        });
        value.as_object().cloned().unwrap_or_default()
    }

    /// What the endpoint's events show.
    pub fn subject(&self) -> Subject {
        Subject::new(Resource::Webhook(self.clone().into()), self.partner_id)
    }
}

/// A delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Id.
    pub id: i64,
    /// Endpoint.
    pub webhook_id: i64,
    /// The event's id.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// pending, delivered, failed, dead, cancelled.
    pub status: String,
    /// Attempts made.
    pub attempts: i32,
    /// Last answer's status.
    pub response_status: Option<i32>,
    /// Last answer's first KiB.
    pub response_body: Option<String>,
    /// Last attempt's duration.
    pub duration_ms: Option<i64>,
    /// Last failure.
    pub last_error: Option<String>,
    /// Next attempt.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Changed.
    pub updated_at: DateTime<Utc>,
}

impl From<DeliveryRow> for Delivery {
    fn from(r: DeliveryRow) -> Self {
        Self {
            id: r.id,
            webhook_id: r.webhook_id,
            event_id: r.event_id,
            event_type: r.event_type,
            status: r.status,
            attempts: r.attempts,
            response_status: r.response_status,
            response_body: r.response_body,
            duration_ms: r.duration_ms,
            last_error: r.last_error,
            next_attempt_at: r.next_attempt_at,
            delivered_at: r.delivered_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The writable fields as sent.
#[derive(Debug, Clone, Default)]
pub struct WebhookInput {
    /// Target.
    pub url: String,
    /// Subscribed types.
    pub events: Vec<String>,
    /// Free text.
    pub description: Option<String>,
    /// Delivering.
    pub active: Option<bool>,
}

/// The checked fields.
#[derive(Debug, Clone, PartialEq)]
struct Checked {
    url: String,
    events: Vec<String>,
    description: Option<String>,
    active: bool,
}

impl Checked {
    fn values(&self) -> EndpointValues<'_> {
        EndpointValues {
            url: &self.url,
            events: &self.events,
            description: self.description.as_deref(),
            active: self.active,
        }
    }
}

const FIELDS: &[&str] = &["url", "events", "description", "active"];

/// The webhook operations.
#[derive(Debug, Clone)]
pub struct Webhooks {
    db: Db,
    clock: SharedClock,
    settings: WebhookSettings,
}

impl Webhooks {
    /// The operations over `db`.
    pub fn new(db: Db, clock: SharedClock, settings: WebhookSettings) -> Self {
        Self {
            db,
            clock,
            settings,
        }
    }

    /// Checks every field of a new endpoint; writes nothing.
    pub async fn validate_create(&self, input: &WebhookInput) -> Result<()> {
        self.check(input, FIELDS, None).await.map(drop)
    }

    /// Creates an endpoint for the caller (a reseller's receives only its partner's
    /// events); answers it and its secret.
    pub async fn create(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        input: &WebhookInput,
    ) -> Result<(Webhook, String)> {
        let checked = self.check(input, FIELDS, None).await?;
        let partner = Tenancy::of(&context.principal).partner();
        let secret = signing::new_secret();
        let now = self.clock.now();
        let id = store::insert_endpoint(&mut tx.conn(), &checked.values(), partner, &secret, now)
            .await?;
        let webhook = self.find(tx, context, id).await?;
        let change =
            Change::created("webhook", id, webhook.audit_view()).publish(webhook.subject());
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok((webhook, secret))
    }

    /// The endpoint `id`, if the caller may see it.
    pub async fn get(&self, context: &RequestContext, id: i64) -> Result<Webhook> {
        let partner = Tenancy::of(&context.principal).partner();
        store::find_endpoint(&mut self.db.conn(), id, partner)
            .await?
            .map(Webhook::from)
            .ok_or(Error::NotFound("Webhook"))
    }

    async fn find(&self, tx: &mut Tx, context: &RequestContext, id: i64) -> Result<Webhook> {
        let partner = Tenancy::of(&context.principal).partner();
        store::find_endpoint(&mut tx.conn(), id, partner)
            .await?
            .map(Webhook::from)
            .ok_or(Error::NotFound("Webhook"))
    }

    /// A page of the endpoints the caller may see, newest first.
    pub async fn list(&self, context: &RequestContext, page: PageQuery) -> Result<Page<Webhook>> {
        let partner = Tenancy::of(&context.principal).partner();
        let (rows, total) =
            store::list_endpoints(&mut self.db.conn(), partner, page.limit(), page.offset())
                .await?;
        Ok(Page {
            items: rows.into_iter().map(Webhook::from).collect(),
            total,
            query: page,
        })
    }

    /// Changes the fields `paths` name.
    pub async fn update(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        id: i64,
        input: &WebhookInput,
        paths: &[String],
    ) -> Result<Webhook> {
        let unknown: Vec<&String> = paths
            .iter()
            .filter(|p| !FIELDS.contains(&p.as_str()))
            .collect();
        if !unknown.is_empty() {
            let mut errors = FieldErrors::new();
            for path in unknown {
                errors.add("update_mask", format!("Unknown field: {path}."));
            }
            return Err(Error::Validation(errors));
        }
        let current = self.find(tx, context, id).await?;
        let selected: Vec<&str> = paths.iter().map(String::as_str).collect();
        let checked = self.check(input, &selected, Some(&current)).await?;
        let unchanged = checked.url == current.url
            && checked.events == current.events
            && checked.description == current.description
            && checked.active == current.active;
        if selected.is_empty() || unchanged {
            return Ok(current);
        }
        let now = self.clock.now();
        store::update_endpoint(&mut tx.conn(), id, &checked.values(), now).await?;
        let updated = self.find(tx, context, id).await?;
        let change = Change::updated(
            "webhook.updated".into(),
            "webhook",
            id,
            &current.audit_view(),
            &updated.audit_view(),
        )
        .publish(updated.subject());
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok(updated)
    }

    /// Deletes an endpoint and its delivery log; its queued deliveries are dropped.
    pub async fn delete(&self, tx: &mut Tx, context: &RequestContext, id: i64) -> Result<()> {
        let current = self.find(tx, context, id).await?;
        let now = self.clock.now();
        store::delete_endpoint(&mut tx.conn(), id).await?;
        let change =
            Change::deleted("webhook", id, current.audit_view()).publish(current.subject());
        audit::record(&mut tx.conn(), context, change, now).await
    }

    /// A new secret; the previous one keeps signing for 24 hours.
    pub async fn rotate_secret(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        id: i64,
    ) -> Result<(Webhook, String)> {
        let current = self.find(tx, context, id).await?;
        let secret = signing::new_secret();
        let now = self.clock.now();
        store::rotate_secret(
            &mut tx.conn(),
            id,
            &secret,
            now + PREVIOUS_SECRET_GRACE,
            now,
        )
        .await?;
        let updated = self.find(tx, context, id).await?;
        let mut before = current.audit_view();
        before.insert("secret".into(), audit::REDACTED.into());
        let mut after = updated.audit_view();
        after.insert(
            "secret".into(),
            format!("{} (rotated)", audit::REDACTED).into(),
        );
        let change = Change::updated(
            "webhook.secret_rotated".into(),
            "webhook",
            id,
            &before,
            &after,
        )
        .publish(updated.subject());
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok((updated, secret))
    }

    /// A page of the endpoint's deliveries, newest first.
    pub async fn deliveries(
        &self,
        context: &RequestContext,
        webhook_id: i64,
        status: Option<&str>,
        page: PageQuery,
    ) -> Result<Page<Delivery>> {
        self.get(context, webhook_id).await?;
        if let Some(status) = status
            && !["pending", "delivered", "failed", "dead", "cancelled"].contains(&status)
        {
            return Err(Error::BadRequest(
                "The status must be one of pending, delivered, failed, dead, cancelled.".into(),
            ));
        }
        let (rows, total) = store::list_deliveries(
            &mut self.db.conn(),
            webhook_id,
            status,
            page.limit(),
            page.offset(),
        )
        .await?;
        Ok(Page {
            items: rows.into_iter().map(Delivery::from).collect(),
            total,
            query: page,
        })
    }

    /// Sends delivery `delivery_id` again, with the same body and `webhook-id`.
    pub async fn redeliver(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        webhook_id: i64,
        delivery_id: i64,
    ) -> Result<Delivery> {
        let webhook = self.find(tx, context, webhook_id).await?;
        let delivery = store::find_delivery(&mut tx.conn(), delivery_id)
            .await?
            .filter(|d| d.webhook_id == webhook.id)
            .ok_or(Error::NotFound("Delivery"))?;
        if delivery.status == "pending" || delivery.status == "failed" {
            return Err(Error::Conflict(
                "The delivery is still being attempted; wait for it to be delivered or to give up."
                    .into(),
            ));
        }
        let now = self.clock.now();
        store::set_delivery_status(&mut tx.conn(), delivery_id, "pending", Some(now), now).await?;
        jobs::enqueue(&mut tx.conn(), delivery_job(delivery_id), now).await?;
        let change = Change::updated(
            "webhook.redelivered".into(),
            "webhook",
            webhook_id,
            &Map::new(),
            &json!({"delivery_id": delivery_id, "event_id": delivery.event_id})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        )
        .unpublished();
        audit::record(&mut tx.conn(), context, change, now).await?;
        found_delivery(tx, delivery_id).await
    }

    /// Queues a `webhook.test` event to the endpoint alone.
    pub async fn test(&self, tx: &mut Tx, context: &RequestContext, id: i64) -> Result<Delivery> {
        let webhook = self.find(tx, context, id).await?;
        let now = self.clock.now();
        let event_id = uuid::Uuid::now_v7().to_string();
        let body = json!({
            "id": event_id,
            "type": "webhook.test",
            "created_at": now.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            "data": {
                "webhook_id": webhook.id,
                "message": "This is a test event from Lastmile.",
            },
        })
        .to_string();
        let delivery_id =
            store::insert_delivery(&mut tx.conn(), id, &event_id, "webhook.test", &body, now)
                .await?;
        jobs::enqueue(&mut tx.conn(), delivery_job(delivery_id), now).await?;
        let change = Change::updated(
            "webhook.tested".into(),
            "webhook",
            id,
            &Map::new(),
            &json!({"delivery_id": delivery_id})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        )
        .unpublished();
        audit::record(&mut tx.conn(), context, change, now).await?;
        found_delivery(tx, delivery_id).await
    }

    /// Checks the fields `selected` names (the rest come from `current`).
    async fn check(
        &self,
        input: &WebhookInput,
        selected: &[&str],
        current: Option<&Webhook>,
    ) -> Result<Checked> {
        let mut errors = FieldErrors::new();
        let pick = |name: &str| selected.contains(&name);
        let mut checked = match current {
            Some(c) => Checked {
                url: c.url.clone(),
                events: c.events.clone(),
                description: c.description.clone(),
                active: c.active,
            },
            None => Checked {
                url: String::new(),
                events: Vec::new(),
                description: None,
                active: true,
            },
        };
        if pick("url") {
            match url::parse(&input.url) {
                Ok(parsed) => {
                    match url::check_reachable(&parsed, self.settings.allow_private_networks).await
                    {
                        Ok(()) => checked.url = parsed.to_string(),
                        Err(refused) => errors.add("url", refused.0),
                    }
                }
                Err(refused) => errors.add("url", refused.0),
            }
        }
        if pick("events") {
            let mut events: Vec<String> = Vec::new();
            if input.events.is_empty() {
                errors.add(
                    "events",
                    "The events field must list at least one event type, or \"*\".",
                );
            }
            if input.events.len() > EVENTS_MAX {
                errors.add(
                    "events",
                    format!("The events field may not list more than {EVENTS_MAX} types."),
                );
            }
            for name in &input.events {
                let name = name.as_str();
                if !is_known_pattern(name) {
                    errors.add(
                        "events",
                        format!("'{name}' is not a known event type (e.g. customer.created, customer.* or *)."),
                    );
                } else if !events.iter().any(|e| e == name) {
                    events.push(name.to_owned());
                }
            }
            checked.events = events;
        }
        if pick("description") {
            let description = input
                .description
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty());
            if description.is_some_and(|d| d.chars().count() > DESCRIPTION_MAX) {
                errors.add(
                    "description",
                    format!(
                        "The description may not be greater than {DESCRIPTION_MAX} characters."
                    ),
                );
            }
            checked.description = description.map(str::to_owned);
        }
        if pick("active") {
            checked.active = input.active.unwrap_or(true);
        }
        errors.into_result()?;
        Ok(checked)
    }
}

async fn found_delivery(tx: &mut Tx, id: i64) -> Result<Delivery> {
    store::find_delivery(&mut tx.conn(), id)
        .await?
        .map(Delivery::from)
        .ok_or(Error::NotFound("Delivery"))
}
