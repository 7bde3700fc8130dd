//! Underwriting (spec §7.1): an agent's credit limit and fee from its own record at this
//! node, as a pure function of recorded inputs, so any offer's decision can be replayed
//! from the inputs stored with it.
//!
//! - limit: `base + k·√(success volume of the last 30 days)`, less a penalty for each sat
//!   lost to the agent's defaults in that window (defaults cut limits at once, spec §7.3)
//!   and less what its open envelopes already hold, never below 0 nor above the largest
//!   envelope;
//! - fee: the agent's default rate (by value, basis points) times a scaler, clamped to
//!   `[min_fee_bps, max_fee_bps]`; an agent with no history pays the floor plus the
//!   scope's surcharge.
//!
//! Integer arithmetic throughout: the same inputs give the same terms on every machine.

use serde::{Deserialize, Serialize};

/// What an agent's record at this node says, as of the offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Record {
    /// Sats of envelopes settled successfully in the last 30 days.
    pub success_volume_sats_30d: u64,
    /// Sats lost to defaults in the last 30 days.
    pub loss_sats_30d: u64,
    /// Sats its open envelopes may still spend.
    pub open_exposure_sats: u64,
}

/// The underwriting policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Every agent's limit before history, sat.
    pub base_sats: u64,
    /// The weight of the square root of the success volume.
    pub k: u64,
    /// Sats of limit removed per sat lost to defaults.
    pub loss_penalty: u64,
    /// The largest single envelope, sat.
    pub max_envelope_sats: u64,
    /// The cheapest fee, basis points.
    pub min_fee_bps: u32,
    /// The dearest fee, basis points.
    pub max_fee_bps: u32,
    /// Fee basis points per basis point of default rate.
    pub fee_scaler: u32,
}

/// What scope the credit is for (spec §7: objective outcomes only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeType {
    /// A NIP-90 job.
    Nip90,
    /// An L402-paywalled call.
    L402,
    /// A skill invocation.
    Skill,
}

impl ScopeType {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ScopeType::Nip90 => "nip90",
            ScopeType::L402 => "l402",
            ScopeType::Skill => "skill",
        }
    }

    /// The scope named `name`.
    pub fn parse(name: &str) -> Option<ScopeType> {
        [ScopeType::Nip90, ScopeType::L402, ScopeType::Skill]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// The terms underwriting gives, with the inputs they came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    /// The most this agent may be offered now, sat (0: no credit).
    pub limit_sats: u64,
    /// The fee, basis points of what is spent.
    pub fee_bps: u32,
    /// The default rate the fee was priced from, basis points of volume.
    pub default_rate_bps: u32,
    /// The record it was decided on.
    pub record: Record,
    /// The policy it was decided under.
    pub policy: Policy,
}

/// The terms for an agent with `record` under `policy`.
pub fn underwrite(record: &Record, policy: &Policy) -> Terms {
    let earned = policy.base_sats.saturating_add(
        policy
            .k
            .saturating_mul(isqrt(record.success_volume_sats_30d)),
    );
    let limit_sats = earned
        .saturating_sub(record.loss_sats_30d.saturating_mul(policy.loss_penalty))
        .saturating_sub(record.open_exposure_sats)
        .min(policy.max_envelope_sats);
    let volume = record
        .success_volume_sats_30d
        .saturating_add(record.loss_sats_30d);
    let default_rate_bps = if volume == 0 {
        0
    } else {
        u32::try_from(u128::from(record.loss_sats_30d) * 10_000 / u128::from(volume))
            .unwrap_or(10_000)
    };
    let priced = u64::from(default_rate_bps).saturating_mul(u64::from(policy.fee_scaler));
    let fee_bps = u32::try_from(priced).unwrap_or(u32::MAX).clamp(
        policy.min_fee_bps,
        policy.max_fee_bps.max(policy.min_fee_bps),
    );
    Terms {
        limit_sats,
        fee_bps,
        default_rate_bps,
        record: *record,
        policy: *policy,
    }
}

/// The integer square root, rounded down.
pub fn isqrt(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    // Newton's method from an estimate at or above the root.
    let mut x = 1u64 << (64 - n.leading_zeros()).div_ceil(2);
    loop {
        let y = (x + n / x) / 2;
        if y >= x {
            return x;
        }
        x = y;
    }
}
