//! Who is behind a credential, asked of the core and remembered for a few seconds, so that
//! rate limits can be keyed by principal (API key or signed-in user) and sized by tier
//! without a lookup per request.

use crate::clock::SharedClock;
use crate::core_channel::Channel;
use crate::credentials::{Credential, principal_request};
use crate::envelope::{ApiError, ErrorCode};
use axum::http::HeaderMap;
use lastmile_proto::v1::identity_service_client::IdentityServiceClient;
use lastmile_proto::v1::{GetCurrentPrincipalRequest, RateLimitTier};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an answer of the core is trusted. Short, so a revoked key stops working at
/// the edge within seconds; the core checks the key on every business call anyway.
const TTL: Duration = Duration::from_secs(3);

/// From this age on, one request asks the core again while the others keep the answer
/// they have: a busy credential is renewed before it expires, instead of every request in
/// flight missing at the same moment.
const REFRESH_AFTER: Duration = Duration::from_secs(2);

/// Most credentials remembered at once.
const CAPACITY: usize = 10_000;

/// The part of a principal the edge needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Known {
    /// The principal's stable name ("key:<id>" or "user:<id>"), the rate-limit key: a
    /// user signed in with access tokens has one budget whichever token it presents.
    pub subject: std::sync::Arc<str>,
    /// Its budget.
    pub tier: RateLimitTier,
}

type Answer = Result<Known, ApiError>;

/// A short-lived memory of credential → answer, keyed by the credential's SHA-256 so no
/// raw key is kept beyond its request.
#[derive(Debug, Default)]
pub(crate) struct PrincipalCache {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

#[derive(Debug)]
struct Entry {
    at: Instant,
    answer: Answer,
    /// A request is asking the core again for this credential.
    refreshing: bool,
}

/// What the cache knows of a credential.
#[derive(Debug, PartialEq)]
enum Cached {
    /// An answer to use.
    Fresh(Answer),
    /// An answer still good, which this caller (alone) should renew.
    Renew(Answer),
    /// Nothing good: ask the core.
    Miss,
}

impl PrincipalCache {
    fn get(&self, key: &[u8; 32], now: Instant) -> Cached {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = entries.get_mut(key) else {
            return Cached::Miss;
        };
        let age = now.saturating_duration_since(entry.at);
        if age >= TTL {
            Cached::Miss
        } else if age < REFRESH_AFTER || entry.refreshing {
            Cached::Fresh(entry.answer.clone())
        } else {
            entry.refreshing = true;
            Cached::Renew(entry.answer.clone())
        }
    }

    /// A renewal failed (the core unreachable): let a later request try again.
    fn renewal_failed(&self, key: &[u8; 32]) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.get_mut(key) {
            entry.refreshing = false;
        }
    }

    fn put(&self, key: [u8; 32], answer: Answer, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY && !entries.contains_key(&key) {
            entries.retain(|_, entry| now.saturating_duration_since(entry.at) < TTL);
            if entries.len() >= CAPACITY {
                // Every entry is fresh: a flood of distinct credentials. Start over rather
                // than grow; the cost is one more lookup per credential.
                entries.clear();
            }
        }
        let refreshing = false;
        entries.insert(
            key,
            Entry {
                at: now,
                answer,
                refreshing,
            },
        );
    }

    /// Drops every answer naming `subject` (a revoked key, a user whose role changed), so
    /// the next request asks the core.
    pub(crate) fn forget(&self, subject: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .retain(|_, entry| !matches!(&entry.answer, Ok(known) if &*known.subject == subject));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}

/// The renewal of a credential's answer by one request; unless it was answered, dropping
/// it (the request ended, or was cancelled midway) lets another request renew.
struct Renewal<'a> {
    cache: &'a PrincipalCache,
    key: [u8; 32],
    answered: bool,
}

impl Drop for Renewal<'_> {
    fn drop(&mut self) {
        if !self.answered {
            self.cache.renewal_failed(&self.key);
        }
    }
}

/// Resolves credentials through `IdentityService.GetCurrentPrincipal`.
#[derive(Debug)]
pub(crate) struct Principals {
    identity: IdentityServiceClient<Channel>,
    cache: std::sync::Arc<PrincipalCache>,
    clock: SharedClock,
}

impl Principals {
    /// A resolver asking the core on `channel`, whose answers age by `clock`.
    pub(crate) fn new(channel: Channel, clock: SharedClock) -> Self {
        Self {
            identity: IdentityServiceClient::new(channel),
            cache: std::sync::Arc::default(),
            clock,
        }
    }

    /// The memory of answers, for whoever learns that a principal changed.
    pub(crate) fn cache(&self) -> std::sync::Arc<PrincipalCache> {
        self.cache.clone()
    }

