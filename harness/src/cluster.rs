//! Regtest clusters (ARCHITECTURE.md §9): a chain process and N `sluice` nodes on 127.0.0.1,
//! wired into a topology of funded, confirmed, announced channels that every payer can
//! route over.
//!
//! [`Cluster::start`] launches the processes, funds every node (one coinbase per channel
//! it opens, plus one for its anchor fee-bump reserve), opens each channel from its
//! payer side, confirms them, waits until every channel is usable on both sides and
//! every payer's graph routes over all of them, and returns. Dropping the cluster kills
//! every process (a panic included): no orphans. The steps are [`crate::setup`]'s.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::manifest::Manifest;
use crate::setup::{
    launch_nodes, open_channel, wait_usable, ANNOUNCEMENT_DEPTH, COINBASE_MATURITY,
    GOSSIP_REBROADCASTS, GOSSIP_SETTLE, SETUP_TIMEOUT as STEP_TIMEOUT,
};
use crate::{wait_for, ChainProcess, ChainRpc, Error, NodeOptions, NodeProcess, SluiceBinary};

/// How the nodes are connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Topology {
    /// A line: node 0 pays node N-1 through every node between (A → R → B for three).
    Line,
    /// A star of K payers and K payees around one hub (N = 2K + 1): payer i pays
    /// payee i through the hub.
    Star,
    /// A ring: node i opens to node i+1 (mod N) and pays node i+2 (through i+1, or
    /// directly once it holds a balance on the channel i+2 opened to it).
    Ring,
}

impl Topology {
    /// The least number of nodes the topology takes.
    pub fn min_nodes(self) -> usize {
        match self {
            Topology::Line => 2,
            Topology::Star | Topology::Ring => 3,
        }
    }
}

impl FromStr for Topology {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Error> {
        match name {
            "line" => Ok(Topology::Line),
            "star" => Ok(Topology::Star),
            "ring" => Ok(Topology::Ring),
            other => Err(Error::Usage(format!(
                "`{other}` is not a topology: line, star or ring"
            ))),
        }
    }
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Topology::Line => "line",
            Topology::Star => "star",
            Topology::Ring => "ring",
        })
    }
}

/// What cluster to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSpec {
    /// How the nodes are connected.
    pub topology: Topology,
    /// How many nodes.
    pub nodes: usize,
    /// Each channel's capacity; the opener (the payer side) holds all of it at first.
    pub capacity_sat: u64,
}

/// Which channels to open and who pays whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Channels as (opener, peer) node indices; the opener funds the channel.
    pub channels: Vec<(usize, usize)>,
    /// Payments as (payer, payee) node indices.
    pub pairs: Vec<(usize, usize)>,
}

impl Plan {
    /// The fewest channels a payment from `payer` to `payee` can cross (channels carry
    /// payments both ways once both sides hold a balance), or `None` if no path joins
    /// them.
    pub fn min_hops(&self, payer: usize, payee: usize) -> Option<usize> {
        let mut hops = HashMap::from([(payer, 0)]);
        let mut frontier = VecDeque::from([payer]);
        while let Some(node) = frontier.pop_front() {
            let next = hops[&node] + 1;
            for &(a, b) in &self.channels {
                let peer = if node == a {
                    b
                } else if node == b {
                    a
                } else {
                    continue;
                };
                if let Entry::Vacant(e) = hops.entry(peer) {
                    e.insert(next);
                    frontier.push_back(peer);
                }
            }
        }
        hops.get(&payee).copied()
    }
}

impl ClusterSpec {
    /// The channels and payment pairs of the topology, or why the node count does not
    /// fit it.
    pub fn plan(&self) -> Result<Plan, Error> {
        let n = self.nodes;
        if n < self.topology.min_nodes() {
            return Err(Error::Usage(format!(
                "a {} takes at least {} nodes, not {n}",
                self.topology,
                self.topology.min_nodes()
            )));
        }
        Ok(match self.topology {
            Topology::Line => Plan {
                channels: (0..n - 1).map(|i| (i, i + 1)).collect(),
                pairs: vec![(0, n - 1)],
            },
            Topology::Star => {
                if n.is_multiple_of(2) {
                    return Err(Error::Usage(format!(
                        "a star is a hub with as many payers as payees: an odd node count, not {n}"
                    )));
                }
                let k = n / 2;
                let payers = 1..=k;
                let payees = k + 1..=2 * k;
                Plan {
                    channels: payers
                        .clone()
                        .map(|p| (p, 0))
                        .chain(payees.clone().map(|p| (0, p)))
                        .collect(),
                    pairs: payers.zip(payees).collect(),
                }
            }
            Topology::Ring => Plan {
                channels: (0..n).map(|i| (i, (i + 1) % n)).collect(),
                pairs: (0..n).map(|i| (i, (i + 2) % n)).collect(),
            },
        })
    }
}

