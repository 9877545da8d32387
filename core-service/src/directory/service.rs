//! The operations on directory entries. Each write runs inside a transaction its caller
//! owns, so the change, its audit entry and its idempotency record commit together.

use super::input::{NAME_TAKEN, apply};
use super::list::DirectoryQuery;
use super::{Entry, EntryField, EntryFields, EntryInput, Kind, store};
use crate::audit::{self, Change};
use crate::auth::RequestContext;
use crate::clock::SharedClock;
use crate::db::{Conn, Db, Tx, unique_violation};
use crate::error::{Error, FieldErrors, Result};
use crate::events::Subject;
use crate::paging::Page;
use lastmile_proto::v1::event_subject::Resource;

/// The directory operations.
#[derive(Debug, Clone)]
pub struct Directory {
    db: Db,
    clock: SharedClock,
}

impl Directory {
    /// The operations over `db`.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }

    /// Checks a create of `kind` against every rule, stored names included; writes nothing.
    pub async fn validate_create(&self, kind: Kind, input: &EntryInput) -> Result<()> {
        check_create(&mut self.db.conn(), kind, input)
            .await
            .map(drop)
    }

    /// Creates an entry of `kind` inside `tx`, with its audit entry.
    pub async fn create(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        kind: Kind,
        input: &EntryInput,
    ) -> Result<Entry> {
        let fields = check_create(&mut tx.conn(), kind, input).await?;
        let now = self.clock.now();
        let id = store::insert(&mut tx.conn(), kind, &fields, now)
            .await
            .map_err(clash_to_field_error)?;
        let entry = find(&mut tx.conn(), kind, id, false).await?;
        let change = Change::created(kind.resource_type(), id, entry.audit_view())
            .publish(subject(kind, &entry));
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok(entry)
    }

    /// The live entry `id` of `kind`.
    pub async fn get(&self, kind: Kind, id: i64) -> Result<Entry> {
        find(&mut self.db.conn(), kind, id, false).await
    }

    /// A page of live entries of `kind`.
    pub async fn list(&self, kind: Kind, query: &DirectoryQuery) -> Result<Page<Entry>> {
        let (items, total) = store::list(&mut self.db.conn(), kind, query).await?;
        Ok(Page {
            items,
            total,
            query: query.page,
        })
    }

    /// Changes the fields of entry `id` that `paths` name, inside `tx`. An unknown path is
    /// a validation error on `update_mask`; no path at all changes nothing.
    pub async fn update(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        kind: Kind,
        id: i64,
        input: &EntryInput,
        paths: &[String],
    ) -> Result<Entry> {
        let selected = selected_fields(kind, paths)?;
        let current = find(&mut tx.conn(), kind, id, true).await?;
        let mut fields = current.fields.clone();
        let mut errors = FieldErrors::new();
        apply(&mut fields, input, &selected, &mut errors);
        if selected.contains(&EntryField::Name) && errors.messages("name").is_empty() {
            check_name(&mut tx.conn(), kind, &fields.name, Some(id), &mut errors).await?;
        }
        errors.into_result()?;
        if selected.is_empty() || fields == current.fields {
            return Ok(current);
        }
        let now = self.clock.now();
        store::update(&mut tx.conn(), kind, id, &fields, now)
            .await
            .map_err(clash_to_field_error)?;
        let updated = find(&mut tx.conn(), kind, id, false).await?;
        let change = Change::updated(
            format!("{}.updated", kind.resource_type()),
            kind.resource_type(),
            id,
            &current.audit_view(),
            &updated.audit_view(),
        )
        .publish(subject(kind, &updated));
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok(updated)
    }

    /// Soft-deletes entry `id` of `kind`, inside `tx`, with its audit entry. Refused while
    /// live customers (or, for a partner, unrevoked API keys) still reference it: deleting
    /// it would leave them pointing at something that no longer exists.
    pub async fn delete(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        kind: Kind,
        id: i64,
    ) -> Result<()> {
        let current = find(&mut tx.conn(), kind, id, true).await?;
        let customers = store::referencing_customers(&mut tx.conn(), kind, id).await?;
        if customers > 0 {
            return Err(Error::Conflict(in_use_message(kind, customers)));
        }
        if kind == Kind::Partner {
            let keys = store::partner_api_keys(&mut tx.conn(), id).await?;
            if keys > 0 {
                let (count, verb) = counted(keys, "API key", "acts", "act");
                return Err(Error::Conflict(format!(
                    "The partner cannot be deleted while {count} {verb} for it; revoke them first."
                )));
            }
        }
        let now = self.clock.now();
        store::soft_delete(&mut tx.conn(), kind, id, now).await?;
        let change = Change::deleted(kind.resource_type(), id, current.audit_view())
            .publish(subject(kind, &current));
        audit::record(&mut tx.conn(), context, change, now).await
    }
}

