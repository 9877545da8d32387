//! Authorization: one table says what each role may do to each resource, and an
//! [`AccessTable`] says which permission each RPC needs (each domain declares its own
//! [`ServiceAccess`] beside its gRPC adapter; the registration list collects them). The
//! auth layer consults both for every call, so a method missing from the map is refused
//! (fail closed), never silently open.
//!
//! The REST edge shows the table at `GET /api/v1/roles`, and the access-matrix tests are
//! generated from it.

use std::collections::HashMap;

use lastmile_proto::v1 as pb;

use crate::principal::Role;

/// Something the API manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// Subscribers.
    Customers,
    /// Resellers.
    Partners,
    /// Organizations customers belong to.
    Organizations,
    /// User groups customers are in.
    UserGroups,
    /// Staff accounts.
    Users,
    /// API keys (a principal's own, or all of them for admins).
    ApiKeys,
    /// API clients of the client-credentials flow.
    ApiClients,
    /// The audit log.
    AuditLog,
    /// The role table itself.
    Roles,
    /// Background jobs (operators' view and retries).
    Jobs,
    /// The event log (ListEvents, StreamEvents).
    Events,
    /// Webhook endpoints and their deliveries.
    Webhooks,
    /// The catalog's plans.
    Plans,
    /// Routers (NAS).
    Routers,
    /// IP pools.
    IpPools,
    /// Subscribers' services and their credentials.
    Services,
    /// Provisioning jobs and the RADIUS drift report.
    Provisioning,
    /// Support tickets and their comments.
    Tickets,
    /// SLA policies, the breach check (act) and compliance metrics (read).
    Sla,
    /// Invoices and credit notes (act: issue, void, credit), statements and PDFs.
    Invoices,
    /// Payments (act: refund or reverse).
    Payments,
    /// Tax rates.
    TaxRates,
    /// The deployment's billing settings.
    BillingSettings,
    /// Recurring billing runs (create: start one, dry or not).
    BillingRuns,
}

/// What is done to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// Get or list.
    Read,
    /// Create.
    Create,
    /// Change.
    Update,
    /// Delete or revoke.
    Delete,
    /// A life-cycle action (suspend, activate, terminate).
    Act,
}

impl Resource {
    /// Every resource.
    pub const ALL: [Resource; 24] = [
        Resource::Customers,
        Resource::Partners,
        Resource::Organizations,
        Resource::UserGroups,
        Resource::Users,
        Resource::ApiKeys,
        Resource::ApiClients,
        Resource::AuditLog,
        Resource::Roles,
        Resource::Jobs,
        Resource::Events,
        Resource::Webhooks,
        Resource::Plans,
        Resource::Routers,
        Resource::IpPools,
        Resource::Services,
        Resource::Provisioning,
        Resource::Tickets,
        Resource::Sla,
        Resource::Invoices,
        Resource::Payments,
        Resource::TaxRates,
        Resource::BillingSettings,
        Resource::BillingRuns,
    ];

    /// The name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Customers => "customers",
            Resource::Partners => "partners",
            Resource::Organizations => "organizations",
            Resource::UserGroups => "user_groups",
            Resource::Users => "users",
            Resource::ApiKeys => "api_keys",
            Resource::ApiClients => "api_clients",
            Resource::AuditLog => "audit_log",
            Resource::Roles => "roles",
            Resource::Jobs => "jobs",
            Resource::Events => "events",
            Resource::Webhooks => "webhooks",
            Resource::Plans => "plans",
            Resource::Routers => "routers",
            Resource::IpPools => "ip_pools",
            Resource::Services => "services",
            Resource::Provisioning => "provisioning",
            Resource::Tickets => "tickets",
            Resource::Sla => "sla",
            Resource::Invoices => "invoices",
            Resource::Payments => "payments",
            Resource::TaxRates => "tax_rates",
            Resource::BillingSettings => "billing_settings",
            Resource::BillingRuns => "billing_runs",
        }
    }
}

