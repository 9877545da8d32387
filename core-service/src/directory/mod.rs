//! The directory customers reference: partners (resellers), organizations and user groups.
//!
//! The three kinds share one shape (a name unique among live entries of the kind, ignoring
//! case, and a description; partners also carry contact details) and one set of rules, so
//! they share one implementation, parameterised by [`Kind`]. `input` holds the field rules,
//! `list` pages and sorting, `service` the operations, `store` the SQL, and `grpc` (with
//! `convert`) the adapter.

mod convert;
pub mod grpc;
pub mod input;
pub mod list;
pub mod service;
mod store;

use chrono::{DateTime, Utc};

pub use input::{EntryField, EntryInput};
pub use list::{DirectoryQuery, SortColumn};
pub use service::Directory;

/// One kind of directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A reseller.
    Partner,
    /// An organization customers belong to.
    Organization,
    /// A user group customers are in.
    UserGroup,
}

impl Kind {
    /// The table holding entries of this kind (a closed list, never client text).
    fn table(self) -> &'static str {
        match self {
            Kind::Partner => "partners",
            Kind::Organization => "organizations",
            Kind::UserGroup => "user_groups",
        }
    }

    /// The audit log's resource type, also the prefix of its actions.
    pub fn resource_type(self) -> &'static str {
        match self {
            Kind::Partner => "partner",
            Kind::Organization => "organization",
            Kind::UserGroup => "user_group",
        }
    }

    /// The kind as a sentence names it ("user group").
    pub fn label(self) -> &'static str {
        match self {
            Kind::Partner => "partner",
            Kind::Organization => "organization",
            Kind::UserGroup => "user group",
        }
    }

    /// The subject of "… not found".
    pub fn not_found_name(self) -> &'static str {
        match self {
            Kind::Partner => "Partner",
            Kind::Organization => "Organization",
            Kind::UserGroup => "User group",
        }
    }

    /// Whether entries of this kind carry contact details (only partners do).
    pub fn has_contact(self) -> bool {
        self == Kind::Partner
    }
}

/// The writable fields of an entry, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryFields {
    /// Name, 2–100 characters, trimmed.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Lower-cased contact e-mail (partners only).
    pub contact_email: Option<String>,
    /// Normalised contact phone (partners only).
    pub contact_phone: Option<String>,
}

/// A live directory entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its kind.
    pub kind: Kind,
    /// Id.
    pub id: i64,
    /// The writable fields.
    pub fields: EntryFields,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Entry {
    /// The entry's fields as the audit log records them.
    pub fn audit_view(&self) -> serde_json::Map<String, serde_json::Value> {
        let f = &self.fields;
        let mut map = serde_json::Map::new();
        map.insert("name".into(), f.name.clone().into());
        map.insert("description".into(), f.description.clone().into());
        if self.kind.has_contact() {
            map.insert("contact_email".into(), f.contact_email.clone().into());
            map.insert("contact_phone".into(), f.contact_phone.clone().into());
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_partners_record_contact_details() {
        let entry = |kind| Entry {
            kind,
            id: 1,
            fields: EntryFields {
                name: "North".into(),
                contact_email: Some("a@b.co".into()),
                ..Default::default()
            },
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        assert!(
            entry(Kind::Partner)
                .audit_view()
                .contains_key("contact_email")
        );
        let view = entry(Kind::UserGroup).audit_view();
        let mut keys: Vec<&str> = view.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["description", "name"]);
    }
}
