//! The gate in front of the handlers: refuses requests that plainly lack a credential, and,
//! when rate limits are on, counts each request against its key's or its client's budget.

use crate::core_channel::Channel;
use crate::credentials::{Presented, presented};
use crate::envelope::ApiError;
use crate::limits::{Decision, Limits};
use crate::principals::Principals;
use crate::shared::SharedLimits;
use crate::{AppState, RateLimits};
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lastmile_proto::v1::RateLimitTier;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// Principal lookups and budgets, present when the edge does rate limiting.
#[derive(Debug)]
pub(crate) struct RateGuard {
    principals: Principals,
    limits: Limits,
    /// The deployment's shared budgets, when configured; `limits` decides while they are
    /// unreachable.
    shared: Option<Arc<SharedLimits>>,
}

impl RateGuard {
    /// Budgets as `limits` says, principals asked of the core on `channel`.
    pub(crate) fn new(limits: RateLimits, channel: Channel) -> Self {
        let principals = Principals::new(channel, limits.clock.clone());
        let shared = limits
            .shared
            .map(|config| SharedLimits::start(config, principals.cache()));
        Self {
            principals,
            limits: Limits::new(limits.default_per_minute, limits.clock),
            shared,
        }
    }

    /// Counts a request of a principal against its tier's budget: the shared one when it
    /// answers, else this edge's own.
    async fn check_key(&self, tier: RateLimitTier, subject: &Arc<str>) -> Decision {
        if let Some(shared) = &self.shared {
            let (budget, per_minute, per_day) = self.limits.quota(tier);
            let at = self.limits.now();
            if let Some(decision) = shared.check(budget, subject, per_minute, per_day, at).await {
                return decision;
            }
        }
        self.limits.check_key(tier, subject)
    }

    /// Counts a request without a credential against its client address's budget.
    async fn check_ip(&self, ip: IpAddr) -> Decision {
        if let Some(shared) = &self.shared {
            let per_minute = self.limits.ip_quota();
            let at = self.limits.now();
            if let Some(decision) = shared
                .check("ip", &ip.to_string(), per_minute, None, at)
                .await
            {
                return decision;
            }
        }
        self.limits.check_ip(ip)
    }
}

/// The client's address as the socket saw it. Forwarding headers are not trusted: any
/// client could set them to escape its budget.
fn client_ip(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip())
}

/// Runs the request if the decision lets it through; stamps the budget on the answer.
async fn within(decision: Decision, request: Request, next: Next) -> Response {
    let mut response = match decision.refusal() {
        Some(refusal) => refusal.into_response(),
        None => next.run(request).await,
    };
    decision.apply(response.headers_mut());
    response
}

/// Answers a request refused for its credential. With rate limits on, the refusal spends
/// the client address's budget, so guessing keys from one address is limited like any
/// other traffic, and the answer carries the budget headers like every other.
async fn refused(guard: Option<&RateGuard>, ip: IpAddr, error: ApiError) -> Response {
    let Some(guard) = guard else {
        return error.into_response();
    };
    let decision = guard.check_ip(ip).await;
    let mut response = match decision.refusal() {
        Some(refusal) => refusal.into_response(),
        None => error.into_response(),
    };
    decision.apply(response.headers_mut());
    response
}

/// Middleware for routes that need a credential.
pub(crate) async fn protected(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let guard = state.guard.as_ref();
    let credential = match presented(request.headers()) {
        Presented::Credential(credential) => credential,
        Presented::Nothing => {
            return refused(guard, client_ip(&request), ApiError::missing_credential()).await;
        }
        Presented::Unusable => {
            return refused(guard, client_ip(&request), ApiError::invalid_credential()).await;
        }
    };
    let Some(guard) = guard else {
        return next.run(request).await;
    };
    let known = match guard
        .principals
        .resolve(&credential, request.headers())
        .await
    {
        Ok(known) => known,
        Err(error) => return refused(Some(guard), client_ip(&request), error).await,
    };
    let decision = guard.check_key(known.tier, &known.subject).await;
    within(decision, request, next).await
}

/// Middleware for the public `/api` routes: a request with a valid key spends its key's
/// budget, any other its client address's.
pub(crate) async fn public(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(guard) = state.guard.as_ref() else {
        return next.run(request).await;
    };
    let known = match presented(request.headers()) {
        // A public route works whatever the key; a key the core refuses (or cannot check
        // now) just does not count as one.
        Presented::Credential(credential) => guard
            .principals
            .resolve(&credential, request.headers())
            .await
            .ok(),
        Presented::Nothing | Presented::Unusable => None,
    };
    let decision = match known {
        Some(known) => guard.check_key(known.tier, &known.subject).await,
        None => {
            let ip = client_ip(&request);
            guard.check_ip(ip).await
        }
    };
    within(decision, request, next).await
}
