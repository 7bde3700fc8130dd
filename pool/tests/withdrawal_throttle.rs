//! The withdrawal throttle: each mode entered and left as the rules say, with its reasons
//! in a fixed order, and the rails' limits.

use sluice_pool::throttle::{assess, Health, Mode, Reason, Rules};

const RULES: Rules = Rules {
    tick_cap_msat: 1_000_000,
    stressed_below_usable_bps: 7_500,
    halted_below_usable_bps: 2_500,
    onchain_reserve_msat: 50_000,
    breaker_min_samples: 20,
    breaker_failure_bps: 3_000,
    large_withdrawal_msat: 200_000,
};

fn healthy() -> Health {
    Health {
        channels: 4,
        usable_channels: 4,
        outbound_msat: 5_000_000,
        onchain_spendable_msat: 3_000_000,
        reserved_envelopes_msat: 0,
        ln_settled: 100,
        ln_failed: 1,
        solvent: true,
        operator_halt: false,
    }
}

#[test]
fn a_healthy_node_is_normal_and_pays_up_to_each_rail() {
    let t = assess(&healthy(), &RULES);
    assert_eq!(t.mode, Mode::Normal);
    assert!(t.reasons.is_empty());
    assert_eq!(t.tick_cap_msat, 1_000_000);
    assert_eq!(t.lightning_msat, 5_000_000);
    assert_eq!(t.onchain_msat, 2_950_000);
    assert_eq!(t.largest_msat, None);
}

#[test]
fn channels_going_down_stress_then_halt_and_coming_back_clears_it() {
    let mut health = healthy();
    health.usable_channels = 3; // 75 %: still normal
    assert_eq!(assess(&health, &RULES).mode, Mode::Normal);
    health.usable_channels = 2; // 50 %
    let t = assess(&health, &RULES);
    assert_eq!(
        (t.mode, t.reasons.as_slice()),
        (Mode::Stressed, &[Reason::ChannelsDegraded][..])
    );
    assert_eq!(t.tick_cap_msat, 500_000);
    health.usable_channels = 0;
    let t = assess(&health, &RULES);
    assert_eq!(
        (t.mode, t.reasons.as_slice()),
        (Mode::Halted, &[Reason::ChannelsDown][..])
    );
    assert_eq!(
        (t.tick_cap_msat, t.lightning_msat, t.onchain_msat),
        (0, 0, 0)
    );
    health.usable_channels = 4;
    assert_eq!(assess(&health, &RULES).mode, Mode::Normal);
}

#[test]
fn the_breaker_needs_enough_samples_and_holds_back_large_withdrawals() {
    let mut health = healthy();
    health.ln_settled = 19;
    health.ln_failed = 19; // every one failed, but too few to judge
    assert_eq!(assess(&health, &RULES).mode, Mode::Normal);
    health.ln_settled = 20;
    health.ln_failed = 6; // 30 %: tripped
    let t = assess(&health, &RULES);
    assert_eq!(
        (t.mode, t.reasons.as_slice()),
        (Mode::Stressed, &[Reason::LightningFailures][..])
    );
    assert_eq!(t.largest_msat, Some(200_000));
    health.ln_failed = 5; // 25 %: cleared
    assert_eq!(assess(&health, &RULES).largest_msat, None);
}

#[test]
fn every_reason_at_once_comes_in_rule_order() {
    let health = Health {
        channels: 10,
        usable_channels: 1,
        outbound_msat: 100,
        onchain_spendable_msat: 50_000,
        reserved_envelopes_msat: 1_000,
        ln_settled: 50,
        ln_failed: 50,
        solvent: false,
        operator_halt: true,
    };
    let t = assess(&health, &RULES);
    assert_eq!(t.mode, Mode::Halted);
    assert_eq!(
        t.reasons,
        [
            Reason::OperatorHalt,
            Reason::Insolvent,
            Reason::ChannelsDown,
            Reason::LightningFailures,
            Reason::OnchainReserve,
            Reason::OutboundCommitted,
        ]
    );
    // Only the operator's halt: lifting it is all it takes.
    let mut health = healthy();
    health.operator_halt = true;
    assert_eq!(assess(&health, &RULES).reasons, [Reason::OperatorHalt]);
    health.operator_halt = false;
    assert_eq!(assess(&health, &RULES).mode, Mode::Normal);
}

#[test]
fn insolvency_halts_and_reserves_limit_the_rails() {
    let mut health = healthy();
    health.solvent = false;
    assert_eq!(assess(&health, &RULES).reasons, [Reason::Insolvent]);
    let mut health = healthy();
    health.onchain_spendable_msat = 50_000;
    health.reserved_envelopes_msat = 4_000_000;
    let t = assess(&health, &RULES);
    assert_eq!(
        (t.mode, t.reasons.as_slice()),
        (Mode::Stressed, &[Reason::OnchainReserve][..])
    );
    assert_eq!((t.lightning_msat, t.onchain_msat), (1_000_000, 0));
}
