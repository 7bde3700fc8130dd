//! Property tests of the share math and the ledger (issue 19's "must show"): no sequence
//! of deposits and withdrawals lets anyone gain at the others' expense beyond rounding
//! dust, and the first-depositor inflation attack on an empty partition does not pay.

use proptest::prelude::*;
use sluice_pool::{
    Book, CostKind, Entry, IncomeKind, Ledger, Movement, PartitionKind, ShareError, VIRTUAL_UNITS,
};

const LPS: usize = 4;
/// Up to 1,000 BTC per deposit, in msat.
const MAX_DEPOSIT_MSAT: u64 = 100_000_000_000_000;

#[derive(Debug, Clone)]
enum Op {
    Deposit {
        lp: usize,
        msat: u64,
    },
    /// Withdraw this fraction (per mille) of the LP's units.
    Withdraw {
        lp: usize,
        per_mille: u16,
    },
    /// Withdraw this many msat by burning the units it takes.
    WithdrawMsat {
        lp: usize,
        msat: u64,
    },
    Income {
        msat: u64,
    },
    Loss {
        per_mille: u16,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..LPS, 1..MAX_DEPOSIT_MSAT).prop_map(|(lp, msat)| Op::Deposit { lp, msat }),
        1 => (0..LPS, 1..10u64).prop_map(|(lp, msat)| Op::Deposit { lp, msat }),
        3 => (0..LPS, 1..=1000u16).prop_map(|(lp, per_mille)| Op::Withdraw { lp, per_mille }),
        2 => (0..LPS, 1..MAX_DEPOSIT_MSAT).prop_map(|(lp, msat)| Op::WithdrawMsat { lp, msat }),
        2 => (1..10_000_000_000u64).prop_map(|msat| Op::Income { msat }),
        1 => (1..=200u16).prop_map(|per_mille| Op::Loss { per_mille }),
    ]
}

/// A partition driven through the ledger, as the pool actor will drive it.
struct Pool {
    ledger: Ledger,
    put_in: [u128; LPS],
    taken_out: [u128; LPS],
}

const P: PartitionKind = PartitionKind::Llp;

impl Pool {
    fn new() -> Pool {
        Pool {
            ledger: Ledger::new(),
            put_in: [0; LPS],
            taken_out: [0; LPS],
        }
    }

    fn book(&self) -> Book {
        self.ledger.partition(P).book()
    }

    fn units(&self, lp: usize) -> u128 {
        self.ledger
            .partition(P)
            .holdings
            .get(&lp.to_string())
            .copied()
            .unwrap_or(0)
    }

    fn book_entry(&mut self, movement: Movement) {
        let entry = Entry::new(self.ledger.next_seq(), 0, movement);
        self.ledger.apply(&entry).expect("a valid entry applies");
    }

    fn deposit(&mut self, lp: usize, msat: u64) {
        match self.book().units_for_deposit(msat) {
            Ok(units) => {
                self.book_entry(Movement::Deposit {
                    partition: P,
                    lp_id: lp.to_string(),
                    msat,
                    units,
                    deposit_id: String::new(),
                });
                self.put_in[lp] += u128::from(msat);
            }
            Err(ShareError::DepositTooSmall { .. }) => {}
            Err(e) => panic!("deposit of {msat}: {e}"),
        }
    }

