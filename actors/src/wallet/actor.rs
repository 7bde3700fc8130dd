//! The Wallet actor: syncs the on-chain wallet when it starts, when ChainSync publishes a
//! new tip, and every [`SYNC_INTERVAL`] (for mempool changes), on the blocking pool.

use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::task::JoinHandle;

use crate::chain_sync::TipPort;
use crate::Components;

/// How often the wallet syncs without a new block.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(5);
/// Consecutive sync failures after which the actor fails (and is restarted).
pub const MAX_FAILED_SYNCS: u32 = 10;

/// Why the wallet syncs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncCause {
    /// The actor started.
    Start,
    /// ChainSync published a new tip.
    NewTip,
    /// [`SYNC_INTERVAL`] passed.
    Timer,
}

/// Messages to the wallet actor.
#[derive(Debug)]
pub enum WalletMsg {
    /// Sync with the chain backend now.
    Sync(SyncCause),
    /// How this actor's syncing stands.
    Status(RpcReplyPort<WalletSyncStatus>),
}

/// How the running wallet actor's syncing stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalletSyncStatus {
    /// Syncs made because of a new tip since this actor started.
    pub new_tip_syncs: u64,
    /// The height the wallet has synced to.
    pub synced_height: u32,
}

/// The wallet actor's state.
pub struct WalletState {
    components: Components,
    failures: u32,
    new_tip_syncs: u64,
    ticker: JoinHandle<()>,
}

/// The wallet actor.
pub struct WalletActor;

impl Actor for WalletActor {
    type Msg = WalletMsg;
    type State = WalletState;
    type Arguments = (Components, TipPort);

    async fn pre_start(
        &self,
        myself: ActorRef<WalletMsg>,
        (components, tips): (Components, TipPort),
    ) -> Result<WalletState, ActorProcessingErr> {
        tips.subscribe(myself.clone(), |_| Some(WalletMsg::Sync(SyncCause::NewTip)));
        myself.cast(WalletMsg::Sync(SyncCause::Start))?;
        let ticker = myself.send_interval(SYNC_INTERVAL, || WalletMsg::Sync(SyncCause::Timer));
        Ok(WalletState {
            components,
            failures: 0,
            new_tip_syncs: 0,
            ticker,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<WalletMsg>,
        message: WalletMsg,
        state: &mut WalletState,
    ) -> Result<(), ActorProcessingErr> {
        let cause = match message {
            WalletMsg::Sync(cause) => cause,
            WalletMsg::Status(reply) => {
                let _ = reply.send(WalletSyncStatus {
                    new_tip_syncs: state.new_tip_syncs,
                    synced_height: state.components.wallet.synced_height(),
                });
                return Ok(());
            }
        };
        let wallet = Arc::clone(&state.components.wallet);
        match tokio::task::spawn_blocking(move || wallet.sync()).await? {
            Ok(()) => {
                state.failures = 0;
                if cause == SyncCause::NewTip {
                    state.new_tip_syncs += 1;
                }
            }
            Err(e) => {
                state.failures += 1;
                tracing::warn!(error = %e, failures = state.failures, ?cause, "wallet sync failed");
                if state.failures >= MAX_FAILED_SYNCS {
                    return Err(
                        format!("{} wallet syncs failed in a row: {e}", state.failures).into(),
                    );
                }
            }
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<WalletMsg>,
        state: &mut WalletState,
    ) -> Result<(), ActorProcessingErr> {
        state.ticker.abort();
        Ok(())
    }
}
