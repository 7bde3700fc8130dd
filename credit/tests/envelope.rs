//! The envelope state machine: each path of spec §7.2–7.3, idempotent settles, and a
//! property over random event sequences that every msat drawn is repaid, lost or still
//! owed, and that the provider is never paid twice.

use proptest::prelude::*;
use sluice_credit::envelope::{
    credit_fee_msat, step, Action, Booking, DefaultReason, Draw, Event, Limits, Refusal,
    Settlement, Status,
};

const CAP: u64 = 100_000_000;
const EXP: u64 = 1_000_000;
const REPAY_BY: u64 = 2_000_000;

fn limits() -> Limits {
    Limits {
        cap_msat: CAP,
        fee_bps: 150,
        exp_ms: EXP,
        repay_by_ms: REPAY_BY,
    }
}

fn settlement(id: &str, passed: bool, amount_msat: Option<u64>) -> Settlement {
    Settlement {
        settlement_id: id.to_owned(),
        fingerprint: format!("fp-{id}"),
        verification_passed: passed,
        amount_msat,
        max_fee_msat: 5_000,
    }
}

fn run(status: &Status, event: Event, now: u64) -> (Status, Vec<Action>) {
    step(&limits(), status, event, now).expect("the event applies")
}

#[test]
fn a_verified_settlement_pays_the_provider_then_the_agent_owes_the_draw_until_repaid() {
    let (paying, actions) = run(
        &Status::Open,
        Event::Settle(settlement("s1", true, Some(42_000_000))),
        10,
    );
    assert_eq!(paying.name(), "paying");
    assert_eq!(
        actions,
        vec![Action::Pay {
            settlement_id: "s1".into(),
            amount_msat: 42_000_000,
            max_fee_msat: 5_000
        }]
    );
    assert_eq!(paying.reserved_msat(&limits()), 42_005_000);

    let (owed, actions) = run(
        &paying,
        Event::Paid {
            routing_fee_msat: 1_234,
        },
        20,
    );
    let draw = Draw {
        spent_msat: 42_000_000,
        routing_fee_msat: 1_234,
        credit_fee_msat: 630_000,
    };
    assert_eq!(
        actions,
        vec![
            Action::Book(Booking::Drawn(draw)),
            Action::SettlementReceipt(draw)
        ]
    );
    assert_eq!(owed.outstanding_msat(), 42_631_234);
    assert_eq!(owed.reserved_msat(&limits()), 0);
    assert_eq!(owed.exposure_msat(&limits()), 42_631_234);

    let (still_owed, actions) = run(&owed, Event::Repaid { msat: 631_234 }, 30);
    assert_eq!(
        actions,
        vec![Action::Book(Booking::Repaid { msat: 631_234 })]
    );
    assert_eq!(still_owed.outstanding_msat(), 42_000_000);
    let (repaid, actions) = run(&still_owed, Event::Repaid { msat: 42_000_010 }, 40);
    assert_eq!(
        actions,
        vec![
            Action::Book(Booking::Repaid { msat: 42_000_000 }),
            Action::Book(Booking::Surplus { msat: 10 })
        ]
    );
    assert_eq!(repaid.name(), "repaid");
    assert!(!repaid.is_live());
}

#[test]
fn the_credit_fee_rounds_up_to_the_msat() {
    assert_eq!(credit_fee_msat(1, 1), 1);
    assert_eq!(credit_fee_msat(10_000, 1), 1);
    assert_eq!(credit_fee_msat(10_001, 1), 2);
    assert_eq!(credit_fee_msat(0, 2_000), 0);
    assert_eq!(credit_fee_msat(u64::MAX, 10_000), u64::MAX);
}

#[test]
fn a_failed_verification_defaults_without_paying_or_losing_capital() {
    let (status, actions) = run(
        &Status::Open,
        Event::Settle(settlement("s1", false, Some(1_000))),
        10,
    );
    assert_eq!(
        actions,
        vec![Action::DefaultNotice {
            reason: DefaultReason::VerificationFailed,
            loss_msat: 0
        }]
    );
    assert_eq!(status.name(), "defaulted");
    assert_eq!(status.reserved_msat(&limits()), 0);
    assert_eq!(status.outstanding_msat(), 0);
}

