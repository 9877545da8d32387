//! Who is calling, as every part of the core sees it: the principal behind a credential,
//! its role (what it may do) and its rate-limit tier. The identity domain makes
//! principals; authorization, tenancy and the audit log only read them, so these types
//! sit below all of them.

use chrono::{DateTime, Utc};

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

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Billing => "billing",
            Role::Support => "support",
            Role::Technician => "technician",
            Role::Reseller => "reseller",
            Role::ReadOnly => "read_only",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
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

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Standard => "standard",
            Tier::Free => "free",
            Tier::Professional => "professional",
            Tier::Enterprise => "enterprise",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str() == name)
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
