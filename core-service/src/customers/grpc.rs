//! The gRPC adapter: proto ↔ domain conversions and the `CustomerService` implementation.
//! No rule and no SQL here: each method converts, calls the domain, converts back.

use lastmile_proto::timestamp;
use lastmile_proto::v1 as pb;
use pb::customer_service_server::{CustomerService, CustomerServiceServer};
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::{Request, Response, Status};

use super::service::{PreparedCreate, PreparedUpdate};
use super::{
    Address, AddressInput, BillingMethod, Choice, Customer, CustomerAction, CustomerInput,
    CustomerKey, CustomerStatus, Customers, ListQuery,
};
use crate::Core;
use crate::auth::{RequestContext, context};
use crate::authz::{Access, Operation, Resource, ServiceAccess, rule};
use crate::clock::SharedClock;
use crate::db::{Db, Tx};
use crate::domains::Domain;
use crate::error::Error;
use crate::paging::PageQuery;
use crate::password::PasswordPolicy;
use crate::write::{Step, Writes};

/// The customers domain as the server registers it.
pub const DOMAIN: Domain = Domain {
    access: ServiceAccess {
        service: <CustomerServiceServer<CustomerGrpc> as NamedService>::NAME,
        methods: &[
            ("GetSecuritySettings", Access::Public),
            rule("CreateCustomer", Resource::Customers, Operation::Create),
            rule("GetCustomer", Resource::Customers, Operation::Read),
            rule("ListCustomers", Resource::Customers, Operation::Read),
            rule("UpdateCustomer", Resource::Customers, Operation::Update),
            rule("DeleteCustomer", Resource::Customers, Operation::Delete),
            rule("PerformCustomerAction", Resource::Customers, Operation::Act),
        ],
    },
    serve,
};

fn serve(core: &Core, routes: &mut RoutesBuilder) {
    let grpc = CustomerGrpc::new(core.customers.clone(), core.db.clone(), core.clock.clone());
    routes.add_service(CustomerServiceServer::new(grpc));
}

/// `lastmile.v1.CustomerService`.
#[derive(Debug, Clone)]
pub struct CustomerGrpc {
    customers: Customers,
    writes: Writes,
}

impl CustomerGrpc {
    /// The service over `customers`.
    pub fn new(customers: Customers, db: Db, clock: SharedClock) -> Self {
        Self {
            customers,
            writes: Writes::new(db, clock),
        }
    }
}

