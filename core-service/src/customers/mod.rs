//! Customers (subscribers): their types, the life-cycle rules, and the operations on them.
//!
//! `fields` holds the per-field rules, `input` turns what a client sent into a validated
//! customer, `list` the rules of pages and sorting, `service` runs the operations, `store` holds the SQL and `grpc` the adapter.

pub mod grpc;
pub mod input;
pub mod list;
pub mod service;
mod store;

use chrono::{DateTime, Utc};

use crate::error::Error;
pub use input::{AddressInput, AddressPart, Choice, CustomerField, CustomerInput};
pub use list::{ListQuery, SortColumn};
pub use service::{Customers, resolve};

/// A postal address; empty strings are parts not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    /// Street and number.
    pub street: String,
    /// City.
    pub city: String,
    /// State or region.
    pub state: String,
    /// Postal code.
    pub zip: String,
    /// Country.
    pub country: String,
}

/// The life-cycle state of a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerStatus {
    /// Receives service.
    Active,
    /// Service paused; can be activated again.
    Suspended,
    /// Contract ended; final.
    Terminated,
}

/// A change of life-cycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerAction {
    /// active → suspended.
    Suspend,
    /// suspended → active.
    Activate,
    /// active or suspended → terminated.
    Terminate,
}

/// How recurring charges are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillingMethod {
    /// Whole cycles on the billing day.
    Cycle,
    /// Prorated to the days of service.
    Prorata,
}

impl CustomerStatus {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerStatus::Active => "active",
            CustomerStatus::Suspended => "suspended",
            CustomerStatus::Terminated => "terminated",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "active" => Some(CustomerStatus::Active),
            "suspended" => Some(CustomerStatus::Suspended),
            "terminated" => Some(CustomerStatus::Terminated),
            _ => None,
        }
    }

    /// The state after `action`, or why the action is not allowed from this state.
    /// Termination is final; suspending a suspended customer (or activating an active one)
    /// is refused rather than silently accepted, so that a caller learns the state it
    /// assumed was wrong.
    pub fn after(self, action: CustomerAction) -> Result<CustomerStatus, Error> {
        use CustomerAction as A;
        use CustomerStatus as S;
        match (self, action) {
            (S::Active, A::Suspend) => Ok(S::Suspended),
            (S::Suspended, A::Activate) => Ok(S::Active),
            (S::Active | S::Suspended, A::Terminate) => Ok(S::Terminated),
            (S::Suspended, A::Suspend) => {
                Err(Error::Conflict("The customer is already suspended.".into()))
            }
            (S::Active, A::Activate) => {
                Err(Error::Conflict("The customer is already active.".into()))
            }
            (S::Terminated, _) => Err(Error::Conflict(format!(
                "A terminated customer cannot be {}.",
                action.past_tense()
            ))),
        }
    }
}

impl CustomerAction {
    /// "suspended", "activated", "terminated".
    pub fn past_tense(self) -> &'static str {
        match self {
            CustomerAction::Suspend => "suspended",
            CustomerAction::Activate => "activated",
            CustomerAction::Terminate => "terminated",
        }
    }
}

impl BillingMethod {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            BillingMethod::Cycle => "cycle",
            BillingMethod::Prorata => "prorata",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "cycle" => Some(BillingMethod::Cycle),
            "prorata" => Some(BillingMethod::Prorata),
            _ => None,
        }
    }
}

/// An organization a customer belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// Everything about a customer that a client can write, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerFields {
    /// Given name, 3–100 characters.
    pub first_name: String,
    /// Family name.
    pub last_name: Option<String>,
    /// Lower-cased e-mail.
    pub email: Option<String>,
    /// Normalised phone.
    pub phone: String,
    /// Service address.
    pub address: Address,
    /// Billing address.
    pub billing_address: Address,
    /// User group.
    pub user_group_id: Option<i64>,
    /// Organizations, ascending, without duplicates.
    pub organization_ids: Vec<i64>,
    /// Owning partner.
    pub partner_id: Option<i64>,
    /// Billing method.
    pub billing_method: Option<BillingMethod>,
    /// Billing day, 1–28.
    pub billing_day: Option<i32>,
    /// Suspend automatically for unpaid invoices.
    pub auto_suspension: bool,
    /// Days past due before automatic suspension, 0–365.
    pub suspend_after_days: i32,
    /// Company name, for a business customer.
    pub company_name: Option<String>,
    /// Exempt from tax.
    pub tax_exempt: bool,
    /// The exemption's reference.
    pub tax_exempt_reference: Option<String>,
}

/// A customer as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// Internal id.
    pub id: i64,
    /// The 8-digit number shown to the subscriber.
    pub portal_id: String,
    /// A stable random UUID.
    pub uuid: String,
    /// The writable fields.
    pub fields: CustomerFields,
    /// Organizations with their names.
    pub organizations: Vec<Organization>,
    /// Life-cycle state.
    pub status: CustomerStatus,
    /// Reason given with the last life-cycle action.
    pub status_reason: Option<String>,
    /// Balance in minor units of `currency`.
    pub balance_minor: i64,
    /// ISO 4217 currency of the balance.
    pub currency: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// An empty address part is "not given".
fn part(value: &str) -> Option<&str> {
    Some(value).filter(|v| !v.is_empty())
}

