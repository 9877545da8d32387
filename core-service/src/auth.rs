//! Authentication of every call: the credential is read from gRPC metadata
//! (`authorization: Bearer …`, `x-api-key` or `x-auth-token`). An API key is checked
//! against the stored digests; an access token (a JWT: two dots) by its signature and
//! expiry, and then its user, re-read at most every two seconds so that deactivation and
//! role changes apply at once. The resulting [`Principal`] is attached to the request.
//!
//! The check is a tower layer in front of every `lastmile.*` service, so a service added
//! later cannot forget it: each RPC needs what the [`AccessTable`] says, and an RPC
//! that is not listed there is refused. Reflection and health are operator tooling and
//! stay open.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use chrono::Duration as ChronoDuration;
use futures::future::BoxFuture;
use http::HeaderMap;
use subtle::ConstantTimeEq;
use tower::{Layer, Service};

use crate::authz::{self, Access, AccessTable};
use crate::clock::SharedClock;
use crate::db::Db;
use crate::error::{AuthFailure, Error, Result};
use crate::identity::{self, ApiKeyRow, Identity, TokenSettings, UserRow};
use crate::password::Passwords;
use crate::principal::{Principal, Role, Tier};

/// How long a key lookup is reused. Revoking or expiring a key takes effect within this
/// time on every core process.
const CACHE_TTL: Duration = Duration::from_secs(2);
const CACHE_MAX_ENTRIES: usize = 10_000;
/// `last_used_at` is written at most this often per key.
const LAST_USED_RESOLUTION: ChronoDuration = ChronoDuration::seconds(60);

/// Whether a lookup made at `fetched` may still be reused at `now` (both read from the
/// injected clock, so a test moves a cached answer past its age instead of waiting).
fn fresh(fetched: Instant, now: Instant) -> bool {
    now.saturating_duration_since(fetched) < CACHE_TTL
}

#[derive(Debug, Clone)]
struct CachedLookup {
    row: Option<ApiKeyRow>,
    fetched: Instant,
}

#[derive(Debug, Clone)]
struct CachedUser {
    row: Option<UserRow>,
    fetched: Instant,
}

/// Turns credentials into principals.
#[derive(Debug)]
pub struct Authenticator {
    db: Db,
    clock: SharedClock,
    identity: Identity,
    // Keyed by the credential's digest, never by the credential itself.
    cache: Mutex<HashMap<String, CachedLookup>>,
    // The users behind access tokens, by id.
    users: Mutex<HashMap<i64, CachedUser>>,
}

impl Authenticator {
    /// An authenticator over the keys and users in `db`, whose access tokens are made as
    /// `settings` say and whose password checks run on `passwords`.
    pub fn with_tokens(
        db: Db,
        clock: SharedClock,
        settings: TokenSettings,
        passwords: Passwords,
    ) -> Self {
        Self {
            identity: Identity::new(db.clone(), clock.clone(), settings, passwords),
            db,
            clock,
            cache: Mutex::new(HashMap::new()),
            users: Mutex::new(HashMap::new()),
        }
    }

