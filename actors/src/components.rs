//! [`Components`]: the LDK objects of a running node, built by the node crate and shared
//! by the actors (each an `Arc`; LDK synchronises internally).

use std::sync::{Arc, Mutex};

use bitcoin::Network;
use sluice_storage::Store;

use crate::budgets::Budgets;
use crate::chain::{Broadcaster, ChainClient, FeeRates};
use crate::channel_policy::ChannelPolicy;
use crate::handles::Actors;
use crate::health::HealthBoard;
use crate::liquidity_messages::{LspsOutbox, PeerPort};
use crate::logger::LdkLogger;
use crate::lsps2::Lsps2Config;
use crate::lsps5::WebhookSender;
use crate::nostr::Mirror;
use crate::payments::settle::Settling;
use crate::payments::SendWindow;
use crate::persist::{LdkStore, MonitorPersister, PersistQueue};
use crate::types::{
    BumpHandler, ChainMonitor, ChannelManager, Graph, LiquidityManager, MonitorReader, NodeKeys,
    OnionMessenger, P2PGossipSync, PeerManager, Router, Scorer, Sweeper,
};
use crate::wallet::OnchainWallet;

/// Everything the node's actors share.
#[derive(Clone)]
pub struct Components {
    /// The network the node runs on.
    pub network: Network,
    /// The store (LDK data and ledger tables).
    pub store: Arc<Store>,
    /// The store as LDK's components write it (channel manager
    /// writes ordered with monitor writes).
    pub ldk_store: Arc<LdkStore>,
    /// Monitor and manager writes waiting for the persistence writer.
    pub persist_queue: Arc<PersistQueue>,
    /// LDK's channel monitor persister (also asked how large each monitor has grown).
    pub monitor_persister: Arc<MonitorPersister>,
    /// Reads stored channel monitors back.
    pub monitor_reader: Arc<MonitorReader>,
    /// The chain backend's RPC client.
    pub chain: Arc<ChainClient>,
    /// Fee estimates.
    pub fees: Arc<FeeRates>,
    /// The transaction broadcaster.
    pub broadcaster: Arc<Broadcaster>,
    /// LDK's logger.
    pub logger: Arc<LdkLogger>,
    /// Node and channel keys.
    pub keys: Arc<NodeKeys>,
    /// The chain monitor.
    pub chain_monitor: Arc<ChainMonitor>,
    /// The channel manager.
    pub channel_manager: Arc<ChannelManager>,
    /// The network graph.
    pub graph: Arc<Graph>,
    /// The scorer.
    pub scorer: Arc<Mutex<Scorer>>,
    /// The router.
    pub router: Arc<Router>,
    /// Gossip handling.
    pub gossip: Arc<P2PGossipSync>,
    /// The onion messenger.
    pub onion_messenger: Arc<OnionMessenger>,
    /// The peer manager.
    pub peer_manager: Arc<PeerManager>,
    /// The output sweeper.
    pub sweeper: Arc<Sweeper>,
    /// The on-chain wallet.
    pub wallet: Arc<OnchainWallet>,
    /// Fee bumps of anchor channels' transactions, paid by the wallet.
    pub bump: Arc<BumpHandler>,
    /// Which inbound channels to accept, and which as zero-conf.
    pub channel_policy: Arc<ChannelPolicy>,
    /// What the node's parts report about their health.
    pub health: Arc<HealthBoard>,
    /// Slots for outgoing payments in flight.
    pub send_window: Arc<SendWindow>,
    /// The API tokens' spend budgets.
    pub budgets: Arc<Budgets>,
    /// Payments whose outcome is being written (see [`crate::payments::settle::Settling`]).
    pub settling: Arc<Settling>,
    /// LSPS protocols over the peer connections (lightning-liquidity).
    pub liquidity: Arc<LiquidityManager>,
    /// The LSPS2 JIT channel service's settings; `None` when the node does not sell JIT
    /// channels.
    pub lsps2: Option<Arc<Lsps2Config>>,
    /// Delivers LSPS5 webhook notifications; `None` when clients cannot register webhooks.
    pub webhooks: Option<Arc<WebhookSender>>,
    /// Tells subscribers when a peer connects.
    pub peer_connected: PeerPort,
    /// LSPS answers the node sends itself, beside lightning-liquidity's.
    pub lsps_outbox: Arc<LspsOutbox>,
    /// The Nostr mirror's key and relays; `None` when the node publishes nothing (no
    /// relays configured), and then no event is staged either.
    pub mirror: Option<Arc<Mirror>>,
    /// The running actors, as the supervisor last started them.
    pub actors: Actors,
}
