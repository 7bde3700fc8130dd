//! [`ApiError`]: every failure the API answers with, its stable code and HTTP status.
//!
//! This is the only place a [`NodeError`] meets HTTP. Codes are part of the API: a
//! client branches on them, so a code is never renamed, only added.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sluice_actors::budgets::Refusal;
use sluice_actors::NodeError;

use crate::types::{ErrorBody, ErrorResponse};

/// A failed request, as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed: bad JSON, a missing field, bad hex, an amount out of
    /// range, a wrong content type. 400 `invalid_request`.
    #[error("{0}")]
    InvalidRequest(String),
    /// No bearer token, or not one the node knows. 401 `unauthenticated`.
    #[error("a valid bearer token is required")]
    Unauthenticated,
    /// The token is valid but lacks the scope the endpoint needs. 403 `forbidden`.
    #[error("this token lacks the scope this endpoint needs ({0})")]
    Forbidden(&'static str),
    /// No such route, or no such object. 404 `not_found`.
    #[error("{0}")]
    NotFound(String),
    /// The feature behind the route is not enabled on this node (e.g. the LSPS2 service
    /// without an `[lsps2]` section). 404 `not_enabled`.
    #[error("{0}")]
    NotEnabled(String),
    /// The route exists but not with this method. 405 `method_not_allowed`.
    #[error("this method is not allowed on this route")]
    MethodNotAllowed,
    /// The body is larger than the configured limit. 413 `payload_too_large`.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// The token made more money-route requests than its rate limit allows; it may try
    /// again after this many seconds (the `Retry-After` header). 429 `rate_limited`.
    #[error("too many requests with this token; retry after {0} s")]
    RateLimited(u64),
    /// The operation needs a connected peer. 409 `peer_not_connected`.
    #[error("{0}")]
    PeerNotConnected(String),
    /// Connecting to the peer failed. 502 `peer_unreachable`.
    #[error("{0}")]
    PeerUnreachable(String),
    /// Not enough on-chain funds. 422 `insufficient_funds`.
    #[error("{0}")]
    InsufficientFunds(String),
    /// LDK refused the channel operation. 422 `channel_refused`.
    #[error("{0}")]
    ChannelRefused(String),
    /// The invoice could not be created. 422 `invoice_failed`.
    #[error("{0}")]
    InvoiceFailed(String),
    /// No route reaches the payee. 422 `route_not_found`.
    #[error("{0}")]
    RouteNotFound(String),
    /// Every route costs more than `max_fee_msats`. 422 `fee_limit_exceeded`.
    #[error("{0}")]
    FeeLimitExceeded(String),
    /// The invoice expired. 422 `invoice_expired`.
    #[error("{0}")]
    InvoiceExpired(String),
    /// The invoice is for another network. 422 `wrong_network`.
    #[error("{0}")]
    WrongNetwork(String),
    /// The invoice has no amount and the request gave none. 422 `amount_required`.
    #[error("{0}")]
    AmountRequired(String),
    /// The amount is above the caller's `max_amount_msats`. 422 `amount_exceeds_max`.
    #[error("{0}")]
    AmountExceedsMax(String),
    /// The invoice was paid already. 409 `already_paid`.
    #[error("{0}")]
    AlreadyPaid(String),
    /// A payment of the invoice is in flight. 409 `payment_in_progress`.
    #[error("{0}")]
    PaymentInProgress(String),
    /// The quote expired unpaid. 410 `quote_expired`.
    #[error("{0}")]
    QuoteExpired(String),
    /// The idempotency key was used for a different request. 409 `idempotency_conflict`.
    #[error("{0}")]
    IdempotencyConflict(String),
    /// A request with the same idempotency key has not finished. 409 `request_in_progress`.
    #[error("{0}")]
    RequestInProgress(String),
    /// The token's spend budget does not cover the payment (per payment or per period).
    /// 403 `budget_exceeded`.
    #[error("{0}")]
    BudgetExceeded(String),
    /// The token's spend budget expired. 403 `budget_expired`.
    #[error("{0}")]
    BudgetExpired(String),
    /// The token's budget does not allow paying this payee. 403 `destination_not_allowed`.
    #[error("{0}")]
    DestinationNotAllowed(String),
    /// A pool with that id exists with other settings, or the node runs another pool.
    /// 409 `pool_exists`.
    #[error("{0}")]
    PoolExists(String),
    /// The token may not act for the LP id it named (another token's). 403 `not_owner`.
    #[error("{0}")]
    NotOwner(String),
    /// The LP holds fewer free shares than it asked to withdraw. 422 `insufficient_shares`.
    #[error("{0}")]
    InsufficientShares(String),
    /// The withdrawal cannot change that way now (cancel after a payout began, approve one
    /// that needs none). 409 `withdrawal_state`.
    #[error("{0}")]
    WithdrawalState(String),
    /// The credit offer cannot be taken up that way (another provider took it up).
    /// 409 `offer_state`.
    #[error("{0}")]
    OfferState(String),
    /// The credit offer is past its expiry. 410 `offer_expired`.
    #[error("{0}")]
    OfferExpired(String),
    /// Underwriting allows the agent no credit, or less than the offer, now.
    /// 422 `no_credit`.
    #[error("{0}")]
    NoCredit(String),
    /// The agent has as many live envelopes as it may. 409 `too_many_envelopes`.
    #[error("{0}")]
    TooManyEnvelopes(String),
    /// The CEP partition cannot cover the envelope beside what it has committed already.
    /// 422 `credit_committed`.
    #[error("{0}")]
    CreditCommitted(String),
    /// A credit circuit breaker holds new envelopes back (the loss rate is too high).
    /// 503 `credit_halted`.
    #[error("{0}")]
    CreditHalted(String),
    /// The provider's invoice is not payable to the envelope's provider (its payee key's
    /// x-only form is not the `provider_id`). 422 `wrong_provider`.
    #[error("{0}")]
    WrongProvider(String),
    /// The provider's invoice asks more than the envelope's cap. 422 `over_envelope_cap`.
    #[error("{0}")]
    OverEnvelopeCap(String),
    /// The envelope was settled (or is being settled) by another request.
    /// 409 `envelope_settled`.
    #[error("{0}")]
    EnvelopeSettled(String),
    /// The provider's invoice is the settlement of another envelope already.
    /// 409 `invoice_reserved`.
    #[error("{0}")]
    InvoiceReserved(String),
    /// The spend authorization (mode 2) does not verify against the agent's key.
    /// 422 `authorization_invalid`.
    #[error("{0}")]
    AuthorizationInvalid(String),
    /// The spend authorization (mode 2) was used by another settlement already.
    /// 409 `authorization_replayed`.
    #[error("{0}")]
    AuthorizationReplayed(String),
    /// The provider's payment failed for good; the envelope is open again (until its
    /// expiry) for another invoice. 502 `settlement_failed`.
    #[error("{0}")]
    SettlementFailed(String),
    /// The envelope owes nothing to repay: it is open, paying or repaid, or it defaulted
    /// with nothing lost (or its loss recovered). 409 `nothing_owed`.
    #[error("{0}")]
    NothingOwed(String),
    /// The on-chain wallet failed. 500 `wallet_error`.
    #[error("{0}")]
    Wallet(String),
    /// The chain backend failed or is unreachable. 503 `chain_unavailable`.
    #[error("{0}")]
    ChainUnavailable(String),
    /// The node is at capacity for this work; retry shortly. 503 `overloaded`.
    #[error("{0}")]
    Overloaded(String),
    /// The node is starting or stopping. 503 `node_not_running`.
    #[error("the node is not running")]
    NodeNotRunning,
    /// The request took longer than the configured timeout, or an actor did not answer
    /// in time. 504 `timeout`.
    #[error("{0}")]
    Timeout(String),
    /// Anything the client cannot fix (a store failure, a bug). The detail goes to the
    /// log, never to the client. 500 `internal`.
    #[error("internal error; the node's log has the details")]
    Internal,
}

