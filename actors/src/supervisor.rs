//! The node's supervision tree (ARCHITECTURE.md §2), for the components that exist so far:
//!
//! ```text
//! NodeSupervisor
//! ├── ChainSync       follows the chain tip (blocks, reorgs, fee estimates)
//! ├── Wallet          keeps the on-chain wallet synced
//! ├── ChannelManager  runs LDK's background processor: events, persistence, timers
//! ├── ReceiptSigner   seals receipts with the node's receipt key
//! ├── Pathfinding     a factory of route-finding workers
//! ├── Payments        quotes, pays, waits for outcomes
//! └── Lsps2Service    sells JIT channels (only when configured)
//! ```
//!
//! Each child does its work in a task it owns and fails when that task ends unexpectedly.
//! The supervisor overrides ractor's default (stop on any child exit): it restarts a
//! failed child after an exponential backoff, forgiving earlier failures once a child has
//! run for [`STABLE_AFTER`]. A [`Fatal`] failure — persistence failed, so the node can no
//! longer promise not to lose funds — is not retried: the supervisor reports it and the
//! node shuts down.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use lightning_block_sync::poll::ValidatedBlockHeader;
use lightning_block_sync::UnboundedCache;
use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};
use tokio::sync::watch;

use std::sync::Arc;

use crate::chain_sync::{ChainSync, ChainSyncArgs};
use crate::channel_manager::{ChannelManagerActor, ChannelManagerArgs};
use crate::lsps2::{self, Lsps2Service};
use crate::pathfinding::{self, PathfindingFactory};
use crate::payments::{self, PaymentsActor, PaymentsConfig};
use crate::receipts::actor::{self as receipt_actor, ReceiptSignerActor};
use crate::receipts::ReceiptSigner;
use crate::wallet::actor::{WalletActor, WalletMsg};
use crate::Components;

/// First restart delay.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
/// Longest restart delay.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long children get to stop gracefully.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
/// A child that ran this long has its failure count reset.
pub const STABLE_AFTER: Duration = Duration::from_secs(60);

/// The delay before the restart that follows `failures` earlier failures: doubling from
/// [`INITIAL_BACKOFF`], capped at [`MAX_BACKOFF`].
pub fn backoff(failures: u32) -> Duration {
    INITIAL_BACKOFF
        .saturating_mul(1u32 << failures.min(16))
        .min(MAX_BACKOFF)
}

/// A failure that must stop the node rather than be retried.
#[derive(Debug, thiserror::Error)]
#[error("fatal: {0}")]
pub struct Fatal(pub String);

/// The supervised children.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Child {
    /// [`ChainSync`].
    ChainSync,
    /// [`WalletActor`].
    Wallet,
    /// [`ChannelManagerActor`].
    ChannelManager,
    /// [`ReceiptSignerActor`].
    ReceiptSigner,
    /// The pathfinding factory ([`PathfindingFactory`]).
    Pathfinding,
    /// [`PaymentsActor`].
    Payments,
    /// [`Lsps2Service`].
    Lsps2,
}

/// Messages to the supervisor.
#[derive(Debug)]
pub enum SupervisorMsg {
    /// Start (or restart) a child.
    Start(Child),
}

/// What the supervisor starts with.
pub struct SupervisorArgs {
    /// The node's LDK objects.
    pub components: Components,
    /// Header cache and tip from the initial chain sync, used by the first ChainSync.
    pub chain_start: Option<(UnboundedCache, ValidatedBlockHeader)>,
    /// Set to the reason when a fatal failure must stop the node.
    pub fatal: watch::Sender<Option<String>>,
    /// The node's receipt signer.
    pub receipt_signer: Arc<ReceiptSigner>,
    /// How many pathfinding workers to run.
    pub pathfinding_workers: usize,
    /// The payments actor's settings.
    pub payments: PaymentsConfig,
    /// Forward HTLCs without LDK's random batching delay (see [`crate::forwarder`]).
    pub skip_forward_delay: bool,
}

/// Restart bookkeeping of one child.
struct Restarts {
    failures: u32,
    started: Instant,
}

/// The supervisor's state.
pub struct SupervisorState {
    components: Components,
    chain_start: Option<(UnboundedCache, ValidatedBlockHeader)>,
    fatal: watch::Sender<Option<String>>,
    running: HashMap<ActorId, Child>,
    restarts: HashMap<Child, Restarts>,
    wallet: Option<ActorRef<WalletMsg>>,
    receipt_signer: Arc<ReceiptSigner>,
    pathfinding_workers: usize,
    payments: PaymentsConfig,
    skip_forward_delay: bool,
}

/// The root actor.
pub struct NodeSupervisor;

