//! One generic REST resource layer. A resource declares its path, its JSON names, its
//! body as a field table, its JSON view and its calls to the core (the traits below); the
//! handlers here serve every resource alike: query and id parsing, the 400/422 split,
//! type errors merged with the core's `validate_only` check, the envelope, and the
//! idempotency key and reason (carried by [`Caller`]).
//!
//! Declaring a resource: implement [`Resource`] and the operations it has ([`List`],
//! [`Get`], [`Create`], [`Update`], [`Delete`], [`Action`]; [`Report`] and [`Edit`] for a
//! resource that is one computed or configured item), then add one line to
//! `resources.rs` with a [`Mount`] of it. Operations under an item beyond those are
//! declared as types of their own: a [`Command`] (`POST …/{id}/retry`) or a collection
//! inside the item ([`ListIn`], `GET …/{id}/deliveries`).

mod alias;
mod doc;
mod envelope;
pub(crate) mod fields;
mod handlers;
mod mount;
pub(crate) mod query;

pub(crate) use alias::{Alias, Names};
pub(crate) use doc::alias_paths;
pub(crate) use envelope::{Envelope, Flat, V1};
pub(crate) use fields::{Changes, FieldSpec, Kind, Rule, Text, enum_number};
#[cfg(test)]
pub(crate) use handlers::action_input;
pub(crate) use mount::{Entry, Mount};
pub(crate) use query::QueryPairs;

use crate::base_url::BaseUrl;
use crate::core_channel::Channel;
use crate::envelope::ApiError;
use lastmile_proto::v1::{PageMeta, PageRequest};
use serde::Serialize;
use std::future::Future;
use tonic::Status;
use utoipa::ToSchema;
use utoipa::openapi::path::Parameter;

/// A body without fields.
#[derive(Debug, Default)]
pub(crate) struct NoFields;

/// A collection served under one path.
pub(crate) trait Resource: Send + Sync + 'static {
    /// The collection's path, e.g. `/api/v1/organizations`; items are at `{PATH}/{id}`.
    const PATH: &'static str;
    /// The key of one item under `data`, e.g. `organization`.
    const SINGULAR: &'static str;
    /// The key of a page under `data`, e.g. `organizations`.
    const PLURAL: &'static str;
    /// The key of the collection's link in discovery.
    const LINK: &'static str = Self::PLURAL;
    /// The stem of its operation ids (`get_<stem>`): the singular, unless two resources
    /// answer under the same key (a service found by id and by login).
    const STEM: &'static str = Self::SINGULAR;
    /// The name in messages, e.g. "Organization" ("Organization not found").
    const TITLE: &'static str;
    /// What the collection holds, for the document's tag.
    const ABOUT: &'static str;
    /// What the path's `{id}` may be.
    const ID: &'static str = "A positive 64-bit integer; anything else is a 404.";
    /// Whether the `{id}` is an integer in the document (else a string matching
    /// [`Resource::ID_PATTERN`]).
    const INTEGER_ID: bool = true;
    /// The name of the path's item parameter (`{id}`, or `{username}` for a login).
    const ID_NAME: &'static str = "id";
    /// The pattern of a string `{id}` in the document.
    const ID_PATTERN: &'static str = "^[0-9]{1,19}$";

    /// An item as the core returns it.
    type Item: Send + 'static;
    /// An item as the REST API shows it.
    type View: Serialize + ToSchema + Send + 'static;
    /// What the path's `{id}` names, for the core.
    type Key: Send + 'static;

    /// The key named by a path segment; `None` is a 404 without asking the core.
    fn key(segment: &str) -> Option<Self::Key>;
    /// The JSON of an item; links start at `base`.
    fn view(item: Self::Item, base: &BaseUrl) -> Self::View;
}

/// The answer of a call to the core.
pub(crate) type Answer<T> = Result<T, Status>;

/// `GET {PATH}`: a page at a time.
pub(crate) trait List: Resource {
    /// The core's list request.
    type Request: Send + 'static;
    /// The resource's own filters, for the document (page and per_page are the layer's).
    fn filters() -> Vec<Parameter>;
    /// The request for a page and the query's filters (a bad filter is a 400).
    fn request(page: PageRequest, query: &QueryPairs) -> Result<Self::Request, ApiError>;
    /// Asks the core for the page.
    fn call(
        core: Channel,
        request: tonic::Request<Self::Request>,
    ) -> impl Future<Output = Answer<(Vec<Self::Item>, Option<PageMeta>)>> + Send;
}

/// `GET {PATH}/{id}`.
pub(crate) trait Get: Resource {
    /// The core's request.
    type Request: Send + 'static;
    /// The request for one item.
    fn request(key: Self::Key) -> Self::Request;
    /// Asks the core.
    fn call(
        core: Channel,
        request: tonic::Request<Self::Request>,
    ) -> impl Future<Output = Answer<Option<Self::Item>>> + Send;
}

