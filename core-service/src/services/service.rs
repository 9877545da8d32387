//! The operations on services. Each write runs inside a transaction its caller owns, and
//! writes, in that transaction, the service, its RADIUS rows, its audit entry and event,
//! and the jobs that carry the change to online sessions.

use chrono::{DateTime, Datelike, TimeZone, Utc};
use lastmile_proto::v1::event_subject::Resource;
use serde_json::{Map, Value, json};

use super::input::{self, Checked, FIELDS, ServiceInput};
use super::store::{self, Filter, NewService};
use super::{Service, ServiceAction, ServiceSettings, ServiceStatus, radius};
use crate::audit::{self, Change};
use crate::auth::RequestContext;
use crate::clock::SharedClock;
use crate::customers::{self, CustomerKey};
use crate::db::{Conn, Db, Tx, unique_violation};
use crate::error::{Error, FieldErrors, Result};
use crate::events::Subject;
use crate::network::NetworkSettings;
use crate::paging::{Page, PageQuery};
use crate::provisioning::sessions;
use crate::tenancy::Tenancy;

const USERNAME_TAKEN: &str = "A service with this username already exists.";
const REASON_MAX: usize = 500;

pub use crate::audit::Actor;

/// What a list asks for.
#[derive(Debug, Clone, Default)]
pub struct ServiceQuery {
    /// Only this customer's (id, portal id or UUID).
    pub customer: Option<String>,
    /// Only in this state.
    pub status: Option<ServiceStatus>,
    /// Only on this plan.
    pub plan_id: Option<i64>,
    /// Only through this router.
    pub router_id: Option<i64>,
    /// Username substring.
    pub search: Option<String>,
}

/// The service operations.
#[derive(Debug, Clone)]
pub struct Services {
    db: Db,
    clock: SharedClock,
    settings: ServiceSettings,
    network: NetworkSettings,
}

impl Services {
    /// The operations over `db`.
    pub fn new(
        db: Db,
        clock: SharedClock,
        settings: ServiceSettings,
        network: NetworkSettings,
    ) -> Self {
        Self {
            db,
            clock,
            settings,
            network,
        }
    }

    /// The core's time now.
    pub(super) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The database.
    pub(super) fn db(&self) -> &Db {
        &self.db
    }

    /// How services behave in this deployment.
    pub fn settings(&self) -> &ServiceSettings {
        &self.settings
    }

    /// Creates a service for the customer `customer` names: active at once, pending until
    /// its scheduled activation, or suspended with a suspended customer.
    pub async fn create(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        customer: &str,
        input: &ServiceInput,
    ) -> Result<Service> {
        let tenancy = Tenancy::of(&context.principal);
        let key = CustomerKey::Reference(customer.to_owned());
        let customer = customers::resolve(&mut tx.conn(), tenancy, &key).await?;
        let now = self.clock.now();
        let mut checked = Checked::default();
        let mut errors = FieldErrors::new();
        input::apply(input, FIELDS, &mut checked, &mut errors, now);
        if input.plan_id.is_none() {
            errors.add("plan_id", "The plan id field is required.");
        }
        check_stored(&mut tx.conn(), &checked, None, true, &mut errors).await?;
        errors.into_result()?;
        let owner = store::owner(&mut tx.conn(), customer.id)
            .await?
            .ok_or(Error::NotFound("Customer"))?;
        let (status, with_customer) = match owner.status.as_str() {
            "terminated" => {
                return Err(Error::Conflict(
                    "A terminated customer cannot get new services.".into(),
                ));
            }
            "suspended" => (ServiceStatus::Suspended, true),
            _ if checked.scheduled_activation.is_some() => {
                (ServiceStatus::PendingActivation, false)
            }
            _ => (ServiceStatus::Active, false),
        };
        let username = match &checked.username {
            Some(name) => name.clone(),
            None => free_username(&mut tx.conn(), &owner.portal_id).await?,
        };
        let password = checked.password.clone().unwrap_or_else(input::new_password);
        let new = NewService {
            customer_id: customer.id,
            partner_id: owner.partner_id,
            status,
            suspended_with_customer: with_customer,
            values: &checked,
            username: &username,
            password: &password,
        };
        let id = store::insert(&mut tx.conn(), &new, now)
            .await
            .map_err(username_clash)?;
        self.assign_address(tx, id, &checked, None, now).await?;
        let service = found(&mut tx.conn(), id).await?;
        radius::sync(&mut tx.conn(), &service, None, &self.settings).await?;
        let change =
            Change::created("service", id, audit_view(&service)).publish(subject(&service));
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok(service)
    }

