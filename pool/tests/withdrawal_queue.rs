//! The withdrawal queue's planning: first in first out, the tick cap, the bounded delay,
//! no dust, Lightning withdrawals never split, and over many ticks every withdrawal paid
//! exactly once in full; then the throttle on top (halted, the breaker, the rails' limits).

use proptest::prelude::*;
use sluice_pool::queue::{plan, plan_tick, Fill, QueueLimits, Queued, Rail};
use sluice_pool::throttle::{Mode, Reason, Throttle};

const LIMITS: QueueLimits = QueueLimits {
    tick_cap_msat: 1_000_000,
    max_delay_ms: 60_000,
    min_fill_msat: 10_000,
};

fn queued(id: &str, at: u64, msat: u64) -> Queued {
    Queued {
        withdrawal_id: id.into(),
        queued_at_ms: at,
        remaining_msat: msat,
        rail: Rail::Onchain,
        emergency: false,
    }
}

fn lightning(id: &str, at: u64, msat: u64) -> Queued {
    Queued {
        rail: Rail::Lightning,
        ..queued(id, at, msat)
    }
}

fn fill(id: &str, msat: u64, completes: bool) -> Fill {
    Fill {
        withdrawal_id: id.into(),
        rail: Rail::Onchain,
        msat,
        completes,
    }
}

fn lightning_fill(id: &str, msat: u64) -> Fill {
    Fill {
        rail: Rail::Lightning,
        ..fill(id, msat, true)
    }
}

/// A throttle that lets everything through.
fn open_throttle() -> Throttle {
    Throttle {
        mode: Mode::Normal,
        reasons: Vec::new(),
        tick_cap_msat: LIMITS.tick_cap_msat,
        lightning_msat: u64::MAX,
        onchain_msat: u64::MAX,
        largest_msat: None,
    }
}

#[test]
fn small_ones_are_paid_in_order_until_the_cap() {
    let queue = [
        queued("a", 0, 300_000),
        queued("b", 1, 300_000),
        queued("c", 2, 600_000),
        queued("d", 3, 5_000),
    ];
    assert_eq!(
        plan_tick(&queue, 10, &LIMITS),
        [
            fill("a", 300_000, true),
            fill("b", 300_000, true),
            fill("c", 400_000, false)
        ]
    );
}

#[test]
fn a_huge_one_is_paid_over_several_ticks_and_a_small_one_behind_it_waits() {
    let queue = [queued("huge", 0, 2_500_000), queued("small", 1, 1_000)];
    assert_eq!(
        plan_tick(&queue, 10, &LIMITS),
        [fill("huge", 1_000_000, false)]
    );
}

#[test]
fn a_partial_fill_leaves_no_dust() {
    // 1,005,000 left: a full cap would leave 5,000 (dust), so 995,000 is paid.
    let queue = [queued("a", 0, 1_005_000)];
    assert_eq!(plan_tick(&queue, 10, &LIMITS), [fill("a", 995_000, false)]);
    // And a fill smaller than the minimum is not made: 5,000 of cap left waits.
    let queue = [queued("a", 0, 995_000), queued("b", 1, 500_000)];
    assert_eq!(plan_tick(&queue, 10, &LIMITS), [fill("a", 995_000, true)]);
}

#[test]
fn overdue_ones_are_paid_in_full_past_the_cap_with_everything_before_them() {
    let queue = [
        queued("old", 0, 3_000_000),
        queued("older-than-new", 5, 2_000_000),
        queued("new", 59_000, 400_000),
    ];
    // At 60,005 ms both of the first two are overdue: paid in full, 5 M past the cap.
    assert_eq!(
        plan_tick(&queue, 60_005, &LIMITS),
        [
            fill("old", 3_000_000, true),
            fill("older-than-new", 2_000_000, true)
        ]
    );
}

