//! The credit settings (spec §6.2, §7): underwriting's policy, the per-agent and
//! per-envelope limits, how long offers last and how long a draw may stay unpaid, and
//! the loss-rate breaker. The config file's `[pool.credit]` table deserializes straight
//! into [`CreditConfig`]; every key is optional and an absent one keeps its default:
//!
//! ```toml
//! [pool.credit]
//! base_sats = 2000                 # every agent's limit before history
//! k = 150                          # limit += k·√(success volume of 30 days)
//! default_penalty_sats = 500       # limit −= this per recency-weighted default
//! loss_penalty = 2                 # limit −= this per sat lost
//! max_envelope_sats = 100000       # the largest envelope
//! min_fee_bps = 50
//! max_fee_bps = 2000
//! fee_scaler = 4                   # fee bps per bps of default rate
//! nip90_surcharge_bps = 0
//! l402_surcharge_bps = 25
//! skill_surcharge_bps = 50
//! max_open_envelopes_per_agent = 3
//! max_offer_ttl_secs = 3600        # offers and envelopes last minutes to hours
//! repay_within_secs = 86400        # a draw defaults this long after its envelope's exp
//! loss_window = 200                # recent outcomes the loss breaker judges
//! loss_min_samples = 5
//! loss_trip_bps = 5000             # default rate that halts new envelopes
//! loss_clear_bps = 2500            # … and lets them through again
//! tick_secs = 5                    # how often expired envelopes are defaulted
//! large_settlement_sats = 25000    # settlements above this wait while Lightning fails
//! ln_window = 100                  # recent outgoing payments the Lightning breaker judges
//! ln_min_samples = 20
//! ln_trip_bps = 3000               # failure rate that holds large settlements back
//! ln_clear_bps = 1000              # … and lets them through again
//! ```

use std::time::Duration;

use serde::Deserialize;
use sluice_credit::breaker::Thresholds;
use sluice_credit::underwriting::{Policy, Surcharges};

/// How credit is underwritten and limited.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CreditConfig {
    /// Every agent's limit before history, sat.
    pub base_sats: u64,
    /// The weight of the square root of an agent's success volume.
    pub k: u64,
    /// Limit removed per unit of recency-weighted default, sat.
    pub default_penalty_sats: u64,
    /// Limit removed per sat lost to defaults.
    pub loss_penalty: u64,
    /// The largest envelope, sat.
    pub max_envelope_sats: u64,
    /// The cheapest credit fee, basis points.
    pub min_fee_bps: u32,
    /// The dearest credit fee, basis points.
    pub max_fee_bps: u32,
    /// Fee basis points per basis point of default rate.
    pub fee_scaler: u32,
    /// Fee added for NIP-90 jobs, basis points.
    pub nip90_surcharge_bps: u32,
    /// Fee added for L402 calls, basis points.
    pub l402_surcharge_bps: u32,
    /// Fee added for skill invocations, basis points.
    pub skill_surcharge_bps: u32,
    /// The most envelopes an agent may have live (open, paying or owed).
    pub max_open_envelopes_per_agent: u32,
    /// The longest an offer (and so an envelope) lasts.
    #[serde(
        rename = "max_offer_ttl_secs",
        with = "crate::withdrawals::config::secs"
    )]
    pub max_offer_ttl: Duration,
    /// How long after its envelope's expiry a draw must be repaid before it defaults.
    #[serde(
        rename = "repay_within_secs",
        with = "crate::withdrawals::config::secs"
    )]
    pub repay_within: Duration,
    /// How many recent outcomes (draws and defaults) the loss breaker judges.
    pub loss_window: u32,
    /// The fewest outcomes the loss breaker judges.
    pub loss_min_samples: u32,
    /// The default rate that trips the loss breaker, basis points.
    pub loss_trip_bps: u32,
    /// The default rate at or below which it clears, basis points.
    pub loss_clear_bps: u32,
    /// How often envelopes past their expiry or repayment deadline are defaulted.
    #[serde(rename = "tick_secs", with = "crate::withdrawals::config::secs")]
    pub tick_every: Duration,
    /// Settlements above this, sat, are held back while the Lightning breaker is tripped.
    pub large_settlement_sats: u64,
    /// How many recent outgoing payments the Lightning breaker judges.
    pub ln_window: u32,
    /// The fewest payments it judges.
    pub ln_min_samples: u32,
    /// The failure rate that trips it, basis points.
    pub ln_trip_bps: u32,
    /// The failure rate at or below which it clears, basis points.
    pub ln_clear_bps: u32,
}