    /// Drops every remembered lookup of `subject` (`key:<id>`: the key; `user:<id>`: the
    /// user and the keys they own), so that the next call reads the database: a revoked key
    /// or a changed user takes effect at once instead of after the cache lifetime.
    pub fn forget(&self, subject: &str) {
        let id = |prefix: &str| {
            subject
                .strip_prefix(prefix)
                .and_then(|s| s.parse::<i64>().ok())
        };
        if let Some(key) = id("key:") {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.retain(|_, c| c.row.as_ref().is_none_or(|r| r.id != key));
        }
        if let Some(user) = id("user:") {
            self.users
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&user);
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.retain(|_, c| c.row.as_ref().is_none_or(|r| r.owner_user_id != Some(user)));
        }
    }

    /// The identity domain (users, sessions, keys) sharing this authenticator's tokens.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The principal behind `credential`, or why there is none.
    pub async fn authenticate(&self, credential: Option<&str>) -> Result<Principal> {
        let credential = credential.map(str::trim).filter(|c| !c.is_empty());
        let credential = credential.ok_or(Error::Unauthenticated(AuthFailure::Missing))?;
        if identity::looks_like_jwt(credential) {
            return self.authenticate_token(credential).await;
        }
        if identity::is_client_token(credential) {
            return self.authenticate_client_token(credential).await;
        }
        self.authenticate_key(credential).await
    }

    /// An API client's access token: live, unexpired, and its client live too. Looked up
    /// on every call (one indexed read), so a revocation applies at once everywhere.
    async fn authenticate_client_token(&self, token: &str) -> Result<Principal> {
        let invalid = || Error::Unauthenticated(AuthFailure::InvalidToken);
        let digest = identity::digest(token);
        let found = identity::store_find_token(&self.db, &digest).await?;
        let found = found.ok_or_else(invalid)?;
        let now = self.clock.now();
        if found.revoked_at.is_some() {
            return Err(invalid());
        }
        if found.expires_at <= now {
            return Err(Error::Unauthenticated(AuthFailure::TokenExpired));
        }
        let mut principal = key_principal(found.key.clone(), now).map_err(|_| invalid())?;
        // The client's last use, like a key's.
        self.record_use(&digest, &found.key);
        principal.expires_at = Some(
            principal
                .expires_at
                .map_or(found.expires_at, |at| at.min(found.expires_at)),
        );
        Ok(principal)
    }

    async fn authenticate_token(&self, token: &str) -> Result<Principal> {
        let now = self.clock.now();
        let user_id = match self.identity.verify_access_token(token, now).await? {
            identity::Verdict::Valid(user_id) => user_id,
            identity::Verdict::Expired => {
                return Err(Error::Unauthenticated(AuthFailure::TokenExpired));
            }
            identity::Verdict::Invalid => {
                return Err(Error::Unauthenticated(AuthFailure::InvalidToken));
            }
        };
        let row = match self.cached_user(user_id) {
            Some(row) => row,
            None => {
                let row = identity::store_find_user(&self.db, user_id).await?;
                self.remember_user(user_id, row.clone());
                row
            }
        };
        let row = row
            .filter(|r| r.active)
            .ok_or(Error::Unauthenticated(AuthFailure::InvalidToken))?;
        identity::user_principal(&row)
    }

    fn cached_user(&self, id: i64) -> Option<Option<UserRow>> {
        let now = self.clock.instant();
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users
            .get(&id)
            .filter(|c| fresh(c.fetched, now))
            .map(|c| c.row.clone())
    }

    fn remember_user(&self, id: i64, row: Option<UserRow>) {
        let now = self.clock.instant();
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        if users.len() >= CACHE_MAX_ENTRIES {
            users.retain(|_, c| fresh(c.fetched, now));
            if users.len() >= CACHE_MAX_ENTRIES {
                users.clear();
            }
        }
        users.insert(id, CachedUser { row, fetched: now });
    }

    async fn authenticate_key(&self, credential: &str) -> Result<Principal> {
        let prefix =
            identity::prefix_of(credential).ok_or(Error::Unauthenticated(AuthFailure::Invalid))?;
        let digest = identity::digest(credential);
        let row = match self.cached(&digest) {
            Some(row) => row,
            None => {
                let rows = identity::store_find_by_prefix(&self.db, prefix).await?;
                // Compare every candidate in constant time, so timing tells nothing about
                // how much of a digest matched.
                let row = rows
                    .into_iter()
                    .find(|r| bool::from(r.key_digest.as_bytes().ct_eq(digest.as_bytes())));
                self.remember(&digest, row.clone());
                row
            }
        };
        let row = row.ok_or(Error::Unauthenticated(AuthFailure::Invalid))?;
        let now = self.clock.now();
        let principal = key_principal(row.clone(), now)?;
        self.record_use(&digest, &row);
        Ok(principal)
    }

    fn cached(&self, digest: &str) -> Option<Option<ApiKeyRow>> {
        let now = self.clock.instant();
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(digest)
            .filter(|c| fresh(c.fetched, now))
            .map(|c| c.row.clone())
    }

    fn remember(&self, digest: &str, row: Option<ApiKeyRow>) {
        let now = self.clock.instant();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_MAX_ENTRIES {
            cache.retain(|_, c| fresh(c.fetched, now));
            if cache.len() >= CACHE_MAX_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(digest.to_owned(), CachedLookup { row, fetched: now });
    }

    /// Writes `last_used_at` in the background when the stored value is over a minute
    /// old, and notes the new value in the cache so the next calls do not write again.
    fn record_use(&self, digest: &str, row: &ApiKeyRow) {
        let now = self.clock.now();
        let stale_before = now - LAST_USED_RESOLUTION;
        if row.last_used_at.is_some_and(|at| at >= stale_before) {
            return;
        }
        if let Some(entry) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(digest)
            && let Some(cached) = entry.row.as_mut()
        {
            cached.last_used_at = Some(now);
        }
        let db = self.db.clone();
        let id = row.id;
        tokio::spawn(async move {
            if let Err(err) = identity::store_touch(&db, id, now, stale_before).await {
                tracing::warn!(api_key_id = id, error = %err, "could not record key use");
            }
        });
    }
}