#[test]
fn a_lightning_withdrawal_is_never_split_it_waits_for_room() {
    let queue = [
        queued("a", 0, 600_000),
        lightning("ln", 1, 500_000),
        queued("b", 2, 100_000),
    ];
    // 400,000 left after "a": the Lightning one does not fit and "b" may not overtake it.
    assert_eq!(plan_tick(&queue, 10, &LIMITS), [fill("a", 600_000, true)]);
    // Next tick it is at the head and fits.
    assert_eq!(
        plan_tick(&queue[1..], 10, &LIMITS),
        [lightning_fill("ln", 500_000), fill("b", 100_000, true)]
    );
    // Overdue, it is paid whole past the cap like any other ("b", not yet overdue, is
    // past the cap and waits).
    assert_eq!(
        plan_tick(&queue, 60_001, &LIMITS),
        [fill("a", 600_000, true), lightning_fill("ln", 500_000)]
    );
}

#[test]
fn a_halted_throttle_pays_nothing_even_overdue() {
    let queue = [queued("a", 0, 100_000)];
    let halted = Throttle {
        mode: Mode::Halted,
        reasons: vec![Reason::OperatorHalt],
        tick_cap_msat: 0,
        lightning_msat: 0,
        onchain_msat: 0,
        largest_msat: None,
    };
    assert!(plan(&queue, 1_000_000, &LIMITS, &halted).is_empty());
    assert_eq!(
        plan(&queue, 1_000_000, &LIMITS, &open_throttle()),
        [fill("a", 100_000, true)]
    );
}

#[test]
fn the_breaker_sets_large_withdrawals_aside_and_lets_small_ones_through() {
    let queue = [
        lightning("large", 0, 900_000),
        lightning("small", 1, 50_000),
        queued("small-onchain", 2, 60_000),
    ];
    let tripped = Throttle {
        mode: Mode::Stressed,
        reasons: vec![Reason::LightningFailures],
        tick_cap_msat: 500_000,
        largest_msat: Some(100_000),
        ..open_throttle()
    };
    assert_eq!(
        plan(&queue, 10, &LIMITS, &tripped),
        [
            lightning_fill("small", 50_000),
            fill("small-onchain", 60_000, true)
        ]
    );
    // Cleared: the large one goes first again, and the cap cuts the on-chain one.
    assert_eq!(
        plan(&queue, 10, &LIMITS, &open_throttle()),
        [
            lightning_fill("large", 900_000),
            lightning_fill("small", 50_000),
            fill("small-onchain", 50_000, false)
        ]
    );
}

#[test]
fn a_rail_pays_no_more_than_it_has_and_the_queue_stops_there() {
    let queue = [
        queued("a", 0, 300_000),
        queued("b", 1, 300_000),
        lightning("c", 2, 100_000),
    ];
    // 450,000 on-chain: "a" whole, "b" in part (150,000 leaves 150,000: no dust), and
    // "c" waits behind "b" although Lightning has room.
    let short = Throttle {
        onchain_msat: 450_000,
        ..open_throttle()
    };
    assert_eq!(
        plan(&queue, 10, &LIMITS, &short),
        [fill("a", 300_000, true), fill("b", 150_000, false)]
    );
    // Lightning short: the Lightning one waits (never split).
    let queue = [lightning("c", 0, 100_000), queued("d", 1, 10_000)];
    let dry = Throttle {
        lightning_msat: 99_999,
        ..open_throttle()
    };
    assert!(plan(&queue, 10, &LIMITS, &dry).is_empty());
    // A rail with less than a minimum fill left pays nothing on-chain either.
    let queue = [queued("e", 0, 300_000)];
    let crumbs = Throttle {
        onchain_msat: 9_999,
        ..open_throttle()
    };
    assert!(plan(&queue, 10, &LIMITS, &crumbs).is_empty());
}

#[test]
fn an_emergency_withdrawal_goes_first_and_whole_only_in_normal_mode() {
    let queue = [
        queued("a", 50_000, 900_000),
        queued("b", 50_001, 900_000),
        Queued {
            emergency: true,
            ..queued("urgent", 50_002, 1_500_000)
        },
    ];
    // Normal: paid first and in full, past the cap; the others wait for the next tick.
    assert_eq!(
        plan(&queue, 100_000, &LIMITS, &open_throttle()),
        [fill("urgent", 1_500_000, true)]
    );
    // Stressed: it waits in line like any other.
    let stressed = Throttle {
        mode: Mode::Stressed,
        reasons: vec![Reason::ChannelsDegraded],
        tick_cap_msat: 500_000,
        ..open_throttle()
    };
    assert_eq!(
        plan(&queue, 100_000, &LIMITS, &stressed),
        [fill("a", 500_000, false)]
    );
}

