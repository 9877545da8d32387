//! The operations on customers. Each write runs inside a transaction its caller owns, so
//! the change, its idempotency record (and later its audit row) commit together.

use std::sync::Arc;

use rand::Rng;

use super::input::{apply, check_whole};
use super::list::ListQuery;
use super::store::{self, Referenced};
use super::{
    Choice, Customer, CustomerAction, CustomerField, CustomerFields, CustomerInput, CustomerKey,
    CustomerSettings, CustomerStatus,
};
use crate::audit::Actor;
use crate::audit::{self, Change};
use crate::auth::RequestContext;
use crate::clock::SharedClock;
use crate::db::{Conn, Db, Tx, unique_violation};
use crate::error::{Error, FieldErrors, Result};
use crate::events::Subject;
use crate::paging::Page;
use crate::password::{PasswordPolicy, Passwords};
use crate::services::{CustomerMove, Services, follow_customer};
use crate::tenancy::Tenancy;
use lastmile_proto::v1::event_subject::Resource;

const PHONE_TAKEN: &str = "A customer with this phone number already exists.";
const EMAIL_TAKEN: &str = "A customer with this email address already exists.";
const REASON_MAX: usize = 500;

/// The customer operations.
#[derive(Debug, Clone)]
pub struct Customers {
    db: Db,
    clock: SharedClock,
    settings: Arc<CustomerSettings>,
    policy: Arc<PasswordPolicy>,
    passwords: Passwords,
    services: Services,
}

/// A create that passed every rule that needs no database, with its password hashed.
#[derive(Debug)]
pub struct PreparedCreate {
    fields: CustomerFields,
    password_hash: String,
}

/// An update whose field list was understood and whose new password (if any) is hashed.
#[derive(Debug)]
pub struct PreparedUpdate {
    input: CustomerInput,
    selected: Vec<CustomerField>,
    password_hash: Option<String>,
}

impl Customers {
    /// The operations over `db`.
    pub fn new(
        db: Db,
        clock: SharedClock,
        settings: CustomerSettings,
        policy: PasswordPolicy,
        passwords: Passwords,
        services: Services,
    ) -> Self {
        Self {
            passwords,
            services,
            db,
            clock,
            settings: Arc::new(settings),
            policy: Arc::new(policy),
        }
    }

    /// The password policy portal passwords must satisfy.
    pub fn password_policy(&self) -> &PasswordPolicy {
        &self.policy
    }

    /// Checks a create against every rule and hashes its password. When a rule fails,
    /// the answer also names fields that clash with stored customers, so one round trip
    /// shows everything to fix.
    pub async fn prepare_create(&self, input: CustomerInput) -> Result<PreparedCreate> {
        let (fields, password) = self.check_create(input, false).await?;
        let password_hash = self.passwords.hash(password).await?;
        Ok(PreparedCreate {
            fields,
            password_hash,
        })
    }

    /// Checks a create against every rule, stored data included, and writes nothing.
    pub async fn validate_create(&self, input: CustomerInput) -> Result<()> {
        self.check_create(input, true).await.map(|_| ())
    }

    /// The validated fields and the password of a create. Stored data is consulted when
    /// a rule already failed (to report everything at once) or when `always_check_stored`.
    async fn check_create(
        &self,
        mut input: CustomerInput,
        always_check_stored: bool,
    ) -> Result<(CustomerFields, String)> {
        input
            .auto_suspension
            .get_or_insert(self.settings.default_auto_suspension);
        input
            .suspend_after_days
            .get_or_insert(self.settings.default_suspend_after_days);
        let all = CustomerField::all();
        let mut fields = CustomerFields::default();
        let mut errors = FieldErrors::new();
        apply(&mut fields, &input, &all, &mut errors);
        let password = match input.password {
            None if input.generate_password => self.policy.generate(),
            password => password.unwrap_or_default(),
        };
        for message in self.policy.violations(&password) {
            errors.add("password", message);
        }
        check_whole(&fields, &self.settings, &mut errors);
        if always_check_stored || !errors.is_empty() {
            check_stored(&mut self.db.conn(), &fields, None, &all, &mut errors).await?;
        }
        errors.into_result()?;
        Ok((fields, password))
    }

