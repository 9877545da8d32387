//! Field rules shared by every domain: each parser takes what a client sent and returns
//! either a value that can only be valid, or every message for that field. The types
//! ([`Email`], [`Phone`], [`PersonName`]) hold only valid values; the functions below say
//! whether a field is required and give its bounds.

pub mod decimal;
mod email;
mod name;
mod phone;
pub mod uuid;

pub use email::Email;
pub use name::PersonName;
pub use phone::{Phone, normalize as normalize_phone};

/// Messages for one field.
pub type Messages = Vec<String>;

const NAME_MAX: usize = 100;
const TEXT_MAX: usize = 255;

/// `first_name`: required, 3 to 100 characters after trimming.
pub fn first_name(raw: Option<&str>) -> Result<String, Messages> {
    PersonName::parse(raw.unwrap_or_default(), "first name", 3..=NAME_MAX)
        .map(PersonName::into_string)
        .map_err(|message| vec![message])
}

/// The name of a catalog or directory entry (a plan, a partner): required, 2 to 100
/// characters after trimming.
pub fn entry_name(raw: Option<&str>) -> Result<String, Messages> {
    const MIN: usize = 2;
    let value = raw.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return Err(vec!["The name field is required.".into()]);
    }
    let length = value.chars().count();
    if length < MIN {
        return Err(vec![format!("The name must be at least {MIN} characters.")]);
    }
    if length > NAME_MAX {
        return Err(vec![format!(
            "The name may not be greater than {NAME_MAX} characters."
        )]);
    }
    Ok(value.to_owned())
}

/// An optional free-text field (`label` as it appears in messages); empty means absent.
pub fn optional_text(
    raw: Option<&str>,
    label: &str,
    max: usize,
) -> Result<Option<String>, Messages> {
    let value = raw.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > max {
        return Err(vec![format!(
            "The {label} may not be greater than {max} characters."
        )]);
    }
    Ok(Some(value.to_owned()))
}

/// `last_name`: optional, up to 100 characters.
pub fn last_name(raw: Option<&str>) -> Result<Option<String>, Messages> {
    optional_text(raw, "last name", NAME_MAX)
}

/// An address part: optional, up to 255 characters; empty when absent.
pub fn address_part(raw: Option<&str>, label: &str) -> Result<String, Messages> {
    optional_text(raw, label, TEXT_MAX).map(Option::unwrap_or_default)
}

/// `email`: optional; a plausible address ([`Email`]), lower-cased so that uniqueness
/// ignores case.
pub fn email(raw: Option<&str>) -> Result<Option<String>, Messages> {
    let value = raw.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return Ok(None);
    }
    Email::parse(value)
        .map(|email| Some(email.to_lowercase()))
        .map_err(|message| vec![message])
}

/// `phone`: required; a well-formed number ([`Phone`]), normalised.
pub fn phone(raw: Option<&str>) -> Result<String, Messages> {
    let value = raw.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return Err(vec!["The phone field is required.".into()]);
    }
    Phone::parse(value)
        .map(Phone::into_string)
        .map_err(|message| vec![message])
}

/// An integer that must lie in `range`; `label` as it appears in messages.
pub fn in_range(
    value: i32,
    range: std::ops::RangeInclusive<i32>,
    label: &str,
) -> Result<i32, Messages> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(vec![format!(
            "The {label} must be between {} and {}.",
            range.start(),
            range.end()
        )])
    }
}

/// A reference id: positive when given.
pub fn reference(value: Option<i64>, label: &str) -> Result<Option<i64>, Messages> {
    match value {
        Some(id) if id <= 0 => Err(vec![format!("The selected {label} is invalid.")]),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_name_is_required_and_at_least_three_characters() {
        assert_eq!(
            first_name(None).unwrap_err(),
            ["The first name field is required."]
        );
        assert_eq!(
            first_name(Some("   ")).unwrap_err(),
            ["The first name field is required."]
        );
        assert_eq!(
            first_name(Some("Al")).unwrap_err(),
            ["The first name must be at least 3 characters."]
        );
        assert_eq!(first_name(Some("  Ana ")).unwrap(), "Ana");
        assert_eq!(first_name(Some("Zoë")).unwrap(), "Zoë");
        assert!(first_name(Some(&"x".repeat(101))).is_err());
    }

    #[test]
    fn emails_are_checked_and_lower_cased() {
        assert_eq!(
            email(Some(" Ana@Example.COM ")).unwrap().as_deref(),
            Some("ana@example.com")
        );
        assert_eq!(email(None).unwrap(), None);
        assert_eq!(email(Some("")).unwrap(), None);
        for bad in [
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "a b@example.com",
            "ana@exa..mple.com",
            "ana@@example.com",
        ] {
            assert_eq!(
                email(Some(bad)).unwrap_err(),
                ["The email must be a valid email address."],
                "{bad}"
            );
        }
    }

    #[test]
    fn phones_are_normalised_e164_or_local_digits() {
        assert_eq!(phone(Some("+1 (555) 010-0199")).unwrap(), "+15550100199");
        assert_eq!(phone(Some("0712 345 678")).unwrap(), "0712345678");
        assert_eq!(
            phone(Some("")).unwrap_err(),
            ["The phone field is required."]
        );
        for bad in [
            "12345",
            "+1234567",
            "phone",
            "+1+5550100199",
            "5550100199x",
            &"1".repeat(16),
        ] {
            assert_eq!(
                phone(Some(bad)).unwrap_err(),
                ["The phone must be a valid phone number."],
                "{bad}"
            );
        }
    }

    #[test]
    fn ranges_name_their_bounds() {
        assert_eq!(
            in_range(29, 1..=28, "billing day").unwrap_err(),
            ["The billing day must be between 1 and 28."]
        );
        assert_eq!(in_range(0, 0..=365, "suspend after days").unwrap(), 0);
    }

    #[test]
    fn optional_text_is_trimmed_and_bounded() {
        assert_eq!(last_name(Some("  ")).unwrap(), None);
        assert_eq!(
            address_part(Some(" Main St 1 "), "address").unwrap(),
            "Main St 1"
        );
        assert_eq!(
            address_part(Some(&"x".repeat(256)), "city").unwrap_err(),
            ["The city may not be greater than 255 characters."]
        );
    }
}
