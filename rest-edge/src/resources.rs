//! Everything the edge serves beyond its operational routes, in one list: the router, the
//! OpenAPI document and discovery at `GET /api/v1` are all built from it. Adding a
//! resource is one file declaring it (see `directory/organizations.rs`) and one line here.

use crate::audit::{self, AuditLog};
use crate::catalog::{Packages, Plans, Pricing, Products};
use crate::customers::{Clients, Customers};
use crate::directory::{organizations::Organizations, partners::Partners, user_groups::UserGroups};
use crate::identity::{self, ApiClients, ApiKeys, Users};
use crate::jobs::{Jobs, RetryJob};
use crate::resource::{Entry, Flat, Mount};
use crate::webhooks::{Deliveries, Redeliver, RotateSecret, TestWebhook, Webhooks};
use utoipa::OpenApi;

/// Every entry, in the order of discovery's links.
pub(crate) fn all() -> Vec<Entry> {
    vec![
        Mount::<Customers>::crud().action().entry(),
        Mount::<Clients, Flat>::at("/api/v1/clients")
            .list()
            .create()
            .get()
            .update()
            .delete()
            .entry(),
        Mount::<Partners>::crud().entry(),
        Mount::<Organizations>::crud().entry(),
        Mount::<UserGroups>::crud().entry(),
        Mount::<Users>::crud().entry(),
        Mount::<ApiKeys>::new().list().create().delete().entry(),
        Mount::<ApiClients>::new().list().create().delete().entry(),
        Mount::<AuditLog>::new().list().entry(),
        Mount::<Jobs>::new()
            .list()
            .get()
            .command::<RetryJob>()
            .entry(),
        Mount::<Webhooks>::crud()
            .command::<RotateSecret>()
            .command::<TestWebhook>()
            .list_in::<Deliveries>()
            .command::<Redeliver>()
            .entry(),
        Mount::<Plans>::crud().entry(),
        Mount::<Packages>::crud().entry(),
        Mount::<Products>::crud().entry(),
        Mount::<Pricing>::new().list().entry(),
        Entry {
            routes: audit::routes(),
            doc: audit::Doc::openapi(),
            links: vec![("roles", "/api/v1/roles")],
        },
        Entry {
            routes: identity::routes(),
            doc: identity::doc(),
            links: Vec::new(),
        },
    ]
}
