//! Regtest clusters (ARCHITECTURE.md §9): a chain process and N `sluice` nodes on 127.0.0.1,
//! wired into a topology of funded, confirmed, announced channels that every payer can
//! route over.
//!
//! The topologies: a line, a star, a ring (throughput), and the detour (the rebalancer's
//! demonstration, [`detour`]).
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
    /// Four nodes: a payer whose cheap route to the payee (through a hub) has one
    /// narrow first channel, and a dearer detour around it, for the rebalancer
    /// ([`detour`]).
    Detour,
}

impl Topology {
    /// The least number of nodes the topology takes.
    pub fn min_nodes(self) -> usize {
        match self {
            Topology::Line => 2,
            Topology::Star | Topology::Ring => 3,
            Topology::Detour => detour::NODES,
        }
    }

    /// The capacity of the topology's channel number `channel` (its index in
    /// [`Plan::channels`]) in a cluster of `capacity_sat` channels: `capacity_sat`, but
    /// for the detour's wide channels ([`detour::WIDE`] times it).
    pub fn channel_capacity_sat(self, channel: usize, capacity_sat: u64) -> u64 {
        match self {
            Topology::Detour if channel != detour::DIRECT => {
                capacity_sat.saturating_mul(detour::WIDE)
            }
            _ => capacity_sat,
        }
    }
}

/// The detour (`--topology detour`): four nodes, and the roles and channels by index.
///
/// ```text
///            cheap: 0 → 1 → 2 (one forwarding fee)
///   payer 0 ───────── hub 1 ───────── payee 2
///        \             /
///         └─ detour 3 ─┘   dear: 0 → 3 → 1 → 2 (two forwarding fees)
/// ```
///
/// Channels, opener first (the opener holds the whole capacity at first): (0,1), (1,2),
/// (0,3), (3,1); one pair, 0 pays 2. sluice nodes charge 1,000 msat per forward and no
/// proportional fee by default (`forwarding_fee_base_msat` = 1000,
/// `forwarding_fee_ppm` = 0: LDK's defaults, `node/src/config/mod.rs`), so the cheap
/// route costs 1 sat whatever the amount and the detour 2 sat. With a payment fee
/// ceiling of 1 sat the payer can pay only while the direct channel 0–1 has balance;
/// once payments moved it to the hub's side, only a circular rebalance 0 → 3 → 1 → 0
/// (2 sat) brings it back, from the payer's balance on 0–3.
///
/// Only 0–1 is [`crate::ClusterSpec::capacity_sat`]; the other three are
/// [`crate::cluster::detour::WIDE`] times it. With equal channels the hub's channel to
/// the payee, 1–2, would drain with 0–1 (it carries every payment) and refilling 0–1
/// would change nothing; and 0–3 and 3–1 hold what rebalancing can move, so they must
/// hold more than 0–1 for rebalancing to carry the payer well past the point where 0–1
/// alone runs out.
pub mod detour {
    /// How many nodes a detour has (exactly).
    pub const NODES: usize = 4;
    /// The payer.
    pub const PAYER: usize = 0;
    /// The hub: the cheap route's router.
    pub const HUB: usize = 1;
    /// The payee.
    pub const PAYEE: usize = 2;
    /// The detour: the dear route's extra router.
    pub const DETOUR: usize = 3;
    /// The index in [`crate::Plan::channels`] of 0–1, the direct channel that drains.
    pub const DIRECT: usize = 0;
    /// The index of 1–2, the hub's channel to the payee.
    pub const HUB_PAYEE: usize = 1;
    /// The index of 0–3, the payer's balance a rebalance draws on.
    pub const SOURCE: usize = 2;
    /// The index of 3–1, the way back to the hub.
    pub const RETURN: usize = 3;
    /// The other channels' capacity over the direct channel's.
    pub const WIDE: u64 = 4;
}

