//! The steps every set-up takes, and the small set-ups the end-to-end tests share.
//!
//! Steps: [`launch_nodes`] (in parallel), [`open_channel`] (until its funding is in the
//! mempool), [`wait_usable`], [`wait_spendable`], [`reconnect`] and [`wait_routable`]
//! (pushing the chain on while gossip races). A [`Cluster`](crate::Cluster) is built from
//! the same steps.
//!
//! Set-ups:
//! - [`Pair`]: a chain and nodes A and B with a confirmed, usable private channel A→B (B
//!   funded too, with its anchor reserve or more coinbases of its own);
//! - [`Line`]: a chain and A → B → C, a private channel A→B and an announced channel B→C
//!   that A learned through gossip, so A's router finds A→B→C.
//!
//! Every wait gives up after [`SETUP_TIMEOUT`].

use std::time::Duration;

use serde_json::json;
use sluice_api_types::{ChannelInfo, OpenChannelRequest};

use crate::{wait_for, ChainProcess, ChainRpc, Error, NodeOptions, NodeProcess, SluiceBinary};

/// How long a step of a set-up (a coinbase maturing, a channel becoming usable) may take.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(60);
/// Blocks until a coinbase output can be spent.
pub const COINBASE_MATURITY: u32 = 100;
/// Blocks that confirm a channel and let it be announced.
pub const ANNOUNCEMENT_DEPTH: u32 = 6;
/// How long gossip gets to reach a node before the chain is pushed on: LDK drops a
/// `channel_update` that arrives before its channel's announcement, and re-broadcasts a
/// young channel's gossip every six blocks.
pub const GOSSIP_SETTLE: Duration = Duration::from_secs(3);
/// How many times six blocks are mined to get gossip re-broadcast before the last wait.
pub const GOSSIP_REBROADCASTS: u32 = 5;
/// Where blocks mined only to confirm transactions go: the regtest P2WPKH address of
/// the key with secret 1 (BIP 173's test vector), which no node holds, so mining
/// changes no node's wallet.
pub const NOBODYS_ADDRESS: &str = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";

/// Launches a node per name, all at once, each with `options(index)`.
pub fn launch_nodes(
    binary: &SluiceBinary,
    names: &[&str],
    options: impl Fn(usize) -> NodeOptions,
) -> Result<Vec<NodeProcess>, Error> {
    std::thread::scope(|s| {
        let launching: Vec<_> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let options = options(i);
                s.spawn(move || NodeProcess::launch(binary, name, options))
            })
            .collect();
        launching
            .into_iter()
            .map(|l| {
                l.join()
                    .unwrap_or_else(|_| Err(Error::Usage("a node launch panicked".into())))
            })
            .collect()
    })
}

/// `node`'s channel with `peer` (a node id), if it lists one.
pub fn channel_with(node: &NodeProcess, peer: &str) -> Result<Option<ChannelInfo>, Error> {
    Ok(node
        .client()
        .list_channels()?
        .into_iter()
        .find(|c| c.counterparty_node_id == peer))
}

/// Waits until `node`'s channel with `peer` is usable (ready and the peer connected);
/// the channel as `node` then lists it.
pub fn wait_usable(node: &NodeProcess, peer: &NodeProcess) -> Result<ChannelInfo, Error> {
    let what = format!(
        "{}'s channel with {} to be usable",
        node.name(),
        peer.name()
    );
    wait_for(&what, SETUP_TIMEOUT, || {
        Ok(channel_with(node, peer.node_id())?.filter(|c| c.is_usable))
    })
}

/// Waits until `node` can spend more than `sat` on chain.
pub fn wait_spendable(node: &NodeProcess, sat: u64) -> Result<(), Error> {
    wait_for(
        &format!("{}'s coinbase to be spendable", node.name()),
        SETUP_TIMEOUT,
        || Ok((node.client().wallet_balance()?.spendable_sat > sat).then_some(())),
    )
}

/// Mines `blocks` blocks to a new address of `node`; returns the address.
pub fn mine_to(node: &NodeProcess, rpc: &ChainRpc, blocks: u32) -> Result<String, Error> {
    let address = node.client().new_address()?.address;
    rpc.generate_to_address(blocks, &address)?;
    Ok(address)
}

