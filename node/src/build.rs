//! Building the node's LDK objects from the store, the seed and the chain backend, and
//! bringing every chain listener to the backend's tip before anything runs.
//!
//! Order matters: monitors are read first (they are the source of truth for funds), the
//! channel manager second (it never lags the stored monitors: see
//! [`sluice_actors::persist`]; updates it lists as in flight are replayed), then both are
//! synced to the chain tip, and only then are the monitors handed to the chain monitor.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::secp256k1::PublicKey;
use bitcoin::{BlockHash, Network};
use lightning::chain::channelmonitor::ChannelMonitor;
use lightning::chain::{BestBlock, ChannelMonitorUpdateStatus};
use lightning::events::bump_transaction::sync::{BumpTransactionEventHandlerSync, WalletSync};
use lightning::ln::channelmanager::{ChainParameters, ChannelManagerReadArgs};
use lightning::ln::peer_handler::{IgnoringMessageHandler, MessageHandler};
use lightning::routing::gossip::NetworkGraph;
use lightning::routing::scoring::{ProbabilisticScorer, ProbabilisticScoringDecayParameters};
use lightning::sign::{ChangeDestinationSourceSyncWrapper, EntropySource, NodeSigner};
use lightning::util::config::UserConfig;
use lightning::util::persist::{
    KVStoreSync, MonitorUpdatingPersister, CHANNEL_MANAGER_PERSISTENCE_KEY,
    CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE, CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
    NETWORK_GRAPH_PERSISTENCE_KEY, NETWORK_GRAPH_PERSISTENCE_PRIMARY_NAMESPACE,
    NETWORK_GRAPH_PERSISTENCE_SECONDARY_NAMESPACE, OUTPUT_SWEEPER_PERSISTENCE_KEY,
    OUTPUT_SWEEPER_PERSISTENCE_PRIMARY_NAMESPACE, OUTPUT_SWEEPER_PERSISTENCE_SECONDARY_NAMESPACE,
    SCORER_PERSISTENCE_KEY, SCORER_PERSISTENCE_PRIMARY_NAMESPACE,
    SCORER_PERSISTENCE_SECONDARY_NAMESPACE,
};
use lightning::util::ser::{ReadableArgs, Writeable};
use lightning_block_sync::gossip::TokioSpawner;
use lightning_block_sync::init::{synchronize_listeners, validate_best_block_header};
use lightning_block_sync::poll::ValidatedBlockHeader;
use lightning_block_sync::UnboundedCache;
use lightning_liquidity::lsps2::service::LSPS2ServiceConfig;
use lightning_liquidity::lsps5::service::LSPS5ServiceConfig;
use lightning_liquidity::LiquidityServiceConfig;
use ractor::OutputPort;
use sluice_actors::budgets::{BudgetPolicy, Budgets};
use sluice_actors::chain::{Broadcaster, ChainClient, FeeRates, RpcEndpoint};
use sluice_actors::channel_policy::ChannelPolicy;
use sluice_actors::handles::Actors;
use sluice_actors::health::HealthBoard;
use sluice_actors::liquidity_messages::{LiquidityMessages, LspsOutbox, PeerPort};
use sluice_actors::logger::LdkLogger;
use sluice_actors::lsps2::Lsps2Config;
use sluice_actors::lsps5::{Lsps5Config, WebhookSender};
use sluice_actors::nostr::{Mirror, NostrConfig};
use sluice_actors::pathfinding::{RoutingExclusions, SluiceRouter};
use sluice_actors::payments::settle::Settling;
use sluice_actors::payments::{SendWindow, DEFAULT_MAX_WAIT};
use sluice_actors::persist::{LdkStore, MonitorPersister, PersistQueue, FULL_MONITOR_EVERY};
use sluice_actors::types::{
    ChainMonitor, ChannelManager, ChannelSigner, DynFilter, GossipVerifier, LiquidityManager,
    MonitorReader, NodeKeys,
};
use sluice_actors::wallet::OnchainWallet;
use sluice_actors::Components;
use sluice_storage::Store;
use tokio::sync::mpsc;

