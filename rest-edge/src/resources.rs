//! Everything the edge serves beyond its operational routes, in one list: the router, the
//! OpenAPI document and discovery at `GET /api/v1` are all built from it. Adding a
//! resource is one file declaring it (see `directory/organizations.rs`) and one line here.

use crate::audit::{self, AuditLog};
use crate::billing::{
    self, BillingRuns, CustomerInvoices, CustomerPayments, Dunning, Finalize, Invoices,
    IssueCreditNote, MarkUncollectible, Pay, Payments, Refund, Settings, Statements, TaxRates,
    Void,
};
use crate::catalog::{Packages, Plans, Pricing, Products};
use crate::customers::{Clients, Customers};
use crate::directory::{organizations::Organizations, partners::Partners, user_groups::UserGroups};
use crate::identity::{self, ApiClients, ApiKeys, Users};
use crate::jobs::{Jobs, RetryJob};
use crate::network::{IpPools, Routers};
use crate::provisioning::{Drift, ProvisioningJobs, Reconcile};
use crate::resource::{Entry, Flat, Mount, Resource};
use crate::services::{
    Activate, ChangePlan, CreateInternet, CustomerServices, Provision, Services, Subscribers,
    Suspend, Terminate, Unsuspend,
};
use crate::sla::{
    AddComment, CheckBreaches, CustomerTickets, OpenCustomerTicket, PerformanceMetrics,
    SlaPolicies, TicketComments, Tickets,
};
use crate::webhooks::{Deliveries, Redeliver, RotateSecret, TestWebhook, Webhooks};
use utoipa::OpenApi;

/// Every entry, in the order of discovery's links.
pub(crate) fn all() -> Vec<Entry> {
    vec![
        Mount::<Customers>::crud()
            .action()
            .submit::<CreateInternet>()
            .list_in::<CustomerServices<false>>()
            .list_in::<CustomerServices<true>>()
            .list_in::<CustomerTickets>()
            .submit::<OpenCustomerTicket>()
            .list_in::<CustomerInvoices>()
            .list_in::<CustomerPayments>()
            .report_in::<Statements>()
            .entry(),
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
        Mount::<Routers>::crud().entry(),
        // The same routers, for clients that call them servers.
        Mount::<Routers>::at("/api/v1/servers")
            .list()
            .create()
            .get()
            .update()
            .delete()
            .entry(),
        Mount::<IpPools>::crud().entry(),
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
        Mount::<Services>::new()
            .list()
            .get()
            .update()
            .delete()
            .command::<Activate>()
            .command::<Suspend>()
            .command::<Unsuspend>()
            .command::<Terminate>()
            .submit::<ChangePlan>()
            .submit::<Provision>()
            .entry(),
        Mount::<Services>::at("/api/v1/subscriptions")
            .list()
            .get()
            .update()
            .delete()
            .entry(),
        Mount::<Subscribers>::new().get().entry(),
        Mount::<ProvisioningJobs>::new().list().get().entry(),
        Mount::<Drift>::new().list().entry(),
        Mount::<Reconcile>::new().create().entry(),
        Mount::<Tickets>::crud()
            .list_in::<TicketComments>()
            .submit::<AddComment>()
            .entry(),
        Mount::<SlaPolicies>::crud().entry(),
        Mount::<CheckBreaches, Flat>::at(CheckBreaches::PATH)
            .create()
            .entry(),
        Mount::<PerformanceMetrics, Flat>::at(PerformanceMetrics::PATH)
            .report()
            .entry(),
        Mount::<TaxRates>::crud().entry(),
        Mount::<Settings>::new().report().edit().entry(),
        Mount::<Invoices>::new()
            .list()
            .create()
            .get()
            .delete()
            .command::<Finalize>()
            .submit::<Void>()
            .submit::<MarkUncollectible>()
            .submit::<IssueCreditNote>()
            .submit::<Pay>()
            .entry(),
        // The same invoices, for clients that call them bills.
        Mount::<Invoices>::at("/api/v1/bills").list().get().entry(),
        Mount::<Invoices>::at("/api/v1/billing/invoices")
            .create()
            .unlisted()
            .entry(),
        Mount::<Dunning, Flat>::at(Dunning::PATH).create().entry(),
        Mount::<BillingRuns>::new().list().create().get().entry(),
        Mount::<Payments>::new()
            .list()
            .create()
            .get()
            .submit::<Refund>()
            .entry(),
        Entry {
            routes: billing::pdf_routes(),
            doc: billing::PdfDoc::openapi(),
            links: Vec::new(),
        },
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