impl CreditConfig {
    /// Default base limit: enough for a few small jobs before any history.
    pub const DEFAULT_BASE_SATS: u64 = 2_000;
    /// Default weight of √volume: 1M sat of successes adds 150,000 sat of limit.
    pub const DEFAULT_K: u64 = 150;
    /// Default cut per weighted default: a fresh default (weight 4) costs 2,000 sat.
    pub const DEFAULT_DEFAULT_PENALTY_SATS: u64 = 500;
    /// Default cut per sat lost.
    pub const DEFAULT_LOSS_PENALTY: u64 = 2;
    /// Default largest envelope.
    pub const DEFAULT_MAX_ENVELOPE_SATS: u64 = 100_000;
    /// Default fee floor.
    pub const DEFAULT_MIN_FEE_BPS: u32 = 50;
    /// Default fee ceiling.
    pub const DEFAULT_MAX_FEE_BPS: u32 = 2_000;
    /// Default fee per bps of default rate.
    pub const DEFAULT_FEE_SCALER: u32 = 4;
    /// Default live envelopes per agent.
    pub const DEFAULT_MAX_OPEN_PER_AGENT: u32 = 3;
    /// Default longest offer: an hour (spec §7.3: minutes to hours).
    pub const DEFAULT_MAX_OFFER_TTL: Duration = Duration::from_secs(3_600);
    /// Default repayment window after an envelope's expiry: a day.
    pub const DEFAULT_REPAY_WITHIN: Duration = Duration::from_secs(86_400);
    /// Default "large" settlement: a quarter of the default largest envelope.
    pub const DEFAULT_LARGE_SETTLEMENT_SATS: u64 = 25_000;
    /// Default tick: an expired envelope defaults within seconds.
    pub const DEFAULT_TICK_EVERY: Duration = Duration::from_secs(5);

    /// Underwriting's policy.
    pub fn policy(&self) -> Policy {
        Policy {
            base_sats: self.base_sats,
            k: self.k,
            loss_penalty: self.loss_penalty,
            default_penalty_sats: self.default_penalty_sats,
            max_envelope_sats: self.max_envelope_sats,
            min_fee_bps: self.min_fee_bps,
            max_fee_bps: self.max_fee_bps,
            fee_scaler: self.fee_scaler,
            surcharge_bps: Surcharges {
                nip90: self.nip90_surcharge_bps,
                l402: self.l402_surcharge_bps,
                skill: self.skill_surcharge_bps,
            },
        }
    }

    /// The loss breaker's thresholds.
    pub fn loss_thresholds(&self) -> Thresholds {
        Thresholds {
            min_samples: self.loss_min_samples,
            trip_bps: self.loss_trip_bps,
            clear_bps: self.loss_clear_bps,
        }
    }

    /// The Lightning breaker's thresholds.
    pub fn ln_thresholds(&self) -> Thresholds {
        Thresholds {
            min_samples: self.ln_min_samples,
            trip_bps: self.ln_trip_bps,
            clear_bps: self.ln_clear_bps,
        }
    }

    /// Whether the settings make sense together.
    pub fn check(&self) -> Result<(), String> {
        if self.max_envelope_sats == 0 {
            return Err("max_envelope_sats: must be above 0".into());
        }
        if self.min_fee_bps > self.max_fee_bps || self.max_fee_bps > 10_000 {
            return Err("min_fee_bps ≤ max_fee_bps ≤ 10000 must hold".into());
        }
        if self.max_open_envelopes_per_agent == 0 {
            return Err("max_open_envelopes_per_agent: must be above 0".into());
        }
        if self.max_offer_ttl.is_zero() {
            return Err("max_offer_ttl_secs: must be above 0".into());
        }
        if self.tick_every.is_zero() {
            return Err("tick_secs: must be above 0".into());
        }
        if self.loss_window == 0 {
            return Err("loss_window: must be above 0".into());
        }
        if self.ln_window == 0 {
            return Err("ln_window: must be above 0".into());
        }
        self.ln_thresholds()
            .check()
            .map_err(|e| format!("Lightning breaker: {e}"))?;
        self.loss_thresholds()
            .check()
            .map_err(|e| format!("loss breaker: {e}"))
    }
}

impl Default for CreditConfig {
    fn default() -> Self {
        CreditConfig {
            base_sats: Self::DEFAULT_BASE_SATS,
            k: Self::DEFAULT_K,
            default_penalty_sats: Self::DEFAULT_DEFAULT_PENALTY_SATS,
            loss_penalty: Self::DEFAULT_LOSS_PENALTY,
            max_envelope_sats: Self::DEFAULT_MAX_ENVELOPE_SATS,
            min_fee_bps: Self::DEFAULT_MIN_FEE_BPS,
            max_fee_bps: Self::DEFAULT_MAX_FEE_BPS,
            fee_scaler: Self::DEFAULT_FEE_SCALER,
            nip90_surcharge_bps: 0,
            l402_surcharge_bps: 25,
            skill_surcharge_bps: 50,
            max_open_envelopes_per_agent: Self::DEFAULT_MAX_OPEN_PER_AGENT,
            max_offer_ttl: Self::DEFAULT_MAX_OFFER_TTL,
            repay_within: Self::DEFAULT_REPAY_WITHIN,
            loss_window: 200,
            loss_min_samples: 5,
            loss_trip_bps: 5_000,
            loss_clear_bps: 2_500,
            tick_every: Self::DEFAULT_TICK_EVERY,
            large_settlement_sats: Self::DEFAULT_LARGE_SETTLEMENT_SATS,
            ln_window: 100,
            ln_min_samples: 20,
            ln_trip_bps: 3_000,
            ln_clear_bps: 1_000,
        }
    }
}
