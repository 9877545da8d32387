//! The operations on routers. Each write runs inside a transaction its caller owns, with
//! the router's `nas` row, its audit entry and its event.

use lastmile_proto::v1::event_subject::Resource;

use super::routers::{FIELDS, IP_TAKEN, Router, RouterFields, RouterInput, apply};
use super::{NAME_TAKEN, Network, counted, router_store, search_pattern, selected};
use crate::audit::{self, Change};
use crate::auth::RequestContext;
use crate::db::{Conn, Tx, unique_violation};
use crate::error::{Error, FieldErrors, Result};
use crate::events::Subject;
use crate::paging::{Page, PageQuery};

impl Network {
    /// Checks a new router against every rule, stored names and addresses included;
    /// writes nothing.
    pub async fn validate_router(&self, input: &RouterInput) -> Result<()> {
        check_create(&mut self.db.conn(), input).await.map(drop)
    }

    /// Registers a router and its `nas` row inside `tx`, with its audit entry and event.
    pub async fn create_router(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        input: &RouterInput,
    ) -> Result<Router> {
        let (fields, secret) = check_create(&mut tx.conn(), input).await?;
        let now = self.clock.now();
        let id = router_store::insert(&mut tx.conn(), &fields, &secret, now)
            .await
            .map_err(clash_to_field_error)?;
        router_store::mirror_nas(&mut tx.conn(), id).await?;
        let router = find(&mut tx.conn(), id, false).await?;
        let change = Change::created("router", id, router.audit_view()).publish(subject(&router));
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok(router)
    }

    /// Router `id`.
    pub async fn get_router(&self, id: i64) -> Result<Router> {
        find(&mut self.db.conn(), id, false).await
    }

    /// A page of the routers whose name, address or location contains `search`, by name.
    pub async fn list_routers(&self, search: &str, page: PageQuery) -> Result<Page<Router>> {
        let pattern = search_pattern(search);
        let (items, total) =
            router_store::list(&mut self.db.conn(), &pattern, page.limit(), page.offset()).await?;
        Ok(Page {
            items,
            total,
            query: page,
        })
    }

    /// Changes the fields of router `id` that `paths` name (and its `nas` row), inside
    /// `tx`. A new secret shows in the audit entry only as changed.
    pub async fn update_router(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        id: i64,
        input: &RouterInput,
        paths: &[String],
    ) -> Result<Router> {
        let chosen = selected(paths, FIELDS)?;
        let current = find(&mut tx.conn(), id, true).await?;
        let mut errors = FieldErrors::new();
        let (fields, secret) = apply(input, &chosen, Some(&current.fields), &mut errors);
        check_stored(&mut tx.conn(), &fields, Some(id), &chosen, &mut errors).await?;
        errors.into_result()?;
        let secret = match secret {
            Some(s) if router_store::secret_is(&mut tx.conn(), id, &s).await? => None,
            other => other,
        };
        if fields == current.fields && secret.is_none() {
            return Ok(current);
        }
        let now = self.clock.now();
        router_store::update(&mut tx.conn(), id, &fields, secret.as_deref(), now)
            .await
            .map_err(clash_to_field_error)?;
        router_store::mirror_nas(&mut tx.conn(), id).await?;
        let updated = find(&mut tx.conn(), id, false).await?;
        let (mut before, mut after) = (current.audit_view(), updated.audit_view());
        if secret.is_some() {
            // The entry shows that the secret changed, never what it is.
            before.insert("secret".into(), audit::REDACTED.into());
            after.insert(
                "secret".into(),
                format!("{} (changed)", audit::REDACTED).into(),
            );
        }
        let change = Change::updated("router.updated".into(), "router", id, &before, &after)
            .publish(subject(&updated));
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok(updated)
    }

