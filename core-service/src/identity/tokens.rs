//! Access tokens and refresh tokens.
//!
//! An access token is a JWT signed with HS256: `sub` is the user id, `exp` its expiry.
//! Expiry is checked against the core's clock (not the library's), so tests can move time.
//! The signing secret comes from the configuration, or is generated once and kept in the
//! database so that restarts and other core processes accept the same tokens.
//!
//! A refresh token is 256 random bits (hex); only its SHA-256 is stored.

use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use super::sessions_store;
use crate::db::Db;
use crate::error::Result;

/// The name of the stored generated secret in `instance_settings`.
const SECRET_SETTING: &str = "jwt_signing_secret";
/// Shortest configured secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// How tokens are made.
#[derive(Clone)]
pub struct TokenSettings {
    /// The HS256 secret; `None` means generated once and kept in the database.
    pub secret: Option<String>,
    /// How long an access token works.
    pub access_ttl: Duration,
    /// How long a refresh token can be used.
    pub refresh_ttl: Duration,
}

impl std::fmt::Debug for TokenSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSettings")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .finish()
    }
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            secret: None,
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(30 * 86_400),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    exp: i64,
    /// A unique id, so two tokens issued in the same second differ.
    jti: String,
}

/// What a valid-looking token says, before the user is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Signed by us, for this user, still valid.
    Valid(i64),
    /// Signed by us but past its expiry.
    Expired,
    /// Not one of ours.
    Invalid,
}

struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// Signs and checks access tokens with the deployment's secret.
pub(crate) struct Tokens {
    settings: TokenSettings,
    keys: OnceCell<Keys>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    pub(crate) fn new(settings: TokenSettings) -> Self {
        Self {
            settings,
            keys: OnceCell::new(),
        }
    }

    pub(crate) fn access_ttl(&self) -> Duration {
        self.settings.access_ttl
    }

    pub(crate) fn refresh_ttl(&self) -> Duration {
        self.settings.refresh_ttl
    }

    async fn keys(&self, db: &Db, now: DateTime<Utc>) -> Result<&Keys> {
        self.keys
            .get_or_try_init(|| async {
                let secret = match &self.settings.secret {
                    Some(secret) => secret.clone(),
                    None => {
                        let candidate = random_hex(32);
                        sessions_store::setting_or_insert(db, SECRET_SETTING, &candidate, now)
                            .await?
                    }
                };
                Ok(Keys {
                    encoding: EncodingKey::from_secret(secret.as_bytes()),
                    decoding: DecodingKey::from_secret(secret.as_bytes()),
                })
            })
            .await
    }

    /// A new access token for `user_id`, valid from `now` for the access lifetime.
    pub(crate) async fn sign(&self, db: &Db, user_id: i64, now: DateTime<Utc>) -> Result<String> {
        let keys = self.keys(db, now).await?;
        let ttl = i64::try_from(self.settings.access_ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let claims = Claims {
            sub: user_id.to_string(),
            iat: now.timestamp(),
            exp: now.timestamp().saturating_add(ttl),
            jti: random_hex(8),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding)
            .map_err(|e| anyhow::anyhow!("signing an access token: {e}").into())
    }

    /// What `token` says at `now`.
    pub(crate) async fn verify(&self, db: &Db, token: &str, now: DateTime<Utc>) -> Result<Verdict> {
        let keys = self.keys(db, now).await?;
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked below against the injected clock.
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let Ok(data) = jsonwebtoken::decode::<Claims>(token, &keys.decoding, &validation) else {
            return Ok(Verdict::Invalid);
        };
        let Ok(user_id) = data.claims.sub.parse::<i64>() else {
            return Ok(Verdict::Invalid);
        };
        if data.claims.exp <= now.timestamp() {
            return Ok(Verdict::Expired);
        }
        Ok(Verdict::Valid(user_id))
    }
}

/// `bytes` random bytes, hex.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// Whether a credential looks like a JWT rather than an API key: three dot-separated parts.
pub(crate) fn looks_like_jwt(credential: &str) -> bool {
    credential.bytes().filter(|b| *b == b'.').count() == 2
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn tokens() -> (Tokens, Db) {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        let settings = TokenSettings {
            secret: Some("x".repeat(MIN_SECRET_LEN)),
            ..TokenSettings::default()
        };
        (Tokens::new(settings), db)
    }

    #[tokio::test]
    async fn a_token_is_valid_until_it_expires() {
        let (tokens, db) = tokens().await;
        let now = Utc::now();
        let token = tokens.sign(&db, 7, now).await.unwrap();
        assert!(looks_like_jwt(&token));
        assert_eq!(
            tokens.verify(&db, &token, now).await.unwrap(),
            Verdict::Valid(7)
        );
        let later = now + chrono::Duration::minutes(15);
        assert_eq!(
            tokens.verify(&db, &token, later).await.unwrap(),
            Verdict::Expired
        );
    }

    #[tokio::test]
    async fn a_token_signed_with_another_secret_is_invalid() {
        let (tokens, db) = tokens().await;
        let other = Tokens::new(TokenSettings {
            secret: Some("y".repeat(MIN_SECRET_LEN)),
            ..TokenSettings::default()
        });
        let now = Utc::now();
        let token = other.sign(&db, 7, now).await.unwrap();
        assert_eq!(
            tokens.verify(&db, &token, now).await.unwrap(),
            Verdict::Invalid
        );
        assert_eq!(
            tokens.verify(&db, "a.b.c", now).await.unwrap(),
            Verdict::Invalid
        );
    }
}
