//! Who is behind a credential, asked of the core and remembered for a few seconds, so that
//! rate limits can be keyed by principal (API key or signed-in user) and sized by tier
//! without a lookup per request.

use crate::clock::SharedClock;
use crate::credentials::{Credential, principal_request};
use crate::envelope::{ApiError, ErrorCode};
use axum::http::HeaderMap;
use lastmile_proto::v1::identity_service_client::IdentityServiceClient;
use lastmile_proto::v1::{GetCurrentPrincipalRequest, RateLimitTier};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tonic::transport::Channel;

/// How long an answer of the core is trusted. Short, so a revoked key stops working at
/// the edge within seconds; the core checks the key on every business call anyway.
const TTL: Duration = Duration::from_secs(3);

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
    entries: Mutex<HashMap<[u8; 32], (Instant, Answer)>>,
}

impl PrincipalCache {
    fn get(&self, key: &[u8; 32], now: Instant) -> Option<Answer> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| now.saturating_duration_since(*at) < TTL)
            .map(|(_, answer)| answer.clone())
    }

    fn put(&self, key: [u8; 32], answer: Answer, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY && !entries.contains_key(&key) {
            entries.retain(|_, (at, _)| now.saturating_duration_since(*at) < TTL);
            if entries.len() >= CAPACITY {
                // Every entry is fresh: a flood of distinct credentials. Start over rather
                // than grow; the cost is one more lookup per credential.
                entries.clear();
            }
        }
        entries.insert(key, (now, answer));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}

/// Resolves credentials through `IdentityService.GetCurrentPrincipal`.
#[derive(Debug)]
pub(crate) struct Principals {
    identity: IdentityServiceClient<Channel>,
    cache: PrincipalCache,
    clock: SharedClock,
}

impl Principals {
    /// A resolver asking the core on `channel`, whose answers age by `clock`.
    pub(crate) fn new(channel: Channel, clock: SharedClock) -> Self {
        Self {
            identity: IdentityServiceClient::new(channel),
            cache: PrincipalCache::default(),
            clock,
        }
    }

    /// The principal behind a credential, or the error to answer. A rejected credential is
    /// remembered like an accepted one; other failures (the core unreachable) are not.
    pub(crate) async fn resolve(&self, credential: &Credential, headers: &HeaderMap) -> Answer {
        let key = credential.fingerprint();
        if let Some(answer) = self.cache.get(&key, self.clock.instant()) {
            return answer;
        }
        let request = principal_request(credential, headers, GetCurrentPrincipalRequest {})?;
        let answer = match self.identity.clone().get_current_principal(request).await {
            Ok(response) => match response.into_inner().principal {
                Some(principal) => Ok(Known {
                    subject: subject_of(&principal).into(),
                    tier: principal.tier(),
                }),
                None => {
                    tracing::error!("the core named no principal for an accepted credential");
                    return Err(ApiError::internal());
                }
            },
            Err(status) => {
                let error = ApiError::from_status(&status);
                if error.body.code != ErrorCode::Unauthenticated.as_str() {
                    return Err(error);
                }
                Err(error) // remembered: the same key gets the same 401 without a lookup
            }
        };
        self.cache.put(key, answer.clone(), self.clock.instant());
        answer
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
        assert_eq!(
            cache.get(&key, start + Duration::from_secs(2)),
            Some(known(1))
        );
        assert_eq!(cache.get(&key, start + TTL), None);
    }

    #[test]
    fn rejections_are_remembered_too() {
        let cache = PrincipalCache::default();
        let key = Credential::new("bad").fingerprint();
        let now = Instant::now();
        cache.put(key, Err(ApiError::invalid_credential()), now);
        let answer = cache.get(&key, now).unwrap().unwrap_err();
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
