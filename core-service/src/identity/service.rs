//! The identity domain as one handle: users, sessions and API keys over one database,
//! clock and token configuration. The operations live beside their rules (`users.rs`,
//! `sessions.rs`, `keys.rs`); this file holds what they share.

use std::sync::Arc;

use super::sessions::LoginAttempts;
use super::tokens::{TokenSettings, Tokens, Verdict};
use crate::clock::SharedClock;
use crate::db::Db;
use crate::error::{Error, Result};
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

/// A page of a list: page from 1, size 1–100 (0 means 25).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Page number, from 1.
    pub number: i32,
    /// Page size.
    pub size: i32,
}

impl Page {
    /// Applies the list rules of the contract.
    pub fn new(page: i32, per_page: i32) -> Result<Self> {
        if page < 0 {
            return Err(Error::BadRequest(
                "The page parameter must be a positive integer.".into(),
            ));
        }
        if per_page < 0 {
            return Err(Error::BadRequest(
                "The per_page parameter must be a positive integer.".into(),
            ));
        }
        Ok(Self {
            number: page.max(1),
            size: match per_page {
                0 => 25,
                n => n.min(100),
            },
        })
    }

    pub(crate) fn offset(self) -> i64 {
        i64::from(self.number - 1) * i64::from(self.size)
    }

    pub(crate) fn limit(self) -> i64 {
        i64::from(self.size)
    }

    /// The last page number for `total` items; at least 1.
    pub(crate) fn last(self, total: i64) -> i32 {
        let pages = (total + i64::from(self.size) - 1) / i64::from(self.size);
        i32::try_from(pages.max(1)).unwrap_or(i32::MAX)
    }
}
