//! Opening channels between real nodes: zero-confirmation channels from the peers a node
//! trusts, confirmations from everyone else.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sluice_api_types::{ChannelInfo, CloseChannelRequest};
use sluice_harness::{setup, wait_for, ChainProcess, Error, NodeOptions, NodeProcess};

mod common;
use common::{
    binary, channel_with, funded_pair, mine_until, pay, stored_ldk_keys, wait_synced, wait_usable,
    wallet_total, Pair, CAPACITY_SAT, NOBODYS_ADDRESS, PAYMENT_MSAT, WAIT,
};

/// On-chain fees a close may cost one side here, funding, closing and sweeping
/// transactions together (regtest fee rates are at most a few sat/vB).
const FEE_BOUND_SAT: u64 = 20_000;

/// B trusts A for zero-conf channels, C does not. A's zero-conf channel to B is usable —
/// and carries a payment — while its funding transaction is still unconfirmed; the same
/// request to C waits for C's required confirmations. Neither B nor C has coins: B's
/// channel still has anchors (a trusted peer needs no fee-bump reserve), C's has none.
#[test]
fn zero_conf_channels_only_from_trusted_peers() {
    let binary = binary();
    let chain = ChainProcess::launch(&binary).unwrap();
    let rpc = chain.rpc();
    let a = NodeProcess::launch(&binary, "a", NodeOptions::regtest(&chain)).unwrap();
    let [b, c]: [NodeProcess; 2] = setup::launch_nodes(&binary, &["b", "c"], |i| {
        let options = NodeOptions::regtest(&chain);
        match i {
            0 => options.args(["--trusted-peer-0conf", a.node_id()]),
            _ => options,
        }
    })
    .unwrap()
    .try_into()
    .unwrap();

    // Fund A with two mature coinbases, one per channel.
    let funding = setup::mine_to(&a, &rpc, 102).unwrap();
    setup::wait_spendable(&a, 2 * CAPACITY_SAT).unwrap();

    // Trusted: usable with the funding unconfirmed, and paid over.
    let funding_b = setup::open_channel(&a, &b, &rpc, CAPACITY_SAT, false, true).unwrap();
    let at_a = wait_usable(&a, &b);
    let at_b = wait_usable(&b, &a);
    for channel in [&at_a, &at_b] {
        assert_eq!(channel.confirmations, Some(0), "{channel:?}");
        // B has no coins of its own, but trusts A: no fee-bump reserve is needed.
        assert!(channel.anchors, "{channel:?}");
    }
    let mempool = rpc.call("getrawmempool", serde_json::json!([])).unwrap();
    assert!(
        mempool.to_string().contains(&funding_b),
        "the funding transaction is still unconfirmed"
    );
    pay(&a, &b, "a payment over a zero-conf channel");

    // Untrusted: one confirmation is not enough.
    setup::open_channel(&a, &c, &rpc, CAPACITY_SAT, false, true).unwrap();
    rpc.generate_to_address(1, &funding).unwrap();
    wait_synced(&c, &rpc);
    wait_synced(&a, &rpc);
    let pending: Vec<ChannelInfo> = [channel_with(&a, c.node_id()), channel_with(&c, a.node_id())]
        .into_iter()
        .map(Option::unwrap)
        .collect();
    for channel in &pending {
        assert!(
            !channel.is_ready,
            "ready after one confirmation: {channel:?}"
        );
        assert!(
            channel.confirmations_required.is_some_and(|n| n > 1),
            "{channel:?}"
        );
    }
    let required = pending[1].confirmations_required.unwrap();
    rpc.generate_to_address(required - 1, &funding).unwrap();
    wait_usable(&a, &c);
    wait_usable(&c, &a);
}

/// An announced A–B channel reaches C, which is only B's peer, through gossip that C
/// checked against the chain (its funding output exists and is unspent) before adding
/// the channel to its graph.
#[test]
fn announced_channels_reach_other_nodes_through_verified_gossip() {
    let binary = binary();
    let chain = ChainProcess::launch(&binary).unwrap();
    let rpc = chain.rpc();
    let [a, b, c]: [NodeProcess; 3] =
        setup::launch_nodes(&binary, &["a", "b", "c"], |_| NodeOptions::regtest(&chain))
            .unwrap()
            .try_into()
            .unwrap();
    let funding = setup::mine_to(&a, &rpc, 101).unwrap();
    setup::wait_spendable(&a, CAPACITY_SAT).unwrap();

    setup::open_channel(&a, &b, &rpc, CAPACITY_SAT, true, false).unwrap();
    // Six confirmations: the depth at which channels are announced.
    rpc.generate_to_address(6, &funding).unwrap();
    let opened = wait_usable(&a, &b);
    assert!(opened.is_announced, "{opened:?}");

    // A node told to connect to itself refuses at once (it once dialled itself and
    // answered 502 after the 10 s handshake timeout).
    match c
        .client()
        .connect_peer(c.node_id(), &c.peer_addr().to_string())
    {
        Err(sluice_harness::Error::Api { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (400, "invalid_request"))
        }
        other => panic!("connecting to itself: {other:?}"),
    }
    c.client()
        .connect_peer(b.node_id(), &b.peer_addr().to_string())
        .unwrap();
    for node in [&a, &b, &c] {
        wait_for(
            &format!("{} to learn the channel", node.name()),
            WAIT,
            || {
                let info = node.client().node_info()?;
                Ok((info.num_graph_channels == 1 && info.num_graph_nodes == 2).then_some(()))
            },
        )
        .unwrap();
    }
}