/// Why the node cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The chain backend is unreachable or serves another network.
    #[error("{0}")]
    Chain(String),
    /// Stored state could not be read: the store is damaged or from another node.
    #[error("stored {what} cannot be read: {detail}")]
    CorruptState {
        /// What failed to load.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// Anything else that stops the start.
    #[error("{0}")]
    Other(String),
}

/// What [`build`] needs besides the store and the seed.
pub struct BuildParams {
    /// The network.
    pub network: Network,
    /// The chain backend.
    pub endpoint: RpcEndpoint,
    /// Which inbound channels to accept, and which as zero-conf.
    pub channel_policy: ChannelPolicy,
    /// Nodes and channels no route may use.
    pub exclusions: RoutingExclusions,
    /// How many outgoing payments may be in flight at once.
    pub send_window: usize,
    /// The API tokens' spend budgets, by token SHA-256 (hex).
    pub budgets: HashMap<String, BudgetPolicy>,
    /// What the node charges to forward, on channels opened from now on.
    pub forwarding_fees: ForwardingFees,
    /// The LSPS2 JIT channel service's settings, if the node sells JIT channels.
    pub lsps2: Option<Lsps2Config>,
    /// LSPS5 webhooks' settings, if clients may register webhooks.
    pub lsps5: Option<Lsps5Config>,
    /// The Nostr mirror's settings, if the config has a `[nostr]` section.
    pub nostr: Option<NostrConfig>,
}

/// The built node and the pieces its tasks still need.
pub struct Built {
    /// The shared LDK objects.
    pub components: Components,
    /// The broadcaster's queue, drained by the broadcast task.
    pub broadcasts: mpsc::UnboundedReceiver<Vec<bitcoin::Transaction>>,
    /// Headers seen during the initial sync, reused by the block poller.
    pub header_cache: UnboundedCache,
    /// The tip everything was synced to.
    pub tip: ValidatedBlockHeader,
}

fn corrupt(what: &'static str) -> impl Fn(lightning::io::Error) -> StartError {
    move |e| StartError::CorruptState {
        what,
        detail: e.to_string(),
    }
}

/// The largest channel a peer may open to us: 100 BTC. Above 2^24 sat a channel is a
/// large channel (`option_support_large_channel`, which LDK advertises); a router's
/// channels carry many payments, and 2^24 sat is only about 1,600 payments of 10,000 sat
/// one way.
pub const MAX_INBOUND_CHANNEL_SAT: u64 = 10_000_000_000;

/// The most HTLCs we let a peer have pending towards us on one channel: the protocol's
/// limit (BOLT 2), so concurrency is capped by the peers' limits, not ours (LDK's
/// default is 50).
pub const MAX_ACCEPTED_HTLCS: u16 = 483;

/// What the node charges to forward a payment: a base fee and a share of the amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardingFees {
    /// Per forward, msat.
    pub base_msat: u32,
    /// Per forwarded amount, millionths.
    pub ppm: u32,
}