#[test]
fn a_late_settlement_defaults_as_expired_whatever_the_verification_says() {
    for passed in [true, false] {
        let (status, actions) = run(
            &Status::Open,
            Event::Settle(settlement("s1", passed, Some(1_000))),
            EXP + 1,
        );
        assert_eq!(
            actions,
            vec![Action::DefaultNotice {
                reason: DefaultReason::Expired,
                loss_msat: 0
            }]
        );
        assert!(matches!(
            status,
            Status::Defaulted {
                reason: DefaultReason::Expired,
                ..
            }
        ));
    }
    // At the expiry itself the envelope is still settleable.
    let (status, _) = run(
        &Status::Open,
        Event::Settle(settlement("s1", true, Some(1_000))),
        EXP,
    );
    assert_eq!(status.name(), "paying");
}

#[test]
fn an_invoice_without_an_amount_or_over_the_cap_is_refused_and_changes_nothing() {
    for amount in [None, Some(0)] {
        assert_eq!(
            step(
                &limits(),
                &Status::Open,
                Event::Settle(settlement("s1", true, amount)),
                10
            ),
            Err(Refusal::NoAmount)
        );
    }
    assert_eq!(
        step(
            &limits(),
            &Status::Open,
            Event::Settle(settlement("s1", true, Some(CAP + 1))),
            10
        ),
        Err(Refusal::OverCap {
            amount_msat: CAP + 1,
            cap_msat: CAP
        })
    );
    let (status, _) = run(
        &Status::Open,
        Event::Settle(settlement("s1", true, Some(CAP))),
        10,
    );
    assert_eq!(status.name(), "paying");
}

#[test]
fn a_repeated_settle_changes_nothing_and_another_one_is_refused() {
    let first = settlement("s1", true, Some(1_000));
    let (paying, _) = run(&Status::Open, Event::Settle(first.clone()), 10);
    assert_eq!(
        run(&paying, Event::Settle(first.clone()), 11),
        (paying.clone(), Vec::new())
    );
    let other = settlement("s2", true, Some(2_000));
    assert_eq!(
        step(&limits(), &paying, Event::Settle(other.clone()), 11),
        Err(Refusal::Settled { state: "paying" })
    );
    let (owed, _) = run(
        &paying,
        Event::Paid {
            routing_fee_msat: 0,
        },
        12,
    );
    assert_eq!(
        run(&owed, Event::Settle(first), 13),
        (owed.clone(), Vec::new())
    );
    assert_eq!(
        step(&limits(), &owed, Event::Settle(other), 13),
        Err(Refusal::Settled { state: "owed" })
    );
    // An envelope the timer defaulted has no settlement to repeat.
    let (expired, _) = run(&Status::Open, Event::Tick, EXP + 1);
    assert_eq!(
        step(
            &limits(),
            &expired,
            Event::Settle(settlement("s3", true, Some(1))),
            EXP + 2
        ),
        Err(Refusal::Settled { state: "defaulted" })
    );
}

#[test]
fn a_failed_payment_reopens_the_envelope_until_it_expires() {
    let (paying, _) = run(
        &Status::Open,
        Event::Settle(settlement("s1", true, Some(1_000))),
        10,
    );
    assert_eq!(
        run(&paying, Event::PayFailed, 20),
        (Status::Open, Vec::new())
    );
    let (paying_again, actions) = run(
        &Status::Open,
        Event::Settle(settlement("s2", true, Some(2_000))),
        30,
    );
    assert_eq!(actions.len(), 1);
    let (expired, actions) = run(&paying_again, Event::PayFailed, EXP + 1);
    assert_eq!(
        actions,
        vec![Action::DefaultNotice {
            reason: DefaultReason::Expired,
            loss_msat: 0
        }]
    );
    assert_eq!(expired.name(), "defaulted");
    // Payment outcomes apply only to a payment under way.
    for status in [Status::Open, expired] {
        assert!(matches!(
            step(&limits(), &status, Event::PayFailed, 40),
            Err(Refusal::State { .. })
        ));
    }
}