/// What an entry's events show: the entry as the API returns it. A partner's events belong
/// to the partner itself.
fn subject(kind: Kind, entry: &Entry) -> Subject {
    let (resource, partner_id) = match kind {
        Kind::Partner => (Resource::Partner(entry.clone().into()), Some(entry.id)),
        Kind::Organization => (Resource::Organization(entry.clone().into()), None),
        Kind::UserGroup => (Resource::UserGroup(entry.clone().into()), None),
    };
    Subject::new(resource, partner_id)
}

/// The fields an update mask names; every unknown path is reported.
fn selected_fields(kind: Kind, paths: &[String]) -> Result<Vec<EntryField>> {
    let mut selected = Vec::new();
    let mut errors = FieldErrors::new();
    for path in paths {
        match EntryField::from_path(kind, path) {
            Some(field) if !selected.contains(&field) => selected.push(field),
            Some(_) => {}
            None => errors.add(
                "update_mask",
                format!("The field \"{path}\" cannot be updated."),
            ),
        }
    }
    errors.into_result()?;
    Ok(selected)
}

/// The validated fields of a create, with the stored names consulted.
async fn check_create(conn: &mut Conn<'_>, kind: Kind, input: &EntryInput) -> Result<EntryFields> {
    let mut fields = EntryFields::default();
    let mut errors = FieldErrors::new();
    apply(&mut fields, input, &EntryField::all(kind), &mut errors);
    if errors.messages("name").is_empty() {
        check_name(conn, kind, &fields.name, None, &mut errors).await?;
    }
    errors.into_result()?;
    Ok(fields)
}

async fn check_name(
    conn: &mut Conn<'_>,
    kind: Kind,
    name: &str,
    except: Option<i64>,
    errors: &mut FieldErrors,
) -> Result<()> {
    if store::name_taken(conn, kind, name, except).await? {
        errors.add("name", NAME_TAKEN);
    }
    Ok(())
}

/// The live entry `id` of `kind`, or "… not found".
async fn find(conn: &mut Conn<'_>, kind: Kind, id: i64, lock: bool) -> Result<Entry> {
    if id <= 0 {
        return Err(Error::NotFound(kind.not_found_name()));
    }
    store::find(conn, kind, id, lock)
        .await?
        .ok_or(Error::NotFound(kind.not_found_name()))
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

/// "The user group cannot be deleted while 2 customers are in it."
fn in_use_message(kind: Kind, customers: i64) -> String {
    let label = kind.label();
    match kind {
        Kind::UserGroup => {
            let (count, verb) = counted(customers, "customer", "is", "are");
            format!("The {label} cannot be deleted while {count} {verb} in it.")
        }
        Kind::Partner | Kind::Organization => {
            let (count, verb) = counted(customers, "customer", "belongs", "belong");
            format!("The {label} cannot be deleted while {count} {verb} to it.")
        }
    }
}

/// ("1 customer", singular) or ("2 customers", plural).
fn counted(
    n: i64,
    noun: &str,
    singular: &'static str,
    plural: &'static str,
) -> (String, &'static str) {
    if n == 1 {
        (format!("1 {noun}"), singular)
    } else {
        (format!("{n} {noun}s"), plural)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_use_messages_count_the_customers() {
        assert_eq!(
            in_use_message(Kind::Partner, 1),
            "The partner cannot be deleted while 1 customer belongs to it."
        );
        assert_eq!(
            in_use_message(Kind::Organization, 3),
            "The organization cannot be deleted while 3 customers belong to it."
        );
        assert_eq!(
            in_use_message(Kind::UserGroup, 2),
            "The user group cannot be deleted while 2 customers are in it."
        );
    }

    #[test]
    fn unknown_mask_paths_are_reported() {
        let paths = |p: &[&str]| p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            selected_fields(Kind::Partner, &paths(&["name", "contact_email", "name"])).unwrap(),
            [EntryField::Name, EntryField::ContactEmail]
        );
        let err = selected_fields(Kind::Organization, &paths(&["contact_email"])).unwrap_err();
        assert!(matches!(err, Error::Validation(_)));
    }
}
