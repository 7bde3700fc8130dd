//! The `[nostr]` section of the config file: the relays the Nostr mirror publishes the
//! pool's credit events and proof snapshots to. File only. Without the section, or with
//! no relays, the node publishes nothing (and says so at start).
//!
//! ```toml
//! [nostr]
//! relays = ["wss://relay.example.com"]
//! secret_key_file = "nostr.key"   # optional: 64 hex characters or nsec1…, relative to
//!                                 # this file's directory; default a key from the seed
//! send_timeout_secs = 10          # how long a relay has to answer one event
//! retry_min_ms = 1000             # first retry of an event a relay did not take
//! retry_max_secs = 300            # retries double up to this
//! reconnect_secs = 5              # how often a dropped relay is dialled again
//! max_in_flight = 64              # sends at once
//! ```

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use sluice_actors::nostr::NostrConfig;

use super::ConfigError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    #[serde(default)]
    relays: Vec<String>,
    secret_key_file: Option<String>,
    send_timeout_secs: Option<u64>,
    retry_min_ms: Option<u64>,
    retry_max_secs: Option<u64>,
    reconnect_secs: Option<u64>,
    max_in_flight: Option<usize>,
}

/// Reads the `[nostr]` table of the config file at `path`, checked; the key file, if
/// any, is read and parsed now so that a bad one stops the node before it starts.
pub fn parse(path: &Path, value: &toml::Value) -> Result<NostrConfig, ConfigError> {
    let invalid = |message: String| ConfigError::InvalidNostr {
        path: path.to_owned(),
        message,
    };
    let section: Section = super::read_section(value, invalid)?;
    let d = NostrConfig::default();
    let config = NostrConfig {
        relays: section.relays,
        secret_key_file: section
            .secret_key_file
            .map(|file| path.parent().unwrap_or_else(|| Path::new(".")).join(file)),
        send_timeout: section
            .send_timeout_secs
            .map_or(d.send_timeout, Duration::from_secs),
        retry_min: section
            .retry_min_ms
            .map_or(d.retry_min, Duration::from_millis),
        retry_max: section
            .retry_max_secs
            .map_or(d.retry_max, Duration::from_secs),
        reconnect: section
            .reconnect_secs
            .map_or(d.reconnect, Duration::from_secs),
        max_in_flight: section.max_in_flight.unwrap_or(d.max_in_flight),
    };
    config.check().map_err(invalid)?;
    if let Some(file) = &config.secret_key_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| invalid(format!("reading {}: {e}", file.display())))?;
        sluice_nostr::keys_from_secret(&text)
            .map_err(|e| invalid(format!("{}: {e}", file.display())))?;
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse_text(text: &str) -> Result<NostrConfig, ConfigError> {
        let value: toml::Value = text.parse::<toml::Table>().unwrap().into();
        parse(Path::new("/nowhere/sluice.toml"), &value)
    }

    #[test]
    fn relays_and_durations_are_read_with_defaults_for_the_rest() {
        let config = parse_text(
            "relays = [\"ws://127.0.0.1:7000\", \"wss://relay.example.com\"]\nretry_min_ms = 250",
        )
        .unwrap();
        assert_eq!(config.relays.len(), 2);
        assert_eq!(config.retry_min, Duration::from_millis(250));
        assert_eq!(config.retry_max, NostrConfig::default().retry_max);
        assert!(config.enabled());
        assert!(!parse_text("").unwrap().enabled());
    }

    #[test]
    fn bad_relays_keys_and_durations_are_refused() {
        for text in [
            "relays = [\"http://x\"]",
            "relays = [\"ws://a.example\", \"ws://a.example\"]",
            "relays = [\"ws://a.example\"]\nsend_timeout_secs = 0",
            "relays = [\"ws://a.example\"]\nretry_min_ms = 5000\nretry_max_secs = 1",
            "relays = [\"ws://a.example\"]\nsecret_key_file = \"missing.key\"",
            "relay = [\"ws://a.example\"]",
        ] {
            let error = parse_text(text).unwrap_err();
            assert!(
                matches!(error, ConfigError::InvalidNostr { .. }),
                "{text}: {error}"
            );
        }
    }
}
