//! What the end-to-end tests share: the workspace's binary, the harness's set-ups and
//! steps as panicking helpers, paying over the API and checking balances.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod credit;
pub mod jit;
pub mod lsps_wire;
pub mod webhook_receiver;

use std::time::Duration;

use sluice_api_types::{
    ChannelInfo, CreateInvoiceRequest, DepositQuoteRequest, InvoiceResponse, ListPaymentsQuery,
    PayInvoiceRequest, PaymentDirection, PaymentInfo, PaymentStatus, DEPOSIT_QUOTE_REQUEST_SCHEMA,
};
use sluice_harness::setup::{self, PairSpec};
use sluice_harness::{wait_for, ChainRpc, NodeOptions, NodeProcess, SluiceBinary};
pub use sluice_harness::{Line, Pair};
use sluice_storage::{Store, StoreConfig};

/// A small xorshift generator: kill moments are random, and replayable from a seed.
pub struct Moments {
    state: u64,
    seed: u64,
    variable: &'static str,
}

impl Moments {
    /// Seeded from `variable` if set (to replay a run), else from the clock.
    pub fn from_env(variable: &'static str) -> Moments {
        let seed = env_u64(variable).unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
        Moments {
            variable,
            ..Moments::new(seed)
        }
    }

    /// Seeded with `seed` (odd, not zero, for the generator's full period).
    pub fn new(seed: u64) -> Moments {
        Moments {
            state: seed,
            seed,
            variable: "seed",
        }
    }

    /// The next moment in `range`, in milliseconds.
    pub fn next_ms(&mut self, range: &std::ops::Range<u64>) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        range.start + self.state % (range.end - range.start)
    }
}

impl std::fmt::Display for Moments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.variable, self.seed)
    }
}

/// A number from the environment, if set.
pub fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
    })
}

/// The channel A opens to B.
pub const CAPACITY_SAT: u64 = 1_000_000;
/// Each payment A makes to B: 10,000 sat.
pub const PAYMENT_MSAT: u64 = 10_000_000;
/// The longest any awaited state may take.
pub const WAIT: Duration = Duration::from_secs(30);

pub fn binary() -> SluiceBinary {
    SluiceBinary::for_workspace().expect("the sluice binary")
}

/// `node`'s channel with `peer` (a node id), if it lists one.
pub fn channel_with(node: &NodeProcess, peer: &str) -> Option<ChannelInfo> {
    setup::channel_with(node, peer).unwrap()
}

/// Waits until `node`'s channel with `peer` is usable (ready and the peer connected).
pub fn wait_usable(node: &NodeProcess, peer: &NodeProcess) -> ChannelInfo {
    setup::wait_usable(node, peer)
        .unwrap_or_else(|e| panic!("{e}; channels: {:?}", node.client().list_channels()))
}

/// Checks that `node` still has channel `channel_id` with `peer` after a restart by
/// `how`, showing the node's errors if it does not.
pub fn assert_kept_channel(node: &NodeProcess, peer: &NodeProcess, channel_id: &str, how: &str) {
    let kept = channel_with(node, peer.node_id());
    if kept.as_ref().map(|c| c.channel_id.as_str()) != Some(channel_id) {
        let errors: Vec<String> = node
            .stderr()
            .lines()
            .filter(|line| line.contains("ERROR"))
            .map(str::to_owned)
            .collect();
        panic!(
            "{} lost its channel {channel_id} with {} across a {how} restart (it lists {kept:?}); \
             its errors on start:\n{}",
            node.name(),
            peer.name(),
            errors.join("\n")
        );
    }
}

/// Connects `node` to `peer` and waits until their channel is usable on both sides.
pub fn reconnect(node: &NodeProcess, peer: &NodeProcess) {
    setup::reconnect(node, peer).unwrap();
}

/// Has `payee` invoice [`PAYMENT_MSAT`] (described as `label`) and `payer` start paying
/// it over the API; returns the invoice and the payment as first reported (usually
/// pending).
pub fn start_payment(
    payer: &NodeProcess,
    payee: &NodeProcess,
    label: &str,
) -> (InvoiceResponse, PaymentInfo) {
    let invoice = payee
        .client()
        .create_invoice(&CreateInvoiceRequest {
            amount_msat: Some(PAYMENT_MSAT),
            description: label.into(),
            expiry_secs: None,
        })
        .unwrap();
    let started = payer
        .client()
        .pay_invoice(&PayInvoiceRequest {
            invoice: invoice.bolt11.clone(),
            amount_msat: None,
            max_fee_msat: None,
        })
        .unwrap();
    (invoice, started)
}