impl ApiError {
    /// Every code the API answers with and its HTTP status, for documentation and tests.
    pub const CODES: &'static [(&'static str, u16)] = &[
        ("invalid_request", 400),
        ("unauthenticated", 401),
        ("forbidden", 403),
        ("not_found", 404),
        ("not_enabled", 404),
        ("method_not_allowed", 405),
        ("payload_too_large", 413),
        ("rate_limited", 429),
        ("peer_not_connected", 409),
        ("peer_unreachable", 502),
        ("insufficient_funds", 422),
        ("channel_refused", 422),
        ("invoice_failed", 422),
        ("route_not_found", 422),
        ("fee_limit_exceeded", 422),
        ("invoice_expired", 422),
        ("wrong_network", 422),
        ("amount_required", 422),
        ("amount_exceeds_max", 422),
        ("already_paid", 409),
        ("payment_in_progress", 409),
        ("quote_expired", 410),
        ("idempotency_conflict", 409),
        ("request_in_progress", 409),
        ("budget_exceeded", 403),
        ("budget_expired", 403),
        ("destination_not_allowed", 403),
        ("pool_exists", 409),
        ("not_owner", 403),
        ("insufficient_shares", 422),
        ("withdrawal_state", 409),
        ("offer_state", 409),
        ("offer_expired", 410),
        ("no_credit", 422),
        ("too_many_envelopes", 409),
        ("credit_committed", 422),
        ("credit_halted", 503),
        ("wrong_provider", 422),
        ("over_envelope_cap", 422),
        ("envelope_settled", 409),
        ("invoice_reserved", 409),
        ("authorization_invalid", 422),
        ("authorization_replayed", 409),
        ("settlement_failed", 502),
        ("nothing_owed", 409),
        ("wallet_error", 500),
        ("chain_unavailable", 503),
        ("node_not_running", 503),
        ("overloaded", 503),
        ("timeout", 504),
        ("internal", 500),
    ];

    /// The stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::NotEnabled(_) => "not_enabled",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::PeerNotConnected(_) => "peer_not_connected",
            ApiError::PeerUnreachable(_) => "peer_unreachable",
            ApiError::InsufficientFunds(_) => "insufficient_funds",
            ApiError::ChannelRefused(_) => "channel_refused",
            ApiError::InvoiceFailed(_) => "invoice_failed",
            ApiError::RouteNotFound(_) => "route_not_found",
            ApiError::FeeLimitExceeded(_) => "fee_limit_exceeded",
            ApiError::InvoiceExpired(_) => "invoice_expired",
            ApiError::WrongNetwork(_) => "wrong_network",
            ApiError::AmountRequired(_) => "amount_required",
            ApiError::AmountExceedsMax(_) => "amount_exceeds_max",
            ApiError::AlreadyPaid(_) => "already_paid",
            ApiError::PaymentInProgress(_) => "payment_in_progress",
            ApiError::QuoteExpired(_) => "quote_expired",
            ApiError::IdempotencyConflict(_) => "idempotency_conflict",
            ApiError::RequestInProgress(_) => "request_in_progress",
            ApiError::BudgetExceeded(_) => "budget_exceeded",
            ApiError::BudgetExpired(_) => "budget_expired",
            ApiError::DestinationNotAllowed(_) => "destination_not_allowed",
            ApiError::PoolExists(_) => "pool_exists",
            ApiError::NotOwner(_) => "not_owner",
            ApiError::InsufficientShares(_) => "insufficient_shares",
            ApiError::WithdrawalState(_) => "withdrawal_state",
            ApiError::OfferState(_) => "offer_state",
            ApiError::OfferExpired(_) => "offer_expired",
            ApiError::NoCredit(_) => "no_credit",
            ApiError::TooManyEnvelopes(_) => "too_many_envelopes",
            ApiError::CreditCommitted(_) => "credit_committed",
            ApiError::CreditHalted(_) => "credit_halted",
            ApiError::WrongProvider(_) => "wrong_provider",
            ApiError::OverEnvelopeCap(_) => "over_envelope_cap",
            ApiError::EnvelopeSettled(_) => "envelope_settled",
            ApiError::InvoiceReserved(_) => "invoice_reserved",
            ApiError::AuthorizationInvalid(_) => "authorization_invalid",
            ApiError::AuthorizationReplayed(_) => "authorization_replayed",
            ApiError::SettlementFailed(_) => "settlement_failed",
            ApiError::NothingOwed(_) => "nothing_owed",
            ApiError::Wallet(_) => "wallet_error",
            ApiError::ChainUnavailable(_) => "chain_unavailable",
            ApiError::NodeNotRunning => "node_not_running",
            ApiError::Overloaded(_) => "overloaded",
            ApiError::Timeout(_) => "timeout",
            ApiError::Internal => "internal",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_)
            | ApiError::BudgetExceeded(_)
            | ApiError::BudgetExpired(_)
            | ApiError::DestinationNotAllowed(_)
            | ApiError::NotOwner(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::NotEnabled(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::PeerNotConnected(_)
            | ApiError::AlreadyPaid(_)
            | ApiError::PaymentInProgress(_)
            | ApiError::IdempotencyConflict(_)
            | ApiError::RequestInProgress(_)
            | ApiError::PoolExists(_)
            | ApiError::WithdrawalState(_)
            | ApiError::OfferState(_)
            | ApiError::TooManyEnvelopes(_)
            | ApiError::EnvelopeSettled(_)
            | ApiError::InvoiceReserved(_)
            | ApiError::AuthorizationReplayed(_)
            | ApiError::NothingOwed(_) => StatusCode::CONFLICT,
            ApiError::QuoteExpired(_) | ApiError::OfferExpired(_) => StatusCode::GONE,
            ApiError::PeerUnreachable(_) | ApiError::SettlementFailed(_) => StatusCode::BAD_GATEWAY,
            ApiError::InsufficientFunds(_)
            | ApiError::ChannelRefused(_)
            | ApiError::InvoiceFailed(_)
            | ApiError::RouteNotFound(_)
            | ApiError::FeeLimitExceeded(_)
            | ApiError::InvoiceExpired(_)
            | ApiError::WrongNetwork(_)
            | ApiError::AmountRequired(_)
            | ApiError::AmountExceedsMax(_)
            | ApiError::InsufficientShares(_)
            | ApiError::NoCredit(_)
            | ApiError::CreditCommitted(_)
            | ApiError::WrongProvider(_)
            | ApiError::OverEnvelopeCap(_)
            | ApiError::AuthorizationInvalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Wallet(_) | ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::ChainUnavailable(_)
            | ApiError::NodeNotRunning
            | ApiError::Overloaded(_)
            | ApiError::CreditHalted(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// The JSON body this error is answered with.
    pub fn body(&self) -> ErrorResponse {
        ErrorResponse {
            error: ErrorBody {
                code: self.code().to_string(),
                message: self.to_string(),
            },
        }
    }
}

impl From<NodeError> for ApiError {
    fn from(err: NodeError) -> Self {
        let message = err.to_string();
        match err {
            NodeError::InvalidRequest(_) => ApiError::InvalidRequest(message),
            NodeError::NotFound(_) => ApiError::NotFound(message),
            NodeError::PeerNotConnected(_) => ApiError::PeerNotConnected(message),
            NodeError::PeerUnreachable(_) => ApiError::PeerUnreachable(message),
            NodeError::InsufficientFunds { .. } => ApiError::InsufficientFunds(message),
            NodeError::ChannelRefused(_) => ApiError::ChannelRefused(message),
            NodeError::Invoice(_) => ApiError::InvoiceFailed(message),
            NodeError::RouteNotFound(_) => ApiError::RouteNotFound(message),
            NodeError::FeeLimitExceeded(_) => ApiError::FeeLimitExceeded(message),
            NodeError::InvoiceExpired => ApiError::InvoiceExpired(message),
            NodeError::WrongNetwork { .. } => ApiError::WrongNetwork(message),
            NodeError::AmountRequired => ApiError::AmountRequired(message),
            NodeError::AmountAboveMaximum { .. } => ApiError::AmountExceedsMax(message),
            NodeError::AlreadyPaid(_) => ApiError::AlreadyPaid(message),
            NodeError::PaymentInProgress(_) => ApiError::PaymentInProgress(message),
            NodeError::QuoteExpired(_) => ApiError::QuoteExpired(message),
            NodeError::IdempotencyConflict(_) => ApiError::IdempotencyConflict(message),
            NodeError::RequestInProgress(_) => ApiError::RequestInProgress(message),
            NodeError::Budget(refusal) => match refusal {
                Refusal::Expired { .. } => ApiError::BudgetExpired(message),
                Refusal::Destination(_) => ApiError::DestinationNotAllowed(message),
                Refusal::PerPayment { .. } | Refusal::Period { .. } => {
                    ApiError::BudgetExceeded(message)
                }
            },
            NodeError::PoolExists(_) => ApiError::PoolExists(message),
            NodeError::Forbidden(_) => ApiError::NotOwner(message),
            NodeError::NotEnoughShares { .. } => ApiError::InsufficientShares(message),
            NodeError::WithdrawalState(_) => ApiError::WithdrawalState(message),
            NodeError::OfferState(_) => ApiError::OfferState(message),
            NodeError::OfferExpired(_) => ApiError::OfferExpired(message),
            NodeError::NoCredit(_) => ApiError::NoCredit(message),
            NodeError::TooManyEnvelopes { .. } => ApiError::TooManyEnvelopes(message),
            NodeError::CreditCommitted { .. } => ApiError::CreditCommitted(message),
            NodeError::CreditHalted(_) => ApiError::CreditHalted(message),
            NodeError::WrongProvider(_) => ApiError::WrongProvider(message),
            NodeError::OverEnvelopeCap { .. } => ApiError::OverEnvelopeCap(message),
            NodeError::EnvelopeSettled(_) => ApiError::EnvelopeSettled(message),
            NodeError::InvoiceReserved(_) => ApiError::InvoiceReserved(message),
            NodeError::AuthorizationInvalid(_) => ApiError::AuthorizationInvalid(message),
            NodeError::AuthorizationReplayed(_) => ApiError::AuthorizationReplayed(message),
            NodeError::SettlementFailed(_) => ApiError::SettlementFailed(message),
            NodeError::NothingOwed(_) => ApiError::NothingOwed(message),
            NodeError::Ledger(_) => {
                tracing::error!(error = %message, "the pool ledger refused a change behind an API request");
                ApiError::Internal
            }
            NodeError::Receipt(_) => {
                tracing::error!(error = %message, "sealing a receipt failed behind an API request");
                ApiError::Internal
            }
            NodeError::Nostr(_) => {
                tracing::error!(error = %message, "staging a Nostr event failed behind an API request");
                ApiError::Internal
            }
            NodeError::Wallet(_) => {
                tracing::error!(error = %message, "wallet failure behind an API request");
                ApiError::Wallet(message)
            }
            NodeError::Chain(_) => {
                tracing::warn!(error = %message, "chain backend failure behind an API request");
                ApiError::ChainUnavailable(message)
            }
            NodeError::Store(_) => {
                tracing::error!(error = %message, "store failure behind an API request");
                ApiError::Internal
            }
            NodeError::Timeout(_) => ApiError::Timeout(message),
            NodeError::NotEnabled(_) => ApiError::NotEnabled(message),
            NodeError::NotRunning => ApiError::NodeNotRunning,
            NodeError::Overloaded(_) => ApiError::Overloaded(message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), Json(self.body())).into_response();
        match self {
            ApiError::Unauthenticated => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::RateLimited(seconds) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            _ => {}
        }
        response
    }
}
