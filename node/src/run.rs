//! `sluice run`: a [`RunningNode`] started, then stopped cleanly on SIGTERM/SIGINT or a
//! fatal actor failure.
//!
//! Starting opens the store and seed, starts (or reaches) the chain, builds the LDK
//! objects, and starts the supervised actors (`sluice_actors::supervisor`) and the tasks:
//! broadcasting, the peer listener and reconnection, and the HTTP API. Stopping: the API
//! stops accepting, peers are disconnected, the actors stop (the loop that drives LDK
//! persists the channel manager, graph and scorer on its way out), and the store is
//! flushed.

use bitcoin::hex::DisplayHex;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorRef};
use sluice_actors::chain::{run_broadcasts, RpcEndpoint};
use sluice_actors::channel_policy::ChannelPolicy;
use sluice_actors::pathfinding::RoutingExclusions;
use sluice_actors::payments::listing::backfill_index;
use sluice_actors::payments::reconcile::fail_payments_lost_in_a_crash;
use sluice_actors::payments::PaymentsConfig;
use sluice_actors::processor::LdkLoopConfig;
use sluice_actors::receipts::ReceiptSigner;
use sluice_actors::refresh::RefreshConfig;
use sluice_actors::supervisor::{NodeSupervisor, SupervisorArgs, SupervisorMsg, SHUTDOWN_TIMEOUT};
use sluice_actors::Components;
use sluice_api::{ApiConfig, AuthConfig, ConnectionLimits, RateLimit, ServeOptions, TokenConfig};
use sluice_regtest::{self as regtest, Automine, RegtestChainConfig};
use sluice_storage::{Store, StoreConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::backend::{reconnect_peers, NodeService};
use crate::build::{build, BuildParams, ForwardingFees, StartError};
use crate::config::{ChainSource, NodeConfig};
use crate::seed;
use crate::signals::StopSignals;

/// How often disconnected remembered peers are retried.
pub const PEER_RECONNECT_INTERVAL: Duration = Duration::from_secs(2);

/// Why the node stopped with an error. Each maps to a distinct exit code.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The data directory or store cannot be used (exit 3).
    #[error("store: {0}")]
    Store(String),
    /// The seed is missing, unreadable or too widely readable (exit 4).
    #[error(transparent)]
    Seed(#[from] seed::SeedError),
    /// The chain backend is unreachable or on another network (exit 5). The message says
    /// which backend and why.
    #[error("{0}")]
    Chain(String),
    /// Stored node state is damaged (exit 6).
    #[error(transparent)]
    Start(StartError),
    /// A supervised component failed fatally: persistence failed (exit 8).
    #[error("stopped after a fatal failure: {0}")]
    Fatal(String),
    /// A listener could not bind (exit 7).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

impl RunError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Store(_) => 3,
            RunError::Seed(_) => 4,
            RunError::Chain(_) | RunError::Start(StartError::Chain(_)) => 5,
            RunError::Start(_) => 6,
            RunError::Bind { .. } => 7,
            RunError::Fatal(_) => 8,
        }
    }
}

fn open_store(data_dir: &Path) -> Result<(Store, bool), RunError> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| RunError::Store(format!("creating {}: {e}", data_dir.display())))?;
    let path = data_dir.join("store");
    let new_node = !path.exists();
    let store = Store::open(&path, StoreConfig::default())
        .map_err(|e| RunError::Store(format!("opening {}: {e}", path.display())))?;
    Ok((store, new_node))
}

/// A node running in this process: started by [`RunningNode::start`], stopped by
/// [`RunningNode::stop`]. Nothing in it is global to the process but the metrics
/// recorder, so a test can run two.
pub struct RunningNode {
    api_addr: SocketAddr,
    peer_addr: SocketAddr,
    components: Components,
    supervisor: ActorRef<SupervisorMsg>,
    supervisor_task: JoinHandle<()>,
    tasks: Vec<JoinHandle<()>>,
    api_task: JoinHandle<()>,
    stop: watch::Sender<bool>,
    fatal: watch::Receiver<Option<String>>,
    embedded: Option<regtest::RunningChain>,
}

