//! A phone number that can only be a well-formed one.

/// A phone number in E.164 (`+` and 8–15 digits) or local digits (6–15), with the
/// separators people write (spaces, dots, dashes, parentheses) dropped, so that
/// "+1 (555) 010-0199" and "+15550100199" are the same number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Reads a non-empty number, or says why it is not one (the contract's message).
    pub fn parse(raw: &str) -> Result<Phone, String> {
        let value = raw.trim();
        let normalized = normalize(value);
        let digits = normalized.trim_start_matches('+');
        let length_ok = if normalized.starts_with('+') {
            (8..=15).contains(&digits.len())
        } else {
            (6..=15).contains(&digits.len())
        };
        let well_formed = !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit())
            && normalized.matches('+').count() <= 1
            && value
                .chars()
                .all(|c| c.is_ascii_digit() || " +-.()".contains(c));
        if well_formed && length_ok {
            Ok(Phone(normalized))
        } else {
            Err("The phone must be a valid phone number.".into())
        }
    }

    /// The normalised number.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Drops the separators people write in phone numbers.
pub fn normalize(value: &str) -> String {
    value.chars().filter(|c| !" -.()".contains(*c)).collect()
}
