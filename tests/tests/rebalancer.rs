//! The rebalancer over a real cluster on 127.0.0.1: the detour topology (payer 0 → hub 1
//! → payee 2, and a detour 0 → 3 → 1), the payer running a rebalancer whose RRP
//! partition is funded on-chain. Payments with a fee ceiling of one forwarding fee can
//! only take 0 → 1 → 2, so they drain channel 0–1; the rebalancer refills it from 0–3
//! by a circular payment 0 → 3 → 1 → 0. Shown here: the kill switch stops it at once
//! and resuming starts it; a refill brings 0–1 back inside its band and books its fee
//! to RRP with a signed receipt; the budget, once spent, stops it; dry-run pays
//! nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use sluice_actors::receipts::verify;
use sluice_api_types::{
    BandView, CreateInvoiceRequest, PayInvoiceRequest, PaymentStatus, RebalanceChannelSettings,
    RebalancerStatusResponse,
};
use sluice_harness::{wait_for, Cluster, ClusterSpec, NodeOptions, NodeProcess, Topology};

/// The detour's channels: large enough for a few refills, small enough to drain fast.
const CHANNEL_SAT: u64 = 1_000_000;
/// One drain payment.
const DRAIN_MSAT: u64 = 50_000_000;
/// The payments' fee ceiling: one forwarding fee (sluice's default base fee, 1 sat, and
/// no proportional fee), so they cannot take the detour.
const ONE_HOP_FEE_MSAT: u64 = 1_000;
/// What the payer's RRP partition is funded with at least, sat (coinbases pay it, so it
/// gets a block's subsidy).
const RRP_SAT: u64 = 100_000;
/// A rebalance's fee ceiling, sat; the day's budget fits two rebalances paying two
/// forwarding fees each (2 sat), but not a third one's ceiling: 12 − 2 − 2 < 10.
const MAX_FEE_SAT: u64 = 10;
const DAILY_BUDGET_SAT: u64 = 12;
/// How long a refill may take.
const REFILL_WAIT: Duration = Duration::from_secs(60);

/// The payer's `[rebalancer]` section: a look every second, refills of up to 500,000
/// sat, a daily budget of `budget_sat`.
fn rebalancer_config(budget_sat: u64, extra: &str) -> String {
    format!(
        "[rebalancer]\ntick_secs = 1\ncooldown_secs = 1\nmax_cooldown_secs = 4\n\
         start_sat = 300000\nmin_sat = 10000\nmax_sat = 500000\n\
         max_fee_sat = {MAX_FEE_SAT}\nmax_fee_ppm = 1000\ndaily_budget_sat = {budget_sat}\n\
         cost_to_earn_allowance_sat = 1000\n{extra}"
    )
}

/// The detour cluster, with the payer restarted under `config`, its RRP funded and the
/// detour channel 0–3 set up as the source (its band lets it drain to 20 %).
fn detour(config: &str) -> (Cluster, u64) {
    let spec = ClusterSpec {
        topology: Topology::Detour,
        nodes: 4,
        capacity_sat: CHANNEL_SAT,
    };
    let mut cluster = Cluster::start(&binary(), spec, NodeOptions::regtest).unwrap();
    let payer = &mut cluster.nodes[0];
    payer.stop().unwrap();
    *payer.options_mut() = payer.options().clone().config_section(config);
    start_payer(&mut cluster);
    let funded = sluice_harness::fund_rrp(&cluster.nodes[0].client(), &cluster.rpc(), RRP_SAT)
        .unwrap()
        .rrp_assets_msat;
    assert!(funded >= RRP_SAT * 1_000);
    let source = channel_with(&cluster.nodes[0], cluster.nodes[3].node_id()).unwrap();
    let settings = RebalanceChannelSettings {
        opted_out: false,
        committed: false,
        band: Some(BandView {
            min_ppm: 0,
            max_ppm: 200_000,
            deadband_ppm: 0,
        }),
    };
    let stored = cluster.nodes[0]
        .client()
        .set_rebalance_channel(&source.channel_id, &settings)
        .unwrap();
    assert_eq!(stored, settings);
    (cluster, funded)
}

/// Starts the payer (stopped or killed) and waits until its channels are usable again.
fn start_payer(cluster: &mut Cluster) {
    cluster.nodes[0].start().unwrap();
    for peer in [1, 3] {
        reconnect(&cluster.nodes[0], &cluster.nodes[peer]);
    }
}

/// The payer's status.
fn status(payer: &NodeProcess) -> RebalancerStatusResponse {
    payer.client().rebalancer_status().unwrap()
}

/// Where channel `channel_id` stands against its band.
fn place(status: &RebalancerStatusResponse, channel_id: &str) -> String {
    status
        .channels
        .iter()
        .find(|c| c.channel_id == channel_id)
        .map(|c| c.place.clone())
        .unwrap_or_else(|| panic!("channel {channel_id} is not in {status:?}"))
}

