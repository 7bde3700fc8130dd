//! The node's supervision tree (ARCHITECTURE.md §2), for the components that exist so far:
//!
//! ```text
//! NodeSupervisor
//! ├── Wallet          keeps the on-chain wallet synced
//! ├── ChainSync       follows the chain tip (blocks, reorgs, fee estimates)
//! ├── ReceiptSigner   seals receipts with the node's receipt key
//! ├── ChannelManager  runs the loop that drives LDK: events, persistence, timers
//! ├── Pathfinding     a factory of route-finding workers
//! ├── Payments        quotes, pays, waits for outcomes
//! ├── Lsps2Service    sells JIT channels (only when configured)
//! ├── PoolLedger      the liquidity pool: shares, deposits, withdrawals, the books
//! ├── WithdrawalScheduler  payout ticks: throttle, burns, Lightning and batched payouts
//! ├── EnvelopeLedger  credit envelopes: intents, offers, issue (spec §7)
//! ├── ChannelRefresh  splices busy channels so their monitors shrink (unless turned off)
//! ├── Publisher       the Nostr mirror: sends the outbox to the relays (only with relays)
//! └── Rebalancer      keeps channels inside their bands by circular payments (only with
//!                     a `[rebalancer]` section)
//! ```
//!
//! Each child does its work in a task it owns and fails when that task ends unexpectedly.
//! The supervisor overrides ractor's default (stop on any child exit): it restarts a
//! child that failed or stopped while the node runs after an exponential backoff,
//! forgiving earlier failures once a child has run for [`STABLE_AFTER`]. A [`Fatal`]
//! failure — persistence failed, so the node can no longer promise not to lose funds — is
//! not retried: the supervisor reports it and the node shuts down.
//!
//! Every start points the child's [`Handle`](crate::handles::Handle) in
//! [`Components::actors`] at the new actor, so whoever talks to it reaches the running
//! one. Children that feed each other do so through ports the supervisor owns for the
//! node's whole life: ChainSync publishes each new tip on [`TipPort`], and every Wallet
//! that starts subscribes to it.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lightning_block_sync::poll::ValidatedBlockHeader;
use lightning_block_sync::UnboundedCache;
use ractor::{
    Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, OutputPort, RpcReplyPort,
    SupervisionEvent,
};
use tokio::sync::watch;

use crate::chain_sync::{ChainSync, ChainSyncArgs, TipPort};
use crate::channel_manager::{ChannelManagerActor, ChannelManagerArgs};
use crate::credit::EnvelopeLedger;
use crate::lsps2::Lsps2Service;
use crate::nostr::Publisher;
use crate::pathfinding::{self, PathfindingFactory};
use crate::payments::{PaymentsActor, PaymentsConfig};
use crate::pool::{PoolConfig, PoolLedger};
use crate::processor::LdkLoopConfig;
use crate::rebalance::{Rebalancer, RebalancerConfig};
use crate::receipts::actor::ReceiptSignerActor;
use crate::receipts::ReceiptSigner;
use crate::refresh::{ChannelRefresh, RefreshConfig};
use crate::wallet::actor::WalletActor;
use crate::withdrawals::WithdrawalScheduler;
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

/// The supervised children, in the order they start: the wallet before chain sync (which
/// tells it about new blocks), the receipt signer before anything that settles payments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Child {
    /// [`WalletActor`].
    Wallet,
    /// [`ChainSync`].
    ChainSync,
    /// [`ReceiptSignerActor`].
    ReceiptSigner,
    /// [`ChannelManagerActor`].
    ChannelManager,
    /// The pathfinding factory ([`PathfindingFactory`]).
    Pathfinding,
    /// [`PaymentsActor`].
    Payments,
    /// [`Lsps2Service`].
    Lsps2Service,
    /// [`PoolLedger`].
    PoolLedger,
    /// [`WithdrawalScheduler`].
    WithdrawalScheduler,
    /// [`EnvelopeLedger`].
    EnvelopeLedger,
    /// [`ChannelRefresh`].
    ChannelRefresh,
    /// [`Publisher`] (only with Nostr relays).
    Publisher,
    /// [`Rebalancer`] (only with a `[rebalancer]` section).
    Rebalancer,
}