impl NodeSupervisor {
    async fn start_child(
        myself: &ActorRef<SupervisorMsg>,
        state: &mut SupervisorState,
        child: Child,
    ) -> Result<(), ActorProcessingErr> {
        let cell: ActorCell = myself.get_cell();
        let c = state.components.clone();
        let started: ActorCell = match child {
            Child::Wallet => {
                let (wallet, _) =
                    Actor::spawn_linked(Some("wallet".into()), WalletActor, c, cell).await?;
                state.wallet = Some(wallet.clone());
                wallet.get_cell()
            }
            Child::ChainSync => {
                let args = ChainSyncArgs {
                    components: c,
                    start: state.chain_start.take(),
                    wallet: state.wallet.clone(),
                };
                let (sync, _) =
                    Actor::spawn_linked(Some("chain_sync".into()), ChainSync, args, cell).await?;
                sync.get_cell()
            }
            Child::ChannelManager => {
                let args = ChannelManagerArgs {
                    components: c,
                    skip_forward_delay: state.skip_forward_delay,
                };
                let (manager, _) = Actor::spawn_linked(
                    Some("channel_manager".into()),
                    ChannelManagerActor,
                    args,
                    cell,
                )
                .await?;
                manager.get_cell()
            }
            Child::ReceiptSigner => {
                let (signer, _) = Actor::spawn_linked(
                    Some(receipt_actor::NAME.into()),
                    ReceiptSignerActor,
                    Arc::clone(&state.receipt_signer),
                    cell,
                )
                .await?;
                signer.get_cell()
            }
            Child::Pathfinding => {
                let (factory, _) = Actor::spawn_linked(
                    Some(pathfinding::NAME.into()),
                    PathfindingFactory::default(),
                    pathfinding::factory_arguments(c, state.pathfinding_workers),
                    cell,
                )
                .await?;
                factory.get_cell()
            }
            Child::Payments => {
                let actor = PaymentsActor {
                    config: state.payments,
                };
                let (payments, _) =
                    Actor::spawn_linked(Some(payments::NAME.into()), actor, c, cell).await?;
                payments.get_cell()
            }
            Child::Lsps2 => {
                let Some(config) = c.lsps2.clone() else {
                    return Ok(());
                };
                let (service, _) =
                    Actor::spawn_linked(Some(lsps2::NAME.into()), Lsps2Service { config }, c, cell)
                        .await?;
                service.get_cell()
            }
        };
        state.running.insert(started.get_id(), child);
        state.components.health.actor_up(&format!("{child:?}"));
        state
            .restarts
            .entry(child)
            .and_modify(|r| r.started = Instant::now())
            .or_insert(Restarts {
                failures: 0,
                started: Instant::now(),
            });
        tracing::info!(?child, "actor started");
        Ok(())
    }

    /// Schedules a restart of `child` after its backoff.
    fn restart_later(myself: &ActorRef<SupervisorMsg>, state: &mut SupervisorState, child: Child) {
        let restarts = state.restarts.entry(child).or_insert(Restarts {
            failures: 0,
            started: Instant::now(),
        });
        if restarts.started.elapsed() >= STABLE_AFTER {
            restarts.failures = 0;
        }
        let delay = backoff(restarts.failures);
        restarts.failures += 1;
        metrics::counter!("sluice_actor_restarts_total", "actor" => format!("{child:?}"))
            .increment(1);
        tracing::warn!(
            ?child,
            ?delay,
            failures = restarts.failures,
            "restarting a failed actor"
        );
        myself.send_after(delay, move || SupervisorMsg::Start(child));
    }
}

impl Actor for NodeSupervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = SupervisorArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: SupervisorArgs,
    ) -> Result<SupervisorState, ActorProcessingErr> {
        let mut state = SupervisorState {
            components: args.components,
            chain_start: args.chain_start,
            fatal: args.fatal,
            running: HashMap::new(),
            restarts: HashMap::new(),
            wallet: None,
            receipt_signer: args.receipt_signer,
            pathfinding_workers: args.pathfinding_workers,
            payments: args.payments,
            skip_forward_delay: args.skip_forward_delay,
        };
        // The wallet first: chain sync tells it about new blocks. The receipt signer
        // before anything that settles payments.
        for child in [
            Child::Wallet,
            Child::ChainSync,
            Child::ReceiptSigner,
            Child::ChannelManager,
            Child::Pathfinding,
            Child::Payments,
            Child::Lsps2,
        ] {
            Self::start_child(&myself, &mut state, child).await?;
        }
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: SupervisorMsg,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        let SupervisorMsg::Start(child) = message;
        if state.fatal.borrow().is_some() {
            return Ok(());
        }
        if let Err(e) = Self::start_child(&myself, state, child).await {
            tracing::error!(?child, error = %e, "starting an actor failed");
            state
                .components
                .health
                .actor_down(&format!("{child:?}"), &e.to_string());
            Self::restart_later(&myself, state, child);
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        myself: ActorRef<Self::Msg>,
        _state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        // ractor kills the children of a stopped actor without their post_stop; stop them
        // gracefully first so the channel manager persists.
        myself
            .stop_children_and_wait(Some("supervisor stopping".into()), Some(SHUTDOWN_TIMEOUT))
            .await;
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorFailed(cell, error) => {
                let Some(child) = state.running.remove(&cell.get_id()) else {
                    return Ok(());
                };
                if let Some(fatal) = error.downcast_ref::<Fatal>() {
                    tracing::error!(?child, reason = %fatal, "a fatal failure: stopping the node");
                    let reason = format!("{child:?}: {fatal}");
                    state.components.health.fatal(&reason);
                    let _ = state.fatal.send(Some(reason));
                    return Ok(());
                }
                tracing::error!(?child, error = %error, "an actor failed");
                state
                    .components
                    .health
                    .actor_down(&format!("{child:?}"), &error.to_string());
                Self::restart_later(&myself, state, child);
            }
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                // A child stops on its own only when told to (shutdown): no restart.
                if let Some(child) = state.running.remove(&cell.get_id()) {
                    tracing::info!(?child, ?reason, "actor stopped");
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff(0), Duration::from_millis(100));
        assert_eq!(backoff(1), Duration::from_millis(200));
        assert_eq!(backoff(5), Duration::from_millis(3_200));
        assert_eq!(backoff(9), MAX_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn fatal_failures_are_recognised_through_the_boxed_error() {
        let error: ActorProcessingErr = Box::new(Fatal("persisting failed".into()));
        assert!(error.downcast_ref::<Fatal>().is_some());
        let ordinary: ActorProcessingErr = "chain following stopped".into();
        assert!(ordinary.downcast_ref::<Fatal>().is_none());
    }
}