/// Pays a fresh invoice of `payee` from `payer` over the API and waits until the payer's
/// payment and the payee's inbound payment both succeeded; returns the payer's.
pub fn pay(payer: &NodeProcess, payee: &NodeProcess, label: &str) -> PaymentInfo {
    let (invoice, started) = start_payment(payer, payee, label);
    assert_eq!(invoice.amount_msat, Some(PAYMENT_MSAT));
    assert_eq!(started.direction, PaymentDirection::Outbound);
    assert_eq!(started.payment_hash, invoice.payment_hash);
    assert_ne!(
        started.status,
        PaymentStatus::Failed,
        "{label}: {started:?}"
    );

    let sent = wait_for(&format!("{label} to succeed at the payer"), WAIT, || {
        let payment = payer.client().payment(&started.id)?;
        match payment.status {
            PaymentStatus::Pending => Ok(None),
            PaymentStatus::Succeeded => Ok(Some(payment)),
            PaymentStatus::Failed => panic!("{label} failed: {payment:?}"),
        }
    })
    .unwrap();
    let received = wait_for(&format!("{label} to succeed at the payee"), WAIT, || {
        let inbound = payee.client().list_payments(&ListPaymentsQuery {
            direction: Some(PaymentDirection::Inbound),
            payment_hash: Some(invoice.payment_hash.clone()),
            ..ListPaymentsQuery::default()
        })?;
        Ok(inbound
            .into_iter()
            .find(|p| p.payment_hash == invoice.payment_hash)
            .filter(|p| p.status == PaymentStatus::Succeeded))
    })
    .unwrap();
    assert_eq!(sent.amount_msat, Some(PAYMENT_MSAT), "{label}: {sent:?}");
    assert_eq!(
        received.amount_msat,
        Some(PAYMENT_MSAT),
        "{label}: {received:?}"
    );
    assert_eq!(received.direction, PaymentDirection::Inbound);
    assert!(sent.preimage.is_some(), "{label}: no preimage in {sent:?}");
    sent
}

/// Waits until A's outbound and B's inbound capacity on their channel moved by exactly
/// `paid_msat` from what they were at opening (a direct channel charges no fee).
pub fn wait_balances(
    a: &NodeProcess,
    b: &NodeProcess,
    opened_a: &ChannelInfo,
    opened_b: &ChannelInfo,
    paid_msat: u64,
) {
    let expected_outbound = opened_a.outbound_capacity_msat - paid_msat;
    let expected_inbound = opened_b.inbound_capacity_msat - paid_msat;
    let settled = wait_for("the channel balances to settle", WAIT, || {
        let (now_a, now_b) = (wait_usable(a, b), wait_usable(b, a));
        Ok((now_a.outbound_capacity_msat == expected_outbound
            && now_b.inbound_capacity_msat == expected_inbound)
            .then_some((now_a, now_b)))
    });
    if let Err(e) = settled {
        let (now_a, now_b) = (wait_usable(a, b), wait_usable(b, a));
        panic!(
            "{e}: A's outbound went from {} to {} msat (expected {expected_outbound}), B's \
             inbound from {} to {} msat (expected {expected_inbound}); paid {paid_msat} msat",
            opened_a.outbound_capacity_msat,
            now_a.outbound_capacity_msat,
            opened_b.inbound_capacity_msat,
            now_b.inbound_capacity_msat
        );
    }
}

/// The keys stored under LDK's namespace `primary`/`secondary` in `node`'s store (the
/// node stopped).
pub fn stored_ldk_keys(node: &NodeProcess, primary: &str, secondary: &str) -> Vec<String> {
    use lightning::util::persist::KVStoreSync;
    let store = Store::open(node.data_dir().join("store"), StoreConfig::default()).unwrap();
    KVStoreSync::list(&store, primary, secondary).unwrap()
}