    /// Creates a prepared customer inside `tx`, with its audit entry. A reseller's
    /// customer always belongs to the reseller's partner.
    pub async fn create(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        prepared: PreparedCreate,
    ) -> Result<Customer> {
        let PreparedCreate {
            mut fields,
            password_hash,
        } = prepared;
        let tenancy = Tenancy::of(&context.principal);
        if let Some(partner) = tenancy.partner() {
            fields.partner_id = Some(partner);
        }
        let mut errors = FieldErrors::new();
        check_stored(
            &mut tx.conn(),
            &fields,
            None,
            &CustomerField::all(),
            &mut errors,
        )
        .await?;
        errors.into_result()?;
        let portal_id = free_portal_id(&mut tx.conn()).await?;
        let now = self.clock.now();
        let currency = &self.settings.currency;
        let id = store::insert(
            &mut tx.conn(),
            &portal_id,
            &fields,
            &password_hash,
            CustomerStatus::Active,
            currency,
            now,
        )
        .await
        .map_err(clash_to_field_error)?;
        store::set_organizations(&mut tx.conn(), id, &fields.organization_ids).await?;
        let customer = self.reload(tx, tenancy, id).await?;
        let change =
            Change::created("customer", id, customer.audit_view()).publish(subject(&customer));
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok(customer)
    }

    /// The live customer named by `key`, if the caller may see it.
    pub async fn get(&self, context: &RequestContext, key: &CustomerKey) -> Result<Customer> {
        find(
            &mut self.db.conn(),
            Tenancy::of(&context.principal),
            key,
            false,
        )
        .await
    }

    /// A page of live customers.
    pub async fn list(
        &self,
        context: &RequestContext,
        query: &ListQuery,
    ) -> Result<Page<Customer>> {
        let tenancy = Tenancy::of(&context.principal);
        let (items, total) = store::list(&mut self.db.conn(), tenancy, query).await?;
        Ok(Page {
            items,
            total,
            query: query.page,
        })
    }

    /// Understands an update's field paths and hashes a new password that satisfies the
    /// policy; every other rule is checked against the stored customer in [`Self::update`].
    pub async fn prepare_update(
        &self,
        input: CustomerInput,
        paths: &[String],
    ) -> Result<PreparedUpdate> {
        let mut selected = Vec::new();
        let mut errors = FieldErrors::new();
        for path in paths {
            match CustomerField::from_path(path) {
                Some(fields) => selected.extend(fields),
                None => errors.add(
                    "update_mask",
                    format!("The field \"{path}\" cannot be updated."),
                ),
            }
        }
        errors.into_result()?;
        selected.dedup();
        let password_hash = match (&input.password, selected.contains(&CustomerField::Password)) {
            (Some(password), true) if self.policy.violations(password).is_empty() => {
                Some(self.passwords.hash(password.clone()).await?)
            }
            _ => None,
        };
        Ok(PreparedUpdate {
            input,
            selected,
            password_hash,
        })
    }

    /// Changes the selected fields of the customer named by `key`, inside `tx`.
    pub async fn update(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        key: &CustomerKey,
        prepared: PreparedUpdate,
    ) -> Result<Customer> {
        let tenancy = Tenancy::of(&context.principal);
        let current = find(&mut tx.conn(), tenancy, key, true).await?;
        let PreparedUpdate {
            input,
            selected,
            password_hash,
        } = prepared;
        let mut fields = current.fields.clone();
        let mut errors = FieldErrors::new();
        apply(&mut fields, &input, &selected, &mut errors);
        if selected.contains(&CustomerField::Password) {
            for message in self
                .policy
                .violations(input.password.as_deref().unwrap_or_default())
            {
                errors.add("password", message);
            }
        }
        check_whole(&fields, &self.settings, &mut errors);
        if tenancy
            .partner()
            .is_some_and(|own| fields.partner_id != Some(own))
        {
            // A reseller cannot hand a customer to another partner (or to none).
            errors.add("partner_id", "The selected partner id is invalid.");
        }
        check_stored(
            &mut tx.conn(),
            &fields,
            Some(current.id),
            &selected,
            &mut errors,
        )
        .await?;
        errors.into_result()?;
        if selected.is_empty() {
            return Ok(current);
        }
        store::update(
            &mut tx.conn(),
            current.id,
            &fields,
            password_hash.as_deref(),
            self.clock.now(),
        )
        .await
        .map_err(clash_to_field_error)?;
        if selected.contains(&CustomerField::OrganizationIds) {
            store::set_organizations(&mut tx.conn(), current.id, &fields.organization_ids).await?;
        }
        let updated = self.reload(tx, tenancy, current.id).await?;
        let (mut before, mut after) = (current.audit_view(), updated.audit_view());
        if selected.contains(&CustomerField::Password) {
            // The entry shows that the password changed, never what it is.
            before.insert("password".into(), audit::REDACTED.into());
            after.insert(
                "password".into(),
                format!("{} (changed)", audit::REDACTED).into(),
            );
        }
        let change = Change::updated(
            "customer.updated".into(),
            "customer",
            current.id,
            &before,
            &after,
        )
        .publish(subject(&updated));
        audit::record(&mut tx.conn(), context, change, self.clock.now()).await?;
        Ok(updated)
    }

