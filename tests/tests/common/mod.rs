//! What the end-to-end tests share: the workspace's binary, waiting on channels, paying
//! over the API, and a chain with two nodes and a confirmed channel between them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod jit;
pub mod lsps_wire;
pub mod webhook_receiver;

use std::time::Duration;

use sluice_api::types::{
    ChannelInfo, CreateInvoiceRequest, InvoiceResponse, ListPaymentsQuery, OpenChannelRequest,
    PayInvoiceRequest, PaymentDirection, PaymentInfo, PaymentStatus,
};
use sluice_loadtest::{wait_for, ChainProcess, ChainRpc, NodeOptions, NodeProcess, SluiceBinary};
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
    node.client()
        .list_channels()
        .unwrap()
        .into_iter()
        .find(|c| c.counterparty_node_id == peer)
}

/// Waits until `node`'s channel with `peer` is usable (ready and the peer connected).
pub fn wait_usable(node: &NodeProcess, peer: &NodeProcess) -> ChannelInfo {
    let what = format!(
        "{}'s channel with {} to be usable",
        node.name(),
        peer.name()
    );
    wait_for(&what, WAIT, || {
        Ok(channel_with(node, peer.node_id()).filter(|c| c.is_usable))
    })
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

/// Connects `node` to `peer` (a no-op if it is already connected, as it is once nodes
/// reconnect by themselves) and waits until their channel is usable on both sides.
pub fn reconnect(node: &NodeProcess, peer: &NodeProcess) {
    node.client()
        .connect_peer(peer.node_id(), &peer.peer_addr().to_string())
        .unwrap();
    wait_usable(node, peer);
    wait_usable(peer, node);
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

/// Opens a [`CAPACITY_SAT`] channel from `opener` to `peer` over the API and returns
/// its funding txid once the funding transaction is in the chain's mempool.
pub fn open_channel(
    opener: &NodeProcess,
    peer: &NodeProcess,
    rpc: &ChainRpc,
    announce: bool,
    zero_conf: bool,
) -> String {
    open_sized(opener, peer, rpc, announce, zero_conf, CAPACITY_SAT)
}

/// Opens a private channel of `capacity_sat` from `opener` to `peer`; its funding txid
/// once the transaction is in the chain's mempool.
pub fn open_channel_of(
    opener: &NodeProcess,
    peer: &NodeProcess,
    rpc: &ChainRpc,
    capacity_sat: u64,
) -> String {
    open_sized(opener, peer, rpc, false, false, capacity_sat)
}

fn open_sized(
    opener: &NodeProcess,
    peer: &NodeProcess,
    rpc: &ChainRpc,
    announce: bool,
    zero_conf: bool,
    capacity_sat: u64,
) -> String {
    opener
        .client()
        .open_channel(&OpenChannelRequest {
            node_id: peer.node_id().to_owned(),
            address: Some(peer.peer_addr().to_string()),
            capacity_sat,
            push_msat: 0,
            announce,
            zero_conf,
        })
        .unwrap();
    wait_for("the funding transaction in the mempool", WAIT, || {
        let Some(txid) = channel_with(opener, peer.node_id())
            .and_then(|c| c.funding_txo)
            .and_then(|t| t.split(':').next().map(str::to_owned))
        else {
            return Ok(None);
        };
        let mempool = rpc.call("getrawmempool", serde_json::json!([]))?;
        Ok(mempool
            .as_array()
            .is_some_and(|txids| txids.iter().any(|t| t.as_str() == Some(&txid)))
            .then_some(txid))
    })
    .unwrap()
}

/// The keys stored under LDK's namespace `primary`/`secondary` in `node`'s store (the
/// node stopped).
pub fn stored_ldk_keys(node: &NodeProcess, primary: &str, secondary: &str) -> Vec<String> {
    use lightning::util::persist::KVStoreSync;
    let store = Store::open(node.data_dir().join("store"), StoreConfig::default()).unwrap();
    KVStoreSync::list(&store, primary, secondary).unwrap()
}

/// A chain and nodes A and B with a confirmed, usable 1,000,000 sat channel A→B, and
/// the channel as each side listed it once usable.
pub struct Pair {
    /// The payer.
    pub a: NodeProcess,
    /// The payee.
    pub b: NodeProcess,
    /// The channel as A listed it once usable.
    pub opened_a: ChannelInfo,
    /// The channel as B listed it once usable.
    pub opened_b: ChannelInfo,
    /// The chain.
    pub chain: ChainProcess,
}

/// Starts a chain and two nodes, funds both (a coinbase each: B's is its reserve for
/// anchor fee bumps), opens an anchor channel A→B and confirms it (6 blocks once the
/// funding transaction is in the chain's mempool).
pub fn funded_pair(binary: &SluiceBinary) -> Pair {
    let chain = ChainProcess::launch(binary).unwrap();
    let rpc = chain.rpc();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| NodeProcess::launch(binary, "a", NodeOptions::regtest(&chain)));
        let b = s.spawn(|| NodeProcess::launch(binary, "b", NodeOptions::regtest(&chain)));
        (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
    });

    // Fund both: B's coinbase is its reserve for anchor fee bumps, A's funds the channel.
    let b_funding = b.client().new_address().unwrap().address;
    rpc.generate_to_address(1, &b_funding).unwrap();
    let funding = a.client().new_address().unwrap().address;
    rpc.generate_to_address(101, &funding).unwrap();
    for node in [&a, &b] {
        wait_for(
            &format!("{}'s coinbase to be spendable", node.name()),
            WAIT,
            || Ok((node.client().wallet_balance()?.spendable_sat > CAPACITY_SAT).then_some(())),
        )
        .unwrap();
    }

    // Open A→B and confirm it once the funding transaction reached the chain's mempool.
    let funding_txid = open_channel(&a, &b, &rpc, false, false);
    rpc.generate_to_address(6, &funding).unwrap();
    let opened_a = wait_usable(&a, &b);
    let opened_b = wait_usable(&b, &a);
    assert_eq!(opened_a.capacity_sat, CAPACITY_SAT);
    assert!(opened_a.is_outbound && !opened_b.is_outbound);
    assert!(opened_a.anchors && opened_b.anchors, "{opened_a:?}");
    assert_eq!(opened_a.channel_id, opened_b.channel_id);
    assert!(
        opened_a
            .funding_txo
            .as_deref()
            .is_some_and(|t| t.starts_with(&funding_txid)),
        "{opened_a:?}"
    );
    Pair {
        a,
        b,
        opened_a,
        opened_b,
        chain,
    }
}