impl Operation {
    /// Every operation.
    pub const ALL: [Operation; 5] = [
        Operation::Read,
        Operation::Create,
        Operation::Update,
        Operation::Delete,
        Operation::Act,
    ];

    /// The name used in the API.
    pub fn as_str(self) -> &'static str {
        lastmile_proto::RestName::rest_name(pb::Operation::from(self))
    }
}

impl From<Operation> for pb::Operation {
    fn from(operation: Operation) -> Self {
        match operation {
            Operation::Read => pb::Operation::Read,
            Operation::Create => pb::Operation::Create,
            Operation::Update => pb::Operation::Update,
            Operation::Delete => pb::Operation::Delete,
            Operation::Act => pb::Operation::Act,
        }
    }
}

use Operation::{Act, Create, Delete, Read, Update};

const ALL_OPS: &[Operation] = &[Read, Create, Update, Delete, Act];
const MANAGE: &[Operation] = &[Read, Create, Update, Delete];
const OWN_KEYS: &[Operation] = &[Read, Create, Delete];

/// The permission table: for each role, the operations allowed per resource. API keys are
/// always the principal's own unless the role is admin; a reseller's customers are always
/// its partner's (enforced in the customers' data access).
/// What one role may do: per resource, the allowed operations.
pub type Grants = &'static [(Resource, &'static [Operation])];

