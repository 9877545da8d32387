//! Proto directory entries → the JSON of the contract, and the types that describe the
//! request bodies in the OpenAPI document.

use crate::base_url::BaseUrl;
use crate::customers::SelfLink;
use lastmile_proto::datetime;
use lastmile_proto::v1::{OrganizationRecord, Partner, UserGroup};
use serde::Serialize;
use utoipa::ToSchema;

/// `2024-01-15T10:30:00.000000Z`: the contract's timestamps, always six fractional digits.
fn timestamp(t: Option<prost_types::Timestamp>) -> Option<String> {
    let t = datetime(&t?)?;
    Some(t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
}

/// A partner (reseller) as the REST API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PartnerJson {
    /// Partner id.
    pub id: i64,
    /// Name, unique among partners (ignoring case).
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Contact e-mail, lower-cased.
    pub contact_email: Option<String>,
    /// Contact phone, normalised.
    pub contact_phone: Option<String>,
    /// RFC 3339 UTC with microseconds.
    #[schema(value_type = String, example = "2024-01-15T10:30:00.000000Z")]
    pub created_at: Option<String>,
    /// RFC 3339 UTC with microseconds.
    #[schema(value_type = String, example = "2024-01-15T10:30:00.000000Z")]
    pub updated_at: Option<String>,
    /// Links to this resource.
    pub links: SelfLink,
}

impl PartnerJson {
    /// The JSON of a partner; links start at `base`.
    pub(crate) fn new(p: Partner, base: &BaseUrl) -> Self {
        Self {
            links: SelfLink {
                self_url: base.join(&format!("/api/v1/partners/{}", p.id)),
            },
            id: p.id,
            name: p.name,
            description: p.description,
            contact_email: p.contact_email,
            contact_phone: p.contact_phone,
            created_at: timestamp(p.created_at),
            updated_at: timestamp(p.updated_at),
        }
    }
}

/// An organization as the REST API shows it (customers show `{id, name}` of theirs).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrganizationRecordJson {
    /// Organization id.
    pub id: i64,
    /// Name, unique among organizations (ignoring case).
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// RFC 3339 UTC with microseconds.
    #[schema(value_type = String, example = "2024-01-15T10:30:00.000000Z")]
    pub created_at: Option<String>,
    /// RFC 3339 UTC with microseconds.
    #[schema(value_type = String, example = "2024-01-15T10:30:00.000000Z")]
    pub updated_at: Option<String>,
    /// Links to this resource.
    pub links: SelfLink,
}

impl OrganizationRecordJson {
    /// The JSON of an organization; links start at `base`.
    pub(crate) fn new(o: OrganizationRecord, base: &BaseUrl) -> Self {
        Self {
            links: SelfLink {
                self_url: base.join(&format!("/api/v1/organizations/{}", o.id)),
            },
            id: o.id,
            name: o.name,
            description: o.description,
            created_at: timestamp(o.created_at),
            updated_at: timestamp(o.updated_at),
        }
    }
}

/// A user group as the REST API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserGroupJson {
    /// User group id.
    pub id: i64,
    /// Name, unique among user groups (ignoring case).
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// RFC 3339 UTC with microseconds.
    #[schema(value_type = String, example = "2024-01-15T10:30:00.000000Z")]
    pub created_at: Option<String>,
    /// RFC 3339 UTC with microseconds.
    #[schema(value_type = String, example = "2024-01-15T10:30:00.000000Z")]
    pub updated_at: Option<String>,
    /// Links to this resource.
    pub links: SelfLink,
}

impl UserGroupJson {
    /// The JSON of a user group; links start at `base`.
    pub(crate) fn new(g: UserGroup, base: &BaseUrl) -> Self {
        Self {
            links: SelfLink {
                self_url: base.join(&format!("/api/v1/user-groups/{}", g.id)),
            },
            id: g.id,
            name: g.name,
            description: g.description,
            created_at: timestamp(g.created_at),
            updated_at: timestamp(g.updated_at),
        }
    }
}

/// `data` of an answer about one partner.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PartnerData {
    /// The partner.
    pub partner: PartnerJson,
}

/// `data` of a partner list.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PartnerListData {
    /// One page of partners.
    pub partners: Vec<PartnerJson>,
}

/// `data` of an answer about one organization.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrganizationData {
    /// The organization.
    pub organization: OrganizationRecordJson,
}

/// `data` of an organization list.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrganizationListData {
    /// One page of organizations.
    pub organizations: Vec<OrganizationRecordJson>,
}

/// `data` of an answer about one user group.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserGroupData {
    /// The user group.
    pub user_group: UserGroupJson,
}

/// `data` of a user group list.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserGroupListData {
    /// One page of user groups.
    pub user_groups: Vec<UserGroupJson>,
}

/// Body of a partner create, PUT and PATCH. On update only the keys present change;
/// `null` clears.
#[derive(Debug, ToSchema)]
#[allow(
    dead_code,
    reason = "describes the request body for the OpenAPI document only"
)]
pub(crate) struct PartnerBody {
    /// Required on create; 2-100 characters; unique among partners, ignoring case.
    name: Option<String>,
    /// Up to 1000 characters.
    description: Option<String>,
    /// A valid e-mail address.
    contact_email: Option<String>,
    /// E.164 or local digits.
    contact_phone: Option<String>,
}

/// Body of an organization create, PUT and PATCH. On update only the keys present change;
/// `null` clears.
#[derive(Debug, ToSchema)]
#[allow(
    dead_code,
    reason = "describes the request body for the OpenAPI document only"
)]
pub(crate) struct OrganizationBody {
    /// Required on create; 2-100 characters; unique among organizations, ignoring case.
    name: Option<String>,
    /// Up to 1000 characters.
    description: Option<String>,
}

/// Body of a user group create, PUT and PATCH. On update only the keys present change;
/// `null` clears.
#[derive(Debug, ToSchema)]
#[allow(
    dead_code,
    reason = "describes the request body for the OpenAPI document only"
)]
pub(crate) struct UserGroupBody {
    /// Required on create; 2-100 characters; unique among user groups, ignoring case.
    name: Option<String>,
    /// Up to 1000 characters.
    description: Option<String>,
}
