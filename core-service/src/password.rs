//! The password policy and argon2id hashing. Hashing is deliberately slow (tens of
//! milliseconds), so it always runs on the blocking pool, never on the async runtime.

use std::sync::OnceLock;

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

use crate::error::{Error, Result};

/// What a password must satisfy. The same policy is served to clients
/// (`GetSecuritySettings`) so that sign-up forms can check before submitting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Minimum length in characters.
    pub min_length: usize,
    /// Maximum length in characters; bounds the cost of hashing.
    pub max_length: usize,
    /// At least one uppercase letter.
    pub require_uppercase: bool,
    /// At least one lowercase letter.
    pub require_lowercase: bool,
    /// At least one digit.
    pub require_number: bool,
    /// At least one character that is neither a letter nor a digit.
    pub require_special: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 128,
            require_uppercase: true,
            require_lowercase: true,
            require_number: true,
            require_special: true,
        }
    }
}

impl PasswordPolicy {
    /// Every rule `password` breaks, as messages for the `password` field; empty when it
    /// satisfies the policy.
    pub fn violations(&self, password: &str) -> Vec<String> {
        if password.is_empty() {
            return vec!["The password field is required.".to_owned()];
        }
        let mut messages = Vec::new();
        let length = password.chars().count();
        if length < self.min_length {
            messages.push(format!(
                "The password must be at least {} characters.",
                self.min_length
            ));
        }
        if length > self.max_length {
            messages.push(format!(
                "The password may not be greater than {} characters.",
                self.max_length
            ));
        }
        let rules = [
            (
                self.require_uppercase,
                password.chars().any(char::is_uppercase),
                "uppercase letter",
            ),
            (
                self.require_lowercase,
                password.chars().any(char::is_lowercase),
                "lowercase letter",
            ),
            (
                self.require_number,
                password.chars().any(|c| c.is_ascii_digit()),
                "number",
            ),
            (
                self.require_special,
                password
                    .chars()
                    .any(|c| !c.is_alphanumeric() && !c.is_whitespace()),
                "special character",
            ),
        ];
        for (required, present, what) in rules {
            if required && !present {
                messages.push(format!("The password must contain at least one {what}."));
            }
        }
        messages
    }
}

/// Hashes `password` with argon2id and a random salt, off the async runtime.
pub async fn hash(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
    .await
    .map_err(|e| Error::Internal(e.into()))?
    .map_err(Error::Internal)
}

// Verification, with a dummy hash so that an unknown account costs as much as a wrong
// password (no timing tells which e-mails exist).

/// A hash of a random password nobody knows, made once per process.
static DUMMY_HASH: OnceLock<String> = OnceLock::new();

fn dummy_hash() -> Result<String> {
    if let Some(hash) = DUMMY_HASH.get() {
        return Ok(hash.clone());
    }
    use argon2::PasswordHasher;
    let secret = crate::identity::generate_key();
    let hash = Argon2::default()
        .hash_password(secret.as_bytes())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?
        .to_string();
    Ok(DUMMY_HASH.get_or_init(|| hash).clone())
}

/// Makes the dummy hash now, in the background, so that the first login with an unknown
/// email does not pay for it (which would make it slower than a wrong password).
pub(crate) fn prepare() {
    if DUMMY_HASH.get().is_none()
        && let Ok(runtime) = tokio::runtime::Handle::try_current()
    {
        runtime.spawn_blocking(|| {
            if let Err(err) = dummy_hash() {
                tracing::warn!(error = %err, "could not prepare the dummy password hash");
            }
        });
    }
}

/// Whether `password` matches `stored` (a PHC string); with `None`, a check against the
/// dummy hash that always fails but takes as long as a real one.
pub(crate) async fn verify(password: String, stored: Option<String>) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let (hash, real) = match stored {
            Some(hash) => (hash, true),
            None => (dummy_hash()?, false),
        };
        let parsed = PasswordHash::new(&hash).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(real && matches)
    })
    .await
    .map_err(|e| Error::Internal(e.into()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_strong_password_passes() {
        assert!(
            PasswordPolicy::default()
                .violations("Str0ng!pass")
                .is_empty()
        );
    }

    #[test]
    fn every_broken_rule_is_reported() {
        assert_eq!(
            PasswordPolicy::default().violations("abc"),
            [
                "The password must be at least 8 characters.",
                "The password must contain at least one uppercase letter.",
                "The password must contain at least one number.",
                "The password must contain at least one special character.",
            ]
        );
        assert_eq!(
            PasswordPolicy::default().violations("ABCDEFGH1!"),
            ["The password must contain at least one lowercase letter."]
        );
    }

    #[test]
    fn an_empty_password_is_missing_not_short() {
        assert_eq!(
            PasswordPolicy::default().violations(""),
            ["The password field is required."]
        );
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        let policy = PasswordPolicy::default();
        assert!(policy.violations("Ää1!Ää1!").is_empty());
        assert!(
            !policy
                .violations(&format!("Aa1!{}", "x".repeat(125)))
                .is_empty()
        );
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_salted() {
        let a = hash("Str0ng!pass".into()).await.unwrap();
        let b = hash("Str0ng!pass".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn the_right_password_matches_and_others_do_not() {
        let hash = hash("Str0ng!pass".into()).await.unwrap();
        assert!(
            verify("Str0ng!pass".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("wrong".into(), Some(hash)).await.unwrap());
        assert!(!verify("Str0ng!pass".into(), None).await.unwrap());
    }
}
