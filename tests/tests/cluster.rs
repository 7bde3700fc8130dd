//! The cluster harness builds each topology into a network that pays, and the load
//! driver's payments all check out against the nodes' own records: received by their
//! payees, and channel balances moved by exactly the amounts and fees.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};

use sluice_loadtest::cluster::{Cluster, ClusterSpec, Topology};
use sluice_loadtest::driver::{self, DriverConfig, Load, Mode, Outcome, Progress, Stop};
use sluice_loadtest::{invariants, Error, NodeOptions};

use common::*;

/// Builds `topology` with `nodes` nodes, drives four payments per payer→payee pair
/// through it in `mode` (two in flight), and checks every invariant.
fn builds_and_pays(topology: Topology, nodes: usize, mode: Mode) {
    let spec = ClusterSpec {
        topology,
        nodes,
        capacity_sat: CAPACITY_SAT,
    };
    let cluster = Cluster::start(&binary(), spec, NodeOptions::regtest).unwrap();
    let before = invariants::channel_balances(&cluster).unwrap();
    let count = 4 * cluster.plan.pairs.len() as u64;
    let config = DriverConfig {
        load: Load::Closed { concurrency: 2 },
        stop: Stop::Count(count),
        mode,
        amount_sat: PAYMENT_MSAT / 1000,
        max_fee_sat: 100,
    };
    let progress = Progress::default();
    let run = driver::run(&cluster, config, &progress, &AtomicBool::new(false));
    let failures: Vec<_> = run
        .attempts
        .iter()
        .filter(|a| !matches!(a.outcome, Outcome::Succeeded { .. }))
        .collect();
    assert!(failures.is_empty(), "{topology}: {failures:?}");
    assert_eq!(run.attempts.len() as u64, count);
    assert_eq!(progress.succeeded.load(Ordering::Relaxed), count);
    let checked = invariants::check(&cluster, &run.attempts, &before, PAYMENT_MSAT).unwrap();
    assert_eq!(checked.payments, count);
    if topology != Topology::Ring {
        assert_eq!(checked.channels, cluster.plan.channels.len() as u64);
    }
    assert!(checked.violations.is_empty(), "{topology}: {checked:?}");
}

#[test]
fn a_line_of_three_pays_end_to_end() {
    builds_and_pays(Topology::Line, 3, Mode::Quote);
}

#[test]
fn a_star_of_two_payers_and_two_payees_pays_through_its_hub() {
    builds_and_pays(Topology::Star, 5, Mode::Direct);
}

/// A ring's routes are not fixed (a payer pays directly once it holds a balance on its
/// payee's channel), so only the payee records are checked.
#[test]
fn a_ring_of_three_pays_around() {
    builds_and_pays(Topology::Ring, 3, Mode::Quote);
}

#[test]
fn plans_refuse_node_counts_that_do_not_fit() {
    for (topology, nodes) in [
        (Topology::Line, 1),
        (Topology::Star, 4),
        (Topology::Ring, 2),
    ] {
        let spec = ClusterSpec {
            topology,
            nodes,
            capacity_sat: CAPACITY_SAT,
        };
        assert!(
            matches!(spec.plan(), Err(Error::Usage(_))),
            "{topology} of {nodes}"
        );
    }
    let star = ClusterSpec {
        topology: Topology::Star,
        nodes: 5,
        capacity_sat: CAPACITY_SAT,
    }
    .plan()
    .unwrap();
    assert_eq!(star.channels, vec![(1, 0), (2, 0), (0, 3), (0, 4)]);
    assert_eq!(star.pairs, vec![(1, 3), (2, 4)]);
    assert_eq!(star.paths, vec![vec![0, 2], vec![1, 3]]);
}
