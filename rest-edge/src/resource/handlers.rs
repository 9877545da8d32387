//! The handlers every resource shares. Each reads the request, calls the core through the
//! resource's declaration, and wraps the answer in the envelope `E`.

use super::fields::{self, Intent};
use super::{
    Action, Body, Command, Create, Delete, Edit, Envelope, Get, List, ListIn, QueryPairs, Report,
    ReportIn, Resource, Submit, Update,
};
use crate::AppState;
use crate::base_url::BaseUrl;
use crate::credentials::Caller;
use crate::envelope::{ApiError, FieldErrors, PageMetaJson};
use crate::json_input::{self, Fields};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use lastmile_proto::v1::{PageMeta, PageRequest};
use tonic::Status;
use utoipa::openapi::path::Parameter;

type Handled = Result<Response, ApiError>;

fn not_found<R: Resource>() -> ApiError {
    ApiError::not_found(&format!("{} not found", R::TITLE))
}

/// The key named by the path's `{id}`, or a 404.
fn key<R: Resource>(path: Result<Path<String>, PathRejection>) -> Result<R::Key, ApiError> {
    let Ok(Path(segment)) = path else {
        return Err(not_found::<R>());
    };
    R::key(&segment).ok_or_else(not_found::<R>)
}

/// One item answered, or a 500 when the core left it out.
fn one<R: Resource, E: Envelope>(
    status: StatusCode,
    message: &str,
    item: Option<R::Item>,
    base: &BaseUrl,
) -> Handled {
    let item = item.ok_or_else(|| {
        tracing::error!(resource = R::SINGULAR, "the core answered without the item");
        ApiError::internal()
    })?;
    Ok(E::one(status, message, R::SINGULAR, R::view(item, base)))
}

/// The answer to a body with fields of the wrong JSON type. When the core can check a
/// request without acting (`checked`), the client learns every failing field in one round
/// trip; a refusal that is not about fields (401, 403, 404) wins as it is.
pub(crate) fn with_type_errors(
    checked: Option<Result<(), Status>>,
    type_errors: FieldErrors,
) -> ApiError {
    match checked {
        None | Some(Ok(())) => ApiError::validation(type_errors),
        Some(Err(status)) => {
            let mut error = ApiError::from_status(&status);
            match error.body.errors.as_mut() {
                Some(rule_errors) => rule_errors.merge_shadowing(type_errors),
                None if error.status == StatusCode::UNPROCESSABLE_ENTITY => {
                    error = ApiError::validation(type_errors)
                }
                None => {}
            }
            error
        }
    }
}

fn body_changes<R: Body>(
    body: Result<Bytes, BytesRejection>,
    intent: Intent,
) -> Result<(super::Changes<R::Input>, FieldErrors), ApiError> {
    let body = json_input::object(body)?;
    Ok(fields::read(R::FIELDS, &body, intent))
}

/// The query of a list with `filters`: each parameter at most once, and the page asked.
fn list_query(
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    filters: Vec<Parameter>,
) -> Result<(QueryPairs, PageRequest), ApiError> {
    let Query(pairs) = query
        .map_err(|rejection| ApiError::bad_request("Invalid request", rejection.body_text()))?;
    let query = QueryPairs(pairs);
    let known: Vec<Parameter> = super::query::page_parameters()
        .into_iter()
        .chain(filters)
        .collect();
    query.once(known.iter().map(|p| p.name.as_str()))?;
    let page = query.page()?;
    Ok((query, page))
}

/// A page of `R` answered.
fn page<R: Resource, E: Envelope>(
    (items, meta): (Vec<R::Item>, Option<PageMeta>),
    query: &QueryPairs,
    base: &BaseUrl,
) -> Response {
    let views = items.into_iter().map(|item| R::view(item, base)).collect();
    let mut meta = PageMetaJson::from(meta.unwrap_or_default());
    // The core numbers pages in 32 bits; a page asked for beyond that is past the last one,
    // and the answer names the page that was asked for.
    meta.current_page = meta.current_page.max(query.requested_page());
    E::page(R::PLURAL, views, meta)
}