    /// The service `id`, if the caller may see it.
    pub async fn get(&self, context: &RequestContext, id: i64) -> Result<Service> {
        store::find(
            &mut self.db.conn(),
            id,
            Tenancy::of(&context.principal).partner(),
        )
        .await?
        .ok_or(Error::NotFound("Service"))
    }

    /// The service whose login is `username`, if the caller may see it.
    pub async fn by_username(&self, context: &RequestContext, username: &str) -> Result<Service> {
        store::find_by_username(
            &mut self.db.conn(),
            username,
            Tenancy::of(&context.principal).partner(),
        )
        .await?
        .ok_or(Error::NotFound("Service"))
    }

    /// A page of the services the caller may see, newest first.
    pub async fn list(
        &self,
        context: &RequestContext,
        query: ServiceQuery,
        page: PageQuery,
    ) -> Result<Page<Service>> {
        let tenancy = Tenancy::of(&context.principal);
        let customer_id = match &query.customer {
            Some(reference) => {
                let key = CustomerKey::Reference(reference.clone());
                Some(
                    customers::resolve(&mut self.db.conn(), tenancy, &key)
                        .await?
                        .id,
                )
            }
            None => None,
        };
        let filter = Filter {
            partner: tenancy.partner(),
            customer_id,
            status: query.status,
            plan_id: query.plan_id,
            router_id: query.router_id,
            search: query.search,
        };
        let (items, total) =
            store::list(&mut self.db.conn(), &filter, page.limit(), page.offset()).await?;
        Ok(Page {
            items,
            total,
            query: page,
        })
    }

    /// Changes the fields `paths` names.
    pub async fn update(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        id: i64,
        input: &ServiceInput,
        paths: &[String],
    ) -> Result<Service> {
        self.update_as(tx, Actor::Caller(context), id, input, paths)
            .await
    }

    /// Changes the fields `paths` names, as `actor`.
    pub(super) async fn update_as(
        &self,
        tx: &mut Tx,
        actor: Actor<'_>,
        id: i64,
        input: &ServiceInput,
        paths: &[String],
    ) -> Result<Service> {
        let current = self.find(tx, actor, id).await?;
        let mut errors = FieldErrors::new();
        for path in paths {
            // Repeating the service's own plan changes nothing; another plan is a plan change.
            if path == "plan_id" && input.plan_id != Some(current.plan_id) {
                errors.add(
                    "plan_id",
                    "Use change-plan to move a service to another plan.",
                );
            } else if !FIELDS.contains(&path.as_str()) {
                errors.add("update_mask", format!("Unknown field: {path}."));
            }
        }
        errors.into_result()?;
        if current.status == ServiceStatus::Terminated {
            return Err(Error::Conflict(
                "A terminated service cannot be changed.".into(),
            ));
        }
        let selected: Vec<&str> = paths.iter().map(String::as_str).collect();
        let now = self.clock.now();
        let mut checked = Checked::of(&current);
        let mut errors = FieldErrors::new();
        input::apply(input, &selected, &mut checked, &mut errors, now);
        // Another pool without an address: the new pool's next free one, not the old one.
        if checked.ip_pool_id != current.ip_pool_id && !selected.contains(&"static_ip") {
            checked.static_ip = None;
        }
        check_stored(&mut tx.conn(), &checked, Some(id), false, &mut errors).await?;
        errors.into_result()?;
        if checked == Checked::of(&current) {
            return Ok(current);
        }
        store::update(&mut tx.conn(), id, &checked, now)
            .await
            .map_err(username_clash)?;
        if checked.static_ip != current.ip_address || checked.ip_pool_id != current.ip_pool_id {
            let held = Some((current.ip_pool_id, current.ip_address.clone()));
            self.assign_address(tx, id, &checked, held, now).await?;
        }
        let updated = found(&mut tx.conn(), id).await?;
        radius::sync(
            &mut tx.conn(),
            &updated,
            Some(&current.username),
            &self.settings,
        )
        .await?;
        sessions::after_change(&mut tx.conn(), &current, &updated, now).await?;
        let change = Change::updated(
            "service.updated".into(),
            "service",
            id,
            &audit_view(&current),
            &audit_view(&updated),
        )
        .publish(subject(&updated));
        actor.record(&mut tx.conn(), change, now).await?;
        Ok(updated)
    }