#[test]
fn limits_that_would_stall_the_head_are_refused() {
    assert!(LIMITS.check().is_ok());
    let stalling = QueueLimits {
        tick_cap_msat: 15_000,
        ..LIMITS
    };
    assert!(stalling.check().is_err());
}

/// Random queues; Lightning withdrawals are at most the tick cap, as requests are held to.
fn queue_strategy() -> impl Strategy<Value = Vec<Queued>> {
    proptest::collection::vec((0u64..30_000, 1u64..5_000_000, any::<bool>()), 0..20).prop_map(
        |items| {
            let mut at = 0;
            items
                .into_iter()
                .enumerate()
                .map(|(i, (gap, msat, ln))| {
                    at += gap;
                    let id = format!("w{i}");
                    if ln {
                        lightning(&id, at, msat.min(LIMITS.tick_cap_msat))
                    } else {
                        queued(&id, at, msat)
                    }
                })
                .collect()
        },
    )
}

proptest! {
    #[test]
    fn one_tick_keeps_every_rule(queue in queue_strategy(), now in 0u64..400_000) {
        let fills = plan_tick(&queue, now, &LIMITS);
        let overdue = |q: &Queued| now.saturating_sub(q.queued_at_ms) >= LIMITS.max_delay_ms;
        // A prefix of the queue, in order, all complete but maybe the last.
        for (i, f) in fills.iter().enumerate() {
            prop_assert_eq!(&f.withdrawal_id, &queue[i].withdrawal_id);
            prop_assert!(f.msat <= queue[i].remaining_msat);
            prop_assert_eq!(f.completes, f.msat == queue[i].remaining_msat);
            if i + 1 < fills.len() {
                prop_assert!(f.completes);
            }
            prop_assert_eq!(f.rail, queue[i].rail);
            if !f.completes {
                prop_assert_eq!(f.rail, Rail::Onchain);
                prop_assert!(f.msat >= LIMITS.min_fill_msat);
                prop_assert!(queue[i].remaining_msat - f.msat >= LIMITS.min_fill_msat);
            }
        }
        // Every overdue one is paid in full; past the overdue, the cap holds.
        let last_overdue = queue.iter().rposition(overdue);
        if let Some(last) = last_overdue {
            prop_assert!(fills.len() > last);
            prop_assert!(fills[..=last].iter().all(|f| f.completes));
        }
        let forced: u64 = fills.iter().take(last_overdue.map_or(0, |l| l + 1)).map(|f| f.msat).sum();
        let total: u64 = fills.iter().map(|f| f.msat).sum();
        prop_assert!(total <= LIMITS.tick_cap_msat.max(forced));
        // Something is paid whenever anything is queued.
        if !queue.is_empty() {
            prop_assert!(!fills.is_empty());
        }
    }

    #[test]
    fn over_many_ticks_everything_is_paid_once_and_within_the_delay(
        queue in queue_strategy(),
        tick_ms in 1_000u64..20_000,
    ) {
        let requested: u64 = queue.iter().map(|q| q.remaining_msat).sum();
        let mut open = queue.clone();
        let mut paid = 0u64;
        let mut now = 0u64;
        let mut done_at = std::collections::BTreeMap::new();
        while !open.is_empty() {
            // Only what has arrived by now is queued.
            let arrived = open.iter().take_while(|q| q.queued_at_ms <= now).count();
            let fills = plan_tick(&open[..arrived], now, &LIMITS);
            for f in &fills {
                let q = open.iter_mut().find(|q| q.withdrawal_id == f.withdrawal_id).unwrap();
                q.remaining_msat -= f.msat;
                paid += f.msat;
                if f.completes {
                    done_at.insert(q.withdrawal_id.clone(), now - q.queued_at_ms);
                }
            }
            open.retain(|q| q.remaining_msat > 0);
            now += tick_ms;
            prop_assert!(now < 10_000_000, "the queue stalled");
        }
        prop_assert_eq!(paid, requested);
        prop_assert_eq!(done_at.len(), queue.len());
        // Paid no later than the first tick at or after its deadline.
        for delay in done_at.values() {
            prop_assert!(*delay < LIMITS.max_delay_ms + tick_ms);
        }
    }
}
