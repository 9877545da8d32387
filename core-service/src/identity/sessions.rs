//! Sessions: login, refresh-token rotation with reuse detection, logout, and the limit on
//! login attempts.
//!
//! Each login starts a family of refresh tokens; each refresh spends one token and issues
//! its successor in the same family. A spent token presented again means someone kept a
//! copy: the whole family is revoked, so the thief and the owner both have to log in again.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::service::Identity;
use super::tokens::random_hex;
use super::users_store::{self, UserRow};
use super::{Principal, Role, Tier, digest, sessions_store};
use crate::audit::{self, Change};
use crate::auth::RequestContext;
use crate::db::Tx;
use crate::error::{AuthFailure, Error, Result};

/// Login attempts allowed per email and per client address within [`ATTEMPT_WINDOW`].
pub const ATTEMPTS_PER_WINDOW: usize = 5;
/// The window of the login attempt limit.
pub const ATTEMPT_WINDOW: Duration = Duration::from_secs(60);
const ATTEMPT_KEYS_MAX: usize = 100_000;

/// The tokens of a session, as login and refresh return them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionTokens {
    /// The JWT.
    pub access_token: String,
    /// Always "bearer".
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The single-use renewal token.
    pub refresh_token: String,
}

/// Where a public call came from, for the limit and the audit log.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The request id.
    pub request_id: String,
    /// The client's address.
    pub client_address: String,
}

impl Origin {
    fn context(&self, principal: Principal) -> RequestContext {
        let mut context = RequestContext::for_principal(principal);
        context.request_id = self.request_id.clone();
        context.client_address = self.client_address.clone();
        context
    }
}

/// Whether an attempt made at `at` still counts at `now`.
fn within(at: Instant, now: Instant) -> bool {
    now.saturating_duration_since(at) < ATTEMPT_WINDOW
}

/// Recent login attempts per email and per client address: a sliding window of
/// timestamps per key, in this process, or in Redis when the deployment shares one (every
/// core then counts the same attempts). Keys whose window emptied are dropped when the map
/// grows.
#[derive(Debug, Default)]
pub(crate) struct LoginAttempts {
    recent: Mutex<HashMap<String, VecDeque<Instant>>>,
    shared: std::sync::OnceLock<crate::revocations::SharedAttempts>,
}

impl LoginAttempts {
    /// Counts attempts in Redis from now on (this process's own count is the fallback
    /// while Redis cannot be reached).
    pub(crate) fn share(&self, shared: crate::revocations::SharedAttempts) {
        let _ = self.shared.set(shared);
    }

    /// Like [`LoginAttempts::admit`], in Redis when shared (`wall` times it there).
    pub(crate) async fn admit_anywhere(
        &self,
        keys: &[String],
        now: Instant,
        wall: chrono::DateTime<chrono::Utc>,
    ) -> std::result::Result<(), Duration> {
        if let Some(shared) = self.shared.get()
            && let Some(answer) = shared
                .admit(keys, wall, ATTEMPT_WINDOW, ATTEMPTS_PER_WINDOW)
                .await
        {
            return answer;
        }
        self.admit(keys, now)
    }

