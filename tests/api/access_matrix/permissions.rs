//! The permission table the access matrix expects, written out by hand: change it only
//! together with the core's table, and only after deciding that the new grant is right.

/// The seven roles, in the order of the columns of [`PERMISSIONS`].
pub(super) const ROLES: [&str; 7] = [
    "admin",
    "manager",
    "billing",
    "support",
    "technician",
    "reseller",
    "read_only",
];

const Y: bool = true;
const N: bool = false;

/// Who may do what: resource, operation, then one column per role of [`ROLES`]. Keys are
/// always the principal's own (only an admin sees others'); a reseller's customers and
/// webhooks are always its partner's.
#[rustfmt::skip]
pub(super) const PERMISSIONS: &[(&str, &str, [bool; 7])] = &[
    //                                admin manager billing support technician reseller read_only
    ("customers",     "read",        [Y,    Y,      Y,      Y,      Y,         Y,       Y]),
    ("customers",     "create",      [Y,    Y,      N,      Y,      N,         Y,       N]),
    ("customers",     "update",      [Y,    Y,      Y,      Y,      N,         Y,       N]),
    ("customers",     "delete",      [Y,    Y,      N,      N,      N,         N,       N]),
    ("customers",     "act",         [Y,    Y,      N,      Y,      N,         Y,       N]),
    ("partners",      "read",        [Y,    Y,      Y,      N,      N,         N,       Y]),
    ("partners",      "create",      [Y,    Y,      N,      N,      N,         N,       N]),
    ("partners",      "update",      [Y,    Y,      N,      N,      N,         N,       N]),
    ("partners",      "delete",      [Y,    Y,      N,      N,      N,         N,       N]),
    ("organizations", "read",        [Y,    Y,      Y,      Y,      N,         N,       Y]),
    ("organizations", "create",      [Y,    Y,      N,      N,      N,         N,       N]),
    ("organizations", "update",      [Y,    Y,      N,      N,      N,         N,       N]),
    ("organizations", "delete",      [Y,    Y,      N,      N,      N,         N,       N]),
    ("user_groups",   "read",        [Y,    Y,      Y,      Y,      N,         N,       Y]),
    ("user_groups",   "create",      [Y,    Y,      N,      N,      N,         N,       N]),
    ("user_groups",   "update",      [Y,    Y,      N,      N,      N,         N,       N]),
    ("user_groups",   "delete",      [Y,    Y,      N,      N,      N,         N,       N]),
    ("users",         "read",        [Y,    Y,      N,      N,      N,         N,       N]),
    ("users",         "create",      [Y,    N,      N,      N,      N,         N,       N]),
    ("users",         "update",      [Y,    N,      N,      N,      N,         N,       N]),
    ("users",         "delete",      [Y,    N,      N,      N,      N,         N,       N]),
    ("api_keys",      "read",        [Y,    Y,      Y,      Y,      Y,         Y,       Y]),
    ("api_keys",      "create",      [Y,    Y,      Y,      Y,      Y,         Y,       N]),
    ("api_keys",      "delete",      [Y,    Y,      Y,      Y,      Y,         Y,       N]),
    ("api_clients",   "read",        [Y,    N,      N,      N,      N,         N,       N]),
    ("api_clients",   "create",      [Y,    N,      N,      N,      N,         N,       N]),
    ("api_clients",   "delete",      [Y,    N,      N,      N,      N,         N,       N]),
    ("audit_log",     "read",        [Y,    Y,      N,      N,      N,         N,       N]),
    ("roles",         "read",        [Y,    Y,      Y,      Y,      Y,         Y,       Y]),
    ("jobs",          "read",        [Y,    Y,      N,      N,      N,         N,       N]),
    ("jobs",          "act",         [Y,    N,      N,      N,      N,         N,       N]),
    ("events",        "read",        [Y,    Y,      N,      N,      N,         Y,       N]),
    ("webhooks",      "read",        [Y,    Y,      N,      N,      N,         Y,       N]),
    ("webhooks",      "create",      [Y,    Y,      N,      N,      N,         Y,       N]),
    ("webhooks",      "update",      [Y,    Y,      N,      N,      N,         Y,       N]),
    ("webhooks",      "delete",      [Y,    Y,      N,      N,      N,         Y,       N]),
    ("webhooks",      "act",         [Y,    Y,      N,      N,      N,         Y,       N]),
    ("services",      "read",        [Y,    Y,      Y,      Y,      Y,         Y,       Y]),
    ("services",      "create",      [Y,    Y,      N,      Y,      Y,         Y,       N]),
    ("services",      "update",      [Y,    Y,      N,      Y,      Y,         Y,       N]),
    ("services",      "delete",      [Y,    Y,      N,      N,      N,         N,       N]),
    ("services",      "act",         [Y,    Y,      N,      Y,      Y,         Y,       N]),
    ("provisioning",  "read",        [Y,    Y,      N,      Y,      Y,         N,       Y]),
    ("provisioning",  "act",         [Y,    Y,      N,      N,      Y,         N,       N]),
    // The ISP's own infrastructure: technicians run it, support and read-only staff see it,
    // billing and resellers do not.
    ("routers",       "read",        [Y,    Y,      N,      Y,      Y,         N,       Y]),
    ("routers",       "create",      [Y,    Y,      N,      N,      Y,         N,       N]),
    ("routers",       "update",      [Y,    Y,      N,      N,      Y,         N,       N]),
    ("routers",       "delete",      [Y,    Y,      N,      N,      Y,         N,       N]),
    ("ip_pools",      "read",        [Y,    Y,      N,      Y,      Y,         N,       Y]),
    ("ip_pools",      "create",      [Y,    Y,      N,      N,      Y,         N,       N]),
    ("ip_pools",      "update",      [Y,    Y,      N,      N,      Y,         N,       N]),
    ("ip_pools",      "delete",      [Y,    Y,      N,      N,      Y,         N,       N]),
    ("plans",         "read",        [Y,    Y,      N,      Y,      Y,         Y,       Y]),
    ("plans",         "create",      [Y,    Y,      N,      N,      N,         N,       N]),
    ("plans",         "update",      [Y,    Y,      N,      N,      N,         N,       N]),
    ("plans",         "delete",      [Y,    Y,      N,      N,      N,         N,       N]),
    // Support desks: support and technicians work tickets, as do resellers for their own
    // customers; billing and read-only staff read them; managers and admins also delete.
    ("tickets",       "read",        [Y,    Y,      Y,      Y,      Y,         Y,       Y]),
    ("tickets",       "create",      [Y,    Y,      N,      Y,      Y,         Y,       N]),
    ("tickets",       "update",      [Y,    Y,      N,      Y,      Y,         Y,       N]),
    ("tickets",       "delete",      [Y,    Y,      N,      N,      N,         N,       N]),
    // Policies are managed by managers and admins, who also run the breach check; those who
    // work tickets (and read-only staff) read policies and metrics.
    ("sla",           "read",        [Y,    Y,      N,      Y,      Y,         Y,       Y]),
    ("sla",           "create",      [Y,    Y,      N,      N,      N,         N,       N]),
    ("sla",           "update",      [Y,    Y,      N,      N,      N,         N,       N]),
    ("sla",           "delete",      [Y,    Y,      N,      N,      N,         N,       N]),
    ("sla",           "act",         [Y,    Y,      N,      N,      N,         N,       N]),
    // Billing staff, managers and admins issue invoices and take payments; support and
    // read-only staff read them; resellers read their customers' invoices and take their
    // payments; technicians see no money.
    ("invoices",      "read",        [Y,    Y,      Y,      Y,      N,         Y,       Y]),
    ("invoices",      "create",      [Y,    Y,      Y,      N,      N,         N,       N]),
    ("invoices",      "update",      [Y,    Y,      Y,      N,      N,         N,       N]),
    ("invoices",      "delete",      [Y,    Y,      Y,      N,      N,         N,       N]),
    ("invoices",      "act",         [Y,    Y,      Y,      N,      N,         N,       N]),
    ("payments",      "read",        [Y,    Y,      Y,      Y,      N,         Y,       Y]),
    ("payments",      "create",      [Y,    Y,      Y,      N,      N,         Y,       N]),
    ("payments",      "update",      [Y,    Y,      Y,      N,      N,         N,       N]),
    ("payments",      "delete",      [Y,    Y,      Y,      N,      N,         N,       N]),
    ("payments",      "act",         [Y,    Y,      Y,      N,      N,         N,       N]),
    ("tax_rates",     "read",        [Y,    Y,      Y,      Y,      N,         N,       Y]),
    ("tax_rates",     "create",      [Y,    Y,      Y,      N,      N,         N,       N]),
    ("tax_rates",     "update",      [Y,    Y,      Y,      N,      N,         N,       N]),
    ("tax_rates",     "delete",      [Y,    Y,      Y,      N,      N,         N,       N]),
    // Only admins change who issues the invoices and how they are numbered.
    ("billing_settings", "read",     [Y,    Y,      Y,      N,      N,         N,       Y]),
    ("billing_settings", "update",   [Y,    N,      N,      N,      N,         N,       N]),
    // Billing runs invoice every customer at once: billing staff, managers and admins start
    // them; support and read-only staff read them; technicians and resellers (whose view
    // is their own partner's customers) do neither.
    ("billing_runs",  "read",        [Y,    Y,      Y,      Y,      N,         N,       Y]),
    ("billing_runs",  "create",      [Y,    Y,      Y,      N,      N,         N,       N]),
];

