//! `/api/v1/clients`: the customers again, for clients that call them clients. The same
//! operations behind the same core calls; what differs is declared here and nowhere else:
//! the envelope (the item itself under `data`, `"Client created"`), and a create without a
//! password gets a generated one.

use super::{CustomerJson, Customers, input};
use crate::base_url::BaseUrl;
use crate::core_channel::Channel;
use crate::envelope::ApiError;
use crate::resource::{
    Answer, Body, Changes, Create, Delete, FieldSpec, Get, List, QueryPairs, Resource, Update,
};
use lastmile_proto::v1::{
    CreateCustomerRequest, Customer, CustomerInput, CustomerRef, DeleteCustomerRequest,
    GetCustomerRequest, ListCustomersRequest, PageMeta, PageRequest, UpdateCustomerRequest,
};
use utoipa::openapi::path::Parameter;

/// The customers, as clients.
pub(crate) struct Clients;

impl Resource for Clients {
    const PATH: &'static str = "/api/v1/clients";
    const SINGULAR: &'static str = "client";
    const PLURAL: &'static str = "clients";
    const TITLE: &'static str = "Client";
    const ABOUT: &'static str = "The customers, for clients that call them clients";
    const ID: &'static str = <Customers as Resource>::ID;
    const INTEGER_ID: bool = <Customers as Resource>::INTEGER_ID;
    type Item = Customer;
    type View = CustomerJson;
    type Key = CustomerRef;

    fn key(segment: &str) -> Option<CustomerRef> {
        Customers::key(segment)
    }

    fn view(customer: Customer, base: &BaseUrl) -> CustomerJson {
        Customers::view(customer, base)
    }
}

impl List for Clients {
    type Request = ListCustomersRequest;

    fn filters() -> Vec<Parameter> {
        <Customers as List>::filters()
    }

    fn request(page: PageRequest, query: &QueryPairs) -> Result<ListCustomersRequest, ApiError> {
        <Customers as List>::request(page, query)
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListCustomersRequest>,
    ) -> Answer<(Vec<Customer>, Option<PageMeta>)> {
        <Customers as List>::call(core, request).await
    }
}

impl Get for Clients {
    type Request = GetCustomerRequest;

    fn request(key: CustomerRef) -> GetCustomerRequest {
        <Customers as Get>::request(key)
    }

    async fn call(
        core: Channel,
        request: tonic::Request<GetCustomerRequest>,
    ) -> Answer<Option<Customer>> {
        <Customers as Get>::call(core, request).await
    }
}

impl Body for Clients {
    type Input = CustomerInput;
    const FIELDS: &'static [FieldSpec<CustomerInput>] = input::CLIENT_FIELDS;
}

impl Create for Clients {
    type Request = CreateCustomerRequest;

    fn request(changes: Changes<CustomerInput>, validate_only: bool) -> CreateCustomerRequest {
        CreateCustomerRequest {
            generate_password: true,
            ..<Customers as Create>::request(changes, validate_only)
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<CreateCustomerRequest>,
    ) -> Answer<Option<Customer>> {
        <Customers as Create>::call(core, request).await
    }
}

impl Update for Clients {
    type Request = UpdateCustomerRequest;

    fn request(
        key: CustomerRef,
        changes: Changes<CustomerInput>,
        validate_only: bool,
    ) -> UpdateCustomerRequest {
        <Customers as Update>::request(key, changes, validate_only)
    }

    async fn call(
        core: Channel,
        request: tonic::Request<UpdateCustomerRequest>,
    ) -> Answer<Option<Customer>> {
        <Customers as Update>::call(core, request).await
    }
}

impl Delete for Clients {
    type Request = DeleteCustomerRequest;

    fn request(key: CustomerRef) -> DeleteCustomerRequest {
        <Customers as Delete>::request(key)
    }

    async fn call(core: Channel, request: tonic::Request<DeleteCustomerRequest>) -> Answer<()> {
        <Customers as Delete>::call(core, request).await
    }
}
