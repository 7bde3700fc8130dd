//! The `[rebalancer]` settings: the default band, the hard limits on what rebalancing
//! may cost, and its pace. The defaults are conservative: a rebalance pays at most
//! 50 sat and 1,000 ppm of what it moves, the day at most 20,000 sat (and never more
//! than the RRP partition holds), and a peer's channels at most half of what they
//! earned forwarding over the last day plus 1,000 sat.

use std::time::Duration;

use sluice_rebalance::{Band, CostToEarn, FeeCeiling, Pacing};

/// A channel is refilled below 20 % local and drained above 80 %, aiming 10 % inside.
pub const DEFAULT_BAND: Band = Band {
    min_ppm: 200_000,
    max_ppm: 800_000,
    deadband_ppm: 100_000,
};
/// At most 50 sat and 1,000 ppm (0.1 %) of the amount per rebalance.
pub const DEFAULT_FEE_CEILING: FeeCeiling = FeeCeiling {
    max_fee_msat: 50_000,
    max_fee_ppm: 1_000,
};
/// At most 20,000 sat in any 24 hours.
pub const DEFAULT_DAILY_BUDGET_MSAT: u64 = 20_000_000;
/// A peer's channels may cost half what they earned, plus 1,000 sat.
pub const DEFAULT_COST_TO_EARN: CostToEarn = CostToEarn {
    max_ratio_ppm: 500_000,
    allowance_msat: 1_000_000,
};
/// Earnings and spend per peer are counted over the last day.
pub const DEFAULT_EARNINGS_WINDOW: Duration = Duration::from_secs(24 * 3_600);
/// Attempts start at 100,000 sat, halve down to 10,000 after failures and grow up to
/// 1,000,000 after successes; a channel waits 10 s after an attempt, doubling after
/// each failure in a row up to 10 minutes.
pub const DEFAULT_PACING: Pacing = Pacing {
    start_msat: 100_000_000,
    min_msat: 10_000_000,
    max_msat: 1_000_000_000,
    cooldown_ms: 10_000,
    max_cooldown_ms: 600_000,
};
/// The channels are looked at every 10 s.
pub const DEFAULT_TICK: Duration = Duration::from_secs(10);
/// A rebalance whose outcome is not known after a minute is left to finish on its own;
/// the rebalancer goes on (its fee ceiling stays held back until it ends).
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);
/// The rebalances the status lists.
pub const RECENT_IN_STATUS: usize = 20;

/// The rebalancer's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebalancerConfig {
    /// Plan only: nothing is paid.
    pub dry_run: bool,
    /// How often the channels are looked at.
    pub tick: Duration,
    /// The band of channels without one of their own.
    pub default_band: Band,
    /// The most one rebalance pays.
    pub ceiling: FeeCeiling,
    /// The most spent in any 24 hours, msat.
    pub daily_budget_msat: u64,
    /// Spend tied to each peer's earnings.
    pub cost_to_earn: CostToEarn,
    /// The window of [`RebalancerConfig::cost_to_earn`].
    pub earnings_window: Duration,
    /// Amounts and cooldowns.
    pub pacing: Pacing,
    /// How long the actor follows one rebalance before going on without it.
    pub attempt_timeout: Duration,
}

impl Default for RebalancerConfig {
    fn default() -> Self {
        RebalancerConfig {
            dry_run: false,
            tick: DEFAULT_TICK,
            default_band: DEFAULT_BAND,
            ceiling: DEFAULT_FEE_CEILING,
            daily_budget_msat: DEFAULT_DAILY_BUDGET_MSAT,
            cost_to_earn: DEFAULT_COST_TO_EARN,
            earnings_window: DEFAULT_EARNINGS_WINDOW,
            pacing: DEFAULT_PACING,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
        }
    }
}

impl RebalancerConfig {
    /// The settings checked: a valid band and pacing, a ratio at most 1,000,000 ppm,
    /// non-zero durations.
    pub fn check(&self) -> Result<(), String> {
        self.default_band.check()?;
        self.pacing.check()?;
        if self.ceiling.max_fee_ppm > 1_000_000 || self.cost_to_earn.max_ratio_ppm > 1_000_000 {
            return Err("ppm settings must be at most 1,000,000".into());
        }
        if self.tick.is_zero() || self.earnings_window.is_zero() || self.attempt_timeout.is_zero() {
            return Err("tick, earnings window and attempt timeout must not be zero".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_pass_their_own_checks() {
        assert_eq!(RebalancerConfig::default().check(), Ok(()));
        let zero_tick = RebalancerConfig {
            tick: Duration::ZERO,
            ..RebalancerConfig::default()
        };
        assert!(zero_tick.check().is_err());
        let mut wide = RebalancerConfig::default();
        wide.ceiling.max_fee_ppm = 1_000_001;
        assert!(wide.check().is_err());
    }
}
