//! Proto ↔ domain conversions of the directory, for the gRPC adapter.

use lastmile_proto::timestamp;
use lastmile_proto::v1 as pb;

use super::{Entry, EntryInput};

fn given(text: String) -> Option<String> {
    Some(text).filter(|t| !t.is_empty())
}

impl From<pb::PartnerInput> for EntryInput {
    fn from(p: pb::PartnerInput) -> Self {
        EntryInput {
            name: given(p.name),
            description: p.description,
            contact_email: p.contact_email,
            contact_phone: p.contact_phone,
        }
    }
}

impl From<pb::OrganizationInput> for EntryInput {
    fn from(o: pb::OrganizationInput) -> Self {
        EntryInput {
            name: given(o.name),
            description: o.description,
            ..EntryInput::default()
        }
    }
}

impl From<pb::UserGroupInput> for EntryInput {
    fn from(g: pb::UserGroupInput) -> Self {
        EntryInput {
            name: given(g.name),
            description: g.description,
            ..EntryInput::default()
        }
    }
}

impl From<Entry> for pb::Partner {
    fn from(e: Entry) -> Self {
        pb::Partner {
            id: e.id,
            name: e.fields.name,
            description: e.fields.description,
            contact_email: e.fields.contact_email,
            contact_phone: e.fields.contact_phone,
            created_at: Some(timestamp(e.created_at)),
            updated_at: Some(timestamp(e.updated_at)),
        }
    }
}

impl From<Entry> for pb::OrganizationRecord {
    fn from(e: Entry) -> Self {
        pb::OrganizationRecord {
            id: e.id,
            name: e.fields.name,
            description: e.fields.description,
            created_at: Some(timestamp(e.created_at)),
            updated_at: Some(timestamp(e.updated_at)),
        }
    }
}

impl From<Entry> for pb::UserGroup {
    fn from(e: Entry) -> Self {
        pb::UserGroup {
            id: e.id,
            name: e.fields.name,
            description: e.fields.description,
            created_at: Some(timestamp(e.created_at)),
            updated_at: Some(timestamp(e.updated_at)),
        }
    }
}
