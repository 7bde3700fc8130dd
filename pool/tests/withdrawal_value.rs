//! A withdrawal's value: the lower of its value at the request and at the payout, paid in
//! one fill or many, and never at the expense of the holders who stay.

use proptest::prelude::*;
use sluice_pool::withdrawal::{units_back, Burn, Outstanding};
use sluice_pool::{Book, UNITS_PER_SHARE};

/// A book of `nav_msat` over `supply_units`.
fn book(nav_msat: u64, supply_units: u128) -> Book {
    Book {
        nav_msat,
        supply_units,
    }
}

#[test]
fn a_loss_after_the_request_is_shared_and_a_gain_is_not_taken() {
    // 1,000 sat of NAV, 1,000 shares; the LP locks 100 shares, worth 100,000 msat.
    let start = book(1_000_000, 1_000 * UNITS_PER_SHARE);
    let lock = Outstanding::request(&start, 100 * UNITS_PER_SHARE).unwrap();
    assert_eq!(lock.cap_msat, 100_000);
    // A 10 % loss is booked: the leaver gets the lower value.
    let after_loss = book(900_000, start.supply_units);
    assert_eq!(lock.entitlement(&after_loss).unwrap(), 90_000);
    // A gain instead: still the value at the request.
    let after_gain = book(1_200_000, start.supply_units);
    assert_eq!(lock.entitlement(&after_gain).unwrap(), 100_000);
    // Paid in full: every unit burned.
    let (burn, rest) = lock.fill(&after_loss, 90_000).unwrap();
    assert_eq!(burn.units, 100 * UNITS_PER_SHARE);
    assert!(rest.is_done());
}

#[test]
fn fills_beyond_the_entitlement_or_of_nothing_are_refused() {
    let start = book(1_000_000, 1_000 * UNITS_PER_SHARE);
    let lock = Outstanding::request(&start, 100 * UNITS_PER_SHARE).unwrap();
    assert!(lock.fill(&start, 0).is_err());
    assert!(lock.fill(&start, 100_001).is_err());
    assert!(lock.fill(&start, 100_000).is_ok());
    // More units than exist cannot be locked.
    assert!(Outstanding::request(&start, 1_001 * UNITS_PER_SHARE).is_err());
}

#[test]
fn a_reversed_payout_gives_back_no_more_units_than_were_burned() {
    let burn = Burn {
        units: 100 * UNITS_PER_SHARE,
        msat: 100_000,
    };
    // The price fell: the units burned come back (the LP shares the loss as if it stayed).
    assert_eq!(
        units_back(&book(800_000, 900 * UNITS_PER_SHARE), &burn),
        burn.units
    );
    // The price doubled: what 100,000 msat buys now, about half.
    let back = units_back(&book(1_800_000, 900 * UNITS_PER_SHARE), &burn);
    assert!(back < burn.units / 2 + UNITS_PER_SHARE && back > burn.units / 2 - UNITS_PER_SHARE);
}

fn books() -> impl Strategy<Value = (Book, u128)> {
    // NAV 1 sat to 100 BTC, prices from 0.01 to 100 sat a share, and a lock of part of it.
    (1_000u64..10_000_000_000_000, 1u64..10_000, 1u64..=10_000).prop_map(
        |(nav, price_cents, lock_bps)| {
            let supply = u128::from(nav) * UNITS_PER_SHARE * 100 / 1000 / u128::from(price_cents);
            let supply = supply.max(1);
            let lock = (supply * u128::from(lock_bps) / 10_000).max(1);
            (book(nav, supply), lock)
        },
    )
}

proptest! {
    /// Over random books, moves of NAV between ticks and random fill sizes: each fill is at
    /// most the lower of the cap and the value now, the whole at most the value at the
    /// request, every burn is at or below the price (the stayers' price never drops), and
    /// the last fill burns every unit left.
    #[test]
    fn paying_in_parts_never_beats_paying_at_once(
        (start, locked) in books(),
        moves in proptest::collection::vec((-500i64..=500, 1u64..=10_000), 1..12),
    ) {
        let mut nav = start.nav_msat;
        let mut supply = start.supply_units;
        let mut lock = Outstanding::request(&start, locked).unwrap();
        let cap = lock.cap_msat;
        let mut paid = 0u64;
        for (i, (move_bps, fill_bps)) in moves.iter().enumerate() {
            // Income or a loss, in basis points of NAV.
            let delta = i128::from(nav) * i128::from(*move_bps) / 10_000;
            nav = u64::try_from((i128::from(nav) + delta).max(0)).unwrap();
            let now = book(nav, supply);
            let owed = lock.entitlement(&now).unwrap();
            prop_assert!(owed <= lock.cap_msat && owed <= now.value_of(lock.units).unwrap());
            if owed == 0 {
                continue;
            }
            let last = i + 1 == moves.len();
            let msat = if last { owed } else { (owed * fill_bps / 10_000).max(1) };
            let (burn, rest) = lock.fill(&now, msat).unwrap();
            prop_assert!(burn.units <= lock.units);
            let after = now.after_withdrawal(burn.msat, burn.units).unwrap();
            prop_assert!(after.price().at_least(&now.price()), "a burn below the price");
            nav = after.nav_msat;
            supply = after.supply_units;
            paid += burn.msat;
            if last {
                prop_assert!(rest.is_done());
            }
            lock = rest;
        }
        prop_assert!(paid <= cap);
    }
}
