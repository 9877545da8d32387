//! Checking a password against its stored argon2id hash, on the blocking pool. An unknown
//! email is checked against a dummy hash made with the same parameters, so that it costs
//! the same time as a wrong password and timing does not reveal which emails exist.

use std::sync::OnceLock;

use argon2::{Argon2, PasswordHash, PasswordVerifier};

use crate::error::{Error, Result};

/// A hash of a random password nobody knows, made once per process.
static DUMMY_HASH: OnceLock<String> = OnceLock::new();

fn dummy_hash() -> Result<String> {
    if let Some(hash) = DUMMY_HASH.get() {
        return Ok(hash.clone());
    }
    use argon2::PasswordHasher;
    let secret = super::generate_key();
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

    #[tokio::test]
    async fn the_right_password_matches_and_others_do_not() {
        let hash = crate::password::hash("Str0ng!pass".into()).await.unwrap();
        assert!(
            verify("Str0ng!pass".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("wrong".into(), Some(hash)).await.unwrap());
        assert!(!verify("Str0ng!pass".into(), None).await.unwrap());
    }
}
