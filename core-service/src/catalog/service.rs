//! The operations on plans. Each write runs inside a transaction its caller owns, so the
//! plan, its RADIUS group, its audit entry and its event commit together.

use lastmile_proto::v1::event_subject::Resource;

use super::input::{self, PlanField, PlanInput};
use super::{Plan, PlanFields, PlanStatus, radius, store};
use crate::audit::{self, Change};
use crate::auth::RequestContext;
use crate::clock::SharedClock;
use crate::db::{Conn, Db, Tx, unique_violation};
use crate::directory::SortColumn;
use crate::error::{Error, FieldErrors, Result};
use crate::events::Subject;
use crate::paging::{Page, PageQuery, Sort};

/// The message for a name another live plan already has.
pub const NAME_TAKEN: &str = "A plan with this name already exists.";
/// The message for an IP pool that does not exist.
pub const POOL_INVALID: &str = "The selected ip pool id is invalid.";

/// What to list.
#[derive(Debug, Clone)]
pub struct PlanQuery {
    /// The page.
    pub page: PageQuery,
    /// Name search text.
    pub search: String,
    /// Only plans in this status.
    pub status: Option<PlanStatus>,
    /// Order: `name` (the default), `created_at`, `updated_at` or `id`.
    pub sort: Sort<SortColumn>,
}

impl PlanQuery {
    /// A query for `page`, reading `sort` (`name`, `-created_at`, …; empty means by name).
    pub fn new(
        page: PageQuery,
        search: String,
        status: Option<PlanStatus>,
        sort: &str,
    ) -> Result<Self> {
        Ok(Self {
            page,
            search: search.trim().to_owned(),
            status,
            sort: Sort::parse(sort, &SortColumn::KEYS, SortColumn::DEFAULT)?,
        })
    }
}

/// A plan after an update, and what the change means for sessions already online.
#[derive(Debug, Clone)]
pub struct UpdatedPlan {
    /// The plan as it is now.
    pub plan: Plan,
    /// Whether the rate the NAS enforces changed (speeds or burst). Online sessions keep
    /// the old rate until they reconnect or receive a CoA: this is where the CoA jobs of
    /// the plan's sessions are to be enqueued, in the same transaction.
    pub rate_changed: bool,
}

/// The plan operations.
#[derive(Debug, Clone)]
pub struct Plans {
    db: Db,
    clock: SharedClock,
    default_currency: String,
}

impl Plans {
    /// The operations over `db`; plans created without a currency are priced in
    /// `default_currency` (the deployment's, as customers' balances are).
    pub fn new(db: Db, clock: SharedClock, default_currency: impl Into<String>) -> Self {
        Self {
            db,
            clock,
            default_currency: default_currency.into(),
        }
    }

    /// Checks a create against every rule, stored rows included; writes nothing.
    pub async fn validate_create(&self, input: &PlanInput) -> Result<()> {
        self.check_create(&mut self.db.conn(), input)
            .await
            .map(drop)
    }

    /// Creates a plan and its RADIUS group inside `tx`, with its audit entry and event.
    pub async fn create(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        input: &PlanInput,
    ) -> Result<Plan> {
        let fields = self.check_create(&mut tx.conn(), input).await?;
        let now = self.clock.now();
        let id = store::insert(&mut tx.conn(), &fields, now)
            .await
            .map_err(clash_to_field_error)?;
        let plan = find(&mut tx.conn(), id, false).await?;
        radius::sync_group(&mut tx.conn(), &plan).await?;
        let change = Change::created("plan", id, plan.audit_view()).publish(subject(&plan));
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok(plan)
    }

    /// The live plan `id`, archived or not.
    pub async fn get(&self, id: i64) -> Result<Plan> {
        find(&mut self.db.conn(), id, false).await
    }

    /// A page of live plans.
    pub async fn list(&self, query: &PlanQuery) -> Result<Page<Plan>> {
        let (items, total) = store::list(&mut self.db.conn(), query).await?;
        Ok(Page {
            items,
            total,
            query: query.page,
        })
    }

    /// Changes the fields of plan `id` that `paths` name, and its RADIUS group, inside
    /// `tx`. An unknown path is a validation error on `update_mask`; no path at all
    /// changes nothing.
    pub async fn update(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        id: i64,
        input: &PlanInput,
        paths: &[String],
    ) -> Result<UpdatedPlan> {
        let selected = selected_fields(paths)?;
        let current = find(&mut tx.conn(), id, true).await?;
        let (fields, mut errors) =
            input::read(&current.fields, input, &selected, &self.default_currency);
        check_stored(&mut tx.conn(), &fields, &selected, Some(id), &mut errors).await?;
        errors.into_result()?;
        if fields == current.fields {
            return Ok(UpdatedPlan {
                plan: current,
                rate_changed: false,
            });
        }
        let now = self.clock.now();
        store::update(&mut tx.conn(), id, &fields, now)
            .await
            .map_err(clash_to_field_error)?;
        let plan = find(&mut tx.conn(), id, false).await?;
        radius::sync_group(&mut tx.conn(), &plan).await?;
        let change = Change::updated(
            "plan.updated".into(),
            "plan",
            id,
            &current.audit_view(),
            &plan.audit_view(),
        )
        .publish(subject(&plan));
        audit::record(&mut tx.conn(), context, change, now).await?;
        let rate_changed = radius::rate_limit(&current) != radius::rate_limit(&plan);
        if rate_changed {
            // Online sessions keep the rate their NAS granted until told: CoA jobs, in this
            // transaction, so the new rate reaches them exactly when the change commits.
            crate::provisioning::sessions::plan_rate_changed(
                &mut tx.conn(),
                plan.id,
                &radius::rate_limit(&plan),
                (plan.fields.download_kbps, plan.fields.upload_kbps),
                now,
            )
            .await?;
        }
        Ok(UpdatedPlan { plan, rate_changed })
    }