/// Pays 2 from 0 over the direct route until channel 0–1 is short of its band.
fn drain(cluster: &Cluster, direct: &str) {
    let (payer, payee) = (&cluster.nodes[0], &cluster.nodes[2]);
    for i in 0..40 {
        if place(&status(payer), direct) == "short" {
            return;
        }
        let invoice = payee
            .client()
            .create_invoice(&CreateInvoiceRequest {
                amount_msat: Some(DRAIN_MSAT),
                description: format!("drain {i}"),
                expiry_secs: None,
            })
            .unwrap();
        let started = payer
            .client()
            .pay_invoice(&PayInvoiceRequest {
                invoice: invoice.bolt11,
                amount_msat: None,
                max_fee_msat: Some(ONE_HOP_FEE_MSAT),
            })
            .unwrap();
        wait_for("a drain payment", WAIT, || {
            let p = payer.client().payment(&started.id)?;
            match p.status {
                PaymentStatus::Pending => Ok(None),
                PaymentStatus::Succeeded => Ok(Some(())),
                PaymentStatus::Failed => panic!("drain payment {i} failed: {p:?}"),
            }
        })
        .unwrap();
    }
    panic!("40 payments did not drain 0–1: {:?}", status(payer));
}

/// Waits until the payer's rebalancer has looked at its channels three more times, so
/// whatever it would start it has started.
fn wait_looks(payer: &NodeProcess) {
    let looks = || {
        payer
            .client()
            .metric("sluice_rebalance_looks_total")
            .map(|n| n.unwrap_or(0.0))
    };
    let from = looks().unwrap();
    wait_for("three more looks", WAIT, || {
        Ok((looks()? >= from + 3.0).then_some(()))
    })
    .unwrap();
}

/// Waits until the payer's rebalancer has `succeeded` rebalances, none in flight.
fn wait_succeeded(payer: &NodeProcess, succeeded: u64) -> RebalancerStatusResponse {
    wait_for("the rebalancer to refill", REFILL_WAIT, || {
        let s = status(payer);
        let ended = s.recent.iter().all(|r| r.state != "pending");
        Ok((s.totals.succeeded >= succeeded && ended).then_some(s))
    })
    .unwrap()
}

#[test]
fn the_rebalancer_refills_within_its_budget_and_obeys_its_kill_switch() {
    let (cluster, funded) = detour(&rebalancer_config(DAILY_BUDGET_SAT, ""));
    let payer = &cluster.nodes[0];
    let direct = channel_with(payer, cluster.nodes[1].node_id()).unwrap();
    let before = status(payer);
    assert!(before.enabled && !before.dry_run, "{before:?}");
    let budget = before.budget.clone().unwrap();
    assert_eq!(budget.daily_msat, DAILY_BUDGET_SAT * 1_000);
    assert_eq!(budget.rrp_available_msat, funded, "{before:?}");
    assert_eq!(
        budget.left_msat,
        DAILY_BUDGET_SAT * 1_000,
        "the cap is the lower"
    );

    // Halted, a drained channel is planned for but nothing starts.
    let halted = payer.client().halt_rebalancer("drain first").unwrap();
    assert_eq!(halted.halted.as_ref().unwrap().reason, "drain first");
    drain(&cluster, &direct.channel_id);
    wait_looks(payer);
    let waiting = status(payer);
    assert_eq!(waiting.totals.attempts, 0, "{waiting:?}");
    assert!(!waiting.plan.is_empty(), "{waiting:?}");
    assert!(
        waiting.plan.iter().all(|p| p.verdict == "halted"),
        "{waiting:?}"
    );

    // Resumed, it refills 0–1 from 0–3 and books the fee to RRP with a receipt.
    let resumed = payer.client().resume_rebalancer().unwrap();
    assert!(resumed.halted.is_none());
    let refilled = wait_succeeded(payer, 1);
    assert_eq!(
        place(&refilled, &direct.channel_id),
        "inside",
        "{refilled:?}"
    );
    let first = refilled
        .recent
        .iter()
        .find(|r| r.state == "succeeded")
        .unwrap();
    assert_eq!(first.to_channel, direct.channel_id);
    assert_eq!(first.fee_paid_msat, Some(2 * ONE_HOP_FEE_MSAT), "{first:?}");
    assert_eq!(first.booked_msat, first.fee_paid_msat);
    let receipt = payer
        .client()
        .receipt(first.receipt_id.as_ref().unwrap())
        .unwrap();
    assert_eq!(
        receipt["schema"],
        "openagents.liquidity.rebalance_receipt.v1"
    );
    assert_eq!(receipt["rebalance_id"], first.id.as_str());
    verify(&receipt, None).expect("the rebalance receipt verifies");
    let pool = rrp_of(payer);
    assert_eq!(pool.flows.rebalance_costs_msats, 2 * ONE_HOP_FEE_MSAT);
    assert_eq!(pool.assets_msats, funded - 2 * ONE_HOP_FEE_MSAT);

    // A second drain is refilled too; a third finds the budget spent and stops it.
    drain(&cluster, &direct.channel_id);
    wait_succeeded(payer, 2);
    drain(&cluster, &direct.channel_id);
    wait_looks(payer);
    let spent = status(payer);
    assert_eq!(spent.totals.succeeded, 2, "{spent:?}");
    assert_eq!(spent.totals.attempts, 2, "{spent:?}");
    let budget = spent.budget.clone().unwrap();
    assert!(budget.spent_24h_msat <= budget.daily_msat, "{budget:?}");
    assert!(budget.left_msat < MAX_FEE_SAT * 1_000, "{budget:?}");
    assert!(
        spent.plan.iter().all(|p| p.verdict == "over_budget"),
        "{spent:?}"
    );
    let fees = payer
        .client()
        .metric("sluice_rebalance_fees_msat_total")
        .unwrap();
    assert_eq!(fees, Some((2 * 2 * ONE_HOP_FEE_MSAT) as f64));
    assert_eq!(
        rrp_of(payer).flows.rebalance_costs_msats,
        4 * ONE_HOP_FEE_MSAT
    );
}

