//! An agent's record from its envelopes: draws are successes, defaults weigh by age and
//! count their unrecovered loss, live envelopes are exposure whatever their age; and
//! envelopes never reserve more than the partition holds.

use sluice_credit::envelope::{DefaultReason, Draw, Limits, Settlement, Status};
use sluice_credit::exposure::{fits, record, reserved_msat, Seen};
use sluice_credit::underwriting::Record;

const HOUR: u64 = 3_600_000;
const DAY: u64 = 24 * HOUR;
const NOW: u64 = 100 * DAY;

fn limits(cap_sats: u64) -> Limits {
    Limits {
        cap_msat: cap_sats * 1000,
        fee_bps: 100,
        exp_ms: NOW + HOUR,
        repay_by_ms: NOW + DAY,
    }
}

fn settlement() -> Settlement {
    Settlement {
        settlement_id: "s".into(),
        fingerprint: "f".into(),
        verification_passed: true,
        amount_msat: Some(4_000_000),
        max_fee_msat: 2_000,
    }
}

fn draw(spent_sats: u64) -> Draw {
    Draw {
        spent_msat: spent_sats * 1000,
        routing_fee_msat: 500,
        credit_fee_msat: spent_sats * 10,
    }
}

fn defaulted(loss_msat: u64, recovered_msat: u64) -> Status {
    Status::Defaulted {
        reason: DefaultReason::Unrepaid,
        settlement: Some(settlement()),
        draw: Some(draw(4_000)),
        loss_msat,
        recovered_msat,
    }
}

#[test]
fn each_envelope_counts_by_where_it_stands() {
    let l = limits(10_000);
    let statuses = [
        (Status::Open, NOW),
        (
            Status::Paying {
                settlement: settlement(),
            },
            NOW,
        ),
        (
            Status::Owed {
                settlement: settlement(),
                draw: draw(4_000),
                repaid_msat: 1_000_000,
            },
            NOW - HOUR,
        ),
        (
            Status::Repaid {
                settlement: settlement(),
                draw: draw(2_000),
            },
            NOW - 10 * DAY,
        ),
        // A fresh default with 1,500.5 sat unrecovered, one 3 days old without loss.
        (defaulted(2_000_500, 500_000), NOW - 60_000),
        (
            Status::Defaulted {
                reason: DefaultReason::VerificationFailed,
                settlement: None,
                draw: None,
                loss_msat: 0,
                recovered_msat: 0,
            },
            NOW - 3 * DAY,
        ),
        // Beyond the window: neither a success nor a default any more.
        (
            Status::Repaid {
                settlement: settlement(),
                draw: draw(9_000),
            },
            NOW - 31 * DAY,
        ),
        (defaulted(1_000_000, 0), NOW - 31 * DAY),
    ];
    let seen = statuses.iter().map(|(status, at_ms)| Seen {
        limits: &l,
        status,
        at_ms: *at_ms,
    });
    let owed: u64 = 4_000_000 + 500 + 40_000 - 1_000_000;
    assert_eq!(
        record(seen.clone(), NOW),
        Record {
            successes_30d: 2,
            success_volume_sats_30d: 6_000,
            defaults_30d: 2,
            default_weight_30d: 4 + 2,
            loss_sats_30d: 1_501,
            // Open: its cap; paying: the invoice and fee ceiling; owed: what is owed.
            open_exposure_sats: (10_000_000 + 4_002_000 + owed).div_ceil(1000),
        }
    );
    assert_eq!(reserved_msat(seen), 10_000_000 + 4_002_000);
}

#[test]
fn envelopes_never_reserve_more_than_the_partition_holds() {
    assert!(fits(10_000, 4_000, 6_000));
    assert!(!fits(10_000, 4_000, 6_001));
    assert!(!fits(u64::MAX, u64::MAX, 1));
    assert!(fits(0, 0, 0));
}
