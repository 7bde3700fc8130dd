//! Opening channels between real nodes: zero-confirmation channels from the peers a node
//! trusts, confirmations from everyone else.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sluice_api::types::{ChannelInfo, OpenChannelRequest};
use sluice_loadtest::{wait_for, ChainProcess, ChainRpc, NodeOptions, NodeProcess};

mod common;
use common::{binary, channel_with, pay, wait_usable, CAPACITY_SAT, WAIT};

/// Opens a zero-conf channel from `opener` to `peer` and returns its funding txid once
/// the funding transaction is in the chain's mempool.
fn open_zero_conf(opener: &NodeProcess, peer: &NodeProcess, rpc: &ChainRpc) -> String {
    opener
        .client()
        .open_channel(&OpenChannelRequest {
            node_id: peer.node_id().to_owned(),
            address: Some(peer.peer_addr().to_string()),
            capacity_sat: CAPACITY_SAT,
            push_msat: 0,
            announce: false,
            zero_conf: true,
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

/// Waits until `node` has synced to the chain's tip.
fn wait_synced(node: &NodeProcess, rpc: &ChainRpc) {
    let tip = rpc.block_count().unwrap();
    wait_for(
        &format!("{} to reach block {tip}", node.name()),
        WAIT,
        || Ok((u64::from(node.client().node_info()?.block_height) >= tip).then_some(())),
    )
    .unwrap();
}

/// B trusts A for zero-conf channels, C does not. A's zero-conf channel to B is usable —
/// and carries a payment — while its funding transaction is still unconfirmed; the same
/// request to C waits for C's required confirmations.
#[test]
fn zero_conf_channels_only_from_trusted_peers() {
    let binary = binary();
    let chain = ChainProcess::launch(&binary).unwrap();
    let rpc = chain.rpc();
    let a = NodeProcess::launch(&binary, "a", NodeOptions::regtest(&chain)).unwrap();
    let trusting = NodeOptions::regtest(&chain).args(["--trusted-peer-0conf", a.node_id()]);
    let (b, c) = std::thread::scope(|s| {
        let b = s.spawn(|| NodeProcess::launch(&binary, "b", trusting));
        let c = s.spawn(|| NodeProcess::launch(&binary, "c", NodeOptions::regtest(&chain)));
        (b.join().unwrap().unwrap(), c.join().unwrap().unwrap())
    });

    // Fund A with two mature coinbases, one per channel.
    let funding = a.client().new_address().unwrap().address;
    rpc.generate_to_address(102, &funding).unwrap();
    wait_for("A's coinbases to be spendable", WAIT, || {
        Ok((a.client().wallet_balance()?.spendable_sat > 2 * CAPACITY_SAT).then_some(()))
    })
    .unwrap();

    // Trusted: usable with the funding unconfirmed, and paid over.
    let funding_b = open_zero_conf(&a, &b, &rpc);
    let at_a = wait_usable(&a, &b);
    let at_b = wait_usable(&b, &a);
    for channel in [&at_a, &at_b] {
        assert_eq!(channel.confirmations, Some(0), "{channel:?}");
    }
    let mempool = rpc.call("getrawmempool", serde_json::json!([])).unwrap();
    assert!(
        mempool.to_string().contains(&funding_b),
        "the funding transaction is still unconfirmed"
    );
    pay(&a, &b, "a payment over a zero-conf channel");

    // Untrusted: one confirmation is not enough.
    open_zero_conf(&a, &c, &rpc);
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
    let (a, b, c) = std::thread::scope(|s| {
        let (binary, chain) = (&binary, &chain);
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
    let funding = a.client().new_address().unwrap().address;
    rpc.generate_to_address(101, &funding).unwrap();
    wait_for("A's coinbase to be spendable", WAIT, || {
        Ok((a.client().wallet_balance()?.spendable_sat > CAPACITY_SAT).then_some(()))
    })
    .unwrap();

    a.client()
        .open_channel(&OpenChannelRequest {
            node_id: b.node_id().to_owned(),
            address: Some(b.peer_addr().to_string()),
            capacity_sat: CAPACITY_SAT,
            push_msat: 0,
            announce: true,
            zero_conf: false,
        })
        .unwrap();
    wait_for("the funding transaction in the mempool", WAIT, || {
        let mempool = rpc.call("getrawmempool", serde_json::json!([]))?;
        Ok(mempool
            .as_array()
            .is_some_and(|t| !t.is_empty())
            .then_some(()))
    })
    .unwrap();
    // Six confirmations: the depth at which channels are announced.
    rpc.generate_to_address(6, &funding).unwrap();
    let opened = wait_usable(&a, &b);
    assert!(opened.is_announced, "{opened:?}");

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
