//! Underwriting: the limit grows with the square root of success volume, a default cuts
//! it at once, open envelopes use it up, the fee follows the default rate within its
//! clamp; and the breakers trip only on enough samples and clear with hysteresis.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use sluice_credit::breaker::{judge, State, Thresholds, Window};
use sluice_credit::underwriting::{isqrt, underwrite, Policy, Record};

const POLICY: Policy = Policy {
    base_sats: 1_000,
    k: 10,
    loss_penalty: 3,
    max_envelope_sats: 100_000,
    min_fee_bps: 50,
    max_fee_bps: 2_000,
    fee_scaler: 2,
};

#[test]
fn a_new_agent_gets_the_base_at_the_floor_fee() {
    let terms = underwrite(&Record::default(), &POLICY);
    assert_eq!((terms.limit_sats, terms.fee_bps), (1_000, 50));
    assert_eq!(terms.default_rate_bps, 0);
}

#[test]
fn volume_raises_the_limit_by_its_square_root_up_to_the_largest_envelope() {
    let record = Record {
        success_volume_sats_30d: 1_000_000,
        ..Record::default()
    };
    // 1,000 + 10·1,000.
    assert_eq!(underwrite(&record, &POLICY).limit_sats, 11_000);
    let whale = Record {
        success_volume_sats_30d: u64::MAX,
        ..Record::default()
    };
    assert_eq!(underwrite(&whale, &POLICY).limit_sats, 100_000);
}

#[test]
fn a_default_cuts_the_limit_at_once_and_raises_the_fee() {
    let clean = Record {
        success_volume_sats_30d: 990_000,
        ..Record::default()
    };
    let defaulted = Record {
        loss_sats_30d: 2_000,
        ..clean
    };
    let (a, b) = (underwrite(&clean, &POLICY), underwrite(&defaulted, &POLICY));
    assert_eq!(a.limit_sats - b.limit_sats, 6_000);
    // 2,000 of 992,000 is 20 bps of default: 40 bps, clamped up to the floor.
    assert_eq!((b.default_rate_bps, b.fee_bps), (20, 50));
    let bad = Record {
        loss_sats_30d: 50_000,
        success_volume_sats_30d: 50_000,
        ..Record::default()
    };
    let terms = underwrite(&bad, &POLICY);
    assert_eq!(terms.limit_sats, 0);
    assert_eq!((terms.default_rate_bps, terms.fee_bps), (5_000, 2_000));
}

#[test]
fn open_envelopes_use_up_the_limit() {
    let record = Record {
        success_volume_sats_30d: 1_000_000,
        open_exposure_sats: 4_000,
        ..Record::default()
    };
    assert_eq!(underwrite(&record, &POLICY).limit_sats, 7_000);
}

#[test]
fn the_terms_carry_what_they_were_decided_on() {
    let record = Record {
        success_volume_sats_30d: 5,
        loss_sats_30d: 1,
        open_exposure_sats: 2,
    };
    let terms = underwrite(&record, &POLICY);
    assert_eq!((terms.record, terms.policy), (record, POLICY));
    // Replaying the recorded inputs gives the same decision.
    assert_eq!(underwrite(&terms.record, &terms.policy), terms);
}

#[test]
fn the_loss_breaker_needs_enough_samples_and_clears_with_hysteresis() {
    let t = Thresholds {
        min_samples: 10,
        trip_bps: 2_000,
        clear_bps: 1_000,
    };
    assert!(t.check().is_ok());
    let w = |samples, bad| Window { samples, bad };
    // Every one of 9 bad: too few to judge.
    assert_eq!(judge(State::Closed, &w(9, 9), &t), State::Closed);
    assert_eq!(judge(State::Closed, &w(10, 2), &t), State::Tripped);
    // Between the levels it stays as it was, either way.
    assert_eq!(judge(State::Tripped, &w(20, 3), &t), State::Tripped);
    assert_eq!(judge(State::Closed, &w(20, 3), &t), State::Closed);
    assert_eq!(judge(State::Tripped, &w(20, 2), &t), State::Closed);
    let flapping = Thresholds {
        clear_bps: 2_000,
        ..t
    };
    assert!(flapping.check().is_err());
}

proptest! {
    #[test]
    fn more_volume_never_lowers_a_limit_and_more_loss_never_raises_one(
        volume in any::<u64>(),
        extra in any::<u64>(),
        loss in 0u64..1_000_000_000,
        more_loss in 0u64..1_000_000_000,
        open in 0u64..1_000_000_000,
    ) {
        let record = Record { success_volume_sats_30d: volume, loss_sats_30d: loss, open_exposure_sats: open };
        let base = underwrite(&record, &POLICY);
        let richer = Record { success_volume_sats_30d: volume.saturating_add(extra), ..record };
        let worse = Record { loss_sats_30d: loss + more_loss, ..record };
        prop_assert!(underwrite(&richer, &POLICY).limit_sats >= base.limit_sats);
        prop_assert!(underwrite(&worse, &POLICY).limit_sats <= base.limit_sats);
        prop_assert!(base.limit_sats <= POLICY.max_envelope_sats);
        prop_assert!((POLICY.min_fee_bps..=POLICY.max_fee_bps).contains(&base.fee_bps));
    }

    #[test]
    fn the_integer_square_root_is_exact(n in any::<u64>()) {
        let r = isqrt(n);
        prop_assert!(u128::from(r) * u128::from(r) <= u128::from(n));
        prop_assert!((u128::from(r) + 1) * (u128::from(r) + 1) > u128::from(n));
    }
}
