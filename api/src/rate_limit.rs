//! Per-token rate limits on the money routes: paying an invoice, keysend, quoting and
//! paying a quote, creating an invoice (and their `/internal/v1` mirrors, which share the
//! same buckets).
//!
//! Each bearer token has one token bucket ([`RateLimit`]: a sustained rate and a burst),
//! kept by [`governor`]'s keyed GCRA limiter. A request over the limit answers 429
//! `rate_limited` with `Retry-After` (whole seconds, rounded up) and is counted in
//! [`RATE_LIMITED_TOTAL`]. Buckets are keyed by the token's [`TokenId`], which the auth
//! layer adds to the request, so only configured tokens ever get a bucket: the map is
//! bounded by the token list.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::auth::TokenId;
use crate::config::RateLimit;
use crate::error::ApiError;
use crate::middleware::UNMATCHED_ROUTE;

/// The counter of requests refused by the rate limit, labelled by `route` (template).
pub const RATE_LIMITED_TOTAL: &str = "sluice_api_rate_limited_total";

/// The money routes' buckets, shared by every route they guard; cheap to clone. Built from
/// a [`RateLimit`]; `per_second == 0` limits nothing.
#[derive(Clone)]
pub struct MoneyLimit {
    limiter: Option<Arc<DefaultKeyedRateLimiter<TokenId>>>,
}

impl std::fmt::Debug for MoneyLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MoneyLimit")
            .field("limited", &self.limiter.is_some())
            .finish()
    }
}

impl MoneyLimit {
    /// Buckets of `limit.burst` (at least 1) refilled at `limit.per_second`, or no limit
    /// when `limit.per_second` is 0.
    pub fn new(limit: RateLimit) -> Self {
        let limiter = NonZeroU32::new(limit.per_second).map(|rate| {
            let burst = NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN);
            Arc::new(DefaultKeyedRateLimiter::keyed(
                Quota::per_second(rate).allow_burst(burst),
            ))
        });
        MoneyLimit { limiter }
    }

    /// Takes one request from `token`'s bucket; `Err` with how long until it may try
    /// again when the bucket is empty.
    pub fn check(&self, token: &TokenId) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter
            .check_key(token)
            .map_err(|not_until| not_until.wait_time_from(limiter.clock().now()))
    }
}

/// The `Retry-After` of a wait: whole seconds, rounded up, at least 1.
fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// Route middleware, inside the auth check: charges the request to its token's bucket,
/// or answers 429 `rate_limited` with `Retry-After` when it is empty. A request without
/// a [`TokenId`] (a route with no auth check) is not limited.
pub async fn limit(State(limit): State<MoneyLimit>, request: Request, next: Next) -> Response {
    let Some(token) = request.extensions().get::<TokenId>().copied() else {
        return next.run(request).await;
    };
    match limit.check(&token) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map_or_else(|| UNMATCHED_ROUTE.to_owned(), |p| p.as_str().to_owned());
            metrics::counter!(RATE_LIMITED_TOTAL, "route" => route).increment(1);
            tracing::debug!(?token, ?wait, "API request over its token's rate limit");
            ApiError::RateLimited(retry_after_secs(wait)).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
    }

    #[test]
    fn zero_rate_is_unlimited() {
        let limit = MoneyLimit::new(RateLimit::UNLIMITED);
        let token = TokenId::for_tests([7; 32]);
        for _ in 0..10_000 {
            assert_eq!(limit.check(&token), Ok(()));
        }
    }

    #[test]
    fn each_token_has_its_own_bucket() {
        let limit = MoneyLimit::new(RateLimit {
            per_second: 1,
            burst: 2,
        });
        let (a, b) = (TokenId::for_tests([1; 32]), TokenId::for_tests([2; 32]));
        assert_eq!(limit.check(&a), Ok(()));
        assert_eq!(limit.check(&a), Ok(()));
        let wait = limit.check(&a).expect_err("a's bucket is empty");
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        assert_eq!(limit.check(&b), Ok(()), "b is not charged for a");
    }
}
