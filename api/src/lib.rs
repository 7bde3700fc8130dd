//! The HTTP API of a sluice node (ARCHITECTURE.md §8): node administration routes, bearer
//! tokens with scopes, one error type with stable codes, and an OpenAPI document.
//!
//! The API knows nothing of LDK. It talks to the node through [`NodeBackend`], which
//! the node crate implements, and maps the node's [`sluice_actors::NodeError`] to API
//! errors in exactly one place ([`ApiError`]'s `From` impl).
//!
//! # Layout
//!
//! - `routes/`: the endpoints, one module per group, and the router that mounts them;
//!   their bodies and paths are [`sluice_api_types`]'s, shared with clients.
//! - [`auth`], [`middleware`], [`extract`], [`validate`]: tokens and scopes, the
//!   cross-cutting layers, extractors with the API's error format, checked values.
//! - [`backend`]: the node as the API sees it; [`error`]: every failure and its code;
//!   [`openapi`]: the OpenAPI document; [`time`]: RFC 3339 timestamps.
//! - [`rate_limit`]: per-token token buckets on the money routes.
//! - [`serve`](mod@serve): the accept loop, with header-read and idle timeouts and a cap
//!   on connections; [`tls`]: HTTPS from PEM files.
//!
//! # Limits
//!
//! The API is meant to be reachable by agents holding `pay` tokens, so nothing a client
//! does can hold the server's resources without bound: request bodies are capped
//! ([`ApiConfig::max_body_bytes`]), requests time out ([`ApiConfig::request_timeout`]),
//! a request's head must arrive within [`ConnectionLimits::header_read_timeout`], an
//! idle connection is closed after [`ConnectionLimits::idle_timeout`], at most
//! [`ConnectionLimits::max_connections`] are open at once (more are closed on arrival),
//! and each token's requests to the money routes (marked † below) are rate limited
//! ([`ApiConfig::rate_limit`]). Refused authentication is counted in
//! `sluice_api_unauthenticated_total{reason}` (`missing`, `malformed`, `unknown`), refused
//! scopes in `sluice_api_forbidden_total{route}`, rate-limited requests in
//! `sluice_api_rate_limited_total{route}`, connections refused at the cap in
//! `sluice_api_connections_refused_total`.
//!
//! # Routes
//!
//! | Method | Path | Scope |
//! |---|---|---|
//! | GET | `/healthz` | none |
//! | GET | `/openapi.json` | none |
//! | GET | `/metrics` | read |
//! | GET | `/v1/node/info` | read |
//! | GET | `/v1/node/peers` | read |
//! | POST | `/v1/node/peers` | admin |
//! | DELETE | `/v1/node/peers/{node_id}` | admin |
//! | GET | `/v1/node/channels` | read |
//! | POST | `/v1/node/channels` | admin |
//! | POST | `/v1/node/channels/{channel_id}/close` | admin |
//! | POST | `/v1/node/invoices` † | pay |
//! | GET | `/v1/node/payments` | read or pay |
//! | POST | `/v1/node/payments` † | pay |
//! | GET | `/v1/node/payments/{payment_id}` | read or pay |
//! | POST | `/v1/node/payments/keysend` † | pay |
//! | POST | `/v1/liquidity/quote_pay` † | pay |
//! | POST | `/v1/liquidity/pay` † | pay |
//! | GET | `/v1/liquidity/pay/{quote_id}` | read or pay |
//! | GET | `/v1/receipts/{receipt_id}` | read or pay |
//! | POST | `/v1/node/wallet/address` | admin |
//! | GET | `/v1/node/wallet/balance` | read |
//! | GET | `/v1/node/budget` | read or pay (the caller's own) |
//! | GET | `/v1/node/budgets` | admin |
//! | POST | `/v1/pools` | admin |
//! | GET | `/v1/pools/{pool_id}/status` | read or lp |
//! | POST | `/v1/pools/{pool_id}/deposit_quote` † | lp (the LP id's owner) |
//! | GET | `/v1/pools/{pool_id}/deposits/{deposit_id}` | lp (the LP id's owner) |
//! | GET | `/v1/pools/{pool_id}/lps/{lp_id}` | lp (the LP id's owner) |
//! | POST | `/v1/pools/{pool_id}/withdraw_request` † | lp (the LP id's owner) |
//! | GET | `/v1/pools/{pool_id}/withdrawals/{withdrawal_id}` | lp (the LP id's owner) |
//! | POST | `/v1/pools/{pool_id}/withdrawals/{withdrawal_id}/cancel` † | lp (the LP id's owner) |
//! | POST | `/v1/pools/{pool_id}/withdrawals/{withdrawal_id}/approve` | admin |
//! | POST | `/v1/pools/{pool_id}/withdrawals/halt` | admin |
//! | POST | `/v1/credit/intent` † | pay |
//! | POST | `/v1/credit/offer` † | pay |
//! | POST | `/v1/credit/envelope` † | pay |
//! | POST | `/v1/credit/settle` † | pay |
//! | POST | `/v1/credit/envelopes/{envelope_id}/repayment` † | pay |
//! | GET | `/v1/credit/envelopes/{envelope_id}` | read or pay |
//! | GET | `/v1/credit/agents/{agent_id}/exposure` | read or pay |
//! | GET | `/v1/credit/health` | read or pay |
//! | GET | `/v1/nostr` | read or pay |
//! | GET | `/v1/rebalancer` | read |
//! | POST | `/v1/rebalancer/halt` | admin |
//! | POST | `/v1/rebalancer/resume` | admin |
//! | PUT | `/v1/rebalancer/channels/{channel_id}` | admin |
//!
//! `admin` grants every route. An LP id belongs to the `lp` token that first deposited
//! for it; another token is refused with 403 `not_owner`. Every `/v1/...` route is
//! mirrored under `/internal/v1/...`.
//!
//! The POSTs that move money or funds take an `Idempotency-Key` header (keysend requires
//! one): keys are per token, and a repeat with the same body gets the first answer.
//!
//! # Errors
//!
//! Every error is `{"error":{"code","message"}}` with a stable code:
//!
//! | Code | Status | When |
//! |---|---|---|
//! | `invalid_request` | 400 | bad JSON, wrong content type, missing/unknown fields, bad hex, out-of-range values |
//! | `unauthenticated` | 401 | no bearer token, or an unknown one |
//! | `forbidden` | 403 | the token lacks the endpoint's scope |
//! | `not_found` | 404 | unknown route, or no such object |
//! | `not_enabled` | 404 | the feature behind the route is not enabled on this node (the LSPS2 service without `[lsps2]`, the rebalancer's admin routes without `[rebalancer]`) |
//! | `method_not_allowed` | 405 | known route, wrong method |
//! | `peer_not_connected` | 409 | the operation needs a connected peer |
//! | `payload_too_large` | 413 | body over [`ApiConfig::max_body_bytes`] |
//! | `rate_limited` | 429 | the token is over its [`ApiConfig::rate_limit`] on a money route; `Retry-After` says when to retry |
//! | `insufficient_funds` | 422 | not enough on-chain funds |
//! | `channel_refused` | 422 | LDK refused the channel operation |
//! | `invoice_failed` | 422 | the invoice could not be created |
//! | `route_not_found` | 422 | no route reaches the payee |
//! | `fee_limit_exceeded` | 422 | every route costs more than `max_fee_msats` |
//! | `invoice_expired` | 422 | the invoice expired |
//! | `wrong_network` | 422 | the invoice is for another network |
//! | `amount_required` | 422 | an invoice without an amount, and none given |
//! | `amount_exceeds_max` | 422 | the amount is above `max_amount_msats` |
//! | `already_paid` | 409 | the invoice was paid already |
//! | `payment_in_progress` | 409 | a payment of the invoice is in flight |
//! | `idempotency_conflict` | 409 | an idempotency key reused for a different request |
//! | `request_in_progress` | 409 | a request with the same idempotency key has not finished |
//! | `budget_exceeded` | 403 | the token's spend budget does not cover the payment |
//! | `budget_expired` | 403 | the token's spend budget expired |
//! | `destination_not_allowed` | 403 | the token's budget does not allow paying this payee |
//! | `quote_expired` | 410 | the quote expired unpaid |
//! | `offer_state` | 409 | the credit offer was taken up for another provider |
//! | `offer_expired` | 410 | the credit offer expired before it was taken up |
//! | `no_credit` | 422 | underwriting allows the agent no credit, or less than the offer, now |
//! | `too_many_envelopes` | 409 | the agent has as many live envelopes as allowed |
//! | `credit_committed` | 422 | the CEP partition cannot cover the envelope beside its commitments |
//! | `credit_halted` | 503 | the loss-rate breaker halts new envelopes |
//! | `wrong_provider` | 422 | the settle invoice is not payable to the envelope's provider |
//! | `over_envelope_cap` | 422 | the settle invoice asks more than the envelope's cap |
//! | `envelope_settled` | 409 | the envelope was settled (or is being settled) by another request |
//! | `invoice_reserved` | 409 | the settle invoice is another envelope's settlement already |
//! | `authorization_invalid` | 422 | the spend authorization does not verify against the agent's key |
//! | `authorization_replayed` | 409 | the spend authorization was used by another settlement |
//! | `settlement_failed` | 502 | the provider's payment failed; the envelope is open again until its expiry |
//! | `nothing_owed` | 409 | a repayment asked of an envelope that owes nothing (open, paying, repaid, or defaulted with nothing lost) |
//! | `wallet_error` | 500 | the on-chain wallet failed |
//! | `internal` | 500 | a store failure or a bug; details only in the log |
//! | `peer_unreachable` | 502 | connecting to the peer failed |
//! | `chain_unavailable` | 503 | the chain backend failed |
//! | `node_not_running` | 503 | the node is starting or stopping |
//! | `overloaded` | 503 | the node is at capacity for this work (a full queue); retry shortly |
//! | `timeout` | 504 | over [`ApiConfig::request_timeout`], or an actor did not answer |
//!
//! [`ApiError::CODES`] lists the same table for code. Bad input never answers 500.

