//! Another name for a collection: the same items, the same body and the same core calls,
//! under another path and other keys (`/api/v1/packages` for the plans, as clients of
//! older systems name them). A name is a type implementing [`Names`]; `Alias<R, N>` is
//! then a resource with every operation `R` has, mounted like any other.

use super::{Answer, Body, Create, Delete, FieldSpec, Get, List, QueryPairs, Resource, Update};
use crate::base_url::BaseUrl;
use crate::core_channel::Channel;
use crate::envelope::ApiError;
use lastmile_proto::v1::{PageMeta, PageRequest};
use std::marker::PhantomData;
use utoipa::openapi::path::Parameter;

/// The path and keys of an alias.
pub(crate) trait Names: Send + Sync + 'static {
    /// The alias's path, e.g. `/api/v1/packages`.
    const PATH: &'static str;
    /// The key of one item under `data`, e.g. `package`.
    const SINGULAR: &'static str;
    /// The key of a page under `data`, e.g. `packages`.
    const PLURAL: &'static str;
    /// The name in messages, e.g. "Package".
    const TITLE: &'static str;
    /// What the collection holds, for the document's tag.
    const ABOUT: &'static str;
}

/// Resource `R` under the names `N`.
pub(crate) struct Alias<R, N>(PhantomData<fn() -> (R, N)>);

impl<R: Resource, N: Names> Resource for Alias<R, N> {
    const PATH: &'static str = N::PATH;
    const SINGULAR: &'static str = N::SINGULAR;
    const PLURAL: &'static str = N::PLURAL;
    const TITLE: &'static str = N::TITLE;
    const ABOUT: &'static str = N::ABOUT;
    const ID: &'static str = R::ID;
    const INTEGER_ID: bool = R::INTEGER_ID;
    type Item = R::Item;
    type View = R::View;
    type Key = R::Key;

    fn key(segment: &str) -> Option<R::Key> {
        R::key(segment)
    }

    fn view(item: R::Item, base: &BaseUrl) -> R::View {
        R::view(item, base)
    }
}

impl<R: List, N: Names> List for Alias<R, N> {
    type Request = R::Request;

    fn filters() -> Vec<Parameter> {
        R::filters()
    }

    fn request(page: PageRequest, query: &QueryPairs) -> Result<R::Request, ApiError> {
        R::request(page, query)
    }

    async fn call(
        core: Channel,
        request: tonic::Request<R::Request>,
    ) -> Answer<(Vec<R::Item>, Option<PageMeta>)> {
        R::call(core, request).await
    }
}

impl<R: Get, N: Names> Get for Alias<R, N> {
    type Request = R::Request;

    fn request(key: R::Key) -> R::Request {
        R::request(key)
    }

    async fn call(core: Channel, request: tonic::Request<R::Request>) -> Answer<Option<R::Item>> {
        R::call(core, request).await
    }
}

impl<R: Body, N: Names> Body for Alias<R, N> {
    type Input = R::Input;
    const FIELDS: &'static [FieldSpec<R::Input>] = R::FIELDS;
    const VALIDATES: bool = R::VALIDATES;
    const WHEN: &'static [super::fields::When] = R::WHEN;
}

impl<R: Create, N: Names> Create for Alias<R, N> {
    type Request = <R as Create>::Request;

    fn request(changes: super::Changes<R::Input>, validate_only: bool) -> Self::Request {
        R::request(changes, validate_only)
    }

    async fn call(
        core: Channel,
        request: tonic::Request<Self::Request>,
    ) -> Answer<Option<R::Item>> {
        <R as Create>::call(core, request).await
    }
}

impl<R: Update, N: Names> Update for Alias<R, N> {
    type Request = <R as Update>::Request;

    fn request(
        key: R::Key,
        changes: super::Changes<R::Input>,
        validate_only: bool,
    ) -> Self::Request {
        R::request(key, changes, validate_only)
    }

    async fn call(
        core: Channel,
        request: tonic::Request<Self::Request>,
    ) -> Answer<Option<R::Item>> {
        <R as Update>::call(core, request).await
    }
}

impl<R: Delete, N: Names> Delete for Alias<R, N> {
    type Request = <R as Delete>::Request;
    const CONFLICT: Option<&'static str> = R::CONFLICT;
    const IN_USE: Option<&'static str> = R::IN_USE;

    fn request(key: R::Key) -> Self::Request {
        R::request(key)
    }

    async fn call(core: Channel, request: tonic::Request<Self::Request>) -> Answer<()> {
        <R as Delete>::call(core, request).await
    }
}
