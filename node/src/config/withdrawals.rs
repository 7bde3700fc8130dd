//! The `[pool.withdrawals]` table of the config file: how LP withdrawals are queued,
//! throttled and paid. Every key is optional; an absent one keeps `WithdrawalConfig`'s
//! default.
//!
//! ```toml
//! [pool.withdrawals]
//! max_delay_secs = 86400            # T+Δ: the longest a withdrawal waits (not halted)
//! tick_every_secs = 60              # how often a payout tick runs
//! tick_cap_sats = 10000000          # the most one tick pays (overdue ones aside)
//! min_sats = 10000                  # the smallest withdrawal and partial payout
//! max_sats = 10000000000            # the largest withdrawal
//! max_lightning_sats = 1000000      # at most tick_cap_sats: never split
//! approval_above_sats = 50000000    # larger ones wait for an operator's approval
//! lightning_max_fee_bps = 100       # routing-fee ceiling of a Lightning payout
//! onchain_reserve_sats = 100000     # kept back for channel operations
//! stressed_below_usable_bps = 7500  # usable channels share below which: stressed
//! halted_below_usable_bps = 2500    # … halted
//! breaker_window = 200              # recent payments the breaker judges
//! breaker_min_samples = 20
//! breaker_failure_bps = 3000        # failure rate that trips it
//! large_withdrawal_sats = 1000000   # held back while it is tripped
//! solvency_tolerance_bps = 200      # assets may fall this short of the books
//! rbf_after_blocks = 3              # unconfirmed that long: bump the fee
//! halted = false                    # the operator's halt
//! emergency_enabled = true          # LPs may ask for emergency withdrawals
//! ```

use std::time::Duration;

use serde::Deserialize;
use sluice_actors::withdrawals::WithdrawalConfig;

/// The table as written, in the file's units.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct Section {
    max_delay_secs: u64,
    tick_every_secs: u64,
    tick_cap_sats: u64,
    min_sats: u64,
    max_sats: u64,
    max_lightning_sats: u64,
    approval_above_sats: u64,
    lightning_max_fee_bps: u32,
    onchain_reserve_sats: u64,
    stressed_below_usable_bps: u32,
    halted_below_usable_bps: u32,
    breaker_window: u32,
    breaker_min_samples: u32,
    breaker_failure_bps: u32,
    large_withdrawal_sats: u64,
    solvency_tolerance_bps: u32,
    rbf_after_blocks: u32,
    halted: bool,
    emergency_enabled: bool,
}

impl Default for Section {
    fn default() -> Self {
        let d = WithdrawalConfig::default();
        Section {
            max_delay_secs: d.max_delay.as_secs(),
            tick_every_secs: d.tick_every.as_secs(),
            tick_cap_sats: d.tick_cap_sats,
            min_sats: d.min_sats,
            max_sats: d.max_sats,
            max_lightning_sats: d.max_lightning_sats,
            approval_above_sats: d.approval_above_sats,
            lightning_max_fee_bps: d.lightning_max_fee_bps,
            onchain_reserve_sats: d.onchain_reserve_sats,
            stressed_below_usable_bps: d.stressed_below_usable_bps,
            halted_below_usable_bps: d.halted_below_usable_bps,
            breaker_window: d.breaker_window,
            breaker_min_samples: d.breaker_min_samples,
            breaker_failure_bps: d.breaker_failure_bps,
            large_withdrawal_sats: d.large_withdrawal_sats,
            solvency_tolerance_bps: d.solvency_tolerance_bps,
            rbf_after_blocks: d.rbf_after_blocks,
            halted: d.halted,
            emergency_enabled: d.emergency_enabled,
        }
    }
}

impl Section {
    /// The settings, checked.
    pub(super) fn config(self) -> Result<WithdrawalConfig, String> {
        let config = WithdrawalConfig {
            max_delay: Duration::from_secs(self.max_delay_secs),
            tick_every: Duration::from_secs(self.tick_every_secs),
            tick_cap_sats: self.tick_cap_sats,
            min_sats: self.min_sats,
            max_sats: self.max_sats,
            max_lightning_sats: self.max_lightning_sats,
            approval_above_sats: self.approval_above_sats,
            lightning_max_fee_bps: self.lightning_max_fee_bps,
            onchain_reserve_sats: self.onchain_reserve_sats,
            stressed_below_usable_bps: self.stressed_below_usable_bps,
            halted_below_usable_bps: self.halted_below_usable_bps,
            breaker_window: self.breaker_window,
            breaker_min_samples: self.breaker_min_samples,
            breaker_failure_bps: self.breaker_failure_bps,
            large_withdrawal_sats: self.large_withdrawal_sats,
            solvency_tolerance_bps: self.solvency_tolerance_bps,
            rbf_after_blocks: self.rbf_after_blocks,
            halted: self.halted,
            emergency_enabled: self.emergency_enabled,
        };
        config.check().map_err(|e| format!("withdrawals: {e}"))?;
        Ok(config)
    }
}
