//! What must hold after a run, checked against the nodes themselves:
//! - every payment the driver saw succeed is recorded by its payee as received, for the
//!   invoice's amount;
//! - no payment the driver saw fail was received (nothing lost in between);
//! - each channel's opener side moved by exactly what crossed it: amount plus fee on a
//!   payment's first hop, the amount on its last. Checked where every route is fixed and
//!   at most two hops long (the driver sees neither the route LDK chose where several
//!   exist, nor how a fee splits between several routers).

use std::time::Duration;

use sluice_api::types::{ChannelInfo, PaymentStatus};

use crate::cluster::Cluster;
use crate::driver::{Attempt, Outcome};
use crate::{wait_for, Error};

/// How long channel balances get to settle after the last payment.
const SETTLE: Duration = Duration::from_secs(15);

/// The opener's outbound capacity of each planned channel, msat.
pub fn channel_balances(cluster: &Cluster) -> Result<Vec<u64>, Error> {
    cluster
        .plan
        .channels
        .iter()
        .map(|&(opener, peer)| {
            let peer_id = cluster.nodes[peer].node_id().to_owned();
            cluster.nodes[opener]
                .client()
                .list_channels()?
                .into_iter()
                .find(|c: &ChannelInfo| c.is_outbound && c.counterparty_node_id == peer_id)
                .map(|c| c.outbound_capacity_msat)
                .ok_or_else(|| Error::Unexpected(format!("channel {opener}→{peer} is gone")))
        })
        .collect()
}

/// What was checked and what failed.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Checked {
    /// Payments compared with their payee's record.
    pub payments: u64,
    /// Channels whose balance was checked.
    pub channels: u64,
    /// Every violation, described.
    pub violations: Vec<String>,
}

/// Checks `attempts` against the cluster, `before` being [`channel_balances`] before the
/// run and `amount_msat` each payment's amount.
pub fn check(
    cluster: &Cluster,
    attempts: &[Attempt],
    before: &[u64],
    amount_msat: u64,
) -> Result<Checked, Error> {
    let mut checked = Checked::default();
    for attempt in attempts.iter().filter(|a| !a.payment_hash.is_empty()) {
        checked.payments += 1;
        let payee = &cluster.nodes[attempt.payee];
        let received = match payee.client().payment(&attempt.payment_hash) {
            Ok(p) => (p.status == PaymentStatus::Succeeded).then_some(p.amount_msat),
            Err(Error::Api { status: 404, .. }) => None,
            Err(e) => return Err(e),
        };
        match (&attempt.outcome, received) {
            (Outcome::Succeeded { .. }, Some(Some(amount))) if amount == amount_msat => {}
            (Outcome::Succeeded { .. }, got) => checked.violations.push(format!(
                "payment {} succeeded for the driver, the payee recorded {got:?}",
                attempt.payment_hash
            )),
            (Outcome::Failed(code), Some(_)) => checked.violations.push(format!(
                "payment {} failed for the driver ({code}) but the payee received it",
                attempt.payment_hash
            )),
            (Outcome::Failed(_), None) => {}
        }
    }

    let plan = &cluster.plan;
    if plan.paths.iter().any(|p| p.is_empty() || p.len() > 2) {
        return Ok(checked);
    }
    let mut expected: Vec<u64> = vec![0; plan.channels.len()];
    for attempt in attempts {
        let Outcome::Succeeded { fee_msat } = attempt.outcome else {
            continue;
        };
        let pair = plan
            .pairs
            .iter()
            .position(|&p| p == (attempt.payer, attempt.payee))
            .ok_or_else(|| Error::Unexpected("a payment outside the plan".into()))?;
        for (hop, &channel) in plan.paths[pair].iter().enumerate() {
            expected[channel] += if hop == 0 {
                amount_msat + fee_msat
            } else {
                amount_msat
            };
        }
    }
    let settled = wait_for("channel balances to settle", SETTLE, || {
        let now = channel_balances(cluster)?;
        let moved: Vec<u64> = before
            .iter()
            .zip(&now)
            .map(|(b, n)| b.saturating_sub(*n))
            .collect();
        Ok((moved == expected).then_some(moved))
    });
    checked.channels = plan.channels.len() as u64;
    if settled.is_err() {
        let now = channel_balances(cluster)?;
        for (i, ((b, n), e)) in before.iter().zip(&now).zip(&expected).enumerate() {
            let moved = b.saturating_sub(*n);
            if moved != *e {
                let (opener, peer) = plan.channels[i];
                checked.violations.push(format!(
                    "channel {opener}→{peer}: the opener's side moved {moved} msat, the payments \
                     account for {e} msat"
                ));
            }
        }
    }
    Ok(checked)
}
