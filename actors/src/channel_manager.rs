//! The ChannelManager actor: runs the loop that drives LDK ([`processor`]: event
//! handling through the [`EventDispatcher`], channel manager write requests, the graph
//! and scorer, LDK's timers) in a task it owns, and the [`PersistWriter`] that commits
//! monitor updates with the channel manager. Stopping the actor stops the loop, which
//! persists everything on its way out, then the writer once it has written what is
//! queued. A loop or writer that fails could not persist: that is [`Fatal`] and stops
//! the node.

use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::events::{EventDispatcher, OnFailure};
use crate::forwarder;
use crate::persist::{PersistWriter, WriterParts};
use crate::processor::{self, LdkLoopConfig};
use crate::supervisor::Fatal;
use crate::Components;

/// Messages to the channel manager actor.
#[derive(Debug)]
pub enum ChannelManagerMsg {
    /// The loop that drives LDK ended, with its error if any.
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
    /// How the loop that drives LDK runs.
    pub ldk_loop: LdkLoopConfig,
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
            ldk_loop,
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
        let forwarder = ldk_loop.skip_forward_delay.then(|| {
            tokio::spawn(forwarder::run(
                Arc::clone(&components.channel_manager),
                stopped.clone(),
            ))
        });
        let failures = myself.clone();
        let on_failure: OnFailure = Arc::new(move |reason| {
            let _ = failures.cast(ChannelManagerMsg::PersistFailed(reason));
        });
        let dispatcher = Arc::new(EventDispatcher::new(components.clone(), on_failure));
        let processor = tokio::spawn(processor::run(components, dispatcher, ldk_loop, stopped));
        let task = tokio::spawn(async move {
            let error = match processor.await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("persisting failed: {e}")),
                Err(e) => Some(format!("the LDK loop panicked: {e}")),
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
            ChannelManagerMsg::ProcessorEnded(None) => Err("the LDK loop stopped unasked".into()),
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
