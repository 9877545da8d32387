//! API keys as a resource of the API: a principal lists, creates and revokes its own keys
//! (admins: every key). A key never grants more than the principal that made it: its role's
//! permissions must be a subset of the creator's, per the permission table.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::service::Identity;
use super::store::{self, KeyKind, KeyListRow, KeyScope};
use super::{NewApiKey, Principal, Role, Tier, digest, generate_key, prefix_of};
use crate::audit::{self, Change};
use crate::auth::RequestContext;
use crate::authz;
use crate::db::Tx;
use crate::error::{Error, FieldErrors, Result};
use crate::fields::uuid;
use crate::paging::{Page, PageQuery};

const NAME_MAX: usize = 255;
const DESCRIPTION_MAX: usize = 1000;

/// A key as listed: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// The key's first characters.
    pub prefix: String,
    /// Role.
    pub role: String,
    /// Tier.
    pub tier: String,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Creation.
    pub created_at: DateTime<Utc>,
    /// Last use, to the minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revocation.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Owner.
    pub owner_user_id: Option<i64>,
    /// Partner it acts for.
    pub partner_id: Option<i64>,
    /// An API client's public id.
    pub client_id: Option<String>,
}

impl From<KeyListRow> for ApiKeyRecord {
    fn from(row: KeyListRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            description: row.description,
            prefix: row.prefix,
            role: row.role,
            tier: row.tier,
            expires_at: row.expires_at,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
            owner_user_id: row.owner_user_id,
            partner_id: row.partner_id,
            client_id: row.client_id,
        }
    }
}

/// A key asked for by a client.
#[derive(Debug, Clone, Default)]
pub struct KeyRequest {
    /// Name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Role, as a wire number of `lastmile.v1.Role`; 0 means the creator's role.
    pub role: i32,
    /// Tier, as a wire number of `lastmile.v1.RateLimitTier`; 0 means standard, and only
    /// admins may set another.
    pub tier: i32,
    /// Expiry, in the future.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Whether everything `role` may do, `over` may do too.
pub fn within(role: Role, over: Role) -> bool {
    authz::grants(role)
        .iter()
        .all(|(resource, ops)| ops.iter().all(|op| authz::allows(over, *resource, *op)))
}

fn scope_of(principal: &Principal) -> KeyScope {
    match (principal.role, principal.user_id, principal.api_key_id) {
        (Role::Admin, _, _) => KeyScope::All,
        (_, Some(user), _) => KeyScope::Owner(user),
        (_, None, Some(key)) => KeyScope::Only(key),
        (_, None, None) => KeyScope::Only(0),
    }
}

fn checked(request: &KeyRequest, creator: &Principal, now: DateTime<Utc>) -> Result<NewApiKey> {
    let mut errors = FieldErrors::new();
    let name = request.name.trim();
    if name.is_empty() {
        errors.add("name", "The name field is required.");
    } else if name.chars().count() > NAME_MAX {
        errors.add("name", "The name may not be greater than 255 characters.");
    }
    let description = request
        .description
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty());
    if description.is_some_and(|d| d.chars().count() > DESCRIPTION_MAX) {
        errors.add(
            "description",
            "The description may not be greater than 1000 characters.",
        );
    }
    let role = match request.role {
        0 => Some(creator.role),
        number => Role::from_wire(number).or_else(|| {
            errors.add("role", "The selected role is invalid.");
            None
        }),
    };
    if let Some(role) = role {
        if !within(role, creator.role) {
            errors.add("role", "The role may not grant more than your own role.");
        } else if creator.partner_id.is_some() && role != Role::Reseller {
            // A key acts for its creator's partner; only the reseller role is scoped to one.
            errors.add(
                "role",
                "Keys of a partner's staff must have the reseller role.",
            );
        } else if role == Role::Reseller && creator.partner_id.is_none() {
            errors.add("role", "Only a partner's staff can create reseller keys.");
        }
    }
    let tier = match request.tier {
        0 => Some(Tier::Standard),
        number => Tier::from_wire(number).or_else(|| {
            errors.add("tier", "The selected tier is invalid.");
            None
        }),
    };
    if tier.is_some_and(|t| t != Tier::Standard) && creator.role != Role::Admin {
        errors.add("tier", "Only administrators may set the tier.");
    }
    if request.expires_at.is_some_and(|at| at <= now) {
        errors.add("expires_at", "The expires at must be a date in the future.");
    }
    // Nor does it outlive the credential that made it: without an expiry it gets the
    // creator's.
    let expires_at = match (request.expires_at, creator.expires_at) {
        (Some(at), Some(limit)) if at > limit => {
            errors.add(
                "expires_at",
                "The expires at may not be later than the expiry of your own credential.",
            );
            None
        }
        (None, limit) => limit,
        (at, _) => at,
    };
    errors.into_result()?;
    Ok(NewApiKey {
        name: name.to_owned(),
        description: description.map(str::to_owned),
        role: role.unwrap_or(creator.role),
        tier: tier.unwrap_or(Tier::Standard),
        expires_at,
        partner_id: creator.partner_id,
    })
}

fn audit_fields(key: &ApiKeyRecord) -> Map<String, Value> {
    let mut value = json!({
        "name": key.name, "prefix": key.prefix, "role": key.role, "tier": key.tier,
        "expires_at": key.expires_at, "owner_user_id": key.owner_user_id,
        "partner_id": key.partner_id,
    });
    // A client is named by its client_id; its prefix is part of its secret.
    if let Some(client_id) = &key.client_id {
        value["client_id"] = json!(client_id);
        if let Some(fields) = value.as_object_mut() {
            fields.remove("prefix");
        }
    }
    value.as_object().cloned().unwrap_or_default()
}

