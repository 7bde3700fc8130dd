//! Withdrawal throttles (spec §5.2, §6.3): how much a payout tick may pay, decided from
//! the node's real state alone, so the same state always gives the same mode and reasons.
//!
//! - **halted**: nothing is paid — the operator halted withdrawals, the node's assets do
//!   not cover its books (paying the first leavers in full would take from the others),
//!   or too few channels are usable;
//! - **stressed**: the tick cap is halved and the reasons say why — channels degraded,
//!   Lightning failures spiking (the circuit breaker: large withdrawals wait until it
//!   clears), on-chain coins at the reserve, outbound liquidity committed to credit
//!   envelopes;
//! - **normal**: otherwise.
//!
//! Whatever the mode, a rail never pays more than it has: Lightning at most the outbound
//! liquidity not reserved for envelopes, on-chain at most the spendable coins above the
//! reserve.

use serde::{Deserialize, Serialize};

/// What the node looks like now, as far as paying withdrawals goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Health {
    /// Channels the node has (pending ones not counted).
    pub channels: u32,
    /// Of them, usable now (ready, peer connected).
    pub usable_channels: u32,
    /// What the node can send over its usable channels, msat.
    pub outbound_msat: u64,
    /// What the on-chain wallet can spend, msat.
    pub onchain_spendable_msat: u64,
    /// Credit envelopes' commitments, paid from outbound liquidity, msat.
    pub reserved_envelopes_msat: u64,
    /// Recent outgoing Lightning payments that settled.
    pub ln_settled: u32,
    /// Of them, how many failed.
    pub ln_failed: u32,
    /// Whether the node's assets cover what the pool's books say it holds.
    pub solvent: bool,
    /// Whether the operator halted withdrawals.
    pub operator_halt: bool,
}

/// The thresholds the modes are decided by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// The tick cap in normal mode, msat (halved when stressed).
    pub tick_cap_msat: u64,
    /// Below this share of usable channels (basis points): stressed.
    pub stressed_below_usable_bps: u32,
    /// Below this share of usable channels (basis points): halted.
    pub halted_below_usable_bps: u32,
    /// On-chain coins kept back for channel operations (anchors, closes), msat.
    pub onchain_reserve_msat: u64,
    /// The fewest recent payments the breaker judges by.
    pub breaker_min_samples: u32,
    /// The failure rate (basis points) at which the breaker trips.
    pub breaker_failure_bps: u32,
    /// While the breaker is tripped, withdrawals owed more than this wait, msat.
    pub large_withdrawal_msat: u64,
}

/// A throttle mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Paying as the queue says.
    Normal,
    /// Paying less.
    Stressed,
    /// Paying nothing.
    Halted,
}

impl Mode {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::Normal => "normal",
            Mode::Stressed => "stressed",
            Mode::Halted => "halted",
        }
    }
}

/// Why a mode was entered; the wire names are stable codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The operator halted withdrawals.
    OperatorHalt,
    /// The node's assets do not cover its books.
    Insolvent,
    /// Too few channels are usable to pay anything safely.
    ChannelsDown,
    /// Fewer channels usable than normal.
    ChannelsDegraded,
    /// Recent Lightning payments fail too often: large withdrawals wait.
    LightningFailures,
    /// On-chain coins are at the reserve: nothing is paid on-chain.
    OnchainReserve,
    /// Outbound liquidity is committed to credit envelopes: nothing is paid over Lightning.
    OutboundCommitted,
}

impl Reason {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::OperatorHalt => "operator_halt",
            Reason::Insolvent => "insolvent",
            Reason::ChannelsDown => "channels_down",
            Reason::ChannelsDegraded => "channels_degraded",
            Reason::LightningFailures => "lightning_failures",
            Reason::OnchainReserve => "onchain_reserve",
            Reason::OutboundCommitted => "outbound_committed",
        }
    }
}

/// What a tick may pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttle {
    /// The mode.
    pub mode: Mode,
    /// Why, in the order the rules are checked (empty when normal).
    pub reasons: Vec<Reason>,
    /// The most the tick pays, msat (overdue withdrawals aside, within the rails' limits).
    pub tick_cap_msat: u64,
    /// The most paid over Lightning, msat.
    pub lightning_msat: u64,
    /// The most paid on-chain, msat.
    pub onchain_msat: u64,
    /// Withdrawals owed more than this wait (the breaker is tripped), msat.
    pub largest_msat: Option<u64>,
}

/// The throttle for `health` under `rules`.
pub fn assess(health: &Health, rules: &Rules) -> Throttle {
    let mut reasons = Vec::new();
    let mut halted = false;
    if health.operator_halt {
        reasons.push(Reason::OperatorHalt);
        halted = true;
    }
    if !health.solvent {
        reasons.push(Reason::Insolvent);
        halted = true;
    }
    if health.channels > 0 {
        let usable_bps = u64::from(health.usable_channels) * 10_000 / u64::from(health.channels);
        if usable_bps < u64::from(rules.halted_below_usable_bps) {
            reasons.push(Reason::ChannelsDown);
            halted = true;
        } else if usable_bps < u64::from(rules.stressed_below_usable_bps) {
            reasons.push(Reason::ChannelsDegraded);
        }
    }
    let tripped = health.ln_settled >= rules.breaker_min_samples.max(1)
        && u64::from(health.ln_failed) * 10_000
            >= u64::from(rules.breaker_failure_bps) * u64::from(health.ln_settled);
    if tripped {
        reasons.push(Reason::LightningFailures);
    }
    let onchain_msat = health
        .onchain_spendable_msat
        .saturating_sub(rules.onchain_reserve_msat);
    if onchain_msat == 0 {
        reasons.push(Reason::OnchainReserve);
    }
    let lightning_msat = health
        .outbound_msat
        .saturating_sub(health.reserved_envelopes_msat);
    if lightning_msat == 0 && health.reserved_envelopes_msat > 0 {
        reasons.push(Reason::OutboundCommitted);
    }
    let mode = if halted {
        Mode::Halted
    } else if reasons.is_empty() {
        Mode::Normal
    } else {
        Mode::Stressed
    };
    let tick_cap_msat = match mode {
        Mode::Normal => rules.tick_cap_msat,
        Mode::Stressed => rules.tick_cap_msat / 2,
        Mode::Halted => 0,
    };
    let open = mode != Mode::Halted;
    Throttle {
        mode,
        reasons,
        tick_cap_msat,
        lightning_msat: if open { lightning_msat } else { 0 },
        onchain_msat: if open { onchain_msat } else { 0 },
        largest_msat: tripped.then_some(rules.large_withdrawal_msat),
    }
}
