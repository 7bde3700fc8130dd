//! The `[pool]` section of the config file: the liquidity pool's settings. File only,
//! like `[lsps2]`; without the section the defaults of `PoolConfig` hold.
//!
//! ```toml
//! [pool]
//! onchain_confirmations = 3              # before an on-chain deposit mints; 1 to 100
//! max_lightning_deposit_sats = 10000000  # 0.1 BTC
//! max_onchain_deposit_sats = 10000000000 # 100 BTC
//! sweep_every_secs = 5                   # how often open deposits are looked at
//! lightning_expiry_grace_secs = 600      # a late-claimed invoice deposit still counts
//! onchain_watch_after_expiry_secs = 604800  # coins sent late are still the LP's
//! snapshot_every_secs = 3600             # proof snapshots; at least 10
//! rrp_skim_bps = 0                       # share of income moved to RRP; at most 5000
//!
//! [pool.withdrawals]                     # see `sluice_actors::withdrawals::config`
//! max_delay_secs = 86400
//!
//! [pool.credit]                          # see `sluice_actors::credit::config`
//! max_envelope_sats = 100000
//! ```

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use sluice_actors::credit::CreditConfig;
use sluice_actors::pool::PoolConfig;
use sluice_actors::withdrawals::WithdrawalConfig;

use super::ConfigError;

/// The fewest and most confirmations an on-chain deposit may be set to need.
const CONFIRMATIONS: std::ops::RangeInclusive<u32> = 1..=100;
/// The shortest and longest sweep interval, s.
const SWEEP_SECS: std::ops::RangeInclusive<u64> = 1..=3_600;
/// The shortest snapshot interval, s: each one is a signed, stored record.
const MIN_SNAPSHOT_SECS: u64 = 10;
/// The largest RRP skim, basis points: half of every income entry.
const MAX_RRP_SKIM_BPS: u32 = 5_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    onchain_confirmations: Option<u32>,
    max_lightning_deposit_sats: Option<u64>,
    max_onchain_deposit_sats: Option<u64>,
    sweep_every_secs: Option<u64>,
    lightning_expiry_grace_secs: Option<u64>,
    onchain_watch_after_expiry_secs: Option<u64>,
    snapshot_every_secs: Option<u64>,
    rrp_skim_bps: Option<u32>,
    withdrawals: Option<WithdrawalConfig>,
    credit: Option<CreditConfig>,
}

/// Reads the `[pool]` table of the config file at `path`, checked.
pub fn parse(path: &Path, value: &toml::Value) -> Result<PoolConfig, ConfigError> {
    let invalid = |message: String| ConfigError::InvalidPool {
        path: path.to_owned(),
        message,
    };
    let section: Section = super::read_section(value, invalid)?;
    let d = PoolConfig::default();
    let secs = |value: Option<u64>, default: Duration| value.map_or(default, Duration::from_secs);
    let config = PoolConfig {
        onchain_confirmations: section
            .onchain_confirmations
            .unwrap_or(d.onchain_confirmations),
        max_lightning_deposit_sats: section
            .max_lightning_deposit_sats
            .unwrap_or(d.max_lightning_deposit_sats),
        max_onchain_deposit_sats: section
            .max_onchain_deposit_sats
            .unwrap_or(d.max_onchain_deposit_sats),
        sweep_every: secs(section.sweep_every_secs, d.sweep_every),
        lightning_expiry_grace: secs(
            section.lightning_expiry_grace_secs,
            d.lightning_expiry_grace,
        ),
        onchain_watch_after_expiry: secs(
            section.onchain_watch_after_expiry_secs,
            d.onchain_watch_after_expiry,
        ),
        snapshot_every: secs(section.snapshot_every_secs, d.snapshot_every),
        rrp_skim_bps: section.rrp_skim_bps.unwrap_or(d.rrp_skim_bps),
        withdrawals: section.withdrawals.unwrap_or_default(),
        credit: section.credit.unwrap_or_default(),
    };
    if !CONFIRMATIONS.contains(&config.onchain_confirmations) {
        return Err(invalid(format!(
            "onchain_confirmations: must be {} to {}",
            CONFIRMATIONS.start(),
            CONFIRMATIONS.end()
        )));
    }
    if config.max_lightning_deposit_sats == 0 || config.max_onchain_deposit_sats == 0 {
        return Err(invalid("the largest deposits must be above 0 sat".into()));
    }
    if !SWEEP_SECS.contains(&config.sweep_every.as_secs()) {
        return Err(invalid(format!(
            "sweep_every_secs: must be {} to {}",
            SWEEP_SECS.start(),
            SWEEP_SECS.end()
        )));
    }
    if config.snapshot_every.as_secs() < MIN_SNAPSHOT_SECS {
        return Err(invalid(format!(
            "snapshot_every_secs: must be at least {MIN_SNAPSHOT_SECS}"
        )));
    }
    config
        .withdrawals
        .check()
        .map_err(|e| invalid(format!("withdrawals: {e}")))?;
    config
        .credit
        .check()
        .map_err(|e| invalid(format!("credit: {e}")))?;
    if config.rrp_skim_bps > MAX_RRP_SKIM_BPS {
        return Err(invalid(format!(
            "rrp_skim_bps: must be at most {MAX_RRP_SKIM_BPS}"
        )));
    }
    Ok(config)
}