    /// Deletes plan `id` and its RADIUS group inside `tx`. Refused while services that are
    /// not terminated use it: they would lose their speeds. Such a plan is archived
    /// instead.
    pub async fn delete(&self, tx: &mut Tx, context: &RequestContext, id: i64) -> Result<()> {
        let current = find(&mut tx.conn(), id, true).await?;
        let in_use = store::services_in_use(&mut tx.conn(), id).await?;
        if in_use > 0 {
            let mut errors = FieldErrors::new();
            errors.add("plan", in_use_message(in_use));
            return Err(Error::Validation(errors));
        }
        let now = self.clock.now();
        store::soft_delete(&mut tx.conn(), id, now).await?;
        radius::delete_group(&mut tx.conn(), id).await?;
        let change = Change::deleted("plan", id, current.audit_view()).publish(subject(&current));
        audit::record(&mut tx.conn(), context, change, now).await
    }

    /// The validated fields of a create, with the stored rows consulted.
    async fn check_create(&self, conn: &mut Conn<'_>, input: &PlanInput) -> Result<PlanFields> {
        let (fields, mut errors) = input::read(
            &PlanFields::default(),
            input,
            &PlanField::ALL,
            &self.default_currency,
        );
        check_stored(conn, &fields, &PlanField::ALL, None, &mut errors).await?;
        errors.into_result()?;
        Ok(fields)
    }
}

/// The live plan `id`, or "Plan not found".
pub(super) async fn find(conn: &mut Conn<'_>, id: i64, lock: bool) -> Result<Plan> {
    if id <= 0 {
        return Err(Error::NotFound("Plan"));
    }
    store::find(conn, id, lock)
        .await?
        .ok_or(Error::NotFound("Plan"))
}

/// What a plan's events show: the plan as the API returns it. Plans belong to no partner.
fn subject(plan: &Plan) -> Subject {
    Subject::new(Resource::Plan(plan.clone().into()), None)
}

/// The rules that need stored rows, for the selected fields that passed their own.
async fn check_stored(
    conn: &mut Conn<'_>,
    fields: &PlanFields,
    selected: &[PlanField],
    except: Option<i64>,
    errors: &mut FieldErrors,
) -> Result<()> {
    let checks = |field: PlanField, errors: &FieldErrors| {
        selected.contains(&field) && errors.messages(field.key()).is_empty()
    };
    if checks(PlanField::Name, errors) && store::name_taken(conn, &fields.name, except).await? {
        errors.add(PlanField::Name.key(), NAME_TAKEN);
    }
    if checks(PlanField::IpPool, errors)
        && let Some(pool) = fields.ip_pool_id
        && !store::pool_exists(conn, pool).await?
    {
        errors.add(PlanField::IpPool.key(), POOL_INVALID);
    }
    Ok(())
}

/// The fields an update mask names; every unknown path is reported.
fn selected_fields(paths: &[String]) -> Result<Vec<PlanField>> {
    let mut selected = Vec::new();
    let mut errors = FieldErrors::new();
    for path in paths {
        match PlanField::from_path(path) {
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

/// A unique violation that slipped past the check (a concurrent write of the same name)
/// becomes the same field error the check gives.
fn clash_to_field_error(err: sqlx::Error) -> Error {
    if unique_violation(&err).is_some() {
        let mut errors = FieldErrors::new();
        errors.add(PlanField::Name.key(), NAME_TAKEN);
        return Error::Validation(errors);
    }
    err.into()
}

/// "The plan is used by 3 services; archive it instead."
fn in_use_message(services: i64) -> String {
    let noun = if services == 1 { "service" } else { "services" };
    format!("The plan is used by {services} {noun}; archive it instead.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_use_messages_count_the_services() {
        assert_eq!(
            in_use_message(1),
            "The plan is used by 1 service; archive it instead."
        );
        assert_eq!(
            in_use_message(3),
            "The plan is used by 3 services; archive it instead."
        );
    }

    #[test]
    fn unknown_mask_paths_are_reported() {
        let paths = |p: &[&str]| p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            selected_fields(&paths(&["name", "burst", "name"])).unwrap(),
            [PlanField::Name, PlanField::Burst]
        );
        let err = selected_fields(&paths(&["services_count"])).unwrap_err();
        assert!(matches!(err, Error::Validation(_)));
    }
}