/// Resources the REST API does not serve, with where they are served instead: their rows
/// are checked against `GET /api/v1/roles` but no REST endpoint exercises them.
pub(super) const NOT_OVER_REST: &[(&str, &str)] = &[(
    "events",
    "gRPC only: EventService.ListEvents and StreamEvents",
)];

/// Grants of the table that no REST endpoint needs: issued invoices and recorded payments
/// are never edited or deleted (a draft's deletion is `invoices:delete`); they are checked
/// against `GET /api/v1/roles` only.
pub(super) const WITHOUT_ENDPOINT: &[(&str, &str, &str)] = &[
    (
        "invoices",
        "update",
        "an issued invoice changes only by credit notes",
    ),
    ("payments", "update", "a payment changes only by refunds"),
    ("payments", "delete", "a payment is never deleted"),
];

/// Whether the table lets `role` do `operation` to `resource`; a pair the table lacks is a
/// failure, so every endpoint's permission must be written down.
pub(super) fn allowed(role: &str, resource: &str, operation: &str) -> bool {
    let column = ROLES
        .iter()
        .position(|r| *r == role)
        .unwrap_or_else(|| panic!("role {role} has no column in the permission table"));
    PERMISSIONS
        .iter()
        .find(|(r, o, _)| *r == resource && *o == operation)
        .unwrap_or_else(|| panic!("({resource}, {operation}) has no row in the permission table"))
        .2[column]
}
