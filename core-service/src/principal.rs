//! Who is calling, as every part of the core sees it: the principal behind a credential,
//! its role (what it may do) and its rate-limit tier. The identity domain makes
//! principals; authorization, tenancy and the audit log only read them, so these types
//! sit below all of them.

use chrono::{DateTime, Utc};
use lastmile_proto::RestName;
use lastmile_proto::v1 as pb;

/// What a principal may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything.
    Admin,
    /// Day-to-day operations.
    Manager,
    /// Invoices and payments.
    Billing,
    /// Customers and tickets.
    Support,
    /// Network and services.
    Technician,
    /// A partner's own customers.
    Reseller,
    /// Reads only.
    ReadOnly,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::Manager,
        Role::Billing,
        Role::Support,
        Role::Technician,
        Role::Reseller,
        Role::ReadOnly,
    ];

    /// The stored name, which is the REST name of the proto enum.
    pub fn as_str(self) -> &'static str {
        pb::Role::from(self).rest_name()
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Role> {
        pb::Role::from_rest_name(name).and_then(Role::from_proto)
    }

    /// The role of a wire number; `None` for unspecified or unknown numbers.
    pub fn from_wire(number: i32) -> Option<Role> {
        pb::Role::try_from(number).ok().and_then(Role::from_proto)
    }

    fn from_proto(role: pb::Role) -> Option<Role> {
        Role::ALL.into_iter().find(|r| pb::Role::from(*r) == role)
    }
}

impl From<Role> for pb::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::Admin => pb::Role::Admin,
            Role::Manager => pb::Role::Manager,
            Role::Billing => pb::Role::Billing,
            Role::Support => pb::Role::Support,
            Role::Technician => pb::Role::Technician,
            Role::Reseller => pb::Role::Reseller,
            Role::ReadOnly => pb::Role::ReadOnly,
        }
    }
}

/// The request budget of a credential at the REST edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    /// The deployment's default limit.
    Standard,
    /// 100/min, 10,000/day.
    Free,
    /// 500/min, 50,000/day.
    Professional,
    /// 2,000/min, 200,000/day.
    Enterprise,
}

impl Tier {
    /// Every tier.
    pub const ALL: [Tier; 4] = [
        Tier::Standard,
        Tier::Free,
        Tier::Professional,
        Tier::Enterprise,
    ];

    /// The stored name, which is the REST name of the proto enum.
    pub fn as_str(self) -> &'static str {
        pb::RateLimitTier::from(self).rest_name()
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Tier> {
        pb::RateLimitTier::from_rest_name(name).and_then(Tier::from_proto)
    }

    /// The tier of a wire number; `None` for unspecified or unknown numbers.
    pub fn from_wire(number: i32) -> Option<Tier> {
        pb::RateLimitTier::try_from(number)
            .ok()
            .and_then(Tier::from_proto)
    }

    fn from_proto(tier: pb::RateLimitTier) -> Option<Tier> {
        Tier::ALL
            .into_iter()
            .find(|t| pb::RateLimitTier::from(*t) == tier)
    }
}

impl From<Tier> for pb::RateLimitTier {
    fn from(tier: Tier) -> Self {
        match tier {
            Tier::Standard => pb::RateLimitTier::Standard,
            Tier::Free => pb::RateLimitTier::Free,
            Tier::Professional => pb::RateLimitTier::Professional,
            Tier::Enterprise => pb::RateLimitTier::Enterprise,
        }
    }
}

/// The caller of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The API key used, if the caller used one.
    pub api_key_id: Option<i64>,
    /// The user behind the call (a login, or a key's owner), if any.
    pub user_id: Option<i64>,
    /// The partner a reseller acts for.
    pub partner_id: Option<i64>,
    /// The key's name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Its rate-limit tier.
    pub tier: Tier,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Principal {
    /// A stable name for rate limiting and idempotency: `key:<id>` or `user:<id>`.
    pub fn subject(&self) -> String {
        match (self.api_key_id, self.user_id) {
            (Some(key), _) => format!("key:{key}"),
            (None, Some(user)) => format!("user:{user}"),
            (None, None) => "anonymous".to_owned(),
        }
    }
}
