//! What a client sent for a directory entry, and the field rules that turn it into
//! [`EntryFields`] that can only be valid.

use super::{EntryFields, Kind};
use crate::error::FieldErrors;
use crate::fields;

const DESCRIPTION_MAX: usize = 1000;

/// The message for a name another live entry of the kind already has.
pub const NAME_TAKEN: &str = "The name has already been taken.";

/// An entry as a client sent it; `None` is "not given" (or "clear", on update).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryInput {
    /// Name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Contact e-mail (partners).
    pub contact_email: Option<String>,
    /// Contact phone (partners).
    pub contact_phone: Option<String>,
}

/// A writable field, as an update mask names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryField {
    /// `name`
    Name,
    /// `description`
    Description,
    /// `contact_email` (partners)
    ContactEmail,
    /// `contact_phone` (partners)
    ContactPhone,
}

impl EntryField {
    /// Every field of `kind`.
    pub fn all(kind: Kind) -> Vec<EntryField> {
        let mut all = vec![EntryField::Name, EntryField::Description];
        if kind.has_contact() {
            all.extend([EntryField::ContactEmail, EntryField::ContactPhone]);
        }
        all
    }

    /// The field an update-mask path names for `kind`, if any.
    pub fn from_path(kind: Kind, path: &str) -> Option<EntryField> {
        EntryField::all(kind)
            .into_iter()
            .find(|field| field.key() == path)
    }

    /// The field's name in the contract and in error maps.
    pub fn key(self) -> &'static str {
        match self {
            EntryField::Name => "name",
            EntryField::Description => "description",
            EntryField::ContactEmail => "contact_email",
            EntryField::ContactPhone => "contact_phone",
        }
    }
}

/// Sets the `selected` fields of `target` from `input`, adding a message for each that
/// breaks a rule.
pub fn apply(
    target: &mut EntryFields,
    input: &EntryInput,
    selected: &[EntryField],
    errors: &mut FieldErrors,
) {
    for field in selected {
        let outcome = match field {
            EntryField::Name => fields::entry_name(input.name.as_deref()).map(|v| target.name = v),
            EntryField::Description => {
                fields::optional_text(input.description.as_deref(), "description", DESCRIPTION_MAX)
                    .map(|v| target.description = v)
            }
            EntryField::ContactEmail => {
                contact_email(input.contact_email.as_deref()).map(|v| target.contact_email = v)
            }
            EntryField::ContactPhone => {
                contact_phone(input.contact_phone.as_deref()).map(|v| target.contact_phone = v)
            }
        };
        if let Err(messages) = outcome {
            for message in messages {
                errors.add(field.key(), message);
            }
        }
    }
}

/// `contact_email`: optional; the customers' e-mail rule, under this field's name.
fn contact_email(raw: Option<&str>) -> Result<Option<String>, fields::Messages> {
    fields::email(raw).map_err(|messages| {
        messages
            .into_iter()
            .map(|m| m.replacen("The email", "The contact email", 1))
            .collect()
    })
}

/// `contact_phone`: optional; when given, the customers' phone rule.
fn contact_phone(raw: Option<&str>) -> Result<Option<String>, fields::Messages> {
    if raw.map(str::trim).unwrap_or_default().is_empty() {
        return Ok(None);
    }
    fields::phone(raw)
        .map(Some)
        .map_err(|_| vec!["The contact phone must be a valid phone number.".into()])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: Kind, input: &EntryInput) -> (EntryFields, FieldErrors) {
        let mut target = EntryFields::default();
        let mut errors = FieldErrors::new();
        apply(&mut target, input, &EntryField::all(kind), &mut errors);
        (target, errors)
    }

    #[test]
    fn names_are_required_trimmed_and_bounded() {
        let input = |name: &str| EntryInput {
            name: Some(name.into()),
            ..Default::default()
        };
        let (_, errors) = check(Kind::Organization, &EntryInput::default());
        assert_eq!(errors.messages("name"), ["The name field is required."]);
        let (_, errors) = check(Kind::Organization, &input(" x "));
        assert_eq!(
            errors.messages("name"),
            ["The name must be at least 2 characters."]
        );
        let (_, errors) = check(Kind::Organization, &input(&"x".repeat(101)));
        assert_eq!(
            errors.messages("name"),
            ["The name may not be greater than 100 characters."]
        );
        let (fields, errors) = check(Kind::Organization, &input("  Acme  "));
        assert!(errors.is_empty());
        assert_eq!(fields.name, "Acme");
    }

    #[test]
    fn partner_contacts_are_checked_and_normalised() {
        let input = EntryInput {
            name: Some("North".into()),
            contact_email: Some("Sales@North.NET".into()),
            contact_phone: Some("+1 (555) 010-0199".into()),
            ..Default::default()
        };
        let (fields, errors) = check(Kind::Partner, &input);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(fields.contact_email.as_deref(), Some("sales@north.net"));
        assert_eq!(fields.contact_phone.as_deref(), Some("+15550100199"));
        let bad = EntryInput {
            name: Some("North".into()),
            contact_email: Some("nope".into()),
            contact_phone: Some("phone".into()),
            ..Default::default()
        };
        let (_, errors) = check(Kind::Partner, &bad);
        assert_eq!(
            errors.messages("contact_email"),
            ["The contact email must be a valid email address."]
        );
        assert_eq!(
            errors.messages("contact_phone"),
            ["The contact phone must be a valid phone number."]
        );
    }

    #[test]
    fn only_partners_have_contact_fields() {
        assert_eq!(
            EntryField::from_path(Kind::Partner, "contact_phone"),
            Some(EntryField::ContactPhone)
        );
        assert_eq!(
            EntryField::from_path(Kind::UserGroup, "contact_phone"),
            None
        );
        assert_eq!(EntryField::from_path(Kind::UserGroup, "id"), None);
    }
}
