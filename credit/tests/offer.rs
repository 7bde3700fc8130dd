//! Offers: underwriting sets the cap and fee, the request and its intent only bound them.

use sluice_credit::offer::{offer, Ask, IntentBounds, Offered, Refusal};
use sluice_credit::underwriting::{underwrite, Policy, Record, ScopeType, Surcharges};

const NOW: u64 = 1_000_000;
const TTL: u64 = 3_600_000;

fn terms(limit_base: u64) -> sluice_credit::underwriting::Terms {
    let policy = Policy {
        base_sats: limit_base,
        k: 0,
        loss_penalty: 1,
        default_penalty_sats: 1,
        max_envelope_sats: 100_000,
        min_fee_bps: 75,
        max_fee_bps: 2_000,
        fee_scaler: 1,
        surcharge_bps: Surcharges::default(),
    };
    underwrite(&Record::default(), ScopeType::Nip90, &policy)
}

fn ask(max_sats: u64, exp_ms: u64) -> Ask {
    Ask { max_sats, exp_ms }
}

#[test]
fn the_cap_is_the_smaller_of_the_ask_and_the_limit_and_the_fee_is_underwritings() {
    assert_eq!(
        offer(&ask(50_000, NOW + 60_000), None, &terms(20_000), NOW, TTL),
        Ok(Offered {
            max_sats: 20_000,
            fee_bps: 75,
            exp_ms: NOW + 60_000
        })
    );
    assert_eq!(
        offer(&ask(5_000, NOW + TTL), None, &terms(20_000), NOW, TTL).map(|o| o.max_sats),
        Ok(5_000)
    );
}

#[test]
fn nothing_asked_a_past_or_far_expiry_and_no_credit_are_refused() {
    let t = terms(20_000);
    assert_eq!(
        offer(&ask(0, NOW + 1), None, &t, NOW, TTL),
        Err(Refusal::Nothing)
    );
    assert_eq!(
        offer(&ask(1, NOW), None, &t, NOW, TTL),
        Err(Refusal::Expired)
    );
    assert_eq!(
        offer(&ask(1, NOW + TTL + 1), None, &t, NOW, TTL),
        Err(Refusal::TooLong { max_ttl_ms: TTL })
    );
    assert_eq!(
        offer(&ask(1, NOW + 1), None, &terms(0), NOW, TTL),
        Err(Refusal::NoCredit)
    );
}

#[test]
fn an_offer_stays_within_the_intent_it_names() {
    let t = terms(20_000);
    let intent = IntentBounds {
        max_sats: 10_000,
        exp_ms: NOW + 60_000,
    };
    assert!(offer(&ask(10_000, NOW + 60_000), Some(&intent), &t, NOW, TTL).is_ok());
    for beyond in [ask(10_001, NOW + 60_000), ask(10_000, NOW + 60_001)] {
        assert_eq!(
            offer(&beyond, Some(&intent), &t, NOW, TTL),
            Err(Refusal::BeyondIntent)
        );
    }
    let lapsed = IntentBounds {
        exp_ms: NOW,
        ..intent
    };
    assert_eq!(
        offer(&ask(1, NOW + 1), Some(&lapsed), &t, NOW, TTL),
        Err(Refusal::IntentExpired)
    );
}
