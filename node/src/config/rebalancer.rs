//! The `[rebalancer]` section of the config file: the Rebalancer's settings (issue 23).
//! File only, like `[nostr]`. Without the section the node runs no rebalancer (`GET
//! /v1/rebalancer` says so); with it, even empty, it runs one with the defaults of
//! `sluice_actors::rebalance::config`. Amounts are written in sat and kept in msat.
//!
//! ```toml
//! [rebalancer]
//! dry_run = false                 # plan and log, pay nothing
//! tick_secs = 10                  # how often the channels are looked at
//! # The band of channels without one of their own (PUT /v1/rebalancer/channels/{id}):
//! # refilled below 20 % local, drained above 80 %, aiming 10 % inside.
//! band = { min_ppm = 200000, max_ppm = 800000, deadband_ppm = 100000 }
//! max_fee_sat = 50                # the most one rebalance pays …
//! max_fee_ppm = 1000              # … and as a share of what it moves (the lower holds)
//! daily_budget_sat = 20000        # the most spent in any 24 hours (never more than RRP holds)
//! cost_to_earn_max_ppm = 500000   # a peer's channels may cost half what they earned …
//! cost_to_earn_allowance_sat = 1000  # … plus this, over the earnings window
//! earnings_window_secs = 86400
//! start_sat = 100000              # a channel's first refill attempt
//! min_sat = 10000                 # attempts halve after failures down to this …
//! max_sat = 1000000               # … and grow after successes up to this
//! cooldown_secs = 10              # a refilled channel waits this long after an attempt,
//! max_cooldown_secs = 600         # doubling after each failure in a row up to this
//! attempt_timeout_secs = 60       # how long one rebalance holds the next back
//! ```
//!
//! Every key is optional (a `band` key too: the others keep the default band's values).
//! The settings are checked as a whole (`RebalancerConfig::check`): a valid band (min ≤
//! max ≤ 1,000,000 ppm, the deadband at most half the band), amounts with 0 < min ≤
//! start ≤ max, the cooldown at most its ceiling, ppm settings at most 1,000,000, and
//! no zero tick, earnings window or attempt timeout. Durations are at most a year.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use sluice_actors::rebalance::config::{
    DEFAULT_BAND, DEFAULT_COST_TO_EARN, DEFAULT_FEE_CEILING, DEFAULT_PACING,
};
use sluice_actors::rebalance::RebalancerConfig;
use sluice_rebalance::{Band, CostToEarn, FeeCeiling, Pacing};

use super::ConfigError;

/// The longest duration setting, s (a year): beyond it a timer could overflow.
const MAX_SECS: u64 = 365 * 24 * 3_600;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    dry_run: Option<bool>,
    tick_secs: Option<u64>,
    band: Option<BandSection>,
    max_fee_sat: Option<u64>,
    max_fee_ppm: Option<u32>,
    daily_budget_sat: Option<u64>,
    cost_to_earn_max_ppm: Option<u32>,
    cost_to_earn_allowance_sat: Option<u64>,
    earnings_window_secs: Option<u64>,
    start_sat: Option<u64>,
    min_sat: Option<u64>,
    max_sat: Option<u64>,
    cooldown_secs: Option<u64>,
    max_cooldown_secs: Option<u64>,
    attempt_timeout_secs: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BandSection {
    min_ppm: Option<u32>,
    max_ppm: Option<u32>,
    deadband_ppm: Option<u32>,
}

/// `key`'s amount in sat as msat (`default` msat when absent); an amount whose msat do
/// not fit in 64 bits is an error naming the key.
fn msat(key: &str, sat: Option<u64>, default: u64) -> Result<u64, String> {
    match sat {
        None => Ok(default),
        Some(sat) => sat
            .checked_mul(1_000)
            .ok_or_else(|| format!("{key}: {sat} sat is too large (its msat overflow)")),
    }
}

/// `key`'s duration in seconds (`default` when absent), at most [`MAX_SECS`].
fn secs(key: &str, secs: Option<u64>, default: Duration) -> Result<Duration, String> {
    match secs {
        None => Ok(default),
        Some(secs) if secs > MAX_SECS => Err(format!(
            "{key}: must be at most {MAX_SECS} seconds (a year)"
        )),
        Some(secs) => Ok(Duration::from_secs(secs)),
    }
}

