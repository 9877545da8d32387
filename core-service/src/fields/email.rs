//! An e-mail address that can only be a plausible one.

/// A plausible e-mail address (one `@`, a dotted domain of letters, digits and dashes, a
/// local part of the usual characters, no spaces), trimmed, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// The longest address SMTP can carry (RFC 5321).
    pub const MAX: usize = 254;
    const INVALID: &'static str = "The email must be a valid email address.";

    /// Reads a non-empty address, or says why it is not one (the contract's message).
    pub fn parse(raw: &str) -> Result<Email, String> {
        let value = raw.trim();
        if value.len() > Self::MAX {
            return Err(format!(
                "The email may not be greater than {} characters.",
                Self::MAX
            ));
        }
        let Some((local, domain)) = value.split_once('@') else {
            return Err(Self::INVALID.into());
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        if domain_ok && local_ok {
            Ok(Email(value.to_owned()))
        } else {
            Err(Self::INVALID.into())
        }
    }

    /// The address as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address lower-cased, the form in which two addresses are the same.
    pub fn to_lowercase(&self) -> String {
        self.0.to_lowercase()
    }
}
