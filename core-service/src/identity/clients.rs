//! API clients and the client-credentials flow: an admin creates a client (an API key
//! with a public `client_id`, whose secret is shown once); the client exchanges its id
//! and secret for an access token (`v2_` + 43 random characters, valid 30 minutes, only
//! its SHA-256 stored) and may revoke the token it holds. A client's secret is never
//! accepted as a key, and revoking the client ends every token it was issued.

use chrono::Duration as ChronoDuration;
use subtle::ConstantTimeEq;

use super::keys::KeyRequest;
use super::service::Identity;
use super::store::{self, KeyKind, KeyScope};
use super::{ApiKeyRecord, Principal, digest, generate_key};
use crate::auth::RequestContext;
use crate::db::Tx;
use crate::error::{AuthFailure, Error, FieldErrors, Result};
use crate::fields::uuid;
use crate::paging::{Page, PageQuery};

/// The prefix that tells a client's access token from keys and JWTs.
pub const CLIENT_TOKEN_PREFIX: &str = "v2_";
/// How long an access token issued to a client is valid.
pub const CLIENT_TOKEN_TTL: ChronoDuration = ChronoDuration::minutes(30);

/// An access token issued to an API client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientToken {
    /// The token, shown once.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// Whether a credential is a client's access token (by its shape alone).
pub fn is_client_token(credential: &str) -> bool {
    credential.starts_with(CLIENT_TOKEN_PREFIX)
}

impl Identity {
    /// Every live API client, newest first (the permission table lets admins only).
    pub async fn list_api_clients(&self, page: PageQuery) -> Result<Page<ApiKeyRecord>> {
        let mut conn = self.db.conn();
        let (limit, offset) = (page.limit(), page.offset());
        let items = store::page(&mut conn, KeyKind::Client, KeyScope::All, limit, offset).await?;
        let total = store::count_in(&mut conn, KeyKind::Client, KeyScope::All).await?;
        Ok(Page {
            items,
            total,
            query: page,
        }
        .map(Into::into))
    }

    /// Creates an API client inside `tx`, with its audit entry; returns its record and its
    /// secret.
    pub async fn create_api_client_in(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        request: KeyRequest,
    ) -> Result<(ApiKeyRecord, String)> {
        self.create_credential(tx, context, request, KeyKind::Client)
            .await
    }

    /// Revokes an API client inside `tx`: its tokens stop working with it.
    pub async fn revoke_api_client(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        id: i64,
    ) -> Result<()> {
        self.revoke_credential(tx, context, id, KeyKind::Client, |_| true)
            .await
    }

    /// Exchanges a live client's id and secret for an access token. Any mismatch is one
    /// answer, so the reply never tells whether the client exists.
    pub async fn issue_client_token(&self, client_id: &str, secret: &str) -> Result<ClientToken> {
        let mut errors = FieldErrors::new();
        for (field, value) in [("client_id", client_id), ("client_secret", secret)] {
            if value.trim().is_empty() {
                let label = field.replace('_', " ");
                errors.add(field, format!("The {label} field is required."));
            }
        }
        errors.into_result()?;
        let refused = || Error::Unauthenticated(AuthFailure::InvalidClient);
        let client_id = uuid::parse(client_id.trim()).ok_or_else(refused)?;
        // Checked on a read: an unknown caller never takes the write lock.
        let row = store::find_client(&mut self.db.conn(), &client_id).await?;
        let now = self.clock.now();
        let expected = row.as_ref().map_or("", |r| r.key_digest.as_str());
        let matches = bool::from(digest(secret.trim()).as_bytes().ct_eq(expected.as_bytes()));
        let row = row
            .filter(|_| matches)
            .filter(|r| r.revoked_at.is_none_or(|at| at > now))
            .filter(|r| r.expires_at.is_none_or(|at| at > now))
            .filter(|r| r.owner_active)
            .ok_or_else(refused)?;
        let token = format!("{CLIENT_TOKEN_PREFIX}{}", generate_key().replace('_', ""));
        // Never past the client's own expiry.
        let expires_at = row
            .expires_at
            .map_or(now + CLIENT_TOKEN_TTL, |at| at.min(now + CLIENT_TOKEN_TTL));
        let digest = digest(&token);
        store::insert_token(&mut self.db.conn(), row.id, &digest, now, expires_at).await?;
        Ok(ClientToken {
            access_token: token,
            expires_in: (expires_at - now).num_seconds().max(1),
        })
    }

    /// Deletes the tokens that expired more than a day ago (revoked ones included); returns
    /// how many.
    pub async fn purge_client_tokens(&self) -> Result<u64> {
        let before = self.clock.now() - ChronoDuration::days(1);
        store::purge_tokens(&mut self.db.conn(), before).await
    }

    /// Deletes the refresh tokens that expired more than a day ago; returns how many.
    pub async fn purge_refresh_tokens(&self) -> Result<u64> {
        let before = self.clock.now() - ChronoDuration::days(1);
        super::sessions_store::purge_expired(&mut self.db.conn(), before).await
    }

    /// Revokes `token`, which must be the credential of the call (`principal`'s).
    pub async fn revoke_client_token(&self, principal: &Principal, token: &str) -> Result<()> {
        let invalid = || Error::Unauthenticated(AuthFailure::InvalidToken);
        let key = principal.api_key_id.ok_or_else(invalid)?;
        if !is_client_token(token) {
            return Err(invalid());
        }
        let mut tx = self.db.begin().await?;
        let now = self.clock.now();
        if store::revoke_token(&mut tx.conn(), key, &digest(token), now).await? == 0 {
            return Err(invalid());
        }
        tx.commit().await
    }
}
