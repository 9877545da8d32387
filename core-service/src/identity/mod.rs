//! Who is calling: staff users, their sessions (access and refresh tokens), API keys, and
//! the principals behind them.
//!
//! A key is `lm_` + 8 random characters (the public prefix, used to find its row) + `_` +
//! 32 random characters: about 238 random bits. Only its SHA-256 digest is stored;
//! argon2 is for passwords, which are low-entropy, and would cost ~16 ms per request.

mod clients;
mod convert;
pub mod grpc;
mod keys;
mod service;
mod sessions;
mod sessions_store;
mod store;
mod tokens;
mod users;
mod users_store;

use chrono::{DateTime, Utc};
use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

use crate::clock::SharedClock;
use crate::db::Db;
use crate::error::{Error, Result};
pub use clients::{CLIENT_TOKEN_PREFIX, ClientToken, is_client_token};
pub use keys::{ApiKeyRecord, KeyRequest, within as role_within};
pub use service::Identity;
pub(crate) use sessions::user_principal;
pub use sessions::{ATTEMPT_WINDOW, ATTEMPTS_PER_WINDOW, Origin, SessionTokens};
pub(crate) use store::ApiKeyRow;
pub(crate) use store::TokenRow;
pub use tokens::{MIN_SECRET_LEN, TokenSettings};
pub(crate) use tokens::{Verdict, looks_like_jwt};
pub use users::{NewUser, PreparedUser, PreparedUserUpdate, User, UserChanges};
pub(crate) use users_store::UserRow;

pub use crate::principal::{Principal, Role, Tier};

/// A key to create.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// Name shown to operators.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Role.
    pub role: Role,
    /// Rate-limit tier.
    pub tier: Tier,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// The partner a reseller key acts for.
    pub partner_id: Option<i64>,
}

/// A new random API key.
pub fn generate_key() -> String {
    let mut rng = rand::rng();
    let mut part = |n: usize| -> String {
        (&mut rng)
            .sample_iter(Alphanumeric)
            .take(n)
            .map(char::from)
            .collect()
    };
    format!("lm_{}_{}", part(8), part(32))
}

/// The public prefix of a key: its first 11 characters (`lm_` and 8 random ones for
/// generated keys; any key of at least 16 characters is accepted, e.g. a bootstrap key).
pub fn prefix_of(key: &str) -> Option<&str> {
    // `v2_…` is an API client's token, never a key.
    if key.len() < MIN_KEY_LEN
        || is_client_token(key)
        || !key.is_ascii()
        || key
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return None;
    }
    Some(&key[..11])
}

/// Shortest key accepted.
pub const MIN_KEY_LEN: usize = 16;

/// SHA-256 of a key, hex.
pub fn digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// API key administration.
#[derive(Debug, Clone)]
pub struct ApiKeys {
    db: Db,
    clock: SharedClock,
}

impl ApiKeys {
    /// Key administration over `db`.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }

    /// Creates a key; returns its id and the key, which is never available again.
    pub async fn create(&self, new: NewApiKey) -> Result<(i64, String)> {
        let key = generate_key();
        let id = self.insert(&new, &key).await?;
        Ok((id, key))
    }

    /// Makes sure an admin key with exactly this value exists (for compose files and CI).
    pub async fn ensure_bootstrap_key(&self, key: &str) -> Result<()> {
        if prefix_of(key).is_none() {
            return Err(Error::BadRequest(format!(
                "The bootstrap API key must be at least {MIN_KEY_LEN} printable ASCII characters without spaces, not starting with {CLIENT_TOKEN_PREFIX}."
            )));
        }
        let created = self.insert_bootstrap_key(key).await;
        // Several cores starting together on one database may all try: the one whose
        // insert lost to another's finds the key there, which is all it wanted.
        match created {
            Err(err)
                if store::find_by_digest(&mut self.db.conn(), &digest(key))
                    .await?
                    .is_none() =>
            {
                Err(err)
            }
            _ => Ok(()),
        }
    }