/// A chain and three nodes in a line, A → B → C: a private channel A→B and an announced
/// channel B→C that A learned through gossip, so A's router finds A→B→C.
pub struct Line {
    /// The payer.
    pub a: NodeProcess,
    /// The router.
    pub b: NodeProcess,
    /// The payee.
    pub c: NodeProcess,
    /// The chain.
    pub chain: ChainProcess,
}

/// Starts a chain and nodes A, B, C, funds all three (a
/// coinbase each: A and B fund channels, C keeps its anchor reserve), opens A→B and the
/// announced B→C, confirms both, and waits until A's graph holds B→C.
pub fn three_node_line(binary: &SluiceBinary) -> Line {
    let chain = ChainProcess::launch(binary).unwrap();
    let rpc = chain.rpc();
    let (a, b, c) = std::thread::scope(|s| {
        let chain = &chain;
        let launch = |name: &'static str| {
            s.spawn(move || NodeProcess::launch(binary, name, NodeOptions::regtest(chain)))
        };
        let (a, b, c) = (launch("a"), launch("b"), launch("c"));
        (
            a.join().unwrap().unwrap(),
            b.join().unwrap().unwrap(),
            c.join().unwrap().unwrap(),
        )
    });
    for node in [&c, &b] {
        let address = node.client().new_address().unwrap().address;
        rpc.generate_to_address(1, &address).unwrap();
    }
    let funding = a.client().new_address().unwrap().address;
    rpc.generate_to_address(101, &funding).unwrap();
    for node in [&a, &b] {
        wait_for(
            &format!("{}'s coinbase to be spendable", node.name()),
            WAIT,
            || Ok((node.client().wallet_balance()?.spendable_sat > CAPACITY_SAT).then_some(())),
        )
        .unwrap();
    }
    open_channel(&a, &b, &rpc, false, false);
    open_channel(&b, &c, &rpc, true, false);
    // Six confirmations: both usable, and B→C announced.
    rpc.generate_to_address(6, &funding).unwrap();
    for (node, peer) in [(&a, &b), (&b, &a), (&b, &c), (&c, &b)] {
        wait_usable(node, peer);
    }
    wait_routable(&a, &rpc, &funding);
    Line { a, b, c, chain }
}

/// How long a node gets to receive both ends' `channel_update`s of an announced channel
/// before the chain is pushed on to make the ends broadcast them again.
const GOSSIP_SETTLE: Duration = Duration::from_secs(3);
/// How many re-broadcasts (six blocks each) to ask for before waiting out [`WAIT`].
const GOSSIP_REBROADCASTS: u32 = 5;

/// Waits until `node` can route over the one announced channel it learns by gossip. A
/// `channel_update` that reaches a node before the channel's announcement is dropped
/// (LDK's gossip handling; the relaying peer may have dropped it too), leaving the
/// channel unroutable; LDK re-broadcasts a young channel's announcement and updates
/// every six blocks, so six blocks are mined then (again while it keeps racing).
pub fn wait_routable(node: &NodeProcess, rpc: &ChainRpc, address: &str) {
    let routable =
        || Ok((node.client().node_info()?.num_routable_graph_channels == 1).then_some(()));
    // Each re-broadcast can race the same way, so push the chain on a few times.
    for _ in 0..GOSSIP_REBROADCASTS {
        if wait_for(
            "the announced channel to be routable",
            GOSSIP_SETTLE,
            routable,
        )
        .is_ok()
        {
            return;
        }
        rpc.generate_to_address(6, address).unwrap();
    }
    wait_for(
        "the announced channel to be routable after re-broadcasts",
        WAIT,
        routable,
    )
    .unwrap();
}
