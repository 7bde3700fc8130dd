//! [`ApiConfig`]: tokens, body limit, request timeout.

use std::time::Duration;

use crate::auth::AuthConfig;

/// The largest request body accepted by default: 64 KiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// How long a request may take by default before it answers 504 `timeout`.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How the API is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// The accepted bearer tokens.
    pub auth: AuthConfig,
    /// The largest request body accepted; larger ones answer 413 `payload_too_large`.
    pub max_body_bytes: usize,
    /// How long a request may take; slower ones answer 504 `timeout`.
    pub request_timeout: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            auth: AuthConfig::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}
