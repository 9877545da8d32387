//! `/api/v1/customers`: the subscribers of the ISP, declared on the resource layer. No
//! rule lives here; the core decides.

mod clients;
mod input;
mod output;

pub(crate) use clients::Clients;

pub(crate) use output::{AddressJson, CustomerJson, OrganizationJson};

use crate::base_url::BaseUrl;
use crate::core_channel::Channel;
use crate::envelope::ApiError;
use crate::resource::query::{id_parameter, invalid, positive, sort_values, text_parameter};
use crate::resource::{
    Action, Answer, Body, Changes, Create, Delete, FieldSpec, Get, List, QueryPairs, Resource,
    Update,
};
use lastmile_proto::v1::customer_service_client::CustomerServiceClient;
use lastmile_proto::v1::{
    CreateCustomerRequest, Customer, CustomerAction, CustomerInput, CustomerRef, CustomerStatus,
    DeleteCustomerRequest, GetCustomerRequest, ListCustomersRequest, PageMeta, PageRequest,
    PerformCustomerActionRequest, UpdateCustomerRequest, customer_ref,
};
use utoipa::openapi::path::Parameter;

/// The customers collection.
pub(crate) struct Customers;

fn client(core: Channel) -> CustomerServiceClient<Channel> {
    CustomerServiceClient::new(core)
}

fn reference(key: CustomerRef) -> Option<CustomerRef> {
    Some(key)
}

impl Resource for Customers {
    const PATH: &'static str = "/api/v1/customers";
    const SINGULAR: &'static str = "customer";
    const PLURAL: &'static str = "customers";
    const TITLE: &'static str = "Customer";
    const ABOUT: &'static str = "Subscribers of the ISP";
    const ID: &'static str = "Customer id (a positive 64-bit integer), 8-digit portal id or \
                              UUID; anything else is a 404.";
    const INTEGER_ID: bool = false;
    type Item = Customer;
    type View = CustomerJson;
    type Key = CustomerRef;

    /// An id, a portal id or a UUID; the core tells which one the digits name.
    fn key(segment: &str) -> Option<CustomerRef> {
        let portal_id = segment.len() == 8 && segment.bytes().all(|b| b.is_ascii_digit());
        let uuid =
            segment.len() == 36 && segment.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        (portal_id || uuid || positive(segment).is_some()).then(|| CustomerRef {
            key: Some(customer_ref::Key::Reference(segment.to_owned())),
        })
    }

    fn view(customer: Customer, base: &BaseUrl) -> CustomerJson {
        CustomerJson::new(customer, base)
    }
}

impl List for Customers {
    type Request = ListCustomersRequest;

    fn filters() -> Vec<Parameter> {
        vec![
            text_parameter(
                "search",
                "Matches name, e-mail, phone or portal id (case-insensitive substring).",
                &[],
            ),
            text_parameter(
                "status",
                "Only customers in this status.",
                &["active", "suspended", "terminated"],
            ),
            id_parameter("partner_id", "Only customers of this partner."),
            text_parameter(
                "sort",
                "`created_at`, `updated_at`, `id`, `first_name`, `last_name`, `email` or \
                 `portal_id`; a leading `-` sorts descending. Default `-created_at`.",
                &sort_values(&[
                    "created_at",
                    "updated_at",
                    "id",
                    "first_name",
                    "last_name",
                    "email",
                    "portal_id",
                ])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            ),
        ]
    }

    fn request(page: PageRequest, query: &QueryPairs) -> Result<ListCustomersRequest, ApiError> {
        let status = match query.get("status") {
            None => CustomerStatus::Unspecified,
            Some("active") => CustomerStatus::Active,
            Some("suspended") => CustomerStatus::Suspended,
            Some("terminated") => CustomerStatus::Terminated,
            Some(_) => {
                return Err(invalid(
                    "The status parameter must be one of: active, suspended, terminated.",
                ));
            }
        };
        Ok(ListCustomersRequest {
            page: Some(page),
            search: query.text("search"),
            status: status as i32,
            partner_id: query.id("partner_id")?,
            sort: query.text("sort"),
        })
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListCustomersRequest>,
    ) -> Answer<(Vec<Customer>, Option<PageMeta>)> {
        let answer = client(core).list_customers(request).await?.into_inner();
        Ok((answer.customers, answer.meta))
    }
}