impl RunningNode {
    /// Opens the store and seed, starts (or reaches) the chain, builds the LDK objects,
    /// starts the actors and serves peers and the API.
    pub async fn start(config: NodeConfig) -> Result<RunningNode, RunError> {
        let (store, new_node) = open_store(&config.data_dir)?;
        // Before LDK can report a payment: a store from before the payment index gets one.
        backfill_index(&store)
            .await
            .map_err(|e| RunError::Store(e.to_string()))?;
        let seed = seed::load_or_create(&config.data_dir.join("seed"), new_node)?;
        let (endpoint, embedded) = chain_endpoint(&config).await?;
        let built = build(
            BuildParams {
                network: config.network,
                endpoint,
                channel_policy: ChannelPolicy::new(config.trusted_peers_0conf.iter().copied()),
                exclusions: RoutingExclusions {
                    nodes: config.excluded_nodes.clone(),
                    channels: config.excluded_channels.clone(),
                },
                send_window: config.send_window,
                budgets: config
                    .api_tokens
                    .iter()
                    .filter_map(|t| Some((t.sha256.to_lower_hex_string(), t.budget.clone()?)))
                    .collect(),
                forwarding_fees: ForwardingFees {
                    base_msat: config.forwarding_fee_base_msat,
                    ppm: config.forwarding_fee_ppm,
                },
                lsps2: config.lsps2.clone(),
                lsps5: config.lsps5.clone(),
                nostr: config.nostr.clone(),
            },
            store,
            seed,
        )
        .await
        .map_err(|e| match e {
            StartError::Chain(detail) => RunError::Chain(detail),
            other => RunError::Start(other),
        })?;
        let components = built.components.clone();
        let receipt_signer = ReceiptSigner::from_seed(&seed)
            .map_err(|e| RunError::Start(StartError::Other(format!("the receipt key: {e}"))))?;
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();

        tasks.push(tokio::spawn(run_broadcasts(
            Arc::clone(&components.chain),
            built.broadcasts,
        )));
        let (peer_listener, peer_addr) = bind(config.listen).await?;
        tasks.push(tokio::spawn(accept_peers(
            components.clone(),
            peer_listener,
            stopped.clone(),
        )));
        tasks.push(tokio::spawn(keep_peers_connected(
            components.clone(),
            stopped.clone(),
        )));

        let (fatal_sender, fatal) = watch::channel(None);
        let supervisor_args = SupervisorArgs {
            components: components.clone(),
            chain_start: Some((built.header_cache, built.tip)),
            fatal: fatal_sender,
            receipt_signer: Arc::new(receipt_signer),
            pathfinding_workers: config.pathfinding_workers,
            payments: PaymentsConfig {
                quote_ttl: Duration::from_secs(config.quote_ttl_secs),
            },
            ldk_loop: LdkLoopConfig {
                skip_forward_delay: config.skip_forward_delay,
                timer_tick: Duration::from_secs(config.ldk_timer_tick_secs),
            },
            refresh: (config.refresh_monitor_kib > 0)
                .then(|| RefreshConfig::at(config.refresh_monitor_kib << 10)),
            pool: config.pool.clone(),
            rebalancer: config.rebalancer,
        };
        if config.rebalancer.is_none() {
            tracing::info!("no [rebalancer] section: the node does not rebalance its channels");
        }
        let (supervisor, supervisor_task) = Actor::spawn(None, NodeSupervisor, supervisor_args)
            .await
            .map_err(|e| RunError::Start(StartError::Other(format!("starting the actors: {e}"))))?;
        // Before the API serves: no payment is being started while this runs.
        fail_payments_lost_in_a_crash(&components)
            .await
            .map_err(|e| RunError::Store(e.to_string()))?;

        let (api_listener, api_addr) = bind(config.api_addr).await?;
        let api_config = api_config(&config);
        let options = ServeOptions {
            limits: api_config.connections,
            tls: config.api_tls.as_ref().map(|tls| tls.acceptor.clone()),
        };
        if options.tls.is_none() && !crate::config::is_loopback(api_addr) {
            // Only with api_allow_plaintext: the configuration refuses it otherwise.
            tracing::warn!(
                %api_addr,
                "the API serves plain HTTP on an address that is not loopback \
                 (api_allow_plaintext): bearer tokens cross the network in the clear unless \
                 something in front of the node protects them"
            );
        }
        let api = api_router(
            api_config,
            components.clone(),
            vec![peer_addr],
            config.rebalancer.is_some(),
        );
        let mut api_stopped = stopped.clone();
        let api_task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = api_stopped.wait_for(|s| *s).await;
            };
            if let Err(e) = sluice_api::serve_with(api_listener, api, options, shutdown).await {
                tracing::error!(error = %e, "the API server failed");
            }
        });
        tracing::info!(node_id = %components.channel_manager.get_our_node_id(), %api_addr, %peer_addr, "sluice is running");
        Ok(RunningNode {
            api_addr,
            peer_addr,
            components,
            supervisor,
            supervisor_task,
            tasks,
            api_task,
            stop,
            fatal,
            embedded,
        })
    }

    /// Where the API serves.
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// Where peers connect.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer_addr
    }

    /// The node's LDK objects and the handles on its actors.
    pub fn components(&self) -> &Components {
        &self.components
    }

    /// Waits for a fatal failure (persistence failed) and returns why: the node must stop.
    pub async fn failed(&mut self) -> String {
        match self.fatal.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone().unwrap_or_default(),
            // The supervisor is gone without saying why.
            Err(_) => "the supervisor stopped".to_owned(),
        }
    }

    /// Stops the node cleanly: the API stops accepting, peers are disconnected, the actors
    /// stop (the loop that drives LDK persists the channel manager, graph and scorer on
    /// its way out), and the store is flushed. [`RunError::Fatal`] if it stopped because of
    /// a fatal failure.
    pub async fn stop(self) -> Result<(), RunError> {
        let failure = self.fatal.borrow().clone();
        tracing::info!(?failure, "shutting down");
        self.components.health.stopping();
        let _ = self.stop.send(true);
        let _ = self.api_task.await;
        self.components.peer_manager.disconnect_all_peers();
        // Children first and gracefully: a stopping supervisor would kill them, skipping the
        // post_stop that waits for the LDK loop's final write. Told first, so
        // it does not restart them.
        let _ = ractor::call_t!(self.supervisor, SupervisorMsg::ShuttingDown, 5_000);
        self.supervisor
            .stop_children_and_wait(Some("shutdown".into()), Some(SHUTDOWN_TIMEOUT))
            .await;
        self.supervisor.stop(None);
        if let Err(e) = self.supervisor_task.await {
            tracing::error!(error = %e, "the supervisor panicked");
        }
        for task in self.tasks {
            task.abort();
            let _ = task.await;
        }
        if let Err(e) = self.components.store.flush().await {
            tracing::error!(error = %e, "flushing the store failed");
        }
        if let Some(chain) = self.embedded {
            chain.stop().await;
        }
        match failure {
            Some(reason) => Err(RunError::Fatal(reason)),
            None => Ok(()),
        }
    }
}

