//! The operations on IP pools. Each write runs inside a transaction its caller owns, with
//! its audit entry and event.

use std::net::Ipv4Addr;

use lastmile_proto::v1::IpPoolKind;
use lastmile_proto::v1::event_subject::Resource;

use super::allocation::{quarantine_cutoff, usage_at};
use super::pools::{FIELDS, IpPool, IpPoolInput, PoolFields, apply};
use super::{NAME_TAKEN, Network, counted, pool_store, router_store, search_pattern, selected};
use crate::audit::{self, Change};
use crate::auth::RequestContext;
use crate::db::{Conn, Tx, unique_violation};
use crate::error::{Error, FieldErrors, Result};
use crate::events::Subject;
use crate::paging::{Page, PageQuery};

impl Network {
    /// Checks a new pool against every rule, stored names and routers included; writes
    /// nothing.
    pub async fn validate_pool(&self, input: &IpPoolInput) -> Result<()> {
        check_create(&mut self.db.conn(), input).await.map(drop)
    }

    /// Creates a pool inside `tx`, with its audit entry and event.
    pub async fn create_pool(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        input: &IpPoolInput,
    ) -> Result<IpPool> {
        let fields = check_create(&mut tx.conn(), input).await?;
        let now = self.clock.now();
        let id = pool_store::insert(&mut tx.conn(), &fields, now)
            .await
            .map_err(clash_to_field_error)?;
        let pool = self.find(&mut tx.conn(), id, false).await?;
        let change = Change::created("ip_pool", id, pool.audit_view()).publish(subject(&pool));
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok(pool)
    }

    /// Pool `id`, with its usage.
    pub async fn get_pool(&self, id: i64) -> Result<IpPool> {
        self.find(&mut self.db.conn(), id, false).await
    }

    /// A page of the pools whose name or network contains `search` (of `router_id`'s, when
    /// given), by name, with their usage.
    pub async fn list_pools(
        &self,
        search: &str,
        router_id: Option<i64>,
        page: PageQuery,
    ) -> Result<Page<IpPool>> {
        let pattern = search_pattern(search);
        let cutoff = quarantine_cutoff(self.clock.now(), &self.settings);
        let window = (page.limit(), page.offset());
        let (items, total) =
            pool_store::list(&mut self.db.conn(), &pattern, router_id, cutoff, window).await?;
        Ok(Page {
            items,
            total,
            query: page,
        })
    }

    /// Changes the fields of pool `id` that `paths` name, inside `tx`. While addresses are
    /// assigned its network and kind stay, and neither the gateway nor an exclusion may be
    /// an assigned address.
    pub async fn update_pool(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        id: i64,
        input: &IpPoolInput,
        paths: &[String],
    ) -> Result<IpPool> {
        let chosen = selected(paths, FIELDS)?;
        let current = self.find(&mut tx.conn(), id, true).await?;
        let mut errors = FieldErrors::new();
        let fields = apply(input, &chosen, Some(&current.fields), &mut errors);
        check_stored(&mut tx.conn(), &fields, Some(id), &chosen, &mut errors).await?;
        let assigned = pool_store::assigned(&mut tx.conn(), id).await?;
        check_assigned(&current.fields, &fields, &assigned, &mut errors);
        errors.into_result()?;
        if fields == current.fields {
            return Ok(current);
        }
        let now = self.clock.now();
        pool_store::update(&mut tx.conn(), id, &fields, now)
            .await
            .map_err(clash_to_field_error)?;
        pool_store::prune_released(&mut tx.conn(), id, |a| fields.hands_out(a)).await?;
        let updated = self.find(&mut tx.conn(), id, false).await?;
        let change = Change::updated(
            "ip_pool.updated".into(),
            "ip_pool",
            id,
            &current.audit_view(),
            &updated.audit_view(),
        )
        .publish(subject(&updated));
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok(updated)
    }

    /// Removes pool `id` inside `tx`. Refused (on `ip_pool`) while addresses of it are
    /// assigned or a plan or a live service names it.
    pub async fn delete_pool(&self, tx: &mut Tx, context: &RequestContext, id: i64) -> Result<()> {
        let current = self.find(&mut tx.conn(), id, true).await?;
        let (assigned, plans, services) = pool_store::users(&mut tx.conn(), id).await?;
        if let Some(message) = in_use_message(assigned, plans, services) {
            let mut errors = FieldErrors::new();
            errors.add("ip_pool", message);
            return Err(Error::Validation(errors));
        }
        let now = self.clock.now();
        pool_store::delete(&mut tx.conn(), id).await?;
        let change =
            Change::deleted("ip_pool", id, current.audit_view()).publish(subject(&current));
        audit::record(&mut tx.conn(), context, change, now).await
    }

