//! `sluice regtest-chain`: the embedded regtest chain as its own process, shared by the
//! nodes of a cluster.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use sluice_node::signals::StopSignals;
use sluice_regtest::{self as regtest, Automine, RegtestChainConfig};

/// Flags of `sluice regtest-chain`.
#[derive(Args)]
pub struct RegtestChainArgs {
    /// Directory holding the chain; it survives restarts.
    #[arg(long, env = "SLUICE_CHAIN_DATA_DIR")]
    data_dir: PathBuf,
    /// JSON-RPC listening address.
    #[arg(long, env = "SLUICE_CHAIN_RPC_ADDR", default_value = "127.0.0.1:18443")]
    rpc_addr: SocketAddr,
    /// JSON-RPC user (Basic auth).
    #[arg(long, env = "SLUICE_CHAIN_RPC_USER")]
    rpc_user: String,
    /// JSON-RPC password (Basic auth).
    #[arg(long, env = "SLUICE_CHAIN_RPC_PASSWORD")]
    rpc_password: String,
    /// Mine a block every N milliseconds.
    #[arg(
        long,
        env = "SLUICE_CHAIN_AUTOMINE_MS",
        conflicts_with = "automine_on_tx"
    )]
    automine_ms: Option<u64>,
    /// Mine a block as soon as the mempool holds a transaction.
    #[arg(long, env = "SLUICE_CHAIN_AUTOMINE_ON_TX")]
    automine_on_tx: bool,
}

/// Runs the chain until SIGINT or SIGTERM.
pub fn run(args: RegtestChainArgs) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    runtime.block_on(async move {
        let mut signals = StopSignals::install();
        let automine = match (args.automine_ms, args.automine_on_tx) {
            (Some(ms), _) => Automine::Every(Duration::from_millis(ms.max(1))),
            (None, true) => Automine::OnTransaction,
            (None, false) => Automine::Off,
        };
        let config = RegtestChainConfig {
            data_dir: Some(args.data_dir),
            rpc_addr: args.rpc_addr,
            rpc_user: args.rpc_user,
            rpc_password: args.rpc_password,
            automine,
            automine_script: None,
        };
        let running = regtest::start(config).await.map_err(|e| e.to_string())?;
        println!(
            "sluice regtest-chain: RPC ready at http://{}",
            running.rpc_addr
        );
        signals.recv().await;
        running.stop().await;
        Ok(())
    })
}
