//! `/api/v1/users`: staff accounts. Admins only (managers may read), per the core's table.

use super::client;
use super::output::UserJson;
use crate::base_url::BaseUrl;
use crate::core_channel::Channel;
use crate::envelope::ApiError;
use crate::resource::fields::When;
use crate::resource::query::path_id;
use crate::resource::{
    Answer, Body, Changes, Create, Delete, FieldSpec, Get, Kind, List, QueryPairs, Resource, Rule,
    Text, Update, enum_number,
};
use lastmile_proto::RestName;
use lastmile_proto::v1::{
    CreateUserRequest, DeleteUserRequest, GetUserRequest, ListUsersRequest, PageMeta, PageRequest,
    Role, UpdateUserRequest, User,
};
use utoipa::openapi::path::Parameter;

/// The users collection.
pub(crate) struct Users;

impl Resource for Users {
    const PATH: &'static str = "/api/v1/users";
    const SINGULAR: &'static str = "user";
    const PLURAL: &'static str = "users";
    const TITLE: &'static str = "User";
    const ABOUT: &'static str = "Staff accounts (admins only)";
    type Item = User;
    type View = UserJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(user: User, _: &BaseUrl) -> UserJson {
        UserJson::from(user)
    }
}

impl List for Users {
    type Request = ListUsersRequest;

    fn filters() -> Vec<Parameter> {
        Vec::new()
    }

    fn request(page: PageRequest, _: &QueryPairs) -> Result<ListUsersRequest, ApiError> {
        Ok(ListUsersRequest { page: Some(page) })
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListUsersRequest>,
    ) -> Answer<(Vec<User>, Option<PageMeta>)> {
        let answer = client(core).list_users(request).await?.into_inner();
        Ok((answer.users, answer.meta))
    }
}

impl Get for Users {
    type Request = GetUserRequest;

    fn request(id: i64) -> GetUserRequest {
        GetUserRequest { id }
    }

    async fn call(core: Channel, request: tonic::Request<GetUserRequest>) -> Answer<Option<User>> {
        Ok(client(core).get_user(request).await?.into_inner().user)
    }
}

const fn text(
    name: &'static str,
    set: fn(&mut UpdateUserRequest, Option<String>),
    rule: Rule,
    description: &'static str,
) -> FieldSpec<UpdateUserRequest> {
    FieldSpec {
        name,
        kind: Kind::Text(set),
        nullable: false,
        required: true,
        rule,
        description,
    }
}

/// The body of a create or an update: each key present is `Some` (the core applies only
/// those on update; missing ones on create are the core's to report).
impl Body for Users {
    type Input = UpdateUserRequest;
    const VALIDATES: bool = false;
    const WHEN: &'static [When] = &[When {
        field: "role",
        value: "reseller",
        then: "partner_id",
    }];
    const FIELDS: &'static [FieldSpec<UpdateUserRequest>] = &[
        text(
            "name",
            |u, v| u.name = v,
            Rule::length(1, 100),
            "Full name.",
        ),
        text(
            "email",
            |u, v| u.email = v,
            Rule::text(Text::Email { optional: false }),
            "Login e-mail, unique ignoring case.",
        ),
        text(
            "password",
            |u, v| u.password = v,
            Rule::text(Text::Password),
            "Must satisfy the password policy (`GET /api/security-settings`).",
        ),
        FieldSpec {
            name: "role",
            kind: Kind::OneOf(Role::NAMES, |u, v| {
                u.role = v.map(|name| enum_number::<Role>(&name));
            }),
            nullable: false,
            required: true,
            rule: Rule::NONE,
            description: "Nobody changes their own role.",
        },
        FieldSpec {
            name: "partner_id",
            // null removes the partner (0 to the core); an id below 1 names no partner (-1,
            // which the core reports as invalid, never 0, which would remove it).
            kind: Kind::Integer(|u, v| u.partner_id = Some(v.map_or(0, partner_reference))),
            nullable: true,
            required: false,
            rule: Rule::REFERENCE,
            description: "Required for resellers; null removes it.",
        },
        FieldSpec {
            name: "active",
            kind: Kind::Boolean(|u, v| u.active = v),
            nullable: true,
            required: false,
            rule: Rule::NONE,
            description: "Whether the user can sign in. Defaults to true.",
        },
    ];
}

/// A partner id as the core gets it: below 1 it names no partner.
fn partner_reference(id: i64) -> i64 {
    if id > 0 { id } else { -1 }
}

impl Create for Users {
    type Request = CreateUserRequest;

    fn request(changes: Changes<UpdateUserRequest>, _: bool) -> CreateUserRequest {
        let u = changes.input;
        CreateUserRequest {
            name: u.name.unwrap_or_default(),
            email: u.email.unwrap_or_default(),
            password: u.password.unwrap_or_default(),
            role: u.role.unwrap_or_default(),
            partner_id: u.partner_id.filter(|id| *id != 0),
            active: u.active,
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<CreateUserRequest>,
    ) -> Answer<Option<User>> {
        Ok(client(core).create_user(request).await?.into_inner().user)
    }
}

impl Update for Users {
    type Request = UpdateUserRequest;

    fn request(id: i64, changes: Changes<UpdateUserRequest>, _: bool) -> UpdateUserRequest {
        UpdateUserRequest {
            id,
            ..changes.input
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<UpdateUserRequest>,
    ) -> Answer<Option<User>> {
        Ok(client(core).update_user(request).await?.into_inner().user)
    }
}

impl Delete for Users {
    type Request = DeleteUserRequest;
    const CONFLICT: Option<&'static str> = Some("Deleting oneself");

    /// They can no longer sign in, and their tokens and keys stop working.
    fn request(id: i64) -> DeleteUserRequest {
        DeleteUserRequest { id }
    }

    async fn call(core: Channel, request: tonic::Request<DeleteUserRequest>) -> Answer<()> {
        client(core).delete_user(request).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::fields::{Intent, read};
    use serde_json::json;

    #[test]
    fn a_partner_id_below_one_is_invalid_never_another_partner_or_none() {
        for given in [json!(0), json!(-7)] {
            let body = json!({ "partner_id": given });
            let (changes, errors) = read(Users::FIELDS, body.as_object().unwrap(), Intent::Update);
            let messages = errors.get("partner_id").unwrap();
            assert_eq!(messages, ["The selected partner id is invalid."]);
            assert_eq!(changes.input.partner_id, None, "{given}");
        }
        for (given, sent) in [(json!(3), 3), (json!(null), 0)] {
            let body = json!({ "partner_id": given });
            let (changes, errors) = read(Users::FIELDS, body.as_object().unwrap(), Intent::Update);
            assert!(errors.is_empty());
            assert_eq!(changes.input.partner_id, Some(sent), "{given}");
        }
    }
}
