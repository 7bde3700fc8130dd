//! Channel refresh: a busy channel's monitor grows with every revoked commitment until a
//! splice replaces the funding output; once the splice locks, LDK drops the old
//! funding's history and the stored monitor shrinks. Real nodes, a real splice
//! transaction checked and mined by the embedded chain.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sluice_api_types::{
    ChannelInfo, CreateInvoiceRequest, ListPaymentsQuery, PayInvoiceRequest, PaymentDirection,
    PaymentStatus,
};
use sluice_harness::setup::PairSpec;
use sluice_harness::{wait_for, NodeOptions, NodeProcess, Pair};

mod common;
use common::{binary, mine_until, wait_usable, wallet_total, WAIT};

/// The channel: large enough for every payment here many times over.
const CAPACITY_SAT: u64 = 5_000_000;
/// Each payment.
const PAYMENT_MSAT: u64 = 1_000_000;
/// Payments started at once per batch.
const BATCH: usize = 25;
/// A's refresh threshold, KiB: a fresh anchor channel's monitor is well under it, a
/// few hundred payments take it over.
const THRESHOLD_KIB: u64 = 48;
/// What a refresh moves to the wallet (`RefreshConfig::DEFAULT_SPLICE_OUT`).
const SPLICE_OUT_SAT: u64 = 1_000;
/// The splice transaction's fee, at most (regtest fee rates are a few sat/vB).
const FEE_BOUND_SAT: u64 = 5_000;

/// A labelled metric's value, 0 while the node has not recorded it.
fn metric(node: &NodeProcess, name: &str) -> f64 {
    node.client().metric(name).unwrap().unwrap_or(0.0)
}

/// The stored size of the monitor of the channel first funded by `funding_txo`
/// (`txid:vout`; LDK keys a monitor by its first funding output for good).
fn monitor_bytes(node: &NodeProcess, funding_txo: &str) -> f64 {
    let key = funding_txo.replace(':', "_");
    metric(
        node,
        &format!("sluice_persist_monitor_bytes{{monitor=\"{key}\"}}"),
    )
}

/// Pays `count` fresh invoices of `payee` from `payer`, all started before any is waited
/// for, and waits until every one succeeded at both ends.
fn pay_batch(payer: &NodeProcess, payee: &NodeProcess, count: usize, label: &str) {
    let mut hashes = Vec::with_capacity(count);
    for i in 0..count {
        let invoice = payee
            .client()
            .create_invoice(&CreateInvoiceRequest {
                amount_msat: Some(PAYMENT_MSAT),
                description: format!("{label} {i}"),
                expiry_secs: None,
            })
            .unwrap();
        let started = payer
            .client()
            .pay_invoice(&PayInvoiceRequest {
                invoice: invoice.bolt11,
                amount_msat: None,
                max_fee_msat: None,
            })
            .unwrap();
        assert_ne!(started.status, PaymentStatus::Failed, "{started:?}");
        hashes.push((started.id, invoice.payment_hash));
    }
    for (id, hash) in hashes {
        wait_for(&format!("{label}: {id} to succeed"), WAIT, || {
            let sent = payer.client().payment(&id)?;
            assert_ne!(sent.status, PaymentStatus::Failed, "{sent:?}");
            let received = payee.client().list_payments(&ListPaymentsQuery {
                direction: Some(PaymentDirection::Inbound),
                payment_hash: Some(hash.clone()),
                ..ListPaymentsQuery::default()
            })?;
            let done = sent.status == PaymentStatus::Succeeded
                && received
                    .iter()
                    .any(|p| p.status == PaymentStatus::Succeeded);
            Ok(done.then_some(()))
        })
        .unwrap();
    }
}

/// A's channel with B, once usable.
fn channel(pair: &Pair) -> ChannelInfo {
    wait_usable(&pair.a, &pair.b)
}

