//! A person's name that can only be within its field's bounds.

use std::ops::RangeInclusive;

/// A required name, trimmed, whose length in characters lies in the bounds of its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    /// Reads a name for the field called `label` in messages ("first name", "name"),
    /// whose length must lie in `length`; or says why not, in the contract's words.
    pub fn parse(raw: &str, label: &str, length: RangeInclusive<usize>) -> Result<Self, String> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(format!("The {label} field is required."));
        }
        let count = value.chars().count();
        if count < *length.start() {
            return Err(format!(
                "The {label} must be at least {} characters.",
                length.start()
            ));
        }
        if count > *length.end() {
            return Err(format!(
                "The {label} may not be greater than {} characters.",
                length.end()
            ));
        }
        Ok(PersonName(value.to_owned()))
    }

    /// The name.
    pub fn into_string(self) -> String {
        self.0
    }
}
