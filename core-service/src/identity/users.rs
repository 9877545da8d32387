//! Staff users: the rules of their fields, and their life cycle with its audit entries.
//! Passwords are hashed with argon2id (the password policy applies) and never leave the
//! core, not even into the audit log.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::Role;
use super::service::Identity;
use super::users_store::{self, UserRow, UserValues};
use crate::audit::{self, Change, REDACTED};
use crate::auth::RequestContext;
use crate::db::{Conn, Tx, unique_violation};
use crate::error::{Error, FieldErrors, Result};
use crate::fields::{Email, PersonName};
use crate::paging::{Page, PageQuery};

const NAME_MAX: usize = 255;

/// A staff account as shown to clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Full name.
    pub name: String,
    /// Login email.
    pub email: String,
    /// Role.
    pub role: Role,
    /// The partner of a reseller user.
    pub partner_id: Option<i64>,
    /// Whether the user may sign in.
    pub active: bool,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = Error;

    fn try_from(row: UserRow) -> Result<Self> {
        let role = Role::parse(&row.role)
            .ok_or_else(|| anyhow::anyhow!("user {} has unknown role", row.id))?;
        Ok(User {
            id: row.id,
            name: row.name,
            email: row.email,
            role,
            partner_id: row.partner_id,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A user to create, as the client sent it.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Full name.
    pub name: String,
    /// Login email.
    pub email: String,
    /// Password in clear; hashed before it is stored.
    pub password: String,
    /// Role, as a wire number of `lastmile.v1.Role` (0: not given).
    pub role: i32,
    /// Partner (required for resellers).
    pub partner_id: Option<i64>,
    /// Defaults to true.
    pub active: Option<bool>,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    /// New name.
    pub name: Option<String>,
    /// New email.
    pub email: Option<String>,
    /// New password in clear.
    pub password: Option<String>,
    /// New role, as a wire number of `lastmile.v1.Role`.
    pub role: Option<i32>,
    /// New partner; `Some(None)` removes it.
    pub partner_id: Option<Option<i64>>,
    /// New active flag.
    pub active: Option<bool>,
}

/// A new user that passed every rule, with its password hashed.
#[derive(Debug)]
pub struct PreparedUser {
    checked: Checked,
    password_hash: String,
}

/// Changes to a user that passed every rule, with a new password hashed.
#[derive(Debug)]
pub struct PreparedUserUpdate {
    before: User,
    checked: Checked,
    password_hash: String,
    password_changed: bool,
}

#[derive(Debug)]
struct Checked {
    name: String,
    email: String,
    role: Role,
    partner_id: Option<i64>,
    active: bool,
}

/// Applies the field rules to a user's would-be values (`id` is the user itself when it
/// is changed, so that its own email is not "taken").
async fn check(
    conn: &mut Conn<'_>,
    id: i64,
    name: &str,
    email: &str,
    role: i32,
    partner_id: Option<i64>,
    errors: &mut FieldErrors,
) -> Result<Option<(String, String, Role, Option<i64>)>> {
    // The same field types as every domain's: a user's e-mail passes exactly the rules
    // of a customer's.
    let name = PersonName::parse(name, "name", 1..=NAME_MAX)
        .map(PersonName::into_string)
        .unwrap_or_else(|message| {
            errors.add("name", message);
            String::new()
        });
    let email = match email.trim() {
        "" => {
            errors.add("email", "The email field is required.");
            String::new()
        }
        given => match Email::parse(given) {
            Ok(email) if users_store::email_taken(conn, email.as_str(), id).await? => {
                errors.add("email", "The email has already been taken.");
                String::new()
            }
            Ok(email) => email.as_str().to_owned(),
            Err(message) => {
                errors.add("email", message);
                String::new()
            }
        },
    };
    let role = match role {
        0 => {
            errors.add("role", "The role field is required.");
            None
        }
        number => Role::from_wire(number).or_else(|| {
            errors.add("role", "The selected role is invalid.");
            None
        }),
    };
    match partner_id {
        None if role == Some(Role::Reseller) => errors.add(
            "partner_id",
            "The partner id field is required when role is reseller.",
        ),
        Some(partner) if !users_store::partner_exists(conn, partner).await? => {
            errors.add("partner_id", "The selected partner id is invalid.");
        }
        _ => {}
    }
    Ok(role.map(|role| (name, email, role, partner_id)))
}

impl Checked {
    fn audit_fields(&self) -> Map<String, Value> {
        let value = json!({
            "name": self.name, "email": self.email, "role": self.role.as_str(),
            "partner_id": self.partner_id, "active": self.active,
        });
        value.as_object().cloned().unwrap_or_default()
    }
}

impl User {
    fn audit_fields(&self) -> Map<String, Value> {
        Checked {
            name: self.name.clone(),
            email: self.email.clone(),
            role: self.role,
            partner_id: self.partner_id,
            active: self.active,
        }
        .audit_fields()
    }
}

/// A unique-index race lost after the check passed: the same answer as the check's.
fn taken_email(err: sqlx::Error) -> Error {
    if unique_violation(&err).is_some_and(|name| name.contains("email")) {
        let mut errors = FieldErrors::new();
        errors.add("email", "The email has already been taken.");
        return Error::Validation(errors);
    }
    err.into()
}

impl Identity {
    /// Checks a new user against every rule and hashes its password (slow, so outside
    /// any transaction).
    pub async fn prepare_user(&self, new: NewUser) -> Result<PreparedUser> {
        let mut errors = FieldErrors::new();
        let mut conn = self.db.conn();
        let fields = check(
            &mut conn,
            0,
            &new.name,
            &new.email,
            new.role,
            new.partner_id,
            &mut errors,
        )
        .await?;
        for message in self.policy.violations(&new.password) {
            errors.add("password", message);
        }
        errors.into_result()?;
        let (name, email, role, partner_id) = fields.ok_or_else(|| anyhow::anyhow!("no role"))?;
        let checked = Checked {
            name,
            email,
            role,
            partner_id,
            active: new.active.unwrap_or(true),
        };
        let password_hash = self.passwords.hash(new.password).await?;
        Ok(PreparedUser {
            checked,
            password_hash,
        })
    }

    /// Inserts a prepared user inside `tx`, with its audit entry.
    pub async fn insert_user(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        prepared: PreparedUser,
    ) -> Result<User> {
        let PreparedUser {
            checked,
            password_hash,
        } = prepared;
        let now = self.clock.now();
        let values = UserValues {
            name: &checked.name,
            email: &checked.email,
            password_hash: &password_hash,
            role: checked.role.as_str(),
            partner_id: checked.partner_id,
            active: checked.active,
        };
        let id = users_store::insert(&mut tx.conn(), &values, now)
            .await
            .map_err(taken_email)?;
        let user: User = users_store::find(&mut tx.conn(), id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("user {id} vanished"))?
            .try_into()?;
        let change = Change::created("user", id, checked.audit_fields()).publish(subject(&user));
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok(user)
    }

    pub async fn get_user(&self, id: i64) -> Result<User> {
        users_store::find(&mut self.db.conn(), id)
            .await?
            .ok_or(Error::NotFound("User"))?
            .try_into()
    }

    /// One page of users, oldest first, and how many there are.
    pub async fn list_users(&self, page: PageQuery) -> Result<Page<User>> {
        let mut conn = self.db.conn();
        let items = users_store::page(&mut conn, page.limit(), page.offset()).await?;
        let total = users_store::count(&mut conn).await?;
        Page {
            items,
            total,
            query: page,
        }
        .try_map(User::try_from)
    }

    /// Checks changes to a user against every rule and hashes a new password (slow, so
    /// outside any transaction). Nobody changes their own role or deactivates themselves.
    pub async fn prepare_user_update(
        &self,
        context: &RequestContext,
        id: i64,
        changes: UserChanges,
    ) -> Result<PreparedUserUpdate> {
        let mut conn = self.db.conn();
        let row = users_store::find(&mut conn, id)
            .await?
            .ok_or(Error::NotFound("User"))?;
        let before = User::try_from(row.clone())?;
        let mut errors = FieldErrors::new();
        let role = changes
            .role
            .unwrap_or_else(|| lastmile_proto::v1::Role::from(before.role) as i32);
        let partner_id = changes.partner_id.unwrap_or(before.partner_id);
        let fields = check(
            &mut conn,
            id,
            changes.name.as_deref().unwrap_or(&before.name),
            changes.email.as_deref().unwrap_or(&before.email),
            role,
            partner_id,
            &mut errors,
        )
        .await?;
        if let Some(password) = &changes.password {
            for message in self.policy.violations(password) {
                errors.add("password", message);
            }
        }
        let own = context.principal.user_id == Some(id);
        if own && fields.as_ref().is_some_and(|f| f.2 != before.role) {
            errors.add("role", "You cannot change your own role.");
        }
        if own && changes.active == Some(false) {
            errors.add("active", "You cannot deactivate your own account.");
        }
        errors.into_result()?;
        let (name, email, role, partner_id) = fields.ok_or_else(|| anyhow::anyhow!("no role"))?;
        let checked = Checked {
            name,
            email,
            role,
            partner_id,
            active: changes.active.unwrap_or(before.active),
        };
        let password_changed = changes.password.is_some();
        let password_hash = match changes.password {
            Some(password) => self.passwords.hash(password).await?,
            None => row.password_hash,
        };
        Ok(PreparedUserUpdate {
            before,
            checked,
            password_hash,
            password_changed,
        })
    }

    /// Applies a prepared update inside `tx`, with its audit entry.
    pub async fn update_user(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        prepared: PreparedUserUpdate,
    ) -> Result<User> {
        let PreparedUserUpdate {
            before,
            checked,
            password_hash,
            password_changed,
        } = prepared;
        let id = before.id;
        let now = self.clock.now();
        let values = UserValues {
            name: &checked.name,
            email: &checked.email,
            password_hash: &password_hash,
            role: checked.role.as_str(),
            partner_id: checked.partner_id,
            active: checked.active,
        };
        let updated = users_store::update(&mut tx.conn(), id, &values, now)
            .await
            .map_err(taken_email)?;
        if updated == 0 {
            return Err(Error::NotFound("User"));
        }
        let action = if checked.role == before.role {
            "user.updated"
        } else {
            "user.role_changed"
        };
        let mut old = before.audit_fields();
        let mut new = checked.audit_fields();
        if password_changed {
            // That it changed is recorded; never the value.
            old.insert("password".into(), Value::Null);
            new.insert("password".into(), Value::from(REDACTED));
        }
        let user: User = users_store::find(&mut tx.conn(), id)
            .await?
            .ok_or(Error::NotFound("User"))?
            .try_into()?;
        let change =
            Change::updated(action.to_owned(), "user", id, &old, &new).publish(subject(&user));
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok(user)
    }

    /// Deletes a user inside `tx`, with its audit entry: they can no longer sign in, and
    /// their tokens and keys stop working.
    pub async fn delete_user(&self, tx: &mut Tx, context: &RequestContext, id: i64) -> Result<()> {
        if context.principal.user_id == Some(id) {
            return Err(Error::Conflict(
                "You cannot delete your own account.".into(),
            ));
        }
        let before: User = users_store::find(&mut tx.conn(), id)
            .await?
            .ok_or(Error::NotFound("User"))?
            .try_into()?;
        let now = self.clock.now();
        if users_store::mark_deleted(&mut tx.conn(), id, now).await? == 0 {
            return Err(Error::NotFound("User"));
        }
        let change = Change::deleted("user", id, before.audit_fields()).publish(subject(&before));
        audit::record(&mut tx.conn(), context, change, now).await
    }
}

/// What a user's events show: the user as the API returns it (never a password).
fn subject(user: &User) -> crate::events::Subject {
    crate::events::Subject::new(
        lastmile_proto::v1::event_subject::Resource::User(user.clone().into()),
        user.partner_id,
    )
}

#[cfg(test)]
mod tests {
    use crate::fields::Email;

    #[test]
    fn user_emails_follow_the_shared_rules() {
        assert_eq!(
            Email::parse(" Ana@isp.example ").unwrap().as_str(),
            "Ana@isp.example"
        );
        for bad in [
            "ana@localhost",
            "@isp.example",
            "ana isp@isp.example",
            "ana@isp.example.",
            // Accepted by the looser check users once had.
            "a@b..c",
        ] {
            assert_eq!(
                Email::parse(bad).unwrap_err(),
                "The email must be a valid email address.",
                "{bad}"
            );
        }
    }
}