const TABLE: &[(Role, Grants)] = &[
    (
        Role::Admin,
        &[
            (Resource::Customers, ALL_OPS),
            (Resource::Partners, MANAGE),
            (Resource::Organizations, MANAGE),
            (Resource::UserGroups, MANAGE),
            (Resource::Users, MANAGE),
            (Resource::ApiKeys, OWN_KEYS),
            (Resource::ApiClients, OWN_KEYS),
            (Resource::AuditLog, &[Read]),
            (Resource::Roles, &[Read]),
            (Resource::Jobs, &[Read, Act]),
            (Resource::Events, &[Read]),
            (Resource::Webhooks, ALL_OPS),
            (Resource::Plans, MANAGE),
            (Resource::Routers, MANAGE),
            (Resource::IpPools, MANAGE),
            (Resource::Services, ALL_OPS),
            (Resource::Provisioning, &[Read, Act]),
            (Resource::Tickets, MANAGE),
            (Resource::Sla, ALL_OPS),
            (Resource::Invoices, ALL_OPS),
            (Resource::Payments, ALL_OPS),
            (Resource::TaxRates, MANAGE),
            (Resource::BillingSettings, &[Read, Update]),
            (Resource::BillingRuns, &[Read, Create]),
        ],
    ),
    (
        Role::Manager,
        &[
            (Resource::Customers, ALL_OPS),
            (Resource::Partners, MANAGE),
            (Resource::Organizations, MANAGE),
            (Resource::UserGroups, MANAGE),
            (Resource::Users, &[Read]),
            (Resource::ApiKeys, OWN_KEYS),
            (Resource::AuditLog, &[Read]),
            (Resource::Roles, &[Read]),
            (Resource::Jobs, &[Read]),
            (Resource::Events, &[Read]),
            (Resource::Webhooks, ALL_OPS),
            (Resource::Plans, MANAGE),
            (Resource::Routers, MANAGE),
            (Resource::IpPools, MANAGE),
            (Resource::Services, ALL_OPS),
            (Resource::Provisioning, &[Read, Act]),
            (Resource::Tickets, MANAGE),
            (Resource::Sla, ALL_OPS),
            (Resource::Invoices, ALL_OPS),
            (Resource::Payments, ALL_OPS),
            (Resource::TaxRates, MANAGE),
            (Resource::BillingSettings, &[Read]),
            (Resource::BillingRuns, &[Read, Create]),
        ],
    ),
    (
        Role::Billing,
        &[
            (Resource::Customers, &[Read, Update]),
            (Resource::Partners, &[Read]),
            (Resource::Organizations, &[Read]),
            (Resource::UserGroups, &[Read]),
            (Resource::ApiKeys, OWN_KEYS),
            (Resource::Roles, &[Read]),
            (Resource::Services, &[Read]),
            (Resource::Tickets, &[Read]),
            (Resource::Invoices, ALL_OPS),
            (Resource::Payments, ALL_OPS),
            (Resource::TaxRates, MANAGE),
            (Resource::BillingSettings, &[Read]),
            (Resource::BillingRuns, &[Read, Create]),
        ],
    ),
    (
        Role::Support,
        &[
            (Resource::Customers, &[Read, Create, Update, Act]),
            (Resource::Organizations, &[Read]),
            (Resource::UserGroups, &[Read]),
            (Resource::ApiKeys, OWN_KEYS),
            (Resource::Roles, &[Read]),
            (Resource::Plans, &[Read]),
            (Resource::Routers, &[Read]),
            (Resource::IpPools, &[Read]),
            (Resource::Services, &[Read, Create, Update, Act]),
            (Resource::Provisioning, &[Read]),
            (Resource::Tickets, &[Read, Create, Update]),
            (Resource::Sla, &[Read]),
            (Resource::Invoices, &[Read]),
            (Resource::Payments, &[Read]),
            (Resource::TaxRates, &[Read]),
            (Resource::BillingRuns, &[Read]),
        ],
    ),
    (
        Role::Technician,
        &[
            (Resource::Customers, &[Read]),
            (Resource::ApiKeys, OWN_KEYS),
            (Resource::Roles, &[Read]),
            (Resource::Plans, &[Read]),
            // Network staff: they run the routers and the address plan.
            (Resource::Routers, MANAGE),
            (Resource::IpPools, MANAGE),
            (Resource::Services, &[Read, Create, Update, Act]),
            (Resource::Provisioning, &[Read, Act]),
            (Resource::Tickets, &[Read, Create, Update]),
            (Resource::Sla, &[Read]),
        ],
    ),
    (
        Role::Reseller,
        &[
            (Resource::Customers, &[Read, Create, Update, Act]),
            (Resource::ApiKeys, OWN_KEYS),
            (Resource::Roles, &[Read]),
            (Resource::Events, &[Read]),
            (Resource::Webhooks, ALL_OPS),
            (Resource::Plans, &[Read]),
            (Resource::Services, &[Read, Create, Update, Act]),
            (Resource::Tickets, &[Read, Create, Update]),
            (Resource::Sla, &[Read]),
            // Resellers collect from their own customers.
            (Resource::Invoices, &[Read]),
            (Resource::Payments, &[Read, Create]),
        ],
    ),
    (
        Role::ReadOnly,
        &[
            (Resource::Customers, &[Read]),
            (Resource::Partners, &[Read]),
            (Resource::Organizations, &[Read]),
            (Resource::UserGroups, &[Read]),
            (Resource::ApiKeys, &[Read]),
            (Resource::Roles, &[Read]),
            (Resource::Plans, &[Read]),
            (Resource::Routers, &[Read]),
            (Resource::IpPools, &[Read]),
            (Resource::Services, &[Read]),
            (Resource::Provisioning, &[Read]),
            (Resource::Tickets, &[Read]),
            (Resource::Sla, &[Read]),
            (Resource::Invoices, &[Read]),
            (Resource::Payments, &[Read]),
            (Resource::TaxRates, &[Read]),
            (Resource::BillingSettings, &[Read]),
            (Resource::BillingRuns, &[Read]),
        ],
    ),
];

/// Whether `role` may do `operation` to `resource`.
pub fn allows(role: Role, resource: Resource, operation: Operation) -> bool {
    grants(role)
        .iter()
        .any(|(r, ops)| *r == resource && ops.contains(&operation))
}

/// Everything `role` may do, per resource.
pub fn grants(role: Role) -> Grants {
    TABLE
        .iter()
        .find(|(r, _)| *r == role)
        .map_or(&[], |(_, grants)| grants)
}

/// What an RPC needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credential.
    Public,
    /// Any valid credential (the call is about the caller itself).
    Authenticated,
    /// A credential whose role has this permission.
    Requires(Resource, Operation),
}