impl Child {
    /// Every child, in start order.
    pub const ALL: [Child; 13] = [
        Child::Wallet,
        Child::ChainSync,
        Child::ReceiptSigner,
        Child::ChannelManager,
        Child::Pathfinding,
        Child::Payments,
        Child::Lsps2Service,
        Child::PoolLedger,
        Child::WithdrawalScheduler,
        Child::EnvelopeLedger,
        Child::ChannelRefresh,
        Child::Publisher,
        Child::Rebalancer,
    ];

    /// The child's name in logs, metrics (`actor` label) and health reports.
    pub const fn name(self) -> &'static str {
        match self {
            Child::Wallet => "Wallet",
            Child::ChainSync => "ChainSync",
            Child::ReceiptSigner => "ReceiptSigner",
            Child::ChannelManager => "ChannelManager",
            Child::Pathfinding => "Pathfinding",
            Child::Payments => "Payments",
            Child::Lsps2Service => "Lsps2Service",
            Child::PoolLedger => "PoolLedger",
            Child::WithdrawalScheduler => "WithdrawalScheduler",
            Child::EnvelopeLedger => "EnvelopeLedger",
            Child::ChannelRefresh => "ChannelRefresh",
            Child::Publisher => "Publisher",
            Child::Rebalancer => "Rebalancer",
        }
    }
}