/// A running cluster.
pub struct Cluster {
    /// The chain.
    pub chain: ChainProcess,
    /// The nodes, in plan order.
    pub nodes: Vec<NodeProcess>,
    /// What was built.
    pub plan: Plan,
    /// The spec it was built from.
    pub spec: ClusterSpec,
    /// Where mined blocks pay (a wallet address of node 0).
    mining_address: String,
}

impl Cluster {
    /// Builds `spec` from `binary`: processes, funds, channels, gossip (see the module
    /// docs). Every node runs with `options` (for example extra flags).
    pub fn start(
        binary: &SluiceBinary,
        spec: ClusterSpec,
        options: impl Fn(&ChainProcess) -> NodeOptions,
    ) -> Result<Cluster, Error> {
        let plan = spec.plan()?;
        let chain = ChainProcess::launch(binary)?;
        let names: Vec<String> = (0..spec.nodes).map(|i| format!("node-{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let nodes = launch_nodes(binary, &names, |_| options(&chain))?;
        let mining_address = nodes[0].client().new_address()?.address;
        let cluster = Cluster {
            chain,
            nodes,
            plan,
            spec,
            mining_address,
        };
        cluster.fund()?;
        cluster.open_channels()?;
        cluster.await_routable()?;
        Ok(cluster)
    }

    /// The cluster as the driver sees it.
    pub fn manifest(&self) -> Manifest {
        Manifest::of(self)
    }

    /// The chain's RPC client.
    pub fn rpc(&self) -> ChainRpc {
        self.chain.rpc()
    }

    /// Mines `blocks` blocks.
    pub fn mine(&self, blocks: u32) -> Result<(), Error> {
        self.rpc()
            .generate_to_address(blocks, &self.mining_address)
            .map(drop)
    }

    /// One coinbase per channel a node opens, plus one for its anchor reserve; then the
    /// blocks that let them mature.
    fn fund(&self) -> Result<(), Error> {
        let rpc = self.rpc();
        for (i, node) in self.nodes.iter().enumerate() {
            let opens = self.plan.channels.iter().filter(|(o, _)| *o == i).count();
            let address = node.client().new_address()?.address;
            rpc.generate_to_address(opens as u32 + 1, &address)?;
        }
        self.mine(COINBASE_MATURITY)?;
        for (i, node) in self.nodes.iter().enumerate() {
            let opens = self.plan.channels.iter().filter(|(o, _)| *o == i).count() as u64;
            let needed = opens * self.spec.capacity_sat + 1;
            wait_for(
                &format!("{}'s coinbases to mature", node.name()),
                STEP_TIMEOUT,
                || Ok((node.client().wallet_balance()?.spendable_sat >= needed).then_some(())),
            )?;
        }
        Ok(())
    }

    /// Opens every channel (one at a time per opener, each funding transaction in the
    /// mempool before the next), confirms them all, and waits until each is usable on
    /// both sides.
    fn open_channels(&self) -> Result<(), Error> {
        let rpc = self.rpc();
        for &(opener, peer) in &self.plan.channels {
            let (opener, peer) = (&self.nodes[opener], &self.nodes[peer]);
            open_channel(opener, peer, &rpc, self.spec.capacity_sat, true, false)?;
        }
        self.mine(ANNOUNCEMENT_DEPTH)?;
        for &(a, b) in &self.plan.channels {
            for (node, peer) in [(a, b), (b, a)] {
                wait_usable(&self.nodes[node], &self.nodes[peer])?;
            }
        }
        Ok(())
    }

    /// Waits until every payer's graph routes over every channel, mining six blocks (a
    /// gossip re-broadcast) when an update was lost.
    fn await_routable(&self) -> Result<(), Error> {
        let expected = self.plan.channels.len() as u32;
        let mut payers: Vec<usize> = self.plan.pairs.iter().map(|(p, _)| *p).collect();
        payers.sort_unstable();
        payers.dedup();
        for round in 0..=GOSSIP_REBROADCASTS {
            let settle = if round == GOSSIP_REBROADCASTS {
                STEP_TIMEOUT
            } else {
                GOSSIP_SETTLE
            };
            let all = payers.iter().try_fold(true, |all, &p| {
                let node = &self.nodes[p];
                let settled = wait_for(
                    &format!("{}'s graph to route over every channel", node.name()),
                    settle,
                    || {
                        let info = node.client().node_info()?;
                        Ok((info.num_routable_graph_channels >= expected).then_some(()))
                    },
                );
                match settled {
                    Ok(()) => Ok(all),
                    Err(Error::Timeout { .. }) if round < GOSSIP_REBROADCASTS => Ok(false),
                    Err(e) => Err(e),
                }
            })?;
            if all {
                return Ok(());
            }
            self.mine(ANNOUNCEMENT_DEPTH)?;
        }
        Ok(())
    }
}