/// The channel configuration sluice uses: anchor channels, large channels, the most
/// HTLCs in flight the protocol allows, every inbound channel put to the channel policy
/// (0-conf only for trusted peers), and splices from peers accepted. An LSP (`lsps2`)
/// also intercepts HTLCs sent to the SCIDs it sells and forwards over its clients'
/// unannounced channels. New channels charge `fees` to forward.
pub fn user_config(lsps2: bool, fees: ForwardingFees) -> UserConfig {
    let mut config = UserConfig {
        accept_intercept_htlcs: lsps2,
        accept_forwards_to_priv_channels: lsps2,
        ..UserConfig::default()
    };
    config.channel_config.forwarding_fee_base_msat = fees.base_msat;
    config.channel_config.forwarding_fee_proportional_millionths = fees.ppm;
    // Anchor outputs: commitments carry a minimal fee and are bumped (CPFP) from the
    // on-chain wallet when they must confirm, so a fee spike cannot strand them.
    config
        .channel_handshake_config
        .negotiate_anchors_zero_fee_htlc_tx = true;
    config
        .channel_handshake_config
        .max_inbound_htlc_value_in_flight_percent_of_channel = 100;
    config
        .channel_handshake_limits
        .force_announced_channel_preference = false;
    config.channel_handshake_limits.max_funding_satoshis = MAX_INBOUND_CHANNEL_SAT;
    config.channel_handshake_config.our_max_accepted_htlcs = MAX_ACCEPTED_HTLCS;
    // Every inbound channel is answered by the channel policy (zero-conf for trusted
    // peers, anchors refused).
    config.manually_accept_inbound_channels = true;
    // A busy channel's monitor only shrinks when a splice replaces its funding output
    // (`sluice_actors::refresh`): peers may splice the channels they share with this node
    // (as it splices its own). The acceptor of a splice contributes nothing and pays nothing.
    config.reject_inbound_splices = false;
    config
}

