//! `/api/v1/user-groups`: user groups customers are in.

use super::{EntryJson, description_field, directory_calls, name_field};
use crate::base_url::BaseUrl;
use crate::resource::{Body, FieldSpec, Resource};
use lastmile_proto::v1::{
    CreateUserGroupRequest, DeleteUserGroupRequest, GetUserGroupRequest, ListUserGroupsRequest,
    UpdateUserGroupRequest, UserGroup, UserGroupInput,
};

/// The user groups collection.
pub(crate) struct UserGroups;

impl Resource for UserGroups {
    const PATH: &'static str = "/api/v1/user-groups";
    const SINGULAR: &'static str = "user_group";
    const PLURAL: &'static str = "user_groups";
    const TITLE: &'static str = "User group";
    const ABOUT: &'static str = "User groups customers are in";
    type Item = UserGroup;
    type View = EntryJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        crate::resource::query::path_id(segment)
    }

    fn view(o: UserGroup, base: &BaseUrl) -> EntryJson {
        EntryJson::new(
            base,
            Self::PATH,
            o.id,
            o.name,
            o.description,
            [o.created_at, o.updated_at],
        )
    }
}

super::entry_input!(UserGroupInput);

impl Body for UserGroups {
    type Input = UserGroupInput;
    const FIELDS: &'static [FieldSpec<UserGroupInput>] = &[name_field(), description_field()];
}

directory_calls!(
    UserGroups,
    UserGroup,
    UserGroupInput,
    user_group,
    user_groups,
    ListUserGroupsRequest,
    list_user_groups,
    GetUserGroupRequest,
    get_user_group,
    CreateUserGroupRequest,
    create_user_group,
    UpdateUserGroupRequest,
    update_user_group,
    DeleteUserGroupRequest,
    delete_user_group
);
