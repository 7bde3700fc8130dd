//! The ChannelManager actor: runs LDK's background processor (event handling through
//! the [`EventDispatcher`], persistence of the channel manager, graph and scorer, and
//! LDK's timers) in a task it owns, and the [`PersistWriter`] that commits monitor
//! updates with the channel manager. Stopping the actor stops the processor, which
//! persists everything on its way out, then the writer once it has written what is
//! queued. A processor or writer that fails could not persist: that is [`Fatal`] and
//! stops the node.

use std::sync::Arc;
use std::time::Duration;

use lightning_background_processor::{process_events_async, GossipSync};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::events::{EventDispatcher, OnFailure};
use crate::forwarder;
use crate::persist::{PersistWriter, WriterParts};
use crate::supervisor::Fatal;
use crate::Components;

/// Messages to the channel manager actor.
#[derive(Debug)]
pub enum ChannelManagerMsg {
    /// The background processor ended, with its error if any.
    ProcessorEnded(Option<String>),
    /// The persistence writer failed and stopped.
    PersistFailed(String),
}

/// The actor's state.
pub struct ChannelManagerState {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    forwarder: Option<JoinHandle<()>>,
    writer: Option<PersistWriter>,
}

/// The channel manager actor.
pub struct ChannelManagerActor;

/// What the channel manager actor starts with.
pub struct ChannelManagerArgs {
    /// The node's LDK objects.
    pub components: Components,
    /// Forward HTLCs as soon as they are committed instead of after LDK's random batching
    /// delay (see [`crate::forwarder`]).
    pub skip_forward_delay: bool,
}

async fn run_processor(
    components: Components,
    stopped: watch::Receiver<bool>,
    on_failure: OnFailure,
) -> Result<(), lightning::io::Error> {
    let dispatcher = Arc::new(EventDispatcher::new(components.clone(), on_failure));
    let handler = move |event| {
        let dispatcher = Arc::clone(&dispatcher);
        async move { dispatcher.handle(event).await }
    };
    let sleeper = move |duration: Duration| {
        let mut stopped = stopped.clone();
        Box::pin(async move {
            tokio::select! {
                _ = tokio::time::sleep(duration) => false,
                _ = stopped.wait_for(|s| *s) => true,
            }
        })
    };
    process_events_async(
        Arc::clone(&components.ldk_store),
        handler,
        Arc::clone(&components.chain_monitor),
        Arc::clone(&components.channel_manager),
        Some(Arc::clone(&components.onion_messenger)),
        GossipSync::p2p(Arc::clone(&components.gossip)),
        Arc::clone(&components.peer_manager),
        Some(Arc::clone(&components.liquidity)),
        Some(Arc::clone(&components.sweeper)),
        Arc::clone(&components.logger),
        Some(Arc::clone(&components.scorer)),
        sleeper,
        false,
        || Some(crate::clock::since_epoch()),
    )
    .await
}

impl Actor for ChannelManagerActor {
    type Msg = ChannelManagerMsg;
    type State = ChannelManagerState;
    type Arguments = ChannelManagerArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<ChannelManagerMsg>,
        args: ChannelManagerArgs,
    ) -> Result<ChannelManagerState, ActorProcessingErr> {
        let ChannelManagerArgs {
            components,
            skip_forward_delay,
        } = args;
        let failures = myself.clone();
        let writer = PersistWriter::start(
            WriterParts {
                queue: Arc::clone(&components.persist_queue),
                store: Arc::clone(&components.store),
                channel_manager: Arc::clone(&components.channel_manager),
                chain_monitor: Arc::clone(&components.chain_monitor),
                reader: Arc::clone(&components.monitor_reader),
            },
            move |reason| {
                let _ = failures.cast(ChannelManagerMsg::PersistFailed(reason));
            },
        )?;
        let (stop, stopped) = watch::channel(false);
        let forwarder = skip_forward_delay.then(|| {
            tokio::spawn(forwarder::run(
                Arc::clone(&components.channel_manager),
                stopped.clone(),
            ))
        });
        let failures = myself.clone();
        let on_failure: OnFailure = Arc::new(move |reason| {
            let _ = failures.cast(ChannelManagerMsg::PersistFailed(reason));
        });
        let processor = tokio::spawn(run_processor(components, stopped, on_failure));
        let task = tokio::spawn(async move {
            let error = match processor.await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("persisting failed: {e}")),
                Err(e) => Some(format!("the background processor panicked: {e}")),
            };
            let _ = myself.cast(ChannelManagerMsg::ProcessorEnded(error));
        });
        Ok(ChannelManagerState {
            stop,
            task: Some(task),
            forwarder,
            writer: Some(writer),
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<ChannelManagerMsg>,
        message: ChannelManagerMsg,
        state: &mut ChannelManagerState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            ChannelManagerMsg::ProcessorEnded(Some(error))
            | ChannelManagerMsg::PersistFailed(error) => Err(Box::new(Fatal(error))),
            ChannelManagerMsg::ProcessorEnded(None) if *state.stop.borrow() => Ok(()),
            ChannelManagerMsg::ProcessorEnded(None) => {
                Err("the background processor stopped unasked".into())
            }
        }
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<ChannelManagerMsg>,
        state: &mut ChannelManagerState,
    ) -> Result<(), ActorProcessingErr> {
        // Stopping the processor makes it persist the channel manager, graph and scorer.
        let _ = state.stop.send(true);
        if let Some(task) = state.task.take() {
            let _ = task.await;
        }
        if let Some(forwarder) = state.forwarder.take() {
            let _ = forwarder.await;
        }
        // The processor's last manager write is queued or done; write the rest and stop.
        if let Some(writer) = state.writer.take() {
            let _ = tokio::task::spawn_blocking(move || writer.stop()).await;
        }
        Ok(())
    }
}
