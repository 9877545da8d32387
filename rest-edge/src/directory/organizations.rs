//! `/api/v1/organizations`: organizations customers belong to.

use super::{EntryJson, description_field, directory_calls, name_field};
use crate::base_url::BaseUrl;
use crate::resource::{Body, FieldSpec, Resource};
use lastmile_proto::v1::{
    CreateOrganizationRequest, DeleteOrganizationRequest, GetOrganizationRequest,
    ListOrganizationsRequest, OrganizationInput, OrganizationRecord, UpdateOrganizationRequest,
};

/// The organizations collection.
pub(crate) struct Organizations;

impl Resource for Organizations {
    const PATH: &'static str = "/api/v1/organizations";
    const SINGULAR: &'static str = "organization";
    const PLURAL: &'static str = "organizations";
    const TITLE: &'static str = "Organization";
    const ABOUT: &'static str = "Organizations customers belong to";
    type Item = OrganizationRecord;
    type View = EntryJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        crate::resource::query::path_id(segment)
    }

    fn view(o: OrganizationRecord, base: &BaseUrl) -> EntryJson {
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

super::entry_input!(OrganizationInput);

impl Body for Organizations {
    type Input = OrganizationInput;
    const FIELDS: &'static [FieldSpec<OrganizationInput>] = &[name_field(), description_field()];
}

directory_calls!(
    Organizations,
    OrganizationRecord,
    OrganizationInput,
    organization,
    organizations,
    ListOrganizationsRequest,
    list_organizations,
    GetOrganizationRequest,
    get_organization,
    CreateOrganizationRequest,
    create_organization,
    UpdateOrganizationRequest,
    update_organization,
    DeleteOrganizationRequest,
    delete_organization
);