/// Runs the node until SIGTERM or SIGINT, or a fatal failure; `ready` receives the API
/// and peer addresses once everything serves.
pub async fn run(
    config: NodeConfig,
    ready: impl FnOnce(SocketAddr, SocketAddr),
) -> Result<(), RunError> {
    let mut signals = StopSignals::install();
    let mut node = RunningNode::start(config).await?;
    ready(node.api_addr(), node.peer_addr());
    tokio::select! {
        () = signals.recv() => {}
        _ = node.failed() => {}
    }
    node.stop().await
}

/// Binds `addr`, answering the address actually bound (a port 0 is chosen by the system).
async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), RunError> {
    let fail = |source| RunError::Bind { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(fail)?;
    let bound = listener.local_addr().map_err(fail)?;
    Ok((listener, bound))
}

/// The chain's RPC endpoint: an external bitcoind, or the embedded chain started here.
async fn chain_endpoint(
    config: &NodeConfig,
) -> Result<(RpcEndpoint, Option<regtest::RunningChain>), RunError> {
    match &config.chain_source {
        ChainSource::BitcoindRpc {
            host,
            port,
            user,
            password,
            ..
        } => Ok((
            RpcEndpoint {
                host: host.clone(),
                port: *port,
                user: user.clone(),
                password: password.clone(),
            },
            None,
        )),
        ChainSource::Embedded { automine_ms } => {
            let password = random_password()?;
            let chain = regtest::start(RegtestChainConfig {
                data_dir: Some(config.data_dir.join("chain")),
                rpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                rpc_user: "sluice".into(),
                rpc_password: password.clone(),
                automine: automine_ms.map_or(Automine::Off, |ms| {
                    Automine::Every(Duration::from_millis(ms))
                }),
                automine_script: None,
            })
            .await
            .map_err(|e| RunError::Chain(format!("starting the embedded chain: {e}")))?;
            let endpoint = RpcEndpoint {
                host: chain.rpc_addr.ip().to_string(),
                port: chain.rpc_addr.port(),
                user: "sluice".into(),
                password,
            };
            Ok((endpoint, Some(chain)))
        }
    }
}

/// A fresh random password for the embedded chain's loopback RPC.
fn random_password() -> Result<String, RunError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| RunError::Chain(format!("drawing the embedded chain's password: {e}")))?;
    Ok(bytes.to_lower_hex_string())
}