/// `GET {PATH}`: one item computed from the query (a report), not a page.
pub(crate) trait Report: Resource {
    /// The core's request.
    type Request: Send + 'static;
    /// The query's parameters, for the document.
    fn parameters() -> Vec<Parameter>;
    /// The request for the query (a bad parameter is a 400).
    fn request(query: &QueryPairs) -> Result<Self::Request, ApiError>;
    /// Asks the core.
    fn call(
        core: Channel,
        request: tonic::Request<Self::Request>,
    ) -> impl Future<Output = Answer<Option<Self::Item>>> + Send;
}

/// A resource with a JSON body (create and update read the same table).
pub(crate) trait Body: Resource {
    /// The proto input the table writes into.
    type Input: Default + Send + 'static;
    /// The fields of the body.
    const FIELDS: &'static [FieldSpec<Self::Input>];
    /// Whether the core can check a request without acting on it (`validate_only`), so
    /// that fields of the wrong JSON type are reported together with its rule failures.
    const VALIDATES: bool = true;
    /// Rules between fields, for the document.
    const WHEN: &'static [fields::When] = &[];
}

/// `POST {PATH}`: 201 with the new item. Honours `Idempotency-Key`.
pub(crate) trait Create: Body {
    /// 201, or 200 for a POST that runs something rather than making an item (a check).
    const STATUS: u16 = 201;
    /// The answer's message, when not "<Title> created".
    const MESSAGE: Option<&'static str> = None;
    /// The core's request.
    type Request: Send + 'static;
    /// The request for a body; `validate_only` asks the core only to check it.
    fn request(changes: Changes<Self::Input>, validate_only: bool) -> Self::Request;
    /// Asks the core.
    fn call(
        core: Channel,
        request: tonic::Request<Self::Request>,
    ) -> impl Future<Output = Answer<Option<Self::Item>>> + Send;
}

/// `PUT` and `PATCH {PATH}`: a resource that is one item (the deployment's settings); the
/// keys present change.
pub(crate) trait Edit: Body {
    /// The core's request.
    type Request: Send + 'static;
    /// The request for a body; `validate_only` asks the core only to check it.
    fn request(changes: Changes<Self::Input>, validate_only: bool) -> Self::Request;
    /// Asks the core.
    fn call(
        core: Channel,
        request: tonic::Request<Self::Request>,
    ) -> impl Future<Output = Answer<Option<Self::Item>>> + Send;
}

/// `PUT` and `PATCH {PATH}/{id}`: the keys present change; `null` clears.
pub(crate) trait Update: Body {
    /// The core's request.
    type Request: Send + 'static;
    /// The request for a body; `validate_only` asks the core only to check it.
    fn request(key: Self::Key, changes: Changes<Self::Input>, validate_only: bool)
    -> Self::Request;
    /// Asks the core.
    fn call(
        core: Channel,
        request: tonic::Request<Self::Request>,
    ) -> impl Future<Output = Answer<Option<Self::Item>>> + Send;
}

/// `DELETE {PATH}/{id}`: 204.
pub(crate) trait Delete: Resource {
    /// The core's request.
    type Request: Send + 'static;
    /// The request for one item.
    fn request(key: Self::Key) -> Self::Request;
    /// What a 409 means for this resource, when the core may answer one.
    const CONFLICT: Option<&'static str> = None;
    /// What a 422 means for this resource, when the core may refuse the deletion (the item
    /// is still in use; `errors` names the resource).
    const IN_USE: Option<&'static str> = None;
    /// Asks the core.
    fn call(
        core: Channel,
        request: tonic::Request<Self::Request>,
    ) -> impl Future<Output = Answer<()>> + Send;
}

/// `POST {PATH}/{id}/action {"action", "reason"}`: a life-cycle move. Honours
/// `Idempotency-Key`; the reason is kept with the item.
pub(crate) trait Action: Resource {
    /// The actions, as (JSON name, proto enum value, success message).
    const ACTIONS: &'static [(&'static str, i32, &'static str)];
    /// The core's request.
    type Request: Send + 'static;
    /// The request; `action` is 0 when missing and -1 when unknown (the core reports
    /// either on the field).
    fn request(key: Self::Key, action: i32, reason: String) -> Self::Request;
    /// Asks the core.
    fn call(
        core: Channel,
        request: tonic::Request<Self::Request>,
    ) -> impl Future<Output = Answer<Option<Self::Item>>> + Send;
}

