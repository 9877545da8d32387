//! `/api/v1/partners`: resellers.

use super::{description_field, directory_calls, name_field, non_empty};
use crate::base_url::BaseUrl;
use crate::format::{SelfLink, timestamp};
use crate::resource::{Body, FieldSpec, Kind, Resource, Rule, Text};
use lastmile_proto::v1::{
    CreatePartnerRequest, DeletePartnerRequest, GetPartnerRequest, ListPartnersRequest, Partner,
    PartnerInput, UpdatePartnerRequest,
};
use serde::Serialize;
use utoipa::ToSchema;

/// The partners collection.
pub(crate) struct Partners;

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
    // Left out of JSON rendered outside a request (an event's data): no base URL there.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = SelfLink, required = true)]
    pub links: Option<SelfLink>,
}

impl Resource for Partners {
    const PATH: &'static str = "/api/v1/partners";
    const SINGULAR: &'static str = "partner";
    const PLURAL: &'static str = "partners";
    const TITLE: &'static str = "Partner";
    const ABOUT: &'static str = "Resellers that customers may belong to";
    type Item = Partner;
    type View = PartnerJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        crate::resource::query::path_id(segment)
    }

    fn view(p: Partner, base: &BaseUrl) -> PartnerJson {
        PartnerJson {
            links: SelfLink::new(base, Self::PATH, p.id),
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

super::entry_input!(PartnerInput);

impl Body for Partners {
    type Input = PartnerInput;
    const FIELDS: &'static [FieldSpec<PartnerInput>] = &[
        name_field(),
        description_field(),
        FieldSpec {
            name: "contact_email",
            kind: Kind::Text(|p, v| p.contact_email = non_empty(v)),
            nullable: true,
            required: false,
            rule: Rule::text(Text::Email { optional: true }),
            description: "A valid e-mail address; null or empty clears it.",
        },
        FieldSpec {
            name: "contact_phone",
            kind: Kind::Text(|p, v| p.contact_phone = non_empty(v)),
            nullable: true,
            required: false,
            rule: Rule::text(Text::Phone { optional: true }),
            description: "E.164 or local digits; null or empty clears it.",
        },
    ];
}

directory_calls!(
    Partners,
    Partner,
    PartnerInput,
    partner,
    partners,
    ListPartnersRequest,
    list_partners,
    GetPartnerRequest,
    get_partner,
    CreatePartnerRequest,
    create_partner,
    UpdatePartnerRequest,
    update_partner,
    DeletePartnerRequest,
    delete_partner
);