/// The API's configuration from the node's: its tokens, the per-token rate limit and the
/// connection limits; the body limit and request timeout are the API's defaults.
fn api_config(config: &NodeConfig) -> ApiConfig {
    let tokens = config
        .api_tokens
        .iter()
        .map(|t| TokenConfig {
            sha256_hex: t.sha256.to_lower_hex_string(),
            scopes: t
                .scopes
                .iter()
                .filter_map(|s| s.as_str().parse().ok())
                .collect(),
        })
        .collect();
    ApiConfig {
        auth: AuthConfig { tokens },
        rate_limit: RateLimit {
            per_second: config.api_rate_limit,
            burst: config.api_rate_limit_burst,
        },
        connections: ConnectionLimits {
            header_read_timeout: Duration::from_secs(config.api_header_read_timeout_secs),
            idle_timeout: Duration::from_secs(config.api_idle_timeout_secs),
            max_connections: config.api_max_connections,
            ..ConnectionLimits::default()
        },
        ..ApiConfig::default()
    }
}

fn api_router(
    api_config: ApiConfig,
    components: Components,
    listening: Vec<SocketAddr>,
    rebalancer: bool,
) -> axum::Router {
    let metrics: sluice_api::MetricsRenderer = match install_metrics() {
        Some(handle) => {
            tokio::spawn(metrics_upkeep(handle.clone()));
            Arc::new(move || {
                crate::allocator::record_stats();
                handle.render()
            })
        }
        None => Arc::new(String::new),
    };
    sluice_api::router(
        Arc::new(NodeService::new(components, listening, rebalancer)),
        api_config,
        metrics,
    )
}

/// How often the metrics recorder folds recorded histogram samples into its summaries.
const METRICS_UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Folds histogram samples into their summaries every [`METRICS_UPKEEP_INTERVAL`], for
/// the life of the process (the recorder is the process's). Without it the recorder
/// keeps every sample until `/metrics` is read: a node nobody scrapes grows by every
/// sample it records (16 MiB in 15 minutes on the payer of the soak bench, found with a
/// jemalloc heap profile).
async fn metrics_upkeep(handle: metrics_exporter_prometheus::PrometheusHandle) {
    let mut every = tokio::time::interval(METRICS_UPKEEP_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        handle.run_upkeep();
    }
}

/// Installs the Prometheus recorder for the `metrics` facade (once per process).
fn install_metrics() -> Option<metrics_exporter_prometheus::PrometheusHandle> {
    match metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder() {
        Ok(handle) => Some(handle),
        Err(e) => {
            tracing::warn!(error = %e, "metrics are not exported");
            None
        }
    }
}

/// Reconnects remembered peers at start and whenever they drop.
async fn keep_peers_connected(components: Components, mut stopped: watch::Receiver<bool>) {
    loop {
        reconnect_peers(&components).await;
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(PEER_RECONNECT_INTERVAL) => {}
        }
    }
}

async fn accept_peers(
    components: Components,
    listener: TcpListener,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let peers = Arc::clone(&components.peer_manager);
                    match crate::peer_socket::prepare(stream) {
                        Ok(stream) => {
                            tokio::spawn(lightning_net_tokio::setup_inbound(peers, stream));
                        }
                        Err(e) => tracing::warn!(error = %e, "accepting a peer failed"),
                    }
                }
                Err(e) => tracing::warn!(error = %e, "accepting a peer failed"),
            },
        }
    }
}
