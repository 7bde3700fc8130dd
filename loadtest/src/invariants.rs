//! What must hold after a run, checked against the nodes themselves:
//! - every payment the driver saw succeed is recorded by its payee as received, for the
//!   invoice's amount;
//! - no payment the driver saw fail was received (nothing lost in between);
//! - every node's channel balances moved by exactly what its payments account for: what
//!   it received and the forwarding fees it earned (its own
//!   `sluice_forwarding_fees_msat_total`), less what it sent and the fees it paid. This
//!   holds whatever routes LDK chose, so it is checked on every topology; on a line or a
//!   star it pins down every channel's movement. A payment made twice would move its
//!   payer's balance twice, so this is also the check that nothing was paid twice.
//!   A channel's balance here is what its opener can send plus the reserve it must keep,
//!   so a splice that changes the capacity (and the reserve with it) is accounted for:
//!   capacity a channel lost went to its opener's wallet and the splice's fee. sluice's
//!   refreshes are started by the opener (its peer starts one only at twice the
//!   threshold, which the opener's refresh keeps the monitor from reaching).
//!   What a node paid outside the driver's payments (its rebalancer's fees: a circular
//!   rebalance moves its balance between its own channels and costs it only the fee) is
//!   given to [`check_with_costs`] and counted against it.

use std::time::Duration;

use sluice_api_types::{ChannelInfo, PaymentDirection, PaymentStatus};
use sluice_harness::{wait_for, Endpoint, Manifest};

use crate::driver::{Attempt, Outcome};
use crate::Error;

/// How long balances and fee counters get to settle after the last payment.
pub const SETTLE: Duration = Duration::from_secs(15);
/// The counter of forwarding fees a node earned, msat.
const FORWARDING_FEES_METRIC: &str = "sluice_forwarding_fees_msat_total";

/// What the nodes' books say at one moment: the opener's balance in each planned
/// channel and each node's forwarding fees earned, msat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Books {
    /// Per planned channel, its opener's balance: outbound capacity plus reserve.
    pub channels: Vec<u64>,
    /// Per planned channel, its capacity, msat.
    pub capacities: Vec<u64>,
    /// Per node, the forwarding fees it earned since it started.
    pub fees_earned: Vec<u64>,
}

/// Reads the books of every node of `cluster`.
pub fn books(cluster: &Manifest) -> Result<Books, Error> {
    let (channels, capacities) = cluster
        .plan
        .channels
        .iter()
        .map(|&(opener, peer)| {
            let peer_id = &cluster.nodes[peer].node_id;
            cluster.nodes[opener]
                .client()
                .list_channels()?
                .into_iter()
                .find(|c: &ChannelInfo| c.is_outbound && &c.counterparty_node_id == peer_id)
                .map(|c| {
                    let reserve_msat = c.reserve_sat.unwrap_or(0) * 1000;
                    (
                        c.outbound_capacity_msat + reserve_msat,
                        c.capacity_sat * 1000,
                    )
                })
                .ok_or_else(|| Error::Unexpected(format!("channel {opener}→{peer} is gone")))
        })
        .collect::<Result<Vec<_>, Error>>()?
        .into_iter()
        .unzip();
    let fees_earned = cluster
        .nodes
        .iter()
        .map(forwarding_fees)
        .collect::<Result<_, Error>>()?;
    Ok(Books {
        channels,
        capacities,
        fees_earned,
    })
}

/// The node's forwarding fees earned since it started, from its metrics (0 before its
/// first forward).
fn forwarding_fees(node: &Endpoint) -> Result<u64, Error> {
    Ok(node
        .client()
        .metric(FORWARDING_FEES_METRIC)?
        .map_or(0, |fees| fees as u64))
}

/// What was checked and what failed.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Checked {
    /// Payments compared with their payee's record.
    pub payments: u64,
    /// Nodes whose balance movement was checked.
    pub nodes: u64,
    /// Every violation, described.
    pub violations: Vec<String>,
}

/// Checks `attempts` against the cluster, `before` being its [`books`] before the run and
/// `amount_msat` each payment's amount; balances get 15 s to settle.
pub fn check(
    cluster: &Manifest,
    attempts: &[Attempt],
    before: &Books,
    amount_msat: u64,
) -> Result<Checked, Error> {
    check_within(cluster, attempts, before, amount_msat, SETTLE)
}

