//! The `[lsps5]` section of the config file: LSPS5 webhooks, by which an offline client
//! is woken for a JIT payment. File only, like `[lsps2]`, which it needs. Without the
//! section clients cannot register webhooks.
//!
//! ```toml
//! [lsps5]
//! max_webhooks_per_client = 10
//! timeout_secs = 5                 # per delivery attempt
//! attempts = 3                     # at most 6
//! retry_delay_ms = 1000            # before the first retry; doubles after
//! ca_file = "webhook-ca.pem"       # optional: PEM roots trusted besides the public ones,
//!                                  # relative to this file's directory
//! allow_private_addresses = false  # true lets webhooks reach loopback and private networks
//! ```

use std::path::Path;

use serde::Deserialize;
use sluice_actors::lsps5::{Lsps5Config, WebhookSender};

use super::ConfigError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    max_webhooks_per_client: Option<u32>,
    timeout_secs: Option<u64>,
    attempts: Option<u32>,
    retry_delay_ms: Option<u64>,
    ca_file: Option<String>,
    #[serde(default)]
    allow_private_addresses: bool,
}

/// Reads the `[lsps5]` table of the config file at `path`, checked; the CA file, if any,
/// is read and parsed now so that a bad one stops the node before it starts.
pub fn parse(path: &Path, value: &toml::Value) -> Result<Lsps5Config, ConfigError> {
    let invalid = |message: String| ConfigError::InvalidLsps5 {
        path: path.to_owned(),
        message,
    };
    let section: Section = super::read_section(value, invalid)?;
    let d = Lsps5Config::default();
    let config = Lsps5Config {
        max_webhooks_per_client: section
            .max_webhooks_per_client
            .unwrap_or(d.max_webhooks_per_client),
        timeout_secs: section.timeout_secs.unwrap_or(d.timeout_secs),
        attempts: section.attempts.unwrap_or(d.attempts),
        retry_delay_ms: section.retry_delay_ms.unwrap_or(d.retry_delay_ms),
        ca_file: section
            .ca_file
            .map(|file| path.parent().unwrap_or_else(|| Path::new(".")).join(file)),
        allow_private_addresses: section.allow_private_addresses,
    };
    config.check().map_err(invalid)?;
    WebhookSender::new(config.clone()).map_err(|e| invalid(e.to_string()))?;
    Ok(config)
}
