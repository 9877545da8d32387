//! Mounting a resource: its routes and its part of the document, from one declaration.

use super::doc::{self, Op};
use super::fields::{self, Intent};
use super::handlers;
use super::query;
use super::{
    Action, Body, Create, Delete, Edit, Envelope, Get, List, Report, Resource, Update, V1,
};
use crate::{AppState, ModuleRoutes};
use axum::Router;
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use std::marker::PhantomData;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{ComponentsBuilder, OpenApi, OpenApiBuilder, Paths, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// What one entry of the registration list adds: routes, its part of the document, and
/// its links in discovery (key, path).
pub(crate) struct Entry {
    /// The routes.
    pub routes: ModuleRoutes,
    /// Its part of the OpenAPI document.
    pub doc: OpenApi,
    /// Its top-level collections, for `GET /api/v1`.
    pub links: Vec<(&'static str, &'static str)>,
}

/// A resource being mounted with the envelope `E`: each operation added is routed and
/// described at once.
pub(crate) struct Mount<R, E = V1> {
    path: &'static str,
    routes: Router<AppState>,
    paths: Paths,
    schemas: Vec<(String, RefOr<Schema>)>,
    /// Whether discovery links it (an alias that only takes creates is not a collection).
    listed: bool,
    _resource: PhantomData<fn() -> (R, E)>,
}

/// `api_key` → `ApiKey`: the stem of the resource's schema names.
fn camel(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect()
}

#[path = "mount_within.rs"]
mod within;

/// The `{name}`s of a path.
fn further_ids(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
}

impl<R: Resource> Mount<R> {
    /// The resource at its own path in the contract's envelope.
    pub(crate) fn new() -> Self {
        Self::at(R::PATH)
    }

    /// Every operation of a plain collection: list, create, get, update and delete.
    pub(crate) fn crud() -> Self
    where
        R: List + Create + Get + Update + Delete,
    {
        Self::new().list().create().get().update().delete()
    }
}

impl<R: Resource, E: Envelope> Mount<R, E> {
    /// The resource at `path` (an alias serves the same resource under another path).
    pub(crate) fn at(path: &'static str) -> Self {
        let mut schemas = vec![(R::View::name().into_owned(), R::View::schema())];
        R::View::schemas(&mut schemas);
        Self {
            path,
            routes: Router::new(),
            paths: Paths::new(),
            schemas,
            listed: true,
            _resource: PhantomData,
        }
    }

    fn item_path(&self) -> String {
        format!("{}/{{{}}}", self.path, R::ID_NAME)
    }

    fn add(
        mut self,
        path: String,
        method: HttpMethod,
        router: MethodRouter<AppState>,
        op: Operation,
    ) -> Self {
        self.routes = self.routes.route(&path, router);
        self.paths.add_path_operation(path, vec![method], op);
        self
    }

    fn schema(&mut self, name: String, schema: Schema) -> String {
        self.schemas.push((name.clone(), RefOr::T(schema)));
        name
    }

    fn answer(&mut self) -> String {
        self.answer_of::<R>()
    }

    /// The answer of one item of `T` (this resource or one inside it), with `T`'s schemas.
    fn answer_of<T: Resource>(&mut self) -> String {
        self.view_schemas::<T>();
        let schema = E::one_schema(T::SINGULAR, &T::View::name());
        // Named by the stem: two resources may answer under one key with different views.
        self.schema(format!("{}Answer", camel(T::STEM)), schema)
    }

    /// The schemas of `T`'s view, once.
    fn view_schemas<T: Resource>(&mut self) {
        let name = T::View::name().into_owned();
        if self.schemas.iter().all(|(known, _)| *known != name) {
            self.schemas.push((name, T::View::schema()));
            T::View::schemas(&mut self.schemas);
        }
    }

    /// An operation of the resource. Mounted at an alias (a path other than its own), the
    /// operation gets an id of its own (the alias's segments appended) and says where the
    /// resource lives, as [`super::alias_paths`] does for documented paths.
    fn op(&self, id: String, summary: String) -> Op<'static> {
        let (id, summary) = if self.path == R::PATH {
            (id, summary)
        } else {
            (
                format!("{id}_at_{}", doc::alias_suffix(self.path)),
                format!("{summary} (also at {})", R::PATH),
            )
        };
        Op {
            id,
            tag: R::PATH.rsplit('/').next().unwrap_or(R::PLURAL),
            summary,
            parameters: Vec::new(),
            body: None,
            success: (200, String::new(), None),
            errors: Vec::new(),
        }
    }

    /// `GET {path}`.
    pub(crate) fn list(mut self) -> Self
    where
        R: List,
    {
        let page = E::page_schema(R::PLURAL, &R::View::name());
        let page = self.schema(format!("{}Page", camel(R::SINGULAR)), page);
        let mut op = self.op(
            format!("list_{}", R::PLURAL),
            format!("Lists {}, a page at a time.", R::PLURAL.replace('_', " ")),
        );
        op.parameters = query::page_parameters()
            .into_iter()
            .chain(R::filters())
            .collect();
        op.success = (
            200,
            format!("One page of {}", R::PLURAL.replace('_', " ")),
            Some(page),
        );
        op.errors = vec![(400, "Bad query parameter".to_owned())];
        let path = self.path.to_owned();
        self.add(
            path,
            HttpMethod::Get,
            get(handlers::list::<R, E>),
            doc::operation(op),
        )
    }

    /// `GET {path}`: one item computed from the query.
    pub(crate) fn report(mut self) -> Self
    where
        R: Report,
    {
        let answer = self.answer();
        let mut op = self.op(
            format!("get_{}", R::STEM),
            format!("Returns the {}.", R::TITLE.to_lowercase()),
        );
        op.parameters = R::parameters();
        op.success = (
            200,
            format!("The {}", R::TITLE.to_lowercase()),
            Some(answer),
        );
        op.errors = vec![
            (400, "Bad query parameter".to_owned()),
            (422, "A parameter out of range".to_owned()),
        ];
        let path = self.path.to_owned();
        self.add(
            path,
            HttpMethod::Get,
            get(handlers::report::<R, E>),
            doc::operation(op),
        )
    }

    /// `PUT` and `PATCH {path}`: the one item of a resource that is one item.
    pub(crate) fn edit(mut self) -> Self
    where
        R: Edit,
    {
        let answer = self.answer();
        let body = self.body_schema(Intent::Update);
        let path = self.path.to_owned();
        for (method, verb, router) in [
            (HttpMethod::Put, "replace", put(handlers::edit::<R, E>)),
            (HttpMethod::Patch, "update", patch(handlers::edit::<R, E>)),
        ] {
            let mut op = self.op(
                format!("{verb}_{}", R::STEM),
                "Changes the fields present in the body. PUT and PATCH alike.".to_owned(),
            );
            op.body = Some((body.clone(), false));
            op.success = (
                200,
                format!("The {} after the change", R::TITLE.to_lowercase()),
                Some(answer.clone()),
            );
            op.errors = vec![
                (400, "Malformed JSON".to_owned()),
                (422, "Validation failed".to_owned()),
            ];
            self = self.add(path.clone(), method, router, doc::operation(op));
        }
        self
    }

    /// `GET {path}/{id}`.
    pub(crate) fn get(mut self) -> Self
    where
        R: Get,
    {
        let answer = self.answer();
        let mut op = self.op(
            format!("get_{}", R::STEM),
            format!("Returns one {}.", R::TITLE.to_lowercase()),
        );
        op.parameters = vec![doc::id::<R>()];
        op.success = (
            200,
            format!("The {}", R::TITLE.to_lowercase()),
            Some(answer),
        );
        op.errors = vec![(404, format!("{} not found", R::TITLE))];
        let path = self.item_path();
        self.add(
            path,
            HttpMethod::Get,
            get(handlers::get::<R, E>),
            doc::operation(op),
        )
    }

    fn body_schema(&mut self, intent: Intent) -> String
    where
        R: Body,
    {
        let (suffix, about) = match intent {
            Intent::Create => (
                "Create",
                "A new item; fields marked required must be given.",
            ),
            Intent::Update => (
                "Changes",
                "Only the keys present change; `null` clears a nullable field.",
            ),
        };
        let schema = fields::schema_with(R::FIELDS, intent, about, R::WHEN);
        self.schema(format!("{}{suffix}", camel(R::SINGULAR)), schema)
    }

    /// `POST {path}`.
    pub(crate) fn create(mut self) -> Self
    where
        R: Create,
    {
        let answer = self.answer();
        let body = self.body_schema(Intent::Create);
        let mut op = self.op(
            format!("create_{}", R::STEM),
            format!(
                "Creates a {}. Honours `Idempotency-Key`.",
                R::TITLE.to_lowercase()
            ),
        );
        op.parameters = vec![doc::idempotency_key()];
        // A body without fields may be left out: it is read as `{}`.
        op.body = Some((body, !R::FIELDS.is_empty()));
        op.success = match R::MESSAGE {
            Some(message) => (R::STATUS, message.to_owned(), Some(answer)),
            None => (R::STATUS, format!("{} created", R::TITLE), Some(answer)),
        };
        op.errors = vec![
            (400, "Malformed JSON or bad Idempotency-Key".to_owned()),
            (422, "Validation failed, or idempotency conflict".to_owned()),
        ];
        let path = self.path.to_owned();
        self.add(
            path,
            HttpMethod::Post,
            post(handlers::create::<R, E>),
            doc::operation(op),
        )
    }

    /// `PUT` and `PATCH {path}/{id}` (the same: the keys present change).
    pub(crate) fn update(mut self) -> Self
    where
        R: Update,
    {
        let answer = self.answer();
        let body = self.body_schema(Intent::Update);
        let path = self.item_path();
        for (method, verb, router) in [
            (HttpMethod::Put, "replace", put(handlers::update::<R, E>)),
            (HttpMethod::Patch, "update", patch(handlers::update::<R, E>)),
        ] {
            let mut op = self.op(format!("{verb}_{}", R::STEM), "Changes the fields present in the body; `null` clears a nullable field. PUT and PATCH alike.".to_owned());
            op.parameters = vec![doc::id::<R>()];
            op.body = Some((body.clone(), false));
            op.success = (
                200,
                format!("The {} after the change", R::TITLE.to_lowercase()),
                Some(answer.clone()),
            );
            op.errors = vec![
                (400, "Malformed JSON".to_owned()),
                (404, format!("{} not found", R::TITLE)),
                (
                    409,
                    "Its state does not allow the change (e.g. it is closed or terminated)"
                        .to_owned(),
                ),
                (422, "Validation failed".to_owned()),
            ];
            self = self.add(path.clone(), method, router, doc::operation(op));
        }
        self
    }

    /// `DELETE {path}/{id}`.
    pub(crate) fn delete(self) -> Self
    where
        R: Delete,
    {
        let mut op = self.op(
            format!("delete_{}", R::STEM),
            format!("Deletes a {}.", R::TITLE.to_lowercase()),
        );
        op.parameters = vec![doc::id::<R>()];
        op.success = (204, "Deleted".to_owned(), None);
        op.errors = vec![(404, format!("{} not found", R::TITLE))];
        if let Some(conflict) = R::CONFLICT {
            op.errors.push((409, conflict.to_owned()));
        }
        if let Some(in_use) = R::IN_USE {
            op.errors.push((422, in_use.to_owned()));
        }
        let path = self.item_path();
        self.add(
            path,
            HttpMethod::Delete,
            delete(handlers::delete::<R>),
            doc::operation(op),
        )
    }

    /// `POST {path}/{id}/action`.
    pub(crate) fn action(mut self) -> Self
    where
        R: Action,
    {
        let answer = self.answer();
        let names: Vec<&str> = R::ACTIONS.iter().map(|(name, ..)| *name).collect();
        let body = fields::action_schema(&names);
        let body = self.schema(format!("{}ActionBody", camel(R::SINGULAR)), body);
        let mut op = self.op(
            format!("{}_action", R::STEM),
            format!(
                "{} the {}. Honours `Idempotency-Key`.",
                names.join(", "),
                R::TITLE.to_lowercase()
            ),
        );
        op.parameters = vec![doc::id::<R>(), doc::idempotency_key()];
        op.body = Some((body, true));
        op.success = (
            200,
            format!("The {} after the action", R::TITLE.to_lowercase()),
            Some(answer),
        );
        op.errors = vec![
            (400, "Malformed JSON or bad Idempotency-Key".to_owned()),
            (404, format!("{} not found", R::TITLE)),
            (409, "Not possible in the current state".to_owned()),
            (422, "Validation failed".to_owned()),
        ];
        let path = format!("{}/action", self.item_path());
        self.add(
            path,
            HttpMethod::Post,
            post(handlers::act::<R, E>),
            doc::operation(op),
        )
    }

    /// Links from the answer of a create to every operation on the item it made, so that a
    /// client (or a stateful test) can follow the new id.
    fn link_create(&mut self) {
        let collection = self.path.to_owned();
        let item = self.item_path();
        let mut targets = Vec::new();
        for (path, entry) in &self.paths.paths {
            if *path != item && !path.starts_with(&format!("{item}/")) {
                continue;
            }
            // An operation that also needs an id the new item's answer cannot give.
            if further_ids(&path[item.len()..]).next().is_some() {
                continue;
            }
            let operations = [
                &entry.get,
                &entry.put,
                &entry.patch,
                &entry.post,
                &entry.delete,
            ];
            for operation in operations.into_iter().flatten() {
                if let Some(id) = &operation.operation_id {
                    targets.push(id.clone());
                }
            }
        }
        let Some(create) = self
            .paths
            .paths
            .get_mut(&collection)
            .and_then(|entry| entry.post.as_mut())
        else {
            return;
        };
        let Some(RefOr::T(created)) = create.responses.responses.get_mut("201") else {
            return;
        };
        let id = format!("$response.body#{}", E::id_pointer(R::SINGULAR));
        for target in targets {
            let link = LinkBuilder::new()
                .operation_id(target.clone())
                .parameter("id", id.clone())
                .description(format!("The new item's `{target}`."))
                .build();
            created.links.insert(target, RefOr::T(link));
        }
    }

    /// The key of the path's link in discovery: the resource's, or at an alias the alias's
    /// last segment (`/api/v1/servers` is `servers`).
    fn link(&self) -> &'static str {
        if self.path == R::PATH {
            return R::LINK;
        }
        self.path.rsplit('/').next().unwrap_or(R::LINK)
    }

    /// Not linked from discovery: a path that only takes creates for a collection served
    /// elsewhere (`POST /api/v1/billing/invoices`).
    pub(crate) fn unlisted(mut self) -> Self {
        self.listed = false;
        self
    }

    /// The entry for the registration list.
    pub(crate) fn entry(mut self) -> Entry {
        self.link_create();
        let link = self.link();
        let tag = TagBuilder::new()
            .name(R::PATH.rsplit('/').next().unwrap_or(R::PLURAL))
            .description(Some(R::ABOUT))
            .build();
        let components = ComponentsBuilder::new()
            .schemas_from_iter(self.schemas)
            .build();
        let doc = OpenApiBuilder::new()
            .paths(self.paths)
            .components(Some(components))
            .tags(Some([tag]))
            .build();
        Entry {
            routes: ModuleRoutes {
                protected: self.routes,
                public: Router::new(),
            },
            doc,
            links: if self.listed {
                vec![(link, self.path)]
            } else {
                Vec::new()
            },
        }
    }
}