/// `POST {On::PATH}/{id}/{PATH}`: a named operation on one item, without a body (e.g.
/// `retry`, `rotate-secret`). Its answer is one item of `Out`: the item itself, or one of
/// another resource (the delivery a test sends). Honours `Idempotency-Key`.
pub(crate) trait Command: Send + Sync + 'static {
    /// The collection whose item the command acts on.
    type On: Resource;
    /// The resource of the answer.
    type Out: Resource;
    /// The path under the item, e.g. `retry`. Further ids are written `{name}`, e.g.
    /// `deliveries/{delivery_id}/redeliver`; each is a positive 64-bit integer (else 404).
    const PATH: &'static str;
    /// The operation id in the document, e.g. `retry_job`.
    const OPERATION: &'static str;
    /// What it does, for the document.
    const SUMMARY: &'static str;
    /// The answer's message.
    const MESSAGE: &'static str;
    /// Refusals beyond 404 that the core may answer, e.g. `(409, "Not failed or dead")`.
    const ERRORS: &'static [(u16, &'static str)] = &[];
    /// The core's request.
    type Request: Send + 'static;
    /// The request for the item and the path's further ids, in order.
    fn request(key: <Self::On as Resource>::Key, ids: &[i64]) -> Self::Request;
    /// Asks the core.
    fn call(
        core: Channel,
        request: tonic::Request<Self::Request>,
    ) -> impl Future<Output = Answer<Option<<Self::Out as Resource>::Item>>> + Send;
}

/// `POST {On::PATH}/{id}/{PATH}` with a JSON body: an operation on one item that takes
/// fields (a plan change), or a creation under it (a customer's new service, answered
/// 201). The body is read with the same field table rules as every create. Honours
/// `Idempotency-Key`.
pub(crate) trait Submit: Send + Sync + 'static {
    /// The collection whose item the operation acts on.
    type On: Resource;
    /// The resource of the answer.
    type Out: Resource;
    /// The proto input the table writes into.
    type Input: Default + Send + 'static;
    /// The path under the item, e.g. `change-plan`.
    const PATH: &'static str;
    /// The operation id in the document.
    const OPERATION: &'static str;
    /// What it does, for the document.
    const SUMMARY: &'static str;
    /// The answer's message.
    const MESSAGE: &'static str;
    /// 200, or 201 when it creates.
    const STATUS: u16 = 200;
    /// The fields of the body.
    const FIELDS: &'static [FieldSpec<Self::Input>];
    /// Refusals beyond 404 and 422 that the core may answer.
    const ERRORS: &'static [(u16, &'static str)] = &[];
    /// The core's request.
    type Request: Send + 'static;
    /// The request for the item and the body.
    fn request(key: <Self::On as Resource>::Key, changes: Changes<Self::Input>) -> Self::Request;
    /// Asks the core.
    fn call(
        core: Channel,
        request: tonic::Request<Self::Request>,
    ) -> impl Future<Output = Answer<Option<<Self::Out as Resource>::Item>>> + Send;
}

/// `GET {In::PATH}/{id}/{SEGMENT}`: a collection inside one item of `In` (a webhook's
/// deliveries), a page at a time, with the same paging rules as every list.
pub(crate) trait ListIn: Resource {
    /// The collection whose items hold this one.
    type In: Resource;
    /// The path under the item, e.g. `deliveries`.
    const SEGMENT: &'static str;
    /// The core's list request.
    type Request: Send + 'static;
    /// The resource's own filters, for the document.
    fn filters() -> Vec<Parameter>;
    /// The request for the item's page and the query's filters (a bad filter is a 400).
    fn request(
        key: <Self::In as Resource>::Key,
        page: PageRequest,
        query: &QueryPairs,
    ) -> Result<Self::Request, ApiError>;
    /// Asks the core.
    fn call(
        core: Channel,
        request: tonic::Request<Self::Request>,
    ) -> impl Future<Output = Answer<(Vec<Self::Item>, Option<PageMeta>)>> + Send;
}

/// `GET {In::PATH}/{id}/{SEGMENT}`: one item computed for one item of `In` from the query
/// (a customer's statement).
pub(crate) trait ReportIn: Resource {
    /// The collection whose item it is about.
    type In: Resource;
    /// The path under the item, e.g. `statement`.
    const SEGMENT: &'static str;
    /// The core's request.
    type Request: Send + 'static;
    /// The query's parameters, for the document.
    fn parameters() -> Vec<Parameter>;
    /// The request for the item and the query (a bad parameter is a 400).
    fn request(
        key: <Self::In as Resource>::Key,
        query: &QueryPairs,
    ) -> Result<Self::Request, ApiError>;
    /// Asks the core.
    fn call(
        core: Channel,
        request: tonic::Request<Self::Request>,
    ) -> impl Future<Output = Answer<Option<Self::Item>>> + Send;
}

#[cfg(test)]
#[path = "every_list_tests.rs"]
mod every_list_tests;