/// The harness's [`Pair`] of regtest nodes with a [`CAPACITY_SAT`] channel A→B (B's one
/// coinbase is its reserve for anchor fee bumps), checked: an outbound anchor channel
/// of that capacity at A, the same channel at B, funded by the transaction the harness
/// saw in the mempool.
pub fn funded_pair(binary: &SluiceBinary) -> Pair {
    let pair = Pair::start(binary, PairSpec::new(CAPACITY_SAT), |chain, _| {
        NodeOptions::regtest(chain)
    })
    .unwrap();
    let (opened_a, opened_b) = (&pair.opened_a, &pair.opened_b);
    assert_eq!(opened_a.capacity_sat, CAPACITY_SAT);
    assert!(opened_a.is_outbound && !opened_b.is_outbound);
    assert!(opened_a.anchors && opened_b.anchors, "{opened_a:?}");
    assert_eq!(opened_a.channel_id, opened_b.channel_id);
    assert!(
        opened_a
            .funding_txo
            .as_deref()
            .is_some_and(|t| t.starts_with(&pair.funding_txid)),
        "{opened_a:?}"
    );
    pair
}

/// The harness's [`Line`] A → B → C of regtest nodes, with [`CAPACITY_SAT`] channels.
pub fn three_node_line(binary: &SluiceBinary) -> Line {
    Line::start(binary, CAPACITY_SAT).unwrap()
}

pub use sluice_harness::setup::NOBODYS_ADDRESS;

/// Mines `step` blocks at a time (up to `max_blocks`), waiting after each batch for
/// every node to sync, until `done` is `Ok` (its `Err` says how far things got).
pub fn mine_until(
    rpc: &ChainRpc,
    nodes: &[&NodeProcess],
    what: &str,
    max_blocks: u32,
    step: u32,
    mut done: impl FnMut() -> Result<(), String>,
) {
    let mut mined = 0;
    while let Err(progress) = done() {
        assert!(
            mined < max_blocks,
            "{what}: not after {mined} blocks: {progress}"
        );
        rpc.generate_to_address(step, NOBODYS_ADDRESS).unwrap();
        mined += step;
        for node in nodes {
            wait_synced(node, rpc);
        }
    }
}

/// Waits until `node` has synced to the chain's tip.
pub fn wait_synced(node: &NodeProcess, rpc: &ChainRpc) {
    let tip = rpc.block_count().unwrap();
    wait_for(
        &format!("{} to reach block {tip}", node.name()),
        WAIT,
        || Ok((u64::from(node.client().node_info()?.block_height) >= tip).then_some(())),
    )
    .unwrap();
}

/// The wallet total (confirmed, unconfirmed and immature) of `node`, in sat.
/// `node`'s wallet total once its wallet has synced to the chain's tip (the wallet
/// follows the chain on its own, behind the node's best block).
pub fn wallet_total(node: &NodeProcess, rpc: &ChainRpc) -> u64 {
    let tip = rpc.block_count().unwrap();
    wait_for(
        &format!("{}'s wallet to reach block {tip}", node.name()),
        WAIT,
        || {
            let balance = node.client().wallet_balance()?;
            Ok((u64::from(balance.synced_height) >= tip).then_some(balance.total_sat))
        },
    )
    .unwrap()
}

/// LP `lp_id` (token `token` of `pool_node`) deposits `sats` into `partition` of `pool`
/// (its default partition when `None`) by an invoice of `pool_node` that `payer` pays;
/// waits until the deposit is confirmed.
pub fn deposit_by_invoice(
    payer: &NodeProcess,
    pool_node: &NodeProcess,
    pool: &str,
    token: &str,
    lp_id: &str,
    partition: Option<&str>,
    sats: u64,
) {
    let lp = pool_node.client().with_token(Some(token));
    let quote = lp
        .deposit_quote(
            pool,
            &DepositQuoteRequest {
                schema: DEPOSIT_QUOTE_REQUEST_SCHEMA.into(),
                lp_id: lp_id.into(),
                idempotency_key: format!("{lp_id}-deposit-{}", partition.unwrap_or("default")),
                partition_kind: partition.map(str::to_owned),
                rail: "lightning_invoice".into(),
                amount_sats: sats,
                description: None,
                expiry_secs: None,
            },
        )
        .unwrap();
    let paid = payer
        .client()
        .pay_invoice(&PayInvoiceRequest {
            invoice: quote.deposit.invoice_bolt11.clone().unwrap(),
            amount_msat: None,
            max_fee_msat: None,
        })
        .unwrap();
    wait_for("the deposit payment", WAIT, || {
        let p = payer.client().payment(&paid.id)?;
        Ok((p.status == PaymentStatus::Succeeded).then_some(()))
    })
    .unwrap();
    wait_for("the deposit to confirm", WAIT, || {
        let d = lp.deposit(pool, &quote.deposit.deposit_id)?;
        Ok((d.deposit.status == "confirmed").then_some(()))
    })
    .unwrap();
}