    /// Removes router `id` and its `nas` row inside `tx`. Refused (on `router`) while an IP
    /// pool or a service that is not terminated uses it.
    pub async fn delete_router(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        id: i64,
    ) -> Result<()> {
        let current = find(&mut tx.conn(), id, true).await?;
        let (pools, services) = router_store::users(&mut tx.conn(), id).await?;
        if let Some(message) = in_use_message(pools, services) {
            let mut errors = FieldErrors::new();
            errors.add("router", message);
            return Err(Error::Validation(errors));
        }
        let now = self.clock.now();
        router_store::delete(&mut tx.conn(), id).await?;
        let change = Change::deleted("router", id, current.audit_view()).publish(subject(&current));
        audit::record(&mut tx.conn(), context, change, now).await
    }
}

/// What a router's events show: the router as the API returns it (without its secret).
fn subject(router: &Router) -> Subject {
    Subject::new(Resource::Router(router.clone().into()), None)
}

/// Router `id`, or "Router not found".
async fn find(conn: &mut Conn<'_>, id: i64, lock: bool) -> Result<Router> {
    if id <= 0 {
        return Err(Error::NotFound("Router"));
    }
    router_store::find(conn, id, lock)
        .await?
        .ok_or(Error::NotFound("Router"))
}

/// The validated fields and secret of a create, with the stored names and addresses
/// consulted.
async fn check_create(conn: &mut Conn<'_>, input: &RouterInput) -> Result<(RouterFields, String)> {
    let mut errors = FieldErrors::new();
    let (fields, secret) = apply(input, FIELDS, None, &mut errors);
    check_stored(conn, &fields, None, FIELDS, &mut errors).await?;
    errors.into_result()?;
    let secret = secret.ok_or_else(|| anyhow::anyhow!("validated secret missing"))?;
    Ok((fields, secret))
}

/// Adds the failures that depend on stored routers (a taken name or address) for the
/// `chosen` fields that passed their own rules.
async fn check_stored(
    conn: &mut Conn<'_>,
    fields: &RouterFields,
    except: Option<i64>,
    chosen: &[&str],
    errors: &mut FieldErrors,
) -> Result<()> {
    let check = |field: &str, errors: &FieldErrors| {
        chosen.contains(&field) && errors.messages(field).is_empty()
    };
    if check("name", errors) && router_store::name_taken(conn, &fields.name, except).await? {
        errors.add("name", NAME_TAKEN);
    }
    if check("ip_address", errors)
        && router_store::ip_taken(conn, fields.ip_address, except).await?
    {
        errors.add("ip_address", IP_TAKEN);
    }
    Ok(())
}

/// A unique violation that slipped past the checks (a concurrent write of the same name
/// or address) becomes the same field error the check gives.
fn clash_to_field_error(err: sqlx::Error) -> Error {
    let Some(index) = unique_violation(&err) else {
        return err.into();
    };
    let mut errors = FieldErrors::new();
    if index.contains("ip_address") {
        errors.add("ip_address", IP_TAKEN);
    } else if index.contains("name") {
        errors.add("name", NAME_TAKEN);
    } else {
        return err.into();
    }
    Error::Validation(errors)
}

/// "The router is used by 2 IP pools and 5 services.", or `None` when nothing uses it.
fn in_use_message(pools: i64, services: i64) -> Option<String> {
    let users = match (pools, services) {
        (0, 0) => return None,
        (pools, 0) => counted(pools, "IP pool"),
        (0, services) => counted(services, "service"),
        (pools, services) => format!(
            "{} and {}",
            counted(pools, "IP pool"),
            counted(services, "service")
        ),
    };
    Some(format!("The router is used by {users}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_use_messages_count_pools_and_services() {
        assert_eq!(in_use_message(0, 0), None);
        assert_eq!(
            in_use_message(2, 5).as_deref(),
            Some("The router is used by 2 IP pools and 5 services.")
        );
        assert_eq!(
            in_use_message(1, 0).as_deref(),
            Some("The router is used by 1 IP pool.")
        );
        assert_eq!(
            in_use_message(0, 1).as_deref(),
            Some("The router is used by 1 service.")
        );
    }
}