/// A (the funder) refreshes its busy channel with B once the monitor passes A's
/// threshold, at a moment no HTLC is pending (see `sluice_actors::refresh::due`): the
/// splice is negotiated, signed and broadcast, payments flow while it waits for its
/// blocks, it locks after six, and then the stored monitor is smaller than it was, the
/// channel is smaller by the amount moved and the fee, A's wallet holds exactly the
/// amount moved, and payments go on, before and after A restarts from its store.
#[test]
fn a_busy_channel_is_spliced_and_its_monitor_shrinks() {
    let mut pair = Pair::start(&binary(), PairSpec::new(CAPACITY_SAT), |chain, i| {
        let options = NodeOptions::regtest(chain);
        if i == 0 {
            options.args([format!("--refresh-monitor-kib={THRESHOLD_KIB}")])
        } else {
            options
        }
    })
    .unwrap();
    let opened = channel(&pair);
    let funding = opened.funding_txo.clone().expect("a funded channel");
    let fresh = monitor_bytes(&pair.a, &funding);
    assert!(
        fresh > 0.0 && fresh < (THRESHOLD_KIB * 1024) as f64,
        "a fresh monitor of {fresh} bytes"
    );
    let wallet_before = wallet_total(&pair.a, &pair.chain.rpc());

    // Payments until the monitor passes the threshold; then A starts a refresh at its
    // next look (every 10 s), the channel being idle.
    let started = "sluice_channel_refreshes_total{outcome=\"started\"}";
    let mut paid = 0;
    let mut largest = fresh;
    while largest < (THRESHOLD_KIB * 1024) as f64 {
        assert!(
            paid < 2_000,
            "the monitor is {largest} bytes after {paid} payments"
        );
        pay_batch(&pair.a, &pair.b, BATCH, "before");
        paid += BATCH;
        largest = largest.max(monitor_bytes(&pair.a, &funding));
    }
    wait_for("A to start a refresh", WAIT, || {
        Ok((metric(&pair.a, started) >= 1.0).then_some(()))
    })
    .unwrap();
    assert_eq!(
        metric(
            &pair.a,
            "sluice_channel_refreshes_total{outcome=\"refused\"}"
        ),
        0.0
    );
    let pending = "sluice_channel_splices_total{stage=\"pending\"}";
    for node in [&pair.a, &pair.b] {
        wait_for(
            &format!("{}: the splice pending", node.name()),
            WAIT,
            || Ok((metric(node, pending) >= 1.0).then_some(())),
        )
        .unwrap();
    }
    // Payments go on while the splice waits for confirmations.
    pay_batch(&pair.a, &pair.b, BATCH, "pending");
    paid += BATCH;

    let rpc = pair.chain.rpc();
    mine_until(
        &rpc,
        &[&pair.a, &pair.b],
        "the splice to lock",
        24,
        1,
        || {
            let (now_a, now_b) = (channel(&pair), wait_usable(&pair.b, &pair.a));
            if now_a.funding_txo != opened.funding_txo && now_a.funding_txo == now_b.funding_txo {
                Ok(())
            } else {
                Err(format!(
                    "A funds {:?}, B {:?}",
                    now_a.funding_txo, now_b.funding_txo
                ))
            }
        },
    );
    let spliced = channel(&pair);
    let removed = opened.capacity_sat - spliced.capacity_sat;
    assert!(
        (SPLICE_OUT_SAT..SPLICE_OUT_SAT + FEE_BOUND_SAT).contains(&removed),
        "capacity {} → {}",
        opened.capacity_sat,
        spliced.capacity_sat
    );
    let mut seen = None;
    wait_for("the amount moved in A's wallet", WAIT, || {
        let balance = pair.a.client().wallet_balance()?;
        let arrived = balance.total_sat == wallet_before + SPLICE_OUT_SAT;
        seen = Some(balance);
        Ok(arrived.then_some(()))
    })
    .unwrap_or_else(|e| {
        panic!("{e}: A's wallet had {wallet_before} sat before the splice, now {seen:?}")
    });

    // The next update after the lock stores the whole monitor, without the old history.
    pay_batch(&pair.a, &pair.b, BATCH, "after");
    paid += BATCH;
    let after = monitor_bytes(&pair.a, &funding);
    assert!(
        after < largest / 2.0,
        "the monitor was {largest} bytes after {paid} payments and is {after} after the splice"
    );
    eprintln!("monitor: fresh {fresh}, largest {largest}, after the splice {after} bytes");

    // The spliced channel and its shrunk monitor are what A restarts from.
    pair.a.stop().unwrap();
    pair.a.start().unwrap();
    common::reconnect(&pair.a, &pair.b);
    assert_eq!(channel(&pair).funding_txo, spliced.funding_txo);
    pay_batch(&pair.a, &pair.b, BATCH, "restarted");
    paid += BATCH;
    // Every payment arrived exactly once (B ran throughout).
    assert_eq!(
        metric(&pair.b, "sluice_payments_received_total"),
        paid as f64
    );
}
