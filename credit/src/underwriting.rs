//! Underwriting (spec §7.1): an agent's credit limit and fee from its own record at this
//! node, as a pure function of recorded inputs, so any offer's decision can be replayed
//! from the inputs stored with it.
//!
//! - limit: `base + k·√(success volume of the last 30 days)`, less a penalty per
//!   recency-weighted default (a default of the last hour weighs 4, of the last day 3, of
//!   the last week 2, older 1: defaults cut limits at once, spec §7.3), less a penalty per
//!   sat lost, less what the agent's live envelopes hold or owe; never below 0 nor above
//!   the largest envelope;
//! - fee: the agent's default rate (defaults per settled envelope, basis points) times a
//!   scaler, plus the scope's surcharge, clamped to `[min_fee_bps, max_fee_bps]`.
//!
//! Integer arithmetic throughout: the same inputs give the same terms on every machine.

use serde::{Deserialize, Serialize};

/// How far back an agent's record reaches, ms.
pub const WINDOW_MS: u64 = 30 * DAY_MS;
const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;

/// What an agent's record at this node says, as of the offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Record {
    /// Envelopes the provider was paid for in the last 30 days.
    pub successes_30d: u32,
    /// Sats paid to providers for them.
    pub success_volume_sats_30d: u64,
    /// Envelopes that defaulted in the last 30 days.
    pub defaults_30d: u32,
    /// Those defaults weighed by recency ([`default_weight`]).
    pub default_weight_30d: u64,
    /// Sats lost to defaults in the last 30 days.
    pub loss_sats_30d: u64,
    /// Sats its live envelopes may still draw or still owe.
    pub open_exposure_sats: u64,
}

/// The weight of a default `age_ms` old: 4 in its first hour, 3 in its first day, 2 in
/// its first week, 1 until it leaves the 30-day record.
pub const fn default_weight(age_ms: u64) -> u64 {
    if age_ms <= HOUR_MS {
        4
    } else if age_ms <= DAY_MS {
        3
    } else if age_ms <= 7 * DAY_MS {
        2
    } else if age_ms <= WINDOW_MS {
        1
    } else {
        0
    }
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
    /// Sats of limit removed per unit of recency-weighted default.
    pub default_penalty_sats: u64,
    /// The largest single envelope, sat.
    pub max_envelope_sats: u64,
    /// The cheapest fee, basis points.
    pub min_fee_bps: u32,
    /// The dearest fee, basis points.
    pub max_fee_bps: u32,
    /// Fee basis points per basis point of default rate.
    pub fee_scaler: u32,
    /// Fee basis points added per scope.
    pub surcharge_bps: Surcharges,
}

/// Fee basis points added for each scope: some outcomes are harder to verify than others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Surcharges {
    /// For NIP-90 jobs.
    pub nip90: u32,
    /// For L402 calls.
    pub l402: u32,
    /// For skill invocations.
    pub skill: u32,
}

impl Surcharges {
    /// The surcharge of `scope`.
    pub const fn of(&self, scope: ScopeType) -> u32 {
        match scope {
            ScopeType::Nip90 => self.nip90,
            ScopeType::L402 => self.l402,
            ScopeType::Skill => self.skill,
        }
    }
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
    /// The default rate the fee was priced from, basis points of settled envelopes.
    pub default_rate_bps: u32,
    /// The scope it was decided for.
    pub scope: ScopeType,
    /// The record it was decided on.
    pub record: Record,
    /// The policy it was decided under.
    pub policy: Policy,
}

/// The terms for an agent with `record` asking credit for `scope` under `policy`.
pub fn underwrite(record: &Record, scope: ScopeType, policy: &Policy) -> Terms {
    let earned = policy.base_sats.saturating_add(
        policy
            .k
            .saturating_mul(isqrt(record.success_volume_sats_30d)),
    );
    let limit_sats = earned
        .saturating_sub(
            record
                .default_weight_30d
                .saturating_mul(policy.default_penalty_sats),
        )
        .saturating_sub(record.loss_sats_30d.saturating_mul(policy.loss_penalty))
        .saturating_sub(record.open_exposure_sats)
        .min(policy.max_envelope_sats);
    let settled = u64::from(record.successes_30d) + u64::from(record.defaults_30d);
    let default_rate_bps = (u64::from(record.defaults_30d) * 10_000)
        .checked_div(settled)
        .map_or(0, |bps| u32::try_from(bps).unwrap_or(10_000));
    let priced = u64::from(default_rate_bps)
        .saturating_mul(u64::from(policy.fee_scaler))
        .saturating_add(u64::from(policy.surcharge_bps.of(scope)));
    let fee_bps = u32::try_from(priced).unwrap_or(u32::MAX).clamp(
        policy.min_fee_bps,
        policy.max_fee_bps.max(policy.min_fee_bps),
    );
    Terms {
        limit_sats,
        fee_bps,
        default_rate_bps,
        scope,
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