/// Closes A's channel with B (`force` or not, from `closer`), then mines until both
/// wallets hold their channel balance again, less at most [`FEE_BOUND_SAT`] each.
fn close_and_recover(pair: &Pair, closer: &NodeProcess, force: bool, max_blocks: u32) {
    let Pair {
        a,
        b,
        opened_a,
        chain,
        ..
    } = pair;
    let rpc = chain.rpc();
    for i in 0..3 {
        pay(a, b, &format!("payment {i}"));
    }
    let paid_sat = 3 * PAYMENT_MSAT / 1_000;
    let (a_before, b_before) = (wallet_total(a, &rpc), wallet_total(b, &rpc));
    let other = if std::ptr::eq(closer, a) { b } else { a };
    closer
        .client()
        .close_channel(
            &opened_a.channel_id,
            &CloseChannelRequest {
                counterparty_node_id: other.node_id().to_owned(),
                force,
            },
        )
        .unwrap();
    let broadcast = wait_for("the closing transaction in the mempool", WAIT, || {
        let mempool = rpc.call("getrawmempool", serde_json::json!([]))?;
        let txids: Vec<String> = mempool
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let wanted = if force { 2 } else { 1 };
        Ok((txids.len() >= wanted).then_some(txids))
    })
    .unwrap();
    if force {
        // An anchor channel's commitment carries a minimal fee: the closer pays the rest
        // with a child spending its anchor output and a wallet coin (CPFP).
        let spends_of = |txid: &str| -> Vec<String> {
            let tx = rpc
                .call("getrawtransaction", serde_json::json!([txid, true]))
                .unwrap();
            tx["vin"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|input| input["txid"].as_str().map(str::to_owned))
                .collect()
        };
        assert!(
            broadcast.iter().any(|child| broadcast
                .iter()
                .any(|parent| spends_of(child).contains(parent))),
            "no fee-bumping child among {broadcast:?}"
        );
    }

    let a_expected = a_before + CAPACITY_SAT - paid_sat;
    let b_expected = b_before + paid_sat;
    mine_until(
        &rpc,
        &[a, b],
        "both channel balances back on chain",
        max_blocks,
        6,
        || {
            let (a_now, b_now) = (wallet_total(a, &rpc), wallet_total(b, &rpc));
            if a_now + FEE_BOUND_SAT >= a_expected && b_now + FEE_BOUND_SAT >= b_expected {
                Ok(())
            } else {
                Err(format!(
                "A has {a_now} sat of {a_expected} (had {a_before}), B {b_now} of {b_expected} \
                 (had {b_before})"
            ))
            }
        },
    );
    for node in [a, b] {
        assert!(
            channel_with(node, other_of(node, a, b).node_id()).is_none(),
            "{} still lists the channel",
            node.name()
        );
    }
    // A closed channel is gone: closing it again is a 404 with a code, not a 500.
    let again = closer.client().close_channel(
        &opened_a.channel_id,
        &CloseChannelRequest {
            counterparty_node_id: other.node_id().to_owned(),
            force,
        },
    );
    assert!(
        matches!(&again, Err(Error::Api { status: 404, code, .. }) if code == "not_found"),
        "{again:?}"
    );
    let (a_now, b_now) = (wallet_total(a, &rpc), wallet_total(b, &rpc));
    assert!(
        a_now <= a_expected,
        "A got {a_now} sat, more than {a_expected}"
    );
    assert!(
        b_now <= b_expected,
        "B got {b_now} sat, more than {b_expected}"
    );
}

fn other_of<'n>(node: &NodeProcess, a: &'n NodeProcess, b: &'n NodeProcess) -> &'n NodeProcess {
    if std::ptr::eq(node, a) {
        b
    } else {
        a
    }
}

/// A cooperative close: the closing transaction pays each side its balance, and the
/// node sweeps its output into its on-chain wallet. Once the channel has been resolved
/// for LDK's archival delay (4,032 blocks), its monitor moves to the archive and is no
/// longer loaded at start.
#[test]
fn a_cooperative_close_returns_the_balances_to_the_wallets() {
    let mut pair = funded_pair(&binary());
    close_and_recover(&pair, &pair.a, false, 30);

    let rpc = pair.chain.rpc();
    for _ in 0..5 {
        rpc.generate_to_address(1_008, NOBODYS_ADDRESS).unwrap();
        wait_synced(&pair.a, &rpc);
    }
    assert_eq!(pair.a.stop().unwrap().code(), Some(0));
    assert_eq!(
        stored_ldk_keys(&pair.a, "monitors", ""),
        Vec::<String>::new()
    );
    assert_eq!(stored_ldk_keys(&pair.a, "archived_monitors", "").len(), 1);
    pair.a.start().unwrap();
    assert!(channel_with(&pair.a, pair.b.node_id()).is_none());
}

/// A force close by the payer: its commitment goes out with a fee-bumping child paid
/// from its wallet (anchor CPFP); its own balance waits out the to_self_delay (144
/// blocks) before the sweeper claims it, the payee's is claimable at once.
#[test]
fn a_force_close_returns_the_balances_after_the_delay() {
    let pair = funded_pair(&binary());
    close_and_recover(&pair, &pair.a, true, 200);
}
