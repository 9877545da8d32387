//! How an answer is wrapped. The contract's `/api/v1` envelope is [`V1`]; a client family
//! with another envelope gets its own implementation and mounts the same resources with
//! it, so the handlers are never copied.

use crate::envelope::PageMetaJson;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::ser::SerializeMap;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};

/// The wrapping of successful answers, and its description in the document.
pub(crate) trait Envelope: Send + Sync + 'static {
    /// One item, stored under `key`.
    fn one<T: Serialize>(status: StatusCode, message: &str, key: &str, item: T) -> Response;
    /// A page of items under `key`, with where it sits in the list.
    fn page<T: Serialize>(key: &str, items: Vec<T>, meta: PageMetaJson) -> Response;
    /// The schema of [`Envelope::one`] around a schema named `item`.
    fn one_schema(key: &str, item: &str) -> Schema;
    /// The schema of [`Envelope::page`] around a schema named `item`.
    fn page_schema(key: &str, item: &str) -> Schema;
    /// The JSON pointer of the id of the item in the body of [`Envelope::one`].
    fn id_pointer(key: &str) -> String;
    /// The message of a create's answer for a resource called `title`.
    fn created(title: &str) -> String {
        format!("{title} created successfully")
    }
}

/// The envelope of clients that read the item itself under `data`:
/// `{"success": true, "message": "Client created", "data": {"id": …, …}}`, and for lists
/// `{"success", "message": "OK", "data": […], "meta": {…}}`.
pub(crate) struct Flat;

#[derive(Serialize)]
struct FlatBody<'a, T> {
    success: bool,
    message: &'a str,
    data: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    meta: Option<PageMetaJson>,
}

/// `{success, message, data}`.
fn flat_wrapper(message: &str, data: RefOr<Schema>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "success",
            ObjectBuilder::new()
                .schema_type(Type::Boolean)
                .description(Some("Always true.")),
        )
        .property(
            "message",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(message)),
        )
        .property("data", data)
        .required("success")
        .required("message")
        .required("data")
}

impl Envelope for Flat {
    fn one<T: Serialize>(status: StatusCode, message: &str, _: &str, data: T) -> Response {
        let body = FlatBody {
            success: true,
            message,
            data,
            meta: None,
        };
        (status, Json(body)).into_response()
    }

    fn page<T: Serialize>(_: &str, items: Vec<T>, meta: PageMetaJson) -> Response {
        let body = FlatBody {
            success: true,
            message: "OK",
            data: items,
            meta: Some(meta),
        };
        Json(body).into_response()
    }

    fn id_pointer(_: &str) -> String {
        "/data/id".to_owned()
    }

    fn created(title: &str) -> String {
        format!("{title} created")
    }

    fn one_schema(_: &str, item: &str) -> Schema {
        Schema::Object(flat_wrapper("What happened.", reference(item).into()).build())
    }

    fn page_schema(_: &str, item: &str) -> Schema {
        let items = ArrayBuilder::new().items(reference(item)).build();
        let object = flat_wrapper("Always \"OK\".", RefOr::T(Schema::Array(items)))
            .property("meta", reference("PageMetaJson"))
            .required("meta");
        Schema::Object(object.build())
    }
}

/// `{"success": true, "message": …, "data": {"<singular>": …}}`, and for lists
/// `{"success", "message": "OK", "data": {"<plural>": […]}, "meta": {…}}`.
pub(crate) struct V1;

/// A map of one entry, serialized without building a map.
struct Keyed<'a, T> {
    key: &'a str,
    value: T,
}

impl<T: Serialize> Serialize for Keyed<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(self.key, &self.value)?;
        map.end()
    }
}

#[derive(Serialize)]
struct One<'a, T> {
    success: bool,
    message: &'a str,
    data: Keyed<'a, T>,
}

#[derive(Serialize)]
struct Page<'a, T> {
    success: bool,
    message: &'a str,
    data: Keyed<'a, Vec<T>>,
    meta: PageMetaJson,
}

fn reference(name: &str) -> Ref {
    Ref::from_schema_name(name)
}

/// `{success, message, data: {<key>: item}}`: the item under its key.
fn wrapper(message: &str, key: &str, item: RefOr<Schema>) -> ObjectBuilder {
    let data = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(key, item)
        .required(key)
        .build();
    flat_wrapper(message, RefOr::T(Schema::Object(data)))
}

impl Envelope for V1 {
    fn one<T: Serialize>(status: StatusCode, message: &str, key: &str, value: T) -> Response {
        let body = One {
            success: true,
            message,
            data: Keyed { key, value },
        };
        (status, Json(body)).into_response()
    }

    fn page<T: Serialize>(key: &str, items: Vec<T>, meta: PageMetaJson) -> Response {
        let body = Page {
            success: true,
            message: "OK",
            data: Keyed { key, value: items },
            meta,
        };
        Json(body).into_response()
    }

    fn id_pointer(key: &str) -> String {
        format!("/data/{key}/id")
    }

    fn one_schema(key: &str, item: &str) -> Schema {
        Schema::Object(wrapper("What happened.", key, reference(item).into()).build())
    }

    fn page_schema(key: &str, item: &str) -> Schema {
        let items = ArrayBuilder::new().items(reference(item)).build();
        let object = wrapper("Always \"OK\".", key, RefOr::T(Schema::Array(items)))
            .property("meta", reference("PageMetaJson"))
            .required("meta");
        Schema::Object(object.build())
    }
}
