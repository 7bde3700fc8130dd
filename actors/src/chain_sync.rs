//! The ChainSync actor: follows the chain tip in a task it owns (see
//! [`crate::chain::follow_chain`]) and publishes every new tip on a [`TipPort`], which the
//! wallet subscribes to. If the task ends while the actor is running, the actor fails and
//! its supervisor restarts it; a restart resumes from the channel manager's best block.

use std::sync::Arc;
use std::time::Duration;

use lightning_block_sync::poll::{Validate, ValidatedBlockHeader};
use lightning_block_sync::{BlockSource, UnboundedCache};
use ractor::{Actor, ActorProcessingErr, ActorRef, OutputPort};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::chain::follow_chain;
use crate::Components;

/// How often the backend is polled for a new tip.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// The chain reached a new tip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewTip {
    /// Its height.
    pub height: u32,
}

/// Where new tips are published. The supervisor owns it for the node's whole life, so a
/// subscriber that restarts subscribes again, and a ChainSync that restarts publishes to
/// the same subscribers.
pub type TipPort = Arc<OutputPort<NewTip>>;

/// What ChainSync starts from.
pub struct ChainSyncArgs {
    /// The node's LDK objects.
    pub components: Components,
    /// The initial sync's cache and tip; `None` on a restart.
    pub start: Option<(UnboundedCache, ValidatedBlockHeader)>,
    /// Where each new tip is published.
    pub tips: TipPort,
}

/// Messages to ChainSync.
#[derive(Debug)]
pub enum ChainSyncMsg {
    /// The following task ended (an error unless the actor is stopping).
    TaskEnded(String),
}

/// ChainSync's state: the running task and its stop switch.
pub struct ChainSyncState {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// The chain-following actor.
pub struct ChainSync;

/// The validated header of the block the channel manager has reached.
async fn resume_point(components: &Components) -> Result<ValidatedBlockHeader, ActorProcessingErr> {
    let best = components.channel_manager.current_best_block();
    let rpc = components.chain.rpc();
    let header = rpc
        .get_header(&best.block_hash, Some(best.height))
        .await
        .map_err(|e| format!("fetching the header of {}: {e:?}", best.block_hash))?;
    Ok(header
        .validate(best.block_hash)
        .map_err(|e| format!("invalid header: {e:?}"))?)
}

impl Actor for ChainSync {
    type Msg = ChainSyncMsg;
    type State = ChainSyncState;
    type Arguments = ChainSyncArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<ChainSyncMsg>,
        args: ChainSyncArgs,
    ) -> Result<ChainSyncState, ActorProcessingErr> {
        let (cache, tip) = match args.start {
            Some(start) => start,
            None => (UnboundedCache::new(), resume_point(&args.components).await?),
        };
        let (stop, stopped) = watch::channel(false);
        let (tips, mut new_tips) = watch::channel(tip.height);
        let port = args.tips;
        tokio::spawn(async move {
            while new_tips.changed().await.is_ok() {
                let height = *new_tips.borrow_and_update();
                port.send(NewTip { height });
            }
        });
        let follow = tokio::spawn(follow_chain(
            args.components,
            cache,
            tip,
            POLL_INTERVAL,
            tips,
            stopped,
        ));
        let task = tokio::spawn(async move {
            let outcome = match follow.await {
                Ok(Ok(())) => "stopped".to_owned(),
                Ok(Err(e)) => format!("gave up: {e}"),
                Err(e) => format!("panicked: {e}"),
            };
            let _ = myself.cast(ChainSyncMsg::TaskEnded(outcome));
        });
        Ok(ChainSyncState {
            stop,
            task: Some(task),
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<ChainSyncMsg>,
        message: ChainSyncMsg,
        state: &mut ChainSyncState,
    ) -> Result<(), ActorProcessingErr> {
        let ChainSyncMsg::TaskEnded(outcome) = message;
        if *state.stop.borrow() {
            return Ok(());
        }
        Err(format!("chain following {outcome}").into())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<ChainSyncMsg>,
        state: &mut ChainSyncState,
    ) -> Result<(), ActorProcessingErr> {
        let _ = state.stop.send(true);
        if let Some(task) = state.task.take() {
            let _ = task.await;
        }
        Ok(())
    }
}