    async fn insert_bootstrap_key(&self, key: &str) -> Result<()> {
        let mut tx = self.db.begin().await?;
        if store::find_by_digest(&mut tx.conn(), &digest(key))
            .await?
            .is_none()
        {
            let new = NewApiKey {
                name: "bootstrap".into(),
                description: Some("Created from LASTMILE_BOOTSTRAP_API_KEY".into()),
                role: Role::Admin,
                tier: Tier::Standard,
                expires_at: None,
                partner_id: None,
            };
            store::insert(
                &mut tx.conn(),
                &new,
                prefix_of(key).unwrap_or_default(),
                &digest(key),
                None,
                self.clock.now(),
            )
            .await?;
        }
        tx.commit().await
    }

    /// On a database without any key, creates one admin key and returns it, once: of
    /// several processes starting together on one database, exactly one gets it.
    pub async fn create_first_admin_key(&self) -> Result<Option<String>> {
        let mut tx = self.db.begin().await?;
        if store::count(&mut tx.conn()).await? > 0
            || !store::claim_setup_step(&mut tx.conn(), "first_admin_key", self.clock.now()).await?
        {
            return Ok(None);
        }
        let key = generate_key();
        let new = NewApiKey {
            name: "first-admin".into(),
            description: Some("Printed once at the first start".into()),
            role: Role::Admin,
            tier: Tier::Standard,
            expires_at: None,
            partner_id: None,
        };
        store::insert(
            &mut tx.conn(),
            &new,
            prefix_of(&key).unwrap_or_default(),
            &digest(&key),
            None,
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(key))
    }

    async fn insert(&self, new: &NewApiKey, key: &str) -> Result<i64> {
        let prefix = prefix_of(key).ok_or_else(|| anyhow::anyhow!("generated key too short"))?;
        let mut tx = self.db.begin().await?;
        let now = self.clock.now();
        let id = store::insert(&mut tx.conn(), new, prefix, &digest(key), None, now).await?;
        tx.commit().await?;
        Ok(id)
    }
}

/// Every key with this prefix.
pub(crate) async fn store_find_by_prefix(db: &Db, prefix: &str) -> Result<Vec<ApiKeyRow>> {
    store::find_by_prefix(&mut db.conn(), prefix).await
}

/// The API client's token with this digest, and its client.
pub(crate) async fn store_find_token(db: &Db, digest: &str) -> Result<Option<TokenRow>> {
    store::find_token(&mut db.conn(), digest).await
}

/// The user with this id, unless deleted.
pub(crate) async fn store_find_user(db: &Db, id: i64) -> Result<Option<UserRow>> {
    users_store::find(&mut db.conn(), id).await
}

/// Records a key's use (see `store::touch`).
pub(crate) async fn store_touch(
    db: &Db,
    id: i64,
    now: DateTime<Utc>,
    stale_before: DateTime<Utc>,
) -> Result<()> {
    store::touch(&mut db.conn(), id, now, stale_before).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_a_prefix_and_enough_entropy() {
        let key = generate_key();
        assert_eq!(key.len(), 3 + 8 + 1 + 32);
        assert!(key.starts_with("lm_"));
        assert_eq!(prefix_of(&key), Some(&key[..11]));
        assert_ne!(generate_key(), key);
    }

    #[test]
    fn short_or_odd_keys_have_no_prefix() {
        assert_eq!(prefix_of("short"), None);
        assert_eq!(prefix_of("has a space in the key"), None);
        assert_eq!(prefix_of("ключ-ключ-ключ-ключ"), None);
        assert_eq!(prefix_of("0123456789abcdef"), Some("0123456789a"));
    }

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        for tier in Tier::ALL {
            assert_eq!(Tier::parse(tier.as_str()), Some(tier));
        }
    }
}