impl FromStr for Topology {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Error> {
        match name {
            "line" => Ok(Topology::Line),
            "star" => Ok(Topology::Star),
            "ring" => Ok(Topology::Ring),
            "detour" => Ok(Topology::Detour),
            other => Err(Error::Usage(format!(
                "`{other}` is not a topology: line, star, ring or detour"
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
            Topology::Detour => "detour",
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
    /// Each channel's capacity (the detour's wide channels take a multiple,
    /// [`Topology::channel_capacity_sat`]); the opener (the payer side) holds all of it at
    /// first.
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
            Topology::Detour => {
                if n != detour::NODES {
                    return Err(Error::Usage(format!(
                        "a detour is a payer, a hub, a payee and a detour: exactly {} nodes, \
                         not {n}",
                        detour::NODES
                    )));
                }
                use detour::{DETOUR, HUB, PAYEE, PAYER};
                Plan {
                    // In the order of detour::DIRECT, HUB_PAYEE, SOURCE, RETURN.
                    channels: vec![(PAYER, HUB), (HUB, PAYEE), (PAYER, DETOUR), (DETOUR, HUB)],
                    pairs: vec![(PAYER, PAYEE)],
                }
            }
        })
    }

    /// The capacity of the plan's channel number `channel`, sat.
    pub fn channel_capacity_sat(&self, channel: usize) -> u64 {
        self.topology
            .channel_capacity_sat(channel, self.capacity_sat)
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
        Cluster::start_with(binary, spec, |chain, _| options(chain))
    }

    /// [`Cluster::start`] with node `i` run with `options(chain, i)` (one node with a
    /// config section of its own, say).
    pub fn start_with(
        binary: &SluiceBinary,
        spec: ClusterSpec,
        options: impl Fn(&ChainProcess, usize) -> NodeOptions,
    ) -> Result<Cluster, Error> {
        let plan = spec.plan()?;
        let chain = ChainProcess::launch(binary)?;
        let names: Vec<String> = (0..spec.nodes).map(|i| format!("node-{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let nodes = launch_nodes(binary, &names, |i| options(&chain, i))?;
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

    /// Funds `node`'s pool's RRP partition with at least `sat` (creating the pool if the
    /// node runs none): see [`crate::pool::fund_rrp`]. Mines 100 blocks or more.
    pub fn fund_rrp(&self, node: usize, sat: u64) -> Result<crate::pool::RrpFunding, Error> {
        let node = self
            .nodes
            .get(node)
            .ok_or_else(|| Error::Usage(format!("the cluster has no node {node}")))?;
        crate::pool::fund_rrp(&node.client(), &self.rpc(), sat)
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
            let needed = self.opened_by(i) + 1;
            wait_for(
                &format!("{}'s coinbases to mature", node.name()),
                STEP_TIMEOUT,
                || Ok((node.client().wallet_balance()?.spendable_sat >= needed).then_some(())),
            )?;
        }
        Ok(())
    }

    /// What node `i` puts into the channels it opens, sat.
    fn opened_by(&self, i: usize) -> u64 {
        self.plan
            .channels
            .iter()
            .enumerate()
            .filter(|(_, (opener, _))| *opener == i)
            .map(|(channel, _)| self.spec.channel_capacity_sat(channel))
            .fold(0, u64::saturating_add)
    }

    /// Opens every channel (one at a time per opener, each funding transaction in the
    /// mempool before the next), confirms them all, and waits until each is usable on
    /// both sides.
    fn open_channels(&self) -> Result<(), Error> {
        let rpc = self.rpc();
        for (channel, &(opener, peer)) in self.plan.channels.iter().enumerate() {
            let (opener, peer) = (&self.nodes[opener], &self.nodes[peer]);
            let capacity_sat = self.spec.channel_capacity_sat(channel);
            open_channel(opener, peer, &rpc, capacity_sat, true, false)?;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec(topology: Topology, nodes: usize) -> ClusterSpec {
        ClusterSpec {
            topology,
            nodes,
            capacity_sat: 2_000_000,
        }
    }

    #[test]
    fn topologies_parse_by_name_and_print_it() {
        for topology in [
            Topology::Line,
            Topology::Star,
            Topology::Ring,
            Topology::Detour,
        ] {
            let name = topology.to_string();
            assert_eq!(name.parse::<Topology>().unwrap(), topology);
            // The manifest's spelling is the same.
            assert_eq!(serde_json::to_value(topology).unwrap(), name.as_str());
        }
        assert!(matches!("mesh".parse::<Topology>(), Err(Error::Usage(_))));
    }

    #[test]
    fn a_detour_is_four_nodes_with_a_cheap_route_and_a_dear_one() {
        for nodes in [3, 5] {
            assert!(
                matches!(spec(Topology::Detour, nodes).plan(), Err(Error::Usage(_))),
                "{nodes}"
            );
        }
        assert_eq!(Topology::Detour.min_nodes(), 4);
        let plan = spec(Topology::Detour, 4).plan().unwrap();
        assert_eq!(plan.channels, vec![(0, 1), (1, 2), (0, 3), (3, 1)]);
        assert_eq!(plan.pairs, vec![(0, 2)]);
        let c = &plan.channels;
        assert_eq!(c[detour::DIRECT], (detour::PAYER, detour::HUB));
        assert_eq!(c[detour::HUB_PAYEE], (detour::HUB, detour::PAYEE));
        assert_eq!(c[detour::SOURCE], (detour::PAYER, detour::DETOUR));
        assert_eq!(c[detour::RETURN], (detour::DETOUR, detour::HUB));
        // The cheap route crosses two channels (one forwarding fee)...
        assert_eq!(plan.min_hops(0, 2), Some(2));
        // ...and without the direct channel the payer's only route crosses three (two
        // forwarding fees), the circular one back to itself too.
        let without_direct = Plan {
            channels: c
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != detour::DIRECT)
                .map(|(_, channel)| *channel)
                .collect(),
            pairs: plan.pairs.clone(),
        };
        assert_eq!(without_direct.min_hops(0, 2), Some(3));
        assert_eq!(without_direct.min_hops(0, 1), Some(2));
    }

    #[test]
    fn only_the_detours_direct_channel_is_narrow() {
        let detour = spec(Topology::Detour, 4);
        let capacities: Vec<u64> = (0..4).map(|i| detour.channel_capacity_sat(i)).collect();
        assert_eq!(capacities, [2_000_000, 8_000_000, 8_000_000, 8_000_000]);
        for (topology, nodes) in [
            (Topology::Line, 3),
            (Topology::Star, 5),
            (Topology::Ring, 4),
        ] {
            let spec = spec(topology, nodes);
            let channels = spec.plan().unwrap().channels.len();
            assert!((0..channels).all(|i| spec.channel_capacity_sat(i) == 2_000_000));
        }
    }
}
