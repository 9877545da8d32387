//! Tenancy: which partner's data a principal may touch. A reseller sees only its own
//! partner's customers (and, as they arrive, their services, invoices and tickets); every
//! other role sees all. Store functions of partner-owned data take a [`Tenancy`], which
//! can only be made from a principal, so no query can forget the rule.

use crate::principal::{Principal, Role};

/// The partner restriction of a principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tenancy(Option<i64>);

impl Tenancy {
    /// The restriction of `principal`. A reseller without a partner is restricted to a
    /// partner that cannot exist (id 0), so it sees nothing rather than everything.
    pub fn of(principal: &Principal) -> Self {
        match principal.role {
            Role::Reseller => Tenancy(Some(principal.partner_id.unwrap_or(0))),
            _ => Tenancy(None),
        }
    }

    /// No restriction: for the core's own work (never for a caller).
    pub fn unrestricted() -> Self {
        Tenancy(None)
    }

    /// The one partner whose rows may be seen, or `None` for all.
    pub fn partner(self) -> Option<i64> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::Tier;

    fn principal(role: Role, partner_id: Option<i64>) -> Principal {
        Principal {
            api_key_id: Some(1),
            user_id: None,
            partner_id,
            name: "k".into(),
            role,
            tier: Tier::Standard,
            expires_at: None,
        }
    }

    #[test]
    fn only_resellers_are_restricted() {
        assert_eq!(
            Tenancy::of(&principal(Role::Admin, Some(3))).partner(),
            None
        );
        assert_eq!(Tenancy::of(&principal(Role::Support, None)).partner(), None);
        assert_eq!(
            Tenancy::of(&principal(Role::Reseller, Some(3))).partner(),
            Some(3)
        );
        assert_eq!(
            Tenancy::of(&principal(Role::Reseller, None)).partner(),
            Some(0)
        );
    }
}