    /// Terminates the service (if it is not yet) and takes it out of lists and lookups.
    pub async fn delete(&self, tx: &mut Tx, context: &RequestContext, id: i64) -> Result<()> {
        let current = self.find(tx, Actor::Caller(context), id).await?;
        let now = self.clock.now();
        if current.status != ServiceStatus::Terminated {
            self.act_as(
                tx,
                Actor::Caller(context),
                &current,
                ServiceAction::Terminate,
                None,
                false,
            )
            .await?;
        }
        store::soft_delete(&mut tx.conn(), id, now).await?;
        let change =
            Change::deleted("service", id, audit_view(&current)).publish(subject(&current));
        audit::record(&mut tx.conn(), context, change, now).await
    }

    /// Moves the service through its life cycle.
    pub async fn act(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        id: i64,
        action: Option<ServiceAction>,
        reason: &str,
    ) -> Result<Service> {
        let current = self.find(tx, Actor::Caller(context), id).await?;
        let mut errors = FieldErrors::new();
        if action.is_none() {
            errors.add("action", "The selected action is invalid.");
        }
        let reason = reason.trim();
        if reason.chars().count() > REASON_MAX {
            errors.add(
                "reason",
                format!("The reason may not be greater than {REASON_MAX} characters."),
            );
        }
        errors.into_result()?;
        let action = action.ok_or_else(|| anyhow::anyhow!("validated action missing"))?;
        let reason = Some(reason).filter(|r| !r.is_empty());
        if matches!(action, ServiceAction::Activate | ServiceAction::Unsuspend)
            && current.status.after(action).is_ok()
            && customer_suspended(tx, current.customer_id).await?
        {
            return Err(Error::Conflict(
                "The customer is suspended; activate the customer first.".into(),
            ));
        }
        self.act_as(tx, Actor::Caller(context), &current, action, reason, false)
            .await
    }

    /// One life-cycle move of `current` by `actor`; `with_customer` marks a suspension
    /// made by the customer's own.
    pub(super) async fn act_as(
        &self,
        tx: &mut Tx,
        actor: Actor<'_>,
        current: &Service,
        action: ServiceAction,
        reason: Option<&str>,
        with_customer: bool,
    ) -> Result<Service> {
        let status = current.status.after(action)?;
        let now = self.clock.now();
        store::set_status(
            &mut tx.conn(),
            current.id,
            status,
            reason,
            with_customer,
            now,
        )
        .await?;
        if status == ServiceStatus::Terminated {
            self.release_address(tx, current.id, now).await?;
        }
        let updated = found(&mut tx.conn(), current.id).await?;
        radius::sync(&mut tx.conn(), &updated, None, &self.settings).await?;
        sessions::after_change(&mut tx.conn(), current, &updated, now).await?;
        let change = Change::updated(
            format!("service.{}", action.past_tense()),
            "service",
            current.id,
            &audit_view(current),
            &audit_view(&updated),
        )
        .because(reason)
        .publish(subject(&updated));
        actor.record(&mut tx.conn(), change, now).await?;
        Ok(updated)
    }

    /// Moves the service to `plan_id` now, or at the start of its next billing period.
    pub async fn change_plan(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        id: i64,
        plan_id: i64,
        next_period: Option<bool>,
    ) -> Result<Service> {
        let current = self.find(tx, Actor::Caller(context), id).await?;
        let mut errors = FieldErrors::new();
        if plan_id <= 0 {
            errors.add("plan_id", "The plan id field is required.");
        } else {
            check_plan(&mut tx.conn(), Some(plan_id), &mut errors).await?;
        }
        if next_period.is_none() {
            errors.add("timing", "The timing must be one of: now, next_period.");
        }
        errors.into_result()?;
        let next_period = next_period.unwrap_or(false);
        if current.status == ServiceStatus::Terminated {
            return Err(Error::Conflict(
                "A terminated service cannot change plan.".into(),
            ));
        }
        if plan_id == current.plan_id && current.pending_plan_id.is_none() {
            return Ok(current);
        }
        let now = self.clock.now();
        let at = if next_period {
            let owner = store::owner(&mut tx.conn(), current.customer_id)
                .await?
                .ok_or(Error::NotFound("Customer"))?;
            Some(next_period_start(now, owner.billing_day))
        } else {
            None
        };
        self.apply_plan(tx, Actor::Caller(context), &current, plan_id, at, now)
            .await
    }