impl Identity {
    /// The caller's keys (every key, for admins), newest first, and how many.
    pub async fn list_api_keys(
        &self,
        principal: &Principal,
        page: PageQuery,
    ) -> Result<Page<ApiKeyRecord>> {
        let scope = scope_of(principal);
        let mut conn = self.db.conn();
        let (limit, offset) = (page.limit(), page.offset());
        let items = store::page(&mut conn, KeyKind::Key, scope, limit, offset).await?;
        let total = store::count_in(&mut conn, KeyKind::Key, scope).await?;
        Ok(Page {
            items,
            total,
            query: page,
        }
        .map(Into::into))
    }

    /// Creates a key inside `tx`, with its audit entry; returns its record and the key.
    pub async fn create_api_key_in(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        request: KeyRequest,
    ) -> Result<(ApiKeyRecord, String)> {
        self.create_credential(tx, context, request, KeyKind::Key)
            .await
    }

    /// Creates a key or an API client inside `tx`, with its audit entry; returns its
    /// record and its secret. A key belongs to the user who made it (and stops working
    /// with them); an API client is the deployment's, with a public `client_id`.
    pub(super) async fn create_credential(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        request: KeyRequest,
        kind: KeyKind,
    ) -> Result<(ApiKeyRecord, String)> {
        self.refuse_client_principals(tx, &context.principal)
            .await?;
        let now = self.clock.now();
        let new = checked(&request, &context.principal, now)?;
        let secret = generate_key();
        let prefix =
            prefix_of(&secret).ok_or_else(|| anyhow::anyhow!("generated key too short"))?;
        let client_id = (kind == KeyKind::Client).then(uuid::new_v4);
        let digest = digest(&secret);
        let id = store::insert(
            &mut tx.conn(),
            &new,
            prefix,
            &digest,
            client_id.as_deref(),
            now,
        )
        .await?;
        if kind == KeyKind::Key {
            store::set_owner(&mut tx.conn(), id, context.principal.user_id).await?;
        }
        let record: ApiKeyRecord = store::find_listed(&mut tx.conn(), id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("{} {id} vanished", kind.resource()))?
            .into();
        let change =
            Change::created(kind.resource(), id, audit_fields(&record)).publish(subject(&record));
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok((record, secret))
    }

    /// A principal that signed in with an API client's token may use the API, not make or
    /// revoke credentials: a short-lived token must not mint lasting ones, nor disable
    /// other integrations.
    async fn refuse_client_principals(&self, tx: &mut Tx, principal: &Principal) -> Result<()> {
        let Some(key) = principal.api_key_id else {
            return Ok(());
        };
        let client = store::find_listed(&mut tx.conn(), key)
            .await?
            .is_some_and(|k| k.client_id.is_some());
        match client {
            true => Err(Error::Forbidden),
            false => Ok(()),
        }
    }

    /// Revokes a key of the caller (any key, for admins) inside `tx`, with its audit
    /// entry. Another's key is not found.
    pub async fn revoke_api_key(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        id: i64,
    ) -> Result<()> {
        let scope = scope_of(&context.principal);
        let visible = |record: &ApiKeyRecord| match scope {
            KeyScope::All => true,
            KeyScope::Owner(user) => record.owner_user_id == Some(user),
            KeyScope::Only(key) => record.id == key,
        };
        self.revoke_credential(tx, context, id, KeyKind::Key, visible)
            .await
    }

    /// Revokes a live key or API client that `visible` lets the caller see, inside `tx`,
    /// with its audit entry; anything else is not found.
    pub(super) async fn revoke_credential(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        id: i64,
        kind: KeyKind,
        visible: impl Fn(&ApiKeyRecord) -> bool,
    ) -> Result<()> {
        self.refuse_client_principals(tx, &context.principal)
            .await?;
        let not_found = || Error::NotFound(kind.title());
        let record: ApiKeyRecord = store::find_listed(&mut tx.conn(), id)
            .await?
            .filter(|k| {
                k.revoked_at.is_none() && k.client_id.is_some() == (kind == KeyKind::Client)
            })
            .ok_or_else(not_found)?
            .into();
        if !visible(&record) {
            return Err(not_found());
        }
        let now = self.clock.now();
        if store::revoke(&mut tx.conn(), id, now).await? == 0 {
            return Err(not_found());
        }
        let before = audit_fields(&record);
        let mut after = before.clone();
        after.insert("revoked_at".into(), json!(now));
        let action = format!("{}.revoked", kind.resource());
        let mut revoked = record;
        revoked.revoked_at = Some(now);
        let change = Change::updated(action, kind.resource(), id, &before, &after)
            .publish(subject(&revoked));
        audit::record(&mut tx.conn(), context, change, now).await
    }
}

/// What a credential's events show: the key as the API lists it (never its secret).
fn subject(record: &ApiKeyRecord) -> crate::events::Subject {
    crate::events::Subject::new(
        lastmile_proto::v1::event_subject::Resource::ApiKey(record.clone().into()),
        record.partner_id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_is_within_itself_and_admin_but_not_above() {
        for role in Role::ALL {
            assert!(within(role, role));
            assert!(within(role, Role::Admin));
        }
        assert!(!within(Role::Admin, Role::Support));
        assert!(!within(Role::Manager, Role::Billing));
        assert!(within(Role::ReadOnly, Role::Manager));
        // Technicians run the network, which support staff only read.
        assert!(!within(Role::Technician, Role::Support));
    }
}