/// Builds every LDK object and syncs the chain listeners to the backend's tip.
pub async fn build(params: BuildParams, store: Store, seed: [u8; 32]) -> Result<Built, StartError> {
    let network = params.network;
    let lsp = params.lsps2.is_some();
    let forwarding_fees = params.forwarding_fees;
    let chain = Arc::new(ChainClient::new(&params.endpoint));
    chain
        .check_network(network)
        .await
        .map_err(|e| StartError::Chain(e.to_string()))?;

    let store = Arc::new(store);
    let logger = Arc::new(LdkLogger);
    let fees = Arc::new(FeeRates::default());
    let (broadcaster, broadcasts) = Broadcaster::new();
    let broadcaster = Arc::new(broadcaster);
    let started = sluice_actors::clock::since_epoch();
    let keys = Arc::new(NodeKeys::new(
        &seed,
        started.as_secs(),
        started.subsec_nanos(),
    ));

    let reader: Arc<MonitorReader> = Arc::new(MonitorUpdatingPersister::new(
        Arc::clone(&store),
        Arc::clone(&logger),
        FULL_MONITOR_EVERY,
        Arc::clone(&keys),
        Arc::clone(&keys),
        Arc::clone(&broadcaster),
        Arc::clone(&fees),
    ));
    // Everything stored is read on the blocking pool, never on the executor.
    let loaded = {
        let (reader, store) = (Arc::clone(&reader), Arc::clone(&store));
        let endpoint = params.endpoint.clone();
        tokio::task::spawn_blocking(move || load_stored(&reader, &store, &seed, network, &endpoint))
            .await
            .map_err(|e| StartError::Other(format!("loading stored state panicked: {e}")))??
    };
    let Stored {
        mut monitors,
        blobs,
        wallet,
    } = loaded;
    let wallet = Arc::new(wallet);
    let persist_queue = Arc::new(PersistQueue::new());
    let ldk_store = Arc::new(LdkStore::new(
        Arc::clone(&store),
        Arc::clone(&persist_queue),
    ));
    let persister = Arc::new(MonitorPersister::new(Arc::clone(&persist_queue)));
    let chain_monitor: Arc<ChainMonitor> = Arc::new(ChainMonitor::new(
        None::<Arc<DynFilter>>,
        Arc::clone(&broadcaster),
        Arc::clone(&logger),
        Arc::clone(&fees),
        Arc::clone(&persister),
        Arc::clone(&keys),
        keys.get_peer_storage_key(),
    ));

    let graph = Arc::new(match blobs.graph {
        Some(bytes) => NetworkGraph::read(&mut &bytes[..], Arc::clone(&logger)).map_err(|e| {
            StartError::CorruptState {
                what: "network graph",
                detail: format!("{e:?}"),
            }
        })?,
        None => NetworkGraph::new(network, Arc::clone(&logger)),
    });
    let decay = ProbabilisticScoringDecayParameters::default();
    let scorer = Arc::new(Mutex::new(match blobs.scorer {
        Some(bytes) => ProbabilisticScorer::read(
            &mut &bytes[..],
            (decay, Arc::clone(&graph), Arc::clone(&logger)),
        )
        .map_err(|e| StartError::CorruptState {
            what: "scorer",
            detail: format!("{e:?}"),
        })?,
        None => ProbabilisticScorer::new(decay, Arc::clone(&graph), Arc::clone(&logger)),
    }));
    let router = Arc::new(SluiceRouter::new(
        Arc::clone(&graph),
        Arc::clone(&logger),
        Arc::clone(&keys),
        Arc::clone(&scorer),
        &params.exclusions,
    ));
    let message_router = Arc::new(
        lightning::onion_message::messenger::DefaultMessageRouter::new(
            Arc::clone(&graph),
            Arc::clone(&keys),
        ),
    );

    // The channel manager: read it if the node has one, else start at the chain's tip.
    let rpc = Arc::clone(chain.rpc());
    let best = validate_best_block_header(&*rpc)
        .await
        .map_err(|e| StartError::Chain(format!("chain backend: reading the best block: {e:?}")))?;
    let (manager_hash, channel_manager) = match blobs.manager {
        Some(bytes) => {
            let args = ChannelManagerReadArgs::new(
                Arc::clone(&keys),
                Arc::clone(&keys),
                Arc::clone(&keys),
                Arc::clone(&fees),
                Arc::clone(&chain_monitor),
                Arc::clone(&broadcaster),
                Arc::clone(&router),
                Arc::clone(&message_router),
                Arc::clone(&logger),
                user_config(lsp, forwarding_fees),
                monitors.iter().map(|(_, m)| m).collect(),
            );
            let (hash, manager) = <(BlockHash, ChannelManager)>::read(&mut &bytes[..], args)
                .map_err(|e| StartError::CorruptState {
                    what: "channel manager",
                    detail: format!("{e:?}"),
                })?;
            (hash, Arc::new(manager))
        }
        None => {
            if !monitors.is_empty() {
                return Err(StartError::CorruptState {
                    what: "channel manager",
                    detail: "channel monitors exist but the channel manager is missing".into(),
                });
            }
            let params = ChainParameters {
                network,
                best_block: BestBlock::new(best.header.block_hash(), best.height),
            };
            let manager = ChannelManager::new(
                Arc::clone(&fees),
                Arc::clone(&chain_monitor),
                Arc::clone(&broadcaster),
                Arc::clone(&router),
                Arc::clone(&message_router),
                Arc::clone(&logger),
                Arc::clone(&keys),
                Arc::clone(&keys),
                Arc::clone(&keys),
                user_config(lsp, forwarding_fees),
                params,
                started.as_secs() as u32,
            );
            (best.header.block_hash(), Arc::new(manager))
        }
    };

    let change_destination = Arc::new(ChangeDestinationSourceSyncWrapper::new(Arc::clone(&wallet)));
    let sweeper =
        Arc::new(match blobs.sweeper {
            Some(bytes) => {
                let args = (
                    Arc::clone(&broadcaster),
                    Arc::clone(&fees),
                    None::<Arc<DynFilter>>,
                    Arc::clone(&keys),
                    Arc::clone(&change_destination),
                    Arc::clone(&ldk_store),
                    Arc::clone(&logger),
                );
                let (_, sweeper): (BestBlock, _) = ReadableArgs::read(&mut &bytes[..], args)
                    .map_err(|e| StartError::CorruptState {
                        what: "output sweeper",
                        detail: format!("{e:?}"),
                    })?;
                sweeper
            }
            None => lightning::util::sweep::OutputSweeper::new(
                channel_manager.current_best_block(),
                Arc::clone(&broadcaster),
                Arc::clone(&fees),
                None,
                Arc::clone(&keys),
                Arc::clone(&change_destination),
                Arc::clone(&ldk_store),
                Arc::clone(&logger),
            ),
        });

    // Bring the channel manager, every monitor and the sweeper to the tip.
    let mut header_cache = UnboundedCache::new();
    let tip = {
        let monitor_listeners: Vec<_> = monitors
            .drain(..)
            .map(|(hash, monitor)| {
                (
                    hash,
                    (
                        monitor,
                        Arc::clone(&broadcaster),
                        Arc::clone(&fees),
                        Arc::clone(&logger),
                    ),
                )
            })
            .collect();
        let mut listeners: Vec<(BlockHash, &(dyn lightning::chain::Listen + Send + Sync))> =
            vec![(
                manager_hash,
                &*channel_manager as &(dyn lightning::chain::Listen + Send + Sync),
            )];
        for (hash, listener) in &monitor_listeners {
            listeners.push((
                *hash,
                listener as &(dyn lightning::chain::Listen + Send + Sync),
            ));
        }
        let sweeper_hash = sweeper.current_best_block().block_hash;
        listeners.push((
            sweeper_hash,
            &*sweeper as &(dyn lightning::chain::Listen + Send + Sync),
        ));
        let tip = synchronize_listeners(Arc::clone(&rpc), network, &mut header_cache, listeners)
            .await
            .map_err(|e| {
                StartError::Chain(format!("chain backend: syncing to the chain tip: {e:?}"))
            })?;
        (tip, monitor_listeners)
    };
    let (tip, monitor_listeners) = tip;
    for (_, (monitor, ..)) in monitor_listeners {
        let channel_id = monitor.channel_id();
        let stored_update_id = monitor.get_latest_update_id();
        // Loaded as stored: LDK re-persists nothing (the blocks just connected are
        // written with the next chain-sync write, or replayed after a crash).
        match chain_monitor.load_existing_monitor(channel_id, monitor) {
            Ok(ChannelMonitorUpdateStatus::Completed) => {}
            other => {
                return Err(StartError::CorruptState {
                    what: "channel monitors",
                    detail: format!("watching channel {channel_id} failed: {other:?}"),
                })
            }
        }
        // What was read from the store is durable: say so. The manager may have been saved
        // while the write of this monitor was still in progress (the writer persists it
        // first, and LDK only learns of the write when told); LDK does not re-check a new
        // channel's first monitor on reload, so without this a channel funded just before a
        // crash would wait forever to broadcast its funding and send `channel_ready`.
        chain_monitor
            .channel_monitor_updated(channel_id, stored_update_id)
            .map_err(|e| StartError::CorruptState {
                what: "channel monitors",
                detail: format!("marking channel {channel_id}'s monitor durable: {e:?}"),
            })?;
    }

    let gossip = Arc::new(lightning::routing::gossip::P2PGossipSync::new(
        Arc::clone(&graph),
        None,
        Arc::clone(&logger),
    ));
    let liquidity = Arc::new(
        LiquidityManager::new(
            Arc::clone(&keys),
            Arc::clone(&keys),
            Arc::clone(&channel_manager),
            None::<Arc<DynFilter>>,
            None,
            Arc::clone(&store),
            Arc::clone(&broadcaster),
            params.lsps2.as_ref().map(|_| LiquidityServiceConfig {
                lsps2_service_config: Some(LSPS2ServiceConfig {
                    promise_secret: lsps2_promise_secret(&seed),
                }),
                lsps5_service_config: params.lsps5.as_ref().map(|lsps5| LSPS5ServiceConfig {
                    max_webhooks_per_client: lsps5.max_webhooks_per_client,
                }),
                advertise_service: true,
            }),
            None,
        )
        .await
        .map_err(|e| StartError::CorruptState {
            what: "LSPS service state",
            detail: e.to_string(),
        })?,
    );
    let webhooks = match params.lsps5.clone() {
        Some(config) => Some(Arc::new(
            WebhookSender::new(config).map_err(|e| StartError::Other(e.to_string()))?,
        )),
        None => None,
    };
    let ignoring = Arc::new(IgnoringMessageHandler {});
    let onion_messenger = Arc::new(lightning::onion_message::messenger::OnionMessenger::new(
        Arc::clone(&keys),
        Arc::clone(&keys),
        Arc::clone(&logger),
        Arc::clone(&channel_manager),
        Arc::clone(&message_router),
        Arc::clone(&channel_manager),
        Arc::clone(&ignoring),
        Arc::clone(&ignoring),
        Arc::clone(&ignoring),
    ));
    let mut ephemeral = [0u8; 32];
    ephemeral.copy_from_slice(&keys.get_secure_random_bytes());
    let peer_connected: PeerPort = Arc::new(OutputPort::default());
    let lsps_outbox = Arc::new(LspsOutbox::default());
    let custom_messages = Arc::new(LiquidityMessages::new(
        Arc::clone(&liquidity),
        Arc::clone(&peer_connected),
        Arc::clone(&lsps_outbox),
    ));
    let peer_manager = Arc::new(lightning::ln::peer_handler::PeerManager::new(
        MessageHandler {
            chan_handler: Arc::clone(&channel_manager),
            route_handler: Arc::clone(&gossip),
            onion_message_handler: Arc::clone(&onion_messenger),
            custom_message_handler: custom_messages,
            send_only_message_handler: Arc::clone(&chain_monitor),
        },
        started.as_secs() as u32,
        &ephemeral,
        Arc::clone(&logger),
        Arc::clone(&keys),
    ));
    // The verifier and the gossip handler refer to each other (LDK's design): both live
    // as long as the process.
    gossip.add_utxo_lookup(Some(Arc::new(GossipVerifier::new(
        Arc::clone(chain.rpc()),
        TokioSpawner,
        Arc::clone(&gossip),
        Arc::clone(&peer_manager),
    ))));

    let bump = Arc::new(BumpTransactionEventHandlerSync::new(
        Arc::clone(&broadcaster),
        Arc::new(WalletSync::new(Arc::clone(&wallet), Arc::clone(&logger))),
        Arc::clone(&keys),
        Arc::clone(&logger),
    ));

    let components = Components {
        network,
        store,
        ldk_store,
        persist_queue,
        monitor_persister: persister,
        monitor_reader: reader,
        chain,
        fees,
        broadcaster,
        logger,
        keys,
        chain_monitor,
        channel_manager,
        graph,
        scorer,
        router,
        gossip,
        onion_messenger,
        peer_manager,
        sweeper,
        wallet,
        bump,
        channel_policy: Arc::new(params.channel_policy),
        health: Arc::new(HealthBoard::new()),
        send_window: Arc::new(SendWindow::new(params.send_window, DEFAULT_MAX_WAIT)),
        budgets: Arc::new(Budgets::new(params.budgets)),
        settling: Arc::new(Settling::default()),
        liquidity,
        lsps2: params.lsps2.map(Arc::new),
        webhooks,
        peer_connected,
        lsps_outbox,
        mirror: nostr_mirror(params.nostr, &seed)?,
        actors: Actors::default(),
    };
    Ok(Built {
        components,
        broadcasts,
        header_cache,
        tip,
    })
}