pub(crate) async fn list<R: List, E: Envelope>(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Handled {
    let (query, page_request) = list_query(query, R::filters())?;
    let request = R::request(page_request, &query)?;
    let answer = R::call(state.core.clone(), caller.request(request)?).await?;
    Ok(page::<R, E>(answer, &query, &base))
}

pub(crate) async fn list_in<R: ListIn, E: Envelope>(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Handled {
    let key = key::<R::In>(path)?;
    let (query, page_request) = list_query(query, R::filters())?;
    let request = R::request(key, page_request, &query)?;
    let answer = R::call(state.core.clone(), caller.request(request)?).await?;
    Ok(page::<R, E>(answer, &query, &base))
}

pub(crate) async fn get<R: Get, E: Envelope>(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    path: Result<Path<String>, PathRejection>,
) -> Handled {
    let request = R::request(key::<R>(path)?);
    let item = R::call(state.core.clone(), caller.request(request)?).await?;
    let message = format!("{} retrieved successfully", R::TITLE);
    one::<R, E>(StatusCode::OK, &message, item, &base)
}

pub(crate) async fn create<R: Create, E: Envelope>(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    body: Result<Bytes, BytesRejection>,
) -> Handled {
    let (changes, type_errors) = body_changes::<R>(body, Intent::Create)?;
    if !type_errors.is_empty() {
        let mut checked = None;
        if R::VALIDATES {
            let request = caller.request(R::request(changes, true))?;
            checked = Some(R::call(state.core.clone(), request).await.map(drop));
        }
        return Err(with_type_errors(checked, type_errors));
    }
    let request = caller.request(R::request(changes, false))?;
    let item = R::call(state.core.clone(), request).await?;
    let message = R::MESSAGE.map_or_else(|| E::created(R::TITLE), str::to_owned);
    let status = StatusCode::from_u16(R::STATUS).unwrap_or(StatusCode::CREATED);
    one::<R, E>(status, &message, item, &base)
}

/// A report's query: each of its `parameters` at most once.
fn report_query(
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    parameters: Vec<Parameter>,
) -> Result<QueryPairs, ApiError> {
    let Query(pairs) = query
        .map_err(|rejection| ApiError::bad_request("Invalid request", rejection.body_text()))?;
    let query = QueryPairs(pairs);
    query.once(parameters.iter().map(|p| p.name.as_str()))?;
    Ok(query)
}

pub(crate) async fn report<R: Report, E: Envelope>(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Handled {
    let query = report_query(query, R::parameters())?;
    let request = R::request(&query)?;
    let item = R::call(state.core.clone(), caller.request(request)?).await?;
    let message = format!("{} retrieved successfully", R::TITLE);
    one::<R, E>(StatusCode::OK, &message, item, &base)
}

pub(crate) async fn report_in<R: ReportIn, E: Envelope>(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Handled {
    let key = key::<R::In>(path)?;
    let query = report_query(query, R::parameters())?;
    let request = R::request(key, &query)?;
    let item = R::call(state.core.clone(), caller.request(request)?).await?;
    let message = format!("{} retrieved successfully", R::TITLE);
    one::<R, E>(StatusCode::OK, &message, item, &base)
}

pub(crate) async fn edit<R: Edit, E: Envelope>(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    body: Result<Bytes, BytesRejection>,
) -> Handled {
    let (changes, type_errors) = body_changes::<R>(body, Intent::Update)?;
    if !type_errors.is_empty() {
        let mut checked = None;
        if R::VALIDATES {
            let request = caller.request(R::request(changes, true))?;
            checked = Some(R::call(state.core.clone(), request).await.map(drop));
        }
        return Err(with_type_errors(checked, type_errors));
    }
    let request = caller.request(R::request(changes, false))?;
    let item = R::call(state.core.clone(), request).await?;
    let message = format!("{} updated successfully", R::TITLE);
    one::<R, E>(StatusCode::OK, &message, item, &base)
}

pub(crate) async fn update<R: Update, E: Envelope>(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Handled {
    let key = key::<R>(path)?;
    let (changes, type_errors) = body_changes::<R>(body, Intent::Update)?;
    if !type_errors.is_empty() {
        let mut checked = None;
        if R::VALIDATES {
            let request = caller.request(R::request(key, changes, true))?;
            checked = Some(R::call(state.core.clone(), request).await.map(drop));
        }
        return Err(with_type_errors(checked, type_errors));
    }
    let request = caller.request(R::request(key, changes, false))?;
    let item = R::call(state.core.clone(), request).await?;
    let message = format!("{} updated successfully", R::TITLE);
    one::<R, E>(StatusCode::OK, &message, item, &base)
}

pub(crate) async fn delete<R: Delete>(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let request = R::request(key::<R>(path)?);
    R::call(state.core.clone(), caller.request(request)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `action` and `reason` of an action body, `action` as the proto value: 0 when missing,
/// -1 when unknown, so that the core reports either on the field.
pub(crate) fn action_input<R: Action>(
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<(i32, String), ApiError> {
    let fields = Fields::new(body);
    let mut errors = FieldErrors::default();
    let action = fields.string("action", &mut errors).value();
    let reason = fields.string("reason", &mut errors).value();
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let action = match action {
        None => 0,
        Some(name) => R::ACTIONS
            .iter()
            .find(|(known, ..)| *known == name)
            .map_or(-1, |(_, value, _)| *value),
    };
    Ok((action, reason.unwrap_or_default()))
}

pub(crate) async fn act<R: Action, E: Envelope>(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Handled {
    let key = key::<R>(path)?;
    let (action, reason) = action_input::<R>(&json_input::object(body)?)?;
    let request = caller.request(R::request(key, action, reason))?;
    let item = R::call(state.core.clone(), request).await?;
    let fallback = format!("{} updated successfully", R::TITLE);
    let message = R::ACTIONS
        .iter()
        .find(|(_, value, _)| *value == action)
        .map_or(fallback.as_str(), |(.., message)| message);
    one::<R, E>(StatusCode::OK, message, item, &base)
}

pub(crate) async fn command<C: Command, E: Envelope>(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    path: Result<Path<Vec<(String, String)>>, PathRejection>,
) -> Handled {
    let Ok(Path(segments)) = path else {
        return Err(not_found::<C::On>());
    };
    let mut segments = segments.into_iter().map(|(_, segment)| segment);
    let key = segments
        .next()
        .and_then(|segment| C::On::key(&segment))
        .ok_or_else(not_found::<C::On>)?;
    // Further ids name items inside the first one (a webhook's delivery).
    let ids = segments
        .map(|segment| super::query::path_id(&segment))
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(not_found::<C::Out>)?;
    let request = caller.request(C::request(key, &ids))?;
    let item = C::call(state.core.clone(), request).await?;
    one::<C::Out, E>(StatusCode::OK, C::MESSAGE, item, &base)
}

pub(crate) async fn submit<S: Submit, E: Envelope>(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Handled {
    let key = key::<S::On>(path)?;
    let body = json_input::object(body)?;
    let (changes, type_errors) = fields::read(S::FIELDS, &body, Intent::Create);
    if !type_errors.is_empty() {
        return Err(ApiError::validation(type_errors));
    }
    let request = caller.request(S::request(key, changes))?;
    let item = S::call(state.core.clone(), request).await?;
    let status = StatusCode::from_u16(S::STATUS).unwrap_or(StatusCode::OK);
    one::<S::Out, E>(status, S::MESSAGE, item, &base)
}