impl Get for Customers {
    type Request = GetCustomerRequest;

    fn request(key: CustomerRef) -> GetCustomerRequest {
        GetCustomerRequest {
            customer: reference(key),
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<GetCustomerRequest>,
    ) -> Answer<Option<Customer>> {
        Ok(client(core)
            .get_customer(request)
            .await?
            .into_inner()
            .customer)
    }
}

impl Body for Customers {
    type Input = CustomerInput;
    const FIELDS: &'static [FieldSpec<CustomerInput>] = input::FIELDS;
}

impl Create for Customers {
    type Request = CreateCustomerRequest;

    fn request(changes: Changes<CustomerInput>, validate_only: bool) -> CreateCustomerRequest {
        CreateCustomerRequest {
            customer: Some(changes.input),
            validate_only,
            generate_password: false,
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<CreateCustomerRequest>,
    ) -> Answer<Option<Customer>> {
        Ok(client(core)
            .create_customer(request)
            .await?
            .into_inner()
            .customer)
    }
}

impl Update for Customers {
    type Request = UpdateCustomerRequest;

    fn request(
        key: CustomerRef,
        changes: Changes<CustomerInput>,
        validate_only: bool,
    ) -> UpdateCustomerRequest {
        UpdateCustomerRequest {
            customer: reference(key),
            changes: Some(changes.input),
            update_mask: Some(prost_types::FieldMask {
                paths: changes.mask,
            }),
            validate_only,
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<UpdateCustomerRequest>,
    ) -> Answer<Option<Customer>> {
        Ok(client(core)
            .update_customer(request)
            .await?
            .into_inner()
            .customer)
    }
}

impl Delete for Customers {
    type Request = DeleteCustomerRequest;

    /// Soft: the customer leaves lists and lookups; invoices and payments stay.
    fn request(key: CustomerRef) -> DeleteCustomerRequest {
        DeleteCustomerRequest {
            customer: reference(key),
        }
    }

    async fn call(core: Channel, request: tonic::Request<DeleteCustomerRequest>) -> Answer<()> {
        client(core).delete_customer(request).await?;
        Ok(())
    }
}

impl Action for Customers {
    const ACTIONS: &'static [(&'static str, i32, &'static str)] = &[
        (
            "suspend",
            CustomerAction::Suspend as i32,
            "Customer suspended successfully",
        ),
        (
            "activate",
            CustomerAction::Activate as i32,
            "Customer activated successfully",
        ),
        (
            "terminate",
            CustomerAction::Terminate as i32,
            "Customer terminated successfully",
        ),
    ];
    type Request = PerformCustomerActionRequest;

    fn request(key: CustomerRef, action: i32, reason: String) -> PerformCustomerActionRequest {
        PerformCustomerActionRequest {
            customer: reference(key),
            action,
            reason,
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<PerformCustomerActionRequest>,
    ) -> Answer<Option<Customer>> {
        Ok(client(core)
            .perform_customer_action(request)
            .await?
            .into_inner()
            .customer)
    }
}

#[cfg(test)]
mod tests;

/// A customer's key as the core's request fields take it: the id, portal id or UUID as
/// text (services and tickets opened under `/customers/{id}/…`).
pub(crate) fn reference_text(customer: CustomerRef) -> String {
    match customer.key {
        Some(customer_ref::Key::Reference(reference)) => reference,
        Some(customer_ref::Key::Id(id)) => id.to_string(),
        Some(customer_ref::Key::PortalId(portal_id)) => portal_id,
        None => String::new(),
    }
}