    /// Soft-deletes the customer named by `key`, inside `tx`, with its audit entry.
    pub async fn delete(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        key: &CustomerKey,
    ) -> Result<()> {
        let current = find(&mut tx.conn(), Tenancy::of(&context.principal), key, true).await?;
        let now = self.clock.now();
        // A deleted customer's services end with it: no login outlives its customer.
        follow_customer(
            &self.services,
            tx,
            Actor::Caller(context),
            current.id,
            CustomerMove::Terminated,
            Some("The customer was deleted."),
            now,
        )
        .await?;
        store::soft_delete(&mut tx.conn(), current.id, now).await?;
        let change = Change::deleted("customer", current.id, current.audit_view())
            .publish(subject(&current));
        audit::record(&mut tx.conn(), context, change, now).await
    }

    /// Moves the customer named by `key` through its life cycle, inside `tx`.
    pub async fn act(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        key: &CustomerKey,
        action: Choice<CustomerAction>,
        reason: &str,
    ) -> Result<Customer> {
        self.act_as(tx, Actor::Caller(context), key, action, reason)
            .await
    }

    /// Moves the customer through its life cycle as `actor` (a caller, or the core itself:
    /// dunning), inside `tx`.
    pub async fn act_as(
        &self,
        tx: &mut Tx,
        actor: Actor<'_>,
        key: &CustomerKey,
        action: Choice<CustomerAction>,
        reason: &str,
    ) -> Result<Customer> {
        // The customer first: one the caller may not see is "not found", whatever the body.
        let tenancy = actor.tenancy();
        let current = find(&mut tx.conn(), tenancy, key, true).await?;
        let mut errors = FieldErrors::new();
        let action = match action {
            Choice::Valid(action) => Some(action),
            Choice::Absent => {
                errors.add("action", "The action field is required.");
                None
            }
            Choice::Invalid => {
                errors.add("action", "The selected action is invalid.");
                None
            }
        };
        let reason = reason.trim();
        if reason.chars().count() > REASON_MAX {
            errors.add(
                "reason",
                format!("The reason may not be greater than {REASON_MAX} characters."),
            );
        }
        errors.into_result()?;
        let action = action.ok_or_else(|| anyhow::anyhow!("validated action missing"))?;
        let status = current.status.after(action)?;
        let reason = Some(reason).filter(|r| !r.is_empty());
        let now = self.clock.now();
        store::set_status(&mut tx.conn(), current.id, status, reason, now).await?;
        // The customer's services follow in the same transaction: the network cuts (or
        // restores) exactly when the customer's state changes.
        let follow = match action {
            CustomerAction::Suspend => CustomerMove::Suspended,
            CustomerAction::Activate => CustomerMove::Activated,
            CustomerAction::Terminate => CustomerMove::Terminated,
        };
        follow_customer(&self.services, tx, actor, current.id, follow, reason, now).await?;
        let updated = self.reload(tx, tenancy, current.id).await?;
        let action = format!("customer.{}", action.past_tense());
        let change = Change::updated(
            action,
            "customer",
            current.id,
            &current.audit_view(),
            &updated.audit_view(),
        )
        .because(reason)
        .publish(subject(&updated));
        actor.record(&mut tx.conn(), change, now).await?;
        Ok(updated)
    }