/// Who may call the RPCs of one gRPC service: its name (from tonic's `NamedService`) and,
/// per method, the access it needs. Each domain declares its own beside its adapter.
#[derive(Debug, Clone, Copy)]
pub struct ServiceAccess {
    /// The full service name, e.g. `lastmile.v1.CustomerService`.
    pub service: &'static str,
    /// Per method name, the access a call needs.
    pub methods: &'static [(&'static str, Access)],
}

/// A rule of a [`ServiceAccess`] table: `method` needs `operation` on `resource`.
pub const fn rule(
    method: &'static str,
    resource: Resource,
    operation: Operation,
) -> (&'static str, Access) {
    (method, Access::Requires(resource, operation))
}

/// The access each RPC of the server needs, by gRPC path (`/package.Service/Method`). Made
/// once at start-up from every domain's [`ServiceAccess`]; a method nobody listed has no
/// access, so the auth layer refuses it.
#[derive(Debug, Clone, Default)]
pub struct AccessTable {
    by_path: HashMap<String, Access>,
    duplicates: Vec<String>,
}

impl AccessTable {
    /// The table of `services`.
    pub fn new<'a>(services: impl IntoIterator<Item = &'a ServiceAccess>) -> Self {
        let mut table = AccessTable::default();
        for service in services {
            for (method, access) in service.methods {
                let path = format!("/{}/{method}", service.service);
                if table.by_path.insert(path.clone(), *access).is_some() {
                    table.duplicates.push(path);
                }
            }
        }
        table
    }

    /// The access `path` (a gRPC path) needs; `None` for a method nobody listed.
    pub fn access(&self, path: &str) -> Option<Access> {
        self.by_path.get(path).copied()
    }

    /// Every listed path with its access.
    pub fn methods(&self) -> impl Iterator<Item = (&str, Access)> {
        self.by_path
            .iter()
            .map(|(path, access)| (path.as_str(), *access))
    }

    /// Paths listed more than once (a mistake a test catches).
    pub fn duplicates(&self) -> &[String] {
        &self.duplicates
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The server's table is assembled by the registration list; only the tests look up.
    fn table() -> AccessTable {
        crate::domains::access_table()
    }

    #[test]
    fn every_role_has_a_row_and_admin_can_do_everything_listed() {
        for role in Role::ALL {
            assert!(TABLE.iter().any(|(r, _)| *r == role), "{role:?} has no row");
        }
        for (_, access) in table().methods() {
            if let Access::Requires(resource, operation) = access {
                assert!(
                    allows(Role::Admin, resource, operation),
                    "admin cannot {operation:?} {resource:?}"
                );
            }
        }
    }

    #[test]
    fn the_table_says_what_it_means() {
        assert!(allows(Role::Support, Resource::Customers, Act));
        assert!(!allows(Role::Support, Resource::Customers, Delete));
        assert!(!allows(Role::ReadOnly, Resource::Customers, Update));
        assert!(!allows(Role::Reseller, Resource::Partners, Read));
        assert!(!allows(Role::Manager, Resource::Users, Create));
        assert!(allows(Role::Admin, Resource::Users, Create));
    }

    #[test]
    fn every_method_is_listed_once_and_unknown_methods_have_no_access() {
        let table = table();
        assert_eq!(table.duplicates(), &[] as &[String], "listed twice");
        assert_eq!(
            table.access("/lastmile.v1.CustomerService/DropEverything"),
            None
        );
    }

    #[test]
    fn every_generated_method_is_in_the_map() {
        // The descriptor set holds every service of the contract; a new RPC without a row
        // here would be refused to everyone, so the map must grow with the proto.
        use prost::Message;
        let table = table();
        let set =
            prost_types::FileDescriptorSet::decode(lastmile_proto::FILE_DESCRIPTOR_SET).unwrap();
        for file in &set.file {
            for service in &file.service {
                for method in &service.method {
                    let path = format!("/{}.{}/{}", file.package(), service.name(), method.name());
                    assert!(table.access(&path).is_some(), "{path} has no access rule");
                }
            }
        }
    }
}