#[test]
fn a_dry_run_plans_and_pays_nothing() {
    let (cluster, _) = detour(&rebalancer_config(DAILY_BUDGET_SAT, "dry_run = true\n"));
    let payer = &cluster.nodes[0];
    let direct = channel_with(payer, cluster.nodes[1].node_id()).unwrap();
    drain(&cluster, &direct.channel_id);
    wait_looks(payer);
    let s = status(payer);
    assert!(s.dry_run);
    assert!(!s.plan.is_empty(), "{s:?}");
    assert_eq!(s.totals.attempts, 0, "{s:?}");
    assert!(s.recent.is_empty(), "{s:?}");
    assert_eq!(place(&s, &direct.channel_id), "short");
    let dry_runs = payer
        .client()
        .metric("sluice_rebalance_attempts_total{outcome=\"dry_run\"}")
        .unwrap();
    assert!(dry_runs.is_some_and(|n| n >= 1.0), "{dry_runs:?}");
    assert_eq!(rrp_of(payer).flows.rebalance_costs_msats, 0);
}

/// A SIGKILL of the payer while a rebalance may be in flight loses nothing and books
/// nothing twice: after the restart every rebalance ends, each succeeded one has its
/// receipt, and RRP's rebalance costs are exactly the fees they paid.
#[test]
fn a_rebalance_cut_off_by_a_crash_ends_and_is_booked_once() {
    let (mut cluster, _) = detour(&rebalancer_config(1_000, ""));
    let direct = channel_with(&cluster.nodes[0], cluster.nodes[1].node_id()).unwrap();
    cluster.nodes[0]
        .client()
        .halt_rebalancer("drain first")
        .unwrap();
    drain(&cluster, &direct.channel_id);
    cluster.nodes[0].client().resume_rebalancer().unwrap();
    // Kill the payer as soon as a rebalance is on record (its payment is stored before
    // LDK sees it, so the kill lands anywhere from before the send to after the end).
    let seen = wait_for("a rebalance to start", REFILL_WAIT, || {
        let s = status(&cluster.nodes[0]);
        Ok(s.recent.first().map(|r| r.state.clone()))
    })
    .unwrap();
    cluster.nodes[0].kill().unwrap();
    eprintln!("killed the payer with its first rebalance {seen}");
    start_payer(&mut cluster);
    let payer = &cluster.nodes[0];
    let ended = wait_succeeded(payer, 1);
    let succeeded: Vec<_> = ended
        .recent
        .iter()
        .filter(|r| r.state == "succeeded")
        .collect();
    for r in &succeeded {
        let receipt = payer
            .client()
            .receipt(r.receipt_id.as_ref().unwrap())
            .unwrap();
        assert_eq!(receipt["rebalance_id"], r.id.as_str());
        assert_eq!(receipt["outcome"], "succeeded");
    }
    let paid: u64 = succeeded.iter().map(|r| r.fee_paid_msat.unwrap()).sum();
    assert_eq!(ended.totals.fees_paid_msat, paid);
    assert_eq!(rrp_of(payer).flows.rebalance_costs_msats, paid, "{ended:?}");
    let payments = payer
        .client()
        .payment(&ended.recent.last().unwrap().id)
        .unwrap();
    assert_ne!(payments.status, PaymentStatus::Pending);
}

/// The payer's RRP partition.
fn rrp_of(payer: &NodeProcess) -> sluice_api_types::PartitionStatus {
    let pools = payer
        .client()
        .pool_status(sluice_harness::pool::POOL_ID)
        .unwrap();
    pools
        .partitions
        .into_iter()
        .find(|p| p.partition_kind == "rrp")
        .unwrap()
}
