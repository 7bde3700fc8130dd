//! Underwriting: the limit grows with the square root of success volume, a default cuts
//! it at once (the more so the more recent) as does lost capital, open envelopes use it
//! up, the fee follows the default rate and the scope within its clamp; and the breakers
//! trip only on enough samples and clear with hysteresis.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use sluice_credit::breaker::{judge, State, Thresholds, Window};
use sluice_credit::underwriting::{
    default_weight, isqrt, underwrite, Policy, Record, ScopeType, Surcharges,
};

const POLICY: Policy = Policy {
    base_sats: 1_000,
    k: 10,
    loss_penalty: 3,
    default_penalty_sats: 250,
    max_envelope_sats: 100_000,
    min_fee_bps: 50,
    max_fee_bps: 2_000,
    fee_scaler: 2,
    surcharge_bps: Surcharges {
        nip90: 0,
        l402: 10,
        skill: 100,
    },
};
const NIP90: ScopeType = ScopeType::Nip90;

#[test]
fn a_new_agent_gets_the_base_at_the_floor_fee() {
    let terms = underwrite(&Record::default(), NIP90, &POLICY);
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
    assert_eq!(underwrite(&record, NIP90, &POLICY).limit_sats, 11_000);
    let whale = Record {
        success_volume_sats_30d: u64::MAX,
        ..Record::default()
    };
    assert_eq!(underwrite(&whale, NIP90, &POLICY).limit_sats, 100_000);
}

#[test]
fn a_default_cuts_the_limit_at_once_the_more_so_the_more_recent_and_raises_the_fee() {
    let clean = Record {
        successes_30d: 9,
        success_volume_sats_30d: 990_000,
        ..Record::default()
    };
    let fresh = Record {
        defaults_30d: 1,
        default_weight_30d: default_weight(60_000),
        ..clean
    };
    let old = Record {
        default_weight_30d: default_weight(10 * 86_400_000),
        ..fresh
    };
    let a = underwrite(&clean, NIP90, &POLICY);
    let (b, c) = (
        underwrite(&fresh, NIP90, &POLICY),
        underwrite(&old, NIP90, &POLICY),
    );
    assert_eq!(a.limit_sats - b.limit_sats, 4 * 250);
    assert_eq!(a.limit_sats - c.limit_sats, 250);
    // 1 default in 10 settled is 1,000 bps: 2,000 bps of fee, at the ceiling.
    assert_eq!((b.default_rate_bps, b.fee_bps), (1_000, 2_000));
    // Lost capital costs limit on top.
    let lost = Record {
        loss_sats_30d: 2_000,
        ..fresh
    };
    assert_eq!(
        b.limit_sats - underwrite(&lost, NIP90, &POLICY).limit_sats,
        6_000
    );
    let bad = Record {
        successes_30d: 1,
        success_volume_sats_30d: 50_000,
        defaults_30d: 1,
        loss_sats_30d: 50_000,
        ..Record::default()
    };
    assert_eq!(underwrite(&bad, NIP90, &POLICY).limit_sats, 0);
}

#[test]
fn a_default_weighs_less_as_it_ages_and_leaves_the_record_after_30_days() {
    let hour = 3_600_000;
    let day = 24 * hour;
    let weights: Vec<u64> = [0, hour, hour + 1, day, day + 1, 7 * day, 7 * day + 1]
        .into_iter()
        .chain([30 * day, 30 * day + 1])
        .map(default_weight)
        .collect();
    assert_eq!(weights, vec![4, 4, 3, 3, 2, 2, 1, 1, 0]);
}

#[test]
fn the_scope_adds_its_surcharge_within_the_clamp() {
    let record = Record {
        successes_30d: 199,
        defaults_30d: 1,
        ..Record::default()
    };
    // 1 in 200 is 50 bps of default: 100 bps of fee, plus the scope's surcharge.
    let fee = |scope| underwrite(&record, scope, &POLICY).fee_bps;
    assert_eq!(
        (
            fee(ScopeType::Nip90),
            fee(ScopeType::L402),
            fee(ScopeType::Skill)
        ),
        (100, 110, 200)
    );
    assert_eq!(
        underwrite(&Record::default(), ScopeType::Skill, &POLICY).fee_bps,
        100
    );
}

#[test]
fn open_envelopes_use_up_the_limit() {
    let record = Record {
        success_volume_sats_30d: 1_000_000,
        open_exposure_sats: 4_000,
        ..Record::default()
    };
    assert_eq!(underwrite(&record, NIP90, &POLICY).limit_sats, 7_000);
}

#[test]
fn the_terms_carry_what_they_were_decided_on() {
    let record = Record {
        successes_30d: 1,
        success_volume_sats_30d: 5,
        defaults_30d: 1,
        default_weight_30d: 2,
        loss_sats_30d: 1,
        open_exposure_sats: 2,
    };
    let terms = underwrite(&record, ScopeType::L402, &POLICY);
    assert_eq!(
        (terms.record, terms.scope, terms.policy),
        (record, ScopeType::L402, POLICY)
    );
    // Replaying the recorded inputs gives the same decision.
    assert_eq!(underwrite(&terms.record, terms.scope, &terms.policy), terms);
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
        weight in 0u64..1_000,
        more_weight in 0u64..1_000,
        open in 0u64..1_000_000_000,
    ) {
        let record = Record {
            success_volume_sats_30d: volume,
            loss_sats_30d: loss,
            default_weight_30d: weight,
            open_exposure_sats: open,
            ..Record::default()
        };
        let base = underwrite(&record, NIP90, &POLICY);
        let richer = Record { success_volume_sats_30d: volume.saturating_add(extra), ..record };
        let worse = Record {
            loss_sats_30d: loss + more_loss,
            default_weight_30d: weight + more_weight,
            ..record
        };
        prop_assert!(underwrite(&richer, NIP90, &POLICY).limit_sats >= base.limit_sats);
        prop_assert!(underwrite(&worse, NIP90, &POLICY).limit_sats <= base.limit_sats);
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
