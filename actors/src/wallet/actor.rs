//! The Wallet actor: syncs the on-chain wallet when a block arrives and every
//! [`SYNC_INTERVAL`] (for mempool changes), on the blocking pool.

use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::task::JoinHandle;

use crate::Components;

/// How often the wallet syncs without a new block.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(5);
/// Consecutive sync failures after which the actor fails (and is restarted).
pub const MAX_FAILED_SYNCS: u32 = 10;

/// Messages to the wallet actor.
#[derive(Debug)]
pub enum WalletMsg {
    /// Sync with the chain backend now.
    Sync,
}

/// The wallet actor's state.
pub struct WalletState {
    components: Components,
    failures: u32,
    ticker: JoinHandle<()>,
}

/// The wallet actor.
pub struct WalletActor;

impl Actor for WalletActor {
    type Msg = WalletMsg;
    type State = WalletState;
    type Arguments = Components;

    async fn pre_start(
        &self,
        myself: ActorRef<WalletMsg>,
        components: Components,
    ) -> Result<WalletState, ActorProcessingErr> {
        myself.cast(WalletMsg::Sync)?;
        let ticker = myself.send_interval(SYNC_INTERVAL, || WalletMsg::Sync);
        Ok(WalletState {
            components,
            failures: 0,
            ticker,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<WalletMsg>,
        message: WalletMsg,
        state: &mut WalletState,
    ) -> Result<(), ActorProcessingErr> {
        let WalletMsg::Sync = message;
        let wallet = Arc::clone(&state.components.wallet);
        match tokio::task::spawn_blocking(move || wallet.sync()).await? {
            Ok(()) => state.failures = 0,
            Err(e) => {
                state.failures += 1;
                tracing::warn!(error = %e, failures = state.failures, "wallet sync failed");
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
