//! The embedded regtest chain: a Bitcoin Core compatible JSON-RPC server over a real,
//! validated regtest block chain, for clusters and tests where no bitcoind can run.
//!
//! [`start`] opens (or creates) a chain and serves it on a loopback address; the `sluice`
//! binary runs it as `sluice regtest-chain` (its own process, shared by a cluster) or
//! in-process with `--embedded-chain`. This crate depends on no other sluice crate.
//!
//! # Layout
//!
//! - `chain`: the block tree, active chain and UTXO set, with full block validation;
//!   connecting, disconnecting, invalidating and reconsidering blocks.
//! - `accept`: mempool acceptance, with Core v30's policy and full RBF.
//! - `mempool`: the mempool's transactions and the links between them.
//! - `validation`: transaction checks, sequence locks and script verification.
//! - `mining`: block assembly, from the mempool or from given transactions.
//! - `fees`: the `estimatesmartfee` estimator.
//! - `blockstore`: the blocks on disk, replayed on start.
//! - `params`: regtest's consensus and policy constants.
//! - `methods`: the RPC methods, one file per group (blockchain, mempool, transactions,
//!   mining, fees, control), and `args`: their parameters, read as Core reads them.
//! - `describe`: Core's JSON shapes of blocks, headers, transactions and scripts, one
//!   file per concern (numbers, script asm, Core's `Solver`, descriptors, scripts,
//!   transactions, blocks).
//! - `rpc`: the HTTP/JSON-RPC transport (`server`, `envelope`, `error`), answering as
//!   Bitcoin Core does; it knows nothing of the chain (see [`rpc::RpcHandler`]).
//! - `service`: running it all: serving RPC and automining ([`start`]).
//!
//! The integration tests (`regtest/tests/regtest/`) run the chain against Bitcoin Core's
//! recorded answers (`regtest/tests/fixtures/bitcoind-regtest-rpc/`) and the clients LDK
//! and BDK use; `benches/regtest_chain.rs` measures `sendrawtransaction` and mining.

mod accept;
mod args;
mod blockstore;
mod chain;
pub mod describe;
mod fees;
mod mempool;
mod methods;
mod mining;
mod params;
pub mod rpc;
mod service;
mod validation;

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use bitcoin::BlockHash;

pub use chain::ChainState;
pub use service::{start, Automine, RegtestChainConfig, RunningChain};

/// What can go wrong with the chain itself (not with one request).
#[derive(Debug, thiserror::Error)]
pub enum RegtestError {
    /// Reading or writing the chain's files failed.
    #[error("chain storage: {0}")]
    Io(#[from] std::io::Error),
    /// The chain's files are damaged.
    #[error("chain data is corrupt: {0}")]
    Corrupt(String),
    /// Another process holds the data directory.
    #[error("another process is using the chain directory {0}")]
    Locked(PathBuf),
    /// A block's parent is not known.
    #[error("unknown parent block {0}")]
    UnknownParent(BlockHash),
    /// No block with this hash is known.
    #[error("Block not found")]
    UnknownBlock(BlockHash),
    /// The operation is not allowed.
    #[error("{0}")]
    Refused(String),
}

/// The shared chain: one lock around the whole state. Requests are short except mining
/// and script checks, and regtest clusters are small, so one lock keeps every answer
/// consistent (a block and the mempool never disagree).
pub struct RegtestChain {
    state: Mutex<ChainState>,
    /// Signalled whenever a transaction enters the mempool (for automine).
    mempool_changed: tokio::sync::Notify,
}

impl RegtestChain {
    /// Wraps a chain state.
    pub fn new(state: ChainState) -> Self {
        RegtestChain {
            state: Mutex::new(state),
            mempool_changed: tokio::sync::Notify::new(),
        }
    }

    /// Locks the state. A panic while holding the lock leaves the state as it was at the
    /// panic; requests go on (the RPC layer turns the panic into an error).
    pub fn lock(&self) -> MutexGuard<'_, ChainState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn notify_mempool(&self) {
        self.mempool_changed.notify_one();
    }

    pub(crate) async fn mempool_changed(&self) {
        self.mempool_changed.notified().await
    }
}