/// The Nostr mirror for `config`: signing with the key in its file, or one derived from
/// the seed; `None` (and a line saying so) when no relay is configured.
fn nostr_mirror(
    config: Option<NostrConfig>,
    seed: &[u8; 32],
) -> Result<Option<Arc<Mirror>>, StartError> {
    let Some(config) = config.filter(NostrConfig::enabled) else {
        tracing::info!("no Nostr relays configured: nothing is published to Nostr");
        return Ok(None);
    };
    let keys = match &config.secret_key_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                StartError::Other(format!("reading the Nostr key {}: {e}", path.display()))
            })?;
            sluice_nostr::keys_from_secret(&text)
        }
        None => sluice_nostr::keys_from_seed(seed),
    }
    .map_err(|e| StartError::Other(format!("the Nostr key: {e}")))?;
    Ok(Some(Arc::new(Mirror::new(config, keys))))
}

/// The secret behind the LSPS2 fee promises (an HMAC over each offer): derived from the
/// seed, so offers given out before a restart are still honoured after it.
fn lsps2_promise_secret(seed: &[u8; 32]) -> [u8; 32] {
    let mut engine = sha256::Hash::engine();
    engine.input(b"sluice/lsps2/promise-secret");
    engine.input(seed);
    sha256::Hash::from_engine(engine).to_byte_array()
}