/// The principal of a stored key (or API client), refused when it is revoked, expired, its
/// owner inactive, or its role above its owner's current role.
fn key_principal(row: ApiKeyRow, now: chrono::DateTime<chrono::Utc>) -> Result<Principal> {
    if row.revoked_at.is_some_and(|at| at <= now) || !row.owner_active {
        return Err(Error::Unauthenticated(AuthFailure::Invalid));
    }
    if row.expires_at.is_some_and(|at| at <= now) {
        return Err(Error::Unauthenticated(AuthFailure::Expired));
    }
    let role = Role::parse(&row.role)
        .ok_or_else(|| anyhow::anyhow!("api key {} has unknown role", row.id))?;
    // A key never grants more than its owner may do now: an owner whose role was
    // lowered below a key's makes the key stop working.
    if let Some(owner_role) = row.owner_role.as_deref()
        && !Role::parse(owner_role).is_some_and(|owner| identity::role_within(role, owner))
    {
        return Err(Error::Unauthenticated(AuthFailure::Invalid));
    }
    let tier = Tier::parse(&row.tier)
        .ok_or_else(|| anyhow::anyhow!("api key {} has unknown tier", row.id))?;
    Ok(Principal {
        api_key_id: Some(row.id),
        user_id: row.owner_user_id,
        partner_id: row.partner_id,
        name: row.name,
        role,
        tier,
        expires_at: row.expires_at,
    })
}

/// The credential in gRPC metadata (HTTP/2 headers), if any.
pub fn credential(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let value = value.trim();
        if value.len() > 7 && value[..7].eq_ignore_ascii_case("bearer ") {
            return Some(value[7..].trim());
        }
        return Some(value);
    }
    ["x-api-key", "x-auth-token"]
        .iter()
        .find_map(|name| headers.get(*name).and_then(|v| v.to_str().ok()))
}

/// The tower layer that authenticates every `lastmile.*` RPC.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    authenticator: Arc<Authenticator>,
    access: Arc<AccessTable>,
}

impl AuthLayer {
    /// A layer using `authenticator`, letting through what `access` allows.
    pub fn new(authenticator: Arc<Authenticator>, access: AccessTable) -> Self {
        Self {
            authenticator,
            access: Arc::new(access),
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            authenticator: self.authenticator.clone(),
            access: self.access.clone(),
        }
    }
}

