//! The withdrawal settings (spec §5.2, §6.3): the queue's limits, the approval threshold,
//! the throttle's thresholds and the payout rails' knobs. The config file's
//! `[pool.withdrawals]` table deserializes straight into [`WithdrawalConfig`]; every key is
//! optional and an absent one keeps its default:
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
use sluice_pool::queue::QueueLimits;
use sluice_pool::throttle::Rules;

/// How withdrawals are queued, throttled and paid.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WithdrawalConfig {
    /// The longest a withdrawal waits (T+Δ) unless withdrawals are halted.
    #[serde(rename = "max_delay_secs", with = "secs")]
    pub max_delay: Duration,
    /// How often a payout tick runs.
    #[serde(rename = "tick_every_secs", with = "secs")]
    pub tick_every: Duration,
    /// The most a tick pays, sat (overdue withdrawals aside).
    pub tick_cap_sats: u64,
    /// The smallest withdrawal, and the smallest part of one a tick pays, sat.
    pub min_sats: u64,
    /// The largest withdrawal, sat.
    pub max_sats: u64,
    /// The largest Lightning withdrawal, sat (at most the tick cap: it is never split).
    pub max_lightning_sats: u64,
    /// Withdrawals worth more than this wait for an operator's approval, sat.
    pub approval_above_sats: u64,
    /// The routing-fee ceiling of a Lightning payout, basis points of its amount (the
    /// pool pays it and books it as a cost).
    pub lightning_max_fee_bps: u32,
    /// On-chain coins kept back for channel operations, sat.
    pub onchain_reserve_sats: u64,
    /// Below this share of usable channels (basis points): stressed.
    pub stressed_below_usable_bps: u32,
    /// Below this share of usable channels (basis points): halted.
    pub halted_below_usable_bps: u32,
    /// The most recent outgoing payments the breaker judges by.
    pub breaker_window: u32,
    /// The fewest of them it needs to judge.
    pub breaker_min_samples: u32,
    /// The failure rate at which it trips, basis points.
    pub breaker_failure_bps: u32,
    /// While it is tripped, withdrawals worth more than this wait, sat.
    pub large_withdrawal_sats: u64,
    /// How far the node's assets may fall short of the books (unbooked commitment and
    /// sweep fees) before withdrawals halt as insolvent, basis points of the books.
    pub solvency_tolerance_bps: u32,
    /// Blocks a payout transaction may stay unconfirmed before its fee is bumped (RBF).
    pub rbf_after_blocks: u32,
    /// Whether the operator halted withdrawals.
    pub halted: bool,
    /// Whether LPs may ask for emergency withdrawals (paid first and in full while the
    /// pool is solvent and its reserves whole); off during an incident.
    pub emergency_enabled: bool,
}

/// Durations as whole seconds in the config file (the credit settings use it too).
pub(crate) mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_secs)
    }
}

/// The longest delay by default: 24 hours (spec §5.2: 24–72 h).
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(24 * 3600);
/// A payout tick every minute by default.
pub const DEFAULT_TICK_EVERY: Duration = Duration::from_secs(60);
/// A tick pays at most 0.1 BTC by default.
pub const DEFAULT_TICK_CAP_SATS: u64 = 10_000_000;

impl Default for WithdrawalConfig {
    fn default() -> Self {
        WithdrawalConfig {
            max_delay: DEFAULT_MAX_DELAY,
            tick_every: DEFAULT_TICK_EVERY,
            tick_cap_sats: DEFAULT_TICK_CAP_SATS,
            min_sats: 10_000,
            max_sats: 10_000_000_000,
            max_lightning_sats: 1_000_000,
            approval_above_sats: 50_000_000,
            lightning_max_fee_bps: 100,
            onchain_reserve_sats: 100_000,
            stressed_below_usable_bps: 7_500,
            halted_below_usable_bps: 2_500,
            breaker_window: 200,
            breaker_min_samples: 20,
            breaker_failure_bps: 3_000,
            large_withdrawal_sats: 1_000_000,
            solvency_tolerance_bps: 200,
            rbf_after_blocks: 3,
            halted: false,
            emergency_enabled: true,
        }
    }
}

impl WithdrawalConfig {
    /// The queue's limits.
    pub fn limits(&self) -> QueueLimits {
        QueueLimits {
            tick_cap_msat: self.tick_cap_sats.saturating_mul(1000),
            max_delay_ms: u64::try_from(self.max_delay.as_millis()).unwrap_or(u64::MAX),
            min_fill_msat: self.min_sats.saturating_mul(1000),
        }
    }

    /// The throttle's rules.
    pub fn rules(&self) -> Rules {
        Rules {
            tick_cap_msat: self.tick_cap_sats.saturating_mul(1000),
            stressed_below_usable_bps: self.stressed_below_usable_bps,
            halted_below_usable_bps: self.halted_below_usable_bps,
            onchain_reserve_msat: self.onchain_reserve_sats.saturating_mul(1000),
            breaker_min_samples: self.breaker_min_samples,
            breaker_failure_bps: self.breaker_failure_bps,
            large_withdrawal_msat: self.large_withdrawal_sats.saturating_mul(1000),
        }
    }

    /// Checks the settings fit together; the message says which do not.
    pub fn check(&self) -> Result<(), String> {
        self.limits().check()?;
        if self.max_lightning_sats > self.tick_cap_sats {
            return Err(format!(
                "max_lightning_sats ({}) must be at most tick_cap_sats ({}): a Lightning withdrawal is never split",
                self.max_lightning_sats, self.tick_cap_sats
            ));
        }
        if self.min_sats == 0 || self.min_sats > self.max_sats {
            return Err("min_sats must be above 0 and at most max_sats".into());
        }
        if self.halted_below_usable_bps > self.stressed_below_usable_bps
            || self.stressed_below_usable_bps > 10_000
        {
            return Err(
                "halted_below_usable_bps ≤ stressed_below_usable_bps ≤ 10000 must hold".into(),
            );
        }
        if self.breaker_failure_bps > 10_000 || self.lightning_max_fee_bps > 10_000 {
            return Err("basis points above 10000".into());
        }
        if self.tick_every.is_zero() || self.rbf_after_blocks == 0 {
            return Err("tick_every and rbf_after_blocks must be above 0".into());
        }
        Ok(())
    }
}