    async fn reload(&self, tx: &mut Tx, tenancy: Tenancy, id: i64) -> Result<Customer> {
        find(&mut tx.conn(), tenancy, &CustomerKey::Id(id), false).await
    }
}

/// The live customer named by `key` that `tenancy` lets the caller see, read on `conn`
/// (another domain's transaction): what the customer's services are attached to.
pub async fn resolve(conn: &mut Conn<'_>, tenancy: Tenancy, key: &CustomerKey) -> Result<Customer> {
    find(conn, tenancy, key, false).await
}

/// The live customer named by `key` that `tenancy` lets the caller see; a customer of
/// another partner is "not found", never "forbidden", so its existence is not revealed.
async fn find(
    conn: &mut Conn<'_>,
    tenancy: Tenancy,
    key: &CustomerKey,
    lock: bool,
) -> Result<Customer> {
    for lookup in key.lookups() {
        if let Some(customer) = store::find(conn, tenancy, &lookup, lock).await? {
            return Ok(customer);
        }
    }
    Err(Error::NotFound("Customer"))
}

/// Adds the failures that depend on stored data (taken phone or e-mail, unknown
/// references) for the `selected` fields that passed their own rules.
async fn check_stored(
    conn: &mut Conn<'_>,
    fields: &CustomerFields,
    except: Option<i64>,
    selected: &[CustomerField],
    errors: &mut FieldErrors,
) -> Result<()> {
    let check = |field: CustomerField, errors: &FieldErrors| {
        selected.contains(&field) && errors.messages(&field.error_key()).is_empty()
    };
    if check(CustomerField::Phone, errors)
        && store::phone_taken(conn, &fields.phone, except).await?
    {
        errors.add("phone", PHONE_TAKEN);
    }
    if check(CustomerField::Email, errors)
        && let Some(email) = &fields.email
        && store::email_taken(conn, email, except).await?
    {
        errors.add("email", EMAIL_TAKEN);
    }
    if check(CustomerField::UserGroupId, errors)
        && let Some(id) = fields.user_group_id
        && !store::exists(conn, Referenced::UserGroup, id).await?
    {
        errors.add("user_group_id", "The selected user group id is invalid.");
    }
    if check(CustomerField::OrganizationIds, errors)
        && !store::missing_organizations(conn, &fields.organization_ids)
            .await?
            .is_empty()
    {
        errors.add(
            "organization_ids",
            "The selected organization ids is invalid.",
        );
    }
    if check(CustomerField::PartnerId, errors)
        && let Some(id) = fields.partner_id
        && !store::exists(conn, Referenced::Partner, id).await?
    {
        errors.add("partner_id", "The selected partner id is invalid.");
    }
    Ok(())
}

/// A portal id no customer has: 8 random digits, first one not zero.
async fn free_portal_id(conn: &mut Conn<'_>) -> Result<String> {
    for _ in 0..16 {
        let candidate = rand::rng()
            .random_range(10_000_000..=99_999_999u32)
            .to_string();
        if !store::portal_id_taken(conn, &candidate).await? {
            return Ok(candidate);
        }
    }
    Err(anyhow::anyhow!("no free portal id after 16 attempts").into())
}

/// A unique-index violation on write means a concurrent writer took the phone or e-mail
/// between our check and our insert: report it on the field, like the check would have.
/// What a customer's events show: the customer as the API returns it.
fn subject(customer: &Customer) -> Subject {
    Subject::new(
        Resource::Customer(customer.clone().into()),
        customer.fields.partner_id,
    )
}

fn clash_to_field_error(err: sqlx::Error) -> Error {
    let Some(index) = unique_violation(&err) else {
        return err.into();
    };
    let mut errors = FieldErrors::new();
    if index.contains("phone") {
        errors.add("phone", PHONE_TAKEN);
    } else if index.contains("email") {
        errors.add("email", EMAIL_TAKEN);
    } else {
        return err.into();
    }
    Error::Validation(errors)
}