/// See [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    authenticator: Arc<Authenticator>,
    access: Arc<AccessTable>,
}

impl<S, B> Service<http::Request<B>> for AuthService<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, std::result::Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        if !path.starts_with("/lastmile.") {
            return Box::pin(self.inner.call(request));
        }
        let access = self.access.access(path);
        if access == Some(Access::Public) {
            return Box::pin(self.inner.call(request));
        }
        // The service that was made ready is the one that must be called.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let authenticator = self.authenticator.clone();
        Box::pin(async move {
            let principal = match authenticator
                .authenticate(credential(request.headers()))
                .await
            {
                Ok(principal) => principal,
                Err(refused) => return Ok(tonic::Status::from(refused).into_http()),
            };
            let allowed = match access {
                Some(Access::Requires(resource, operation)) => {
                    authz::allows(principal.role, resource, operation)
                }
                Some(Access::Authenticated) => true,
                // Not in the map: nobody decided who may call it, so nobody may.
                Some(Access::Public) | None => false,
            };
            if !allowed {
                return Ok(tonic::Status::from(Error::Forbidden).into_http());
            }
            let context = RequestContext::new(principal, &request);
            request.extensions_mut().insert(context);
            inner.call(request).await
        })
    }
}

/// Everything the core knows about the call it is serving: who, which request, from
/// where, and why. Attached by the auth layer; read by the domain for scoping and audit.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The caller.
    pub principal: Principal,
    /// The request id (from `x-request-id`), or empty.
    pub request_id: String,
    /// The client's address: as the edge reports it (`x-client-address`), else the peer.
    pub client_address: String,
    /// Why, as the caller said (`x-reason`), if it did.
    pub reason: Option<String>,
    /// The name of the RPC being served (`CreateCustomer`), or empty.
    pub rpc: String,
}

impl RequestContext {
    const REASON_MAX: usize = 500;

    fn new<B>(principal: Principal, request: &http::Request<B>) -> Self {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let peer = request
            .extensions()
            .get::<tonic::transport::server::TcpConnectInfo>()
            .and_then(|info| info.remote_addr())
            .map(|addr| addr.ip().to_string());
        Self {
            principal,
            request_id: header(lastmile_proto::REQUEST_ID_METADATA).unwrap_or_default(),
            client_address: header(lastmile_proto::CLIENT_ADDRESS_METADATA)
                .or(peer)
                .unwrap_or_default(),
            reason: header(lastmile_proto::REASON_METADATA)
                .map(|r| r.chars().take(Self::REASON_MAX).collect()),
            rpc: request
                .uri()
                .path()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned(),
        }
    }

    /// A context for work the core does on its own behalf or for tests.
    pub fn for_principal(principal: Principal) -> Self {
        Self {
            principal,
            request_id: String::new(),
            client_address: String::new(),
            reason: None,
            rpc: String::new(),
        }
    }
}

/// The context the auth layer attached to a request.
pub fn context<T>(request: &tonic::Request<T>) -> Result<&RequestContext> {
    request
        .extensions()
        .get::<RequestContext>()
        .ok_or(Error::Unauthenticated(AuthFailure::Missing))
}

/// The principal the auth layer attached to a request.
pub fn principal<T>(request: &tonic::Request<T>) -> Result<&Principal> {
    context(request).map(|c| &c.principal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn credentials_come_from_any_of_the_three_entries() {
        assert_eq!(
            credential(&headers(&[("authorization", "Bearer abc")])),
            Some("abc")
        );
        assert_eq!(
            credential(&headers(&[("authorization", "bearer  abc ")])),
            Some("abc")
        );
        assert_eq!(credential(&headers(&[("x-api-key", "abc")])), Some("abc"));
        assert_eq!(
            credential(&headers(&[("x-auth-token", "abc")])),
            Some("abc")
        );
        assert_eq!(credential(&headers(&[])), None);
    }
}