impl Customer {
    /// The customer's fields as the audit log records them (no secrets).
    pub fn audit_view(&self) -> serde_json::Map<String, serde_json::Value> {
        let f = &self.fields;
        // An empty address part is null, as the customer's JSON shows it.
        let value = serde_json::json!({
            "portal_id": self.portal_id,
            "first_name": f.first_name,
            "last_name": f.last_name,
            "email": f.email,
            "phone": f.phone,
            "address": part(&f.address.street),
            "city": part(&f.address.city),
            "state": part(&f.address.state),
            "postal_code": part(&f.address.zip),
            "country": part(&f.address.country),
            "billing_address.street": part(&f.billing_address.street),
            "billing_address.city": part(&f.billing_address.city),
            "billing_address.state": part(&f.billing_address.state),
            "billing_address.zip": part(&f.billing_address.zip),
            "billing_address.country": part(&f.billing_address.country),
            "user_group_id": f.user_group_id,
            "organization_ids": f.organization_ids,
            "partner_id": f.partner_id,
            "billing_method": f.billing_method.map(BillingMethod::as_str),
            "billing_day": f.billing_day,
            "auto_suspension": f.auto_suspension,
            "suspend_after_days": f.suspend_after_days,
            "company_name": f.company_name,
            "tax_exempt": f.tax_exempt,
            "tax_exempt_reference": f.tax_exempt_reference,
            "status": self.status.as_str(),
            "status_reason": self.status_reason,
        });
        match value {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        }
    }

    /// First and last name joined.
    pub fn full_name(&self) -> String {
        match &self.fields.last_name {
            Some(last) => format!("{} {last}", self.fields.first_name),
            None => self.fields.first_name.clone(),
        }
    }
}

/// How a caller names a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerKey {
    /// Internal id.
    Id(i64),
    /// 8-digit portal id.
    PortalId(String),
    /// Either, as a REST path carries it.
    Reference(String),
}

impl CustomerKey {
    /// The lookups to try, in order. A reference of exactly 8 digits is a portal id first
    /// (what subscribers and support staff quote) and an id second; any other number is an
    /// id. Anything else names no customer.
    pub fn lookups(&self) -> Vec<Lookup> {
        match self {
            CustomerKey::Id(id) => vec![Lookup::Id(*id)],
            CustomerKey::PortalId(portal_id) => vec![Lookup::PortalId(portal_id.clone())],
            CustomerKey::Reference(reference) => {
                let digits = !reference.is_empty() && reference.bytes().all(|b| b.is_ascii_digit());
                let id = reference
                    .parse::<i64>()
                    .ok()
                    .filter(|id| *id > 0)
                    .map(Lookup::Id);
                if let Some(uuid) = crate::fields::uuid::parse(reference) {
                    return vec![Lookup::Uuid(uuid)];
                }
                match (digits, reference.len() == 8) {
                    (true, true) => std::iter::once(Lookup::PortalId(reference.clone()))
                        .chain(id)
                        .collect(),
                    (true, false) => id.into_iter().collect(),
                    (false, _) => Vec::new(),
                }
            }
        }
    }
}

/// One way of finding a customer row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// By id.
    Id(i64),
    /// By portal id.
    PortalId(String),
    /// By UUID (lowercase).
    Uuid(String),
}

/// Deployment settings that customer rules depend on.
#[derive(Debug, Clone)]
pub struct CustomerSettings {
    /// Currency of balances (ISO 4217).
    pub currency: String,
    /// When billing is enabled, every customer needs a billing method.
    pub billing_enabled: bool,
    /// `auto_suspension` when a create does not say.
    pub default_auto_suspension: bool,
    /// `suspend_after_days` when a create does not say.
    pub default_suspend_after_days: i32,
}

impl Default for CustomerSettings {
    fn default() -> Self {
        Self {
            currency: "USD".into(),
            billing_enabled: false,
            default_auto_suspension: true,
            default_suspend_after_days: 14,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CustomerAction as A;
    use CustomerStatus as S;

    #[test]
    fn the_life_cycle_allows_only_its_transitions() {
        assert_eq!(S::Active.after(A::Suspend).unwrap(), S::Suspended);
        assert_eq!(S::Suspended.after(A::Activate).unwrap(), S::Active);
        assert_eq!(S::Active.after(A::Terminate).unwrap(), S::Terminated);
        assert_eq!(S::Suspended.after(A::Terminate).unwrap(), S::Terminated);
        for action in [A::Suspend, A::Activate, A::Terminate] {
            let err = S::Terminated.after(action).unwrap_err();
            assert!(matches!(err, Error::Conflict(_)), "{action:?}");
        }
        assert_eq!(
            S::Terminated.after(A::Activate).unwrap_err().to_string(),
            "A terminated customer cannot be activated."
        );
        assert!(S::Active.after(A::Activate).is_err());
        assert!(S::Suspended.after(A::Suspend).is_err());
    }

    #[test]
    fn eight_digit_references_are_portal_ids_first() {
        let key = CustomerKey::Reference("12345678".into());
        assert_eq!(
            key.lookups(),
            [Lookup::PortalId("12345678".into()), Lookup::Id(12345678)]
        );
        assert_eq!(
            CustomerKey::Reference("42".into()).lookups(),
            [Lookup::Id(42)]
        );
        assert!(CustomerKey::Reference("0".into()).lookups().is_empty());
        assert!(CustomerKey::Reference("abc".into()).lookups().is_empty());
        assert!(CustomerKey::Reference("-1".into()).lookups().is_empty());
        assert!(
            CustomerKey::Reference("99999999999999999999".into())
                .lookups()
                .is_empty()
        );
    }
}