pub mod auth;
pub mod backend;
mod config;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod openapi;
pub mod rate_limit;
mod routes;
pub mod serve;
mod stats_page;
pub mod time;
pub mod tls;
pub mod validate;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::Router;
use tower_http::trace::TraceLayer;

pub use auth::{hash_token, AuthConfig, Scope, TokenConfig};
pub use backend::NodeBackend;
pub use config::{
    ApiConfig, ConnectionLimits, RateLimit, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONNECTIONS, DEFAULT_RATE_LIMIT_BURST,
    DEFAULT_RATE_LIMIT_PER_SECOND, DEFAULT_REQUEST_TIMEOUT, DEFAULT_SHUTDOWN_GRACE,
};
pub use error::ApiError;
pub use serve::{serve, serve_with, ServeOptions};
pub use tls::{TlsAcceptor, TlsError};

// The wire types live in `sluice-api-types`; the API's own modules use them as
// `crate::types` and `crate::paths`.
use sluice_api_types as types;
use sluice_api_types::paths;

/// Renders the node's metrics in the Prometheus text format, for `GET /metrics`
/// (for example a `metrics_exporter_prometheus::PrometheusHandle::render`).
pub type MetricsRenderer = Arc<dyn Fn() -> String + Send + Sync>;

/// The API's router: every route, auth, body limit, timeout, metrics and tracing.
///
/// Layers, outermost first: tracing, request metrics (every request, unknown routes
/// included), the body limit, then per route the timeout and the scope check.
pub fn router<B: NodeBackend>(
    backend: Arc<B>,
    config: ApiConfig,
    metrics: MetricsRenderer,
) -> Router {
    let authenticator = Arc::new(auth::Authenticator::new(&config.auth));
    let money = rate_limit::MoneyLimit::new(config.rate_limit);
    let state = routes::AppState {
        backend,
        metrics,
        request_timeout: config.request_timeout,
    };
    Router::new()
        .merge(routes::service_routes::<B>(&authenticator))
        .merge(routes::node_routes::<B>(&authenticator, &money, paths::V1))
        .merge(routes::node_routes::<B>(
            &authenticator,
            &money,
            paths::INTERNAL_V1,
        ))
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .route_layer(from_fn_with_state(
            config.request_timeout,
            middleware::timeout,
        ))
        .route_layer(from_fn(middleware::label_route))
        .fallback(middleware::not_found)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(from_fn(middleware::record_metrics))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