    /// Counts one attempt under every key, unless one of them is already at the limit:
    /// then nothing is counted and the answer is how long until every key has room again.
    fn admit(&self, keys: &[String], now: Instant) -> std::result::Result<(), Duration> {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() >= ATTEMPT_KEYS_MAX {
            recent.retain(|_, times| times.back().is_some_and(|t| within(*t, now)));
        }
        let mut wait = Duration::ZERO;
        for key in keys {
            if let Some(times) = recent.get_mut(key) {
                while times.front().is_some_and(|t| !within(*t, now)) {
                    times.pop_front();
                }
                if times.len() >= ATTEMPTS_PER_WINDOW
                    && let Some(oldest) = times.front()
                {
                    // The oldest attempt leaving the window makes room for one more.
                    wait = wait.max(ATTEMPT_WINDOW - now.saturating_duration_since(*oldest));
                }
            }
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        for key in keys {
            recent.entry(key.clone()).or_default().push_back(now);
        }
        Ok(())
    }
}

/// The principal of a signed-in user.
pub(crate) fn user_principal(row: &UserRow) -> Result<Principal> {
    let role = Role::parse(&row.role)
        .ok_or_else(|| anyhow::anyhow!("user {} has unknown role", row.id))?;
    Ok(Principal {
        api_key_id: None,
        user_id: Some(row.id),
        partner_id: row.partner_id,
        name: row.name.clone(),
        role,
        tier: Tier::Standard,
        expires_at: None,
    })
}

fn event(action: &str, user_id: Option<i64>, after: Value) -> Change {
    Change {
        action: action.to_owned(),
        resource_type: "user",
        resource_id: user_id.map(|id| id.to_string()).unwrap_or_default(),
        before: None,
        after: after.as_object().cloned().or_else(|| Some(Map::new())),
        reason: None,
        subject: None,
        unpublished: true,
    }
}

impl Identity {
    /// Signs a user in.
    pub async fn login(
        &self,
        email: &str,
        password: String,
        origin: &Origin,
    ) -> Result<SessionTokens> {
        let email = email.trim().to_lowercase();
        let keys = [
            format!("email:{email}"),
            format!("address:{}", origin.client_address),
        ];
        self.attempts
            .admit_anywhere(&keys, self.clock.instant(), self.clock.now())
            .await
            .map_err(Error::TooManyAttempts)?;
        let row = match email.is_empty() {
            true => None,
            false => users_store::find_by_email(&mut self.db.conn(), &email).await?,
        };
        // Always one argon2 check; for an unknown e-mail one that costs as much and fails.
        let stored = row.as_ref().map(|r| r.password_hash.clone());
        let verdict = self.passwords.verify(password.clone(), stored).await?;
        let now = self.clock.now();
        match row {
            Some(row) if verdict.matches && row.active => {
                // A hash made with older parameters is replaced now that we know the
                // password; when hashing is saturated that waits for a later login.
                let rehashed = match verdict.outdated {
                    true => self.passwords.hash(password).await.ok(),
                    false => None,
                };
                let access = self.tokens.sign(&self.db, row.id, now).await?;
                let mut tx = self.db.begin().await?;
                if let Some(hash) = rehashed {
                    users_store::replace_password_hash(
                        &mut tx.conn(),
                        row.id,
                        &row.password_hash,
                        &hash,
                    )
                    .await?;
                }
                let refresh = self
                    .issue_refresh(&mut tx, row.id, &random_hex(16), now)
                    .await?;
                let context = origin.context(user_principal(&row)?);
                let change = event(
                    "auth.login_succeeded",
                    Some(row.id),
                    json!({"email": email}),
                );
                audit::record(&mut tx.conn(), &context, change, now).await?;
                tx.commit().await?;
                Ok(self.session(access, refresh))
            }
            row => {
                let mut tx = self.db.begin().await?;
                let change = event(
                    "auth.login_failed",
                    row.as_ref().map(|r| r.id),
                    json!({"email": email}),
                );
                match &row {
                    Some(row) => {
                        let context = origin.context(user_principal(row)?);
                        audit::record(&mut tx.conn(), &context, change, now).await?;
                    }
                    None => {
                        audit::record_unattributed(
                            &mut tx.conn(),
                            &origin.request_id,
                            &origin.client_address,
                            change,
                            now,
                        )
                        .await?;
                    }
                }
                tx.commit().await?;
                Err(Error::Unauthenticated(AuthFailure::InvalidCredentials))
            }
        }
    }

    /// Spends a refresh token and returns the next pair of its session.
    pub async fn refresh(&self, refresh_token: &str, origin: &Origin) -> Result<SessionTokens> {
        let token = refresh_token.trim();
        if token.is_empty() {
            return Err(Error::Unauthenticated(AuthFailure::InvalidRefreshToken));
        }
        let now = self.clock.now();
        let row = sessions_store::find(&mut self.db.conn(), &digest(token))
            .await?
            .ok_or(Error::Unauthenticated(AuthFailure::InvalidRefreshToken))?;
        if row.revoked_at.is_some() {
            return Err(Error::Unauthenticated(AuthFailure::InvalidRefreshToken));
        }
        let user = users_store::find(&mut self.db.conn(), row.user_id)
            .await?
            .filter(|u| u.active);
        // Signed before the transaction: the first signature may store the secret.
        let access = match &user {
            Some(user) => Some(self.tokens.sign(&self.db, user.id, now).await?),
            None => None,
        };
        let mut tx = self.db.begin().await?;
        let spent =
            row.used_at.is_none() && sessions_store::spend(&mut tx.conn(), row.id, now).await?;
        if !spent {
            // A spent token again: someone else holds a copy. End the whole session.
            sessions_store::revoke_family(&mut tx.conn(), &row.family_id, now).await?;
            let change = event(
                "auth.refresh_token_reused",
                Some(row.user_id),
                json!({"family_revoked": true}),
            );
            match &user {
                Some(user) => {
                    let context = origin.context(user_principal(user)?);
                    audit::record(&mut tx.conn(), &context, change, now).await?;
                }
                None => {
                    audit::record_unattributed(
                        &mut tx.conn(),
                        &origin.request_id,
                        &origin.client_address,
                        change,
                        now,
                    )
                    .await?;
                }
            }
            tx.commit().await?;
            return Err(Error::Unauthenticated(AuthFailure::InvalidRefreshToken));
        }
        let (Some(access), true) = (access, row.expires_at > now) else {
            // Expired, or its user can no longer sign in: the session is over.
            sessions_store::revoke_family(&mut tx.conn(), &row.family_id, now).await?;
            tx.commit().await?;
            return Err(Error::Unauthenticated(AuthFailure::InvalidRefreshToken));
        };
        let refresh = self
            .issue_refresh(&mut tx, row.user_id, &row.family_id, now)
            .await?;
        tx.commit().await?;
        Ok(self.session(access, refresh))
    }