/// [`check`], with balances given `settle` to match.
pub fn check_within(
    cluster: &Manifest,
    attempts: &[Attempt],
    before: &Books,
    amount_msat: u64,
    settle: Duration,
) -> Result<Checked, Error> {
    check_with_costs(cluster, attempts, before, amount_msat, settle, &[])
}

/// [`check_within`], with `costs` (node index, msat) that nodes paid besides the driver's
/// payments since `before` (a rebalancer's fees), taken off what their balances must
/// have moved by.
pub fn check_with_costs(
    cluster: &Manifest,
    attempts: &[Attempt],
    before: &Books,
    amount_msat: u64,
    settle: Duration,
    costs: &[(usize, u64)],
) -> Result<Checked, Error> {
    let mut checked = Checked::default();
    check_payees(cluster, attempts, amount_msat, &mut checked)?;

    // What each node's payments say its balance must have moved by, msat (outflow < 0).
    let mut expected = vec![0i128; cluster.nodes.len()];
    for &(node, msat) in costs {
        if let Some(expected) = expected.get_mut(node) {
            *expected -= i128::from(msat);
        }
    }
    for attempt in attempts {
        if let Outcome::Succeeded { fee_msat } = attempt.outcome {
            expected[attempt.payer] -= i128::from(amount_msat + fee_msat);
            expected[attempt.payee] += i128::from(amount_msat);
        }
    }
    let movements = |now: &Books| movements(cluster, before, now);
    let settled = wait_for("channel balances to settle", settle, || {
        let now = books(cluster)?;
        Ok((movements(&now) == expected).then_some(()))
    });
    checked.nodes = cluster.nodes.len() as u64;
    if settled.is_err() {
        let moved = movements(&books(cluster)?);
        let nodes = cluster.nodes.iter().zip(moved.iter().zip(&expected));
        for (i, (node, (moved, expected))) in nodes.enumerate() {
            if moved != expected {
                let paid: u64 = costs.iter().filter(|(n, _)| *n == i).map(|(_, m)| m).sum();
                let besides = if paid > 0 {
                    format!(" (with the {paid} msat it paid besides them)")
                } else {
                    String::new()
                };
                checked.violations.push(format!(
                    "{}: its channel balances moved {moved} msat (forwarding fees aside), its \
                     payments account for {expected} msat{besides}",
                    node.name
                ));
            }
        }
    }
    Ok(checked)
}

/// Each node's balance movement from `before` to `now`, msat, less the forwarding fees it
/// earned in between: what its own payments must account for.
fn movements(cluster: &Manifest, before: &Books, now: &Books) -> Vec<i128> {
    let mut moved = vec![0i128; cluster.nodes.len()];
    for (i, &(opener, peer)) in cluster.plan.channels.iter().enumerate() {
        // What the opener's side lost beyond what left the channel in splices.
        let spliced = i128::from(before.capacities[i]) - i128::from(now.capacities[i]);
        let out = i128::from(before.channels[i]) - i128::from(now.channels[i]) - spliced;
        moved[opener] -= out;
        moved[peer] += out;
    }
    for (node, moved) in moved.iter_mut().enumerate() {
        *moved -= i128::from(now.fees_earned[node]) - i128::from(before.fees_earned[node]);
    }
    moved
}

/// Every attempt against its payee's record.
fn check_payees(
    cluster: &Manifest,
    attempts: &[Attempt],
    amount_msat: u64,
    checked: &mut Checked,
) -> Result<(), Error> {
    for attempt in attempts.iter().filter(|a| !a.payment_hash.is_empty()) {
        checked.payments += 1;
        let payee = &cluster.nodes[attempt.payee];
        let received: Vec<Option<u64>> = payee
            .client()
            .payments_of_hash(&attempt.payment_hash)?
            .into_iter()
            .filter(|p| p.direction == PaymentDirection::Inbound)
            .filter(|p| p.status == PaymentStatus::Succeeded)
            .map(|p| p.amount_msat)
            .collect();
        match (&attempt.outcome, received.as_slice()) {
            (Outcome::Succeeded { .. }, [Some(amount)]) if *amount == amount_msat => {}
            (Outcome::Succeeded { .. }, got) => checked.violations.push(format!(
                "payment {} succeeded for the driver, the payee recorded {got:?}",
                attempt.payment_hash
            )),
            (Outcome::Failed(code), [_, ..]) => checked.violations.push(format!(
                "payment {} failed for the driver ({code}) but the payee received it",
                attempt.payment_hash
            )),
            (Outcome::Failed(_), []) => {}
        }
    }
    Ok(())
}