    /// The principal behind a credential, or the error to answer. A rejected credential is
    /// remembered like an accepted one; other failures (the core unreachable) are not.
    pub(crate) async fn resolve(&self, credential: &Credential, headers: &HeaderMap) -> Answer {
        let key = credential.fingerprint();
        let current = match self.cache.get(&key, self.clock.instant()) {
            Cached::Fresh(answer) => return answer,
            Cached::Renew(answer) => Some(answer),
            Cached::Miss => None,
        };
        // A renewal that ends without an answer (the core unreachable, or this request
        // dropped by its client) lets the next request renew.
        let mut renewal = current.is_some().then_some(Renewal {
            cache: &self.cache,
            key,
            answered: false,
        });
        match self.ask(credential, headers).await {
            Ok(answer) => {
                self.cache.put(key, answer.clone(), self.clock.instant());
                if let Some(renewal) = renewal.as_mut() {
                    renewal.answered = true;
                }
                answer
            }
            // The core could not answer: a renewal keeps the answer it had, for now.
            Err(error) => current.unwrap_or(Err(error)),
        }
    }

    /// The core's answer to remember (a principal, or the refusal of the credential), or
    /// the error of a core that could not answer (not remembered).
    async fn ask(&self, credential: &Credential, headers: &HeaderMap) -> Result<Answer, ApiError> {
        let request = principal_request(credential, headers, GetCurrentPrincipalRequest {})?;
        match self.identity.clone().get_current_principal(request).await {
            Ok(response) => match response.into_inner().principal {
                Some(principal) => Ok(Ok(Known {
                    subject: subject_of(&principal).into(),
                    tier: principal.tier(),
                })),
                None => {
                    tracing::error!("the core named no principal for an accepted credential");
                    Err(ApiError::internal())
                }
            },
            Err(status) => {
                let error = ApiError::from_status(&status);
                if error.body.code != ErrorCode::Unauthenticated.as_str() {
                    return Err(error);
                }
                Ok(Err(error)) // remembered: the same key gets the same 401 without a lookup
            }
        }
    }
}

/// The principal's subject; an older core without one names the key by id.
fn subject_of(principal: &lastmile_proto::v1::Principal) -> String {
    if principal.subject.is_empty() {
        format!("key:{}", principal.api_key_id)
    } else {
        principal.subject.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(id: i64) -> Answer {
        Ok(Known {
            subject: format!("key:{id}").into(),
            tier: RateLimitTier::Standard,
        })
    }

    #[test]
    fn answers_are_remembered_for_three_seconds() {
        let cache = PrincipalCache::default();
        let key = Credential::new("k").fingerprint();
        let start = Instant::now();
        cache.put(key, known(1), start);
        let soon = start + Duration::from_millis(1_999);
        assert_eq!(cache.get(&key, soon), Cached::Fresh(known(1)));
        assert_eq!(cache.get(&key, start + TTL), Cached::Miss);
    }

    #[test]
    fn one_caller_renews_an_aging_answer_while_the_others_keep_it() {
        let cache = PrincipalCache::default();
        let key = Credential::new("k").fingerprint();
        let start = Instant::now();
        cache.put(key, known(1), start);
        let aging = start + REFRESH_AFTER;
        assert_eq!(cache.get(&key, aging), Cached::Renew(known(1)));
        assert_eq!(cache.get(&key, aging), Cached::Fresh(known(1)));
        // A renewal that ends without an answer lets the next caller try.
        drop(Renewal {
            cache: &cache,
            key,
            answered: false,
        });
        assert_eq!(cache.get(&key, aging), Cached::Renew(known(1)));
        let answered = Renewal {
            cache: &cache,
            key,
            answered: true,
        };
        drop(answered);
        assert_eq!(cache.get(&key, aging), Cached::Fresh(known(1)));
        // A renewed answer is young again.
        cache.put(key, known(2), aging);
        assert_eq!(
            cache.get(&key, aging + REFRESH_AFTER / 2),
            Cached::Fresh(known(2))
        );
        // Past the TTL nothing is served, renewing or not.
        assert_eq!(cache.get(&key, aging + TTL), Cached::Miss);
    }

    #[test]
    fn rejections_are_remembered_too() {
        let cache = PrincipalCache::default();
        let key = Credential::new("bad").fingerprint();
        let now = Instant::now();
        cache.put(key, Err(ApiError::invalid_credential()), now);
        let Cached::Fresh(Err(answer)) = cache.get(&key, now) else {
            panic!("the rejection is remembered");
        };
        assert_eq!(answer.status.as_u16(), 401);
    }

    #[test]
    fn the_cache_never_grows_past_its_capacity() {
        let cache = PrincipalCache::default();
        let now = Instant::now();
        for i in 0..CAPACITY {
            cache.put(Credential::new(&i.to_string()).fingerprint(), known(1), now);
        }
        assert_eq!(cache.len(), CAPACITY);
        // Full of expired entries: they make room.
        cache.put(Credential::new("fresh").fingerprint(), known(2), now + TTL);
        assert_eq!(cache.len(), 1);
        // Full of fresh entries: the cache starts over.
        let later = now + TTL;
        for i in 1..CAPACITY {
            cache.put(
                Credential::new(&i.to_string()).fingerprint(),
                known(1),
                later,
            );
        }
        assert_eq!(cache.len(), CAPACITY);
        cache.put(Credential::new("one more").fingerprint(), known(3), later);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn keys_are_fingerprints_not_raw_credentials() {
        let a = Credential::new("secret").fingerprint();
        assert_ne!(&a[..6], b"secret");
        assert_eq!(a, Credential::new("secret").fingerprint());
        assert_ne!(a, Credential::new("secret2").fingerprint());
    }
}
