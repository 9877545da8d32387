//! Mounting what lives under one item beyond get, update and delete: commands
//! (`POST …/{id}/retry`) and collections inside it (`GET …/{id}/deliveries`).

use super::doc;
use super::{Mount, camel, further_ids};
use crate::resource::fields::{self, Intent};
use crate::resource::{Command, Envelope, ListIn, ReportIn, Resource, Submit, handlers, query};
use axum::routing::{get, post};
use utoipa::ToSchema;
use utoipa::openapi::path::HttpMethod;

impl<R: Resource, E: Envelope> Mount<R, E> {
    /// `POST {path}/{id}/{C::PATH}`.
    pub(crate) fn command<C: Command<On = R>>(mut self) -> Self {
        let answer = self.answer_of::<C::Out>();
        let mut op = self.op(
            C::OPERATION.to_owned(),
            format!("{} Honours `Idempotency-Key`.", C::SUMMARY),
        );
        op.parameters = vec![doc::id::<R>()];
        for name in further_ids(C::PATH) {
            let about = format!(
                "The {} (a positive 64-bit integer; anything else is a 404).",
                name.replace('_', " ")
            );
            op.parameters.push(query::id_path_parameter(name, &about));
        }
        op.parameters.push(doc::idempotency_key());
        op.success = (200, C::MESSAGE.to_owned(), Some(answer));
        let missing = match further_ids(C::PATH).next() {
            None => format!("{} not found", R::TITLE),
            Some(_) => format!("{} or {} not found", R::TITLE, C::Out::TITLE.to_lowercase()),
        };
        op.errors = vec![
            (400, "Bad Idempotency-Key".to_owned()),
            (404, missing),
            (
                422,
                "Idempotency key reused with a different request".to_owned(),
            ),
        ];
        op.errors
            .extend(C::ERRORS.iter().map(|(s, d)| (*s, (*d).to_owned())));
        let path = format!("{}/{}", self.item_path(), C::PATH);
        self.add(
            path,
            HttpMethod::Post,
            post(handlers::command::<C, E>),
            doc::operation(op),
        )
    }

    /// `POST {path}/{id}/{S::PATH}` with a body.
    pub(crate) fn submit<S: Submit<On = R>>(mut self) -> Self {
        let answer = self.answer_of::<S::Out>();
        let schema = fields::schema_with(
            S::FIELDS,
            Intent::Create,
            "Fields marked required must be given.",
            &[],
        );
        let body = self.schema(
            format!("{}Body", camel(&S::OPERATION.replace('-', "_"))),
            schema,
        );
        let mut op = self.op(
            S::OPERATION.to_owned(),
            format!("{} Honours `Idempotency-Key`.", S::SUMMARY),
        );
        op.parameters = vec![doc::id::<R>(), doc::idempotency_key()];
        op.body = Some((body, true));
        op.success = (S::STATUS, S::MESSAGE.to_owned(), Some(answer));
        op.errors = vec![
            (400, "Malformed JSON or bad Idempotency-Key".to_owned()),
            (404, format!("{} not found", R::TITLE)),
            (422, "Validation failed".to_owned()),
        ];
        op.errors
            .extend(S::ERRORS.iter().map(|(s, d)| (*s, (*d).to_owned())));
        let path = format!("{}/{}", self.item_path(), S::PATH);
        self.add(
            path,
            HttpMethod::Post,
            post(handlers::submit::<S, E>),
            doc::operation(op),
        )
    }

    /// `GET {path}/{id}/{P::SEGMENT}`: one item computed for the item.
    pub(crate) fn report_in<P: ReportIn<In = R>>(mut self) -> Self {
        let answer = self.answer_of::<P>();
        let mut op = self.op(
            format!("get_{}_{}", R::STEM, P::SEGMENT.replace('-', "_")),
            format!(
                "Returns the {} of one {}.",
                P::TITLE.to_lowercase(),
                R::TITLE.to_lowercase()
            ),
        );
        op.parameters = [doc::id::<R>()]
            .into_iter()
            .chain(P::parameters())
            .collect();
        op.success = (
            200,
            format!("The {}", P::TITLE.to_lowercase()),
            Some(answer),
        );
        op.errors = vec![
            (400, "Bad query parameter".to_owned()),
            (404, format!("{} not found", R::TITLE)),
        ];
        let path = format!("{}/{}", self.item_path(), P::SEGMENT);
        self.add(
            path,
            HttpMethod::Get,
            get(handlers::report_in::<P, E>),
            doc::operation(op),
        )
    }

    /// `GET {path}/{id}/{L::SEGMENT}`.
    pub(crate) fn list_in<L: ListIn<In = R>>(mut self) -> Self {
        self.view_schemas::<L>();
        let page = E::page_schema(L::PLURAL, &L::View::name());
        let page = self.schema(format!("{}Page", camel(L::SINGULAR)), page);
        let mut op = self.op(
            format!("list_{}_{}", R::STEM, L::SEGMENT.replace('-', "_")),
            format!(
                "Lists the {} of one {}, a page at a time.",
                L::PLURAL.replace('_', " "),
                R::TITLE.to_lowercase()
            ),
        );
        op.parameters = [doc::id::<R>()]
            .into_iter()
            .chain(query::page_parameters())
            .chain(L::filters())
            .collect();
        op.success = (
            200,
            format!("One page of {}", L::PLURAL.replace('_', " ")),
            Some(page),
        );
        op.errors = vec![
            (400, "Bad query parameter".to_owned()),
            (404, format!("{} not found", R::TITLE)),
        ];
        let path = format!("{}/{}", self.item_path(), L::SEGMENT);
        self.add(
            path,
            HttpMethod::Get,
            get(handlers::list_in::<L, E>),
            doc::operation(op),
        )
    }
}
