//! The password policy, and argon2id hashing on a bounded pool ([`hashing`]).

mod hashing;

pub use hashing::{Argon2Settings, HashingSettings, HashingStats, Passwords, Verification};

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

    /// A random password that satisfies the policy: 24 characters (or the policy's bounds)
    /// with one of each required class, the rest drawn from all four, shuffled.
    pub fn generate(&self) -> String {
        use rand::Rng;
        use rand::seq::SliceRandom;
        const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
        const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
        const DIGITS: &[u8] = b"23456789";
        const SPECIAL: &[u8] = b"!#%+-.:=?@_~";
        let mut rng = rand::rng();
        let length = 24.max(self.min_length).min(self.max_length.max(4));
        let all: Vec<u8> = [UPPER, LOWER, DIGITS, SPECIAL].concat();
        let mut chars: Vec<u8> = [UPPER, LOWER, DIGITS, SPECIAL]
            .iter()
            .map(|class| class[rng.random_range(0..class.len())])
            .collect();
        while chars.len() < length {
            chars.push(all[rng.random_range(0..all.len())]);
        }
        chars.shuffle(&mut rng);
        chars.into_iter().map(char::from).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_satisfy_the_policy_and_differ() {
        let strict = PasswordPolicy {
            min_length: 40,
            ..PasswordPolicy::default()
        };
        for policy in [PasswordPolicy::default(), strict] {
            let a = policy.generate();
            let b = policy.generate();
            assert!(policy.violations(&a).is_empty(), "{a}");
            assert!(a.chars().count() >= policy.min_length.max(24));
            assert_ne!(a, b);
        }
    }

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
}