/// Opens a channel of `capacity_sat` from `opener` to `peer` over the API (announced or
/// private, zero-conf or not) and returns its funding txid once the funding transaction
/// is in the chain's mempool.
pub fn open_channel(
    opener: &NodeProcess,
    peer: &NodeProcess,
    rpc: &ChainRpc,
    capacity_sat: u64,
    announce: bool,
    zero_conf: bool,
) -> Result<String, Error> {
    let opened = opener.client().open_channel(&OpenChannelRequest {
        node_id: peer.node_id().to_owned(),
        address: Some(peer.peer_addr().to_string()),
        capacity_sat,
        push_msat: 0,
        announce,
        zero_conf,
    })?;
    let what = format!(
        "the funding of {}→{} in the mempool",
        opener.name(),
        peer.name()
    );
    wait_for(&what, SETUP_TIMEOUT, || {
        let txid = opener
            .client()
            .list_channels()?
            .into_iter()
            .find(|c| {
                c.channel_id == opened.channel_id
                    || (c.is_outbound && c.counterparty_node_id == peer.node_id())
            })
            .and_then(|c| c.funding_txo)
            .and_then(|t| t.split(':').next().map(str::to_owned));
        let Some(txid) = txid else { return Ok(None) };
        let mempool = rpc.call("getrawmempool", json!([]))?;
        Ok(mempool
            .as_array()
            .is_some_and(|ids| ids.iter().any(|t| t.as_str() == Some(txid.as_str())))
            .then_some(txid))
    })
}

/// Connects `node` to `peer` (a no-op if it is already connected, as it is once nodes
/// reconnect by themselves) and waits until their channel is usable on both sides. A
/// handshake that did not finish (`peer_unreachable`: a peer that has just restarted,
/// or still holds the connection of a process that was killed) is tried again until
/// [`SETUP_TIMEOUT`].
pub fn reconnect(node: &NodeProcess, peer: &NodeProcess) -> Result<(), Error> {
    let what = format!("{} to connect to {}", node.name(), peer.name());
    wait_for(&what, SETUP_TIMEOUT, || {
        match node
            .client()
            .connect_peer(peer.node_id(), &peer.peer_addr().to_string())
        {
            Ok(_) => Ok(Some(())),
            Err(Error::Api { code, .. }) if code == "peer_unreachable" => Ok(None),
            Err(e) => Err(e),
        }
    })?;
    wait_usable(node, peer)?;
    wait_usable(peer, node)?;
    Ok(())
}

/// Waits until `node` routes over at least `channels` announced channels it learned by
/// gossip. A `channel_update` that reaches a node before the channel's announcement is
/// dropped (LDK's gossip handling; the relaying peer may have dropped it too), leaving the
/// channel unroutable; LDK re-broadcasts a young channel's announcement and updates
/// every six blocks, so six blocks (paying `address`) are mined then, up to
/// [`GOSSIP_REBROADCASTS`] times, before a last wait of [`SETUP_TIMEOUT`].
pub fn wait_routable(
    node: &NodeProcess,
    rpc: &ChainRpc,
    address: &str,
    channels: u32,
) -> Result<(), Error> {
    let what = format!("{}'s graph to route over {channels} channels", node.name());
    let routable = || {
        let info = node.client().node_info()?;
        Ok((info.num_routable_graph_channels >= channels).then_some(()))
    };
    for _ in 0..GOSSIP_REBROADCASTS {
        match wait_for(&what, GOSSIP_SETTLE, routable) {
            Ok(()) => return Ok(()),
            Err(Error::Timeout { .. }) => {
                rpc.generate_to_address(ANNOUNCEMENT_DEPTH, address)?;
            }
            Err(e) => return Err(e),
        }
    }
    wait_for(&what, SETUP_TIMEOUT, routable)
}

/// What [`Pair::start`] builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairSpec<'a> {
    /// The nodes' names in the harness (logs and errors).
    pub names: [&'a str; 2],
    /// The channel's capacity; A holds all of it at first.
    pub capacity_sat: u64,
    /// Coinbases mined to B before A's: its reserve for anchor fee bumps, or funds for
    /// channels of its own.
    pub b_coinbases: u32,
}

impl PairSpec<'_> {
    /// Nodes `a` and `b` with a channel of `capacity_sat` and one coinbase for B.
    pub fn new(capacity_sat: u64) -> PairSpec<'static> {
        PairSpec {
            names: ["a", "b"],
            capacity_sat,
            b_coinbases: 1,
        }
    }
}

