//! Running the embedded chain: open (or create) its data directory, serve JSON-RPC on a
//! loopback address, and optionally mine by itself.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bitcoin::ScriptBuf;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::blockstore::BlockStore;
use super::chain::ChainState;
use super::methods::ChainRpc;
use super::rpc::{serve, RpcServerConfig};
use super::{RegtestChain, RegtestError};

/// When the chain mines without being asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Automine {
    /// Only `generatetoaddress` / `generateblock` mine.
    Off,
    /// A block every this often.
    Every(Duration),
    /// A block as soon as the mempool holds a transaction.
    OnTransaction,
}

/// How to run the chain.
#[derive(Clone, Debug)]
pub struct RegtestChainConfig {
    /// Where blocks are kept; `None` keeps the chain in memory only.
    pub data_dir: Option<PathBuf>,
    /// The RPC listening address (port 0 picks a free port).
    pub rpc_addr: SocketAddr,
    /// Basic-auth user.
    pub rpc_user: String,
    /// Basic-auth password.
    pub rpc_password: String,
    /// Self-mining.
    pub automine: Automine,
    /// Where automined blocks pay; by default an anyone-can-spend P2WSH(OP_TRUE).
    pub automine_script: Option<ScriptBuf>,
}

/// A chain that is serving RPC. Dropping it does not stop it; call [`RunningChain::stop`].
pub struct RunningChain {
    /// The chain, for in-process callers.
    pub chain: Arc<RegtestChain>,
    /// The address the RPC server listens on.
    pub rpc_addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningChain {
    /// Stops serving and mining and waits for both to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// The default automine payout: P2WSH of `OP_TRUE`, spendable by anyone (regtest only).
pub fn anyone_can_spend() -> ScriptBuf {
    ScriptBuf::new_p2wsh(&ScriptBuf::from_bytes(vec![0x51]).wscript_hash())
}

/// Opens the chain and starts serving. Must be called inside a tokio runtime.
pub async fn start(config: RegtestChainConfig) -> Result<RunningChain, RegtestError> {
    let state = match &config.data_dir {
        Some(dir) => {
            let store = BlockStore::open(dir)?;
            tokio::task::spawn_blocking(move || ChainState::open(store))
                .await
                .map_err(|e| RegtestError::Refused(format!("opening the chain panicked: {e}")))??
        }
        None => ChainState::new_in_memory(),
    };
    let chain = Arc::new(RegtestChain::new(state));
    let listener = TcpListener::bind(config.rpc_addr).await?;
    let rpc_addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);

    let server_config = RpcServerConfig {
        user: config.rpc_user,
        password: config.rpc_password,
        ..RpcServerConfig::default()
    };
    let handler = Arc::new(ChainRpc::new(Arc::clone(&chain)));
    let mut server_stop = stopped.clone();
    let server = tokio::spawn(async move {
        let shutdown = async move {
            let _ = server_stop.wait_for(|s| *s).await;
        };
        if let Err(e) = serve(listener, server_config, handler, shutdown).await {
            tracing::error!(error = %e, "the regtest RPC server failed");
        }
    });
    let mut tasks = vec![server];
    if config.automine != Automine::Off {
        let script = config
            .automine_script
            .clone()
            .unwrap_or_else(anyone_can_spend);
        tasks.push(tokio::spawn(automine(
            Arc::clone(&chain),
            config.automine,
            script,
            stopped,
        )));
    }
    Ok(RunningChain {
        chain,
        rpc_addr,
        stop,
        tasks,
    })
}

async fn automine(
    chain: Arc<RegtestChain>,
    mode: Automine,
    script: ScriptBuf,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let wake = async {
            match mode {
                Automine::Every(period) => tokio::time::sleep(period).await,
                Automine::OnTransaction | Automine::Off => chain.mempool_changed().await,
            }
        };
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            () = wake => {}
        }
        let chain = Arc::clone(&chain);
        let script = script.clone();
        let mined = tokio::task::spawn_blocking(move || {
            let mut state = chain.lock();
            if mode == Automine::OnTransaction && state.mempool.is_empty() {
                return Ok(None);
            }
            state.mine_from_mempool(&script).map(Some)
        })
        .await;
        match mined {
            Ok(Ok(Some(block))) => tracing::debug!(hash = %block.block_hash(), "automined a block"),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "automining failed"),
            Err(e) => tracing::error!(error = %e, "the automine task panicked"),
        }
    }
}