    pub(super) async fn apply_plan(
        &self,
        tx: &mut Tx,
        actor: Actor<'_>,
        current: &Service,
        plan_id: i64,
        at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Service> {
        store::set_plan(&mut tx.conn(), current.id, plan_id, at, now).await?;
        let updated = found(&mut tx.conn(), current.id).await?;
        radius::sync(&mut tx.conn(), &updated, None, &self.settings).await?;
        sessions::after_change(&mut tx.conn(), current, &updated, now).await?;
        let name = if at.is_some() {
            "service.plan_change_scheduled"
        } else {
            "service.plan_changed"
        };
        let mut after = audit_view(&updated);
        if let Some(at) = at {
            after.insert("plan_change_at".into(), json!(at));
        }
        let change = Change::updated(
            name.into(),
            "service",
            current.id,
            &audit_view(current),
            &after,
        );
        let change = if at.is_some() {
            change.unpublished()
        } else {
            change.publish(subject(&updated))
        };
        actor.record(&mut tx.conn(), change, now).await?;
        Ok(updated)
    }

    /// Activates the pending services whose time has come and applies the plan changes
    /// that are due: the scheduler's work, one transaction per service.
    pub async fn run_due(&self) -> Result<u64> {
        let now = self.clock.now();
        let mut done = 0;
        for id in store::due_activations(&mut self.db.conn(), now).await? {
            let mut tx = self.db.begin().await?;
            let current = found(&mut tx.conn(), id).await?;
            if current.status == ServiceStatus::PendingActivation {
                if customer_suspended(&mut tx, current.customer_id).await? {
                    // Its time came while the customer is suspended: it starts suspended
                    // with the customer, and the customer's activation restores it.
                    self.suspend_pending(&mut tx, &current).await?;
                } else {
                    self.act_as(
                        &mut tx,
                        Actor::System,
                        &current,
                        ServiceAction::Activate,
                        None,
                        false,
                    )
                    .await?;
                }
                tx.commit().await?;
                done += 1;
            }
        }
        for id in store::due_plan_changes(&mut self.db.conn(), now).await? {
            let mut tx = self.db.begin().await?;
            let current = found(&mut tx.conn(), id).await?;
            if let Some(plan_id) = current.pending_plan_id {
                self.apply_plan(&mut tx, Actor::System, &current, plan_id, None, now)
                    .await?;
                tx.commit().await?;
                done += 1;
            }
        }
        Ok(done)
    }

    /// A pending service whose activation came while its customer is suspended.
    pub(super) async fn suspend_pending(&self, tx: &mut Tx, current: &Service) -> Result<()> {
        let now = self.clock.now();
        store::set_status(
            &mut tx.conn(),
            current.id,
            ServiceStatus::Suspended,
            Some("The customer is suspended."),
            true,
            now,
        )
        .await?;
        let updated = found(&mut tx.conn(), current.id).await?;
        radius::sync(&mut tx.conn(), &updated, None, &self.settings).await?;
        let change = Change::updated(
            "service.suspended".into(),
            "service",
            current.id,
            &audit_view(current),
            &audit_view(&updated),
        )
        .publish(subject(&updated));
        audit::record_system(&mut tx.conn(), change, now).await
    }

    /// The service `id`, if `actor` may see it.
    pub(super) async fn find(&self, tx: &mut Tx, actor: Actor<'_>, id: i64) -> Result<Service> {
        store::find(&mut tx.conn(), id, actor.tenancy().partner())
            .await?
            .ok_or(Error::NotFound("Service"))
    }

    /// Gives the service its static address (when it names one or a pool) or takes it
    /// away, inside the transaction.
    async fn assign_address(
        &self,
        tx: &mut Tx,
        id: i64,
        checked: &Checked,
        held: super::address::Held,
        now: DateTime<Utc>,
    ) -> Result<()> {
        super::address::assign(&mut tx.conn(), id, checked, held, now, &self.network).await
    }

    async fn release_address(&self, tx: &mut Tx, id: i64, now: DateTime<Utc>) -> Result<()> {
        super::address::release(&mut tx.conn(), id, now).await
    }
}

/// The service `id` as just written (inside the transaction; no tenancy: the caller was
/// checked when it was found).
pub(super) async fn found(conn: &mut Conn<'_>, id: i64) -> Result<Service> {
    store::find(conn, id, None)
        .await?
        .ok_or(Error::NotFound("Service"))
}

/// Whether customer `id` is suspended (read in the transaction, locked on PostgreSQL).
pub(super) async fn customer_suspended(tx: &mut Tx, id: i64) -> Result<bool> {
    Ok(store::owner(&mut tx.conn(), id)
        .await?
        .is_some_and(|owner| owner.status == "suspended"))
}

/// The failures that need stored data: the plan, the router, the username.
async fn check_stored(
    conn: &mut Conn<'_>,
    checked: &Checked,
    except: Option<i64>,
    creating: bool,
    errors: &mut FieldErrors,
) -> Result<()> {
    if creating && errors.messages("plan_id").is_empty() {
        check_plan(conn, checked.plan_id, errors).await?;
    }
    if let Some(router) = checked.router_id
        && !store::router_exists(conn, router).await?
    {
        errors.add("router_id", "The selected router id is invalid.");
    }
    if let Some(name) = &checked.username
        && errors.messages("username").is_empty()
        && store::username_taken(conn, name, except).await?
    {
        errors.add("username", USERNAME_TAKEN);
    }
    Ok(())
}

pub(super) async fn check_plan(
    conn: &mut Conn<'_>,
    plan_id: Option<i64>,
    errors: &mut FieldErrors,
) -> Result<()> {
    let Some(plan_id) = plan_id else {
        return Ok(());
    };
    match store::plan_status(conn, plan_id).await?.as_deref() {
        None => errors.add("plan_id", "The selected plan id is invalid."),
        Some("archived") => errors.add(
            "plan_id",
            "The selected plan is archived and cannot be sold.",
        ),
        Some(_) => {}
    }
    Ok(())
}

/// The customer's portal id as a login, or with a suffix when taken (`12345678-2`).
async fn free_username(conn: &mut Conn<'_>, portal_id: &str) -> Result<String> {
    // Start past the logins the customer already has, so a business customer with
    // thousands of logins does not try each taken suffix in turn.
    let first = store::logins_like(conn, portal_id).await? + 1;
    for n in first..first + 100 {
        let candidate = if n == 1 {
            portal_id.to_owned()
        } else {
            format!("{portal_id}-{n}")
        };
        if !store::username_taken(conn, &candidate, None).await? {
            return Ok(candidate);
        }
    }
    Err(anyhow::anyhow!("no free username for portal id {portal_id}").into())
}

/// The start of the next billing period after `now`: the next billing day (the 1st when
/// the customer has none), at midnight UTC.
pub(super) fn next_period_start(now: DateTime<Utc>, billing_day: Option<i32>) -> DateTime<Utc> {
    let day = billing_day.unwrap_or(1).clamp(1, 28) as u32;
    let (mut year, mut month) = (now.year(), now.month());
    loop {
        if let chrono::LocalResult::Single(at) = Utc.with_ymd_and_hms(year, month, day, 0, 0, 0)
            && at > now
        {
            return at;
        }
        (year, month) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
    }
}

/// A concurrent create that took the username between the check and the insert.
fn username_clash(err: Error) -> Error {
    let clash = match &err {
        Error::Internal(inner) => inner
            .downcast_ref::<sqlx::Error>()
            .and_then(unique_violation)
            .is_some_and(|index| index.contains("username")),
        _ => false,
    };
    if !clash {
        return err;
    }
    let mut errors = FieldErrors::new();
    errors.add("username", USERNAME_TAKEN);
    Error::Validation(errors)
}

/// What the audit log keeps of a service (never the password).
fn audit_view(s: &Service) -> Map<String, Value> {
    let value = json!({
        "customer_id": s.customer_id,
        "plan_id": s.plan_id,
        "status": s.status.as_str(),
        "username": s.username,
        "password": audit::REDACTED,
        "download_kbps": s.download_kbps,
        "upload_kbps": s.upload_kbps,
        "data_limit_mb": s.data_limit_mb,
        "mac": s.mac,
        "expiration": s.expiration,
        "router_id": s.router_id,
        "vlan_id": s.vlan_id,
        "ip_pool_id": s.ip_pool_id,
        "ip_address": s.ip_address,
        "pending_plan_id": s.pending_plan_id,
        "installation_address": s.installation_address,
        "notes": s.notes,
    });
    value.as_object().cloned().unwrap_or_default()
}

/// What a service's events show: the service as the API returns it, without its password.
pub(super) fn subject(service: &Service) -> Subject {
    let mut shown: lastmile_proto::v1::InternetService = service.clone().into();
    shown.password.clear();
    Subject::new(Resource::Service(shown), service.partner_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_period_starts_on_the_next_billing_day() {
        let at = |y, m, d, h| Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap();
        let table = [
            (at(2026, 11, 30, 10), Some(15), at(2026, 12, 15, 0)),
            (at(2026, 12, 15, 0), Some(15), at(2027, 1, 15, 0)),
            (at(2026, 12, 14, 23), Some(15), at(2026, 12, 15, 0)),
            (at(2026, 12, 31, 8), None, at(2027, 1, 1, 0)),
            (at(2026, 1, 31, 8), Some(28), at(2026, 2, 28, 0)),
        ];
        for (now, day, expected) in table {
            assert_eq!(next_period_start(now, day), expected, "{now} day {day:?}");
        }
    }
}