/// A chain and nodes A and B with a confirmed, usable private channel A→B, and the
/// channel as each side listed it once usable.
#[derive(Debug)]
pub struct Pair {
    /// The opener, which holds the channel's balance.
    pub a: NodeProcess,
    /// Its peer.
    pub b: NodeProcess,
    /// The channel as A listed it once usable.
    pub opened_a: ChannelInfo,
    /// The channel as B listed it once usable.
    pub opened_b: ChannelInfo,
    /// The funding transaction's id, as seen in the mempool.
    pub funding_txid: String,
    /// The chain.
    pub chain: ChainProcess,
}

impl Pair {
    /// Starts a chain and the two nodes (node `i` with `options(chain, i)`), funds both
    /// (B's coinbases first, then 101 blocks to A, whose first coinbase funds the
    /// channel), waits until each can spend more than the capacity, opens an anchor
    /// channel A→B and confirms it (six blocks once the funding transaction is in the
    /// mempool), and waits until it is usable on both sides.
    pub fn start(
        binary: &SluiceBinary,
        spec: PairSpec<'_>,
        options: impl Fn(&ChainProcess, usize) -> NodeOptions,
    ) -> Result<Pair, Error> {
        let chain = ChainProcess::launch(binary)?;
        let rpc = chain.rpc();
        let mut nodes = launch_nodes(binary, &spec.names, |i| options(&chain, i))?.into_iter();
        let (Some(a), Some(b)) = (nodes.next(), nodes.next()) else {
            return Err(Error::Unexpected("a pair of nodes did not start".into()));
        };
        mine_to(&b, &rpc, spec.b_coinbases)?;
        let funding = mine_to(&a, &rpc, COINBASE_MATURITY + 1)?;
        for node in [&a, &b] {
            wait_spendable(node, spec.capacity_sat)?;
        }
        let funding_txid = open_channel(&a, &b, &rpc, spec.capacity_sat, false, false)?;
        rpc.generate_to_address(ANNOUNCEMENT_DEPTH, &funding)?;
        let opened_a = wait_usable(&a, &b)?;
        let opened_b = wait_usable(&b, &a)?;
        Ok(Pair {
            a,
            b,
            opened_a,
            opened_b,
            funding_txid,
            chain,
        })
    }
}

/// A chain and three nodes in a line, A → B → C: a private channel A→B and an announced
/// channel B→C that A learned through gossip, so A's router finds A→B→C.
#[derive(Debug)]
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

impl Line {
    /// Starts a chain and regtest nodes `a`, `b`, `c`, funds all three (a coinbase each
    /// for C and B, then 101 blocks to A: A and B fund channels, C keeps its anchor
    /// reserve), opens A→B and the announced B→C, both of `capacity_sat`, confirms them
    /// (six blocks), and waits until both are usable on both sides and A's graph routes
    /// over B→C.
    pub fn start(binary: &SluiceBinary, capacity_sat: u64) -> Result<Line, Error> {
        Line::start_with(binary, capacity_sat, |chain, _| NodeOptions::regtest(chain))
    }

    /// [`Line::start`] with node `i` (A, B, C) run with `options(chain, i)`.
    pub fn start_with(
        binary: &SluiceBinary,
        capacity_sat: u64,
        options: impl Fn(&ChainProcess, usize) -> NodeOptions,
    ) -> Result<Line, Error> {
        let chain = ChainProcess::launch(binary)?;
        let rpc = chain.rpc();
        let mut nodes = launch_nodes(binary, &["a", "b", "c"], |i| options(&chain, i))?.into_iter();
        let (Some(a), Some(b), Some(c)) = (nodes.next(), nodes.next(), nodes.next()) else {
            return Err(Error::Unexpected("a line of nodes did not start".into()));
        };
        for node in [&c, &b] {
            mine_to(node, &rpc, 1)?;
        }
        let funding = mine_to(&a, &rpc, COINBASE_MATURITY + 1)?;
        for node in [&a, &b] {
            wait_spendable(node, capacity_sat)?;
        }
        open_channel(&a, &b, &rpc, capacity_sat, false, false)?;
        open_channel(&b, &c, &rpc, capacity_sat, true, false)?;
        // Six confirmations: both usable, and B→C announced.
        rpc.generate_to_address(ANNOUNCEMENT_DEPTH, &funding)?;
        for (node, peer) in [(&a, &b), (&b, &a), (&b, &c), (&c, &b)] {
            wait_usable(node, peer)?;
        }
        wait_routable(&a, &rpc, &funding, 1)?;
        Ok(Line { a, b, c, chain })
    }
}
