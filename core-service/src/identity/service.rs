//! The identity domain as one handle: users, sessions and API keys over one database,
//! clock and token configuration. The operations live beside their rules (`users.rs`,
//! `sessions.rs`, `keys.rs`); this file holds what they share.

use std::sync::Arc;

use super::sessions::LoginAttempts;
use super::tokens::{TokenSettings, Tokens, Verdict};
use crate::clock::SharedClock;
use crate::db::Db;
use crate::error::Result;
use crate::password::{PasswordPolicy, Passwords};

/// Users, sessions and API keys.
#[derive(Debug, Clone)]
pub struct Identity {
    pub(super) db: Db,
    pub(super) clock: SharedClock,
    pub(super) policy: PasswordPolicy,
    pub(super) tokens: Arc<Tokens>,
    pub(super) attempts: Arc<LoginAttempts>,
    pub(super) passwords: Passwords,
}

impl Identity {
    /// The identity domain over `db`, with tokens made as `settings` say and passwords
    /// hashed on `passwords`.
    pub fn new(db: Db, clock: SharedClock, settings: TokenSettings, passwords: Passwords) -> Self {
        Self {
            passwords,
            db,
            clock,
            policy: PasswordPolicy::default(),
            tokens: Arc::new(Tokens::new(settings)),
            attempts: Arc::new(LoginAttempts::default()),
        }
    }

    /// Counts login attempts in Redis from now on, so every core of the deployment counts
    /// the same ones.
    pub fn share_login_attempts(&self, shared: crate::revocations::SharedAttempts) {
        self.attempts.share(shared);
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// What an access token says at `now` (its user is not checked here).
    pub(crate) async fn verify_access_token(
        &self,
        token: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Verdict> {
        self.tokens.verify(&self.db, token, now).await
    }
}