/// Stored state, as read at start.
struct Stored {
    monitors: Vec<(BlockHash, ChannelMonitor<ChannelSigner>)>,
    blobs: Blobs,
    wallet: OnchainWallet,
}

/// LDK objects stored whole; `None` when the node has none yet.
struct Blobs {
    graph: Option<Vec<u8>>,
    scorer: Option<Vec<u8>>,
    manager: Option<Vec<u8>>,
    sweeper: Option<Vec<u8>>,
}

/// One stored object: `None` only when absent; any other read error stops the start.
fn read_blob(
    store: &Store,
    what: &'static str,
    (primary, secondary, key): (&str, &str, &str),
) -> Result<Option<Vec<u8>>, StartError> {
    match store.read(primary, secondary, key) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(corrupt(what)(e)),
    }
}

/// Reads every stored object (blocking).
fn load_stored(
    reader: &MonitorReader,
    store: &Store,
    seed: &[u8; 32],
    network: Network,
    endpoint: &RpcEndpoint,
) -> Result<Stored, StartError> {
    let monitors = reader
        .read_all_channel_monitors_with_updates()
        .map_err(corrupt("channel monitors"))?;
    let blobs = Blobs {
        graph: read_blob(
            store,
            "network graph",
            (
                NETWORK_GRAPH_PERSISTENCE_PRIMARY_NAMESPACE,
                NETWORK_GRAPH_PERSISTENCE_SECONDARY_NAMESPACE,
                NETWORK_GRAPH_PERSISTENCE_KEY,
            ),
        )?,
        scorer: read_blob(
            store,
            "scorer",
            (
                SCORER_PERSISTENCE_PRIMARY_NAMESPACE,
                SCORER_PERSISTENCE_SECONDARY_NAMESPACE,
                SCORER_PERSISTENCE_KEY,
            ),
        )?,
        manager: read_blob(
            store,
            "channel manager",
            (
                CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
                CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
                CHANNEL_MANAGER_PERSISTENCE_KEY,
            ),
        )?,
        sweeper: read_blob(
            store,
            "output sweeper",
            (
                OUTPUT_SWEEPER_PERSISTENCE_PRIMARY_NAMESPACE,
                OUTPUT_SWEEPER_PERSISTENCE_SECONDARY_NAMESPACE,
                OUTPUT_SWEEPER_PERSISTENCE_KEY,
            ),
        )?,
    };
    let wallet = OnchainWallet::open(store.clone(), seed, network, endpoint)
        .map_err(|e| StartError::Other(e.to_string()))?;
    Ok(Stored {
        monitors,
        blobs,
        wallet,
    })
}

/// The node's public key.
pub fn node_id(keys: &NodeKeys) -> Option<PublicKey> {
    keys.get_node_id(lightning::sign::Recipient::Node).ok()
}

/// Serialises `value` for the store (used for the graph and scorer at shutdown).
pub fn encode(value: &impl Writeable) -> Vec<u8> {
    value.encode()
}