#[test]
fn the_timer_expires_open_envelopes_and_writes_off_unrepaid_draws() {
    assert_eq!(
        run(&Status::Open, Event::Tick, EXP),
        (Status::Open, Vec::new())
    );
    let (paying, _) = run(
        &Status::Open,
        Event::Settle(settlement("s1", true, Some(10_000))),
        10,
    );
    // A payment under way never times out here: its outcome decides.
    assert_eq!(
        run(&paying, Event::Tick, REPAY_BY + 1),
        (paying.clone(), Vec::new())
    );
    let (owed, _) = run(
        &paying,
        Event::Paid {
            routing_fee_msat: 100,
        },
        20,
    );
    let (owed, _) = run(&owed, Event::Repaid { msat: 4_000 }, 30);
    assert_eq!(
        run(&owed, Event::Tick, REPAY_BY),
        (owed.clone(), Vec::new())
    );
    let (defaulted, actions) = run(&owed, Event::Tick, REPAY_BY + 1);
    // 10,000 spent + 100 routing + 150 fee (150 bps of 10,000 msat) less 4,000 repaid.
    let loss = 10_000 + 100 + 150 - 4_000;
    assert_eq!(
        actions,
        vec![
            Action::Book(Booking::Loss { msat: loss }),
            Action::DefaultNotice {
                reason: DefaultReason::Unrepaid,
                loss_msat: loss
            }
        ]
    );
    assert_eq!(defaulted.outstanding_msat(), loss);

    // A late repayment recovers the loss; anything beyond is surplus.
    let (recovering, actions) = run(&defaulted, Event::Repaid { msat: 1_000 }, 40);
    assert_eq!(
        actions,
        vec![Action::Book(Booking::Recovered { msat: 1_000 })]
    );
    let (recovered, actions) = run(&recovering, Event::Repaid { msat: loss }, 50);
    assert_eq!(
        actions,
        vec![
            Action::Book(Booking::Recovered { msat: loss - 1_000 }),
            Action::Book(Booking::Surplus { msat: 1_000 })
        ]
    );
    assert_eq!(recovered.outstanding_msat(), 0);
}

#[derive(Debug, Clone)]
enum Op {
    Settle { id: u8, passed: bool, amount: u64 },
    Paid { fee: u64 },
    PayFailed,
    Repaid { msat: u64 },
    Tick,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..3, any::<bool>(), 0u64..=CAP + 10).prop_map(|(id, passed, amount)| Op::Settle {
            id,
            passed,
            amount
        }),
        (0u64..10_000).prop_map(|fee| Op::Paid { fee }),
        Just(Op::PayFailed),
        (0u64..CAP).prop_map(|msat| Op::Repaid { msat }),
        Just(Op::Tick),
    ]
}

proptest! {
    /// Whatever happens, in whatever order: the provider is paid at most once and never
    /// above the cap, and each msat drawn is repaid, written off, or still owed.
    #[test]
    fn every_drawn_msat_is_repaid_lost_or_owed(
        ops in proptest::collection::vec((op(), 0u64..200), 1..40)
    ) {
        let mut status = Status::Open;
        let mut now = 0u64;
        let (mut draws, mut drawn, mut repaid, mut lost, mut recovered) = (0, 0u64, 0u64, 0u64, 0u64);
        let mut in_flight = false;
        for (op, dt) in ops {
            now += dt * 20_000;
            let event = match op {
                Op::Settle { id, passed, amount } => Event::Settle(settlement(
                    &id.to_string(),
                    passed,
                    Some(amount),
                )),
                Op::Paid { fee } => Event::Paid { routing_fee_msat: fee },
                Op::PayFailed => Event::PayFailed,
                Op::Repaid { msat } => Event::Repaid { msat },
                Op::Tick => Event::Tick,
            };
            let Ok((next, actions)) = step(&limits(), &status, event, now) else {
                continue;
            };
            for action in actions {
                match action {
                    Action::Pay { amount_msat, .. } => {
                        prop_assert!(!in_flight, "a second payment while one is under way");
                        prop_assert!(amount_msat <= CAP);
                        prop_assert!(now <= EXP);
                        in_flight = true;
                    }
                    Action::Book(Booking::Drawn(draw)) => {
                        draws += 1;
                        drawn += draw.owed_msat();
                    }
                    Action::Book(Booking::Repaid { msat }) => repaid += msat,
                    Action::Book(Booking::Loss { msat }) => lost += msat,
                    Action::Book(Booking::Recovered { msat }) => recovered += msat,
                    Action::Book(Booking::Surplus { .. })
                    | Action::SettlementReceipt(_)
                    | Action::DefaultNotice { .. } => {}
                }
            }
            if !matches!(next, Status::Paying { .. }) {
                in_flight = false;
            }
            status = next;
            let owed = match &status {
                Status::Owed { .. } => status.outstanding_msat(),
                _ => 0,
            };
            prop_assert_eq!(drawn, repaid + lost + owed);
            prop_assert!(recovered <= lost);
            prop_assert_eq!(lost - recovered, match &status {
                Status::Defaulted { .. } => status.outstanding_msat(),
                _ => 0,
            });
        }
        // Drawn at most once: a draw ends the envelope's settling for good.
        prop_assert!(draws <= 1);
    }
}
