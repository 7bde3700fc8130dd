//! [`Lsps5Config`]: how many webhooks a client may register, and how notifications are
//! delivered to them.

use std::path::PathBuf;
use std::time::Duration;

/// The LSPS5 webhook service's settings (the config file's `[lsps5]` section).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lsps5Config {
    /// The most webhooks one client may register.
    pub max_webhooks_per_client: u32,
    /// How long one delivery attempt may take, in seconds (connect, TLS, request and
    /// response together).
    pub timeout_secs: u64,
    /// How many times a notification is tried before it is dropped.
    pub attempts: u32,
    /// The wait before the first retry, in milliseconds; it doubles for each one after.
    pub retry_delay_ms: u64,
    /// PEM certificates trusted for webhook endpoints besides the public web roots (a
    /// private CA, say); `None` trusts the public roots only.
    pub ca_file: Option<PathBuf>,
    /// Whether webhooks may point at loopback, private, link-local and other non-public
    /// addresses. Off by default: a client could otherwise have the LSP POST into the
    /// LSP's own network.
    pub allow_private_addresses: bool,
}

impl Lsps5Config {
    /// Default webhooks per client: lightning-liquidity's default.
    pub const DEFAULT_MAX_WEBHOOKS_PER_CLIENT: u32 =
        lightning_liquidity::lsps5::service::DEFAULT_MAX_WEBHOOKS_PER_CLIENT;
    /// Default attempt timeout: 5 s. A push relay answers in well under a second; a
    /// notification that takes longer is not waking anyone in time.
    pub const DEFAULT_TIMEOUT_SECS: u64 = 5;
    /// Default attempts: 3, so one lost connection or a restarting endpoint is survived.
    pub const DEFAULT_ATTEMPTS: u32 = 3;
    /// Default first retry delay: 1 s (then 2 s, 4 s, ...).
    pub const DEFAULT_RETRY_DELAY_MS: u64 = 1_000;
    /// The most attempts that may be set: lightning-liquidity sends at most one
    /// notification of a kind per client a minute, so more would overlap the next one.
    pub const MAX_ATTEMPTS: u32 = 6;

    /// The per-attempt timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// The wait before retry `retry` (1 for the first).
    pub fn retry_delay(&self, retry: u32) -> Duration {
        let factor = 1u64 << retry.saturating_sub(1).min(16);
        Duration::from_millis(self.retry_delay_ms.saturating_mul(factor))
    }

    /// Whether the settings make sense; the reason if not.
    pub fn check(&self) -> Result<(), String> {
        if self.max_webhooks_per_client == 0 {
            return Err("max_webhooks_per_client must be at least 1".into());
        }
        if self.timeout_secs == 0 || self.timeout_secs > 60 {
            return Err("timeout_secs must be between 1 and 60".into());
        }
        if self.attempts == 0 || self.attempts > Self::MAX_ATTEMPTS {
            return Err(format!(
                "attempts must be between 1 and {}",
                Self::MAX_ATTEMPTS
            ));
        }
        if self.retry_delay_ms > 10_000 {
            return Err("retry_delay_ms above 10000".into());
        }
        Ok(())
    }
}

impl Default for Lsps5Config {
    fn default() -> Self {
        Lsps5Config {
            max_webhooks_per_client: Self::DEFAULT_MAX_WEBHOOKS_PER_CLIENT,
            timeout_secs: Self::DEFAULT_TIMEOUT_SECS,
            attempts: Self::DEFAULT_ATTEMPTS,
            retry_delay_ms: Self::DEFAULT_RETRY_DELAY_MS,
            ca_file: None,
            allow_private_addresses: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_doubling() {
        let config = Lsps5Config::default();
        assert_eq!(config.retry_delay(1), Duration::from_secs(1));
        assert_eq!(config.retry_delay(2), Duration::from_secs(2));
        assert_eq!(config.retry_delay(3), Duration::from_secs(4));
    }

    #[test]
    fn out_of_range_settings_are_refused() {
        assert_eq!(Lsps5Config::default().check(), Ok(()));
        let bad = [
            Lsps5Config {
                attempts: 0,
                ..Default::default()
            },
            Lsps5Config {
                attempts: 7,
                ..Default::default()
            },
            Lsps5Config {
                timeout_secs: 0,
                ..Default::default()
            },
            Lsps5Config {
                max_webhooks_per_client: 0,
                ..Default::default()
            },
        ];
        for config in bad {
            assert!(config.check().is_err(), "{config:?}");
        }
    }
}