    fn withdraw_units(&mut self, lp: usize, units: u128) {
        if units == 0 {
            return;
        }
        let msat = self
            .book()
            .value_of(units)
            .expect("held units have a value");
        if msat == 0 {
            return; // Burning for nothing is the LP's loss; the pool refuses it.
        }
        self.book_entry(Movement::WithdrawalBurned {
            partition: P,
            lp_id: lp.to_string(),
            msat,
            units,
            withdrawal_id: String::new(),
        });
        self.book_entry(Movement::WithdrawalPaid {
            partition: P,
            msat,
            withdrawal_id: String::new(),
        });
        self.taken_out[lp] += u128::from(msat);
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Deposit { lp, msat } => self.deposit(lp, msat),
            Op::Withdraw { lp, per_mille } => {
                let units = self.units(lp) * u128::from(per_mille) / 1000;
                self.withdraw_units(lp, units);
            }
            Op::WithdrawMsat { lp, msat } => {
                let book = self.book();
                let msat = msat.min(book.value_of(self.units(lp)).unwrap_or(0));
                if msat == 0 {
                    return;
                }
                let units = book.units_for_withdrawal(msat).expect("within NAV");
                if units <= self.units(lp) {
                    self.withdraw_units(lp, units);
                }
            }
            Op::Income { msat } => self.book_entry(Movement::Income {
                partition: P,
                source: IncomeKind::Routing,
                msat,
                reference: String::new(),
            }),
            Op::Loss { per_mille } => {
                let msat = self.book().nav_msat * u64::from(per_mille) / 1000;
                if msat > 0 {
                    // Credit paid out and never repaid.
                    self.book_entry(Movement::EnvelopeDrawn {
                        partition: P,
                        paid_msat: msat,
                        fee_msat: 0,
                        envelope_id: String::new(),
                    });
                    self.book_entry(Movement::EnvelopeWrittenOff {
                        partition: P,
                        msat,
                        envelope_id: String::new(),
                    });
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A deposit or withdrawal never lowers the price, so it never takes value from the
    /// holders who stay; only income and losses move it, and they move every holder alike.
    #[test]
    fn deposits_and_withdrawals_never_lower_the_price(ops in prop::collection::vec(op(), 1..60)) {
        let mut pool = Pool::new();
        for op in &ops {
            let before = pool.book().price();
            let others: Vec<(usize, u64)> = (0..LPS)
                .map(|lp| (lp, pool.book().value_of(pool.units(lp)).unwrap_or(0)))
                .collect();
            pool.apply(op);
            let after = pool.book().price();
            if let Op::Deposit { lp: me, .. } | Op::Withdraw { lp: me, .. } | Op::WithdrawMsat { lp: me, .. } = *op {
                prop_assert!(after.at_least(&before), "{op:?}: price fell from {before:?} to {after:?}");
                for (lp, value) in others {
                    if lp != me {
                        let now = pool.book().value_of(pool.units(lp)).unwrap_or(0);
                        // Floor rounding of a value read may differ by one msat.
                        prop_assert!(now + 1 >= value, "{op:?} took {} msat from LP {lp}", value - now);
                    }
                }
            }
        }
    }

    /// With no income or losses, nobody ends with more than they put in beyond the others'
    /// rounding dust (at most a msat an operation), and everything the LPs put in is either
    /// taken out, still theirs, or dust the pool keeps.
    #[test]
    fn without_income_nobody_gains(ops in prop::collection::vec(op(), 1..60)) {
        let mut pool = Pool::new();
        for op in ops.iter().filter(|op| matches!(op, Op::Deposit { .. } | Op::Withdraw { .. } | Op::WithdrawMsat { .. })) {
            pool.apply(op);
        }
        let book = pool.book();
        let mut held_value = 0u128;
        for lp in 0..LPS {
            let value = u128::from(book.value_of(pool.units(lp)).unwrap());
            prop_assert!(
                pool.taken_out[lp] + value <= pool.put_in[lp] + ops.len() as u128,
                "LP {lp} gained {} msat",
                (pool.taken_out[lp] + value).saturating_sub(pool.put_in[lp])
            );
            held_value += value;
        }
        let put_in: u128 = pool.put_in.iter().sum();
        let taken_out: u128 = pool.taken_out.iter().sum();
        prop_assert_eq!(u128::from(book.nav_msat), put_in - taken_out);
        // The pool keeps at most a few msat of rounding per operation.
        prop_assert!(u128::from(book.nav_msat) - held_value <= 2 * ops.len() as u128 + LPS as u128);
    }

    /// Income reaches holders in proportion to their units (less the virtual holder's
    /// crumb and rounding).
    #[test]
    fn income_is_shared_pro_rata(a in 1_000u64..MAX_DEPOSIT_MSAT, b in 1_000u64..MAX_DEPOSIT_MSAT, income in 1u64..1_000_000_000_000) {
        let mut pool = Pool::new();
        pool.deposit(0, a);
        pool.deposit(1, b);
        let before = [pool.book().value_of(pool.units(0)).unwrap(), pool.book().value_of(pool.units(1)).unwrap()];
        pool.apply(&Op::Income { msat: income });
        let book = pool.book();
        let gained = [
            book.value_of(pool.units(0)).unwrap() - before[0],
            book.value_of(pool.units(1)).unwrap() - before[1],
        ];
        let total = u128::from(gained[0]) + u128::from(gained[1]);
        prop_assert!(total <= u128::from(income));
        // Each gets its share of the income to within 2 msat plus the virtual crumb.
        let supply = book.supply_units + VIRTUAL_UNITS;
        for (lp, gained) in gained.into_iter().enumerate() {
            let fair = u128::from(income) * pool.units(lp) / supply;
            let got = u128::from(gained);
            prop_assert!(got + 2 >= fair && got <= fair + 2, "LP {lp}: got {got}, fair {fair}");
        }
    }

    /// The first-depositor attack: mint a few units of an empty partition, inflate its NAV
    /// (here as booked income the attacker paid for), and hope the victim's deposit rounds
    /// down to the attacker's benefit. It never pays.
    #[test]
    fn the_inflation_attack_does_not_pay(seed in 1u64..1_000, donation in 1u64..MAX_DEPOSIT_MSAT, victim in 1u64..MAX_DEPOSIT_MSAT) {
        let mut pool = Pool::new();
        pool.deposit(0, seed);
        pool.apply(&Op::Income { msat: donation });
        pool.deposit(1, victim);
        let attacker_units = pool.units(0);
        let attacker_value = pool.book().value_of(attacker_units).unwrap();
        let spent = u128::from(seed) + u128::from(donation);
        prop_assert!(u128::from(attacker_value) <= spent, "attacker spent {spent} and holds {attacker_value}");
        // Griefing does not pay either: the victim loses to rounding at most one unit's
        // worth, and the virtual offset makes a unit cost the attacker a million times that.
        // (Or the deposit was refused and the victim kept their money.)
        if pool.units(1) > 0 {
            let value = pool.book().value_of(pool.units(1)).unwrap();
            prop_assert!(value <= victim);
            let loss = u128::from(victim - value);
            prop_assert!(loss <= (spent + 1) / 1_000_000 + 2, "victim lost {loss} msat; attacker spent {spent}");
        }
    }
}

#[test]
fn an_empty_partition_refuses_a_deposit_that_would_mint_nothing_only_when_inflated() {
    // At the first price (1 msat per 1,000,000 units) even 1 msat mints units.
    assert_eq!(Book::EMPTY.units_for_deposit(1), Ok(VIRTUAL_UNITS));
    // After a 10 BTC "donation" onto one unit, a 1 sat deposit buys nothing and is refused
    // instead of being swallowed.
    let inflated = Book {
        nav_msat: 1_000_000_000_000,
        supply_units: 1,
    };
    assert_eq!(
        inflated.units_for_deposit(1_000),
        Err(ShareError::DepositTooSmall { msat: 1_000 })
    );
}

#[test]
fn the_ledger_refuses_unbalanced_foreign_and_overdrawing_entries() {
    let mut ledger = Ledger::new();
    let deposit = Movement::Deposit {
        partition: P,
        lp_id: "a".into(),
        msat: 1_000,
        units: 1_000_000_000,
        deposit_id: "d1".into(),
    };
    // Postings that do not sum to zero.
    let mut bad = Entry::new(0, 0, deposit.clone());
    bad.postings[0].msat += 1;
    assert!(matches!(
        ledger.apply(&bad),
        Err(sluice_pool::LedgerError::Unbalanced { .. })
    ));
    // Balanced postings that are not the movement's.
    let mut foreign = Entry::new(0, 0, deposit.clone());
    foreign.postings[0].msat += 1;
    foreign.postings[1].msat -= 1;
    assert!(matches!(
        ledger.apply(&foreign),
        Err(sluice_pool::LedgerError::PostingsMismatch { .. })
    ));
    // Out of sequence.
    assert!(matches!(
        ledger.apply(&Entry::new(5, 0, deposit.clone())),
        Err(sluice_pool::LedgerError::OutOfOrder { .. })
    ));
    ledger.apply(&Entry::new(0, 0, deposit)).unwrap();
    // A cost beyond the partition's assets, a transfer out of an empty partition, burning
    // units an LP does not hold: refused, ledger unchanged.
    let before = ledger.clone();
    for movement in [
        Movement::Cost {
            partition: P,
            cost: CostKind::Rebalance,
            msat: 1_001,
            reference: String::new(),
        },
        Movement::Transfer {
            from: PartitionKind::Cep,
            to: P,
            msat: 1,
            skim: false,
        },
        Movement::WithdrawalBurned {
            partition: P,
            lp_id: "b".into(),
            msat: 1,
            units: 1,
            withdrawal_id: "w".into(),
        },
        Movement::Transfer {
            from: P,
            to: P,
            msat: 1,
            skim: false,
        },
    ] {
        let entry = Entry::new(1, 0, movement.clone());
        assert!(
            matches!(
                ledger.apply(&entry),
                Err(sluice_pool::LedgerError::Overdrawn { .. }
                    | sluice_pool::LedgerError::Empty { .. })
            ),
            "{movement:?} applied"
        );
        assert_eq!(ledger, before);
    }
    // A skim moves assets to the reserve partition and is replayable.
    let skim = Entry::new(
        1,
        0,
        Movement::Transfer {
            from: P,
            to: PartitionKind::Rrp,
            msat: 100,
            skim: true,
        },
    );
    ledger.apply(&skim).unwrap();
    assert_eq!(ledger.partition(P).assets_msat, 900);
    assert_eq!(ledger.partition(PartitionKind::Rrp).assets_msat, 100);
    let json = serde_json::to_string(&skim).unwrap();
    let back: Entry = serde_json::from_str(&json).unwrap();
    assert_eq!(back, skim);
}

#[test]
fn a_reversed_burn_gives_the_value_back_and_cannot_reverse_more_than_is_owed() {
    let mut ledger = Ledger::new();
    let book = |ledger: &mut Ledger, movement| {
        let entry = Entry::new(ledger.next_seq(), 0, movement);
        ledger.apply(&entry)
    };
    book(
        &mut ledger,
        Movement::Deposit {
            partition: P,
            lp_id: "a".into(),
            msat: 10_000,
            units: 10_000_000_000,
            deposit_id: "d".into(),
        },
    )
    .unwrap();
    let start = ledger.partition(P);
    book(
        &mut ledger,
        Movement::WithdrawalBurned {
            partition: P,
            lp_id: "a".into(),
            msat: 4_000,
            units: 4_000_000_000,
            withdrawal_id: "w".into(),
        },
    )
    .unwrap();
    assert_eq!(ledger.partition(P).pending_withdrawals_msat, 4_000);
    assert_eq!(ledger.partition(P).nav_msat(), 6_000);
    let reverse = |msat| Movement::WithdrawalReversed {
        partition: P,
        lp_id: "a".into(),
        msat,
        units: 4_000_000_000,
        withdrawal_id: "w".into(),
    };
    assert!(matches!(
        book(&mut ledger, reverse(4_001)),
        Err(sluice_pool::LedgerError::Overdrawn { .. })
    ));
    book(&mut ledger, reverse(4_000)).unwrap();
    let after = ledger.partition(P);
    assert_eq!(
        (after.nav_msat(), after.supply_units, after.holdings.clone()),
        (start.nav_msat(), start.supply_units, start.holdings.clone())
    );
    assert_eq!(after.flow_msat(sluice_pool::Flow::Withdrawals), 0);
}

#[test]
fn credit_is_an_asset_until_repaid_or_written_off_and_never_overdraws() {
    let cep = PartitionKind::Cep;
    let mut ledger = Ledger::new();
    let book = |ledger: &mut Ledger, movement| {
        let entry = Entry::new(ledger.next_seq(), 0, movement);
        ledger.apply(&entry)
    };
    book(
        &mut ledger,
        Movement::Deposit {
            partition: cep,
            lp_id: "a".into(),
            msat: 10_000,
            units: 10_000_000_000,
            deposit_id: "d".into(),
        },
    )
    .unwrap();
    let drawn = |paid_msat| Movement::EnvelopeDrawn {
        partition: cep,
        paid_msat,
        fee_msat: 30,
        envelope_id: "e".into(),
    };
    let repaid = |msat| Movement::EnvelopeRepaid {
        partition: cep,
        msat,
        envelope_id: "e".into(),
    };
    let written_off = |msat| Movement::EnvelopeWrittenOff {
        partition: cep,
        msat,
        envelope_id: "e".into(),
    };
    let recovered = |msat| Movement::EnvelopeRecovered {
        partition: cep,
        msat,
        envelope_id: "e".into(),
    };
    // Paying more than the partition holds is refused.
    assert!(book(&mut ledger, drawn(10_001)).is_err());
    // A draw moves cash to receivables and earns its fee at once.
    book(&mut ledger, drawn(3_000)).unwrap();
    let p = ledger.partition(cep);
    assert_eq!((p.assets_msat, p.receivables_msat), (7_000, 3_030));
    assert_eq!(p.nav_msat(), 10_030);
    assert_eq!(p.flow_msat(sluice_pool::Flow::CreditFees), 30);
    // Repaying or writing off more than is owed is refused.
    for movement in [repaid(3_031), written_off(3_031)] {
        assert!(matches!(
            book(&mut ledger, movement),
            Err(sluice_pool::LedgerError::Overdrawn { .. })
        ));
    }
    book(&mut ledger, repaid(1_030)).unwrap();
    book(&mut ledger, written_off(2_000)).unwrap();
    let p = ledger.partition(cep);
    assert_eq!((p.assets_msat, p.receivables_msat), (8_030, 0));
    assert_eq!(p.nav_msat(), 8_030);
    assert_eq!(p.flow_msat(sluice_pool::Flow::CreditLosses), 2_000);
    // A late repayment recovers at most what was lost.
    assert!(book(&mut ledger, recovered(2_001)).is_err());
    book(&mut ledger, recovered(500)).unwrap();
    let p = ledger.partition(cep);
    assert_eq!(
        (p.nav_msat(), p.flow_msat(sluice_pool::Flow::CreditLosses)),
        (8_530, 1_500)
    );
    // Every entry replays to the same books.
    let entry = Entry::new(0, 0, drawn(1));
    let json = serde_json::to_string(&entry).unwrap();
    assert_eq!(serde_json::from_str::<Entry>(&json).unwrap(), entry);
}

#[test]
fn entries_with_units_beyond_a_json_number_round_trip_exactly() {
    let deposit = Entry::new(
        0,
        1,
        Movement::Deposit {
            partition: P,
            lp_id: "a".into(),
            msat: u64::MAX,
            units: u128::MAX - 1,
            deposit_id: "d".into(),
        },
    );
    let json = serde_json::to_string(&deposit).unwrap();
    assert!(
        json.contains(&format!("\"units\":\"{}\"", u128::MAX - 1)),
        "{json}"
    );
    let back: Entry = serde_json::from_str(&json).unwrap();
    assert_eq!(back, deposit);
}
