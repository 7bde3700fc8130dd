//! [`ApiError`]: every failure the API answers with, its stable code and HTTP status.
//!
//! This is the only place a [`NodeError`] meets HTTP. Codes are part of the API: a
//! client branches on them, so a code is never renamed, only added.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
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
    /// The route exists but not with this method. 405 `method_not_allowed`.
    #[error("this method is not allowed on this route")]
    MethodNotAllowed,
    /// The body is larger than the configured limit. 413 `payload_too_large`.
    #[error("the request body is too large")]
    PayloadTooLarge,
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
    /// The on-chain wallet failed. 500 `wallet_error`.
    #[error("{0}")]
    Wallet(String),
    /// The chain backend failed or is unreachable. 503 `chain_unavailable`.
    #[error("{0}")]
    ChainUnavailable(String),
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
        ("method_not_allowed", 405),
        ("payload_too_large", 413),
        ("peer_not_connected", 409),
        ("peer_unreachable", 502),
        ("insufficient_funds", 422),
        ("channel_refused", 422),
        ("invoice_failed", 422),
        ("wallet_error", 500),
        ("chain_unavailable", 503),
        ("node_not_running", 503),
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
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::PeerNotConnected(_) => "peer_not_connected",
            ApiError::PeerUnreachable(_) => "peer_unreachable",
            ApiError::InsufficientFunds(_) => "insufficient_funds",
            ApiError::ChannelRefused(_) => "channel_refused",
            ApiError::InvoiceFailed(_) => "invoice_failed",
            ApiError::Wallet(_) => "wallet_error",
            ApiError::ChainUnavailable(_) => "chain_unavailable",
            ApiError::NodeNotRunning => "node_not_running",
            ApiError::Timeout(_) => "timeout",
            ApiError::Internal => "internal",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::PeerNotConnected(_) => StatusCode::CONFLICT,
            ApiError::PeerUnreachable(_) => StatusCode::BAD_GATEWAY,
            ApiError::InsufficientFunds(_)
            | ApiError::ChannelRefused(_)
            | ApiError::InvoiceFailed(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Wallet(_) | ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::ChainUnavailable(_) | ApiError::NodeNotRunning => {
                StatusCode::SERVICE_UNAVAILABLE
            }
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
            NodeError::NotRunning => ApiError::NodeNotRunning,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), Json(self.body())).into_response();
        if matches!(self, ApiError::Unauthenticated) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