    /// Pool `id` with its usage (static pools), or "IP pool not found".
    async fn find(&self, conn: &mut Conn<'_>, id: i64, lock: bool) -> Result<IpPool> {
        let missing = || Error::NotFound("IP pool");
        if id <= 0 {
            return Err(missing());
        }
        let mut pool = pool_store::find(conn, id, lock)
            .await?
            .ok_or_else(missing)?;
        if pool.fields.kind == IpPoolKind::Static {
            let cutoff = quarantine_cutoff(self.clock.now(), &self.settings);
            pool.usage = Some(usage_at(conn, id, &pool.fields, cutoff).await?);
        }
        Ok(pool)
    }
}

/// What a pool's events show: the pool as the API returns it.
pub(super) fn subject(pool: &IpPool) -> Subject {
    Subject::new(Resource::IpPool(pool.clone().into()), None)
}

async fn check_create(conn: &mut Conn<'_>, input: &IpPoolInput) -> Result<PoolFields> {
    let mut errors = FieldErrors::new();
    let fields = apply(input, FIELDS, None, &mut errors);
    check_stored(conn, &fields, None, FIELDS, &mut errors).await?;
    errors.into_result()?;
    Ok(fields)
}

/// Adds the failures that depend on stored data (a taken name, an unknown router) for the
/// `chosen` fields that passed their own rules.
async fn check_stored(
    conn: &mut Conn<'_>,
    fields: &PoolFields,
    except: Option<i64>,
    chosen: &[&str],
    errors: &mut FieldErrors,
) -> Result<()> {
    let check = |field: &str, errors: &FieldErrors| {
        chosen.contains(&field) && errors.messages(field).is_empty()
    };
    if check("name", errors) && pool_store::name_taken(conn, &fields.name, except).await? {
        errors.add("name", NAME_TAKEN);
    }
    if check("router_id", errors)
        && let Some(router) = fields.router_id
        && !router_store::exists(conn, router).await?
    {
        errors.add("router_id", "The selected router id is invalid.");
    }
    Ok(())
}

/// The rules that protect assigned addresses: the network and the kind stay while any is
/// assigned, and none may become the gateway or excluded.
fn check_assigned(
    current: &PoolFields,
    next: &PoolFields,
    assigned: &[Ipv4Addr],
    errors: &mut FieldErrors,
) {
    if assigned.is_empty() {
        return;
    }
    let held = counted(i64::try_from(assigned.len()).unwrap_or(i64::MAX), "address");
    let verb = if assigned.len() == 1 { "is" } else { "are" };
    if next.cidr != current.cidr && errors.messages("cidr").is_empty() {
        errors.add(
            "cidr",
            format!("The cidr cannot change while {held} {verb} assigned."),
        );
    }
    if next.kind != current.kind && errors.messages("kind").is_empty() {
        errors.add(
            "kind",
            format!("The kind cannot change while {held} {verb} assigned."),
        );
    }
    if let Some(gateway) = next.gateway
        && next.gateway != current.gateway
        && assigned.contains(&gateway)
    {
        errors.add(
            "gateway",
            format!("The gateway {gateway} is assigned to a service."),
        );
    }
    for address in next.excluded.iter().filter(|a| assigned.contains(a)) {
        if current.excluded.binary_search(address).is_err() {
            errors.add(
                "excluded",
                format!("The excluded address {address} is assigned to a service."),
            );
        }
    }
}

/// A unique violation that slipped past the check (a concurrent write of the same name)
/// becomes the same field error the check gives.
fn clash_to_field_error(err: sqlx::Error) -> Error {
    if unique_violation(&err).is_some() {
        let mut errors = FieldErrors::new();
        errors.add("name", NAME_TAKEN);
        return Error::Validation(errors);
    }
    err.into()
}

/// "The IP pool has 3 assigned addresses and is used by 2 plans.", or `None` when
/// nothing holds on to it.
fn in_use_message(assigned: i64, plans: i64, services: i64) -> Option<String> {
    let mut users = Vec::new();
    if plans > 0 {
        users.push(counted(plans, "plan"));
    }
    if services > 0 {
        users.push(counted(services, "service"));
    }
    let used = (!users.is_empty()).then(|| format!("is used by {}", users.join(" and ")));
    let held = (assigned > 0).then(|| format!("has {}", counted(assigned, "assigned address")));
    let parts: Vec<String> = held.into_iter().chain(used).collect();
    if parts.is_empty() {
        return None;
    }
    Some(format!("The IP pool {}.", parts.join(" and ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_use_messages_count_what_holds_the_pool() {
        assert_eq!(in_use_message(0, 0, 0), None);
        assert_eq!(
            in_use_message(3, 0, 0).as_deref(),
            Some("The IP pool has 3 assigned addresses.")
        );
        assert_eq!(
            in_use_message(1, 2, 0).as_deref(),
            Some("The IP pool has 1 assigned address and is used by 2 plans.")
        );
        assert_eq!(
            in_use_message(0, 1, 4).as_deref(),
            Some("The IP pool is used by 1 plan and 4 services.")
        );
    }
}
