//! The cluster harness builds each topology into a network that pays, and the load
//! driver's payments all check out against the nodes' own records: received by their
//! payees, and every node's channel balances moved by exactly its amounts and fees.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;

use sluice_harness::Manifest;
use sluice_harness::{Cluster, ClusterSpec, Topology};
use sluice_harness::{Error, NodeOptions};
use sluice_loadtest::driver::{self, DriverConfig, Load, Mode, Outcome, Progress, Stop};
use sluice_loadtest::{ceiling, invariants};

use common::*;

/// Builds `topology` with `nodes` nodes, each started with `node_args`, then drives
/// and checks it with [`pays`].
fn builds_and_pays(topology: Topology, nodes: usize, mode: Mode, node_args: &[&str]) -> Cluster {
    let spec = ClusterSpec {
        topology,
        nodes,
        capacity_sat: CAPACITY_SAT,
    };
    let cluster = Cluster::start(&binary(), spec, |chain| {
        NodeOptions::regtest(chain).args(node_args.iter().copied())
    })
    .unwrap();
    pays(&cluster.manifest(), mode);
    cluster
}

/// Drives four payments per payer→payee pair through `cluster` in `mode` (two in
/// flight), and checks every invariant.
fn pays(cluster: &Manifest, mode: Mode) {
    let topology = cluster.topology;
    let before = invariants::books(cluster).unwrap();
    let signatures_before = ceiling::counted_so_far(cluster).unwrap();
    let count = 4 * cluster.plan.pairs.len() as u64;
    let config = DriverConfig {
        load: Load::Closed { concurrency: 2 },
        stop: Stop::Count(count),
        mode,
        amount_sat: PAYMENT_MSAT / 1000,
        max_fee_sat: 100,
    };
    let progress = Progress::default();
    let run = driver::run(cluster, config, &progress);
    let failures: Vec<_> = run
        .attempts
        .iter()
        .filter(|a| !matches!(a.outcome, Outcome::Succeeded { .. }))
        .collect();
    assert!(failures.is_empty(), "{topology}: {failures:?}");
    assert_eq!(run.attempts.len() as u64, count);
    assert_eq!(progress.succeeded.load(Ordering::Relaxed), count);
    let checked = invariants::check(cluster, &run.attempts, &before, PAYMENT_MSAT).unwrap();
    assert_eq!(checked.payments, count);
    assert_eq!(checked.nodes, cluster.nodes.len() as u64);
    assert!(checked.violations.is_empty(), "{topology}: {checked:?}");

    // The signers counted at least what the payments must have cost: every HTLC output
    // signed by each side of every channel it crossed (one signature each way, however
    // many HTLCs share a commitment), each of those checked by the other side, and the
    // payee's invoice signature.
    let signatures = ceiling::counted_so_far(cluster)
        .unwrap()
        .since(signatures_before, count);
    let hops: u64 = cluster
        .plan
        .pairs
        .iter()
        .map(|&(payer, payee)| cluster.plan.min_hops(payer, payee).unwrap() as u64)
        .sum::<u64>()
        * 4;
    assert!(
        signatures.made >= 2 * hops + count,
        "{topology}: {signatures:?}"
    );
    assert!(signatures.checked >= 2 * hops, "{topology}: {signatures:?}");
}

/// The line is then driven again through its manifest, written and read back as
/// `--hold` and `--reuse` do: a second run on a used cluster has its own keys and
/// invoices, and its own books.
#[test]
fn a_line_of_three_pays_end_to_end_and_again_through_its_manifest() {
    let cluster = builds_and_pays(Topology::Line, 3, Mode::Quote, &[]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.json");
    cluster.manifest().write(&path).unwrap();
    let reused = Manifest::read(&path).unwrap();
    assert_eq!(reused, cluster.manifest());
    pays(&reused, Mode::Quote);
}

/// The invariants catch a driver that lost track of a payment, and one that claims a
/// payment the payee never saw.
#[test]
fn the_invariants_catch_a_payment_left_out_or_made_up() {
    let spec = ClusterSpec {
        topology: Topology::Line,
        nodes: 3,
        capacity_sat: CAPACITY_SAT,
    };
    let cluster = Cluster::start(&binary(), spec, NodeOptions::regtest).unwrap();
    let manifest = cluster.manifest();
    let before = invariants::books(&manifest).unwrap();
    let config = DriverConfig {
        load: Load::Closed { concurrency: 1 },
        stop: Stop::Count(2),
        mode: Mode::Direct,
        amount_sat: PAYMENT_MSAT / 1000,
        max_fee_sat: 100,
    };
    let mut run = driver::run(&manifest, config, &Progress::default());
    let settle = std::time::Duration::from_secs(1);
    let check = |attempts: &[driver::Attempt]| {
        invariants::check_within(&manifest, attempts, &before, PAYMENT_MSAT, settle).unwrap()
    };
    assert!(check(&run.attempts).violations.is_empty());

    // Left out: the payer and the payee moved by one payment more than the driver knows.
    let left_out = check(&run.attempts[..1]);
    assert_eq!(left_out.violations.len(), 2, "{left_out:?}");
    assert!(left_out.violations[0].contains("node-0"));
    assert!(left_out.violations[1].contains("node-2"));

    // Made up: the payee has no record of it, and no balance moved for it.
    let mut made_up = run.attempts[0].clone();
    made_up.payment_hash = "00".repeat(32);
    run.attempts.push(made_up);
    let checked = check(&run.attempts);
    assert!(
        checked.violations[0].contains(&"00".repeat(32)),
        "{checked:?}"
    );
    assert_eq!(checked.violations.len(), 3, "{checked:?}");
}

/// With `--skip-forward-delay` the hub forwards, and the payees take their payments, from
/// the prompt forwarder rather than only LDK's delayed batches.
#[test]
fn a_star_of_two_payers_and_two_payees_pays_through_its_hub_promptly() {
    let cluster = builds_and_pays(Topology::Star, 5, Mode::Direct, &["--skip-forward-delay"]);
    for node in [0, 3, 4] {
        let batches = cluster.nodes[node]
            .client()
            .metric("sluice_prompt_forward_batches_total")
            .unwrap();
        assert!(batches.unwrap_or(0.0) >= 1.0, "node {node}: {batches:?}");
    }
    // A node without the flag has no prompt forwarder.
    let line = builds_and_pays(Topology::Line, 3, Mode::Direct, &[]);
    let batches = line.nodes[1]
        .client()
        .metric("sluice_prompt_forward_batches_total");
    assert_eq!(batches.unwrap(), None);
}

/// A ring's routes are not fixed (a payer pays directly once it holds a balance on its
/// payee's channel), and the per-node balance check holds all the same.
#[test]
fn a_ring_of_three_pays_around() {
    builds_and_pays(Topology::Ring, 3, Mode::Quote, &[]);
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
    assert_eq!(star.min_hops(1, 3), Some(2));
    let ring = ClusterSpec {
        topology: Topology::Ring,
        nodes: 5,
        capacity_sat: CAPACITY_SAT,
    }
    .plan()
    .unwrap();
    assert_eq!(ring.pairs[0], (0, 2));
    assert_eq!(ring.min_hops(0, 2), Some(2));
    assert_eq!(ring.min_hops(0, 4), Some(1));
    let split = sluice_harness::Plan {
        channels: vec![(0, 1)],
        pairs: vec![(0, 2)],
    };
    assert_eq!(split.min_hops(0, 2), None);
}
