//! The `[nostr]` settings: which relays the mirror publishes to, its key, and how it
//! retries.

use std::path::PathBuf;
use std::time::Duration;

/// How long a relay has to answer one event (its `OK`) before the send counts as failed.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// The first retry of an event a relay did not take comes this long after.
pub const DEFAULT_RETRY_MIN: Duration = Duration::from_secs(1);
/// Retries back off, doubling, up to this.
pub const DEFAULT_RETRY_MAX: Duration = Duration::from_secs(300);
/// How often a relay that dropped is dialled again.
pub const DEFAULT_RECONNECT: Duration = Duration::from_secs(5);
/// At most this many sends are in flight at once.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;

/// The mirror's settings. With no relays the node publishes nothing (and says so at
/// start); it then stages nothing either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NostrConfig {
    /// The relays' URLs (`ws://` or `wss://`), as given.
    pub relays: Vec<String>,
    /// A file holding the key to sign with (64 hex characters or `nsec1…`); `None`: a key
    /// derived from the node's seed.
    pub secret_key_file: Option<PathBuf>,
    /// See [`DEFAULT_SEND_TIMEOUT`].
    pub send_timeout: Duration,
    /// See [`DEFAULT_RETRY_MIN`].
    pub retry_min: Duration,
    /// See [`DEFAULT_RETRY_MAX`].
    pub retry_max: Duration,
    /// See [`DEFAULT_RECONNECT`].
    pub reconnect: Duration,
    /// See [`DEFAULT_MAX_IN_FLIGHT`].
    pub max_in_flight: usize,
}

impl Default for NostrConfig {
    fn default() -> Self {
        NostrConfig {
            relays: Vec::new(),
            secret_key_file: None,
            send_timeout: DEFAULT_SEND_TIMEOUT,
            retry_min: DEFAULT_RETRY_MIN,
            retry_max: DEFAULT_RETRY_MAX,
            reconnect: DEFAULT_RECONNECT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

impl NostrConfig {
    /// Whether anything is published.
    pub fn enabled(&self) -> bool {
        !self.relays.is_empty()
    }

    /// The settings checked: relay URLs that parse as `ws`/`wss`, no duplicates, sane
    /// durations.
    pub fn check(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for relay in &self.relays {
            let url = nostr_sdk::RelayUrl::parse(relay)
                .map_err(|e| format!("relay {relay:?} is not a relay URL: {e}"))?;
            if !seen.insert(url.to_string()) {
                return Err(format!("relay {relay:?} is listed twice"));
            }
        }
        if self.send_timeout.is_zero() || self.reconnect.is_zero() || self.retry_min.is_zero() {
            return Err(
                "send_timeout_secs, reconnect_secs and retry_min_ms must be above 0".into(),
            );
        }
        if self.retry_max < self.retry_min {
            return Err("retry_max_secs must be at least retry_min_ms".into());
        }
        if self.max_in_flight == 0 {
            return Err("max_in_flight must be above 0".into());
        }
        Ok(())
    }
}
