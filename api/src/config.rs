//! [`ApiConfig`]: tokens, body limit, request timeout, per-token rate limit and the limits
//! on connections.

use std::time::Duration;

use crate::auth::AuthConfig;

/// The largest request body accepted by default: 64 KiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// How long a request may take by default before it answers 504 `timeout`.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Default sustained rate of money-route requests per token, per second. Well above the
/// load driver's ~200 payments/s per payer (a quote and a pay each), so only a runaway
/// client meets it.
pub const DEFAULT_RATE_LIMIT_PER_SECOND: u32 = 1000;
/// Default burst of money-route requests per token: how many may come at once after a
/// quiet spell.
pub const DEFAULT_RATE_LIMIT_BURST: u32 = 2000;
/// How long a request's head may take by default, from its first byte to its last.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection may wait for a request by default (after it is accepted, or
/// between requests on a kept-alive connection) before it is closed.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The most API connections open at once by default. Above what the load driver opens
/// to one node (at most 256 workers), below the usual limit of 1024 open files.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// How long the server waits by default, once told to stop, for requests in flight to be
/// answered before it closes their connections: a request answers within the request
/// timeout, plus a margin to write the answer.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(35);

/// How the API is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// The accepted bearer tokens.
    pub auth: AuthConfig,
    /// The largest request body accepted; larger ones answer 413 `payload_too_large`.
    pub max_body_bytes: usize,
    /// How long a request may take; slower ones answer 504 `timeout`.
    pub request_timeout: Duration,
    /// The per-token limit on the routes that move money or create invoices.
    pub rate_limit: RateLimit,
    /// The limits on connections, which [`crate::serve_with`] enforces.
    pub connections: ConnectionLimits,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            auth: AuthConfig::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            rate_limit: RateLimit::default(),
            connections: ConnectionLimits::default(),
        }
    }
}

/// A token bucket per bearer token on the money routes (paying, quoting, keysend,
/// invoices): `per_second` requests a second sustained, `burst` at once. A token that
/// pays in a loop cannot starve the node's other clients; over the limit a request
/// answers 429 `rate_limited` with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per second each token may sustain; 0 turns the limit off.
    pub per_second: u32,
    /// Requests a token may make at once (the bucket's size); at least 1 when
    /// `per_second` is not 0.
    pub burst: u32,
}

impl RateLimit {
    /// No limit.
    pub const UNLIMITED: RateLimit = RateLimit {
        per_second: 0,
        burst: 0,
    };
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_second: DEFAULT_RATE_LIMIT_PER_SECOND,
            burst: DEFAULT_RATE_LIMIT_BURST,
        }
    }
}

/// Limits on the API's connections, so that slow or idle clients cannot hold the server's
/// sockets and memory: each bounds how long a connection may sit without progress, and
/// how many there may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a request's head (request line and header fields) may take to arrive,
    /// from its first byte; and how long a TLS handshake may take. A slower client's
    /// connection is closed without an answer.
    pub header_read_timeout: Duration,
    /// How long a connection may wait with no request: from when it was accepted, or from
    /// the last answer on a kept-alive connection, to the first byte of the next request.
    pub idle_timeout: Duration,
    /// The most connections open at once; one more is accepted and closed at once, not
    /// queued. At least 1.
    pub max_connections: usize,
    /// Once the server is told to stop, how long requests in flight have to be answered
    /// before their connections are closed anyway.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}