#[tonic::async_trait]
impl CustomerService for CustomerGrpc {
    async fn create_customer(
        &self,
        request: Request<pb::CreateCustomerRequest>,
    ) -> Result<Response<pb::CreateCustomerResponse>, Status> {
        let read = async |r: pb::CreateCustomerRequest| {
            let mut input = r.customer.map(CustomerInput::from).unwrap_or_default();
            input.generate_password = r.generate_password;
            if r.validate_only {
                self.customers.validate_create(input).await?;
                return Ok(Step::Answer(pb::CreateCustomerResponse { customer: None }));
            }
            Ok(Step::Commit(self.customers.prepare_create(input).await?))
        };
        let change = async |tx: &mut Tx, context: &RequestContext, prepared: PreparedCreate| {
            let customer = self.customers.create(tx, context, prepared).await?;
            Ok(pb::CreateCustomerResponse {
                customer: Some(customer.into()),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn get_customer(
        &self,
        request: Request<pb::GetCustomerRequest>,
    ) -> Result<Response<pb::GetCustomerResponse>, Status> {
        let context = context(&request)?.clone();
        let key = CustomerKey::try_from(request.into_inner().customer)?;
        let customer = self.customers.get(&context, &key).await?;
        Ok(Response::new(pb::GetCustomerResponse {
            customer: Some(customer.into()),
        }))
    }

    async fn list_customers(
        &self,
        request: Request<pb::ListCustomersRequest>,
    ) -> Result<Response<pb::ListCustomersResponse>, Status> {
        let context = context(&request)?.clone();
        let request = request.into_inner();
        let page = PageQuery::from_request(request.page)?;
        let status = match pb::CustomerStatus::try_from(request.status) {
            Ok(pb::CustomerStatus::Unspecified) => None,
            Ok(status) => Some(CustomerStatus::from(status)),
            Err(_) => {
                return Err(Error::BadRequest("The selected status is invalid.".into()).into());
            }
        };
        let query = ListQuery::new(
            page,
            request.search,
            status,
            request.partner_id,
            &request.sort,
        )?;
        let list = self.customers.list(&context, &query).await?;
        Ok(Response::new(pb::ListCustomersResponse {
            meta: Some(list.meta()),
            customers: list.items.into_iter().map(Into::into).collect(),
        }))
    }

    async fn update_customer(
        &self,
        request: Request<pb::UpdateCustomerRequest>,
    ) -> Result<Response<pb::UpdateCustomerResponse>, Status> {
        let read = async |r: pb::UpdateCustomerRequest| {
            let key = CustomerKey::try_from(r.customer)?;
            let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
            let input = r.changes.map(CustomerInput::from).unwrap_or_default();
            let prepared = self.customers.prepare_update(input, &paths).await?;
            Ok(Step::of((key, prepared), r.validate_only))
        };
        let change = async |tx: &mut Tx,
                            context: &RequestContext,
                            (key, prepared): (CustomerKey, PreparedUpdate)| {
            let customer = self.customers.update(tx, context, &key, prepared).await?;
            Ok(pb::UpdateCustomerResponse {
                customer: Some(customer.into()),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn delete_customer(
        &self,
        request: Request<pb::DeleteCustomerRequest>,
    ) -> Result<Response<pb::DeleteCustomerResponse>, Status> {
        let read = async |r: pb::DeleteCustomerRequest| {
            Ok(Step::Commit(CustomerKey::try_from(r.customer)?))
        };
        let change = async |tx: &mut Tx, context: &RequestContext, key: CustomerKey| {
            self.customers.delete(tx, context, &key).await?;
            Ok(pb::DeleteCustomerResponse {})
        };
        self.writes.run(request, read, change).await
    }

    async fn perform_customer_action(
        &self,
        request: Request<pb::PerformCustomerActionRequest>,
    ) -> Result<Response<pb::PerformCustomerActionResponse>, Status> {
        let read = async |r: pb::PerformCustomerActionRequest| {
            let key = CustomerKey::try_from(r.customer)?;
            Ok(Step::Commit((key, action_choice(r.action), r.reason)))
        };
        let change = async |tx: &mut Tx,
                            context: &RequestContext,
                            (key, action, reason): (
            CustomerKey,
            Choice<CustomerAction>,
            String,
        )| {
            let customer = self
                .customers
                .act(tx, context, &key, action, &reason)
                .await?;
            Ok(pb::PerformCustomerActionResponse {
                customer: Some(customer.into()),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn get_security_settings(
        &self,
        _request: Request<pb::GetSecuritySettingsRequest>,
    ) -> Result<Response<pb::GetSecuritySettingsResponse>, Status> {
        Ok(Response::new(pb::GetSecuritySettingsResponse {
            password_policy: Some(self.customers.password_policy().into()),
        }))
    }
}

impl TryFrom<Option<pb::CustomerRef>> for CustomerKey {
    type Error = Error;

    fn try_from(reference: Option<pb::CustomerRef>) -> Result<Self, Error> {
        use pb::customer_ref::Key;
        match reference.and_then(|r| r.key) {
            Some(Key::Id(id)) => Ok(CustomerKey::Id(id)),
            Some(Key::PortalId(portal_id)) => Ok(CustomerKey::PortalId(portal_id)),
            Some(Key::Reference(reference)) => Ok(CustomerKey::Reference(reference)),
            None => Err(Error::BadRequest(
                "The customer to act on is required (id, portal_id or reference).".into(),
            )),
        }
    }
}

fn action_choice(value: i32) -> Choice<CustomerAction> {
    match pb::CustomerAction::try_from(value) {
        Ok(pb::CustomerAction::Unspecified) => Choice::Absent,
        Ok(pb::CustomerAction::Suspend) => Choice::Valid(CustomerAction::Suspend),
        Ok(pb::CustomerAction::Activate) => Choice::Valid(CustomerAction::Activate),
        Ok(pb::CustomerAction::Terminate) => Choice::Valid(CustomerAction::Terminate),
        Err(_) => Choice::Invalid,
    }
}

fn billing_method_choice(value: i32) -> Choice<BillingMethod> {
    match pb::BillingMethod::try_from(value) {
        Ok(pb::BillingMethod::Unspecified) => Choice::Absent,
        Ok(pb::BillingMethod::Cycle) => Choice::Valid(BillingMethod::Cycle),
        Ok(pb::BillingMethod::Prorata) => Choice::Valid(BillingMethod::Prorata),
        Err(_) => Choice::Invalid,
    }
}

impl From<pb::Address> for AddressInput {
    fn from(a: pb::Address) -> Self {
        let given = |s: String| Some(s).filter(|s| !s.is_empty());
        AddressInput {
            street: given(a.street),
            city: given(a.city),
            state: given(a.state),
            zip: given(a.zip),
            country: given(a.country),
        }
    }
}

impl From<pb::CustomerInput> for CustomerInput {
    fn from(c: pb::CustomerInput) -> Self {
        let given = |s: String| Some(s).filter(|s| !s.is_empty());
        CustomerInput {
            first_name: given(c.first_name),
            last_name: c.last_name,
            email: c.email,
            password: given(c.password),
            phone: given(c.phone),
            address: c.address.map(Into::into).unwrap_or_default(),
            billing_address: c.billing_address.map(Into::into).unwrap_or_default(),
            user_group_id: c.user_group_id,
            organization_ids: c.organization_ids,
            partner_id: c.partner_id,
            billing_method: billing_method_choice(c.billing_method),
            billing_day: c.billing_day,
            auto_suspension: c.auto_suspension,
            suspend_after_days: c.suspend_after_days,
            company_name: c.company_name,
            tax_exempt: c.tax_exempt,
            tax_exempt_reference: c.tax_exempt_reference,
            generate_password: false,
        }
    }
}

impl From<pb::CustomerStatus> for CustomerStatus {
    fn from(status: pb::CustomerStatus) -> Self {
        match status {
            pb::CustomerStatus::Suspended => CustomerStatus::Suspended,
            pb::CustomerStatus::Terminated => CustomerStatus::Terminated,
            pb::CustomerStatus::Active | pb::CustomerStatus::Unspecified => CustomerStatus::Active,
        }
    }
}

impl From<CustomerStatus> for pb::CustomerStatus {
    fn from(status: CustomerStatus) -> Self {
        match status {
            CustomerStatus::Active => pb::CustomerStatus::Active,
            CustomerStatus::Suspended => pb::CustomerStatus::Suspended,
            CustomerStatus::Terminated => pb::CustomerStatus::Terminated,
        }
    }
}

impl From<Address> for pb::Address {
    fn from(a: Address) -> Self {
        pb::Address {
            street: a.street,
            city: a.city,
            state: a.state,
            zip: a.zip,
            country: a.country,
        }
    }
}

impl From<Customer> for pb::Customer {
    fn from(c: Customer) -> Self {
        let full_name = c.full_name();
        let f = c.fields;
        pb::Customer {
            id: c.id,
            portal_id: c.portal_id,
            uuid: c.uuid,
            company_name: f.company_name,
            tax_exempt: f.tax_exempt,
            tax_exempt_reference: f.tax_exempt_reference,
            first_name: f.first_name,
            last_name: f.last_name,
            full_name,
            email: f.email,
            phone: f.phone,
            address: Some(f.address.into()),
            billing_address: Some(f.billing_address.into()),
            user_group_id: f.user_group_id,
            organizations: c
                .organizations
                .into_iter()
                .map(|o| pb::Organization {
                    id: o.id,
                    name: o.name,
                })
                .collect(),
            partner_id: f.partner_id,
            billing_method: match f.billing_method {
                None => pb::BillingMethod::Unspecified,
                Some(BillingMethod::Cycle) => pb::BillingMethod::Cycle,
                Some(BillingMethod::Prorata) => pb::BillingMethod::Prorata,
            }
            .into(),
            billing_day: f.billing_day,
            auto_suspension: f.auto_suspension,
            suspend_after_days: f.suspend_after_days,
            status: pb::CustomerStatus::from(c.status).into(),
            status_reason: c.status_reason,
            balance: Some(pb::Money {
                minor_units: c.balance_minor,
                currency: c.currency,
            }),
            created_at: Some(timestamp(c.created_at)),
            updated_at: Some(timestamp(c.updated_at)),
        }
    }
}

impl From<&PasswordPolicy> for pb::PasswordPolicy {
    fn from(p: &PasswordPolicy) -> Self {
        let len = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        pb::PasswordPolicy {
            min_length: len(p.min_length),
            max_length: len(p.max_length),
            require_uppercase: p.require_uppercase,
            require_lowercase: p.require_lowercase,
            require_number: p.require_number,
            require_special: p.require_special,
        }
    }
}