    /// Ends the session of a refresh token. Unknown tokens are ignored: holding a token is
    /// the only authority here, and the answer must not tell which tokens exist.
    pub async fn logout(&self, refresh_token: &str, origin: &Origin) -> Result<()> {
        let token = refresh_token.trim();
        if token.is_empty() {
            return Ok(());
        }
        let Some(row) = sessions_store::find(&mut self.db.conn(), &digest(token)).await? else {
            return Ok(());
        };
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        if sessions_store::revoke_family(&mut tx.conn(), &row.family_id, now).await? > 0
            && let Some(user) = users_store::find(&mut tx.conn(), row.user_id).await?
        {
            let context = origin.context(user_principal(&user)?);
            let change = event("auth.logged_out", Some(user.id), json!({}));
            audit::record(&mut tx.conn(), &context, change, now).await?;
        }
        tx.commit().await
    }

    async fn issue_refresh(
        &self,
        tx: &mut Tx,
        user_id: i64,
        family_id: &str,
        now: DateTime<Utc>,
    ) -> Result<String> {
        let token = random_hex(32);
        let ttl = chrono::Duration::from_std(self.tokens.refresh_ttl())
            .unwrap_or(chrono::Duration::days(30));
        sessions_store::insert(
            &mut tx.conn(),
            user_id,
            family_id,
            &digest(&token),
            now,
            now + ttl,
        )
        .await?;
        Ok(token)
    }

    fn session(&self, access_token: String, refresh_token: String) -> SessionTokens {
        SessionTokens {
            access_token,
            token_type: "bearer",
            expires_in: i64::try_from(self.tokens.access_ttl().as_secs()).unwrap_or(i64::MAX),
            refresh_token,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_attempt_within_a_minute_is_refused() {
        let attempts = LoginAttempts::default();
        let now = Instant::now();
        let keys = ["email:a@b.co".to_owned(), "address:1.2.3.4".to_owned()];
        for _ in 0..ATTEMPTS_PER_WINDOW {
            assert_eq!(attempts.admit(&keys, now), Ok(()));
        }
        assert_eq!(attempts.admit(&keys, now), Err(ATTEMPT_WINDOW));
        // Another email from another address is not affected.
        assert_eq!(
            attempts.admit(
                &["email:c@d.co".to_owned(), "address:5.6.7.8".to_owned()],
                now
            ),
            Ok(())
        );
        // A minute later the budget is back.
        assert_eq!(attempts.admit(&keys, now + ATTEMPT_WINDOW), Ok(()));
    }

    #[test]
    fn a_refusal_says_when_the_oldest_attempt_leaves_the_window() {
        let attempts = LoginAttempts::default();
        let start = Instant::now();
        let keys = ["email:a@b.co".to_owned(), "address:1.2.3.4".to_owned()];
        for second in 0..ATTEMPTS_PER_WINDOW as u64 {
            let at = start + Duration::from_secs(second * 10);
            assert_eq!(attempts.admit(&keys, at), Ok(()));
        }
        let now = start + Duration::from_secs(45);
        assert_eq!(attempts.admit(&keys, now), Err(Duration::from_secs(15)));
        // A refused attempt is not counted: waiting that long is enough.
        assert_eq!(attempts.admit(&keys, start + ATTEMPT_WINDOW), Ok(()));
        assert_eq!(
            attempts.admit(&keys, start + ATTEMPT_WINDOW),
            Err(Duration::from_secs(10))
        );
    }

    #[test]
    fn the_address_budget_is_shared_by_every_email() {
        let attempts = LoginAttempts::default();
        let now = Instant::now();
        for i in 0..ATTEMPTS_PER_WINDOW {
            assert_eq!(
                attempts.admit(&[format!("email:{i}"), "address:1.1.1.1".into()], now),
                Ok(())
            );
        }
        assert!(
            attempts
                .admit(&["email:new".into(), "address:1.1.1.1".into()], now)
                .is_err()
        );
    }
}