/// `key`'s duration in seconds as ms (`default_ms` when absent), at most [`MAX_SECS`].
fn ms(key: &str, secs_given: Option<u64>, default_ms: u64) -> Result<u64, String> {
    let default = Duration::from_millis(default_ms);
    let duration = secs(key, secs_given, default)?;
    // At most a year: far below u64::MAX ms.
    Ok(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

/// The settings `section` gives, defaults for the rest, unchecked.
fn settings(section: Section) -> Result<RebalancerConfig, String> {
    let d = RebalancerConfig::default();
    let band = section.band.map_or(DEFAULT_BAND, |b| Band {
        min_ppm: b.min_ppm.unwrap_or(DEFAULT_BAND.min_ppm),
        max_ppm: b.max_ppm.unwrap_or(DEFAULT_BAND.max_ppm),
        deadband_ppm: b.deadband_ppm.unwrap_or(DEFAULT_BAND.deadband_ppm),
    });
    Ok(RebalancerConfig {
        dry_run: section.dry_run.unwrap_or(d.dry_run),
        tick: secs("tick_secs", section.tick_secs, d.tick)?,
        default_band: band,
        ceiling: FeeCeiling {
            max_fee_msat: msat(
                "max_fee_sat",
                section.max_fee_sat,
                DEFAULT_FEE_CEILING.max_fee_msat,
            )?,
            max_fee_ppm: section
                .max_fee_ppm
                .unwrap_or(DEFAULT_FEE_CEILING.max_fee_ppm),
        },
        daily_budget_msat: msat(
            "daily_budget_sat",
            section.daily_budget_sat,
            d.daily_budget_msat,
        )?,
        cost_to_earn: CostToEarn {
            max_ratio_ppm: section
                .cost_to_earn_max_ppm
                .unwrap_or(DEFAULT_COST_TO_EARN.max_ratio_ppm),
            allowance_msat: msat(
                "cost_to_earn_allowance_sat",
                section.cost_to_earn_allowance_sat,
                DEFAULT_COST_TO_EARN.allowance_msat,
            )?,
        },
        earnings_window: secs(
            "earnings_window_secs",
            section.earnings_window_secs,
            d.earnings_window,
        )?,
        pacing: Pacing {
            start_msat: msat("start_sat", section.start_sat, DEFAULT_PACING.start_msat)?,
            min_msat: msat("min_sat", section.min_sat, DEFAULT_PACING.min_msat)?,
            max_msat: msat("max_sat", section.max_sat, DEFAULT_PACING.max_msat)?,
            cooldown_ms: ms(
                "cooldown_secs",
                section.cooldown_secs,
                DEFAULT_PACING.cooldown_ms,
            )?,
            max_cooldown_ms: ms(
                "max_cooldown_secs",
                section.max_cooldown_secs,
                DEFAULT_PACING.max_cooldown_ms,
            )?,
        },
        attempt_timeout: secs(
            "attempt_timeout_secs",
            section.attempt_timeout_secs,
            d.attempt_timeout,
        )?,
    })
}

/// Reads the `[rebalancer]` table of the config file at `path`, checked.
pub fn parse(path: &Path, value: &toml::Value) -> Result<RebalancerConfig, ConfigError> {
    let invalid = |message: String| ConfigError::InvalidRebalancer {
        path: path.to_owned(),
        message,
    };
    let section: Section = super::read_section(value, invalid)?;
    let config = settings(section).map_err(invalid)?;
    config.check().map_err(invalid)?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse_text(text: &str) -> Result<RebalancerConfig, ConfigError> {
        let value: toml::Value = text.parse::<toml::Table>().unwrap().into();
        parse(Path::new("/nowhere/sluice.toml"), &value)
    }

    fn refused(text: &str) -> String {
        match parse_text(text) {
            Err(e @ ConfigError::InvalidRebalancer { .. }) => {
                let message = e.to_string();
                assert!(
                    message.starts_with("`rebalancer` in config file /nowhere/sluice.toml: "),
                    "{message}"
                );
                message
            }
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn an_empty_section_takes_the_defaults() {
        assert_eq!(parse_text("").unwrap(), RebalancerConfig::default());
        // A band with some keys keeps the default's others.
        let config = parse_text("band = { min_ppm = 100000 }").unwrap();
        assert_eq!(
            config.default_band,
            Band {
                min_ppm: 100_000,
                ..DEFAULT_BAND
            }
        );
    }

    #[test]
    fn a_full_section_sets_every_setting_in_msat() {
        let text = r#"
            dry_run = true
            tick_secs = 30
            band = { min_ppm = 300000, max_ppm = 700000, deadband_ppm = 50000 }
            max_fee_sat = 20
            max_fee_ppm = 500
            daily_budget_sat = 5000
            cost_to_earn_max_ppm = 250000
            cost_to_earn_allowance_sat = 200
            earnings_window_secs = 43200
            start_sat = 50000
            min_sat = 5000
            max_sat = 500000
            cooldown_secs = 20
            max_cooldown_secs = 1200
            attempt_timeout_secs = 90
        "#;
        assert_eq!(
            parse_text(text).unwrap(),
            RebalancerConfig {
                dry_run: true,
                tick: Duration::from_secs(30),
                default_band: Band {
                    min_ppm: 300_000,
                    max_ppm: 700_000,
                    deadband_ppm: 50_000,
                },
                ceiling: FeeCeiling {
                    max_fee_msat: 20_000,
                    max_fee_ppm: 500,
                },
                daily_budget_msat: 5_000_000,
                cost_to_earn: CostToEarn {
                    max_ratio_ppm: 250_000,
                    allowance_msat: 200_000,
                },
                earnings_window: Duration::from_secs(43_200),
                pacing: Pacing {
                    start_msat: 50_000_000,
                    min_msat: 5_000_000,
                    max_msat: 500_000_000,
                    cooldown_ms: 20_000,
                    max_cooldown_ms: 1_200_000,
                },
                attempt_timeout: Duration::from_secs(90),
            }
        );
    }

    #[test]
    fn a_bad_band_is_refused() {
        let message = refused("band = { min_ppm = 800000, max_ppm = 200000 }");
        assert!(message.contains("min <= max"), "{message}");
        let message =
            refused("band = { min_ppm = 400000, max_ppm = 600000, deadband_ppm = 150000 }");
        assert!(message.contains("deadband"), "{message}");
        let message = refused("band = { max_ppm = 1000001 }");
        assert!(message.contains("1,000,000"), "{message}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let message = refused("max_fee_msat = 5");
        assert!(
            message.contains("unknown field `max_fee_msat`"),
            "{message}"
        );
        let message = refused("band = { min_ppm = 1, target_ppm = 2 }");
        assert!(message.contains("unknown field `target_ppm`"), "{message}");
        let message = refused("dry_run = \"yes\"");
        assert!(message.contains("bool"), "{message}");
    }

    #[test]
    fn amounts_whose_msat_overflow_are_refused() {
        for key in [
            "max_fee_sat",
            "daily_budget_sat",
            "cost_to_earn_allowance_sat",
            "start_sat",
            "min_sat",
            "max_sat",
        ] {
            // u64::MAX / 1000 + 1 sat does not fit in msat; TOML integers are i64.
            let message = refused(&format!("{key} = 18446744073709552"));
            assert!(message.contains(&format!("{key}: ")), "{message}");
            assert!(message.contains("overflow"), "{message}");
        }
        // The largest that fits is read.
        let config = parse_text("daily_budget_sat = 18446744073709551").unwrap();
        assert_eq!(config.daily_budget_msat, 18_446_744_073_709_551_000);
    }

    #[test]
    fn the_whole_is_checked() {
        for (text, expected) in [
            ("tick_secs = 0", "must not be zero"),
            ("attempt_timeout_secs = 0", "must not be zero"),
            ("max_fee_ppm = 1000001", "at most 1,000,000"),
            ("cost_to_earn_max_ppm = 1000001", "at most 1,000,000"),
            ("min_sat = 200000", "0 < min <= start <= max"),
            ("min_sat = 0", "0 < min <= start <= max"),
            ("cooldown_secs = 700", "must not exceed its ceiling"),
            ("tick_secs = 31536001", "at most 31536000 seconds"),
            ("cooldown_secs = 99999999999", "at most 31536000 seconds"),
        ] {
            let message = refused(text);
            assert!(message.contains(expected), "{text}: {message}");
        }
    }
}
