//! Names for LDK's heavily generic types, as this node instantiates them. Everything is
//! shared through `Arc`s; LDK objects synchronise internally.

use std::sync::Arc;

use lightning::chain::chainmonitor;
use lightning::chain::Filter;
use lightning::ln::peer_handler::IgnoringMessageHandler;
use lightning::routing::gossip;
use lightning::routing::scoring::ProbabilisticScorer;
use lightning::util::persist::MonitorUpdatingPersister;
use lightning_net_tokio::SocketDescriptor;
use sluice_storage::Store;

use crate::chain::{Broadcaster, FeeRates};
use crate::logger::LdkLogger;
use crate::persist::{LdkStore, MonitorPersister};

/// The node's keys: LDK's key manager (node and channel keys from the node seed),
/// counting signatures.
pub type NodeKeys = crate::keys::NodeKeys;

/// A channel's signer.
pub type ChannelSigner = crate::keys::CountingSigner;

/// A chain filter; none is used (blocks arrive whole from the RPC backend).
pub type DynFilter = dyn Filter + Send + Sync;

/// Reads the stored channel monitors (with their updates applied) at start and for
/// archiving. Writing goes through [`MonitorPersister`] instead.
pub type MonitorReader = MonitorUpdatingPersister<
    Arc<Store>,
    Arc<LdkLogger>,
    Arc<NodeKeys>,
    Arc<NodeKeys>,
    Arc<Broadcaster>,
    Arc<FeeRates>,
>;

/// The chain monitor watching every channel's on-chain state.
pub type ChainMonitor = chainmonitor::ChainMonitor<
    ChannelSigner,
    Arc<DynFilter>,
    Arc<Broadcaster>,
    Arc<FeeRates>,
    Arc<LdkLogger>,
    Arc<MonitorPersister>,
    Arc<NodeKeys>,
>;

/// The network graph learned from gossip.
pub type Graph = gossip::NetworkGraph<Arc<LdkLogger>>;

/// The payment-success scorer the router consults.
pub type Scorer = ProbabilisticScorer<Arc<Graph>, Arc<LdkLogger>>;

/// The router the channel manager (and the pathfinding workers) use: LDK's default
/// router with the operator's exclusions.
pub type Router = crate::pathfinding::SluiceRouter;

/// Blinded-path and onion-message routing.
pub type MessageRouter = lightning::onion_message::messenger::DefaultMessageRouter<
    Arc<Graph>,
    Arc<LdkLogger>,
    Arc<NodeKeys>,
>;

/// The channel manager: channels, HTLCs, payments.
pub type ChannelManager = lightning::ln::channelmanager::ChannelManager<
    Arc<ChainMonitor>,
    Arc<Broadcaster>,
    Arc<NodeKeys>,
    Arc<NodeKeys>,
    Arc<NodeKeys>,
    Arc<FeeRates>,
    Arc<Router>,
    Arc<MessageRouter>,
    Arc<LdkLogger>,
>;

/// The onion messenger (offers, async payments and DNS resolution are not served yet).
pub type OnionMessenger = lightning::onion_message::messenger::OnionMessenger<
    Arc<NodeKeys>,
    Arc<NodeKeys>,
    Arc<LdkLogger>,
    Arc<ChannelManager>,
    Arc<MessageRouter>,
    Arc<ChannelManager>,
    Arc<IgnoringMessageHandler>,
    Arc<IgnoringMessageHandler>,
    Arc<IgnoringMessageHandler>,
>;

/// Checks that an announced channel's funding output exists, unspent, on chain (with
/// `getblockhash`, `getblock` and `gettxout`) before gossip about it enters the graph.
pub type GossipVerifier = lightning_block_sync::gossip::GossipVerifier<
    lightning_block_sync::gossip::TokioSpawner,
    Arc<lightning_block_sync::rpc::RpcClient>,
    Arc<LdkLogger>,
>;

/// Gossip handling over the peer-to-peer network.
pub type P2PGossipSync = gossip::P2PGossipSync<Arc<Graph>, Arc<GossipVerifier>, Arc<LdkLogger>>;

/// LSPS protocols (lightning-liquidity): LSPS0 discovery and the LSPS2 JIT channel
/// service, speaking over the peer manager's custom messages. Its state goes to the store.
pub type LiquidityManager = lightning_liquidity::LiquidityManager<
    Arc<NodeKeys>,
    Arc<NodeKeys>,
    Arc<ChannelManager>,
    Arc<DynFilter>,
    Arc<Store>,
    lightning_liquidity::utils::time::DefaultTimeProvider,
    Arc<Broadcaster>,
>;

/// The peer manager: connections, the noise handshake, message dispatch.
pub type PeerManager = lightning::ln::peer_handler::PeerManager<
    SocketDescriptor,
    Arc<ChannelManager>,
    Arc<P2PGossipSync>,
    Arc<OnionMessenger>,
    Arc<LdkLogger>,
    Arc<crate::liquidity_messages::LiquidityMessages>,
    Arc<NodeKeys>,
    Arc<ChainMonitor>,
>;

/// Sweeps outputs of closed channels to the on-chain wallet.
pub type Sweeper = lightning::util::sweep::OutputSweeper<
    Arc<Broadcaster>,
    Arc<lightning::sign::ChangeDestinationSourceSyncWrapper<Arc<crate::wallet::OnchainWallet>>>,
    Arc<FeeRates>,
    Arc<DynFilter>,
    Arc<LdkStore>,
    Arc<LdkLogger>,
    Arc<NodeKeys>,
>;

/// The wallet as LDK's coin selection for fee bumps.
pub type BumpWallet = lightning::events::bump_transaction::sync::WalletSync<
    Arc<crate::wallet::OnchainWallet>,
    Arc<LdkLogger>,
>;

/// Pays for anchor channels' fee bumps from the on-chain wallet.
pub type BumpHandler = lightning::events::bump_transaction::sync::BumpTransactionEventHandlerSync<
    Arc<Broadcaster>,
    Arc<BumpWallet>,
    Arc<NodeKeys>,
    Arc<LdkLogger>,
>;
