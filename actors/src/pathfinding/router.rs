//! [`SluiceRouter`]: LDK's [`DefaultRouter`] with the operator's exclusions applied to every
//! route, whether pathfinding quotes it or the channel manager retries a payment with it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use bitcoin::secp256k1::{PublicKey, Secp256k1, Signing, Verification};
use lightning::blinded_path::payment::{BlindedPaymentPath, ReceiveTlvs};
use lightning::ln::channel_state::ChannelDetails;
use lightning::routing::gossip::NodeId;
use lightning::routing::router::{
    DefaultRouter, InFlightHtlcs, Payee, Route, RouteHint, RouteParameters, Router as LdkRouter,
};
use lightning::routing::scoring::ProbabilisticScoringFeeParameters;

use crate::logger::LdkLogger;
use crate::types::{Graph, NodeKeys, Scorer};

/// Nodes and channels no route may use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingExclusions {
    /// Nodes no route passes through (a payment *to* one of them cannot be routed).
    pub nodes: Vec<PublicKey>,
    /// Channels (short channel ids) no route uses, first hops included.
    pub channels: Vec<u64>,
}

type Inner = DefaultRouter<
    Arc<Graph>,
    Arc<LdkLogger>,
    Arc<NodeKeys>,
    Arc<Mutex<Scorer>>,
    ProbabilisticScoringFeeParameters,
    Scorer,
>;

/// The node's one router: the channel manager sends and retries payments with it and the
/// pathfinding workers quote with it, so a quote and the payment that follows see the same
/// graph, scorer and exclusions.
///
/// Excluded nodes are banned in the scorer's fee parameters (an infinite penalty, which
/// LDK's pathfinding never takes over a public hop), our channels to them are left out of
/// the first hops, and route hints through them are dropped; a payment *to* one is
/// refused. Excluded channels are added to each request's
/// `previously_failed_channels`, which LDK's pathfinding skips. An invoice's route hints
/// usually name the payee's channels by an alias rather than the real short channel id,
/// so a hint with a hop between the two ends of an excluded channel (looked up in the
/// graph) is dropped too.
pub struct SluiceRouter {
    inner: Inner,
    graph: Arc<Graph>,
    excluded_nodes: HashSet<NodeId>,
    excluded_channels: HashSet<u64>,
}

impl SluiceRouter {
    /// A router over `graph` and `scorer` that never uses what `exclusions` lists.
    pub fn new(
        graph: Arc<Graph>,
        logger: Arc<LdkLogger>,
        keys: Arc<NodeKeys>,
        scorer: Arc<Mutex<Scorer>>,
        exclusions: &RoutingExclusions,
    ) -> Self {
        let mut params = ProbabilisticScoringFeeParameters::default();
        let banned: Vec<NodeId> = exclusions.nodes.iter().map(NodeId::from_pubkey).collect();
        params.add_banned_from_list(banned);
        SluiceRouter {
            inner: DefaultRouter::new(Arc::clone(&graph), logger, keys, scorer, params),
            graph,
            excluded_nodes: exclusions.nodes.iter().map(NodeId::from_pubkey).collect(),
            excluded_channels: exclusions.channels.iter().copied().collect(),
        }
    }

    /// `params` with the excluded channels marked as failed and the route hints through
    /// excluded channels or nodes dropped, so no route uses them.
    fn excluding(&self, params: &RouteParameters) -> RouteParameters {
        let mut params = params.clone();
        let failed = &mut params.payment_params.previously_failed_channels;
        for scid in &self.excluded_channels {
            if !failed.contains(scid) {
                failed.push(*scid);
            }
        }
        let ends: Vec<(NodeId, NodeId)> = {
            let graph = self.graph.read_only();
            self.excluded_channels
                .iter()
                .filter_map(|scid| graph.channel(*scid))
                .map(|channel| (channel.node_one, channel.node_two))
                .collect()
        };
        if let Payee::Clear {
            node_id,
            route_hints,
            ..
        } = &mut params.payment_params.payee
        {
            let payee = NodeId::from_pubkey(node_id);
            route_hints.retain(|hint| !self.hint_uses_excluded(hint, payee, &ends));
        }
        params
    }

    /// Whether a hop of `hint` (a path ending at `payee`) is an excluded channel, runs
    /// between the two ends of one, or touches an excluded node.
    fn hint_uses_excluded(
        &self,
        hint: &RouteHint,
        payee: NodeId,
        ends: &[(NodeId, NodeId)],
    ) -> bool {
        hint.0.iter().enumerate().any(|(i, hop)| {
            let from = NodeId::from_pubkey(&hop.src_node_id);
            let to = hint
                .0
                .get(i + 1)
                .map_or(payee, |next| NodeId::from_pubkey(&next.src_node_id));
            self.excluded_channels.contains(&hop.short_channel_id)
                || self.excluded_nodes.contains(&from)
                || self.excluded_nodes.contains(&to)
                || ends.contains(&(from, to))
                || ends.contains(&(to, from))
        })
    }
}

impl LdkRouter for SluiceRouter {
    fn find_route(
        &self,
        payer: &PublicKey,
        route_params: &RouteParameters,
        first_hops: Option<&[&ChannelDetails]>,
        inflight_htlcs: InFlightHtlcs,
    ) -> Result<Route, &'static str> {
        if self.excluded_channels.is_empty() && self.excluded_nodes.is_empty() {
            return self
                .inner
                .find_route(payer, route_params, first_hops, inflight_htlcs);
        }
        if let Payee::Clear { node_id, .. } = &route_params.payment_params.payee {
            if self.excluded_nodes.contains(&NodeId::from_pubkey(node_id)) {
                return Err("the payee is a node the operator excluded");
            }
        }
        let allowed: Option<Vec<&ChannelDetails>> = first_hops.map(|hops| {
            hops.iter()
                .copied()
                .filter(|hop| {
                    !self
                        .excluded_nodes
                        .contains(&NodeId::from_pubkey(&hop.counterparty.node_id))
                })
                .collect()
        });
        self.inner.find_route(
            payer,
            &self.excluding(route_params),
            allowed.as_deref(),
            inflight_htlcs,
        )
    }

    fn create_blinded_payment_paths<T: Signing + Verification>(
        &self,
        recipient: PublicKey,
        first_hops: Vec<ChannelDetails>,
        tlvs: ReceiveTlvs,
        amount_msats: Option<u64>,
        secp_ctx: &Secp256k1<T>,
    ) -> Result<Vec<BlindedPaymentPath>, ()> {
        self.inner
            .create_blinded_payment_paths(recipient, first_hops, tlvs, amount_msats, secp_ctx)
    }
}