impl fmt::Display for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Messages to the supervisor.
#[derive(Debug)]
pub enum SupervisorMsg {
    /// Start (or restart) a child.
    Start(Child),
    /// The node is shutting down: children that stop from now on stay stopped. Answered
    /// once noted.
    ShuttingDown(RpcReplyPort<()>),
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
    /// How the loop that drives LDK runs.
    pub ldk_loop: LdkLoopConfig,
    /// When busy channels are refreshed; `None` turns refreshing off.
    pub refresh: Option<RefreshConfig>,
    /// The liquidity pool's settings.
    pub pool: PoolConfig,
    /// The rebalancer's settings; `None` (no `[rebalancer]` section) turns it off.
    pub rebalancer: Option<RebalancerConfig>,
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
    tips: TipPort,
    shutting_down: bool,
    receipt_signer: Arc<ReceiptSigner>,
    pathfinding_workers: usize,
    payments: PaymentsConfig,
    ldk_loop: LdkLoopConfig,
    refresh: Option<RefreshConfig>,
    pool: PoolConfig,
    rebalancer: Option<RebalancerConfig>,
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
        let handles = &state.components.actors;
        let started: ActorCell = match child {
            Child::Wallet => {
                let args = (c, Arc::clone(&state.tips));
                let (wallet, _) = Actor::spawn_linked(None, WalletActor, args, cell).await?;
                handles.wallet.set(wallet.clone());
                wallet.get_cell()
            }
            Child::ChainSync => {
                let args = ChainSyncArgs {
                    components: c,
                    start: state.chain_start.take(),
                    tips: Arc::clone(&state.tips),
                };
                let (sync, _) = Actor::spawn_linked(None, ChainSync, args, cell).await?;
                sync.get_cell()
            }
            Child::ChannelManager => {
                let args = ChannelManagerArgs {
                    components: c,
                    ldk_loop: state.ldk_loop,
                };
                let (manager, _) =
                    Actor::spawn_linked(None, ChannelManagerActor, args, cell).await?;
                manager.get_cell()
            }
            Child::ReceiptSigner => {
                let signer = Arc::clone(&state.receipt_signer);
                let (actor, _) =
                    Actor::spawn_linked(None, ReceiptSignerActor, signer, cell).await?;
                handles.receipts.set(actor.clone());
                actor.get_cell()
            }
            Child::Pathfinding => {
                let args = pathfinding::factory_arguments(c, state.pathfinding_workers);
                let (factory, _) =
                    Actor::spawn_linked(None, PathfindingFactory::default(), args, cell).await?;
                handles.pathfinding.set(factory.clone());
                factory.get_cell()
            }
            Child::Payments => {
                let actor = PaymentsActor {
                    config: state.payments,
                };
                let (payments, _) = Actor::spawn_linked(None, actor, c, cell).await?;
                handles.payments.set(payments.clone());
                payments.get_cell()
            }
            Child::Lsps2Service => {
                let Some(config) = c.lsps2.clone() else {
                    return Ok(());
                };
                let (service, _) =
                    Actor::spawn_linked(None, Lsps2Service { config }, c, cell).await?;
                handles.lsps2.set(service.clone());
                service.get_cell()
            }
            Child::PoolLedger => {
                let actor = PoolLedger {
                    config: state.pool.clone(),
                };
                let (pool, _) = Actor::spawn_linked(None, actor, c, cell).await?;
                handles.pool.set(pool.clone());
                pool.get_cell()
            }
            Child::WithdrawalScheduler => {
                let actor = WithdrawalScheduler {
                    config: state.pool.withdrawals.clone(),
                };
                let (scheduler, _) = Actor::spawn_linked(None, actor, c, cell).await?;
                handles.withdrawals.set(scheduler.clone());
                scheduler.get_cell()
            }
            Child::EnvelopeLedger => {
                let actor = EnvelopeLedger {
                    config: state.pool.credit.clone(),
                };
                let (ledger, _) = Actor::spawn_linked(None, actor, c, cell).await?;
                handles.credit.set(ledger.clone());
                ledger.get_cell()
            }
            Child::ChannelRefresh => {
                let Some(config) = state.refresh else {
                    return Ok(());
                };
                let (refresh, _) =
                    Actor::spawn_linked(None, ChannelRefresh { config }, c, cell).await?;
                refresh.get_cell()
            }
            Child::Publisher => {
                let Some(mirror) = c.mirror.clone() else {
                    return Ok(());
                };
                let (publisher, _) =
                    Actor::spawn_linked(None, Publisher { mirror }, c, cell).await?;
                handles.publisher.set(publisher.clone());
                publisher.get_cell()
            }
            Child::Rebalancer => {
                let Some(config) = state.rebalancer else {
                    return Ok(());
                };
                let (rebalancer, _) =
                    Actor::spawn_linked(None, Rebalancer { config }, c, cell).await?;
                handles.rebalancer.set(rebalancer.clone());
                rebalancer.get_cell()
            }
        };
        state.running.insert(started.get_id(), child);
        state.components.health.actor_up(child.name());
        state
            .restarts
            .entry(child)
            .and_modify(|r| r.started = Instant::now())
            .or_insert(Restarts {
                failures: 0,
                started: Instant::now(),
            });
        tracing::info!(actor = child.name(), "actor started");
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
        metrics::counter!("sluice_actor_restarts_total", "actor" => child.name()).increment(1);
        tracing::warn!(
            actor = child.name(),
            ?delay,
            failures = restarts.failures,
            "restarting an actor"
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
            tips: Arc::new(OutputPort::default()),
            shutting_down: false,
            receipt_signer: args.receipt_signer,
            pathfinding_workers: args.pathfinding_workers,
            payments: args.payments,
            ldk_loop: args.ldk_loop,
            refresh: args.refresh,
            pool: args.pool,
            rebalancer: args.rebalancer,
        };
        for child in Child::ALL {
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
        match message {
            SupervisorMsg::ShuttingDown(reply) => {
                state.shutting_down = true;
                let _ = reply.send(());
            }
            SupervisorMsg::Start(child) => {
                if state.shutting_down || state.fatal.borrow().is_some() {
                    return Ok(());
                }
                if let Err(e) = Self::start_child(&myself, state, child).await {
                    tracing::error!(actor = child.name(), error = %e, "starting an actor failed");
                    state
                        .components
                        .health
                        .actor_down(child.name(), &e.to_string());
                    Self::restart_later(&myself, state, child);
                }
            }
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        myself: ActorRef<Self::Msg>,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        state.shutting_down = true;
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
                    tracing::error!(actor = child.name(), reason = %fatal, "a fatal failure: stopping the node");
                    let reason = format!("{child}: {fatal}");
                    state.components.health.fatal(&reason);
                    let _ = state.fatal.send(Some(reason));
                    return Ok(());
                }
                tracing::error!(actor = child.name(), error = %error, "an actor failed");
                state
                    .components
                    .health
                    .actor_down(child.name(), &error.to_string());
                Self::restart_later(&myself, state, child);
            }
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                let Some(child) = state.running.remove(&cell.get_id()) else {
                    return Ok(());
                };
                if state.shutting_down {
                    tracing::info!(actor = child.name(), ?reason, "actor stopped");
                    return Ok(());
                }
                // Children stop on their own only at shutdown: one that stops while the
                // node runs (killed, say) is restarted like one that failed.
                let why = format!(
                    "stopped unasked ({})",
                    reason.as_deref().unwrap_or("no reason")
                );
                tracing::error!(actor = child.name(), %why, "an actor stopped");
                state.components.health.actor_down(child.name(), &why);
                Self::restart_later(&myself, state, child);
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
